//! What to run for a task: the task definition (as DescribeTaskDefinition returns it) and the
//! RunTask request's overrides, merged into the one container plan the engine starts: image,
//! command, environment, limits, stop timeout, and where its logs go.

use std::collections::HashMap;

use serde::Deserialize;

use crate::awsjson::AwsError;

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TaskDefinition {
    pub task_definition_arn: String,
    pub family: String,
    pub revision: u64,
    #[serde(default)]
    pub cpu: Option<String>,
    #[serde(default)]
    pub memory: Option<String>,
    #[serde(default)]
    pub container_definitions: Vec<ContainerDefinition>,
    /// The role the task's own AWS calls run as (its credentials endpoint's), when it has one.
    #[serde(default)]
    pub task_role_arn: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ContainerDefinition {
    pub name: String,
    pub image: String,
    #[serde(default)]
    pub cpu: Option<i64>,
    #[serde(default)]
    pub memory: Option<i64>,
    #[serde(default)]
    pub memory_reservation: Option<i64>,
    #[serde(default)]
    pub essential: Option<bool>,
    #[serde(default)]
    pub environment: Vec<KeyValuePair>,
    #[serde(default)]
    pub command: Option<Vec<String>>,
    #[serde(default)]
    pub entry_point: Option<Vec<String>>,
    #[serde(default)]
    pub working_directory: Option<String>,
    #[serde(default)]
    pub user: Option<String>,
    #[serde(default)]
    pub stop_timeout: Option<i64>,
    #[serde(default)]
    pub log_configuration: Option<LogConfiguration>,
    #[serde(default)]
    pub privileged: Option<bool>,
    #[serde(default)]
    pub linux_parameters: Option<LinuxParameters>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LinuxParameters {
    #[serde(default)]
    pub capabilities: Option<KernelCapabilities>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct KernelCapabilities {
    #[serde(default)]
    pub add: Vec<String>,
    #[serde(default)]
    pub drop: Vec<String>,
}

/// The only capability Fargate lets a task definition add.
pub const FARGATE_ADDABLE_CAPABILITY: &str = "SYS_PTRACE";

#[derive(Debug, Clone, PartialEq, Eq, Deserialize, serde::Serialize)]
pub struct KeyValuePair {
    pub name: String,
    #[serde(default)]
    pub value: String,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LogConfiguration {
    pub log_driver: String,
    #[serde(default)]
    pub options: HashMap<String, String>,
}

/// RunTask's `overrides`.
#[derive(Debug, Clone, Default, Deserialize, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct TaskOverride {
    #[serde(default)]
    pub container_overrides: Vec<ContainerOverride>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cpu: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub memory: Option<String>,
    /// Replaces the task definition's task role for this task.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub task_role_arn: Option<String>,
}

#[derive(Debug, Clone, Default, Deserialize, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ContainerOverride {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub command: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub environment: Vec<KeyValuePair>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cpu: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub memory: Option<i64>,
}

/// Fargate's default and ceiling for the time between SIGTERM and SIGKILL.
pub const DEFAULT_STOP_TIMEOUT: i64 = 30;
pub const MAX_STOP_TIMEOUT: i64 = 120;

/// Where the awslogs driver sends a container's output.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AwsLogs {
    pub group: String,
    pub region: Option<String>,
    pub stream_prefix: Option<String>,
    pub create_group: bool,
}

impl AwsLogs {
    /// `<prefix>/<container name>/<task id>`, as the awslogs driver names a Fargate task's stream.
    pub fn stream_name(&self, container: &str, task_id: &str) -> String {
        match &self.stream_prefix {
            Some(prefix) => format!("{prefix}/{container}/{task_id}"),
            None => task_id.to_owned(),
        }
    }
}

/// The essential container, ready to run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ContainerPlan {
    pub name: String,
    pub image: String,
    pub entry_point: Option<Vec<String>>,
    pub command: Option<Vec<String>>,
    /// Definition first, then overrides: a later entry of the same name wins.
    pub environment: Vec<KeyValuePair>,
    pub working_directory: Option<String>,
    pub user: Option<String>,
    /// linuxParameters.capabilities, as Docker names them (no `CAP_` prefix): Fargate adds none
    /// beyond SYS_PTRACE, and neither does the local one.
    pub cap_add: Vec<String>,
    pub cap_drop: Vec<String>,
    /// The task's CPU units (1024 = one vCPU), as Docker's NanoCpus.
    pub nano_cpus: Option<i64>,
    pub memory_mib: Option<i64>,
    pub stop_timeout_seconds: i64,
    pub awslogs: Option<AwsLogs>,
    /// What DescribeTasks reports as the task's cpu and memory.
    pub task_cpu: Option<String>,
    pub task_memory: Option<String>,
    /// The task role: the override's, else the task definition's. None: the task has no
    /// credentials, as on AWS.
    pub task_role_arn: Option<String>,
}

impl TaskDefinition {
    /// The container the task runs: the first essential one (ECS treats a container without
    /// `essential` as essential).
    pub fn essential_container(&self) -> Result<&ContainerDefinition, AwsError> {
        self.container_definitions.iter().find(|c| c.essential.unwrap_or(true)).ok_or_else(|| {
            AwsError::client(format!(
                "the task definition {} has no essential container; mark one container \"essential\": true",
                self.task_definition_arn
            ))
        })
    }

    pub fn plan(&self, overrides: &TaskOverride) -> Result<ContainerPlan, AwsError> {
        let container = self.essential_container()?;
        for o in &overrides.container_overrides {
            match &o.name {
                Some(name) if self.container_definitions.iter().any(|c| &c.name == name) => {}
                Some(name) => {
                    return Err(AwsError::invalid_parameter(format!(
                        "Override for container named {name} is not a container in the TaskDefinition."
                    )));
                }
                None => {
                    return Err(AwsError::invalid_parameter("containerOverrides[].name is required."));
                }
            }
        }
        let own = overrides.container_overrides.iter().filter(|o| o.name.as_deref() == Some(&container.name));
        let mut environment = container.environment.clone();
        let mut command = container.command.clone();
        let mut cpu = container.cpu.filter(|c| *c > 0);
        let mut memory = container.memory;
        for o in own {
            environment.extend(o.environment.iter().cloned());
            if o.command.is_some() {
                command = o.command.clone();
            }
            cpu = o.cpu.or(cpu);
            memory = o.memory.or(memory);
        }
        let task_cpu = overrides.cpu.clone().or_else(|| self.cpu.clone());
        let task_memory = overrides.memory.clone().or_else(|| self.memory.clone());
        let task_cpu_units = task_cpu.as_deref().map(|c| parse_units(c, "cpu")).transpose()?;
        let task_memory_mib = task_memory.as_deref().map(|m| parse_units(m, "memory")).transpose()?;
        // The container's own hard limit is the tighter one; without it, the task's.
        let memory_mib = memory.or(task_memory_mib);
        if let Some(m) = memory_mib.filter(|m| *m < 6) {
            return Err(AwsError::client(format!(
                "Invalid 'memory' setting for container '{}': {m} MiB; the minimum is 6 MiB.",
                container.name
            )));
        }
        let units = task_cpu_units.or(cpu);
        // What Fargate refuses, the local one refuses too, rather than run a container with more
        // privilege than the same definition would get on AWS.
        if container.privileged == Some(true) {
            return Err(AwsError::client(format!(
                "privileged is not supported on Fargate (container {}); remove \"privileged\": true",
                container.name
            )));
        }
        let capabilities = container.linux_parameters.as_ref().and_then(|l| l.capabilities.clone()).unwrap_or_default();
        let strip = |c: &String| c.trim().to_ascii_uppercase().trim_start_matches("CAP_").to_owned();
        let cap_add: Vec<String> = capabilities.add.iter().map(strip).collect();
        if let Some(other) = cap_add.iter().find(|c| *c != FARGATE_ADDABLE_CAPABILITY) {
            return Err(AwsError::client(format!(
                "linuxParameters.capabilities.add {other} is not supported on Fargate (container {}); \
                 only {FARGATE_ADDABLE_CAPABILITY} may be added",
                container.name
            )));
        }
        let cap_drop = capabilities.drop.iter().map(strip).collect();
        let stop_timeout = container.stop_timeout.unwrap_or(DEFAULT_STOP_TIMEOUT).clamp(0, MAX_STOP_TIMEOUT);
        let awslogs = match &container.log_configuration {
            Some(config) if config.log_driver == "awslogs" => Some(AwsLogs {
                group: config.options.get("awslogs-group").cloned().ok_or_else(|| {
                    AwsError::client(format!(
                        "Log driver awslogs requires options: awslogs-group (container {})",
                        container.name
                    ))
                })?,
                region: config.options.get("awslogs-region").cloned(),
                stream_prefix: config.options.get("awslogs-stream-prefix").cloned(),
                create_group: config.options.get("awslogs-create-group").is_some_and(|v| v == "true"),
            }),
            _ => None,
        };
        Ok(ContainerPlan {
            name: container.name.clone(),
            image: container.image.clone(),
            entry_point: container.entry_point.clone(),
            command,
            environment,
            working_directory: container.working_directory.clone(),
            user: container.user.clone(),
            cap_add,
            cap_drop,
            nano_cpus: units.map(|u| u * 1_000_000_000 / 1024),
            memory_mib,
            stop_timeout_seconds: stop_timeout,
            awslogs,
            task_cpu: task_cpu.or_else(|| cpu.map(|c| c.to_string())),
            task_memory: task_memory.or_else(|| memory_mib.map(|m| m.to_string())),
            task_role_arn: overrides
                .task_role_arn
                .clone()
                .or_else(|| self.task_role_arn.clone())
                .filter(|r| !r.is_empty()),
        })
    }
}

/// "256" or "0.25 vCPU" / "512" or "1 GB", the forms ECS accepts for a task's cpu and memory.
fn parse_units(value: &str, field: &str) -> Result<i64, AwsError> {
    let lower = value.trim().to_ascii_lowercase();
    let (number, scale) = if let Some(n) = lower.strip_suffix("vcpu") {
        (n.trim(), 1024.0)
    } else if let Some(n) = lower.strip_suffix("gb") {
        (n.trim(), 1024.0)
    } else {
        (lower.as_str(), 1.0)
    };
    number
        .parse::<f64>()
        .ok()
        .filter(|n| n.is_finite() && *n > 0.0)
        .map(|n| (n * scale).round() as i64)
        .ok_or_else(|| AwsError::client(format!("The task definition's {field} value {value:?} is not a number.")))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn definition() -> TaskDefinition {
        serde_json::from_value(json!({
            "taskDefinitionArn": "arn:aws:ecs:us-east-1:123456789012:task-definition/servicefull:3",
            "family": "servicefull", "revision": 3, "cpu": "512", "memory": "1024",
            "containerDefinitions": [{
                "name": "servicefull", "image": "127.0.0.1:5055/servicefull@sha256:ab", "memory": 256,
                "essential": true, "stopTimeout": 5,
                "environment": [{"name": "RUST_LOG", "value": "info"}, {"name": "KEEP", "value": "1"}],
                "logConfiguration": {"logDriver": "awslogs", "options": {
                    "awslogs-group": "/ecs/servicefull", "awslogs-region": "us-east-1", "awslogs-stream-prefix": "ecs"}}
            }]
        }))
        .unwrap()
    }

    #[test]
    fn limits_environment_and_logs_come_from_the_definition() {
        let plan = definition().plan(&TaskOverride::default()).unwrap();
        assert_eq!(plan.nano_cpus, Some(500_000_000), "512 units is half a CPU");
        assert_eq!(plan.memory_mib, Some(256), "the container's hard limit is tighter than the task's");
        assert_eq!(plan.stop_timeout_seconds, 5);
        assert_eq!((plan.task_cpu.as_deref(), plan.task_memory.as_deref()), (Some("512"), Some("1024")));
        let logs = plan.awslogs.unwrap();
        assert_eq!(logs.stream_name("servicefull", "abc"), "ecs/servicefull/abc");
        assert_eq!(logs.group, "/ecs/servicefull");
        assert!(!logs.create_group);
    }

    #[test]
    fn overrides_add_environment_and_replace_the_command() {
        let overrides: TaskOverride = serde_json::from_value(json!({"containerOverrides": [{
            "name": "servicefull", "command": ["--help"],
            "environment": [{"name": "TASK_INPUT", "value": "{}"}, {"name": "RUST_LOG", "value": "debug"}]
        }]}))
        .unwrap();
        let plan = definition().plan(&overrides).unwrap();
        assert_eq!(plan.command, Some(vec!["--help".to_string()]));
        let names: Vec<_> = plan.environment.iter().map(|p| (p.name.as_str(), p.value.as_str())).collect();
        assert_eq!(names, [("RUST_LOG", "info"), ("KEEP", "1"), ("TASK_INPUT", "{}"), ("RUST_LOG", "debug")]);
    }

    #[test]
    fn the_task_role_is_the_override_s_else_the_definition_s_else_none() {
        assert_eq!(definition().plan(&TaskOverride::default()).unwrap().task_role_arn, None, "no role, no credentials");
        let mut with_role = definition();
        with_role.task_role_arn = Some("arn:aws:iam::123456789012:role/task".into());
        let plan = with_role.plan(&TaskOverride::default()).unwrap();
        assert_eq!(plan.task_role_arn.as_deref(), Some("arn:aws:iam::123456789012:role/task"));
        let overrides: TaskOverride =
            serde_json::from_value(json!({"taskRoleArn": "arn:aws:iam::123456789012:role/other"})).unwrap();
        let plan = with_role.plan(&overrides).unwrap();
        assert_eq!(plan.task_role_arn.as_deref(), Some("arn:aws:iam::123456789012:role/other"));
    }

    #[test]
    fn an_override_for_an_unknown_container_is_an_invalid_parameter() {
        let overrides: TaskOverride =
            serde_json::from_value(json!({"containerOverrides": [{"name": "other"}]})).unwrap();
        let err = definition().plan(&overrides).unwrap_err();
        assert_eq!(err.error_type, "InvalidParameterException");
        assert!(err.message.contains("other"), "{err}");
    }

    #[test]
    fn task_memory_applies_without_a_container_limit_and_units_parse_in_every_form() {
        let mut definition = definition();
        definition.container_definitions[0].memory = None;
        definition.cpu = Some("0.25 vCPU".into());
        definition.memory = Some("1 GB".into());
        let plan = definition.plan(&TaskOverride::default()).unwrap();
        assert_eq!(plan.memory_mib, Some(1024));
        assert_eq!(plan.nano_cpus, Some(250_000_000));
        definition.cpu = Some("lots".into());
        let err = definition.plan(&TaskOverride::default()).unwrap_err();
        assert!(err.message.contains("\"lots\""), "{err}");
    }

    #[test]
    fn capabilities_are_dropped_as_defined_and_only_fargate_s_one_may_be_added() {
        let mut definition = definition();
        assert!(definition.plan(&TaskOverride::default()).unwrap().cap_add.is_empty(), "none added by default");
        definition.container_definitions[0].linux_parameters =
            serde_json::from_value(json!({"capabilities": {"drop": ["ALL"], "add": ["CAP_SYS_PTRACE"]}})).unwrap();
        let plan = definition.plan(&TaskOverride::default()).unwrap();
        assert_eq!((plan.cap_drop, plan.cap_add), (vec!["ALL".to_owned()], vec!["SYS_PTRACE".to_owned()]));
        definition.container_definitions[0].linux_parameters =
            serde_json::from_value(json!({"capabilities": {"add": ["NET_ADMIN"]}})).unwrap();
        let err = definition.plan(&TaskOverride::default()).unwrap_err();
        assert!(err.message.contains("NET_ADMIN") && err.message.contains("SYS_PTRACE"), "{err}");
    }

    #[test]
    fn a_privileged_container_is_refused_as_fargate_refuses_it() {
        let mut definition = definition();
        definition.container_definitions[0].privileged = Some(true);
        let err = definition.plan(&TaskOverride::default()).unwrap_err();
        assert_eq!(err.error_type, "ClientException");
        assert!(err.message.contains("privileged") && err.message.contains("servicefull"), "{err}");
    }

    #[test]
    fn the_stop_timeout_defaults_to_30_and_is_capped_at_120() {
        let mut definition = definition();
        definition.container_definitions[0].stop_timeout = None;
        assert_eq!(definition.plan(&TaskOverride::default()).unwrap().stop_timeout_seconds, 30);
        definition.container_definitions[0].stop_timeout = Some(600);
        assert_eq!(definition.plan(&TaskOverride::default()).unwrap().stop_timeout_seconds, 120);
    }
}
