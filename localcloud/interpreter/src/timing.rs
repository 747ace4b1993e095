//! Time: the scale that shrinks every wait (Wait states, Retry intervals, TimeoutSeconds) for
//! tests.

use std::time::Duration;

/// A factor applied to every duration the definition names: 1.0 is real time; `0.001` turns a
/// 60-second Wait into 60 ms. Timestamps (read from the execution's clock) are not scaled.
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

#[cfg(test)]
mod tests {
    use super::*;

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
