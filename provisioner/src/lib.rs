//! The deploy engine behind the `provisioner` CLI: each concern in its own module.

pub mod aws;
pub mod caller;
pub mod cmd;
pub mod decorators;
pub mod deployment;
pub mod diagram;
pub mod execution;
pub mod fork;
pub mod host_prefix;
pub mod image;
pub mod interrupt;
pub mod stack;
pub mod template;
pub mod workspace;
