//! Unix stream sockets through the reactor: the same connection as TCP under another `io`.
#![cfg(unix)]
#![allow(clippy::unwrap_used)] // tests: a failed unwrap is a failed test

mod util;

use std::io::{Read, Write};
use std::os::unix::net::{UnixListener, UnixStream};
use std::time::Duration;

use evasync::{ConnectOptions, Endpoint, ErrorKind, ServerOptions};
use util::{Ev, Running};

fn temp_path(name: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("evasync-unix-{}-{name}", std::process::id()));
    let _ = std::fs::remove_file(&dir);
    dir
}

#[test]
fn a_server_on_a_path_echoes_and_removes_its_file_on_close() {
    use std::os::unix::ffi::OsStrExt;
    let path = temp_path("echo.sock");
    let r = Running::start();
    let server = r
        .handle
        .unix_server(
            path.as_os_str().as_bytes(),
            Some(0o600),
            ServerOptions::default(),
        )
        .unwrap();
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600, "the mode is set before it listens");
    }
    let mut client = UnixStream::connect(&path).unwrap();
    let Some(Ev::Accepted { id, .. }) = r.wait_for(2.0, |e| matches!(e, Ev::Accepted { .. }))
    else {
        panic!("no accept")
    };
    client.write_all(b"over unix").unwrap();
    let Some(Ev::Data(_, data)) = r.wait_for(2.0, |e| matches!(e, Ev::Data(..))) else {
        panic!("no data")
    };
    r.handle.write(id, data);
    let mut buf = [0u8; 9];
    client.read_exact(&mut buf).unwrap();
    assert_eq!(&buf, b"over unix");
    drop(client);
    assert!(r.wait_for(2.0, |e| *e == Ev::Released(id)).is_some());
    r.handle.close_server(server);
    std::thread::sleep(Duration::from_millis(100));
    assert!(!path.exists(), "the socket file is removed with the server");
}

#[test]
fn connecting_to_missing_refusing_and_existing_paths() {
    use std::os::unix::ffi::OsStrExt;
    let r = Running::start();
    let missing = temp_path("missing.sock");
    let id = r
        .handle
        .unix_connect(missing.as_os_str().as_bytes(), ConnectOptions::default());
    let Some(Ev::Failed(got, kind, errno)) = r.wait_for(2.0, |e| matches!(e, Ev::Failed(..)))
    else {
        panic!("no failure")
    };
    assert_eq!(
        (got, kind, errno),
        (id, ErrorKind::Connection, libc::ENOENT)
    );

    // A socket file whose listener is gone: refused.
    let stale = temp_path("stale.sock");
    drop(UnixListener::bind(&stale).unwrap());
    let id = r
        .handle
        .unix_connect(stale.as_os_str().as_bytes(), ConnectOptions::default());
    let Some(Ev::Failed(got, kind, _)) = r.wait_for(2.0, |e| matches!(e, Ev::Failed(..))) else {
        panic!("no failure")
    };
    assert_eq!((got, kind), (id, ErrorKind::Refused));
    // Binding where a file exists is AddrInUse, and the file is left alone.
    let err = r
        .handle
        .unix_server(stale.as_os_str().as_bytes(), None, ServerOptions::default())
        .unwrap_err();
    assert_eq!(err.kind(), std::io::ErrorKind::AddrInUse);
    assert!(stale.exists());
    let _ = std::fs::remove_file(&stale);

    // Our client to a std listener: Connected carries the paths.
    let live = temp_path("live.sock");
    let listener = UnixListener::bind(&live).unwrap();
    let id = r
        .handle
        .unix_connect(live.as_os_str().as_bytes(), ConnectOptions::default());
    let (mut peer, _) = listener.accept().unwrap();
    assert!(r
        .wait_for(2.0, |e| matches!(e, Ev::Connected(i, _) if *i == id))
        .is_some());
    r.handle.write(id, b"hi".to_vec());
    let mut buf = [0u8; 2];
    peer.read_exact(&mut buf).unwrap();
    assert_eq!(&buf, b"hi");
    r.handle.close(id, false);
    let mut rest = Vec::new();
    peer.read_to_end(&mut rest).unwrap();
    let _ = std::fs::remove_file(&live);
    let _ = Endpoint::Unix(Vec::new());
}

#[cfg(target_os = "linux")]
#[test]
fn abstract_names_have_no_file() {
    let r = Running::start();
    let name = format!("\0evasync-abstract-{}", std::process::id());
    let server = r
        .handle
        .unix_server(name.as_bytes(), None, ServerOptions::default())
        .unwrap();
    let id = r
        .handle
        .unix_connect(name.as_bytes(), ConnectOptions::default());
    let (mut connected, mut accepted) = (false, false);
    while !(connected && accepted) {
        match r.wait_for(2.0, |e| {
            matches!(e, Ev::Connected(..) | Ev::Accepted { .. })
        }) {
            Some(Ev::Connected(i, Endpoint::Unix(p))) if i == id => {
                assert_eq!(p, name.as_bytes(), "the peer's abstract name, NUL first");
                connected = true;
            }
            Some(Ev::Accepted { .. }) => accepted = true,
            other => panic!("unexpected {other:?}"),
        }
    }
    r.handle.close(id, false);
    r.handle.close_server(server);
}
