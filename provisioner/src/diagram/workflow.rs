//! One state machine drawn inside its group: Start and End, a box per state with its type, what
//! it calls, its JSONata expressions and variable assignments (when it has them) and its Retry,
//! and an arrow per transition (Next, each Choice rule with its condition, Default, each Catch
//! with its ErrorEquals, the end of the execution or of a branch). A Parallel or Map is a group
//! holding the state's box, a group per branch (or its item processor) and a join where the
//! branches meet again. A state's request names resources through `${...}` placeholders; each
//! resolved one becomes an arrow from the state to that resource's box.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};

use model::states::{
    Choice, ChoiceRule, Condition, ItemProcessor, Map, NumberOrExpression, Parallel, QueryLanguage, Retrier, State,
    StateMachine, States, Task, Variables, Wait,
};
use model::template::{Resource, sub_variables};
use serde_json::Value;

use super::model::{EdgeKind, NodeKind};
use super::references::{first_reference, placeholders};
use super::service::Builder;

/// A state machine whose definition could be read, and what its placeholders stand for.
pub(super) struct Workflow {
    pub(super) id: String,
    pub(super) machine: StateMachine,
    /// Placeholder name (`ClusterArn`) to the logical ID it resolves to.
    pub(super) variables: HashMap<String, String>,
    /// True for a `DefinitionString` through `Fn::Sub`, which also resolves `${LogicalId}`.
    pub(super) sub_names_resources: bool,
    /// Each top-level state's distance in ranks to End, along the longest path (loops cut).
    pub(super) ranks_to_end: HashMap<String, u32>,
}

/// Where a state's arrows start and end: a Parallel or Map is entered at its own box and left
/// from its join.
#[derive(Clone)]
struct Placed {
    entry: String,
    exit: String,
}

/// Where the states of one States object go when they end.
struct Scope<'a> {
    group: String,
    /// The End box (top level) or the join of the enclosing Parallel or Map.
    end: String,
    /// The enclosing Parallel or Map state, for a branch.
    parent_state: Option<&'a str>,
    /// The top-level state this scope is inside, for a branch.
    top_state: Option<&'a str>,
}

impl Builder<'_> {
    pub(super) fn draw_workflow(&mut self, workflow: &Workflow, group: &str) {
        let machine_data = || vec![("machine", workflow.id.clone())];
        let start = self.diagram.add_node(Some(group), NodeKind::Start, "start", "Start", Vec::new(), machine_data());
        let end = self.diagram.add_node(Some(group), NodeKind::End, "end", "End", Vec::new(), machine_data());
        let scope = Scope { group: group.to_owned(), end, parent_state: None, top_state: None };
        let placed = self.place_states(workflow, &workflow.machine.states, &scope);
        match placed.get(workflow.machine.start_at.as_str()) {
            Some(first) => {
                let first = first.entry.clone();
                self.diagram.add_edge(
                    &start,
                    &first,
                    EdgeKind::Start,
                    None,
                    vec![("to", workflow.machine.start_at.clone())],
                );
            }
            None => {
                tracing::warn!(state_machine = %workflow.id, start_at = %workflow.machine.start_at, "StartAt names no state")
            }
        }
        self.connect_states(workflow, &workflow.machine.states, &placed, &scope);
    }

    /// Boxes (and, for Parallel and Map, groups with their inner states) for one States object.
    fn place_states(&mut self, workflow: &Workflow, states: &States, scope: &Scope) -> HashMap<String, Placed> {
        let mut placed = HashMap::new();
        for (name, state) in states {
            let data = vec![("state", name.clone()), ("type", state.type_name().to_owned())];
            let class = state.type_name().to_ascii_lowercase();
            // What a Task calls, its placeholders named after the resources they stand for.
            let lines = state_lines(state, |text| self.resolved(workflow, text));
            let here = match state {
                State::Parallel(Parallel { branches, .. }) => {
                    let group = self.diagram.add_group(
                        Some(&scope.group),
                        "parallel",
                        format!("Parallel {name}"),
                        vec![("state", name.clone())],
                    );
                    let entry = self.diagram.add_node(Some(&group), NodeKind::State, class, name, lines, data);
                    let join = self.join(&group, name);
                    for (index, branch) in branches.iter().enumerate() {
                        let branch_group = self.diagram.add_group(
                            Some(&group),
                            "branch",
                            format!("Branch {}", index + 1),
                            vec![("state", name.clone()), ("branch", (index + 1).to_string())],
                        );
                        self.nested(
                            workflow,
                            Some(scope.top_state.unwrap_or(name)),
                            name,
                            &entry,
                            &join,
                            &branch_group,
                            &branch.start_at,
                            &branch.states,
                        );
                    }
                    Placed { entry, exit: join }
                }
                State::Map(map) => {
                    let group = self.diagram.add_group(
                        Some(&scope.group),
                        "map",
                        format!("Map {name}"),
                        vec![("state", name.clone())],
                    );
                    let entry = self.diagram.add_node(Some(&group), NodeKind::State, class, name, lines, data);
                    let join = self.join(&group, name);
                    if let Some(processor) = map.item_processor.as_ref().or(map.iterator.as_ref()) {
                        let processor_group = self.diagram.add_group(
                            Some(&group),
                            "branch",
                            processor_title(processor),
                            vec![("state", name.clone()), ("branch", "ItemProcessor".to_owned())],
                        );
                        self.nested(
                            workflow,
                            Some(scope.top_state.unwrap_or(name)),
                            name,
                            &entry,
                            &join,
                            &processor_group,
                            &processor.start_at,
                            &processor.states,
                        );
                    }
                    Placed { entry, exit: join }
                }
                _ => {
                    let node = self.diagram.add_node(Some(&scope.group), NodeKind::State, class, name, lines, data);
                    Placed { entry: node.clone(), exit: node }
                }
            };
            // Resources go right of the whole workflow, not beside its later states: an arrow to
            // one then runs between the states and leaves the workflow sideways, instead of
            // dropping across the boxes stacked in the resource's column.
            let to_end = workflow.ranks_to_end.get(scope.top_state.unwrap_or(name)).copied().unwrap_or(1);
            self.draw_uses(workflow, name, state, &here.entry, to_end + 2);
            placed.insert(name.clone(), here);
        }
        placed
    }

    fn join(&mut self, group: &str, name: &str) -> String {
        self.diagram.add_node(
            Some(group),
            NodeKind::Join,
            "join",
            format!("{name} done"),
            Vec::new(),
            vec![("state", name.to_owned()), ("role", "join".to_owned())],
        )
    }

    /// A branch or item processor: its states, the arrow into its `StartAt`, its own transitions.
    #[allow(clippy::too_many_arguments)]
    fn nested(
        &mut self,
        workflow: &Workflow,
        top_state: Option<&str>,
        parent: &str,
        entry: &str,
        join: &str,
        group: &str,
        start_at: &str,
        states: &States,
    ) {
        let scope = Scope { group: group.to_owned(), end: join.to_owned(), parent_state: Some(parent), top_state };
        let placed = self.place_states(workflow, states, &scope);
        if let Some(first) = placed.get(start_at) {
            let first = first.entry.clone();
            self.diagram.add_edge(
                entry,
                &first,
                EdgeKind::Branch,
                None,
                vec![("from", parent.to_owned()), ("to", start_at.to_owned())],
            );
        }
        self.connect_states(workflow, states, &placed, &scope);
    }

    /// Every transition out of the states of one States object.
    fn connect_states(
        &mut self,
        workflow: &Workflow,
        states: &States,
        placed: &HashMap<String, Placed>,
        scope: &Scope,
    ) {
        for (name, state) in states {
            let Some(from) = placed.get(name).map(|p| p.exit.clone()) else { continue };
            let to_state = |this: &mut Self,
                            target: &str,
                            kind: EdgeKind,
                            label: Option<String>,
                            extra: Vec<(&'static str, String)>| {
                let to = match placed.get(target) {
                    Some(p) => p.entry.clone(),
                    None => this.missing_state(&scope.group, target, &workflow.id),
                };
                let mut data = vec![("from", name.clone()), ("to", target.to_owned())];
                data.extend(extra);
                this.diagram.add_edge(&from, &to, kind, label, data);
            };
            if let Some(next) = state.next() {
                to_state(self, next, EdgeKind::Next, None, Vec::new());
            }
            if let State::Choice(Choice { choices, default, .. }) = state {
                for (index, rule) in choices.iter().enumerate() {
                    if let Some(next) = &rule.next {
                        let label = rule.comment.clone().unwrap_or_else(|| condition_text(&rule.condition));
                        to_state(self, next, EdgeKind::Choice, Some(label), vec![("rule", (index + 1).to_string())]);
                    }
                }
                if let Some(default) = default {
                    to_state(self, default, EdgeKind::Default, Some("Default".to_owned()), Vec::new());
                }
            }
            for catcher in state.catch() {
                let errors = catcher.error_equals.join(", ");
                to_state(
                    self,
                    &catcher.next,
                    EdgeKind::Catch,
                    Some(format!("Catch {errors}")),
                    vec![("errors", errors)],
                );
            }
            let ends = state.end() || matches!(state, State::Succeed(_) | State::Fail(_));
            if ends {
                let mut data = vec![("from", name.clone())];
                if let Some(parent) = scope.parent_state {
                    data.push(("to", parent.to_owned()));
                }
                let end = scope.end.clone();
                self.diagram.add_edge(&from, &end, EdgeKind::End, None, data);
            }
        }
    }

    /// A box for a state a transition names but no States object has, so the mistake shows.
    fn missing_state(&mut self, group: &str, name: &str, machine: &str) -> String {
        tracing::warn!(state_machine = %machine, state = %name, "a transition names a state that does not exist");
        self.diagram.add_node(
            Some(group),
            NodeKind::State,
            "missing",
            name,
            vec!["no such state".to_owned()],
            vec![("missing-state", name.to_owned())],
        )
    }

    /// The logical ID a placeholder stands for: through the definition's variables, or, in an
    /// `Fn::Sub`, a resource's own logical ID.
    fn resource_named(&self, workflow: &Workflow, placeholder: &str) -> Option<String> {
        workflow.variables.get(placeholder).cloned().or_else(|| {
            (workflow.sub_names_resources && self.resources.contains_key(placeholder)).then(|| placeholder.to_owned())
        })
    }

    /// `text` with each `${Placeholder}` that stands for a resource replaced by its logical ID.
    fn resolved(&self, workflow: &Workflow, text: &str) -> String {
        let mut out = text.to_owned();
        for variable in sub_variables(text).unwrap_or_default() {
            if let Some(target) = self.resource_named(workflow, &variable.name) {
                let written = match &variable.attribute {
                    Some(attribute) => format!("${{{}.{attribute}}}", variable.name),
                    None => format!("${{{}}}", variable.name),
                };
                out = out.replace(&written, &target);
            }
        }
        out
    }

    /// Arrows from a state to the resources its request names.
    fn draw_uses(&mut self, workflow: &Workflow, name: &str, state: &State, node: &str, min_ranks: u32) {
        let Ok(mut value) = serde_json::to_value(state) else {
            return;
        };
        if let Value::Object(fields) = &mut value {
            // Nested states draw their own arrows; transitions name states, not resources.
            for key in ["Branches", "ItemProcessor", "Iterator", "Next", "Default", "Choices", "Catch", "Retry"] {
                fields.remove(key);
            }
        }
        let mut found = Vec::new();
        placeholders(&value, None, &mut found);
        let mut seen = BTreeSet::new();
        for (field, variable) in found {
            let Some(target) = self.resource_named(workflow, &variable) else { continue };
            let Some(to) = self.resource_nodes.get(&target).cloned() else {
                continue;
            };
            if !seen.insert((field.clone(), target.clone())) {
                continue;
            }
            self.diagram
                .add_edge(
                    node,
                    &to,
                    EdgeKind::Uses,
                    Some(field.clone()),
                    vec![("from", name.to_owned()), ("to", target), ("field", field)],
                )
                .min_ranks = min_ranks;
        }
    }
}

/// The ranks from the box of state `name` to the box its scope ends in (End, or the join of its
/// Parallel or Map), along the longest path; a transition back to a state on the path is cut, as
/// the layout cuts it. A Parallel or Map adds its join, its branches' longest path and the border
/// ranks of its groups.
fn ranks_to_end_of(
    states: &States,
    name: &str,
    memo: &mut HashMap<String, u32>,
    visiting: &mut HashSet<String>,
) -> u32 {
    if let Some(known) = memo.get(name) {
        return *known;
    }
    let Some(state) = states.get(name) else {
        return 0;
    };
    if !visiting.insert(name.to_owned()) {
        return 0;
    }
    let nested: Vec<(&str, &States)> = match state {
        State::Parallel(parallel) => parallel.branches.iter().map(|b| (b.start_at.as_str(), &b.states)).collect(),
        State::Map(map) => {
            map.item_processor.iter().chain(map.iterator.iter()).map(|p| (p.start_at.as_str(), &p.states)).collect()
        }
        _ => Vec::new(),
    };
    let inside = nested
        .iter()
        .map(|(start, states)| ranks_to_end_of(states, start, &mut HashMap::new(), &mut HashSet::new()) + 4)
        .max()
        .unwrap_or(0);
    let mut targets: Vec<&str> = state.next().into_iter().collect();
    if let State::Choice(choice) = state {
        targets.extend(choice.choices.iter().filter_map(|r| r.next.as_deref()));
        targets.extend(choice.default.as_deref());
    }
    targets.extend(state.catch().iter().map(|c| c.next.as_str()));
    let after = targets.iter().map(|t| 1 + ranks_to_end_of(states, t, memo, visiting)).max().unwrap_or(1);
    visiting.remove(name);
    let total = inside + after;
    memo.insert(name.to_owned(), total);
    total
}

/// The definition of a state machine resource and the logical IDs its placeholders stand for.
pub(super) fn read_workflow(
    id: &str,
    resource: &Resource,
    resources: &BTreeMap<String, &Resource>,
) -> Result<Workflow, String> {
    let mut variables = HashMap::new();
    let mut add_variables = |map: &serde_json::Map<String, Value>| {
        for (name, value) in map {
            if let Some(target) = first_reference(value, resources) {
                variables.insert(name.clone(), target);
            }
        }
    };
    // Step Functions substitutes DefinitionSubstitutions in either form of the definition.
    if let Some(substitutions) = resource.properties.get("DefinitionSubstitutions").and_then(Value::as_object) {
        add_variables(substitutions);
    }
    let not_sub = || "its DefinitionString is built by an intrinsic function other than Fn::Sub".to_owned();
    // Only Fn::Sub also resolves `${LogicalId}` and `${LogicalId.Attribute}` by itself.
    let (definition, sub_names_resources) =
        match (resource.properties.get("Definition"), resource.properties.get("DefinitionString")) {
            (Some(definition), _) => (definition.to_string(), false),
            (None, Some(Value::String(text))) => (text.clone(), false),
            (None, Some(Value::Object(sub))) if sub.len() == 1 => match sub.get("Fn::Sub") {
                Some(Value::String(text)) => (text.clone(), true),
                Some(Value::Array(parts)) => match parts.as_slice() {
                    [Value::String(text), Value::Object(map)] => {
                        add_variables(map);
                        (text.clone(), true)
                    }
                    _ => return Err("its Fn::Sub is neither a string nor [string, variables]".to_owned()),
                },
                _ => return Err(not_sub()),
            },
            (None, Some(_)) => return Err(not_sub()),
            (None, None) => return Err("it has neither Definition nor DefinitionString".to_owned()),
        };
    let machine = StateMachine::from_json(&definition).map_err(|e| e.to_string())?;
    let mut ranks_to_end = HashMap::new();
    for name in machine.states.keys() {
        ranks_to_end_of(&machine.states, name, &mut ranks_to_end, &mut HashSet::new());
    }
    Ok(Workflow { id: id.to_owned(), machine, variables, sub_names_resources, ranks_to_end })
}

// ---- Describing states ------------------------------------------------------------------------

/// The longest value a detail line shows of a free-form field (`Arguments`, `Output`, `Items`,
/// an `Assign` value, a Choice rule's `Condition`): about three wrapped lines of a box. Longer
/// values are cut and end in `…`; `template.json` beside the picture has them whole.
const MAX_VALUE_CHARS: usize = 120;

/// The lines under a state's name: its type and what it does; its own QueryLanguage when it is
/// JSONata; its JSONata `Arguments`; its Choice rules that carry more than the arrow shows; its
/// `Output` and `Assign`; its Retry; its catchers that set an `Output` or `Assign`. A field the
/// state lacks adds no line, so a JSONPath state without variables is drawn as it always was.
///
/// AWS, "Transforming data with JSONata in Step Functions"
/// (<https://docs.aws.amazon.com/step-functions/latest/dg/transforming-data.html>): a JSONata
/// state's fields are `Arguments` and `Output` (replacing InputPath, Parameters, ResultSelector,
/// ResultPath, OutputPath), a Map's `Items` (an array or an expression giving one) replaces
/// `ItemsPath`, and `QueryLanguage` is set at the top level or per state. "Passing
/// data between states with variables"
/// (<https://docs.aws.amazon.com/step-functions/latest/dg/workflow-variables.html>): `Assign` in
/// either language, on states, Choice rules and catchers. "Choice workflow state"
/// (<https://docs.aws.amazon.com/step-functions/latest/dg/state-choice.html>): a JSONata rule's
/// `Condition` is an expression giving true or false.
fn state_lines(state: &State, resolve: impl Fn(&str) -> String) -> Vec<String> {
    let mut lines = Vec::new();
    match state {
        State::Task(Task { resource, timeout_seconds, heartbeat_seconds, .. }) => {
            lines.push(format!("Task · {}", resolve(&integration(resource))));
            lines.extend(pattern(resource).map(str::to_owned));
            lines.extend(timeout_seconds.as_ref().map(|s| format!("TimeoutSeconds {s}")));
            lines.extend(heartbeat_seconds.as_ref().map(|s| format!("HeartbeatSeconds {s}")));
        }
        State::Pass(pass) => lines.push(if pass.result.is_some() { "Pass · sets a Result" } else { "Pass" }.to_owned()),
        State::Choice(Choice { choices, .. }) => lines.push(format!("Choice · {} rule(s)", choices.len())),
        State::Wait(Wait { seconds, timestamp, seconds_path, timestamp_path, .. }) => {
            let how = seconds
                .as_ref()
                .map(|s| match s {
                    NumberOrExpression::Number(n) => format!("{n} s"),
                    // "Wait {% $x %} s" would read as if the unit were part of the expression.
                    NumberOrExpression::Expression(e) => format!("Seconds {}", cut(e.to_string())),
                })
                .or_else(|| timestamp.as_ref().map(|t| format!("until {}", cut(t.clone()))))
                .or_else(|| seconds_path.as_ref().map(|p| format!("SecondsPath {p}")))
                .or_else(|| timestamp_path.as_ref().map(|p| format!("TimestampPath {p}")))
                .unwrap_or_default();
            lines.push(format!("Wait {how}").trim_end().to_owned());
        }
        State::Succeed(_) => lines.push("Succeed".to_owned()),
        State::Fail(fail) => {
            lines.push("Fail".to_owned());
            lines.extend(fail.error.as_ref().map(|e| format!("Error {e}")));
            lines.extend(fail.error_path.as_ref().map(|e| format!("ErrorPath {e}")));
            lines.extend(fail.cause.as_ref().map(|c| format!("Cause {c}")));
            lines.extend(fail.cause_path.as_ref().map(|c| format!("CausePath {c}")));
        }
        State::Parallel(Parallel { branches, .. }) => lines.push(format!("Parallel · {} branch(es)", branches.len())),
        State::Map(Map { items_path, items, max_concurrency, .. }) => {
            // JSONata's `Items` (an array or an expression giving one) replaces `ItemsPath`.
            let source = match items {
                Some(items) => shown(items),
                None => items_path.clone().unwrap_or_else(|| "$".to_owned()),
            };
            lines.push(format!("Map · each item of {source}"));
            lines.extend(max_concurrency.as_ref().map(|n| format!("MaxConcurrency {n}")));
        }
    }
    if state.query_language() == Some(QueryLanguage::JSONata) {
        lines.insert(1, "QueryLanguage JSONata".to_owned());
    }
    let arguments = match state {
        State::Task(task) => task.arguments.as_ref(),
        State::Parallel(parallel) => parallel.arguments.as_ref(),
        _ => None,
    };
    lines.extend(arguments.map(|a| format!("Arguments {}", shown(a))));
    if let State::Choice(choice) = state {
        for (index, rule) in choice.choices.iter().enumerate() {
            lines.extend(rule_lines(index, rule));
        }
    }
    lines.extend(output_and_assign(state.output(), state.assign()));
    lines.extend(state.retry().iter().flat_map(retry_lines));
    for catcher in state.catch() {
        let set = output_and_assign(catcher.output.as_ref(), catcher.assign.as_ref());
        if !set.is_empty() {
            lines.push(format!("Catch {} → {}", catcher.error_equals.join(", "), catcher.next));
            lines.extend(set);
        }
    }
    lines
}

/// The lines of a Choice rule that carries what its arrow cannot show: a JSONata `Condition`
/// (the arrow shows the rule's Comment instead when it has one, and folds long text into a
/// narrow label), or an `Assign` or `Output` that takes effect when the rule matches. `Rule 2` is the
/// arrow's `data-rule`. A JSONPath rule with neither adds nothing: its arrow says it all.
fn rule_lines(index: usize, rule: &ChoiceRule) -> Vec<String> {
    let expression = match &rule.condition {
        Condition::Expression(expression) => Some(expression),
        _ => None,
    };
    let set = output_and_assign(rule.output.as_ref(), rule.assign.as_ref());
    if expression.is_none() && set.is_empty() {
        return Vec::new();
    }
    let target = rule.next.as_deref().map_or_else(String::new, |next| format!(" → {next}"));
    let mut lines = vec![format!("Rule {}{target}", index + 1)];
    lines.extend(expression.map(|e| format!("Condition {}", cut(e.to_string()))));
    lines.extend(set);
    lines
}

/// `Output ...` and one `Assign name = value` line per variable, in the order of the model's map
/// (by name: this workspace's serde_json does not keep the written order; Step Functions
/// evaluates every value of one Assign before it sets any, so the order says nothing). A
/// JSONPath variable keeps its `.$` (`Assign total.$ = $.result.total`), which says its value is
/// a path, not a literal.
fn output_and_assign(output: Option<&Value>, assign: Option<&Variables>) -> Vec<String> {
    let mut lines: Vec<String> = output.map(|o| format!("Output {}", shown(o))).into_iter().collect();
    for (name, value) in assign.into_iter().flatten() {
        lines.push(format!("Assign {name} = {}", shown(value)));
    }
    lines
}

/// A free-form value as a box shows it: a string as written (an expression with its `{% %}`
/// markers, so it reads as one), anything else as compact JSON; cut to [`MAX_VALUE_CHARS`].
fn shown(value: &Value) -> String {
    match value {
        Value::String(text) => cut(text.clone()),
        other => cut(other.to_string()),
    }
}

/// `text`, or its first [`MAX_VALUE_CHARS`] characters ending in `…` when it is longer.
fn cut(text: String) -> String {
    if text.chars().count() <= MAX_VALUE_CHARS {
        return text;
    }
    let mut kept: String = text.chars().take(MAX_VALUE_CHARS - 1).collect();
    kept.push('…');
    kept
}

/// What a Task waits for, by its integration pattern (AWS's "Discover service integration
/// patterns"): the callback's token or the job's end; a request-response call waits for nothing.
fn pattern(resource: &str) -> Option<&'static str> {
    if resource.ends_with(".waitForTaskToken") {
        Some("waits for its task token: the result is what the task reports")
    } else if resource.ends_with(".sync") || resource.ends_with(".sync:2") {
        Some("waits for the job to end: the result is its final description")
    } else {
        None
    }
}

/// `ecs:runTask.sync` from `arn:${AWS::Partition}:states:::ecs:runTask.sync`.
fn integration(resource: &str) -> String {
    resource.split_once(":::").map_or_else(|| resource.to_owned(), |(_, rest)| rest.to_owned())
}

/// One retrier, with ASL's defaults filled in so the lines say what Step Functions will do.
fn retry_lines(retrier: &Retrier) -> [String; 2] {
    let mut how = format!(
        "MaxAttempts {} · IntervalSeconds {} · BackoffRate {}",
        retrier.max_attempts.unwrap_or(3),
        retrier.interval_seconds.unwrap_or(1),
        retrier.backoff_rate.unwrap_or(2.0)
    );
    if let Some(max) = retrier.max_delay_seconds {
        how.push_str(&format!(" · MaxDelaySeconds {max}"));
    }
    [format!("Retry {}", retrier.error_equals.join(", ")), how]
}

fn processor_title(processor: &ItemProcessor) -> String {
    match processor.processor_config.as_ref().and_then(|c| c.mode) {
        Some(model::states::ProcessorMode::Distributed) => "ItemProcessor (DISTRIBUTED)".to_owned(),
        _ => "ItemProcessor".to_owned(),
    }
}

/// A Choice rule's condition as a short expression: `$.status StringEquals "OK"`.
pub fn condition_text(condition: &Condition) -> String {
    match condition {
        Condition::And(all) => all.iter().map(nested_text).collect::<Vec<_>>().join(" and "),
        Condition::Or(any) => any.iter().map(nested_text).collect::<Vec<_>>().join(" or "),
        Condition::Not(inner) => format!("not {}", nested_text(inner)),
        Condition::Expression(expression) => expression.to_string(),
        Condition::Compare { variable, comparison } => {
            // Display is "Operator: operand"; the variable goes in front.
            let shown = comparison.to_string();
            match shown.split_once(": ") {
                Some((operator, operand)) => format!("{variable} {operator} {operand}"),
                None => format!("{variable} {shown}"),
            }
        }
    }
}

fn nested_text(condition: &Condition) -> String {
    match condition {
        Condition::Compare { .. } => condition_text(condition),
        _ => format!("({})", condition_text(condition)),
    }
}
