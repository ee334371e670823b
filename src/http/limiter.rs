//! Slows down token guessing: a client address that presents more than a set number of unknown
//! tokens within a minute gets 429 for its unknown tokens until the minute has passed. Valid
//! tokens keep working from that address (offices share addresses behind NAT).

use std::{
    collections::HashMap,
    net::IpAddr,
    sync::Mutex,
    time::{Duration, Instant},
};

/// Failed token attempts per client address.
pub struct FailedAuth {
    seen: Mutex<HashMap<IpAddr, (u32, Instant)>>,
    max: u32,
    window: Duration,
}

impl FailedAuth {
    pub fn new(max: u32) -> Self {
        Self {
            seen: Mutex::new(HashMap::new()),
            max,
            window: Duration::from_secs(60),
        }
    }

    /// Whether this address has used up its failed attempts for the current window.
    pub fn exhausted(&self, ip: IpAddr) -> bool {
        let seen = self.seen.lock().unwrap_or_else(|e| e.into_inner());
        seen.get(&ip)
            .is_some_and(|(n, since)| since.elapsed() < self.window && *n >= self.max)
    }

    /// Counts a failed attempt.
    pub fn record(&self, ip: IpAddr) {
        let mut seen = self.seen.lock().unwrap_or_else(|e| e.into_inner());
        if seen.len() > 10_000 {
            seen.retain(|_, (_, since)| since.elapsed() < self.window);
        }
        let entry = seen.entry(ip).or_insert((0, Instant::now()));
        if entry.1.elapsed() >= self.window {
            *entry = (0, Instant::now());
        }
        entry.0 += 1;
    }
}
