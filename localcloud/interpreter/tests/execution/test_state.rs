//! TestState (`states_interpreter::test_state`): one state run once, in both query languages,
//! with mocks, stateConfiguration and each status, against what AWS records (LocalStack's
//! AWS-validated snapshots of TestState; each case says which).

use std::sync::Arc;

use futures_util::future::BoxFuture;
use serde_json::{Map, Value, json};
use states_interpreter::test_state::{
    TestConfiguration, TestMock, TestState, TestStateAnswer, TestStateError, TestStatus, test_execution, test_state,
};
use states_interpreter::{Integrations, TaskCall, TaskFailure};

/// A service that echoes its request, as the real integration would be called without a mock.
struct Echo;

impl Integrations for Echo {
    fn invoke(&self, call: TaskCall) -> BoxFuture<'_, Result<Value, TaskFailure>> {
        Box::pin(async move { Ok(json!({"Echo": call.parameters})) })
    }
}

fn request(definition: Value, input: Value) -> TestState {
    TestState {
        definition: definition.to_string(),
        state_name: None,
        input,
        variables: Map::new(),
        context: None,
        mock: None,
        configuration: TestConfiguration::default(),
        execution: test_execution("us-east-1", "123456789012", None),
        check_mock: None,
    }
}

async fn run(request: TestState) -> TestStateAnswer {
    test_state(request, Arc::new(Echo)).await.unwrap()
}

async fn refused(request: TestState) -> TestStateError {
    test_state(request, Arc::new(Echo)).await.unwrap_err()
}

fn mock_error(error: &str, cause: &str) -> Option<TestMock> {
    Some(TestMock::Error { error: error.into(), cause: cause.into() })
}

#[tokio::test]
async fn a_pass_state_shows_each_step_of_its_data_flow() {
    // Recorded: test_base_inspection_level_debug[IO_PASS_STATE].
    let pass = json!({
        "Type": "Pass", "InputPath": "$.initialData",
        "Parameters": {"staticValue": "some value", "inputValue.$": "$.fieldFromInput"},
        "ResultPath": "$.modifiedData", "End": true
    });
    let input = json!({"initialData": {"fieldFromInput": "value from input", "otherField": "other"}, "unrelatedData": {"someOtherField": 1234}});
    let answer = run(request(pass, input.clone())).await;
    assert_eq!(answer.status, TestStatus::Succeeded);
    assert_eq!(answer.next_state, None);
    let selected = json!({"staticValue": "some value", "inputValue": "value from input"});
    let mut expected = input.clone();
    expected["modifiedData"] = selected.clone();
    assert_eq!(answer.output, Some(expected.clone()));
    let i = &answer.inspection;
    assert_eq!(i.input, Some(input.clone()));
    assert_eq!(i.after_input_path, Some(input["initialData"].clone()));
    assert_eq!(i.after_parameters, Some(selected.clone()));
    assert_eq!(i.after_result_selector, Some(selected));
    assert_eq!(i.after_result_path, Some(expected));
    assert_eq!(i.result, None, "a Pass state without Result shows no result");
    let api = answer.to_api("DEBUG");
    assert_eq!(api["status"], "SUCCEEDED");
    assert!(api["output"].is_string(), "output is a JSON string: {api}");
    assert!(api["inspectionData"]["afterInputPath"].is_string(), "{api}");
    assert!(answer.to_api("INFO").get("inspectionData").is_none(), "INFO shows no inspection data");
}

#[tokio::test]
async fn a_pass_state_with_a_result_shows_it_and_skips_input_path() {
    // Recorded: test_base_inspection_level_debug[BASE_RESULT_PASS_STATE].
    let pass = json!({"Type": "Pass", "Result": {"resultKey": "result value"}, "Next": "After"});
    let answer = run(request(pass, json!({"Value": "HelloWorld"}))).await;
    assert_eq!(answer.next_state.as_deref(), Some("After"));
    assert_eq!(answer.inspection.result, Some(json!({"resultKey": "result value"})));
    assert_eq!(answer.inspection.after_input_path, None);
    assert_eq!(answer.inspection.after_parameters, None);
}

#[tokio::test]
async fn a_choice_names_the_next_state_and_a_fail_state_fails() {
    // Recorded: BASE_CHOICE_STATE (nextState ValueInTwenties) and BASE_FAIL_STATE.
    let choice = json!({"Type": "Choice", "Choices": [
        {"And": [{"Variable": "$.value", "NumericGreaterThanEquals": 20}, {"Variable": "$.value", "NumericLessThan": 30}], "Next": "ValueInTwenties"}
    ], "Default": "DefaultState"});
    let answer = run(request(choice, json!({"type": "Private", "value": 22}))).await;
    assert_eq!((answer.status, answer.next_state.as_deref()), (TestStatus::Succeeded, Some("ValueInTwenties")));
    assert_eq!(answer.output, Some(json!({"type": "Private", "value": 22})));

    let fail =
        json!({"Type": "Fail", "Error": "SomeFailure", "Cause": "This state machines raises a 'SomeFailure' failure."});
    let answer = run(request(fail, json!({}))).await;
    assert_eq!(answer.status, TestStatus::Failed);
    assert_eq!(answer.error.as_deref(), Some("SomeFailure"));
    assert_eq!(answer.output, None);
    assert!(answer.to_api("INFO").get("output").is_none());
}

#[tokio::test]
async fn a_wait_state_does_not_wait() {
    let wait = json!({"Type": "Wait", "Seconds": 3600, "Next": "Later"});
    let answer = tokio::time::timeout(std::time::Duration::from_secs(5), run(request(wait, json!({"a": 1}))))
        .await
        .expect("TestState runs a Wait without waiting");
    assert_eq!(answer.next_state.as_deref(), Some("Later"));
}

#[tokio::test]
async fn a_task_without_a_mock_calls_the_service_and_shows_its_result() {
    let task = json!({
        "Type": "Task", "Resource": "arn:aws:states:::sns:publish",
        "Parameters": {"Message.$": "$.text"}, "ResultSelector": {"echoed.$": "$.Echo.Message"},
        "ResultPath": "$.published", "End": true
    });
    let answer = run(request(task, json!({"text": "hi"}))).await;
    assert_eq!(answer.status, TestStatus::Succeeded);
    assert_eq!(answer.inspection.result, Some(json!({"Echo": {"Message": "hi"}})));
    assert_eq!(answer.inspection.after_result_selector, Some(json!({"echoed": "hi"})));
    assert_eq!(answer.output, Some(json!({"text": "hi", "published": {"echoed": "hi"}})));
}

#[tokio::test]
async fn a_jsonata_task_with_a_mock_shows_arguments_and_variables() {
    let task = json!({
        "Type": "Task", "QueryLanguage": "JSONata", "Resource": "arn:aws:states:::ecs:runTask.sync",
        "Arguments": {"Cluster": "{% $cluster %}", "Input": "{% $states.input.n %}"},
        "Assign": {"stopped": "{% $states.result.StopCode %}"},
        "Output": "{% $states.result.TaskArn %}", "Next": "Notify"
    });
    let mut req = request(task, json!({"n": 3}));
    req.variables = json!({"cluster": "c1"}).as_object().cloned().unwrap();
    req.mock = Some(TestMock::Result(json!({"TaskArn": "arn:task", "StopCode": "EssentialContainerExited"})));
    let answer = run(req).await;
    assert_eq!(answer.status, TestStatus::Succeeded);
    assert_eq!(answer.output, Some(json!("arn:task")));
    assert_eq!(answer.next_state.as_deref(), Some("Notify"));
    assert_eq!(answer.inspection.after_arguments, Some(json!({"Cluster": "c1", "Input": 3})));
    assert_eq!(answer.inspection.after_input_path, None, "JSONata has no InputPath");
    assert_eq!(
        answer.inspection.variables,
        json!({"cluster": "c1", "stopped": "EssentialContainerExited"}).as_object().cloned()
    );
}

#[tokio::test]
async fn a_mocked_error_is_retriable_while_the_retrier_has_attempts_then_caught() {
    // Recorded: test_map_state_failure_count[DEBUG-BASE_MAP_STATE_RETRY] (errorDetails.retryIndex,
    // retryBackoffIntervalSeconds, no output) and test_state_task_catch_error (CAUGHT_ERROR).
    for language in ["JSONPath", "JSONata"] {
        let task = json!({
            "Type": "Task", "QueryLanguage": language, "Resource": "arn:aws:states:::lambda:invoke",
            "Retry": [
                {"ErrorEquals": ["Other"]},
                {"ErrorEquals": ["MockException"], "IntervalSeconds": 2, "BackoffRate": 3, "MaxAttempts": 2}
            ],
            "Catch": [{"ErrorEquals": ["Nope"], "Next": "A"}, {"ErrorEquals": ["States.ALL"], "Next": "Handle"}],
            "End": true
        });
        let mut req = request(task.clone(), json!({"v": 1}));
        req.mock = mock_error("MockException", "Mock the cause of the error.");
        let answer = run(req.clone()).await;
        assert_eq!(answer.status, TestStatus::Retriable, "{language}");
        assert_eq!(answer.error.as_deref(), Some("MockException"));
        assert_eq!(answer.output, None);
        let details = answer.inspection.error_details.clone().unwrap();
        assert_eq!((details.retry_index, details.retry_backoff_interval_seconds), (Some(1), Some(2)));

        req.configuration.retrier_retry_count = 1;
        let answer = run(req.clone()).await;
        assert_eq!(answer.status, TestStatus::Retriable);
        assert_eq!(answer.inspection.error_details.unwrap().retry_backoff_interval_seconds, Some(6), "2 x 3^1");

        req.configuration.retrier_retry_count = 2;
        let answer = run(req).await;
        assert_eq!(answer.status, TestStatus::CaughtError, "{language}");
        assert_eq!(answer.next_state.as_deref(), Some("Handle"));
        assert_eq!(answer.cause.as_deref(), Some("Mock the cause of the error."));
        assert_eq!(answer.inspection.error_details.unwrap().catch_index, Some(1));
        // The catcher has no ResultPath (JSONPath) or Output (JSONata): the error output.
        assert_eq!(answer.output, Some(json!({"Error": "MockException", "Cause": "Mock the cause of the error."})));
    }
}

#[tokio::test]
async fn an_uncaught_error_fails() {
    let task = json!({"Type": "Task", "Resource": "arn:aws:states:::lambda:invoke", "End": true});
    let mut req = request(task, json!({}));
    req.mock = mock_error("States.TaskFailed", "The task failed.");
    let answer = run(req).await;
    assert_eq!((answer.status, answer.error.as_deref()), (TestStatus::Failed, Some("States.TaskFailed")));
}

#[tokio::test]
async fn a_state_inside_a_map_or_a_parallel_is_found_by_name() {
    let machine = json!({
        "StartAt": "Fan",
        "States": {
            "Fan": {"Type": "Parallel", "End": true, "Branches": [
                {"StartAt": "InBranch", "States": {"InBranch": {"Type": "Pass", "Result": 1, "End": true}}},
                {"StartAt": "Each", "States": {"Each": {"Type": "Map", "End": true, "ItemProcessor": {
                    "StartAt": "InMap", "States": {"InMap": {"Type": "Pass", "Parameters": {"x.$": "$.v"}, "Next": "Last"},
                                                   "Last": {"Type": "Succeed"}}}}}}
            ]}
        }
    });
    let mut req = request(machine.clone(), json!({"v": 7}));
    req.state_name = Some("InMap".into());
    let answer = run(req).await;
    assert_eq!((answer.output, answer.next_state.as_deref()), (Some(json!({"x": 7})), Some("Last")));
    let mut req = request(machine.clone(), json!({}));
    req.state_name = Some("InBranch".into());
    assert_eq!(run(req).await.output, Some(json!(1)));

    // Recorded: test_base_state_name_validation_failures[dne].
    let mut req = request(machine, json!({}));
    req.state_name = Some("Nowhere".into());
    assert_eq!(refused(req).await, TestStateError::Validation("State not found in definition".into()));
}

#[tokio::test]
async fn a_map_runs_only_with_a_mock_and_its_failures_meet_the_tolerated_threshold() {
    // Recorded: test_state_type_requires_mock[MapState], test_map_state_failure_count
    // [DEBUG-BASE_MAP_STATE_CATCH], test_mock_result_is_not_array_on_map_state_without_result_writer.
    let map = json!({
        "Type": "Map", "ItemsPath": "$.Values", "ToleratedFailureCount": 1,
        "ItemProcessor": {"StartAt": "P", "States": {"P": {"Type": "Pass", "End": true}}},
        "Catch": [{"ErrorEquals": ["Other"], "Next": "X"}, {"ErrorEquals": ["States.ExceedToleratedFailureThreshold"], "Next": "HandleThreshold"}],
        "End": true
    });
    let input = json!({"Values": ["first", "second", "third"]});
    match refused(request(map.clone(), input.clone())).await {
        TestStateError::InvalidDefinition(m) => {
            assert!(m.starts_with("TestState API does not support Map or Parallel states"), "{m}")
        }
        other => panic!("{other:?}"),
    }
    let mut req = request(map.clone(), input.clone());
    req.mock = Some(TestMock::Result(json!({"not": "an array"})));
    assert_eq!(refused(req).await, TestStateError::Validation("Mocked result must be an array.".into()));

    let mut req = request(map.clone(), input.clone());
    req.mock = Some(TestMock::Result(json!([1, 1, 1])));
    req.configuration.map_iteration_failure_count = Some(1);
    let answer = run(req.clone()).await;
    assert_eq!((answer.status, answer.output.clone()), (TestStatus::Succeeded, Some(json!([1, 1, 1]))));
    assert_eq!(answer.inspection.after_items_path, Some(json!(["first", "second", "third"])));
    assert_eq!(answer.inspection.tolerated_failure_count, Some(1));
    assert_eq!(answer.inspection.max_concurrency, Some(0));

    req.configuration.map_iteration_failure_count = Some(2);
    let answer = run(req).await;
    assert_eq!(answer.status, TestStatus::CaughtError);
    assert_eq!(answer.error.as_deref(), Some("States.ExceedToleratedFailureThreshold"));
    assert_eq!(answer.cause.as_deref(), Some("The specified tolerated failure threshold was exceeded"));
    assert_eq!(answer.next_state.as_deref(), Some("HandleThreshold"));
    assert_eq!(answer.inspection.error_details.unwrap().catch_index, Some(1));
}

#[tokio::test]
async fn a_parallel_mock_has_one_result_per_branch() {
    // Recorded: test_mock_result_array_size_mismatch_on_parallel_state.
    let parallel = json!({"Type": "Parallel", "End": true, "Branches": [
        {"StartAt": "A", "States": {"A": {"Type": "Pass", "End": true}}},
        {"StartAt": "B", "States": {"B": {"Type": "Pass", "End": true}}}
    ]});
    let mut req = request(parallel.clone(), json!({}));
    req.mock = Some(TestMock::Result(json!([1])));
    assert_eq!(
        refused(req).await,
        TestStateError::Validation(
            "Mocked result must contain the same number of items as number of Parallel branches.".into()
        )
    );
    let mut req = request(parallel, json!({}));
    req.mock = Some(TestMock::Result(json!([1, 2])));
    assert_eq!(run(req).await.output, Some(json!([1, 2])));
}

#[tokio::test]
async fn requests_aws_refuses() {
    // Recorded: test_state_type_does_not_accept_mock[mock_result-PassState].
    let mut req = request(json!({"Type": "Pass", "End": true}), json!({}));
    req.mock = Some(TestMock::Result(json!({})));
    assert_eq!(
        refused(req).await,
        TestStateError::Validation("State type 'Pass' is not supported when a mock is specified".into())
    );
    // A .sync task without a mock ("TestState only supports ... .sync ... when a mock is specified").
    let sync = json!({"Type": "Task", "Resource": "arn:aws:states:::ecs:runTask.sync", "End": true});
    assert!(
        matches!(refused(request(sync, json!({}))).await, TestStateError::Validation(m) if m.contains("runTask.sync"))
    );
    // A definition that does not validate: InvalidDefinition naming the problem.
    match refused(request(json!({"Type": "Pass", "Next": 3}), json!({}))).await {
        TestStateError::InvalidDefinition(m) => assert!(m.starts_with("Invalid State Machine Definition"), "{m}"),
        other => panic!("{other:?}"),
    }
    match refused(request(
        json!({"Type": "Pass", "QueryLanguage": "JSONata", "Output": "{% $states.input. %}", "End": true}),
        json!({}),
    ))
    .await
    {
        TestStateError::InvalidDefinition(m) => assert!(m.contains("does not parse"), "{m}"),
        other => panic!("{other:?}"),
    }
    // context only with a mock (API_TestState: "This field may only be specified if a mock is specified").
    let mut req = request(json!({"Type": "Pass", "End": true}), json!({}));
    req.context = Some(json!({}));
    assert!(matches!(refused(req).await, TestStateError::Validation(_)));
}

#[tokio::test]
async fn the_context_object_is_the_given_one_and_a_lone_state_is_named_state_name() {
    let task = json!({"Type": "Task", "Resource": "arn:aws:states:::lambda:invoke",
        "ResultSelector": {"name.$": "$$.State.Name", "execution.$": "$$.Execution.Name"}, "End": true});
    let mut req = request(task, json!({}));
    req.mock = Some(TestMock::Result(json!({})));
    req.context = Some(json!({"Execution": {"Name": "given"}}));
    assert_eq!(run(req).await.output, Some(json!({"name": "StateName", "execution": "given"})));
}
