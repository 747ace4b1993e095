//! Removing a repository's images (`provisioner delete --purge-images`): from ECR with
//! BatchDeleteImage, or from a named registry through the distribution API (tags listed, each
//! manifest deleted by digest; the local cloud's registry has deletes enabled). Sparta never
//! cleaned ECR; here it is one flag, and never implied.

use std::collections::BTreeSet;

use aws_sdk_ecr::types::ImageIdentifier;
use oci_client::secrets::RegistryAuth;

use super::reference::{ImageRef, is_loopback_registry};
use super::{ImageError, Result};

/// Deletes every image in ECR repository `name`; a missing repository has none. Returns how many.
pub async fn purge_ecr(ecr: &aws_sdk_ecr::Client, name: &str) -> Result<usize> {
    let mut ids: Vec<ImageIdentifier> = Vec::new();
    let mut pages = ecr.list_images().repository_name(name).into_paginator().send();
    while let Some(page) = pages.next().await {
        match page {
            Ok(page) => ids.extend(page.image_ids().iter().cloned()),
            Err(err) if err.as_service_error().is_some_and(|e| e.is_repository_not_found_exception()) => {
                return Ok(0);
            }
            Err(err) => {
                return Err(ImageError::Ecr { detail: crate::aws::explain("ListImages", &err) });
            }
        }
    }
    // Tags of one image share its digest: delete by digest, once each.
    let digests: BTreeSet<String> = ids.iter().filter_map(|id| id.image_digest().map(str::to_owned)).collect();
    let all: Vec<ImageIdentifier> =
        digests.iter().map(|d| ImageIdentifier::builder().image_digest(d).build()).collect();
    for chunk in all.chunks(100) {
        let out = ecr
            .batch_delete_image()
            .repository_name(name)
            .set_image_ids(Some(chunk.to_vec()))
            .send()
            .await
            .map_err(|e| ImageError::Ecr { detail: crate::aws::explain("BatchDeleteImage", &e) })?;
        if let Some(failure) = out.failures().first() {
            return Err(ImageError::Ecr {
                detail: format!(
                    "BatchDeleteImage in {name} failed for {}: {}",
                    failure.image_id().and_then(|i| i.image_digest()).unwrap_or("an image"),
                    failure.failure_reason().unwrap_or("no reason given")
                ),
            });
        }
    }
    Ok(digests.len())
}

/// Deletes every tagged manifest of `repository` in `registry` (anonymous access). Returns how many.
pub async fn purge_registry(registry: &str, repository: &str) -> Result<usize> {
    let image = ImageRef::new(registry, repository)?;
    let client = super::push::Registry::new(registry, RegistryAuth::Anonymous);
    let tags = client.tags(&image).await?;
    let mut digests = BTreeSet::new();
    for tag in tags {
        digests.insert(client.manifest_digest(&image.with_tag(&tag)).await?);
    }
    let scheme = if is_loopback_registry(registry) { "http" } else { "https" };
    let http = reqwest::Client::new();
    for digest in &digests {
        let url = format!("{scheme}://{registry}/v2/{repository}/manifests/{digest}");
        let response = http
            .delete(&url)
            .send()
            .await
            .map_err(|e| ImageError::RegistryUnreachable { registry: registry.to_owned(), detail: e.to_string() })?;
        let status = response.status();
        // 404: already gone (a digest two tags shared).
        if !status.is_success() && status != reqwest::StatusCode::NOT_FOUND {
            return Err(ImageError::Registry {
                registry: registry.to_owned(),
                what: format!("the delete of {repository}@{digest}"),
                detail: format!("HTTP {status}; a registry must have deletes enabled (storage.delete.enabled)"),
            });
        }
    }
    Ok(digests.len())
}
