//! The body of the Fargate task (`fargateTask`): what this service does when its workflow runs it.
//! The runtime reads the input, writes the result as one JSON line on stdout and sets the exit
//! code; this file holds only the work. The sample greets a name and counts the words of a text;
//! input `{"fail": true}` makes it fail on purpose, so the workflow's failure path can be exercised
//! end to end.

use std::time::Instant;

use runtime::{TaskContext, TaskError};
use serde::{Deserialize, Serialize};

/// What `--help` says of the task subcommand.
pub const ABOUT: &str = "Run the Fargate task: reads JSON input from TASK_INPUT, writes one JSON result line on stdout";

/// The input this task accepts. Fields it does not know are ignored (the state machine may add its own).
#[derive(Debug, Default, Deserialize)]
pub struct Input {
    /// Who to greet.
    #[serde(default)]
    pub name: Option<String>,
    /// Text whose words the task counts: the stand-in for real work.
    #[serde(default)]
    pub text: Option<String>,
    /// Fail on purpose, to exercise the failure path.
    #[serde(default)]
    pub fail: bool,
}

/// The task's result: the one JSON line it writes on stdout.
#[derive(Debug, Serialize, Deserialize, PartialEq)]
pub struct Output {
    pub service: String,
    pub greeting: String,
    pub words: usize,
    pub task_arn: Option<String>,
    pub elapsed_ms: u128,
}

/// The task itself.
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
    let name = input.name.as_deref().unwrap_or("world");
    tracing::info!(
        service = crate::SERVICE_NAME,
        task_arn = task_arn.as_deref().unwrap_or("-"),
        name,
        fail = input.fail,
        "task started"
    );
    if input.fail {
        return Err(TaskError::failed("the task failed on purpose: its input holds \"fail\": true"));
    }
    let output = Output {
        service: crate::SERVICE_NAME.to_owned(),
        greeting: format!("Hello, {name}!"),
        words: input.text.as_deref().unwrap_or("").split_whitespace().count(),
        task_arn,
        elapsed_ms: started.elapsed().as_millis(),
    };
    tracing::info!(words = output.words, elapsed_ms = output.elapsed_ms as u64, "task succeeded");
    Ok(output)
}

#[cfg(test)]
mod tests {
    use super::*;
    use runtime::{Exit, Shutdown};

    fn context(input: &str) -> TaskContext {
        let input = input.to_owned();
        TaskContext::from_lookup(move |name| (name == "TASK_INPUT").then(|| input.clone()), Shutdown::new()).unwrap()
    }

    /// The task as the binary runs it: TASK_INPUT decoded by the runtime, then `run`.
    async fn run_with(input: &str) -> Result<Output, TaskError> {
        runtime::entry::call(&run, &context(input)).await
    }

    #[tokio::test]
    async fn greets_and_counts_words() {
        let out = run_with(r#"{"name":"Ada","text":"one two  three"}"#).await.unwrap();
        assert_eq!(out.greeting, "Hello, Ada!");
        assert_eq!(out.words, 3);
        assert_eq!(out.service, crate::SERVICE_NAME);
        assert_eq!(out.task_arn, None);
    }

    #[tokio::test]
    async fn fail_true_fails_with_a_clear_message() {
        let err = run_with(r#"{"fail":true}"#).await.unwrap_err();
        assert_eq!(err.exit(), Exit::TaskFailed);
        assert!(err.message().contains("\"fail\": true"), "{}", err.message());
    }

    #[tokio::test]
    async fn a_wrongly_typed_field_is_bad_input() {
        let err = run_with(r#"{"fail":"yes"}"#).await.unwrap_err();
        assert_eq!(err.exit(), Exit::BadInput);
        assert!(err.message().contains("TASK_INPUT"), "{}", err.message());
    }

    #[tokio::test]
    async fn run_takes_the_input_as_its_own_type() {
        let input = Input { name: None, text: Some("a b".into()), fail: false };
        let out = run(input, &context("{}")).await.unwrap();
        assert_eq!((out.greeting.as_str(), out.words), ("Hello, world!", 2));
    }
}
