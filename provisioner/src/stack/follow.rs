//! Waiting on a stack operation where a person watches: each new event a line as it arrives and
//! the status while nothing happens, until the stack reaches a final status. Ctrl-C stops only the
//! waiting (the operation goes on in CloudFormation), and an operation that failed becomes an
//! error naming the resources at fault. A delete is one such operation: started, then followed
//! until the stack is gone.

use aws_sdk_cloudformation::Client;

use super::StackError;
use super::events::{self, Follower};
use crate::image::progress::Progress;

/// Ctrl-C while waiting: the stack operation goes on; the error says how to see it end.
#[derive(Debug, thiserror::Error)]
#[error(
    "stopped waiting (Ctrl-C); the stack operation goes on in CloudFormation. See how it ends with: \
     provisioner status --stack-name {stack}"
)]
pub struct Interrupted {
    pub stack: String,
}

/// Follows the operation on `stack` until it ends, printing each event; Ctrl-C stops only the
/// waiting.
pub async fn follow(
    cf: &Client,
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
        _ = crate::interrupt::requested() => Err(Interrupted { stack: stack_name.to_owned() }.into()),
    }
}

/// The operation on `stack` ended otherwise than it should: the error names the events that caused it.
pub fn operation_failed(stack: &str, ended: events::Ended) -> StackError {
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

/// Deletes the stack `id` (named `stack_name`) and follows the delete until the stack is gone
/// (Sparta returned before it ended). `follower` was started before, so no event of the delete is
/// missed.
pub async fn delete(
    cf: &Client,
    mut follower: Follower,
    id: &str,
    stack_name: &str,
    progress: &Progress,
) -> anyhow::Result<events::Ended> {
    cf.delete_stack().stack_name(id).send().await.map_err(|e| super::aws(&format!("DeleteStack {stack_name}"), &e))?;
    let ended = follow(cf, &mut follower, id, stack_name, progress).await?;
    if ended.status != "DELETE_COMPLETE" {
        return Err(operation_failed(stack_name, ended).into());
    }
    Ok(ended)
}
