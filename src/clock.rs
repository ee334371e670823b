//! Where the service reads the time from. Production uses the system clock; tests that run
//! the server in-process hand it a [`ManualClock`] and move time themselves. Nothing reachable
//! over HTTP or the command line can change the clock.

use std::sync::{
    Arc,
    atomic::{AtomicI64, Ordering},
};

use chrono::{DateTime, Utc};

use crate::time::Instant;

/// A source of the current instant.
pub trait Clock: Send + Sync + 'static {
    fn now(&self) -> Instant;
}

/// Shared handle to the clock in use.
pub type SharedClock = Arc<dyn Clock>;

/// The real time.
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> Instant {
        Instant::from_utc(Utc::now())
    }
}

/// A clock that only moves when told to; for tests.
#[derive(Clone)]
pub struct ManualClock {
    ms: Arc<AtomicI64>,
}

impl ManualClock {
    pub fn new(start: DateTime<Utc>) -> Self {
        Self {
            ms: Arc::new(AtomicI64::new(start.timestamp_millis())),
        }
    }

    pub fn set(&self, at: DateTime<Utc>) {
        self.ms.store(at.timestamp_millis(), Ordering::SeqCst);
    }

    pub fn advance(&self, by: std::time::Duration) {
        self.ms.fetch_add(by.as_millis() as i64, Ordering::SeqCst);
    }
}

impl Clock for ManualClock {
    fn now(&self) -> Instant {
        Instant::from_millis(self.ms.load(Ordering::SeqCst))
    }
}
