//! Slows down token guessing: a client address that presents more than a set number of unknown
//! tokens within a minute gets 429 (with `Retry-After`) for its unknown tokens until the minute
//! is over. Valid tokens keep working from that address (offices share addresses behind NAT).
//!
//! Minutes are fixed windows shared by every address, so a failure costs a hash-map update and
//! the map is dropped whole when the minute turns (amortised O(1), no scans under the lock). At
//! most [`MAX_TRACKED`] addresses are tracked in a minute; failures from further addresses
//! share one bucket, so a flood from very many addresses is limited as one.
//!
//! [`PerToken`] limits what one authenticated token may ask for in a period (the phone look-up,
//! `OUTCALL_LOOKUP_LIMIT`): in this process's memory, by the service's clock.
//!
//! Behind a reverse proxy the client's address is the last hop of `X-Forwarded-For` that is not
//! a trusted proxy (`OUTCALL_TRUSTED_PROXIES`); without that setting the socket's peer address
//! is used and the header is ignored (a client could write anything in it).

use std::{
    collections::HashMap,
    net::IpAddr,
    sync::Mutex,
    time::{Duration, Instant},
};

use axum::http::HeaderMap;

use crate::{ids::TokenId, net::Cidr, rules::RateLimit, time::Instant as At};

/// The most addresses tracked within one minute.
pub const MAX_TRACKED: usize = 65_536;

const WINDOW: Duration = Duration::from_secs(60);

/// Failed token attempts per client address in the current minute.
pub struct FailedAuth {
    window: Mutex<Window>,
    max: u32,
    trusted: Vec<Cidr>,
}

struct Window {
    started: Instant,
    counts: HashMap<IpAddr, u32>,
    /// Failures of addresses beyond [`MAX_TRACKED`].
    overflow: u32,
}

impl FailedAuth {
    pub fn new(max: u32, trusted: Vec<Cidr>) -> Self {
        Self {
            window: Mutex::new(Window {
                started: Instant::now(),
                counts: HashMap::new(),
                overflow: 0,
            }),
            max,
            trusted,
        }
    }

    /// The client's address: the peer's, or behind a trusted proxy the last untrusted hop of
    /// `X-Forwarded-For`.
    pub fn client(&self, peer: IpAddr, headers: &HeaderMap) -> IpAddr {
        if !self.trusted.iter().any(|c| c.contains(peer)) {
            return peer;
        }
        let hops: Vec<IpAddr> = headers
            .get_all("x-forwarded-for")
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(','))
            .filter_map(|hop| hop.trim().parse().ok())
            .collect();
        hops.into_iter()
            .rev()
            .find(|ip| !self.trusted.iter().any(|c| c.contains(*ip)))
            .unwrap_or(peer)
    }

    /// The current minute, started afresh once a minute has passed.
    fn current(&self) -> std::sync::MutexGuard<'_, Window> {
        let mut window = self.window.lock().unwrap_or_else(|e| e.into_inner());
        if window.started.elapsed() >= WINDOW {
            *window = Window {
                started: Instant::now(),
                counts: HashMap::new(),
                overflow: 0,
            };
        }
        window
    }

    /// Whether this address has used up its failed attempts; if so, the whole seconds until
    /// it may try again.
    pub fn exhausted(&self, ip: IpAddr) -> Option<u64> {
        let window = self.current();
        let n = window.counts.get(&ip).copied().unwrap_or(window.overflow);
        (n >= self.max).then(|| {
            let left = WINDOW.saturating_sub(window.started.elapsed());
            left.as_secs() + u64::from(left.subsec_nanos() > 0)
        })
    }

    /// Counts a failed attempt.
    pub fn record(&self, ip: IpAddr) {
        let mut window = self.current();
        let tracked = window.counts.len();
        match window.counts.get_mut(&ip) {
            Some(n) => *n += 1,
            None if tracked < MAX_TRACKED => {
                window.counts.insert(ip, 1);
            }
            None => window.overflow += 1,
        }
    }
}

/// Requests per token in a fixed window that starts at the token's first request: past
/// `max` in the window, refused until the window ends. Kept in this process's memory (a restart
/// forgets; processes count apart); windows that ended are dropped once the map holds
/// [`MAX_TRACKED`] tokens, and past that many live windows every further token shares one.
pub struct PerToken {
    limit: RateLimit,
    windows: Mutex<HashMap<Option<TokenId>, (At, u32)>>,
}

impl PerToken {
    pub fn new(limit: RateLimit) -> Self {
        Self {
            limit,
            windows: Mutex::new(HashMap::new()),
        }
    }

    /// Counts a request of `token` at `now`; `Err(seconds)` to wait when past the limit (the
    /// refused request is not counted).
    pub fn take(&self, token: TokenId, now: At) -> Result<(), u64> {
        let period = self.limit.period.as_secs() * 1000;
        let mut windows = self.windows.lock().unwrap_or_else(|e| e.into_inner());
        if windows.len() >= MAX_TRACKED && !windows.contains_key(&Some(token)) {
            windows.retain(|_, (start, _)| now.millis() < start.millis() + period);
        }
        let key = if windows.len() >= MAX_TRACKED && !windows.contains_key(&Some(token)) {
            None
        } else {
            Some(token)
        };
        let (start, n) = windows.entry(key).or_insert((now, 0));
        if now.millis() >= start.millis() + period {
            (*start, *n) = (now, 0);
        }
        if *n >= self.limit.max {
            let ms = start.millis() + period - now.millis();
            return Err(((ms + 999) / 1000).max(1) as u64);
        }
        *n += 1;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_token_past_its_limit_waits_for_its_window_to_end_and_others_do_not() {
        let limiter = PerToken::new("2/1m".parse().unwrap());
        let t0 = At::from_millis(1_000_000);
        let (a, b) = (TokenId(1), TokenId(2));
        assert_eq!(limiter.take(a, t0), Ok(()));
        assert_eq!(limiter.take(a, t0.plus_millis(10_000)), Ok(()));
        assert_eq!(limiter.take(a, t0.plus_millis(20_000)), Err(40));
        assert_eq!(limiter.take(b, t0.plus_millis(20_000)), Ok(()));
        assert_eq!(limiter.take(a, t0.plus_millis(60_000)), Ok(()));
    }

    #[test]
    fn behind_a_trusted_proxy_the_last_untrusted_hop_is_the_client() {
        let limiter = FailedAuth::new(3, vec!["10.0.0.0/8".parse().unwrap()]);
        let mut headers = HeaderMap::new();
        headers.insert(
            "x-forwarded-for",
            "6.6.6.6, 1.2.3.4, 10.0.0.7".parse().unwrap(),
        );
        let proxy: IpAddr = "10.0.0.2".parse().unwrap();
        assert_eq!(
            limiter.client(proxy, &headers),
            "1.2.3.4".parse::<IpAddr>().unwrap()
        );
        let stranger: IpAddr = "8.8.8.8".parse().unwrap();
        assert_eq!(
            limiter.client(stranger, &headers),
            stranger,
            "an untrusted peer's header is ignored"
        );
    }

    #[test]
    fn an_address_past_its_limit_is_told_when_to_come_back() {
        let limiter = FailedAuth::new(2, vec![]);
        let ip: IpAddr = "1.2.3.4".parse().unwrap();
        assert_eq!(limiter.exhausted(ip), None);
        limiter.record(ip);
        limiter.record(ip);
        let wait = limiter
            .exhausted(ip)
            .expect("two failures use up the limit");
        assert!((1..=60).contains(&wait), "{wait}");
        assert_eq!(limiter.exhausted("1.2.3.5".parse().unwrap()), None);
    }
}
