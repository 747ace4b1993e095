//! Where a command acts: the account, region and endpoint the standard AWS configuration points at
//! (read once, checked with STS before any work), and where images go (a named registry, the local
//! cloud's registry when its env file is sourced, or ECR). Printed first by every command that
//! changes something, so nobody deploys to the wrong place.

use std::fmt;

use aws_config::SdkConfig;

use crate::aws::explain;

/// The variable `.localcloud/env` sets to the local cloud's registry (host:port).
pub const LOCAL_REGISTRY_ENV: &str = "LOCALCLOUD_REGISTRY";

#[derive(Debug, Clone)]
pub struct Caller {
    pub config: SdkConfig,
    pub account: String,
    pub region: String,
    /// The endpoint from `AWS_ENDPOINT_URL` (LocalStack, the local cloud), None for AWS itself.
    pub endpoint: Option<String>,
}

#[derive(Debug, thiserror::Error)]
pub enum CallerError {
    #[error(
        "no AWS region: set AWS_REGION (or AWS_DEFAULT_REGION), or use a profile that has one; for the local cloud, \
         `. .localcloud/env` sets it"
    )]
    NoRegion,
    #[error(
        "{0:?} is not an AWS region: region names look like us-east-1, eu-west-2 or ap-southeast-4 (`aws ec2 \
         describe-regions` lists them); set AWS_REGION (or AWS_DEFAULT_REGION, or your profile's region) to one"
    )]
    NotARegion(String),
    #[error("{0}")]
    Sts(String),
}

/// Whether `region` has the shape of an AWS region name (`us-east-1`, `us-gov-west-1`,
/// `cn-northwest-1`, `eu-isoe-west-1`): two letters, one or more lowercase words, a number. Only
/// the shape: a new region works the day it opens, and LocalStack and moto take any such name.
pub fn check_region(region: &str) -> Result<(), CallerError> {
    let parts: Vec<&str> = region.split('-').collect();
    let shaped = parts.len() >= 3
        && parts[0].len() == 2
        && parts[0].bytes().all(|b| b.is_ascii_lowercase())
        && parts[1..parts.len() - 1].iter().all(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_lowercase()))
        && parts.last().is_some_and(|n| (1..=2).contains(&n.len()) && n.bytes().all(|b| b.is_ascii_digit()));
    if shaped { Ok(()) } else { Err(CallerError::NotARegion(region.to_owned())) }
}

impl Caller {
    /// Loads the standard configuration and asks STS who we are: no credentials, an endpoint that
    /// does not answer or a region that does not exist fail here, before anything is built.
    pub async fn load() -> Result<Caller, CallerError> {
        let config = aws_config::load_from_env().await;
        Self::from_config(config).await
    }

    pub async fn from_config(config: SdkConfig) -> Result<Caller, CallerError> {
        let region = config.region().map(|r| r.to_string()).ok_or(CallerError::NoRegion)?;
        check_region(&region)?;
        let endpoint = config.endpoint_url().map(str::to_owned);
        let sts = aws_sdk_sts::Client::new(&config);
        let identity = sts
            .get_caller_identity()
            .send()
            .await
            .map_err(|e| CallerError::Sts(explain(&format!("GetCallerIdentity in region {region}"), &e)))?;
        let account = identity.account.unwrap_or_else(|| "(unknown account)".to_owned());
        Ok(Caller { config, account, region, endpoint })
    }
}

impl fmt::Display for Caller {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "account {}, region {}", self.account, self.region)?;
        match &self.endpoint {
            Some(endpoint) => write!(f, ", endpoint {endpoint}"),
            None => write!(f, " (AWS)"),
        }
    }
}

/// Where images go when no `--registry` is given: the local cloud's registry when its env file
/// is sourced (`LOCALCLOUD_REGISTRY`), else None (ECR in the caller's account).
pub fn default_registry(lookup: impl Fn(&str) -> Option<String>) -> Option<String> {
    lookup(LOCAL_REGISTRY_ENV).map(|v| v.trim().to_owned()).filter(|v| !v.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn region_names_are_checked_for_their_shape_only() {
        for region in ["us-east-1", "eu-west-2", "ap-southeast-4", "us-gov-west-1", "cn-northwest-1", "eu-isoe-west-1"]
        {
            assert!(check_region(region).is_ok(), "{region}");
        }
        for region in ["mars-1", "us-east", "US-EAST-1", "useast1", "us-east-1a", "", "us--1"] {
            let err = check_region(region).unwrap_err().to_string();
            assert!(err.contains(&format!("{region:?} is not an AWS region")) && err.contains("AWS_REGION"), "{err}");
        }
    }

    #[test]
    fn the_local_cloud_registry_is_used_only_when_set() {
        assert_eq!(default_registry(|_| None), None);
        assert_eq!(default_registry(|_| Some("  ".into())), None);
        assert_eq!(default_registry(|_| Some("127.0.0.1:5055".into())).as_deref(), Some("127.0.0.1:5055"));
    }
}
