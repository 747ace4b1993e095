//! The state machine that runs the task: the service's workflow (States Language, from the service
//! description), validated, written as a `DefinitionString` through `Fn::Sub` with a variable map,
//! and a role allowed exactly what the workflow does: run this task definition on this cluster,
//! pass its two roles and publish to this topic; for a `.sync` run also watch and stop its tasks
//! and manage the EventBridge rule `.sync` uses. A workflow that waits for a task token (the
//! callback pattern) also lets the task role report to this state machine.
//!
//! Why `Fn::Sub` and not `DefinitionSubstitutions`: CloudFormation resolves the pseudo parameters
//! (`${AWS::Partition}` in every integration ARN) in a `Fn::Sub` by itself, so no partition is
//! hard-coded and none needs its own substitution; cfn-lint resolves the `Fn::Sub` and validates the
//! definition's states; and moto, the local cloud's emulator, resolves `Fn::Sub` but ignores
//! `DefinitionSubstitutions`, leaving the placeholders in. The price is that a literal `${` in the
//! definition must be written `${!`, which is checked here before anything is written.

use std::collections::BTreeMap;

use model::template::{Expr, Pseudo, Resource, Template, sub_variables};
use serde_json::json;
use service::description::WorkflowResources;

use super::context::{StateMachine, needed};
use super::iam::{add_inline_policy, allow, allow_if, service_role};
use super::task_definition::TASK_ROLE;
use super::{Decorator, DecoratorContext, DecoratorError, logical_id};

pub const STATE_MACHINE: &str = "StateMachine";
pub const STATE_MACHINE_ROLE: &str = "StateMachineRole";

/// The EventBridge rule Step Functions manages to learn when a `.sync` ECS task stops.
pub const ECS_SYNC_RULE_ARN: &str =
    "arn:${AWS::Partition}:events:${AWS::Region}:${AWS::AccountId}:rule/StepFunctionsGetEventsForECSTaskRule";

/// The placeholders the workflow is built with and the values CloudFormation puts in their place.
pub struct Substitutions {
    pub resources: WorkflowResources,
    pub variables: BTreeMap<String, Expr>,
}

/// The workflow's references as `${Name}` placeholders, from what the earlier decorators recorded.
pub fn substitutions(ctx: &DecoratorContext) -> Result<Substitutions, DecoratorError> {
    let network = needed(&ctx.network, "subnets and security group", "network")?;
    let cluster = needed(&ctx.cluster, "ECS cluster", "cluster")?;
    let task_definition = needed(&ctx.task_definition, "task definition", "task-definition")?;
    let topic = needed(&ctx.topic, "SNS topic", "topic")?;

    let mut variables = BTreeMap::new();
    let mut placeholder = |name: String, value: &Expr| {
        variables.insert(name.clone(), value.clone());
        format!("${{{name}}}")
    };
    let cluster_arn = placeholder("ClusterArn".into(), &cluster.arn);
    let task_definition_arn = placeholder("TaskDefinitionArn".into(), &task_definition.arn);
    let subnets = network
        .subnet_ids
        .iter()
        .enumerate()
        .map(|(i, subnet)| placeholder(format!("Subnet{}", i + 1), subnet))
        .collect();
    let security_group = placeholder("SecurityGroupId".into(), &network.security_group_id);
    let topic_arn = placeholder("TopicArn".into(), &topic.arn);
    Ok(Substitutions {
        resources: WorkflowResources {
            service_name: ctx.service.name().to_owned(),
            partition: Pseudo::Partition.sub_variable(),
            cluster: cluster_arn,
            task_definition: task_definition_arn,
            container_name: task_definition.container_name.clone(),
            subnets,
            security_groups: vec![security_group],
            topic_arn,
        },
        variables,
    })
}

/// The workflow's definition as CloudFormation will receive it, placeholders unresolved;
/// validated, and with every `${...}` one that `Fn::Sub` will resolve.
pub fn definition(ctx: &DecoratorContext) -> Result<(String, BTreeMap<String, Expr>), DecoratorError> {
    workflow(ctx).map(|(_, definition, variables)| (definition, variables))
}

/// [`definition`], with the machine it was written from.
fn workflow(
    ctx: &DecoratorContext,
) -> Result<(model::states::StateMachine, String, BTreeMap<String, Expr>), DecoratorError> {
    let Substitutions { resources, variables } = substitutions(ctx)?;
    let machine = ctx.service.workflow(&resources);
    // lint: AWS's rules, and a loop with no way out, which AWS would accept and run for a year.
    machine.lint().map_err(DecoratorError::Workflow)?;
    // Every JSONata expression parsed, as CreateStateMachine parses them.
    let definition = machine.to_json();
    let problems = states_interpreter::CompiledMachine::new(machine.clone()).problems();
    if !problems.is_empty() {
        return Err(DecoratorError::Expressions(problems));
    }
    let found = sub_variables(&definition).map_err(|offset| {
        DecoratorError::Invalid(format!(
            "the workflow's definition has a \"${{\" with no closing \"}}\" at byte {offset}, which Fn::Sub cannot read"
        ))
    })?;
    for variable in found {
        let known = variable.attribute.is_none()
            && (variables.contains_key(&variable.name) || Pseudo::from_name(&variable.name).is_some());
        if !known {
            let shown = match &variable.attribute {
                Some(attribute) => format!("{}.{attribute}", variable.name),
                None => variable.name.clone(),
            };
            let mut names: Vec<String> = variables.keys().map(|k| format!("${{{k}}}")).collect();
            names.push("${AWS::Partition} and the other pseudo parameters".into());
            return Err(DecoratorError::UnknownPlaceholder { variable: shown, known: names.join(", ") });
        }
    }
    Ok((machine, definition, variables))
}

pub struct StateMachineDecorator;

impl Decorator for StateMachineDecorator {
    fn name(&self) -> &str {
        "state-machine"
    }

    fn decorate(&self, ctx: &mut DecoratorContext, template: &mut Template) -> Result<(), DecoratorError> {
        let (machine, definition, variables) = workflow(ctx)?;
        let resources = machine.task_resources();
        let runs_sync = resources.iter().any(|r| r.ends_with(":ecs:runTask.sync"));
        let waits_for_token = resources.iter().any(|r| r.ends_with(".waitForTaskToken"));
        let cluster = needed(&ctx.cluster, "ECS cluster", "cluster")?;
        let task_definition = needed(&ctx.task_definition, "task definition", "task-definition")?;
        let topic = needed(&ctx.topic, "SNS topic", "topic")?;

        // A task's ARN ends in an ID that exists only once RunTask has made it, so StopTask and
        // DescribeTasks can name no single task: the wildcard is for that ID alone, and the ARN
        // keeps them to this cluster's tasks.
        let tasks_of_this_cluster = Expr::sub(format!(
            "arn:${{AWS::Partition}}:ecs:${{AWS::Region}}:${{AWS::AccountId}}:task/{}/*",
            cluster.name
        ));
        let mut statements = vec![
            allow_if(&["ecs:RunTask"], &task_definition.arn, json!({ "ArnEquals": { "ecs:cluster": cluster.arn } })),
            allow_if(
                &["iam:PassRole"],
                json!([task_definition.execution_role_arn, task_definition.task_role_arn]),
                json!({ "StringEquals": { "iam:PassedToService": "ecs-tasks.amazonaws.com" } }),
            ),
        ];
        // What `.sync` needs beyond the call (AWS's "IAM policies for Amazon ECS/Fargate"): a
        // callback only runs the task; the task itself reports.
        if runs_sync {
            statements.push(allow(&["ecs:StopTask", "ecs:DescribeTasks"], tasks_of_this_cluster));
            statements.push(allow(
                &["events:PutTargets", "events:PutRule", "events:DescribeRule"],
                Expr::sub(ECS_SYNC_RULE_ARN),
            ));
        }
        statements.push(allow(&["sns:Publish"], &topic.arn));
        if waits_for_token {
            // The task reports its result with the token. IAM's Service Authorization Reference
            // lists no resource type for these three actions, yet IAM evaluates them against the
            // state machine whose token it is (an AccessDenied names "on resource:
            // arn:...:stateMachine:NAME", and the grant on the state machine works: aws-cdk#8486).
            // The ARN is built from the name: a reference to the state machine would make the
            // task role depend on it, and it already depends on the task definition and its role.
            let this_state_machine = Expr::sub(format!(
                "arn:${{AWS::Partition}}:states:${{AWS::Region}}:${{AWS::AccountId}}:stateMachine:{}",
                ctx.service.state_machine_name()
            ));
            let task_role = logical_id(TASK_ROLE)?;
            let role = template.resource_mut(&task_role).ok_or_else(|| {
                DecoratorError::Invalid(format!("the {TASK_ROLE} the callback reports as is not in the template"))
            })?;
            add_inline_policy(
                role,
                "ReportToTheWorkflow",
                vec![allow(
                    &["states:SendTaskSuccess", "states:SendTaskFailure", "states:SendTaskHeartbeat"],
                    this_state_machine,
                )],
            );
        }
        let role = logical_id(STATE_MACHINE_ROLE)?;
        template.add_resource(
            &role,
            service_role(
                "states.amazonaws.com",
                &format!("The {} state machine runs the task and reports to the topic with it", ctx.service.name()),
                vec![("RunTaskAndNotify", statements)],
            ),
        )?;

        let id = logical_id(STATE_MACHINE)?;
        template.add_resource(
            &id,
            Resource::new("AWS::StepFunctions::StateMachine")
                .property("StateMachineName", ctx.service.state_machine_name())
                // .sync integrations need a STANDARD state machine.
                .property("StateMachineType", "STANDARD")
                .property("RoleArn", Expr::get_att(&role, "Arn"))
                .property("DefinitionString", Expr::sub_with(definition, variables)),
        )?;
        ctx.state_machine = Some(StateMachine { arn: Expr::ref_to(&id), name: Expr::get_att(&id, "Name") });
        Ok(())
    }
}
