//! The limits that keep one execution from running away: AWS's 25,000-event history quota of a
//! standard execution, and StopExecution of a loop of Pass and Choice states that awaits nothing.
//!
//! Sources: "Quotas for Standard Workflows" (Maximum execution history size: 25,000 events; if the
//! history reaches it, the execution fails), <https://docs.aws.amazon.com/step-functions/latest/dg/limits.html>;
//! "Avoid reaching the history quota" (event number 25,000 may only be ExecutionSucceeded, else
//! ExecutionFailed is logged and the execution fails),
//! <https://docs.aws.amazon.com/step-functions/latest/dg/bp-history-limit.html>. AWS's documentation
//! does not give the error or the cause of that failure: `States.Runtime` and "The execution
//! reached the maximum number of history events (25000)." are as users report AWS's answer
//! (github.com/loads/ardere#86, github.com/aws-samples/aws-organizations-tag-inventory#15).
//! Express executions have no history quota ("Maximum execution history size: Unlimited",
//! <https://docs.aws.amazon.com/step-functions/latest/dg/express-limits.html>).

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use futures_util::future::BoxFuture;
use model::states::StateMachine;
use serde_json::{Value, json};
use states_interpreter::{
    EventDetails, EventSink, Execution, HistoryEvent, HistoryRecorder, Integrations, MAX_HISTORY_EVENTS, Outcome,
    TaskCall, TaskFailure,
};

use super::{context, machine};

/// A loop that never ends and never awaits: a Pass state counts, a Choice state sends it back.
fn runaway_loop() -> StateMachine {
    machine(json!({"StartAt": "Count", "States": {
        "Count": {"Type": "Pass", "Parameters": {"n.$": "States.MathAdd($.n, 1)"}, "Next": "Again"},
        "Again": {"Type": "Choice", "Choices": [{"Variable": "$.n", "NumericLessThan": 0, "Next": "Never"}],
            "Default": "Count"},
        "Never": {"Type": "Succeed"}
    }}))
}

struct NoTasks;

impl Integrations for NoTasks {
    fn invoke(&self, call: TaskCall) -> BoxFuture<'_, Result<Value, TaskFailure>> {
        Box::pin(async move { Err(TaskFailure::new("Test.NoTasks", call.state_name)) })
    }
}

fn limit_failure(limit: u64) -> Outcome {
    Outcome::Failed {
        error: "States.Runtime".into(),
        cause: format!("The execution reached the maximum number of history events ({limit})."),
    }
}

fn ids_run_from_one(events: &[HistoryEvent]) {
    for (i, event) in events.iter().enumerate() {
        assert_eq!(event.id, i as u64 + 1, "{:?}", event.details);
    }
}

/// The real quota. A Pass/Choice loop records two events a state; the execution ends with event
/// 25,000, ExecutionFailed, with AWS's error and cause. Takes about 0.1 s in release and about
/// 1 s in a debug build on this project's CI machine.
#[tokio::test]
async fn a_runaway_loop_fails_with_event_25000_as_aws_records_it() {
    assert_eq!(MAX_HISTORY_EVENTS, 25_000);
    let recorder = Arc::new(HistoryRecorder::default());
    let outcome = Execution::new(runaway_loop(), json!({"n": 0}), context(), Arc::new(NoTasks))
        .with_events(recorder.clone())
        .run()
        .await;
    assert_eq!(outcome, limit_failure(25_000));
    let events = recorder.events();
    assert_eq!(events.len(), 25_000);
    ids_run_from_one(&events);
    let last = events.last().unwrap();
    assert_eq!(
        last.details,
        EventDetails::ExecutionFailed {
            error: "States.Runtime".into(),
            cause: "The execution reached the maximum number of history events (25000).".into()
        }
    );
    assert_eq!(last.previous_event_id, 24_999);
    let details = serde_json::to_value(last).unwrap();
    assert_eq!(
        details["executionFailedEventDetails"],
        json!({"error": "States.Runtime", "cause": "The execution reached the maximum number of history events (25000)."})
    );
    // Event 24,999 is the last state event: the loop went no further.
    assert!(matches!(events[24_998].details, EventDetails::StateEntered { .. } | EventDetails::StateExited { .. }));
    assert_eq!(events.iter().filter(|e| matches!(e.details, EventDetails::ExecutionFailed { .. })).count(), 1);
}

/// Two Pass states record six events: ExecutionStarted, two Entered/Exited pairs, and the end.
fn two_passes(last: Value) -> StateMachine {
    machine(json!({"StartAt": "A", "States": {
        "A": {"Type": "Pass", "Next": "B"},
        "B": last
    }}))
}

async fn run_with_limit(machine: StateMachine, limit: Option<u64>) -> (Outcome, Vec<HistoryEvent>) {
    let recorder = Arc::new(HistoryRecorder::default());
    let outcome = Execution::new(machine, json!({}), context(), Arc::new(NoTasks))
        .with_events(recorder.clone())
        .with_history_limit(limit)
        .run()
        .await;
    (outcome, recorder.events())
}

/// The rule at its edge, on a small limit: ExecutionSucceeded may take the limit's number; an
/// execution one event longer fails, its last allowed event ExecutionFailed.
#[tokio::test]
async fn only_execution_succeeded_may_take_the_last_allowed_number() {
    let pass = json!({"Type": "Pass", "End": true});
    let (outcome, events) = run_with_limit(two_passes(pass.clone()), Some(6)).await;
    assert_eq!(outcome, Outcome::Succeeded { output: json!({}) });
    assert_eq!(events.len(), 6);
    assert!(matches!(events[5].details, EventDetails::ExecutionSucceeded { .. }));

    // B's exit would be event 5: refused, and event 5 is ExecutionFailed.
    let (outcome, events) = run_with_limit(two_passes(pass), Some(5)).await;
    assert_eq!(outcome, limit_failure(5));
    assert_eq!(events.len(), 5);
    ids_run_from_one(&events);
    assert!(matches!(&events[3].details, EventDetails::StateEntered { name, .. } if name == "B"));
    assert!(matches!(events[4].details, EventDetails::ExecutionFailed { .. }));
    assert_eq!(events[4].previous_event_id, 4);

    // A Fail state records ExecutionStarted, A's pair, FailStateEntered and ExecutionFailed. At a
    // limit of 5 its own ExecutionFailed would take number 5, which AWS keeps for
    // ExecutionSucceeded: the execution fails for the limit. At 6 it fails as it says.
    let fail = json!({"Type": "Fail", "Error": "Mine", "Cause": "on purpose"});
    let (outcome, events) = run_with_limit(two_passes(fail.clone()), Some(5)).await;
    assert_eq!((outcome, events.len()), (limit_failure(5), 5));
    let (outcome, events) = run_with_limit(two_passes(fail), Some(6)).await;
    assert_eq!((outcome, events.len()), (Outcome::Failed { error: "Mine".into(), cause: "on purpose".into() }, 5));
}

/// An express execution (no limit) is not cut at 25,000 events. The loop ends by itself here:
/// it counts to 13,000 (26,000 state events).
#[tokio::test]
async fn without_a_limit_an_execution_goes_past_25000_events() {
    let counted = machine(json!({"StartAt": "Count", "States": {
        "Count": {"Type": "Pass", "Parameters": {"n.$": "States.MathAdd($.n, 1)"}, "Next": "Again"},
        "Again": {"Type": "Choice", "Choices": [{"Variable": "$.n", "NumericLessThan": 13000, "Next": "Count"}],
            "Default": "Done"},
        "Done": {"Type": "Succeed"}
    }}));
    let recorder = Arc::new(HistoryRecorder::default());
    let outcome = Execution::new(counted, json!({"n": 0}), context(), Arc::new(NoTasks))
        .with_events(recorder.clone())
        .with_history_limit(None)
        .run()
        .await;
    assert_eq!(outcome, Outcome::Succeeded { output: json!({"n": 13000}) });
    assert_eq!(recorder.events().len(), 1 + 4 * 13_000 + 2 + 1);
}

/// Events past which a stop has failed: the tests stop a loop within its first few states. A
/// sink that records more panics, so that a stop that does not work fails the test instead of
/// hanging it (the loop would never end by itself: without its checks between states, not even at
/// the history limit).
const TOO_MANY: u64 = 1_000;

/// Counts events, and keeps the last one.
#[derive(Default)]
struct Counter {
    count: AtomicU64,
    last: std::sync::Mutex<Option<HistoryEvent>>,
}

impl EventSink for Counter {
    fn record(&self, event: HistoryEvent) {
        let count = self.count.fetch_add(1, Ordering::SeqCst) + 1;
        assert!(count <= TOO_MANY, "the loop ran on after the stop was asked for");
        *self.last.lock().unwrap() = Some(event);
    }
}

/// StopExecution of a loop that awaits nothing, on a single-threaded runtime: the loop must give
/// the scheduler its turn between states, or this test's own task (which asks for the stop) never
/// runs until the history is full, and the execution ends FAILED, not ABORTED.
#[tokio::test(flavor = "current_thread")]
async fn stop_ends_a_pass_choice_loop_that_awaits_nothing() {
    let counter = Arc::new(Counter::default());
    let execution =
        Execution::new(runaway_loop(), json!({"n": 0}), context(), Arc::new(NoTasks)).with_events(counter.clone());
    let stop = execution.stop_handle();
    let running = tokio::spawn(execution.run());
    // The loop is under way: it recorded its start and at least one state.
    while counter.count.load(Ordering::SeqCst) < 3 {
        tokio::task::yield_now().await;
    }
    stop.stop(Some("Operator".into()), Some("a runaway loop".into()));
    let outcome = running.await.unwrap();
    assert_eq!(outcome, Outcome::Aborted { error: Some("Operator".into()), cause: Some("a runaway loop".into()) });
    let recorded = counter.count.load(Ordering::SeqCst);
    // Stopped at the next state, far from the 25,000 events it would otherwise have reached.
    assert!(recorded < 100, "{recorded} events");
    let last = counter.last.lock().unwrap().clone().unwrap();
    assert_eq!(last.id, recorded);
    assert!(matches!(last.details, EventDetails::ExecutionAborted { .. }), "{last:?}");
}

/// A stop asked for from inside the loop's own thread (the history sink, at the 101st event) ends
/// it at the next state: the loop checks for a stop between states.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stop_is_seen_between_states() {
    struct StopAt {
        at: u64,
        stop: std::sync::OnceLock<states_interpreter::StopHandle>,
        recorder: HistoryRecorder,
    }
    impl EventSink for StopAt {
        fn record(&self, event: HistoryEvent) {
            assert!(event.id <= TOO_MANY, "the loop ran on after the stop was asked for");
            if event.id == self.at {
                self.stop.get().unwrap().stop(None, None);
            }
            self.recorder.record(event);
        }
    }
    let sink = Arc::new(StopAt { at: 101, stop: Default::default(), recorder: HistoryRecorder::default() });
    let execution =
        Execution::new(runaway_loop(), json!({"n": 0}), context(), Arc::new(NoTasks)).with_events(sink.clone());
    sink.stop.set(execution.stop_handle()).unwrap();
    let outcome = execution.run().await;
    assert_eq!(outcome, Outcome::Aborted { error: None, cause: None });
    let events = sink.recorder.events();
    // Event 101 is a state's exit (after ExecutionStarted, even ids enter and odd ids exit); the
    // next state does not start.
    assert!(matches!(events[100].details, EventDetails::StateExited { .. }), "{:?}", events[100]);
    assert_eq!(events.len(), 102);
    assert!(matches!(events[101].details, EventDetails::ExecutionAborted { .. }), "{:?}", events[101]);
}
