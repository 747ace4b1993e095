//! The service's description, in one place: its name, task size, environment, and the workflow
//! the state machine runs, expressed with the `model` crate's States Language builders. This
//! is the file a forking user edits. Every resource name derives from `SERVICE_NAME`, so renaming a
//! fork is one change in lib.rs. The provisioner reads this through `describe()` and
//! `ServiceDescription::workflow`; nothing here calls AWS.

pub use model::service::{DescriptionError, ServiceDescription, WorkflowResources};
use model::states::{
    Catcher, EcsRunTask, Fail, QueryLanguage, Retrier, RunPattern, STATES_ALL, SnsPublish, StateMachine, Succeed,
};
use serde_json::json;

use crate::SERVICE_NAME;

// ---- What a fork edits -------------------------------------------------------------------------

/// Task size in cpu units (1024 = one vCPU) and memory in MiB: a pair Fargate accepts
/// (see `model::template::fargate`).
pub const CPU: u32 = 256;
pub const MEMORY_MIB: u32 = 512;

/// Environment variables every run of the task gets (the execution input arrives separately, in
/// TASK_INPUT).
pub const ENVIRONMENT: &[(&str, &str)] = &[("RUST_LOG", "info")];

/// How long the task may run before the state machine gives up on it (the RunTask state's
/// TimeoutSeconds). A timed-out task is not retried: running it again would most likely time out too.
pub const TASK_TIMEOUT_SECONDS: u64 = 3600;

/// How long the task may go without a heartbeat before the workflow gives up on it with
/// `States.HeartbeatTimeout` (the RunTask state's HeartbeatSeconds). The runtime sends one as the
/// task starts and every third of this while it runs, so this bounds how long a task that died
/// without reporting (out of memory, killed, an image that cannot start) keeps the workflow
/// waiting. It must cover Fargate's start, image pull included: a minute or two.
pub const HEARTBEAT_SECONDS: u64 = 300;

/// Days CloudWatch Logs keeps the task's output.
pub const LOG_RETENTION_DAYS: u32 = 30;

/// The workflow, in JSONata (AWS's recommendation for new workflows): run the task and wait for
/// it to report back (the callback pattern: the task's return value is the state's result, its
/// error the state's error), retrying only ECS's own transient API errors; on success publish the
/// task's result and succeed; on any failure keep the error in the variable `$error`, publish it
/// with its cause, then fail with them.
pub fn workflow(resources: &WorkflowResources) -> StateMachine {
    let partition = resources.partition.as_str();
    let run_task = EcsRunTask {
        cluster: resources.cluster.clone(),
        task_definition: resources.task_definition.clone(),
        container_name: resources.container_name.clone(),
        subnets: resources.subnets.clone(),
        security_groups: resources.security_groups.clone(),
        // Public subnets without NAT: the task needs a public IP to reach ECR and CloudWatch Logs.
        assign_public_ip: true,
        // The runtime sends the task's result (or its error) back with the token the state
        // passes it; `RunPattern::Sync` would wait for the task to stop and keep only ECS's
        // description of it.
        pattern: RunPattern::Callback { heartbeat_seconds: Some(HEARTBEAT_SECONDS) },
    };
    let run = run_task
        .jsonata_task(partition)
        // ECS refusing or failing the RunTask call itself (capacity, throttling, a 5xx) is worth
        // another try; the task failing (States.TaskFailed) or timing out is not.
        .with_retry(
            Retrier::on(["ECS.AmazonECSException", "ECS.ServerException"])
                .interval_seconds(5)
                .max_attempts(3)
                .backoff_rate(2.0),
        )
        // Any failure: remember it as $error and go on with the execution's input.
        .with_catch(
            Catcher::on([STATES_ALL], "NotifyFailure")
                .assign("error", "{% $states.errorOutput %}")
                .output("{% $states.input %}"),
        )
        .timeout_seconds(TASK_TIMEOUT_SECONDS)
        // Keep the execution input and add the task's result.
        .output("{% $merge([$states.input, {'result': $states.result}]) %}")
        .with_next("NotifySuccess");

    // Each message names its execution (the context object), so a reader can find its history.
    let notify_success = SnsPublish::jsonata_task(
        resources.topic_arn.clone(),
        json!({
            "service": resources.service_name,
            "status": "SUCCEEDED",
            "execution": "{% $states.context.Execution.Id %}",
            "result": "{% $states.input.result %}",
        }),
        partition,
    )
    // The publish's own answer is not kept: the state passes its input on.
    .output("{% $states.input %}")
    .with_next("Succeeded");

    let notify_failure = SnsPublish::jsonata_task(
        resources.topic_arn.clone(),
        json!({
            "service": resources.service_name,
            "status": "FAILED",
            "execution": "{% $states.context.Execution.Id %}",
            "error": "{% $error.Error %}",
            "cause": "{% $error.Cause %}",
        }),
        partition,
    )
    // A failed notification must not hide the task's own error: go on to Failed either way.
    .with_catch(Catcher::on([STATES_ALL], "Failed").output("{% $states.input %}"))
    .output("{% $states.input %}")
    .with_next("Failed");

    let mut machine = StateMachine::new("RunTask")
        .with_state("RunTask", run)
        .with_state("NotifySuccess", notify_success)
        .with_state("Succeeded", Succeed::default())
        .with_state("NotifyFailure", notify_failure)
        .with_state("Failed", Fail::new().error("{% $error.Error %}").cause("{% $error.Cause %}"));
    machine.query_language = Some(QueryLanguage::JSONata);
    machine
}

/// The service as a fork ships it.
pub fn describe() -> Result<ServiceDescription, DescriptionError> {
    ServiceDescription::new(SERVICE_NAME, CPU, MEMORY_MIB, workflow)?
        .with_environment(ENVIRONMENT.iter().copied())?
        .with_task_timeout_seconds(TASK_TIMEOUT_SECONDS)?
        .with_log_retention_days(LOG_RETENTION_DAYS)
}
#[cfg(test)]
mod tests {
    use super::*;

    fn resources() -> WorkflowResources {
        WorkflowResources {
            service_name: SERVICE_NAME.into(),
            partition: "${AWS::Partition}".into(),
            cluster: "${ClusterArn}".into(),
            task_definition: "${TaskDefinitionArn}".into(),
            container_name: SERVICE_NAME.into(),
            subnets: vec!["${SubnetA}".into(), "${SubnetB}".into()],
            security_groups: vec!["${SecurityGroup}".into()],
            topic_arn: "${TopicArn}".into(),
        }
    }

    #[test]
    fn the_shipped_description_is_valid() {
        let description = describe().unwrap();
        assert_eq!(description.name(), SERVICE_NAME);
        assert_eq!(description.environment().get("RUST_LOG").map(String::as_str), Some("info"));
        description.workflow(&resources()).validate().unwrap();
    }

    #[test]
    fn the_workflow_retries_ecs_errors_and_catches_everything() {
        let definition: serde_json::Value =
            serde_json::from_str(&describe().unwrap().workflow(&resources()).to_json()).unwrap();
        let run = &definition["States"]["RunTask"];
        assert!(run["Resource"].as_str().unwrap().ends_with(":states:::ecs:runTask.waitForTaskToken"), "{run}");
        assert_eq!(run["HeartbeatSeconds"], HEARTBEAT_SECONDS);
        let environment = &run["Arguments"]["Overrides"]["ContainerOverrides"][0]["Environment"];
        assert_eq!(environment[1], json!({"Name": "TASK_TOKEN", "Value": "{% $states.context.Task.Token %}"}));
        assert_eq!(run["Retry"][0]["ErrorEquals"], json!(["ECS.AmazonECSException", "ECS.ServerException"]));
        assert_eq!(definition["QueryLanguage"], "JSONata");
        assert_eq!(
            run["Catch"][0],
            json!({"ErrorEquals": ["States.ALL"], "Output": "{% $states.input %}",
                   "Assign": {"error": "{% $states.errorOutput %}"}, "Next": "NotifyFailure"})
        );
        assert_eq!(definition["States"]["NotifyFailure"]["Arguments"]["Message"]["cause"], "{% $error.Cause %}");
        assert_eq!(definition["States"]["Failed"]["Type"], "Fail");
        assert_eq!(definition["States"]["Succeeded"]["Type"], "Succeed");
    }
}
