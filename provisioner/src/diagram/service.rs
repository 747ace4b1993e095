//! The service as a [`Diagram`], read from its CloudFormation template alone, so the picture shows
//! what would be deployed, fragments merged in included. Each state machine whose definition can
//! be read becomes a group named after the resource, with its workflow drawn inside (see
//! `workflow`). Every other resource is a box naming its logical ID and type, grouped by concern:
//! the network (subnets in their availability zones), then one group per AWS service, with a role
//! or log group beside the one group that uses it; arrows show the references between them.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use model::states::QueryLanguage;
use model::template::{Resource, Template};
use serde_json::Value;

use super::model::{Diagram, EdgeKind, NodeKind};
use super::references::{brief, referenced_id, references};
use super::workflow::read_workflow;

pub(super) const STATE_MACHINE_TYPE: &str = "AWS::StepFunctions::StateMachine";

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

pub(super) struct Builder<'t> {
    template: &'t Template,
    pub(super) resources: BTreeMap<String, &'t Resource>,
    pub(super) diagram: Diagram,
    /// Logical ID to the id of its box.
    pub(super) resource_nodes: HashMap<String, String>,
    /// Group key (see `place_resources`) to the id of its group.
    groups: HashMap<String, String>,
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
            let mut title = format!("{} · {STATE_MACHINE_TYPE} · {kind}", workflow.id);
            // A top-level QueryLanguage is every state's default; a state's own shows in its box.
            if workflow.machine.query_language == Some(QueryLanguage::JSONata) {
                title.push_str(" · JSONata");
            }
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

#[cfg(test)]
mod tests {
    use model::states::{
        Branch, Catcher, Choice, ChoiceRule, Comparison, Condition, EcsRunTask, Fail, ItemProcessor, Map, Parallel,
        Pass, Retrier, SnsMessage, SnsPublish, State, StateMachine, States, Succeed, Wait,
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
        assert!(run.lines.iter().any(|l| l == "Task · ecs:runTask.waitForTaskToken"), "{:?}", run.lines);
        assert!(
            run.lines.iter().any(|l| l == "waits for its task token: the result is what the task reports"),
            "the callback pattern is named: {:?}",
            run.lines
        );
        assert!(run.lines.iter().any(|l| l == "HeartbeatSeconds 300"), "{:?}", run.lines);
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
        let size = format!("cpu {} · memory {} MiB", description::CPU, description::MEMORY_MIB);
        assert!(task_definition.lines.contains(&size), "{:?}", task_definition.lines);
        let image = format!("image placeholder.invalid/{}:", service::SERVICE_NAME);
        assert!(task_definition.lines.iter().any(|l| l.starts_with(&image)), "{:?}", task_definition.lines);
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
            pattern: model::states::RunPattern::Sync,
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
                            Comparison::Is(model::states::TypeTest::IsNull, true),
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
            max_concurrency: Some(4.into()),
            item_processor: Some(
                ItemProcessor::new("Check")
                    .with_state(
                        "Check",
                        Choice {
                            choices: vec![ChoiceRule::new(
                                Condition::compare(
                                    "$.ok",
                                    Comparison::BooleanEquals(model::states::Operand::Value(true)),
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
            .with_state("Pause", Wait { seconds: Some(10.into()), next: Some("Choose".into()), ..Wait::default() })
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
        // The other pattern is named too: this workflow's tasks run `.sync`.
        assert!(
            run_in_branch.lines.iter().any(|l| l == "waits for the job to end: the result is its final description"),
            "{:?}",
            run_in_branch.lines
        );
    }

    #[test]
    fn a_definition_with_substitutions_is_read_and_an_unreadable_one_is_said_so() {
        let mut template = shipped_template();
        let fragment = Template::from_json(
            &json!({"Resources": {
                "Reporter": {"Type": "AWS::StepFunctions::StateMachine", "Properties": {
                    "RoleArn": {"Fn::GetAtt": ["StateMachineRole", "Arn"]},
                    "DefinitionSubstitutions": {"Topic": {"Ref": "NotificationTopic"}},
                    "Definition": {"StartAt": "Say", "States": {
                        "Say": {"Type": "Task", "Resource": "arn:aws:states:::sns:publish",
                            "Parameters": {"TopicArn": "${Topic}", "Message": "hi"}, "Next": "Call"},
                        // Not a substitution, and a Definition is not an Fn::Sub: stays as written.
                        "Call": {"Type": "Task", "Resource": "${Handler.Arn}", "End": true}}}}},
                "Direct": {"Type": "AWS::StepFunctions::StateMachine", "Properties": {
                    "RoleArn": {"Fn::GetAtt": ["StateMachineRole", "Arn"]},
                    "DefinitionString": {"Fn::Sub": "{\"StartAt\":\"Go\",\"States\":{\"Go\":{\"Type\":\"Task\",\"Resource\":\"${Handler.Arn}\",\"End\":true}}}"}}},
                "Handler": {"Type": "AWS::Lambda::Function"},
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
        let handler = node_by(&d, "logical-id", "Handler");
        let call = node_by(&d, "state", "Call");
        assert_eq!(call.lines[0], "Task · ${Handler.Arn}");
        assert!(!d.edges.iter().any(|e| e.from == call.id && e.to == handler.id));
        // A resource an Fn::Sub names directly is resolved.
        let go = node_by(&d, "state", "Go");
        assert_eq!(go.lines[0], "Task · Handler");
        assert!(d.edges.iter().any(|e| e.kind == EdgeKind::Uses && e.from == go.id && e.to == handler.id));
        let joined = node_by(&d, "logical-id", "Joined");
        assert!(joined.lines.iter().any(|l| l.contains("not drawn") && l.contains("Fn::Sub")), "{:?}", joined.lines);
        // A workflow for each readable definition, each with its own Start.
        assert_eq!(d.nodes.iter().filter(|n| n.kind == NodeKind::Start).count(), 3);
        layout::layout(&d).unwrap();
    }

    /// Machines of every shape a generator can think of (Choices jumping anywhere, loops, states
    /// catching into earlier ones, Parallels and Maps nested two deep) lay out, with every box
    /// placed and every arrow routed.
    #[test]
    fn generated_workflows_lay_out_without_panics() {
        let mut seed: u64 = 0x5eed;
        let mut next = move |bound: usize| {
            seed = seed.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            ((seed >> 33) as usize) % bound.max(1)
        };
        fn states(prefix: &str, count: usize, depth: u32, next: &mut dyn FnMut(usize) -> usize) -> serde_json::Value {
            let name = |i: usize| format!("{prefix}S{i}");
            let mut out = serde_json::Map::new();
            for i in 0..count {
                let target = name(next(count));
                let state = match next(if depth < 2 { 7 } else { 5 }) {
                    0 => json!({"Type": "Choice", "Choices": [
                        {"Variable": "$.x", "NumericEquals": i, "Next": target},
                        {"Variable": "$.y", "IsPresent": true, "Next": name(next(count))}],
                        "Default": name(next(count))}),
                    1 => json!({"Type": "Task", "Resource": "arn:aws:states:::sns:publish",
                        "Parameters": {"TopicArn": "${Topic}", "Message": "m"},
                        "Catch": [{"ErrorEquals": ["States.ALL"], "Next": target}],
                        "Retry": [{"ErrorEquals": ["States.Timeout"]}], "End": true}),
                    2 => json!({"Type": "Wait", "Seconds": 1, "Next": target}),
                    3 => json!({"Type": "Succeed"}),
                    4 => json!({"Type": "Pass", "Next": target}),
                    5 => {
                        let branches: Vec<serde_json::Value> = (0..1 + next(3))
                            .map(|b| {
                                let inner = format!("{prefix}P{i}B{b}");
                                json!({"StartAt": format!("{inner}S0"), "States": states(&inner, 1 + next(4), depth + 1, next)})
                            })
                            .collect();
                        json!({"Type": "Parallel", "Branches": branches, "Next": target})
                    }
                    _ => {
                        let inner = format!("{prefix}M{i}");
                        json!({"Type": "Map", "ItemProcessor": {"StartAt": format!("{inner}S0"),
                            "States": states(&inner, 1 + next(4), depth + 1, next)}, "End": true})
                    }
                };
                out.insert(name(i), state);
            }
            serde_json::Value::Object(out)
        }
        for round in 0..8 {
            let count = 1 + next(7);
            let definition = json!({"StartAt": "S0", "States": states("", count, 0, &mut next)});
            let mut template = shipped_template();
            let fragment = json!({"Resources": {"Generated": {"Type": "AWS::StepFunctions::StateMachine",
                "Properties": {"RoleArn": {"Fn::GetAtt": ["StateMachineRole", "Arn"]},
                    "DefinitionSubstitutions": {"Topic": {"Ref": "NotificationTopic"}},
                    "Definition": definition}}}});
            template.merge(Template::from_json(&fragment.to_string()).unwrap()).unwrap();
            let d = diagram(&template);
            let placed = layout::layout(&d).unwrap_or_else(|e| panic!("round {round}: {e}\n{definition}"));
            assert_eq!(placed.nodes.len(), d.nodes.len());
            for (edge, path) in d.edges.iter().zip(&placed.edges) {
                assert!(path.points.len() >= 2, "round {round}: {} -> {} has no route", edge.from, edge.to);
                assert!(path.points.iter().all(|(x, y)| x.is_finite() && y.is_finite()));
            }
            roxmltree::Document::parse(&svg::svg(&d, &placed)).unwrap();
        }
    }

    /// A template with the shipped service plus `machines` (logical ID, definition) merged in.
    fn with_machines(machines: &[(&str, &StateMachine)]) -> Template {
        let mut template = shipped_template();
        let mut resources = serde_json::Map::new();
        for (id, machine) in machines {
            resources.insert(
                (*id).to_owned(),
                json!({"Type": STATE_MACHINE_TYPE, "Properties": {
                    "RoleArn": {"Fn::GetAtt": ["StateMachineRole", "Arn"]},
                    "Definition": serde_json::to_value(machine).unwrap()}}),
            );
        }
        template.merge(Template::from_json(&json!({"Resources": resources}).to_string()).unwrap()).unwrap();
        template
    }

    /// The text drawn in the box of state `name`, whitespace removed: the layout wraps long lines
    /// (dropping the space it breaks at), so the test compares characters, not line breaks.
    fn drawn_text(svg: &str, name: &str) -> String {
        let document = roxmltree::Document::parse(svg).expect("the SVG is well-formed XML");
        let node = document
            .descendants()
            .find(|n| {
                n.has_tag_name("g")
                    && n.attribute("data-kind") == Some("state")
                    && n.attribute("data-state") == Some(name)
            })
            .unwrap_or_else(|| panic!("no box for state {name} in the SVG"));
        node.descendants().filter_map(|n| n.text()).flat_map(str::chars).filter(|c| !c.is_whitespace()).collect()
    }

    fn squeezed(text: &str) -> String {
        text.chars().filter(|c| !c.is_whitespace()).collect()
    }

    /// A JSONata machine built with the model's builders: each state's box lists the expressions
    /// and assignments it carries, with the field they are in (AWS, "Transforming data with
    /// JSONata in Step Functions"; "Passing data between states with variables"; "Choice workflow
    /// state" for a rule's Condition, Assign and Output; "Map state" for Items).
    #[test]
    fn jsonata_expressions_and_assignments_are_shown_on_their_states() {
        use model::states::{Expression, QueryLanguage, Task};
        let e = Expression::new;
        let machine = StateMachine::new("Get")
            .query_language(QueryLanguage::JSONata)
            .with_state(
                "Get",
                Task::new("arn:aws:states:::lambda:invoke")
                    .arguments(json!({"FunctionName": "get", "Payload": e("$states.input")}))
                    .output(e("$states.result.Payload"))
                    .assign("price", e("$states.result.Payload.price"))
                    .timeout_seconds_expression(e("$states.input.timeout"))
                    .heartbeat_seconds_expression(e("$states.input.beat"))
                    .with_catch(Catcher::on(["States.ALL"], "Broken").assign("why", e("$states.errorOutput.Cause")))
                    .with_next("Check"),
            )
            .with_state(
                "Check",
                Choice::new([
                    ChoiceRule::jsonata("$price > 100", "Expensive")
                        .comment("dear")
                        .assign("flag", true)
                        .output(json!({"p": e("$price")})),
                    ChoiceRule::jsonata("$price < 0", "Broken"),
                ])
                .assign("checked", e("$now()"))
                .default_state("Later"),
            )
            .with_state("Later", Wait::seconds_expression(e("$states.input.delay")).with_next("Until"))
            .with_state("Until", Wait::until(e("$states.input.when")).with_next("Each"))
            .with_state(
                "Each",
                Map::new(
                    ItemProcessor::new("One")
                        .with_state("One", Pass::new().output(json!({"n": e("$states.input")})).with_end()),
                )
                .items(e("$states.input.items"))
                .assign("count", e("$count($states.result)"))
                .with_next("Cheap"),
            )
            .with_state("Cheap", Succeed::default().output(json!({"price": e("$price")})))
            .with_state("Expensive", Fail::new().error(e("'TooDear'")).cause(e("'price ' & $price")))
            .with_state("Broken", Fail::new().error("Broken"));
        machine.validate().unwrap();
        let d = diagram(&with_machines(&[("Priced", &machine)]));

        let expected: [(&str, &[&str]); 9] = [
            (
                "Get",
                &[
                    "Task · lambda:invoke",
                    "TimeoutSeconds {% $states.input.timeout %}",
                    "HeartbeatSeconds {% $states.input.beat %}",
                    r#"Arguments {"FunctionName":"get","Payload":"{% $states.input %}"}"#,
                    "Output {% $states.result.Payload %}",
                    "Assign price = {% $states.result.Payload.price %}",
                    "Catch States.ALL → Broken",
                    "Assign why = {% $states.errorOutput.Cause %}",
                ],
            ),
            (
                "Check",
                &[
                    "Choice · 2 rule(s)",
                    "Rule 1 → Expensive",
                    "Condition {% $price > 100 %}",
                    r#"Output {"p":"{% $price %}"}"#,
                    "Assign flag = true",
                    "Rule 2 → Broken",
                    "Condition {% $price < 0 %}",
                    "Assign checked = {% $now() %}",
                ],
            ),
            ("Later", &["Wait Seconds {% $states.input.delay %}"]),
            ("Until", &["Wait until {% $states.input.when %}"]),
            ("Each", &["Map · each item of {% $states.input.items %}", "Assign count = {% $count($states.result) %}"]),
            ("One", &[r#"Pass"#, r#"Output {"n":"{% $states.input %}"}"#]),
            ("Cheap", &["Succeed", r#"Output {"price":"{% $price %}"}"#]),
            ("Expensive", &["Fail", "Error {% 'TooDear' %}", "Cause {% 'price ' & $price %}"]),
            ("Broken", &["Fail", "Error Broken"]),
        ];
        let placed = layout::layout(&d).unwrap();
        let svg = svg::svg(&d, &placed);
        for (name, lines) in expected {
            let node = node_by(&d, "state", name);
            assert_eq!(node.lines, lines, "{name}");
            // And the picture draws them in that state's box.
            let text = drawn_text(&svg, name);
            for line in lines {
                assert!(text.contains(&squeezed(line)), "{name}: {line:?} not in {text:?}");
            }
        }
        // The arrows keep their labels: a rule's Comment, else its Condition.
        let label = |rule: &str| {
            d.edges
                .iter()
                .find(|e| e.kind == EdgeKind::Choice && e.data.contains(&("rule", rule.to_owned())))
                .and_then(|e| e.label.clone())
        };
        assert_eq!(label("1").as_deref(), Some("dear"));
        assert_eq!(label("2").as_deref(), Some("{% $price < 0 %}"));
        // The machine's QueryLanguage is in its group's title, not repeated on every state.
        let group = d.groups.iter().find(|g| g.data.contains(&("logical-id", "Priced".to_owned()))).unwrap();
        assert!(group.title.ends_with("· STANDARD · JSONata"), "{}", group.title);
        let others: Vec<&str> =
            d.groups.iter().filter(|g| g.class == "workflow" && g.id != group.id).map(|g| g.title.as_str()).collect();
        // The shipped sample workflow is JSONata too; a JSONPath machine's title does not say
        // JSONPath (see the next test).
        assert!(!others.is_empty() && others.iter().all(|t| t.ends_with("· STANDARD · JSONata")), "{others:?}");
    }

    /// In a JSONPath machine: a state that sets its own QueryLanguage to JSONata says so, JSONPath
    /// `Assign` keeps its `.$` keys (a path, not a literal), a JSONPath Choice rule shows its
    /// Assign, and states without any of these are drawn exactly as before.
    #[test]
    fn a_jsonpath_machine_shows_its_assignments_and_its_jsonata_states() {
        use model::states::{Expression, Operand};
        let machine = StateMachine::new("Remember")
            .with_state(
                "Remember",
                Pass::new().assign("seen", true).assign("total.$", "$.result.total").with_next("Shift"),
            )
            .with_state("Shift", Pass::new().jsonata().output(Expression::new("$states.input.x")).with_next("Decide"))
            .with_state(
                "Decide",
                Choice::new([
                    ChoiceRule::new(
                        Condition::compare("$.ok", Comparison::BooleanEquals(Operand::Value(true))),
                        "Pause",
                    )
                    .assign("ok.$", "$.ok"),
                    ChoiceRule::new(Condition::compare("$.n", Comparison::string_equals("x")), "Pause"),
                ])
                .default_state("Pause"),
            )
            .with_state("Pause", Wait::seconds(10).with_end());
        machine.validate().unwrap();
        let d = diagram(&with_machines(&[("Mixed", &machine)]));
        let lines = |name: &str| node_by(&d, "state", name).lines.clone();
        assert_eq!(lines("Remember"), ["Pass", "Assign seen = true", "Assign total.$ = $.result.total"]);
        assert_eq!(lines("Shift"), ["Pass", "QueryLanguage JSONata", "Output {% $states.input.x %}"]);
        assert_eq!(lines("Decide"), ["Choice · 2 rule(s)", "Rule 1 → Pause", "Assign ok.$ = $.ok"]);
        assert_eq!(lines("Pause"), ["Wait 10 s"]);
        let group = d.groups.iter().find(|g| g.data.contains(&("logical-id", "Mixed".to_owned()))).unwrap();
        assert!(!group.title.contains("JSONata"), "{}", group.title);
        layout::layout(&d).unwrap();
    }

    /// A long value is cut, marked with `…`, so one field cannot make a box as tall as the page;
    /// template.json beside the picture has it whole.
    #[test]
    fn a_long_value_is_cut() {
        use model::states::Task;
        let long = format!("{{% {} %}}", "$states.input.a & ".repeat(20));
        let machine = StateMachine::new("Big").with_state(
            "Big",
            Task::new("arn:aws:states:::lambda:invoke").jsonata().arguments(json!({"Payload": long})).with_end(),
        );
        let d = diagram(&with_machines(&[("Long", &machine)]));
        let arguments =
            node_by(&d, "state", "Big").lines.iter().find(|l| l.starts_with("Arguments ")).cloned().unwrap();
        assert!(arguments.ends_with('…'), "{arguments}");
        assert_eq!(arguments.chars().count(), "Arguments ".len() + 120, "{arguments}");
        assert!(arguments.starts_with(r#"Arguments {"Payload":"{% $states.input.a & "#), "{arguments}");
    }

    #[test]
    fn a_property_that_repeats_the_type_needs_no_label() {
        assert!(names_the_type("VpcId", "AWS::EC2::VPC"));
        assert!(names_the_type("RouteTableId", "AWS::EC2::RouteTable"));
        assert!(!names_the_type("GatewayId", "AWS::EC2::InternetGateway"));
        assert!(!names_the_type("TaskRoleArn", "AWS::IAM::Role"));
    }
}
