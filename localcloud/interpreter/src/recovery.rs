//! Retry and Catch, for the states that have them (Task, Parallel, Map): a failed attempt is
//! tried again after the first matching retrier's interval while that retrier has attempts left;
//! then the first matching catcher sends the execution on with the error output placed by its
//! ResultPath; otherwise the error ends the state's machine, branch or iteration.

use std::time::Duration;

use model::states::{JitterStrategy, Retrier};
use serde_json::Value;

use crate::compiled::Node;
use crate::error::StatesError;
use crate::execution::{Entered, Next, Runner};

/// ASL's defaults for a Retrier's absent fields.
pub const DEFAULT_INTERVAL_SECONDS: u64 = 1;
pub const DEFAULT_MAX_ATTEMPTS: i64 = 3;
pub const DEFAULT_BACKOFF_RATE: f64 = 2.0;

impl Runner {
    /// Runs `node`'s attempts until one succeeds, the retriers give up, or a catcher takes the
    /// error.
    pub(crate) async fn with_recovery<'a>(
        &'a self,
        node: &'a Node,
        entered: &Entered<'a>,
        raw: &Value,
        last: &mut u64,
    ) -> Result<(Next<'a>, Value), StatesError> {
        let mut attempts = vec![0u64; node.retry.len()];
        let mut retry_count = 0u64;
        loop {
            let attempt = self.attempt(node, entered, raw, retry_count, last).await;
            let error = match attempt.and_then(|output| self.exit(node.kind, entered.name, output, last)) {
                Ok(output) => return Ok((node.next.as_deref(), output)),
                Err(error) => error,
            };
            if let Some(delay) = self.retry_delay(&node.retry, &mut attempts, &error) {
                retry_count += 1;
                tracing::debug!(state = entered.name, error = %error.error, ?delay, retry_count, "retrying");
                self.clock.sleep(delay).await;
                continue;
            }
            return match node.catch.iter().find(|(c, _)| error.is_matched_by(&c.error_equals)) {
                // The output of a caught state: the error output placed into its raw input.
                Some((catcher, placement)) => {
                    Ok((Some(catcher.next.as_str()), placement.apply(raw, error.to_output())?))
                }
                None => Err(error),
            };
        }
    }

    /// The delay before the next retry, when the first retrier matching `error` has attempts left.
    fn retry_delay(&self, retriers: &[Retrier], attempts: &mut [u64], error: &StatesError) -> Option<Duration> {
        let index = retriers.iter().position(|r| error.is_matched_by(&r.error_equals))?;
        let retrier = &retriers[index];
        if attempts[index] >= max_attempts(retrier) {
            return None;
        }
        let seconds = retry_delay_seconds(retrier, attempts[index], self.random.unit());
        attempts[index] += 1;
        Some(self.scale.scale_secs(seconds))
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
}
