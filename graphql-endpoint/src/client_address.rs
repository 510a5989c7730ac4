//! Who is asking, by network address: what login throttling and the WebSocket caps count per.
//!
//! Behind the web app's server (nginx, `vite preview`) every request comes from that server's
//! address, and the client's is in `X-Forwarded-For`. That header is trusted only from the
//! proxies named in `GRAPHQL_TRUSTED_PROXIES` (addresses, or networks such as a Kubernetes
//! pod range, where a proxy's address changes with each pod); anyone else could write any
//! address in it. Of
//! the addresses in the header, the rightmost one that is not a trusted proxy is the client
//! (each proxy appends the address it received the request from).

use std::net::{IpAddr, SocketAddr};

use axum::http::HeaderMap;
use ipnet::IpNet;

/// The client address of one request or WebSocket connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClientAddress(pub IpAddr);

/// The proxies whose `X-Forwarded-For` is believed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TrustedProxies(Vec<IpNet>);

impl TrustedProxies {
    /// A comma-separated list of IP addresses and networks (`10.244.0.0/16`); empty trusts
    /// nobody.
    pub fn parse(text: &str) -> Result<Self, String> {
        text.split(',')
            .map(str::trim)
            .filter(|item| !item.is_empty())
            .map(|item| {
                item.parse::<IpNet>()
                    .or_else(|_| item.parse::<IpAddr>().map(IpNet::from))
                    .map_err(|_| format!("`{item}` is not an IP address or network"))
            })
            .collect::<Result<Vec<_>, _>>()
            .map(Self)
    }

    fn trusts(&self, address: IpAddr) -> bool {
        // An IPv4 peer on a dual-stack socket shows as ::ffff:a.b.c.d.
        let address = match address {
            IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(address, IpAddr::V4),
            v4 => v4,
        };
        self.0.iter().any(|network| network.contains(&address))
    }

    /// The client of a request that arrived from `peer` with these headers.
    pub fn client(&self, peer: SocketAddr, headers: &HeaderMap) -> ClientAddress {
        let peer = peer.ip();
        if !self.trusts(peer) {
            return ClientAddress(peer);
        }
        let forwarded: Vec<IpAddr> = headers
            .get_all("x-forwarded-for")
            .iter()
            .filter_map(|value| value.to_str().ok())
            .flat_map(|value| value.split(','))
            .filter_map(|item| item.trim().parse::<IpAddr>().ok())
            .collect();
        let client = forwarded
            .into_iter()
            .rev()
            .find(|address| !self.trusts(*address))
            .unwrap_or(peer);
        ClientAddress(client)
    }
}

#[cfg(test)]
mod tests {
    use axum::http::HeaderValue;

    use super::*;

    fn headers(forwarded: &str) -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert(
            "x-forwarded-for",
            HeaderValue::from_str(forwarded).expect("header"),
        );
        headers
    }

    fn peer(ip: &str) -> SocketAddr {
        SocketAddr::new(ip.parse().expect("ip"), 40_000)
    }

    #[test]
    fn the_header_is_believed_only_from_a_trusted_proxy() {
        let proxies = TrustedProxies::parse("127.0.0.1, 10.0.0.2").expect("addresses");
        let client = |from: &str, forwarded: &str| {
            proxies
                .client(peer(from), &headers(forwarded))
                .0
                .to_string()
        };
        assert_eq!(client("127.0.0.1", "203.0.113.7"), "203.0.113.7");
        assert_eq!(
            client("127.0.0.1", "198.51.100.1, 203.0.113.7, 10.0.0.2"),
            "203.0.113.7"
        );
        assert_eq!(
            client("192.0.2.9", "203.0.113.7"),
            "192.0.2.9",
            "not a proxy: spoofed"
        );
        assert_eq!(client("127.0.0.1", "not an address"), "127.0.0.1");
        let nobody = TrustedProxies::default();
        assert_eq!(
            nobody
                .client(peer("127.0.0.1"), &headers("203.0.113.7"))
                .0
                .to_string(),
            "127.0.0.1"
        );
    }

    #[test]
    fn the_list_must_hold_addresses_or_networks() {
        assert_eq!(TrustedProxies::parse(""), Ok(TrustedProxies::default()));
        assert!(TrustedProxies::parse("localhost").is_err());
        assert!(TrustedProxies::parse("10.0.0.0/33").is_err());
    }

    #[test]
    fn a_network_trusts_every_proxy_in_it() {
        let pods = TrustedProxies::parse("10.244.0.0/16").expect("network");
        let client = |from: &str| {
            pods.client(peer(from), &headers("203.0.113.7"))
                .0
                .to_string()
        };
        assert_eq!(client("10.244.3.17"), "203.0.113.7");
        assert_eq!(client("::ffff:10.244.3.17"), "203.0.113.7", "dual stack");
        assert_eq!(client("10.245.0.1"), "10.245.0.1", "outside the network");
    }
}
