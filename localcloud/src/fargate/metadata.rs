//! The task metadata endpoint, version 4, as AWS documents it for Fargate: `GET {uri}` is the
//! container's document, `GET {uri}/task` the task's, with PascalCase keys and RFC 3339 times.

use serde_json::{Value, json};

use super::definition::ContainerPlan;
use super::task::Task;

/// What the documents need beyond the task itself.
pub struct Facts<'a> {
    pub family: &'a str,
    pub revision: u64,
    pub plan: &'a ContainerPlan,
    /// The container's IPv4 address on the task network.
    pub address: Option<&'a str>,
}

fn time(epoch_seconds: Option<f64>) -> Value {
    use aws_smithy_types::date_time::{DateTime, Format};
    match epoch_seconds.map(|s| DateTime::from_secs_f64(s).fmt(Format::DateTime)) {
        Some(Ok(text)) => Value::String(text),
        _ => Value::Null,
    }
}

pub fn container(task: &Task, facts: &Facts) -> Value {
    let container = task.containers.first();
    let log_options = facts.plan.awslogs.as_ref().map(|l| {
        json!({
            "awslogs-group": l.group,
            "awslogs-region": l.region,
            "awslogs-stream": l.stream_name(&facts.plan.name, task.id()),
        })
    });
    let mut document = json!({
        "DockerId": container.and_then(|c| c.runtime_id.clone()),
        "Name": facts.plan.name,
        "DockerName": format!("localcloud-{}-{}", task.id(), facts.plan.name),
        "Image": facts.plan.image,
        "ImageID": Value::Null,
        "Labels": {
            "com.amazonaws.ecs.cluster": task.cluster_arn,
            "com.amazonaws.ecs.container-name": facts.plan.name,
            "com.amazonaws.ecs.task-arn": task.task_arn,
            "com.amazonaws.ecs.task-definition-family": facts.family,
            "com.amazonaws.ecs.task-definition-version": facts.revision.to_string(),
        },
        "DesiredStatus": task.desired_status,
        "KnownStatus": container.map(|c| c.last_status).unwrap_or(task.last_status),
        "Limits": {
            "CPU": facts.plan.nano_cpus.map(|n| n * 1024 / 1_000_000_000).unwrap_or(0),
            "Memory": facts.plan.memory_mib.unwrap_or(0),
        },
        "CreatedAt": time(Some(task.created_at)),
        "StartedAt": time(task.started_at),
        "Type": "NORMAL",
        "ContainerARN": container.map(|c| c.container_arn.clone()),
        "LogDriver": if log_options.is_some() { "awslogs" } else { "none" },
        "Networks": [{
            "NetworkMode": "awsvpc",
            "IPv4Addresses": facts.address.into_iter().collect::<Vec<_>>(),
        }],
    });
    if let Some(options) = log_options {
        document["LogOptions"] = options;
    }
    if let Some(code) = container.and_then(|c| c.exit_code) {
        document["ExitCode"] = json!(code);
    }
    document
}

pub fn task(task: &Task, facts: &Facts) -> Value {
    let cpu = task.cpu.as_deref().and_then(|c| c.parse::<f64>().ok()).map(|units| units / 1024.0);
    let memory = task.memory.as_deref().and_then(|m| m.parse::<i64>().ok());
    json!({
        "Cluster": task.cluster_arn,
        "TaskARN": task.task_arn,
        "Family": facts.family,
        "Revision": facts.revision.to_string(),
        "DesiredStatus": task.desired_status,
        "KnownStatus": task.last_status,
        "Limits": { "CPU": cpu, "Memory": memory },
        "PullStartedAt": time(task.pull_started_at),
        "PullStoppedAt": time(task.pull_stopped_at),
        "AvailabilityZone": task.availability_zone,
        "LaunchType": task.launch_type,
        "Containers": [container(task, facts)],
        "ClockDrift": { "ClockErrorBound": 0.5, "ReferenceTimestamp": time(Some(super::now())), "ClockSynchronizationStatus": "SYNCHRONIZED" },
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fargate::definition::{AwsLogs, ContainerPlan};
    use crate::fargate::task::tests::provisioning;

    #[test]
    fn documents_name_the_task_and_container_as_aws_does() {
        let mut task = provisioning();
        task.running(1_795_946_400.5, "cafe");
        let plan = ContainerPlan {
            name: "servicefull".into(),
            image: "img".into(),
            entry_point: None,
            command: None,
            environment: vec![],
            working_directory: None,
            user: None,
            cap_add: vec![],
            cap_drop: vec![],
            nano_cpus: Some(250_000_000),
            memory_mib: Some(512),
            stop_timeout_seconds: 30,
            awslogs: Some(AwsLogs {
                group: "/ecs/x".into(),
                region: Some("us-east-1".into()),
                stream_prefix: Some("ecs".into()),
                create_group: false,
            }),
            task_cpu: Some("256".into()),
            task_memory: Some("512".into()),
            task_role_arn: None,
        };
        let facts = Facts { family: "servicefull", revision: 1, plan: &plan, address: Some("172.18.0.2") };
        let doc = super::task(&task, &facts);
        assert_eq!(doc["TaskARN"], task.task_arn);
        assert_eq!(doc["Cluster"], task.cluster_arn);
        assert_eq!((doc["Family"].as_str(), doc["Revision"].as_str()), (Some("servicefull"), Some("1")));
        assert_eq!(doc["Limits"]["CPU"], 0.25);
        assert_eq!(doc["KnownStatus"], "RUNNING");
        let container = &doc["Containers"][0];
        assert_eq!(container["DockerId"], "cafe");
        assert_eq!(container["StartedAt"], "2026-11-29T10:00:00.5Z");
        assert_eq!(container["Labels"]["com.amazonaws.ecs.task-arn"], task.task_arn);
        assert_eq!(container["LogOptions"]["awslogs-stream"], format!("ecs/servicefull/{}", task.id()));
        assert_eq!(container["Networks"][0]["IPv4Addresses"][0], "172.18.0.2");
    }
}
