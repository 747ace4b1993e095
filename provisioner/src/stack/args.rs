//! `--stack-name`: the argument every command that acts on a deployed stack (provision, run,
//! status, delete) takes, flattened into each, and the name it defaults to.

use clap::Args;

#[derive(Debug, Clone, Args)]
pub struct StackArgs {
    /// The stack to act on. Default: the service name.
    #[arg(long, value_name = "NAME")]
    pub stack_name: Option<String>,
}

impl StackArgs {
    /// `--stack-name`, else `default` (the service's name).
    pub fn name_or(&self, default: &str) -> String {
        self.stack_name.clone().unwrap_or_else(|| default.to_owned())
    }
}
