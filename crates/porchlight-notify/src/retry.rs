//! Retry timing: exponential backoff with full jitter, never sooner than `Retry-After`.

use std::time::Duration;

use rand::Rng;

/// How retries on one channel are spaced, and when to give up on it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Backoff {
    /// The first retry waits up to this long.
    pub base: Duration,
    /// No wait is longer than this (unless the provider's `Retry-After` says so).
    pub max: Duration,
    /// Attempts on one channel before moving to the person's next way.
    pub max_attempts: u32,
}

impl Default for Backoff {
    fn default() -> Self {
        Backoff {
            base: Duration::from_secs(2),
            max: Duration::from_secs(300),
            max_attempts: 8,
        }
    }
}

impl Backoff {
    /// The exponential ceiling after `attempt` failures (1-based): base·2^(attempt-1), capped.
    pub fn ceiling(&self, attempt: u32) -> Duration {
        let factor = 1u32
            .checked_shl(attempt.saturating_sub(1).min(20))
            .unwrap_or(u32::MAX);
        self.base.saturating_mul(factor).min(self.max)
    }

    /// The wait before the next attempt: a uniformly random share of the ceiling ("full
    /// jitter", so a gateway that comes back is not hit by every sender at once), but never
    /// less than half of it, and never less than the provider's `Retry-After`.
    pub fn delay(
        &self,
        attempt: u32,
        retry_after: Option<Duration>,
        rng: &mut impl Rng,
    ) -> Duration {
        let ceiling = self.ceiling(attempt);
        let half = ceiling / 2;
        let jittered = half
            + Duration::from_millis(
                rng.random_range(0..=half.as_millis().min(u128::from(u64::MAX)) as u64),
            );
        match retry_after {
            // A provider asking for a pause gets at least that, capped at an hour.
            Some(ra) => jittered.max(ra.min(Duration::from_secs(3600))),
            None => jittered,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    #[test]
    fn grows_exponentially_within_bounds() {
        let b = Backoff::default();
        let mut rng = rand::rngs::StdRng::seed_from_u64(7);
        for attempt in 1..=12 {
            let ceiling = b.ceiling(attempt);
            assert_eq!(
                ceiling,
                (Duration::from_secs(2) * 2u32.pow(attempt - 1)).min(Duration::from_secs(300))
            );
            for _ in 0..100 {
                let d = b.delay(attempt, None, &mut rng);
                assert!(d >= ceiling / 2 && d <= ceiling, "{attempt}: {d:?}");
            }
        }
    }

    #[test]
    fn retry_after_is_a_floor() {
        let b = Backoff::default();
        let mut rng = rand::rngs::StdRng::seed_from_u64(7);
        assert!(b.delay(1, Some(Duration::from_secs(30)), &mut rng) >= Duration::from_secs(30));
        assert!(
            b.delay(1, Some(Duration::from_secs(86_400)), &mut rng) <= Duration::from_secs(3600)
        );
    }
}
