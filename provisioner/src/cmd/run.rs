//! `provisioner run`: starts an execution of the stack's state machine and, with --follow, shows
//! each state as it is entered and left, streams the Fargate task's log lines as they arrive, and
//! exits with the outcome (0 on success; 1 with the failed state, error and cause, and the task's
//! exit code and last log lines when the task failed). The following is `crate::execution`'s; this
//! command reads the input and prints. Ctrl-C stops following, never the execution.

use anyhow::{Context, bail};
use clap::Args;
use serde_json::Value;

use crate::caller::Caller;
use crate::execution::{self, RunSummary};
use crate::stack::args::StackArgs;

/// Step Functions' limit on an execution's input.
pub const MAX_INPUT_BYTES: usize = 256 * 1024;

#[derive(Debug, Args)]
pub struct RunArgs {
    #[command(flatten)]
    pub stack: StackArgs,
    /// The execution input: JSON, or @FILE to read it from a file.
    #[arg(long, value_name = "JSON|@FILE", default_value = "{}")]
    pub input: String,
    /// The execution's name (unique per state machine for 90 days). Default: generated.
    #[arg(long, value_name = "NAME")]
    pub name: Option<String>,
    /// Follow the execution until it ends: states, the task's logs, the outcome as the exit code.
    #[arg(long)]
    pub follow: bool,
    /// One JSON summary on stdout instead of progress.
    #[arg(long)]
    pub json: bool,
}

/// Reads `--input`: inline JSON or @FILE, checked to be JSON and within the 256 KiB limit.
pub fn read_input(input: &str) -> anyhow::Result<String> {
    let text = match input.strip_prefix('@') {
        Some(path) => std::fs::read_to_string(path).with_context(|| format!("could not read the input file {path}"))?,
        None => input.to_owned(),
    };
    if text.len() > MAX_INPUT_BYTES {
        bail!(
            "the input is {} bytes, over Step Functions' limit of {MAX_INPUT_BYTES} bytes (256 KiB); pass a reference \
             (an S3 key, say) instead of the data",
            text.len()
        );
    }
    serde_json::from_str::<Value>(&text).with_context(|| {
        let shown: String = text.chars().take(80).collect();
        format!("the input {shown:?} is not JSON; pass e.g. --input '{{\"name\":\"Ada\"}}' or --input @input.json")
    })?;
    Ok(text)
}

pub async fn run(args: RunArgs) -> anyhow::Result<()> {
    let input = read_input(&args.input)?;
    let stack_name = args.stack.name_or(service::SERVICE_NAME);
    let caller = Caller::load().await?;
    if !args.json {
        eprintln!("running the workflow of stack {stack_name} in {caller}");
    }
    let started = execution::start(&caller, &stack_name, &input, args.name.clone()).await?;
    let (execution_arn, name) = (&started.execution_arn, &started.name);
    if !args.follow {
        if args.json {
            let summary = RunSummary {
                execution_arn: execution_arn.clone(),
                name: name.clone(),
                status: "RUNNING".into(),
                ..RunSummary::default()
            };
            println!("{}", serde_json::to_string(&summary)?);
        } else {
            eprintln!(
                "started execution {name}; follow it with `provisioner run --follow` next time, or see it with `provisioner status`"
            );
            println!("{execution_arn}");
        }
        return Ok(());
    }
    if !args.json {
        eprintln!("execution {name} started ({execution_arn})");
    }

    let print = |line: &str| eprintln!("{line}");
    let quiet = |_: &str| {};
    let on_line: &dyn Fn(&str) = if args.json { &quiet } else { &print };
    let followed = execution::follow(&caller, &started, &stack_name, on_line).await?;
    let summary = &followed.summary;
    if args.json {
        println!("{}", serde_json::to_string(summary)?);
    } else if followed.succeeded() {
        eprintln!("execution {name} SUCCEEDED");
        if let Some(output) = &summary.output {
            println!("{output}");
        }
    }
    if followed.succeeded() {
        return Ok(());
    }
    Err(followed.failure().into())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_input_must_be_json_within_the_limit() {
        assert_eq!(read_input(r#"{"name":"Ada"}"#).unwrap(), r#"{"name":"Ada"}"#);
        let err = read_input("{name: Ada}").unwrap_err().to_string();
        assert!(err.contains("not JSON") && err.contains("{name: Ada}"), "{err}");
        let big = format!("\"{}\"", "x".repeat(MAX_INPUT_BYTES));
        let err = read_input(&big).unwrap_err().to_string();
        assert!(err.contains("262146 bytes") && err.contains("256 KiB"), "{err}");
        let err = read_input("@/nonexistent/input.json").unwrap_err().to_string();
        assert!(err.contains("/nonexistent/input.json"), "{err}");
    }
}
