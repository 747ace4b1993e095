//! The typed task entry point. A task is one async function,
//! `run(input: Input, context: &TaskContext) -> Result<Output, TaskError>`; the runtime does the
//! rest: it reads `TASK_INPUT` and decodes it as `Input` (exit 66 when it is absent, 65 when it does
//! not decode), writes `Output` as the one JSON result line on stdout, and turns a `TaskError` into
//! its message and exit code. `Root::add_task` makes it a subcommand.

use std::future::Future;
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::callback::{Callback, CallbackError};
use crate::cli::{CommandFuture, Invocation};
use crate::exit::{CommandError, TaskError};
use crate::task::TaskContext;

/// What a task reporting to its workflow keeps of the grace period after SIGTERM: a task still
/// running this long before the runtime must exit is reported `Terminated`, while there is time.
pub const REPORT_TIME: Duration = Duration::from_secs(3);

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

/// `call`, and with `cut_off` a task still running that long after a stop was asked for ends
/// as `Terminated` (the task itself is dropped).
async fn call_within<I, O, F>(run: &F, context: &TaskContext, cut_off: Option<Duration>) -> Result<O, TaskError>
where
    I: DeserializeOwned,
    F: for<'a> Task<'a, I, O>,
{
    let Some(budget) = cut_off else {
        return call(run, context).await;
    };
    let shutdown = context.shutdown().clone();
    tokio::select! {
        result = call(run, context) => result,
        () = async { shutdown.requested().await; tokio::time::sleep(budget).await } => {
            Err(TaskError::terminated(format!(
                "the task was stopped (SIGTERM) and did not finish within {} s",
                budget.as_secs_f64()
            )))
        }
    }
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
            let callback = Callback::from_env().map_err(|e| CommandError::task_failed(e.to_string()))?;
            let moved_on = Arc::new(OnceLock::new());
            let beating = callback.clone().zip(Callback::heartbeat_interval(|n| std::env::var(n).ok())).map(
                |(callback, every)| {
                    let shutdown = context.shutdown().clone();
                    tokio::spawn(heartbeats(callback, every, shutdown, moved_on.clone()))
                },
            );
            // A task that does not stop in time after SIGTERM is reported stopped while the
            // runtime can still report it; otherwise the workflow would wait for its heartbeat.
            let cut_off = callback.as_ref().map(|_| invocation.grace.saturating_sub(REPORT_TIME));
            let result = call_within(&run, &context, cut_off).await;
            if let Some(beating) = beating {
                beating.abort();
            }
            let outcome = match result {
                Ok(output) => Ok(serde_json::to_value(output).map_err(|e| {
                    CommandError::task_failed(format!("could not encode the task's result as JSON: {e}"))
                })?),
                Err(e) => Err(e),
            };
            if let Ok(value) = &outcome {
                println!("{value}");
            }
            match (callback, moved_on.get()) {
                (Some(_), Some(refusal)) => {
                    tracing::warn!("the outcome is not reported: the workflow no longer waits for it ({refusal})")
                }
                (Some(callback), None) => report(callback, outcome.clone()).await?,
                (None, _) => {}
            }
            outcome.map(|_| ()).map_err(CommandError::from)
        })
    }
}

/// Tells the waiting workflow how the task ended: SendTaskSuccess with its result, or
/// SendTaskFailure with its error name and message (an output over 256 KiB becomes a failure
/// `OutputTooLarge`). A report that cannot be made fails the task: the workflow would otherwise
/// wait until its HeartbeatSeconds or TimeoutSeconds.
pub async fn report(callback: Callback, outcome: Result<serde_json::Value, TaskError>) -> Result<(), CommandError> {
    let sent = tokio::task::spawn_blocking(move || match &outcome {
        Ok(output) => match callback.success(output) {
            Err(too_big @ CallbackError::OutputTooLarge { .. }) => {
                callback.failure("OutputTooLarge", &too_big.to_string())?;
                Err(too_big)
            }
            other => other,
        },
        Err(e) => callback.failure(e.error(), e.message()),
    })
    .await
    .map_err(|e| CommandError::task_failed(format!("the callback to Step Functions did not run: {e}")))?;
    sent.map_err(|e| CommandError::task_failed(format!("could not report to the workflow: {e}")))
}

/// SendTaskHeartbeat as the task starts (its HeartbeatSeconds then need only cover the container's
/// start) and every `every` after, until the task ends (the caller aborts this) or a stop is asked
/// for. A heartbeat that fails on the way is logged and the task goes on; one Step Functions
/// refuses because no one waits for the token any more (the execution was stopped, timed out or
/// failed: `TaskTimedOut`) stops the task as SIGTERM would, with the refusal in `moved_on`: on AWS
/// a callback task outlives StopExecution, and this is what ends it.
async fn heartbeats(callback: Callback, every: Duration, shutdown: crate::Shutdown, moved_on: Arc<OnceLock<String>>) {
    loop {
        let beat = callback.clone();
        match tokio::task::spawn_blocking(move || beat.heartbeat()).await {
            Ok(Ok(())) => tracing::debug!("heartbeat sent"),
            Ok(Err(e)) if e.workflow_moved_on() => {
                tracing::warn!("the workflow no longer waits for this task ({e}); stopping it");
                let _ = moved_on.set(e.to_string());
                shutdown.request();
                return;
            }
            Ok(Err(e)) => tracing::warn!("{e}"),
            Err(e) => tracing::warn!("the heartbeat did not run: {e}"),
        }
        if !shutdown.sleep(every).await {
            return;
        }
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

    fn callback_to(endpoint: &str) -> Callback {
        let endpoint = endpoint.to_owned();
        Callback::from_lookup(move |name| match name {
            crate::callback::TOKEN_ENV => Some("tok".into()),
            "AWS_REGION" => Some("us-east-1".into()),
            "AWS_ENDPOINT_URL" => Some(endpoint.clone()),
            "AWS_ACCESS_KEY_ID" | "AWS_SECRET_ACCESS_KEY" => Some("test".into()),
            _ => None,
        })
        .unwrap()
        .unwrap()
    }

    #[tokio::test]
    async fn a_result_is_sent_as_success_and_an_error_as_failure_with_its_name() {
        use crate::callback::test_server::serve_once;
        let (url, server) = serve_once(200, "{}");
        report(callback_to(&url), Ok(serde_json::json!({"greeting": "hi"}))).await.unwrap();
        let (head, body) = server.join().unwrap();
        assert!(head.to_ascii_lowercase().contains("awsstepfunctions.sendtasksuccess"), "{head}");
        assert_eq!(serde_json::from_str::<serde_json::Value>(&body).unwrap()["output"], r#"{"greeting":"hi"}"#);

        let (url, server) = serve_once(200, "{}");
        let stopped = TaskError::terminated("stopped by SIGTERM before the words were counted");
        report(callback_to(&url), Err(stopped)).await.unwrap();
        let (head, body) = server.join().unwrap();
        assert!(head.to_ascii_lowercase().contains("awsstepfunctions.sendtaskfailure"), "{head}");
        let body: serde_json::Value = serde_json::from_str(&body).unwrap();
        assert_eq!(body["error"], TaskError::TERMINATED);
        assert_eq!(body["cause"], "stopped by SIGTERM before the words were counted");
    }

    #[tokio::test]
    async fn an_output_over_256_kib_is_reported_as_a_failure_and_fails_the_task() {
        use crate::callback::test_server::serve_once;
        let (url, server) = serve_once(200, "{}");
        let big = serde_json::json!("x".repeat(crate::callback::MAX_OUTPUT_BYTES));
        let err = report(callback_to(&url), Ok(big)).await.unwrap_err();
        assert!(err.to_string().contains("256 KiB"), "{err}");
        let (_, body) = server.join().unwrap();
        assert_eq!(serde_json::from_str::<serde_json::Value>(&body).unwrap()["error"], "OutputTooLarge");
    }

    #[tokio::test]
    async fn the_first_heartbeat_goes_as_the_task_starts_and_a_stop_ends_them() {
        use crate::callback::test_server::serve_once;
        let (url, server) = serve_once(200, "{}");
        let shutdown = Shutdown::new();
        // An interval no test waits out: the beat that comes is the one at the start.
        let beating = tokio::spawn(heartbeats(
            callback_to(&url),
            Duration::from_secs(3600),
            shutdown.clone(),
            Default::default(),
        ));
        let (head, body) = tokio::task::spawn_blocking(move || server.join().unwrap()).await.unwrap();
        assert!(head.to_ascii_lowercase().contains("awsstepfunctions.sendtaskheartbeat"), "{head}");
        assert_eq!(serde_json::from_str::<serde_json::Value>(&body).unwrap(), serde_json::json!({"taskToken": "tok"}));
        shutdown.request();
        tokio::time::timeout(Duration::from_secs(5), beating).await.expect("a stop ends the heartbeats").unwrap();
    }

    async fn stubborn(_: Input, context: &TaskContext) -> Result<u32, TaskError> {
        context.shutdown().requested().await;
        tokio::time::sleep(Duration::from_secs(3600)).await; // ignores the stop
        Ok(0)
    }

    #[tokio::test]
    async fn a_task_still_running_past_its_cut_off_after_a_stop_ends_as_terminated() {
        let stopping = context(r#"{"n":1}"#);
        stopping.shutdown().request();
        let cut_off = Some(Duration::from_millis(50));
        let err = tokio::time::timeout(Duration::from_secs(5), call_within(&stubborn, &stopping, cut_off))
            .await
            .expect("the cut-off ends it")
            .unwrap_err();
        assert_eq!((err.exit(), err.error()), (Exit::Terminated, TaskError::TERMINATED));
        assert!(err.message().contains("did not finish within 0.05 s"), "{err}");
        // A task that stops in time keeps its own outcome; without a cut-off nothing is cut.
        assert_eq!(call_within(&double, &context(r#"{"n":2}"#), cut_off).await, Ok(4));
        let waiting = tokio::time::timeout(Duration::from_millis(200), call_within(&stubborn, &stopping, None));
        assert!(waiting.await.is_err(), "no cut-off without a callback");
    }

    #[tokio::test]
    async fn a_heartbeat_refused_as_timed_out_stops_the_task_and_nothing_else_does() {
        use crate::callback::test_server::serve_once;
        // What Step Functions answers once the execution was stopped.
        let timed_out = r#"{"__type":"com.amazonaws.swf.service.v2.model#TaskTimedOut","message":"Task Timed Out"}"#;
        let (url, server) = serve_once(400, timed_out);
        let (shutdown, moved_on) = (Shutdown::new(), Arc::new(OnceLock::new()));
        let beating =
            tokio::spawn(heartbeats(callback_to(&url), Duration::from_secs(3600), shutdown.clone(), moved_on.clone()));
        tokio::time::timeout(Duration::from_secs(5), beating).await.expect("the refusal ends the heartbeats").unwrap();
        server.join().unwrap();
        assert!(shutdown.is_requested(), "the task is asked to stop");
        let refusal = moved_on.get().expect("the refusal is kept");
        assert!(refusal.contains("SendTaskHeartbeat was refused: TaskTimedOut"), "{refusal}");

        // Any other failure (throttling, a network error) leaves the task at work.
        let (url, server) = serve_once(400, r#"{"__type":"ThrottlingException","message":"Rate exceeded"}"#);
        let (shutdown, moved_on) = (Shutdown::new(), Arc::new(OnceLock::new()));
        let beating =
            tokio::spawn(heartbeats(callback_to(&url), Duration::from_secs(3600), shutdown.clone(), moved_on.clone()));
        tokio::task::spawn_blocking(move || server.join().unwrap()).await.unwrap();
        tokio::time::sleep(Duration::from_millis(100)).await;
        assert!(!shutdown.is_requested() && moved_on.get().is_none());
        beating.abort();
    }

    #[test]
    fn heartbeats_come_every_third_of_heartbeat_seconds() {
        let every = |v: &'static str| Callback::heartbeat_interval(move |_| Some(v.to_owned()));
        assert_eq!(every("60"), Some(Duration::from_secs(20)));
        assert_eq!(every("2"), Some(Duration::from_secs(1)));
        assert_eq!(every("0"), None);
        assert_eq!(Callback::heartbeat_interval(|_| None), None);
    }

    #[test]
    fn missing_input_is_exit_66_before_the_task_runs() {
        let err = TaskError::from(crate::task::InputError::Missing { var: crate::task::INPUT_ENV });
        assert_eq!((err.exit(), err.error()), (Exit::MissingInput, TaskError::MISSING_INPUT));
    }
}
