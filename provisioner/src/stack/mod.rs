//! The deploy engine: converging a CloudFormation stack through change sets, waiting on it with
//! per-resource events, reading it back, and deleting it. One module per concern: `converge` the
//! algorithm that takes a stack from whatever state it is in to the template, `status` knows
//! which stack states are final, `body` where the template goes (inline or S3), `capabilities`
//! what the template needs acknowledged, `changeset` creating and reading change sets, `events`
//! the stack's events, `follow` waiting on an operation (and a delete) where a person watches,
//! `describe` reading a stack back, `lock` one provision per stack at a time, `args` the
//! `--stack-name` the stack commands share. Only the standard CloudFormation API is used, so the
//! same code converges on AWS, LocalStack and the local cloud.

pub mod args;
pub mod body;
pub mod capabilities;
pub mod changeset;
pub mod converge;
pub mod describe;
pub mod events;
pub mod follow;
pub mod lock;
pub mod status;

use aws_sdk_cloudformation::error::{ProvideErrorMetadata, SdkError};

/// Everything that can go wrong while converging or deleting a stack.
#[derive(Debug, thiserror::Error)]
pub enum StackError {
    /// An AWS call failed; the message is `crate::aws::explain`'s.
    #[error("{0}")]
    Aws(String),
    #[error(
        "the stack {stack} is busy ({status}): another operation is under way. Wait for it to end \
         (`provisioner status --stack-name {stack}` shows it) and run the command again"
    )]
    Busy { stack: String, status: String },
    #[error("the change set {change_set} for stack {stack} failed: {reason}")]
    ChangeSetFailed { stack: String, change_set: String, reason: String },
    #[error("the stack {stack} ended {status}{}", failures_text(.failures))]
    OperationFailed { stack: String, status: String, failures: Vec<String> },
    #[error(
        "the template is {size} bytes, over CloudFormation's inline limit of {limit} bytes; pass --s3-bucket BUCKET \
         (an existing bucket in {region}) to upload it"
    )]
    TemplateTooLarge { size: usize, limit: usize, region: String },
    #[error(
        "the S3 bucket {bucket:?} cannot be used for the template: {detail}; create it (`aws s3 mb s3://{bucket}`) \
         or pass another --s3-bucket"
    )]
    Bucket { bucket: String, detail: String },
    #[error("the stack {stack} is in {status}, which this command cannot converge: {hint}")]
    Unrecoverable { stack: String, status: String, hint: String },
}

fn failures_text(failures: &[String]) -> String {
    if failures.is_empty() { String::new() } else { format!(":\n  {}", failures.join("\n  ")) }
}

pub type Result<T> = std::result::Result<T, StackError>;

/// An AWS error as a `StackError`, with the call named and the usual fixes.
pub(crate) fn aws<E, R>(operation: &str, err: &SdkError<E, R>) -> StackError
where
    E: std::error::Error + 'static,
    R: std::fmt::Debug + 'static,
{
    StackError::Aws(crate::aws::explain(operation, err))
}

/// True when `err` says the stack does not exist (CloudFormation answers ValidationError).
pub(crate) fn is_missing_stack<E, R>(err: &SdkError<E, R>) -> bool
where
    E: ProvideErrorMetadata,
{
    err.as_service_error().is_some_and(|e| {
        e.code() == Some("ValidationError") && e.message().is_some_and(|m| m.contains("does not exist"))
    })
}
