//! A state machine as the interpreter runs it: every path, payload template, intrinsic function
//! call and Choice rule parsed once, when the machine is loaded, so that a Map of many items or a
//! retried state only evaluates them. A path or call that does not parse keeps its error and
//! raises it where it is evaluated, as an unparsed definition would (the API validates definitions
//! before they get here, so that happens only to a definition that skipped validation).

use std::collections::HashMap;
use std::sync::Arc;

use model::states::{
    Catcher, Choice, Fail, Pass, ProcessorMode, Retrier, State, StateMachine, States, Succeed, Task, Wait,
};

use crate::choice::Rules;
use crate::events::StateKind;
use crate::path::Query;
use crate::pipeline::{DataFlow, Placement, Selection};
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
        let top = Scope::new(&machine.start_at, &machine.states);
        Self(Arc::new(Loaded { definition: machine, top }))
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
    fn new(start_at: &str, states: &States) -> Self {
        Self {
            start_at: start_at.to_owned(),
            states: states.iter().map(|(name, state)| (name.clone(), Node::new(state))).collect(),
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
    /// Each catcher with its ResultPath parsed.
    pub catch: Vec<(Catcher, Placement)>,
    pub work: Work,
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
}

#[derive(Debug)]
pub(crate) struct WaitPaths {
    pub seconds_path: Option<Query>,
    pub timestamp_path: Option<Query>,
}

#[derive(Debug)]
pub(crate) struct FailPaths {
    pub error_path: Option<Expression>,
    pub cause_path: Option<Expression>,
}

/// What a Map state's iterations need (the model's Map holds the processor's states again, which
/// a loaded machine keeps only in their parsed form).
#[derive(Debug)]
pub(crate) struct MapWork {
    /// Distributed mode's ItemReader is set (the local interpreter does not read items).
    pub reads_items: bool,
    /// `ItemsPath`, `$` when absent.
    pub items_path: Query,
    /// `ItemSelector`, or the older `Parameters`.
    pub item_selector: Option<Template>,
    /// `ItemProcessor`, or the older `Iterator`.
    pub processor: Option<Scope>,
    pub distributed: bool,
    pub max_concurrency: Option<u64>,
    pub max_concurrency_path: Option<Query>,
    pub tolerated_failure_count: Option<u64>,
    pub tolerated_failure_count_path: Option<Query>,
    pub tolerated_failure_percentage: Option<f64>,
    pub tolerated_failure_percentage_path: Option<Query>,
}

fn query(field: &Option<String>) -> Option<Query> {
    field.as_deref().map(Query::new)
}

fn template(field: &Option<serde_json::Value>) -> Option<Template> {
    field.as_ref().map(Template::new)
}

impl Node {
    fn new(state: &State) -> Self {
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
        let (flow, work) = match state {
            State::Task(task) => (
                DataFlow {
                    input_path: Selection::new(&task.input_path),
                    parameters: template(&task.parameters),
                    result_selector: template(&task.result_selector),
                    result_path: Placement::new(&task.result_path),
                    output_path: Selection::new(&task.output_path),
                },
                Work::Task(
                    task.clone(),
                    TaskPaths {
                        timeout_seconds_path: query(&task.timeout_seconds_path),
                        heartbeat_seconds_path: query(&task.heartbeat_seconds_path),
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
            State::Choice(choice) => (
                DataFlow {
                    input_path: Selection::new(&choice.input_path),
                    output_path: Selection::new(&choice.output_path),
                    ..DataFlow::default()
                },
                Work::Choice(choice.clone(), Rules::new(&choice.choices)),
            ),
            State::Wait(wait) => (
                DataFlow {
                    input_path: Selection::new(&wait.input_path),
                    output_path: Selection::new(&wait.output_path),
                    ..DataFlow::default()
                },
                Work::Wait(
                    wait.clone(),
                    WaitPaths { seconds_path: query(&wait.seconds_path), timestamp_path: query(&wait.timestamp_path) },
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
                },
                Work::Parallel(parallel.branches.iter().map(|b| Scope::new(&b.start_at, &b.states)).collect()),
            ),
            State::Map(map) => {
                let processor = map.item_processor.as_ref().or(map.iterator.as_ref());
                let work = MapWork {
                    reads_items: map.item_reader.is_some(),
                    items_path: Query::new(map.items_path.as_deref().unwrap_or("$")),
                    item_selector: template(if map.item_selector.is_some() {
                        &map.item_selector
                    } else {
                        &map.parameters
                    }),
                    processor: processor.map(|p| Scope::new(&p.start_at, &p.states)),
                    distributed: processor.and_then(|p| p.processor_config.as_ref()).and_then(|c| c.mode)
                        == Some(ProcessorMode::Distributed),
                    max_concurrency: map.max_concurrency,
                    max_concurrency_path: query(&map.max_concurrency_path),
                    tolerated_failure_count: map.tolerated_failure_count,
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
        Self {
            kind,
            flow,
            next: state.next().map(str::to_owned),
            retry: state.retry().to_vec(),
            catch: state.catch().iter().map(|c| (c.clone(), Placement::new(&c.result_path))).collect(),
            work,
        }
    }
}
