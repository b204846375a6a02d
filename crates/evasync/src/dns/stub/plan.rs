//! Where and how the exchange asks: the servers, tries and timeouts of a [`DnsConfig`] or of the
//! system's `resolv.conf` (read with hickory's parser), and the hosts file.

use std::net::SocketAddr;
use std::time::Duration;

use hickory_resolver::Hosts;

use crate::dns::DnsConfig;

/// Where and how to ask: from a [`DnsConfig`] or the system's `resolv.conf`.
pub(super) struct Plan {
    pub servers: Vec<SocketAddr>,
    pub timeout: Duration,
    pub attempts: usize,
    pub ndots: usize,
    /// The system's search list (or domain) is not empty.
    pub search: bool,
    pub hosts: Hosts,
}

impl Plan {
    pub fn load(cfg: Option<&DnsConfig>) -> Option<Plan> {
        // The hosts file is read once per configuration, as hickory reads it once per resolver.
        let hosts = Hosts::from_system().unwrap_or_default();
        if let Some(c) = cfg {
            return Some(Plan {
                servers: c.servers.clone(),
                timeout: c.timeout,
                attempts: c.attempts.max(1),
                ndots: 0,
                search: false,
                hosts,
            });
        }
        system_plan(hosts)
    }

    pub fn tries(&self) -> usize {
        self.servers.len() * self.attempts
    }
}

#[cfg(unix)]
fn system_plan(hosts: Hosts) -> Option<Plan> {
    use hickory_resolver::config::ProtocolConfig;
    let (conf, opts) = hickory_resolver::system_conf::read_system_conf().ok()?;
    let servers: Vec<SocketAddr> = conf
        .name_servers()
        .iter()
        .filter_map(|ns| {
            ns.connections
                .iter()
                .find(|c| matches!(c.protocol, ProtocolConfig::Udp) && c.bind_addr.is_none())
                .map(|c| SocketAddr::new(ns.ip, c.port))
        })
        .collect();
    Some(Plan {
        servers,
        timeout: opts.timeout,
        // hickory counts retries after the first try.
        attempts: opts.attempts + 1,
        ndots: opts.ndots,
        search: !conf.search().is_empty() || conf.domain().is_some(),
        hosts,
    })
}

#[cfg(not(unix))]
fn system_plan(_hosts: Hosts) -> Option<Plan> {
    None // hickory reads the system's configuration its own way there
}
