//! Child processes through the reactor: pipes as connections, exits through a pidfd.
#![cfg(unix)]
#![allow(clippy::unwrap_used)] // tests: a failed unwrap is a failed test

mod util;

use std::time::Duration;

use evasync::process::{ExitStatus, SpawnSpec, StdioSpec};
use util::{Ev, Running};

fn spec(path: &str, args: &[&str], stdio: [StdioSpec; 3]) -> SpawnSpec {
    SpawnSpec {
        path: path.into(),
        args: args.iter().map(|a| a.into()).collect(),
        stdio,
        ..SpawnSpec::default()
    }
}

#[test]
fn exit_codes_signals_and_a_cat_round_trip() {
    let r = Running::start();
    let done = r
        .handle
        .spawn(&spec("/bin/sh", &["-c", "exit 7"], Default::default()))
        .unwrap();
    let Some(Ev::Exited(id, status)) = r.wait_for(5.0, |e| matches!(e, Ev::Exited(..))) else {
        panic!("no exit")
    };
    assert_eq!(
        (id, status),
        (
            done.id,
            ExitStatus {
                code: Some(7),
                signal: None
            }
        )
    );

    let sleeper = r
        .handle
        .spawn(&spec("sleep", &["30"], Default::default()))
        .unwrap();
    assert!(r.handle.process_kill(sleeper.id, libc::SIGTERM));
    let Some(Ev::Exited(_, status)) = r.wait_for(5.0, |e| matches!(e, Ev::Exited(..))) else {
        panic!("no exit")
    };
    assert_eq!(status.signal, Some(libc::SIGTERM));
    assert!(!r.handle.process_kill(sleeper.id, libc::SIGTERM), "gone");

    let pipe = StdioSpec::Pipe;
    let cat = r
        .handle
        .spawn(&spec("cat", &[], [pipe, pipe, StdioSpec::Ignore]))
        .unwrap();
    let [Some(stdin), Some(stdout), None] = cat.stdio else {
        panic!("pipes: {:?}", cat.stdio)
    };
    r.handle.write(stdin, b"through cat".to_vec());
    r.handle.close(stdin, false);
    let mut got = Vec::new();
    let mut exited = false;
    let mut eof = false;
    while !(exited && eof) {
        match r.events.recv_timeout(Duration::from_secs(5)).unwrap() {
            Ev::Data(i, d) if i == stdout => got.extend_from_slice(&d),
            Ev::Eof(i) if i == stdout => eof = true,
            Ev::Exited(i, s) if i == cat.id => {
                assert_eq!(s.code, Some(0));
                exited = true;
            }
            _ => {}
        }
    }
    assert_eq!(got, b"through cat");
    std::thread::sleep(Duration::from_millis(100));
    assert_eq!(r.handle.stats().processes, 0);
    assert!(r
        .handle
        .spawn(&spec("/no/such/program", &[], Default::default()))
        .is_err_and(|e| e.kind() == std::io::ErrorKind::NotFound));
}
