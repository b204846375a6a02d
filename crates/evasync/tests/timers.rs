//! Timer behaviour of the reactor, without Node.
#![allow(clippy::unwrap_used)] // tests: a failed unwrap is a failed test

mod util;

use std::time::{Duration, Instant};

use evasync::wire::ops::OpsWriter;
use evasync::{Event, Reactor, ReactorConfig};
use util::{Ev, Running};

/// Runs the reactor to the end, returning the ids of the timers that fired, in order.
fn run_collecting_timers(reactor: &mut Reactor) -> Vec<u32> {
    let mut fired = Vec::new();
    reactor
        .run(&mut |ev: Event<'_>| {
            if let Event::TimerFired { id } = ev {
                fired.push(id);
            }
        })
        .unwrap();
    fired
}

#[test]
fn run_returns_once_the_last_timer_fired() {
    let mut reactor = Reactor::new(ReactorConfig::default()).unwrap();
    let h = reactor.handle();
    let a = h.delay(Duration::from_millis(20));
    let b = h.delay(Duration::from_millis(5));
    let t0 = Instant::now();
    let fired = run_collecting_timers(&mut reactor);
    assert_eq!(fired, vec![b, a]);
    assert!(t0.elapsed() >= Duration::from_millis(20));
    assert_eq!(reactor.stats().active_timers, 0);
}

#[test]
fn equal_deadlines_fire_in_creation_order() {
    let mut reactor = Reactor::new(ReactorConfig::default()).unwrap();
    let h = reactor.handle();
    // The same deadline for every timer: one batch of operations, applied at one instant.
    let ids: Vec<u32> = (0..1000).map(|_| h.next_id()).collect();
    let mut w = OpsWriter::default();
    for &id in &ids {
        w.delay(id, 0.01, false);
    }
    h.submit_ops(w.ops, w.data);
    let fired = run_collecting_timers(&mut reactor);
    assert_eq!(fired, ids);
}

#[test]
fn freed_timer_never_fires_and_interval_repeats_until_freed() {
    let r = Running::start();
    let doomed = r.handle.delay(Duration::from_millis(30));
    r.handle.free_timer(doomed);
    let iv = r.handle.interval(Duration::from_millis(10));
    let mut ticks = 0;
    while ticks < 3 {
        let ev = r
            .wait_for(2.0, |e| matches!(e, Ev::Timer(_)))
            .expect("tick");
        assert_eq!(ev, Ev::Timer(iv), "only the interval fires");
        ticks += 1;
    }
    r.handle.free_timer(iv);
    assert_eq!(r.wait_for(0.1, |e| matches!(e, Ev::Timer(_))), None);
    assert_eq!(r.handle.stats().active_timers, 0);
}

#[test]
fn hundred_thousand_timers_through_the_reactor() {
    let mut reactor = Reactor::new(ReactorConfig::default()).unwrap();
    let h = reactor.handle();
    let mut w = OpsWriter::default();
    for i in 0..100_000u32 {
        w.delay(h.next_id(), f64::from(i % 50) / 1000.0, false);
    }
    h.submit_ops(w.ops, w.data);
    let mut n = 0;
    reactor
        .run(&mut |ev: Event<'_>| {
            if matches!(ev, Event::TimerFired { .. }) {
                n += 1;
            }
        })
        .unwrap();
    assert_eq!(n, 100_000);
}

#[test]
fn ticks_arrive_in_one_turn() {
    let mut reactor = Reactor::new(ReactorConfig::default()).unwrap();
    let mut w = OpsWriter::default();
    w.emit_ticks(1000);
    reactor.handle().submit_ops(w.ops, w.data);
    let mut seen = 0;
    reactor
        .turn(Some(Duration::ZERO), &mut |ev: Event<'_>| {
            if let Event::Tick { seq } = ev {
                assert_eq!(seq, seen);
                seen += 1;
            }
        })
        .unwrap();
    assert_eq!(seen, 1000);
}
