//! Time as the core sees it: injectable, so tests are deterministic.

use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

pub trait Clock: Send + Sync + 'static {
    /// Unix time in seconds.
    fn now(&self) -> i64;
    /// The clock the control API may set and advance, when this is one.
    fn steerable(&self) -> Option<&VirtualClock> {
        None
    }
}

#[derive(Debug, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> i64 {
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_secs() as i64)
            .unwrap_or(0)
    }
}

/// A clock that only moves when told to.
#[derive(Debug, Clone)]
pub struct ManualClock(Arc<AtomicI64>);

impl ManualClock {
    pub fn new(now: i64) -> Self {
        ManualClock(Arc::new(AtomicI64::new(now)))
    }
    pub fn set(&self, now: i64) {
        self.0.store(now, Ordering::SeqCst);
    }
    pub fn advance(&self, secs: i64) {
        self.0.fetch_add(secs, Ordering::SeqCst);
    }
}

impl Clock for ManualClock {
    fn now(&self) -> i64 {
        self.0.load(Ordering::SeqCst)
    }
}

/// The server's clock, steered by the control API: the system's time moved by an offset, or
/// frozen at one instant (then it moves only when advanced). Everything that depends on time
/// reads the core's clock, so moving this one moves schedules, leases, session and key expiry,
/// order expiry and retention together.
#[derive(Debug)]
pub struct VirtualClock {
    offset: AtomicI64,
    /// The frozen instant, or [`NOT_FROZEN`].
    frozen: AtomicI64,
}

const NOT_FROZEN: i64 = i64::MIN;

/// The times a clock may be set to from outside: the Unix epoch to the last second of the year
/// 9999 (every panel writes dates with four-digit years; a time past that, or before 1970, is
/// no test scenario but a way to break date arithmetic).
pub const RANGE: std::ops::RangeInclusive<i64> = 0..=253_402_300_799;

fn out_of_range() -> String {
    format!(
        "the clock must stay between {} and {} (1970-01-01 to 9999-12-31 UTC)",
        RANGE.start(),
        RANGE.end()
    )
}

/// What [`VirtualClock::state`] reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, utoipa::ToSchema)]
pub struct ClockState {
    /// Unix seconds as the core sees them.
    pub now: i64,
    /// Seconds ahead of the system clock (negative: behind).
    pub offset: i64,
    pub frozen: bool,
}

impl Default for VirtualClock {
    fn default() -> Self {
        VirtualClock {
            offset: AtomicI64::new(0),
            frozen: AtomicI64::new(NOT_FROZEN),
        }
    }
}

impl VirtualClock {
    /// A clock stopped at `now` (tests: it moves only when advanced).
    pub fn frozen_at(now: i64) -> VirtualClock {
        VirtualClock {
            offset: AtomicI64::new(now.saturating_sub(SystemClock.now())),
            frozen: AtomicI64::new(now),
        }
    }

    /// [`VirtualClock::set`] for a time from outside (the control API, the dashboard, the
    /// configuration): refused unless it is in [`RANGE`].
    pub fn try_set(&self, now: i64) -> Result<(), String> {
        if !RANGE.contains(&now) {
            return Err(out_of_range());
        }
        self.set(now);
        Ok(())
    }

    /// [`VirtualClock::advance`] for a step from outside: refused unless the time it leads to is
    /// in [`RANGE`].
    pub fn try_advance(&self, secs: i64) -> Result<(), String> {
        let now = self.state().now;
        if !now.checked_add(secs).is_some_and(|t| RANGE.contains(&t)) {
            return Err(out_of_range());
        }
        self.advance(secs);
        Ok(())
    }

    /// Make `now` the current time (frozen or not, as before).
    pub fn set(&self, now: i64) {
        if self.frozen.load(Ordering::SeqCst) != NOT_FROZEN {
            self.frozen.store(now, Ordering::SeqCst);
        }
        self.offset
            .store(now.saturating_sub(SystemClock.now()), Ordering::SeqCst);
    }

    /// Move the time by `secs` (negative: back).
    pub fn advance(&self, secs: i64) {
        let _ = self
            .frozen
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |f| {
                (f != NOT_FROZEN).then(|| f.saturating_add(secs))
            });
        let _ = self
            .offset
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |o| {
                Some(o.saturating_add(secs))
            });
    }

    /// Stop the time where it is (`true`), or let it run on from there (`false`).
    pub fn freeze(&self, frozen: bool) {
        let now = self.now();
        if frozen {
            self.frozen.store(now, Ordering::SeqCst);
        } else {
            self.frozen.store(NOT_FROZEN, Ordering::SeqCst);
        }
        self.offset
            .store(now.saturating_sub(SystemClock.now()), Ordering::SeqCst);
    }

    /// Back to the system's time, running.
    pub fn reset(&self) {
        self.frozen.store(NOT_FROZEN, Ordering::SeqCst);
        self.offset.store(0, Ordering::SeqCst);
    }

    pub fn state(&self) -> ClockState {
        ClockState {
            now: self.now(),
            offset: self.offset.load(Ordering::SeqCst),
            frozen: self.frozen.load(Ordering::SeqCst) != NOT_FROZEN,
        }
    }
}

impl Clock for VirtualClock {
    fn steerable(&self) -> Option<&VirtualClock> {
        Some(self)
    }
    fn now(&self) -> i64 {
        match self.frozen.load(Ordering::SeqCst) {
            NOT_FROZEN => SystemClock
                .now()
                .saturating_add(self.offset.load(Ordering::SeqCst)),
            frozen => frozen,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_virtual_clock_moves_frozen_or_running() {
        let c = VirtualClock::default();
        let system = SystemClock.now();
        assert!((c.now() - system).abs() <= 1);
        c.advance(3600);
        assert!((c.now() - system - 3600).abs() <= 1);
        c.set(1_000_000);
        c.freeze(true);
        let at = c.now();
        assert!((at - 1_000_000).abs() <= 1);
        c.advance(60);
        assert_eq!(c.now(), at + 60);
        assert_eq!(
            c.state(),
            ClockState {
                now: at + 60,
                offset: c.state().offset,
                frozen: true
            }
        );
        c.set(2_000_000);
        assert_eq!(c.now(), 2_000_000);
        c.freeze(false);
        assert!((c.now() - 2_000_000).abs() <= 1);
        c.reset();
        assert!((c.now() - SystemClock.now()).abs() <= 1);
    }
}
