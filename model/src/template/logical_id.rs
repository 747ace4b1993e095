//! Logical IDs: the names a template gives its parameters, resources, conditions and outputs.
//! CloudFormation accepts only ASCII letters and digits, at most 255 of them, and rejects the whole
//! template otherwise, so an ID is checked once when it is made and is valid everywhere after.

use std::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use super::TemplateError;

/// The longest logical ID CloudFormation accepts.
pub const MAX_LOGICAL_ID_LEN: usize = 255;

#[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct LogicalId(String);

impl LogicalId {
    /// A logical ID, or an error naming the value and what is wrong with it.
    pub fn new(id: impl Into<String>) -> Result<Self, TemplateError> {
        let id = id.into();
        let reason = if id.is_empty() {
            Some("it is empty".to_owned())
        } else if id.len() > MAX_LOGICAL_ID_LEN {
            Some(format!("it is {} characters long, the limit is {MAX_LOGICAL_ID_LEN}", id.len()))
        } else {
            id.chars()
                .find(|c| !c.is_ascii_alphanumeric())
                .map(|c| format!("it contains {c:?}; only ASCII letters and digits are allowed"))
        };
        match reason {
            Some(reason) => Err(TemplateError::InvalidLogicalId { id, reason }),
            None => Ok(Self(id)),
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

// Debug shows the ID as a quoted string, so error messages read `"Queue"`, not a struct.
impl fmt::Debug for LogicalId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&self.0, f)
    }
}

impl fmt::Display for LogicalId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl AsRef<str> for LogicalId {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

impl TryFrom<&str> for LogicalId {
    type Error = TemplateError;
    fn try_from(id: &str) -> Result<Self, Self::Error> {
        Self::new(id)
    }
}

impl Serialize for LogicalId {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.0)
    }
}

impl<'de> Deserialize<'de> for LogicalId {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let raw = String::deserialize(deserializer)?;
        LogicalId::new(raw).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn letters_and_digits_are_accepted() {
        assert_eq!(LogicalId::new("Vpc1").unwrap().as_str(), "Vpc1");
        assert!(LogicalId::new("a".repeat(255)).is_ok());
    }

    #[test]
    fn invalid_ids_are_named_with_the_reason() {
        for (id, needle) in [("", "empty"), ("my-vpc", "'-'"), ("Vpc_1", "'_'"), ("Vpcé", "'é'")] {
            let err = LogicalId::new(id).unwrap_err().to_string();
            assert!(err.contains(needle), "{id}: {err}");
            assert!(err.contains(&format!("{id:?}")), "{id}: {err}");
        }
        let long = "A".repeat(256);
        let err = LogicalId::new(long).unwrap_err().to_string();
        assert!(err.contains("256 characters") && err.contains("255"), "{err}");
    }

    #[test]
    fn deserialising_validates() {
        let err = serde_json::from_str::<LogicalId>("\"bad id\"").unwrap_err().to_string();
        assert!(err.contains("bad id"), "{err}");
    }
}
