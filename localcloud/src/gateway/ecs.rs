//! The ECS operations the gateway serves (RunTask, DescribeTasks, StopTask, ListTasks): the JSON
//! 1.1 request in, the local Fargate called, the answer in ECS's shape out.

use bytes::Bytes;
use hyper::StatusCode;
use serde::Deserialize;
use serde::de::DeserializeOwned;
use serde_json::{Value, json};

use crate::awsjson::{self, AwsError};
use crate::fargate::{Fargate, ListTasksRequest, RunTaskRequest};

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct DescribeTasksRequest {
    #[serde(default)]
    cluster: Option<String>,
    tasks: Vec<String>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct StopTaskRequest {
    #[serde(default)]
    cluster: Option<String>,
    task: String,
    #[serde(default)]
    reason: Option<String>,
}

fn parse<T: DeserializeOwned>(operation: &str, body: &[u8]) -> Result<T, AwsError> {
    let body = if body.is_empty() { b"{}".as_slice() } else { body };
    serde_json::from_slice(body).map_err(|e| {
        // A missing required member is InvalidParameter in ECS; malformed JSON is a
        // serialization error.
        if e.is_data() {
            AwsError::invalid_parameter(format!("{operation}: {e}"))
        } else {
            AwsError::serialization(format!("{operation}: the request body is not JSON: {e}"))
        }
    })
}

/// Serves `operation` for a caller in `region`.
pub async fn handle(fargate: &Fargate, operation: &str, region: &str, body: &Bytes) -> hyper::Response<Bytes> {
    match answer(fargate, operation, region, body).await {
        Ok(value) => awsjson::json_response(StatusCode::OK, &value),
        Err(err) => {
            tracing::info!(operation, "ECS error: {err}");
            err.to_response()
        }
    }
}

async fn answer(fargate: &Fargate, operation: &str, region: &str, body: &Bytes) -> Result<Value, AwsError> {
    match operation {
        "RunTask" => {
            let request: RunTaskRequest = parse(operation, body)?;
            let tasks = fargate.run_task(region, request).await?;
            Ok(json!({ "tasks": tasks, "failures": [] }))
        }
        "DescribeTasks" => {
            let request: DescribeTasksRequest = parse(operation, body)?;
            if request.tasks.is_empty() {
                return Err(AwsError::invalid_parameter("Tasks cannot be empty."));
            }
            if request.tasks.len() > 100 {
                return Err(AwsError::invalid_parameter("Tasks cannot have more than 100 entries."));
            }
            let (tasks, failures) = fargate.describe_tasks(region, request.cluster.as_deref(), &request.tasks).await?;
            Ok(json!({ "tasks": tasks, "failures": failures }))
        }
        "StopTask" => {
            let request: StopTaskRequest = parse(operation, body)?;
            let task =
                fargate.stop_task(region, request.cluster.as_deref(), &request.task, request.reason.as_deref()).await?;
            Ok(json!({ "task": task }))
        }
        "ListTasks" => {
            let request: ListTasksRequest = parse(operation, body)?;
            let arns = fargate.list_tasks(region, &request).await?;
            Ok(json!({ "taskArns": arns }))
        }
        other => Err(AwsError::unknown_operation(other)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_missing_required_member_is_an_invalid_parameter_and_bad_json_a_serialization_error() {
        let err = parse::<StopTaskRequest>("StopTask", b"{\"cluster\":\"c\"}").unwrap_err();
        assert_eq!(err.error_type, "InvalidParameterException");
        assert!(err.message.contains("task"), "{err}");
        let err = parse::<StopTaskRequest>("StopTask", b"{not json").unwrap_err();
        assert_eq!(err.error_type, "SerializationException");
        let run: RunTaskRequest =
            parse("RunTask", br#"{"taskDefinition":"f:1","count":2,"networkConfiguration":{}}"#).unwrap();
        assert_eq!((run.task_definition.as_str(), run.count), ("f:1", Some(2)));
    }
}
