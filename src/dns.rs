//! DNS commands: lookups (answers arrive as events), name servers, cache.

use std::net::IpAddr;

use evasync::dns::{parse_server, DnsConfig, DnsQuery};
use napi::bindgen_prelude::*;
use napi_derive::napi;

use crate::convert::seconds;
use crate::event_loop::NativeLoop;

#[napi]
impl NativeLoop {
    /// Looks `host` up (family 0, 4 or 6); returns the query id its answer will carry.
    #[napi(catch_unwind)]
    pub fn dns_lookup(&self, host: String, family: u32) -> u32 {
        let query = DnsQuery::Lookup {
            host,
            family: family as u8,
        };
        self.command(|h| h.dns_lookup(query))
    }

    /// Looks up the name of `ip` (PTR); throws for a string that is not an IP address.
    #[napi(catch_unwind)]
    pub fn dns_reverse(&self, ip: String) -> Result<u32> {
        let ip: IpAddr = ip
            .parse()
            .map_err(|_| Error::new(Status::InvalidArg, format!("{ip:?} is not an IP address")))?;
        Ok(self.command(|h| h.dns_lookup(DnsQuery::Reverse { ip })))
    }

    /// Replaces the name servers (`[]`: the system's again); throws for a malformed server.
    #[napi(catch_unwind)]
    pub fn dns_set_servers(&self, servers: Vec<String>, timeout: f64, attempts: u32) -> Result<()> {
        let mut addrs = Vec::with_capacity(servers.len());
        for s in &servers {
            addrs.push(parse_server(s).ok_or_else(|| {
                Error::new(
                    Status::InvalidArg,
                    format!("{s:?} is not 'ip:port', '[ipv6]:port' or an IP address"),
                )
            })?);
        }
        let cfg = (!addrs.is_empty()).then(|| DnsConfig {
            servers: addrs,
            timeout: seconds(timeout),
            attempts: attempts as usize,
        });
        self.command(|h| h.set_dns_servers(cfg));
        Ok(())
    }

    /// Drops every cached answer.
    #[napi(catch_unwind)]
    pub fn dns_clear_cache(&self) {
        self.command(|h| h.clear_dns_cache());
    }
}
