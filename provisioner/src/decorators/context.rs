//! The typed context the decorator chain shares: the service description going in, and what each
//! decorator records for the later ones (the image URI for the task definition; the subnets,
//! security group and cluster for the state machine; the ARNs for the outputs). Values are template
//! expressions (`Ref`, `Fn::GetAtt`), resolved by CloudFormation at deploy time.

use model::template::{Expr, LogicalId};
use service::description::ServiceDescription;

use super::DecoratorError;

#[derive(Debug, Clone)]
pub struct DecoratorContext {
    pub service: ServiceDescription,
    /// Written by `image`.
    pub image: Option<Image>,
    /// Written by `ecr`.
    pub repository: Option<Repository>,
    /// Written by `network`.
    pub network: Option<Network>,
    /// Written by `cluster`.
    pub cluster: Option<Cluster>,
    /// Written by `logs`.
    pub log_group: Option<LogGroup>,
    /// Written by `task-definition`.
    pub task_definition: Option<TaskDefinition>,
    /// Written by `topic`.
    pub topic: Option<Topic>,
    /// Written by `state-machine`.
    pub state_machine: Option<StateMachine>,
}

impl DecoratorContext {
    pub fn new(service: ServiceDescription) -> Self {
        Self {
            service,
            image: None,
            repository: None,
            network: None,
            cluster: None,
            log_group: None,
            task_definition: None,
            topic: None,
            state_machine: None,
        }
    }
}

/// A record a decorator needs, or an error naming who writes it.
pub(crate) fn needed<'a, T>(
    record: &'a Option<T>,
    what: &'static str,
    written_by: &'static str,
) -> Result<&'a T, DecoratorError> {
    record.as_ref().ok_or(DecoratorError::MissingContext { what, written_by })
}

#[derive(Debug, Clone)]
pub struct Image {
    /// The image URI as the task definition uses it (a `Ref` to the `ImageUri` parameter).
    pub uri: Expr,
    /// True when no image was given and the URI is a placeholder that cannot be pulled.
    pub placeholder: bool,
}

/// The ECR repository `provisioner push` creates; only named here, never created by the stack.
#[derive(Debug, Clone)]
pub struct Repository {
    pub name: String,
    pub arn: Expr,
}

#[derive(Debug, Clone)]
pub struct Network {
    pub vpc_id: Expr,
    /// One public subnet per availability zone, in order.
    pub subnet_ids: Vec<Expr>,
    pub subnets: Vec<LogicalId>,
    /// The security group the task runs in (egress only).
    pub security_group_id: Expr,
}

#[derive(Debug, Clone)]
pub struct Cluster {
    pub name: String,
    pub arn: Expr,
}

#[derive(Debug, Clone)]
pub struct LogGroup {
    pub name: Expr,
    pub arn: Expr,
}

#[derive(Debug, Clone)]
pub struct TaskDefinition {
    pub arn: Expr,
    pub container_name: String,
    pub execution_role: LogicalId,
    pub execution_role_arn: Expr,
    /// The role the task's own code runs as; a fork attaches its permissions to it.
    pub task_role: LogicalId,
    pub task_role_arn: Expr,
}

#[derive(Debug, Clone)]
pub struct Topic {
    pub arn: Expr,
}

#[derive(Debug, Clone)]
pub struct StateMachine {
    pub arn: Expr,
    pub name: Expr,
}
