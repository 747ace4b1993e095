//! `provisioner delete`: deletes the stack and waits until it is gone, printing its events (Sparta
//! returned before the delete ended); removes the repository's images only with --purge-images. A
//! stack that does not exist is not an error. Asks first on a terminal; elsewhere needs --yes.

use std::io::{BufRead, IsTerminal, Write};

use anyhow::Context;
use clap::Args;

use crate::caller::{Caller, default_registry};
use crate::image::progress::Progress;
use crate::image::reference::validate_registry;
use crate::image::registry_images;
use crate::stack::args::StackArgs;
use crate::stack::events::Follower;
use crate::stack::{describe, follow};

#[derive(Debug, Args)]
pub struct DeleteArgs {
    #[command(flatten)]
    pub stack: StackArgs,
    /// Also delete every image in the service's repository (ECR, or --registry / the local cloud's).
    #[arg(long)]
    pub purge_images: bool,
    /// Do not ask for confirmation.
    #[arg(long, short = 'y')]
    pub yes: bool,
    /// With --purge-images: the registry (HOST:PORT) the images are in, instead of ECR. Default: the
    /// local cloud's registry when its env file is sourced.
    #[arg(long, value_name = "HOST:PORT", env = "PROVISIONER_REGISTRY")]
    pub registry: Option<String>,
    /// The service whose repository --purge-images empties. Default: the description's name.
    #[arg(long, value_name = "NAME")]
    pub service_name: Option<String>,
}

pub async fn run(args: DeleteArgs) -> anyhow::Result<()> {
    let service_name = args.service_name.clone().unwrap_or_else(|| service::SERVICE_NAME.to_owned());
    let stack_name = args.stack.name_or(&service_name);
    model::template::names::check_stack_name(&stack_name).context("--stack-name")?;
    let registry = args.registry.clone().or_else(|| default_registry(|name| std::env::var(name).ok()));
    if let Some(registry) = &registry {
        validate_registry(registry)?;
    }
    let caller = Caller::load().await?;
    eprintln!("deleting stack {stack_name} in {caller}");
    let cf = aws_sdk_cloudformation::Client::new(&caller.config);
    let existing = describe::stack(&cf, &stack_name).await?;
    if existing.is_none() && !args.purge_images {
        eprintln!("stack {stack_name} does not exist: nothing to delete");
        return Ok(());
    }
    if !args.yes {
        let what = match (&existing, args.purge_images) {
            (Some(_), true) => {
                format!("stack {stack_name} and every image of repository {service_name}")
            }
            (Some(_), false) => format!("stack {stack_name}"),
            (None, _) => format!("every image of repository {service_name}"),
        };
        confirm(&format!("Delete {what} in {caller}?"))?;
    }

    let progress = Progress::auto(false);
    if let Some(stack) = existing {
        let follower = Follower::start(&cf, &stack.id).await?;
        progress.step(&format!("deleting stack {stack_name} ({})", stack.status));
        let ended = follow::delete(&cf, follower, &stack.id, &stack_name, &progress).await?;
        progress.done(&format!("stack {stack_name} deleted in {:.1} s", ended.seconds));
    } else {
        eprintln!("stack {stack_name} does not exist: nothing to delete");
    }
    if args.purge_images {
        progress.step(&format!("deleting the images of repository {service_name}"));
        let removed = match &registry {
            Some(registry) => registry_images::purge_registry(registry, &service_name).await?,
            None => registry_images::purge_ecr(&aws_sdk_ecr::Client::new(&caller.config), &service_name).await?,
        };
        progress.done(&format!("{removed} image(s) deleted"));
    }
    Ok(())
}

fn confirm(question: &str) -> anyhow::Result<()> {
    if !std::io::stdin().is_terminal() {
        anyhow::bail!("{question} Not asking without a terminal: pass --yes to delete");
    }
    eprint!("{question} [y/N] ");
    std::io::stderr().flush().ok();
    let mut answer = String::new();
    std::io::stdin().lock().read_line(&mut answer).context("could not read the answer")?;
    if matches!(answer.trim(), "y" | "Y" | "yes") {
        Ok(())
    } else {
        anyhow::bail!("not deleted (answered {:?})", answer.trim())
    }
}
