//! Time: the scale that shrinks every wait (Wait states, Retry intervals, TimeoutSeconds) for
//! tests, and the Retry delay a retrier asks for on a given attempt.

use std::time::Duration;

use model::states::{JitterStrategy, Retrier};

/// ASL's defaults for a Retrier's absent fields.
pub const DEFAULT_INTERVAL_SECONDS: u64 = 1;
pub const DEFAULT_MAX_ATTEMPTS: i64 = 3;
pub const DEFAULT_BACKOFF_RATE: f64 = 2.0;

/// A factor applied to every duration the definition names: 1.0 is real time; `0.001` turns a
/// 60-second Wait into 60 ms. Timestamps in the context object and events stay real.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct TimeScale(f64);

impl TimeScale {
    pub const REAL: TimeScale = TimeScale(1.0);

    /// A scale of `factor` (clamped to 0 or more; NaN counts as 0, no waiting at all).
    pub fn new(factor: f64) -> Self {
        if factor.is_nan() { TimeScale(0.0) } else { TimeScale(factor.max(0.0)) }
    }

    pub fn factor(self) -> f64 {
        self.0
    }

    /// `seconds` of definition time, in real time.
    pub fn scale_secs(self, seconds: f64) -> Duration {
        Duration::try_from_secs_f64(seconds.max(0.0) * self.0).unwrap_or(Duration::MAX)
    }

    pub fn scale(self, duration: Duration) -> Duration {
        self.scale_secs(duration.as_secs_f64())
    }
}

impl Default for TimeScale {
    fn default() -> Self {
        Self::REAL
    }
}

/// How many retries `retrier` allows (0: none).
pub fn max_attempts(retrier: &Retrier) -> u64 {
    u64::try_from(retrier.max_attempts.unwrap_or(DEFAULT_MAX_ATTEMPTS)).unwrap_or(0)
}

/// The delay, in definition seconds, before retry number `retry` (0 for the first retry) under
/// `retrier`: IntervalSeconds × BackoffRate^retry, capped at MaxDelaySeconds; with
/// `JitterStrategy: FULL`, a uniform draw in [0, that] instead, using `unit` (in [0, 1)).
pub fn retry_delay_seconds(retrier: &Retrier, retry: u64, unit: f64) -> f64 {
    let interval = retrier.interval_seconds.unwrap_or(DEFAULT_INTERVAL_SECONDS) as f64;
    let rate = retrier.backoff_rate.unwrap_or(DEFAULT_BACKOFF_RATE);
    let exponent = i32::try_from(retry).unwrap_or(i32::MAX);
    let mut delay = interval * rate.powi(exponent);
    if let Some(cap) = retrier.max_delay_seconds {
        delay = delay.min(cap as f64);
    }
    if !delay.is_finite() {
        delay = f64::MAX;
    }
    match retrier.jitter_strategy {
        Some(JitterStrategy::Full) => delay * unit.clamp(0.0, 1.0),
        _ => delay,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_double_from_one_second() {
        let retrier = Retrier::on(["States.ALL"]);
        let delays: Vec<f64> = (0..4).map(|n| retry_delay_seconds(&retrier, n, 0.5)).collect();
        assert_eq!(delays, [1.0, 2.0, 4.0, 8.0]);
        assert_eq!(max_attempts(&retrier), 3);
    }

    #[test]
    fn backoff_is_capped_by_max_delay_and_jitter_draws_below_it() {
        let mut retrier = Retrier::on(["States.ALL"]).interval_seconds(3).backoff_rate(1.5).max_attempts(0);
        retrier.max_delay_seconds = Some(5);
        assert_eq!(retry_delay_seconds(&retrier, 0, 0.0), 3.0);
        assert_eq!(retry_delay_seconds(&retrier, 1, 0.0), 4.5);
        assert_eq!(retry_delay_seconds(&retrier, 2, 0.0), 5.0);
        assert_eq!(max_attempts(&retrier), 0);
        retrier.jitter_strategy = Some(JitterStrategy::Full);
        assert_eq!(retry_delay_seconds(&retrier, 2, 0.25), 1.25);
        assert_eq!(retry_delay_seconds(&retrier, 0, 0.0), 0.0);
    }

    #[test]
    fn the_scale_shrinks_durations() {
        let scale = TimeScale::new(0.001);
        assert_eq!(scale.scale_secs(60.0), Duration::from_millis(60));
        assert_eq!(TimeScale::REAL.scale_secs(2.5), Duration::from_millis(2500));
        assert_eq!(TimeScale::new(-1.0).scale_secs(10.0), Duration::ZERO);
        assert_eq!(TimeScale::new(f64::NAN).scale_secs(10.0), Duration::ZERO);
        assert_eq!(TimeScale::REAL.scale_secs(f64::MAX), Duration::MAX);
    }
}
