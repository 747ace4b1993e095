//! Service integration helpers: Task states that call ECS RunTask (Fargate) and SNS Publish, with
//! the exact request shapes Step Functions expects. ARNs are built from a partition the caller
//! supplies (`aws`, `aws-cn`, `aws-us-gov`, or a placeholder such as `${AWS::Partition}` for the
//! template layer to substitute), never a hard-coded `aws`. The other values (cluster, task
//! definition, subnets, topic...) are passed through as given, so they may be placeholders too.

use serde_json::{Value, json};

use super::state::Task;
use crate::task::{HEARTBEAT_ENV, INPUT_ENV, TOKEN_ENV, TOKEN_EXPRESSION, TOKEN_PATH};

/// The ARN of a Step Functions service integration, e.g. `arn:aws:states:::sns:publish`.
pub fn integration_arn(partition: &str, integration: &str) -> String {
    format!("arn:{partition}:states:::{integration}")
}

/// How a RunTask state waits for its task, and so what its result is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RunPattern {
    /// `ecs:runTask`: the state ends as soon as ECS accepts the task; its result is RunTask's answer.
    RequestResponse,
    /// `ecs:runTask.sync`: the state waits until the task stops and fails if it fails (an exit code
    /// other than 0); its result is ECS's description of the stopped task, and nothing the task
    /// computed.
    Sync,
    /// `ecs:runTask.waitForTaskToken`, the callback pattern: the container gets the task token in
    /// [`TOKEN_ENV`] and the runtime reports back: the task's return value becomes the state's
    /// result (SendTaskSuccess), its error the state's error and cause (SendTaskFailure).
    /// `heartbeat_seconds` becomes the state's HeartbeatSeconds and reaches the container in
    /// [`HEARTBEAT_ENV`]: the runtime sends a heartbeat as the task starts and every third of it
    /// after. A container that dies without reporting (out of memory, killed, an image that cannot
    /// start) then ends the state in `States.HeartbeatTimeout`; without it, only TimeoutSeconds
    /// ends the wait.
    Callback { heartbeat_seconds: Option<u64> },
}

impl RunPattern {
    /// The integration's name after `states:::`.
    pub fn integration(self) -> &'static str {
        match self {
            Self::RequestResponse => "ecs:runTask",
            Self::Sync => "ecs:runTask.sync",
            Self::Callback { .. } => "ecs:runTask.waitForTaskToken",
        }
    }
}

/// An ECS RunTask of a Fargate task whose container receives the state's input, serialised as
/// JSON, in the environment variable [`INPUT_ENV`] (what `runtime::TaskContext` reads), and in the
/// callback pattern its task token in [`TOKEN_ENV`].
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
    /// How the state waits for the task: see [`RunPattern`].
    pub pattern: RunPattern,
}

impl EcsRunTask {
    /// `ecs:runTask`, `ecs:runTask.sync` or `ecs:runTask.waitForTaskToken`, in `partition`.
    pub fn resource(&self, partition: &str) -> String {
        integration_arn(partition, self.pattern.integration())
    }

    /// The container's environment overrides: the input, and in the callback pattern the token
    /// and the heartbeat interval. `input` and `token` are the values in the state's language.
    fn environment(&self, input: (&str, &str), token: (&str, &str)) -> Value {
        let mut environment = vec![json!({"Name": INPUT_ENV, input.0: input.1})];
        if let RunPattern::Callback { heartbeat_seconds } = self.pattern {
            environment.push(json!({"Name": TOKEN_ENV, token.0: token.1}));
            if let Some(seconds) = heartbeat_seconds {
                environment.push(json!({"Name": HEARTBEAT_ENV, "Value": seconds.to_string()}));
            }
        }
        Value::Array(environment)
    }

    /// The Task state for this call, its HeartbeatSeconds set in the callback pattern.
    fn state(&self, partition: &str) -> Task {
        let task = Task::new(self.resource(partition));
        match self.pattern {
            RunPattern::Callback { heartbeat_seconds: Some(seconds) } => task.heartbeat_seconds(seconds),
            _ => task,
        }
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
                    "Environment": self.environment(("Value.$", "States.JsonToString($)"), ("Value.$", TOKEN_PATH)),
                }]
            }
        })
    }

    /// A Task state making this call; set its `next`/`end`, retries and catchers on the result.
    pub fn task(&self, partition: &str) -> Task {
        Task { parameters: Some(self.parameters()), ..self.state(partition) }
    }

    /// The same request for a JSONata state (`Arguments`): the execution's input reaches the
    /// container as `$string($states.input)`, the JSON text `States.JsonToString($)` gives, and the
    /// token as `$states.context.Task.Token`.
    pub fn arguments(&self) -> Value {
        let mut arguments = self.parameters();
        arguments["Overrides"]["ContainerOverrides"][0]["Environment"] =
            self.environment(("Value", "{% $string($states.input) %}"), ("Value", TOKEN_EXPRESSION));
        arguments
    }

    /// A JSONata Task state running the task ([`EcsRunTask::arguments`]), `"QueryLanguage":
    /// "JSONata"` set on the state; set its `next`/`end`, retries and catchers on the result.
    pub fn jsonata_task(&self, partition: &str) -> Task {
        self.state(partition).jsonata().arguments(self.arguments())
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

    /// A JSONata Task state publishing `message` (any JSON; strings written as `{% ... %}` are
    /// evaluated, e.g. `"{% $states.context.Execution.Id %}"`), `"QueryLanguage": "JSONata"` set
    /// on the state. JSONata has no paths, so this takes the message itself, not an [`SnsMessage`].
    pub fn jsonata_task(topic_arn: impl Into<String>, message: Value, partition: &str) -> Task {
        Task::new(Self::resource(partition))
            .jsonata()
            .arguments(json!({"TopicArn": topic_arn.into(), "Message": message}))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::states::jsonata::NumberOrExpression;
    use crate::states::{Retrier, State, StateMachine};

    fn run_task(pattern: RunPattern) -> EcsRunTask {
        EcsRunTask {
            cluster: "${ClusterArn}".into(),
            task_definition: "${TaskDefinitionArn}".into(),
            container_name: "servicefull".into(),
            subnets: vec!["${SubnetA}".into(), "${SubnetB}".into()],
            security_groups: vec!["${SecurityGroup}".into()],
            assign_public_ip: true,
            pattern,
        }
    }

    #[test]
    fn ecs_run_task_sync_is_the_exact_request_aws_expects() {
        let task = run_task(RunPattern::Sync).task("${AWS::Partition}").with_end();
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
    fn the_jsonata_forms_send_the_same_requests() {
        let task = run_task(RunPattern::Sync).jsonata_task("aws");
        assert_eq!(task.query_language, Some(crate::states::QueryLanguage::JSONata));
        assert_eq!(task.parameters, None);
        let mut expected = run_task(RunPattern::Sync).parameters();
        expected["Overrides"]["ContainerOverrides"][0]["Environment"] =
            json!([{"Name": "TASK_INPUT", "Value": "{% $string($states.input) %}"}]);
        assert_eq!(task.arguments, Some(expected));
        let publish = SnsPublish::jsonata_task("${TopicArn}", json!({"id": "{% $states.input.id %}"}), "aws");
        assert_eq!(
            publish.arguments,
            Some(json!({"TopicArn": "${TopicArn}", "Message": {"id": "{% $states.input.id %}"}}))
        );
        assert_eq!(publish.resource, "arn:aws:states:::sns:publish");
    }

    #[test]
    fn a_callback_run_task_passes_the_token_and_the_heartbeat_to_the_container() {
        let callback = run_task(RunPattern::Callback { heartbeat_seconds: Some(60) });
        let task = callback.task("aws");
        assert_eq!(task.resource, "arn:aws:states:::ecs:runTask.waitForTaskToken");
        assert_eq!(task.heartbeat_seconds, Some(NumberOrExpression::Number(60)));
        assert_eq!(
            task.parameters.unwrap()["Overrides"]["ContainerOverrides"][0]["Environment"],
            json!([
                {"Name": "TASK_INPUT", "Value.$": "States.JsonToString($)"},
                {"Name": "TASK_TOKEN", "Value.$": "$$.Task.Token"},
                {"Name": "TASK_HEARTBEAT_SECONDS", "Value": "60"}
            ])
        );
        let task = callback.jsonata_task("aws");
        assert_eq!(task.heartbeat_seconds, Some(NumberOrExpression::Number(60)));
        assert_eq!(
            task.arguments.unwrap()["Overrides"]["ContainerOverrides"][0]["Environment"],
            json!([
                {"Name": "TASK_INPUT", "Value": "{% $string($states.input) %}"},
                {"Name": "TASK_TOKEN", "Value": "{% $states.context.Task.Token %}"},
                {"Name": "TASK_HEARTBEAT_SECONDS", "Value": "60"}
            ])
        );
        // Without a heartbeat: only the token, and no HeartbeatSeconds.
        let task = run_task(RunPattern::Callback { heartbeat_seconds: None }).task("aws");
        assert_eq!(task.heartbeat_seconds, None);
        assert_eq!(
            task.parameters.unwrap()["Overrides"]["ContainerOverrides"][0]["Environment"][1]["Name"],
            "TASK_TOKEN"
        );
        let machine = StateMachine::new("Run").with_state("Run", callback.jsonata_task("aws").with_end());
        machine.lint().unwrap();
    }

    #[test]
    fn ecs_run_task_without_sync_and_in_another_partition() {
        let mut call = run_task(RunPattern::RequestResponse);
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
        let task = run_task(RunPattern::Sync)
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
