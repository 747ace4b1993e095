//! The Docker engine builder: the repository's Dockerfile with the task binary passed as the
//! TASK_BINARY build argument, build output streamed; and `docker push` through the engine.

use std::collections::HashMap;

use bollard::Docker;
use bollard::auth::DockerCredentials;
use bollard::query_parameters::{BuildImageOptionsBuilder, PushImageOptionsBuilder, TagImageOptionsBuilder};
use futures_util::StreamExt;

use super::inputs::ImageInputs;
use super::progress::Progress;
use super::reference::ImageRef;
use super::{ImageError, Result};

/// Connects to the engine named by DOCKER_HOST (or the local socket) and agrees on an API version,
/// which also proves the engine answers.
pub async fn connect() -> Result<Docker> {
    let host = std::env::var("DOCKER_HOST").ok().filter(|h| !h.is_empty());
    let host = host.unwrap_or_else(|| "unix:///var/run/docker.sock".to_owned());
    let unavailable = |e: bollard::errors::Error| ImageError::DockerUnavailable {
        host: host.clone(),
        detail: runtime::exit::error_chain(&e),
    };
    let docker = Docker::connect_with_defaults().map_err(unavailable)?;
    docker.negotiate_version().await.map_err(unavailable)
}

/// Builds the image and tags it `local_tag`; returns the image ID. `no_cache` rebuilds every step
/// (the benchmark's fair comparison; the pipeline uses the cache).
pub async fn build(
    docker: &Docker,
    inputs: &ImageInputs,
    local_tag: &str,
    no_cache: bool,
    progress: &Progress,
) -> Result<String> {
    let context = inputs.docker_context()?;
    let args = HashMap::from([("TASK_BINARY", "task")]);
    let options = BuildImageOptionsBuilder::default()
        .dockerfile("Dockerfile")
        .t(local_tag)
        .rm(true)
        .forcerm(true)
        .nocache(no_cache)
        .buildargs(&args)
        .build();
    let mut stream = docker.build_image(options, None, Some(bollard::body_full(context.into())));
    while let Some(item) = stream.next().await {
        let info = item.map_err(|e| ImageError::DockerBuild(e.to_string()))?;
        if let Some(error) = info.error_detail.and_then(|d| d.message) {
            return Err(ImageError::DockerBuild(error));
        }
        if let Some(line) = info.stream.as_deref().map(str::trim).filter(|l| !l.is_empty()) {
            progress.detail(line);
        }
    }
    // The build stream's aux message changes type with bollard's `buildkit` feature (which
    // testcontainers enables), so the ID is read back from the engine instead.
    docker
        .inspect_image(local_tag)
        .await
        .ok()
        .and_then(|i| i.id)
        .ok_or_else(|| ImageError::DockerBuild(format!("the engine reported no image for {local_tag}")))
}

/// Tags `local` as `target` (which carries a tag) and pushes it; returns the manifest digest.
pub async fn push(
    docker: &Docker,
    local: &str,
    target: &ImageRef,
    credentials: Option<DockerCredentials>,
    progress: &Progress,
) -> Result<String> {
    let tag = target.tag.clone().unwrap_or_else(|| "latest".to_owned());
    let fail = |detail: String| ImageError::DockerPush { reference: target.to_string(), detail };
    docker
        .tag_image(local, Some(TagImageOptionsBuilder::default().repo(&target.name()).tag(&tag).build()))
        .await
        .map_err(|e| fail(e.to_string()))?;
    let mut stream =
        docker.push_image(&target.name(), Some(PushImageOptionsBuilder::default().tag(&tag).build()), credentials);
    let mut digest = None;
    while let Some(item) = stream.next().await {
        let info = item.map_err(|e| fail(e.to_string()))?;
        if let Some(error) = info.error_detail.and_then(|d| d.message) {
            return Err(fail(error));
        }
        if let Some(status) = info.status {
            // The last status line reads "<tag>: digest: sha256:... size: N".
            if let Some(rest) = status.split("digest: ").nth(1) {
                digest = rest.split_whitespace().next().map(str::to_owned);
            }
            progress.detail(&status);
        }
    }
    digest.ok_or_else(|| fail("the engine finished without reporting a digest".to_owned()))
}
