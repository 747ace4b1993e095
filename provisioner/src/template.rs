//! The stack's CloudFormation template as the commands render it: the service description with
//! the command line's changes (name, task size), assembled through the decorator chain, with a
//! fork's fragments merged in and their state machines checked, as JSON or YAML. No AWS access.
//! Shared by `template`, `describe` and `provision`, which render the same template from the
//! same options.

use std::path::{Path, PathBuf};

use anyhow::Context;
use clap::{Args, ValueEnum};
use model::template::Template;
use service::description;

use crate::decorators;

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    Json,
    Yaml,
}

#[derive(Debug, Clone, Args)]
pub struct TemplateArgs {
    /// Output format.
    #[arg(long, value_enum, default_value = "json")]
    pub format: Format,
    /// The image the task runs (what `provisioner push` printed). Without it, the ImageUri
    /// parameter defaults to a marked placeholder that cannot be pulled.
    #[arg(long, value_name = "URI")]
    pub image: Option<String>,
    #[command(flatten)]
    pub service: ServiceOptions,
}

/// What the template, describe and provision commands may change in the service description
/// without editing it: one definition, flattened into each.
#[derive(Debug, Clone, Default, Args)]
pub struct ServiceOptions {
    /// Use this service name instead of the description's (every resource name derives from it).
    #[arg(long, value_name = "NAME")]
    pub service_name: Option<String>,
    /// Task cpu units instead of the description's (256, 512, 1024, ... 16384).
    #[arg(long)]
    pub cpu: Option<u32>,
    /// Task memory in MiB instead of the description's; must suit the cpu.
    #[arg(long, value_name = "MIB")]
    pub memory: Option<u32>,
    /// A template fragment (JSON, or YAML by a .yaml/.yml extension) to merge in: a fork's own
    /// resources and outputs. A logical ID already in the template is an error. Repeatable.
    #[arg(long = "merge", value_name = "FILE")]
    pub merge: Vec<PathBuf>,
}

/// What `template` prints: the rendered template, and whether its image is the placeholder.
pub struct Rendered {
    pub text: String,
    pub placeholder_image: Option<String>,
}

/// The template these arguments describe, checked and rendered, or the reason it cannot be.
pub fn render(args: &TemplateArgs) -> anyhow::Result<Rendered> {
    let mut service = description::describe().context("the service description in service/src/description.rs")?;
    if let Some(name) = &args.service.service_name {
        service = service.with_name(name)?;
    }
    if args.service.cpu.is_some() || args.service.memory.is_some() {
        let size = service.task_size();
        service = service
            .with_task_size(args.service.cpu.unwrap_or(size.cpu()), args.service.memory.unwrap_or(size.memory()))?;
    }
    let (mut template, ctx) = decorators::assemble(service, args.image.clone())?;
    for path in &args.service.merge {
        let fragment = read_fragment(path)?;
        check_state_machines(&fragment).with_context(|| format!("the fragment {}", path.display()))?;
        template.merge(fragment).with_context(|| format!("merging {}", path.display()))?;
    }
    if !args.service.merge.is_empty() {
        template.validate().context("the template with the merged fragments")?;
    }
    let text = match args.format {
        Format::Json => template.to_json()?,
        Format::Yaml => template.to_yaml()?,
    };
    let placeholder_image = match &ctx.image {
        Some(image) if image.placeholder => Some(decorators::image::placeholder_image_uri(ctx.service.name())),
        _ => None,
    };
    Ok(Rendered { text, placeholder_image })
}

/// The largest fragment read: CloudFormation's own limit for a template in S3 (1 MB); anything
/// larger could not be deployed anyway.
pub const MAX_FRAGMENT_BYTES: u64 = 1_000_000;

fn read_fragment(path: &Path) -> anyhow::Result<Template> {
    let shown = path.display();
    let size = std::fs::metadata(path)
        .with_context(|| format!("could not read the fragment {shown} given to --merge: check the path"))?
        .len();
    if size > MAX_FRAGMENT_BYTES {
        anyhow::bail!(
            "the fragment {shown} given to --merge is {size} bytes, over CloudFormation's template limit of \
             {MAX_FRAGMENT_BYTES} bytes: merge a smaller fragment"
        );
    }
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("could not read the fragment {shown} given to --merge: check the path"))?;
    let yaml = matches!(path.extension().and_then(|e| e.to_str()), Some("yaml" | "yml"));
    let fragment = if yaml { Template::from_yaml(&text) } else { Template::from_json(&text) };
    fragment.with_context(|| {
        let form = if yaml { "YAML (by its .yaml/.yml extension)" } else { "JSON (any extension but .yaml/.yml)" };
        format!("the fragment {shown} given to --merge is not a template fragment in {form}: fix it, or give the right extension")
    })
}

/// Checks every state machine a fragment defines (a `Definition`, or a `DefinitionString` that is
/// a string or an `Fn::Sub` of one) by the rules the generated workflow passes: what Step
/// Functions would refuse only when the stack is created, and a loop with no way out. A definition
/// built by another intrinsic function cannot be read before deploying and is left to AWS.
pub fn check_state_machines(fragment: &Template) -> anyhow::Result<()> {
    use serde_json::Value;
    for (id, resource) in fragment.resources() {
        if resource.resource_type != "AWS::StepFunctions::StateMachine" {
            continue;
        }
        let text = match (resource.properties.get("Definition"), resource.properties.get("DefinitionString")) {
            (Some(definition), _) => definition.to_string(),
            (None, Some(Value::String(text))) => text.clone(),
            (None, Some(Value::Object(sub))) => match sub.get("Fn::Sub") {
                Some(Value::String(text)) => text.clone(),
                Some(Value::Array(parts)) => match parts.first() {
                    Some(Value::String(text)) => text.clone(),
                    _ => continue,
                },
                _ => continue,
            },
            _ => continue,
        };
        let machine = model::states::StateMachine::from_json(&text)
            .with_context(|| format!("the state machine {id} has a definition that is not the States Language"))?;
        machine.lint().with_context(|| format!("the state machine {id} cannot be deployed"))?;
        let problems = states_interpreter::CompiledMachine::new(machine).problems();
        if !problems.is_empty() {
            anyhow::bail!("the state machine {id} cannot be deployed: {}", problems.join("; "));
        }
    }
    Ok(())
}
