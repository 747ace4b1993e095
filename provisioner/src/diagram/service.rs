//! The service as a [`Diagram`], read from its CloudFormation template alone, so the picture shows
//! what would be deployed, fragments merged in included. Each state machine's definition is parsed
//! with the runtime's States Language model and drawn inside a group named after the resource:
//! its states, every transition (Next, Choice rules and Default, Catch, End), Retry on the state,
//! Parallel branches and Map processors as nested groups. A state's request names resources
//! through `${...}` placeholders that the resource's `Fn::Sub` (or `DefinitionSubstitutions`)
//! resolves; each becomes an arrow from the state to that resource. The other resources are
//! grouped by concern: the network (subnets in their availability zones), each AWS service, with
//! a role or log group beside the one resource that uses it.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};

use runtime::states::{
    Choice, Condition, ItemProcessor, Map, Parallel, Retrier, State, StateMachine, States, Task, Wait,
};
use runtime::template::{Resource, Template, sub_variables};
use serde_json::Value;

use super::model::{Diagram, EdgeKind, NodeKind};

const STATE_MACHINE_TYPE: &str = "AWS::StepFunctions::StateMachine";

/// Properties whose references are not drawn: policy documents name every resource a role may
/// act on, which says who may, not what uses what.
const UNDRAWN_PROPERTIES: &[&str] = &["Policies", "PolicyDocument", "AssumeRolePolicyDocument", "ManagedPolicyArns"];

/// The diagram of everything in `template`.
pub fn diagram(template: &Template) -> Diagram {
    let resources: BTreeMap<String, &Resource> =
        template.resources().iter().map(|(id, r)| (id.as_str().to_owned(), r)).collect();
    let mut builder = Builder {
        template,
        resources,
        diagram: Diagram::default(),
        resource_nodes: HashMap::new(),
        groups: HashMap::new(),
    };
    builder.build();
    builder.diagram.prune_empty_groups();
    builder.diagram
}

/// A state machine whose definition could be read, and what its placeholders stand for.
struct Workflow {
    id: String,
    machine: StateMachine,
    /// Placeholder name (`ClusterArn`) to the logical ID it resolves to.
    variables: HashMap<String, String>,
    /// Each top-level state's distance in ranks to End, along the longest path (loops cut).
    ranks_to_end: HashMap<String, u32>,
}

struct Builder<'t> {
    template: &'t Template,
    resources: BTreeMap<String, &'t Resource>,
    diagram: Diagram,
    /// Logical ID to the id of its box.
    resource_nodes: HashMap<String, String>,
    /// Group key (see `group_key`) to the id of its group.
    groups: HashMap<String, String>,
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

impl<'t> Builder<'t> {
    fn build(&mut self) {
        let mut workflows = Vec::new();
        let mut unreadable = HashMap::new();
        for (id, resource) in &self.resources {
            if resource.resource_type == STATE_MACHINE_TYPE {
                match read_workflow(id, resource, &self.resources) {
                    Ok(workflow) => workflows.push(workflow),
                    Err(reason) => {
                        tracing::warn!(state_machine = %id, "the definition is not drawn: {reason}");
                        unreadable.insert(id.clone(), reason);
                    }
                }
            }
        }
        let drawn_as_groups: BTreeSet<String> = workflows.iter().map(|w| w.id.clone()).collect();

        // Each workflow's group first: resources may be placed in it (its role).
        let mut workflow_groups = HashMap::new();
        for workflow in &workflows {
            let resource = self.resources[&workflow.id];
            let kind = resource.properties.get("StateMachineType").map_or_else(|| "STANDARD".to_owned(), brief);
            let title = format!("{} · {STATE_MACHINE_TYPE} · {kind}", workflow.id);
            let group = self.diagram.add_group(
                None,
                "workflow",
                title,
                vec![("logical-id", workflow.id.clone()), ("type", STATE_MACHINE_TYPE.to_owned())],
            );
            self.groups.insert(format!("workflow:{}", workflow.id), group.clone());
            workflow_groups.insert(workflow.id.clone(), group);
        }

        let placement = self.place_resources(&drawn_as_groups);
        for (id, resource) in self.resources.clone() {
            if drawn_as_groups.contains(&id) {
                continue;
            }
            let group = placement.get(&id).map(|key| self.group_for(key));
            let mut lines = vec![resource.resource_type.clone()];
            lines.extend(self.details(&resource.resource_type, resource));
            if let Some(reason) = unreadable.get(&id) {
                lines.push(format!("definition not drawn: {reason}"));
            }
            let node = self.diagram.add_node(
                group.as_deref(),
                NodeKind::Resource,
                service_class(&resource.resource_type),
                id.clone(),
                lines,
                vec![("logical-id", id.clone()), ("type", resource.resource_type.clone())],
            );
            self.resource_nodes.insert(id, node);
        }

        for workflow in &workflows {
            let group = workflow_groups[&workflow.id].clone();
            self.draw_workflow(workflow, &group);
        }
        self.draw_references(&drawn_as_groups);
    }

    // ---- Resources ---------------------------------------------------------------------------

    /// The group key of every resource that is a box: `workflow:<id>`, `network`, `az:<zone>`,
    /// or `service:<namespace>`.
    fn place_resources(&self, workflows: &BTreeSet<String>) -> HashMap<String, String> {
        let mut placement = HashMap::new();
        for (id, resource) in &self.resources {
            if workflows.contains(id) {
                continue;
            }
            let kind = resource.resource_type.as_str();
            let key = if kind == "AWS::EC2::Subnet" {
                availability_zone(resource).map_or_else(|| "network".to_owned(), |zone| format!("az:{zone}"))
            } else if namespace(kind) == "EC2" {
                "network".to_owned()
            } else {
                format!("service:{}", namespace(kind))
            };
            placement.insert(id.clone(), key);
        }
        // A route table association sits with its subnet, in that subnet's zone.
        for (id, resource) in &self.resources {
            if resource.resource_type == "AWS::EC2::SubnetRouteTableAssociation"
                && let Some(subnet) = resource.properties.get("SubnetId").and_then(referenced_id)
                && let Some(key) = placement.get(&subnet).filter(|k| k.starts_with("az:")).cloned()
            {
                placement.insert(id.clone(), key);
            }
        }
        // A role or log group used by resources of one group only goes to that group: the task
        // definition's roles and log group beside it, a state machine's role in its workflow.
        let mut users: HashMap<String, BTreeSet<String>> = HashMap::new();
        for (id, resource) in &self.resources {
            let user_group =
                if workflows.contains(id) { Some(format!("workflow:{id}")) } else { placement.get(id).cloned() };
            let Some(user_group) = user_group else {
                continue;
            };
            for (_, target) in references(resource, &self.resources) {
                if &target != id {
                    users.entry(target).or_default().insert(user_group.clone());
                }
            }
        }
        for (id, resource) in &self.resources {
            let movable = matches!(resource.resource_type.as_str(), "AWS::IAM::Role" | "AWS::Logs::LogGroup");
            if movable
                && let Some(groups) = users.get(id)
                && groups.len() == 1
                && let Some(group) = groups.first()
                && placement.contains_key(id)
            {
                placement.insert(id.clone(), group.clone());
            }
        }
        placement
    }

    /// The group for `key`, made the first time it is asked for.
    fn group_for(&mut self, key: &str) -> String {
        if let Some(group) = self.groups.get(key) {
            return group.clone();
        }
        let (parent, class, title) = if let Some(zone) = key.strip_prefix("az:") {
            (Some(self.group_for("network")), "zone", format!("Availability zone {zone}"))
        } else if key == "network" {
            (None, "network", "Network · Amazon VPC".to_owned())
        } else {
            let namespace = key.strip_prefix("service:").unwrap_or(key);
            (None, "service", service_title(namespace))
        };
        let group = self.diagram.add_group(parent.as_deref(), class, title, Vec::new());
        self.groups.insert(key.to_owned(), group.clone());
        group
    }

    /// What a reader wants to know about a resource beyond its ID and type.
    fn details(&self, kind: &str, resource: &Resource) -> Vec<String> {
        let p = &resource.properties;
        let get = |name: &str| p.get(name).map(brief);
        let mut lines = Vec::new();
        match kind {
            "AWS::ECS::TaskDefinition" => {
                if let (Some(cpu), Some(memory)) = (get("Cpu"), get("Memory")) {
                    lines.push(format!("cpu {cpu} · memory {memory} MiB"));
                }
                if let Some(compatibilities) = p.get("RequiresCompatibilities").and_then(Value::as_array) {
                    let names: Vec<String> = compatibilities.iter().map(brief).collect();
                    lines.push(format!("{} · {}", names.join(", "), get("NetworkMode").unwrap_or_default()));
                }
                for container in p.get("ContainerDefinitions").and_then(Value::as_array).into_iter().flatten() {
                    let name = container.get("Name").map(brief).unwrap_or_default();
                    lines.push(format!("container {name}"));
                    if let Some(image) = container.get("Image") {
                        lines.push(format!("image {}", self.value_with_default(image)));
                    }
                }
            }
            "AWS::ECS::Cluster" => lines.extend(get("ClusterName").map(|n| format!("name {n}"))),
            "AWS::EC2::VPC" => lines.extend(get("CidrBlock")),
            "AWS::EC2::Subnet" => {
                lines.extend(get("CidrBlock"));
                if p.get("MapPublicIpOnLaunch") == Some(&Value::Bool(true)) {
                    lines.push("public IPs on launch".to_owned());
                }
            }
            "AWS::EC2::SecurityGroup" => {
                let count = |name: &str| p.get(name).and_then(Value::as_array).map_or(0, Vec::len);
                lines.push(format!(
                    "{} ingress rule(s), {} egress rule(s)",
                    count("SecurityGroupIngress"),
                    count("SecurityGroupEgress")
                ));
            }
            "AWS::EC2::Route" => lines.extend(get("DestinationCidrBlock").map(|c| format!("to {c}"))),
            "AWS::Logs::LogGroup" => {
                lines.extend(get("LogGroupName"));
                lines.extend(get("RetentionInDays").map(|d| format!("kept {d} days")));
            }
            "AWS::SNS::Topic" => lines.extend(get("TopicName").map(|n| format!("name {n}"))),
            "AWS::IAM::Role" => {
                let principals: Vec<String> = p
                    .get("AssumeRolePolicyDocument")
                    .and_then(|d| d.get("Statement"))
                    .and_then(Value::as_array)
                    .into_iter()
                    .flatten()
                    .filter_map(|s| s.get("Principal").and_then(|p| p.get("Service")))
                    .flat_map(|s| match s {
                        Value::Array(items) => items.iter().map(brief).collect(),
                        other => vec![brief(other)],
                    })
                    .collect();
                if !principals.is_empty() {
                    lines.push(format!("assumed by {}", principals.join(", ")));
                }
                let policies = p.get("Policies").and_then(Value::as_array).map_or(0, Vec::len);
                let managed = p.get("ManagedPolicyArns").and_then(Value::as_array).map_or(0, Vec::len);
                lines.push(match (policies, managed) {
                    (0, 0) => "no permissions yet".to_owned(),
                    (inline, 0) => format!("{inline} inline policy(ies)"),
                    (inline, managed) => format!("{inline} inline, {managed} managed policy(ies)"),
                });
            }
            _ => {}
        }
        lines
    }

    /// A value, and a parameter's default when the value is a `Ref` to one.
    fn value_with_default(&self, value: &Value) -> String {
        if let Some(name) = value.get("Ref").and_then(Value::as_str)
            && let Some((_, parameter)) = self.template.parameters().iter().find(|(id, _)| id.as_str() == name)
        {
            return match &parameter.default {
                Some(default) => format!("{} (parameter {name})", brief(default)),
                None => format!("parameter {name}"),
            };
        }
        brief(value)
    }

    /// Arrows between resource boxes, for the references their properties make.
    fn draw_references(&mut self, workflows: &BTreeSet<String>) {
        let mut seen = BTreeSet::new();
        for (id, resource) in &self.resources {
            if workflows.contains(id) {
                continue;
            }
            for (property, target) in references(resource, &self.resources) {
                let (Some(from), Some(to)) = (self.resource_nodes.get(id), self.resource_nodes.get(&target)) else {
                    continue;
                };
                if from == to || !seen.insert((id.clone(), target.clone())) {
                    continue;
                }
                let target_type = &self.resources[&target].resource_type;
                let label = (!names_the_type(&property, target_type)).then(|| property.clone());
                let (from, to) = (from.clone(), to.clone());
                self.diagram.add_edge(
                    &from,
                    &to,
                    EdgeKind::Reference,
                    label,
                    vec![("from", id.clone()), ("to", target.clone()), ("field", property)],
                );
            }
        }
    }

    // ---- Workflows ---------------------------------------------------------------------------

    fn draw_workflow(&mut self, workflow: &Workflow, group: &str) {
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
            let lines = state_lines(state);
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
            let from = placed[name].exit.clone();
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
            let target = workflow
                .variables
                .get(&variable)
                .cloned()
                .or_else(|| self.resources.contains_key(&variable).then(|| variable.clone()));
            let Some(target) = target else { continue };
            let Some(to) = self.resource_nodes.get(&target).cloned() else {
                continue;
            };
            if !seen.insert((field.clone(), target.clone())) {
                continue;
            }
            self.diagram.add_edge(
                node,
                &to,
                EdgeKind::Uses,
                Some(field.clone()),
                vec![("from", name.to_owned()), ("to", target), ("field", field)],
            );
            if let Some(edge) = self.diagram.edges.last_mut() {
                edge.min_ranks = min_ranks;
            }
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

// ---- Reading the template ------------------------------------------------------------------------

/// The definition of a state machine resource and the logical IDs its placeholders stand for.
fn read_workflow(id: &str, resource: &Resource, resources: &BTreeMap<String, &Resource>) -> Result<Workflow, String> {
    let mut variables = HashMap::new();
    let definition = if let Some(definition) = resource.properties.get("Definition") {
        if let Some(substitutions) = resource.properties.get("DefinitionSubstitutions").and_then(Value::as_object) {
            for (name, value) in substitutions {
                if let Some(target) = first_reference(value, resources) {
                    variables.insert(name.clone(), target);
                }
            }
        }
        definition.to_string()
    } else {
        match resource.properties.get("DefinitionString") {
            Some(Value::String(text)) => text.clone(),
            Some(Value::Object(sub)) if sub.len() == 1 && sub.contains_key("Fn::Sub") => match &sub["Fn::Sub"] {
                Value::String(text) => text.clone(),
                Value::Array(parts) => match parts.as_slice() {
                    [Value::String(text), Value::Object(map)] => {
                        for (name, value) in map {
                            if let Some(target) = first_reference(value, resources) {
                                variables.insert(name.clone(), target);
                            }
                        }
                        text.clone()
                    }
                    _ => {
                        return Err("its Fn::Sub is neither a string nor [string, variables]".to_owned());
                    }
                },
                _ => {
                    return Err("its Fn::Sub is neither a string nor [string, variables]".to_owned());
                }
            },
            Some(_) => {
                return Err("its DefinitionString is built by an intrinsic function other than Fn::Sub".to_owned());
            }
            None => return Err("it has neither Definition nor DefinitionString".to_owned()),
        }
    };
    let machine = StateMachine::from_json(&definition).map_err(|e| e.to_string())?;
    let mut ranks_to_end = HashMap::new();
    for name in machine.states.keys() {
        ranks_to_end_of(&machine.states, name, &mut ranks_to_end, &mut HashSet::new());
    }
    Ok(Workflow { id: id.to_owned(), machine, variables, ranks_to_end })
}

/// `Ref`, `Fn::GetAtt` and `Fn::Sub` references to resources in a resource's properties, each
/// with the top-level property it is under.
fn references(resource: &Resource, resources: &BTreeMap<String, &Resource>) -> Vec<(String, String)> {
    let mut found = Vec::new();
    for (property, value) in &resource.properties {
        if UNDRAWN_PROPERTIES.contains(&property.as_str())
            || resource.resource_type == STATE_MACHINE_TYPE && property.starts_with("Definition")
        {
            continue;
        }
        let mut targets = Vec::new();
        collect_references(value, resources, &mut targets);
        found.extend(targets.into_iter().map(|t| (property.clone(), t)));
    }
    found
}

fn first_reference(value: &Value, resources: &BTreeMap<String, &Resource>) -> Option<String> {
    let mut targets = Vec::new();
    collect_references(value, resources, &mut targets);
    targets.into_iter().next()
}

fn collect_references(value: &Value, resources: &BTreeMap<String, &Resource>, out: &mut Vec<String>) {
    match value {
        Value::Object(map) if map.len() == 1 => {
            let (key, inner) = map.iter().next().map_or(("", &Value::Null), |(k, v)| (k.as_str(), v));
            let named = match (key, inner) {
                ("Ref", Value::String(name)) => Some(name.clone()),
                ("Fn::GetAtt", Value::Array(parts)) => parts.first().and_then(Value::as_str).map(str::to_owned),
                ("Fn::GetAtt", Value::String(dotted)) => dotted.split('.').next().map(str::to_owned),
                ("Fn::Sub", Value::String(text)) => {
                    sub_targets(text, &[], resources, out);
                    None
                }
                ("Fn::Sub", Value::Array(parts)) => {
                    if let [Value::String(text), Value::Object(vars)] = parts.as_slice() {
                        let own: Vec<&str> = vars.keys().map(String::as_str).collect();
                        sub_targets(text, &own, resources, out);
                        for v in vars.values() {
                            collect_references(v, resources, out);
                        }
                    }
                    None
                }
                _ => {
                    collect_references(inner, resources, out);
                    None
                }
            };
            if let Some(name) = named.filter(|n| resources.contains_key(n)) {
                out.push(name);
            }
        }
        Value::Object(map) => map.values().for_each(|v| collect_references(v, resources, out)),
        Value::Array(items) => items.iter().for_each(|v| collect_references(v, resources, out)),
        _ => {}
    }
}

fn sub_targets(text: &str, own: &[&str], resources: &BTreeMap<String, &Resource>, out: &mut Vec<String>) {
    for variable in sub_variables(text).unwrap_or_default() {
        if !own.contains(&variable.name.as_str()) && resources.contains_key(&variable.name) {
            out.push(variable.name);
        }
    }
}

/// `${Name}` placeholders in a state's fields, each with the nearest field name above it
/// (`Cluster`, `Subnets`, `TopicArn`, `Resource`).
fn placeholders(value: &Value, field: Option<&str>, out: &mut Vec<(String, String)>) {
    match value {
        Value::String(text) => {
            for variable in sub_variables(text).unwrap_or_default() {
                out.push((field.unwrap_or("Resource").to_owned(), variable.name));
            }
        }
        Value::Array(items) => items.iter().for_each(|v| placeholders(v, field, out)),
        Value::Object(map) => map.iter().for_each(|(k, v)| placeholders(v, Some(k), out)),
        _ => {}
    }
}

/// The logical ID a `Ref` or `Fn::GetAtt` names.
fn referenced_id(value: &Value) -> Option<String> {
    value
        .get("Ref")
        .and_then(Value::as_str)
        .or_else(|| value.get("Fn::GetAtt").and_then(|v| v.get(0)).and_then(Value::as_str))
        .map(str::to_owned)
}

/// The zone a subnet is in, as a reader would name it.
fn availability_zone(subnet: &Resource) -> Option<String> {
    let zone = subnet.properties.get("AvailabilityZone")?;
    if let Some(name) = zone.as_str() {
        return Some(name.to_owned());
    }
    let select = zone.get("Fn::Select")?.as_array()?;
    let index = select.first().and_then(|i| i.as_u64().or_else(|| i.as_str().and_then(|s| s.parse().ok())))?;
    let from_region = select.get(1).is_some_and(|list| list.get("Fn::GetAZs").is_some());
    Some(if from_region { format!("#{} (Fn::GetAZs [{index}])", index + 1) } else { format!("[{index}]") })
}

/// `EC2` from `AWS::EC2::VPC`.
fn namespace(resource_type: &str) -> &str {
    resource_type.split("::").nth(1).unwrap_or(resource_type)
}

fn service_class(resource_type: &str) -> String {
    namespace(resource_type).to_ascii_lowercase()
}

fn service_title(namespace: &str) -> String {
    match namespace {
        "ECS" => "Amazon ECS · Fargate task".to_owned(),
        "SNS" => "Amazon SNS".to_owned(),
        "SQS" => "Amazon SQS".to_owned(),
        "S3" => "Amazon S3".to_owned(),
        "Logs" => "Amazon CloudWatch Logs".to_owned(),
        "IAM" => "AWS IAM".to_owned(),
        "Lambda" => "AWS Lambda".to_owned(),
        "StepFunctions" => "AWS Step Functions".to_owned(),
        "DynamoDB" => "Amazon DynamoDB".to_owned(),
        "Events" => "Amazon EventBridge".to_owned(),
        other => format!("AWS::{other}"),
    }
}

/// True when a property's name only repeats the type it points at (`VpcId` to a VPC), so the
/// arrow needs no label.
fn names_the_type(property: &str, target_type: &str) -> bool {
    let short = target_type.rsplit("::").next().unwrap_or(target_type).to_ascii_lowercase();
    let property = property.to_ascii_lowercase();
    ["id", "arn", "name", ""].iter().any(|suffix| property == format!("{short}{suffix}"))
}

/// A property value in a few words: literals as they are, intrinsic functions by what they name.
pub fn brief(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        Value::Null => "null".to_owned(),
        Value::Bool(_) | Value::Number(_) => value.to_string(),
        Value::Array(items) => items.iter().map(brief).collect::<Vec<_>>().join(", "),
        Value::Object(map) if map.len() == 1 => {
            let (key, inner) = map.iter().next().map_or(("", &Value::Null), |(k, v)| (k.as_str(), v));
            match (key, inner) {
                ("Ref", Value::String(name)) => format!("Ref {name}"),
                ("Fn::GetAtt", Value::Array(parts)) => {
                    parts.iter().filter_map(Value::as_str).collect::<Vec<_>>().join(".")
                }
                ("Fn::GetAtt", Value::String(dotted)) => dotted.clone(),
                ("Fn::Sub", Value::String(text)) => text.clone(),
                ("Fn::Sub", Value::Array(parts)) => parts.first().map(brief).unwrap_or_default(),
                ("Fn::GetAZs", _) => "the region's zones".to_owned(),
                ("Fn::Select", Value::Array(parts)) if parts.len() == 2 => {
                    format!("[{}] of {}", brief(&parts[0]), brief(&parts[1]))
                }
                ("Fn::Join", Value::Array(parts)) if parts.len() == 2 => match &parts[1] {
                    Value::Array(items) => {
                        items.iter().map(brief).collect::<Vec<_>>().join(parts[0].as_str().unwrap_or(""))
                    }
                    other => brief(other),
                },
                _ => value.to_string(),
            }
        }
        Value::Object(_) => value.to_string(),
    }
}

// ---- Describing states ------------------------------------------------------------------------

/// The lines under a state's name: its type and what it does, then its Retry.
fn state_lines(state: &State) -> Vec<String> {
    let mut lines = Vec::new();
    match state {
        State::Task(Task { resource, timeout_seconds, heartbeat_seconds, .. }) => {
            lines.push(format!("Task · {}", integration(resource)));
            lines.extend(timeout_seconds.map(|s| format!("TimeoutSeconds {s}")));
            lines.extend(heartbeat_seconds.map(|s| format!("HeartbeatSeconds {s}")));
        }
        State::Pass(pass) => lines.push(if pass.result.is_some() { "Pass · sets a Result" } else { "Pass" }.to_owned()),
        State::Choice(Choice { choices, .. }) => lines.push(format!("Choice · {} rule(s)", choices.len())),
        State::Wait(Wait { seconds, timestamp, seconds_path, timestamp_path, .. }) => {
            let how = seconds
                .map(|s| format!("{s} s"))
                .or_else(|| timestamp.as_ref().map(|t| format!("until {t}")))
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
        State::Map(Map { items_path, max_concurrency, .. }) => {
            lines.push(format!("Map · each item of {}", items_path.as_deref().unwrap_or("$")));
            lines.extend(max_concurrency.map(|n| format!("MaxConcurrency {n}")));
        }
    }
    lines.extend(state.retry().iter().flat_map(retry_lines));
    lines
}

/// `ecs:runTask.sync` from `arn:${AWS::Partition}:states:::ecs:runTask.sync`.
fn integration(resource: &str) -> String {
    resource.split_once(":::").map_or_else(|| resource.to_owned(), |(_, rest)| rest.to_owned())
}

/// One retrier, with ASL's defaults filled in so the lines say what Step Functions will do.
fn retry_lines(retrier: &Retrier) -> [String; 2] {
    let mut how = format!(
        "  MaxAttempts {} · IntervalSeconds {} · BackoffRate {}",
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
        Some(runtime::states::ProcessorMode::Distributed) => "ItemProcessor (DISTRIBUTED)".to_owned(),
        _ => "ItemProcessor".to_owned(),
    }
}

/// A Choice rule's condition as a short expression: `$.status StringEquals "OK"`.
pub fn condition_text(condition: &Condition) -> String {
    match condition {
        Condition::And(all) => all.iter().map(nested_text).collect::<Vec<_>>().join(" and "),
        Condition::Or(any) => any.iter().map(nested_text).collect::<Vec<_>>().join(" or "),
        Condition::Not(inner) => format!("not {}", nested_text(inner)),
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

#[cfg(test)]
mod tests {
    use runtime::states::{
        Branch, Catcher, ChoiceRule, Comparison, EcsRunTask, Fail, Pass, Retrier, SnsMessage, SnsPublish, Succeed,
    };
    use serde_json::json;
    use service::description::{self, WorkflowResources};

    use super::*;
    use crate::decorators;
    use crate::diagram::{layout, svg};

    type Transition = (String, Option<String>, Option<String>);

    /// The transitions a machine has, found by walking the model: the test's side of the check.
    fn expected_transitions(machine: &StateMachine) -> Vec<Transition> {
        fn walk(states: &States, parent: Option<&str>, out: &mut Vec<Transition>) {
            let t = |kind: &str, from: &str, to: Option<&str>| {
                (kind.to_owned(), Some(from.to_owned()), to.map(str::to_owned))
            };
            for (name, state) in states {
                if let Some(next) = state.next() {
                    out.push(t("next", name, Some(next)));
                }
                if let State::Choice(choice) = state {
                    for rule in &choice.choices {
                        out.push(t("choice", name, rule.next.as_deref()));
                    }
                    if let Some(default) = &choice.default {
                        out.push(t("default", name, Some(default)));
                    }
                }
                for catcher in state.catch() {
                    out.push(t("catch", name, Some(&catcher.next)));
                }
                if state.end() || matches!(state, State::Succeed(_) | State::Fail(_)) {
                    out.push(t("end", name, parent));
                }
                let nested: Vec<(&String, &States)> = match state {
                    State::Parallel(p) => p.branches.iter().map(|b| (&b.start_at, &b.states)).collect(),
                    State::Map(m) => m.item_processor.iter().map(|p| (&p.start_at, &p.states)).collect(),
                    _ => Vec::new(),
                };
                for (start, states) in nested {
                    out.push(t("branch", name, Some(start)));
                    walk(states, Some(name), out);
                }
            }
        }
        let mut out = vec![("start".to_owned(), None, Some(machine.start_at.clone()))];
        walk(&machine.states, None, &mut out);
        out.sort();
        out
    }

    /// The workflow's arrows, read back from the SVG by their data attributes.
    fn drawn(svg: &str) -> Vec<Transition> {
        let document = roxmltree::Document::parse(svg).expect("the SVG is well-formed XML");
        let mut out: Vec<Transition> = document
            .descendants()
            .filter(|n| n.has_tag_name("g") && n.attribute("class").is_some_and(|c| c.starts_with("edge ")))
            .filter(|n| !matches!(n.attribute("data-kind"), Some("uses" | "reference")))
            .map(|n| {
                (
                    n.attribute("data-kind").unwrap_or_default().to_owned(),
                    n.attribute("data-from").map(str::to_owned),
                    n.attribute("data-to").map(str::to_owned),
                )
            })
            .collect();
        out.sort();
        out
    }

    fn shipped_template() -> Template {
        decorators::assemble(description::describe().unwrap(), None).unwrap().0
    }

    fn shipped_machine() -> StateMachine {
        let service = description::describe().unwrap();
        let (_, ctx) = decorators::assemble(service, None).unwrap();
        let (definition, _) = decorators::state_machine::definition(&ctx).unwrap();
        StateMachine::from_json(&definition).unwrap()
    }

    fn node_by<'d>(d: &'d Diagram, key: &str, value: &str) -> &'d super::super::model::Node {
        d.nodes
            .iter()
            .find(|n| n.data.iter().any(|(k, v)| *k == key && v == value))
            .unwrap_or_else(|| panic!("no box with data-{key}={value}"))
    }

    fn group_title<'d>(d: &'d Diagram, id: Option<&str>) -> &'d str {
        id.and_then(|id| d.group(id)).map_or("", |g| g.title.as_str())
    }

    #[test]
    fn the_shipped_service_has_every_state_transition_and_resource() {
        let template = shipped_template();
        let d = diagram(&template);
        let machine = shipped_machine();
        for name in machine.states.keys() {
            let node = node_by(&d, "state", name);
            assert_eq!(node.kind, NodeKind::State);
            assert_eq!(&node.title, name);
        }
        let placed = layout::layout(&d).unwrap();
        let svg = svg::svg(&d, &placed);
        assert_eq!(drawn(&svg), expected_transitions(&machine));

        for id in template.resources().keys() {
            let named = d.nodes.iter().any(|n| n.data.contains(&("logical-id", id.as_str().to_owned())))
                || d.groups.iter().any(|g| g.data.contains(&("logical-id", id.as_str().to_owned())));
            assert!(named, "{id:?} is not drawn");
        }
    }

    #[test]
    fn catch_and_retry_are_shown_where_they_apply() {
        let d = diagram(&shipped_template());
        let run = node_by(&d, "state", "RunTask");
        assert!(run.lines.iter().any(|l| l == "Task · ecs:runTask.sync"), "{:?}", run.lines);
        assert!(run.lines.iter().any(|l| l == "Retry ECS.AmazonECSException, ECS.ServerException"), "{:?}", run.lines);
        assert!(run.lines.iter().any(|l| l.contains("MaxAttempts 3") && l.contains("IntervalSeconds 5")));
        let catch = d
            .edges
            .iter()
            .find(|e| e.kind == EdgeKind::Catch && e.data.contains(&("from", "RunTask".to_owned())))
            .unwrap();
        assert_eq!(catch.label.as_deref(), Some("Catch States.ALL"));
        assert!(catch.data.contains(&("errors", "States.ALL".to_owned())));
        let succeed = node_by(&d, "state", "Succeeded");
        assert!(succeed.lines.iter().all(|l| !l.starts_with("Retry")));
    }

    #[test]
    fn each_task_points_at_the_resources_its_request_names() {
        let d = diagram(&shipped_template());
        let uses = |state: &str| -> BTreeSet<(String, String)> {
            d.edges
                .iter()
                .filter(|e| e.kind == EdgeKind::Uses && e.data.contains(&("from", state.to_owned())))
                .map(|e| {
                    let get = |k: &str| e.data.iter().find(|(key, _)| *key == k).map(|(_, v)| v.clone()).unwrap();
                    (get("field"), get("to"))
                })
                .collect()
        };
        let expected: BTreeSet<(String, String)> = [
            ("Cluster", "Cluster"),
            ("TaskDefinition", "TaskDefinition"),
            ("Subnets", "PublicSubnet1"),
            ("Subnets", "PublicSubnet2"),
            ("SecurityGroups", "TaskSecurityGroup"),
        ]
        .into_iter()
        .map(|(f, t)| (f.to_owned(), t.to_owned()))
        .collect();
        assert_eq!(uses("RunTask"), expected);
        for notify in ["NotifySuccess", "NotifyFailure"] {
            assert_eq!(uses(notify), [("TopicArn".to_owned(), "NotificationTopic".to_owned())].into());
        }

        let task_definition = node_by(&d, "logical-id", "TaskDefinition");
        assert!(task_definition.lines.contains(&"cpu 256 · memory 512 MiB".to_owned()), "{:?}", task_definition.lines);
        assert!(
            task_definition.lines.iter().any(|l| l.starts_with("image placeholder.invalid/servicefull:")),
            "{:?}",
            task_definition.lines
        );
        let references: BTreeSet<String> = d
            .edges
            .iter()
            .filter(|e| e.kind == EdgeKind::Reference && e.from == task_definition.id)
            .filter_map(|e| e.data.iter().find(|(k, _)| *k == "to").map(|(_, v)| v.clone()))
            .collect();
        assert_eq!(references, ["TaskExecutionRole", "TaskLogGroup", "TaskRole"].map(str::to_owned).into());
    }

    #[test]
    fn resources_are_grouped_by_concern() {
        let d = diagram(&shipped_template());
        let group_of = |id: &str| node_by(&d, "logical-id", id).group.clone();
        let ecs = group_of("TaskDefinition");
        for id in ["Cluster", "TaskRole", "TaskExecutionRole", "TaskLogGroup"] {
            assert_eq!(group_of(id), ecs, "{id}");
        }
        assert!(group_title(&d, ecs.as_deref()).contains("Amazon ECS"));
        // The state machine's role sits in the state machine's own group.
        let workflow = d.groups.iter().find(|g| g.data.contains(&("logical-id", "StateMachine".to_owned()))).unwrap();
        assert_eq!(group_of("StateMachineRole").as_deref(), Some(workflow.id.as_str()));
        assert!(workflow.title.contains("AWS::StepFunctions::StateMachine"));
        // Each subnet in its own zone, both zones inside the network.
        let zone_1 = group_of("PublicSubnet1").unwrap();
        let zone_2 = group_of("PublicSubnet2").unwrap();
        assert_ne!(zone_1, zone_2);
        let network = group_of("Vpc");
        for zone in [&zone_1, &zone_2] {
            assert_eq!(d.group(zone).unwrap().parent, network);
        }
        assert!(group_title(&d, Some(&zone_1)).contains("Fn::GetAZs [0]"));
        assert!(group_title(&d, Some(&zone_2)).contains("Fn::GetAZs [1]"));
        assert_eq!(group_of("PublicSubnet1RouteTableAssociation").as_deref(), Some(zone_1.as_str()));
        assert_eq!(group_of("TaskSecurityGroup"), network);
    }

    /// Choice (with a loop back through a Wait), Parallel (one branch holding a Map) and Map,
    /// with the real integrations inside the branches.
    fn branching_workflow(r: &WorkflowResources) -> StateMachine {
        let partition = r.partition.as_str();
        let run = EcsRunTask {
            cluster: r.cluster.clone(),
            task_definition: r.task_definition.clone(),
            container_name: r.container_name.clone(),
            subnets: r.subnets.clone(),
            security_groups: r.security_groups.clone(),
            assign_public_ip: true,
            wait_for_completion: true,
        };
        let notify = SnsPublish { topic_arn: r.topic_arn.clone(), message: SnsMessage::Path("$".into()) };
        let choose = Choice {
            choices: vec![
                ChoiceRule::new(Condition::compare("$.mode", Comparison::string_equals("fan-out")), "FanOut"),
                ChoiceRule::new(
                    Condition::And(vec![
                        Condition::compare("$.mode", Comparison::string_equals("each")),
                        Condition::Not(Box::new(Condition::compare(
                            "$.items",
                            Comparison::Is(runtime::states::TypeTest::IsNull, true),
                        ))),
                    ]),
                    "EachItem",
                ),
            ],
            default: Some("Pause".into()),
            ..Choice::default()
        };
        let fan_out = Parallel {
            branches: vec![
                Branch::new("RunInBranch").with_state("RunInBranch", run.task(partition).with_end()),
                Branch::new("Tally").with_state(
                    "Tally",
                    Map {
                        items_path: Some("$.counts".into()),
                        item_processor: Some(
                            ItemProcessor::new("Count").with_state("Count", Pass { end: true, ..Pass::default() }),
                        ),
                        end: true,
                        ..Map::default()
                    },
                ),
            ],
            retry: vec![Retrier::on(["States.ALL"]).max_attempts(2)],
            catch: vec![Catcher::on(["States.TaskFailed", "States.Timeout"], "Broken")],
            next: Some("Report".into()),
            ..Parallel::default()
        };
        let each = Map {
            items_path: Some("$.items".into()),
            max_concurrency: Some(4),
            item_processor: Some(
                ItemProcessor::new("Check")
                    .with_state(
                        "Check",
                        Choice {
                            choices: vec![ChoiceRule::new(
                                Condition::compare(
                                    "$.ok",
                                    Comparison::BooleanEquals(runtime::states::Operand::Value(true)),
                                ),
                                "Keep",
                            )],
                            default: Some("Drop".into()),
                            ..Choice::default()
                        },
                    )
                    .with_state("Keep", Pass { end: true, ..Pass::default() })
                    .with_state("Drop", Fail { error: Some("Dropped".into()), ..Fail::default() }),
            ),
            next: Some("Report".into()),
            ..Map::default()
        };
        StateMachine::new("Choose")
            .with_state("Choose", choose)
            .with_state("Pause", Wait { seconds: Some(10), next: Some("Choose".into()), ..Wait::default() })
            .with_state("FanOut", fan_out)
            .with_state("EachItem", each)
            .with_state("Report", notify.task(partition).with_next("Done"))
            .with_state("Done", Succeed::default())
            .with_state("Broken", Fail { error: Some("Broken".into()), ..Fail::default() })
    }

    fn branching() -> (Template, StateMachine) {
        let service = description::describe().unwrap().with_workflow(branching_workflow);
        let (template, ctx) = decorators::assemble(service, None).unwrap();
        let (definition, _) = decorators::state_machine::definition(&ctx).unwrap();
        (template, StateMachine::from_json(&definition).unwrap())
    }

    #[test]
    fn parallel_map_and_choice_lay_out_as_nested_groups_with_every_transition() {
        let (template, machine) = branching();
        machine.validate().unwrap();
        let d = diagram(&template);
        let placed = layout::layout(&d).unwrap();
        let svg = svg::svg(&d, &placed);
        assert_eq!(drawn(&svg), expected_transitions(&machine));

        // Branches sit in their Parallel's group, the nested Map inside its branch.
        let fan_out = node_by(&d, "state", "FanOut");
        let fan_out_group = fan_out.group.clone().unwrap();
        let run_in_branch = node_by(&d, "state", "RunInBranch");
        let branch_group = d.group(run_in_branch.group.as_deref().unwrap()).unwrap();
        assert_eq!(branch_group.parent.as_deref(), Some(fan_out_group.as_str()));
        assert_eq!(branch_group.title, "Branch 1");
        let count = node_by(&d, "state", "Count");
        let count_group = d.group(count.group.as_deref().unwrap()).unwrap();
        let tally_group = d.group(count_group.parent.as_deref().unwrap()).unwrap();
        assert_eq!(tally_group.title, "Map Tally");
        assert_eq!(d.group(tally_group.parent.as_deref().unwrap()).unwrap().title, "Branch 2");
        // Every group is drawn around everything in it.
        for node in &d.nodes {
            let mut group = node.group.clone();
            while let Some(id) = group {
                let (outer, inner) = (placed.groups[&id].rect, placed.nodes[&node.id].rect);
                assert!(
                    inner.x >= outer.x
                        && inner.y >= outer.y
                        && inner.x + inner.width <= outer.x + outer.width + 0.01
                        && inner.y + inner.height <= outer.y + outer.height + 0.01,
                    "{} outside group {id}",
                    node.title
                );
                group = d.group(&id).and_then(|g| g.parent.clone());
            }
        }
        // A task inside a branch still points at what it uses; the Choice rules say their conditions.
        assert!(d.edges.iter().any(|e| e.kind == EdgeKind::Uses
            && e.data.contains(&("from", "RunInBranch".to_owned()))
            && e.data.contains(&("to", "TaskDefinition".to_owned()))));
        let labels: Vec<&str> =
            d.edges.iter().filter(|e| e.kind == EdgeKind::Choice).filter_map(|e| e.label.as_deref()).collect();
        assert!(labels.contains(&"$.mode StringEquals \"fan-out\""), "{labels:?}");
        assert!(labels.contains(&"$.mode StringEquals \"each\" and (not $.items IsNull true)"), "{labels:?}");
        let fan_out_node = node_by(&d, "state", "FanOut");
        assert!(fan_out_node.lines.iter().any(|l| l == "Retry States.ALL"), "{:?}", fan_out_node.lines);
    }

    #[test]
    fn a_definition_with_substitutions_is_read_and_an_unreadable_one_is_said_so() {
        let mut template = shipped_template();
        let fragment = Template::from_json(
            &json!({"Resources": {
                "Reporter": {"Type": "AWS::StepFunctions::StateMachine", "Properties": {
                    "RoleArn": {"Fn::GetAtt": ["StateMachineRole", "Arn"]},
                    "DefinitionSubstitutions": {"Topic": {"Ref": "NotificationTopic"}},
                    "Definition": {"StartAt": "Say", "States": {"Say": {"Type": "Task",
                        "Resource": "arn:aws:states:::sns:publish",
                        "Parameters": {"TopicArn": "${Topic}", "Message": "hi"}, "End": true}}}}},
                "Joined": {"Type": "AWS::StepFunctions::StateMachine", "Properties": {
                    "RoleArn": {"Fn::GetAtt": ["StateMachineRole", "Arn"]},
                    "DefinitionString": {"Fn::Join": ["", ["{\"StartAt\":", "\"A\"}"]]}}}
            }})
            .to_string(),
        )
        .unwrap();
        template.merge(fragment).unwrap();
        let d = diagram(&template);
        let say =
            d.edges.iter().find(|e| e.kind == EdgeKind::Uses && e.data.contains(&("from", "Say".to_owned()))).unwrap();
        assert!(say.data.contains(&("to", "NotificationTopic".to_owned())));
        let joined = node_by(&d, "logical-id", "Joined");
        assert!(joined.lines.iter().any(|l| l.contains("not drawn") && l.contains("Fn::Sub")), "{:?}", joined.lines);
        // Two workflows, each with its own Start.
        assert_eq!(d.nodes.iter().filter(|n| n.kind == NodeKind::Start).count(), 2);
        layout::layout(&d).unwrap();
    }

    #[test]
    fn brief_names_what_an_intrinsic_function_refers_to() {
        assert_eq!(brief(&json!({"Ref": "ImageUri"})), "Ref ImageUri");
        assert_eq!(brief(&json!({"Fn::GetAtt": ["Cluster", "Arn"]})), "Cluster.Arn");
        assert_eq!(brief(&json!({"Fn::Sub": ["/ecs/${Name}", {"Name": "x"}]})), "/ecs/${Name}");
        assert_eq!(brief(&json!({"Fn::Join": ["-", ["a", {"Ref": "B"}]]})), "a-Ref B");
        assert_eq!(brief(&json!(256)), "256");
    }

    #[test]
    fn a_property_that_repeats_the_type_needs_no_label() {
        assert!(names_the_type("VpcId", "AWS::EC2::VPC"));
        assert!(names_the_type("RouteTableId", "AWS::EC2::RouteTable"));
        assert!(!names_the_type("GatewayId", "AWS::EC2::InternetGateway"));
        assert!(!names_the_type("TaskRoleArn", "AWS::IAM::Role"));
    }
}
