//! The native side of one event loop: the driver that runs the reactor (Node's thread or one of
//! its own), the memory shared with JS, and the entry points JS calls outside the shared-memory
//! path (binding listeners, connecting, lookups, the client).

use std::cell::RefCell;
use std::collections::HashMap;
use std::rc::Rc;

use evasync::wire::events::EventBatch;
use evasync::{BoundListener, Handle, Reactor, ReactorConfig, ServerOptions};
use napi::bindgen_prelude::*;
use napi::sys;
use napi_derive::napi;

#[cfg(unix)]
use crate::driver_main::MainLoop;
use crate::driver_thread::ThreadDriver;
use crate::shared::SharedMemory;

/// Who runs the reactor (API.md §1 `driver`).
enum Driver {
    /// Its own thread; batches reach JS through one ThreadsafeFunction.
    Thread(Rc<ThreadDriver>),
    /// Node's thread, woken by libuv.
    #[cfg(unix)]
    Main(Rc<MainLoop>),
}

/// One running event loop. Created by `startEventLoop`, stopped by `exit()` when the loop ends.
#[napi]
pub struct NativeLoop {
    pub(crate) handle: Handle,
    driver: Driver,
    memory: Rc<RefCell<SharedMemory>>,
    /// Listeners bound and listening but not served yet (`paused`), by id.
    parked: RefCell<HashMap<u32, (BoundListener, ServerOptions)>>,
    /// Keys of this loop's notifiers in the process-wide table (`wakeups`).
    pub(crate) notifier_keys: RefCell<Vec<u32>>,
}

#[napi]
impl NativeLoop {
    /// Starts a reactor driven by `driver` (`'main'` or `'thread'`). `onEvents(records,
    /// arenaBytes, newEvents?, newArena?)` is called with each batch of events, copied into the
    /// shared memory (`buffers()`); operations JS writes there meanwhile are applied right after.
    #[napi(
        constructor,
        catch_unwind,
        ts_args_type = "onEvents: (records: number, arenaBytes: number, events?: ArrayBuffer, arena?: ArrayBuffer) => void, driver: string"
    )]
    pub fn new(env: Env, on_events: Function<'_, (), ()>, driver: String) -> Result<Self> {
        let cfg = if driver == "main" {
            // On Node's thread every turn's batch goes straight to JS; one scratch read per
            // socket per turn keeps batches small enough to stay in the shared memory.
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
        let memory = Rc::new(RefCell::new(
            SharedMemory::new(env.raw()).map_err(Error::from_reason)?,
        ));
        let driver = match driver.as_str() {
            #[cfg(unix)]
            "main" => {
                let ml = MainLoop::start(reactor, memory.clone(), env.raw(), on_events.raw())
                    .map_err(|e| {
                        Error::from_reason(format!("cannot start the main driver: {e}"))
                    })?;
                let weak = Rc::downgrade(&ml);
                env.add_env_cleanup_hook((), move |()| {
                    if let Some(ml) = weak.upgrade() {
                        ml.close();
                    }
                })?;
                Driver::Main(ml)
            }
            "thread" => {
                let td = Rc::new(
                    ThreadDriver::start(env.raw(), on_events.raw(), reactor, memory.clone())
                        .map_err(Error::from_reason)?,
                );
                let weak = Rc::downgrade(&td);
                env.add_env_cleanup_hook((), move |()| {
                    if let Some(td) = weak.upgrade() {
                        td.stop();
                    }
                })?;
                Driver::Thread(td)
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
            driver,
            memory,
            parked: RefCell::new(HashMap::new()),
            notifier_keys: RefCell::new(Vec::new()),
        })
    }

    /// The driver in use: `'main'` or `'thread'`.
    #[napi(getter)]
    pub fn driver(&self) -> &'static str {
        match self.driver {
            Driver::Thread(_) => "thread",
            #[cfg(unix)]
            Driver::Main(_) => "main",
        }
    }

    /// The shared memory: `[events, arena, ops, data, results, ctl]` ArrayBuffers.
    #[napi(catch_unwind, ts_return_type = "ArrayBuffer[]")]
    pub fn buffers<'e>(&self, env: &'e Env) -> Result<Array<'e>> {
        let values = self.memory.borrow().buffers();
        values_array(env, &values)
    }

    /// Applies the operations JS wrote in the shared memory (called outside a delivery; during
    /// one they are applied when it returns).
    #[napi(catch_unwind)]
    pub fn apply_ops(&self) {
        match &self.driver {
            #[cfg(unix)]
            Driver::Main(ml) => ml.apply_ops(),
            Driver::Thread(_) => {
                if let Some(p) = self.memory.borrow_mut().take_ops() {
                    self.handle.submit_ops(p.ops.to_vec(), p.data.to_vec());
                }
            }
        }
    }

    /// Writes `data` to socket `id` straight from its memory, after the operations written
    /// before it (`main` driver: a large Buffer skips its copy into the op memory; what the
    /// kernel does not take is copied into the queue). `notifyAt` < 0: no Flushed event
    /// wanted. Returns the socket's flushed total, or -1 when it is gone. Under the `thread`
    /// driver it is an ordinary write (result -1).
    #[napi(catch_unwind)]
    pub fn write_lent(&self, id: u32, data: &[u8], notify_at: f64) -> f64 {
        let notify_at = (notify_at >= 0.0).then_some(notify_at as u64);
        match &self.driver {
            #[cfg(unix)]
            Driver::Main(ml) => ml.write_lent(id, data, notify_at),
            Driver::Thread(_) => {
                self.apply_ops();
                self.handle.write(id, data);
                if let Some(at) = notify_at {
                    self.handle.notify_flushed(id, at);
                }
                -1.0
            }
        }
    }

    /// Replaces the op regions with ones holding at least `minOps` records and `minData` bytes
    /// (apply what was written first). Returns `[ops, data, results]`.
    #[napi(catch_unwind, ts_return_type = "ArrayBuffer[]")]
    pub fn grow_ops<'e>(&self, env: &'e Env, min_ops: u32, min_data: u32) -> Result<Array<'e>> {
        let values = self
            .memory
            .borrow_mut()
            .grow_ops(min_ops as usize, min_data as usize)
            .map_err(Error::from_reason)?;
        values_array(env, &values)
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

    /// HTTP client connections busy with a request now.
    #[napi(catch_unwind)]
    pub fn http_client_connections(&self) -> u32 {
        self.handle.stats().outgoing_http_connections as u32
    }

    /// Stops the reactor (everything it holds is dropped) and joins its thread; afterwards
    /// nothing of this loop keeps Node alive.
    #[napi(catch_unwind)]
    pub fn exit(&self) {
        self.parked.borrow_mut().clear();
        crate::notifier_table::forget_notifiers(&self.notifier_keys.borrow_mut().split_off(0));
        self.stop();
        self.memory.borrow_mut().release();
    }
}

/// The loop's byte counters (`stats().bytesRead/bytesWritten`).
#[napi(object)]
pub struct ByteCounts {
    pub bytes_read: f64,
    pub bytes_written: f64,
}

fn values_array<'e>(env: &'e Env, values: &[sys::napi_value]) -> Result<Array<'e>> {
    let mut out = env.create_array(values.len() as u32)?;
    for (i, v) in values.iter().enumerate() {
        // SAFETY: each value was made in this env during this call (or read from a reference).
        let u = unsafe { Unknown::from_raw_unchecked(env.raw(), *v) };
        out.set(i as u32, u)?;
    }
    Ok(out)
}

impl NativeLoop {
    fn stop(&self) {
        match &self.driver {
            Driver::Thread(td) => td.stop(),
            #[cfg(unix)]
            Driver::Main(ml) => ml.close(),
        }
    }

    /// Keeps a bound listener until `tcpServe`.
    pub(crate) fn park_listener(&self, id: u32, l: BoundListener, opts: ServerOptions) {
        self.parked.borrow_mut().insert(id, (l, opts));
    }

    /// Takes a parked listener back.
    pub(crate) fn unpark_listener(&self, id: u32) -> Option<(BoundListener, ServerOptions)> {
        self.parked.borrow_mut().remove(&id)
    }

    /// Stops accepting on server `id` before returning, whichever the driver: the main driver
    /// applies the command at once; the thread driver's reactor is waited for (briefly: it only
    /// closes a socket) so that a connect made after `close()` returns is refused.
    pub(crate) fn close_server_now(&self, id: u32) {
        match &self.driver {
            Driver::Thread(_) => {
                let told = self.handle.close_server_notified(id);
                // A stopped reactor drops the sender: the wait ends at once then.
                let _ = told.recv_timeout(std::time::Duration::from_secs(1));
            }
            #[cfg(unix)]
            Driver::Main(_) => self.command(|h| h.close_server(id)),
        }
    }

    /// Runs `f` with the handle: queued for the reactor thread, or (main driver) applied at once.
    pub(crate) fn command<R>(&self, f: impl FnOnce(&Handle) -> R) -> R {
        let r = f(&self.handle);
        #[cfg(unix)]
        if let Driver::Main(ml) = &self.driver {
            ml.with_reactor(|reactor: &mut Reactor, batch: &mut EventBatch| {
                reactor.apply_queued(batch)
            });
        }
        r
    }
}

impl Drop for NativeLoop {
    fn drop(&mut self) {
        self.stop();
    }
}
