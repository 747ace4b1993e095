//! The workflow's tests: the state machine of `description.rs` run in-process by the local
//! cloud's interpreter, each Task state's outcome mocked, no Docker, no AWS, in milliseconds. They
//! check the path taken, the output, and what each integration is sent (the task's input, the
//! message that would be published). A fork that changes its workflow changes these with it.

use serde_json::{Value, json};
use service::SERVICE_NAME;
use service::description::{WorkflowResources, describe};
use states_interpreter::testing::{Mock, MockTasks, TEST_STATE_MACHINE_ARN, WorkflowRun, run_workflow};

fn resources() -> WorkflowResources {
    WorkflowResources {
        service_name: SERVICE_NAME.into(),
        partition: "aws".into(),
        cluster: "arn:aws:ecs:us-east-1:123456789012:cluster/c".into(),
        task_definition: "arn:aws:ecs:us-east-1:123456789012:task-definition/t:1".into(),
        container_name: SERVICE_NAME.into(),
        subnets: vec!["subnet-1".into()],
        security_groups: vec!["sg-1".into()],
        topic_arn: "arn:aws:sns:us-east-1:123456789012:topic".into(),
    }
}

fn run(input: Value, mocks: MockTasks) -> WorkflowRun {
    let machine = describe().expect("the shipped description is valid").workflow(&resources());
    run_workflow(&machine, input, mocks)
}

/// What the task's runtime sends back with SendTaskSuccess: the task's own result.
fn task_result() -> Value {
    json!({"service": SERVICE_NAME, "greeting": "Hello, demo!", "words": 3,
        "task_arn": "arn:aws:ecs:us-east-1:123456789012:task/c/0123", "elapsed_ms": 2})
}

fn reported() -> Mock {
    Mock::Succeed(task_result())
}

/// What the runtime sends with SendTaskFailure when the task returns `TaskError::failed`.
const FAILED: (&str, &str) = ("TaskFailed", "the task failed on purpose: its input holds \"fail\": true");

fn published() -> Mock {
    Mock::Succeed(json!({"MessageId": "m-1"}))
}

/// The execution ARN a workflow test runs as (the notifications name it).
fn execution_arn() -> String {
    format!("{}:workflow-test", TEST_STATE_MACHINE_ARN.replace(":stateMachine:", ":execution:"))
}

#[test]
fn the_task_s_result_is_the_output_and_is_notified() {
    let input = json!({"name": "demo", "text": "one two three"});
    let run = run(input.clone(), MockTasks::new().on("RunTask", reported()).on("NotifySuccess", published()));
    assert_eq!(run.states_entered(), ["RunTask", "NotifySuccess", "Succeeded"]);
    assert_eq!(run.output(), Some(&json!({"name": "demo", "text": "one two three", "result": task_result()})));
    // The task gets the execution's input as TASK_INPUT, the token to report with and the
    // heartbeat interval, on the cluster and network of the stack.
    let request = run.calls("RunTask")[0];
    let container = &request["Overrides"]["ContainerOverrides"][0];
    assert_eq!(container["Name"], SERVICE_NAME);
    let environment = container["Environment"].as_array().unwrap();
    assert_eq!(environment[0], json!({"Name": "TASK_INPUT", "Value": input.to_string()}));
    assert_eq!(environment[1]["Name"], "TASK_TOKEN");
    assert!(environment[1]["Value"].as_str().is_some_and(|token| !token.is_empty()), "{environment:?}");
    let heartbeat = service::description::HEARTBEAT_SECONDS.to_string();
    assert_eq!(environment[2], json!({"Name": "TASK_HEARTBEAT_SECONDS", "Value": heartbeat}));
    assert_eq!(environment.len(), 3);
    assert_eq!(request["Cluster"], resources().cluster);
    assert_eq!(request["LaunchType"], "FARGATE");
    // The message names the service and the execution, and carries the task's result.
    assert_eq!(
        run.calls("NotifySuccess"),
        [&json!({"TopicArn": resources().topic_arn, "Message": {"service": SERVICE_NAME, "status": "SUCCEEDED",
            "execution": execution_arn(), "result": task_result()}})]
    );
}

#[test]
fn a_failed_task_is_notified_with_its_error_and_cause_and_fails_the_execution_with_them() {
    let mocks = MockTasks::new().on("RunTask", Mock::Fail(FAILED.0, FAILED.1)).on("NotifyFailure", published());
    let run = run(json!({"name": "demo", "fail": true}), mocks);
    assert_eq!(run.states_entered(), ["RunTask", "NotifyFailure", "Failed"]);
    assert_eq!(run.failure(), Some(FAILED));
    assert_eq!(
        run.calls("NotifyFailure")[0]["Message"],
        json!({"service": SERVICE_NAME, "status": "FAILED", "execution": execution_arn(),
            "error": FAILED.0, "cause": FAILED.1})
    );
}

#[test]
fn a_task_that_runs_past_its_timeout_fails_with_states_timeout() {
    let mocks = MockTasks::new().on("RunTask", Mock::Timeout).on("NotifyFailure", published());
    let run = run(json!({}), mocks);
    assert_eq!(run.states_entered(), ["RunTask", "NotifyFailure", "Failed"]);
    let (error, cause) = run.failure().unwrap();
    assert_eq!(error, "States.Timeout");
    assert!(cause.contains("3600"), "{cause}");
    assert_eq!(run.calls("NotifyFailure")[0]["Message"]["error"], "States.Timeout");
}

#[test]
fn a_task_that_stops_sending_heartbeats_fails_with_states_heartbeat_timeout() {
    let mocks = MockTasks::new().on("RunTask", Mock::HeartbeatTimeout).on("NotifyFailure", published());
    let run = run(json!({}), mocks);
    assert_eq!(run.states_entered(), ["RunTask", "NotifyFailure", "Failed"]);
    assert_eq!(run.failure().map(|(error, _)| error), Some("States.HeartbeatTimeout"));
}

#[test]
fn ecs_refusing_the_call_is_retried_and_a_task_failure_is_not() {
    let mocks = MockTasks::new()
        .on("RunTask", Mock::Fail("ECS.AmazonECSException", "Capacity is unavailable at this time"))
        .on("RunTask", reported())
        .on("NotifySuccess", published());
    let run = run(json!({}), mocks);
    assert_eq!(run.calls.iter().filter(|c| c.state == "RunTask").map(|c| c.attempt).collect::<Vec<_>>(), [1, 2]);
    assert_eq!(run.states_entered(), ["RunTask", "NotifySuccess", "Succeeded"]);

    let failing = MockTasks::new().on("RunTask", Mock::Fail(FAILED.0, FAILED.1)).on("NotifyFailure", published());
    assert_eq!(run_calls(failing, "RunTask"), 1);
}

fn run_calls(mocks: MockTasks, state: &str) -> usize {
    run(json!({}), mocks).calls(state).len()
}

#[test]
fn a_notification_that_fails_does_not_hide_the_tasks_own_error() {
    let mocks = MockTasks::new()
        .on("RunTask", Mock::Fail(FAILED.0, FAILED.1))
        .on("NotifyFailure", Mock::Fail("SNS.AuthorizationErrorException", "not allowed"));
    let run = run(json!({}), mocks);
    assert_eq!(run.states_entered(), ["RunTask", "NotifyFailure", "Failed"]);
    assert_eq!(run.failure(), Some(FAILED));
}
