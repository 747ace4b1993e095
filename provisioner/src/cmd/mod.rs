//! One module per CLI subcommand: its clap arguments and what it runs. main.rs only dispatches.
pub mod describe;
pub mod image;
pub mod template;
