//! Notifiers from other threads, level-triggered pollers, signals.
#![cfg(unix)]
#![allow(clippy::unwrap_used)] // tests: a failed unwrap is a failed test

mod util;

use std::io::{Read, Write};
use std::os::fd::AsRawFd;
use std::os::unix::net::UnixStream;
use std::time::Duration;

use evasync::poll_bits;
use util::{Ev, Running};

#[test]
fn notifier_triggers_from_threads_coalesce_and_a_freed_one_says_no() {
    let r = Running::start();
    let n = r.handle.notifier();
    let threads: Vec<_> = (0..4)
        .map(|_| {
            let n = n.clone();
            std::thread::spawn(move || {
                for _ in 0..10_000 {
                    assert!(n.trigger());
                }
            })
        })
        .collect();
    for t in threads {
        t.join().unwrap();
    }
    let mut reports = 0;
    while r
        .wait_for(0.3, |e| matches!(e, Ev::Notified(i) if *i == n.id()))
        .is_some()
    {
        reports += 1;
    }
    assert!((1..=40_000).contains(&reports), "coalesced into {reports}");
    assert!(n.trigger());
    assert_eq!(
        r.wait_for(2.0, |e| matches!(e, Ev::Notified(_))),
        Some(Ev::Notified(n.id()))
    );
    n.free();
    assert!(!n.trigger());
    std::thread::sleep(Duration::from_millis(50));
    assert_eq!(r.handle.stats().notifiers, 0);
}

#[test]
fn a_poller_is_level_triggered_and_reports_eexist() {
    let r = Running::start();
    let (mut a, mut b) = UnixStream::pair().unwrap();
    let fd = b.as_raw_fd();
    let p = r.handle.poll_fd(fd, poll_bits::READABLE);
    assert!(
        r.wait_for(0.2, |e| matches!(e, Ev::Polled(..))).is_none(),
        "nothing to read"
    );
    a.write_all(b"x").unwrap();
    // Reported on every turn while the byte is unread.
    for _ in 0..3 {
        assert!(r
            .wait_for(
                2.0,
                |e| matches!(e, Ev::Polled(i, bits) if *i == p && bits & poll_bits::READABLE != 0)
            )
            .is_some());
    }
    let mut buf = [0u8; 1];
    b.read_exact(&mut buf).unwrap();
    let _ = r.collect(0.1);
    assert!(
        r.wait_for(0.2, |e| matches!(e, Ev::Polled(..))).is_none(),
        "quiet once read"
    );
    let twice = r.handle.poll_fd(fd, poll_bits::READABLE);
    let Some(Ev::Failed(id, _, errno)) = r.wait_for(2.0, |e| matches!(e, Ev::Failed(..))) else {
        panic!("no EEXIST")
    };
    assert_eq!((id, errno), (twice, libc::EEXIST));
    r.handle.free_poller(p);
    std::thread::sleep(Duration::from_millis(50));
    assert_eq!(r.handle.stats().pollers, 0);
}

#[test]
fn a_signal_arrives_as_an_event() {
    let r = Running::start();
    let s = r.handle.signal(libc::SIGUSR2);
    std::thread::sleep(Duration::from_millis(50));
    // SAFETY: raise(2) sends SIGUSR2 to this process, whose handler signal-hook installed.
    unsafe { libc::raise(libc::SIGUSR2) };
    assert_eq!(
        r.wait_for(2.0, |e| matches!(e, Ev::Signal(..))),
        Some(Ev::Signal(s, libc::SIGUSR2))
    );
    r.handle.free_signal(s);
}
