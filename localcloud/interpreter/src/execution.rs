//! Running a state machine: the execution (its start, end, timeout and StopExecution) and the
//! state loop that walks a machine, a Parallel branch or a Map iteration from state to state,
//! with the states that do their work here (Pass, Choice, Wait, Succeed, Fail). Elsewhere: each
//! state's data flow (`pipeline`), Task (`task`), Parallel and Map (`fan_out`), Retry and Catch
//! (`recovery`).

use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures_util::future::BoxFuture;
use serde_json::Value;
use tokio_util::sync::CancellationToken;

use crate::callbacks::TaskTokens;
use crate::clock::{Clock, SystemClock};
use crate::compiled::{CompiledMachine, FailPaths, JsonataRule, Node, Scope, WaitPaths, Work};
use crate::context::{ExecutionContext, LazyContext, StateContext};
use crate::error::{StatesError, names};
use crate::events::{
    EventDetails, EventLog, EventSink, HISTORY_LIMIT_ERROR, MAX_HISTORY_EVENTS, StateKind, history_limit_cause,
};
use crate::integrations::Integrations;
use crate::jsonata::Bindings;
use crate::pipeline::{DataFlow, Finished, check_size, reference_value};
use crate::random::RandomSource;
use crate::template::Expression;
use crate::test_state::TestMode;
use crate::timestamp;
use crate::timing::TimeScale;
use crate::variables::Variables;

pub use crate::fan_out::{DISTRIBUTED_MAP_CONCURRENCY, INLINE_MAP_CONCURRENCY};
pub use crate::pipeline::MAX_PAYLOAD_BYTES;

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
    machine: CompiledMachine,
    input: Value,
    context: ExecutionContext,
    integrations: Arc<dyn Integrations>,
    events: Arc<dyn EventSink>,
    time_scale: TimeScale,
    clock: Arc<dyn Clock>,
    random: Arc<RandomSource>,
    stop: StopHandle,
    history_limit: Option<u64>,
    tokens: Option<Arc<TaskTokens>>,
}

impl Execution {
    /// An execution of `machine` (a `StateMachine`, loaded here, or a [`CompiledMachine`] loaded
    /// once for many executions) on `input`; Task states call `integrations`. It runs on the
    /// [`SystemClock`] and an OS-seeded [`RandomSource`] unless given others. The machine
    /// should have passed `validate()` (the API does that at CreateStateMachine); a definition
    /// that is broken anyway fails the execution with `States.Runtime` where it breaks.
    pub fn new(
        machine: impl Into<CompiledMachine>,
        input: Value,
        context: ExecutionContext,
        integrations: Arc<dyn Integrations>,
    ) -> Self {
        Self {
            machine: machine.into(),
            input,
            context,
            integrations,
            events: Arc::new(()),
            time_scale: TimeScale::REAL,
            clock: Arc::new(SystemClock),
            random: Arc::new(RandomSource::from_os()),
            stop: StopHandle::default(),
            history_limit: Some(MAX_HISTORY_EVENTS),
            tokens: None,
        }
    }

    /// Runs `.waitForTaskToken` tasks as callbacks: each waits in `tokens` for SendTaskSuccess,
    /// SendTaskFailure and SendTaskHeartbeat, with its HeartbeatSeconds enforced
    /// (`States.HeartbeatTimeout`). Without it, the integration answers for the whole task.
    pub fn with_task_tokens(mut self, tokens: Arc<TaskTokens>) -> Self {
        self.tokens = Some(tokens);
        self
    }

    /// Fails the execution when its history reaches `limit` events, as AWS does for a standard
    /// execution at [`MAX_HISTORY_EVENTS`] (the default); None for no limit (an express
    /// execution, whose history AWS does not limit).
    pub fn with_history_limit(mut self, limit: Option<u64>) -> Self {
        self.history_limit = limit;
        self
    }

    /// Reads the time (event timestamps, the context object's times, Wait timestamps) and runs
    /// the timers from `clock`.
    pub fn with_clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = clock;
        self
    }

    /// Draws task tokens, `States.UUID`, unseeded `States.MathRandom` and Retry jitter from
    /// `random`: the same seed gives the same values on a replay.
    pub fn with_random(mut self, random: RandomSource) -> Self {
        self.random = Arc::new(random);
        self
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
        let Execution {
            machine,
            input,
            mut context,
            integrations,
            events,
            time_scale,
            clock,
            random,
            stop,
            history_limit,
            tokens,
        } = self;
        context.start_time.get_or_insert_with(|| clock.now());
        // Cancelled by StopExecution or by a full history: the state loop goes no further.
        let halt = stop.token.child_token();
        let runner = Runner {
            integrations,
            log: Arc::new(EventLog::limited(events, clock.clone(), history_limit, halt.clone())),
            halt,
            scale: time_scale,
            clock,
            random,
            base_context: context.base_object(&input),
            context,
            root: CancellationToken::new(),
            tokens,
            test: None,
        };
        let mut last = 0;
        runner.log.emit(
            &mut last,
            EventDetails::ExecutionStarted { input: input.clone(), role_arn: runner.context.role_arn.clone() },
        );
        tracing::debug!(execution = %runner.context.execution_arn, "execution started");

        enum End {
            Done(Result<Value, StatesError>),
            /// Stopped, or the history is full.
            Halted,
            TimedOut,
        }
        let timeout = machine.definition().timeout_seconds.map(|s| runner.scale.scale_secs(s as f64));
        let end = {
            let body = async {
                check_size("the execution input", &input)?;
                runner.run_states(machine.top(), input, &Variables::root(), &mut last).await
            };
            // Biased: the same execution, replayed, takes the same branch when two are ready.
            tokio::select! {
                biased;
                result = body => End::Done(result),
                () = runner.halt.cancelled() => End::Halted,
                () = sleep_or_forever(runner.clock.as_ref(), timeout) => End::TimedOut,
            }
        };
        // Whatever is still in flight learns it is no longer wanted.
        runner.root.cancel();
        let mut outcome = match end {
            End::Done(Ok(output)) => match check_size("the execution output", &output) {
                Ok(()) => Outcome::Succeeded { output },
                Err(e) => Outcome::Failed { error: e.error, cause: e.cause },
            },
            End::Done(Err(e)) => Outcome::Failed { error: e.error, cause: e.cause },
            // Stopped; when the history is full instead, the outcome is replaced below.
            End::Halted => {
                let (error, cause) = stop.reason();
                Outcome::Aborted { error, cause }
            }
            End::TimedOut => Outcome::TimedOut {
                error: names::TIMEOUT.to_owned(),
                cause: format!(
                    "The execution ran longer than the state machine's TimeoutSeconds ({})",
                    machine.definition().timeout_seconds.unwrap_or_default()
                ),
            },
        };
        // AWS: the history's last allowed event (number 25,000) may only be ExecutionSucceeded;
        // any other end there, or an event refused before it, is ExecutionFailed for the limit.
        // AWS's text says "isn't ExecutionSucceeded" without exception, so a stop or a Fail state
        // that would take that number fails for the limit as well.
        let succeeded = matches!(outcome, Outcome::Succeeded { .. });
        if runner.log.is_full() || (!succeeded && runner.log.next_is_last_allowed()) {
            outcome = Outcome::Failed {
                error: HISTORY_LIMIT_ERROR.to_owned(),
                cause: history_limit_cause(runner.log.limit().unwrap_or(MAX_HISTORY_EVENTS)),
            };
        }
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
        runner.log.emit_last(&mut last, details);
        tracing::debug!(execution = %runner.context.execution_arn, status = outcome.status(), "execution ended");
        outcome
    }
}

pub(crate) async fn sleep_or_forever(clock: &dyn Clock, duration: Option<Duration>) {
    match duration {
        Some(duration) => clock.sleep(duration).await,
        None => std::future::pending().await,
    }
}

/// Where a state goes after it succeeded (or an error was caught): a state name, or the end of
/// its machine, branch or iteration.
pub(crate) type Next<'a> = Option<&'a str>;

/// What every thread of one execution shares.
pub(crate) struct Runner {
    pub integrations: Arc<dyn Integrations>,
    pub log: Arc<EventLog>,
    pub scale: TimeScale,
    pub clock: Arc<dyn Clock>,
    pub random: Arc<RandomSource>,
    pub context: ExecutionContext,
    pub base_context: Value,
    /// Cancelled when the execution ends: in-flight task calls learn they are no longer wanted.
    pub root: CancellationToken,
    /// Cancelled by StopExecution or when the history is full: no state starts after it.
    pub halt: CancellationToken,
    /// Where callback tasks wait for their token's callbacks.
    pub tokens: Option<Arc<TaskTokens>>,
    /// Set for a TestState call: one attempt, no wait, mocks for Map and Parallel.
    pub test: Option<Arc<TestMode>>,
}

/// What a state knows while it runs.
pub(crate) struct Entered<'a> {
    pub name: &'a str,
    pub time: String,
    /// The variables of the scope it runs in.
    pub variables: &'a Arc<Variables>,
}

impl Entered<'_> {
    /// The context object of this state (without a task token or Map item).
    pub fn context<'b>(&'b self, runner: &'b Runner, retry_count: u64) -> LazyContext<'b> {
        LazyContext::new(
            StateContext { name: self.name, entered_time: &self.time, retry_count, task_token: None, map_item: None },
            &runner.base_context,
            &runner.random,
            self.variables,
        )
    }
}

impl Runner {
    /// Runs a machine (the top level, a Parallel branch or a Map iteration) from its StartAt to
    /// its end; `last` is the thread's last event id.
    pub fn run_states<'a>(
        &'a self,
        scope: &'a Scope,
        input: Value,
        variables: &'a Arc<Variables>,
        last: &'a mut u64,
    ) -> BoxFuture<'a, Result<Value, StatesError>> {
        Box::pin(async move {
            let mut name = scope.start_at.as_str();
            let mut input = input;
            loop {
                self.checkpoint().await;
                let node = scope.states.get(name).ok_or_else(|| {
                    StatesError::runtime(format!("the definition names the state {name:?}, which does not exist"))
                })?;
                let (next, output) = self.run_state(name, node, input, variables, last).await?;
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

    /// Between states: gives the scheduler its turn, so that a loop of Pass and Choice states,
    /// which awaits nothing, neither starves the runtime's other tasks nor keeps the execution
    /// from seeing StopExecution; and goes no further once the execution is halted (stopped, or
    /// its history full): this thread then waits forever, and the execution's own `select!` ends
    /// it.
    pub async fn checkpoint(&self) {
        tokio::task::yield_now().await;
        if self.halt.is_cancelled() {
            std::future::pending::<()>().await;
        }
    }

    /// Runs one state: where it goes next, and its output (TestState runs just this).
    pub(crate) async fn run_state<'a>(
        &'a self,
        name: &'a str,
        node: &'a Node,
        raw: Value,
        variables: &'a Arc<Variables>,
        last: &mut u64,
    ) -> Result<(Next<'a>, Value), StatesError> {
        let entered = Entered { name, time: timestamp::format(self.clock.now()), variables };
        self.log.emit(last, EventDetails::StateEntered { kind: node.kind, name: name.to_owned(), input: raw.clone() });
        let flow = &node.flow;
        let result = match &node.work {
            Work::Pass(pass) => {
                let context = entered.context(self, 0);
                // JSONata: no result; Output (or the input) is the output.
                let result = match (&flow.jsonata, &pass.result) {
                    (Some(_), _) => None,
                    (None, Some(result)) => {
                        crate::inspect::record(|i| i.result = Some(result.clone()));
                        Some(result.clone())
                    }
                    (None, None) => Some(flow.request(&raw, &context, name)?),
                };
                let finished = flow.finish(&raw, result, &context, name)?;
                Ok((node.next.as_deref(), self.exit(node.kind, name, finished, variables, last)?))
            }
            Work::JsonataChoice(choice, rules) => {
                let context = entered.context(self, 0);
                let (next, finished) = self.choose(name, choice, rules, flow, &raw, &context)?;
                Ok((Some(next), self.exit(node.kind, name, finished, variables, last)?))
            }
            Work::Choice(choice, rules) => {
                let context = entered.context(self, 0);
                let effective = flow.input_path(&raw, &context)?;
                let next = match rules.choose(&effective, &context)? {
                    Some(next) => next,
                    None => choice.default.as_deref().ok_or_else(|| {
                        StatesError::new(
                            names::NO_CHOICE_MATCHED,
                            format!("No Choice rule of state {name:?} matched the input, and it has no Default"),
                        )
                    })?,
                };
                let finished = flow.finish(&raw, None, &context, name)?;
                Ok((Some(next), self.exit(node.kind, name, finished, variables, last)?))
            }
            Work::Wait(wait, paths) => {
                let finished = self.wait(wait, paths, flow, &entered, &raw).await?;
                Ok((node.next.as_deref(), self.exit(node.kind, name, finished, variables, last)?))
            }
            Work::Succeed => {
                let context = entered.context(self, 0);
                let finished = flow.finish(&raw, None, &context, name)?;
                Ok((None, self.exit(node.kind, name, finished, variables, last)?))
            }
            Work::Fail(fail, paths) => Err(self.fail(fail, paths, &entered, &raw)?),
            Work::Task(..) | Work::Parallel(_) | Work::Map(_) => self.with_recovery(node, &entered, &raw, last).await,
        };
        result.map_err(|error| self.evaluation_failed(name, error, last))
    }

    /// Records EvaluationFailed for an error a JSONata evaluation raised in state `name`, once:
    /// the error goes on without its location, so the states it fails around do not record it
    /// again.
    pub fn evaluation_failed(&self, name: &str, mut error: StatesError, last: &mut u64) -> StatesError {
        if let Some(location) = error.location.take() {
            self.log.emit(
                last,
                EventDetails::EvaluationFailed {
                    state: name.to_owned(),
                    error: error.error.clone(),
                    cause: error.cause.clone(),
                    location,
                },
            );
        }
        error
    }

    /// One attempt at a Task, Parallel or Map state, from its raw input to its output.
    pub async fn attempt(
        &self,
        node: &Node,
        entered: &Entered<'_>,
        raw: &Value,
        retry_count: u64,
        last: &mut u64,
    ) -> Result<Finished, StatesError> {
        if let (Some(test), Work::Parallel(_) | Work::Map(_)) = (&self.test, &node.work) {
            return self.mocked_fan_out(node, entered, raw, retry_count, test);
        }
        match &node.work {
            Work::Task(task, paths) => self.task(task, paths, &node.flow, entered, raw, retry_count, last).await,
            Work::Parallel(branches) => self.parallel(branches, &node.flow, entered, raw, retry_count, last).await,
            Work::Map(map) => self.map(map, &node.flow, entered, raw, retry_count, last).await,
            _ => Err(StatesError::runtime(format!("the state {:?} cannot be retried", entered.name))),
        }
    }

    /// Records the state's exit, once its output is within the payload limit and its variables
    /// are stored.
    pub fn exit(
        &self,
        kind: StateKind,
        name: &str,
        finished: Finished,
        variables: &Variables,
        last: &mut u64,
    ) -> Result<Value, StatesError> {
        let Finished { output, assigned } = finished;
        check_size(&format!("the output of state {name:?}"), &output)?;
        if let Some(assigned) = &assigned {
            variables.assign(name, assigned.clone())?;
        }
        if crate::inspect::is_recording() {
            let visible = variables.visible();
            if !visible.is_empty() {
                crate::inspect::record(|i| i.variables = Some(visible));
            }
        }
        self.log
            .emit(last, EventDetails::StateExited { kind, name: name.to_owned(), output: output.clone(), assigned });
        Ok(output)
    }

    /// A JSONata Choice: the first rule whose Condition is true, with its own Output and Assign;
    /// the Default, with the state's, when none is ("If a Choice Rule matches, its Assign is used.
    /// If no rule matches, the state-level Assign is used").
    fn choose<'a>(
        &self,
        name: &str,
        choice: &'a model::states::Choice,
        rules: &'a [JsonataRule],
        flow: &DataFlow,
        raw: &Value,
        context: &dyn crate::path::ContextObject,
    ) -> Result<(&'a str, Finished), StatesError> {
        let bindings = Bindings { input: raw, result: None, error_output: None, context };
        for (index, rule) in rules.iter().enumerate() {
            let field = format!("Choices[{index}].Condition");
            match rule.condition.evaluate(&bindings, &field, name)? {
                Value::Bool(true) => {
                    let assigned = rule
                        .assign
                        .as_ref()
                        .map(|a| a.evaluate(raw, &bindings, &format!("Choices[{index}].Assign"), name))
                        .transpose()?;
                    let output = match &rule.output {
                        Some(output) => output.evaluate(&bindings, &format!("Choices[{index}].Output"), name)?,
                        None => raw.clone(),
                    };
                    return Ok((rule.next.as_str(), Finished { output, assigned }));
                }
                Value::Bool(false) => {}
                other => {
                    return Err(StatesError::evaluation(
                        field,
                        format!(
                            "The Condition of rule {index} of Choice state {name:?} gave {other}, not true or false"
                        ),
                    ));
                }
            }
        }
        let next = choice.default.as_deref().ok_or_else(|| {
            StatesError::new(
                names::NO_CHOICE_MATCHED,
                format!("No Choice rule of state {name:?} matched the input, and it has no Default"),
            )
        })?;
        Ok((next, flow.finish(raw, None, context, name)?))
    }

    async fn wait(
        &self,
        wait: &model::states::Wait,
        paths: &WaitPaths,
        flow: &DataFlow,
        entered: &Entered<'_>,
        raw: &Value,
    ) -> Result<Finished, StatesError> {
        let context = entered.context(self, 0);
        let effective = flow.input_path(raw, &context)?;
        let bindings = Bindings { input: raw, result: None, error_output: None, context: &context };
        let until = |text: &str, source: &str| -> Result<Duration, StatesError> {
            let target = timestamp::parse(text).ok_or_else(|| {
                StatesError::runtime(format!(
                    "{source} is {text:?}, which is not an RFC 3339 timestamp such as 2016-03-14T01:59:00Z"
                ))
            })?;
            let now = jiff::Timestamp::try_from(self.clock.now()).unwrap_or(jiff::Timestamp::UNIX_EPOCH);
            let seconds = (target.as_millisecond() - now.as_millisecond()).max(0) as f64 / 1000.0;
            Ok(self.scale.scale_secs(seconds))
        };
        let delay = if let Some(seconds) = wait.seconds.as_ref().and_then(|s| s.as_number()) {
            self.scale.scale_secs(seconds as f64)
        } else if let Some(expression) = &paths.seconds {
            let seconds =
                expression.evaluate_as(&bindings, "Seconds", "Wait", entered.name, "a non-negative integer", |v| {
                    v.as_u64().ok_or(v)
                })?;
            self.scale.scale_secs(seconds as f64)
        } else if let Some(expression) = &paths.timestamp {
            let text = expression.evaluate_as(
                &bindings,
                "Timestamp",
                "Wait",
                entered.name,
                "a timestamp string",
                |v| match v {
                    Value::String(text) => Ok(text),
                    other => Err(other),
                },
            )?;
            until(&text, "The Timestamp expression's value")?
        } else if let Some(text) = &wait.timestamp {
            until(text, "Timestamp")?
        } else if let Some(p) = &paths.seconds_path {
            let value = reference_value(p, &effective, &context, "SecondsPath")?;
            let seconds = value.as_u64().ok_or_else(|| {
                StatesError::runtime(format!(
                    "SecondsPath {:?} gave {value}, not a non-negative integer of seconds",
                    p.text()
                ))
            })?;
            self.scale.scale_secs(seconds as f64)
        } else if let Some(p) = &paths.timestamp_path {
            let value = reference_value(p, &effective, &context, "TimestampPath")?;
            let text = value.as_str().ok_or_else(|| {
                StatesError::runtime(format!("TimestampPath {:?} gave {value}, not a timestamp string", p.text()))
            })?;
            until(text, &format!("the value at TimestampPath {:?}", p.text()))?
        } else {
            Duration::ZERO
        };
        // TestState runs a Wait state without waiting.
        if self.test.is_none() {
            self.clock.sleep(delay).await;
        }
        flow.finish(raw, None, &context, entered.name)
    }

    fn fail(
        &self,
        fail: &model::states::Fail,
        paths: &FailPaths,
        entered: &Entered<'_>,
        raw: &Value,
    ) -> Result<StatesError, StatesError> {
        let context = entered.context(self, 0);
        let bindings = Bindings { input: raw, result: None, error_output: None, context: &context };
        let text = |literal: &Option<String>,
                    jsonata: &Option<Arc<crate::jsonata::Field>>,
                    dynamic: &Option<Expression>,
                    written: &Option<String>,
                    field: &str|
         -> Result<String, StatesError> {
            if let Some(expression) = jsonata {
                let name = if field == "ErrorPath" { "Error" } else { "Cause" };
                return expression.evaluate_as(&bindings, name, "Fail", entered.name, "a string", |v| match v {
                    Value::String(s) => Ok(s),
                    other => Err(other),
                });
            }
            if let Some(literal) = literal {
                return Ok(literal.clone());
            }
            let (Some(expression), Some(written)) = (dynamic, written) else {
                return Ok(String::new());
            };
            let value = match expression {
                Expression::Call(call) => call.evaluate(raw, &context)?,
                Expression::Broken(error) => return Err(error.clone()),
                Expression::Path(query) => reference_value(query, raw, &context, field)?,
            };
            match value {
                Value::String(s) => Ok(s),
                other => Err(StatesError::runtime(format!("{field} {written:?} gave {other}, not a string"))),
            }
        };
        Ok(StatesError::new(
            text(&fail.error, &paths.error, &paths.error_path, &fail.error_path, "ErrorPath")?,
            text(&fail.cause, &paths.cause, &paths.cause_path, &fail.cause_path, "CausePath")?,
        ))
    }
}
