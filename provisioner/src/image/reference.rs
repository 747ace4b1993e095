//! Image references (`registry/repository:tag` or `@sha256:...`), with the checks ECR and the
//! distribution spec make, done before any network call so a bad name fails at once.

use std::fmt;
use std::net::IpAddr;

use super::{ImageError, Result};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImageRef {
    pub registry: String,
    pub repository: String,
    pub tag: Option<String>,
    pub digest: Option<String>,
}

impl ImageRef {
    pub fn new(registry: &str, repository: &str) -> Result<Self> {
        validate_registry(registry)?;
        // ECR's rule (also the distribution spec's), the one the service description checks too.
        model::template::names::check_repository_name(repository)?;
        Ok(Self { registry: registry.to_owned(), repository: repository.to_owned(), tag: None, digest: None })
    }

    /// Parses `host[:port]/repo[:tag][@sha256:hex]`; the registry part is required.
    pub fn parse(text: &str) -> Result<Self> {
        let (rest, digest) = match text.split_once('@') {
            Some((rest, digest)) => (rest, Some(digest.to_owned())),
            None => (text, None),
        };
        let (registry, path) = rest.split_once('/').ok_or_else(|| ImageError::InvalidRegistry {
            registry: text.to_owned(),
            rule: "an image reference needs a registry host, e.g. 127.0.0.1:5000/name:tag".to_owned(),
        })?;
        let (repository, tag) = match path.rsplit_once(':') {
            Some((repo, tag)) if !tag.contains('/') => (repo, Some(tag.to_owned())),
            _ => (path, None),
        };
        let mut image = Self::new(registry, repository)?;
        image.tag = tag;
        image.digest = digest;
        Ok(image)
    }

    pub fn with_tag(&self, tag: &str) -> Self {
        Self { tag: Some(tag.to_owned()), digest: None, ..self.clone() }
    }

    pub fn with_digest(&self, digest: &str) -> Self {
        Self { tag: None, digest: Some(digest.to_owned()), ..self.clone() }
    }

    /// `registry/repository`, without tag or digest.
    pub fn name(&self) -> String {
        format!("{}/{}", self.registry, self.repository)
    }

    pub fn to_oci(&self) -> oci_client::Reference {
        match (&self.digest, &self.tag) {
            (Some(digest), _) => {
                oci_client::Reference::with_digest(self.registry.clone(), self.repository.clone(), digest.clone())
            }
            (None, Some(tag)) => {
                oci_client::Reference::with_tag(self.registry.clone(), self.repository.clone(), tag.clone())
            }
            (None, None) => {
                oci_client::Reference::with_tag(self.registry.clone(), self.repository.clone(), "latest".into())
            }
        }
    }
}

impl fmt::Display for ImageRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.name())?;
        if let Some(tag) = &self.tag {
            write!(f, ":{tag}")?;
        }
        if let Some(digest) = &self.digest {
            write!(f, "@{digest}")?;
        }
        Ok(())
    }
}

/// True for a registry on this machine, the only place plain HTTP is allowed.
pub fn is_loopback_registry(registry: &str) -> bool {
    let host = host_of(registry);
    host.eq_ignore_ascii_case("localhost") || host.parse::<IpAddr>().is_ok_and(|ip| ip.is_loopback())
}

fn host_of(registry: &str) -> &str {
    if let Some(rest) = registry.strip_prefix('[') {
        return rest.split(']').next().unwrap_or(rest);
    }
    registry.rsplit_once(':').map_or(registry, |(host, _)| host)
}

/// `host[:port]`: no scheme, no path.
pub fn validate_registry(registry: &str) -> Result<()> {
    let fail = |rule: &str| Err(ImageError::InvalidRegistry { registry: registry.to_owned(), rule: rule.to_owned() });
    if registry.is_empty() {
        return fail("it is empty; give HOST:PORT, e.g. 127.0.0.1:5000");
    }
    if registry.contains("://") {
        return fail("give HOST:PORT without a scheme, e.g. 127.0.0.1:5000 (plain HTTP is used for loopback only)");
    }
    if registry.contains('/') || registry.chars().any(char::is_whitespace) {
        return fail("give HOST:PORT only, without a path or spaces");
    }
    if let Some((_, port)) = registry.rsplit_once(':')
        && !registry.ends_with(']')
        && port.parse::<u16>().is_err()
    {
        return fail("the port must be a number from 1 to 65535");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_tags_digests_and_ports() {
        let r = ImageRef::parse("127.0.0.1:5000/team/app:v1").unwrap();
        assert_eq!(
            (r.registry.as_str(), r.repository.as_str(), r.tag.as_deref()),
            ("127.0.0.1:5000", "team/app", Some("v1"))
        );
        let r = ImageRef::parse("localhost:5000/app@sha256:abc").unwrap();
        assert_eq!(r.digest.as_deref(), Some("sha256:abc"));
        assert_eq!(r.tag, None);
        assert_eq!(r.to_string(), "localhost:5000/app@sha256:abc");
        let r = ImageRef::parse("123456789012.dkr.ecr.us-east-1.amazonaws.com/app").unwrap();
        assert_eq!(r.tag, None);
    }

    #[test]
    fn only_loopback_registries_count_as_loopback() {
        for loopback in ["127.0.0.1:5000", "localhost:5000", "127.1.2.3", "[::1]:5000"] {
            assert!(is_loopback_registry(loopback), "{loopback}");
        }
        for remote in ["123456789012.dkr.ecr.us-east-1.amazonaws.com", "10.0.0.1:5000", "registry.example.com:443"] {
            assert!(!is_loopback_registry(remote), "{remote}");
        }
    }

    #[test]
    fn bad_repository_names_are_refused_with_the_rule() {
        for (name, needle) in [
            ("A", "it is 1 characters long"),
            ("MyService", "uppercase letter 'M'"),
            ("my service", "contains ' '"),
            ("-app", "begins or ends with a separator"),
            ("app--x", "has two in a row"),
            ("team//app", "begins or ends with a separator"),
        ] {
            let err = ImageRef::new("127.0.0.1:5000", name).unwrap_err();
            assert!(matches!(err, ImageError::RepositoryName(_)), "{name}: {err:?}");
            let err = err.to_string();
            assert!(err.contains(&format!("{name:?}")) && err.contains(needle), "{name}: {err}");
        }
        for good in ["servicefull", "team/app-1", "a.b_c"] {
            ImageRef::new("127.0.0.1:5000", good).unwrap();
        }
    }

    #[test]
    fn bad_registries_are_refused_with_the_fix() {
        for (registry, needle) in [
            ("http://127.0.0.1:5000", "without a scheme"),
            ("127.0.0.1:port", "port must be a number"),
            ("host/path", "without a path"),
            ("", "empty"),
        ] {
            let err = validate_registry(registry).unwrap_err().to_string();
            assert!(err.contains(needle), "{registry}: {err}");
        }
    }
}
