//! `provisioner provision`: build and push the image, assemble the template with the image pinned
//! by digest, and converge the stack through a change set (`crate::stack::converge`: create when
//! new, update when it exists), printing where it deploys first, the plan before executing it,
//! one line per resource event while waiting, and the stack's outputs at the end. Everything that
//! can be checked without changing anything (names, tags, the template, the bucket, credentials,
//! a busy stack) is checked before the image is built.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Instant;

use anyhow::Context;
use clap::Args;
use serde::Serialize;

use crate::caller::{Caller, default_registry};
use crate::image::inputs::DEFAULT_CA_CERTIFICATES;
use crate::image::pipeline::{self, BuildOptions, Destination};
use crate::image::progress::Progress;
use crate::image::reference::{ImageRef, validate_registry};
use crate::image::{Builder, binary};
use crate::interrupt::{self, push_stopped, resume_command, unless_interrupted};
use crate::stack::args::StackArgs;
use crate::stack::changeset::PlannedChange;
use crate::stack::converge::{self, Desired};
use crate::stack::events::Event;
use crate::stack::{body, describe};
use crate::template::{Format, ServiceOptions, TemplateArgs, render};

#[derive(Debug, Args)]
pub struct ProvisionArgs {
    #[command(flatten)]
    pub stack: StackArgs,
    /// An existing S3 bucket for templates over CloudFormation's 51,200-byte inline limit.
    #[arg(long, value_name = "BUCKET")]
    pub s3_bucket: Option<String>,
    /// Push to this registry (HOST:PORT) instead of ECR. Default: the local cloud's registry when
    /// its env file is sourced (LOCALCLOUD_REGISTRY), else ECR.
    #[arg(long, value_name = "HOST:PORT", env = "PROVISIONER_REGISTRY")]
    pub registry: Option<String>,
    /// Build, push and show what the change set would do, then remove it: the stack is not touched.
    #[arg(long)]
    pub dry_run: bool,
    /// A stack tag (repeatable), beside the service name and build ID tags it always gets.
    #[arg(long = "tag", value_name = "KEY=VALUE", value_parser = parse_tag)]
    pub tags: Vec<(String, String)>,
    /// One JSON summary on stdout instead of progress and outputs.
    #[arg(long)]
    pub json: bool,
    /// How to build the image: daemonless OCI (deterministic: the same binary gives the same
    /// digest, so an unchanged service changes nothing) or the Docker engine.
    #[arg(long, value_enum, default_value = "oci")]
    pub builder: Builder,
    /// With --builder oci: a linux/amd64 base image (REGISTRY/NAME:TAG), e.g. one with ffmpeg.
    #[arg(long, value_name = "IMAGE")]
    pub base: Option<String>,
    /// The CA certificates bundle copied into the image.
    #[arg(long, value_name = "PATH", default_value = DEFAULT_CA_CERTIFICATES)]
    pub ca_certificates: PathBuf,
    /// Deploy another task of the workspace instead of the service's: PACKAGE's binary of the same
    /// name, which must offer `fargateTask`. The integration tests deploy the platform's test task
    /// (platform-test-task) this way.
    #[arg(long, value_name = "PACKAGE")]
    pub package: Option<String>,
    #[command(flatten)]
    pub service: ServiceOptions,
}

/// `KEY=VALUE`, as CloudFormation accepts a stack tag.
fn parse_tag(text: &str) -> Result<(String, String), String> {
    let (key, value) = text
        .split_once('=')
        .ok_or_else(|| format!("the tag {text:?} has no '='; write KEY=VALUE, e.g. --tag team=media"))?;
    if key.is_empty() || key.len() > 128 {
        return Err(format!("the tag key {key:?} must be 1 to 128 characters"));
    }
    if key.to_ascii_lowercase().starts_with("aws:") {
        return Err(format!("the tag key {key:?} uses the prefix aws:, which AWS reserves"));
    }
    if value.len() > 256 {
        return Err(format!("the value of tag {key:?} is {} characters, over AWS's limit of 256", value.len()));
    }
    Ok((key.to_owned(), value.to_owned()))
}

/// What `provision --json` prints.
#[derive(Debug, Serialize)]
pub struct ProvisionSummary {
    pub stack_name: String,
    pub stack_id: Option<String>,
    pub account: String,
    pub region: String,
    pub endpoint: Option<String>,
    pub image_uri: String,
    pub build_id: String,
    /// `created`, `updated`, `no-changes` or `dry-run`.
    pub outcome: &'static str,
    pub changes: Vec<PlannedChange>,
    pub events: Vec<Event>,
    pub outputs: BTreeMap<String, String>,
    pub seconds: f64,
}

impl ProvisionArgs {
    fn template_args(&self, image: Option<String>) -> TemplateArgs {
        TemplateArgs { format: Format::Json, image, service: self.service.clone() }
    }
}

pub async fn run(args: ProvisionArgs) -> anyhow::Result<()> {
    let started = Instant::now();
    interrupt::watch();
    // Everything local first: the description, the merged fragments, the names.
    let draft = render(&args.template_args(Some(placeholder_pinned_uri())))?;
    let service_name = args.service.service_name.clone().unwrap_or_else(|| service::SERVICE_NAME.to_owned());
    let stack_name = args.stack.name_or(&service_name);
    model::template::names::check_stack_name(&stack_name).context("--stack-name")?;
    let base = args.base.as_deref().map(ImageRef::parse).transpose()?;
    let registry = args.registry.clone().or_else(|| default_registry(|name| std::env::var(name).ok()));
    if let Some(registry) = &registry {
        validate_registry(registry)?;
    }

    let caller = Caller::load().await?;
    // Held until this provision ends: a second one of the same stack refuses before any work.
    let _lock = crate::stack::lock::acquire(&stack_name, &caller.to_string())?;
    eprintln!("provisioning stack {stack_name} in {caller}");
    let cf = aws_sdk_cloudformation::Client::new(&caller.config);
    let s3 = body::s3_client(&caller.config);
    let existing =
        converge::check(&cf, &s3, &stack_name, draft.text.len(), args.s3_bucket.as_deref(), &caller.region).await?;

    let progress = Progress::auto(args.json);
    let destination = match &registry {
        Some(registry) => Destination::Registry(registry.clone()),
        None => Destination::Ecr(Box::new(caller.config.clone())),
    };
    let target =
        pipeline::resolve(&destination, &service_name, &crate::image::ecr::lifecycle_policy(), &progress).await?;
    let options = BuildOptions {
        workspace: binary::workspace_root(),
        builder: args.builder,
        base,
        ca_certificates: args.ca_certificates.clone(),
    };
    let untouched = ", and the stack was not touched";
    let built = unless_interrupted(
        async {
            let task = super::image::task_binary(&options.workspace, args.package.as_deref());
            Ok(pipeline::build_task(&options, &task, &progress).await?)
        },
        &push_stopped("building", untouched),
    )
    .await?;
    let pushed = unless_interrupted(
        async {
            pipeline::push(&built, &target, &progress).await.with_context(|| {
                format!(
                    "push failed; nothing was tagged and the stack was not touched. Run the same command again to \
                     resume (blobs already uploaded are skipped): {}",
                    resume_command()
                )
            })
        },
        &push_stopped("pushing", untouched),
    )
    .await?;

    let rendered = render(&args.template_args(Some(pushed.image_uri.clone())))?;
    let template = model::template::Template::from_json(&rendered.text)?;
    let desired = Desired {
        stack_name: &stack_name,
        existing,
        template_text: &rendered.text,
        template: &template,
        s3_bucket: args.s3_bucket.as_deref(),
        region: &caller.region,
        image_uri: &pushed.image_uri,
        service_name: &service_name,
        build_id: &built.build_id,
        tags: &args.tags,
        dry_run: args.dry_run,
    };
    let converged = converge::converge(&cf, &s3, desired, &progress).await?;
    let summary = ProvisionSummary {
        stack_name,
        stack_id: converged.stack_id,
        account: caller.account.clone(),
        region: caller.region.clone(),
        endpoint: caller.endpoint.clone(),
        image_uri: pushed.image_uri.clone(),
        build_id: built.build_id.clone(),
        outcome: converged.outcome,
        changes: converged.changes,
        events: converged.events,
        outputs: converged.outputs,
        seconds: 0.0,
    };
    finish(&args, &progress, summary, started)
}

/// A digest-pinned URI as long as a real one, so the size check before the build is exact.
fn placeholder_pinned_uri() -> String {
    format!("{}/{}@sha256:{}", crate::decorators::image::PLACEHOLDER_REGISTRY, service::SERVICE_NAME, "0".repeat(64))
}

fn finish(
    args: &ProvisionArgs,
    progress: &Progress,
    mut summary: ProvisionSummary,
    started: Instant,
) -> anyhow::Result<()> {
    summary.seconds = (started.elapsed().as_secs_f64() * 1000.0).round() / 1000.0;
    if args.json {
        println!("{}", serde_json::to_string(&summary)?);
        return Ok(());
    }
    progress.done(&format!("{} ({:.1} s)", summary.outcome, summary.seconds));
    print!("{}", describe::outputs_text(&summary.outputs));
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tags_are_key_value_pairs_aws_accepts() {
        assert_eq!(parse_tag("team=media"), Ok(("team".into(), "media".into())));
        assert_eq!(parse_tag("empty="), Ok(("empty".into(), String::new())));
        assert!(parse_tag("novalue").unwrap_err().contains("\"novalue\""));
        assert!(parse_tag("aws:owner=x").unwrap_err().contains("aws:"));
        assert!(parse_tag("=x").is_err());
        assert!(parse_tag(&format!("k={}", "v".repeat(257))).unwrap_err().contains("256"));
    }
}
