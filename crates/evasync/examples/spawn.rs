//! A child process with its stdout as a connection of the reactor:
//! `cargo run -p evasync --example spawn -- ls -l /`. Prints what the child writes as it
//! arrives, then how it ended (its exit is watched with a pidfd on Linux).

use evasync::process::{SpawnSpec, StdioSpec};
use evasync::{Event, Reactor, ReactorConfig};

fn main() -> std::io::Result<()> {
    let mut argv = std::env::args_os().skip(1);
    let spec = SpawnSpec {
        path: argv.next().unwrap_or_else(|| "uname".into()),
        args: {
            let rest: Vec<_> = argv.collect();
            if rest.is_empty() {
                vec!["-a".into()]
            } else {
                rest
            }
        },
        stdio: [StdioSpec::Ignore, StdioSpec::Pipe, StdioSpec::Inherit],
        ..SpawnSpec::default()
    };
    let mut reactor = Reactor::new(ReactorConfig::default())?;
    let handle = reactor.handle();
    let child = handle.spawn(&spec)?;
    println!("pid {}", child.pid);
    let mut bytes = 0usize;
    reactor.run(&mut |ev: Event<'_>| match ev {
        Event::Data { data, .. } => {
            bytes += data.len();
            print!("{}", String::from_utf8_lossy(data));
        }
        Event::ProcessExited { status, .. } => {
            println!(
                "-- exited: code {:?}, signal {:?}",
                status.code, status.signal
            );
        }
        _ => {}
    })?;
    println!("-- {bytes} bytes on stdout");
    Ok(())
}
