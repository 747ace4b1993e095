//! The provisioner CLI: template, describe, build, push, provision, run, status, delete, fork. Each
//! subcommand lives in `provisioner::cmd::<name>`; this file only parses and dispatches.

use std::process::ExitCode;

use clap::{Parser, Subcommand};

#[derive(Parser)]
#[command(name = "provisioner", version, about = "Build, push, deploy and run the Fargate task service")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Print the stack's CloudFormation template (JSON or YAML), with no AWS access.
    Template(provisioner::template::TemplateArgs),
    /// Write the template and a picture of its workflow and resources (one HTML file), no AWS access.
    Describe(provisioner::cmd::describe::DescribeArgs),
    /// Compile the task binary statically and build its image (Docker engine or daemonless OCI).
    Build(provisioner::cmd::image::BuildArgs),
    /// Build, then push the image to ECR (or --registry) and print its URI pinned by digest.
    Push(provisioner::cmd::image::PushArgs),
    /// Build and push the image, then create or update the stack through a change set.
    Provision(provisioner::cmd::provision::ProvisionArgs),
    /// Start an execution of the stack's state machine; --follow shows its states and the task's logs.
    Run(provisioner::cmd::run::RunArgs),
    /// Run one state of the workflow through Step Functions' TestState: input, mock, inspection.
    TestState(provisioner::cmd::test_state::TestStateArgs),
    /// The stack's status, outputs, recent events, task image and recent executions.
    Status(provisioner::cmd::status::StatusArgs),
    /// Delete the stack and wait until it is gone (images only with --purge-images).
    Delete(provisioner::cmd::delete::DeleteArgs),
    /// Start a new service from this one: a copy in DIR where every name derives from NAME.
    Fork(provisioner::cmd::fork::ForkArgs),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(runtime) => runtime,
        Err(err) => {
            eprintln!("error: could not start the async runtime: {err}");
            return ExitCode::FAILURE;
        }
    };
    let outcome: anyhow::Result<()> = runtime.block_on(async {
        match cli.command {
            Command::Template(args) => provisioner::cmd::template::run(args),
            Command::Describe(args) => provisioner::cmd::describe::run(args),
            Command::Build(args) => provisioner::cmd::image::build(args).await,
            Command::Push(args) => provisioner::cmd::image::push(args).await,
            Command::Provision(args) => provisioner::cmd::provision::run(args).await,
            Command::Run(args) => provisioner::cmd::run::run(args).await,
            Command::TestState(args) => provisioner::cmd::test_state::run(args).await,
            Command::Status(args) => provisioner::cmd::status::run(args).await,
            Command::Delete(args) => provisioner::cmd::delete::run(args).await,
            Command::Fork(args) => provisioner::cmd::fork::run(args),
        }
    });
    match outcome {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("error: {}", runtime::exit::error_chain(err.as_ref()));
            // 130, as a shell reports a command that Ctrl-C stopped.
            let interrupted = err.is::<provisioner::stack::follow::Interrupted>()
                || err.is::<provisioner::execution::StoppedFollowing>()
                || err.is::<provisioner::interrupt::Stopped>();
            if interrupted { ExitCode::from(130) } else { ExitCode::FAILURE }
        }
    }
}
