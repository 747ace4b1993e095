//! The state machine document and the nested machines inside it (Parallel branches, Map
//! processors): `StartAt` plus the ordered `States` map. Parsing goes through here so that a parse
//! error names the state it happened in, and a state name used twice in one `States` object is an
//! error rather than a silent overwrite (which is what a plain JSON map would do).

use std::fmt;

use indexmap::IndexMap;
use indexmap::map::Entry;
use serde::de::{Error as _, MapAccess, Visitor};
use serde::{Deserialize, Deserializer, Serialize};
use serde_json::Value;

use super::state::State;

/// States by name, in the order they were written.
pub type States = IndexMap<String, State>;

/// A whole state machine definition, the document Step Functions takes as `Definition`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
pub struct StateMachine {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub comment: Option<String>,
    /// Empty when absent from the document, so `validate` reports it along with everything else.
    #[serde(default)]
    pub start_at: String,
    #[serde(default, deserialize_with = "states_in_order")]
    pub states: States,
    /// The limit on a whole execution; absent means one year.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timeout_seconds: Option<u64>,
    /// The ASL version, "1.0" when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
    /// The language of the machine's paths and expressions, `JSONPath` when absent; a state may
    /// set its own.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub query_language: Option<QueryLanguage>,
}

/// The language a state's fields are written in (`QueryLanguage`, at the top level or on a
/// state), spelt as AWS spells it. JSONata is parsed but not yet run: `validate` refuses it.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum QueryLanguage {
    /// Paths (`InputPath`, `Parameters` with `.$` keys, ...) and intrinsic functions.
    #[default]
    JSONPath,
    /// `{% ... %}` expressions in `Arguments`, `Output` and `Assign`.
    JSONata,
}

/// One branch of a Parallel state: a machine of its own, whose states transition only among
/// themselves.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
pub struct Branch {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub comment: Option<String>,
    #[serde(default)]
    pub start_at: String,
    #[serde(default, deserialize_with = "states_in_order")]
    pub states: States,
}

/// What a Map state runs per item (`ItemProcessor`, or the older `Iterator`, which has no
/// `ProcessorConfig`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
pub struct ItemProcessor {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub comment: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub processor_config: Option<ProcessorConfig>,
    #[serde(default)]
    pub start_at: String,
    #[serde(default, deserialize_with = "states_in_order")]
    pub states: States,
}

/// How a Map runs its items: inline in the parent execution, or as child executions (distributed).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
pub struct ProcessorConfig {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mode: Option<ProcessorMode>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub execution_type: Option<ExecutionType>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum ProcessorMode {
    Inline,
    Distributed,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum ExecutionType {
    Standard,
    Express,
}

/// A definition that is not a well-formed state machine document (bad JSON, a wrong type, an
/// unknown field). Rule violations in a well-formed document come from `validate` instead.
#[derive(Debug, thiserror::Error)]
#[error(
    "the state machine definition could not be read: {0}. Fix the field named, or check it against the Amazon States Language (https://states-language.net)"
)]
pub struct ParseError(#[source] serde_json::Error);

impl StateMachine {
    /// The Resource of every Task state, those of Parallel branches and Map processors included,
    /// in document order: what the machine calls, for the permissions its role needs.
    pub fn task_resources(&self) -> Vec<&str> {
        fn walk<'a>(states: &'a States, out: &mut Vec<&'a str>) {
            for state in states.values() {
                match state {
                    State::Task(task) => out.push(&task.resource),
                    State::Parallel(parallel) => parallel.branches.iter().for_each(|b| walk(&b.states, out)),
                    State::Map(map) => {
                        map.item_processor.iter().chain(&map.iterator).for_each(|p| walk(&p.states, out))
                    }
                    _ => {}
                }
            }
        }
        let mut out = Vec::new();
        walk(&self.states, &mut out);
        out
    }

    /// A machine starting at `start_at`; add states with [`StateMachine::with_state`].
    pub fn new(start_at: impl Into<String>) -> Self {
        Self { start_at: start_at.into(), ..Self::default() }
    }

    /// Appends a state; states keep the order they are added in.
    pub fn with_state(mut self, name: impl Into<String>, state: impl Into<State>) -> Self {
        self.states.insert(name.into(), state.into());
        self
    }

    /// Parses a definition (the `Definition` string of a state machine). Does not validate.
    pub fn from_json(definition: &str) -> Result<Self, ParseError> {
        serde_json::from_str(definition).map_err(ParseError)
    }

    /// The definition as compact JSON, the form `DefinitionString` takes.
    pub fn to_json(&self) -> String {
        // Serialising plain structs, strings and serde_json values cannot fail (no non-string map keys).
        serde_json::to_string(self).unwrap_or_default()
    }

    /// The definition as indented JSON, for people.
    pub fn to_json_pretty(&self) -> String {
        serde_json::to_string_pretty(self).unwrap_or_default()
    }
}

impl Branch {
    pub fn new(start_at: impl Into<String>) -> Self {
        Self { start_at: start_at.into(), ..Self::default() }
    }

    pub fn with_state(mut self, name: impl Into<String>, state: impl Into<State>) -> Self {
        self.states.insert(name.into(), state.into());
        self
    }
}

impl ItemProcessor {
    pub fn new(start_at: impl Into<String>) -> Self {
        Self { start_at: start_at.into(), ..Self::default() }
    }

    pub fn with_state(mut self, name: impl Into<String>, state: impl Into<State>) -> Self {
        self.states.insert(name.into(), state.into());
        self
    }
}

fn states_in_order<'de, D: Deserializer<'de>>(deserializer: D) -> Result<States, D::Error> {
    struct StatesVisitor;

    impl<'de> Visitor<'de> for StatesVisitor {
        type Value = States;

        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("an object of states by name")
        }

        fn visit_map<A: MapAccess<'de>>(self, mut access: A) -> Result<States, A::Error> {
            let mut states = States::new();
            while let Some((name, raw)) = access.next_entry::<String, Value>()? {
                // Through a Value so that the error can be prefixed with the state's name; serde's
                // own message would only say which field was wrong, not where.
                let state = State::deserialize(raw).map_err(|e| A::Error::custom(format!("state {name:?}: {e}")))?;
                match states.entry(name) {
                    Entry::Occupied(taken) => {
                        return Err(A::Error::custom(format!(
                            "state {:?} is defined twice in the same States object: state names must be \
                             unique; rename one of them",
                            taken.key()
                        )));
                    }
                    Entry::Vacant(slot) => {
                        slot.insert(state);
                    }
                }
            }
            Ok(states)
        }
    }

    deserializer.deserialize_map(StatesVisitor)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::states::{Choice, ChoiceRule, CompareOp, Comparison, Condition, NullablePath, Operand, Retrier, Task};
    use serde_json::json;

    /// A definition that uses every state type and the optional fields around them.
    fn every_state_type() -> Value {
        json!({
            "Comment": "every state type",
            "StartAt": "Prepare",
            "TimeoutSeconds": 3600,
            "Version": "1.0",
            "States": {
                "Prepare": {
                    "Type": "Pass",
                    "Comment": "seed the input",
                    "InputPath": "$.request",
                    "Result": {"attempt": 1, "ratio": 0.5},
                    "ResultPath": "$.seed",
                    "OutputPath": "$",
                    "Next": "Route"
                },
                "Route": {
                    "Type": "Choice",
                    "Choices": [
                        {"Variable": "$.kind", "StringEquals": "now", "Next": "Run"},
                        {"Comment": "both bounds", "And": [
                            {"Variable": "$.n", "NumericGreaterThanEquals": 1},
                            {"Variable": "$.n", "NumericLessThanPath": "$.max"}
                        ], "Next": "Pause"},
                        {"Not": {"Variable": "$.when", "IsTimestamp": true}, "Next": "PauseUntil"},
                        {"Or": [
                            {"Variable": "$.flag", "BooleanEquals": false},
                            {"Variable": "$.name", "StringMatches": "test-*"}
                        ], "Next": "Fanout"}
                    ],
                    "Default": "Each"
                },
                "Pause": {"Type": "Wait", "Seconds": 5, "Next": "Run"},
                "PauseUntil": {"Type": "Wait", "Timestamp": "2026-11-01T00:00:00Z", "Next": "PauseFor"},
                "PauseFor": {"Type": "Wait", "SecondsPath": "$.delay", "Next": "PauseUntilPath"},
                "PauseUntilPath": {"Type": "Wait", "TimestampPath": "$.at", "Next": "Run"},
                "Run": {
                    "Type": "Task",
                    "Resource": "arn:aws:states:::ecs:runTask.sync",
                    "Parameters": {"Cluster": "c", "Input.$": "$"},
                    "ResultSelector": {"exit.$": "$.Containers[0].ExitCode"},
                    "ResultPath": null,
                    "TimeoutSeconds": 300,
                    "HeartbeatSeconds": 60,
                    "Retry": [
                        {"ErrorEquals": ["ECS.AmazonECSException"], "IntervalSeconds": 2, "MaxAttempts": 3,
                         "BackoffRate": 2.0, "MaxDelaySeconds": 30, "JitterStrategy": "FULL"},
                        {"ErrorEquals": ["States.ALL"]}
                    ],
                    "Catch": [{"ErrorEquals": ["States.ALL"], "ResultPath": "$.error", "Next": "Failed"}],
                    "Next": "Fanout"
                },
                "Fanout": {
                    "Type": "Parallel",
                    "Branches": [
                        {"StartAt": "Left", "States": {"Left": {"Type": "Pass", "End": true}}},
                        {"Comment": "right", "StartAt": "Right", "States": {"Right": {"Type": "Succeed"}}}
                    ],
                    "ResultPath": "$.branches",
                    "Next": "Each"
                },
                "Each": {
                    "Type": "Map",
                    "ItemsPath": "$.items",
                    "ItemSelector": {"item.$": "$$.Map.Item.Value"},
                    "MaxConcurrency": 2,
                    "ItemProcessor": {
                        "ProcessorConfig": {"Mode": "INLINE"},
                        "StartAt": "Work",
                        "States": {"Work": {"Type": "Pass", "End": true}}
                    },
                    "Next": "Legacy"
                },
                "Legacy": {
                    "Type": "Map",
                    "Parameters": {"x.$": "$$.Map.Item.Value"},
                    "Iterator": {"StartAt": "Old", "States": {"Old": {"Type": "Pass", "End": true}}},
                    "Next": "Done"
                },
                "Done": {"Type": "Succeed", "OutputPath": null},
                "Failed": {"Type": "Fail", "Error": "RunFailed", "CausePath": "$.error.Cause"},
                "FailedFromInput": {"Type": "Fail", "ErrorPath": "$.code", "Cause": "see the input"}
            }
        })
    }

    #[test]
    fn map_tolerated_failure_paths_round_trip() {
        let source = json!({
            "Type": "Map",
            "ItemProcessor": {"ProcessorConfig": {"Mode": "DISTRIBUTED", "ExecutionType": "STANDARD"},
                "StartAt": "Work", "States": {"Work": {"Type": "Succeed"}}},
            "ToleratedFailureCountPath": "$.maxFailures",
            "ToleratedFailurePercentagePath": "$.maxPercent",
            "End": true
        });
        let state: crate::states::State = serde_json::from_value(source.clone()).unwrap();
        let crate::states::State::Map(map) = &state else { panic!("not a Map: {state:?}") };
        assert_eq!(map.tolerated_failure_count_path.as_deref(), Some("$.maxFailures"));
        assert_eq!(map.tolerated_failure_percentage_path.as_deref(), Some("$.maxPercent"));
        assert_eq!(serde_json::to_value(&state).unwrap(), source);
    }

    #[test]
    fn every_state_type_round_trips_exactly() {
        let source = every_state_type();
        let mut document = source.clone();
        // Unreachable, but still a valid document to parse.
        document["States"].as_object_mut().unwrap().remove("FailedFromInput");
        let machine: StateMachine = serde_json::from_value(source.clone()).unwrap();
        let written = serde_json::to_value(&machine).unwrap();
        assert_eq!(written, source, "serialising changed the document");
        let reparsed = StateMachine::from_json(&machine.to_json()).unwrap();
        assert_eq!(reparsed, machine);
        assert_eq!(StateMachine::from_json(&machine.to_json_pretty()).unwrap(), machine);
        let mut reachable: StateMachine = serde_json::from_value(document).unwrap();
        reachable.validate().unwrap();
        reachable.states.clear();
        assert!(reachable.validate().is_err());
    }

    #[test]
    fn states_keep_their_written_order() {
        // From text: a serde_json::Value (as json! builds) would already have sorted the keys.
        let source = r#"{"StartAt":"Zulu","States":{"Zulu":{"Type":"Pass","Next":"Alpha"},"Alpha":{"Type":"Pass","Next":"Mike"},"Mike":{"Type":"Succeed"}}}"#;
        let machine = StateMachine::from_json(source).unwrap();
        let names: Vec<&str> = machine.states.keys().map(String::as_str).collect();
        assert_eq!(names, ["Zulu", "Alpha", "Mike"]);
        assert_eq!(machine.to_json(), source);
    }

    #[test]
    fn parsed_into_typed_states() {
        let machine: StateMachine = serde_json::from_value(every_state_type()).unwrap();
        let State::Task(run) = &machine.states["Run"] else { panic!("Run is not a Task") };
        assert_eq!(run.result_path, Some(NullablePath::Null), "explicit null kept apart from absent");
        assert_eq!(run.retry[0].interval_seconds, Some(2));
        assert_eq!(run.retry[0].backoff_rate, Some(2.0));
        let State::Choice(route) = &machine.states["Route"] else { panic!("Route is not a Choice") };
        assert_eq!(
            route.choices[0],
            ChoiceRule::new(Condition::compare("$.kind", Comparison::string_equals("now")), "Run")
        );
        let Condition::And(both) = &route.choices[1].condition else { panic!("not an And") };
        assert_eq!(
            both[1],
            Condition::Compare {
                variable: "$.n".into(),
                comparison: Comparison::Numeric(CompareOp::LessThan, Operand::Path("$.max".into()))
            }
        );
    }

    #[test]
    fn absent_optional_fields_are_omitted_and_null_result_path_is_kept() {
        let machine = StateMachine::new("A")
            .with_state("A", Task::new("arn:aws:states:::sns:publish").discard_result().with_next("B"))
            .with_state(
                "B",
                Choice {
                    choices: vec![ChoiceRule::new(
                        Condition::compare("$.x", Comparison::Is(crate::states::TypeTest::IsNull, true)),
                        "C",
                    )],
                    default: Some("C".into()),
                    ..Choice::default()
                },
            )
            .with_state("C", State::Succeed(Default::default()));
        assert_eq!(
            serde_json::to_value(&machine).unwrap(),
            json!({
                "StartAt": "A",
                "States": {
                    "A": {"Type": "Task", "Resource": "arn:aws:states:::sns:publish", "ResultPath": null, "Next": "B"},
                    "B": {"Type": "Choice", "Choices": [{"Variable": "$.x", "IsNull": true, "Next": "C"}], "Default": "C"},
                    "C": {"Type": "Succeed"}
                }
            })
        );
    }

    #[test]
    fn a_sparta_style_retry_is_written_back_as_given_not_emptied() {
        let task = Task::new("arn:aws:states:::ecs:runTask.sync")
            .with_retry(Retrier::on(["States.TaskFailed"]).interval_seconds(2).max_attempts(2).backoff_rate(2.0))
            .with_end();
        let json = StateMachine::new("T").with_state("T", task).to_json();
        assert!(
            json.contains(r#""Retry":[{"ErrorEquals":["States.TaskFailed"],"IntervalSeconds":2,"MaxAttempts":2,"BackoffRate":2.0}]"#),
            "{json}"
        );
    }

    #[test]
    fn parse_errors_name_the_state_and_the_field() {
        let cases = [
            (
                json!({"StartAt": "A", "States": {"A": {"Type": "Task", "Resource": "r", "Retrys": [], "End": true}}}),
                "state \"A\": unknown field `Retrys`",
            ),
            (
                json!({"StartAt": "A", "States": {"A": {"Type": "Tusk", "End": true}}}),
                "state \"A\": unknown variant `Tusk`",
            ),
            (
                json!({"StartAt": "A", "States": {"A": {"Type": "Choice", "Choices": [], "Next": "A"}}}),
                "state \"A\": unknown field `Next`",
            ),
            (
                json!({"StartAt": "A", "States": {"A": {"Type": "Task", "Resource": "r", "End": true,
                "Retry": [{"ErrorEquals": ["States.ALL"], "IntervalSeconds": 0.5}]}}}),
                "state \"A\"",
            ),
            (
                json!({"StartAt": "P", "States": {"P": {"Type": "Parallel", "End": true, "Branches": [
                {"StartAt": "X", "States": {"X": {"Type": "Pass", "Bogus": 1, "End": true}}}]}}}),
                "state \"P\": state \"X\": unknown field `Bogus`",
            ),
            (json!({"StartAt": "A", "QueryLanguage": "XPath", "States": {}}), "unknown variant `XPath`"),
            // AWS, "Passing data between states with variables": Assign is on Pass, Task, Map,
            // Parallel, Choice and Wait; Succeed and Fail have none. Fail has no Output.
            (
                json!({"StartAt": "A", "QueryLanguage": "JSONata", "States": {"A": {"Type": "Succeed",
                "Assign": {"x": 1}}}}),
                "state \"A\": unknown field `Assign`",
            ),
            (
                json!({"StartAt": "A", "QueryLanguage": "JSONata", "States": {"A": {"Type": "Fail",
                "Output": "{% $states.input %}"}}}),
                "state \"A\": unknown field `Output`",
            ),
            (
                json!({"StartAt": "A", "States": {"A": {"Type": "Wait", "Seconds": -5, "End": true}}}),
                "not a whole number of seconds",
            ),
        ];
        for (document, expected) in cases {
            let err = StateMachine::from_json(&document.to_string()).unwrap_err().to_string();
            assert!(err.contains(expected), "{document}\n{err}");
        }
    }

    #[test]
    fn a_state_defined_twice_is_a_parse_error_not_an_overwrite() {
        let document = r#"{"StartAt":"A","States":{"A":{"Type":"Succeed"},"A":{"Type":"Fail"}}}"#;
        let err = StateMachine::from_json(document).unwrap_err().to_string();
        assert!(err.contains("state \"A\" is defined twice"), "{err}");
    }
}
