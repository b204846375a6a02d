//! The `main` driver: the reactor's turns run on Node's own thread. libuv watches the reactor's
//! poll fd (`uv_poll_t`) and its next deadline (`uv_timer_t`); each wake-up runs one turn with a
//! zero timeout and hands the turn's events to JS in one call (`napi_make_callback`, so promise
//! jobs run after it as after any libuv callback). Commands from JS apply at once: no queue, no
//! waker, no ThreadsafeFunction. Wake-ups from other threads (name lookups) still come through
//! the engine's waker, which lives in the same poll set.
//!
//! Lifetimes: `MainLoop` is reference-counted; the libuv handles hold a raw pointer to it in
//! their `data` field and are closed (`close()`) before the last reference can go, and libuv
//! calls no callback of a closed handle. Everything here runs on the JS thread.

use std::cell::{Cell, RefCell};
use std::ffi::c_void;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::ptr;
use std::rc::Rc;
use std::sync::Arc;
use std::time::{Duration, Instant};

use evasync::{Command, Reactor};
use napi::sys;

use crate::events::{Outbox, ThreadSink};
use crate::uv::{self, Uv};

/// Deliveries of follow-up events within one libuv wake-up before yielding back to libuv (the
/// rest goes out on the next loop iteration through a zero timer).
const MAX_DELIVERIES_PER_WAKE: usize = 8;

struct Inner {
    reactor: Reactor,
    sink: ThreadSink,
}

/// The reactor and its libuv handles, driven from Node's loop.
pub(crate) struct MainLoop {
    inner: RefCell<Inner>,
    outbox: Arc<Outbox>,
    uv: &'static Uv,
    env: sys::napi_env,
    callback: sys::napi_ref,
    async_ctx: sys::napi_async_context,
    handles: RefCell<Option<(uv::Poll, uv::Timer)>>,
    /// The deadline the uv timer is armed for (None: stopped).
    armed: Cell<Option<Instant>>,
    /// True while a libuv callback of ours runs: commands applied meanwhile leave delivery and
    /// re-arming to that callback instead of arming a zero timer.
    in_callback: Cell<bool>,
    closed: Cell<bool>,
}

fn napi_ok(status: sys::napi_status, what: &str) -> Result<(), String> {
    if status == sys::Status::napi_ok {
        Ok(())
    } else {
        Err(format!("{what} failed with napi status {status}"))
    }
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
        sink: ThreadSink,
        outbox: Arc<Outbox>,
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
            napi_ok(
                sys::napi_get_uv_event_loop(env, &mut uv_loop),
                "napi_get_uv_event_loop",
            )?;
            napi_ok(
                sys::napi_create_reference(env, callback, 1, &mut cb_ref),
                "napi_create_reference",
            )?;
            napi_ok(
                sys::napi_create_object(env, &mut resource),
                "napi_create_object",
            )?;
            napi_ok(
                sys::napi_create_string_utf8(env, c"evasync".as_ptr(), 7, &mut name),
                "napi_create_string_utf8",
            )?;
            napi_ok(
                sys::napi_async_init(env, resource, name, &mut async_ctx),
                "napi_async_init",
            )?;
        }
        let fd = reactor.poll_fd();
        let ml = Rc::new(MainLoop {
            inner: RefCell::new(Inner { reactor, sink }),
            outbox,
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

    /// Applies a command now; events it produced are delivered on the next loop iteration.
    pub fn apply(&self, cmd: Command) {
        self.apply_all(std::iter::once(cmd));
    }

    /// Applies several commands now.
    pub fn apply_all(&self, cmds: impl IntoIterator<Item = Command>) {
        if self.closed.get() {
            return;
        }
        {
            let mut inner = self.inner.borrow_mut();
            let Inner { reactor, sink } = &mut *inner;
            for cmd in cmds {
                if catch_unwind(AssertUnwindSafe(|| reactor.apply(cmd, sink))).is_err() {
                    sink.batch
                        .fatal("reactor panicked while applying a command");
                    break;
                }
            }
            if !self.in_callback.get() {
                // Outside a batch callback nothing else will come to join these writes.
                Self::flush(reactor, sink);
            }
            // Events these commands produced wait in the sink's batch: published with the next
            // turn's (inside a callback, right after it), so a burst of commands makes one batch.
        }
        if !self.in_callback.get() {
            self.rearm();
        }
    }

    /// Writes what commands deferred (HTTP responses), containing a panic like any command.
    fn flush(reactor: &mut Reactor, sink: &mut ThreadSink) {
        if catch_unwind(AssertUnwindSafe(|| reactor.flush_deferred(sink))).is_err() {
            sink.batch.fatal("reactor panicked while writing responses");
        }
    }

    /// Bytes of socket `id` in the kernel so far, if the reactor holds it.
    pub fn flushed_total(&self, id: u32) -> Option<u64> {
        self.inner.borrow().reactor.flushed_total(id)
    }

    fn turn_and_deliver(&self) {
        if self.closed.get() {
            return;
        }
        self.in_callback.set(true);
        {
            let mut inner = self.inner.borrow_mut();
            let Inner { reactor, sink } = &mut *inner;
            match catch_unwind(AssertUnwindSafe(|| {
                reactor.turn(Some(Duration::ZERO), sink)
            })) {
                Ok(Ok(())) => {}
                Ok(Err(e)) => sink.batch.fatal(&format!("reactor poll failed: {e}")),
                Err(_) => sink.batch.fatal("reactor panicked"),
            }
            sink.publish();
        }
        // Events that the JS callbacks' own commands produced (a write's flush report, say) go
        // out in this same wake-up; bounded, so a callback chain cannot starve libuv.
        for _ in 0..MAX_DELIVERIES_PER_WAKE {
            if self.closed.get() || self.outbox.is_empty() {
                break;
            }
            self.deliver();
            // Responses the callback queued leave now: one write per connection per batch.
            if !self.closed.get() {
                let mut inner = self.inner.borrow_mut();
                let Inner { reactor, sink } = &mut *inner;
                Self::flush(reactor, sink);
                sink.publish();
            }
        }
        self.in_callback.set(false);
        self.rearm();
    }

    /// Calls JS's batch callback if batches wait.
    fn deliver(&self) {
        if self.closed.get() || self.outbox.is_empty() {
            return;
        }
        let env = self.env;
        // SAFETY: we are on the JS thread inside a libuv callback (no JS frame is running), which
        // is where napi_make_callback is meant to be used; the reference and async context were
        // made for this env and live until `close()`.
        unsafe {
            let mut scope: sys::napi_handle_scope = ptr::null_mut();
            if sys::napi_open_handle_scope(env, &mut scope) != sys::Status::napi_ok {
                return;
            }
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
                0,
                ptr::null(),
                &mut result,
            );
            if status == sys::Status::napi_pending_exception {
                // The dispatcher catches user errors itself; anything else is a bug: surface it
                // as an uncaught exception rather than lose it.
                let mut exc: sys::napi_value = ptr::null_mut();
                sys::napi_get_and_clear_last_exception(env, &mut exc);
                sys::napi_fatal_exception(env, exc);
            }
            sys::napi_close_handle_scope(env, scope);
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
            if !self.outbox.is_empty()
                || !inner.sink.batch.is_empty()
                || inner.reactor.has_pending_work()
            {
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
        self.apply(Command::Exit);
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
