//! `provisioner build` and `provisioner push`: the image pipeline's CLI. Both compile the task
//! binary and build the image; push then sends it to ECR (created when missing) or to --registry,
//! and prints the image URI pinned by digest (with --json, one machine-readable summary).

use std::path::{Path, PathBuf};

use anyhow::Context;
use clap::Args;

use crate::image::binary::TaskBinary;
use crate::image::inputs::DEFAULT_CA_CERTIFICATES;
use crate::image::pipeline::{self, BuildOptions, Destination};
use crate::image::progress::Progress;
use crate::image::reference::{ImageRef, validate_registry};
use crate::image::{Builder, binary};
use crate::interrupt::{self, push_stopped, resume_command, unless_interrupted};

#[derive(Debug, Args)]
pub struct BuildArgs {
    /// How to build the image: the Docker engine from the Dockerfile, or daemonless OCI.
    #[arg(long, value_enum, default_value = "docker")]
    pub builder: Builder,
    /// With --builder oci: a linux/amd64 image (REGISTRY/NAME:TAG) to put the task layer on, for
    /// tasks that need native tools such as ffmpeg.
    #[arg(long, value_name = "IMAGE")]
    pub base: Option<String>,
    /// The CA certificates bundle copied into the image.
    #[arg(long, value_name = "PATH", default_value = DEFAULT_CA_CERTIFICATES)]
    pub ca_certificates: PathBuf,
    /// Print one JSON summary on stdout instead of progress.
    #[arg(long)]
    pub json: bool,
    /// Put another task of the workspace in the image instead of the service's: PACKAGE's binary
    /// of the same name, which must offer `fargateTask`. The integration tests run the platform's
    /// test task (platform-test-task) this way.
    #[arg(long, value_name = "PACKAGE")]
    pub package: Option<String>,
}

#[derive(Debug, Args)]
pub struct PushArgs {
    #[command(flatten)]
    pub build: BuildArgs,
    /// Push to this registry (HOST:PORT) instead of ECR; plain HTTP is used for loopback only.
    #[arg(long, value_name = "HOST:PORT", env = "PROVISIONER_REGISTRY")]
    pub registry: Option<String>,
}

/// The task binary an image holds: the service's, or `--package`'s.
pub(crate) fn task_binary(workspace: &Path, package: Option<&str>) -> TaskBinary {
    match package {
        Some(package) => TaskBinary::package(workspace, package),
        None => TaskBinary::service(workspace),
    }
}

impl BuildArgs {
    fn task(&self, options: &BuildOptions) -> TaskBinary {
        task_binary(&options.workspace, self.package.as_deref())
    }

    fn options(&self) -> anyhow::Result<BuildOptions> {
        let base = self.base.as_deref().map(ImageRef::parse).transpose()?;
        Ok(BuildOptions {
            workspace: binary::workspace_root(),
            builder: self.builder,
            base,
            ca_certificates: self.ca_certificates.clone(),
        })
    }
}

pub async fn build(args: BuildArgs) -> anyhow::Result<()> {
    let options = args.options()?;
    let progress = Progress::auto(args.json);
    let outcome = pipeline::build_task(&options, &args.task(&options), &progress).await?;
    drop(progress);
    let summary = outcome.summary();
    if args.json {
        println!("{}", serde_json::to_string(&summary)?);
    } else {
        println!("{}", summary.image);
    }
    Ok(())
}

pub async fn push(args: PushArgs) -> anyhow::Result<()> {
    interrupt::watch();
    // Check everything that needs no work before the minutes of compiling.
    let options = args.build.options()?;
    let destination = match &args.registry {
        Some(registry) => {
            validate_registry(registry)?;
            Destination::Registry(registry.clone())
        }
        None => {
            let config = aws_config::load_from_env().await;
            if let Some(region) = config.region() {
                crate::caller::check_region(region.as_ref())?;
            }
            Destination::Ecr(Box::new(config))
        }
    };
    let progress = Progress::auto(args.build.json);
    let target =
        pipeline::resolve(&destination, service::SERVICE_NAME, &crate::image::ecr::lifecycle_policy(), &progress)
            .await?;
    let task = args.build.task(&options);
    let outcome = unless_interrupted(
        async { Ok(pipeline::build_task(&options, &task, &progress).await?) },
        &push_stopped("building", ""),
    )
    .await?;
    let summary = unless_interrupted(
        async {
            pipeline::push(&outcome, &target, &progress).await.with_context(|| {
                format!(
                    "push failed; nothing was tagged (the manifest goes last). Run the same command again to resume \
                     (blobs already uploaded are skipped): {}",
                    resume_command()
                )
            })
        },
        &push_stopped("pushing", ""),
    )
    .await?;
    drop(progress);
    if args.build.json {
        println!("{}", serde_json::to_string(&summary)?);
    } else {
        println!("{}", summary.image_uri);
    }
    Ok(())
}
