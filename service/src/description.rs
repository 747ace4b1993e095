//! The service's description, in one place: its name, task size, environment, and the workflow
//! the state machine runs, expressed with the runtime's template and States Language models. This
//! is the file a forking user edits. Every resource name derives from `SERVICE_NAME`, so renaming a
//! fork is one change in lib.rs. The provisioner reads this through `describe()` and
//! `ServiceDescription::workflow`; nothing here calls AWS.

use std::collections::BTreeMap;

use runtime::states::{Catcher, EcsRunTask, Fail, Retrier, STATES_ALL, SnsMessage, SnsPublish, StateMachine, Succeed};
use runtime::task::INPUT_ENV;
use runtime::template::names::{check_repository_name, check_stack_name};
use runtime::template::{NameError, TaskSize, TaskSizeError};
use serde_json::json;

use crate::SERVICE_NAME;

// ---- What a fork edits -------------------------------------------------------------------------

/// Task size in cpu units (1024 = one vCPU) and memory in MiB: a pair Fargate accepts
/// (see `runtime::template::fargate`).
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
    let mut run = run_task
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
        .with_next("NotifySuccess");
    run.timeout_seconds = Some(TASK_TIMEOUT_SECONDS);
    // Keep the execution input and add only what a reader of the notification needs.
    run.result_selector = Some(json!({ "TaskArn.$": "$.TaskArn", "StopCode.$": "$.StopCode" }));
    run.result_path = Some(Some("$.task".to_owned()));

    // The messages leave out the context object ("$$.Execution.Id"): moto resolves the template's
    // Fn::Sub with Python's string.Template, which turns "$$" into "$" and would break the path in
    // the local cloud. Real CloudFormation leaves "$$" alone, so a fork may use it on AWS.
    let mut notify_success = SnsPublish {
        topic_arn: resources.topic_arn.clone(),
        message: SnsMessage::Literal(json!({
            "service": resources.service_name,
            "status": "SUCCEEDED",
            "task.$": "$.task",
        })),
    }
    .task(partition)
    .with_next("Succeeded");
    notify_success.result_path = Some(None);

    let mut notify_failure = SnsPublish {
        topic_arn: resources.topic_arn.clone(),
        message: SnsMessage::Literal(json!({
            "service": resources.service_name,
            "status": "FAILED",
            "error.$": "$.error.Error",
            "cause.$": "$.error.Cause",
        })),
    }
    .task(partition)
    // A failed notification must not hide the task's own error: go on to Failed either way.
    .with_catch(Catcher::on([STATES_ALL], "Failed").result_path("$.notificationError"))
    .with_next("Failed");
    notify_failure.result_path = Some(None);

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
    ServiceDescription::new(SERVICE_NAME, CPU, MEMORY_MIB)?.with_environment(ENVIRONMENT.iter().copied())
}

// ---- The description type: a fork need not edit below -------------------------------------------

/// What the workflow refers to, as strings: ARNs and IDs, or placeholders (`${ClusterArn}`,
/// `${AWS::Partition}`) the provisioner substitutes when the stack is created.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WorkflowResources {
    pub service_name: String,
    pub partition: String,
    pub cluster: String,
    pub task_definition: String,
    pub container_name: String,
    pub subnets: Vec<String>,
    pub security_groups: Vec<String>,
    pub topic_arn: String,
}

/// Step Functions' limit on a state machine's name.
const MAX_STATE_MACHINE_NAME_LEN: usize = 80;

#[derive(Debug, thiserror::Error)]
pub enum DescriptionError {
    #[error("the service name is not usable: {0}")]
    Name(#[from] NameError),
    #[error("the task size is not usable: {0}")]
    TaskSize(#[from] TaskSizeError),
    #[error(
        "the service name {name:?} makes the {what} {derived:?}, {len} characters long, over AWS's limit of {limit}; \
         shorten the service name"
    )]
    DerivedName { name: String, what: &'static str, derived: String, len: usize, limit: usize },
    #[error("environment variable {name:?} is not usable: {reason}")]
    Environment { name: String, reason: String },
}

#[derive(Debug, Clone)]
pub struct ServiceDescription {
    name: String,
    task_size: TaskSize,
    environment: BTreeMap<String, String>,
    task_timeout_seconds: u64,
    log_retention_days: u32,
    workflow: fn(&WorkflowResources) -> StateMachine,
}

impl ServiceDescription {
    /// A description with this name and task size, this file's workflow and no environment. The
    /// name becomes the ECR repository and the stack, so it must be valid as both: lowercase
    /// letters, digits and hyphens, starting with a letter, 2 to 128 characters.
    pub fn new(name: &str, cpu: u32, memory_mib: u32) -> Result<Self, DescriptionError> {
        let description = Self {
            name: String::new(),
            task_size: TaskSize::new(cpu, memory_mib)?,
            environment: BTreeMap::new(),
            task_timeout_seconds: TASK_TIMEOUT_SECONDS,
            log_retention_days: LOG_RETENTION_DAYS,
            workflow,
        };
        description.with_name(name)
    }

    /// The same description under another name (e.g. `provisioner template --service-name`).
    pub fn with_name(mut self, name: &str) -> Result<Self, DescriptionError> {
        check_stack_name(name)?;
        check_repository_name(name)?;
        self.name = name.to_owned();
        // The other names have limits of 255 or more; a state machine's name has 80.
        let derived = self.state_machine_name();
        if derived.len() > MAX_STATE_MACHINE_NAME_LEN {
            return Err(DescriptionError::DerivedName {
                name: name.to_owned(),
                what: "state machine name",
                len: derived.len(),
                derived,
                limit: MAX_STATE_MACHINE_NAME_LEN,
            });
        }
        Ok(self)
    }

    /// The same description with another task size.
    pub fn with_task_size(mut self, cpu: u32, memory_mib: u32) -> Result<Self, DescriptionError> {
        self.task_size = TaskSize::new(cpu, memory_mib)?;
        Ok(self)
    }

    /// Adds environment variables. `TASK_INPUT` is refused: the state machine sets it per run.
    pub fn with_environment<K: Into<String>, V: Into<String>>(
        mut self,
        variables: impl IntoIterator<Item = (K, V)>,
    ) -> Result<Self, DescriptionError> {
        for (name, value) in variables {
            let name = name.into();
            let reason = if name.is_empty() {
                Some("the name is empty".to_owned())
            } else if name == INPUT_ENV {
                Some(format!("{INPUT_ENV} carries each execution's input and is set by the state machine"))
            } else if name.contains('=') || name.contains('\0') {
                Some("a name may not contain '=' or NUL".to_owned())
            } else if self.environment.contains_key(&name) {
                Some("it is set twice".to_owned())
            } else {
                None
            };
            if let Some(reason) = reason {
                return Err(DescriptionError::Environment { name, reason });
            }
            self.environment.insert(name, value.into());
        }
        Ok(self)
    }

    /// Replaces the workflow (tests, or a fork with several).
    pub fn with_workflow(mut self, workflow: fn(&WorkflowResources) -> StateMachine) -> Self {
        self.workflow = workflow;
        self
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    pub fn task_size(&self) -> TaskSize {
        self.task_size
    }

    pub fn environment(&self) -> &BTreeMap<String, String> {
        &self.environment
    }

    pub fn task_timeout_seconds(&self) -> u64 {
        self.task_timeout_seconds
    }

    pub fn log_retention_days(&self) -> u32 {
        self.log_retention_days
    }

    /// The state machine this service runs, referring to `resources`.
    pub fn workflow(&self, resources: &WorkflowResources) -> StateMachine {
        (self.workflow)(resources)
    }

    // Names derived from the service name, one place for all of them.

    pub fn stack_name(&self) -> &str {
        &self.name
    }

    pub fn repository_name(&self) -> &str {
        &self.name
    }

    pub fn cluster_name(&self) -> &str {
        &self.name
    }

    /// The task definition family.
    pub fn task_family(&self) -> &str {
        &self.name
    }

    pub fn container_name(&self) -> &str {
        &self.name
    }

    pub fn log_group_name(&self) -> String {
        format!("/ecs/{}", self.name)
    }

    pub fn topic_name(&self) -> String {
        format!("{}-notifications", self.name)
    }

    pub fn state_machine_name(&self) -> String {
        format!("{}-workflow", self.name)
    }
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

    #[test]
    fn an_invalid_service_name_is_named() {
        for bad in ["Servicefull", "my_service", "1service", "a", "service--x", "service-", "my.service"] {
            let err = ServiceDescription::new(bad, CPU, MEMORY_MIB).unwrap_err().to_string();
            assert!(err.contains(&format!("{bad:?}")), "{bad}: {err}");
        }
        let long = "a".repeat(129);
        assert!(ServiceDescription::new(&long, CPU, MEMORY_MIB).is_err());
        let err = ServiceDescription::new(&"a".repeat(72), CPU, MEMORY_MIB).unwrap_err().to_string();
        assert!(err.contains("state machine name") && err.contains("80"), "{err}");
        ServiceDescription::new(&"a".repeat(71), CPU, MEMORY_MIB).unwrap();
        ServiceDescription::new("billing-report2", CPU, MEMORY_MIB).unwrap();
    }

    #[test]
    fn an_invalid_task_size_names_the_pair() {
        let err = ServiceDescription::new(SERVICE_NAME, 256, 4096).unwrap_err().to_string();
        assert!(err.contains("cpu 256 with memory 4096") && err.contains("512, 1024, 2048"), "{err}");
    }

    #[test]
    fn the_task_input_variable_is_reserved() {
        let err = describe().unwrap().with_environment([("TASK_INPUT", "x")]).unwrap_err().to_string();
        assert!(err.contains("TASK_INPUT"), "{err}");
        let err = describe().unwrap().with_environment([("RUST_LOG", "debug")]).unwrap_err().to_string();
        assert!(err.contains("set twice"), "{err}");
    }
}
