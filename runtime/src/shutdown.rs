//! Stopping in time. Fargate sends SIGTERM and kills the container 30 s later; the task gets a
//! cancellation token that fires on SIGTERM (or Ctrl-C), and the runtime cuts it off when the grace
//! period ends, so the process always exits with a code of its own choosing, before SIGKILL.

use std::future::Future;
use std::time::Duration;

use tokio_util::sync::CancellationToken;

/// Less than Fargate's 30 s stop timeout, leaving time to flush logs.
pub const DEFAULT_GRACE: Duration = Duration::from_secs(25);

/// The cancellation side a task sees. Cloning is cheap; every clone sees the same signal.
#[derive(Debug, Clone, Default)]
pub struct Shutdown {
    token: CancellationToken,
}

impl Shutdown {
    pub fn new() -> Self {
        Self::default()
    }

    /// True once a stop was asked for.
    pub fn is_requested(&self) -> bool {
        self.token.is_cancelled()
    }

    /// Completes when a stop is asked for. Use it in a `select!` beside the task's work.
    pub async fn requested(&self) {
        self.token.cancelled().await
    }

    /// Ask for a stop (what the signal listener does; also usable by a task to stop itself).
    pub fn request(&self) {
        self.token.cancel()
    }

    /// Sleeps for `duration` unless a stop is asked for first. Returns false when interrupted.
    pub async fn sleep(&self, duration: Duration) -> bool {
        tokio::select! {
            _ = tokio::time::sleep(duration) => true,
            _ = self.requested() => false,
        }
    }
}

/// How a supervised piece of work ended.
#[derive(Debug, PartialEq, Eq)]
pub enum Supervised<T> {
    /// The work finished by itself (possibly after seeing the stop request).
    Finished(T),
    /// A stop was asked for and the work did not finish within the grace period.
    CutOff,
}

/// Runs `work` until it finishes. When `signal` completes, the shutdown is requested and `work`
/// gets `grace` to finish; past that it is dropped. The signal is a future so tests can fire it.
pub async fn supervise<T>(
    shutdown: &Shutdown,
    grace: Duration,
    signal: impl Future<Output = ()>,
    work: impl Future<Output = T>,
) -> Supervised<T> {
    tokio::pin!(work);
    tokio::select! {
        out = &mut work => return Supervised::Finished(out),
        _ = signal => shutdown.request(),
    }
    match tokio::time::timeout(grace, work).await {
        Ok(out) => Supervised::Finished(out),
        Err(_) => Supervised::CutOff,
    }
}

/// Installs SIGTERM and SIGINT handlers now, and returns a future that completes when either
/// arrives. Installing eagerly matters: a handler installed only when the future is first polled
/// leaves a window after start-up in which SIGTERM kills the process with no grace at all. Must be
/// called inside a tokio runtime. If the handlers cannot be installed, the future never completes,
/// which leaves the default disposition in force.
pub fn termination_signal() -> impl Future<Output = ()> {
    use tokio::signal::unix::{SignalKind, signal};
    let handlers = (signal(SignalKind::terminate()), signal(SignalKind::interrupt()));
    async move {
        let (Ok(mut term), Ok(mut int)) = handlers else {
            tracing::warn!("could not install SIGTERM/SIGINT handlers; the task cannot stop gracefully");
            return std::future::pending().await;
        };
        tokio::select! {
            _ = term.recv() => tracing::warn!(signal = "SIGTERM", "stop requested"),
            _ = int.recv() => tracing::warn!(signal = "SIGINT", "stop requested"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::sync::oneshot;

    /// The handler is in place as soon as `termination_signal` returns, before anything polls it:
    /// a SIGTERM then does not kill the process (which would end this test with it).
    #[tokio::test]
    async fn the_handler_is_installed_before_the_future_is_polled() {
        let signal = termination_signal();
        let raised =
            std::process::Command::new("kill").args(["-TERM", &std::process::id().to_string()]).status().unwrap();
        assert!(raised.success());
        tokio::time::timeout(Duration::from_secs(5), signal).await.expect("the SIGTERM was seen");
    }

    #[tokio::test]
    async fn work_that_finishes_is_not_disturbed() {
        let shutdown = Shutdown::new();
        let out = supervise(&shutdown, Duration::from_secs(1), std::future::pending(), async { 7 }).await;
        assert_eq!(out, Supervised::Finished(7));
        assert!(!shutdown.is_requested());
    }

    #[tokio::test]
    async fn a_signal_asks_the_work_to_stop_and_it_stops() {
        let shutdown = Shutdown::new();
        let (fire, fired) = oneshot::channel::<()>();
        let task = shutdown.clone();
        let work = async move {
            let completed = task.sleep(Duration::from_secs(30)).await;
            if completed { "completed" } else { "stopped early" }
        };
        fire.send(()).unwrap();
        let out = supervise(&shutdown, Duration::from_secs(5), async { fired.await.unwrap() }, work).await;
        assert_eq!(out, Supervised::Finished("stopped early"));
        assert!(shutdown.is_requested());
    }

    #[tokio::test]
    async fn work_that_ignores_the_signal_is_cut_off_after_the_grace_period() {
        let shutdown = Shutdown::new();
        let started = tokio::time::Instant::now();
        let out =
            supervise(&shutdown, Duration::from_millis(100), async {}, tokio::time::sleep(Duration::from_secs(30)))
                .await;
        assert_eq!(out, Supervised::CutOff);
        let waited = started.elapsed();
        assert!(waited >= Duration::from_millis(100), "cut off before the grace period: {waited:?}");
        assert!(waited < Duration::from_secs(30), "the grace period was not enforced: {waited:?}");
    }
}
