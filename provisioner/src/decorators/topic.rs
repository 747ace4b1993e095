//! The SNS topic the workflow reports to, named after the service, encrypted at rest (checkov
//! CKV_AWS_26) with the AWS managed key for SNS: its key policy lets any principal of the account
//! use it through SNS, so the state machine's role publishes with `sns:Publish` alone, and no key
//! of ours has to be paid for or kept. A fork that lets another account or an AWS service (such as
//! EventBridge) publish must switch to a customer managed key whose policy allows that publisher.

use model::template::{Expr, Resource, Template};

use super::context::Topic;
use super::{Decorator, DecoratorContext, DecoratorError, logical_id};

pub const TOPIC: &str = "NotificationTopic";
/// The AWS managed key for SNS.
pub const TOPIC_KEY: &str = "alias/aws/sns";

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
                .property("DisplayName", format!("{} notifications", ctx.service.name()))
                .property("KmsMasterKeyId", TOPIC_KEY),
        )?;
        // Ref of a topic is its ARN.
        ctx.topic = Some(Topic { arn: Expr::ref_to(&id) });
        Ok(())
    }
}
