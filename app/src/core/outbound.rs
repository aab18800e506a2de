//! Requests the server makes to URLs people give it (webhook endpoints, SSO providers):
//! loopback and private addresses are refused (unless a setting allows them) against the
//! addresses the name resolves to at the time of the request; the request then goes to the
//! address vetted (no second lookup to rebind), redirects are not followed, and TLS is rustls
//! with the aws-lc-rs provider and the Mozilla roots.
use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

use crate::error::AppError;

/// Whether an address is on the public internet (not loopback, private, link-local,
/// shared, documentation, multicast or unspecified; IPv4 inside IPv6 judged as IPv4).
pub fn is_public(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => {
            let o = v4.octets();
            !(v4.is_loopback()
                || v4.is_private()
                || v4.is_link_local()
                || v4.is_unspecified()
                || v4.is_broadcast()
                || v4.is_multicast()
                || v4.is_documentation()
                || o[0] == 0
                || (o[0] == 100 && (64..128).contains(&o[1]))
                || (o[0] == 192 && o[1] == 0 && o[2] == 0)
                || (o[0] == 198 && (18..20).contains(&o[1]))
                || o[0] >= 240)
        }
        IpAddr::V6(v6) => {
            if let Some(v4) = v6.to_ipv4_mapped() {
                return is_public(IpAddr::V4(v4));
            }
            let s = v6.segments();
            // 6to4 (2002::/16) carries an IPv4 address: judge that.
            if s[0] == 0x2002 {
                let v4 = std::net::Ipv4Addr::new(
                    (s[1] >> 8) as u8,
                    s[1] as u8,
                    (s[2] >> 8) as u8,
                    s[2] as u8,
                );
                return is_public(IpAddr::V4(v4));
            }
            !(v6.is_loopback()
                || v6.is_unspecified()
                || v6.is_multicast()
                // IPv4-compatible ::a.b.c.d (deprecated, and a way to say 127.0.0.1)
                || s[..6].iter().all(|x| *x == 0)
                || (s[0] & 0xfe00) == 0xfc00
                || (s[0] & 0xffc0) == 0xfe80
                || (s[0] & 0xffc0) == 0xfec0
                || (s[0] == 0x2001 && s[1] == 0x0db8)
                || (s[0] == 0x2001 && s[1] == 0)
                || (s[0] == 0x64 && s[1] == 0xff9b))
        }
    }
}

/// A URL the server may call (a webhook endpoint, an SSO provider): http(s), a host, no user or password, at most 2,000
/// characters; a literal address must be public unless private ones are allowed.
pub fn check_url(url: &str, allow_private: bool) -> Result<reqwest::Url, AppError> {
    let bad = |m: &str| AppError::invalid("url", m);
    let url = url.trim();
    if url.len() > 2000 {
        return Err(bad("A URL is at most 2,000 characters."));
    }
    let parsed = reqwest::Url::parse(url).map_err(|_| bad("This is not a URL."))?;
    if !matches!(parsed.scheme(), "https" | "http") {
        return Err(bad("The URL must start with https:// (or http://)."));
    }
    if !parsed.username().is_empty() || parsed.password().is_some() {
        return Err(bad("The URL may not carry a user or password."));
    }
    let literal = match parsed.host() {
        None => return Err(bad("The URL needs a host.")),
        Some(url::Host::Ipv4(a)) => Some(IpAddr::V4(a)),
        Some(url::Host::Ipv6(a)) => Some(IpAddr::V6(a)),
        Some(url::Host::Domain(d)) => {
            let d = d.to_ascii_lowercase();
            if !allow_private && (d == "localhost" || d.ends_with(".localhost")) {
                return Err(bad(
                    "The URL must be reachable on the internet, not this machine.",
                ));
            }
            None
        }
    };
    if let Some(ip) = literal
        && !allow_private
        && !is_public(ip)
    {
        return Err(bad(
            "The URL must be reachable on the internet, not a private or loopback address.",
        ));
    }
    Ok(parsed)
}

/// The address to send to: the host's addresses now, every one of them public (a name that
/// also resolves inside the network is refused), unless private ones are allowed.
pub async fn vetted_addr(url: &reqwest::Url, allow_private: bool) -> Result<SocketAddr, String> {
    let host = url.host_str().ok_or("no host")?;
    let host = host.trim_start_matches('[').trim_end_matches(']');
    let port = url.port_or_known_default().ok_or("no port")?;
    let addrs: Vec<SocketAddr> = tokio::net::lookup_host((host, port))
        .await
        .map_err(|e| format!("could not resolve {host}: {e}"))?
        .collect();
    if addrs.is_empty() {
        return Err(format!("{host} has no address"));
    }
    if !allow_private && addrs.iter().any(|a| !is_public(a.ip())) {
        return Err(format!(
            "refused: {host} resolves to a private or loopback address"
        ));
    }
    Ok(addrs[0])
}

/// A client for one request to `url`: its host pinned to the address vetted now, no proxy
/// (a proxy would look the name up again, and reach what the server can), no redirects.
pub async fn pinned_client(
    url: &reqwest::Url,
    allow_private: bool,
    timeout: Duration,
    user_agent: &str,
) -> Result<reqwest::Client, String> {
    let addr = vetted_addr(url, allow_private).await?;
    let host = url.host_str().unwrap_or_default().to_string();
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .no_proxy()
        .timeout(timeout)
        .connect_timeout(Duration::from_secs(5))
        .resolve(&host, addr)
        .use_preconfigured_tls(tls_config())
        .user_agent(user_agent)
        .build()
        .map_err(|e| format!("client: {e}"))
}

/// rustls with the aws-lc-rs provider (the one the AWS SDK and the mailer use) and the
/// Mozilla roots: no second TLS stack, no dependence on the machine's certificates.
pub fn tls_config() -> rustls::ClientConfig {
    static CONFIG: std::sync::OnceLock<rustls::ClientConfig> = std::sync::OnceLock::new();
    CONFIG
        .get_or_init(|| {
            let roots = rustls::RootCertStore {
                roots: webpki_roots::TLS_SERVER_ROOTS.to_vec(),
            };
            rustls::ClientConfig::builder_with_provider(std::sync::Arc::new(
                rustls::crypto::aws_lc_rs::default_provider(),
            ))
            .with_safe_default_protocol_versions()
            .expect("aws-lc-rs supports the default TLS versions")
            .with_root_certificates(roots)
            .with_no_client_auth()
        })
        .clone()
}
