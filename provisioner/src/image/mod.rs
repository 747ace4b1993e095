//! The image pipeline: compile the task binary statically, lay out the image's filesystem, build it
//! (with the Docker engine from the Dockerfile, or without any daemon as a deterministic OCI image),
//! and push it to ECR or to a named registry, reporting the image URI pinned by digest.

pub mod binary;
pub mod build_id;
pub mod docker;
pub mod ecr;
pub mod inputs;
pub mod oci;
pub mod pipeline;
pub mod progress;
pub mod push;
pub mod reference;
pub mod registry_images;

use std::path::PathBuf;

/// Everything that can go wrong in the pipeline, each message naming the value and the way out.
#[derive(Debug, thiserror::Error)]
pub enum ImageError {
    #[error("could not run cargo to build the task binary: {0}; is cargo on PATH?")]
    CargoNotRun(std::io::Error),
    #[error("building the task binary failed (exit {code}):\n{tail}")]
    CargoFailed { code: String, tail: String },
    #[error("cannot read {path}: {source}")]
    Read { path: PathBuf, source: std::io::Error },
    #[error("cannot write {path}: {source}")]
    Write { path: PathBuf, source: std::io::Error },
    #[error(
        "{path} is missing: the image needs the CA certificates bundle; install it with \
         `apt-get install -y ca-certificates` or pass --ca-certificates PATH"
    )]
    MissingCaCertificates { path: PathBuf },
    #[error(
        "the Docker engine is not reachable at {host} ({detail}); nothing was built. Start it (e.g. `sudo \
         systemctl start docker`) or point DOCKER_HOST at a running engine, or build without any daemon: --builder oci"
    )]
    DockerUnavailable { host: String, detail: String },
    #[error("docker build failed: {0}")]
    DockerBuild(String),
    #[error("docker push of {reference} failed: {detail}")]
    DockerPush { reference: String, detail: String },
    #[error(transparent)]
    RepositoryName(#[from] model::template::NameError),
    #[error("invalid registry {registry:?}: {rule}")]
    InvalidRegistry { registry: String, rule: String },
    #[error(
        "the registry {registry} did not answer ({detail}); check the address, or start the local cloud \
         with `just up`"
    )]
    RegistryUnreachable { registry: String, detail: String },
    #[error(
        "the connection to the registry {registry} broke during {what} ({detail}): the registry stopped or the \
         network failed"
    )]
    ConnectionLost { registry: String, what: String, detail: String },
    #[error("the registry {registry} refused our credentials ({detail}); check the account's push permissions")]
    AuthRefused { registry: String, detail: String },
    #[error("the registry {registry} rejected {what}: {detail}")]
    Registry { registry: String, what: String, detail: String },
    #[error("the base image {reference} cannot be used: {detail}")]
    BaseImage { reference: String, detail: String },
    #[error("ECR: {detail}")]
    Ecr { detail: String },
}

pub type Result<T> = std::result::Result<T, ImageError>;

/// Which way the image is built.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Builder {
    /// The Docker engine, from the repository's Dockerfile.
    Docker,
    /// No daemon: one deterministic gzip layer written directly as an OCI image.
    Oci,
}
