//! TestState through the local cloud's API, as the Rust SDK calls it (with the `sync-` host prefix
//! taken off, as `AWS_DISABLE_HOST_PREFIX_INJECTION=true` asks), and `provisioner test-state`:
//! each inspection level, mocks in each validation mode (a STRICT one that does not fit ECS's
//! shape gets AWS's error), a state inside a Map, a caught error, a retry in both query languages,
//! and AWS's errors for a definition that does not validate, a state that does not exist and a
//! mock that is not JSON.

use aws_sdk_sfn::types::{
    InspectionLevel, MockErrorOutput, MockInput, MockResponseValidationMode, TestExecutionStatus,
    TestStateConfiguration,
};
use integration_tests::LocalCloud;
use integration_tests::cli::Provisioner;
use serde_json::{Value, json};

fn parsed(text: Option<&str>) -> Value {
    serde_json::from_str(text.expect("a JSON string")).expect("JSON")
}

fn code<E: aws_sdk_sfn::error::ProvideErrorMetadata>(e: &aws_sdk_sfn::error::SdkError<E>) -> (String, String) {
    let err = e.as_service_error().expect("a service error");
    (err.code().unwrap_or_default().to_owned(), err.message().unwrap_or_default().to_owned())
}

#[tokio::test]
async fn test_state_answers_as_aws_does_through_the_sdk_and_the_provisioner() {
    let cloud = LocalCloud::start().await;
    if !cloud.is_own_moto() {
        eprintln!("skipped: TestState runs only on our own local cloud; this run points at another endpoint");
        return;
    }
    let sfn = provisioner::host_prefix::sfn_client_with(cloud.sdk_config(), true);

    // Each level: INFO has no inspection data, DEBUG and TRACE show each step.
    let pass =
        json!({"Type": "Pass", "InputPath": "$.a", "Parameters": {"b.$": "$.b"}, "ResultPath": "$.out", "Next": "N"});
    for level in [InspectionLevel::Info, InspectionLevel::Debug, InspectionLevel::Trace] {
        let answer = sfn
            .test_state()
            .definition(pass.to_string())
            .input(r#"{"a": {"b": 1}}"#)
            .inspection_level(level.clone())
            .send()
            .await
            .unwrap();
        assert_eq!(answer.status(), Some(&TestExecutionStatus::Succeeded));
        assert_eq!(answer.next_state(), Some("N"));
        assert_eq!(parsed(answer.output()), json!({"a": {"b": 1}, "out": {"b": 1}}));
        match level {
            InspectionLevel::Info => assert!(answer.inspection_data().is_none(), "{answer:?}"),
            _ => {
                let data = answer.inspection_data().expect("inspection data");
                assert_eq!(parsed(data.after_input_path()), json!({"b": 1}));
                assert_eq!(parsed(data.after_parameters()), json!({"b": 1}));
                assert_eq!(parsed(data.after_result_path()), json!({"a": {"b": 1}, "out": {"b": 1}}));
            }
        }
    }

    // Mocks against ECS's shape: STRICT refuses a field of the wrong type with AWS's words,
    // PRESENT skips missing required fields, NONE checks nothing.
    let sync = json!({"Type": "Task", "Resource": "arn:aws:states:::ecs:runTask.sync", "End": true});
    let mocked = |result: &str, mode: MockResponseValidationMode| {
        sfn.test_state()
            .definition(sync.to_string())
            .mock(MockInput::builder().result(result).field_validation_mode(mode).build())
            .send()
    };
    let err = mocked(r#"{"Containers": "none"}"#, MockResponseValidationMode::Strict).await.unwrap_err();
    assert_eq!(
        code(&err),
        (
            "ValidationException".into(),
            "Mock result schema validation error: Field 'Containers' must be an array".into()
        )
    );
    let fits =
        mocked(r#"{"TaskArn": "arn:t", "StopCode": "EssentialContainerExited"}"#, MockResponseValidationMode::Present)
            .await
            .unwrap();
    assert_eq!(parsed(fits.output())["StopCode"], "EssentialContainerExited");
    assert!(mocked(r#"{"Containers": "none"}"#, MockResponseValidationMode::None).await.is_ok());
    let err = mocked("{not json", MockResponseValidationMode::None).await.unwrap_err();
    assert_eq!(code(&err).0, "ValidationException");

    // A state inside a Map, by stateName; an error caught; a retry in both languages.
    for language in ["JSONPath", "JSONata"] {
        let machine = json!({"QueryLanguage": language, "StartAt": "Each", "States": {"Each": {"Type": "Map", "End": true,
            "ItemProcessor": {"StartAt": "Call", "States": {"Call": {"Type": "Task", "Resource": "arn:aws:states:::lambda:invoke",
                "Retry": [{"ErrorEquals": ["Busy"], "MaxAttempts": 1}],
                "Catch": [{"ErrorEquals": ["States.ALL"], "Next": "Handle"}], "End": true},
                "Handle": {"Type": "Succeed"}}}}}});
        let with_error = |error: &str, retries: i32| {
            sfn.test_state()
                .definition(machine.to_string())
                .state_name("Call")
                .inspection_level(InspectionLevel::Debug)
                .mock(
                    MockInput::builder()
                        .error_output(MockErrorOutput::builder().error(error).cause("c").build())
                        .build(),
                )
                .state_configuration(TestStateConfiguration::builder().retrier_retry_count(retries).build())
                .send()
        };
        let retriable = with_error("Busy", 0).await.unwrap();
        assert_eq!(retriable.status(), Some(&TestExecutionStatus::Retriable), "{language}");
        let details = retriable.inspection_data().and_then(|d| d.error_details()).expect("errorDetails");
        assert_eq!((details.retry_index(), details.retry_backoff_interval_seconds()), (Some(0), Some(1)));
        let caught = with_error("Busy", 1).await.unwrap();
        assert_eq!(caught.status(), Some(&TestExecutionStatus::CaughtError), "{language}");
        assert_eq!((caught.next_state(), caught.error()), (Some("Handle"), Some("Busy")));
        assert_eq!(parsed(caught.output()), json!({"Error": "Busy", "Cause": "c"}));
    }

    // AWS's errors: a definition that does not validate, a state that is not there.
    let err = sfn.test_state().definition(r#"{"Type": "Pass", "Next": 3}"#).send().await.unwrap_err();
    assert_eq!(code(&err).0, "InvalidDefinition");
    let err = sfn
        .test_state()
        .definition(json!({"StartAt": "A", "States": {"A": {"Type": "Pass", "End": true}}}).to_string())
        .state_name("B")
        .send()
        .await
        .unwrap_err();
    assert_eq!(code(&err), ("ValidationException".into(), "State not found in definition".into()));

    // The AWS CLI, with the setting `.localcloud/env` exports: TestState reaches the endpoint itself.
    if let Ok(version) = std::process::Command::new("aws").arg("--version").output() {
        assert!(version.status.success());
        let output = std::process::Command::new("aws")
            .args(["stepfunctions", "test-state", "--output", "json", "--inspection-level", "DEBUG"])
            .args(["--definition", r#"{"Type": "Pass", "Result": {"cli": true}, "End": true}"#])
            .args(["--endpoint-url", cloud.endpoint_url().unwrap()])
            .env("AWS_ACCESS_KEY_ID", "test")
            .env("AWS_SECRET_ACCESS_KEY", "test")
            .env("AWS_DEFAULT_REGION", "us-east-1")
            .env("AWS_DISABLE_HOST_PREFIX_INJECTION", "true")
            .output()
            .unwrap();
        assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
        let answer: Value = serde_json::from_slice(&output.stdout).unwrap();
        assert_eq!(answer["status"], "SUCCEEDED", "{answer}");
        assert_eq!(parsed(answer["output"].as_str()), json!({"cli": true}));
    } else {
        eprintln!("the AWS CLI is not installed: its part of this test is skipped");
    }

    // `provisioner test-state` on the service's own workflow (not deployed: placeholder ARNs), its
    // RunTask state's result mocked as the task reports it with its token.
    let cli = Provisioner::for_cloud(&cloud).with_env("AWS_DISABLE_HOST_PREFIX_INJECTION", "true");
    let reported = r#"{"greeting": "Hello, Ada!", "words": 0}"#;
    let out = cli.run(&["test-state", "RunTask", "--input", r#"{"name":"Ada"}"#, "--mock", reported, "--json"]).await;
    out.assert_success("provisioner test-state RunTask");
    let answer = out.json();
    assert_eq!(answer["status"], "SUCCEEDED", "{answer}");
    assert_eq!(answer["nextState"], "NotifySuccess", "{answer}");
    assert_eq!(answer["output"], json!({"name": "Ada", "result": {"greeting": "Hello, Ada!", "words": 0}}), "{answer}");
    assert_eq!(
        answer["inspectionData"]["afterArguments"]["Overrides"]["ContainerOverrides"][0]["Environment"][0]["Value"],
        r#"{"name":"Ada"}"#,
        "{answer}"
    );
    let failed =
        cli.run(&["test-state", "RunTask", "--mock-error", "TaskFailed", "--mock-cause", "failed on purpose"]).await;
    assert!(failed.success(), "a caught error exits 0: {}", failed.stderr);
    assert!(
        failed.stderr.contains("CAUGHT_ERROR") && failed.stderr.contains("next state: NotifyFailure"),
        "{}",
        failed.stderr
    );
}
