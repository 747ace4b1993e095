//! Running a state machine: the state loop, each state type's input/output processing
//! (InputPath → Parameters → the work → ResultSelector → ResultPath → OutputPath), Retry and
//! Catch, Parallel branches and Map iterations (concurrent, bounded), the execution's own
//! timeout, and StopExecution.

use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use futures_util::future::BoxFuture;
use futures_util::stream::{self, FuturesUnordered, StreamExt as _};
use model::states::{
    Catcher, Choice, Fail, Map, NullablePath, Parallel, Pass, ProcessorMode, Retrier, State, StateMachine, States,
    Task, Wait,
};
use serde_json::{Map as JsonMap, Value};
use tokio_util::sync::CancellationToken;

use crate::context::{ExecutionContext, LazyContext, StateContext};
use crate::error::{StatesError, names};
use crate::events::{EventDetails, EventLog, EventSink, StateKind};
use crate::integrations::{Integrations, TaskCall, TaskEvents, split_resource};
use crate::path::ContextObject;
use crate::timing::{self, TimeScale};
use crate::{choice, intrinsics, path, template, timestamp};

/// The largest payload (execution input, state input or output, task result) Step Functions
/// passes: 256 KiB of UTF-8 JSON.
pub const MAX_PAYLOAD_BYTES: usize = 256 * 1024;
/// Iterations an inline Map runs at once at most, whatever its MaxConcurrency (AWS's limit).
pub const INLINE_MAP_CONCURRENCY: usize = 40;
/// Iterations a distributed Map runs at once when MaxConcurrency is 0 or above it; bounded so
/// that a hundred thousand items do not become a hundred thousand futures at once.
pub const DISTRIBUTED_MAP_CONCURRENCY: usize = 1000;

/// How an execution ended.
#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    Succeeded {
        output: Value,
    },
    Failed {
        error: String,
        cause: String,
    },
    /// Stopped through a [`StopHandle`], with the error and cause given to StopExecution.
    Aborted {
        error: Option<String>,
        cause: Option<String>,
    },
    /// The machine's TimeoutSeconds passed.
    TimedOut {
        error: String,
        cause: String,
    },
}

impl Outcome {
    /// The execution status as DescribeExecution reports it.
    pub fn status(&self) -> &'static str {
        match self {
            Outcome::Succeeded { .. } => "SUCCEEDED",
            Outcome::Failed { .. } => "FAILED",
            Outcome::Aborted { .. } => "ABORTED",
            Outcome::TimedOut { .. } => "TIMED_OUT",
        }
    }
}

/// The error and cause given to StopExecution.
type StopReason = (Option<String>, Option<String>);

/// Stops a running execution (StopExecution). Cloneable; stopping twice keeps the first reason.
#[derive(Debug, Clone, Default)]
pub struct StopHandle {
    token: CancellationToken,
    reason: Arc<Mutex<Option<StopReason>>>,
}

impl StopHandle {
    /// Ends the execution as ABORTED with `error` and `cause`; in-flight task calls see their
    /// cancellation token cancelled.
    pub fn stop(&self, error: Option<String>, cause: Option<String>) {
        if let Ok(mut reason) = self.reason.lock() {
            reason.get_or_insert((error, cause));
        }
        self.token.cancel();
    }

    pub fn is_stopped(&self) -> bool {
        self.token.is_cancelled()
    }

    fn reason(&self) -> StopReason {
        self.reason.lock().ok().and_then(|r| r.clone()).unwrap_or((None, None))
    }
}

/// One execution of a state machine, ready to run.
pub struct Execution {
    machine: StateMachine,
    input: Value,
    context: ExecutionContext,
    integrations: Arc<dyn Integrations>,
    events: Arc<dyn EventSink>,
    time_scale: TimeScale,
    stop: StopHandle,
}

impl Execution {
    /// An execution of `machine` on `input`; Task states call `integrations`. The machine
    /// should have passed `validate()` (the API does that at CreateStateMachine); a definition
    /// that is broken anyway fails the execution with `States.Runtime` where it breaks.
    pub fn new(
        machine: StateMachine,
        input: Value,
        context: ExecutionContext,
        integrations: Arc<dyn Integrations>,
    ) -> Self {
        Self {
            machine,
            input,
            context,
            integrations,
            events: Arc::new(()),
            time_scale: TimeScale::REAL,
            stop: StopHandle::default(),
        }
    }

    /// Sends history events to `sink` as they happen.
    pub fn with_events(mut self, sink: Arc<dyn EventSink>) -> Self {
        self.events = sink;
        self
    }

    /// Scales every Wait, Retry interval and timeout by `scale`.
    pub fn with_time_scale(mut self, scale: TimeScale) -> Self {
        self.time_scale = scale;
        self
    }

    /// The handle that stops this execution.
    pub fn stop_handle(&self) -> StopHandle {
        self.stop.clone()
    }

    /// Runs the execution to its end.
    pub async fn run(self) -> Outcome {
        let Execution { machine, input, context, integrations, events, time_scale, stop } = self;
        let runner = Runner {
            integrations,
            log: Arc::new(EventLog::new(events)),
            scale: time_scale,
            base_context: context.base_object(&input),
            context,
            root: CancellationToken::new(),
        };
        let mut last = 0;
        runner.log.emit(
            &mut last,
            EventDetails::ExecutionStarted { input: input.clone(), role_arn: runner.context.role_arn.clone() },
        );
        tracing::debug!(execution = %runner.context.execution_arn, "execution started");

        enum End {
            Done(Result<Value, StatesError>),
            Stopped,
            TimedOut,
        }
        let timeout = machine.timeout_seconds.map(|s| runner.scale.scale_secs(s as f64));
        let end = {
            let body = async {
                check_size("the execution input", &input)?;
                runner.run_states(&machine.start_at, &machine.states, input, &mut last).await
            };
            tokio::select! {
                result = body => End::Done(result),
                () = stop.token.cancelled() => End::Stopped,
                () = sleep_or_forever(timeout) => End::TimedOut,
            }
        };
        // Whatever is still in flight learns it is no longer wanted.
        runner.root.cancel();
        let outcome = match end {
            End::Done(Ok(output)) => match check_size("the execution output", &output) {
                Ok(()) => Outcome::Succeeded { output },
                Err(e) => Outcome::Failed { error: e.error, cause: e.cause },
            },
            End::Done(Err(e)) => Outcome::Failed { error: e.error, cause: e.cause },
            End::Stopped => {
                let (error, cause) = stop.reason();
                Outcome::Aborted { error, cause }
            }
            End::TimedOut => Outcome::TimedOut {
                error: names::TIMEOUT.to_owned(),
                cause: format!(
                    "The execution ran longer than the state machine's TimeoutSeconds ({})",
                    machine.timeout_seconds.unwrap_or_default()
                ),
            },
        };
        let details = match &outcome {
            Outcome::Succeeded { output } => EventDetails::ExecutionSucceeded { output: output.clone() },
            Outcome::Failed { error, cause } => {
                EventDetails::ExecutionFailed { error: error.clone(), cause: cause.clone() }
            }
            Outcome::Aborted { error, cause } => {
                EventDetails::ExecutionAborted { error: error.clone(), cause: cause.clone() }
            }
            Outcome::TimedOut { error, cause } => {
                EventDetails::ExecutionTimedOut { error: error.clone(), cause: cause.clone() }
            }
        };
        runner.log.emit(&mut last, details);
        tracing::debug!(execution = %runner.context.execution_arn, status = outcome.status(), "execution ended");
        outcome
    }
}

async fn sleep_or_forever(duration: Option<Duration>) {
    match duration {
        Some(duration) => tokio::time::sleep(duration).await,
        None => std::future::pending().await,
    }
}

fn check_size(what: &str, value: &Value) -> Result<(), StatesError> {
    let size = serde_json::to_string(value).map(|s| s.len()).unwrap_or(0);
    if size > MAX_PAYLOAD_BYTES {
        return Err(StatesError::new(
            names::DATA_LIMIT_EXCEEDED,
            format!("{what} is {size} bytes, over the payload limit of {MAX_PAYLOAD_BYTES} bytes (256 KiB)"),
        ));
    }
    Ok(())
}

/// Where a state goes after it succeeded (or an error was caught): a state name, or the end of
/// its machine, branch or iteration.
type Next<'a> = Option<&'a str>;

struct Runner {
    integrations: Arc<dyn Integrations>,
    log: Arc<EventLog>,
    scale: TimeScale,
    context: ExecutionContext,
    base_context: Value,
    root: CancellationToken,
}

/// What a state knows while it runs.
struct Entered<'a> {
    name: &'a str,
    time: String,
}

impl Entered<'_> {
    fn context<'b>(&'b self, base: &'b Value, retry_count: u64) -> LazyContext<'b> {
        LazyContext::new(
            StateContext { name: self.name, entered_time: &self.time, retry_count, task_token: None, map_item: None },
            base,
        )
    }
}

impl Runner {
    /// Runs a machine (the top level, a Parallel branch or a Map iteration) from `start_at` to its
    /// end; `last` is the thread's last event id.
    fn run_states<'a>(
        &'a self,
        start_at: &'a str,
        states: &'a States,
        input: Value,
        last: &'a mut u64,
    ) -> BoxFuture<'a, Result<Value, StatesError>> {
        Box::pin(async move {
            let mut name = start_at;
            let mut input = input;
            loop {
                let state = states.get(name).ok_or_else(|| {
                    StatesError::runtime(format!("the definition names the state {name:?}, which does not exist"))
                })?;
                let (next, output) = self.run_state(name, state, input, last).await?;
                match next {
                    Some(next) => {
                        name = next;
                        input = output;
                    }
                    None => return Ok(output),
                }
            }
        })
    }

    async fn run_state<'a>(
        &'a self,
        name: &'a str,
        state: &'a State,
        raw: Value,
        last: &mut u64,
    ) -> Result<(Next<'a>, Value), StatesError> {
        let kind = kind_of(state);
        let entered = Entered { name, time: timestamp::format(SystemTime::now()) };
        self.log.emit(last, EventDetails::StateEntered { kind, name: name.to_owned(), input: raw.clone() });
        let exit = |output: Value, last: &mut u64| -> Result<Value, StatesError> {
            check_size(&format!("the output of state {name:?}"), &output)?;
            self.log.emit(last, EventDetails::StateExited { kind, name: name.to_owned(), output: output.clone() });
            Ok(output)
        };
        match state {
            State::Pass(pass) => {
                let output = self.pass(pass, &entered, &raw)?;
                Ok((pass_next(pass), exit(output, last)?))
            }
            State::Choice(c) => {
                let (next, output) = self.choice(c, &entered, &raw)?;
                Ok((Some(next), exit(output, last)?))
            }
            State::Wait(wait) => {
                let output = self.wait(wait, &entered, &raw).await?;
                Ok((wait.next.as_deref(), exit(output, last)?))
            }
            State::Succeed(s) => {
                let context = entered.context(&self.base_context, 0);
                let effective = input_path(&s.input_path, &raw, &context)?;
                let output = output_path(&s.output_path, effective, &context)?;
                Ok((None, exit(output, last)?))
            }
            State::Fail(fail) => Err(self.fail(fail, &entered, &raw)?),
            State::Task(_) | State::Parallel(_) | State::Map(_) => {
                let (retriers, catchers) = (state.retry(), state.catch());
                let mut attempts = vec![0u64; retriers.len()];
                let mut retry_count = 0u64;
                loop {
                    let attempt = match state {
                        State::Task(task) => self.task(task, &entered, &raw, retry_count, last).await,
                        State::Parallel(parallel) => self.parallel(parallel, &entered, &raw, retry_count, last).await,
                        State::Map(map) => self.map(map, &entered, &raw, retry_count, last).await,
                        _ => unreachable!("only Task, Parallel and Map reach here"),
                    };
                    let error = match attempt.and_then(|output| exit(output, last)) {
                        Ok(output) => return Ok((state.next(), output)),
                        Err(error) => error,
                    };
                    if let Some(delay) = self.retry_delay(retriers, &mut attempts, &error) {
                        retry_count += 1;
                        tracing::debug!(state = name, error = %error.error, ?delay, retry_count, "retrying");
                        tokio::time::sleep(delay).await;
                        continue;
                    }
                    return match catchers.iter().find(|c| error.is_matched_by(&c.error_equals)) {
                        Some(catcher) => Ok((Some(catcher.next.as_str()), caught(catcher, &raw, &error)?)),
                        None => Err(error),
                    };
                }
            }
        }
    }

    /// The delay before the next retry, when the first retrier matching `error` has attempts left.
    fn retry_delay(&self, retriers: &[Retrier], attempts: &mut [u64], error: &StatesError) -> Option<Duration> {
        let index = retriers.iter().position(|r| error.is_matched_by(&r.error_equals))?;
        let retrier = &retriers[index];
        if attempts[index] >= timing::max_attempts(retrier) {
            return None;
        }
        let seconds = timing::retry_delay_seconds(retrier, attempts[index], rand::random::<f64>());
        attempts[index] += 1;
        Some(self.scale.scale_secs(seconds))
    }

    fn pass(&self, pass: &Pass, entered: &Entered<'_>, raw: &Value) -> Result<Value, StatesError> {
        let context = entered.context(&self.base_context, 0);
        let effective = input_path(&pass.input_path, raw, &context)?;
        let effective = parameters(pass.parameters.as_ref(), effective, &context)?;
        let result = pass.result.clone().unwrap_or(effective);
        let output = result_path(&pass.result_path, raw, result)?;
        output_path(&pass.output_path, output, &context)
    }

    fn choice<'a>(&self, c: &'a Choice, entered: &Entered<'_>, raw: &Value) -> Result<(&'a str, Value), StatesError> {
        let context = entered.context(&self.base_context, 0);
        let effective = input_path(&c.input_path, raw, &context)?;
        let next = match choice::choose(&c.choices, &effective, &context)? {
            Some(next) => next,
            None => c.default.as_deref().ok_or_else(|| {
                StatesError::new(
                    names::NO_CHOICE_MATCHED,
                    format!("No Choice rule of state {:?} matched the input, and it has no Default", entered.name),
                )
            })?,
        };
        Ok((next, output_path(&c.output_path, effective, &context)?))
    }

    async fn wait(&self, wait: &Wait, entered: &Entered<'_>, raw: &Value) -> Result<Value, StatesError> {
        let context = entered.context(&self.base_context, 0);
        let effective = input_path(&wait.input_path, raw, &context)?;
        let until = |text: &str, source: &str| -> Result<Duration, StatesError> {
            let target = timestamp::parse(text).ok_or_else(|| {
                StatesError::runtime(format!(
                    "{source} is {text:?}, which is not an RFC 3339 timestamp such as 2016-03-14T01:59:00Z"
                ))
            })?;
            let now = jiff::Timestamp::now();
            let seconds = (target.as_millisecond() - now.as_millisecond()).max(0) as f64 / 1000.0;
            Ok(self.scale.scale_secs(seconds))
        };
        let delay = if let Some(seconds) = wait.seconds {
            self.scale.scale_secs(seconds as f64)
        } else if let Some(text) = &wait.timestamp {
            until(text, "Timestamp")?
        } else if let Some(p) = &wait.seconds_path {
            let value = reference_value(p, &effective, &context, "SecondsPath")?;
            let seconds = value.as_u64().ok_or_else(|| {
                StatesError::runtime(format!("SecondsPath {p:?} gave {value}, not a non-negative integer of seconds"))
            })?;
            self.scale.scale_secs(seconds as f64)
        } else if let Some(p) = &wait.timestamp_path {
            let value = reference_value(p, &effective, &context, "TimestampPath")?;
            let text = value.as_str().ok_or_else(|| {
                StatesError::runtime(format!("TimestampPath {p:?} gave {value}, not a timestamp string"))
            })?;
            until(text, &format!("the value at TimestampPath {p:?}"))?
        } else {
            Duration::ZERO
        };
        tokio::time::sleep(delay).await;
        output_path(&wait.output_path, effective, &context)
    }

    fn fail(&self, fail: &Fail, entered: &Entered<'_>, raw: &Value) -> Result<StatesError, StatesError> {
        let context = entered.context(&self.base_context, 0);
        let text = |literal: &Option<String>, dynamic: &Option<String>, field: &str| -> Result<String, StatesError> {
            if let Some(literal) = literal {
                return Ok(literal.clone());
            }
            let Some(expression) = dynamic else {
                return Ok(String::new());
            };
            let value = if intrinsics::is_call(expression) {
                intrinsics::evaluate(expression, raw, &context)?
            } else {
                reference_value(expression, raw, &context, field)?
            };
            match value {
                Value::String(s) => Ok(s),
                other => Err(StatesError::runtime(format!("{field} {expression:?} gave {other}, not a string"))),
            }
        };
        Ok(StatesError::new(
            text(&fail.error, &fail.error_path, "ErrorPath")?,
            text(&fail.cause, &fail.cause_path, "CausePath")?,
        ))
    }

    async fn task(
        &self,
        task: &Task,
        entered: &Entered<'_>,
        raw: &Value,
        retry_count: u64,
        last: &mut u64,
    ) -> Result<Value, StatesError> {
        let token = task.resource.ends_with(".waitForTaskToken").then(|| uuid::Uuid::new_v4().to_string());
        let context = LazyContext::new(
            StateContext {
                name: entered.name,
                entered_time: &entered.time,
                retry_count,
                task_token: token.as_deref(),
                map_item: None,
            },
            &self.base_context,
        );
        let effective = input_path(&task.input_path, raw, &context)?;
        let request = parameters(task.parameters.as_ref(), effective.clone(), &context)?;
        check_size(&format!("the input of state {:?} after Parameters", entered.name), &request)?;
        let timeout = match (&task.timeout_seconds, &task.timeout_seconds_path) {
            (Some(seconds), _) => Some(*seconds),
            (None, Some(p)) => Some(positive_seconds(p, &effective, &context, "TimeoutSecondsPath")?),
            (None, None) => None,
        };
        let heartbeat = match (&task.heartbeat_seconds, &task.heartbeat_seconds_path) {
            (Some(seconds), _) => Some(*seconds),
            (None, Some(p)) => Some(positive_seconds(p, &effective, &context, "HeartbeatSecondsPath")?),
            (None, None) => None,
        };
        let (resource_type, resource) = split_resource(&task.resource);
        self.log.emit(
            last,
            EventDetails::TaskScheduled {
                resource_type: resource_type.clone(),
                resource: resource.clone(),
                region: self.context.region().to_owned(),
                parameters: request.clone(),
                timeout_in_seconds: timeout,
                heartbeat_in_seconds: heartbeat,
            },
        );
        self.log
            .emit(last, EventDetails::TaskStarted { resource_type: resource_type.clone(), resource: resource.clone() });
        let cancellation = self.root.child_token();
        let events = TaskEvents::new(self.log.clone(), *last, &resource_type, &resource);
        let call = TaskCall {
            resource: task.resource.clone(),
            parameters: request,
            state_name: entered.name.to_owned(),
            attempt: u32::try_from(retry_count + 1).unwrap_or(u32::MAX),
            execution_arn: self.context.execution_arn.clone(),
            task_token: token.clone(),
            cancellation: cancellation.clone(),
            events: events.clone(),
        };
        let invoke = self.integrations.invoke(call);
        let outcome = tokio::select! {
            outcome = invoke => Some(outcome),
            () = sleep_or_forever(timeout.map(|s| self.scale.scale_secs(s as f64))) => None,
        };
        // TaskSubmitted, when the integration recorded one, comes before the call's end.
        *last = events.last_id();
        let result = match outcome {
            Some(Ok(result)) => result,
            Some(Err(failure)) => {
                self.log.emit(
                    last,
                    EventDetails::TaskFailed {
                        resource_type,
                        resource,
                        error: failure.error.clone(),
                        cause: failure.cause.clone(),
                    },
                );
                return Err(StatesError::new(failure.error, failure.cause));
            }
            None => {
                cancellation.cancel();
                let error = StatesError::new(
                    names::TIMEOUT,
                    format!("The task ran longer than its TimeoutSeconds ({})", timeout.unwrap_or_default()),
                );
                self.log.emit(
                    last,
                    EventDetails::TaskTimedOut {
                        resource_type,
                        resource,
                        error: error.error.clone(),
                        cause: error.cause.clone(),
                    },
                );
                return Err(error);
            }
        };
        check_size(&format!("the result of state {:?}", entered.name), &result)?;
        self.log.emit(last, EventDetails::TaskSucceeded { resource_type, resource, output: result.clone() });
        let result = result_selector(task.result_selector.as_ref(), result, &context)?;
        let output = result_path(&task.result_path, raw, result)?;
        output_path(&task.output_path, output, &context)
    }

    async fn parallel(
        &self,
        parallel: &Parallel,
        entered: &Entered<'_>,
        raw: &Value,
        retry_count: u64,
        last: &mut u64,
    ) -> Result<Value, StatesError> {
        let context = entered.context(&self.base_context, retry_count);
        let effective = input_path(&parallel.input_path, raw, &context)?;
        let input = parameters(parallel.parameters.as_ref(), effective, &context)?;
        self.log.emit(last, EventDetails::ParallelStateStarted);
        let started = *last;
        let input = &input;
        let mut branches: FuturesUnordered<_> = parallel
            .branches
            .iter()
            .enumerate()
            .map(|(index, branch)| async move {
                let mut branch_last = started;
                (index, self.run_states(&branch.start_at, &branch.states, input.clone(), &mut branch_last).await)
            })
            .collect();
        let mut outputs = vec![Value::Null; parallel.branches.len()];
        while let Some((index, result)) = branches.next().await {
            match result {
                Ok(output) => outputs[index] = output,
                Err(error) => {
                    // The other branches stop here, as the specification requires.
                    drop(branches);
                    self.log.emit(last, EventDetails::ParallelStateFailed);
                    return Err(error);
                }
            }
        }
        self.log.emit(last, EventDetails::ParallelStateSucceeded);
        let result = result_selector(parallel.result_selector.as_ref(), Value::Array(outputs), &context)?;
        let output = result_path(&parallel.result_path, raw, result)?;
        output_path(&parallel.output_path, output, &context)
    }

    async fn map(
        &self,
        map: &Map,
        entered: &Entered<'_>,
        raw: &Value,
        retry_count: u64,
        last: &mut u64,
    ) -> Result<Value, StatesError> {
        let context = entered.context(&self.base_context, retry_count);
        let Some(processor) = map.item_processor.as_ref().or(map.iterator.as_ref()) else {
            return Err(StatesError::runtime(format!("the Map state {:?} has no ItemProcessor", entered.name)));
        };
        if map.item_reader.is_some() {
            return Err(StatesError::runtime(format!(
                "the Map state {:?} reads its items with ItemReader, which the local interpreter does not \
                 support: pass the items in the input and use ItemsPath",
                entered.name
            )));
        }
        let effective = input_path(&map.input_path, raw, &context)?;
        let items_path = map.items_path.as_deref().unwrap_or("$");
        let items = match path::query(items_path, &effective, &context) {
            Ok(Value::Array(items)) => items,
            Ok(other) => {
                return Err(StatesError::runtime(format!(
                    "the ItemsPath {items_path:?} of Map state {:?} gave {}, not a JSON array",
                    entered.name,
                    path::kind(&other)
                )));
            }
            Err(e) => {
                return Err(StatesError::runtime(format!("the ItemsPath of Map state {:?}: {e}", entered.name)));
            }
        };
        let distributed = processor.processor_config.as_ref().and_then(|c| c.mode) == Some(ProcessorMode::Distributed);
        let ceiling = if distributed { DISTRIBUTED_MAP_CONCURRENCY } else { INLINE_MAP_CONCURRENCY };
        let max_concurrency = match (&map.max_concurrency, &map.max_concurrency_path) {
            (Some(n), _) => *n,
            (None, Some(p)) => {
                reference_value(p, &effective, &context, "MaxConcurrencyPath")?.as_u64().ok_or_else(|| {
                    StatesError::runtime(format!("MaxConcurrencyPath {p:?} must point to a non-negative integer"))
                })?
            }
            (None, None) => 0,
        };
        let limit = match usize::try_from(max_concurrency) {
            Ok(0) | Err(_) => ceiling,
            Ok(n) => n.min(ceiling),
        };
        let tolerated_count = match (&map.tolerated_failure_count, &map.tolerated_failure_count_path) {
            (Some(n), _) => Some(*n),
            (None, Some(p)) => Some(
                reference_value(p, &effective, &context, "ToleratedFailureCountPath")?.as_u64().ok_or_else(|| {
                    StatesError::runtime(format!(
                        "ToleratedFailureCountPath {p:?} must point to a non-negative integer"
                    ))
                })?,
            ),
            (None, None) => None,
        };
        let tolerated_percentage = match (&map.tolerated_failure_percentage, &map.tolerated_failure_percentage_path) {
            (Some(n), _) => Some(*n),
            (None, Some(p)) => Some(
                reference_value(p, &effective, &context, "ToleratedFailurePercentagePath")?
                    .as_f64()
                    .filter(|n| (0.0..=100.0).contains(n))
                    .ok_or_else(|| {
                        StatesError::runtime(format!(
                            "ToleratedFailurePercentagePath {p:?} must point to a number from 0 to 100"
                        ))
                    })?,
            ),
            (None, None) => None,
        };
        let selector = map.item_selector.as_ref().or(map.parameters.as_ref());
        let length = items.len();
        self.log.emit(last, EventDetails::MapStateStarted { length });
        let started = *last;
        let (effective, name, base) = (&effective, entered.name, &self.base_context);
        let entered_time = entered.time.as_str();
        let mut iterations = stream::iter(items.into_iter().enumerate())
            .map(|(index, item)| async move {
                let mut iteration_last = started;
                self.log.emit(&mut iteration_last, EventDetails::MapIterationStarted { name: name.to_owned(), index });
                let input = match selector {
                    Some(selector) => {
                        let context = LazyContext::new(
                            StateContext {
                                name,
                                entered_time,
                                retry_count,
                                task_token: None,
                                map_item: Some((index, &item)),
                            },
                            base,
                        );
                        template::evaluate(selector, effective, &context)
                    }
                    None => Ok(item),
                };
                let result = match input {
                    Ok(input) => {
                        self.run_states(&processor.start_at, &processor.states, input, &mut iteration_last).await
                    }
                    Err(e) => Err(e),
                };
                let details = match &result {
                    Ok(_) => EventDetails::MapIterationSucceeded { name: name.to_owned(), index },
                    Err(_) => EventDetails::MapIterationFailed { name: name.to_owned(), index },
                };
                self.log.emit(&mut iteration_last, details);
                (index, result)
            })
            .buffer_unordered(limit);
        let tolerant = tolerated_count.is_some() || tolerated_percentage.is_some();
        let mut outputs = vec![Value::Null; length];
        let mut failures = 0u64;
        while let Some((index, result)) = iterations.next().await {
            match result {
                Ok(output) => outputs[index] = output,
                Err(error) if !tolerant || error.error == names::RUNTIME => {
                    drop(iterations);
                    self.log.emit(last, EventDetails::MapStateFailed);
                    return Err(error);
                }
                Err(error) => {
                    failures += 1;
                    outputs[index] = error.to_output();
                    let over_count = tolerated_count.is_some_and(|n| failures > n);
                    let over_percentage =
                        tolerated_percentage.is_some_and(|p| failures as f64 * 100.0 / length as f64 > p);
                    if over_count || over_percentage {
                        drop(iterations);
                        self.log.emit(last, EventDetails::MapStateFailed);
                        return Err(StatesError::new(
                            names::EXCEED_TOLERATED_FAILURE_THRESHOLD,
                            format!(
                                "The Map state {name:?} failed because {failures} of its {length} items failed, \
                                 more than its tolerated failure threshold"
                            ),
                        ));
                    }
                }
            }
        }
        self.log.emit(last, EventDetails::MapStateSucceeded);
        let result = result_selector(map.result_selector.as_ref(), Value::Array(outputs), &context)?;
        let output = result_path(&map.result_path, raw, result)?;
        output_path(&map.output_path, output, &context)
    }
}

fn kind_of(state: &State) -> StateKind {
    match state {
        State::Task(_) => StateKind::Task,
        State::Pass(_) => StateKind::Pass,
        State::Choice(_) => StateKind::Choice,
        State::Wait(_) => StateKind::Wait,
        State::Succeed(_) => StateKind::Succeed,
        State::Fail(_) => StateKind::Fail,
        State::Parallel(_) => StateKind::Parallel,
        State::Map(_) => StateKind::Map,
    }
}

fn pass_next(pass: &Pass) -> Next<'_> {
    pass.next.as_deref()
}

/// The value at a path that must exist (SecondsPath, ErrorPath, MaxConcurrencyPath...).
fn reference_value(p: &str, input: &Value, context: &dyn ContextObject, field: &str) -> Result<Value, StatesError> {
    path::query(p, input, context).map_err(|e| StatesError::runtime(format!("{field}: {e}")))
}

fn positive_seconds(p: &str, input: &Value, context: &dyn ContextObject, field: &str) -> Result<u64, StatesError> {
    let value = reference_value(p, input, context, field)?;
    value
        .as_u64()
        .filter(|n| *n > 0)
        .ok_or_else(|| StatesError::runtime(format!("{field} {p:?} gave {value}, not a positive integer of seconds")))
}

/// InputPath: absent is `$`; `null` gives `{}`.
fn input_path(field: &NullablePath, raw: &Value, context: &dyn ContextObject) -> Result<Value, StatesError> {
    select_path(field, raw.clone(), context, "InputPath")
}

/// OutputPath: absent is `$`; `null` gives `{}`.
fn output_path(field: &NullablePath, value: Value, context: &dyn ContextObject) -> Result<Value, StatesError> {
    select_path(field, value, context, "OutputPath")
}

fn select_path(
    field: &NullablePath,
    value: Value,
    context: &dyn ContextObject,
    name: &str,
) -> Result<Value, StatesError> {
    match field {
        None => Ok(value),
        Some(None) => Ok(Value::Object(JsonMap::new())),
        Some(Some(p)) if p == "$" => Ok(value),
        Some(Some(p)) => path::query(p, &value, context).map_err(|e| match e {
            path::PathError::NoMatch { .. } => StatesError::runtime(format!(
                "Invalid path '{p}' : No results for path: {p} ({name}) in the value {value}"
            )),
            other => StatesError::runtime(format!("{name}: {other}")),
        }),
    }
}

fn parameters(
    template_value: Option<&Value>,
    effective: Value,
    context: &dyn ContextObject,
) -> Result<Value, StatesError> {
    match template_value {
        Some(t) => template::evaluate(t, &effective, context),
        None => Ok(effective),
    }
}

fn result_selector(selector: Option<&Value>, result: Value, context: &dyn ContextObject) -> Result<Value, StatesError> {
    match selector {
        Some(s) => template::evaluate(s, &result, context),
        None => Ok(result),
    }
}

/// ResultPath: absent is `$` (the result replaces the input); `null` keeps the input and drops
/// the result; a reference path merges the result into a copy of the input.
fn result_path(field: &NullablePath, raw: &Value, result: Value) -> Result<Value, StatesError> {
    match field {
        None => Ok(result),
        Some(None) => Ok(raw.clone()),
        Some(Some(p)) => {
            let mut output = raw.clone();
            path::set(&mut output, p, result).map_err(|e| match e {
                path::PathError::Mismatch { .. } => StatesError::new(names::RESULT_PATH_MATCH_FAILURE, e.to_string()),
                other => StatesError::runtime(format!("ResultPath: {other}")),
            })?;
            Ok(output)
        }
    }
}

/// The output of a state whose error `catcher` caught: the error output placed by the catcher's
/// ResultPath into the state's raw input.
fn caught(catcher: &Catcher, raw: &Value, error: &StatesError) -> Result<Value, StatesError> {
    result_path(&catcher.result_path, raw, error.to_output())
}
