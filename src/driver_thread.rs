//! The `thread` driver: the reactor runs `turn` in a loop on a thread of its own. Each turn's
//! events become one batch in the [`Outbox`]; the reactor calls one napi ThreadsafeFunction only
//! when the outbox goes from empty to non-empty. On the JS thread the function's callback copies
//! each waiting batch into the shared memory and calls JS with its size, then hands the
//! operations JS wrote to the reactor as one command.
//!
//! The ThreadsafeFunction is created with a context (the JS-thread side: shared memory, handle)
//! that its finalizer frees; the reactor thread holds it while it runs and releases it when it
//! ends, after which Node no longer waits for it.

use std::cell::{Cell, RefCell};
use std::ffi::c_void;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::ptr;
use std::rc::Rc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::thread::JoinHandle;

use evasync::wire::events::{EventBatch, BACKLOG_HIGH};
use evasync::{Event, EventSink, Handle, Reactor};
use napi::sys;

use crate::shared::{check, SharedMemory};

/// Batches kept for reuse (their memory stays mapped; a fresh one would fault its pages in).
const POOL_MAX: usize = 4;
/// Batches bigger than this are freed rather than kept.
const KEEP_MAX_CAPACITY: usize = 512 * 1024;

/// The ThreadsafeFunction, which napi lets any thread call.
#[derive(Clone, Copy)]
struct Tsfn(sys::napi_threadsafe_function);

// SAFETY: a napi_threadsafe_function may be called and released from any thread; that is its
// purpose.
unsafe impl Send for Tsfn {}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

/// Batches waiting for JS, shared by the reactor thread (producer) and the JS thread (consumer).
pub(crate) struct Outbox {
    queue: Mutex<Vec<EventBatch>>,
    /// Delivered batches, cleared, ready for reuse.
    pool: Mutex<Vec<EventBatch>>,
    /// True from the ThreadsafeFunction call until JS drains: at most one call in flight.
    scheduled: AtomicBool,
    /// Arena bytes published and not yet delivered.
    backlog: AtomicUsize,
    handle: Handle,
}

impl Outbox {
    fn new(handle: Handle) -> Outbox {
        Outbox {
            queue: Mutex::new(Vec::new()),
            pool: Mutex::new(Vec::new()),
            scheduled: AtomicBool::new(false),
            backlog: AtomicUsize::new(0),
            handle,
        }
    }

    /// Takes every waiting batch (JS thread). Clears the flag first, so a batch published during
    /// the take schedules a new call rather than being stranded.
    fn drain(&self) -> Vec<EventBatch> {
        self.scheduled.store(false, Ordering::SeqCst);
        let batches = std::mem::take(&mut *lock(&self.queue));
        let bytes: usize = batches.iter().map(|b| b.arena.len()).sum();
        let before = self.backlog.fetch_sub(bytes, Ordering::SeqCst);
        if before > BACKLOG_HIGH && before - bytes <= BACKLOG_HIGH {
            // The reactor may be holding reads back for us: let it resume.
            self.handle.wake();
        }
        batches
    }

    fn recycle(&self, mut batch: EventBatch) {
        if batch.arena.capacity() > KEEP_MAX_CAPACITY {
            return;
        }
        batch.clear();
        let mut pool = lock(&self.pool);
        if pool.len() < POOL_MAX {
            pool.push(batch);
        }
    }
}

/// The reactor-side sink: encodes into the current batch and publishes it after each turn.
struct ThreadSink {
    batch: EventBatch,
    outbox: Arc<Outbox>,
    tsfn: Tsfn,
}

impl ThreadSink {
    /// Hands the current batch to JS; calls the ThreadsafeFunction only if no call is pending.
    fn publish(&mut self) {
        if self.batch.is_empty() {
            return;
        }
        let fresh = lock(&self.outbox.pool).pop().unwrap_or_default();
        let batch = std::mem::replace(&mut self.batch, fresh);
        self.outbox
            .backlog
            .fetch_add(batch.arena.len(), Ordering::SeqCst);
        lock(&self.outbox.queue).push(batch);
        if !self.outbox.scheduled.swap(true, Ordering::SeqCst) {
            // SAFETY: the function is live until this thread releases it (see `run`).
            unsafe {
                sys::napi_call_threadsafe_function(
                    self.tsfn.0,
                    ptr::null_mut(),
                    sys::ThreadsafeFunctionCallMode::nonblocking,
                )
            };
        }
    }
}

impl EventSink for ThreadSink {
    fn event(&mut self, ev: Event<'_>) {
        self.batch.encode(ev);
    }

    fn backpressured(&self) -> bool {
        self.batch.is_full() || self.outbox.backlog.load(Ordering::Relaxed) >= BACKLOG_HIGH
    }
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
fn run(mut reactor: Reactor, mut sink: ThreadSink) {
    loop {
        let turn = catch_unwind(AssertUnwindSafe(|| reactor.turn(None, &mut sink)));
        let fatal = match turn {
            Ok(Ok(())) => None,
            Ok(Err(e)) => Some(format!("reactor poll failed: {e}")),
            Err(p) => Some(format!("reactor panicked: {}", panic_text(&*p))),
        };
        if let Some(msg) = &fatal {
            sink.batch.fatal(msg);
        }
        if fatal.is_some() || reactor.stopped() {
            sink.publish();
            break;
        }
        sink.publish();
    }
    // SAFETY: this thread held the function since it started; releasing it once lets Node
    // finalize it when no call is pending.
    unsafe {
        sys::napi_release_threadsafe_function(
            sink.tsfn.0,
            sys::ThreadsafeFunctionReleaseMode::release,
        )
    };
}

/// The JS-thread side, the ThreadsafeFunction's context (freed by its finalizer).
struct JsSide {
    outbox: Arc<Outbox>,
    memory: Rc<RefCell<SharedMemory>>,
    handle: Handle,
    /// Set when the loop ended: batches still queued are dropped.
    closed: Rc<Cell<bool>>,
}

unsafe extern "C" fn call_js(
    env: sys::napi_env,
    js_cb: sys::napi_value,
    context: *mut c_void,
    _data: *mut c_void,
) {
    if env.is_null() || context.is_null() {
        return; // the function is being torn down
    }
    // SAFETY: `context` is the `JsSide` given at creation, freed only by the finalizer, which
    // napi runs after the last call; this runs on the JS thread.
    let side = unsafe { &*(context as *const JsSide) };
    let _ = catch_unwind(AssertUnwindSafe(|| deliver(env, js_cb, side)));
}

fn deliver(env: sys::napi_env, js_cb: sys::napi_value, side: &JsSide) {
    for batch in side.outbox.drain() {
        if !side.closed.get() {
            let staged = side.memory.borrow_mut().stage(&batch);
            if let Ok(args) = staged {
                call(env, js_cb, &args);
            }
            side.memory.borrow_mut().delivered();
            // What JS wrote during the call goes to the reactor as one command.
            if let Some(p) = side.memory.borrow_mut().take_ops() {
                side.handle.submit_ops(p.ops.to_vec(), p.data.to_vec());
            }
        }
        side.outbox.recycle(batch);
    }
}

fn call(env: sys::napi_env, js_cb: sys::napi_value, args: &[sys::napi_value]) {
    // SAFETY: inside the ThreadsafeFunction's callback on the JS thread; `js_cb` and `args` are
    // values of this scope.
    unsafe {
        let mut recv: sys::napi_value = ptr::null_mut();
        let mut result: sys::napi_value = ptr::null_mut();
        sys::napi_get_undefined(env, &mut recv);
        let status =
            sys::napi_call_function(env, recv, js_cb, args.len(), args.as_ptr(), &mut result);
        if status == sys::Status::napi_pending_exception {
            // The dispatcher catches user errors itself; anything else is a bug: surface it.
            let mut exc: sys::napi_value = ptr::null_mut();
            sys::napi_get_and_clear_last_exception(env, &mut exc);
            sys::napi_fatal_exception(env, exc);
        }
    }
}

unsafe extern "C" fn finalize(_env: sys::napi_env, data: *mut c_void, _hint: *mut c_void) {
    if !data.is_null() {
        // SAFETY: `data` is the Box<JsSide> leaked at creation; napi finalizes once.
        drop(unsafe { Box::from_raw(data as *mut JsSide) });
    }
}

/// The running thread driver.
pub(crate) struct ThreadDriver {
    thread: Mutex<Option<JoinHandle<()>>>,
    handle: Handle,
    closed: Rc<Cell<bool>>,
}

impl ThreadDriver {
    /// Starts the reactor on its own thread, delivering to `callback`.
    pub fn start(
        env: sys::napi_env,
        callback: sys::napi_value,
        reactor: Reactor,
        memory: Rc<RefCell<SharedMemory>>,
    ) -> Result<ThreadDriver, String> {
        let handle = reactor.handle();
        let outbox = Arc::new(Outbox::new(handle.clone()));
        let closed = Rc::new(Cell::new(false));
        let side = Box::into_raw(Box::new(JsSide {
            outbox: outbox.clone(),
            memory,
            handle: handle.clone(),
            closed: closed.clone(),
        }));
        let mut name: sys::napi_value = ptr::null_mut();
        let mut tsfn: sys::napi_threadsafe_function = ptr::null_mut();
        // SAFETY: JS thread, current env; `callback` is a function value of this call; `side`
        // is handed to the function as context and to its finalizer, which frees it.
        let created = unsafe {
            check(
                sys::napi_create_string_utf8(env, c"evasync".as_ptr(), 7, &mut name),
                "napi_create_string_utf8",
            )
            .and_then(|()| {
                check(
                    sys::napi_create_threadsafe_function(
                        env,
                        callback,
                        ptr::null_mut(),
                        name,
                        0,
                        1,
                        side.cast(),
                        Some(finalize),
                        side.cast(),
                        Some(call_js),
                        &mut tsfn,
                    ),
                    "napi_create_threadsafe_function",
                )
            })
        };
        if let Err(e) = created {
            // SAFETY: the function was not made, so nothing else owns `side`.
            drop(unsafe { Box::from_raw(side) });
            return Err(e);
        }
        let sink = ThreadSink {
            batch: EventBatch::default(),
            outbox,
            tsfn: Tsfn(tsfn),
        };
        let thread = std::thread::Builder::new()
            .name("evasync-reactor".into())
            .spawn(move || run(reactor, sink))
            .map_err(|e| {
                // SAFETY: the thread that would have held the function never started: release
                // it here so Node does not wait for it.
                unsafe {
                    sys::napi_release_threadsafe_function(
                        tsfn,
                        sys::ThreadsafeFunctionReleaseMode::release,
                    )
                };
                format!("cannot start the reactor thread: {e}")
            })?;
        Ok(ThreadDriver {
            thread: Mutex::new(Some(thread)),
            handle,
            closed,
        })
    }

    /// Stops the reactor and waits for its thread (which releases the function). Idempotent.
    pub fn stop(&self) {
        self.closed.set(true);
        let thread = lock(&self.thread).take();
        if let Some(t) = thread {
            self.handle.exit();
            let _ = t.join();
        }
    }
}
