//! The contract between a workflow and the task it runs: how the state machine hands the task its
//! input, and, in the callback pattern, the token it reports back with. The task runtime reads
//! what the States Language integrations write.

/// The environment variable that carries the task's input, a JSON document (a container override
/// the RunTask state sets from the execution input).
pub const INPUT_ENV: &str = "TASK_INPUT";

/// The environment variable that carries the task token of a callback RunTask
/// (`ecs:runTask.waitForTaskToken`): the runtime reports the task's result or error with it.
pub const TOKEN_ENV: &str = "TASK_TOKEN";

/// The environment variable that carries the state's HeartbeatSeconds: the runtime sends a
/// heartbeat when the task starts and then every third of it while the task runs.
pub const HEARTBEAT_ENV: &str = "TASK_HEARTBEAT_SECONDS";

/// What a JSONPath value gives the task token (the context object's `Task.Token`).
pub const TOKEN_PATH: &str = "$$.Task.Token";

/// What a JSONata expression gives the task token.
pub const TOKEN_EXPRESSION: &str = "{% $states.context.Task.Token %}";
