//! The `main` driver: the reactor's turns run on Node's own thread. libuv watches the reactor's
//! poll fd (`uv_poll_t`) and its next deadline (`uv_timer_t`); each wake-up runs one turn with a
//! zero timeout, copies the turn's events into the shared memory and calls JS once with their
//! size (`napi_make_callback`, so promise jobs run after it as after any libuv callback); then
//! it applies, in one step, every operation JS wrote meanwhile. A hello-world request costs one
//! JS entry, no call back into native, one `recv` and one `send`. Commands made outside a
//! delivery apply when JS asks; wake-ups from other threads (name lookups) come through the
//! engine's waker, which lives in the same poll set.
//!
//! Lifetimes: `MainLoop` is reference-counted; the libuv handles hold a raw pointer to it in
//! their `data` field and are closed (`close()`) before the last reference can go, and libuv
//! calls no callback of a closed handle. Everything here runs on the JS thread.

use std::cell::{Cell, RefCell};
use std::ffi::c_void;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::ptr;
use std::rc::Rc;
use std::time::{Duration, Instant};

use evasync::wire::events::EventBatch;
use evasync::Reactor;
use napi::sys;

use crate::shared::{check, SharedMemory};
use crate::uv::{self, Uv};

/// Deliveries of follow-up events within one libuv wake-up before yielding back to libuv (the
/// rest goes out on the next loop iteration through a zero timer).
const MAX_DELIVERIES_PER_WAKE: usize = 8;

struct Inner {
    reactor: Reactor,
    batch: EventBatch,
}

/// The reactor and its libuv handles, driven from Node's loop.
pub(crate) struct MainLoop {
    inner: RefCell<Inner>,
    memory: Rc<RefCell<SharedMemory>>,
    uv: &'static Uv,
    env: sys::napi_env,
    callback: sys::napi_ref,
    async_ctx: sys::napi_async_context,
    handles: RefCell<Option<(uv::Poll, uv::Timer)>>,
    /// The deadline the uv timer is armed for (None: stopped).
    armed: Cell<Option<Instant>>,
    /// True while a libuv callback of ours runs: what JS does meanwhile is applied and
    /// delivered by that callback, not by arming a zero timer.
    in_callback: Cell<bool>,
    closed: Cell<bool>,
}

unsafe extern "C" fn on_poll(handle: *mut c_void, _status: i32, _events: i32) {
    // SAFETY: `handle` is our open poll handle, whose data is a live `MainLoop` (see module docs).
    unsafe { wake(uv::handle_data(handle) as *const MainLoop) };
}

unsafe extern "C" fn on_timer(handle: *mut c_void) {
    // SAFETY: as for `on_poll`, for the timer handle.
    unsafe {
        let ml = uv::handle_data(handle) as *const MainLoop;
        // The one-shot timer has fired: it is no longer armed. (libuv counts from its cached loop
        // time, so it may fire a little before our deadline; `rearm` then arms it again.)
        (*ml).armed.set(None);
        wake(ml);
    }
}

/// # Safety
/// `ml` must be the pointer a live `Rc<MainLoop>` gave to its handles.
unsafe fn wake(ml: *const MainLoop) {
    // SAFETY: the handles are open, so the Rc they point into is alive; taking a strong count
    // for the duration of the call keeps it alive even if JS ends the loop inside the call.
    let ml = unsafe {
        Rc::increment_strong_count(ml);
        Rc::from_raw(ml)
    };
    // No panic may unwind into libuv.
    let _ = catch_unwind(AssertUnwindSafe(|| ml.turn_and_deliver()));
}

impl MainLoop {
    /// Creates the driver and starts watching the reactor's poll fd.
    pub fn start(
        reactor: Reactor,
        memory: Rc<RefCell<SharedMemory>>,
        env: sys::napi_env,
        callback: sys::napi_value,
    ) -> Result<Rc<MainLoop>, String> {
        let uv = Uv::get()?;
        let mut uv_loop: *mut sys::uv_loop_s = ptr::null_mut();
        let mut cb_ref: sys::napi_ref = ptr::null_mut();
        let mut resource: sys::napi_value = ptr::null_mut();
        let mut name: sys::napi_value = ptr::null_mut();
        let mut async_ctx: sys::napi_async_context = ptr::null_mut();
        // SAFETY: `env` is the calling environment and `callback` a function value of this call;
        // the out-pointers are valid locals.
        unsafe {
            check(
                sys::napi_get_uv_event_loop(env, &mut uv_loop),
                "napi_get_uv_event_loop",
            )?;
            check(
                sys::napi_create_reference(env, callback, 1, &mut cb_ref),
                "napi_create_reference",
            )?;
            check(
                sys::napi_create_object(env, &mut resource),
                "napi_create_object",
            )?;
            check(
                sys::napi_create_string_utf8(env, c"evasync".as_ptr(), 7, &mut name),
                "napi_create_string_utf8",
            )?;
            check(
                sys::napi_async_init(env, resource, name, &mut async_ctx),
                "napi_async_init",
            )?;
        }
        // JS's commands are applied right after it makes them: no wake-up needed.
        reactor.set_driven_locally(true);
        let fd = reactor.poll_fd();
        let ml = Rc::new(MainLoop {
            inner: RefCell::new(Inner {
                reactor,
                batch: EventBatch::default(),
            }),
            memory,
            uv,
            env,
            callback: cb_ref,
            async_ctx,
            handles: RefCell::new(None),
            armed: Cell::new(None),
            in_callback: Cell::new(false),
            closed: Cell::new(false),
        });
        let data = Rc::as_ptr(&ml) as *mut c_void;
        // SAFETY: the loop is this environment's; `data` stays valid until the handles close
        // (`close()` runs before the Rc can be dropped: NativeLoop's exit/Drop).
        let poll = unsafe { uv::Poll::start(uv, uv_loop.cast(), fd, data, on_poll)? };
        // SAFETY: as above.
        let timer = match unsafe { uv::Timer::init(uv, uv_loop.cast(), data) } {
            Ok(t) => t,
            Err(e) => {
                poll.close(uv);
                return Err(e);
            }
        };
        *ml.handles.borrow_mut() = Some((poll, timer));
        ml.rearm();
        Ok(ml)
    }

    /// Runs `f` on the reactor (a command of the binding's: listen, connect, look up), then, if
    /// no delivery is under way to take care of them, writes what it deferred and arms the timer
    /// so its events go out on the next loop iteration.
    pub fn with_reactor<R>(&self, f: impl FnOnce(&mut Reactor, &mut EventBatch) -> R) -> Option<R> {
        if self.closed.get() {
            return None;
        }
        let r = {
            let mut inner = self.inner.borrow_mut();
            let Inner { reactor, batch } = &mut *inner;
            match catch_unwind(AssertUnwindSafe(|| f(reactor, batch))) {
                Ok(r) => Some(r),
                Err(_) => {
                    batch.fatal("reactor panicked while applying a command");
                    None
                }
            }
        };
        if !self.in_callback.get() {
            self.rearm();
        }
        r
    }

    /// Applies the operations JS wrote (outside a delivery, when JS asks).
    pub fn apply_ops(&self) {
        self.with_reactor(|reactor, batch| {
            let mut memory = self.memory.borrow_mut();
            if let Some(p) = memory.take_ops() {
                reactor.apply_ops(p.ops, p.data, Some(p.results), batch);
            }
            reactor.apply_queued(batch);
        });
    }

    /// [`evasync::Reactor::write_lent`] after the operations JS wrote before it; the flushed
    /// total, or -1.
    pub fn write_lent(&self, id: u32, data: &[u8], notify_at: Option<u64>) -> f64 {
        self.apply_ops();
        self.with_reactor(|reactor, batch| reactor.write_lent(id, data, notify_at, batch))
            .flatten()
            .map_or(-1.0, |n| n as f64)
    }

    fn turn_and_deliver(&self) {
        if self.closed.get() {
            return;
        }
        self.in_callback.set(true);
        self.with_reactor(|reactor, batch| {
            if let Err(e) = reactor.turn(Some(Duration::ZERO), batch) {
                batch.fatal(&format!("reactor poll failed: {e}"));
            }
        });
        // Events that JS's own operations produced (a write's flush report, say) go out in this
        // same wake-up; bounded, so a callback chain cannot starve libuv.
        for _ in 0..MAX_DELIVERIES_PER_WAKE {
            if self.closed.get() || !self.deliver() {
                break;
            }
            self.apply_ops();
        }
        self.in_callback.set(false);
        self.rearm();
    }

    /// Calls JS with the waiting events, if any; false when there were none.
    fn deliver(&self) -> bool {
        let batch = {
            let mut inner = self.inner.borrow_mut();
            if inner.batch.is_empty() {
                return false;
            }
            std::mem::take(&mut inner.batch)
        };
        let env = self.env;
        let mut scope: sys::napi_handle_scope = ptr::null_mut();
        // SAFETY: JS thread, inside a libuv callback: the values made for this delivery live in a
        // handle scope of their own, closed below.
        if unsafe { sys::napi_open_handle_scope(env, &mut scope) } != sys::Status::napi_ok {
            return false;
        }
        let staged = self.memory.borrow_mut().stage(&batch);
        match staged {
            Ok(args) => self.call_js(&args),
            Err(e) => self
                .inner
                .borrow_mut()
                .batch
                .fatal(&format!("cannot deliver events: {e}")),
        }
        self.memory.borrow_mut().delivered();
        // SAFETY: the scope opened above.
        unsafe { sys::napi_close_handle_scope(env, scope) };
        // Give the (cleared) batch back for reuse, unless commands made during the call
        // started another one.
        let mut inner = self.inner.borrow_mut();
        if inner.batch.is_empty() {
            let mut batch = batch;
            batch.clear();
            inner.batch = batch;
        }
        true
    }

    fn call_js(&self, args: &[sys::napi_value]) {
        let env = self.env;
        // SAFETY: we are on the JS thread inside a libuv callback (no JS frame is running), which
        // is where napi_make_callback is meant to be used; the reference and async context were
        // made for this env and live until `close()`; `args` are values of the open scope.
        unsafe {
            let mut func: sys::napi_value = ptr::null_mut();
            let mut recv: sys::napi_value = ptr::null_mut();
            let mut result: sys::napi_value = ptr::null_mut();
            sys::napi_get_reference_value(env, self.callback, &mut func);
            sys::napi_get_global(env, &mut recv);
            let status = sys::napi_make_callback(
                env,
                self.async_ctx,
                recv,
                func,
                args.len(),
                args.as_ptr(),
                &mut result,
            );
            if status == sys::Status::napi_pending_exception {
                // The dispatcher catches user errors itself; anything else is a bug: surface it
                // as an uncaught exception rather than lose it.
                let mut exc: sys::napi_value = ptr::null_mut();
                sys::napi_get_and_clear_last_exception(env, &mut exc);
                sys::napi_fatal_exception(env, exc);
            }
        }
    }

    /// Arms the uv timer for the reactor's next deadline, or at once when work or undelivered
    /// events are waiting; stops it when nothing is due.
    fn rearm(&self) {
        if self.closed.get() {
            return;
        }
        let handles = self.handles.borrow();
        let Some((_, timer)) = handles.as_ref() else {
            return;
        };
        let now = Instant::now();
        let target = {
            let inner = self.inner.borrow();
            if !inner.batch.is_empty() || inner.reactor.has_pending_work() {
                Some(now)
            } else {
                inner.reactor.next_deadline()
            }
        };
        match target {
            None => {
                if self.armed.replace(None).is_some() {
                    timer.stop(self.uv);
                }
            }
            Some(at) => {
                if at <= now || self.armed.get() != Some(at) {
                    // libuv counts whole milliseconds: round up so nothing fires early.
                    let wait = at.saturating_duration_since(now);
                    let ms =
                        wait.as_millis() as u64 + u64::from(wait.subsec_nanos() % 1_000_000 != 0);
                    timer.start(self.uv, ms, on_timer);
                    self.armed.set(Some(at));
                }
            }
        }
    }

    /// Stops the reactor (dropping everything it holds) and closes the libuv handles.
    pub fn close(&self) {
        if self.closed.get() {
            return;
        }
        self.with_reactor(|reactor, batch| {
            reactor.handle().exit();
            reactor.apply_queued(batch);
        });
        self.closed.set(true);
        if let Some((poll, timer)) = self.handles.borrow_mut().take() {
            poll.close(self.uv);
            timer.close(self.uv);
        }
        // SAFETY: same env, JS thread; the reference and context are not used after this.
        unsafe {
            sys::napi_delete_reference(self.env, self.callback);
            sys::napi_async_destroy(self.env, self.async_ctx);
        }
    }
}
