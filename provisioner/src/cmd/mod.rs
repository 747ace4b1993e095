//! One module per CLI subcommand: its clap arguments, the engine calls it makes, and what it
//! prints. No command imports another: what several share (the template's options, `--stack-name`,
//! following a stack operation or an execution, Ctrl-C) lives with the engine, outside `cmd/`.
//! main.rs only dispatches.
pub mod delete;
pub mod describe;
pub mod fork;
pub mod image;
pub mod provision;
pub mod run;
pub mod status;
pub mod template;
pub mod test_state;
