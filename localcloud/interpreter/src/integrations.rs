//! The boundary to the services a Task state calls: the interpreter hands each call to an
//! [`Integrations`] implementation (the local cloud's ECS, SNS...; a table of canned results in
//! tests) and takes back a result or a failure. Also how a resource ARN splits into the
//! `resourceType` and `resource` that history events show.

use std::sync::{Arc, Mutex};

use futures_util::future::BoxFuture;
use serde_json::Value;
use tokio_util::sync::CancellationToken;

use crate::events::{EventDetails, EventLog};

/// One call of a Task state.
#[derive(Debug, Clone)]
pub struct TaskCall {
    /// The state's `Resource`, verbatim (e.g. `arn:aws:states:::ecs:runTask.sync`).
    pub resource: String,
    /// The request: the state's effective parameters, after InputPath, Parameters, paths and
    /// intrinsic functions.
    pub parameters: Value,
    pub state_name: String,
    /// 1 for the first attempt, 2 for the first retry...
    pub attempt: u32,
    pub execution_arn: String,
    /// The task token, for `.waitForTaskToken` resources (also at `$$.Task.Token`).
    pub task_token: Option<String>,
    /// Cancelled when the call is no longer wanted: the execution was stopped or timed out, or
    /// the state's TimeoutSeconds passed. The call's future is dropped right after, so work that
    /// must still happen then (stopping an ECS task) belongs in a task spawned on this token.
    pub cancellation: CancellationToken,
    /// Records the events an integration itself causes in the call's thread of the history.
    pub events: TaskEvents,
}

/// The history of one Task call, as far as the integration writes it: `TaskSubmitted`, which a
/// `.sync` integration records once the service accepted the job (and before it waits for its
/// end), as Step Functions does.
#[derive(Clone)]
pub struct TaskEvents {
    log: Arc<EventLog>,
    /// The call's thread's last event id: TaskStarted's, then each event recorded here.
    last: Arc<Mutex<u64>>,
    resource_type: String,
    resource: String,
}

impl std::fmt::Debug for TaskEvents {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TaskEvents").field("last", &self.last_id()).field("resource", &self.resource).finish()
    }
}

impl TaskEvents {
    pub(crate) fn new(log: Arc<EventLog>, last: u64, resource_type: &str, resource: &str) -> Self {
        Self {
            log,
            last: Arc::new(Mutex::new(last)),
            resource_type: resource_type.to_owned(),
            resource: resource.to_owned(),
        }
    }

    /// A handle whose events go nowhere, for calling an integration outside an execution.
    pub fn detached(resource: &str) -> Self {
        let (resource_type, resource) = split_resource(resource);
        Self::new(
            Arc::new(EventLog::new(Arc::new(()), Arc::new(crate::clock::SystemClock))),
            0,
            &resource_type,
            &resource,
        )
    }

    /// Records `TaskSubmitted` with the service's answer to the submission.
    pub fn submitted(&self, output: Value) {
        let mut last = self.last.lock().unwrap_or_else(|e| e.into_inner());
        self.log.emit(
            &mut last,
            EventDetails::TaskSubmitted {
                resource_type: self.resource_type.clone(),
                resource: self.resource.clone(),
                output,
            },
        );
    }

    /// The id of the last event of this call's thread.
    pub(crate) fn last_id(&self) -> u64 {
        *self.last.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// A task that failed: the error name a Retrier or Catcher matches on, and its cause.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{error}: {cause}")]
pub struct TaskFailure {
    pub error: String,
    pub cause: String,
}

impl TaskFailure {
    pub fn new(error: impl Into<String>, cause: impl Into<String>) -> Self {
        Self { error: error.into(), cause: cause.into() }
    }
}

/// The services Task states call.
pub trait Integrations: Send + Sync {
    /// Performs `call`; resolves to the service's result (the task's raw result, before
    /// ResultSelector) or a failure.
    fn invoke(&self, call: TaskCall) -> BoxFuture<'_, Result<Value, TaskFailure>>;
}

/// Splits a Task's resource as history events show it: an optimised integration
/// `arn:aws:states:::ecs:runTask.sync` is resourceType `ecs`, resource `runTask.sync` (an AWS SDK
/// one, `arn:aws:states:::aws-sdk:s3:listBuckets`, is `aws-sdk:s3` and `listBuckets`); any other
/// ARN (a Lambda function, an activity) is its service and the whole ARN.
pub fn split_resource(arn: &str) -> (String, String) {
    let parts: Vec<&str> = arn.splitn(6, ':').collect();
    match parts.as_slice() {
        ["arn", _, "states", "", "", rest] => match rest.rsplit_once(':') {
            Some((service, action)) => (service.to_owned(), action.to_owned()),
            None => ((*rest).to_owned(), String::new()),
        },
        ["arn", _, "states", _, _, rest] if rest.starts_with("activity:") => ("activity".to_owned(), arn.to_owned()),
        ["arn", _, service, ..] => ((*service).to_owned(), arn.to_owned()),
        _ => (String::new(), arn.to_owned()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_like_the_history_events() {
        let split = |arn: &str| {
            let (t, r) = split_resource(arn);
            (t, r)
        };
        assert_eq!(split("arn:aws:states:::ecs:runTask.sync"), ("ecs".into(), "runTask.sync".into()));
        assert_eq!(split("arn:aws-cn:states:::sns:publish"), ("sns".into(), "publish".into()));
        assert_eq!(split("arn:aws:states:::lambda:invoke"), ("lambda".into(), "invoke".into()));
        assert_eq!(split("arn:aws:states:::aws-sdk:s3:listBuckets"), ("aws-sdk:s3".into(), "listBuckets".into()));
        let function = "arn:aws:lambda:us-east-1:123456789012:function:Hello";
        assert_eq!(split(function), ("lambda".into(), function.into()));
        let activity = "arn:aws:states:us-east-1:123456789012:activity:Work";
        assert_eq!(split(activity), ("activity".into(), activity.into()));
    }
}
