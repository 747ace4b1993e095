//! `provisioner test-state STATE`: one state of the service's workflow run through Step
//! Functions' TestState API wherever the AWS configuration points (AWS itself, or the local
//! cloud), with an input, a mocked result or error, and an inspection level; prints the status,
//! the next state, the output or error, and the data after each processing step. The definition is
//! the deployed stack's state machine when the stack exists (its real ARNs), else the service's
//! description with placeholder ARNs (a Task then needs a mock). Exits 0 when the state succeeded
//! or its error was caught, 1 when it failed or would be retried.

use anyhow::{Context, bail};
use aws_sdk_sfn::types::{
    InspectionLevel, MockErrorOutput, MockInput, MockResponseValidationMode, TestExecutionStatus,
};
use clap::Args;
use serde_json::{Value, json};

use crate::caller::Caller;
use crate::cmd::run::read_input;
use crate::stack::args::StackArgs;

#[derive(Debug, Args)]
pub struct TestStateArgs {
    /// The state to test, by name (inside a Map or Parallel too).
    pub state: String,
    #[command(flatten)]
    pub stack: StackArgs,
    /// The state's input: JSON, or @FILE.
    #[arg(long, value_name = "JSON|@FILE", default_value = "{}")]
    pub input: String,
    /// The mocked result of a Task, Map or Parallel state: JSON, or @FILE.
    #[arg(long, value_name = "JSON|@FILE", conflicts_with = "mock_error")]
    pub mock: Option<String>,
    /// A mocked error instead of a result (with --mock-cause).
    #[arg(long, value_name = "ERROR")]
    pub mock_error: Option<String>,
    #[arg(long, value_name = "CAUSE", requires = "mock_error")]
    pub mock_cause: Option<String>,
    /// How strictly the mocked result must fit the service's API: STRICT, PRESENT or NONE.
    #[arg(long, value_name = "MODE", default_value = "STRICT")]
    pub field_validation_mode: String,
    /// INFO (the outcome), DEBUG (and the data after each step) or TRACE.
    #[arg(long, value_name = "LEVEL", default_value = "DEBUG")]
    pub inspection_level: String,
    /// Retries of the matching retrier already made (stateConfiguration.retrierRetryCount).
    #[arg(long, value_name = "N")]
    pub retry_count: Option<i32>,
    /// The raw TestState answer as JSON on stdout.
    #[arg(long)]
    pub json: bool,
}

pub async fn run(args: TestStateArgs) -> anyhow::Result<()> {
    let input = read_input(&args.input)?;
    let level = match args.inspection_level.to_ascii_uppercase().as_str() {
        "INFO" => InspectionLevel::Info,
        "DEBUG" => InspectionLevel::Debug,
        "TRACE" => InspectionLevel::Trace,
        other => bail!("--inspection-level {other:?} is not one of INFO, DEBUG, TRACE"),
    };
    let mode = match args.field_validation_mode.to_ascii_uppercase().as_str() {
        "STRICT" => MockResponseValidationMode::Strict,
        "PRESENT" => MockResponseValidationMode::Present,
        "NONE" => MockResponseValidationMode::None,
        other => bail!("--field-validation-mode {other:?} is not one of STRICT, PRESENT, NONE"),
    };
    let mock = match (&args.mock, &args.mock_error) {
        (Some(result), _) => {
            let result = read_input(result).context("--mock must be the mocked result as JSON")?;
            Some(MockInput::builder().result(result).field_validation_mode(mode).build())
        }
        (None, Some(error)) => Some(
            MockInput::builder()
                .error_output(MockErrorOutput::builder().error(error).set_cause(args.mock_cause.clone()).build())
                .build(),
        ),
        (None, None) => None,
    };
    let stack_name = args.stack.name_or(service::SERVICE_NAME);
    let caller = Caller::load().await?;
    let definition = definition(&caller, &stack_name).await?;
    let sfn = crate::host_prefix::sfn_client(&caller.config);
    let configuration =
        args.retry_count.map(|n| aws_sdk_sfn::types::TestStateConfiguration::builder().retrier_retry_count(n).build());
    let answer = sfn
        .test_state()
        .definition(&definition)
        .state_name(&args.state)
        .input(input)
        .inspection_level(level)
        .set_mock(mock)
        .set_state_configuration(configuration)
        .send()
        .await
        .map_err(|e| anyhow::anyhow!(crate::aws::explain(&format!("TestState of state {:?}", args.state), &e)))?;
    let status = answer.status().map(|s| s.as_str().to_owned()).unwrap_or_default();
    let parse = |text: Option<&str>| text.map(|t| serde_json::from_str::<Value>(t).unwrap_or(json!(t)));
    let inspection = answer.inspection_data().map(|i| {
        let mut steps = serde_json::Map::new();
        for (key, value) in [
            ("input", i.input()),
            ("afterArguments", i.after_arguments()),
            ("afterInputPath", i.after_input_path()),
            ("afterParameters", i.after_parameters()),
            ("result", i.result()),
            ("afterResultSelector", i.after_result_selector()),
            ("afterResultPath", i.after_result_path()),
            ("afterItemsPath", i.after_items_path()),
            ("variables", i.variables()),
        ] {
            if let Some(value) = parse(value) {
                steps.insert(key.into(), value);
            }
        }
        if let Some(d) = i.error_details() {
            steps.insert(
                "errorDetails".into(),
                json!({"retryIndex": d.retry_index(), "retryBackoffIntervalSeconds": d.retry_backoff_interval_seconds(), "catchIndex": d.catch_index()}),
            );
        }
        steps
    });
    if args.json {
        let mut out = json!({"status": status, "nextState": answer.next_state(), "output": parse(answer.output()),
            "error": answer.error(), "cause": answer.cause()});
        if let Some(steps) = &inspection {
            out["inspectionData"] = Value::Object(steps.clone());
        }
        println!("{}", serde_json::to_string(&out)?);
    } else {
        eprintln!("state {:?} of stack {stack_name} in {caller}: {status}", args.state);
        for (key, value) in inspection.iter().flatten() {
            eprintln!("  {key:<20} {value}");
        }
        if let Some(next) = answer.next_state() {
            eprintln!("next state: {next}");
        }
        if let Some(error) = answer.error() {
            eprintln!("error: {error}: {}", answer.cause().unwrap_or_default());
        }
        if let Some(output) = answer.output() {
            println!("{output}");
        }
    }
    match answer.status() {
        Some(TestExecutionStatus::Succeeded | TestExecutionStatus::CaughtError) => Ok(()),
        _ => bail!("the state {:?} ended {status}", args.state),
    }
}

/// The deployed stack's state machine definition, or the service's own with placeholder ARNs.
async fn definition(caller: &Caller, stack_name: &str) -> anyhow::Result<String> {
    let cf = aws_sdk_cloudformation::Client::new(&caller.config);
    let deployed = crate::stack::describe::stack(&cf, stack_name).await?;
    if let Some(machine) = deployed.as_ref().and_then(|s| s.outputs.get("StateMachineArn")) {
        let sfn = crate::host_prefix::sfn_client(&caller.config);
        let described = sfn
            .describe_state_machine()
            .state_machine_arn(machine)
            .send()
            .await
            .map_err(|e| anyhow::anyhow!(crate::aws::explain(&format!("DescribeStateMachine of {machine}"), &e)))?;
        return Ok(described.definition().to_owned());
    }
    eprintln!(
        "the stack {stack_name} is not deployed in {caller}: testing the service's own workflow with placeholder ARNs \
         (give a Task state --mock)"
    );
    let account = "123456789012";
    let region = caller.config.region().map(|r| r.to_string()).unwrap_or_else(|| "us-east-1".into());
    let resources = model::service::WorkflowResources {
        service_name: service::SERVICE_NAME.into(),
        partition: "aws".into(),
        cluster: format!("arn:aws:ecs:{region}:{account}:cluster/{}", service::SERVICE_NAME),
        task_definition: format!("arn:aws:ecs:{region}:{account}:task-definition/{}:1", service::SERVICE_NAME),
        container_name: service::SERVICE_NAME.into(),
        subnets: vec!["subnet-00000000".into()],
        security_groups: vec!["sg-00000000".into()],
        topic_arn: format!("arn:aws:sns:{region}:{account}:{}", service::SERVICE_NAME),
    };
    let description = service::description::describe().context("the service's description is not valid")?;
    Ok(description.workflow(&resources).to_json())
}
