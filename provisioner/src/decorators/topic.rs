//! The SNS topic the workflow reports to, named after the service.

use runtime::template::{Expr, Resource, Template};

use super::context::Topic;
use super::{Decorator, DecoratorContext, DecoratorError, logical_id};

pub const TOPIC: &str = "NotificationTopic";

pub struct TopicDecorator;

impl Decorator for TopicDecorator {
    fn name(&self) -> &str {
        "topic"
    }

    fn decorate(&self, ctx: &mut DecoratorContext, template: &mut Template) -> Result<(), DecoratorError> {
        let id = logical_id(TOPIC)?;
        template.add_resource(
            &id,
            Resource::new("AWS::SNS::Topic")
                .property("TopicName", ctx.service.topic_name())
                .property("DisplayName", format!("{} notifications", ctx.service.name())),
        )?;
        // Ref of a topic is its ARN.
        ctx.topic = Some(Topic { arn: Expr::ref_to(&id) });
        Ok(())
    }
}
