//! The pipeline as the CLI runs it: build (compile, then Docker or OCI), then push to ECR or to a
//! named registry, each step timed and reported, ending with the image URI pinned by digest.

use std::path::PathBuf;
use std::time::Instant;

use serde::Serialize;

use super::binary::{self, TaskBinary};
use super::build_id::build_id;
use super::ecr;
use super::inputs::{DIRECTORIES, ImageInputs};
use super::oci::{self, OciImage};
use super::progress::{Progress, human_bytes};
use super::push::{PushReport, Registry};
use super::reference::ImageRef;
use super::{Builder, ImageError, Result};

#[derive(Debug, Clone)]
pub struct BuildOptions {
    pub workspace: PathBuf,
    pub builder: Builder,
    /// OCI builder only: the image to put the task layer on.
    pub base: Option<ImageRef>,
    pub ca_certificates: PathBuf,
}

/// The built image, where it lives.
#[derive(Debug, Clone)]
pub enum Built {
    /// In memory, and written as an OCI image layout at `layout`.
    Oci { image: Box<OciImage>, layout: PathBuf },
    /// In the Docker engine, tagged `local_tag`.
    Docker { image_id: String, local_tag: String },
}

#[derive(Debug, Clone)]
pub struct BuildOutcome {
    pub built: Built,
    pub builder: Builder,
    pub build_id: String,
    pub repository: String,
    pub binary: PathBuf,
    pub binary_bytes: u64,
    pub compile_seconds: f64,
    pub image_seconds: f64,
}

/// The summary `build --json` prints.
#[derive(Debug, Serialize)]
pub struct BuildSummary {
    pub builder: Builder,
    pub build_id: String,
    pub image: String,
    pub digest: Option<String>,
    pub layout: Option<PathBuf>,
    pub compressed_bytes: Option<u64>,
    pub binary_bytes: u64,
    pub compile_seconds: f64,
    pub image_seconds: f64,
}

impl BuildOutcome {
    pub fn summary(&self) -> BuildSummary {
        let (image, digest, layout, compressed) = match &self.built {
            Built::Oci { image, layout } => (
                format!("{}:{}", self.repository, self.build_id),
                Some(image.manifest_digest.clone()),
                Some(layout.clone()),
                Some(image.compressed_size()),
            ),
            Built::Docker { image_id, local_tag } => (local_tag.clone(), Some(image_id.clone()), None, None),
        };
        BuildSummary {
            builder: self.builder,
            build_id: self.build_id.clone(),
            image,
            digest,
            layout,
            compressed_bytes: compressed,
            binary_bytes: self.binary_bytes,
            compile_seconds: round(self.compile_seconds),
            image_seconds: round(self.image_seconds),
        }
    }
}

/// Compiles the service's task binary and builds the image.
pub async fn build(options: &BuildOptions, progress: &Progress) -> Result<BuildOutcome> {
    build_task(options, &TaskBinary::service(&options.workspace), progress).await
}

/// Compiles `task` (another task binary of the workspace) and builds the image around it, as
/// `build` does for the service's.
pub async fn build_task(options: &BuildOptions, task: &TaskBinary, progress: &Progress) -> Result<BuildOutcome> {
    let repository = service::SERVICE_NAME.to_owned();
    model::template::names::check_repository_name(&repository)?;
    let build_id = build_id(&options.workspace);

    // Connect first: a missing engine should fail before minutes of compiling.
    let docker = match options.builder {
        Builder::Docker => Some(super::docker::connect().await?),
        Builder::Oci => None,
    };
    let base = match (&options.base, options.builder) {
        (Some(reference), Builder::Oci) => {
            progress.step(&format!("reading base image {reference}"));
            Some(super::push::fetch_base(reference).await?)
        }
        (Some(_), Builder::Docker) => {
            return Err(ImageError::BaseImage {
                reference: options.base.as_ref().map(ToString::to_string).unwrap_or_default(),
                detail: "--base goes with --builder oci; with Docker, put the base in the Dockerfile's FROM".into(),
            });
        }
        (None, _) => None,
    };

    let features = match task.features.as_slice() {
        [] => String::new(),
        features => format!(", --features {}", features.join(",")),
    };
    progress.step(&format!("compiling the task binary {} (static{features})", task.bin));
    let started = Instant::now();
    let binary = task.build(progress).await?;
    let compile_seconds = started.elapsed().as_secs_f64();
    let binary_bytes =
        std::fs::metadata(&binary).map_err(|source| ImageError::Read { path: binary.clone(), source })?.len();
    progress.done(&format!("{} ({}) in {:.1} s", binary.display(), human_bytes(binary_bytes), compile_seconds));

    let inputs = ImageInputs::new(&options.workspace, binary.clone(), options.ca_certificates.clone());
    inputs.check()?;
    let started = Instant::now();
    let built = match docker {
        Some(docker) => {
            let local_tag = format!("{repository}:{build_id}");
            progress.step(&format!("docker build {local_tag}"));
            let image_id = super::docker::build(&docker, &inputs, &local_tag, false, progress).await?;
            progress.done(&format!("built {local_tag} ({image_id})"));
            Built::Docker { image_id, local_tag }
        }
        None => {
            progress.step("writing the OCI image (one deterministic layer)");
            // /tmp goes on a base image too: a base without one would leave the task nowhere to write.
            let image = oci::build(&inputs.files_for(base.is_some()), &DIRECTORIES, base)?;
            let layout = binary::target_dir(&options.workspace).join("image/oci");
            oci::write_layout(&image, &layout, &build_id)?;
            progress.done(&format!(
                "{} ({} compressed) at {}",
                image.manifest_digest,
                human_bytes(image.compressed_size()),
                layout.display()
            ));
            Built::Oci { image: Box::new(image), layout }
        }
    };
    Ok(BuildOutcome {
        built,
        builder: options.builder,
        build_id,
        repository,
        binary,
        binary_bytes,
        compile_seconds,
        image_seconds: started.elapsed().as_secs_f64(),
    })
}

/// Where the image goes.
#[derive(Debug, Clone)]
pub enum Destination {
    /// ECR in the account and region of the standard AWS configuration.
    Ecr(Box<aws_config::SdkConfig>),
    /// A named registry, `HOST:PORT` (plain HTTP for loopback only).
    Registry(String),
}

/// The summary `push --json` prints.
#[derive(Debug, Clone, Serialize)]
pub struct PushSummary {
    pub builder: Builder,
    /// The image URI pinned by digest: what the task definition uses.
    pub image_uri: String,
    pub tag: String,
    pub digest: String,
    pub compressed_bytes: Option<u64>,
    pub binary_bytes: u64,
    pub uploaded_blobs: Option<usize>,
    pub skipped_blobs: Option<usize>,
    pub mounted_blobs: Option<usize>,
    pub repository_created: Option<bool>,
    pub build_seconds: f64,
    pub push_seconds: f64,
}

/// Where a push goes, resolved before anything is built: the repository (created in ECR when
/// missing) and its credentials, so bad AWS configuration fails before minutes of compiling.
#[derive(Debug, Clone)]
pub struct Target {
    /// `registry/repository`, without tag.
    pub image: ImageRef,
    credentials: Option<ecr::EcrCredentials>,
    pub repository_created: Option<bool>,
}

pub async fn resolve(
    destination: &Destination,
    repository: &str,
    lifecycle_policy: &str,
    progress: &Progress,
) -> Result<Target> {
    match destination {
        Destination::Registry(registry) => {
            Ok(Target { image: ImageRef::new(registry, repository)?, credentials: None, repository_created: None })
        }
        Destination::Ecr(config) => {
            progress.step(&format!("ensuring ECR repository {repository}"));
            let client = aws_sdk_ecr::Client::new(config);
            let created = ecr::ensure_repository(&client, repository, lifecycle_policy).await?;
            let image = created.image_ref()?;
            let credentials = ecr::credentials(&client, &image.registry).await?;
            progress.done(&format!("{} ({})", created.uri, if created.created { "created" } else { "exists" }));
            Ok(Target { image, credentials: Some(credentials), repository_created: Some(created.created) })
        }
    }
}

pub async fn push(outcome: &BuildOutcome, target: &Target, progress: &Progress) -> Result<PushSummary> {
    let started = Instant::now();
    let tagged = target.image.with_tag(&outcome.build_id);
    let (digest, report, compressed) = match &outcome.built {
        Built::Oci { image, .. } => {
            let auth = target
                .credentials
                .as_ref()
                .map_or(oci_client::secrets::RegistryAuth::Anonymous, ecr::EcrCredentials::registry_auth);
            let registry = Registry::new(&target.image.registry, auth);
            let report = registry.push(image, &tagged, progress).await?;
            let mounted = match report.mounted_blobs {
                0 => String::new(),
                n => format!(", {n} mounted from the base's repository"),
            };
            progress.done(&format!(
                "{} blob(s) uploaded ({}){mounted}, {} already present",
                report.uploaded_blobs,
                human_bytes(report.uploaded_bytes),
                report.skipped_blobs
            ));
            (image.manifest_digest.clone(), Some(report), Some(image.compressed_size()))
        }
        Built::Docker { local_tag, .. } => {
            progress.step(&format!("docker push {tagged}"));
            let docker = super::docker::connect().await?;
            let docker_credentials = target.credentials.as_ref().map(ecr::EcrCredentials::docker_credentials);
            let digest = super::docker::push(&docker, local_tag, &tagged, docker_credentials, progress).await?;
            progress.done(&format!("pushed {digest}"));
            (digest, None::<PushReport>, None)
        }
    };
    let pinned = target.image.with_digest(&digest);
    Ok(PushSummary {
        builder: outcome.builder,
        image_uri: pinned.to_string(),
        tag: tagged.to_string(),
        digest,
        compressed_bytes: compressed,
        binary_bytes: outcome.binary_bytes,
        uploaded_blobs: report.as_ref().map(|r| r.uploaded_blobs),
        skipped_blobs: report.as_ref().map(|r| r.skipped_blobs),
        mounted_blobs: report.as_ref().map(|r| r.mounted_blobs),
        repository_created: target.repository_created,
        build_seconds: round(outcome.compile_seconds + outcome.image_seconds),
        push_seconds: round(started.elapsed().as_secs_f64()),
    })
}

fn round(seconds: f64) -> f64 {
    (seconds * 1000.0).round() / 1000.0
}
