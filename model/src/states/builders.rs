//! Builder methods on the state types, so a workflow reads as one expression instead of field
//! writes: `Task::new(arn).result_path("$.task").timeout_seconds(300).with_next("Notify")`. Each
//! method sets the field of the same name and nothing else; `discard_result` is `"ResultPath":
//! null` (keep the state's input as its output). Task's transitions, Retry and Catch builders
//! (`with_next`, `with_end`, `with_retry`, `with_catch`) live beside the type; the same four are
//! generated here for Pass, Wait, Parallel and Map.

use serde_json::Value;

use super::machine::{Branch, ItemProcessor};
use super::state::{Catcher, Choice, Map, NullablePath, Parallel, Pass, Retrier, Succeed, Task, Wait};

/// `comment`, `input_path`, `output_path`: on every state type that has them.
macro_rules! input_output {
    ($($ty:ident),*) => {$(
        impl $ty {
            /// A human-readable description of the state (`Comment`).
            pub fn comment(mut self, text: impl Into<String>) -> Self {
                self.comment = Some(text.into());
                self
            }

            /// Selects the part of the raw input the state works on (`InputPath`), e.g. `$.order`.
            pub fn input_path(mut self, path: impl Into<String>) -> Self {
                self.input_path = Some(NullablePath::Path(path.into()));
                self
            }

            /// Selects the part of the state's output passed on (`OutputPath`), e.g. `$.result`.
            pub fn output_path(mut self, path: impl Into<String>) -> Self {
                self.output_path = Some(NullablePath::Path(path.into()));
                self
            }
        }
    )*};
}
input_output!(Task, Pass, Choice, Wait, Succeed, Parallel, Map);

/// `result_path` and `discard_result`: on the types that produce a result.
macro_rules! result_path {
    ($($ty:ident),*) => {$(
        impl $ty {
            /// Where the result goes in the state's input (`ResultPath`), e.g. `$.task`; the
            /// rest of the input is kept.
            pub fn result_path(mut self, path: impl Into<String>) -> Self {
                self.result_path = Some(NullablePath::Path(path.into()));
                self
            }

            /// Drops the result and passes the state's input on unchanged (`"ResultPath": null`).
            pub fn discard_result(mut self) -> Self {
                self.result_path = Some(NullablePath::Null);
                self
            }
        }
    )*};
}
result_path!(Task, Pass, Parallel, Map);

/// `parameters`: the payload template of Task, Pass and Parallel (Map's is `item_selector`).
macro_rules! parameters {
    ($($ty:ident),*) => {$(
        impl $ty {
            /// The payload template (`Parameters`); keys ending in `.$` take a path or an
            /// intrinsic function, e.g. `json!({"id.$": "$.orderId"})`.
            pub fn parameters(mut self, template: Value) -> Self {
                self.parameters = Some(template);
                self
            }
        }
    )*};
}
parameters!(Task, Pass, Parallel);

/// `result_selector`: on the types whose result comes from work done (Task, Parallel, Map).
macro_rules! result_selector {
    ($($ty:ident),*) => {$(
        impl $ty {
            /// Reshapes the raw result before `ResultPath` places it (`ResultSelector`), e.g.
            /// `json!({"TaskArn.$": "$.TaskArn"})`.
            pub fn result_selector(mut self, template: Value) -> Self {
                self.result_selector = Some(template);
                self
            }
        }
    )*};
}
result_selector!(Task, Parallel, Map);

/// Transitions, Retry and Catch for the types Task already has them on.
macro_rules! transitions {
    ($($ty:ident),*) => {$(
        impl $ty {
            /// Continues with the state `name`.
            pub fn with_next(mut self, name: impl Into<String>) -> Self {
                self.next = Some(name.into());
                self.end = false;
                self
            }

            /// Ends the execution (or the branch) after this state.
            pub fn with_end(mut self) -> Self {
                self.next = None;
                self.end = true;
                self
            }
        }
    )*};
}
transitions!(Pass, Wait, Parallel, Map);

macro_rules! retry_catch {
    ($($ty:ident),*) => {$(
        impl $ty {
            /// Appends a retrier; they are tried in order, so add `States.ALL` last.
            pub fn with_retry(mut self, retrier: Retrier) -> Self {
                self.retry.push(retrier);
                self
            }

            /// Appends a catcher; they are tried in order, so add `States.ALL` last.
            pub fn with_catch(mut self, catcher: Catcher) -> Self {
                self.catch.push(catcher);
                self
            }
        }
    )*};
}
retry_catch!(Parallel, Map);

impl Task {
    /// Fails the state with `States.Timeout` after `seconds` (`TimeoutSeconds`).
    pub fn timeout_seconds(mut self, seconds: u64) -> Self {
        self.timeout_seconds = Some(seconds);
        self
    }

    /// Fails the state with `States.Timeout` when no heartbeat arrives for `seconds`
    /// (`HeartbeatSeconds`, for `.waitForTaskToken` and activities).
    pub fn heartbeat_seconds(mut self, seconds: u64) -> Self {
        self.heartbeat_seconds = Some(seconds);
        self
    }
}

impl Pass {
    /// A Pass state with no transition yet: set `next` or `end` before validating.
    pub fn new() -> Self {
        Self::default()
    }

    /// A fixed result that replaces the (effective) input (`Result`).
    pub fn result(mut self, value: Value) -> Self {
        self.result = Some(value);
        self
    }
}

impl Wait {
    /// A Wait of `seconds` (`Seconds`), with no transition yet.
    pub fn seconds(seconds: u64) -> Self {
        Self { seconds: Some(seconds), ..Self::default() }
    }
}

impl Parallel {
    /// A Parallel state running `branches`, with no transition yet.
    pub fn new(branches: impl IntoIterator<Item = Branch>) -> Self {
        Self { branches: branches.into_iter().collect(), ..Self::default() }
    }
}

impl Map {
    /// A Map state running `processor` once per item, with no transition yet.
    pub fn new(processor: ItemProcessor) -> Self {
        Self { item_processor: Some(processor), ..Self::default() }
    }

    /// Where the items are in the effective input (`ItemsPath`), e.g. `$.orders`.
    pub fn items_path(mut self, path: impl Into<String>) -> Self {
        self.items_path = Some(path.into());
        self
    }

    /// The input of each iteration, built from the item (`ItemSelector`), e.g.
    /// `json!({"order.$": "$$.Map.Item.Value"})`.
    pub fn item_selector(mut self, template: Value) -> Self {
        self.item_selector = Some(template);
        self
    }

    /// Iterations running at once at most (`MaxConcurrency`; 0 means no limit).
    pub fn max_concurrency(mut self, limit: u64) -> Self {
        self.max_concurrency = Some(limit);
        self
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::states::{State, StateMachine};

    #[test]
    fn builders_write_the_fields_they_name() {
        let task = Task::new("arn:aws:states:::lambda:invoke")
            .input_path("$.in")
            .parameters(json!({"x.$": "$.x"}))
            .result_selector(json!({"y.$": "$.y"}))
            .result_path("$.out")
            .output_path("$.keep")
            .timeout_seconds(30)
            .heartbeat_seconds(10)
            .with_end();
        let written = serde_json::to_value(State::from(task)).unwrap();
        assert_eq!(
            written,
            json!({"Type": "Task", "Resource": "arn:aws:states:::lambda:invoke", "InputPath": "$.in",
                   "Parameters": {"x.$": "$.x"}, "ResultSelector": {"y.$": "$.y"}, "ResultPath": "$.out",
                   "OutputPath": "$.keep", "TimeoutSeconds": 30, "HeartbeatSeconds": 10, "End": true})
        );
        let discard = serde_json::to_value(State::from(Task::new("r").discard_result().with_next("B"))).unwrap();
        assert_eq!(discard, json!({"Type": "Task", "Resource": "r", "ResultPath": null, "Next": "B"}));
    }

    #[test]
    fn a_machine_of_builders_round_trips() {
        let machine = StateMachine::new("Fan")
            .with_state(
                "Fan",
                Parallel::new([Branch::new("A").with_state("A", Pass::new().result(json!(1)).with_end())])
                    .result_path("$.fan")
                    .with_catch(Catcher::on(["States.ALL"], "Done").result_path("$.error"))
                    .with_next("Each"),
            )
            .with_state(
                "Each",
                Map::new(ItemProcessor::new("W").with_state("W", Wait::seconds(1).with_end()))
                    .items_path("$.items")
                    .item_selector(json!({"v.$": "$$.Map.Item.Value"}))
                    .max_concurrency(2)
                    .discard_result()
                    .with_retry(Retrier::on(["States.ALL"]))
                    .with_next("Done"),
            )
            .with_state("Done", Succeed::default().output_path("$.fan"));
        machine.validate().unwrap();
        assert_eq!(StateMachine::from_json(&machine.to_json()).unwrap(), machine);
        let State::Map(map) = &machine.states["Each"] else { panic!("Each is not a Map") };
        assert_eq!(map.result_path, Some(NullablePath::Null));
    }
}
