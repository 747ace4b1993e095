//! Pushing an OCI image to a registry with the distribution API (oci-client): every blob is
//! checked first and only missing ones are uploaded, monolithically (ECR's chunked upload differs
//! from the spec); base-image layers are mounted from their repository when they live in the
//! same registry and copied otherwise; the manifest goes last, so a failure leaves no tag pointing
//! at an incomplete image.

use oci_client::client::{ClientConfig, ClientProtocol};
use oci_client::errors::OciDistributionError;
use oci_client::secrets::RegistryAuth;
use oci_client::{Client, RegistryOperation};

use super::oci::{Descriptor, OciImage};
use super::progress::Progress;
use super::reference::ImageRef;
use super::{ImageError, Result};

/// What a push did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PushReport {
    pub uploaded_blobs: usize,
    /// Base-image layers mounted from their repository in the same registry (no bytes sent).
    pub mounted_blobs: usize,
    pub skipped_blobs: usize,
    pub uploaded_bytes: u64,
}

pub struct Registry {
    client: Client,
    auth: RegistryAuth,
    registry: String,
}

impl Registry {
    /// A client for `registry`: plain HTTP for a loopback registry, HTTPS for every other.
    pub fn new(registry: &str, auth: RegistryAuth) -> Self {
        let protocol = if super::reference::is_loopback_registry(registry) {
            ClientProtocol::HttpsExcept(vec![registry.to_owned()])
        } else {
            ClientProtocol::Https
        };
        let config = ClientConfig {
            protocol,
            use_monolithic_push: true,
            connect_timeout: Some(std::time::Duration::from_secs(5)),
            read_timeout: Some(std::time::Duration::from_secs(300)),
            ..Default::default()
        };
        Self { client: Client::new(config), auth, registry: registry.to_owned() }
    }

    fn error(&self, what: &str, err: OciDistributionError) -> ImageError {
        classify(&self.registry, what, err)
    }

    /// Authenticates for `operation` on `image`, which also proves the registry answers.
    pub async fn login(&self, image: &ImageRef, operation: RegistryOperation) -> Result<()> {
        self.client
            .auth(&image.to_oci(), &self.auth, operation)
            .await
            .map(|_| ())
            .map_err(|e| self.error("the login", e))
    }

    pub async fn blob_exists(&self, image: &ImageRef, digest: &str) -> Result<bool> {
        self.client
            .blob_exists(&image.to_oci(), digest)
            .await
            .map_err(|e| self.error(&format!("the check for blob {digest}"), e))
    }

    /// Pushes `image` to `target` (which carries the tag) and returns what was uploaded.
    pub async fn push(&self, image: &OciImage, target: &ImageRef, progress: &Progress) -> Result<PushReport> {
        self.login(target, RegistryOperation::Push).await?;
        let mut report = PushReport::default();
        let mut blobs: Vec<(&Descriptor, Option<&[u8]>)> = Vec::new();
        let own = image.own_layer().map(|d| d.digest.clone());
        for layer in &image.layers {
            let data = (Some(&layer.digest) == own.as_ref()).then_some(image.layer_data.as_slice());
            blobs.push((layer, data));
        }
        blobs.push((&image.config, Some(image.config_data.as_slice())));
        let total: u64 = blobs.iter().map(|(d, _)| d.size).sum();
        let bar = progress.bytes(&format!("pushing {target}"), total);
        for (descriptor, data) in blobs {
            if self.blob_exists(target, &descriptor.digest).await? {
                report.skipped_blobs += 1;
                bar.inc(descriptor.size);
                continue;
            }
            bar.note(&descriptor.digest);
            let mounted = match data {
                Some(data) => {
                    self.upload(target, &descriptor.digest, data.to_vec()).await?;
                    false
                }
                None => self.copy_base_layer(image, target, descriptor).await?,
            };
            if mounted {
                report.mounted_blobs += 1;
            } else {
                report.uploaded_blobs += 1;
                report.uploaded_bytes += descriptor.size;
            }
            bar.inc(descriptor.size);
        }
        let content_type = super::oci::MANIFEST_MEDIA_TYPE.parse().map_err(|_| ImageError::Registry {
            registry: self.registry.clone(),
            what: "the manifest".into(),
            detail: "bad media type".into(),
        })?;
        self.client
            .push_manifest_raw(&target.to_oci(), image.manifest.clone(), content_type)
            .await
            .map_err(|e| self.error("the manifest", e))?;
        Ok(report)
    }

    async fn upload(&self, target: &ImageRef, digest: &str, data: Vec<u8>) -> Result<()> {
        self.client
            .push_blob(&target.to_oci(), data, digest)
            .await
            .map(|_| ())
            .map_err(|e| self.error(&format!("the upload of blob {digest}"), e))
    }

    /// A base layer missing from the target: mount it when the base lives in the same registry,
    /// else fetch it from the base's registry and upload it. Returns true when it was mounted.
    async fn copy_base_layer(&self, image: &OciImage, target: &ImageRef, layer: &Descriptor) -> Result<bool> {
        let Some(base) = &image.base else {
            return Err(ImageError::Registry {
                registry: self.registry.clone(),
                what: format!("blob {}", layer.digest),
                detail: "the image has a layer with no data and no base image to take it from".into(),
            });
        };
        if base.reference.registry == target.registry
            && self.client.mount_blob(&target.to_oci(), &base.reference.to_oci(), &layer.digest).await.is_ok()
        {
            return Ok(true);
        }
        let source = Registry::new(&base.reference.registry, RegistryAuth::Anonymous);
        source.login(&base.reference, RegistryOperation::Pull).await?;
        let mut data = Vec::with_capacity(usize::try_from(layer.size).unwrap_or(0));
        let oci_layer = oci_client::manifest::OciDescriptor {
            media_type: layer.media_type.clone(),
            digest: layer.digest.clone(),
            size: i64::try_from(layer.size).unwrap_or(i64::MAX),
            ..Default::default()
        };
        source.client.pull_blob(&base.reference.to_oci(), &oci_layer, &mut data).await.map_err(|e| {
            ImageError::BaseImage {
                reference: base.reference.to_string(),
                detail: format!("fetching layer {}: {}", layer.digest, runtime::exit::error_chain(&e)),
            }
        })?;
        self.upload(target, &layer.digest, data).await?;
        Ok(false)
    }

    /// The repository's tags; none when the registry does not know the repository.
    pub async fn tags(&self, image: &ImageRef) -> Result<Vec<String>> {
        match self.client.list_tags(&image.to_oci(), &self.auth, None, None).await {
            Ok(response) => Ok(response.tags),
            Err(OciDistributionError::RegistryError { envelope, .. })
                if envelope.errors.iter().any(|e| e.code == oci_client::errors::OciErrorCode::NameUnknown) =>
            {
                Ok(Vec::new())
            }
            Err(err) if err.to_string().contains("NAME_UNKNOWN") || err.to_string().contains("404") => Ok(Vec::new()),
            Err(err) => Err(self.error(&format!("listing the tags of {image}"), err)),
        }
    }

    /// The digest of the manifest `image` (with its tag) names.
    pub async fn manifest_digest(&self, image: &ImageRef) -> Result<String> {
        self.client
            .fetch_manifest_digest(&image.to_oci(), &self.auth)
            .await
            .map_err(|e| self.error(&format!("reading the digest of {image}"), e))
    }

    /// Reads an image's manifest and config (a base image, or an image read back after a push).
    pub async fn manifest_and_config(
        &self,
        image: &ImageRef,
    ) -> Result<(oci_client::manifest::OciImageManifest, String, String)> {
        self.client
            .pull_manifest_and_config(&image.to_oci(), &self.auth)
            .await
            .map_err(|e| self.error(&format!("reading {image}"), e))
    }
}

/// Reads a base image from its registry (anonymous access) for the OCI builder.
pub async fn fetch_base(reference: &ImageRef) -> Result<super::oci::BaseImage> {
    let registry = Registry::new(&reference.registry, RegistryAuth::Anonymous);
    let (manifest, _digest, config) = registry
        .manifest_and_config(reference)
        .await
        .map_err(|e| ImageError::BaseImage { reference: reference.to_string(), detail: e.to_string() })?;
    let config = serde_json::from_str(&config).map_err(|e| ImageError::BaseImage {
        reference: reference.to_string(),
        detail: format!("its config is not JSON: {e}"),
    })?;
    let layers = manifest
        .layers
        .iter()
        .map(|l| Descriptor {
            media_type: l.media_type.clone(),
            digest: l.digest.clone(),
            size: u64::try_from(l.size).unwrap_or(0),
        })
        .collect();
    Ok(super::oci::BaseImage { reference: reference.clone(), layers, config })
}

fn classify(registry: &str, what: &str, err: OciDistributionError) -> ImageError {
    let detail = runtime::exit::error_chain(&err);
    match &err {
        OciDistributionError::RequestError(e) if e.is_connect() || e.is_timeout() => {
            ImageError::RegistryUnreachable { registry: registry.to_owned(), detail }
        }
        // Cut mid-request (the registry died, the network went): no answer at all, unlike a refusal.
        OciDistributionError::RequestError(e) if e.status().is_none() && (e.is_request() || e.is_body()) => {
            ImageError::ConnectionLost { registry: registry.to_owned(), what: what.to_owned(), detail }
        }
        OciDistributionError::RequestError(e) if e.status().is_some_and(|s| s.as_u16() == 401 || s.as_u16() == 403) => {
            ImageError::AuthRefused { registry: registry.to_owned(), detail }
        }
        OciDistributionError::AuthenticationFailure(_) | OciDistributionError::UnauthorizedError { .. } => {
            ImageError::AuthRefused { registry: registry.to_owned(), detail }
        }
        _ => ImageError::Registry { registry: registry.to_owned(), what: what.to_owned(), detail },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    /// A registry that refuses every request with 401, as one does for wrong credentials.
    async fn refusing_registry() -> String {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let address = listener.local_addr().unwrap().to_string();
        tokio::spawn(async move {
            while let Ok((mut stream, _)) = listener.accept().await {
                tokio::spawn(async move {
                    let mut buf = [0u8; 4096];
                    let _ = stream.read(&mut buf).await;
                    let reply = "HTTP/1.1 401 Unauthorized\r\nwww-authenticate: Basic realm=\"test\"\r\n\
                                 content-type: application/json\r\ncontent-length: 2\r\nconnection: close\r\n\r\n{}";
                    let _ = stream.write_all(reply.as_bytes()).await;
                });
            }
        });
        address
    }

    #[tokio::test]
    async fn refused_credentials_are_reported_as_such() {
        let registry = refusing_registry().await;
        let client = Registry::new(&registry, RegistryAuth::Basic("AWS".into(), "wrong".into()));
        let image = ImageRef::new(&registry, "servicefull").unwrap().with_tag("t");
        let err = client.blob_exists(&image, "sha256:00").await.unwrap_err();
        assert!(matches!(err, ImageError::AuthRefused { .. }), "{err:?}");
        let text = err.to_string();
        assert!(text.contains(&registry) && text.contains("refused our credentials"), "{text}");
        assert!(!text.contains("wrong"), "the password leaked into the message: {text}");
    }

    #[tokio::test]
    async fn a_registry_that_does_not_answer_is_named() {
        let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let registry = format!("127.0.0.1:{port}");
        let client = Registry::new(&registry, RegistryAuth::Anonymous);
        let image = ImageRef::new(&registry, "servicefull").unwrap().with_tag("t");
        let err = client.login(&image, RegistryOperation::Push).await.unwrap_err();
        assert!(matches!(err, ImageError::RegistryUnreachable { .. }), "{err:?}");
        assert!(err.to_string().contains(&registry), "{err}");
    }
}
