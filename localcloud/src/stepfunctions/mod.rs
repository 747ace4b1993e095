//! Step Functions executions, served by the gateway (moto's stay RUNNING forever): StartExecution,
//! StartSyncExecution, DescribeExecution, ListExecutions, GetExecutionHistory, StopExecution and
//! DescribeStateMachineForExecution, in AWS JSON 1.0 with AWS's shapes and error codes. State
//! machines stay moto's: a definition is read from moto when an execution starts (so machines
//! made by CloudFormation run too), and Create/UpdateStateMachine are checked with
//! `model::states` before they are forwarded.
//!
//! `store` keeps the executions (and persists them), `integrations` is what Task states call,
//! `mock_config` Step Functions Local's mock configuration file (`SFN_MOCK_CONFIG`, test cases
//! started as `stateMachineArn#TestCase`).
//! Durations in definitions run at `LOCALCLOUD_SFN_TIME_SCALE` (read at gateway start; 1 is real
//! time, 0.01 makes a 60-second Wait take 0.6 s), for tests.

pub mod integrations;
pub mod mock_config;
pub mod mock_schema;
pub mod store;

use std::sync::Arc;

use bytes::Bytes;
use hyper::StatusCode;
use model::states::StateMachine;
use serde::Deserialize;
use serde::de::DeserializeOwned;
use serde_json::{Value, json};
use states_interpreter::test_state::{TestConfiguration, TestMock, TestState, TestStateError};
use states_interpreter::{
    Callback, Execution, ExecutionContext, Integrations, MAX_PAYLOAD_BYTES, Outcome, RandomSource, SystemClock,
    TaskTokens, TimeScale,
};

use crate::awsjson::{self, AwsError, CONTENT_TYPE_1_0};
use crate::upstream::Upstream;
use store::{Inserted, RUNNING, Record, Store, Summary};

/// The Step Functions operations the gateway serves (the rest of the API is moto's).
pub const SERVED_OPERATIONS: &[&str] = &[
    "StartExecution",
    "StartSyncExecution",
    "DescribeExecution",
    "ListExecutions",
    "GetExecutionHistory",
    "StopExecution",
    "DescribeStateMachineForExecution",
    "CreateStateMachine",
    "UpdateStateMachine",
    "SendTaskSuccess",
    "SendTaskFailure",
    "SendTaskHeartbeat",
    "TestState",
];

/// The operations whose request is checked here and then forwarded to moto unchanged.
pub const CHECKED_THEN_FORWARDED: &[&str] = &["CreateStateMachine", "UpdateStateMachine"];

/// The variable that scales every duration of a definition (Wait, Retry, TimeoutSeconds).
pub const TIME_SCALE_ENV: &str = "LOCALCLOUD_SFN_TIME_SCALE";

const TARGET: &str = "AWSStepFunctions";

/// The account TestState's made-up execution runs in: moto's default, as every other ARN here.
const TEST_STATE_ACCOUNT: &str = "123456789012";

#[derive(Debug, thiserror::Error)]
#[error("{TIME_SCALE_ENV}={value:?} is not a number of 0 or more; unset it for real time, or use e.g. 0.01")]
pub struct TimeScaleError {
    pub value: String,
}

/// The time scale `LOCALCLOUD_SFN_TIME_SCALE` asks for (real time when unset).
pub fn time_scale_from_env() -> Result<TimeScale, TimeScaleError> {
    parse_time_scale(std::env::var(TIME_SCALE_ENV).ok().as_deref())
}

fn parse_time_scale(value: Option<&str>) -> Result<TimeScale, TimeScaleError> {
    match value {
        None => Ok(TimeScale::REAL),
        Some(value) => match value.trim().parse::<f64>() {
            Ok(factor) if factor >= 0.0 && factor.is_finite() => Ok(TimeScale::new(factor)),
            _ => Err(TimeScaleError { value: value.to_owned() }),
        },
    }
}

/// Step Functions' error answers (HTTP 400, `__type` the exception name).
fn error(code: &str, message: impl Into<String>) -> AwsError {
    AwsError::new(StatusCode::BAD_REQUEST, code, message)
}

/// The gateway's Step Functions. Cheap to clone.
#[derive(Clone)]
pub struct StepFunctions {
    upstream: Upstream,
    store: Store,
    integrations: Arc<dyn Integrations>,
    time_scale: TimeScale,
    /// Where every execution's callback tasks (`.waitForTaskToken`) wait for their token.
    tokens: Arc<TaskTokens>,
    /// The mock configuration file (`SFN_MOCK_CONFIG`), when the gateway was given one.
    mocks: Option<Arc<mock_config::MockConfig>>,
}

impl StepFunctions {
    pub fn new(upstream: Upstream, store: Store, integrations: Arc<dyn Integrations>, time_scale: TimeScale) -> Self {
        Self { upstream, store, integrations, time_scale, tokens: Arc::new(TaskTokens::new()), mocks: None }
    }

    /// Executions started as `stateMachineArn#TestCase` run that test case of `mocks`.
    pub fn with_mock_config(mut self, mocks: Option<mock_config::MockConfig>) -> Self {
        self.mocks = mocks.map(Arc::new);
        self
    }

    pub fn store(&self) -> &Store {
        &self.store
    }

    /// SendTaskSuccess, SendTaskFailure, SendTaskHeartbeat: `callback` to the task waiting with
    /// `token`; an empty answer, as AWS's.
    fn callback(&self, token: &str, callback: Callback) -> Result<Value, AwsError> {
        self.tokens.send(token, callback).map_err(|e| error(e.code(), e.to_string()))?;
        Ok(json!({}))
    }

    /// Serves `operation` (one of [`SERVED_OPERATIONS`] but the checked ones) for a caller in `region`.
    pub async fn handle(&self, operation: &str, region: &str, body: &Bytes) -> hyper::Response<Bytes> {
        match self.answer(operation, region, body).await {
            Ok(value) => awsjson::json_response_as(CONTENT_TYPE_1_0, StatusCode::OK, &value),
            Err(err) => {
                tracing::info!(operation, "Step Functions error: {err}");
                err.to_response_as(CONTENT_TYPE_1_0)
            }
        }
    }

    async fn answer(&self, operation: &str, region: &str, body: &Bytes) -> Result<Value, AwsError> {
        match operation {
            "StartExecution" => self.start(region, parse(operation, body)?, false).await,
            "StartSyncExecution" => self.start(region, parse(operation, body)?, true).await,
            "DescribeExecution" => {
                let request: ExecutionRequest = parse(operation, body)?;
                check_arn(&request.execution_arn, &["execution", "express"])?;
                let record = self
                    .store
                    .get_without_events(&request.execution_arn)
                    .map_err(AwsError::server)?
                    .ok_or_else(|| does_not_exist(&request.execution_arn))?;
                Ok(describe(&record))
            }
            "ListExecutions" => self.list(region, parse(operation, body)?).await,
            "GetExecutionHistory" => {
                let request: HistoryRequest = parse(operation, body)?;
                let record = self.execution(&request.execution_arn)?;
                history(record, &request)
            }
            "SendTaskSuccess" => {
                let request: TaskSuccessRequest = parse(operation, body)?;
                // The output is JSON of at most 256 KiB (API_SendTaskSuccess: InvalidOutput).
                let output: Value = serde_json::from_str(&request.output).map_err(|e| {
                    error(
                        "InvalidOutput",
                        format!("The output is not valid JSON: {e}: {:?}", truncate(&request.output)),
                    )
                })?;
                if request.output.len() > MAX_PAYLOAD_BYTES {
                    return Err(error(
                        "InvalidOutput",
                        format!(
                            "The output is {} bytes, over the limit of {} bytes (256 KiB)",
                            request.output.len(),
                            MAX_PAYLOAD_BYTES
                        ),
                    ));
                }
                self.callback(&request.task_token, Callback::Success(output))
            }
            "SendTaskFailure" => {
                let request: TaskFailureRequest = parse(operation, body)?;
                self.callback(&request.task_token, Callback::Failure { error: request.error, cause: request.cause })
            }
            "SendTaskHeartbeat" => {
                let request: TaskTokenRequest = parse(operation, body)?;
                self.callback(&request.task_token, Callback::Heartbeat)
            }
            "StopExecution" => {
                let request: StopRequest = parse(operation, body)?;
                // Whether it exists, without copying a running execution's history.
                check_arn(&request.execution_arn, &["execution", "express"])?;
                self.store.summary(&request.execution_arn).ok_or_else(|| does_not_exist(&request.execution_arn))?;
                let record = self
                    .store
                    .stop(&request.execution_arn, request.error, request.cause)
                    .await
                    .ok_or_else(|| does_not_exist(&request.execution_arn))?;
                Ok(json!({ "stopDate": record.stop_date.unwrap_or_else(crate::fargate::now) }))
            }
            "DescribeStateMachineForExecution" => {
                let request: ExecutionRequest = parse(operation, body)?;
                let record = self.execution(&request.execution_arn)?;
                Ok(json!({
                    "stateMachineArn": record.summary.state_machine_arn,
                    "name": record.summary.state_machine_arn.rsplit(':').next().unwrap_or_default(),
                    "definition": record.definition,
                    "roleArn": record.role_arn,
                    "updateDate": record.summary.start_date,
                }))
            }
            "TestState" => self.test_state(region, parse(operation, body)?).await,
            other => Err(error("UnknownOperationException", format!("Unknown operation {TARGET}.{other}"))),
        }
    }

    /// TestState (API_TestState): one state run once on its input, a Task without a mock calling
    /// the local services as an execution's would.
    async fn test_state(&self, region: &str, request: TestStateRequest) -> Result<Value, AwsError> {
        let level = request.inspection_level.as_deref().unwrap_or("INFO");
        if !["INFO", "DEBUG", "TRACE"].contains(&level) {
            return Err(error(
                "ValidationException",
                format!(
                    "1 validation error detected: Value '{level}' at 'inspectionLevel' failed to satisfy constraint: Member must satisfy enum value set: [INFO, DEBUG, TRACE]"
                ),
            ));
        }
        let input = check_input(request.input.as_deref().unwrap_or("{}"))?;
        let json_object = |field: &str, text: &Option<String>| -> Result<serde_json::Map<String, Value>, AwsError> {
            match text.as_deref() {
                None => Ok(serde_json::Map::new()),
                Some(text) => match serde_json::from_str(text) {
                    Ok(Value::Object(map)) => Ok(map),
                    Ok(other) => {
                        Err(error("ValidationException", format!("{field} must be a JSON object, not {other}")))
                    }
                    Err(e) => Err(error("ValidationException", format!("{field} is not valid JSON: {e}"))),
                },
            }
        };
        let variables = json_object("variables", &request.variables)?;
        let context = match &request.context {
            Some(_) => Some(Value::Object(json_object("context", &request.context)?)),
            None => None,
        };
        let mock = match request.mock {
            None => None,
            Some(mock) => {
                if request.reveal_secrets == Some(true) {
                    return Err(error(
                        "ValidationException",
                        "TestState does not support RevealSecrets when a mock is specified.",
                    ));
                }
                let mode = mock_schema::FieldValidationMode::from_api(mock.field_validation_mode.as_deref())
                    .map_err(|e| error("ValidationException", e.to_string()))?;
                match (mock.result, mock.error_output) {
                    (Some(_), Some(_)) => {
                        return Err(error(
                            "ValidationException",
                            "A test mock should have only one of the following fields: [result, errorOutput].",
                        ));
                    }
                    (Some(result), None) => {
                        let value: Value = serde_json::from_str(&result).map_err(|e| {
                            error(
                                "ValidationException",
                                format!("The mocked result is not valid JSON: {e}: {:?}", truncate(&result)),
                            )
                        })?;
                        Some((TestMock::Result(value), mode))
                    }
                    (None, Some(output)) => Some((
                        TestMock::Error {
                            error: output.error.unwrap_or_default(),
                            cause: output.cause.unwrap_or_default(),
                        },
                        mode,
                    )),
                    (None, None) => {
                        return Err(error(
                            "ValidationException",
                            "A test mock should have one of the following fields: [result, errorOutput].",
                        ));
                    }
                }
            }
        };
        let configuration = request.state_configuration.unwrap_or_default();
        let execution =
            states_interpreter::test_state::test_execution(region, TEST_STATE_ACCOUNT, request.role_arn.as_deref());
        let mode = mock.as_ref().map(|(_, mode)| *mode);
        let test = TestState {
            definition: request.definition,
            state_name: request.state_name,
            input,
            variables,
            context,
            mock: mock.map(|(mock, _)| mock),
            configuration: TestConfiguration {
                retrier_retry_count: configuration.retrier_retry_count.unwrap_or(0),
                error_caused_by_state: configuration.error_caused_by_state,
                map_iteration_failure_count: configuration.map_iteration_failure_count,
            },
            execution,
            check_mock: mode.map(|mode| -> states_interpreter::test_state::MockCheck {
                Arc::new(move |resource: &str, result: &Value| mock_schema::validate(resource, result, mode))
            }),
        };
        let answer =
            states_interpreter::test_state::test_state(test, self.integrations.clone()).await.map_err(|e| match e {
                TestStateError::InvalidDefinition(message) => error("InvalidDefinition", message),
                TestStateError::Validation(message) => error("ValidationException", message),
            })?;
        Ok(answer.to_api(level))
    }

    fn execution(&self, arn: &str) -> Result<Record, AwsError> {
        check_arn(arn, &["execution", "express"])?;
        self.store.get(arn).map_err(AwsError::server)?.ok_or_else(|| does_not_exist(arn))
    }

    async fn start(&self, region: &str, mut request: StartRequest, sync: bool) -> Result<Value, AwsError> {
        let test_case = mock_config::take_test_case(&mut request.state_machine_arn);
        check_arn(&request.state_machine_arn, &["stateMachine"])?;
        let name = match request.name {
            Some(name) => {
                check_name(&name)?;
                name
            }
            None => uuid::Uuid::new_v4().to_string(),
        };
        let input_text = request.input.unwrap_or_else(|| "{}".to_owned());
        let input = check_input(&input_text)?;
        let machine = self
            .upstream
            .call_json(
                &format!("{TARGET}.DescribeStateMachine"),
                region_of(&request.state_machine_arn).unwrap_or(region),
                &json!({"stateMachineArn": request.state_machine_arn}),
            )
            .await?;
        let machine_arn = machine["stateMachineArn"].as_str().unwrap_or(&request.state_machine_arn).to_owned();
        let definition = machine["definition"].as_str().unwrap_or_default().to_owned();
        let role_arn = machine["roleArn"].as_str().unwrap_or_default().to_owned();
        let express = machine["type"].as_str() == Some("EXPRESS");
        if sync && !express {
            return Err(error(
                "StateMachineTypeNotSupported",
                format!("StartSyncExecution runs EXPRESS state machines only; {machine_arn} is STANDARD"),
            ));
        }
        let mut context = ExecutionContext::new(&machine_arn, &name, &role_arn);
        if express {
            context = context.express();
        }
        let arn = context.execution_arn.clone();
        let start_date = crate::fargate::now();
        let parsed = StateMachine::from_json(&definition);
        let integrations = mock_config::integrations_for(
            self.mocks.as_deref(),
            test_case.as_deref(),
            machine_arn.rsplit(':').next().unwrap_or_default(),
            parsed.as_ref().ok(),
            self.integrations.clone(),
            self.tokens.clone(),
        )?;
        let mut execution = parsed.as_ref().ok().map(|machine| {
            Execution::new(machine.clone(), input.clone(), context.clone(), integrations.clone())
                .with_clock(Arc::new(SystemClock))
                .with_random(RandomSource::from_os())
                .with_time_scale(self.time_scale)
                .with_events(self.store.events_of(&arn))
                // AWS fails a standard execution at 25,000 events; an express one has no such
                // quota (it runs at most five minutes there instead).
                .with_history_limit((!express).then_some(states_interpreter::MAX_HISTORY_EVENTS))
                .with_task_tokens(self.tokens.clone())
        });
        let stop = execution.as_ref().map(Execution::stop_handle).unwrap_or_default();
        let record = Record {
            summary: Summary {
                execution_arn: arn.clone(),
                state_machine_arn: machine_arn.clone(),
                name: name.clone(),
                status: RUNNING.to_owned(),
                start_date,
                stop_date: None,
            },
            input: input_text.clone(),
            output: None,
            error: None,
            cause: None,
            definition,
            role_arn,
            events: Vec::new(),
        };
        match self.store.insert(record, stop) {
            Inserted::New => {}
            // As for STANDARD machines on AWS: the same request again is the same execution.
            Inserted::Running(existing) if same_input(&existing.input, &input) && !sync => {
                return Ok(
                    json!({"executionArn": existing.summary.execution_arn, "startDate": existing.summary.start_date}),
                );
            }
            Inserted::Running(_) | Inserted::Finished => {
                return Err(error("ExecutionAlreadyExists", format!("Execution Already Exists: '{arn}'")));
            }
        }
        tracing::info!(execution = %arn, "execution started");
        let run = {
            let store = self.store.clone();
            let arn = arn.clone();
            let execution = execution.take();
            let parse_error = parsed.err().map(|e| e.to_string());
            async move {
                let outcome = match (execution, parse_error) {
                    (Some(execution), _) => execution.run().await,
                    (None, problem) => Outcome::Failed {
                        error: states_interpreter::names::RUNTIME.to_owned(),
                        cause: format!(
                            "the state machine's definition cannot be read: {}",
                            problem.unwrap_or_default()
                        ),
                    },
                };
                tracing::info!(execution = %arn, status = outcome.status(), "execution ended");
                store.finish(&arn, &outcome)
            }
        };
        if !sync {
            tokio::spawn(run);
            return Ok(json!({"executionArn": arn, "startDate": start_date}));
        }
        // The run goes on in its own task even if the caller hangs up.
        let record = tokio::spawn(run)
            .await
            .ok()
            .flatten()
            .ok_or_else(|| AwsError::server(format!("the execution {arn} ended without a record")))?;
        let mut answer = describe(&record);
        answer["billingDetails"] = json!({"billedMemoryUsedInMB": 64, "billedDurationInMilliseconds": 100});
        if let Some(object) = answer.as_object_mut() {
            object.remove("redriveCount");
            object.remove("redriveStatus");
        }
        Ok(answer)
    }

    async fn list(&self, region: &str, request: ListRequest) -> Result<Value, AwsError> {
        let Some(machine_arn) = request.state_machine_arn else {
            return Err(error(
                "InvalidArn",
                "ListExecutions needs a stateMachineArn (map runs are not served locally)",
            ));
        };
        check_arn(&machine_arn, &["stateMachine"])?;
        // An unknown machine is StateMachineDoesNotExist, as on AWS: moto says so.
        self.upstream
            .call_json(
                &format!("{TARGET}.DescribeStateMachine"),
                region_of(&machine_arn).unwrap_or(region),
                &json!({"stateMachineArn": machine_arn}),
            )
            .await?;
        if let Some(status) = request.status_filter.as_deref()
            && !["RUNNING", "SUCCEEDED", "FAILED", "TIMED_OUT", "ABORTED", "PENDING_REDRIVE"].contains(&status)
        {
            return Err(error("ValidationException", format!("statusFilter {status:?} is not an execution status")));
        }
        let executions: Vec<Value> = self
            .store
            .of_machine(&machine_arn)
            .iter()
            .filter(|r| request.status_filter.as_deref().is_none_or(|s| s == r.status))
            .map(|r| {
                let mut item = json!({
                    "executionArn": r.execution_arn, "stateMachineArn": r.state_machine_arn, "name": r.name,
                    "status": r.status, "startDate": r.start_date,
                });
                if let Some(stop) = r.stop_date {
                    item["stopDate"] = json!(stop);
                }
                item
            })
            .collect();
        let (page, next) = page(executions, request.max_results, request.next_token.as_deref())?;
        let mut answer = json!({ "executions": page });
        if let Some(next) = next {
            answer["nextToken"] = json!(next);
        }
        Ok(answer)
    }
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct StartRequest {
    state_machine_arn: String,
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    input: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct ExecutionRequest {
    execution_arn: String,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct TaskSuccessRequest {
    task_token: String,
    output: String,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct TaskFailureRequest {
    task_token: String,
    #[serde(default)]
    error: Option<String>,
    #[serde(default)]
    cause: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct TaskTokenRequest {
    task_token: String,
}

/// At most 200 characters of `text`, for an error message.
fn truncate(text: &str) -> String {
    text.chars().take(200).collect()
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct StopRequest {
    execution_arn: String,
    #[serde(default)]
    error: Option<String>,
    #[serde(default)]
    cause: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct ListRequest {
    #[serde(default)]
    state_machine_arn: Option<String>,
    #[serde(default)]
    status_filter: Option<String>,
    #[serde(default)]
    max_results: Option<i64>,
    #[serde(default)]
    next_token: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct HistoryRequest {
    execution_arn: String,
    #[serde(default)]
    max_results: Option<i64>,
    #[serde(default)]
    next_token: Option<String>,
    #[serde(default)]
    reverse_order: bool,
    #[serde(default)]
    include_execution_data: Option<bool>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct TestStateRequest {
    definition: String,
    #[serde(default)]
    role_arn: Option<String>,
    #[serde(default)]
    input: Option<String>,
    #[serde(default)]
    inspection_level: Option<String>,
    #[serde(default)]
    reveal_secrets: Option<bool>,
    #[serde(default)]
    variables: Option<String>,
    #[serde(default)]
    state_name: Option<String>,
    #[serde(default)]
    mock: Option<MockInput>,
    #[serde(default)]
    context: Option<String>,
    #[serde(default)]
    state_configuration: Option<StateConfiguration>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct MockInput {
    #[serde(default)]
    result: Option<String>,
    #[serde(default)]
    error_output: Option<MockErrorOutput>,
    #[serde(default)]
    field_validation_mode: Option<String>,
}

#[derive(Deserialize)]
struct MockErrorOutput {
    #[serde(default)]
    error: Option<String>,
    #[serde(default)]
    cause: Option<String>,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase")]
struct StateConfiguration {
    #[serde(default)]
    retrier_retry_count: Option<u64>,
    #[serde(default)]
    error_caused_by_state: Option<String>,
    #[serde(default)]
    map_iteration_failure_count: Option<u64>,
}

fn parse<T: DeserializeOwned>(operation: &str, body: &[u8]) -> Result<T, AwsError> {
    let body = if body.is_empty() { b"{}".as_slice() } else { body };
    serde_json::from_slice(body).map_err(|e| {
        if e.is_data() {
            error("ValidationException", format!("{operation}: {e}"))
        } else {
            AwsError::serialization(format!("{operation}: the request body is not JSON: {e}"))
        }
    })
}

fn does_not_exist(arn: &str) -> AwsError {
    error("ExecutionDoesNotExist", format!("Execution Does Not Exist: '{arn}'"))
}

/// `arn:<partition>:states:<region>:<account>:<kind>:<name>[:<execution>]` with `kind` one of
/// `kinds`; else InvalidArn, as Step Functions answers a malformed ARN.
fn check_arn(arn: &str, kinds: &[&str]) -> Result<(), AwsError> {
    let parts: Vec<&str> = arn.split(':').collect();
    let expected_len = if kinds.contains(&"stateMachine") { 7 } else { 8 };
    let valid = parts.len() == expected_len
        && parts[0] == "arn"
        && parts[1].starts_with("aws")
        && parts[2] == "states"
        && !parts[3].is_empty()
        && !parts[4].is_empty()
        && kinds.contains(&parts[5])
        && parts[6..].iter().all(|p| !p.is_empty());
    if valid { Ok(()) } else { Err(error("InvalidArn", format!("Invalid Arn: '{arn}'"))) }
}

fn region_of(arn: &str) -> Option<&str> {
    arn.split(':').nth(3).filter(|r| !r.is_empty())
}

/// An execution name: 1 to 80 characters, none of whitespace, brackets, wildcards, the
/// punctuation Step Functions reserves, or control characters.
fn check_name(name: &str) -> Result<(), AwsError> {
    const RESERVED: &str = "<>{}[]?*\"#%\\^|~`$&,;:/";
    let count = name.chars().count();
    let bad = name
        .chars()
        .find(|c| c.is_whitespace() || RESERVED.contains(*c) || c.is_control() || ('\u{7f}'..='\u{9f}').contains(c));
    match (count, bad) {
        (1..=80, None) => Ok(()),
        (1..=80, Some(c)) => Err(error("InvalidName", format!("Invalid Name: '{name}' (it may not contain {c:?})"))),
        _ => Err(error("InvalidName", format!("Invalid Name: '{name}' (1 to 80 characters; it has {count})"))),
    }
}

/// The input as JSON, or InvalidExecutionInput.
fn check_input(text: &str) -> Result<Value, AwsError> {
    if text.len() > MAX_PAYLOAD_BYTES {
        return Err(error(
            "InvalidExecutionInput",
            format!("The input is {} bytes; Step Functions accepts at most {MAX_PAYLOAD_BYTES} (256 KiB)", text.len()),
        ));
    }
    serde_json::from_str(text)
        .map_err(|e| error("InvalidExecutionInput", format!("Invalid State Machine Execution Input: '{e}'")))
}

fn same_input(recorded: &str, input: &Value) -> bool {
    serde_json::from_str::<Value>(recorded).is_ok_and(|r| &r == input)
}

/// DescribeExecution's answer.
fn describe(record: &Record) -> Value {
    let mut answer = json!({
        "executionArn": record.summary.execution_arn,
        "stateMachineArn": record.summary.state_machine_arn,
        "name": record.summary.name,
        "status": record.summary.status,
        "startDate": record.summary.start_date,
        "input": record.input,
        "inputDetails": {"included": true},
        "redriveCount": 0,
        "redriveStatus": "NOT_REDRIVABLE",
    });
    if let Some(stop) = record.summary.stop_date {
        answer["stopDate"] = json!(stop);
    }
    if let Some(output) = &record.output {
        answer["output"] = json!(output);
        answer["outputDetails"] = json!({"included": true});
    }
    for (key, value) in [("error", &record.error), ("cause", &record.cause)] {
        if let Some(value) = value {
            answer[key] = json!(value);
        }
    }
    answer
}

/// GetExecutionHistory's answer.
fn history(record: Record, request: &HistoryRequest) -> Result<Value, AwsError> {
    let mut events = record.events;
    if request.reverse_order {
        events.reverse();
    }
    if request.include_execution_data == Some(false) {
        for event in &mut events {
            for details in
                event.as_object_mut().into_iter().flat_map(|o| o.values_mut()).filter_map(Value::as_object_mut)
            {
                for key in ["input", "output", "inputDetails", "outputDetails"] {
                    details.remove(key);
                }
            }
        }
    }
    let (page, next) = page(events, request.max_results, request.next_token.as_deref())?;
    let mut answer = json!({ "events": page });
    if let Some(next) = next {
        answer["nextToken"] = json!(next);
    }
    Ok(answer)
}

/// One page of `items`: maxResults (0 or absent: 100; at most 1000) from the offset the token
/// names. The token is opaque to callers.
fn page(
    items: Vec<Value>,
    max_results: Option<i64>,
    token: Option<&str>,
) -> Result<(Vec<Value>, Option<String>), AwsError> {
    let size = match max_results.unwrap_or(0) {
        0 => 100,
        n @ 1..=1000 => n as usize,
        n => {
            return Err(error("ValidationException", format!("maxResults must be between 0 and 1000, got {n}")));
        }
    };
    let start = match token {
        None => 0,
        Some(token) => token
            .strip_prefix("local-")
            .and_then(|n| n.parse::<usize>().ok())
            .filter(|n| *n <= items.len())
            .ok_or_else(|| error("InvalidToken", format!("Invalid Token: '{token}'")))?,
    };
    let end = (start + size).min(items.len());
    let next = (end < items.len()).then(|| format!("local-{end}"));
    Ok((items[start..end].to_vec(), next))
}

/// CreateStateMachine and UpdateStateMachine: the definition (when the request has one) parsed
/// and validated with `model::states`, then its JSONata expressions parsed by the interpreter
/// (`CompiledMachine::problems`); InvalidDefinition with every problem otherwise.
pub fn check_definition(operation: &str, body: &[u8]) -> Result<(), AwsError> {
    let request: Value = serde_json::from_slice(if body.is_empty() { b"{}" } else { body })
        .map_err(|e| AwsError::serialization(format!("{operation}: the request body is not JSON: {e}")))?;
    let Some(definition) = request.get("definition") else {
        return Ok(());
    };
    let Some(definition) = definition.as_str() else {
        return Err(error("InvalidDefinition", "Invalid State Machine Definition: the definition must be a string"));
    };
    let machine = StateMachine::from_json(definition)
        .map_err(|e| error("InvalidDefinition", format!("Invalid State Machine Definition: '{e}'")))?;
    machine
        .validate()
        .map_err(|problems| error("InvalidDefinition", format!("Invalid State Machine Definition: '{problems}'")))?;
    let problems = states_interpreter::CompiledMachine::new(machine).problems();
    if problems.is_empty() {
        Ok(())
    } else {
        Err(error("InvalidDefinition", format!("Invalid State Machine Definition: '{}'", problems.join("; "))))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn arns_are_checked_for_their_kind() {
        assert!(check_arn("arn:aws:states:us-east-1:123456789012:stateMachine:M", &["stateMachine"]).is_ok());
        assert!(check_arn("arn:aws:states:us-east-1:123456789012:execution:M:run", &["execution", "express"]).is_ok());
        for bad in
            ["M", "arn:aws:states:us-east-1:123456789012:execution:M:run", "arn:aws:sns:us-east-1:1:stateMachine:M"]
        {
            let err = check_arn(bad, &["stateMachine"]).unwrap_err();
            assert_eq!((err.status.as_u16(), err.error_type.as_str()), (400, "InvalidArn"), "{bad}");
        }
        assert!(check_arn("arn:aws:states:us-east-1:123456789012:stateMachine:M", &["execution"]).is_err());
    }

    #[test]
    fn names_follow_step_functions_rules() {
        assert!(check_name("run-1_ok.2").is_ok());
        for bad in ["", "has space", "a:b", "a/b", "x{y", "tab\t", &"n".repeat(81)] {
            assert_eq!(check_name(bad).unwrap_err().error_type, "InvalidName", "{bad:?}");
        }
    }

    #[test]
    fn input_must_be_json_of_at_most_256_kib() {
        assert_eq!(check_input(r#"{"a":1}"#).unwrap(), json!({"a": 1}));
        assert_eq!(check_input("{not json").unwrap_err().error_type, "InvalidExecutionInput");
        let big = format!("\"{}\"", "x".repeat(MAX_PAYLOAD_BYTES));
        let err = check_input(&big).unwrap_err();
        assert_eq!(err.error_type, "InvalidExecutionInput");
        assert!(err.message.contains("262144"), "{err}");
    }

    #[test]
    fn pages_follow_max_results_and_tokens() {
        let items: Vec<Value> = (0..5).map(|i| json!(i)).collect();
        let (first, next) = page(items.clone(), Some(2), None).unwrap();
        assert_eq!((first, next.as_deref()), (vec![json!(0), json!(1)], Some("local-2")));
        let (last, next) = page(items.clone(), Some(3), Some("local-2")).unwrap();
        assert_eq!((last.len(), next), (3, None));
        assert_eq!(page(items.clone(), None, None).unwrap().0.len(), 5);
        assert_eq!(page(items.clone(), None, Some("bogus")).unwrap_err().error_type, "InvalidToken");
        assert_eq!(page(items, Some(1001), None).unwrap_err().error_type, "ValidationException");
    }

    fn record() -> Record {
        Record {
            summary: Summary {
                execution_arn: "arn:aws:states:us-east-1:123456789012:execution:M:r".into(),
                state_machine_arn: "arn:aws:states:us-east-1:123456789012:stateMachine:M".into(),
                name: "r".into(),
                status: "SUCCEEDED".into(),
                start_date: 10.5,
                stop_date: Some(11.0),
            },
            input: "{\"a\":1}".into(),
            output: Some("{\"b\":2}".into()),
            error: None,
            cause: None,
            definition: "{}".into(),
            role_arn: "arn:aws:iam::123456789012:role/R".into(),
            events: vec![
                json!({"id": 1, "type": "ExecutionStarted", "executionStartedEventDetails": {"input": "{}", "inputDetails": {"truncated": false}, "roleArn": "r"}}),
                json!({"id": 2, "type": "ExecutionSucceeded", "executionSucceededEventDetails": {"output": "{}", "outputDetails": {"truncated": false}}}),
            ],
        }
    }

    #[test]
    fn describe_execution_has_aws_shape() {
        assert_eq!(
            describe(&record()),
            json!({
                "executionArn": "arn:aws:states:us-east-1:123456789012:execution:M:r",
                "stateMachineArn": "arn:aws:states:us-east-1:123456789012:stateMachine:M",
                "name": "r", "status": "SUCCEEDED", "startDate": 10.5, "stopDate": 11.0,
                "input": "{\"a\":1}", "inputDetails": {"included": true},
                "output": "{\"b\":2}", "outputDetails": {"included": true},
                "redriveCount": 0, "redriveStatus": "NOT_REDRIVABLE"
            })
        );
    }

    #[test]
    fn history_reverses_and_leaves_out_execution_data_on_request() {
        let request = |reverse, include| HistoryRequest {
            execution_arn: String::new(),
            max_results: None,
            next_token: None,
            reverse_order: reverse,
            include_execution_data: include,
        };
        let answer = history(record(), &request(true, Some(false))).unwrap();
        assert_eq!(answer["events"][0]["id"], 2);
        assert_eq!(answer["events"][1]["executionStartedEventDetails"], json!({"roleArn": "r"}));
        assert_eq!(answer["events"][0]["executionSucceededEventDetails"], json!({}));
        let answer = history(record(), &request(false, None)).unwrap();
        assert_eq!(answer["events"][0]["executionStartedEventDetails"]["input"], "{}");
        assert!(answer.get("nextToken").is_none());
    }

    #[test]
    fn an_invalid_definition_is_refused_naming_the_state() {
        let body = json!({"name": "M", "definition": r#"{"StartAt": "A", "States": {"A": {"Type": "Pass", "Next": "Nowhere"}}}"#, "roleArn": "r"});
        let err = check_definition("CreateStateMachine", body.to_string().as_bytes()).unwrap_err();
        assert_eq!(err.error_type, "InvalidDefinition");
        assert!(err.message.contains("\"A\"") || err.message.contains("A"), "{err}");
        assert!(err.message.contains("Nowhere"), "{err}");
        let body = json!({"name": "M", "definition": "{not json"});
        assert_eq!(
            check_definition("CreateStateMachine", body.to_string().as_bytes()).unwrap_err().error_type,
            "InvalidDefinition"
        );
        let ok = json!({"definition": r#"{"StartAt": "A", "States": {"A": {"Type": "Pass", "End": true}}}"#});
        assert!(check_definition("CreateStateMachine", ok.to_string().as_bytes()).is_ok());
        assert!(check_definition("UpdateStateMachine", br#"{"stateMachineArn": "arn", "roleArn": "r"}"#).is_ok());
    }

    #[test]
    fn jsonata_and_variables_are_accepted_and_an_expression_that_does_not_parse_is_refused_by_name() {
        let jsonata = json!({"definition": r#"{"QueryLanguage": "JSONata", "StartAt": "A", "States": {"A": {"Type": "Pass", "Output": "{% $states.input %}", "Assign": {"x": "{% $count([1]) %}"}, "End": true}}}"#});
        assert!(check_definition("CreateStateMachine", jsonata.to_string().as_bytes()).is_ok());
        let variables = json!({"definition": r#"{"StartAt": "A", "States": {"A": {"Type": "Pass", "Assign": {"x.$": "$.a"}, "End": true}}}"#});
        assert!(check_definition("UpdateStateMachine", variables.to_string().as_bytes()).is_ok());
        let broken = json!({"definition": r#"{"QueryLanguage": "JSONata", "StartAt": "A", "States": {"A": {"Type": "Pass", "Output": {"n": "{% $states.input. %}"}, "End": true}}}"#});
        let err = check_definition("CreateStateMachine", broken.to_string().as_bytes()).unwrap_err();
        assert_eq!(err.error_type, "InvalidDefinition");
        assert!(
            err.message.contains("state \"A\": the JSONata expression '$states.input.' of field Output does not parse"),
            "{err}"
        );
        // What the model refuses is reported first, as AWS's own rules.
        let wrong_field = json!({"definition": r#"{"QueryLanguage": "JSONata", "StartAt": "A", "States": {"A": {"Type": "Pass", "InputPath": "$.a", "End": true}}}"#});
        let err = check_definition("CreateStateMachine", wrong_field.to_string().as_bytes()).unwrap_err();
        assert!(err.message.contains("is a JSONata state but has InputPath"), "{err}");
    }

    #[test]
    fn the_time_scale_comes_from_a_number() {
        assert_eq!(parse_time_scale(None).unwrap(), TimeScale::REAL);
        assert_eq!(parse_time_scale(Some(" 0.01 ")).unwrap(), TimeScale::new(0.01));
        for bad in ["fast", "-1", "inf"] {
            let err = parse_time_scale(Some(bad)).unwrap_err();
            assert!(err.to_string().contains("LOCALCLOUD_SFN_TIME_SCALE"), "{err}");
        }
    }
}
