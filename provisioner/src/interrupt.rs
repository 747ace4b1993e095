//! Ctrl-C, and the command that resumes what it stopped: shared by the commands and the engines
//! they drive (a push, a stack operation, an execution being followed). One watcher per process,
//! installed when a command starts ([`watch`]): a Ctrl-C that arrives between two steps is
//! remembered and stops the command at the next step that can stop cleanly (tokio forgets a
//! signal that came before its listener, and once any listener exists the default "die at once"
//! is gone). A push is stopped before its manifest goes (the manifest is what makes the tag, and
//! it goes last), so nothing is tagged and the same command, run again, skips the blobs already
//! uploaded.

use std::future::Future;
use std::sync::OnceLock;

use tokio::sync::watch;

/// Ctrl-C stopped a step that leaves nothing half-done; the same command resumes.
#[derive(Debug, thiserror::Error)]
#[error("stopped (Ctrl-C) while {what}; resume with: {resume}")]
pub struct Stopped {
    /// The step and what it left, e.g. "pushing, before the manifest: nothing was tagged ...".
    pub what: String,
    pub resume: String,
}

/// Starts watching for Ctrl-C (idempotent). Call it first thing in a command that has steps to
/// stop cleanly; needs the tokio runtime.
pub fn watch() {
    receiver();
}

fn receiver() -> watch::Receiver<bool> {
    static FLAG: OnceLock<watch::Receiver<bool>> = OnceLock::new();
    FLAG.get_or_init(|| {
        let (pressed, flag) = watch::channel(false);
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::interrupt()) {
            Ok(mut signal) => {
                tokio::spawn(async move {
                    while signal.recv().await.is_some() {
                        pressed.send_replace(true);
                    }
                });
            }
            // Ctrl-C then keeps its default: the process ends at once.
            Err(err) => tracing::warn!("cannot watch for Ctrl-C: {err}"),
        }
        flag
    })
    .clone()
}

/// Resolves once Ctrl-C has been pressed (at once if it already was); never without one.
pub async fn requested() {
    let mut flag = receiver();
    if flag.wait_for(|pressed| *pressed).await.is_err() {
        std::future::pending::<()>().await;
    }
}

/// Runs `work` unless Ctrl-C comes first; then the error says `what` was left and how to resume.
pub async fn unless_interrupted<T>(work: impl Future<Output = anyhow::Result<T>>, what: &str) -> anyhow::Result<T> {
    tokio::select! {
        done = work => done,
        _ = requested() => Err(Stopped { what: what.to_owned(), resume: resume_command() }.into()),
    }
}

/// What a push stopped by Ctrl-C leaves.
pub fn push_stopped(step: &str, also: &str) -> String {
    format!(
        "{step}, before the manifest: nothing was tagged{also}. Blobs already uploaded stay in the registry and are \
         skipped next time"
    )
}

/// The command line this process was started with, as a shell would take it back.
pub fn resume_command() -> String {
    let mut words = vec!["provisioner".to_owned()];
    words.extend(std::env::args().skip(1).map(|arg| shell_word(&arg)));
    words.join(" ")
}

fn shell_word(arg: &str) -> String {
    let plain = !arg.is_empty() && arg.chars().all(|c| c.is_ascii_alphanumeric() || "-_./:=@,+%".contains(c));
    if plain { arg.to_owned() } else { format!("'{}'", arg.replace('\'', r"'\''")) }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn words_a_shell_would_split_are_quoted() {
        assert_eq!(shell_word("--registry"), "--registry");
        assert_eq!(shell_word("127.0.0.1:5055"), "127.0.0.1:5055");
        assert_eq!(shell_word("{\"a\": 1}"), "'{\"a\": 1}'");
        assert_eq!(shell_word("it's"), r"'it'\''s'");
        assert_eq!(shell_word(""), "''");
    }

    #[test]
    fn a_push_stopped_says_nothing_was_tagged() {
        let text = Stopped { what: push_stopped("pushing", ""), resume: "provisioner push".into() }.to_string();
        assert_eq!(
            text,
            "stopped (Ctrl-C) while pushing, before the manifest: nothing was tagged. Blobs already uploaded stay in \
             the registry and are skipped next time; resume with: provisioner push"
        );
    }
}
