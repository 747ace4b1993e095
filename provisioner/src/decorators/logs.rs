//! The CloudWatch Logs group the task's output goes to (the awslogs driver), with a retention so
//! logs do not accumulate forever, and explicit deletion policies.

use runtime::template::{DeletionPolicy, Expr, Resource, Template, UpdateReplacePolicy};

use super::context::LogGroup;
use super::{Decorator, DecoratorContext, DecoratorError, logical_id};

pub const LOG_GROUP: &str = "TaskLogGroup";

pub struct LogGroupDecorator;

impl Decorator for LogGroupDecorator {
    fn name(&self) -> &str {
        "logs"
    }

    fn decorate(&self, ctx: &mut DecoratorContext, template: &mut Template) -> Result<(), DecoratorError> {
        let id = logical_id(LOG_GROUP)?;
        template.add_resource(
            &id,
            Resource::new("AWS::Logs::LogGroup")
                .property("LogGroupName", ctx.service.log_group_name())
                .property("RetentionInDays", ctx.service.log_retention_days())
                // Delete, stated rather than defaulted: the group has a fixed name, so a retained
                // group would make the next deploy of the same service fail with "already exists".
                // The retention bounds what is lost anyway.
                .deletion_policy(DeletionPolicy::Delete)
                .update_replace_policy(UpdateReplacePolicy::Delete),
        )?;
        ctx.log_group = Some(LogGroup { name: Expr::ref_to(&id), arn: Expr::get_att(&id, "Arn") });
        Ok(())
    }
}
