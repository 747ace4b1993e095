//! Workflow tests: a state machine run in-process by the interpreter, with each Task state's
//! outcome mocked by state name, no Docker, no HTTP, in milliseconds. Time does not pass: every
//! Wait, Retry interval and timeout takes no time (a time scale of 0), so a task that never
//! answers ends in its state's `TimeoutSeconds` at once. The run is deterministic (a fixed clock
//! and a seeded random source).
//!
//! ```
//! use serde_json::json;
//! use states_interpreter::testing::{Mock, MockTasks, run_workflow};
//!
//! let machine = model::states::StateMachine::from_json(r#"{
//!     "QueryLanguage": "JSONata",
//!     "StartAt": "Call",
//!     "States": {
//!         "Call": {"Type": "Task", "Resource": "arn:aws:states:::lambda:invoke",
//!             "Arguments": {"Payload": "{% $states.input %}"}, "Output": "{% $states.result.n %}",
//!             "Catch": [{"ErrorEquals": ["States.ALL"], "Next": "Broken"}], "End": true},
//!         "Broken": {"Type": "Fail", "Error": "Broken"}
//!     }
//! }"#)?;
//! let run = run_workflow(&machine, json!({"who": "me"}), MockTasks::new().on("Call", Mock::Succeed(json!({"n": 3}))));
//! assert_eq!(run.output(), Some(&json!(3)));
//! assert_eq!(run.states_entered(), ["Call"]);
//! assert_eq!(run.calls("Call"), [&json!({"Payload": {"who": "me"}})]);
//!
//! let failed = run_workflow(&machine, json!({}), MockTasks::new().on("Call", Mock::Fail("Lambda.Boom", "no")));
//! assert_eq!(failed.states_entered(), ["Call", "Broken"]);
//! assert_eq!(failed.outcome.status(), "FAILED");
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use futures_util::future::BoxFuture;
use model::states::StateMachine;
use serde_json::Value;

use crate::error::names;
use crate::events::{EventDetails, HistoryEvent, HistoryRecorder};
use crate::{
    Execution, ExecutionContext, FixedClock, Integrations, Outcome, RandomSource, TaskCall, TaskFailure, TimeScale,
};

/// The state machine ARN a workflow test's execution runs as.
pub const TEST_STATE_MACHINE_ARN: &str = "arn:aws:states:us-east-1:123456789012:stateMachine:WorkflowTest";
/// The execution's role.
pub const TEST_ROLE_ARN: &str = "arn:aws:iam::123456789012:role/WorkflowTest";
/// The error a Task state without a mock fails with.
pub const NO_MOCK_ERROR: &str = "WorkflowTest.NoMock";

/// One mocked outcome of a Task state's call.
#[derive(Debug, Clone, PartialEq)]
pub enum Mock {
    /// The service answers with this result (for `ecs:runTask.sync`, the stopped task's
    /// description, e.g. `{"TaskArn": ..., "StopCode": "EssentialContainerExited"}`).
    Succeed(Value),
    /// The call fails with this error and cause (e.g. `States.TaskFailed`).
    Fail(&'static str, &'static str),
    /// The call never answers: the state's `TimeoutSeconds` ends it with `States.Timeout` (at
    /// once: time does not pass in a workflow test). A state without TimeoutSeconds waits forever,
    /// as it would on AWS for a year; give it one.
    Timeout,
    /// The task stopped sending heartbeats: `States.HeartbeatTimeout`, as Step Functions reports
    /// it when `HeartbeatSeconds` passes without one.
    HeartbeatTimeout,
}

/// The mocked outcomes, by Task state name: each call takes the next one, and the last one
/// repeats (so one mock answers every retry).
#[derive(Debug, Clone, Default)]
pub struct MockTasks {
    by_state: HashMap<String, Vec<Mock>>,
}

impl MockTasks {
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds `mock` to the outcomes of the Task state `state`.
    pub fn on(mut self, state: &str, mock: Mock) -> Self {
        self.by_state.entry(state.to_owned()).or_default().push(mock);
        self
    }
}

/// One call a Task state made.
#[derive(Debug, Clone, PartialEq)]
pub struct Call {
    pub state: String,
    pub resource: String,
    /// What the call was sent (`Parameters` or `Arguments`, evaluated).
    pub parameters: Value,
    /// 1 for the first attempt, 2 for the first retry...
    pub attempt: u32,
}

struct Mocked {
    mocks: MockTasks,
    calls: Mutex<Vec<Call>>,
}

impl Integrations for Mocked {
    fn invoke(&self, call: TaskCall) -> BoxFuture<'_, Result<Value, TaskFailure>> {
        let made = {
            let mut calls = self.calls.lock().unwrap_or_else(|e| e.into_inner());
            calls.push(Call {
                state: call.state_name.clone(),
                resource: call.resource.clone(),
                parameters: call.parameters.clone(),
                attempt: call.attempt,
            });
            calls.iter().filter(|c| c.state == call.state_name).count()
        };
        let mock = self.mocks.by_state.get(&call.state_name).and_then(|mocks| mocks.get(made - 1).or(mocks.last()));
        let answer = match mock.cloned() {
            Some(Mock::Succeed(result)) => Ok(result),
            Some(Mock::Fail(error, cause)) => Err(TaskFailure::new(error, cause)),
            Some(Mock::HeartbeatTimeout) => Err(TaskFailure::new(
                names::HEARTBEAT_TIMEOUT,
                "The task did not send a heartbeat within its HeartbeatSeconds (mocked)",
            )),
            Some(Mock::Timeout) => return Box::pin(std::future::pending()),
            None => Err(TaskFailure::new(
                NO_MOCK_ERROR,
                format!(
                    "The Task state {:?} was called, but the test gives it no outcome: add \
                     MockTasks::new().on({:?}, Mock::Succeed(...))",
                    call.state_name, call.state_name
                ),
            )),
        };
        Box::pin(async move { answer })
    }
}

/// What a workflow test's execution did.
#[derive(Debug, Clone)]
pub struct WorkflowRun {
    pub outcome: Outcome,
    /// Its whole history, as GetExecutionHistory would show it.
    pub history: Vec<HistoryEvent>,
    /// Every Task call, in the order made.
    pub calls: Vec<Call>,
}

impl WorkflowRun {
    /// The execution's output, when it succeeded.
    pub fn output(&self) -> Option<&Value> {
        match &self.outcome {
            Outcome::Succeeded { output } => Some(output),
            _ => None,
        }
    }

    /// The error and cause it failed with, when it failed.
    pub fn failure(&self) -> Option<(&str, &str)> {
        match &self.outcome {
            Outcome::Failed { error, cause } => Some((error, cause)),
            _ => None,
        }
    }

    /// The path taken: every state entered, in order (Parallel branches' and Map iterations'
    /// states included, in the order they were entered).
    pub fn states_entered(&self) -> Vec<&str> {
        self.history
            .iter()
            .filter_map(|event| match &event.details {
                EventDetails::StateEntered { name, .. } => Some(name.as_str()),
                _ => None,
            })
            .collect()
    }

    /// What the Task state `state` was sent, one entry per call.
    pub fn calls(&self, state: &str) -> Vec<&Value> {
        self.calls.iter().filter(|c| c.state == state).map(|c| &c.parameters).collect()
    }

    /// The variables the state `state` assigned when it exited last (JSONata or JSONPath
    /// `Assign`), by name.
    pub fn assigned(&self, state: &str) -> Option<&serde_json::Map<String, Value>> {
        self.history.iter().rev().find_map(|event| match &event.details {
            EventDetails::StateExited { name, assigned: Some(assigned), .. } if name == state => Some(assigned),
            _ => None,
        })
    }
}

/// Runs `machine` on `input` to its end, each Task call answered by `mocks`, in no time. Blocks:
/// call it from a plain `#[test]` (it makes a runtime of its own).
pub fn run_workflow(machine: &StateMachine, input: Value, mocks: MockTasks) -> WorkflowRun {
    let integrations = Arc::new(Mocked { mocks, calls: Mutex::default() });
    let recorder = Arc::new(HistoryRecorder::default());
    let context = ExecutionContext::new(TEST_STATE_MACHINE_ARN, "workflow-test", TEST_ROLE_ARN);
    let execution = Execution::new(machine.clone(), input, context, integrations.clone())
        .with_events(recorder.clone())
        .with_clock(Arc::new(FixedClock::at_unix_millis(1_700_000_000_000)))
        .with_random(RandomSource::seeded(0))
        .with_time_scale(TimeScale::new(0.0));
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .build()
        .unwrap_or_else(|e| panic!("a workflow test needs a tokio runtime: {e}"));
    let outcome = runtime.block_on(execution.run());
    let calls = integrations.calls.lock().unwrap_or_else(|e| e.into_inner()).clone();
    WorkflowRun { outcome, history: recorder.events(), calls }
}
