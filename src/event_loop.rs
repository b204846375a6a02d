//! The native side of one event loop: owns the reactor's thread (the `thread` driver), the
//! outbox of event batches, and the handle commands go through.

use std::cell::RefCell;
use std::collections::HashMap;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::rc::Rc;
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;

use evasync::{BoundListener, Command, Handle, Reactor, ReactorConfig, ServerOptions};
use napi::bindgen_prelude::*;
use napi_derive::napi;

use crate::driver_main::MainLoop;
use crate::events::{NotifyFn, Outbox, ThreadSink};

/// The reactor thread, shared with the environment's cleanup hook so that a Node environment
/// torn down mid-loop (process.exit, a terminated worker) still stops and joins it.
type ThreadSlot = Arc<Mutex<Option<JoinHandle<()>>>>;

/// Stops the reactor and waits for its thread. Idempotent.
fn stop(handle: &Handle, slot: &ThreadSlot) {
    let thread = slot.lock().unwrap_or_else(|p| p.into_inner()).take();
    if let Some(t) = thread {
        handle.submit(Command::Exit);
        let _ = t.join();
    }
}

/// Who runs the reactor (API.md §1 `driver`).
enum Driver {
    /// Its own thread; batches reach JS through one ThreadsafeFunction.
    Thread(ThreadSlot),
    /// Node's thread, woken by libuv.
    Main(Rc<MainLoop>),
}

/// The loop's byte counters (`stats().bytesRead/bytesWritten`).
#[napi(object)]
pub struct ByteCounts {
    pub bytes_read: f64,
    pub bytes_written: f64,
}

/// One running event loop. Created by `startEventLoop`, stopped by `exit()` when the loop ends.
#[napi]
pub struct NativeLoop {
    pub(crate) handle: Handle,
    outbox: Arc<Outbox>,
    driver: Driver,
    /// Listeners bound and listening but not served yet (`paused`), by id.
    parked: RefCell<HashMap<u32, (BoundListener, ServerOptions)>>,
}

fn panic_text(p: &(dyn std::any::Any + Send)) -> String {
    if let Some(s) = p.downcast_ref::<&str>() {
        (*s).to_string()
    } else if let Some(s) = p.downcast_ref::<String>() {
        s.clone()
    } else {
        "unknown panic".to_string()
    }
}

/// The reactor thread: turn, publish, repeat until told to exit. A panic or a poll failure is
/// published as a fatal event (JS calls `fatalCb` and ends the loop) and ends the thread.
fn reactor_thread(mut reactor: Reactor, mut sink: ThreadSink) {
    loop {
        let turn = catch_unwind(AssertUnwindSafe(|| reactor.turn(None, &mut sink)));
        match turn {
            Ok(Ok(())) => {}
            Ok(Err(e)) => {
                sink.batch.fatal(&format!("reactor poll failed: {e}"));
                sink.publish();
                return;
            }
            Err(p) => {
                sink.batch
                    .fatal(&format!("reactor panicked: {}", panic_text(&*p)));
                sink.publish();
                return;
            }
        }
        if reactor.stopped() {
            return;
        }
        sink.publish();
    }
}

#[napi]
impl NativeLoop {
    /// Starts a reactor driven by `driver` (`'main'` or `'thread'`). `onBatch` is called whenever
    /// batches are waiting (through one ThreadsafeFunction under `thread`, directly from libuv
    /// under `main`); it should call `drain()`.
    #[napi(constructor, catch_unwind)]
    pub fn new(env: Env, on_batch: Function<(), ()>, driver: String) -> Result<Self> {
        let cfg = if driver == "main" {
            // On Node's thread every turn's arena goes straight to JS; one scratch read per
            // socket per turn keeps arenas small enough for malloc to reuse freed memory (a
            // 256 KiB arena is above glibc's mmap threshold: fresh, zeroed pages every turn).
            ReactorConfig {
                read_budget: 64 * 1024,
                ..ReactorConfig::default()
            }
        } else {
            ReactorConfig::default()
        };
        let reactor = Reactor::new(cfg)
            .map_err(|e| Error::from_reason(format!("cannot create the reactor: {e}")))?;
        let handle = reactor.handle();
        let outbox = Arc::new(Outbox::new(handle.clone()));
        let driver = match driver.as_str() {
            #[cfg(unix)]
            "main" => {
                let sink = ThreadSink::new(outbox.clone(), None);
                let ml = MainLoop::start(reactor, sink, outbox.clone(), env.raw(), on_batch.raw())
                    .map_err(|e| {
                        Error::from_reason(format!("cannot start the main driver: {e}"))
                    })?;
                let hook_ml = Rc::downgrade(&ml);
                env.add_env_cleanup_hook((), move |()| {
                    if let Some(ml) = hook_ml.upgrade() {
                        ml.close();
                    }
                })?;
                Driver::Main(ml)
            }
            "thread" => {
                let notify: NotifyFn = on_batch
                    .build_threadsafe_function::<()>()
                    .callee_handled::<false>()
                    .build()?;
                let sink = ThreadSink::new(outbox.clone(), Some(notify));
                let thread = std::thread::Builder::new()
                    .name("evasync-reactor".into())
                    .spawn(move || reactor_thread(reactor, sink))
                    .map_err(|e| {
                        Error::from_reason(format!("cannot start the reactor thread: {e}"))
                    })?;
                let slot: ThreadSlot = Arc::new(Mutex::new(Some(thread)));
                let (hook_handle, hook_slot) = (handle.clone(), slot.clone());
                env.add_env_cleanup_hook((), move |()| stop(&hook_handle, &hook_slot))?;
                Driver::Thread(slot)
            }
            other => {
                return Err(Error::new(
                    Status::InvalidArg,
                    format!("unknown driver {other:?} (expected 'main' or 'thread')"),
                ))
            }
        };
        Ok(NativeLoop {
            handle,
            outbox,
            driver,
            parked: RefCell::new(HashMap::new()),
        })
    }

    /// The driver in use: `'main'` or `'thread'`.
    #[napi(getter)]
    pub fn driver(&self) -> &'static str {
        match self.driver {
            Driver::Thread(_) => "thread",
            Driver::Main(_) => "main",
        }
    }

    /// Takes the waiting batches as `[records0, arena0, records1, arena1, …]`. Records are
    /// copied into V8-owned arrays; an arena is lent as an external Buffer (the memory the reactor
    /// filled, no copy) and goes back to the outbox's pool when JS collects it.
    #[napi(catch_unwind)]
    pub fn drain<'e>(&self, env: &'e Env) -> Result<Array<'e>> {
        let batches = self.outbox.drain();
        let mut out = env.create_array((batches.len() * 2) as u32)?;
        for (i, b) in batches.into_iter().enumerate() {
            // Copied into a V8-owned buffer: records are read once, synchronously, and an
            // external buffer would cost a finalizer and a global handle per batch.
            out.set(
                (2 * i) as u32,
                Uint32ArraySlice::copy_from(env, &b.records)?,
            )?;
            let mut arena = b.arena;
            if arena.is_empty() {
                self.outbox.give_back(arena);
                out.set((2 * i + 1) as u32, Buffer::from(Vec::new()))?;
                continue;
            }
            let (ptr, len) = (arena.as_mut_ptr(), arena.len());
            let outbox = self.outbox.clone();
            // SAFETY: `ptr`/`len` describe the initialised bytes of `arena`, whose heap buffer
            // does not move when the Vec itself is moved into the finalize hint; the hint owns
            // it until V8 collects the Buffer, and nothing else refers to it (each batch has its
            // own arena). The finalizer hands the Vec back to the pool.
            let buf = unsafe {
                BufferSlice::from_external(env, ptr, len, arena, move |_, arena: Vec<u8>| {
                    outbox.give_back(arena)
                })
            }?;
            out.set((2 * i + 1) as u32, &buf)?;
        }
        Ok(out)
    }

    /// Bytes read from and handed to every socket of this loop since it started.
    #[napi(catch_unwind)]
    pub fn byte_counts(&self) -> ByteCounts {
        let s = self.handle.stats();
        ByteCounts {
            bytes_read: s.bytes_read as f64,
            bytes_written: s.bytes_written as f64,
        }
    }

    /// Emits `count` synthetic events in one turn (the delivery benchmark).
    #[napi(catch_unwind)]
    pub fn emit_ticks(&self, count: u32) {
        self.send(Command::EmitTicks { count });
    }

    /// Stops the reactor (everything it holds is dropped) and joins its thread; afterwards the
    /// ThreadsafeFunction is released and no longer keeps Node alive.
    #[napi(catch_unwind)]
    pub fn exit(&self) {
        self.parked.borrow_mut().clear();
        match &self.driver {
            Driver::Thread(slot) => stop(&self.handle, slot),
            Driver::Main(ml) => ml.close(),
        }
        // Batches published before the exit are of no use any more.
        let _ = self.outbox.drain();
    }
}

impl NativeLoop {
    /// Keeps a bound listener until `tcpServe`.
    pub(crate) fn park_listener(&self, id: u32, l: BoundListener, opts: ServerOptions) {
        self.parked.borrow_mut().insert(id, (l, opts));
    }

    /// Takes a parked listener back.
    pub(crate) fn unpark_listener(&self, id: u32) -> Option<(BoundListener, ServerOptions)> {
        self.parked.borrow_mut().remove(&id)
    }

    /// Hands a command to the reactor: queued (thread driver) or applied now (main driver).
    pub(crate) fn send(&self, cmd: Command) {
        match &self.driver {
            Driver::Thread(_) => self.handle.submit(cmd),
            Driver::Main(ml) => ml.apply(cmd),
        }
    }

    /// Under the main driver, the bytes of socket `id` already in the kernel; None otherwise.
    pub(crate) fn flushed_total(&self, id: u32) -> Option<u64> {
        match &self.driver {
            Driver::Thread(_) => None,
            Driver::Main(ml) => ml.flushed_total(id),
        }
    }

    /// Hands several commands over with at most one wake-up.
    pub(crate) fn send_all(&self, cmds: impl IntoIterator<Item = Command>) {
        match &self.driver {
            Driver::Thread(_) => self.handle.submit_all(cmds),
            Driver::Main(ml) => ml.apply_all(cmds),
        }
    }
}

impl Drop for NativeLoop {
    fn drop(&mut self) {
        match &self.driver {
            Driver::Thread(slot) => stop(&self.handle, slot),
            Driver::Main(ml) => ml.close(),
        }
    }
}
