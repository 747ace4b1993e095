//! An interpreter of the Amazon States Language: it runs a
//! [`model::states::StateMachine`] on an input, calls Task resources through the
//! [`Integrations`] trait, and reports every step as a GetExecutionHistory event. Pure: no
//! network, no files; the time comes from a [`Clock`] and randomness (task tokens, `States.UUID`,
//! `States.MathRandom`, Retry jitter) from a [`RandomSource`], both given by the caller, so an
//! execution run again with the same seed and a [`FixedClock`] records the same history. Durations
//! can be scaled by a [`TimeScale`] in tests. An execution fails, as a standard execution does on
//! AWS, when its history reaches [`MAX_HISTORY_EVENTS`] (25,000; none for an express execution:
//! [`Execution::with_history_limit`]), and it yields to the scheduler and looks for a stop between
//! states, so a loop of states that await nothing neither starves the runtime nor outlives a stop.
//!
//! ```
//! use std::sync::Arc;
//! use futures_util::future::BoxFuture;
//! use serde_json::{Value, json};
//! use states_interpreter::{Execution, ExecutionContext, Integrations, Outcome, TaskCall, TaskFailure};
//!
//! struct Echo;
//! impl Integrations for Echo {
//!     fn invoke(&self, call: TaskCall) -> BoxFuture<'_, Result<Value, TaskFailure>> {
//!         Box::pin(async move { Ok(json!({"Payload": call.parameters})) })
//!     }
//! }
//!
//! let machine = model::states::StateMachine::from_json(r#"{
//!     "StartAt": "Call",
//!     "States": {"Call": {"Type": "Task", "Resource": "arn:aws:states:::lambda:invoke",
//!         "Parameters": {"greeting.$": "States.Format('hello {}', $.who)"},
//!         "OutputPath": "$.Payload", "End": true}}
//! }"#)?;
//! let context = ExecutionContext::new("arn:aws:states:us-east-1:123456789012:stateMachine:M", "run-1", "arn:aws:iam::123456789012:role/R");
//! let outcome = tokio::runtime::Builder::new_current_thread().enable_time().build()?
//!     .block_on(Execution::new(machine, json!({"who": "world"}), context, Arc::new(Echo)).run());
//! assert_eq!(outcome, Outcome::Succeeded { output: json!({"greeting": "hello world"}) });
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

//! Both query languages run: JSONPath (paths, templates, intrinsic functions) and JSONata (every
//! `{% %}` field, through `jsonata-core`), with workflow variables (`Assign`) in both, scoped per
//! Parallel branch and Map iteration. [`CompiledMachine::problems`] names every JSONata expression
//! that does not parse, for CreateStateMachine.
//!
//! Not implemented: Map's ItemReader, ItemBatcher and
//! ResultWriter (distributed Maps run their items inline, as iterations, not child executions),
//! HeartbeatSeconds for a task that is not a callback (`.sync` calls have no heartbeat channel;
//! a `.waitForTaskToken` task with [`Execution::with_task_tokens`] enforces it), MapIterationAborted and
//! ...Aborted state events when a stop or a failed sibling cuts iterations short, and the legacy
//! Lambda-ARN event types (LambdaFunctionScheduled...): every Task records Task... events.

mod callbacks;
mod choice;
mod clock;
mod compiled;
mod context;
mod error;
mod events;
mod execution;
mod fan_out;
mod inspect;
mod integrations;
mod intrinsics;
mod jsonata;
mod path;
mod pipeline;
mod random;
mod recovery;
mod task;
mod template;
pub mod test_state;
pub mod testing;
mod timestamp;
mod timing;
mod variables;

pub use callbacks::{Callback, CallbackError, TaskTokens};
pub use clock::{Clock, FixedClock, SystemClock};
pub use compiled::CompiledMachine;
pub use context::ExecutionContext;
pub use error::{StatesError, names};
pub use events::{
    EventDetails, EventSink, HISTORY_LIMIT_ERROR, HistoryEvent, HistoryRecorder, MAX_HISTORY_EVENTS, StateKind,
    history_limit_cause,
};
pub use execution::{
    DISTRIBUTED_MAP_CONCURRENCY, Execution, INLINE_MAP_CONCURRENCY, MAX_PAYLOAD_BYTES, Outcome, StopHandle,
};
pub use integrations::{Integrations, TaskCall, TaskEvents, TaskFailure, split_resource};
/// A JSON value's type as messages name it ("an object", "a string"...).
pub use path::kind as json_kind;
pub use random::RandomSource;
pub use recovery::retry_delay_seconds;
pub use timing::TimeScale;
