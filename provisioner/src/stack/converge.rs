//! Converging a stack to a template through a change set: create when the stack is new (or left
//! ROLLBACK_COMPLETE by a failed first create, which is deleted first), update when it exists, and
//! nothing when the change set is empty. The plan is shown before it is executed, each resource
//! event while waiting, and the outputs are read back at the end. What a stack refuses (busy,
//! failed beyond what a change set mends) is found by [`check`] before any other work is done.
//! Ctrl-C while the change set is computed removes it, so the stack is as it was; while the
//! operation runs it stops only the waiting.

use std::collections::BTreeMap;

use aws_sdk_cloudformation::Client;
use aws_sdk_cloudformation::types::ChangeSetType;
use model::template::Template;

use super::changeset::{self, PlannedChange, Prepared};
use super::describe::{self, Stack};
use super::events::{self, Event, Follower};
use super::follow::{self, Interrupted};
use super::status::{Phase, phase};
use super::{StackError, body, capabilities};
use crate::decorators::image::IMAGE_URI_PARAMETER;
use crate::image::progress::Progress;
use crate::interrupt::{self, resume_command};

/// Stack tags every provision sets; the request's own tags come after them.
pub const SERVICE_TAG: &str = "service";
pub const BUILD_ID_TAG: &str = "build-id";

/// The stack as [`check`] found it, `None` when it does not exist yet, or the reason it cannot be
/// converged: busy with another operation, or failed in a way a change set cannot mend. Also
/// checks that a template of `template_size` bytes can reach CloudFormation (inline, or through
/// `s3_bucket`).
pub async fn check(
    cf: &Client,
    s3: &aws_sdk_s3::Client,
    stack_name: &str,
    template_size: usize,
    s3_bucket: Option<&str>,
    region: &str,
) -> anyhow::Result<Option<Stack>> {
    body::check(s3, template_size, s3_bucket, region).await?;
    let existing = describe::stack(cf, stack_name).await?;
    if let Some(stack) = &existing {
        match phase(&stack.status) {
            Phase::InProgress => {
                return Err(StackError::Busy { stack: stack_name.to_owned(), status: stack.status.clone() }.into());
            }
            Phase::Failed => {
                return Err(StackError::Unrecoverable {
                    stack: stack_name.to_owned(),
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
    Ok(existing)
}

/// What the stack is to become.
pub struct Desired<'a> {
    pub stack_name: &'a str,
    /// What [`check`] found.
    pub existing: Option<Stack>,
    /// The template, as text (what CloudFormation gets) and read back (for its capabilities).
    pub template_text: &'a str,
    pub template: &'a Template,
    /// Where a template over the inline limit is uploaded.
    pub s3_bucket: Option<&'a str>,
    pub region: &'a str,
    /// The image the task runs, pinned by digest: the ImageUri parameter.
    pub image_uri: &'a str,
    pub service_name: &'a str,
    pub build_id: &'a str,
    /// Stack tags beside the service name and build ID.
    pub tags: &'a [(String, String)],
    /// Compute and show the change set, then remove it: the stack is not touched.
    pub dry_run: bool,
}

/// How a convergence ended.
#[derive(Debug)]
pub struct Converged {
    /// `created`, `updated`, `no-changes` or `dry-run`.
    pub outcome: &'static str,
    pub stack_id: Option<String>,
    pub changes: Vec<PlannedChange>,
    pub events: Vec<Event>,
    pub outputs: BTreeMap<String, String>,
}

/// Converges the stack to `desired`, reporting each step on `progress`.
pub async fn converge(
    cf: &Client,
    s3: &aws_sdk_s3::Client,
    desired: Desired<'_>,
    progress: &Progress,
) -> anyhow::Result<Converged> {
    let stack_name = desired.stack_name;
    let source = body::source(s3, stack_name, desired.template_text, desired.s3_bucket, desired.region).await?;
    let existing = desired.existing;
    let mut converged = Converged {
        outcome: "no-changes",
        stack_id: existing.as_ref().map(|s| s.id.clone()),
        changes: Vec::new(),
        events: Vec::new(),
        outputs: BTreeMap::new(),
    };

    let rolled_back = existing.as_ref().is_some_and(|s| phase(&s.status) == Phase::CreateRolledBack);
    let kind = match &existing {
        Some(stack) if !matches!(phase(&stack.status), Phase::InReview | Phase::CreateRolledBack) => {
            ChangeSetType::Update
        }
        _ => ChangeSetType::Create,
    };
    if rolled_back {
        if desired.dry_run {
            converged.outcome = "dry-run";
            converged.changes = all_added(desired.template);
            progress.step(&format!(
                "stack {stack_name} is ROLLBACK_COMPLETE after a failed first create: a provision deletes it and creates it again"
            ));
            return Ok(converged);
        }
        progress.step(&format!(
            "stack {stack_name} is ROLLBACK_COMPLETE after a failed first create: deleting it to create it again"
        ));
        let id = existing.as_ref().map(|s| s.id.clone()).unwrap_or_else(|| stack_name.to_owned());
        let follower = Follower::start(cf, &id).await?;
        follow::delete(cf, follower, &id, stack_name, progress).await?;
    }

    let mut tags = vec![
        (SERVICE_TAG.to_owned(), desired.service_name.to_owned()),
        (BUILD_ID_TAG.to_owned(), desired.build_id.to_owned()),
    ];
    tags.extend(desired.tags.iter().cloned());
    let request = changeset::Request {
        stack: stack_name.to_owned(),
        name: changeset::new_name(),
        kind: kind.clone(),
        source: source.clone(),
        parameters: vec![(IMAGE_URI_PARAMETER.to_owned(), desired.image_uri.to_owned())],
        capabilities: capabilities::required(desired.template),
        tags,
        description: format!("provisioner: {} at build {}", desired.service_name, desired.build_id),
    };
    let action = if kind == ChangeSetType::Create { "creating" } else { "updating" };
    progress.step(&format!("computing the change set ({action} stack {stack_name})"));
    // Ctrl-C while the change set is computed: it is removed (with the empty stack a CREATE change
    // set makes), so the stack is as it was.
    let created = tokio::select! {
        created = changeset::create(cf, &request) => created,
        _ = interrupt::requested() => {
            let _ = changeset::delete(cf, stack_name, &request.name).await;
            if kind == ChangeSetType::Create {
                remove_review_stack(cf, stack_name).await;
            }
            return Err(interrupt::Stopped {
                what: format!(
                    "computing the change set, before executing it: the change set was removed and stack \
                     {stack_name} was not touched (the image {} stays pushed)",
                    desired.image_uri
                ),
                resume: resume_command(),
            }
            .into());
        }
    };
    let (change_set, stack_id, changes) = match created {
        Ok(Prepared::NoChanges) => {
            progress.done(&format!("no changes: stack {stack_name} already runs image {}", desired.image_uri));
            converged.outputs = existing.map(|s| s.outputs).unwrap_or_default();
            return Ok(converged);
        }
        Ok(Prepared::Ready { id, stack_id, changes }) => (id, stack_id, changes),
        Err(err) => {
            // A CREATE change set leaves a stack in REVIEW_IN_PROGRESS behind: not ours to keep.
            if kind == ChangeSetType::Create {
                remove_review_stack(cf, stack_name).await;
            }
            return Err(err.into());
        }
    };
    progress.done(&format!("{} change(s):", changes.len()));
    for change in &changes {
        progress.line(&change.to_string());
    }
    converged.changes = changes;
    converged.stack_id = stack_id.clone().or(converged.stack_id);

    if desired.dry_run {
        changeset::delete(cf, stack_name, &change_set).await?;
        if kind == ChangeSetType::Create {
            remove_review_stack(cf, stack_name).await;
        }
        converged.outcome = "dry-run";
        progress.step("dry run: the change set was removed; the stack was not touched");
        return Ok(converged);
    }

    let stack_ref = converged.stack_id.clone().unwrap_or_else(|| stack_name.to_owned());
    let mut follower = Follower::start(cf, &stack_ref).await?;
    changeset::execute(cf, stack_name, &change_set).await.map_err(|e| outcome_unknown(e.into(), stack_name))?;
    progress.step(&format!("{action} stack {stack_name}"));
    let ended = follow::follow(cf, &mut follower, &stack_ref, stack_name, progress)
        .await
        .map_err(|e| outcome_unknown(e, stack_name))?;
    converged.events = ended.events.clone();
    if phase(&ended.status) != Phase::Succeeded {
        return Err(follow::operation_failed(stack_name, ended).into());
    }
    progress.done(&format!("{} in {:.1} s", ended.status, ended.seconds));
    converged.outcome = if kind == ChangeSetType::Create { "created" } else { "updated" };
    converged.outputs = describe::stack(cf, &stack_ref).await?.map(|s| s.outputs).unwrap_or_default();
    Ok(converged)
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

/// Removes the empty stack a CREATE change set made, when nothing was executed; best effort,
/// since the error being reported matters more.
async fn remove_review_stack(cf: &Client, stack: &str) {
    if let Ok(Some(status)) = events::current_status(cf, stack).await
        && status == "REVIEW_IN_PROGRESS"
        && let Err(err) = cf.delete_stack().stack_name(stack).send().await
    {
        eprintln!("warning: the empty stack {stack} (REVIEW_IN_PROGRESS) could not be removed: {err}");
    }
}

fn all_added(template: &Template) -> Vec<PlannedChange> {
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
