//! One module per CLI subcommand: its clap arguments and what it runs. main.rs only dispatches.
pub mod delete;
pub mod describe;
pub mod fork;
pub mod image;
pub mod interrupt;
pub mod provision;
pub mod run;
pub mod status;
pub mod template;
