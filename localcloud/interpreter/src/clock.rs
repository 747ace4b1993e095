//! Where an execution reads the time: the timestamps of its history events and context object
//! (`$$.Execution.StartTime`, `$$.State.EnteredTime`), the instant a Wait's `Timestamp` is
//! measured from, and the timers of Waits, Retry intervals and timeouts. The interpreter reads
//! no clock of its own, so a test that fixes the clock gets the same timestamps on every run.

use std::time::{Duration, SystemTime};

use futures_util::future::BoxFuture;

/// The time source of one execution.
pub trait Clock: Send + Sync {
    /// The current wall-clock time.
    fn now(&self) -> SystemTime;

    /// Completes after `duration`. The default is tokio's timer, which a test can make virtual by
    /// pausing its runtime (`#[tokio::test(start_paused = true)]`).
    fn sleep(&self, duration: Duration) -> BoxFuture<'static, ()> {
        Box::pin(tokio::time::sleep(duration))
    }
}

/// The machine's clock: `SystemTime::now()` and tokio's timers. What the local cloud runs on.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> SystemTime {
        SystemTime::now()
    }
}

/// A clock that always reads the same instant (tokio's timers still time the waits): every event
/// of an execution, and of its replay, carries that timestamp.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FixedClock(pub SystemTime);

impl FixedClock {
    /// A clock stopped `millis` milliseconds after the Unix epoch.
    pub fn at_unix_millis(millis: u64) -> Self {
        Self(SystemTime::UNIX_EPOCH + Duration::from_millis(millis))
    }
}

impl Clock for FixedClock {
    fn now(&self) -> SystemTime {
        self.0
    }
}
