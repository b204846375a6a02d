//! Without the `dns` feature there is no exchange on the reactor's thread either: every lookup
//! goes to the stand-in resolver (see `no_resolver.rs`).

use std::time::Instant;

use mio::{Registry, Token};

use crate::dns::{DnsConfig, Outcomes};
use crate::id::Id;

/// Takes no lookup.
#[derive(Default)]
pub(crate) struct Stub;

/// No socket of the exchange has a token.
pub(crate) fn slot_of(_token: Token) -> Option<usize> {
    None
}

impl Stub {
    pub fn configure(&mut self) {}

    #[allow(clippy::too_many_arguments)]
    pub fn start(
        &mut self,
        _id: Id,
        _host: &str,
        _family: u8,
        _cfg: Option<&DnsConfig>,
        _registry: &Registry,
        _now: Instant,
        _out: &mut Outcomes,
    ) -> bool {
        false
    }

    pub fn ready(
        &mut self,
        _slot: usize,
        _registry: &Registry,
        _now: Instant,
        _out: &mut Outcomes,
    ) {
    }

    pub fn timed_out(
        &mut self,
        _qid: u16,
        _seq: u32,
        _registry: &Registry,
        _now: Instant,
        _out: &mut Outcomes,
    ) {
    }
}
