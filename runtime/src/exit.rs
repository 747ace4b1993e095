//! Exit codes, the error a subcommand returns to choose one, and the error a task returns. The
//! codes let a caller (ECS, the state machine's Catch, a shell) tell bad input apart from a task
//! that failed while working.

use std::fmt;

/// The process exit codes of a task binary. Input errors use the BSD sysexits values so that they
/// never collide with a task's own failure (1) or clap's usage error (2).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Exit {
    Success,
    /// The task ran and failed.
    TaskFailed,
    /// The command line was wrong (unknown subcommand, bad flag): clap's own code.
    Usage,
    /// The input was present but not what the task accepts (malformed JSON, wrong shape).
    BadInput,
    /// The input the state machine should have handed in is absent.
    MissingInput,
    /// SIGTERM arrived (Fargate stopping the task) and the task stopped, or was cut off.
    Terminated,
}

impl Exit {
    pub const fn code(self) -> u8 {
        match self {
            Exit::Success => 0,
            Exit::TaskFailed => 1,
            Exit::Usage => 2,
            Exit::BadInput => 65,     // EX_DATAERR
            Exit::MissingInput => 66, // EX_NOINPUT
            Exit::Terminated => 143,  // 128 + SIGTERM, what a shell reports
        }
    }
}

impl From<Exit> for std::process::ExitCode {
    fn from(exit: Exit) -> Self {
        std::process::ExitCode::from(exit.code())
    }
}

/// What a subcommand returns when it does not succeed: the exit code and a message for the user.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CommandError {
    pub exit: Exit,
    pub message: String,
}

impl CommandError {
    pub fn new(exit: Exit, message: impl Into<String>) -> Self {
        Self { exit, message: message.into() }
    }

    pub fn task_failed(message: impl Into<String>) -> Self {
        Self::new(Exit::TaskFailed, message)
    }

    pub fn bad_input(message: impl Into<String>) -> Self {
        Self::new(Exit::BadInput, message)
    }

    pub fn terminated(message: impl Into<String>) -> Self {
        Self::new(Exit::Terminated, message)
    }
}

impl fmt::Display for CommandError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for CommandError {}

/// How a task fails: the exit code it gives the process, an error name and a message. A task's
/// `run` returns it; the runtime prints the message, logs it and exits with the code. The name is
/// what a workflow's Catch matches (`ErrorEquals`) once a task reports its failure to Step
/// Functions itself; the message is the cause. Each kind has a default name, and
/// [`TaskError::with_error`] names a failure of the task's own.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TaskError {
    exit: Exit,
    error: String,
    message: String,
}

impl TaskError {
    /// The default error name of a task that failed while working.
    pub const TASK_FAILED: &'static str = "TaskFailed";
    /// The default error name of input the task cannot use.
    pub const INVALID_INPUT: &'static str = "InvalidInput";
    /// The default error name of input that is not there.
    pub const MISSING_INPUT: &'static str = "MissingInput";
    /// The default error name of a task stopped by SIGTERM before it finished.
    pub const TERMINATED: &'static str = "Terminated";

    fn new(exit: Exit, error: &str, message: impl Into<String>) -> Self {
        Self { exit, error: error.to_owned(), message: message.into() }
    }

    /// The task ran and failed: exit 1, error `TaskFailed`.
    pub fn failed(message: impl Into<String>) -> Self {
        Self::new(Exit::TaskFailed, Self::TASK_FAILED, message)
    }

    /// The input decoded but the task cannot use it (a value out of range): exit 65, error
    /// `InvalidInput`, as for input that does not decode.
    pub fn bad_input(message: impl Into<String>) -> Self {
        Self::new(Exit::BadInput, Self::INVALID_INPUT, message)
    }

    /// The input the state machine should have handed in is absent: exit 66, error
    /// `MissingInput`. The runtime's to say, before the task runs.
    pub(crate) fn missing_input(message: impl Into<String>) -> Self {
        Self::new(Exit::MissingInput, Self::MISSING_INPUT, message)
    }

    /// The task stopped because SIGTERM asked it to (`context.shutdown()`): exit 143, error
    /// `Terminated`.
    pub fn terminated(message: impl Into<String>) -> Self {
        Self::new(Exit::Terminated, Self::TERMINATED, message)
    }

    /// The same failure under an error name of the task's own (e.g. `ThumbnailTooLarge`), for a
    /// workflow's Catch to tell it apart. The exit code stays.
    pub fn with_error(mut self, error: impl Into<String>) -> Self {
        self.error = error.into();
        self
    }

    /// The error name.
    pub fn error(&self) -> &str {
        &self.error
    }

    /// What went wrong, for a person: the cause.
    pub fn message(&self) -> &str {
        &self.message
    }

    /// The process exit code this failure ends with.
    pub fn exit(&self) -> Exit {
        self.exit
    }
}

impl fmt::Display for TaskError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for TaskError {}

impl From<TaskError> for CommandError {
    fn from(err: TaskError) -> Self {
        CommandError::new(err.exit, err.message)
    }
}

/// An error and its causes on one line, each cause once: a cause whose text the message already
/// shows (an error that both prints and chains its source) is not repeated. For the binaries'
/// edges and for messages that wrap a library's error (reqwest hides the useful part in `source`).
pub fn error_chain(err: &dyn std::error::Error) -> String {
    let mut text = err.to_string();
    let mut source = err.source();
    while let Some(cause) = source {
        let cause_text = cause.to_string();
        if !text.contains(&cause_text) {
            text.push_str(": ");
            text.push_str(&cause_text);
        }
        source = cause.source();
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, thiserror::Error)]
    #[error("inner detail")]
    struct Inner;

    #[derive(Debug, thiserror::Error)]
    enum Outer {
        #[error("outer says: {0}")]
        Shows(#[from] Inner),
        #[error("outer hides it")]
        Hides(#[source] Inner),
    }

    #[test]
    fn each_cause_is_shown_once() {
        assert_eq!(error_chain(&Outer::Shows(Inner)), "outer says: inner detail");
        assert_eq!(error_chain(&Outer::Hides(Inner)), "outer hides it: inner detail");
    }

    #[test]
    fn each_kind_of_task_error_has_its_exit_code_and_a_default_name_that_can_be_replaced() {
        let failed = TaskError::failed("no thumbnail");
        assert_eq!((failed.exit(), failed.error(), failed.message()), (Exit::TaskFailed, "TaskFailed", "no thumbnail"));
        assert_eq!(TaskError::bad_input("x").exit(), Exit::BadInput);
        assert_eq!(TaskError::bad_input("x").error(), "InvalidInput");
        assert_eq!(TaskError::terminated("x").exit(), Exit::Terminated);
        assert_eq!(TaskError::terminated("x").error(), "Terminated");
        let named = TaskError::failed("too large").with_error("ThumbnailTooLarge");
        assert_eq!((named.exit(), named.error()), (Exit::TaskFailed, "ThumbnailTooLarge"));
        assert_eq!(named.to_string(), "too large");
        assert_eq!(CommandError::from(named), CommandError::task_failed("too large"));
    }

    #[test]
    fn every_failure_has_its_own_code() {
        let all = [Exit::Success, Exit::TaskFailed, Exit::Usage, Exit::BadInput, Exit::MissingInput, Exit::Terminated];
        let mut codes: Vec<u8> = all.iter().map(|e| e.code()).collect();
        codes.sort_unstable();
        codes.dedup();
        assert_eq!(codes.len(), all.len(), "exit codes collide: {codes:?}");
        assert_eq!(Exit::Success.code(), 0);
        assert_eq!(Exit::Terminated.code(), 143);
    }
}
