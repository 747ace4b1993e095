//! The description of a service, as a fork writes it in `service/src/description.rs`: its name,
//! task size, environment, task timeout, log retention and workflow, with every AWS name derived
//! from the service name. Each setting is checked when it is set, so an impossible description
//! fails before anything is built or deployed.

use std::collections::BTreeMap;

use crate::states::StateMachine;
use crate::task::INPUT_ENV;
use crate::template::names::{check_repository_name, check_stack_name};
use crate::template::{NameError, TaskSize, TaskSizeError};

/// How long a task may run when the description does not say (the RunTask state's TimeoutSeconds).
pub const DEFAULT_TASK_TIMEOUT_SECONDS: u64 = 3600;
/// Days CloudWatch Logs keeps the task's output when the description does not say.
pub const DEFAULT_LOG_RETENTION_DAYS: u32 = 30;

/// The workflow of a service: builds the state machine from the resources the stack provides.
pub type Workflow = fn(&WorkflowResources) -> StateMachine;

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
    #[error("a task timeout of {seconds} s is not usable: Step Functions takes 1 to {max} seconds")]
    TaskTimeout { seconds: u64, max: u64 },
    #[error("a log retention of {days} days is not one CloudWatch Logs offers; use one of {allowed:?}")]
    LogRetention { days: u32, allowed: &'static [u32] },
}

/// The largest TimeoutSeconds Step Functions accepts on a state.
const MAX_TIMEOUT_SECONDS: u64 = 99_999_999;

/// The retention periods CloudWatch Logs accepts (PutRetentionPolicy's `retentionInDays`).
pub const LOG_RETENTION_DAYS: &[u32] =
    &[1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653];

#[derive(Debug, Clone)]
pub struct ServiceDescription {
    name: String,
    task_size: TaskSize,
    environment: BTreeMap<String, String>,
    task_timeout_seconds: u64,
    log_retention_days: u32,
    workflow: Workflow,
}

impl ServiceDescription {
    /// A description with this name, task size and workflow, no environment, and the default task
    /// timeout and log retention. The name becomes the ECR repository and the stack, so it must be
    /// valid as both: lowercase letters, digits and hyphens, starting with a letter, 2 to 128
    /// characters.
    pub fn new(name: &str, cpu: u32, memory_mib: u32, workflow: Workflow) -> Result<Self, DescriptionError> {
        let description = Self {
            name: String::new(),
            task_size: TaskSize::new(cpu, memory_mib)?,
            environment: BTreeMap::new(),
            task_timeout_seconds: DEFAULT_TASK_TIMEOUT_SECONDS,
            log_retention_days: DEFAULT_LOG_RETENTION_DAYS,
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

    /// How long the task may run before the state machine gives up on it (its TimeoutSeconds).
    pub fn with_task_timeout_seconds(mut self, seconds: u64) -> Result<Self, DescriptionError> {
        // Step Functions takes a positive TimeoutSeconds of at most 99999999.
        if !(1..=MAX_TIMEOUT_SECONDS).contains(&seconds) {
            return Err(DescriptionError::TaskTimeout { seconds, max: MAX_TIMEOUT_SECONDS });
        }
        self.task_timeout_seconds = seconds;
        Ok(self)
    }

    /// Days CloudWatch Logs keeps the task's output: one of the values CloudWatch Logs accepts.
    pub fn with_log_retention_days(mut self, days: u32) -> Result<Self, DescriptionError> {
        if !LOG_RETENTION_DAYS.contains(&days) {
            return Err(DescriptionError::LogRetention { days, allowed: LOG_RETENTION_DAYS });
        }
        self.log_retention_days = days;
        Ok(self)
    }

    /// Replaces the workflow (tests, or a fork with several).
    pub fn with_workflow(mut self, workflow: Workflow) -> Self {
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

    fn workflow(_: &WorkflowResources) -> StateMachine {
        StateMachine::new("Done").with_state("Done", crate::states::Succeed::default())
    }

    fn new(name: &str, cpu: u32, memory_mib: u32) -> Result<ServiceDescription, DescriptionError> {
        ServiceDescription::new(name, cpu, memory_mib, workflow)
    }

    #[test]
    fn an_invalid_service_name_is_named() {
        for bad in ["Servicefull", "my_service", "1service", "a", "service--x", "service-", "my.service"] {
            let err = new(bad, 256, 512).unwrap_err().to_string();
            assert!(err.contains(&format!("{bad:?}")), "{bad}: {err}");
        }
        let long = "a".repeat(129);
        assert!(new(&long, 256, 512).is_err());
        let err = new(&"a".repeat(72), 256, 512).unwrap_err().to_string();
        assert!(err.contains("state machine name") && err.contains("80"), "{err}");
        new(&"a".repeat(71), 256, 512).unwrap();
        new("billing-report2", 256, 512).unwrap();
    }

    #[test]
    fn an_invalid_task_size_names_the_pair() {
        let err = new("svc", 256, 4096).unwrap_err().to_string();
        assert!(err.contains("cpu 256 with memory 4096") && err.contains("512, 1024, 2048"), "{err}");
    }

    #[test]
    fn the_task_input_variable_is_reserved_and_a_variable_is_set_once() {
        let service = new("svc", 256, 512).unwrap().with_environment([("RUST_LOG", "info")]).unwrap();
        let err = service.clone().with_environment([(INPUT_ENV, "x")]).unwrap_err().to_string();
        assert!(err.contains(INPUT_ENV), "{err}");
        let err = service.with_environment([("RUST_LOG", "debug")]).unwrap_err().to_string();
        assert!(err.contains("set twice"), "{err}");
    }

    #[test]
    fn a_timeout_or_retention_aws_refuses_is_named_with_what_it_takes() {
        let service = new("svc", 256, 512).unwrap();
        assert_eq!(service.task_timeout_seconds(), DEFAULT_TASK_TIMEOUT_SECONDS);
        assert_eq!(service.log_retention_days(), DEFAULT_LOG_RETENTION_DAYS);
        let err = service.clone().with_task_timeout_seconds(0).unwrap_err().to_string();
        assert!(err.contains("0 s") && err.contains("99999999"), "{err}");
        let err = service.clone().with_log_retention_days(31).unwrap_err().to_string();
        assert!(err.contains("31 days") && err.contains("30"), "{err}");
        let service = service.with_task_timeout_seconds(600).unwrap().with_log_retention_days(7).unwrap();
        assert_eq!((service.task_timeout_seconds(), service.log_retention_days()), (600, 7));
    }

    #[test]
    fn every_name_derives_from_the_service_name() {
        let service = new("billing", 256, 512).unwrap();
        assert_eq!(service.stack_name(), "billing");
        assert_eq!(service.log_group_name(), "/ecs/billing");
        assert_eq!(service.topic_name(), "billing-notifications");
        assert_eq!(service.state_machine_name(), "billing-workflow");
    }
}
