//! AWS naming rules checked before deploying: a CloudFormation stack name and an ECR repository
//! name. A service's name becomes both, so it must satisfy both.

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NameError {
    #[error(
        "{value:?} is not a valid CloudFormation stack name: {reason}. A stack name starts with a letter and holds only letters, digits and hyphens, at most 128 characters"
    )]
    StackName { value: String, reason: String },
    #[error(
        "{value:?} is not a valid ECR repository name: {reason}. A repository name is 2 to 256 characters of lowercase letters, digits and . _ - /, with a letter or digit on each side of every separator"
    )]
    RepositoryName { value: String, reason: String },
}

/// Stack names: `[A-Za-z][A-Za-z0-9-]*`, at most 128 characters.
pub fn check_stack_name(value: &str) -> Result<(), NameError> {
    let fail = |reason: String| Err(NameError::StackName { value: value.to_owned(), reason });
    let Some(first) = value.chars().next() else { return fail("it is empty".into()) };
    if value.len() > 128 {
        return fail(format!("it is {} characters long", value.len()));
    }
    if !first.is_ascii_alphabetic() {
        return fail(format!("it starts with {first:?}"));
    }
    if let Some(c) = value.chars().find(|c| !(c.is_ascii_alphanumeric() || *c == '-')) {
        return fail(format!("it contains {c:?}"));
    }
    Ok(())
}

/// Repository names: 2 to 256 characters matching
/// `(?:[a-z0-9]+(?:[._-][a-z0-9]+)*/)*[a-z0-9]+(?:[._-][a-z0-9]+)*`.
pub fn check_repository_name(value: &str) -> Result<(), NameError> {
    let fail = |reason: String| Err(NameError::RepositoryName { value: value.to_owned(), reason });
    if value.len() < 2 || value.len() > 256 {
        return fail(format!("it is {} characters long", value.len()));
    }
    if let Some(c) = value.chars().find(|c| c.is_ascii_uppercase()) {
        return fail(format!("it contains the uppercase letter {c:?}"));
    }
    if let Some(c) = value.chars().find(|c| !(c.is_ascii_lowercase() || c.is_ascii_digit() || "._-/".contains(*c))) {
        return fail(format!("it contains {c:?}"));
    }
    for component in value.split('/') {
        let parts = component.split(['.', '_', '-']);
        // Every piece between separators must be non-empty: no leading, trailing or doubled separator.
        if component.is_empty() || parts.clone().any(str::is_empty) {
            return fail(format!("the part {component:?} begins or ends with a separator or has two in a row"));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stack_names() {
        for ok in ["servicefull", "My-Stack-2", "a"] {
            check_stack_name(ok).unwrap();
        }
        for (bad, needle) in [("", "empty"), ("1abc", "starts with '1'"), ("a_b", "'_'"), ("a.b", "'.'")] {
            let err = check_stack_name(bad).unwrap_err().to_string();
            assert!(err.contains(needle) && err.contains(&format!("{bad:?}")), "{err}");
        }
        assert!(check_stack_name(&"a".repeat(129)).is_err());
        assert!(check_stack_name(&"a".repeat(128)).is_ok());
    }

    #[test]
    fn repository_names() {
        for ok in ["servicefull", "team/service-a", "a.b_c-d", "ab"] {
            check_repository_name(ok).unwrap();
        }
        for (bad, needle) in [
            ("a", "1 characters"),
            ("Service", "uppercase"),
            ("a b", "' '"),
            ("-ab", "separator"),
            ("ab-", "separator"),
            ("a//b", "separator"),
            ("a..b", "separator"),
        ] {
            let err = check_repository_name(bad).unwrap_err().to_string();
            assert!(err.contains(needle) && err.contains(&format!("{bad:?}")), "{bad}: {err}");
        }
        assert!(check_repository_name(&"a".repeat(257)).is_err());
    }
}
