//! Step Functions executions through the gateway, with aws-sdk-sfn: definitions checked at
//! CreateStateMachine, the interpreter's conformance table run through StartExecution and
//! DescribeExecution, the history's shape, the API's errors, StopExecution; and, with this
//! project's own image run by the local Fargate, `ecs:runTask.sync` states that succeed, fail,
//! are caught into an SNS notification that reaches a subscribed SQS queue, are retried, and are
//! stopped with their execution; and the shipped workflow's test cases of a Step Functions Local
//! mock configuration file (`SFN_MOCK_CONFIG`, `stateMachineArn#TestCase`), run with no container.
//!
//! Each test process starts its own local cloud with `LOCALCLOUD_SFN_TIME_SCALE` set (and, for the
//! mock tests, `SFN_MOCK_CONFIG`), so Waits and Retry intervals take a fraction of their definition
//! time. An external endpoint is skipped: only our gateway runs executions (moto leaves them
//! RUNNING).

use crate::support;

use std::time::Duration;

use aws_sdk_ecs::types::{Compatibility, ContainerDefinition, LogConfiguration, LogDriver, NetworkMode};
use aws_sdk_sfn::types::ExecutionStatus;
use integration_tests::{LocalCloud, TEST_TASK};
use provisioner::image::Builder;
use provisioner::image::binary::TaskBinary;
use provisioner::image::pipeline::{self, BuildOptions, Destination};
use provisioner::image::progress::Progress;
use serde_json::{Value, json};

const ACCOUNT: &str = "123456789012";
const CONTAINER: &str = "servicefull";
const LOG_GROUP: &str = "/ecs/servicefull-sfn-test";
const ROLE: &str = "arn:aws:iam::123456789012:role/StatesRole";

fn unique(prefix: &str) -> String {
    let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_nanos();
    format!("{prefix}-{}-{nanos}", std::process::id())
}

/// Our own cloud with durations scaled by `scale`, or None (with the reason printed).
async fn own_cloud(scale: &str) -> Option<LocalCloud> {
    if std::env::var_os("AWS_ENDPOINT_URL").is_none() {
        // SAFETY: set before the cloud (and any thread that reads the environment) starts; the
        // gateway inherits it. nextest runs each test in a process of its own.
        unsafe { std::env::set_var(localcloud::stepfunctions::TIME_SCALE_ENV, scale) };
    }
    let cloud = LocalCloud::start().await;
    if !cloud.is_own_moto() {
        eprintln!("skipped: executions run only on our own local cloud; this run points at another endpoint");
        return None;
    }
    Some(cloud)
}

fn sfn(cloud: &LocalCloud) -> aws_sdk_sfn::Client {
    aws_sdk_sfn::Client::new(cloud.sdk_config())
}

async fn create_machine(sfn: &aws_sdk_sfn::Client, name: &str, definition: &Value) -> String {
    let created = sfn
        .create_state_machine()
        .name(name)
        .definition(definition.to_string())
        .role_arn(ROLE)
        .send()
        .await
        .unwrap_or_else(|e| panic!("CreateStateMachine {name}: {e:?}"));
    created.state_machine_arn().to_owned()
}

/// Polls DescribeExecution until the execution is no longer RUNNING. The bound only keeps a
/// broken run from hanging; it is no assertion about speed.
async fn finished(
    sfn: &aws_sdk_sfn::Client,
    arn: &str,
) -> aws_sdk_sfn::operation::describe_execution::DescribeExecutionOutput {
    for _ in 0..6000 {
        let described = sfn.describe_execution().execution_arn(arn).send().await.unwrap();
        if *described.status() != ExecutionStatus::Running {
            return described;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    panic!("execution {arn} is still RUNNING");
}

async fn history(sfn: &aws_sdk_sfn::Client, arn: &str) -> Vec<aws_sdk_sfn::types::HistoryEvent> {
    sfn.get_execution_history().execution_arn(arn).max_results(1000).send().await.unwrap().events().to_vec()
}

/// The ARN of the task an execution's TaskSubmitted event names (RunTask's answer), as `provisioner
/// run --follow` reads it; None before the task is submitted.
fn submitted_task_arn(events: &[aws_sdk_sfn::types::HistoryEvent]) -> Option<String> {
    let submitted = events.iter().find_map(|e| e.task_submitted_event_details())?;
    let answer: Value = serde_json::from_str(submitted.output()?).expect("TaskSubmitted's output is JSON");
    answer["Tasks"][0]["TaskArn"].as_str().map(str::to_owned)
}

/// A case's Task states call the conformance table's mocked `lambda:invoke`, which only the
/// interpreter's own test can answer.
fn has_task_state(definition: &Value) -> bool {
    match definition {
        Value::Object(map) => map.get("Type") == Some(&json!("Task")) || map.values().any(has_task_state),
        Value::Array(items) => items.iter().any(has_task_state),
        _ => false,
    }
}

/// CreateStateMachine of `definition` as `name`, which must answer InvalidDefinition: its message.
async fn refused_definition(sfn: &aws_sdk_sfn::Client, name: &str, definition: &Value) -> String {
    let err = sfn
        .create_state_machine()
        .name(name)
        .definition(definition.to_string())
        .role_arn(ROLE)
        .send()
        .await
        .unwrap_err()
        .into_service_error();
    assert!(err.is_invalid_definition(), "{err:?}");
    err.meta().message().unwrap_or_default().to_owned()
}

#[tokio::test]
async fn an_invalid_definition_is_refused_and_the_conformance_table_runs_through_the_api() {
    let Some(cloud) = own_cloud("0.001").await else {
        return;
    };
    let sfn = sfn(&cloud);

    let invalid = json!({"StartAt": "First", "States": {"First": {"Type": "Pass", "Next": "Nowhere"}}});
    let message = refused_definition(&sfn, "Broken", &invalid).await;
    assert!(message.contains("First") && message.contains("Nowhere"), "{message}");
    let listed = sfn.list_state_machines().send().await.unwrap();
    assert!(listed.state_machines().iter().all(|m| m.name() != "Broken"), "a refused definition reaches no one");

    // Both tables: JSONPath, and JSONata with workflow variables.
    let tables: Vec<Value> = [
        include_str!("../../../localcloud/interpreter/tests/conformance.json"),
        include_str!("../../../localcloud/interpreter/tests/conformance-jsonata.json"),
    ]
    .iter()
    .map(|text| serde_json::from_str(text).unwrap())
    .collect();
    let machine_arn = format!("arn:aws:states:us-east-1:{ACCOUNT}:stateMachine:Conformance");
    let role = format!("arn:aws:iam::{ACCOUNT}:role/Conformance");
    let mut created = false;
    let (mut ran, mut skipped, mut failures) = (0, Vec::new(), Vec::new());
    for case in tables.iter().flat_map(|table| table["cases"].as_array().unwrap()) {
        let name = case["name"].as_str().unwrap();
        let expected = &case["expected"];
        let status = expected["status"].as_str().unwrap();
        if status != "INVALID" && has_task_state(&case["definition"]) {
            skipped.push(name);
            continue;
        }
        let definition = case["definition"].to_string();
        let refused = if !created {
            let answer =
                sfn.create_state_machine().name("Conformance").definition(&definition).role_arn(&role).send().await;
            created = answer.is_ok();
            answer.err().map(|e| e.into_service_error().meta().clone())
        } else {
            let answer =
                sfn.update_state_machine().state_machine_arn(&machine_arn).definition(&definition).send().await;
            answer.err().map(|e| e.into_service_error().meta().clone())
        };
        ran += 1;
        if status == "INVALID" {
            match refused {
                Some(meta) if meta.code() == Some("InvalidDefinition") => {
                    let text = meta.message().unwrap_or_default();
                    for problem in expected["problems"].as_array().into_iter().flatten().filter_map(Value::as_str) {
                        if !text.contains(problem) {
                            failures.push(format!("{name}: {text:?} does not say {problem:?}"));
                        }
                    }
                }
                other => failures.push(format!("{name}: expected InvalidDefinition, got {other:?}")),
            }
            continue;
        }
        if let Some(meta) = refused {
            failures.push(format!("{name}: the definition was refused: {meta:?}"));
            continue;
        }
        let started = sfn
            .start_execution()
            .state_machine_arn(&machine_arn)
            .name(name)
            .input(case["input"].to_string())
            .send()
            .await
            .unwrap_or_else(|e| panic!("StartExecution {name}: {e:?}"));
        let described = finished(&sfn, started.execution_arn()).await;
        if described.status().as_str() != status {
            failures.push(format!(
                "{name}: status {} ({:?} {:?}), expected {status}",
                described.status(),
                described.error(),
                described.cause()
            ));
            continue;
        }
        if let Some(output) = expected.get("output") {
            let got: Value = described.output().map(|o| serde_json::from_str(o).unwrap()).unwrap_or(Value::Null);
            if &got != output {
                failures.push(format!("{name}: output {got}, expected {output}"));
            }
        }
        for (key, got) in [("error", described.error()), ("cause", described.cause())] {
            if let Some(want) = expected.get(key).and_then(Value::as_str)
                && got != Some(want)
            {
                failures.push(format!("{name}: {key} {got:?}, expected {want:?}"));
            }
        }
    }
    eprintln!(
        "conformance through the API: {ran} cases run, {} skipped (their Task states call the table's mocked lambda:invoke): {skipped:?}",
        skipped.len()
    );
    assert!(failures.is_empty(), "{} of {ran} cases differ:\n{}", failures.len(), failures.join("\n"));
    assert!(ran > skipped.len(), "most cases run through the API ({ran} ran, {} skipped)", skipped.len());
}

#[tokio::test]
async fn the_execution_api_answers_with_aws_shapes_and_errors() {
    let Some(cloud) = own_cloud("0.01").await else {
        return;
    };
    let sfn = sfn(&cloud);
    let machine = create_machine(
        &sfn,
        &unique("Api"),
        &json!({"StartAt": "Greet", "States": {
            "Greet": {"Type": "Pass", "Parameters": {"greeting.$": "States.Format('hello {}', $.who)"}, "Next": "Hold"},
            "Hold": {"Type": "Wait", "SecondsPath": "$$.Execution.Input.wait", "End": true}
        }}),
    )
    .await;

    let started = sfn
        .start_execution()
        .state_machine_arn(&machine)
        .name("first")
        .input(r#"{"who":"world","wait":0}"#)
        .send()
        .await
        .unwrap();
    let arn = started.execution_arn().to_owned();
    assert!(arn.ends_with(":execution:") || arn.contains(":execution:"), "{arn}");
    assert!(arn.ends_with(":first"), "{arn}");
    let done = finished(&sfn, &arn).await;
    assert_eq!(*done.status(), ExecutionStatus::Succeeded);
    assert_eq!(serde_json::from_str::<Value>(done.output().unwrap()).unwrap(), json!({"greeting": "hello world"}));
    assert_eq!(done.input(), Some(r#"{"who":"world","wait":0}"#));
    assert!(done.stop_date().is_some());

    let events = history(&sfn, &arn).await;
    let types: Vec<&str> = events.iter().map(|e| e.r#type().as_str()).collect();
    assert_eq!(
        types,
        [
            "ExecutionStarted",
            "PassStateEntered",
            "PassStateExited",
            "WaitStateEntered",
            "WaitStateExited",
            "ExecutionSucceeded"
        ]
    );
    for (i, event) in events.iter().enumerate() {
        assert_eq!((event.id(), event.previous_event_id()), (i as i64 + 1, i as i64));
    }
    assert_eq!(events[0].execution_started_event_details().unwrap().role_arn(), Some(ROLE));
    assert_eq!(events[1].state_entered_event_details().unwrap().name(), "Greet");
    let reversed = sfn
        .get_execution_history()
        .execution_arn(&arn)
        .reverse_order(true)
        .max_results(2)
        .include_execution_data(false)
        .send()
        .await
        .unwrap();
    assert_eq!(reversed.events().iter().map(|e| e.id()).collect::<Vec<_>>(), [6, 5]);
    assert!(reversed.next_token().is_some());
    assert_eq!(reversed.events()[0].execution_succeeded_event_details().unwrap().output(), None, "no execution data");

    // The same name: a different input is refused; a finished one too.
    let again = sfn
        .start_execution()
        .state_machine_arn(&machine)
        .name("first")
        .input(r#"{"who":"other","wait":0}"#)
        .send()
        .await;
    assert!(again.unwrap_err().into_service_error().is_execution_already_exists());
    // The same name and input while it runs is the same execution.
    let long_input = r#"{"who":"w","wait":100000}"#;
    let one = sfn.start_execution().state_machine_arn(&machine).name("long").input(long_input).send().await.unwrap();
    let two = sfn.start_execution().state_machine_arn(&machine).name("long").input(long_input).send().await.unwrap();
    assert_eq!(one.execution_arn(), two.execution_arn());

    let listed = sfn.list_executions().state_machine_arn(&machine).send().await.unwrap();
    assert_eq!(listed.executions().iter().map(|e| e.name()).collect::<Vec<_>>(), ["long", "first"], "newest first");
    let running =
        sfn.list_executions().state_machine_arn(&machine).status_filter(ExecutionStatus::Running).send().await.unwrap();
    assert_eq!(running.executions().len(), 1);
    let paged = sfn.list_executions().state_machine_arn(&machine).max_results(1).send().await.unwrap();
    assert_eq!(paged.executions().len(), 1);
    let rest = sfn
        .list_executions()
        .state_machine_arn(&machine)
        .max_results(1)
        .next_token(paged.next_token().unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(rest.executions()[0].name(), "first");

    // StopExecution of a Wait: ABORTED with the given error and cause.
    sfn.stop_execution()
        .execution_arn(one.execution_arn())
        .error("Operator")
        .cause("no longer needed")
        .send()
        .await
        .unwrap();
    let stopped = sfn.describe_execution().execution_arn(one.execution_arn()).send().await.unwrap();
    assert_eq!(*stopped.status(), ExecutionStatus::Aborted);
    assert_eq!((stopped.error(), stopped.cause()), (Some("Operator"), Some("no longer needed")));
    let last = history(&sfn, one.execution_arn()).await.pop().unwrap();
    assert_eq!(last.r#type().as_str(), "ExecutionAborted");

    let for_execution = sfn.describe_state_machine_for_execution().execution_arn(&arn).send().await.unwrap();
    assert_eq!(for_execution.state_machine_arn(), machine);
    assert!(for_execution.definition().contains("Greet"));

    let missing = format!("{}:nobody", machine.replace(":stateMachine:", ":execution:"));
    let err = sfn.describe_execution().execution_arn(&missing).send().await.unwrap_err().into_service_error();
    assert!(err.is_execution_does_not_exist(), "{err:?}");
    let err = sfn.describe_execution().execution_arn("not-an-arn").send().await.unwrap_err().into_service_error();
    assert!(err.is_invalid_arn(), "{err:?}");
    let err = sfn
        .start_execution()
        .state_machine_arn(&machine)
        .input("{not json")
        .send()
        .await
        .unwrap_err()
        .into_service_error();
    assert!(err.is_invalid_execution_input(), "{err:?}");
    let big = format!("\"{}\"", "x".repeat(256 * 1024));
    let err =
        sfn.start_execution().state_machine_arn(&machine).input(big).send().await.unwrap_err().into_service_error();
    assert!(err.is_invalid_execution_input(), "{err:?}");
    let err = sfn
        .start_execution()
        .state_machine_arn(&machine)
        .name("bad name")
        .send()
        .await
        .unwrap_err()
        .into_service_error();
    assert!(err.is_invalid_name(), "{err:?}");
    let nowhere = format!("arn:aws:states:us-east-1:{ACCOUNT}:stateMachine:{}", unique("Nowhere"));
    let err = sfn.start_execution().state_machine_arn(&nowhere).send().await.unwrap_err().into_service_error();
    assert!(err.is_state_machine_does_not_exist(), "{err:?}");

    // JSONata and workflow variables: the history shows what each state assigned (AWS's
    // StateExitedEventDetails.assignedVariables, each value as JSON text); an expression that
    // does not parse is InvalidDefinition naming its state and field.
    let jsonata = create_machine(
        &sfn,
        &unique("Jsonata"),
        &json!({"QueryLanguage": "JSONata", "StartAt": "Count", "States": {
            "Count": {"Type": "Pass", "Assign": {"n": "{% $count($states.input.items) %}", "first": "{% $states.input.items[0] %}"}, "Next": "Say"},
            "Say": {"Type": "Pass", "Output": {"said": "{% $first & ' of ' & $string($n) %}"}, "End": true}
        }}),
    )
    .await;
    let run = sfn.start_execution().state_machine_arn(&jsonata).input(r#"{"items":["a","b"]}"#).send().await.unwrap();
    let done = finished(&sfn, run.execution_arn()).await;
    assert_eq!(*done.status(), ExecutionStatus::Succeeded, "{:?} {:?}", done.error(), done.cause());
    assert_eq!(serde_json::from_str::<Value>(done.output().unwrap()).unwrap(), json!({"said": "a of 2"}));
    let exited =
        history(&sfn, run.execution_arn()).await.into_iter().find(|e| e.r#type().as_str() == "PassStateExited");
    let assigned =
        exited.unwrap().state_exited_event_details().unwrap().assigned_variables().cloned().unwrap_or_default();
    assert_eq!(assigned.get("n").map(String::as_str), Some("2"), "{assigned:?}");
    assert_eq!(assigned.get("first").map(String::as_str), Some("\"a\""), "{assigned:?}");
    let broken = json!({"QueryLanguage": "JSONata", "StartAt": "A", "States": {
        "A": {"Type": "Pass", "Output": "{% $states.input. %}", "End": true}}});
    let message = refused_definition(&sfn, &unique("BadExpression"), &broken).await;
    assert!(message.contains("state \"A\"") && message.contains("field Output"), "{message}");
}

/// The gateway's peak resident memory so far (VmHWM), in KiB.
fn peak_rss_kib(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    let line = status.lines().find(|l| l.starts_with("VmHWM:")).unwrap();
    line.split_whitespace().nth(1).unwrap().parse().unwrap()
}

/// A standard execution that never ends by itself: a Pass state whose intrinsics take a while
/// (States.ArrayUnique of 1,000 numbers compares each to those before it) and a Choice that always
/// sends it back. It awaits nothing, so only the state loop's own checks between states let a stop
/// in; and each state costs enough that the loop is far from AWS's 25,000-event quota when the stop
/// comes right after the start.
fn endless_loop(heavy: bool) -> Value {
    let work = if heavy {
        json!({"n.$": "States.MathAdd($.n, 1)",
               "size.$": "States.ArrayLength(States.ArrayUnique(States.ArrayRange(1, 1000, 1)))"})
    } else {
        json!({"n.$": "States.MathAdd($.n, 1)"})
    };
    json!({"StartAt": "Spin", "States": {
        "Spin": {"Type": "Pass", "Parameters": work, "Next": "Again"},
        "Again": {"Type": "Choice", "Choices": [{"Variable": "$.n", "NumericLessThan": 0, "Next": "Never"}],
            "Default": "Spin"},
        "Never": {"Type": "Succeed"}
    }})
}

/// StopExecution of a Pass/Choice loop that never ends: once StopExecution has answered, the
/// execution is ABORTED (not still RUNNING, not FAILED at the history quota) and its history ends
/// with ExecutionAborted. Before the state loop checked for a stop between states, the gateway held
/// 20 GB for such a loop and StopExecution answered after 43 s with the execution still RUNNING.
#[tokio::test]
async fn stop_execution_ends_a_pass_choice_loop_that_never_ends() {
    let Some(cloud) = own_cloud("1").await else {
        return;
    };
    let sfn = sfn(&cloud);
    let machine = create_machine(&sfn, &unique("Endless"), &endless_loop(true)).await;
    let started = sfn.start_execution().state_machine_arn(&machine).input(r#"{"n":0}"#).send().await.unwrap();
    let arn = started.execution_arn();
    // The loop is under way: its history has a state in it. (The bound only keeps a broken run
    // from hanging the test.)
    for _ in 0..6000 {
        if history(&sfn, arn).await.len() >= 3 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    sfn.stop_execution().execution_arn(arn).error("Operator").cause("a loop that never ends").send().await.unwrap();
    // No polling: StopExecution's answer comes after the end is recorded.
    let described = sfn.describe_execution().execution_arn(arn).send().await.unwrap();
    assert_eq!(*described.status(), ExecutionStatus::Aborted, "{described:?}");
    assert_eq!((described.error(), described.cause()), (Some("Operator"), Some("a loop that never ends")));
    let last = || async {
        let newest = sfn.get_execution_history().execution_arn(arn).reverse_order(true).max_results(1).send();
        newest.await.unwrap().events()[0].clone()
    };
    let end = last().await;
    assert_eq!(end.r#type().as_str(), "ExecutionAborted");
    assert!((4..25_000).contains(&end.id()), "{end:?}");
    // Nothing ran after the stop: the history read again ends with the same event.
    assert_eq!(last().await.id(), end.id());
    assert_eq!(*sfn.describe_execution().execution_arn(arn).send().await.unwrap().status(), ExecutionStatus::Aborted);
}

/// A Pass/Choice loop that is never stopped: AWS fails a standard execution when its history
/// reaches 25,000 events ("Quotas for Standard Workflows",
/// https://docs.aws.amazon.com/step-functions/latest/dg/limits.html; event number 25,000 is
/// ExecutionFailed, https://docs.aws.amazon.com/step-functions/latest/dg/bp-history-limit.html).
/// AWS's documentation does not give the error and cause; `States.Runtime` and "The execution
/// reached the maximum number of history events (25000)." are those users report from AWS
/// (github.com/loads/ardere#86). The history stays at 25,000 events: the gateway's memory for it is
/// bounded. Prints the gateway's peak resident memory (no assertion on it: it depends on the
/// machine and the allocator).
#[tokio::test]
async fn a_loop_that_never_ends_fails_at_25000_events_with_a_bounded_history() {
    let Some(cloud) = own_cloud("1").await else {
        return;
    };
    let gateway = cloud.pid(localcloud::Service::Gateway);
    let before = peak_rss_kib(gateway);
    let sfn = sfn(&cloud);
    let machine = create_machine(&sfn, &unique("Runaway"), &endless_loop(false)).await;
    let started = sfn.start_execution().state_machine_arn(&machine).input(r#"{"n":0}"#).send().await.unwrap();
    let arn = started.execution_arn();
    let done = finished(&sfn, arn).await;
    assert_eq!(*done.status(), ExecutionStatus::Failed);
    assert_eq!(
        (done.error(), done.cause()),
        (Some("States.Runtime"), Some("The execution reached the maximum number of history events (25000)."))
    );
    let history = sfn.get_execution_history().execution_arn(arn).max_results(1000).include_execution_data(false);
    let history = history.into_paginator().items().send().try_collect().await.unwrap();
    let events: Vec<(i64, String)> = history.iter().map(|e| (e.id(), e.r#type().as_str().to_owned())).collect();
    assert_eq!(events.len(), 25_000);
    assert_eq!(events.last().unwrap(), &(25_000, "ExecutionFailed".to_owned()));
    assert_eq!(events.iter().filter(|(_, t)| t == "ExecutionFailed").count(), 1);
    let after = peak_rss_kib(gateway);
    eprintln!(
        "gateway peak RSS (VmHWM): {:.1} MiB before the runaway loop, {:.1} MiB after its 25,000 events",
        before as f64 / 1024.0,
        after as f64 / 1024.0
    );
}

// ---- With the project's own image, run by the local Fargate ----

/// The platform's test task, built by the project's pipeline and pushed to the cloud's registry.
async fn pushed_image(cloud: &LocalCloud) -> String {
    let progress = Progress::quiet();
    let options = BuildOptions {
        workspace: support::workspace(),
        builder: Builder::Oci,
        base: None,
        ca_certificates: provisioner::image::inputs::DEFAULT_CA_CERTIFICATES.into(),
    };
    let task = TaskBinary::package(&options.workspace, TEST_TASK);
    let built = pipeline::build_task(&options, &task, &progress).await.expect("the image builds");
    let destination = Destination::Registry(cloud.registry().to_owned());
    let target = pipeline::resolve(&destination, TEST_TASK, &provisioner::image::ecr::lifecycle_policy(), &progress)
        .await
        .expect("the registry resolves");
    pipeline::push(&built, &target, &progress).await.expect("the image pushes").image_uri
}

/// A cluster and a task definition (with a task role) for the image; returns (cluster ARN, task
/// definition ARN).
async fn ecs_setup(cloud: &LocalCloud) -> (String, String) {
    let image = pushed_image(cloud).await;
    let ecs = aws_sdk_ecs::Client::new(cloud.sdk_config());
    let logs = aws_sdk_cloudwatchlogs::Client::new(cloud.sdk_config());
    let cluster = ecs.create_cluster().cluster_name(unique("sfn")).send().await.unwrap();
    let cluster_arn = cluster.cluster().unwrap().cluster_arn().unwrap().to_owned();
    let _ = logs.create_log_group().log_group_name(LOG_GROUP).send().await;
    let container = ContainerDefinition::builder()
        .name(CONTAINER)
        .image(image)
        .essential(true)
        .memory(128)
        .stop_timeout(2)
        .log_configuration(
            LogConfiguration::builder()
                .log_driver(LogDriver::Awslogs)
                .options("awslogs-group", LOG_GROUP)
                .options("awslogs-region", "us-east-1")
                .options("awslogs-stream-prefix", "ecs")
                .build()
                .unwrap(),
        )
        .build();
    let registered = ecs
        .register_task_definition()
        .family(unique("servicefull"))
        .requires_compatibilities(Compatibility::Fargate)
        .network_mode(NetworkMode::Awsvpc)
        .cpu("256")
        .memory("512")
        // The callback's SendTask* calls are signed with this role's credentials, from the task's
        // container credentials endpoint (moto's STS assumes a role whether or not IAM holds it).
        .task_role_arn("arn:aws:iam::123456789012:role/servicefull-sfn-test-task")
        .container_definitions(container)
        .send()
        .await
        .unwrap();
    (cluster_arn, registered.task_definition().unwrap().task_definition_arn().unwrap().to_owned())
}

/// A `runTask.sync` Task state whose TASK_INPUT is `task_input` (a Parameters value, so it may be
/// a `.$` path or intrinsic).
fn run_task_state(cluster: &str, task_definition: &str, task_input_key: &str, task_input: Value) -> Value {
    let mut environment = serde_json::Map::new();
    environment.insert("Name".into(), json!("TASK_INPUT"));
    environment.insert(task_input_key.into(), task_input);
    json!({
        "Type": "Task",
        "Resource": "arn:aws:states:::ecs:runTask.sync",
        "Parameters": {
            "Cluster": cluster,
            "TaskDefinition": task_definition,
            "LaunchType": "FARGATE",
            "NetworkConfiguration": {"AwsvpcConfiguration": {"Subnets": ["subnet-local"], "SecurityGroups": ["sg-local"], "AssignPublicIp": "ENABLED"}},
            "Overrides": {"ContainerOverrides": [{"Name": CONTAINER, "Environment": [environment]}]}
        }
    })
}

/// A `runTask.waitForTaskToken` state: the `task_input` value in TASK_INPUT, the token in
/// TASK_TOKEN and, when `heartbeat` is given, HeartbeatSeconds and TASK_HEARTBEAT_SECONDS.
fn callback_state(cluster: &str, task_definition: &str, task_input: Value, heartbeat: Option<u64>) -> Value {
    let mut run = run_task_state(cluster, task_definition, "Value.$", task_input);
    run["Resource"] = json!("arn:aws:states:::ecs:runTask.waitForTaskToken");
    let environment = run["Parameters"]["Overrides"]["ContainerOverrides"][0]["Environment"].as_array_mut().unwrap();
    environment.push(json!({"Name": "TASK_TOKEN", "Value.$": "$$.Task.Token"}));
    if let Some(seconds) = heartbeat {
        environment.push(json!({"Name": "TASK_HEARTBEAT_SECONDS", "Value": seconds.to_string()}));
        run["HeartbeatSeconds"] = json!(seconds);
    }
    run["TimeoutSeconds"] = json!(120);
    run
}

/// The callback pattern end to end, on one local cloud: a `runTask.waitForTaskToken` state hands its
/// token to the container in TASK_TOKEN; the task's runtime reports its result with SendTaskSuccess
/// (the state's output) or its error with SendTaskFailure, signed and sent to the gateway that
/// AWS_ENDPOINT_URL names on the task network. Then a chain of two tasks, a killed task, a task
/// stopped by ECS and an execution stopped under its task.
#[tokio::test]
async fn callback_tasks_return_results_and_errors_chain_and_end_when_killed_or_stopped() {
    let Some(cloud) = own_cloud("1").await else {
        return;
    };
    let sfn = sfn(&cloud);
    let (cluster, task_definition) = ecs_setup(&cloud).await;
    let mut run = callback_state(&cluster, &task_definition, json!("$.task_input"), None);
    run["End"] = json!(true);
    let machine = create_machine(&sfn, &unique("Callback"), &json!({"StartAt": "Run", "States": {"Run": run}})).await;
    let start = |input: &str| {
        sfn.start_execution().state_machine_arn(&machine).input(json!({"task_input": input}).to_string()).send()
    };

    let ok = start(r#"{"name":"callback","text":"a b c"}"#).await.unwrap();
    let done = finished(&sfn, ok.execution_arn()).await;
    assert_eq!(*done.status(), ExecutionStatus::Succeeded, "{:?} {:?}", done.error(), done.cause());
    let output: Value = serde_json::from_str(done.output().unwrap()).unwrap();
    assert_eq!(output["greeting"], "Hello, callback!", "the task's own result is the state's output: {output}");

    let failing = start(r#"{"fail":true}"#).await.unwrap();
    let failed = finished(&sfn, failing.execution_arn()).await;
    assert_eq!(*failed.status(), ExecutionStatus::Failed);
    assert_eq!(failed.error(), Some("TaskFailed"), "the task's error name, not States.TaskFailed");
    assert!(failed.cause().unwrap().contains("failed on purpose"), "{:?}", failed.cause());

    // Two tasks in a row: what the first returns (through its token) is the second's input.
    let mut first = callback_state(&cluster, &task_definition, json!("$.task_input"), None);
    first["ResultSelector"] = json!({"name.$": "$.greeting", "text.$": "$.greeting"});
    first["Next"] = json!("Second");
    let mut second = callback_state(&cluster, &task_definition, json!("States.JsonToString($)"), None);
    second["End"] = json!(true);
    let chain = json!({"StartAt": "First", "States": {"First": first, "Second": second}});
    let machine = create_machine(&sfn, &unique("Chain"), &chain).await;
    let input = json!({"task_input": r#"{"name":"chain"}"#}).to_string();
    let started = sfn.start_execution().state_machine_arn(&machine).input(input).send().await.unwrap();
    let done = finished(&sfn, started.execution_arn()).await;
    assert_eq!(*done.status(), ExecutionStatus::Succeeded, "{:?} {:?}", done.error(), done.cause());
    let output: Value = serde_json::from_str(done.output().unwrap()).unwrap();
    assert_eq!(output["greeting"], "Hello, Hello, chain!!", "the second task greeted the first's greeting: {output}");
    assert_eq!(output["words"], 2, "{output}");

    // A task killed (SIGKILL, as an OOM kill or a crash) cannot report: its heartbeats stop, and
    // the state ends in States.HeartbeatTimeout once HeartbeatSeconds pass without one.
    let mut beating = callback_state(&cluster, &task_definition, json!("$.task_input"), Some(3));
    beating["End"] = json!(true);
    let machine = create_machine(&sfn, &unique("Killed"), &json!({"StartAt": "Run", "States": {"Run": beating}})).await;
    let input = json!({"task_input": r#"{"work_seconds":60}"#}).to_string();
    let started = sfn.start_execution().state_machine_arn(&machine).input(input).send().await.unwrap();
    let logs = aws_sdk_cloudwatchlogs::Client::new(cloud.sdk_config());
    let (task, _) = started_task(&sfn, &logs, started.execution_arn()).await;
    // This task's container (earlier tasks' containers may still be winding down); killed once it
    // has beaten for longer than HeartbeatSeconds: its heartbeats kept it alive.
    let container = format!("localcloud-{}-{CONTAINER}", task.rsplit('/').next().unwrap());
    let docker = bollard::Docker::connect_with_local_defaults().unwrap();
    tokio::time::sleep(Duration::from_secs(4)).await;
    let running = sfn.describe_execution().execution_arn(started.execution_arn()).send().await.unwrap();
    assert_eq!(*running.status(), ExecutionStatus::Running, "heartbeats kept the state waiting past 3 s");
    let killed_at = std::time::Instant::now();
    docker
        .kill_container(&container, Some(bollard::query_parameters::KillContainerOptions { signal: "KILL".into() }))
        .await
        .unwrap();
    let failed = finished(&sfn, started.execution_arn()).await;
    let waited = killed_at.elapsed();
    assert_eq!(*failed.status(), ExecutionStatus::Failed);
    assert_eq!(failed.error(), Some("States.HeartbeatTimeout"), "{:?}", failed.cause());
    eprintln!("HeartbeatTimeout {waited:?} after the kill (HeartbeatSeconds 3)");
    let events = history(&sfn, started.execution_arn()).await;
    assert!(events.iter().any(|e| e.r#type() == &aws_sdk_sfn::types::HistoryEventType::TaskTimedOut));

    // A task stopped (ECS's StopTask: SIGTERM) reports the stop itself: the state fails with the
    // runtime's `Terminated`, not a timeout.
    let input = json!({"task_input": r#"{"work_seconds":60}"#}).to_string();
    let started = sfn.start_execution().state_machine_arn(&machine).input(input).send().await.unwrap();
    let ecs = aws_sdk_ecs::Client::new(cloud.sdk_config());
    let (task, _) = started_task(&sfn, &logs, started.execution_arn()).await;
    ecs.stop_task().cluster(&cluster).task(&task).reason("stopped by the test").send().await.unwrap();
    let stopped = finished(&sfn, started.execution_arn()).await;
    assert_eq!(*stopped.status(), ExecutionStatus::Failed);
    assert_eq!(stopped.error(), Some("Terminated"), "the task's own report: {:?}", stopped.cause());

    // StopExecution does not stop a callback task, on AWS (only `.sync` integrations are stopped)
    // nor here. Its next heartbeat is refused (TaskTimedOut: no one waits for the token), and the
    // runtime stops the task as SIGTERM would, within a heartbeat interval (1 s here).
    let input = json!({"task_input": r#"{"work_seconds":60}"#}).to_string();
    let started = sfn.start_execution().state_machine_arn(&machine).input(input).send().await.unwrap();
    let (task, stream) = started_task(&sfn, &logs, started.execution_arn()).await;
    sfn.stop_execution().execution_arn(started.execution_arn()).send().await.unwrap();
    let stopped_at = std::time::Instant::now();
    let exit_code = loop {
        let described = ecs.describe_tasks().cluster(&cluster).tasks(&task).send().await.unwrap();
        let task = &described.tasks()[0];
        if task.last_status() == Some("STOPPED") {
            break task.containers()[0].exit_code();
        }
        assert!(stopped_at.elapsed() < Duration::from_secs(60), "the task still runs a minute after StopExecution");
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    eprintln!("the callback task stopped itself {:?} after StopExecution (heartbeats every 1 s)", stopped_at.elapsed());
    assert_eq!(exit_code, Some(143), "the runtime's exit for a stop");
    let read = logs.get_log_events().log_group_name(LOG_GROUP).log_stream_name(&stream).send().await.unwrap();
    let lines: Vec<&str> = read.events().iter().filter_map(|e| e.message()).collect();
    assert!(
        lines.iter().any(|l| l.contains("the workflow no longer waits for this task") && l.contains("TaskTimedOut")),
        "the task says why it stopped: {lines:#?}"
    );
}

/// The task an execution's TaskSubmitted event names, and its log stream, once the task has
/// logged its start (its runtime then listens for SIGTERM and beats).
async fn started_task(
    sfn: &aws_sdk_sfn::Client,
    logs: &aws_sdk_cloudwatchlogs::Client,
    execution_arn: &str,
) -> (String, String) {
    for _ in 0..600 {
        if let Some(arn) = submitted_task_arn(&history(sfn, execution_arn).await) {
            let stream = format!("ecs/{CONTAINER}/{}", arn.rsplit('/').next().unwrap());
            let read = logs.get_log_events().log_group_name(LOG_GROUP).log_stream_name(&stream).send().await;
            if read.is_ok_and(|r| r.events().iter().any(|e| e.message().is_some_and(|m| m.contains("task started")))) {
                return (arn, stream);
            }
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("the task of {execution_arn} was not submitted, or did not log its start, within a minute");
}

#[tokio::test]
async fn run_task_sync_succeeds_fails_with_the_stopped_task_and_records_task_submitted() {
    let Some(cloud) = own_cloud("0.01").await else {
        return;
    };
    let sfn = sfn(&cloud);
    let (cluster, task_definition) = ecs_setup(&cloud).await;
    let mut run = run_task_state(&cluster, &task_definition, "Value.$", json!("$.task_input"));
    run["End"] = json!(true);
    let machine = create_machine(&sfn, &unique("Sync"), &json!({"StartAt": "Run", "States": {"Run": run}})).await;

    let ok = sfn
        .start_execution()
        .state_machine_arn(&machine)
        .input(json!({"task_input": r#"{"name":"x","text":"a b"}"#}).to_string())
        .send()
        .await
        .unwrap();
    let done = finished(&sfn, ok.execution_arn()).await;
    assert_eq!(*done.status(), ExecutionStatus::Succeeded, "{:?} {:?}", done.error(), done.cause());
    let output: Value = serde_json::from_str(done.output().unwrap()).unwrap();
    let task_arn = output["TaskArn"].as_str().unwrap();
    assert!(task_arn.starts_with("arn:aws:ecs:us-east-1:"), "{output}");
    assert_eq!(output["StopCode"], "EssentialContainerExited");
    assert_eq!(output["LastStatus"], "STOPPED");
    assert_eq!(output["Containers"][0]["ExitCode"], 0);
    let events = history(&sfn, ok.execution_arn()).await;
    let types: Vec<&str> = events.iter().map(|e| e.r#type().as_str()).collect();
    assert_eq!(types[2..6], ["TaskScheduled", "TaskStarted", "TaskSubmitted", "TaskSucceeded"]);
    let submitted = events[4].task_submitted_event_details().unwrap();
    assert_eq!((submitted.resource_type(), submitted.resource()), ("ecs", "runTask.sync"));
    let answer: Value = serde_json::from_str(submitted.output().unwrap()).unwrap();
    assert_eq!(answer["Tasks"][0]["TaskArn"], task_arn, "provisioner run --follow reads the task ARN here");
    assert_eq!(answer["Failures"], json!([]));

    let failing = sfn
        .start_execution()
        .state_machine_arn(&machine)
        .input(json!({"task_input": r#"{"fail":true}"#}).to_string())
        .send()
        .await
        .unwrap();
    let failed = finished(&sfn, failing.execution_arn()).await;
    assert_eq!(*failed.status(), ExecutionStatus::Failed);
    assert_eq!(failed.error(), Some("States.TaskFailed"));
    let cause: Value = serde_json::from_str(failed.cause().unwrap()).unwrap();
    assert_eq!(cause["Containers"][0]["ExitCode"], 1, "{cause}");
    assert_eq!(cause["StopCode"], "EssentialContainerExited");
    assert!(cloud.task_containers().await.is_empty(), "the tasks' containers are removed");
}

/// SQS through the gateway (moto's), in the query protocol: aws-sdk-sqs is not a dependency.
fn sqs(endpoint: &str, params: &[(&str, &str)]) -> String {
    let body = params.iter().map(|(k, v)| format!("{k}={}", urlencode(v))).collect::<Vec<_>>().join("&");
    let mut response = ureq::post(endpoint)
        .header("content-type", "application/x-www-form-urlencoded")
        .header(
            "authorization",
            "AWS4-HMAC-SHA256 Credential=test/20260101/us-east-1/sqs/aws4_request, SignedHeaders=host, Signature=0",
        )
        .send(format!("Version=2012-11-05&{body}"))
        .unwrap_or_else(|e| panic!("SQS {params:?}: {e}"));
    response.body_mut().read_to_string().unwrap()
}

fn urlencode(value: &str) -> String {
    value
        .bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

#[tokio::test]
async fn a_caught_failure_publishes_to_sns_once_and_a_retry_succeeds_on_the_second_attempt() {
    let Some(cloud) = own_cloud("0.01").await else {
        return;
    };
    let sfn = sfn(&cloud);
    let (cluster, task_definition) = ecs_setup(&cloud).await;
    let sns = aws_sdk_sns::Client::new(cloud.sdk_config());
    let topic = sns.create_topic().name(unique("alerts")).send().await.unwrap().topic_arn().unwrap().to_owned();
    let endpoint = cloud.endpoint_url().unwrap().to_owned();
    let queue_name = unique("alerts-queue");
    let created = sqs(&endpoint, &[("Action", "CreateQueue"), ("QueueName", &queue_name)]);
    let queue_url = localcloud::upstream::xml_element(&created, "QueueUrl").unwrap().to_owned();
    let queue_arn = format!("arn:aws:sqs:us-east-1:{ACCOUNT}:{queue_name}");
    sns.subscribe().topic_arn(&topic).protocol("sqs").endpoint(&queue_arn).send().await.unwrap();

    let mut run = run_task_state(&cluster, &task_definition, "Value", json!(r#"{"fail":true}"#));
    run["Catch"] = json!([{"ErrorEquals": ["States.TaskFailed"], "ResultPath": "$.failure", "Next": "Notify"}]);
    run["End"] = json!(true);
    let notify = json!({
        "Type": "Task", "Resource": "arn:aws:states:::sns:publish",
        "Parameters": {"TopicArn": topic, "Subject": "task failed", "Message": {"status": "failed", "error.$": "$.failure.Error"}},
        "End": true
    });
    let machine =
        create_machine(&sfn, &unique("Catch"), &json!({"StartAt": "Run", "States": {"Run": run, "Notify": notify}}))
            .await;
    let started = sfn.start_execution().state_machine_arn(&machine).send().await.unwrap();
    let done = finished(&sfn, started.execution_arn()).await;
    assert_eq!(*done.status(), ExecutionStatus::Succeeded, "{:?} {:?}", done.error(), done.cause());
    let output: Value = serde_json::from_str(done.output().unwrap()).unwrap();
    assert!(output["MessageId"].as_str().is_some_and(|id| !id.is_empty()), "{output}");
    let received =
        sqs(&endpoint, &[("Action", "ReceiveMessage"), ("QueueUrl", &queue_url), ("MaxNumberOfMessages", "10")]);
    assert_eq!(received.matches("<Message>").count(), 1, "exactly one notification: {received}");
    assert!(received.contains("States.TaskFailed"), "{received}");

    // The first attempt's input fails, the retry's succeeds: TASK_INPUT is picked by RetryCount.
    let mut retried = run_task_state(
        &cluster,
        &task_definition,
        "Value.$",
        json!("States.ArrayGetItem($.attempts, $$.State.RetryCount)"),
    );
    retried["Retry"] = json!([{"ErrorEquals": ["States.TaskFailed"], "IntervalSeconds": 1, "MaxAttempts": 2}]);
    retried["End"] = json!(true);
    let machine = create_machine(&sfn, &unique("Retry"), &json!({"StartAt": "Run", "States": {"Run": retried}})).await;
    let input = json!({"attempts": [r#"{"fail":true}"#, r#"{"name":"x","text":"a b"}"#]});
    let started = sfn.start_execution().state_machine_arn(&machine).input(input.to_string()).send().await.unwrap();
    let done = finished(&sfn, started.execution_arn()).await;
    assert_eq!(*done.status(), ExecutionStatus::Succeeded, "{:?} {:?}", done.error(), done.cause());
    let types: Vec<String> =
        history(&sfn, started.execution_arn()).await.iter().map(|e| e.r#type().as_str().to_owned()).collect();
    assert_eq!(types.iter().filter(|t| *t == "TaskFailed").count(), 1, "{types:?}");
    assert_eq!(types.iter().filter(|t| *t == "TaskSucceeded").count(), 1, "{types:?}");
    assert!(cloud.task_containers().await.is_empty());
}

#[tokio::test]
async fn stop_execution_stops_the_running_task_and_its_container_is_gone() {
    let Some(cloud) = own_cloud("0.01").await else {
        return;
    };
    let sfn = sfn(&cloud);
    let ecs = aws_sdk_ecs::Client::new(cloud.sdk_config());
    let (cluster, task_definition) = ecs_setup(&cloud).await;
    let mut run = run_task_state(&cluster, &task_definition, "Value", json!(r#"{"work_seconds":300}"#));
    run["End"] = json!(true);
    let machine = create_machine(&sfn, &unique("Stop"), &json!({"StartAt": "Run", "States": {"Run": run}})).await;
    let started = sfn.start_execution().state_machine_arn(&machine).send().await.unwrap();

    // The task's ARN, from TaskSubmitted, as `provisioner run --follow` reads it.
    let mut task_arn = None;
    for _ in 0..3000 {
        task_arn = submitted_task_arn(&history(&sfn, started.execution_arn()).await);
        if task_arn.is_some() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let task_arn = task_arn.expect("TaskSubmitted is recorded");
    for _ in 0..3000 {
        let task = ecs.describe_tasks().cluster(&cluster).tasks(&task_arn).send().await.unwrap();
        if task.tasks()[0].last_status() == Some("RUNNING") {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(!cloud.task_containers().await.is_empty(), "the task runs in a container");

    sfn.stop_execution().execution_arn(started.execution_arn()).cause("operator").send().await.unwrap();
    let stopped = sfn.describe_execution().execution_arn(started.execution_arn()).send().await.unwrap();
    assert_eq!(*stopped.status(), ExecutionStatus::Aborted);
    let mut task = None;
    for _ in 0..3000 {
        let described = ecs.describe_tasks().cluster(&cluster).tasks(&task_arn).send().await.unwrap();
        if described.tasks()[0].last_status() == Some("STOPPED") {
            task = Some(described.tasks()[0].clone());
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let task = task.expect("the execution's task stops");
    assert_eq!(task.stop_code().map(|c| c.as_str()), Some("UserInitiated"));
    assert_eq!(task.containers()[0].exit_code(), Some(143), "SIGTERM ended the work early");
    assert!(cloud.task_containers().await.is_empty(), "the stopped task's container is removed");
}

#[tokio::test]
async fn a_task_that_runs_past_its_timeout_fails_with_states_timeout_and_is_stopped() {
    let Some(cloud) = own_cloud("0.01").await else {
        return;
    };
    let sfn = sfn(&cloud);
    let ecs = aws_sdk_ecs::Client::new(cloud.sdk_config());
    let (cluster, task_definition) = ecs_setup(&cloud).await;
    let mut run = run_task_state(&cluster, &task_definition, "Value", json!(r#"{"work_seconds":300}"#));
    // 1000 s, a hundredth of it under the time scale: the task starts, and is still working.
    run["TimeoutSeconds"] = json!(1000);
    run["End"] = json!(true);
    let machine = create_machine(&sfn, &unique("Timeout"), &json!({"StartAt": "Run", "States": {"Run": run}})).await;
    let started = sfn.start_execution().state_machine_arn(&machine).send().await.unwrap();
    let done = finished(&sfn, started.execution_arn()).await;
    assert_eq!(*done.status(), ExecutionStatus::Failed, "{done:?}");
    assert_eq!(done.error(), Some("States.Timeout"), "{done:?}");

    let events = history(&sfn, started.execution_arn()).await;
    assert!(events.iter().any(|e| e.r#type().as_str() == "TaskTimedOut"), "{events:?}");
    let task_arn = submitted_task_arn(&events).expect("TaskSubmitted is recorded with the task's ARN");
    let mut stopped = false;
    for _ in 0..3000 {
        let described = ecs.describe_tasks().cluster(&cluster).tasks(&task_arn).send().await.unwrap();
        if described.tasks()[0].last_status() == Some("STOPPED") {
            stopped = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(stopped, "the timed-out state's task is stopped, not left running");
    let mut left = cloud.task_containers().await;
    for _ in 0..250 {
        if left.is_empty() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
        left = cloud.task_containers().await;
    }
    assert!(left.is_empty(), "the timed-out task's container is removed: {left:?}");
}

/// The task token a running callback execution's task was given, read from its TaskScheduled
/// event (the state sends it as `Message.token`), once the task is waiting (TaskSubmitted).
async fn waiting_token(sfn: &aws_sdk_sfn::Client, arn: &str) -> String {
    for _ in 0..2000 {
        let events = history(sfn, arn).await;
        if events.iter().any(|e| e.r#type().as_str() == "TaskSubmitted") {
            let scheduled = events.iter().find_map(|e| e.task_scheduled_event_details()).unwrap();
            let parameters: Value = serde_json::from_str(scheduled.parameters()).unwrap();
            return parameters["Message"]["token"].as_str().unwrap().to_owned();
        }
        tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    }
    panic!("the callback task of {arn} never waited");
}

#[tokio::test]
async fn a_callback_task_ends_by_its_token_and_the_token_operations_answer_with_aws_errors() {
    // AWS: a .waitForTaskToken task waits for SendTaskSuccess/SendTaskFailure with its token
    // ($$.Task.Token); SendTaskHeartbeat keeps it within HeartbeatSeconds. The API's errors:
    // InvalidOutput, InvalidToken, TaskDoesNotExist, TaskTimedOut.
    let Some(cloud) = own_cloud("0.01").await else {
        return;
    };
    let sfn = sfn(&cloud);
    let sns = aws_sdk_sns::Client::new(cloud.sdk_config());
    let topic = sns.create_topic().name(unique("asks")).send().await.unwrap().topic_arn().unwrap().to_owned();
    let callback = |heartbeat: u64| {
        json!({"StartAt": "Ask", "States": {"Ask": {"Type": "Task",
            "Resource": "arn:aws:states:::sns:publish.waitForTaskToken", "HeartbeatSeconds": heartbeat,
            "Parameters": {"TopicArn": topic, "Message": {"token.$": "$$.Task.Token"}}, "End": true}}})
    };
    // 3000 s at the time scale of 0.01: 30 s, ample for the calls below.
    let machine = create_machine(&sfn, &unique("Callback"), &callback(3000)).await;
    let started = sfn.start_execution().state_machine_arn(&machine).send().await.unwrap();
    let token = waiting_token(&sfn, started.execution_arn()).await;
    sfn.send_task_heartbeat().task_token(&token).send().await.unwrap();
    let err = sfn.send_task_success().task_token(&token).output("{not json").send().await.unwrap_err();
    assert!(err.into_service_error().is_invalid_output());
    let big = format!("\"{}\"", "x".repeat(256 * 1024));
    let err = sfn.send_task_success().task_token(&token).output(big).send().await.unwrap_err();
    assert!(err.into_service_error().is_invalid_output());
    sfn.send_task_success().task_token(&token).output(r#"{"answer":42}"#).send().await.unwrap();
    let done = finished(&sfn, started.execution_arn()).await;
    assert_eq!(*done.status(), ExecutionStatus::Succeeded, "{:?} {:?}", done.error(), done.cause());
    assert_eq!(serde_json::from_str::<Value>(done.output().unwrap()).unwrap(), json!({"answer": 42}));
    // The task is closed: its token is timed out; an unknown one does not exist; garbage is invalid.
    let err = sfn.send_task_heartbeat().task_token(&token).send().await.unwrap_err().into_service_error();
    assert!(err.is_task_timed_out(), "{err:?}");
    let unknown = "0b2d3b64-7d2a-4a8e-9a4e-6e1d2c3b4a5f";
    let err = sfn.send_task_success().task_token(unknown).output("{}").send().await.unwrap_err().into_service_error();
    assert!(err.is_task_does_not_exist(), "{err:?}");
    let err = sfn.send_task_failure().task_token("not-a-token").send().await.unwrap_err().into_service_error();
    assert!(err.is_invalid_token(), "{err:?}");

    // SendTaskFailure fails the task with its error and cause.
    let started = sfn.start_execution().state_machine_arn(&machine).send().await.unwrap();
    let token = waiting_token(&sfn, started.execution_arn()).await;
    sfn.send_task_failure().task_token(&token).error("Task.Broken").cause("it broke").send().await.unwrap();
    let done = finished(&sfn, started.execution_arn()).await;
    assert_eq!((done.error(), done.cause()), (Some("Task.Broken"), Some("it broke")));

    // No heartbeat within HeartbeatSeconds (1 s, 10 ms at this scale): States.HeartbeatTimeout.
    let silent = create_machine(&sfn, &unique("Silent"), &callback(1)).await;
    let started = sfn.start_execution().state_machine_arn(&silent).send().await.unwrap();
    let done = finished(&sfn, started.execution_arn()).await;
    assert_eq!(*done.status(), ExecutionStatus::Failed);
    assert_eq!(done.error(), Some("States.HeartbeatTimeout"));
}

/// Our own cloud (durations scaled by `scale`) whose gateway reads the mock configuration `mocks`
/// (Step Functions Local's format) from a file named by SFN_MOCK_CONFIG, and that file's path. The
/// gateway reads the file when it starts, so it is removed once the cloud runs.
async fn own_cloud_with_mocks(scale: &str, mocks: &Value) -> Option<(LocalCloud, String)> {
    let file = std::env::temp_dir().join(format!("{}.json", unique("sfn-mocks")));
    if std::env::var_os("AWS_ENDPOINT_URL").is_none() {
        std::fs::write(&file, serde_json::to_vec_pretty(mocks).unwrap()).unwrap();
        // SAFETY: as in own_cloud, before the cloud (and any thread that reads the environment)
        // starts.
        unsafe { std::env::set_var(localcloud::stepfunctions::mock_config::MOCK_CONFIG_ENV, &file) };
    }
    let cloud = own_cloud(scale).await;
    let _ = std::fs::remove_file(&file);
    Some((cloud?, file.display().to_string()))
}

/// The shipped workflow (run the task and wait for its token, retrying ECS's own errors; a Catch to
/// the SNS failure notification; the success notification) on a cluster and task definition that
/// do not exist: every test case mocks RunTask, so no container runs.
fn sample_workflow(topic_arn: &str) -> Value {
    let resources = service::description::WorkflowResources {
        service_name: CONTAINER.into(),
        partition: "aws".into(),
        cluster: format!("arn:aws:ecs:us-east-1:{ACCOUNT}:cluster/mocked"),
        task_definition: format!("arn:aws:ecs:us-east-1:{ACCOUNT}:task-definition/mocked:1"),
        container_name: CONTAINER.into(),
        subnets: vec!["subnet-local".into()],
        security_groups: vec!["sg-local".into()],
        topic_arn: topic_arn.into(),
    };
    let machine = service::description::describe().expect("the shipped description is valid").workflow(&resources);
    serde_json::from_str(&machine.to_json()).unwrap()
}

const MOCKED_TASK_ARN: &str = "arn:aws:ecs:us-east-1:123456789012:task/mocked/0123";
/// What the task's runtime reports with SendTaskFailure when the task fails on purpose.
const TASK_FAILED: (&str, &str) = ("TaskFailed", "the task failed on purpose: its input holds \"fail\": true");

/// The mock configuration of the sample workflow's test cases for the state machine `name`.
fn sample_mocks(name: &str) -> Value {
    json!({
        "StateMachines": {name: {"TestCases": {
            "HappyPath": {"RunTask": "TaskReported", "NotifySuccess": "Published"},
            // NotifyFailure is not mocked: it publishes to the real (moto's) topic.
            "FailurePath": {"RunTask": "EcsBusyThenTaskFailed"},
            // The retry of ECS's error finds no entry for invocation 1.
            "TooFewResponses": {"RunTask": "EcsBusyOnce"}
        }}},
        "MockedResponses": {
            // What the task sends back with its token: its own result.
            "TaskReported": {"0": {"Return": {"greeting": "Hello, demo!", "words": 3, "task_arn": MOCKED_TASK_ARN}}},
            "Published": {"0": {"Return": {"MessageId": "mocked-message"}}},
            "EcsBusyThenTaskFailed": {
                "0": {"Throw": {"Error": "ECS.AmazonECSException", "Cause": "capacity is unavailable"}},
                "1-2": {"Throw": {"Error": TASK_FAILED.0, "Cause": TASK_FAILED.1}}
            },
            "EcsBusyOnce": {"0": {"Throw": {"Error": "ECS.AmazonECSException", "Cause": "capacity is unavailable"}}}
        }
    })
}

/// The (type, state name or resource) of each Task... event of a history, in order.
fn task_events(events: &[aws_sdk_sfn::types::HistoryEvent]) -> Vec<(String, String)> {
    events
        .iter()
        .filter_map(|e| {
            let kind = e.r#type().as_str().to_owned();
            let state = e.state_entered_event_details().map(|d| d.name().to_owned()).unwrap_or_default();
            (kind.starts_with("Task") && kind != "TaskStateExited").then_some((kind, state))
        })
        .collect()
}

#[tokio::test]
async fn the_sample_workflow_runs_its_mock_file_test_cases_and_no_container() {
    let name = unique("Sample");
    let Some((cloud, _)) = own_cloud_with_mocks("0.01", &sample_mocks(&name)).await else {
        return;
    };
    let sfn = sfn(&cloud);
    let sns = aws_sdk_sns::Client::new(cloud.sdk_config());
    let topic = sns.create_topic().name(unique("alerts")).send().await.unwrap().topic_arn().unwrap().to_owned();
    let endpoint = cloud.endpoint_url().unwrap().to_owned();
    let queue_name = unique("alerts-queue");
    let created = sqs(&endpoint, &[("Action", "CreateQueue"), ("QueueName", &queue_name)]);
    let queue_url = localcloud::upstream::xml_element(&created, "QueueUrl").unwrap().to_owned();
    let queue_arn = format!("arn:aws:sqs:us-east-1:{ACCOUNT}:{queue_name}");
    sns.subscribe().topic_arn(&topic).protocol("sqs").endpoint(&queue_arn).send().await.unwrap();
    let machine = create_machine(&sfn, &name, &sample_workflow(&topic)).await;

    // HappyPath: the task's reported result and the publish's answer come from the file.
    let input = json!({"name": "demo", "text": "one two three"});
    let started = sfn
        .start_execution()
        .state_machine_arn(format!("{machine}#HappyPath"))
        .name("happy")
        .input(input.to_string())
        .send()
        .await
        .unwrap();
    // The execution is the machine's own, as Step Functions Local names it: no test case in it.
    let happy = format!("{}:happy", machine.replace(":stateMachine:", ":execution:"));
    assert_eq!(started.execution_arn(), happy);
    let done = finished(&sfn, &happy).await;
    assert_eq!(*done.status(), ExecutionStatus::Succeeded, "{:?} {:?}", done.error(), done.cause());
    assert_eq!(done.state_machine_arn(), machine);
    let output: Value = serde_json::from_str(done.output().unwrap()).unwrap();
    assert_eq!(output["result"], json!({"greeting": "Hello, demo!", "words": 3, "task_arn": MOCKED_TASK_ARN}));
    let events = history(&sfn, &happy).await;
    let steps: Vec<(String, String)> = task_events(&events);
    let step = |kind: &str, name: &str| (kind.to_owned(), name.to_owned());
    assert_eq!(
        steps,
        [
            step("TaskStateEntered", "RunTask"),
            step("TaskScheduled", ""),
            step("TaskStarted", ""),
            step("TaskSubmitted", ""),
            step("TaskSucceeded", ""),
            step("TaskStateEntered", "NotifySuccess"),
            step("TaskScheduled", ""),
            step("TaskStarted", ""),
            step("TaskSucceeded", ""),
        ],
        "a mocked callback task is submitted, then answered by its mock; a mocked publish submits nothing"
    );
    let published = events.iter().rev().find_map(|e| e.task_succeeded_event_details()).unwrap();
    assert_eq!(published.output(), Some(r#"{"MessageId":"mocked-message"}"#));

    // FailurePath: ECS's error is retried (invocation 1 is the retry), the task's failure is
    // caught, and the real NotifyFailure publishes it to the topic.
    let started = sfn.start_execution().state_machine_arn(format!("{machine}#FailurePath")).send().await.unwrap();
    let failed = finished(&sfn, started.execution_arn()).await;
    assert_eq!(*failed.status(), ExecutionStatus::Failed);
    assert_eq!((failed.error(), failed.cause()), (Some(TASK_FAILED.0), Some(TASK_FAILED.1)));
    let events = history(&sfn, started.execution_arn()).await;
    let errors: Vec<&str> =
        events.iter().filter_map(|e| e.task_failed_event_details()).filter_map(|d| d.error()).collect();
    assert_eq!(errors, ["ECS.AmazonECSException", TASK_FAILED.0]);
    let entered: Vec<&str> = events.iter().filter_map(|e| e.state_entered_event_details()).map(|d| d.name()).collect();
    assert_eq!(entered, ["RunTask", "NotifyFailure", "Failed"]);
    let received =
        sqs(&endpoint, &[("Action", "ReceiveMessage"), ("QueueUrl", &queue_url), ("MaxNumberOfMessages", "10")]);
    assert_eq!(received.matches("<Message>").count(), 1, "exactly one real notification: {received}");
    assert!(received.contains("failed on purpose") && received.contains(started.execution_arn()), "{received}");

    assert!(cloud.task_containers().await.is_empty(), "no task ran");
}

#[tokio::test]
async fn a_test_case_must_exist_and_a_call_past_its_mocked_responses_fails_the_execution() {
    let name = unique("Mocked");
    let express = unique("MockedExpress");
    let mut mocks = sample_mocks(&name);
    mocks["StateMachines"][&express] = mocks["StateMachines"][&name].clone();
    let Some((cloud, file)) = own_cloud_with_mocks("0.01", &mocks).await else {
        return;
    };
    let sfn = sfn(&cloud);
    let workflow = sample_workflow(&format!("arn:aws:sns:us-east-1:{ACCOUNT}:never-published"));
    let machine = create_machine(&sfn, &name, &workflow).await;

    let err = sfn
        .start_execution()
        .state_machine_arn(format!("{machine}#SadPath"))
        .send()
        .await
        .unwrap_err()
        .into_service_error();
    assert!(err.is_validation_exception(), "{err:?}");
    let message = err.meta().message().unwrap_or_default();
    for part in ["\"SadPath\"", &format!("{name:?}"), &file, "FailurePath, HappyPath, TooFewResponses"] {
        assert!(message.contains(part), "{part:?} not in {message}");
    }
    let other = create_machine(&sfn, &unique("NotInFile"), &workflow).await;
    let err = sfn
        .start_execution()
        .state_machine_arn(format!("{other}#HappyPath"))
        .send()
        .await
        .unwrap_err()
        .into_service_error();
    assert!(err.is_validation_exception(), "{err:?}");
    assert!(err.meta().message().unwrap_or_default().contains("has no state machine"), "{err:?}");
    let missing = machine.replace(&name, &unique("Missing"));
    let err = sfn
        .start_execution()
        .state_machine_arn(format!("{missing}#HappyPath"))
        .send()
        .await
        .unwrap_err()
        .into_service_error();
    assert!(err.is_state_machine_does_not_exist(), "the machine is looked up first: {err:?}");

    // The retry after ECS's error is invocation 1, which the file does not define: States.Runtime,
    // which the workflow's Catch on States.ALL does not catch.
    let started = sfn.start_execution().state_machine_arn(format!("{machine}#TooFewResponses")).send().await.unwrap();
    let failed = finished(&sfn, started.execution_arn()).await;
    assert_eq!(*failed.status(), ExecutionStatus::Failed);
    assert_eq!(failed.error(), Some("States.Runtime"));
    let cause = failed.cause().unwrap_or_default();
    assert!(cause.contains("invocation 1") && cause.contains("\"EcsBusyOnce\"") && cause.contains(&file), "{cause}");
    let entered: Vec<String> = history(&sfn, started.execution_arn())
        .await
        .iter()
        .filter_map(|e| e.state_entered_event_details())
        .map(|d| d.name().to_owned())
        .collect();
    assert_eq!(entered, ["RunTask"]);

    // StartSyncExecution of an EXPRESS machine takes a test case too.
    let created = sfn
        .create_state_machine()
        .name(&express)
        .definition(workflow.to_string())
        .role_arn(ROLE)
        .r#type(aws_sdk_sfn::types::StateMachineType::Express)
        .send()
        .await
        .unwrap();
    let endpoint = cloud.endpoint_url().unwrap();
    let answer = start_sync(
        endpoint,
        &json!({"stateMachineArn": format!("{}#HappyPath", created.state_machine_arn()), "input": r#"{"name":"sync"}"#}),
    );
    assert_eq!(answer["status"], "SUCCEEDED", "{answer}");
    let output: Value = serde_json::from_str(answer["output"].as_str().unwrap()).unwrap();
    assert_eq!(output["result"]["task_arn"], MOCKED_TASK_ARN);
    assert!(!answer["executionArn"].as_str().unwrap().contains('#'), "{answer}");
    assert!(cloud.task_containers().await.is_empty());
}

/// StartSyncExecution in AWS JSON 1.0 straight to `endpoint`: the SDK sends it to the host
/// `sync-<endpoint host>` (the API's host prefix), which a loopback address does not have.
fn start_sync(endpoint: &str, request: &Value) -> Value {
    let mut response = ureq::post(endpoint)
        .header("content-type", "application/x-amz-json-1.0")
        .header("x-amz-target", "AWSStepFunctions.StartSyncExecution")
        .header(
            "authorization",
            "AWS4-HMAC-SHA256 Credential=test/20260101/us-east-1/states/aws4_request, SignedHeaders=host, Signature=0",
        )
        .send(request.to_string())
        .unwrap_or_else(|e| panic!("StartSyncExecution {request}: {e}"));
    serde_json::from_str(&response.body_mut().read_to_string().unwrap()).unwrap()
}
