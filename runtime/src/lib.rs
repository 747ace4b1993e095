//! The shared runtime of a Fargate task binary: the typed task entry point (a task is one
//! `async fn run(input, &context) -> Result<Output, TaskError>`), the root command dispatcher a
//! binary extends with its own subcommands, logging set up for CloudWatch, the task context handed
//! in by ECS and the state machine, SIGTERM handling with a grace period, and exit codes. No AWS
//! SDK lives here: a task binary links only what it calls.

pub mod callback;
pub mod cli;
pub mod entry;
pub mod exit;
pub mod identity;
pub mod logging;
pub mod shutdown;
pub mod task;

pub use cli::{CommandFuture, Invocation, Root};
pub use entry::TASK_COMMAND;
pub use exit::{CommandError, Exit, TaskError};
pub use shutdown::Shutdown;
pub use task::{InputError, TaskContext};
