//! The task context: what ECS and the state machine hand a running task. The state machine passes
//! the execution input as a JSON document in the `TASK_INPUT` environment variable (a container
//! override); ECS sets `ECS_CONTAINER_METADATA_URI_V4`, from which the task learns its own ARN.

use std::time::Duration;

use serde::de::DeserializeOwned;
use serde_json::Value;

use crate::exit::{CommandError, Exit, TaskError};
use crate::shutdown::Shutdown;

/// The environment variable that carries the task's input, a JSON document.
pub use model::task::INPUT_ENV;
/// Set by ECS (and by the local cloud) on every task: the task metadata endpoint, version 4.
pub const METADATA_ENV: &str = "ECS_CONTAINER_METADATA_URI_V4";

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum InputError {
    #[error(
        "no task input: the environment variable {var} is not set. The state machine passes the execution \
         input there; to run by hand, set it, e.g. {var}='{{\"name\":\"world\"}}'"
    )]
    Missing { var: &'static str },
    #[error("the task input in {var} is not valid JSON: {detail} (input: {excerpt})")]
    Malformed { var: &'static str, detail: String, excerpt: String },
    #[error("the task input in {var} does not fit this task: {detail}")]
    Invalid { var: &'static str, detail: String },
}

impl From<InputError> for CommandError {
    fn from(err: InputError) -> Self {
        let exit = match err {
            InputError::Missing { .. } => Exit::MissingInput,
            InputError::Malformed { .. } | InputError::Invalid { .. } => Exit::BadInput,
        };
        CommandError::new(exit, err.to_string())
    }
}

impl From<InputError> for TaskError {
    fn from(err: InputError) -> Self {
        match err {
            InputError::Missing { .. } => TaskError::missing_input(err.to_string()),
            InputError::Malformed { .. } | InputError::Invalid { .. } => TaskError::bad_input(err.to_string()),
        }
    }
}

/// What a task knows about itself and its input.
#[derive(Debug, Clone)]
pub struct TaskContext {
    input: Value,
    metadata_endpoint: Option<String>,
    shutdown: Shutdown,
}

impl TaskContext {
    /// Reads the context from the process environment.
    pub fn from_env(shutdown: Shutdown) -> Result<Self, InputError> {
        Self::from_lookup(|name| std::env::var(name).ok(), shutdown)
    }

    /// Reads the context through `lookup` (the environment, or a map in tests).
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>, shutdown: Shutdown) -> Result<Self, InputError> {
        let raw = lookup(INPUT_ENV).ok_or(InputError::Missing { var: INPUT_ENV })?;
        let input = serde_json::from_str(&raw).map_err(|e| InputError::Malformed {
            var: INPUT_ENV,
            detail: e.to_string(),
            excerpt: excerpt(&raw),
        })?;
        let metadata_endpoint = lookup(METADATA_ENV).filter(|v| !v.is_empty());
        Ok(Self { input, metadata_endpoint, shutdown })
    }

    /// The raw input document.
    pub fn input(&self) -> &Value {
        &self.input
    }

    /// The input as the task's own type; a mismatch names the field and what was expected.
    pub fn input_as<T: DeserializeOwned>(&self) -> Result<T, InputError> {
        T::deserialize(&self.input).map_err(|e| InputError::Invalid { var: INPUT_ENV, detail: e.to_string() })
    }

    /// The ECS task metadata endpoint, when running under ECS (or the local cloud).
    pub fn metadata_endpoint(&self) -> Option<&str> {
        self.metadata_endpoint.as_deref()
    }

    pub fn shutdown(&self) -> &Shutdown {
        &self.shutdown
    }

    /// The task's ARN, read from the metadata endpoint's `/task` document. `None` when not under
    /// ECS; an error when the endpoint is set but does not answer as ECS documents it.
    pub async fn task_arn(&self) -> Result<Option<String>, String> {
        let Some(endpoint) = self.metadata_endpoint.clone() else {
            return Ok(None);
        };
        let url = format!("{}/task", endpoint.trim_end_matches('/'));
        let fetched = tokio::task::spawn_blocking(move || fetch_json(&url))
            .await
            .map_err(|e| format!("the metadata request did not complete: {e}"))??;
        match fetched.get("TaskARN").and_then(Value::as_str) {
            Some(arn) => Ok(Some(arn.to_owned())),
            None => Err(format!("the task metadata at {endpoint}/task has no TaskARN field")),
        }
    }
}

fn fetch_json(url: &str) -> Result<Value, String> {
    let agent = ureq::Agent::config_builder().timeout_global(Some(Duration::from_secs(2))).build().new_agent();
    let mut response =
        agent.get(url).call().map_err(|e| format!("the task metadata endpoint {url} did not answer: {e}"))?;
    response.body_mut().read_json::<Value>().map_err(|e| format!("the task metadata at {url} is not JSON: {e}"))
}

/// The start of a value, for an error message: enough to recognise it, never a whole document.
fn excerpt(raw: &str) -> String {
    const MAX: usize = 80;
    match raw.char_indices().nth(MAX) {
        Some((cut, _)) => format!("{:?}...", &raw[..cut]),
        None => format!("{raw:?}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn context(vars: &[(&str, &str)]) -> Result<TaskContext, InputError> {
        let vars: HashMap<String, String> = vars.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        TaskContext::from_lookup(|name| vars.get(name).cloned(), Shutdown::new())
    }

    #[test]
    fn valid_input_is_parsed() {
        let ctx = context(&[(INPUT_ENV, r#"{"name":"world","n":3}"#)]).unwrap();
        assert_eq!(ctx.input()["name"], "world");
        assert_eq!(ctx.input()["n"], 3);
        assert_eq!(ctx.metadata_endpoint(), None);
    }

    #[test]
    fn missing_input_is_its_own_error_and_exit_code() {
        let err = context(&[]).unwrap_err();
        assert_eq!(err, InputError::Missing { var: INPUT_ENV });
        let message = err.to_string();
        assert!(message.contains("TASK_INPUT") && message.contains("not set"), "{message}");
        assert_eq!(CommandError::from(err).exit, Exit::MissingInput);
    }

    #[test]
    fn malformed_input_names_the_problem_and_shows_the_value() {
        let err = context(&[(INPUT_ENV, "{\"name\": wor")]).unwrap_err();
        let message = err.to_string();
        assert!(message.contains("not valid JSON"), "{message}");
        assert!(message.contains("line 1 column"), "{message}");
        assert!(message.contains("wor"), "{message}");
        assert_eq!(CommandError::from(err).exit, Exit::BadInput);
    }

    #[test]
    fn a_long_malformed_input_is_shortened_in_the_message() {
        let raw = format!("[{}", "1,".repeat(500));
        let message = context(&[(INPUT_ENV, &raw)]).unwrap_err().to_string();
        assert!(message.len() < 400, "{message}");
        assert!(message.contains("..."), "{message}");
    }

    #[test]
    fn typed_input_mismatch_names_the_field() {
        #[derive(Debug, serde::Deserialize)]
        #[allow(dead_code)]
        struct Input {
            count: u32,
        }
        let ctx = context(&[(INPUT_ENV, r#"{"count":"three"}"#)]).unwrap();
        let err = ctx.input_as::<Input>().unwrap_err();
        assert!(matches!(err, InputError::Invalid { .. }));
        assert!(err.to_string().contains("invalid type: string \"three\""), "{err}");
        assert_eq!(CommandError::from(err).exit, Exit::BadInput);
    }

    #[test]
    fn empty_metadata_endpoint_counts_as_absent() {
        let ctx = context(&[(INPUT_ENV, "{}"), (METADATA_ENV, "")]).unwrap();
        assert_eq!(ctx.metadata_endpoint(), None);
    }

    #[tokio::test]
    async fn task_arn_is_read_from_the_metadata_endpoint() {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let server = tokio::spawn(async move {
            let (mut stream, _) = listener.accept().await.unwrap();
            let mut buf = vec![0u8; 2048];
            let n = stream.read(&mut buf).await.unwrap();
            let request = String::from_utf8_lossy(&buf[..n]).to_string();
            let body = r#"{"TaskARN":"arn:aws:ecs:us-east-1:123456789012:task/c/abc","Family":"f"}"#;
            let reply = format!(
                "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                body.len()
            );
            stream.write_all(reply.as_bytes()).await.unwrap();
            request
        });
        let endpoint = format!("http://{addr}/v4/abc");
        let ctx = context(&[(INPUT_ENV, "{}"), (METADATA_ENV, &endpoint)]).unwrap();
        let arn = ctx.task_arn().await.unwrap();
        assert_eq!(arn.as_deref(), Some("arn:aws:ecs:us-east-1:123456789012:task/c/abc"));
        let request = server.await.unwrap();
        assert!(request.starts_with("GET /v4/abc/task "), "{request}");
    }

    #[tokio::test]
    async fn an_unanswering_metadata_endpoint_is_an_error_naming_it() {
        // Bind and drop to get a loopback port nothing listens on.
        let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let endpoint = format!("http://127.0.0.1:{port}/v4");
        let ctx = context(&[(INPUT_ENV, "{}"), (METADATA_ENV, &endpoint)]).unwrap();
        let err = ctx.task_arn().await.unwrap_err();
        assert!(err.contains(&endpoint), "{err}");
    }
}
