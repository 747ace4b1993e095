//! The contract between a workflow and the task it runs: how the state machine hands the task its
//! input. The task runtime reads what the States Language integrations write.

/// The environment variable that carries the task's input, a JSON document (a container override
/// the RunTask state sets from the execution input).
pub const INPUT_ENV: &str = "TASK_INPUT";
