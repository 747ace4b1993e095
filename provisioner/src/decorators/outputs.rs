//! The stack's outputs: everything a user or a later command (run, status, logs) needs, each
//! exported as `<stack name>-<output>` so other stacks can import it.

use model::template::{Expr, LogicalId, Output, Template};

use super::{Decorator, DecoratorContext, DecoratorError, logical_id};

pub struct OutputsDecorator;

fn add(
    template: &mut Template,
    id: &str,
    description: &str,
    value: impl Into<serde_json::Value>,
) -> Result<(), DecoratorError> {
    let id: LogicalId = logical_id(id)?;
    let export = Expr::sub(format!("${{AWS::StackName}}-{id}"));
    template.add_output(&id, Output::new(value).description(description).export(export))?;
    Ok(())
}

impl Decorator for OutputsDecorator {
    fn name(&self) -> &str {
        "outputs"
    }

    /// Outputs what the chain recorded; a record no decorator wrote has no output.
    fn decorate(&self, ctx: &mut DecoratorContext, template: &mut Template) -> Result<(), DecoratorError> {
        if let Some(network) = &ctx.network {
            add(template, "VpcId", "The VPC the task runs in", &network.vpc_id)?;
            for (i, subnet) in network.subnet_ids.iter().enumerate() {
                let n = i + 1;
                add(
                    template,
                    &format!("Subnet{n}Id"),
                    &format!("Public subnet {n} (its own availability zone)"),
                    subnet,
                )?;
            }
            add(template, "SecurityGroupId", "The task's egress-only security group", &network.security_group_id)?;
        }
        if let Some(cluster) = &ctx.cluster {
            add(template, "ClusterArn", "The ECS cluster", &cluster.arn)?;
        }
        if let Some(log_group) = &ctx.log_group {
            add(template, "LogGroupName", "The CloudWatch Logs group of the task's output", &log_group.name)?;
        }
        if let Some(task_definition) = &ctx.task_definition {
            add(template, "TaskDefinitionArn", "The Fargate task definition", &task_definition.arn)?;
            add(
                template,
                "ContainerName",
                "The task's container (log streams are <prefix>/<container>/<task id>)",
                task_definition.container_name.as_str(),
            )?;
            add(
                template,
                "TaskRoleArn",
                "The role the task's code runs as; attach its permissions here",
                &task_definition.task_role_arn,
            )?;
        }
        if let Some(topic) = &ctx.topic {
            add(template, "TopicArn", "The SNS topic the workflow reports to", &topic.arn)?;
        }
        if let Some(state_machine) = &ctx.state_machine {
            add(template, "StateMachineArn", "The state machine that runs the task", &state_machine.arn)?;
        }
        Ok(())
    }
}
