//! The errors a state can raise while it runs, named as the States Language names them
//! (`States.Runtime`, `States.Timeout`, or whatever a task reported), and the rules on which of
//! them Retry and Catch may match.

use std::fmt;

/// The error names the States Language reserves (appendix A of the specification), plus those
/// AWS adds.
pub mod names {
    pub const ALL: &str = "States.ALL";
    pub const TASK_FAILED: &str = "States.TaskFailed";
    pub const TIMEOUT: &str = "States.Timeout";
    pub const HEARTBEAT_TIMEOUT: &str = "States.HeartbeatTimeout";
    pub const PERMISSIONS: &str = "States.Permissions";
    pub const RUNTIME: &str = "States.Runtime";
    pub const DATA_LIMIT_EXCEEDED: &str = "States.DataLimitExceeded";
    pub const BRANCH_FAILED: &str = "States.BranchFailed";
    pub const NO_CHOICE_MATCHED: &str = "States.NoChoiceMatched";
    pub const RESULT_PATH_MATCH_FAILURE: &str = "States.ResultPathMatchFailure";
    pub const PARAMETER_PATH_FAILURE: &str = "States.ParameterPathFailure";
    pub const INTRINSIC_FAILURE: &str = "States.IntrinsicFailure";
    pub const ITEM_READER_FAILED: &str = "States.ItemReaderFailed";
    pub const EXCEED_TOLERATED_FAILURE_THRESHOLD: &str = "States.ExceedToleratedFailureThreshold";
    /// A JSONata expression failed, or gave a value JSON cannot hold.
    pub const QUERY_EVALUATION_ERROR: &str = "States.QueryEvaluationError";
}

/// An error raised in a state: its name (`Error`) and a human-readable `Cause`, the pair a
/// Catcher puts into the state's output as `{"Error": ..., "Cause": ...}`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StatesError {
    pub error: String,
    pub cause: String,
    /// For a JSONata evaluation that failed: the field it failed in (`Arguments`, `Output`,
    /// `Choices[0].Condition`...), until the state records its EvaluationFailed event.
    pub location: Option<String>,
}

impl StatesError {
    pub fn new(error: impl Into<String>, cause: impl Into<String>) -> Self {
        Self { error: error.into(), cause: cause.into(), location: None }
    }

    /// A `States.QueryEvaluationError` in the field `location`.
    pub fn evaluation(location: impl Into<String>, cause: impl Into<String>) -> Self {
        Self { location: Some(location.into()), ..Self::new(names::QUERY_EVALUATION_ERROR, cause) }
    }

    /// `States.Runtime`: a definition that cannot be carried out on this input (a path that
    /// matches nothing, an intrinsic function given the wrong arguments...). Never retried or
    /// caught, on AWS as here.
    pub fn runtime(cause: impl Into<String>) -> Self {
        Self::new(names::RUNTIME, cause)
    }

    /// Whether a Retrier or Catcher whose `ErrorEquals` is `error_equals` handles this error.
    ///
    /// `States.Runtime` is terminal: nothing matches it. `States.ALL` matches every other error
    /// except `States.DataLimitExceeded`, which only its own name matches. `States.TaskFailed`
    /// matches every error except `States.Timeout` (AWS's documented wildcard behaviour).
    pub fn is_matched_by(&self, error_equals: &[String]) -> bool {
        if self.error == names::RUNTIME {
            return false;
        }
        error_equals.iter().any(|name| {
            name == &self.error
                || (name == names::ALL && self.error != names::DATA_LIMIT_EXCEEDED)
                || (name == names::TASK_FAILED
                    && self.error != names::TIMEOUT
                    && self.error != names::DATA_LIMIT_EXCEEDED)
        })
    }

    /// The error output a Catcher hands on: `{"Error": ..., "Cause": ...}`.
    pub fn to_output(&self) -> serde_json::Value {
        serde_json::json!({"Error": self.error, "Cause": self.cause})
    }
}

impl fmt::Display for StatesError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.error, self.cause)
    }
}

impl std::error::Error for StatesError {}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(list: &[&str]) -> Vec<String> {
        list.iter().map(|s| (*s).to_owned()).collect()
    }

    #[test]
    fn runtime_errors_are_never_matched() {
        let error = StatesError::runtime("bad path");
        assert!(!error.is_matched_by(&names(&["States.ALL"])));
        assert!(!error.is_matched_by(&names(&["States.Runtime"])));
    }

    #[test]
    fn data_limit_is_matched_only_by_its_own_name() {
        let error = StatesError::new(names::DATA_LIMIT_EXCEEDED, "too big");
        assert!(!error.is_matched_by(&names(&["States.ALL"])));
        assert!(!error.is_matched_by(&names(&["States.TaskFailed"])));
        assert!(error.is_matched_by(&names(&["States.DataLimitExceeded"])));
    }

    #[test]
    fn task_failed_matches_all_but_timeout() {
        let custom = StatesError::new("Lambda.Unknown", "x");
        assert!(custom.is_matched_by(&names(&["States.TaskFailed"])));
        let timeout = StatesError::new(names::TIMEOUT, "x");
        assert!(!timeout.is_matched_by(&names(&["States.TaskFailed"])));
        assert!(timeout.is_matched_by(&names(&["States.ALL"])));
        assert!(!custom.is_matched_by(&names(&["Other", "States.Timeout"])));
        assert!(custom.is_matched_by(&names(&["Other", "Lambda.Unknown"])));
    }
}
