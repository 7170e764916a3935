//! The daemon's clock: the wall clock in production, a virtual clock in tests.
//!
//! Everything in the daemon that asks "what time is it" (the scheduler, the dispatcher and
//! its queue, the watchdog, every handler) asks the [`Clock`] held by [`crate::app::App`], and
//! the scheduler sleeps with [`Clock::sleep_until`], so a test can set the virtual clock to
//! 08:59:59, then advance it to 09:00, and the daemon acts at once, exactly as it would at
//! that instant on the wall.

use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, TimeDelta, Utc};
use tokio::sync::watch;

/// What time it is, for the daemon. Cheap to clone; clones share the same time.
#[derive(Clone, Debug)]
pub struct Clock {
    inner: Inner,
}

#[derive(Clone, Debug)]
enum Inner {
    /// `Utc::now()`, sleeping with tokio's timer.
    Real,
    /// A time that only moves when told to; sleepers wait on its changes.
    Virtual(Arc<watch::Sender<DateTime<Utc>>>),
}

impl Default for Clock {
    fn default() -> Self {
        Clock::real()
    }
}

impl Clock {
    /// The wall clock.
    pub fn real() -> Clock {
        Clock { inner: Inner::Real }
    }

    /// A virtual clock reading `start` until [`Clock::set`] or [`Clock::advance`] moves it.
    pub fn virtual_at(start: DateTime<Utc>) -> Clock {
        let (tx, _) = watch::channel(start);
        Clock {
            inner: Inner::Virtual(Arc::new(tx)),
        }
    }

    /// Whether this is a virtual clock.
    pub fn is_virtual(&self) -> bool {
        matches!(self.inner, Inner::Virtual(_))
    }

    /// Now.
    pub fn now(&self) -> DateTime<Utc> {
        match &self.inner {
            Inner::Real => Utc::now(),
            Inner::Virtual(tx) => *tx.borrow(),
        }
    }

    /// Sets a virtual clock to `at` (it may go backwards, like a wall clock being corrected)
    /// and wakes everyone sleeping on it. The wall clock cannot be set: returns false.
    pub fn set(&self, at: DateTime<Utc>) -> bool {
        match &self.inner {
            Inner::Real => false,
            Inner::Virtual(tx) => {
                tx.send_replace(at);
                true
            }
        }
    }

    /// Moves a virtual clock on by `by` and wakes everyone sleeping on it. The wall clock
    /// cannot be moved: returns false.
    pub fn advance(&self, by: Duration) -> bool {
        match &self.inner {
            Inner::Real => false,
            Inner::Virtual(tx) => {
                let by = TimeDelta::from_std(by).unwrap_or(TimeDelta::MAX);
                tx.send_modify(|now| *now = now.checked_add_signed(by).unwrap_or(*now));
                true
            }
        }
    }

    /// A receiver of a virtual clock's every change (`None` for the wall clock, which moves on
    /// its own and tells nobody).
    pub fn watch(&self) -> Option<watch::Receiver<DateTime<Utc>>> {
        match &self.inner {
            Inner::Real => None,
            Inner::Virtual(tx) => Some(tx.subscribe()),
        }
    }

    /// Resolves once the clock reads `at` or later: a tokio sleep on the wall clock, a wait
    /// for [`Clock::set`]/[`Clock::advance`] on the virtual one.
    pub async fn sleep_until(&self, at: DateTime<Utc>) {
        match &self.inner {
            Inner::Real => {
                let wait = (at - Utc::now()).to_std().unwrap_or(Duration::ZERO);
                tokio::time::sleep(wait).await;
            }
            Inner::Virtual(tx) => {
                let mut rx = tx.subscribe();
                // `wait_for` looks at the current value first, then at every change; it fails
                // only if the sender is dropped, which `self` prevents.
                let _ = rx.wait_for(|now| *now >= at).await;
            }
        }
    }
}

impl porchlight_notify::dispatch::Clock for Clock {
    fn now(&self) -> DateTime<Utc> {
        Clock::now(self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s)
            .map(|d| d.with_timezone(&Utc))
            .unwrap_or_else(|e| panic!("bad test instant {s}: {e}"))
    }

    #[tokio::test]
    async fn a_virtual_clock_moves_only_when_told_and_wakes_its_sleepers() {
        let clock = Clock::virtual_at(t("2026-03-08T08:59:59Z"));
        assert!(clock.is_virtual());
        assert_eq!(clock.now(), t("2026-03-08T08:59:59Z"));
        let sleeper = {
            let clock = clock.clone();
            tokio::spawn(async move { clock.sleep_until(t("2026-03-08T09:00:00Z")).await })
        };
        tokio::task::yield_now().await;
        assert!(!sleeper.is_finished());
        assert!(clock.set(t("2026-03-08T08:59:59.500Z")));
        tokio::task::yield_now().await;
        assert!(!sleeper.is_finished());
        assert!(clock.advance(Duration::from_millis(500)));
        assert_eq!(clock.now(), t("2026-03-08T09:00:00Z"));
        tokio::time::timeout(Duration::from_secs(5), sleeper)
            .await
            .map_err(|e| e.to_string())
            .and_then(|r| r.map_err(|e| e.to_string()))
            .unwrap_or_else(|e| panic!("the sleeper did not wake: {e}"));
        // Already past: returns at once.
        clock.sleep_until(t("2026-03-08T08:00:00Z")).await;
    }

    #[tokio::test]
    async fn the_wall_clock_cannot_be_moved() {
        let clock = Clock::real();
        assert!(!clock.is_virtual());
        assert!(!clock.advance(Duration::from_secs(1)));
        assert!(!clock.set(t("2026-03-08T09:00:00Z")));
        let before = Utc::now();
        assert!(clock.now() >= before);
        clock.sleep_until(before).await;
    }
}
