//! Where the service reads the time from. Production uses the system clock; tests that run
//! the server in-process hand it a [`ManualClock`] and move time themselves. Nothing reachable
//! over HTTP or the command line can change the clock.

use std::sync::{
    Arc,
    atomic::{AtomicI64, Ordering},
};

use chrono::{DateTime, TimeZone, Utc};

/// A source of the current instant.
pub trait Clock: Send + Sync + 'static {
    fn now(&self) -> DateTime<Utc>;

    /// The current instant as epoch milliseconds, the way instants are stored.
    fn now_ms(&self) -> i64 {
        self.now().timestamp_millis()
    }
}

/// Shared handle to the clock in use.
pub type SharedClock = Arc<dyn Clock>;

/// The real time.
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> DateTime<Utc> {
        Utc::now()
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
    fn now(&self) -> DateTime<Utc> {
        Utc.timestamp_millis_opt(self.ms.load(Ordering::SeqCst))
            .single()
            .unwrap_or_default()
    }
}

/// Converts stored epoch milliseconds back to an instant.
pub fn from_ms(ms: i64) -> DateTime<Utc> {
    Utc.timestamp_millis_opt(ms).single().unwrap_or_default()
}
