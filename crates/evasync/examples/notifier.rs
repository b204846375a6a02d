//! Waking the reactor from other threads: `cargo run --release -p evasync --example notifier`.
//! Four threads trigger one notifier 250 000 times each; triggers that arrive before the
//! reactor reports the last one coalesce, so far fewer events than triggers are delivered, and
//! the last trigger is never lost.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Instant;

use evasync::{Event, Reactor, ReactorConfig};

fn main() -> std::io::Result<()> {
    let mut reactor = Reactor::new(ReactorConfig::default())?;
    let handle = reactor.handle();
    let notifier = Arc::new(handle.notifier());
    let produced = Arc::new(AtomicU64::new(0));
    let started = Instant::now();
    let workers: Vec<_> = (0..4)
        .map(|_| {
            let (n, produced) = (notifier.clone(), produced.clone());
            std::thread::spawn(move || {
                for _ in 0..250_000 {
                    produced.fetch_add(1, Ordering::Relaxed);
                    n.trigger();
                }
            })
        })
        .collect();
    let mut events = 0u64;
    let (n, done) = (notifier.clone(), produced.clone());
    reactor.run(&mut |ev: Event<'_>| {
        if let Event::Notified { .. } = ev {
            events += 1;
            // Everything produced before this event was seen; stop once all of it was.
            if done.load(Ordering::Relaxed) == 1_000_000 {
                n.free();
            }
        }
    })?;
    for w in workers {
        let _ = w.join();
    }
    let secs = started.elapsed().as_secs_f64();
    println!(
        "1 000 000 triggers from 4 threads in {secs:.3} s ({:.1} M/s), {events} events delivered",
        1.0 / secs
    );
    Ok(())
}
