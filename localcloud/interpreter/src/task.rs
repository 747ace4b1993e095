//! The Task state: its request built by the data-flow pipeline, the call handed to the
//! integrations with a cancellation token (and a task token for `.waitForTaskToken`), its
//! TimeoutSeconds, and the Task... events AWS records around it.

use model::states::Task;
use serde_json::Value;

use crate::callbacks::Callback;
use crate::compiled::TaskPaths;
use crate::context::{LazyContext, StateContext};
use crate::error::{StatesError, names};
use crate::events::EventDetails;
use crate::execution::{Entered, Runner, sleep_or_forever};
use crate::integrations::{TaskCall, TaskEvents, TaskFailure, split_resource};
use crate::jsonata::{Bindings, Field};
use crate::pipeline::{DataFlow, Finished, check_size, positive_seconds};

impl Runner {
    #[allow(clippy::too_many_arguments)]
    pub(crate) async fn task(
        &self,
        task: &Task,
        paths: &TaskPaths,
        flow: &DataFlow,
        entered: &Entered<'_>,
        raw: &Value,
        retry_count: u64,
        last: &mut u64,
    ) -> Result<Finished, StatesError> {
        let token = task.resource.ends_with(".waitForTaskToken").then(|| self.random.uuid().to_string());
        let context = LazyContext::new(
            StateContext {
                name: entered.name,
                entered_time: &entered.time,
                retry_count,
                task_token: token.as_deref(),
                map_item: None,
            },
            &self.base_context,
            &self.random,
            entered.variables,
        );
        let request = flow.request(raw, &context, entered.name)?;
        let after = if flow.jsonata.is_some() { "Arguments" } else { "Parameters" };
        check_size(&format!("the input of state {:?} after {after}", entered.name), &request)?;
        let effective = match (&paths.timeout_seconds_path, &paths.heartbeat_seconds_path) {
            (None, None) => Value::Null,
            _ => flow.input_path(raw, &context)?,
        };
        let bindings = Bindings { input: raw, result: None, error_output: None, context: &context };
        let seconds = |expression: &Field, field: &str| {
            expression.evaluate_as(&bindings, field, "Task", entered.name, "a positive integer", |value| {
                value.as_u64().filter(|n| *n > 0).ok_or(value)
            })
        };
        let timeout = match (task.timeout_seconds.as_ref().and_then(|s| s.as_number()), &paths.timeout_seconds_path) {
            (Some(seconds), _) => Some(seconds),
            (None, Some(p)) => Some(positive_seconds(p, &effective, &context, "TimeoutSecondsPath")?),
            (None, None) => paths.timeout_seconds.as_deref().map(|e| seconds(e, "TimeoutSeconds")).transpose()?,
        };
        let heartbeat =
            match (task.heartbeat_seconds.as_ref().and_then(|s| s.as_number()), &paths.heartbeat_seconds_path) {
                (Some(seconds), _) => Some(seconds),
                (None, Some(p)) => Some(positive_seconds(p, &effective, &context, "HeartbeatSecondsPath")?),
                (None, None) => {
                    paths.heartbeat_seconds.as_deref().map(|e| seconds(e, "HeartbeatSeconds")).transpose()?
                }
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
        // No call once the execution is halted (its TaskScheduled may have been refused for a full
        // history): the call would run for an execution that is over.
        self.checkpoint().await;
        // A callback task (`.waitForTaskToken`) waits, once the service took the call, for
        // SendTaskSuccess or SendTaskFailure with its token, each SendTaskHeartbeat starting its
        // HeartbeatSeconds again; without a registry the integration does all of it.
        let waiting = match (&token, self.tokens.as_deref()) {
            (Some(token), Some(tokens)) => Some(tokens.open(token)),
            _ => None,
        };
        let invoke = self.integrations.invoke(call);
        let beat = heartbeat.map(|s| self.scale.scale_secs(s as f64));
        let work = async {
            let answer = invoke.await;
            let Some(mut waiting) = waiting else {
                return Ended::Answered(answer);
            };
            match answer {
                Ok(submitted) => events.submitted(submitted),
                Err(failure) => return Ended::Answered(Err(failure)),
            }
            loop {
                tokio::select! {
                    biased;
                    callback = waiting.next() => match callback {
                        Callback::Success(output) => return Ended::Answered(Ok(output)),
                        Callback::Failure { error, cause } => {
                            return Ended::Answered(Err(TaskFailure::new(
                                error.unwrap_or_default(),
                                cause.unwrap_or_default(),
                            )));
                        }
                        Callback::Heartbeat => {}
                    },
                    () = sleep_or_forever(self.clock.as_ref(), beat) => return Ended::HeartbeatTimedOut,
                }
            }
        };
        // Biased: a call that answered wins over a timeout that fell due at the same time, the
        // same way on every replay.
        let outcome = tokio::select! {
            biased;
            ended = work => ended,
            () = sleep_or_forever(self.clock.as_ref(), timeout.map(|s| self.scale.scale_secs(s as f64))) => Ended::TimedOut,
        };
        // TaskSubmitted, when the integration recorded one, comes before the call's end.
        *last = events.last_id();
        let result = match outcome {
            Ended::Answered(Ok(result)) => result,
            Ended::Answered(Err(failure)) => {
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
            ended @ (Ended::TimedOut | Ended::HeartbeatTimedOut) => {
                cancellation.cancel();
                let error = if matches!(ended, Ended::TimedOut) {
                    StatesError::new(
                        names::TIMEOUT,
                        format!("The task ran longer than its TimeoutSeconds ({})", timeout.unwrap_or_default()),
                    )
                } else {
                    StatesError::new(
                        names::HEARTBEAT_TIMEOUT,
                        format!(
                            "The task sent no heartbeat (SendTaskHeartbeat) or result within its HeartbeatSeconds ({})",
                            heartbeat.unwrap_or_default()
                        ),
                    )
                };
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
        crate::inspect::record(|i| i.result = Some(result.clone()));
        check_size(&format!("the result of state {:?}", entered.name), &result)?;
        self.log.emit(last, EventDetails::TaskSucceeded { resource_type, resource, output: result.clone() });
        flow.finish(raw, Some(result), &context, entered.name)
    }
}

/// How a Task call ended.
enum Ended {
    /// The service answered (or, for a callback task, SendTaskSuccess or SendTaskFailure came).
    Answered(Result<Value, TaskFailure>),
    /// The state's TimeoutSeconds passed.
    TimedOut,
    /// A callback task's HeartbeatSeconds passed without a heartbeat.
    HeartbeatTimedOut,
}
