//! A receiver's URL: http or https, a host, no credentials, bounded length; an address literal
//! must be one a webhook may reach. Names are checked again after every resolution, by the
//! sender (`service::deliveries`), which connects only to the addresses it checked.

use std::net::IpAddr;

use url::{Host, Url};

use crate::net::Cidr;

use super::permitted;

/// The longest URL accepted.
pub const MAX_URL: usize = 2_000;

/// The address blocks webhooks may reach although internal (`OUTCALL_WEBHOOK_ALLOW`).
#[derive(Debug, Clone, Default)]
pub struct Allow(pub Vec<Cidr>);

impl Allow {
    pub fn permits(&self, ip: IpAddr) -> bool {
        permitted(ip, &self.0)
    }
}

/// Reads a receiver's URL, refusing an address literal `allow` does not permit.
pub fn checked_url(text: &str, allow: &Allow) -> Result<Url, String> {
    if text.chars().count() > MAX_URL {
        return Err(format!("must be at most {MAX_URL} characters"));
    }
    let url = Url::parse(text).map_err(|e| format!("is not a URL ({e})"))?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err("must be an http or https URL".into());
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err("must not carry a user name or password".into());
    }
    let ip = match url.host() {
        None => return Err("must name a host".into()),
        Some(Host::Domain(_)) => None,
        Some(Host::Ipv4(v4)) => Some(IpAddr::V4(v4)),
        Some(Host::Ipv6(v6)) => Some(IpAddr::V6(v6)),
    };
    if let Some(ip) = ip
        && !allow.permits(ip)
    {
        return Err(format!(
            "is an internal address ({ip}); webhooks go to public addresses unless \
             OUTCALL_WEBHOOK_ALLOW allows it"
        ));
    }
    Ok(url)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_are_read_with_their_scheme_host_and_address_checked() {
        let none = Allow::default();
        assert!(checked_url("https://hooks.example.com/x", &none).is_ok());
        assert!(checked_url("http://8.8.8.8:8080/x", &none).is_ok());
        for bad in [
            "ftp://example.com/",
            "not a url",
            "http://user:pw@example.com/",
            "http://127.0.0.1/",
            "http://[::1]:80/",
            "http://[::ffff:10.0.0.1]/",
            "http://169.254.169.254/latest",
            "http://0x7f000001/",
        ] {
            assert!(checked_url(bad, &none).is_err(), "{bad}");
        }
        let long = format!("https://example.com/{}", "a".repeat(MAX_URL));
        assert!(checked_url(&long, &none).is_err());
        let loopback = Allow(vec!["127.0.0.0/8".parse().unwrap()]);
        assert!(checked_url("http://127.0.0.1:9/", &loopback).is_ok());
    }
}
