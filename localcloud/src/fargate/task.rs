//! An ECS task as DescribeTasks reports it (the `Task` and `Container` shapes of the ECS API
//! reference, serialised as the JSON protocol sends them: camelCase, timestamps as epoch seconds),
//! and the lifecycle a local task goes through: PROVISIONING -> PENDING -> RUNNING -> STOPPED,
//! or straight from PROVISIONING/PENDING to STOPPED when it fails to start or is stopped early.

use serde::Serialize;
use serde_json::Value;

pub const PROVISIONING: &str = "PROVISIONING";
pub const PENDING: &str = "PENDING";
pub const RUNNING: &str = "RUNNING";
pub const STOPPED: &str = "STOPPED";

/// Why a task stopped, in ECS's words (`stopCode`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum StopCode {
    EssentialContainerExited,
    UserInitiated,
    TaskFailedToStart,
}

pub const ESSENTIAL_CONTAINER_EXITED: &str = "Essential container in task exited";
pub const OUT_OF_MEMORY: &str = "OutOfMemoryError: Container killed due to memory usage";
/// What ECS reports for StopTask without a reason.
pub const STOPPED_BY_USER: &str = "Task stopped by user";

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Task {
    pub task_arn: String,
    pub cluster_arn: String,
    pub task_definition_arn: String,
    pub last_status: &'static str,
    pub desired_status: &'static str,
    pub launch_type: &'static str,
    pub platform_version: &'static str,
    pub platform_family: &'static str,
    pub availability_zone: String,
    pub connectivity: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cpu: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub memory: Option<String>,
    pub containers: Vec<Container>,
    pub overrides: Value,
    pub group: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub started_by: Option<String>,
    pub version: u64,
    pub created_at: f64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pull_started_at: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pull_stopped_at: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub started_at: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stopping_at: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stopped_at: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stop_code: Option<StopCode>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stopped_reason: Option<String>,
    pub tags: Vec<Value>,
    pub attachments: Vec<Value>,
    pub enable_execute_command: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Container {
    pub container_arn: String,
    pub task_arn: String,
    pub name: String,
    pub image: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub runtime_id: Option<String>,
    pub last_status: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub exit_code: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    pub health_status: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cpu: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub memory: Option<String>,
    pub network_interfaces: Vec<Value>,
}

/// How the essential container ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ContainerExit {
    pub exit_code: Option<i64>,
    pub oom_killed: bool,
}

impl Task {
    /// True once nothing more will change.
    pub fn is_stopped(&self) -> bool {
        self.last_status == STOPPED
    }

    /// The 32 hex digits at the end of the ARN.
    pub fn id(&self) -> &str {
        self.task_arn.rsplit('/').next().unwrap_or(&self.task_arn)
    }

    fn bump(&mut self) {
        self.version += 1;
    }

    /// The image is being pulled.
    pub fn pending(&mut self, now: f64) {
        if self.is_stopped() {
            return;
        }
        self.last_status = PENDING;
        self.pull_started_at = Some(now);
        for c in &mut self.containers {
            c.last_status = PENDING;
        }
        self.bump();
    }

    pub fn pulled(&mut self, now: f64) {
        self.pull_stopped_at = Some(now);
        self.bump();
    }

    /// The container runs.
    pub fn running(&mut self, now: f64, runtime_id: &str) {
        if self.is_stopped() {
            return;
        }
        self.last_status = RUNNING;
        self.started_at = Some(now);
        self.connectivity = "CONNECTED";
        for c in &mut self.containers {
            c.last_status = RUNNING;
            c.runtime_id = Some(runtime_id.to_owned());
        }
        self.bump();
    }

    /// The task is asked to stop (StopTask, or its essential container ended). The first reason
    /// given is the one reported.
    pub fn stopping(&mut self, now: f64, code: StopCode, reason: &str) {
        if self.is_stopped() {
            return;
        }
        self.desired_status = STOPPED;
        if self.stop_code.is_none() {
            self.stop_code = Some(code);
            self.stopped_reason = Some(reason.to_owned());
            self.stopping_at = Some(now);
        }
        self.bump();
    }

    /// The task never ran: its container is STOPPED with `reason` and no exit code.
    pub fn failed_to_start(&mut self, now: f64, reason: &str) {
        if self.is_stopped() {
            return;
        }
        self.stopping(now, StopCode::TaskFailedToStart, reason);
        for c in &mut self.containers {
            c.reason = Some(reason.to_owned());
        }
        self.stopped(now, None);
    }

    /// The task has stopped; `exit` is how its container ended, None if it never ran.
    pub fn stopped(&mut self, now: f64, exit: Option<ContainerExit>) {
        if self.is_stopped() {
            return;
        }
        if let Some(exit) = &exit {
            if exit.oom_killed {
                // The OOM kill is the cause even when a StopTask came first.
                if self.stop_code != Some(StopCode::UserInitiated) {
                    self.stop_code = Some(StopCode::EssentialContainerExited);
                    self.stopped_reason = Some(OUT_OF_MEMORY.to_owned());
                }
                for c in &mut self.containers {
                    c.reason = Some(OUT_OF_MEMORY.to_owned());
                }
            }
            for c in &mut self.containers {
                c.exit_code = exit.exit_code;
            }
        }
        if self.stop_code.is_none() {
            self.stop_code = Some(StopCode::EssentialContainerExited);
            self.stopped_reason = Some(ESSENTIAL_CONTAINER_EXITED.to_owned());
        }
        self.desired_status = STOPPED;
        self.stopping_at.get_or_insert(now);
        self.stopped_at = Some(now);
        self.last_status = STOPPED;
        self.connectivity = "DISCONNECTED";
        for c in &mut self.containers {
            c.last_status = STOPPED;
        }
        self.bump();
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    pub(crate) fn provisioning() -> Task {
        let arn =
            "arn:aws:ecs:us-east-1:123456789012:task/default/0123456789abcdef0123456789abcdef"
                .to_string();
        Task {
            task_arn: arn.clone(),
            cluster_arn: "arn:aws:ecs:us-east-1:123456789012:cluster/default".into(),
            task_definition_arn: "arn:aws:ecs:us-east-1:123456789012:task-definition/servicefull:1"
                .into(),
            last_status: PROVISIONING,
            desired_status: RUNNING,
            launch_type: "FARGATE",
            platform_version: "1.4.0",
            platform_family: "Linux",
            availability_zone: "us-east-1a".into(),
            connectivity: "CONNECTING",
            cpu: Some("256".into()),
            memory: Some("512".into()),
            containers: vec![Container {
                container_arn: "arn:aws:ecs:us-east-1:123456789012:container/default/x/y".into(),
                task_arn: arn,
                name: "servicefull".into(),
                image: "127.0.0.1:5055/servicefull@sha256:00".into(),
                runtime_id: None,
                last_status: PENDING,
                exit_code: None,
                reason: None,
                health_status: "UNKNOWN",
                cpu: None,
                memory: None,
                network_interfaces: vec![],
            }],
            overrides: serde_json::json!({"containerOverrides": []}),
            group: "family:servicefull".into(),
            started_by: None,
            version: 1,
            created_at: 1.5,
            pull_started_at: None,
            pull_stopped_at: None,
            started_at: None,
            stopping_at: None,
            stopped_at: None,
            stop_code: None,
            stopped_reason: None,
            tags: vec![],
            attachments: vec![],
            enable_execute_command: false,
        }
    }

    #[test]
    fn a_task_that_runs_and_exits_reports_each_status_and_the_exit_code() {
        let mut task = provisioning();
        task.pending(2.0);
        assert_eq!((task.last_status, task.desired_status), (PENDING, RUNNING));
        task.pulled(2.5);
        task.running(3.0, "abc");
        assert_eq!(task.last_status, RUNNING);
        assert_eq!(task.containers[0].runtime_id.as_deref(), Some("abc"));
        task.stopped(
            9.0,
            Some(ContainerExit {
                exit_code: Some(1),
                oom_killed: false,
            }),
        );
        assert!(task.is_stopped());
        assert_eq!(task.desired_status, STOPPED);
        assert_eq!(task.stop_code, Some(StopCode::EssentialContainerExited));
        assert_eq!(
            task.stopped_reason.as_deref(),
            Some(ESSENTIAL_CONTAINER_EXITED)
        );
        assert_eq!(task.containers[0].exit_code, Some(1));
        assert_eq!(task.containers[0].last_status, STOPPED);
        assert_eq!(
            (task.started_at, task.stopping_at, task.stopped_at),
            (Some(3.0), Some(9.0), Some(9.0))
        );
        assert_eq!(task.version, 5);
    }

    #[test]
    fn a_stopped_task_never_changes_again() {
        let mut task = provisioning();
        task.stopped(
            4.0,
            Some(ContainerExit {
                exit_code: Some(0),
                oom_killed: false,
            }),
        );
        let before = task.clone();
        task.running(5.0, "late");
        task.pending(5.0);
        task.stopping(5.0, StopCode::UserInitiated, "too late");
        task.stopped(6.0, None);
        assert_eq!(task, before);
    }

    #[test]
    fn stop_task_reports_user_initiated_with_its_reason_and_the_exit_code() {
        let mut task = provisioning();
        task.running(3.0, "abc");
        task.stopping(4.0, StopCode::UserInitiated, "enough");
        assert_eq!((task.last_status, task.desired_status), (RUNNING, STOPPED));
        task.stopped(
            5.0,
            Some(ContainerExit {
                exit_code: Some(143),
                oom_killed: false,
            }),
        );
        assert_eq!(task.stop_code, Some(StopCode::UserInitiated));
        assert_eq!(task.stopped_reason.as_deref(), Some("enough"));
        assert_eq!(task.stopping_at, Some(4.0));
        assert_eq!(task.containers[0].exit_code, Some(143));
    }

    #[test]
    fn an_oom_kill_is_the_reason_of_the_task_and_its_container() {
        let mut task = provisioning();
        task.running(3.0, "abc");
        task.stopped(
            5.0,
            Some(ContainerExit {
                exit_code: Some(137),
                oom_killed: true,
            }),
        );
        assert_eq!(task.stop_code, Some(StopCode::EssentialContainerExited));
        assert_eq!(task.stopped_reason.as_deref(), Some(OUT_OF_MEMORY));
        assert_eq!(task.containers[0].reason.as_deref(), Some(OUT_OF_MEMORY));
    }

    #[test]
    fn a_task_that_cannot_start_stops_with_task_failed_to_start_and_no_exit_code() {
        let mut task = provisioning();
        task.pending(2.0);
        task.failed_to_start(3.0, "CannotPullContainerError: manifest unknown");
        assert!(task.is_stopped());
        assert_eq!(task.stop_code, Some(StopCode::TaskFailedToStart));
        assert_eq!(
            task.stopped_reason.as_deref(),
            Some("CannotPullContainerError: manifest unknown")
        );
        assert_eq!(
            task.containers[0].reason.as_deref(),
            Some("CannotPullContainerError: manifest unknown")
        );
        assert_eq!(task.containers[0].exit_code, None);
        assert_eq!(task.started_at, None);
    }

    #[test]
    fn the_json_has_ecs_field_names_and_epoch_second_numbers() {
        let mut task = provisioning();
        task.stopped(
            9.25,
            Some(ContainerExit {
                exit_code: Some(0),
                oom_killed: false,
            }),
        );
        let json = serde_json::to_value(&task).unwrap();
        assert_eq!(json["lastStatus"], "STOPPED");
        assert_eq!(json["stopCode"], "EssentialContainerExited");
        assert_eq!(json["stoppedAt"], 9.25);
        assert_eq!(json["createdAt"], 1.5);
        assert_eq!(json["launchType"], "FARGATE");
        assert_eq!(json["containers"][0]["exitCode"], 0);
        assert_eq!(json["containers"][0]["lastStatus"], "STOPPED");
        assert!(
            json.get("startedAt").is_none(),
            "absent fields are left out, not null: {json}"
        );
    }
}
