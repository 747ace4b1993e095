//! The execution as a whole: the history it records (types, ids, links, details), StopExecution,
//! the machine's timeout, Map's bounded concurrency, the task token, and the time scale applied to
//! Retry intervals, and the replay of an execution on the same seed and clock. Where something
//! waits, time is tokio's paused clock: durations are exact virtual time, never wall-clock time;
//! where nothing waits, the runtime runs as it is.

// In a directory of its own, so cargo does not build it as a test binary of its own.
#[path = "execution/limits.rs"]
mod limits;
#[path = "execution/test_state.rs"]
mod test_state;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures_util::future::BoxFuture;
use model::states::StateMachine;
use serde_json::{Value, json};
use states_interpreter::{
    Callback, Execution, ExecutionContext, FixedClock, HistoryRecorder, Integrations, Outcome, RandomSource, TaskCall,
    TaskFailure, TaskTokens, TimeScale,
};

fn context() -> ExecutionContext {
    ExecutionContext::new(
        "arn:aws:states:eu-west-1:123456789012:stateMachine:Flow",
        "run-1",
        "arn:aws:iam::123456789012:role/Flow",
    )
}

fn machine(definition: Value) -> StateMachine {
    let machine = StateMachine::from_json(&definition.to_string()).unwrap();
    machine.validate().unwrap();
    machine
}

/// Answers with a function of the call, after an optional virtual delay, and keeps each call.
struct Scripted<F> {
    answer: F,
    delay: Duration,
    calls: Mutex<Vec<TaskCall>>,
    running: AtomicUsize,
    most_running: AtomicUsize,
}

impl<F> Scripted<F>
where
    F: Fn(&TaskCall) -> Result<Value, TaskFailure> + Send + Sync,
{
    fn new(delay: Duration, answer: F) -> Arc<Self> {
        Arc::new(Self {
            answer,
            delay,
            calls: Mutex::default(),
            running: AtomicUsize::new(0),
            most_running: AtomicUsize::new(0),
        })
    }
}

impl<F> Integrations for Scripted<F>
where
    F: Fn(&TaskCall) -> Result<Value, TaskFailure> + Send + Sync,
{
    fn invoke(&self, call: TaskCall) -> BoxFuture<'_, Result<Value, TaskFailure>> {
        Box::pin(async move {
            let now = self.running.fetch_add(1, Ordering::SeqCst) + 1;
            self.most_running.fetch_max(now, Ordering::SeqCst);
            self.calls.lock().unwrap().push(call.clone());
            tokio::time::sleep(self.delay).await;
            self.running.fetch_sub(1, Ordering::SeqCst);
            (self.answer)(&call)
        })
    }
}

fn history(recorder: &HistoryRecorder) -> Vec<Value> {
    recorder.events().iter().map(|e| serde_json::to_value(e).unwrap()).collect()
}

fn types(events: &[Value]) -> Vec<String> {
    events.iter().map(|e| e["type"].as_str().unwrap().to_owned()).collect()
}

#[tokio::test(start_paused = true)]
async fn a_task_machine_records_the_history_aws_would() {
    let definition = machine(json!({
        "StartAt": "Run",
        "States": {
            "Run": {"Type": "Task", "Resource": "arn:aws:states:::ecs:runTask.sync",
                "Parameters": {"Cluster": "c", "Input.$": "$.who"}, "ResultSelector": {"arn.$": "$.TaskArn"},
                "ResultPath": "$.task", "TimeoutSeconds": 300, "Next": "Done"},
            "Done": {"Type": "Succeed"}
        }
    }));
    let tasks = Scripted::new(Duration::from_secs(1), |_| {
        Ok(json!({"TaskArn": "arn:task/1", "StopCode": "EssentialContainerExited"}))
    });
    let recorder = Arc::new(HistoryRecorder::default());
    let outcome = Execution::new(definition, json!({"who": "me"}), context(), tasks.clone())
        .with_events(recorder.clone())
        .run()
        .await;
    assert_eq!(outcome, Outcome::Succeeded { output: json!({"who": "me", "task": {"arn": "arn:task/1"}}) });
    let events = history(&recorder);
    assert_eq!(
        types(&events),
        [
            "ExecutionStarted",
            "TaskStateEntered",
            "TaskScheduled",
            "TaskStarted",
            "TaskSucceeded",
            "TaskStateExited",
            "SucceedStateEntered",
            "SucceedStateExited",
            "ExecutionSucceeded"
        ]
    );
    for (n, event) in events.iter().enumerate() {
        assert_eq!(event["id"], json!(n + 1), "{event}");
        assert_eq!(event["previousEventId"], json!(n), "{event}");
        assert!(event["timestamp"].as_f64().unwrap() > 1.5e9, "{event}");
    }
    assert_eq!(
        events[0]["executionStartedEventDetails"],
        json!({"input": "{\"who\":\"me\"}", "inputDetails": {"truncated": false}, "roleArn": "arn:aws:iam::123456789012:role/Flow"})
    );
    assert_eq!(
        events[2]["taskScheduledEventDetails"],
        json!({"resourceType": "ecs", "resource": "runTask.sync", "region": "eu-west-1",
               "parameters": "{\"Cluster\":\"c\",\"Input\":\"me\"}", "timeoutInSeconds": 300})
    );
    assert_eq!(events[3]["taskStartedEventDetails"], json!({"resourceType": "ecs", "resource": "runTask.sync"}));
    // The service's answer keeps its key order, as AWS records it.
    assert_eq!(
        events[4]["taskSucceededEventDetails"]["output"],
        json!("{\"TaskArn\":\"arn:task/1\",\"StopCode\":\"EssentialContainerExited\"}")
    );
    assert_eq!(events[5]["stateExitedEventDetails"]["name"], "Run");
    assert_eq!(
        events[8]["executionSucceededEventDetails"]["output"],
        json!("{\"who\":\"me\",\"task\":{\"arn\":\"arn:task/1\"}}")
    );
    let calls = tasks.calls.lock().unwrap();
    assert_eq!(calls.len(), 1);
    assert_eq!(calls[0].attempt, 1);
    assert_eq!(calls[0].execution_arn, "arn:aws:states:eu-west-1:123456789012:execution:Flow:run-1");
    assert_eq!(calls[0].task_token, None);
}

#[tokio::test]
async fn a_failed_task_records_task_failed_and_execution_failed() {
    let definition = machine(json!({"StartAt": "Run", "States": {
        "Run": {"Type": "Task", "Resource": "arn:aws:states:::lambda:invoke", "End": true}}}));
    let tasks = Scripted::new(Duration::ZERO, |_| Err(TaskFailure::new("Lambda.Unknown", "it broke")));
    let recorder = Arc::new(HistoryRecorder::default());
    let outcome = Execution::new(definition, json!({}), context(), tasks).with_events(recorder.clone()).run().await;
    assert_eq!(outcome, Outcome::Failed { error: "Lambda.Unknown".into(), cause: "it broke".into() });
    let events = history(&recorder);
    assert_eq!(
        types(&events),
        ["ExecutionStarted", "TaskStateEntered", "TaskScheduled", "TaskStarted", "TaskFailed", "ExecutionFailed"]
    );
    assert_eq!(
        events[4]["taskFailedEventDetails"],
        json!({"resourceType": "lambda", "resource": "invoke", "error": "Lambda.Unknown", "cause": "it broke"})
    );
    assert_eq!(events[5]["executionFailedEventDetails"], json!({"error": "Lambda.Unknown", "cause": "it broke"}));
}

#[tokio::test]
async fn a_failed_jsonata_expression_records_evaluation_failed_once_naming_state_and_field() {
    // AWS, EvaluationFailedEventDetails: "an evaluation failure that occurred while processing a
    // state, for example, when a JSONata expression throws an error", with the state and the
    // location of the field. Inside a Map iteration it is recorded once, by the state that failed.
    let definition = machine(json!({"QueryLanguage": "JSONata", "StartAt": "Each", "States": {
        "Each": {"Type": "Map", "Items": "{% [1] %}", "End": true,
            "Catch": [{"ErrorEquals": ["States.QueryEvaluationError"], "Output": "{% $states.errorOutput.Error %}", "Next": "Caught"}],
            "ItemProcessor": {"StartAt": "Call", "States": {
                "Call": {"Type": "Task", "Resource": "arn:aws:states:::lambda:invoke",
                    "Arguments": {"n": "{% $states.input + 'x' %}"}, "End": true}}}},
        "Caught": {"Type": "Succeed"}}}));
    let tasks = Scripted::new(Duration::ZERO, |_| Ok(json!({})));
    let recorder = Arc::new(HistoryRecorder::default());
    let outcome =
        Execution::new(definition, json!({}), context(), tasks.clone()).with_events(recorder.clone()).run().await;
    assert_eq!(outcome, Outcome::Succeeded { output: json!("States.QueryEvaluationError") });
    assert!(tasks.calls.lock().unwrap().is_empty(), "no call is made with arguments that failed");
    let events = history(&recorder);
    let failed: Vec<&Value> = events.iter().filter(|e| e["type"] == "EvaluationFailed").collect();
    assert_eq!(failed.len(), 1, "{:?}", types(&events));
    let details = &failed[0]["evaluationFailedEventDetails"];
    assert_eq!(
        (&details["state"], &details["location"], &details["error"]),
        (&json!("Call"), &json!("Arguments"), &json!("States.QueryEvaluationError"))
    );
    assert!(details["cause"].as_str().unwrap().contains("$states.input + 'x'"), "{details}");
}

#[tokio::test(start_paused = true)]
async fn parallel_and_map_events_link_each_branch_to_its_start() {
    let definition = machine(json!({"StartAt": "Fan", "States": {
        "Fan": {"Type": "Parallel", "Next": "Each", "Branches": [
            {"StartAt": "A", "States": {"A": {"Type": "Pass", "Result": [1, 2], "End": true}}},
            {"StartAt": "B", "States": {"B": {"Type": "Pass", "Result": "b", "End": true}}}]},
        "Each": {"Type": "Map", "ItemsPath": "$[0]", "ItemProcessor": {"StartAt": "W",
            "States": {"W": {"Type": "Wait", "Seconds": 1, "End": true}}}, "End": true}}}));
    let recorder = Arc::new(HistoryRecorder::default());
    let tasks = Scripted::new(Duration::ZERO, |_| Ok(Value::Null));
    let outcome = Execution::new(definition, json!({}), context(), tasks).with_events(recorder.clone()).run().await;
    assert_eq!(outcome, Outcome::Succeeded { output: json!([1, 2]) });
    let events = history(&recorder);
    let by_type = |t: &str| events.iter().filter(|e| e["type"] == t).cloned().collect::<Vec<_>>();
    let started = &by_type("ParallelStateStarted")[0];
    let branch_entries = by_type("PassStateEntered");
    assert_eq!(branch_entries.len(), 2);
    for entry in &branch_entries {
        assert_eq!(entry["previousEventId"], started["id"], "each branch starts from ParallelStateStarted");
    }
    assert_eq!(by_type("ParallelStateSucceeded").len(), 1);
    let map_started = &by_type("MapStateStarted")[0];
    assert_eq!(map_started["mapStateStartedEventDetails"], json!({"length": 2}));
    let iterations = by_type("MapIterationStarted");
    let mut indexes: Vec<_> =
        iterations.iter().map(|e| e["mapIterationStartedEventDetails"]["index"].clone()).collect();
    indexes.sort_by_key(|i| i.as_u64());
    assert_eq!(indexes, [json!(0), json!(1)]);
    for iteration in &iterations {
        assert_eq!(iteration["previousEventId"], map_started["id"]);
        assert_eq!(iteration["mapIterationStartedEventDetails"]["name"], "Each");
    }
    assert_eq!(by_type("MapIterationSucceeded").len(), 2);
    assert_eq!(by_type("WaitStateExited").len(), 2);
    assert_eq!(types(&events).last().unwrap(), "ExecutionSucceeded");
    let ids: Vec<u64> = events.iter().map(|e| e["id"].as_u64().unwrap()).collect();
    assert_eq!(ids, (1..=ids.len() as u64).collect::<Vec<_>>(), "ids are 1-based and increasing");
}

#[tokio::test(start_paused = true)]
async fn stop_aborts_and_cancels_the_task_in_flight() {
    let definition = machine(json!({"StartAt": "Run", "States": {
        "Run": {"Type": "Task", "Resource": "arn:aws:states:::ecs:runTask.sync", "End": true}}}));
    let tasks = Scripted::new(Duration::from_secs(3600), |_| Ok(json!("never")));
    let recorder = Arc::new(HistoryRecorder::default());
    let execution = Execution::new(definition, json!({}), context(), tasks.clone()).with_events(recorder.clone());
    let stop = execution.stop_handle();
    let running = tokio::spawn(execution.run());
    tokio::time::sleep(Duration::from_secs(10)).await;
    let token = tasks.calls.lock().unwrap()[0].cancellation.clone();
    assert!(!token.is_cancelled());
    stop.stop(Some("Operator".into()), Some("stopped by hand".into()));
    let outcome = running.await.unwrap();
    assert_eq!(outcome, Outcome::Aborted { error: Some("Operator".into()), cause: Some("stopped by hand".into()) });
    assert!(token.is_cancelled(), "the task call learns the execution stopped");
    let events = history(&recorder);
    assert_eq!(types(&events).last().unwrap(), "ExecutionAborted");
    assert_eq!(
        events.last().unwrap()["executionAbortedEventDetails"],
        json!({"error": "Operator", "cause": "stopped by hand"})
    );
}

#[tokio::test(start_paused = true)]
async fn the_machine_timeout_ends_as_timed_out() {
    let definition = machine(json!({"StartAt": "W", "TimeoutSeconds": 30, "States": {
        "W": {"Type": "Wait", "Seconds": 3600, "End": true}}}));
    let recorder = Arc::new(HistoryRecorder::default());
    let tasks = Scripted::new(Duration::ZERO, |_| Ok(Value::Null));
    let start = tokio::time::Instant::now();
    let outcome = Execution::new(definition, json!({}), context(), tasks).with_events(recorder.clone()).run().await;
    assert!(matches!(outcome, Outcome::TimedOut { ref error, .. } if error == "States.Timeout"), "{outcome:?}");
    assert_eq!(start.elapsed(), Duration::from_secs(30));
    assert_eq!(types(&history(&recorder)), ["ExecutionStarted", "WaitStateEntered", "ExecutionTimedOut"]);
}

#[tokio::test(start_paused = true)]
async fn retry_intervals_follow_backoff_under_the_time_scale() {
    let definition = machine(json!({"StartAt": "Run", "States": {
        "Run": {"Type": "Task", "Resource": "arn:aws:states:::lambda:invoke",
            "Retry": [{"ErrorEquals": ["Flaky"], "IntervalSeconds": 2, "BackoffRate": 3.0, "MaxAttempts": 3}], "End": true}}}));
    let tasks = Scripted::new(Duration::ZERO, |call: &TaskCall| {
        if call.attempt < 4 { Err(TaskFailure::new("Flaky", "try again")) } else { Ok(json!(call.attempt)) }
    });
    let start = tokio::time::Instant::now();
    let outcome = Execution::new(definition, json!({}), context(), tasks.clone())
        .with_time_scale(TimeScale::new(0.5))
        .run()
        .await;
    assert_eq!(outcome, Outcome::Succeeded { output: json!(4) });
    // 2 + 6 + 18 definition seconds between the four attempts, halved by the scale.
    assert_eq!(start.elapsed(), Duration::from_secs(13));
    let attempts: Vec<u32> = tasks.calls.lock().unwrap().iter().map(|c| c.attempt).collect();
    assert_eq!(attempts, [1, 2, 3, 4]);
}

/// Starts a callback execution (`sns:publish.waitForTaskToken`, HeartbeatSeconds 10) and waits
/// for its call: the running execution, the calls, and the call's token.
async fn callback_execution(
    tokens: &Arc<TaskTokens>,
    recorder: &Arc<HistoryRecorder>,
) -> (tokio::task::JoinHandle<Outcome>, String) {
    let definition = machine(json!({"StartAt": "Ask", "States": {
        "Ask": {"Type": "Task", "Resource": "arn:aws:states:::sns:publish.waitForTaskToken", "HeartbeatSeconds": 10,
            "Parameters": {"Message.$": "$$.Task.Token"}, "End": true}}}));
    let tasks = Scripted::new(Duration::ZERO, |_| Ok(json!({"MessageId": "m-1"})));
    let execution = Execution::new(definition, json!({}), context(), tasks.clone())
        .with_task_tokens(tokens.clone())
        .with_events(recorder.clone());
    let running = tokio::spawn(execution.run());
    let token = loop {
        if let Some(call) = tasks.calls.lock().unwrap().first() {
            break call.task_token.clone().unwrap();
        }
        tokio::time::sleep(Duration::from_millis(1)).await;
    };
    assert_eq!(tasks.calls.lock().unwrap()[0].parameters, json!({"Message": token}), "the token is in the call");
    (running, token)
}

#[tokio::test(start_paused = true)]
async fn a_callback_task_waits_for_its_token_kept_alive_by_heartbeats() {
    // AWS: a .waitForTaskToken task "pauses until it receives that task token back with a
    // SendTaskSuccess or SendTaskFailure call"; with HeartbeatSeconds, each SendTaskHeartbeat
    // starts the interval again.
    let tokens = Arc::new(TaskTokens::new());
    let recorder = Arc::new(HistoryRecorder::default());
    let (running, token) = callback_execution(&tokens, &recorder).await;
    for _ in 0..3 {
        tokio::time::sleep(Duration::from_secs(8)).await;
        tokens.send(&token, Callback::Heartbeat).unwrap();
    }
    tokens.send(&token, Callback::Success(json!({"done": true}))).unwrap();
    assert_eq!(running.await.unwrap(), Outcome::Succeeded { output: json!({"done": true}) });
    let events = history(&recorder);
    assert_eq!(
        types(&events)[1..6],
        ["TaskStateEntered", "TaskScheduled", "TaskStarted", "TaskSubmitted", "TaskSucceeded"]
    );
    assert_eq!(events[4]["taskSubmittedEventDetails"]["output"], json!("{\"MessageId\":\"m-1\"}"));
    assert_eq!(tokens.send(&token, Callback::Heartbeat).unwrap_err().code(), "TaskTimedOut");
    assert_eq!(tokens.waiting(), 0);
}

#[tokio::test(start_paused = true)]
async fn a_callback_task_without_heartbeats_times_out_and_a_failure_callback_fails_it() {
    let tokens = Arc::new(TaskTokens::new());
    let recorder = Arc::new(HistoryRecorder::default());
    let (running, token) = callback_execution(&tokens, &recorder).await;
    let Outcome::Failed { error, cause } = running.await.unwrap() else { panic!("not failed") };
    assert_eq!(error, "States.HeartbeatTimeout");
    assert!(cause.contains("HeartbeatSeconds (10)"), "{cause}");
    assert!(types(&history(&recorder)).contains(&"TaskTimedOut".to_owned()));
    assert_eq!(tokens.send(&token, Callback::Success(json!(1))).unwrap_err().code(), "TaskTimedOut");

    let recorder = Arc::new(HistoryRecorder::default());
    let (running, token) = callback_execution(&tokens, &recorder).await;
    let failure = Callback::Failure { error: Some("Task.Broken".into()), cause: Some("it broke".into()) };
    tokens.send(&token, failure).unwrap();
    assert_eq!(running.await.unwrap(), Outcome::Failed { error: "Task.Broken".into(), cause: "it broke".into() });
}

#[tokio::test(start_paused = true)]
async fn a_hundred_thousand_items_run_with_bounded_concurrency() {
    let definition = machine(json!({"StartAt": "Each", "States": {"Each": {"Type": "Map", "MaxConcurrency": 0,
        "ItemProcessor": {"StartAt": "Call", "States": {"Call": {"Type": "Task", "Resource": "arn:aws:states:::lambda:invoke", "End": true}}},
        "ResultSelector": {"count.$": "States.ArrayLength($)"}, "End": true}}}));
    let tasks = Scripted::new(Duration::from_secs(1), |_| Ok(json!(1)));
    // Single digits, so that a hundred thousand of them stay under the 256 KiB input limit.
    let items: Vec<Value> = (0..100_000).map(|n| json!(n % 10)).collect();
    // Five events an item: on AWS this inline Map would reach a standard execution's 25,000-event
    // history quota (see the limits module, execution/limits.rs); it is about concurrency, so it runs without the limit.
    let outcome =
        Execution::new(definition, Value::Array(items), context(), tasks.clone()).with_history_limit(None).run().await;
    assert_eq!(outcome, Outcome::Succeeded { output: json!({"count": 100_000}) });
    assert_eq!(tasks.most_running.load(Ordering::SeqCst), states_interpreter::INLINE_MAP_CONCURRENCY);

    let limited = machine(json!({"StartAt": "Each", "States": {"Each": {"Type": "Map", "MaxConcurrency": 3,
        "ItemProcessor": {"StartAt": "Call", "States": {"Call": {"Type": "Task", "Resource": "arn:aws:states:::lambda:invoke", "End": true}}},
        "End": true}}}));
    let tasks = Scripted::new(Duration::from_secs(1), |call: &TaskCall| Ok(call.parameters.clone()));
    let outcome = Execution::new(limited, json!(["a", "b", "c", "d", "e"]), context(), tasks.clone()).run().await;
    assert_eq!(outcome, Outcome::Succeeded { output: json!(["a", "b", "c", "d", "e"]) });
    assert_eq!(tasks.most_running.load(Ordering::SeqCst), 3);
}

#[tokio::test]
async fn wait_for_task_token_hands_the_token_to_the_call_and_the_context() {
    let definition = machine(json!({"StartAt": "Ask", "States": {
        "Ask": {"Type": "Task", "Resource": "arn:aws:states:::sqs:sendMessage.waitForTaskToken",
            "Parameters": {"MessageBody": {"token.$": "$$.Task.Token"}}, "End": true}}}));
    let tasks = Scripted::new(Duration::ZERO, |call: &TaskCall| {
        assert_eq!(call.parameters["MessageBody"]["token"].as_str(), call.task_token.as_deref());
        Ok(json!({"approved": true}))
    });
    let outcome = Execution::new(definition, json!({}), context(), tasks.clone()).run().await;
    assert_eq!(outcome, Outcome::Succeeded { output: json!({"approved": true}) });
    let token = tasks.calls.lock().unwrap()[0].task_token.clone().expect("a token");
    assert_eq!(uuid::Uuid::parse_str(&token).map(|u| u.get_version_num()), Ok(4));
}

#[tokio::test]
async fn an_oversized_execution_input_fails_with_data_limit_exceeded() {
    let definition = machine(json!({"StartAt": "P", "States": {"P": {"Type": "Pass", "End": true}}}));
    let tasks = Scripted::new(Duration::ZERO, |_| Ok(Value::Null));
    let big = json!({"blob": "x".repeat(states_interpreter::MAX_PAYLOAD_BYTES)});
    let outcome = Execution::new(definition, big, context(), tasks).run().await;
    assert!(matches!(&outcome, Outcome::Failed { error, .. } if error == "States.DataLimitExceeded"), "{outcome:?}");
}

/// A `.sync` integration records TaskSubmitted between TaskStarted and the call's end, linked
/// into the task's thread of events, with the service's answer as its output.
#[tokio::test(start_paused = true)]
async fn an_integration_records_task_submitted_in_the_tasks_thread() {
    let integrations = Scripted::new(Duration::from_secs(1), |call: &TaskCall| {
        call.events.submitted(json!({"Tasks": [{"TaskArn": "arn:aws:ecs:eu-west-1:123456789012:task/c/1"}]}));
        Ok(json!({"StopCode": "EssentialContainerExited"}))
    });
    let machine = machine(json!({
        "StartAt": "Run",
        "States": {"Run": {"Type": "Task", "Resource": "arn:aws:states:::ecs:runTask.sync", "End": true}}
    }));
    let recorder = Arc::new(HistoryRecorder::default());
    let outcome = Execution::new(machine, json!({}), context(), integrations).with_events(recorder.clone()).run().await;
    assert_eq!(outcome, Outcome::Succeeded { output: json!({"StopCode": "EssentialContainerExited"}) });
    let events = history(&recorder);
    assert_eq!(
        types(&events),
        [
            "ExecutionStarted",
            "TaskStateEntered",
            "TaskScheduled",
            "TaskStarted",
            "TaskSubmitted",
            "TaskSucceeded",
            "TaskStateExited",
            "ExecutionSucceeded"
        ]
    );
    for (i, event) in events.iter().enumerate() {
        assert_eq!(event["id"], json!(i + 1));
        assert_eq!(event["previousEventId"], json!(i), "{event}");
    }
    assert_eq!(
        events[4]["taskSubmittedEventDetails"],
        json!({
            "resourceType": "ecs", "resource": "runTask.sync",
            "output": "{\"Tasks\":[{\"TaskArn\":\"arn:aws:ecs:eu-west-1:123456789012:task/c/1\"}]}",
            "outputDetails": {"truncated": false}
        })
    );
}

/// Replay: the same machine and input, run twice on the same seed and a fixed clock, records the
/// same history, event for event: the same timestamps, the same task token, and the same
/// States.UUID and States.MathRandom results, in Map iterations too. No paused runtime: nothing
/// here waits, and the clock is the test's.
#[tokio::test]
async fn the_same_seed_and_clock_replay_the_same_history() {
    let definition = machine(json!({"StartAt": "Draw", "States": {
        "Draw": {"Type": "Pass", "Parameters": {
            "id.$": "States.UUID()", "n.$": "States.MathRandom(1, 1000000)", "items": [1, 2, 3],
            "started.$": "$$.Execution.StartTime", "entered.$": "$$.State.EnteredTime"}, "Next": "Route"},
        "Route": {"Type": "Choice", "Choices": [{"Variable": "$.n", "NumericGreaterThan": 0, "Next": "Each"}],
            "Default": "Each"},
        "Each": {"Type": "Map", "ItemsPath": "$.items", "MaxConcurrency": 1,
            "ItemSelector": {"item.$": "$$.Map.Item.Value", "id.$": "States.UUID()"},
            "ItemProcessor": {"StartAt": "Roll", "States": {"Roll": {"Type": "Pass",
                "Parameters": {"item.$": "$.item", "id.$": "$.id", "roll.$": "States.MathRandom(0, 100)"}, "End": true}}},
            "ResultPath": "$.rolls", "Next": "Ask"},
        "Ask": {"Type": "Task", "Resource": "arn:aws:states:::sqs:sendMessage.waitForTaskToken",
            "Parameters": {"token.$": "$$.Task.Token"}, "ResultPath": "$.answer", "End": true}}}));
    let run = |seed: u64| {
        let definition = definition.clone();
        async move {
            let tasks = Scripted::new(Duration::ZERO, |call: &TaskCall| Ok(json!({"token": call.task_token})));
            let recorder = Arc::new(HistoryRecorder::default());
            let outcome = Execution::new(definition, json!({}), context(), tasks)
                .with_clock(Arc::new(FixedClock::at_unix_millis(1_700_000_000_123)))
                .with_random(RandomSource::seeded(seed))
                .with_events(recorder.clone())
                .run()
                .await;
            (outcome, recorder.events())
        }
    };
    let (outcome, first) = run(42).await;
    let (again, second) = run(42).await;
    assert_eq!(again, outcome);
    assert_eq!(second, first, "the replay recorded another history");
    assert_eq!(history_of(&second), history_of(&first));

    let Outcome::Succeeded { output } = &outcome else { panic!("{outcome:?}") };
    assert_eq!(output["started"], "2023-11-14T22:13:20.123Z");
    assert_eq!(output["entered"], "2023-11-14T22:13:20.123Z");
    assert_eq!(uuid::Uuid::parse_str(output["id"].as_str().unwrap()).map(|u| u.get_version_num()), Ok(4));
    let ids: Vec<&Value> = output["rolls"].as_array().unwrap().iter().map(|r| &r["id"]).collect();
    assert_eq!(ids.len(), 3);
    assert!(ids[0] != ids[1] && ids[1] != ids[2], "each draw is new: {ids:?}");
    assert!(output["answer"]["token"].is_string(), "{output}");
    for event in &first {
        assert_eq!(event.timestamp, std::time::SystemTime::UNIX_EPOCH + Duration::from_millis(1_700_000_000_123));
    }

    let (other, _) = run(43).await;
    let Outcome::Succeeded { output: other } = other else { panic!("{other:?}") };
    assert_ne!(other["id"], output["id"], "another seed draws another UUID");
    assert_ne!(other["answer"]["token"], output["answer"]["token"], "and another task token");
}

fn history_of(events: &[states_interpreter::HistoryEvent]) -> Vec<Value> {
    events.iter().map(|e| serde_json::to_value(e).unwrap()).collect()
}
