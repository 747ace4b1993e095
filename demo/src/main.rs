//! `just demo`: the whole flow for real on this machine, as a user would type it. Starts the local
//! cloud (`localcloud up`, left running), deploys the stack with `provisioner provision`, subscribes
//! a queue to the stack's topic, runs the workflow once with an input that succeeds and once with
//! one whose task fails (`provisioner run --follow`: states, the task's own log lines, the outcome),
//! then shows the notifications the workflow published. Exits non-zero if any step does not do
//! what it should (the failing run must fail).
//!
//! A crate of its own, not a binary of integration-tests: the demo needs the provisioner, the
//! local cloud and three SDK clients, not the test harness's EC2, IAM and testcontainers.
//! `just demo` builds it with `provisioner` and `localcloud` in one `cargo build`, so it runs the
//! binaries of that build: the ones beside its own executable, wherever cargo put them.

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, bail, ensure};
use aws_config::{BehaviorVersion, Region};
use aws_sdk_cloudformation::config::Credentials;
use serde_json::Value;

fn provisioner(bin: &Path, env: &[(&'static str, String)], args: &[&str]) -> anyhow::Result<std::process::ExitStatus> {
    println!("\n$ provisioner {}", args.join(" "));
    let status = Command::new(bin)
        .args(args)
        .envs(env.iter().map(|(k, v)| (*k, v.as_str())))
        .env_remove("AWS_PROFILE")
        .status()
        .with_context(|| format!("cannot run {}", bin.display()))?;
    Ok(status)
}

/// A binary built by the same `cargo build` as this one: cargo puts them in one directory.
fn sibling(name: &str) -> anyhow::Result<PathBuf> {
    let exe = std::env::current_exe().context("cannot find the demo's own executable")?;
    let bin = exe.with_file_name(name);
    ensure!(
        bin.exists(),
        "{} is missing: build it with the demo, `cargo build -p provisioner -p localcloud -p demo` (what `just demo` runs)",
        bin.display()
    );
    Ok(bin)
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let checkout = PathBuf::from(env!("CARGO_MANIFEST_DIR")).parent().context("workspace root")?.to_owned();
    let bin = sibling("provisioner")?;

    println!("==> starting the local cloud (left running; `just down` stops it)");
    let mut config = localcloud::Config::for_checkout(&checkout);
    config.gateway = sibling("localcloud")?;
    let up = localcloud::up(&config)?;
    let env = up.endpoints.env_vars();
    println!("    AWS endpoint {}, registry {}", up.endpoints.aws_endpoint_url, up.endpoints.registry);

    ensure!(provisioner(&bin, &env, &["provision"])?.success(), "provision failed");

    let sdk = aws_config::defaults(BehaviorVersion::latest())
        .endpoint_url(&up.endpoints.aws_endpoint_url)
        .region(Region::new(localcloud::REGION))
        .credentials_provider(Credentials::new("test", "test", None, None, "localcloud"))
        .load()
        .await;
    let cf = aws_sdk_cloudformation::Client::new(&sdk);
    let stack = cf.describe_stacks().stack_name(service::SERVICE_NAME).send().await?;
    let topic = stack.stacks()[0]
        .outputs()
        .iter()
        .find(|o| o.output_key() == Some("TopicArn"))
        .and_then(|o| o.output_value())
        .context("the stack has no TopicArn output")?
        .to_owned();
    let sqs = aws_sdk_sqs::Client::new(&sdk);
    let queue_url = sqs.create_queue().queue_name("demo-notifications").send().await?.queue_url.unwrap_or_default();
    let arn_attribute = aws_sdk_sqs::types::QueueAttributeName::QueueArn;
    let attributes =
        sqs.get_queue_attributes().queue_url(&queue_url).attribute_names(arn_attribute.clone()).send().await?;
    let queue_arn = attributes.attributes().and_then(|a| a.get(&arn_attribute)).context("no queue ARN")?.clone();
    aws_sdk_sns::Client::new(&sdk).subscribe().topic_arn(&topic).protocol("sqs").endpoint(&queue_arn).send().await?;
    println!("\n==> queue demo-notifications subscribed to {topic}");

    println!("\n==> a run that succeeds");
    let ok = provisioner(
        &bin,
        &env,
        &[
            "run",
            "--follow",
            "--input",
            r#"{"name":"demo","text":"a Rust task run by Step Functions on Fargate, locally"}"#,
        ],
    )?;
    ensure!(ok.success(), "the run that should succeed failed");

    println!("\n==> a run whose task fails on purpose (the workflow catches it, notifies, and fails)");
    let failed = provisioner(&bin, &env, &["run", "--follow", "--input", r#"{"name":"demo","fail":true}"#])?;
    if failed.success() {
        bail!("the run that should fail succeeded");
    }

    println!("\n==> what the workflow published to {topic}");
    let mut received = 0;
    for _ in 0..10 {
        let out = sqs.receive_message().queue_url(&queue_url).max_number_of_messages(10).send().await?;
        for message in out.messages() {
            let envelope: Value = serde_json::from_str(message.body().unwrap_or("{}"))?;
            println!("    {}", envelope["Message"].as_str().unwrap_or_default());
            received += 1;
            if let Some(handle) = message.receipt_handle() {
                sqs.delete_message().queue_url(&queue_url).receipt_handle(handle).send().await?;
            }
        }
        if received >= 2 {
            break;
        }
    }
    ensure!(received == 2, "expected 2 notifications, got {received}");
    println!("\n==> done: one execution SUCCEEDED, one FAILED as it should.");
    println!("    see them: just status --local    remove the stack: just delete --local --yes    stop: just down");
    Ok(())
}
