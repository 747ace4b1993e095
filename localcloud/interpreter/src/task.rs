//! The Task state: its request built by the data-flow pipeline, the call handed to the
//! integrations with a cancellation token (and a task token for `.waitForTaskToken`), its
//! TimeoutSeconds, and the Task... events AWS records around it.

use model::states::Task;
use serde_json::Value;

use crate::compiled::TaskPaths;
use crate::context::{LazyContext, StateContext};
use crate::error::{StatesError, names};
use crate::events::EventDetails;
use crate::execution::{Entered, Runner, sleep_or_forever};
use crate::integrations::{TaskCall, TaskEvents, split_resource};
use crate::pipeline::{DataFlow, check_size, positive_seconds};

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
    ) -> Result<Value, StatesError> {
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
        );
        let effective = flow.input_path(raw, &context)?;
        let request = flow.parameters(effective.clone(), &context)?;
        check_size(&format!("the input of state {:?} after Parameters", entered.name), &request)?;
        let timeout = match (task.timeout_seconds.as_ref().and_then(|s| s.as_number()), &paths.timeout_seconds_path) {
            (Some(seconds), _) => Some(seconds),
            (None, Some(p)) => Some(positive_seconds(p, &effective, &context, "TimeoutSecondsPath")?),
            (None, None) => None,
        };
        let heartbeat =
            match (task.heartbeat_seconds.as_ref().and_then(|s| s.as_number()), &paths.heartbeat_seconds_path) {
                (Some(seconds), _) => Some(seconds),
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
        // No call once the execution is halted (its TaskScheduled may have been refused for a full
        // history): the call would run for an execution that is over.
        self.checkpoint().await;
        let invoke = self.integrations.invoke(call);
        // Biased: a call that answered wins over a timeout that fell due at the same time, the
        // same way on every replay.
        let outcome = tokio::select! {
            biased;
            outcome = invoke => Some(outcome),
            () = sleep_or_forever(self.clock.as_ref(), timeout.map(|s| self.scale.scale_secs(s as f64))) => None,
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
        flow.output(raw, result, &context)
    }
}
