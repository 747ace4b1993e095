//! Stack statuses as a deploy tool reads them: which are final, which mean success, which mean a
//! later provision must first delete (a first create that rolled back), and which mean another
//! operation is under way.

/// What a stack's status means for the next step.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Phase {
    /// An operation is under way (`*_IN_PROGRESS`, except a stack waiting for its first change set).
    InProgress,
    /// Ended well (`CREATE_COMPLETE`, `UPDATE_COMPLETE`, `IMPORT_COMPLETE`, `DELETE_COMPLETE`).
    Succeeded,
    /// Ended in failure, but the stack is usable: an update rolled back.
    RolledBack,
    /// A first create that failed: the stack holds nothing and can only be deleted.
    CreateRolledBack,
    /// Ended in a failure that needs a person (`*_FAILED`).
    Failed,
    /// Created by a CREATE change set that was never executed: as good as no stack.
    InReview,
}

pub fn phase(status: &str) -> Phase {
    match status {
        "REVIEW_IN_PROGRESS" => Phase::InReview,
        "ROLLBACK_COMPLETE" => Phase::CreateRolledBack,
        "UPDATE_ROLLBACK_COMPLETE" | "IMPORT_ROLLBACK_COMPLETE" => Phase::RolledBack,
        s if s.ends_with("_IN_PROGRESS") => Phase::InProgress,
        s if s.ends_with("_FAILED") => Phase::Failed,
        _ => Phase::Succeeded,
    }
}

/// True once the stack no longer changes by itself.
pub fn is_final(status: &str) -> bool {
    phase(status) != Phase::InProgress
}

/// A resource event's status that caused a failure, as opposed to the cancellations that follow
/// one ("Resource creation cancelled") and the rollback's own progress.
pub fn is_root_cause(status: &str, reason: &str) -> bool {
    status.ends_with("_FAILED") && !reason.to_ascii_lowercase().contains("cancelled")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses_are_classified_as_cloudformation_documents_them() {
        assert_eq!(phase("CREATE_IN_PROGRESS"), Phase::InProgress);
        assert_eq!(phase("UPDATE_COMPLETE_CLEANUP_IN_PROGRESS"), Phase::InProgress);
        assert_eq!(phase("UPDATE_ROLLBACK_COMPLETE_CLEANUP_IN_PROGRESS"), Phase::InProgress);
        assert_eq!(phase("CREATE_COMPLETE"), Phase::Succeeded);
        assert_eq!(phase("UPDATE_COMPLETE"), Phase::Succeeded);
        assert_eq!(phase("DELETE_COMPLETE"), Phase::Succeeded);
        assert_eq!(phase("ROLLBACK_COMPLETE"), Phase::CreateRolledBack);
        assert_eq!(phase("UPDATE_ROLLBACK_COMPLETE"), Phase::RolledBack);
        assert_eq!(phase("ROLLBACK_FAILED"), Phase::Failed);
        assert_eq!(phase("DELETE_FAILED"), Phase::Failed);
        assert_eq!(phase("REVIEW_IN_PROGRESS"), Phase::InReview);
        assert!(is_final("REVIEW_IN_PROGRESS"));
        assert!(!is_final("DELETE_IN_PROGRESS"));
    }

    #[test]
    fn cancellations_are_not_root_causes() {
        assert!(is_root_cause("CREATE_FAILED", "Resource type AWS::Foo::Bar is not supported"));
        assert!(!is_root_cause("CREATE_FAILED", "Resource creation cancelled"));
        assert!(!is_root_cause("UPDATE_FAILED", "Resource update cancelled"));
        assert!(!is_root_cause("DELETE_COMPLETE", ""));
    }
}
