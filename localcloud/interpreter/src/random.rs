//! Where an execution draws randomness: task tokens, `States.UUID`, `States.MathRandom` without
//! a seed argument, and the `FULL` jitter of Retry intervals. One seeded generator per execution,
//! so the same seed (and the same order of draws) gives the same tokens, UUIDs and numbers again.

use std::sync::Mutex;

use rand::rngs::StdRng;
use rand::{RngExt as _, SeedableRng as _};

/// The random source of one execution. Draws are serialised through a lock: concurrent branches
/// and iterations share it, in the order they are polled.
#[derive(Debug)]
pub struct RandomSource(Mutex<StdRng>);

impl RandomSource {
    /// A source that repeats its draws for the same `seed` (tests, replays).
    pub fn seeded(seed: u64) -> Self {
        Self(Mutex::new(StdRng::seed_from_u64(seed)))
    }

    /// A source seeded by the operating system, as a real execution needs (task tokens must not
    /// be guessable).
    pub fn from_os() -> Self {
        Self(Mutex::new(rand::make_rng()))
    }

    fn with<T>(&self, draw: impl FnOnce(&mut StdRng) -> T) -> T {
        match self.0.lock() {
            Ok(mut rng) => draw(&mut rng),
            Err(poisoned) => draw(&mut poisoned.into_inner()),
        }
    }

    /// A number in [0, 1).
    pub fn unit(&self) -> f64 {
        self.with(|rng| rng.random::<f64>())
    }

    /// An integer in `start..end` (`end` must be above `start`).
    pub fn range(&self, start: i64, end: i64) -> i64 {
        self.with(|rng| rng.random_range(start..end))
    }

    /// A version 4 UUID made of this source's bytes.
    pub fn uuid(&self) -> uuid::Uuid {
        let bytes: [u8; 16] = self.with(|rng| rng.random());
        uuid::Builder::from_random_bytes(bytes).into_uuid()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_seed_repeats_its_draws() {
        let (a, b) = (RandomSource::seeded(7), RandomSource::seeded(7));
        assert_eq!(a.uuid(), b.uuid());
        assert_eq!(a.range(1, 1000), b.range(1, 1000));
        assert_eq!(a.unit().to_bits(), b.unit().to_bits());
        assert_ne!(RandomSource::seeded(8).uuid(), RandomSource::seeded(7).uuid());
        assert_eq!(a.uuid().get_version_num(), 4);
    }
}
