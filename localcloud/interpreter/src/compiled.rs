//! A state machine as the interpreter runs it: every path, payload template, intrinsic function
//! call and Choice rule parsed once, when the machine is loaded, so that a Map of many items or a
//! retried state only evaluates them. A path or call that does not parse keeps its error and
//! raises it where it is evaluated, as an unparsed definition would (the API validates definitions
//! before they get here, so that happens only to a definition that skipped validation).

use std::collections::HashMap;
use std::sync::Arc;

use model::states::jsonata::{NumberOrExpression, expression_body};
use model::states::{
    Catcher, Choice, Condition, Fail, Pass, ProcessorMode, QueryLanguage, Retrier, State, StateMachine, States,
    Succeed, Task, Variables, Wait,
};
use serde_json::Value;

use crate::choice::Rules;
use crate::events::StateKind;
use crate::jsonata::Field;
use crate::path::Query;
use crate::pipeline::{Assign, DataFlow, JsonataFlow, Placement, Selection};
use crate::template::{Expression, Template};

/// A state machine loaded for execution. Cheap to clone: a loaded machine can start any number of
/// executions.
#[derive(Debug, Clone)]
pub struct CompiledMachine(Arc<Loaded>);

#[derive(Debug)]
struct Loaded {
    definition: StateMachine,
    top: Scope,
}

impl CompiledMachine {
    /// Parses every path, template, call and rule of `machine`.
    pub fn new(machine: StateMachine) -> Self {
        let top = Scope::new(&machine.start_at, &machine.states, machine.query_language.unwrap_or_default());
        Self(Arc::new(Loaded { definition: machine, top }))
    }

    /// What CreateStateMachine refuses beyond the model's own validation: every JSONata
    /// expression that does not parse, naming its state and field, one message each.
    pub fn problems(&self) -> Vec<String> {
        let mut problems = Vec::new();
        self.0.top.problems(&[], &mut problems);
        problems
    }

    /// The definition it was loaded from.
    pub fn definition(&self) -> &StateMachine {
        &self.0.definition
    }

    pub(crate) fn top(&self) -> &Scope {
        &self.0.top
    }
}

impl From<StateMachine> for CompiledMachine {
    fn from(machine: StateMachine) -> Self {
        CompiledMachine::new(machine)
    }
}

/// The states of a machine, a Parallel branch or a Map's item processor.
#[derive(Debug)]
pub(crate) struct Scope {
    pub start_at: String,
    pub states: HashMap<String, Node>,
}

impl Scope {
    fn new(start_at: &str, states: &States, language: QueryLanguage) -> Self {
        Self {
            start_at: start_at.to_owned(),
            states: states.iter().map(|(name, state)| (name.clone(), Node::new(state, language))).collect(),
        }
    }

    fn problems(&self, within: &[String], out: &mut Vec<String>) {
        let mut names: Vec<&String> = self.states.keys().collect();
        names.sort();
        for name in names {
            let node = &self.states[name];
            let mut at = within.to_vec();
            at.push(format!("state {name:?}"));
            for (field, expression) in &node.fields {
                for (body, reason) in expression.problems() {
                    out.push(format!(
                        "{}: the JSONata expression '{body}' of field {field} does not parse: {reason}",
                        at.join(" > ")
                    ));
                }
            }
            match &node.work {
                Work::Parallel(branches) => {
                    for (index, branch) in branches.iter().enumerate() {
                        let mut inner = at.clone();
                        inner.push(format!("branch {}", index + 1));
                        branch.problems(&inner, out);
                    }
                }
                Work::Map(map) => {
                    if let Some(processor) = &map.processor {
                        let mut inner = at.clone();
                        inner.push("ItemProcessor".to_owned());
                        processor.problems(&inner, out);
                    }
                }
                _ => {}
            }
        }
    }
}

/// One state, loaded.
#[derive(Debug)]
pub(crate) struct Node {
    pub kind: StateKind,
    pub flow: DataFlow,
    /// The state to go to after it succeeded (none: the end of its machine, branch or iteration).
    pub next: Option<String>,
    pub retry: Vec<Retrier>,
    pub catch: Vec<CompiledCatcher>,
    pub work: Work,
    /// Every JSONata field of the state (its catchers' and rules' too), by the name an error
    /// gives it, for [`CompiledMachine::problems`].
    fields: Vec<(String, Arc<Field>)>,
}

/// A catcher, with its ResultPath parsed (JSONPath) or its Output (JSONata), and its Assign.
#[derive(Debug)]
pub(crate) struct CompiledCatcher {
    pub catcher: Catcher,
    pub placement: Placement,
    /// JSONata: the state's output when this catcher takes the error (`$states.errorOutput` when
    /// absent).
    pub output: Option<Arc<Field>>,
    pub assign: Option<Assign>,
}

/// A JSONata Choice rule.
#[derive(Debug)]
pub(crate) struct JsonataRule {
    pub condition: Arc<Field>,
    pub next: String,
    pub output: Option<Arc<Field>>,
    pub assign: Option<Assign>,
}

/// What a state does between its Parameters and its ResultSelector, by type, with the model's
/// fields and the parsed forms of the ones that hold paths.
#[derive(Debug)]
// Built once per state when a machine is loaded, as the model's `State` (which allows the same);
// boxing the Task variant would cost a pointer chase on every Task run for nothing.
#[allow(clippy::large_enum_variant)]
pub(crate) enum Work {
    Task(Task, TaskPaths),
    Pass(Pass),
    Choice(Choice, Rules),
    /// A JSONata Choice: its rules' conditions, in order.
    JsonataChoice(Choice, Vec<JsonataRule>),
    Wait(Wait, WaitPaths),
    Succeed,
    Fail(Fail, FailPaths),
    /// The branches.
    Parallel(Vec<Scope>),
    Map(Box<MapWork>),
}

#[derive(Debug)]
pub(crate) struct TaskPaths {
    pub timeout_seconds_path: Option<Query>,
    pub heartbeat_seconds_path: Option<Query>,
    /// JSONata: `TimeoutSeconds` and `HeartbeatSeconds` written as expressions.
    pub timeout_seconds: Option<Arc<Field>>,
    pub heartbeat_seconds: Option<Arc<Field>>,
}

#[derive(Debug)]
pub(crate) struct WaitPaths {
    pub seconds_path: Option<Query>,
    pub timestamp_path: Option<Query>,
    /// JSONata: `Seconds` and `Timestamp` written as expressions.
    pub seconds: Option<Arc<Field>>,
    pub timestamp: Option<Arc<Field>>,
}

#[derive(Debug)]
pub(crate) struct FailPaths {
    pub error_path: Option<Expression>,
    pub cause_path: Option<Expression>,
    /// JSONata: `Error` and `Cause` written as expressions.
    pub error: Option<Arc<Field>>,
    pub cause: Option<Arc<Field>>,
}

/// What a Map state's iterations need (the model's Map holds the processor's states again, which
/// a loaded machine keeps only in their parsed form).
#[derive(Debug)]
pub(crate) struct MapWork {
    /// Distributed mode's ItemReader is set (the local interpreter does not read items).
    pub reads_items: bool,
    /// `ItemsPath`, `$` when absent.
    pub items_path: Query,
    /// `ItemSelector` (or, in JSONPath, the older `Parameters`), in the state's language.
    pub item_selector: Option<ItemSelector>,
    /// JSONata: `Items` (the state's input when absent).
    pub jsonata: Option<JsonataItems>,
    /// `ItemProcessor`, or the older `Iterator`.
    pub processor: Option<Scope>,
    pub distributed: bool,
    pub max_concurrency: Option<u64>,
    /// JSONata: `MaxConcurrency` and `ToleratedFailureCount` written as expressions.
    pub max_concurrency_expression: Option<Arc<Field>>,
    pub tolerated_failure_count_expression: Option<Arc<Field>>,
    pub max_concurrency_path: Option<Query>,
    pub tolerated_failure_count: Option<u64>,
    pub tolerated_failure_count_path: Option<Query>,
    pub tolerated_failure_percentage: Option<f64>,
    pub tolerated_failure_percentage_path: Option<Query>,
}

/// A JSONata Map's items.
#[derive(Debug)]
pub(crate) struct JsonataItems {
    pub items: Option<Arc<Field>>,
}

/// How a Map shapes each item: a JSONPath template, or a JSONata field.
#[derive(Debug)]
pub(crate) enum ItemSelector {
    Path(Template),
    Jsonata(Arc<Field>),
}

fn query(field: &Option<String>) -> Option<Query> {
    field.as_deref().map(Query::new)
}

fn template(field: &Option<serde_json::Value>) -> Option<Template> {
    field.as_ref().map(Template::new)
}

/// Collects a state's JSONata fields while its node is built.
#[derive(Default)]
struct Fields(Vec<(String, Arc<Field>)>);

impl Fields {
    /// A JSONata field from its JSON value.
    fn add(&mut self, name: impl Into<String>, value: &Value) -> Arc<Field> {
        let field = Arc::new(Field::new(value));
        self.0.push((name.into(), field.clone()));
        field
    }

    fn optional(&mut self, name: &str, value: &Option<Value>) -> Option<Arc<Field>> {
        value.as_ref().map(|v| self.add(name, v))
    }

    /// A string field (Fail `Error`, Wait `Timestamp`) when it is written as an expression.
    fn text(&mut self, name: &str, value: &Option<String>) -> Option<Arc<Field>> {
        match value {
            Some(text) if expression_body(text).is_some() => Some(self.add(name, &Value::String(text.clone()))),
            _ => None,
        }
    }

    fn number(&mut self, name: &str, value: &Option<NumberOrExpression>) -> Option<Arc<Field>> {
        let expression = value.as_ref()?.as_expression()?;
        Some(self.add(name, &Value::String(expression.as_str().to_owned())))
    }

    fn assign(&mut self, name: &str, assign: Option<&Variables>, jsonata: bool) -> Option<Assign> {
        let value = Value::Object(assign?.clone());
        Some(if jsonata { Assign::Jsonata(self.add(name, &value)) } else { Assign::Path(Template::new(&value)) })
    }
}

impl Node {
    fn new(state: &State, inherited: QueryLanguage) -> Self {
        let language = state.query_language().unwrap_or(inherited);
        let jsonata = language == QueryLanguage::JSONata;
        let mut fields = Fields::default();
        let kind = match state {
            State::Task(_) => StateKind::Task,
            State::Pass(_) => StateKind::Pass,
            State::Choice(_) => StateKind::Choice,
            State::Wait(_) => StateKind::Wait,
            State::Succeed(_) => StateKind::Succeed,
            State::Fail(_) => StateKind::Fail,
            State::Parallel(_) => StateKind::Parallel,
            State::Map(_) => StateKind::Map,
        };
        let (mut flow, work) = match state {
            State::Task(task) => (
                DataFlow {
                    input_path: Selection::new(&task.input_path),
                    parameters: template(&task.parameters),
                    result_selector: template(&task.result_selector),
                    result_path: Placement::new(&task.result_path),
                    output_path: Selection::new(&task.output_path),
                    ..DataFlow::default()
                },
                Work::Task(
                    task.clone(),
                    TaskPaths {
                        timeout_seconds_path: query(&task.timeout_seconds_path),
                        heartbeat_seconds_path: query(&task.heartbeat_seconds_path),
                        timeout_seconds: fields.number("TimeoutSeconds", &task.timeout_seconds),
                        heartbeat_seconds: fields.number("HeartbeatSeconds", &task.heartbeat_seconds),
                    },
                ),
            ),
            State::Pass(pass) => (
                DataFlow {
                    input_path: Selection::new(&pass.input_path),
                    parameters: template(&pass.parameters),
                    result_path: Placement::new(&pass.result_path),
                    output_path: Selection::new(&pass.output_path),
                    ..DataFlow::default()
                },
                Work::Pass(pass.clone()),
            ),
            State::Choice(choice) => {
                let work = if jsonata {
                    let rules = choice
                        .choices
                        .iter()
                        .enumerate()
                        .filter_map(|(index, rule)| {
                            let Condition::Expression(condition) = &rule.condition else { return None };
                            let at = format!("Choices[{index}]");
                            Some(JsonataRule {
                                condition: fields
                                    .add(format!("{at}.Condition"), &Value::String(condition.as_str().to_owned())),
                                next: rule.next.clone().unwrap_or_default(),
                                output: fields.optional(&format!("{at}.Output"), &rule.output),
                                assign: fields.assign(&format!("{at}.Assign"), rule.assign.as_ref(), true),
                            })
                        })
                        .collect();
                    Work::JsonataChoice(choice.clone(), rules)
                } else {
                    Work::Choice(choice.clone(), Rules::new(&choice.choices))
                };
                (
                    DataFlow {
                        input_path: Selection::new(&choice.input_path),
                        output_path: Selection::new(&choice.output_path),
                        ..DataFlow::default()
                    },
                    work,
                )
            }
            State::Wait(wait) => (
                DataFlow {
                    input_path: Selection::new(&wait.input_path),
                    output_path: Selection::new(&wait.output_path),
                    ..DataFlow::default()
                },
                Work::Wait(
                    wait.clone(),
                    WaitPaths {
                        seconds_path: query(&wait.seconds_path),
                        timestamp_path: query(&wait.timestamp_path),
                        seconds: fields.number("Seconds", &wait.seconds),
                        timestamp: if jsonata { fields.text("Timestamp", &wait.timestamp) } else { None },
                    },
                ),
            ),
            State::Succeed(Succeed { input_path, output_path, .. }) => (
                DataFlow {
                    input_path: Selection::new(input_path),
                    output_path: Selection::new(output_path),
                    ..DataFlow::default()
                },
                Work::Succeed,
            ),
            State::Fail(fail) => (
                DataFlow::default(),
                Work::Fail(
                    fail.clone(),
                    FailPaths {
                        error_path: fail.error_path.as_deref().map(Expression::new),
                        cause_path: fail.cause_path.as_deref().map(Expression::new),
                        error: if jsonata { fields.text("Error", &fail.error) } else { None },
                        cause: if jsonata { fields.text("Cause", &fail.cause) } else { None },
                    },
                ),
            ),
            State::Parallel(parallel) => (
                DataFlow {
                    input_path: Selection::new(&parallel.input_path),
                    parameters: template(&parallel.parameters),
                    result_selector: template(&parallel.result_selector),
                    result_path: Placement::new(&parallel.result_path),
                    output_path: Selection::new(&parallel.output_path),
                    ..DataFlow::default()
                },
                Work::Parallel(
                    parallel.branches.iter().map(|b| Scope::new(&b.start_at, &b.states, language)).collect(),
                ),
            ),
            State::Map(map) => {
                let processor = map.item_processor.as_ref().or(map.iterator.as_ref());
                let work = MapWork {
                    reads_items: map.item_reader.is_some(),
                    items_path: Query::new(map.items_path.as_deref().unwrap_or("$")),
                    item_selector: if jsonata {
                        fields.optional("ItemSelector", &map.item_selector).map(ItemSelector::Jsonata)
                    } else {
                        template(if map.item_selector.is_some() { &map.item_selector } else { &map.parameters })
                            .map(ItemSelector::Path)
                    },
                    jsonata: jsonata.then(|| JsonataItems { items: fields.optional("Items", &map.items) }),
                    processor: processor.map(|p| Scope::new(&p.start_at, &p.states, language)),
                    distributed: processor.and_then(|p| p.processor_config.as_ref()).and_then(|c| c.mode)
                        == Some(ProcessorMode::Distributed),
                    max_concurrency: map.max_concurrency.as_ref().and_then(NumberOrExpression::as_number),
                    max_concurrency_expression: fields.number("MaxConcurrency", &map.max_concurrency),
                    tolerated_failure_count_expression: fields
                        .number("ToleratedFailureCount", &map.tolerated_failure_count),
                    max_concurrency_path: query(&map.max_concurrency_path),
                    tolerated_failure_count: map
                        .tolerated_failure_count
                        .as_ref()
                        .and_then(NumberOrExpression::as_number),
                    tolerated_failure_count_path: query(&map.tolerated_failure_count_path),
                    tolerated_failure_percentage: map.tolerated_failure_percentage,
                    tolerated_failure_percentage_path: query(&map.tolerated_failure_percentage_path),
                };
                (
                    DataFlow {
                        input_path: Selection::new(&map.input_path),
                        result_selector: template(&map.result_selector),
                        result_path: Placement::new(&map.result_path),
                        output_path: Selection::new(&map.output_path),
                        ..DataFlow::default()
                    },
                    Work::Map(Box::new(work)),
                )
            }
        };
        if jsonata {
            let arguments = match state {
                State::Task(task) => fields.optional("Arguments", &task.arguments),
                State::Parallel(parallel) => fields.optional("Arguments", &parallel.arguments),
                _ => None,
            };
            let output = fields.optional("Output", &state.output().cloned());
            flow.jsonata = Some(Box::new(JsonataFlow { arguments, output }));
        }
        flow.assign = fields.assign("Assign", state.assign(), jsonata);
        let catch = state
            .catch()
            .iter()
            .enumerate()
            .map(|(index, c)| CompiledCatcher {
                catcher: c.clone(),
                placement: Placement::new(&c.result_path),
                output: if jsonata { fields.optional(&format!("Catch[{index}].Output"), &c.output) } else { None },
                assign: fields.assign(&format!("Catch[{index}].Assign"), c.assign.as_ref(), jsonata),
            })
            .collect();
        Self {
            kind,
            flow,
            next: state.next().map(str::to_owned),
            retry: state.retry().to_vec(),
            catch,
            work,
            fields: fields.0,
        }
    }
}
