//! Webhooks: what a subscription may be sent, the states of one event's delivery, the rules for
//! a receiver's URL and address (no request reaches a private network unless allowed), the
//! signature and the retry schedule. Pure rules; the outbox is `store::webhooks`, the sending
//! `service::deliveries`.

use std::net::IpAddr;

use crate::net::Cidr;

pub mod address;
pub mod signature;

pub use address::{Allow, checked_url};
pub use signature::sign;

crate::text_enum! {
    /// What an event sent to webhooks is about (its `type`).
    pub enum WebhookEvent {
        /// An outcome was recorded on a call.
        Outcome = "outcome",
        /// A sale confirmed by billing (written once conversions exist).
        Conversion = "conversion",
        /// A phone was listed as do-not-call.
        Dnc = "dnc",
        /// A consent decision was recorded (written once consent exists).
        Consent = "consent",
        /// A complaint opened a follow-up, or a follow-up was resolved or re-opened.
        FollowUp = "follow_up",
        /// A campaign changed status.
        Campaign = "campaign",
    }
}

crate::text_enum! {
    /// Where one event's delivery to one webhook stands.
    pub enum DeliveryState {
        /// Written with its cause; waiting for its due time (or for an earlier event of the same
        /// contact), or claimed by a deliverer (its due time then a lease ahead). Leaves for
        /// `delivered` on a 2xx, for `failed` when retries run out.
        Pending = "pending",
        /// A receiver answered 2xx. Pruned once older than `OUTCALL_WEBHOOK_KEEP`; a manual
        /// retry makes it `pending` again.
        Delivered = "delivered",
        /// Every retry failed for `OUTCALL_WEBHOOK_RETRY_FOR`; only a manual retry sends it again.
        Failed = "failed",
    }
}

crate::text_enum! {
    /// How one attempt ended.
    pub enum AttemptResult {
        /// The receiver answered 2xx within the timeout.
        Delivered = "delivered",
        /// Anything else: a refused address, no connection, a timeout, a non-2xx answer.
        Failed = "failed",
    }
}

/// The longest wait between two attempts.
pub const MAX_BACKOFF_MS: i64 = 3_600_000;

/// When to try again after failed attempt number `attempts` (1 for the first), waiting `base`
/// doubled per attempt, an hour at most; `None` once the event is older than `retry_for` (the
/// receiver is given up on).
pub fn next_attempt(
    attempts: i32,
    base_ms: i64,
    retry_for_ms: i64,
    event_at_ms: i64,
    now_ms: i64,
) -> Option<i64> {
    if now_ms - event_at_ms >= retry_for_ms {
        return None;
    }
    let doublings = (attempts.max(1) - 1).min(30) as u32;
    let wait = base_ms.max(1).saturating_mul(1_i64 << doublings);
    Some(now_ms + wait.min(MAX_BACKOFF_MS))
}

/// Whether an address is of a network no webhook may reach by default: loopback, private,
/// link-local, unique-local, unspecified, multicast, broadcast or shared (CGNAT); an IPv6
/// address that carries an IPv4 one (mapped or compatible) is judged by that.
pub fn is_internal(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => {
            let o = v4.octets();
            v4.is_loopback()
                || v4.is_private()
                || v4.is_link_local()
                || v4.is_unspecified()
                || v4.is_multicast()
                || v4.is_broadcast()
                || o[0] == 0
                || (o[0] == 100 && (o[1] & 0xc0) == 64)
        }
        IpAddr::V6(v6) => {
            if let Some(v4) = v6.to_ipv4_mapped() {
                return is_internal(IpAddr::V4(v4));
            }
            let s = v6.segments();
            if s[..6] == [0, 0, 0, 0, 0, 0] && !v6.is_loopback() && !v6.is_unspecified() {
                // IPv4-compatible (deprecated, still routed by some stacks).
                return is_internal(IpAddr::V4(std::net::Ipv4Addr::new(
                    (s[6] >> 8) as u8,
                    s[6] as u8,
                    (s[7] >> 8) as u8,
                    s[7] as u8,
                )));
            }
            v6.is_loopback()
                || v6.is_unspecified()
                || v6.is_multicast()
                || (s[0] & 0xfe00) == 0xfc00
                || (s[0] & 0xffc0) == 0xfe80
        }
    }
}

/// Whether `ip` may be reached: not internal, or inside a block of `allow`.
pub fn permitted(ip: IpAddr, allow: &[Cidr]) -> bool {
    let plain = match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
        v4 => v4,
    };
    allow.iter().any(|b| b.contains(ip) || b.contains(plain)) || !is_internal(ip)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn internal_addresses_of_both_families_are_refused_and_public_ones_are_not() {
        for bad in [
            "127.0.0.1",
            "10.1.2.3",
            "172.16.0.1",
            "192.168.1.1",
            "169.254.169.254",
            "0.0.0.0",
            "224.0.0.1",
            "255.255.255.255",
            "100.64.0.1",
            "::1",
            "::",
            "fe80::1",
            "fd00::1",
            "fc00::1",
            "ff02::1",
            "::ffff:127.0.0.1",
            "::ffff:10.0.0.1",
            "::127.0.0.1",
        ] {
            assert!(is_internal(ip(bad)), "{bad}");
            assert!(!permitted(ip(bad), &[]), "{bad}");
        }
        for good in [
            "8.8.8.8",
            "1.1.1.1",
            "2606:4700:4700::1111",
            "::ffff:8.8.8.8",
        ] {
            assert!(!is_internal(ip(good)), "{good}");
        }
    }

    #[test]
    fn the_allow_list_lets_its_blocks_through_including_mapped_addresses() {
        let allow: Vec<Cidr> = vec!["127.0.0.0/8".parse().unwrap()];
        assert!(permitted(ip("127.0.0.1"), &allow));
        assert!(permitted(ip("::ffff:127.0.0.1"), &allow));
        assert!(!permitted(ip("::1"), &allow));
        assert!(!permitted(ip("10.0.0.1"), &allow));
    }

    #[test]
    fn retries_double_up_to_an_hour_and_stop_after_the_retry_period() {
        let day = 86_400_000;
        assert_eq!(next_attempt(1, 10_000, day, 0, 0), Some(10_000));
        assert_eq!(next_attempt(2, 10_000, day, 0, 0), Some(20_000));
        assert_eq!(
            next_attempt(20, 10_000, day, 0, 5),
            Some(5 + MAX_BACKOFF_MS)
        );
        assert_eq!(next_attempt(30, 10_000, day, 0, day), None);
        assert_eq!(
            next_attempt(3, 10_000, day, 0, day - 1),
            Some(day - 1 + 40_000)
        );
    }
}
