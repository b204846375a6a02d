//! Timers on the engine alone.
//!   cargo run -p evasync --example timers
use std::time::{Duration, Instant};

use evasync::{Event, Reactor, ReactorConfig};

fn main() -> std::io::Result<()> {
    let mut reactor = Reactor::new(ReactorConfig::default())?;
    let handle = reactor.handle();
    let t0 = Instant::now();
    let slow = handle.delay(Duration::from_millis(300));
    let fast = handle.delay(Duration::from_millis(100));
    let tick = handle.interval(Duration::from_millis(50));
    let mut ticks = 0;
    reactor.run(&mut |ev: Event<'_>| {
        if let Event::TimerFired { id } = ev {
            let at = t0.elapsed().as_millis();
            if id == tick {
                ticks += 1;
                println!("{at:>4} ms  interval tick {ticks}");
                if ticks == 4 {
                    handle.free_timer(tick);
                }
            } else if id == fast {
                println!("{at:>4} ms  100 ms delay");
            } else if id == slow {
                println!("{at:>4} ms  300 ms delay; nothing left, run() returns");
            }
        }
    })
}
