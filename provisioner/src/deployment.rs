//! What is deployed for a stack, read back without changing anything: the stack's status, outputs
//! and recent events, the image its task definition runs, and the state machine's recent
//! executions. `provisioner status` prints it; anything else may read it the same way.

use aws_sdk_ecs::types::TaskDefinition;
use serde::Serialize;

use crate::caller::Caller;
use crate::stack::describe::{self, Stack};
use crate::stack::events::{self, Event};

#[derive(Debug, Serialize)]
pub struct TaskDefinitionStatus {
    pub arn: String,
    pub image: Option<String>,
    pub cpu: Option<String>,
    pub memory: Option<String>,
    pub network_mode: Option<String>,
}

#[derive(Debug, Serialize)]
pub struct ExecutionStatus {
    pub name: String,
    pub status: String,
    pub start_date: String,
    pub stop_date: Option<String>,
    pub execution_arn: String,
}

#[derive(Debug, Serialize)]
pub struct StatusReport {
    pub stack_name: String,
    pub account: String,
    pub region: String,
    pub endpoint: Option<String>,
    /// None when the stack does not exist.
    pub stack: Option<Stack>,
    pub recent_events: Vec<Event>,
    pub task_definition: Option<TaskDefinitionStatus>,
    pub executions: Vec<ExecutionStatus>,
}

/// Reads the stack `stack_name` and what it runs; `recent` bounds the events and executions.
/// A stack that does not exist is a report whose `stack` is None, not an error.
pub async fn report(caller: &Caller, stack_name: &str, recent: usize) -> anyhow::Result<StatusReport> {
    let cf = aws_sdk_cloudformation::Client::new(&caller.config);
    let mut report = StatusReport {
        stack_name: stack_name.to_owned(),
        account: caller.account.clone(),
        region: caller.region.clone(),
        endpoint: caller.endpoint.clone(),
        stack: None,
        recent_events: Vec::new(),
        task_definition: None,
        executions: Vec::new(),
    };
    let Some(stack) = describe::stack(&cf, stack_name).await? else {
        return Ok(report);
    };
    let mut events = events::recent(&cf, &stack.id).await?;
    events.truncate(recent);
    events.reverse();
    report.recent_events = events;

    if let Some(arn) = stack.outputs.get("TaskDefinitionArn") {
        let ecs = aws_sdk_ecs::Client::new(&caller.config);
        let described = ecs
            .describe_task_definition()
            .task_definition(arn)
            .send()
            .await
            .map_err(|e| anyhow::anyhow!(crate::aws::explain(&format!("DescribeTaskDefinition {arn}"), &e)))?;
        report.task_definition = described.task_definition().map(|td| task_definition_status(arn, td));
    }
    if let Some(arn) = stack.outputs.get("StateMachineArn") {
        let sfn = crate::host_prefix::sfn_client(&caller.config);
        let listed = sfn
            .list_executions()
            .state_machine_arn(arn)
            .max_results(recent.clamp(1, 1000) as i32)
            .send()
            .await
            .map_err(|e| anyhow::anyhow!(crate::aws::explain(&format!("ListExecutions {arn}"), &e)))?;
        report.executions = listed
            .executions()
            .iter()
            .map(|e| ExecutionStatus {
                name: e.name().to_owned(),
                status: e.status().as_str().to_owned(),
                start_date: e.start_date().to_string(),
                stop_date: e.stop_date().map(|d| d.to_string()),
                execution_arn: e.execution_arn().to_owned(),
            })
            .collect();
    }
    report.stack = Some(stack);
    Ok(report)
}

fn task_definition_status(arn: &str, td: &TaskDefinition) -> TaskDefinitionStatus {
    TaskDefinitionStatus {
        arn: td.task_definition_arn().unwrap_or(arn).to_owned(),
        image: td.container_definitions().first().and_then(|c| c.image()).map(str::to_owned),
        cpu: td.cpu().map(str::to_owned),
        memory: td.memory().map(str::to_owned),
        network_mode: td.network_mode().map(|m| m.as_str().to_owned()),
    }
}
