//! The typed models of a service's stack, and nothing else: the CloudFormation template
//! (`template`), the Amazon States Language (`states`), the service description a fork writes
//! (`service`) and the contract between a workflow and its task (`task`). Pure data with
//! validation that fails before anything is deployed: no AWS SDK, no I/O, no async runtime, so the
//! service, the provisioner and the local cloud's interpreter share it at little compile cost.

pub mod service;
pub mod states;
pub mod task;
pub mod template;
