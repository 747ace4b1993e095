//! Builder methods on the state types, so a workflow reads as one expression instead of field
//! writes: `Task::new(arn).result_path("$.task").timeout_seconds(300).with_next("Notify")`. Each
//! method sets the field of the same name and nothing else; `discard_result` is `"ResultPath":
//! null` (keep the state's input as its output). Task's transitions, Retry and Catch builders
//! (`with_next`, `with_end`, `with_retry`, `with_catch`) live beside the type; the same four are
//! generated here for Pass, Wait, Parallel and Map.
//!
//! JSONata states: `.jsonata()` sets the state's `QueryLanguage` (or set it once on the machine),
//! `.arguments(json)`, `.output(json)`, `.assign(name, value)`, Map `.items(...)`, Choice rules
//! from [`ChoiceRule::jsonata`]; write expressions with [`Expression::new`], which adds the
//! `{% %}` markers:
//!
//! ```
//! use model::states::{Choice, ChoiceRule, Expression, Fail, Pass, QueryLanguage, StateMachine, Task};
//! use serde_json::json;
//!
//! let machine = StateMachine::new("Get")
//!     .query_language(QueryLanguage::JSONata)
//!     .with_state(
//!         "Get",
//!         Task::new("arn:aws:states:::lambda:invoke")
//!             .arguments(json!({"FunctionName": "get", "Payload": Expression::new("$states.input")}))
//!             .assign("price", Expression::new("$states.result.Payload.price"))
//!             .output(Expression::new("$states.result.Payload"))
//!             .with_next("Check"),
//!     )
//!     .with_state(
//!         "Check",
//!         Choice::new([ChoiceRule::jsonata("$price > 100", "Expensive").assign("flag", true)]).default_state("Cheap"),
//!     )
//!     .with_state("Expensive", Fail::new().error("TooExpensive").cause(Expression::new("'price ' & $price")))
//!     .with_state("Cheap", Pass::new().output(json!({"price": Expression::new("$price")})).with_end());
//! machine.validate()?;
//! # Ok::<(), model::states::ValidationErrors>(())
//! ```

use serde_json::Value;

use super::choice::ChoiceRule;
use super::jsonata::{Expression, NumberOrExpression};
use super::machine::{Branch, ItemProcessor, QueryLanguage, StateMachine};
use super::state::{Catcher, Choice, Fail, Map, NullablePath, Parallel, Pass, Retrier, Succeed, Task, Variables, Wait};

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

/// `query_language` and `jsonata`: on every state type.
macro_rules! query_language {
    ($($ty:ident),*) => {$(
        impl $ty {
            /// The state's own `QueryLanguage`, overriding the machine's (a JSONata machine cannot
            /// have JSONPath states; a JSONPath machine can have JSONata ones).
            pub fn query_language(mut self, language: QueryLanguage) -> Self {
                self.query_language = Some(language);
                self
            }

            /// `"QueryLanguage": "JSONata"` on this state.
            pub fn jsonata(self) -> Self {
                self.query_language(QueryLanguage::JSONata)
            }
        }
    )*};
}
query_language!(Task, Pass, Choice, Wait, Succeed, Fail, Parallel, Map);

/// `assign`: on the types that set workflow variables (all but Succeed and Fail), and Catch.
macro_rules! assign {
    ($($ty:ident),*) => {$(
        impl $ty {
            /// Sets the workflow variable `name` to `value` (`Assign`), read later as `$name`.
            /// In JSONata, a string wrapped as `{% ... %}` (see [`Expression`]) is evaluated;
            /// in JSONPath, a name ending in `.$` takes a path such as `$.result` or `$other`.
            pub fn assign(mut self, name: impl Into<String>, value: impl Into<Value>) -> Self {
                self.assign.get_or_insert_with(Variables::new).insert(name.into(), value.into());
                self
            }
        }
    )*};
}
assign!(Task, Pass, Choice, Wait, Parallel, Map, Catcher);

/// `output`: JSONata's output on every type that has one (all but Fail), and Catch.
macro_rules! output {
    ($($ty:ident),*) => {$(
        impl $ty {
            /// The state's output (`Output`, JSONata): any JSON, strings wrapped as `{% ... %}`
            /// evaluated, or one [`Expression`]. Replaces ResultSelector, ResultPath and OutputPath.
            pub fn output(mut self, output: impl Into<Value>) -> Self {
                self.output = Some(output.into());
                self
            }
        }
    )*};
}
output!(Task, Pass, Choice, Wait, Succeed, Parallel, Map, Catcher);

/// `arguments`: JSONata's request, on Task and Parallel.
macro_rules! arguments {
    ($($ty:ident),*) => {$(
        impl $ty {
            /// The request (`Arguments`, JSONata): any JSON, strings wrapped as `{% ... %}`
            /// evaluated, e.g. `json!({"Payload": Expression::new("$states.input")})`. Replaces
            /// InputPath and Parameters; keys take no `.$`.
            pub fn arguments(mut self, arguments: impl Into<Value>) -> Self {
                self.arguments = Some(arguments.into());
                self
            }
        }
    )*};
}
arguments!(Task, Parallel);

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
        self.timeout_seconds = Some(NumberOrExpression::Number(seconds));
        self
    }

    /// `TimeoutSeconds` computed by a JSONata expression (JSONata states only).
    pub fn timeout_seconds_expression(mut self, expression: Expression) -> Self {
        self.timeout_seconds = Some(NumberOrExpression::Expression(expression));
        self
    }

    /// Fails the state with `States.Timeout` when no heartbeat arrives for `seconds`
    /// (`HeartbeatSeconds`, for `.waitForTaskToken` and activities).
    pub fn heartbeat_seconds(mut self, seconds: u64) -> Self {
        self.heartbeat_seconds = Some(NumberOrExpression::Number(seconds));
        self
    }

    /// `HeartbeatSeconds` computed by a JSONata expression (JSONata states only).
    pub fn heartbeat_seconds_expression(mut self, expression: Expression) -> Self {
        self.heartbeat_seconds = Some(NumberOrExpression::Expression(expression));
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
        Self { seconds: Some(NumberOrExpression::Number(seconds)), ..Self::default() }
    }

    /// A Wait of as many seconds as `expression` gives (`Seconds`, JSONata states only).
    pub fn seconds_expression(expression: Expression) -> Self {
        Self { seconds: Some(NumberOrExpression::Expression(expression)), ..Self::default() }
    }

    /// A Wait until `timestamp` (`Timestamp`): an RFC 3339 literal such as
    /// `2026-11-01T00:00:00Z`, or in a JSONata state an expression giving one.
    pub fn until(timestamp: impl Into<String>) -> Self {
        Self { timestamp: Some(timestamp.into()), ..Self::default() }
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

    /// The items (`Items`, JSONata): a JSON array, or an [`Expression`] giving one, e.g.
    /// `Expression::new("$states.input.orders")`. Replaces ItemsPath.
    pub fn items(mut self, items: impl Into<Value>) -> Self {
        self.items = Some(items.into());
        self
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
        self.max_concurrency = Some(limit.into());
        self
    }
}

impl Choice {
    /// A Choice state with `rules`, tried in order, and no Default yet.
    pub fn new(rules: impl IntoIterator<Item = ChoiceRule>) -> Self {
        Self { choices: rules.into_iter().collect(), ..Self::default() }
    }

    /// The state to go to when no rule matches (`Default`).
    pub fn default_state(mut self, name: impl Into<String>) -> Self {
        self.default = Some(name.into());
        self
    }
}

impl Fail {
    /// A Fail state with no error name or cause yet.
    pub fn new() -> Self {
        Self::default()
    }

    /// The error name (`Error`): a literal, or in a JSONata state an [`Expression`].
    pub fn error(mut self, error: impl Into<String>) -> Self {
        self.error = Some(error.into());
        self
    }

    /// The cause (`Cause`): a literal, or in a JSONata state an [`Expression`].
    pub fn cause(mut self, cause: impl Into<String>) -> Self {
        self.cause = Some(cause.into());
        self
    }
}

impl StateMachine {
    /// The machine's `QueryLanguage`, the default of every state in it.
    pub fn query_language(mut self, language: QueryLanguage) -> Self {
        self.query_language = Some(language);
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

    #[test]
    fn jsonata_builders_write_the_fields_they_name() {
        let task = Task::new("arn:aws:states:::lambda:invoke")
            .jsonata()
            .arguments(json!({"Payload": Expression::new("$states.input")}))
            .output(Expression::new("$states.result.Payload"))
            .assign("n", 1)
            .assign("id", Expression::new("$states.result.id"))
            .timeout_seconds_expression(Expression::new("$states.input.t"))
            .heartbeat_seconds(5)
            .with_catch(Catcher::on(["States.ALL"], "F").assign("why", "x").output(json!({"ok": false})))
            .with_end();
        assert_eq!(
            serde_json::to_value(State::from(task)).unwrap(),
            json!({"Type": "Task", "QueryLanguage": "JSONata", "Resource": "arn:aws:states:::lambda:invoke",
                   "Arguments": {"Payload": "{% $states.input %}"}, "TimeoutSeconds": "{% $states.input.t %}",
                   "HeartbeatSeconds": 5, "Output": "{% $states.result.Payload %}",
                   "Assign": {"n": 1, "id": "{% $states.result.id %}"},
                   "Catch": [{"ErrorEquals": ["States.ALL"], "Output": {"ok": false}, "Assign": {"why": "x"}, "Next": "F"}],
                   "End": true})
        );
        let choice = Choice::new([ChoiceRule::jsonata("$n > 1", "A").assign("big", true).output(1).comment("big")])
            .default_state("B")
            .assign("seen", true);
        assert_eq!(
            serde_json::to_value(State::from(choice)).unwrap(),
            json!({"Type": "Choice", "Assign": {"seen": true}, "Default": "B", "Choices": [
                {"Comment": "big", "Condition": "{% $n > 1 %}", "Assign": {"big": true}, "Output": 1, "Next": "A"}]})
        );
        let wait =
            Wait::seconds_expression(Expression::new("$d")).query_language(QueryLanguage::JSONata).with_next("X");
        assert_eq!(
            serde_json::to_value(State::from(wait)).unwrap(),
            json!({"Type": "Wait", "QueryLanguage": "JSONata", "Seconds": "{% $d %}", "Next": "X"})
        );
        assert_eq!(
            serde_json::to_value(State::from(Wait::until("2026-11-01T00:00:00Z"))).unwrap()["Timestamp"],
            "2026-11-01T00:00:00Z"
        );
        let map = Map::new(
            ItemProcessor::new("W").with_state("W", Succeed::default().output(Expression::new("$states.input"))),
        )
        .items(Expression::new("$states.input.items"))
        .output(json!([]))
        .with_end();
        let written = serde_json::to_value(State::from(map)).unwrap();
        assert_eq!((&written["Items"], &written["Output"]), (&json!("{% $states.input.items %}"), &json!([])));
        assert_eq!(
            written["ItemProcessor"]["States"]["W"],
            json!({"Type": "Succeed", "Output": "{% $states.input %}"})
        );
        let fail = Fail::new().jsonata().error("E").cause(Expression::new("$c"));
        assert_eq!(
            serde_json::to_value(State::from(fail)).unwrap(),
            json!({"Type": "Fail", "QueryLanguage": "JSONata", "Error": "E", "Cause": "{% $c %}"})
        );
        let parallel = Parallel::new([Branch::new("A").with_state("A", Pass::new().output(1).with_end())])
            .arguments(json!({"a": 1}))
            .with_end();
        assert_eq!(serde_json::to_value(State::from(parallel)).unwrap()["Arguments"], json!({"a": 1}));
        let machine = StateMachine::new("A").query_language(QueryLanguage::JSONata).with_state("A", Succeed::default());
        assert_eq!(machine.to_json(), r#"{"StartAt":"A","States":{"A":{"Type":"Succeed"}},"QueryLanguage":"JSONata"}"#);
    }
}
