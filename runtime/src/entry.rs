//! The typed task entry point. A task is one async function,
//! `run(input: Input, context: &TaskContext) -> Result<Output, TaskError>`; the runtime does the
//! rest: it reads `TASK_INPUT` and decodes it as `Input` (exit 66 when it is absent, 65 when it does
//! not decode), writes `Output` as the one JSON result line on stdout, and turns a `TaskError` into
//! its message and exit code. `Root::add_task` makes it a subcommand.

use std::future::Future;

use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::cli::{CommandFuture, Invocation};
use crate::exit::{CommandError, TaskError};
use crate::task::TaskContext;

/// The subcommand the image's entrypoint runs (`/usr/local/bin/task fargateTask`), as Sparta named it.
pub const TASK_COMMAND: &str = "fargateTask";

/// A task's `run` function: any `async fn run(input: I, context: &TaskContext) -> Result<O, TaskError>`
/// (whose future is `Send`). Implemented for every such function; never implemented by hand.
pub trait Task<'a, I, O> {
    type Future: Future<Output = Result<O, TaskError>> + Send + 'a;
    fn call(&self, input: I, context: &'a TaskContext) -> Self::Future;
}

impl<'a, I, O, F, Fut> Task<'a, I, O> for F
where
    F: Fn(I, &'a TaskContext) -> Fut,
    Fut: Future<Output = Result<O, TaskError>> + Send + 'a,
{
    type Future = Fut;
    fn call(&self, input: I, context: &'a TaskContext) -> Fut {
        self(input, context)
    }
}

/// Decodes the context's input as `I` and runs the task: what the subcommand does, without the
/// process around it, so a task's own tests go through the same decoding.
pub async fn call<I, O, F>(run: &F, context: &TaskContext) -> Result<O, TaskError>
where
    I: DeserializeOwned,
    F: for<'a> Task<'a, I, O>,
{
    let input: I = context.input_as()?;
    run.call(input, context).await
}

/// The handler `Root::add_task` registers: the context from the environment, `call`, and the
/// result line on stdout.
pub(crate) fn handler<I, O, F>(run: F) -> impl Fn(Invocation) -> CommandFuture + 'static
where
    I: DeserializeOwned + Send + 'static,
    O: Serialize + Send + 'static,
    F: for<'a> Task<'a, I, O> + Clone + Send + Sync + 'static,
{
    move |invocation: Invocation| {
        let run = run.clone();
        Box::pin(async move {
            let context = TaskContext::from_env(invocation.shutdown).map_err(TaskError::from)?;
            let output = call(&run, &context).await?;
            let line = serde_json::to_string(&output)
                .map_err(|e| CommandError::task_failed(format!("could not encode the task's result as JSON: {e}")))?;
            println!("{line}");
            Ok(())
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::exit::Exit;
    use crate::shutdown::Shutdown;

    #[derive(Debug, serde::Deserialize)]
    struct Input {
        n: u32,
    }

    async fn double(input: Input, context: &TaskContext) -> Result<u32, TaskError> {
        if context.shutdown().is_requested() {
            return Err(TaskError::terminated("stopped before doubling"));
        }
        input.n.checked_mul(2).ok_or_else(|| TaskError::failed(format!("{} is too large to double", input.n)))
    }

    fn context(input: &str) -> TaskContext {
        let input = input.to_owned();
        TaskContext::from_lookup(move |name| (name == "TASK_INPUT").then(|| input.clone()), Shutdown::new()).unwrap()
    }

    #[tokio::test]
    async fn the_input_is_decoded_and_the_task_runs() {
        assert_eq!(call(&double, &context(r#"{"n":21}"#)).await, Ok(42));
    }

    #[tokio::test]
    async fn input_that_does_not_fit_is_bad_input_and_the_task_does_not_run() {
        let err = call(&double, &context(r#"{"n":"three"}"#)).await.unwrap_err();
        assert_eq!((err.exit(), err.error()), (Exit::BadInput, TaskError::INVALID_INPUT));
        assert!(err.message().contains("does not fit this task"), "{err}");
    }

    #[tokio::test]
    async fn the_task_s_own_failure_and_a_stop_keep_their_codes() {
        let err = call(&double, &context(r#"{"n":4000000000}"#)).await.unwrap_err();
        assert_eq!((err.exit(), err.error()), (Exit::TaskFailed, TaskError::TASK_FAILED));
        let stopping = context(r#"{"n":1}"#);
        stopping.shutdown().request();
        assert_eq!(call(&double, &stopping).await.unwrap_err().exit(), Exit::Terminated);
    }

    #[test]
    fn missing_input_is_exit_66_before_the_task_runs() {
        let err = TaskError::from(crate::task::InputError::Missing { var: crate::task::INPUT_ENV });
        assert_eq!((err.exit(), err.error()), (Exit::MissingInput, TaskError::MISSING_INPUT));
    }
}
