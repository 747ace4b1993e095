//! Execution history events in the shape of GetExecutionHistory's `HistoryEvent`: `timestamp`
//! (epoch seconds, as the JSON protocol sends it), `type`, `id` (1-based, increasing),
//! `previousEventId`, and one `...EventDetails` object named after the type. Payloads (`input`,
//! `output`, `parameters`) are JSON text, as AWS sends them.

use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::SystemTime;

use serde::ser::SerializeMap;
use serde::{Serialize, Serializer};
use serde_json::{Value, json};

/// Where events go as they happen (the gateway's execution store, a test's recorder).
pub trait EventSink: Send + Sync {
    fn record(&self, event: HistoryEvent);
}

/// Drops every event.
impl EventSink for () {
    fn record(&self, _event: HistoryEvent) {}
}

/// Keeps every event in memory, in order.
#[derive(Debug, Default)]
pub struct HistoryRecorder(Mutex<Vec<HistoryEvent>>);

impl HistoryRecorder {
    pub fn events(&self) -> Vec<HistoryEvent> {
        self.0.lock().map(|events| events.clone()).unwrap_or_else(|poisoned| poisoned.into_inner().clone())
    }
}

impl EventSink for HistoryRecorder {
    fn record(&self, event: HistoryEvent) {
        match self.0.lock() {
            Ok(mut events) => events.push(event),
            Err(poisoned) => poisoned.into_inner().push(event),
        }
    }
}

/// One event of an execution's history.
#[derive(Debug, Clone, PartialEq)]
pub struct HistoryEvent {
    pub timestamp: SystemTime,
    pub id: u64,
    /// The event before this one in the same thread of the execution (0 for the first); inside
    /// a Parallel branch or Map iteration, the previous event of that branch or iteration.
    pub previous_event_id: u64,
    pub details: EventDetails,
}

/// The state types, as the prefix of their Entered/Exited event types.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StateKind {
    Task,
    Pass,
    Choice,
    Wait,
    Succeed,
    Fail,
    Parallel,
    Map,
}

impl StateKind {
    pub fn name(self) -> &'static str {
        match self {
            StateKind::Task => "Task",
            StateKind::Pass => "Pass",
            StateKind::Choice => "Choice",
            StateKind::Wait => "Wait",
            StateKind::Succeed => "Succeed",
            StateKind::Fail => "Fail",
            StateKind::Parallel => "Parallel",
            StateKind::Map => "Map",
        }
    }
}

/// What happened, with the details GetExecutionHistory gives for it.
#[derive(Debug, Clone, PartialEq)]
pub enum EventDetails {
    ExecutionStarted {
        input: Value,
        role_arn: String,
    },
    ExecutionSucceeded {
        output: Value,
    },
    ExecutionFailed {
        error: String,
        cause: String,
    },
    ExecutionAborted {
        error: Option<String>,
        cause: Option<String>,
    },
    ExecutionTimedOut {
        error: String,
        cause: String,
    },
    StateEntered {
        kind: StateKind,
        name: String,
        input: Value,
    },
    StateExited {
        kind: StateKind,
        name: String,
        output: Value,
        /// The variables the state assigned, by name.
        assigned: Option<serde_json::Map<String, Value>>,
    },
    TaskScheduled {
        resource_type: String,
        resource: String,
        region: String,
        parameters: Value,
        timeout_in_seconds: Option<u64>,
        heartbeat_in_seconds: Option<u64>,
    },
    TaskStarted {
        resource_type: String,
        resource: String,
    },
    TaskSucceeded {
        resource_type: String,
        resource: String,
        output: Value,
    },
    TaskFailed {
        resource_type: String,
        resource: String,
        error: String,
        cause: String,
    },
    TaskTimedOut {
        resource_type: String,
        resource: String,
        error: String,
        cause: String,
    },
    /// A `.sync` integration's job was accepted (ECS answered RunTask); `output` is that answer.
    TaskSubmitted {
        resource_type: String,
        resource: String,
        output: Value,
    },
    ParallelStateStarted,
    ParallelStateSucceeded,
    ParallelStateFailed,
    ParallelStateAborted,
    MapStateStarted {
        length: usize,
    },
    MapStateSucceeded,
    MapStateFailed,
    MapStateAborted,
    MapIterationStarted {
        name: String,
        index: usize,
    },
    MapIterationSucceeded {
        name: String,
        index: usize,
    },
    /// A JSONata expression of state `state` failed in the field `location` (AWS records it only
    /// for JSONata states, before the state's failure or its Catch).
    EvaluationFailed {
        state: String,
        error: String,
        cause: String,
        location: String,
    },
    MapIterationFailed {
        name: String,
        index: usize,
    },
    MapIterationAborted {
        name: String,
        index: usize,
    },
}

fn text(value: &Value) -> String {
    value.to_string()
}

const NOT_TRUNCATED: fn() -> Value = || json!({"truncated": false});

impl EventDetails {
    /// The event's `type`, e.g. `TaskStateEntered`.
    pub fn type_name(&self) -> String {
        match self {
            EventDetails::StateEntered { kind, .. } => format!("{}StateEntered", kind.name()),
            EventDetails::StateExited { kind, .. } => format!("{}StateExited", kind.name()),
            other => other.fixed_type_name().to_owned(),
        }
    }

    fn fixed_type_name(&self) -> &'static str {
        match self {
            EventDetails::ExecutionStarted { .. } => "ExecutionStarted",
            EventDetails::ExecutionSucceeded { .. } => "ExecutionSucceeded",
            EventDetails::ExecutionFailed { .. } => "ExecutionFailed",
            EventDetails::ExecutionAborted { .. } => "ExecutionAborted",
            EventDetails::ExecutionTimedOut { .. } => "ExecutionTimedOut",
            EventDetails::StateEntered { .. } => "StateEntered",
            EventDetails::StateExited { .. } => "StateExited",
            EventDetails::TaskScheduled { .. } => "TaskScheduled",
            EventDetails::TaskStarted { .. } => "TaskStarted",
            EventDetails::TaskSucceeded { .. } => "TaskSucceeded",
            EventDetails::TaskFailed { .. } => "TaskFailed",
            EventDetails::TaskTimedOut { .. } => "TaskTimedOut",
            EventDetails::TaskSubmitted { .. } => "TaskSubmitted",
            EventDetails::ParallelStateStarted => "ParallelStateStarted",
            EventDetails::ParallelStateSucceeded => "ParallelStateSucceeded",
            EventDetails::ParallelStateFailed => "ParallelStateFailed",
            EventDetails::ParallelStateAborted => "ParallelStateAborted",
            EventDetails::MapStateStarted { .. } => "MapStateStarted",
            EventDetails::MapStateSucceeded => "MapStateSucceeded",
            EventDetails::MapStateFailed => "MapStateFailed",
            EventDetails::MapStateAborted => "MapStateAborted",
            EventDetails::MapIterationStarted { .. } => "MapIterationStarted",
            EventDetails::MapIterationSucceeded { .. } => "MapIterationSucceeded",
            EventDetails::MapIterationFailed { .. } => "MapIterationFailed",
            EventDetails::EvaluationFailed { .. } => "EvaluationFailed",
            EventDetails::MapIterationAborted { .. } => "MapIterationAborted",
        }
    }

    /// The details object's key and value; `None` for the types that carry none.
    pub fn details(&self) -> Option<(&'static str, Value)> {
        let mut optional = serde_json::Map::new();
        let mut put = |key: &str, value: &Option<String>| {
            if let Some(value) = value {
                optional.insert(key.to_owned(), Value::String(value.clone()));
            }
        };
        Some(match self {
            EventDetails::ExecutionStarted { input, role_arn } => (
                "executionStartedEventDetails",
                json!({"input": text(input), "inputDetails": NOT_TRUNCATED(), "roleArn": role_arn}),
            ),
            EventDetails::ExecutionSucceeded { output } => {
                ("executionSucceededEventDetails", json!({"output": text(output), "outputDetails": NOT_TRUNCATED()}))
            }
            EventDetails::ExecutionFailed { error, cause } => {
                // A Fail state without Error or Cause leaves them out, as AWS does.
                for (key, value) in [("error", error), ("cause", cause)] {
                    if !value.is_empty() {
                        optional.insert(key.to_owned(), Value::String(value.clone()));
                    }
                }
                ("executionFailedEventDetails", Value::Object(optional))
            }
            EventDetails::ExecutionAborted { error, cause } => {
                put("error", error);
                put("cause", cause);
                ("executionAbortedEventDetails", Value::Object(optional))
            }
            EventDetails::ExecutionTimedOut { error, cause } => {
                ("executionTimedOutEventDetails", json!({"error": error, "cause": cause}))
            }
            EventDetails::EvaluationFailed { state, error, cause, location } => (
                "evaluationFailedEventDetails",
                json!({"state": state, "error": error, "cause": cause, "location": location}),
            ),
            EventDetails::StateEntered { name, input, .. } => (
                "stateEnteredEventDetails",
                json!({"name": name, "input": text(input), "inputDetails": NOT_TRUNCATED()}),
            ),
            EventDetails::StateExited { name, output, assigned, .. } => {
                let mut details = json!({"name": name, "output": text(output), "outputDetails": NOT_TRUNCATED()});
                // AWS's StateExitedEventDetails: assignedVariables maps each name to its value as
                // JSON text.
                if let Some(assigned) = assigned {
                    let texts: serde_json::Map<String, Value> =
                        assigned.iter().map(|(k, v)| (k.clone(), Value::String(v.to_string()))).collect();
                    details["assignedVariables"] = Value::Object(texts);
                    details["assignedVariablesDetails"] = json!({"truncated": false});
                }
                ("stateExitedEventDetails", details)
            }
            EventDetails::TaskScheduled {
                resource_type,
                resource,
                region,
                parameters,
                timeout_in_seconds,
                heartbeat_in_seconds,
            } => {
                let mut details = json!({
                    "resourceType": resource_type, "resource": resource, "region": region,
                    "parameters": text(parameters)
                });
                if let Some(timeout) = timeout_in_seconds {
                    details["timeoutInSeconds"] = json!(timeout);
                }
                if let Some(heartbeat) = heartbeat_in_seconds {
                    details["heartbeatInSeconds"] = json!(heartbeat);
                }
                ("taskScheduledEventDetails", details)
            }
            EventDetails::TaskStarted { resource_type, resource } => {
                ("taskStartedEventDetails", json!({"resourceType": resource_type, "resource": resource}))
            }
            EventDetails::TaskSucceeded { resource_type, resource, output } => (
                "taskSucceededEventDetails",
                json!({"resourceType": resource_type, "resource": resource, "output": text(output),
                       "outputDetails": NOT_TRUNCATED()}),
            ),
            EventDetails::TaskFailed { resource_type, resource, error, cause } => (
                "taskFailedEventDetails",
                json!({"resourceType": resource_type, "resource": resource, "error": error, "cause": cause}),
            ),
            EventDetails::TaskTimedOut { resource_type, resource, error, cause } => (
                "taskTimedOutEventDetails",
                json!({"resourceType": resource_type, "resource": resource, "error": error, "cause": cause}),
            ),
            EventDetails::TaskSubmitted { resource_type, resource, output } => (
                "taskSubmittedEventDetails",
                json!({"resourceType": resource_type, "resource": resource, "output": text(output),
                       "outputDetails": NOT_TRUNCATED()}),
            ),
            EventDetails::MapStateStarted { length } => ("mapStateStartedEventDetails", json!({"length": length})),
            EventDetails::MapIterationStarted { name, index } => {
                ("mapIterationStartedEventDetails", json!({"name": name, "index": index}))
            }
            EventDetails::MapIterationSucceeded { name, index } => {
                ("mapIterationSucceededEventDetails", json!({"name": name, "index": index}))
            }
            EventDetails::MapIterationFailed { name, index } => {
                ("mapIterationFailedEventDetails", json!({"name": name, "index": index}))
            }
            EventDetails::MapIterationAborted { name, index } => {
                ("mapIterationAbortedEventDetails", json!({"name": name, "index": index}))
            }
            EventDetails::ParallelStateStarted
            | EventDetails::ParallelStateSucceeded
            | EventDetails::ParallelStateFailed
            | EventDetails::ParallelStateAborted
            | EventDetails::MapStateSucceeded
            | EventDetails::MapStateFailed
            | EventDetails::MapStateAborted => return None,
        })
    }
}

impl Serialize for HistoryEvent {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(None)?;
        let seconds = self.timestamp.duration_since(SystemTime::UNIX_EPOCH).map(|d| d.as_secs_f64()).unwrap_or(0.0);
        // Milliseconds, as AWS keeps them.
        map.serialize_entry("timestamp", &((seconds * 1000.0).round() / 1000.0))?;
        map.serialize_entry("type", &self.details.type_name())?;
        map.serialize_entry("id", &self.id)?;
        map.serialize_entry("previousEventId", &self.previous_event_id)?;
        if let Some((key, details)) = self.details.details() {
            map.serialize_entry(key, &details)?;
        }
        map.end()
    }
}

/// AWS's hard quota on a standard execution's history: 25,000 events. AWS documents
/// ("Quotas for Standard Workflows", <https://docs.aws.amazon.com/step-functions/latest/dg/limits.html>:
/// "Maximum execution history size: 25,000 events. If the execution history reaches this quota,
/// the execution will fail") and ("Avoid reaching the history quota",
/// <https://docs.aws.amazon.com/step-functions/latest/dg/bp-history-limit.html>): "When an execution
/// reaches 24,999 events, it waits for the next event to happen. If the event number 25,000 is
/// ExecutionSucceeded, the execution finishes successfully. If the event number 25,000 isn't
/// ExecutionSucceeded, the ExecutionFailed event is logged and the state machine execution fails".
/// Express executions have no such quota ("Maximum execution history size: Unlimited",
/// <https://docs.aws.amazon.com/step-functions/latest/dg/express-limits.html>).
pub const MAX_HISTORY_EVENTS: u64 = 25_000;

/// The error of an execution that reached [`MAX_HISTORY_EVENTS`]. AWS's documentation does not
/// name the error or give the cause; both are as AWS's console and API show them in users'
/// reports (github.com/loads/ardere#86: `{"error": "States.Runtime", "cause": "The execution
/// reached the maximum number of history events (25000)."}`; the same cause in
/// github.com/aws-samples/aws-organizations-tag-inventory#15 and #16,
/// github.com/aws-samples/amazon-omics-end-to-end-genomics#3).
pub const HISTORY_LIMIT_ERROR: &str = crate::error::names::RUNTIME;

/// The cause that goes with [`HISTORY_LIMIT_ERROR`] for a history of at most `limit` events.
pub fn history_limit_cause(limit: u64) -> String {
    format!("The execution reached the maximum number of history events ({limit}).")
}

/// Numbers events across all the threads of one execution and hands them to the sink; with a
/// limit, refuses every event from the limit's number on but the execution's last (see
/// [`MAX_HISTORY_EVENTS`]), and then cancels `halt` so that the execution stops.
pub(crate) struct EventLog {
    sink: std::sync::Arc<dyn EventSink>,
    clock: std::sync::Arc<dyn crate::clock::Clock>,
    last_id: AtomicU64,
    limit: Option<u64>,
    /// Set once an event was refused for the limit.
    full: std::sync::atomic::AtomicBool,
    halt: tokio_util::sync::CancellationToken,
}

impl EventLog {
    pub(crate) fn new(sink: std::sync::Arc<dyn EventSink>, clock: std::sync::Arc<dyn crate::clock::Clock>) -> Self {
        Self::limited(sink, clock, None, tokio_util::sync::CancellationToken::new())
    }

    pub(crate) fn limited(
        sink: std::sync::Arc<dyn EventSink>,
        clock: std::sync::Arc<dyn crate::clock::Clock>,
        limit: Option<u64>,
        halt: tokio_util::sync::CancellationToken,
    ) -> Self {
        Self { sink, clock, last_id: AtomicU64::new(0), limit, full: Default::default(), halt }
    }

    /// Records `details` after `previous` (a thread's last event id), which it then advances.
    /// An event that would take the limit's number is not recorded: the history is full, the
    /// execution is told to halt, and `previous` stays as it was.
    pub(crate) fn emit(&self, previous: &mut u64, details: EventDetails) -> u64 {
        let limit = self.limit.unwrap_or(u64::MAX);
        let taken = self.last_id.fetch_update(Ordering::SeqCst, Ordering::SeqCst, |last| {
            (last + 1 < limit && !self.full.load(Ordering::SeqCst)).then_some(last + 1)
        });
        match taken {
            Ok(last) => self.record(previous, last + 1, details),
            Err(_) => {
                if !self.full.swap(true, Ordering::SeqCst) {
                    tracing::debug!(limit, "the execution history is full");
                }
                self.halt.cancel();
                *previous
            }
        }
    }

    /// Records the execution's last event (ExecutionSucceeded, ExecutionFailed...), which may take
    /// the limit's number.
    pub(crate) fn emit_last(&self, previous: &mut u64, details: EventDetails) -> u64 {
        let id = self.last_id.fetch_add(1, Ordering::SeqCst) + 1;
        self.record(previous, id, details)
    }

    fn record(&self, previous: &mut u64, id: u64, details: EventDetails) -> u64 {
        tracing::trace!(id, event = %details.type_name(), "history event");
        self.sink.record(HistoryEvent { timestamp: self.clock.now(), id, previous_event_id: *previous, details });
        *previous = id;
        id
    }

    /// Whether an event was refused because the history reached its limit.
    pub(crate) fn is_full(&self) -> bool {
        self.full.load(Ordering::SeqCst)
    }

    /// Whether the next event takes the limit's number (AWS's event number 25,000), the one only
    /// ExecutionSucceeded may take without failing the execution.
    pub(crate) fn next_is_last_allowed(&self) -> bool {
        self.limit.is_some_and(|limit| self.last_id.load(Ordering::SeqCst) + 1 >= limit)
    }

    pub(crate) fn limit(&self) -> Option<u64> {
        self.limit
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn serialises_as_get_execution_history_does() {
        let event = HistoryEvent {
            timestamp: SystemTime::UNIX_EPOCH + Duration::from_millis(1_700_000_000_123),
            id: 3,
            previous_event_id: 2,
            details: EventDetails::TaskScheduled {
                resource_type: "ecs".into(),
                resource: "runTask.sync".into(),
                region: "us-east-1".into(),
                parameters: json!({"Cluster": "c"}),
                timeout_in_seconds: Some(300),
                heartbeat_in_seconds: None,
            },
        };
        assert_eq!(
            serde_json::to_value(&event).unwrap(),
            json!({
                "timestamp": 1_700_000_000.123,
                "type": "TaskScheduled",
                "id": 3,
                "previousEventId": 2,
                "taskScheduledEventDetails": {
                    "resourceType": "ecs", "resource": "runTask.sync", "region": "us-east-1",
                    "parameters": "{\"Cluster\":\"c\"}", "timeoutInSeconds": 300
                }
            })
        );
        let entered = HistoryEvent {
            details: EventDetails::StateEntered { kind: StateKind::Choice, name: "Route".into(), input: json!({}) },
            ..event.clone()
        };
        let value = serde_json::to_value(&entered).unwrap();
        assert_eq!(value["type"], "ChoiceStateEntered");
        assert_eq!(
            value["stateEnteredEventDetails"],
            json!({"name": "Route", "input": "{}", "inputDetails": {"truncated": false}})
        );
        let failed = HistoryEvent {
            details: EventDetails::ExecutionFailed { error: "E".into(), cause: String::new() },
            ..event.clone()
        };
        assert_eq!(serde_json::to_value(&failed).unwrap()["executionFailedEventDetails"], json!({"error": "E"}));
        let started = HistoryEvent { details: EventDetails::ParallelStateStarted, ..event };
        let value = serde_json::to_value(&started).unwrap();
        assert_eq!(value.as_object().unwrap().len(), 4, "{value}");
    }
}
