//! TestState: one state run on its own, as AWS's TestState API runs it ("Using TestState to test
//! states"). The state comes alone, or by `stateName` from a whole definition (inside a Map's
//! processor or a Parallel's branch too); it runs once on the given input, `variables` and
//! `context`, a Task or a Map/Parallel answered by a mock when one is given. Nothing is retried and
//! no later state runs: the answer says what would happen next (`status` SUCCEEDED, FAILED,
//! RETRIABLE or CAUGHT_ERROR, `nextState`) and what the data was after each step
//! ([`Inspection`]).
//!
//! What AWS records and this follows (LocalStack's AWS-validated snapshots of TestState, November
//! 2025 to February 2026): the error texts of the request checks below; RETRIABLE with
//! `errorDetails.retryIndex` and `retryBackoffIntervalSeconds` and no output; CAUGHT_ERROR with
//! the error, the cause, the catcher's `nextState`, the output and `errorDetails.catchIndex`; a
//! state tested alone is named `StateName` in its context object. Not documented, chosen here: a
//! Wait state does not wait (AWS bounds TestState at five minutes and says nothing of Waits); the
//! DEBUG fields follow the single-state recordings, where AWS's answers for a state picked from a
//! whole definition show fewer of them.

use std::sync::{Arc, Mutex};

use futures_util::future::BoxFuture;
use model::states::{State, StateMachine};
use serde_json::{Map, Value, json};
use tokio_util::sync::CancellationToken;

use crate::clock::SystemClock;
use crate::compiled::{CompiledMachine, Node, Scope, Work};
use crate::context::ExecutionContext;
use crate::error::{StatesError, names};
use crate::events::EventLog;
use crate::execution::{Entered, Runner};
use crate::inspect::{self, ErrorDetails};
use crate::integrations::{Integrations, TaskCall, TaskFailure};
use crate::pipeline::{Finished, reference_value};
use crate::random::RandomSource;
use crate::recovery::{max_attempts, retry_delay_seconds};
use crate::timing::TimeScale;
use crate::variables::Variables;

pub use crate::inspect::Inspection;

/// The name AWS gives a state tested on its own.
pub const SINGLE_STATE_NAME: &str = "StateName";

/// A mocked answer of the tested Task, Map or Parallel state.
#[derive(Debug, Clone, PartialEq)]
pub enum TestMock {
    /// The service's (or, for a Map or Parallel, the iterations' or branches') result.
    Result(Value),
    /// The call fails with this error and cause.
    Error { error: String, cause: String },
}

/// `stateConfiguration`: where the tested state stands in a run that is under way.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct TestConfiguration {
    /// How many retries of the retrier matching the error have already happened.
    pub retrier_retry_count: u64,
    /// A Map or Parallel: the state inside it that the mocked error came from.
    pub error_caused_by_state: Option<String>,
    /// A Map: how many of its iterations failed.
    pub map_iteration_failure_count: Option<u64>,
}

/// One TestState call.
#[derive(Clone)]
pub struct TestState {
    /// The state's definition, or a whole state machine's when `state_name` is set.
    pub definition: String,
    pub state_name: Option<String>,
    pub input: Value,
    /// Variables the state sees, by name.
    pub variables: Map<String, Value>,
    /// A context object to run the state with (only with a mock, as AWS requires); its
    /// `Execution`, `StateMachine` and `Task` members replace the ones made up here.
    pub context: Option<Value>,
    pub mock: Option<TestMock>,
    pub configuration: TestConfiguration,
    /// The execution the state pretends to run in (its ARN names the region and account).
    pub execution: ExecutionContext,
    /// Checks a mocked result against the tested Task's resource (`fieldValidationMode`): the
    /// resource ARN and the result; an error text makes the call a ValidationException.
    pub check_mock: Option<MockCheck>,
}

/// See [`TestState::check_mock`].
pub type MockCheck = Arc<dyn Fn(&str, &Value) -> Result<(), String> + Send + Sync>;

/// How the tested state ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TestStatus {
    Succeeded,
    Failed,
    /// A retrier would retry the error.
    Retriable,
    /// A catcher took the error.
    CaughtError,
}

impl TestStatus {
    pub fn as_str(&self) -> &'static str {
        match self {
            TestStatus::Succeeded => "SUCCEEDED",
            TestStatus::Failed => "FAILED",
            TestStatus::Retriable => "RETRIABLE",
            TestStatus::CaughtError => "CAUGHT_ERROR",
        }
    }
}

/// TestState's answer.
#[derive(Debug, Clone, PartialEq)]
pub struct TestStateAnswer {
    pub status: TestStatus,
    pub output: Option<Value>,
    pub error: Option<String>,
    pub cause: Option<String>,
    pub next_state: Option<String>,
    pub inspection: Inspection,
}

/// A request AWS refuses before running anything, with its error code.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TestStateError {
    #[error("{0}")]
    InvalidDefinition(String),
    #[error("{0}")]
    Validation(String),
}

/// What the runner does differently for a TestState call.
pub(crate) struct TestMode {
    pub mock: Option<TestMock>,
    pub configuration: TestConfiguration,
    handled: Mutex<Option<Handled>>,
}

#[derive(Debug, Clone)]
enum Handled {
    Retriable,
    Caught(StatesError),
}

impl TestMode {
    /// A retrier that would retry `error` now: its index and the backoff before that retry.
    /// Records it, so the answer says RETRIABLE.
    pub fn retriable(&self, retriers: &[model::states::Retrier], error: &StatesError, unit: f64) -> bool {
        let Some(index) = retriers.iter().position(|r| error.is_matched_by(&r.error_equals)) else {
            return false;
        };
        let retrier = &retriers[index];
        let count = self.configuration.retrier_retry_count;
        if count >= max_attempts(retrier) {
            return false;
        }
        let seconds = retry_delay_seconds(retrier, count, unit).round() as u64;
        inspect::record(|i| {
            i.error_details = Some(ErrorDetails {
                retry_index: Some(index),
                retry_backoff_interval_seconds: Some(seconds),
                catch_index: None,
            })
        });
        *self.handled.lock().unwrap_or_else(|e| e.into_inner()) = Some(Handled::Retriable);
        true
    }

    /// The catcher at `index` took `error`.
    pub fn caught(&self, index: usize, error: &StatesError) {
        inspect::record(|i| i.error_details = Some(ErrorDetails { catch_index: Some(index), ..Default::default() }));
        *self.handled.lock().unwrap_or_else(|e| e.into_inner()) = Some(Handled::Caught(error.clone()));
    }
}

/// Answers every Task call with the mock.
struct Mocked(TestMock);

impl Integrations for Mocked {
    fn invoke(&self, _call: TaskCall) -> BoxFuture<'_, Result<Value, TaskFailure>> {
        let answer = match &self.0 {
            TestMock::Result(result) => Ok(result.clone()),
            TestMock::Error { error, cause } => Err(TaskFailure::new(error, cause)),
        };
        Box::pin(async move { answer })
    }
}

/// Runs `request`'s state once; a Task without a mock calls `integrations`, as AWS calls the real
/// service.
pub async fn test_state(
    request: TestState,
    integrations: Arc<dyn Integrations>,
) -> Result<TestStateAnswer, TestStateError> {
    let (machine, name) = load(&request.definition, request.state_name.as_deref())?;
    let compiled = CompiledMachine::new(machine);
    let node = find(compiled.top(), &name)
        .ok_or_else(|| TestStateError::Validation("State not found in definition".into()))?;
    check(&request, node)?;

    let integrations: Arc<dyn Integrations> = match &request.mock {
        Some(mock) => Arc::new(Mocked(mock.clone())),
        None => integrations,
    };
    let mut context = request.execution.clone();
    context.start_time.get_or_insert_with(std::time::SystemTime::now);
    let mut base_context = context.base_object(&request.input);
    if let (Some(Value::Object(given)), Some(base)) = (&request.context, base_context.as_object_mut()) {
        for (key, value) in given {
            if key != "State" {
                base.insert(key.clone(), value.clone());
            }
        }
    }
    let clock = Arc::new(SystemClock);
    let test = Arc::new(TestMode {
        mock: request.mock.clone(),
        configuration: request.configuration.clone(),
        handled: Mutex::new(None),
    });
    let runner = Runner {
        integrations,
        log: Arc::new(EventLog::new(Arc::new(()), clock.clone())),
        scale: TimeScale::REAL,
        clock,
        random: Arc::new(RandomSource::from_os()),
        context,
        base_context,
        root: CancellationToken::new(),
        halt: CancellationToken::new(),
        tokens: None,
        test: Some(test.clone()),
    };
    let variables = Variables::root();
    if !request.variables.is_empty() {
        variables
            .assign("TestState", request.variables.clone())
            .map_err(|e| TestStateError::Validation(format!("variables: {}", e.cause)))?;
    }
    let input = request.input.clone();
    let (result, mut inspection) = inspect::recording(async {
        inspect::record(|i| i.input = Some(input.clone()));
        let mut last = 0;
        runner.run_state(&name, node, input, &variables, &mut last).await
    })
    .await;
    runner.root.cancel();
    if inspection.variables.is_none() && !request.variables.is_empty() {
        inspection.variables = Some(variables.visible());
    }
    let handled = test.handled.lock().unwrap_or_else(|e| e.into_inner()).take();
    Ok(match (result, handled) {
        (Ok((next, output)), Some(Handled::Caught(error))) => TestStateAnswer {
            status: TestStatus::CaughtError,
            output: Some(output),
            error: Some(error.error),
            cause: Some(error.cause),
            next_state: next.map(str::to_owned),
            inspection,
        },
        (Ok((next, output)), _) => TestStateAnswer {
            status: TestStatus::Succeeded,
            output: Some(output),
            error: None,
            cause: None,
            next_state: next.map(str::to_owned),
            inspection,
        },
        (Err(error), handled) => TestStateAnswer {
            status: if matches!(handled, Some(Handled::Retriable)) {
                TestStatus::Retriable
            } else {
                TestStatus::Failed
            },
            output: None,
            error: Some(error.error),
            cause: Some(error.cause),
            next_state: None,
            inspection,
        },
    })
}

/// The machine holding the tested state, and the state's name in it. A state given alone becomes
/// a machine of that one state, named [`SINGLE_STATE_NAME`], with a Succeed state for each state
/// it names as its next (so the machine validates; none of them runs).
fn load(definition: &str, state_name: Option<&str>) -> Result<(StateMachine, String), TestStateError> {
    let invalid =
        |problem: String| TestStateError::InvalidDefinition(format!("Invalid State Machine Definition: '{problem}'"));
    if let Some(name) = state_name {
        if name.is_empty() {
            return Err(TestStateError::Validation("stateName must be 1 to 80 characters long".into()));
        }
        let machine = StateMachine::from_json(definition).map_err(|e| invalid(e.to_string()))?;
        machine.validate().map_err(|e| invalid(e.to_string()))?;
        problems(&machine).map_err(invalid)?;
        return Ok((machine, name.to_owned()));
    }
    let value: Value =
        serde_json::from_str(definition).map_err(|e| invalid(format!("the definition is not JSON: {e}")))?;
    if value.get("States").is_some() && value.get("StartAt").is_some() {
        return Err(TestStateError::Validation(
            "The definition is a whole state machine: give stateName to say which of its states to test".into(),
        ));
    }
    let state: State = serde_json::from_value(value.clone()).map_err(|e| invalid(e.to_string()))?;
    let mut machine = StateMachine::new(SINGLE_STATE_NAME).with_state(SINGLE_STATE_NAME, state);
    for target in targets(&value) {
        if target != SINGLE_STATE_NAME && !machine.states.contains_key(&target) {
            machine = machine.with_state(target, model::states::Succeed::default());
        }
    }
    machine.validate().map_err(|e| invalid(e.to_string()))?;
    problems(&machine).map_err(invalid)?;
    Ok((machine, SINGLE_STATE_NAME.to_owned()))
}

fn problems(machine: &StateMachine) -> Result<(), String> {
    let problems = CompiledMachine::new(machine.clone()).problems();
    if problems.is_empty() { Ok(()) } else { Err(problems.join("; ")) }
}

/// The states a state's transitions name: Next, Default, each Choice rule's and catcher's Next.
fn targets(state: &Value) -> Vec<String> {
    let mut out = Vec::new();
    let mut push = |v: Option<&Value>| {
        if let Some(Value::String(name)) = v {
            out.push(name.clone());
        }
    };
    push(state.get("Next"));
    push(state.get("Default"));
    for list in ["Choices", "Catch"] {
        if let Some(Value::Array(items)) = state.get(list) {
            for item in items {
                push(item.get("Next"));
            }
        }
    }
    out
}

/// The state `name` anywhere in `scope`: at the top, in a Parallel's branches, in a Map's
/// processor.
fn find<'a>(scope: &'a Scope, name: &str) -> Option<&'a Node> {
    if let Some(node) = scope.states.get(name) {
        return Some(node);
    }
    scope.states.values().find_map(|node| match &node.work {
        Work::Parallel(branches) => branches.iter().find_map(|b| find(b, name)),
        Work::Map(map) => map.processor.as_ref().and_then(|p| find(p, name)),
        _ => None,
    })
}

/// AWS's checks of a request against its state, before anything runs.
fn check(request: &TestState, node: &Node) -> Result<(), TestStateError> {
    let kind = node.kind.name();
    let task = match &node.work {
        Work::Task(task, _) => Some(task),
        _ => None,
    };
    if request.context.is_some() && request.mock.is_none() {
        return Err(TestStateError::Validation("context may only be given together with a mock".into()));
    }
    match (&request.mock, kind) {
        (None, "Map" | "Parallel") => {
            return Err(TestStateError::InvalidDefinition(
                "TestState API does not support Map or Parallel states. Supported state types include: [Task, Wait, \
                 Pass, Succeed, Fail, Choice]"
                    .into(),
            ));
        }
        (Some(_), "Pass" | "Fail" | "Succeed" | "Choice" | "Wait") => {
            return Err(TestStateError::Validation(format!(
                "State type '{kind}' is not supported when a mock is specified"
            )));
        }
        (None, "Task") => {
            if let Some(task) = task {
                let pattern = task.resource.rsplit(':').next().unwrap_or_default();
                if task.resource.contains(":activity:")
                    || pattern.ends_with(".sync")
                    || pattern.ends_with(".sync:2")
                    || pattern.ends_with(".waitForTaskToken")
                {
                    return Err(TestStateError::Validation(format!(
                        "TestState runs the resource {:?} only with a mock: Activity tasks and the .sync and \
                         .waitForTaskToken patterns need one (give mock.result or mock.errorOutput)",
                        task.resource
                    )));
                }
            }
        }
        _ => {}
    }
    if let Some(TestMock::Result(result)) = &request.mock {
        if let (Some(check), Some(task)) = (&request.check_mock, task) {
            check(&task.resource, result).map_err(TestStateError::Validation)?;
        }
        match &node.work {
            Work::Map(_) if !result.is_array() => {
                return Err(TestStateError::Validation("Mocked result must be an array.".into()));
            }
            Work::Parallel(branches) => {
                let Some(items) = result.as_array() else {
                    return Err(TestStateError::Validation("Mocked result must be an array.".into()));
                };
                if items.len() != branches.len() {
                    return Err(TestStateError::Validation(
                        "Mocked result must contain the same number of items as number of Parallel branches.".into(),
                    ));
                }
            }
            _ => {}
        }
    }
    if let (Some(inner), Work::Map(_) | Work::Parallel(_)) = (&request.configuration.error_caused_by_state, &node.work)
    {
        let holds = match &node.work {
            Work::Map(map) => map.processor.as_ref().is_some_and(|p| find(p, inner).is_some()),
            Work::Parallel(branches) => branches.iter().any(|b| find(b, inner).is_some()),
            _ => false,
        };
        if !holds {
            return Err(TestStateError::Validation(format!(
                "stateConfiguration.errorCausedByState {inner:?} is not a state of the tested state's branches or \
                 item processor"
            )));
        }
    }
    Ok(())
}

impl Runner {
    /// A mocked Map or Parallel: the mock stands for its iterations or branches; the state's own
    /// fields (ItemsPath, ResultSelector, ResultPath, OutputPath...) still apply.
    pub(crate) fn mocked_fan_out(
        &self,
        node: &Node,
        entered: &Entered<'_>,
        raw: &Value,
        retry_count: u64,
        test: &TestMode,
    ) -> Result<Finished, StatesError> {
        let context = entered.context(self, retry_count);
        let flow = &node.flow;
        let mut tolerated = (0, None);
        match &node.work {
            Work::Map(map) => {
                if flow.jsonata.is_none() {
                    let effective = flow.input_path(raw, &context)?;
                    let items = reference_value(&map.items_path, &effective, &context, "ItemsPath")?;
                    inspect::record(|i| i.after_items_path = Some(items.clone()));
                }
                tolerated = (map.tolerated_failure_count.unwrap_or(0), map.tolerated_failure_percentage);
                inspect::record(|i| {
                    i.max_concurrency = Some(map.max_concurrency.unwrap_or(0));
                    i.tolerated_failure_count = map.tolerated_failure_count;
                    i.tolerated_failure_percentage = map.tolerated_failure_percentage;
                });
            }
            _ => {
                flow.request(raw, &context, entered.name)?;
            }
        }
        let result = match &test.mock {
            Some(TestMock::Result(result)) => result.clone(),
            Some(TestMock::Error { error, cause }) => return Err(StatesError::new(error, cause)),
            None => return Err(StatesError::runtime("a Map or Parallel state runs in TestState only with a mock")),
        };
        if let (Work::Map(_), Some(failed)) = (&node.work, test.configuration.map_iteration_failure_count) {
            let items = result.as_array().map_or(0, Vec::len) as f64;
            let over_count = failed > tolerated.0;
            let over_percentage = tolerated.1.is_none_or(|p| items == 0.0 || (failed as f64) * 100.0 / items > p);
            if over_count && over_percentage {
                return Err(StatesError::new(
                    names::EXCEED_TOLERATED_FAILURE_THRESHOLD,
                    "The specified tolerated failure threshold was exceeded",
                ));
            }
        }
        inspect::record(|i| i.result = Some(result.clone()));
        flow.finish(raw, Some(result), &context, entered.name)
    }
}

/// An ExecutionContext for a TestState call in `region` of `account`, as AWS makes one up.
pub fn test_execution(region: &str, account: &str, role_arn: Option<&str>) -> ExecutionContext {
    let name = uuid::Uuid::new_v4().to_string();
    let machine = format!("arn:aws:states:{region}:{account}:stateMachine:{}", uuid::Uuid::new_v4());
    ExecutionContext::new(&machine, &name, role_arn.unwrap_or_default()).express()
}

/// The JSON answer of the TestState API.
impl TestStateAnswer {
    pub fn to_api(&self, level: &str) -> Value {
        let mut out = Map::new();
        out.insert("status".into(), json!(self.status.as_str()));
        if let Some(output) = &self.output {
            out.insert("output".into(), json!(output.to_string()));
        }
        if let Some(error) = &self.error {
            out.insert("error".into(), json!(error));
        }
        if let Some(cause) = &self.cause {
            out.insert("cause".into(), json!(cause));
        }
        if let Some(next) = &self.next_state {
            out.insert("nextState".into(), json!(next));
        }
        if level != "INFO" {
            out.insert("inspectionData".into(), self.inspection.to_api());
        }
        Value::Object(out)
    }
}
