//! Retry and Catch, for the states that have them (Task, Parallel, Map): a failed attempt is
//! tried again after the first matching retrier's interval while that retrier has attempts left;
//! then the first matching catcher sends the execution on with the error output placed by its
//! ResultPath; otherwise the error ends the state's machine, branch or iteration.

use std::time::Duration;

use model::states::{JitterStrategy, Retrier};
use serde_json::Value;

use crate::compiled::{CompiledCatcher, Node};
use crate::error::StatesError;
use crate::execution::{Entered, Next, Runner};
use crate::jsonata::Bindings;
use crate::pipeline::Finished;

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
            let error = match attempt
                .and_then(|finished| self.exit(node.kind, entered.name, finished, entered.variables, last))
            {
                Ok(output) => return Ok((node.next.as_deref(), output)),
                Err(error) => self.evaluation_failed(entered.name, error, last),
            };
            if let Some(test) = &self.test {
                // TestState: no retry happens; the answer says one would.
                if test.retriable(&node.retry, &error, self.random.unit()) {
                    return Err(error);
                }
            } else if let Some(delay) = self.retry_delay(&node.retry, &mut attempts, &error) {
                retry_count += 1;
                tracing::debug!(state = entered.name, error = %error.error, ?delay, retry_count, "retrying");
                self.clock.sleep(delay).await;
                continue;
            }
            return match node.catch.iter().enumerate().find(|(_, c)| error.is_matched_by(&c.catcher.error_equals)) {
                Some((index, catcher)) => {
                    if let Some(test) = &self.test {
                        test.caught(index, &error);
                    }
                    let Finished { output, assigned } =
                        self.caught(node, catcher, entered, raw, &error, retry_count)?;
                    if let Some(assigned) = assigned {
                        entered.variables.assign(entered.name, assigned)?;
                    }
                    Ok((Some(catcher.catcher.next.as_str()), output))
                }
                None => Err(error),
            };
        }
    }

    /// The output of a caught state, and the catcher's assignments (the state's own Assign is
    /// not evaluated). JSONPath: the error output placed into the raw input by the catcher's
    /// ResultPath, and its Assign reading the error output as `$`. JSONata: the catcher's Output
    /// (the error output when absent) and Assign, reading `$states.errorOutput`.
    fn caught(
        &self,
        node: &Node,
        catcher: &CompiledCatcher,
        entered: &Entered<'_>,
        raw: &Value,
        error: &StatesError,
        retry_count: u64,
    ) -> Result<Finished, StatesError> {
        let error_output = error.to_output();
        let context = entered.context(self, retry_count);
        let bindings = Bindings { input: raw, result: None, error_output: Some(&error_output), context: &context };
        let assigned = catcher
            .assign
            .as_ref()
            .map(|a| a.evaluate(&error_output, &bindings, "Catch.Assign", entered.name))
            .transpose()?;
        let output = match (&node.flow.jsonata, &catcher.output) {
            (Some(_), Some(output)) => output.evaluate(&bindings, "Catch.Output", entered.name)?,
            (Some(_), None) => error_output,
            (None, _) => catcher.placement.apply(raw, error_output)?,
        };
        Ok(Finished { output, assigned })
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
