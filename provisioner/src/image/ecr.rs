//! ECR: the repository the image goes to (created when missing, with scan on push and a lifecycle
//! policy, so Sparta's "the repository must exist beforehand" is gone), and the short-lived
//! registry credentials from GetAuthorizationToken. The token is never printed or logged: its
//! Debug output is redacted.

use std::fmt;

use aws_sdk_ecr::types::{ImageScanningConfiguration, ImageTagMutability};
use base64::Engine;

use super::reference::ImageRef;
use super::{ImageError, Result};

/// The repository, as ECR names it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EcrRepository {
    pub name: String,
    pub arn: String,
    /// `ACCOUNT.dkr.ecr.REGION.amazonaws.com/NAME`.
    pub uri: String,
    /// True when this call created it.
    pub created: bool,
}

impl EcrRepository {
    pub fn image_ref(&self) -> Result<ImageRef> {
        ImageRef::parse(&self.uri)
    }
}

/// Creates the repository if it is missing and (re)applies the lifecycle policy.
pub async fn ensure_repository(
    client: &aws_sdk_ecr::Client,
    name: &str,
    lifecycle_policy: &str,
) -> Result<EcrRepository> {
    model::template::names::check_repository_name(name)?;
    let created = client
        .create_repository()
        .repository_name(name)
        .image_scanning_configuration(ImageScanningConfiguration::builder().scan_on_push(true).build())
        .image_tag_mutability(ImageTagMutability::Mutable)
        .send()
        .await;
    let (repository, was_created) = match created {
        Ok(out) => (out.repository, true),
        Err(err) if err.as_service_error().is_some_and(|e| e.is_repository_already_exists_exception()) => {
            let out = client
                .describe_repositories()
                .repository_names(name)
                .send()
                .await
                .map_err(|e| ecr_error("DescribeRepositories", &e))?;
            (out.repositories.and_then(|r| r.into_iter().next()), false)
        }
        Err(err) => return Err(ecr_error("CreateRepository", &err)),
    };
    let repository = repository
        .ok_or_else(|| ImageError::Ecr { detail: format!("CreateRepository returned no repository named {name}") })?;
    client
        .put_lifecycle_policy()
        .repository_name(name)
        .lifecycle_policy_text(lifecycle_policy)
        .send()
        .await
        .map_err(|e| ecr_error("PutLifecyclePolicy", &e))?;
    Ok(EcrRepository {
        name: name.to_owned(),
        arn: repository.repository_arn.unwrap_or_default(),
        uri: repository.repository_uri.unwrap_or_default(),
        created: was_created,
    })
}

/// The repository's lifecycle policy: the one the stack's decorators define.
pub fn lifecycle_policy() -> String {
    crate::decorators::ecr::lifecycle_policy_json(crate::decorators::ecr::KEEP_IMAGES)
}

/// Registry credentials from GetAuthorizationToken.
#[derive(Clone)]
pub struct EcrCredentials {
    pub registry: String,
    pub username: String,
    password: String,
}

impl fmt::Debug for EcrCredentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("EcrCredentials")
            .field("registry", &self.registry)
            .field("username", &self.username)
            .field("password", &"<redacted>")
            .finish()
    }
}

impl EcrCredentials {
    pub fn registry_auth(&self) -> oci_client::secrets::RegistryAuth {
        oci_client::secrets::RegistryAuth::Basic(self.username.clone(), self.password.clone())
    }

    pub fn docker_credentials(&self) -> bollard::auth::DockerCredentials {
        bollard::auth::DockerCredentials {
            username: Some(self.username.clone()),
            password: Some(self.password.clone()),
            serveraddress: Some(self.registry.clone()),
            ..Default::default()
        }
    }

    /// Decodes ECR's `base64(user:password)` token.
    pub fn from_token(registry: &str, token: &str) -> Result<Self> {
        let bad = |detail: &str| ImageError::Ecr { detail: format!("GetAuthorizationToken: {detail}") };
        let decoded = base64::engine::general_purpose::STANDARD
            .decode(token.trim())
            .map_err(|_| bad("the authorization token is not base64"))?;
        let decoded = String::from_utf8(decoded).map_err(|_| bad("the authorization token is not text"))?;
        let (username, password) =
            decoded.split_once(':').ok_or_else(|| bad("the authorization token is not user:password"))?;
        Ok(Self { registry: registry.to_owned(), username: username.to_owned(), password: password.to_owned() })
    }
}

pub async fn credentials(client: &aws_sdk_ecr::Client, registry: &str) -> Result<EcrCredentials> {
    let out = client.get_authorization_token().send().await.map_err(|e| ecr_error("GetAuthorizationToken", &e))?;
    let data = out
        .authorization_data
        .and_then(|d| d.into_iter().next())
        .ok_or_else(|| ImageError::Ecr { detail: "GetAuthorizationToken returned no authorization data".to_owned() })?;
    let token = data
        .authorization_token
        .ok_or_else(|| ImageError::Ecr { detail: "GetAuthorizationToken returned no token".to_owned() })?;
    EcrCredentials::from_token(registry, &token)
}

fn ecr_error<E, R>(operation: &'static str, err: &aws_sdk_ecr::error::SdkError<E, R>) -> ImageError
where
    E: std::error::Error + 'static,
    R: std::fmt::Debug + 'static,
{
    ImageError::Ecr { detail: crate::aws::explain(operation, err) }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_token_is_decoded_and_never_shown() {
        let token = base64::engine::general_purpose::STANDARD.encode("AWS:s3cr3t-password");
        let creds = EcrCredentials::from_token("1.dkr.ecr.us-east-1.amazonaws.com", &token).unwrap();
        assert_eq!(creds.username, "AWS");
        let shown = format!("{creds:?}");
        assert!(!shown.contains("s3cr3t"), "{shown}");
        assert!(shown.contains("<redacted>"), "{shown}");
    }

    #[test]
    fn a_garbled_token_is_a_clear_error_without_the_token() {
        let err = EcrCredentials::from_token("r", "not base64 at all!").unwrap_err().to_string();
        assert!(err.contains("GetAuthorizationToken") && err.contains("not base64"), "{err}");
        assert!(!err.contains("not base64 at all!"), "{err}");
    }
}
