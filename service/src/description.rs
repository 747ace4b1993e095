//! The service's description, in one place: its name, task size, environment, and the workflow
//! the state machine runs, expressed with the `model` crate's States Language builders. This
//! is the file a forking user edits. Every resource name derives from `SERVICE_NAME`, so renaming a
//! fork is one change in lib.rs. The provisioner reads this through `describe()` and
//! `ServiceDescription::workflow`; nothing here calls AWS.

pub use model::service::{DescriptionError, ServiceDescription, WorkflowResources};
use model::states::{Catcher, EcsRunTask, Fail, Retrier, STATES_ALL, SnsMessage, SnsPublish, StateMachine, Succeed};
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

/// Days CloudWatch Logs keeps the task's output.
pub const LOG_RETENTION_DAYS: u32 = 30;

/// The workflow: run the task (waiting for it to stop), retrying only ECS's own transient API
/// errors; on success publish a success message and succeed; on any failure publish the error and
/// its cause, then fail with them.
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
        wait_for_completion: true,
    };
    let run = run_task
        .task(partition)
        // ECS refusing or failing the RunTask call itself (capacity, throttling, a 5xx) is worth
        // another try; the task failing (States.TaskFailed) or timing out is not.
        .with_retry(
            Retrier::on(["ECS.AmazonECSException", "ECS.ServerException"])
                .interval_seconds(5)
                .max_attempts(3)
                .backoff_rate(2.0),
        )
        .with_catch(Catcher::on([STATES_ALL], "NotifyFailure").result_path("$.error"))
        .timeout_seconds(TASK_TIMEOUT_SECONDS)
        // Keep the execution input and add only what a reader of the notification needs.
        .result_selector(json!({ "TaskArn.$": "$.TaskArn", "StopCode.$": "$.StopCode" }))
        .result_path("$.task")
        .with_next("NotifySuccess");

    // Each message names its execution (the context object), so a reader can find its history.
    let notify_success = SnsPublish {
        topic_arn: resources.topic_arn.clone(),
        message: SnsMessage::Literal(json!({
            "service": resources.service_name,
            "status": "SUCCEEDED",
            "execution.$": "$$.Execution.Id",
            "task.$": "$.task",
        })),
    }
    .task(partition)
    .discard_result()
    .with_next("Succeeded");

    let notify_failure = SnsPublish {
        topic_arn: resources.topic_arn.clone(),
        message: SnsMessage::Literal(json!({
            "service": resources.service_name,
            "status": "FAILED",
            "execution.$": "$$.Execution.Id",
            "error.$": "$.error.Error",
            "cause.$": "$.error.Cause",
        })),
    }
    .task(partition)
    // A failed notification must not hide the task's own error: go on to Failed either way.
    .with_catch(Catcher::on([STATES_ALL], "Failed").result_path("$.notificationError"))
    .discard_result()
    .with_next("Failed");

    StateMachine::new("RunTask")
        .with_state("RunTask", run)
        .with_state("NotifySuccess", notify_success)
        .with_state("Succeeded", Succeed::default())
        .with_state("NotifyFailure", notify_failure)
        .with_state(
            "Failed",
            Fail {
                error_path: Some("$.error.Error".into()),
                cause_path: Some("$.error.Cause".into()),
                ..Fail::default()
            },
        )
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
        assert!(run["Resource"].as_str().unwrap().ends_with(":states:::ecs:runTask.sync"), "{run}");
        assert_eq!(run["Retry"][0]["ErrorEquals"], json!(["ECS.AmazonECSException", "ECS.ServerException"]));
        assert_eq!(
            run["Catch"][0],
            json!({"ErrorEquals": ["States.ALL"], "ResultPath": "$.error", "Next": "NotifyFailure"})
        );
        assert_eq!(definition["States"]["NotifyFailure"]["Parameters"]["Message"]["cause.$"], "$.error.Cause");
        assert_eq!(definition["States"]["Failed"]["Type"], "Fail");
        assert_eq!(definition["States"]["Succeeded"]["Type"], "Succeed");
    }
}
