//! The Task resources the local cloud's executions call: ECS `runTask` and `runTask.sync` through
//! the local Fargate, and SNS `publish` through moto. Requests and results are in the PascalCase
//! Step Functions uses for its optimised integrations; errors are named as Step Functions names
//! them (`ECS.<Exception>`, `SNS.<Exception>`, `States.TaskFailed`, `AmazonECS.Unknown`).

use futures_util::future::BoxFuture;
use serde_json::{Map, Value, json};
use states_interpreter::{Integrations, TaskCall, TaskFailure, names};

use crate::awsjson::AwsError;
use crate::fargate::{Fargate, RunTaskRequest, Task};
use crate::upstream::{Upstream, xml_element};

/// What the local cloud serves, named in the error for any other resource.
const SUPPORTED: &str = "arn:aws:states:::ecs:runTask (.sync, .waitForTaskToken) and arn:aws:states:::sns:publish \
     (.waitForTaskToken)";

/// A Task resource the local cloud can call.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Resource {
    RunTask,
    RunTaskSync,
    SnsPublish,
}

/// `arn:<partition>:states:::<service>:<action>` for the integrations served, in any partition.
fn resource(arn: &str) -> Option<Resource> {
    let parts: Vec<&str> = arn.splitn(6, ':').collect();
    match parts.as_slice() {
        ["arn", _, "states", "", "", rest] => match *rest {
            // A callback task's call is the plain one: the interpreter then waits for its token.
            "ecs:runTask" | "ecs:runTask.waitForTaskToken" => Some(Resource::RunTask),
            "ecs:runTask.sync" => Some(Resource::RunTaskSync),
            "sns:publish" | "sns:publish.waitForTaskToken" => Some(Resource::SnsPublish),
            _ => None,
        },
        _ => None,
    }
}

/// The integrations of the local cloud's gateway.
#[derive(Clone)]
pub struct LocalIntegrations {
    fargate: Fargate,
    upstream: Upstream,
}

impl LocalIntegrations {
    pub fn new(fargate: Fargate, upstream: Upstream) -> Self {
        Self { fargate, upstream }
    }

    async fn call(&self, call: TaskCall) -> Result<Value, TaskFailure> {
        let region = call.execution_arn.split(':').nth(3).unwrap_or(crate::REGION).to_owned();
        match resource(&call.resource) {
            Some(Resource::RunTask) => {
                let request = run_task_request(&call.parameters)?;
                let tasks = self.fargate.run_task(&region, request).await.map_err(|e| service_error("ECS", &e))?;
                Ok(run_task_response(&tasks))
            }
            Some(Resource::RunTaskSync) => self.run_task_sync(&region, call).await,
            Some(Resource::SnsPublish) => self.publish(&region, &call.parameters).await,
            None => Err(TaskFailure::new(
                names::RUNTIME,
                format!(
                    "The local cloud cannot call the Task resource {:?} (state {:?}); it serves {SUPPORTED}",
                    call.resource, call.state_name
                ),
            )),
        }
    }

    /// RunTask, `TaskSubmitted`, then the wait for the task to stop; stopping the execution (or
    /// the state's timeout) stops the task.
    async fn run_task_sync(&self, region: &str, call: TaskCall) -> Result<Value, TaskFailure> {
        let request = run_task_request(&call.parameters)?;
        let tasks = self.fargate.run_task(region, request).await.map_err(|e| service_error("ECS", &e))?;
        let answer = run_task_response(&tasks);
        call.events.submitted(answer.clone());
        // The local Fargate reports no failures today; a RunTask answer with some fails the state
        // as Step Functions documents.
        if answer["Failures"].as_array().is_some_and(|f| !f.is_empty()) || tasks.is_empty() {
            return Err(TaskFailure::new("AmazonECS.Unknown", answer["Failures"].to_string()));
        }
        let mut stopped = Vec::new();
        for task in &tasks {
            // The call's future is dropped when it is cancelled, so the stop is spawned.
            let fargate = self.fargate.clone();
            let token = call.cancellation.clone();
            let (region, cluster, arn) = (region.to_owned(), task.cluster_arn.clone(), task.task_arn.clone());
            tokio::spawn(async move {
                tokio::select! {
                    () = token.cancelled() => {
                        let reason = "Execution stopped or the state timed out (local cloud Step Functions)";
                        if let Err(e) = fargate.stop_task(&region, Some(&cluster), &arn, Some(reason)).await {
                            tracing::warn!(task = %arn, "could not stop the task of a cancelled state: {e}");
                        }
                    }
                    _ = fargate.wait_stopped(&arn) => {}
                }
            });
        }
        for task in &tasks {
            let task = self.fargate.wait_stopped(&task.task_arn).await.map_err(|e| service_error("ECS", &e))?;
            stopped.push(task);
        }
        // One task is what a state runs (Count is 1 unless the definition says otherwise); with
        // more, the first that failed decides, as the essential container of each must succeed.
        match stopped.iter().find(|t| !succeeded(t)) {
            Some(failed) => Err(TaskFailure::new(names::TASK_FAILED, pascal_case(task_value(failed)).to_string())),
            None => Ok(pascal_case(task_value(&stopped[0]))),
        }
    }

    async fn publish(&self, region: &str, parameters: &Value) -> Result<Value, TaskFailure> {
        let params = publish_params(parameters)?;
        let answer = self.upstream.call_query("sns", region, &params).await.map_err(|e| service_error("SNS", &e))?;
        let id = xml_element(&answer, "MessageId").ok_or_else(|| {
            TaskFailure::new(names::RUNTIME, format!("moto's SNS answered Publish without a MessageId: {answer}"))
        })?;
        Ok(json!({ "MessageId": id }))
    }
}

impl Integrations for LocalIntegrations {
    fn invoke(&self, call: TaskCall) -> BoxFuture<'_, Result<Value, TaskFailure>> {
        Box::pin(self.call(call))
    }
}

fn task_value(task: &Task) -> Value {
    serde_json::to_value(task).unwrap_or(Value::Null)
}

/// Every container exited 0 (the local Fargate runs the essential container only).
fn succeeded(task: &Task) -> bool {
    !task.containers.is_empty() && task.containers.iter().all(|c| c.exit_code == Some(0))
}

/// RunTask's answer as the `runTask` integration returns it.
fn run_task_response(tasks: &[Task]) -> Value {
    pascal_case(json!({ "tasks": tasks, "failures": [] }))
}

/// The state's PascalCase parameters as RunTask's request.
fn run_task_request(parameters: &Value) -> Result<RunTaskRequest, TaskFailure> {
    serde_json::from_value(camel_case(parameters.clone())).map_err(|e| {
        TaskFailure::new(
            "ECS.InvalidParameterException",
            format!("the state's Parameters are not a RunTask request: {e}"),
        )
    })
}

/// An AWS error of `service` as Step Functions names it for an optimised integration.
fn service_error(service: &str, error: &AwsError) -> TaskFailure {
    let code = &error.error_type;
    let name = if code.ends_with("Exception") { code.clone() } else { format!("{code}Exception") };
    TaskFailure::new(format!("{service}.{name}"), error.message.clone())
}

/// Publish's query parameters from the state's parameters.
fn publish_params(parameters: &Value) -> Result<Vec<(String, String)>, TaskFailure> {
    let invalid = |what: String| TaskFailure::new("SNS.InvalidParameterException", what);
    let object =
        parameters.as_object().ok_or_else(|| invalid(format!("Parameters must be an object, got {parameters}")))?;
    let mut params = vec![("Action".to_owned(), "Publish".to_owned()), ("Version".to_owned(), "2010-03-31".to_owned())];
    for (key, value) in object {
        match key.as_str() {
            "Message" => {
                let text = match value {
                    Value::String(s) => s.clone(),
                    other => other.to_string(),
                };
                params.push(("Message".into(), text));
            }
            "MessageAttributes" => {
                let attributes = value
                    .as_object()
                    .ok_or_else(|| invalid(format!("MessageAttributes must be an object, got {value}")))?;
                for (n, (name, attribute)) in attributes.iter().enumerate() {
                    let entry = format!("MessageAttributes.entry.{}", n + 1);
                    params.push((format!("{entry}.Name"), name.clone()));
                    for field in ["DataType", "StringValue", "BinaryValue"] {
                        if let Some(v) = attribute.get(field).and_then(Value::as_str) {
                            params.push((format!("{entry}.Value.{field}"), v.to_owned()));
                        }
                    }
                }
            }
            "TopicArn"
            | "TargetArn"
            | "PhoneNumber"
            | "Subject"
            | "MessageStructure"
            | "MessageGroupId"
            | "MessageDeduplicationId" => {
                let text = value.as_str().ok_or_else(|| invalid(format!("{key} must be a string, got {value}")))?;
                params.push((key.clone(), text.to_owned()));
            }
            other => return Err(invalid(format!("Publish has no parameter {other:?}"))),
        }
    }
    if !object.contains_key("Message") {
        return Err(invalid("Publish needs a Message".into()));
    }
    Ok(params)
}

/// Each object key with its first letter upper-cased: the JSON protocol's camelCase as Step
/// Functions' PascalCase.
pub fn pascal_case(value: Value) -> Value {
    rename_keys(value, &|key| {
        let mut chars = key.chars();
        chars.next().map(|c| c.to_uppercase().chain(chars).collect()).unwrap_or_default()
    })
}

/// Each object key with its first letter lower-cased: PascalCase parameters as the JSON
/// protocol's camelCase.
pub fn camel_case(value: Value) -> Value {
    rename_keys(value, &|key| {
        let mut chars = key.chars();
        chars.next().map(|c| c.to_lowercase().chain(chars).collect()).unwrap_or_default()
    })
}

fn rename_keys(value: Value, rename: &dyn Fn(&str) -> String) -> Value {
    match value {
        Value::Object(object) => {
            Value::Object(object.into_iter().map(|(k, v)| (rename(&k), rename_keys(v, rename))).collect::<Map<_, _>>())
        }
        Value::Array(items) => Value::Array(items.into_iter().map(|v| rename_keys(v, rename)).collect()),
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use hyper::StatusCode;

    #[test]
    fn resources_are_recognised_in_any_partition_and_nothing_else() {
        assert_eq!(resource("arn:aws:states:::ecs:runTask.sync"), Some(Resource::RunTaskSync));
        assert_eq!(resource("arn:aws-us-gov:states:::ecs:runTask"), Some(Resource::RunTask));
        assert_eq!(resource("arn:aws-cn:states:::sns:publish"), Some(Resource::SnsPublish));
        assert_eq!(resource("arn:aws:states:::ecs:runTask.waitForTaskToken"), Some(Resource::RunTask));
        assert_eq!(resource("arn:aws:states:::sns:publish.waitForTaskToken"), Some(Resource::SnsPublish));
        assert_eq!(resource("arn:aws:states:::lambda:invoke.waitForTaskToken"), None);
        assert_eq!(resource("arn:aws:states:::lambda:invoke"), None);
        assert_eq!(resource("arn:aws:lambda:us-east-1:123456789012:function:F"), None);
    }

    #[test]
    fn run_task_parameters_in_pascal_case_become_the_fargate_request() {
        let parameters = json!({
            "Cluster": "arn:aws:ecs:us-east-1:123456789012:cluster/c",
            "TaskDefinition": "servicefull:3",
            "LaunchType": "FARGATE",
            "NetworkConfiguration": {"AwsvpcConfiguration": {"Subnets": ["s-1"], "SecurityGroups": ["sg-1"], "AssignPublicIp": "ENABLED"}},
            "Overrides": {"ContainerOverrides": [{
                "Name": "servicefull",
                "Environment": [{"Name": "TASK_INPUT", "Value": "{\"Name\":\"kept\"}"}],
                "Command": ["fargateTask"]
            }]}
        });
        let request = run_task_request(&parameters).unwrap();
        assert_eq!(request.cluster.as_deref(), Some("arn:aws:ecs:us-east-1:123456789012:cluster/c"));
        assert_eq!(request.task_definition, "servicefull:3");
        assert_eq!(request.launch_type.as_deref(), Some("FARGATE"));
        let container = &request.overrides.unwrap().container_overrides[0];
        assert_eq!(container.name.as_deref(), Some("servicefull"));
        assert_eq!(container.command.as_deref(), Some(&["fargateTask".to_owned()][..]));
        assert_eq!(
            (container.environment[0].name.as_str(), container.environment[0].value.as_str()),
            ("TASK_INPUT", "{\"Name\":\"kept\"}"),
            "values are not renamed"
        );
        let err = run_task_request(&json!({"Cluster": "c"})).unwrap_err();
        assert_eq!(err.error, "ECS.InvalidParameterException");
        assert!(err.cause.contains("taskDefinition"), "{err}");
    }

    #[test]
    fn results_are_pascal_case_at_every_depth() {
        let value = pascal_case(
            json!({"taskArn": "t", "containers": [{"exitCode": 1, "name": "c"}], "stopCode": "EssentialContainerExited"}),
        );
        assert_eq!(
            value,
            json!({"TaskArn": "t", "Containers": [{"ExitCode": 1, "Name": "c"}], "StopCode": "EssentialContainerExited"})
        );
        assert_eq!(camel_case(json!({"EnableECSManagedTags": true})), json!({"enableECSManagedTags": true}));
    }

    #[test]
    fn service_errors_are_named_as_step_functions_names_them() {
        let ecs = service_error("ECS", &AwsError::cluster_not_found());
        assert_eq!((ecs.error.as_str(), ecs.cause.as_str()), ("ECS.ClusterNotFoundException", "Cluster not found."));
        let sns = service_error("SNS", &AwsError::new(StatusCode::NOT_FOUND, "NotFound", "Topic does not exist"));
        assert_eq!(sns.error, "SNS.NotFoundException");
    }

    #[test]
    fn publish_serialises_a_json_message_and_flattens_attributes() {
        let params = publish_params(&json!({
            "TopicArn": "arn:aws:sns:us-east-1:123456789012:t",
            "Message": {"status": "failed", "n": 1},
            "Subject": "s",
            "MessageAttributes": {"kind": {"DataType": "String", "StringValue": "alert"}}
        }))
        .unwrap();
        let get = |k: &str| params.iter().find(|(key, _)| key == k).map(|(_, v)| v.as_str());
        assert_eq!(get("Action"), Some("Publish"));
        assert_eq!(get("TopicArn"), Some("arn:aws:sns:us-east-1:123456789012:t"));
        assert_eq!(
            serde_json::from_str::<Value>(get("Message").unwrap()).unwrap(),
            json!({"status": "failed", "n": 1})
        );
        assert_eq!(get("Subject"), Some("s"));
        assert_eq!(get("MessageAttributes.entry.1.Name"), Some("kind"));
        assert_eq!(get("MessageAttributes.entry.1.Value.DataType"), Some("String"));
        assert_eq!(get("MessageAttributes.entry.1.Value.StringValue"), Some("alert"));
        let plain = publish_params(&json!({"TopicArn": "t", "Message": "plain"})).unwrap();
        assert!(plain.contains(&("Message".into(), "plain".into())), "{plain:?}");
        assert_eq!(publish_params(&json!({"TopicArn": "t"})).unwrap_err().error, "SNS.InvalidParameterException");
        assert!(publish_params(&json!({"Message": "m", "Bogus": 1})).unwrap_err().cause.contains("Bogus"));
    }
}
