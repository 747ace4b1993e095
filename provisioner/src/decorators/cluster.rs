//! The ECS cluster the task runs in, named after the service, with Container Insights on (checkov
//! CKV_AWS_65): the task's CPU, memory and network figures reach CloudWatch, which is where an
//! operator looks when a task misbehaves.

use model::template::{Expr, Resource, Template};
use serde_json::json;

use super::context::Cluster;
use super::{Decorator, DecoratorContext, DecoratorError, logical_id};

pub const CLUSTER: &str = "Cluster";

pub struct ClusterDecorator;

impl Decorator for ClusterDecorator {
    fn name(&self) -> &str {
        "cluster"
    }

    fn decorate(&self, ctx: &mut DecoratorContext, template: &mut Template) -> Result<(), DecoratorError> {
        let id = logical_id(CLUSTER)?;
        let name = ctx.service.cluster_name().to_owned();
        template.add_resource(
            &id,
            Resource::new("AWS::ECS::Cluster")
                .property("ClusterName", name.as_str())
                .property("ClusterSettings", json!([{ "Name": "containerInsights", "Value": "enabled" }])),
        )?;
        ctx.cluster = Some(Cluster { name, arn: Expr::get_att(&id, "Arn") });
        Ok(())
    }
}
