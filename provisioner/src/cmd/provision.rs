//! `provisioner provision`: build and push the image, assemble the template with the image pinned
//! by digest, and converge the stack through a change set (create when new, update when it
//! exists), printing where it deploys first, the plan before executing it, one line per resource
//! event while waiting, and the stack's outputs at the end. Everything that can be checked without
//! changing anything (names, tags, the template, the bucket, credentials, a busy stack) is checked
//! before the image is built.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Instant;

use anyhow::Context;
use aws_sdk_cloudformation::types::ChangeSetType;
use clap::Args;
use serde::Serialize;

use super::interrupt::{self, push_stopped, resume_command, unless_interrupted};
use super::template::{Format, ServiceOptions, TemplateArgs, render};
use crate::caller::{Caller, default_registry};
use crate::decorators::image::IMAGE_URI_PARAMETER;
use crate::image::inputs::DEFAULT_CA_CERTIFICATES;
use crate::image::pipeline::{self, BuildOptions, Destination};
use crate::image::progress::Progress;
use crate::image::reference::{ImageRef, validate_registry};
use crate::image::{Builder, binary};
use crate::stack::body;
use crate::stack::changeset::{self, PlannedChange, Prepared};
use crate::stack::events::{self, Event, Follower};
use crate::stack::status::{Phase, phase};
use crate::stack::{StackError, capabilities, describe};

/// Stack tags every provision sets; `--tag` adds more.
pub const SERVICE_TAG: &str = "service";
pub const BUILD_ID_TAG: &str = "build-id";

#[derive(Debug, Clone, Args)]
pub struct StackArgs {
    /// The stack to act on. Default: the service name.
    #[arg(long, value_name = "NAME")]
    pub stack_name: Option<String>,
}

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

/// Ctrl-C while waiting: the stack operation goes on; the error says how to see it end.
#[derive(Debug, thiserror::Error)]
#[error(
    "stopped waiting (Ctrl-C); the stack operation goes on in CloudFormation. See how it ends with: \
     provisioner status --stack-name {stack}"
)]
pub struct Interrupted {
    pub stack: String,
}

impl ProvisionArgs {
    fn template_args(&self, image: Option<String>) -> TemplateArgs {
        TemplateArgs {
            format: Format::Json,
            image,
            service: self.service.clone(),
        }
    }
}

pub async fn run(args: ProvisionArgs) -> anyhow::Result<()> {
    let started = Instant::now();
    interrupt::watch();
    // Everything local first: the description, the merged fragments, the names.
    let draft = render(&args.template_args(Some(placeholder_pinned_uri())))?;
    let service_name = args.service.service_name.clone().unwrap_or_else(|| service::SERVICE_NAME.to_owned());
    let stack_name = args.stack.stack_name.clone().unwrap_or_else(|| service_name.clone());
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
    body::check(&s3, draft.text.len(), args.s3_bucket.as_deref(), &caller.region).await?;
    let existing = describe::stack(&cf, &stack_name).await?;
    if let Some(stack) = &existing {
        match phase(&stack.status) {
            Phase::InProgress => {
                return Err(StackError::Busy { stack: stack_name, status: stack.status.clone() }.into());
            }
            Phase::Failed => {
                return Err(StackError::Unrecoverable {
                    stack: stack_name.clone(),
                    status: stack.status.clone(),
                    hint: format!(
                        "see its events with `provisioner status --stack-name {stack_name}`; fix the cause, then \
                         `provisioner delete --stack-name {stack_name}` (or continue the rollback in the console)"
                    ),
                }
                .into());
            }
            _ => {}
        }
    }

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
    let source = body::source(&s3, &stack_name, &rendered.text, args.s3_bucket.as_deref(), &caller.region).await?;

    let mut summary = ProvisionSummary {
        stack_name: stack_name.clone(),
        stack_id: existing.as_ref().map(|s| s.id.clone()),
        account: caller.account.clone(),
        region: caller.region.clone(),
        endpoint: caller.endpoint.clone(),
        image_uri: pushed.image_uri.clone(),
        build_id: built.build_id.clone(),
        outcome: "no-changes",
        changes: Vec::new(),
        events: Vec::new(),
        outputs: BTreeMap::new(),
        seconds: 0.0,
    };

    let rolled_back = existing.as_ref().is_some_and(|s| phase(&s.status) == Phase::CreateRolledBack);
    let kind = match &existing {
        Some(stack) if !matches!(phase(&stack.status), Phase::InReview | Phase::CreateRolledBack) => {
            ChangeSetType::Update
        }
        _ => ChangeSetType::Create,
    };
    if rolled_back {
        if args.dry_run {
            summary.outcome = "dry-run";
            summary.changes = all_added(&template);
            progress.step(&format!(
                "stack {stack_name} is ROLLBACK_COMPLETE after a failed first create: a provision deletes it and creates it again"
            ));
            return finish(&args, &progress, summary, started);
        }
        progress.step(&format!(
            "stack {stack_name} is ROLLBACK_COMPLETE after a failed first create: deleting it to create it again"
        ));
        let id = existing.as_ref().map(|s| s.id.clone()).unwrap_or_else(|| stack_name.clone());
        let mut follower = Follower::start(&cf, &id).await?;
        cf.delete_stack()
            .stack_name(&id)
            .send()
            .await
            .map_err(|e| crate::stack::aws(&format!("DeleteStack {stack_name}"), &e))?;
        let ended = follow(&cf, &mut follower, &id, &stack_name, &progress).await?;
        if ended.status != "DELETE_COMPLETE" {
            return Err(operation_failed(&stack_name, ended).into());
        }
    }

    let mut tags =
        vec![(SERVICE_TAG.to_owned(), service_name.clone()), (BUILD_ID_TAG.to_owned(), built.build_id.clone())];
    tags.extend(args.tags.iter().cloned());
    let request = changeset::Request {
        stack: stack_name.clone(),
        name: changeset::new_name(),
        kind: kind.clone(),
        source: source.clone(),
        parameters: vec![(IMAGE_URI_PARAMETER.to_owned(), pushed.image_uri.clone())],
        capabilities: capabilities::required(&template),
        tags,
        description: format!("provisioner: {} at build {}", service_name, built.build_id),
    };
    let action = if kind == ChangeSetType::Create { "creating" } else { "updating" };
    progress.step(&format!("computing the change set ({action} stack {stack_name})"));
    // Ctrl-C while the change set is computed: it is removed (with the empty stack a CREATE change
    // set makes), so the stack is as it was.
    let created = tokio::select! {
        created = changeset::create(&cf, &request) => created,
        _ = interrupt::requested() => {
            let _ = changeset::delete(&cf, &stack_name, &request.name).await;
            if kind == ChangeSetType::Create {
                remove_review_stack(&cf, &stack_name).await;
            }
            return Err(interrupt::Stopped {
                what: format!(
                    "computing the change set, before executing it: the change set was removed and stack \
                     {stack_name} was not touched (the image {} stays pushed)",
                    pushed.image_uri
                ),
                resume: resume_command(),
            }
            .into());
        }
    };
    let (change_set, stack_id, changes) = match created {
        Ok(Prepared::NoChanges) => {
            progress.done(&format!("no changes: stack {stack_name} already runs image {}", pushed.image_uri));
            summary.outputs = existing.map(|s| s.outputs).unwrap_or_default();
            return finish(&args, &progress, summary, started);
        }
        Ok(Prepared::Ready { id, stack_id, changes }) => (id, stack_id, changes),
        Err(err) => {
            // A CREATE change set leaves a stack in REVIEW_IN_PROGRESS behind: not ours to keep.
            if kind == ChangeSetType::Create {
                remove_review_stack(&cf, &stack_name).await;
            }
            return Err(err.into());
        }
    };
    progress.done(&format!("{} change(s):", changes.len()));
    for change in &changes {
        progress.line(&change.to_string());
    }
    summary.changes = changes;
    summary.stack_id = stack_id.clone().or(summary.stack_id);

    if args.dry_run {
        changeset::delete(&cf, &stack_name, &change_set).await?;
        if kind == ChangeSetType::Create {
            remove_review_stack(&cf, &stack_name).await;
        }
        summary.outcome = "dry-run";
        progress.step("dry run: the change set was removed; the stack was not touched");
        return finish(&args, &progress, summary, started);
    }

    let stack_ref = summary.stack_id.clone().unwrap_or_else(|| stack_name.clone());
    let mut follower = Follower::start(&cf, &stack_ref).await?;
    changeset::execute(&cf, &stack_name, &change_set).await.map_err(|e| outcome_unknown(e.into(), &stack_name))?;
    progress.step(&format!("{action} stack {stack_name}"));
    let ended = follow(&cf, &mut follower, &stack_ref, &stack_name, &progress)
        .await
        .map_err(|e| outcome_unknown(e, &stack_name))?;
    summary.events = ended.events.clone();
    if phase(&ended.status) != Phase::Succeeded {
        return Err(operation_failed(&stack_name, ended).into());
    }
    progress.done(&format!("{} in {:.1} s", ended.status, ended.seconds));
    summary.outcome = if kind == ChangeSetType::Create { "created" } else { "updated" };
    summary.outputs = describe::stack(&cf, &stack_ref).await?.map(|s| s.outputs).unwrap_or_default();
    finish(&args, &progress, summary, started)
}

/// Follows the operation on `stack` until it ends, printing each event; Ctrl-C stops only the
/// waiting.
pub(crate) async fn follow(
    cf: &aws_sdk_cloudformation::Client,
    follower: &mut Follower,
    stack: &str,
    stack_name: &str,
    progress: &Progress,
) -> anyhow::Result<events::Ended> {
    let wait = events::wait(
        cf,
        follower,
        stack,
        |event| progress.line(&event.to_string()),
        |status, elapsed| progress.detail(&format!("{status}, {} s", elapsed.as_secs())),
    );
    tokio::select! {
        ended = wait => Ok(ended?),
        _ = interrupt::requested() => Err(Interrupted { stack: stack_name.to_owned() }.into()),
    }
}

/// The endpoint failed between executing the change set and seeing the operation end (it stopped
/// answering, the network went): the stack may be unchanged, under way or done, and only
/// CloudFormation knows. Ctrl-C already says so in its own words.
fn outcome_unknown(err: anyhow::Error, stack: &str) -> anyhow::Error {
    if err.is::<Interrupted>() {
        return err;
    }
    err.context(format!(
        "lost track of the operation on stack {stack} while executing its change set or waiting for it: the stack may be unchanged, \
         still changing or done. See it with `provisioner status --stack-name {stack}`, then run provision again \
         (it converges from whatever state the stack is in)"
    ))
}

pub(crate) fn operation_failed(stack: &str, ended: events::Ended) -> StackError {
    let causes = if ended.causes.is_empty() { &ended.events } else { &ended.causes };
    StackError::OperationFailed {
        stack: stack.to_owned(),
        status: ended.status.clone(),
        failures: causes
            .iter()
            .filter(|e| e.status.ends_with("_FAILED"))
            .map(|e| format!("{} ({}): {}", e.logical_id, e.resource_type, e.reason))
            .collect(),
    }
}

/// Removes the empty stack a CREATE change set made, when nothing was executed; best effort,
/// since the error being reported matters more.
async fn remove_review_stack(cf: &aws_sdk_cloudformation::Client, stack: &str) {
    if let Ok(Some(status)) = events::current_status(cf, stack).await
        && status == "REVIEW_IN_PROGRESS"
        && let Err(err) = cf.delete_stack().stack_name(stack).send().await
    {
        eprintln!("warning: the empty stack {stack} (REVIEW_IN_PROGRESS) could not be removed: {err}");
    }
}

fn all_added(template: &model::template::Template) -> Vec<PlannedChange> {
    template
        .resources()
        .iter()
        .map(|(id, resource)| PlannedChange {
            action: "Add".into(),
            logical_id: id.to_string(),
            resource_type: resource.resource_type.clone(),
            replacement: None,
        })
        .collect()
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
    print_outputs(&summary.outputs);
    Ok(())
}

pub(crate) fn print_outputs(outputs: &BTreeMap<String, String>) {
    if outputs.is_empty() {
        return;
    }
    let width = outputs.keys().map(String::len).max().unwrap_or(0);
    println!("Outputs:");
    for (key, value) in outputs {
        println!("  {key:<width$}  {value}");
    }
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
