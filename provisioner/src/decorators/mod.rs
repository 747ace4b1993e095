//! Service decorators: each adds one concern's resources to the template (network, cluster, task
//! definition, topic, state machine, outputs) and records what later decorators need in a typed
//! context shared along the chain, as Sparta's ServiceDecorators did. A decorator that needs a
//! record nobody wrote fails naming the decorator that writes it, so a mis-ordered chain is a
//! clear error rather than a dangling reference in the template.

pub mod cluster;
pub mod context;
pub mod ecr;
pub mod iam;
pub mod image;
pub mod logs;
pub mod network;
pub mod outputs;
pub mod state_machine;
pub mod task_definition;
pub mod topic;

use model::states::ValidationErrors;
use model::template::{LogicalId, Template, TemplateError};
use service::description::ServiceDescription;

pub use context::DecoratorContext;

/// One step of template assembly.
pub trait Decorator {
    /// A short name for errors and logs, e.g. `network`.
    fn name(&self) -> &str;

    /// Adds this decorator's resources to `template` and records in `ctx` what later steps need.
    fn decorate(&self, ctx: &mut DecoratorContext, template: &mut Template) -> Result<(), DecoratorError>;
}

#[derive(Debug, thiserror::Error)]
pub enum DecoratorError {
    #[error(transparent)]
    Template(#[from] TemplateError),
    #[error("it needs the {what}, which the {written_by:?} decorator records; put that decorator earlier in the chain")]
    MissingContext { what: &'static str, written_by: &'static str },
    #[error("the workflow's state machine definition is not valid:\n{0}")]
    Workflow(ValidationErrors),
    #[error("the workflow's state machine definition is not valid:\n{}", .0.join("\n"))]
    Expressions(Vec<String>),
    #[error(
        "the workflow's definition contains \"${{{variable}}}\", which CloudFormation would try to substitute \
         and which names nothing the provisioner provides ({known}); write \"${{!{variable}}}\" for a literal \"${{{variable}}}\""
    )]
    UnknownPlaceholder { variable: String, known: String },
    #[error("{0}")]
    Invalid(String),
    #[error("decorator {decorator:?} failed: {source}")]
    Failed {
        decorator: String,
        #[source]
        source: Box<DecoratorError>,
    },
}

/// A logical ID from one of the decorators' own constants.
pub(crate) fn logical_id(id: &str) -> Result<LogicalId, DecoratorError> {
    Ok(LogicalId::new(id)?)
}

/// Decorators run in order over one context and one template.
pub struct DecoratorChain {
    decorators: Vec<Box<dyn Decorator>>,
}

impl Default for DecoratorChain {
    fn default() -> Self {
        Self::new()
    }
}

impl DecoratorChain {
    pub fn new() -> Self {
        Self { decorators: Vec::new() }
    }

    /// The built-in chain, in order: image, ecr, network, cluster, logs, task-definition, topic,
    /// state-machine, outputs. `image_uri` is the pushed image, or `None` for a marked placeholder.
    pub fn standard(image_uri: Option<String>) -> Self {
        Self::new()
            .with(image::ImageDecorator { image_uri })
            .with(ecr::EcrRepositoryDecorator)
            .with(network::NetworkDecorator::default())
            .with(cluster::ClusterDecorator)
            .with(logs::LogGroupDecorator)
            .with(task_definition::TaskDefinitionDecorator)
            .with(topic::TopicDecorator)
            .with(state_machine::StateMachineDecorator)
            .with(outputs::OutputsDecorator)
    }

    /// Appends a decorator (a fork's own, say, after the built-in ones).
    pub fn with(mut self, decorator: impl Decorator + 'static) -> Self {
        self.decorators.push(Box::new(decorator));
        self
    }

    pub fn names(&self) -> Vec<&str> {
        self.decorators.iter().map(|d| d.name()).collect()
    }

    /// Runs every decorator in order, then checks the template's references. An error names the
    /// decorator that failed.
    pub fn run(&self, ctx: &mut DecoratorContext, template: &mut Template) -> Result<(), DecoratorError> {
        for decorator in &self.decorators {
            decorator.decorate(ctx, template).map_err(|source| DecoratorError::Failed {
                decorator: decorator.name().to_owned(),
                source: Box::new(source),
            })?;
        }
        template.validate()?;
        Ok(())
    }
}

/// The template of `service` through the standard chain.
pub fn assemble(
    service: ServiceDescription,
    image_uri: Option<String>,
) -> Result<(Template, DecoratorContext), DecoratorError> {
    let mut template = Template::new().with_description(format!(
        "{}: a Fargate task run by a Step Functions state machine that reports to an SNS topic",
        service.name()
    ));
    let mut ctx = DecoratorContext::new(service);
    DecoratorChain::standard(image_uri).run(&mut ctx, &mut template)?;
    Ok((template, ctx))
}
