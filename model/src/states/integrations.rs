//! Service integration helpers: Task states that call ECS RunTask (Fargate) and SNS Publish, with
//! the exact request shapes Step Functions expects. ARNs are built from a partition the caller
//! supplies (`aws`, `aws-cn`, `aws-us-gov`, or a placeholder such as `${AWS::Partition}` for the
//! template layer to substitute), never a hard-coded `aws`. The other values (cluster, task
//! definition, subnets, topic...) are passed through as given, so they may be placeholders too.

use serde_json::{Value, json};

use super::state::Task;
use crate::task::INPUT_ENV;

/// The ARN of a Step Functions service integration, e.g. `arn:aws:states:::sns:publish`.
pub fn integration_arn(partition: &str, integration: &str) -> String {
    format!("arn:{partition}:states:::{integration}")
}

/// An ECS RunTask of a Fargate task whose container receives the state's input, serialised as
/// JSON, in the environment variable [`INPUT_ENV`] (what `runtime::TaskContext` reads).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EcsRunTask {
    /// Cluster name or ARN.
    pub cluster: String,
    /// Task definition family, family:revision, or ARN.
    pub task_definition: String,
    /// The container in the task definition that gets the input.
    pub container_name: String,
    pub subnets: Vec<String>,
    pub security_groups: Vec<String>,
    /// Needed in a public subnet without NAT or VPC endpoints, or the task cannot pull its image.
    pub assign_public_ip: bool,
    /// `true` for `ecs:runTask.sync`: the state waits until the task stops and fails if it fails.
    /// `false` for `ecs:runTask`: the state ends as soon as ECS accepts the task.
    pub wait_for_completion: bool,
}

impl EcsRunTask {
    /// `ecs:runTask.sync` or `ecs:runTask`, in `partition`.
    pub fn resource(&self, partition: &str) -> String {
        integration_arn(partition, if self.wait_for_completion { "ecs:runTask.sync" } else { "ecs:runTask" })
    }

    /// The RunTask request as the Task's `Parameters`.
    pub fn parameters(&self) -> Value {
        json!({
            "LaunchType": "FARGATE",
            "Cluster": self.cluster,
            "TaskDefinition": self.task_definition,
            "NetworkConfiguration": {
                "AwsvpcConfiguration": {
                    "Subnets": self.subnets,
                    "SecurityGroups": self.security_groups,
                    "AssignPublicIp": if self.assign_public_ip { "ENABLED" } else { "DISABLED" },
                }
            },
            "Overrides": {
                "ContainerOverrides": [{
                    "Name": self.container_name,
                    "Environment": [{"Name": INPUT_ENV, "Value.$": "States.JsonToString($)"}],
                }]
            }
        })
    }

    /// A Task state making this call; set its `next`/`end`, retries and catchers on the result.
    pub fn task(&self, partition: &str) -> Task {
        Task { parameters: Some(self.parameters()), ..Task::new(self.resource(partition)) }
    }
}

/// An SNS Publish to a topic.
#[derive(Debug, Clone, PartialEq)]
pub struct SnsPublish {
    pub topic_arn: String,
    pub message: SnsMessage,
}

/// What an SNS Publish sends.
#[derive(Debug, Clone, PartialEq)]
pub enum SnsMessage {
    /// A fixed message (`"Message"`): a string, or a JSON value Step Functions serialises.
    Literal(Value),
    /// Taken from the state's input (`"Message.$"`): a path such as `$` or `$.summary`, or an
    /// intrinsic function such as `States.Format('done: {}', $.id)`.
    Path(String),
}

impl SnsPublish {
    /// `sns:publish`, in `partition`.
    pub fn resource(partition: &str) -> String {
        integration_arn(partition, "sns:publish")
    }

    /// The Publish request as the Task's `Parameters`.
    pub fn parameters(&self) -> Value {
        match &self.message {
            SnsMessage::Literal(message) => json!({"TopicArn": self.topic_arn, "Message": message}),
            SnsMessage::Path(path) => json!({"TopicArn": self.topic_arn, "Message.$": path}),
        }
    }

    /// A Task state making this call; set its `next`/`end`, retries and catchers on the result.
    pub fn task(&self, partition: &str) -> Task {
        Task { parameters: Some(self.parameters()), ..Task::new(Self::resource(partition)) }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::states::{Retrier, State, StateMachine};

    fn run_task(wait_for_completion: bool) -> EcsRunTask {
        EcsRunTask {
            cluster: "${ClusterArn}".into(),
            task_definition: "${TaskDefinitionArn}".into(),
            container_name: "servicefull".into(),
            subnets: vec!["${SubnetA}".into(), "${SubnetB}".into()],
            security_groups: vec!["${SecurityGroup}".into()],
            assign_public_ip: true,
            wait_for_completion,
        }
    }

    #[test]
    fn ecs_run_task_sync_is_the_exact_request_aws_expects() {
        let task = run_task(true).task("${AWS::Partition}").with_end();
        assert_eq!(
            serde_json::to_value(State::Task(task)).unwrap(),
            json!({
                "Type": "Task",
                "Resource": "arn:${AWS::Partition}:states:::ecs:runTask.sync",
                "Parameters": {
                    "LaunchType": "FARGATE",
                    "Cluster": "${ClusterArn}",
                    "TaskDefinition": "${TaskDefinitionArn}",
                    "NetworkConfiguration": {"AwsvpcConfiguration": {
                        "Subnets": ["${SubnetA}", "${SubnetB}"],
                        "SecurityGroups": ["${SecurityGroup}"],
                        "AssignPublicIp": "ENABLED"
                    }},
                    "Overrides": {"ContainerOverrides": [{
                        "Name": "servicefull",
                        "Environment": [{"Name": "TASK_INPUT", "Value.$": "States.JsonToString($)"}]
                    }]}
                },
                "End": true
            })
        );
    }

    #[test]
    fn ecs_run_task_without_sync_and_in_another_partition() {
        let mut call = run_task(false);
        call.assign_public_ip = false;
        let task = call.task("aws-cn");
        assert_eq!(task.resource, "arn:aws-cn:states:::ecs:runTask");
        let parameters = task.parameters.unwrap();
        assert_eq!(parameters["NetworkConfiguration"]["AwsvpcConfiguration"]["AssignPublicIp"], "DISABLED");
        assert_eq!(parameters["Overrides"]["ContainerOverrides"][0]["Environment"][0]["Name"], INPUT_ENV);
    }

    #[test]
    fn sns_publish_with_a_literal_or_a_path() {
        let literal = SnsPublish { topic_arn: "${TopicArn}".into(), message: SnsMessage::Literal(json!("done")) };
        assert_eq!(
            serde_json::to_value(State::Task(literal.task("aws-us-gov").with_next("Done"))).unwrap(),
            json!({
                "Type": "Task",
                "Resource": "arn:aws-us-gov:states:::sns:publish",
                "Parameters": {"TopicArn": "${TopicArn}", "Message": "done"},
                "Next": "Done"
            })
        );
        let from_input =
            SnsPublish { topic_arn: "arn:aws:sns:us-east-1:1:t".into(), message: SnsMessage::Path("$".into()) };
        assert_eq!(from_input.parameters(), json!({"TopicArn": "arn:aws:sns:us-east-1:1:t", "Message.$": "$"}));
    }

    #[test]
    fn retries_are_written_in_whole_seconds_not_dropped() {
        // Sparta wrote "Retry": [] and IntervalSeconds in nanoseconds; both must come out as given.
        let task = run_task(true)
            .task("aws")
            .with_retry(
                Retrier::on(["ECS.AmazonECSException", "States.TaskFailed"])
                    .interval_seconds(2)
                    .max_attempts(3)
                    .backoff_rate(1.5),
            )
            .with_end();
        let machine = StateMachine::new("Run").with_state("Run", task);
        machine.validate().unwrap();
        let written = machine.to_json();
        assert!(
            written.contains(r#""Retry":[{"ErrorEquals":["ECS.AmazonECSException","States.TaskFailed"],"IntervalSeconds":2,"MaxAttempts":3,"BackoffRate":1.5}]"#),
            "{written}"
        );
    }
}
