//! The platform's own test task: what the integration tests run as a Fargate task, on the local
//! Fargate and through deployed workflows, so a fork that rewrites its own task keeps the tests it
//! inherited. Besides what the sample service does (greet `name`, count the words of `text`, fail
//! on purpose with `"fail": true`) it has the knobs the platform's tests turn: long work that
//! SIGTERM cuts short (`work_seconds`) or that ignores it (`ignore_sigterm`), memory held against
//! the task's limit (`allocate_mib`), the words counted through a file in /tmp (the image gives the
//! non-root user a writable /tmp), who it runs as (uid, gid, effective capabilities) in its
//! "task started" log line, and on request (`credentials`) which role its credentials are for. Its exit codes and log lines are the runtime's and the sample's.

use std::time::{Duration, Instant};

use runtime::{TaskContext, TaskError};
use serde::{Deserialize, Serialize};

/// The package, its binary, and what the task calls itself in its result.
pub const NAME: &str = env!("CARGO_PKG_NAME");

/// The input this task accepts. Fields it does not know are ignored (the state machine may add its own).
#[derive(Debug, Default, Deserialize)]
pub struct Input {
    /// Who to greet.
    #[serde(default)]
    pub name: Option<String>,
    /// Text whose words the task counts, through a file in the temporary directory.
    #[serde(default)]
    pub text: Option<String>,
    /// Fail on purpose, to exercise the failure path.
    #[serde(default)]
    pub fail: bool,
    /// Simulated long work, in seconds; a SIGTERM cuts it short.
    #[serde(default)]
    pub work_seconds: Option<f64>,
    /// Memory to fill before working, in MiB: exercises the task's memory limit (a task over it is
    /// killed, and ECS reports OutOfMemoryError).
    #[serde(default)]
    pub allocate_mib: Option<usize>,
    /// Let the simulated work ignore SIGTERM, as a task stuck in a native call would: the platform
    /// then kills it after the container's stop timeout (exit 137).
    #[serde(default)]
    pub ignore_sigterm: bool,
    /// Fetch the task's credentials as its own AWS calls would (the environment's keys, else the
    /// task role's from the container credentials endpoint) and report their role and key id.
    #[serde(default)]
    pub credentials: bool,
}

/// The one JSON line the task writes on stdout: the sample service's fields.
#[derive(Debug, Serialize, Deserialize, PartialEq)]
pub struct Output {
    pub service: String,
    pub greeting: String,
    pub words: usize,
    pub task_arn: Option<String>,
    pub elapsed_ms: u128,
    /// With `credentials`: the role and access key id the task's credentials are for, or why it
    /// has none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub credentials: Option<serde_json::Value>,
}

/// The binary's root command: the task as `fargateTask`.
pub fn root() -> runtime::Root {
    runtime::Root::new(NAME, env!("CARGO_PKG_DESCRIPTION")).add_task(
        runtime::TASK_COMMAND,
        "Run the platform's test task: reads JSON input from TASK_INPUT, writes one JSON result line on stdout",
        run,
    )
}

pub async fn run(input: Input, context: &TaskContext) -> Result<Output, TaskError> {
    let started = Instant::now();
    let task_arn = match context.task_arn().await {
        Ok(arn) => arn,
        Err(problem) => {
            // The ARN is informative only: a task must not fail because metadata is unreachable.
            tracing::warn!(%problem, "task metadata unavailable");
            None
        }
    };
    let identity = runtime::identity::Identity::current();
    tracing::info!(
        service = NAME,
        task_arn = task_arn.as_deref().unwrap_or("-"),
        name = input.name.as_deref().unwrap_or("world"),
        fail = input.fail,
        // Who the task runs as, from the kernel: shows in the logs that it is not root and holds
        // no capabilities (-1 where /proc is missing).
        uid = identity.map_or(-1, |i| i64::from(i.uid)),
        gid = identity.map_or(-1, |i| i64::from(i.gid)),
        cap_eff = %identity.map_or_else(|| "-".to_owned(), |i| format!("{:016x}", i.cap_eff)),
        "task started"
    );
    if input.fail {
        return Err(TaskError::failed("the task failed on purpose: its input holds \"fail\": true"));
    }
    // Written, not only reserved: untouched pages would never count against the limit.
    let held = input.allocate_mib.map(|mib| std::hint::black_box(vec![0x5au8; mib.saturating_mul(1024 * 1024)]));
    if let Some(seconds) = input.work_seconds {
        let duration = Duration::try_from_secs_f64(seconds).map_err(|_| {
            TaskError::bad_input(format!("work_seconds must be a non-negative number of seconds, got {seconds}"))
        })?;
        if input.ignore_sigterm {
            tokio::time::sleep(duration).await;
        } else if !context.shutdown().sleep(duration).await {
            return Err(TaskError::terminated(format!(
                "stopped by SIGTERM after {} ms of {} s of work",
                started.elapsed().as_millis(),
                seconds
            )));
        }
    }
    let words = count_words_through_a_file(input.text.as_deref().unwrap_or(""))?;
    let credentials = input.credentials.then(|| match runtime::callback::AwsCredentials::from_env() {
        Ok(found) => serde_json::json!({"role_arn": found.role_arn, "access_key_id": found.access_key_id}),
        Err(none) => serde_json::json!({"error": none.to_string()}),
    });
    let output = Output {
        service: NAME.to_owned(),
        greeting: format!("Hello, {}!", input.name.as_deref().unwrap_or("world")),
        words,
        task_arn,
        elapsed_ms: started.elapsed().as_millis(),
        credentials,
    };
    tracing::info!(
        words = output.words,
        elapsed_ms = output.elapsed_ms as u64,
        held_mib = held.map_or(0, |h| h.len() / (1024 * 1024)) as u64,
        "task succeeded"
    );
    Ok(output)
}

/// Counts the words of `text` after a round trip through the temporary directory, as a task that
/// processes files (ffmpeg's kind) would: proves the image gives the non-root user a writable /tmp.
fn count_words_through_a_file(text: &str) -> Result<usize, TaskError> {
    let dir = std::env::temp_dir();
    // Unique per call, not only per process: two calls at once (tests run in threads) must not
    // remove each other's file.
    static CALLS: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let call = CALLS.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let path = dir.join(format!("{NAME}-{}-{call}.txt", std::process::id()));
    let unusable = |e: std::io::Error| {
        TaskError::failed(format!(
            "cannot use the temporary directory {}: {e}; the image must give the task user a writable /tmp",
            dir.display()
        ))
    };
    std::fs::write(&path, text).map_err(unusable)?;
    let read = std::fs::read_to_string(&path).map_err(unusable);
    let _ = std::fs::remove_file(&path);
    Ok(read?.split_whitespace().count())
}

#[cfg(test)]
mod tests {
    use super::*;
    use runtime::{Exit, Shutdown};

    fn context(input: &str) -> TaskContext {
        let input = input.to_owned();
        TaskContext::from_lookup(move |name| (name == "TASK_INPUT").then(|| input.clone()), Shutdown::new()).unwrap()
    }

    async fn run_in(context: &TaskContext) -> Result<Output, TaskError> {
        runtime::entry::call(&run, context).await
    }

    #[tokio::test]
    async fn greets_and_counts_words_through_a_file() {
        let out = run_in(&context(r#"{"name":"Ada","text":"one two  three"}"#)).await.unwrap();
        assert_eq!(out.greeting, "Hello, Ada!");
        assert_eq!(out.words, 3);
        assert_eq!(out.service, NAME);
        assert_eq!(out.task_arn, None);
    }

    #[tokio::test]
    async fn fail_true_fails_with_a_clear_message() {
        let err = run_in(&context(r#"{"fail":true}"#)).await.unwrap_err();
        assert_eq!(err.exit(), Exit::TaskFailed);
        assert!(err.message().contains("\"fail\": true"), "{}", err.message());
    }

    #[tokio::test]
    async fn negative_work_seconds_is_bad_input() {
        let err = run_in(&context(r#"{"work_seconds":-1}"#)).await.unwrap_err();
        assert_eq!(err.exit(), Exit::BadInput);
        assert!(err.message().contains("-1"), "{}", err.message());
    }

    #[tokio::test]
    async fn allocate_mib_holds_that_much_memory_and_succeeds_within_the_limit() {
        let out = run_in(&context(r#"{"allocate_mib":2,"text":"a b"}"#)).await.unwrap();
        assert_eq!(out.words, 2);
    }

    #[tokio::test]
    async fn a_stop_request_cuts_the_work_short() {
        let ctx = context(r#"{"work_seconds":30}"#);
        ctx.shutdown().request();
        let err = run_in(&ctx).await.unwrap_err();
        assert_eq!(err.exit(), Exit::Terminated);
    }
}
