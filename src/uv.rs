//! The few libuv entry points the main-thread driver needs, resolved with `dlsym` from the
//! running Node process (Node exports libuv's symbols for addons). No libuv is built or linked;
//! handles are sized at run time with `uv_handle_size`, so no libuv struct layout is assumed
//! except that a handle starts with its `void *data` field, which libuv documents as public.

use std::ffi::{c_int, c_void, CStr};
use std::sync::OnceLock;

/// libuv's `uv_handle_type` values we use (uv.h, `UV_HANDLE_TYPE_MAP` order).
const UV_POLL: c_int = 8;
const UV_TIMER: c_int = 13;
/// `uv_poll_event`: readable.
pub const UV_READABLE: c_int = 1;

pub type PollCb = unsafe extern "C" fn(handle: *mut c_void, status: c_int, events: c_int);
pub type TimerCb = unsafe extern "C" fn(handle: *mut c_void);
pub type CloseCb = unsafe extern "C" fn(handle: *mut c_void);

type HandleSizeFn = unsafe extern "C" fn(c_int) -> usize;
type PollInitFn = unsafe extern "C" fn(*mut c_void, *mut c_void, c_int) -> c_int;
type PollStartFn = unsafe extern "C" fn(*mut c_void, c_int, PollCb) -> c_int;
type StopFn = unsafe extern "C" fn(*mut c_void) -> c_int;
type TimerInitFn = unsafe extern "C" fn(*mut c_void, *mut c_void) -> c_int;
type TimerStartFn = unsafe extern "C" fn(*mut c_void, TimerCb, u64, u64) -> c_int;
type CloseFn = unsafe extern "C" fn(*mut c_void, CloseCb);

/// libuv functions, as found in the process.
pub struct Uv {
    handle_size: HandleSizeFn,
    poll_init: PollInitFn,
    poll_start: PollStartFn,
    poll_stop: StopFn,
    timer_init: TimerInitFn,
    timer_start: TimerStartFn,
    timer_stop: StopFn,
    close: CloseFn,
}

fn sym(name: &CStr) -> Result<*mut c_void, String> {
    // SAFETY: dlsym with RTLD_DEFAULT searches the symbols already loaded in this process; the
    // name is a valid NUL-terminated string.
    let p = unsafe { libc::dlsym(libc::RTLD_DEFAULT, name.as_ptr()) };
    if p.is_null() {
        Err(format!("libuv symbol {name:?} not found in this process"))
    } else {
        Ok(p)
    }
}

impl Uv {
    fn load() -> Result<Uv, String> {
        // SAFETY: each symbol is a libuv function whose C signature is the one written in the
        // field's type (uv.h, stable since libuv 1.0); transmuting the data pointer returned by
        // dlsym to that function pointer type is how dlsym is meant to be used.
        unsafe {
            Ok(Uv {
                handle_size: std::mem::transmute::<*mut c_void, HandleSizeFn>(sym(
                    c"uv_handle_size",
                )?),
                poll_init: std::mem::transmute::<*mut c_void, PollInitFn>(sym(c"uv_poll_init")?),
                poll_start: std::mem::transmute::<*mut c_void, PollStartFn>(sym(c"uv_poll_start")?),
                poll_stop: std::mem::transmute::<*mut c_void, StopFn>(sym(c"uv_poll_stop")?),
                timer_init: std::mem::transmute::<*mut c_void, TimerInitFn>(sym(c"uv_timer_init")?),
                timer_start: std::mem::transmute::<*mut c_void, TimerStartFn>(sym(
                    c"uv_timer_start",
                )?),
                timer_stop: std::mem::transmute::<*mut c_void, StopFn>(sym(c"uv_timer_stop")?),
                close: std::mem::transmute::<*mut c_void, CloseFn>(sym(c"uv_close")?),
            })
        }
    }

    /// The process's libuv, loaded once.
    pub fn get() -> Result<&'static Uv, String> {
        static UV: OnceLock<Result<Uv, String>> = OnceLock::new();
        UV.get_or_init(Uv::load).as_ref().map_err(Clone::clone)
    }
}

/// One libuv handle's memory: `calloc`'d with `uv_handle_size` bytes (malloc alignment suits
/// every libuv handle), owned by us until libuv's close callback frees it.
pub struct HandleMem {
    ptr: *mut c_void,
}

impl HandleMem {
    fn alloc(uv: &Uv, kind: c_int) -> Result<HandleMem, String> {
        // SAFETY: uv_handle_size only reads its argument; calloc returns zeroed memory or null.
        let ptr = unsafe { libc::calloc(1, (uv.handle_size)(kind).max(64)) };
        if ptr.is_null() {
            return Err("out of memory for a libuv handle".into());
        }
        Ok(HandleMem { ptr })
    }

    pub fn ptr(&self) -> *mut c_void {
        self.ptr
    }

    /// Sets the handle's `data` field (its first member, public in uv.h).
    pub fn set_data(&self, data: *mut c_void) {
        // SAFETY: `ptr` points to at least 64 bytes we own, malloc-aligned.
        unsafe { *(self.ptr as *mut *mut c_void) = data };
    }
}

/// Reads a handle's `data` field.
///
/// # Safety
/// `handle` must be a live handle allocated by `HandleMem`.
pub unsafe fn handle_data(handle: *mut c_void) -> *mut c_void {
    // SAFETY: per the contract, `handle` points to a handle whose first field is `data`.
    unsafe { *(handle as *mut *mut c_void) }
}

/// libuv's close callback: the handle is done with, free its memory.
unsafe extern "C" fn free_handle(handle: *mut c_void) {
    // SAFETY: `handle` was calloc'd by `HandleMem::alloc`; libuv calls this once, after which it
    // no longer touches the memory.
    unsafe { libc::free(handle) };
}

/// A started `uv_poll_t` watching one fd for readability.
pub struct Poll {
    mem: HandleMem,
}

/// A `uv_timer_t`.
pub struct Timer {
    mem: HandleMem,
}

impl Poll {
    /// Initialises a poll handle on `fd` in `uv_loop` and starts it.
    ///
    /// # Safety
    /// `uv_loop` must be the running Node environment's loop; `data` must stay valid until the
    /// handle is closed; `cb` runs on the loop's thread.
    pub unsafe fn start(
        uv: &Uv,
        uv_loop: *mut c_void,
        fd: c_int,
        data: *mut c_void,
        cb: PollCb,
    ) -> Result<Poll, String> {
        let mem = HandleMem::alloc(uv, UV_POLL)?;
        // SAFETY: `mem` is zeroed memory of uv_handle_size(UV_POLL) bytes; the loop is live.
        let rc = unsafe { (uv.poll_init)(uv_loop, mem.ptr(), fd) };
        if rc != 0 {
            // SAFETY: init failed, so libuv does not own the memory; free it ourselves.
            unsafe { libc::free(mem.ptr()) };
            return Err(format!("uv_poll_init failed: {rc}"));
        }
        mem.set_data(data);
        // SAFETY: the handle was initialised above.
        let rc = unsafe { (uv.poll_start)(mem.ptr(), UV_READABLE, cb) };
        let poll = Poll { mem };
        if rc != 0 {
            poll.close(uv);
            return Err(format!("uv_poll_start failed: {rc}"));
        }
        Ok(poll)
    }

    /// Stops and closes the handle; its memory is freed by libuv's close callback.
    pub fn close(self, uv: &Uv) {
        // SAFETY: the handle is initialised and not yet closed (close consumes self).
        unsafe {
            (uv.poll_stop)(self.mem.ptr());
            (uv.close)(self.mem.ptr(), free_handle);
        }
    }
}

impl Timer {
    /// Initialises a timer handle.
    ///
    /// # Safety
    /// As for `Poll::start`.
    pub unsafe fn init(uv: &Uv, uv_loop: *mut c_void, data: *mut c_void) -> Result<Timer, String> {
        let mem = HandleMem::alloc(uv, UV_TIMER)?;
        // SAFETY: zeroed memory of the right size; the loop is live.
        let rc = unsafe { (uv.timer_init)(uv_loop, mem.ptr()) };
        if rc != 0 {
            // SAFETY: init failed: libuv does not own the memory.
            unsafe { libc::free(mem.ptr()) };
            return Err(format!("uv_timer_init failed: {rc}"));
        }
        mem.set_data(data);
        Ok(Timer { mem })
    }

    /// (Re)starts the timer to fire once after `ms`.
    pub fn start(&self, uv: &Uv, ms: u64, cb: TimerCb) {
        // SAFETY: the handle is initialised and open.
        unsafe { (uv.timer_start)(self.mem.ptr(), cb, ms, 0) };
    }

    /// Stops the timer.
    pub fn stop(&self, uv: &Uv) {
        // SAFETY: the handle is initialised and open.
        unsafe { (uv.timer_stop)(self.mem.ptr()) };
    }

    /// Stops and closes; memory freed by the close callback.
    pub fn close(self, uv: &Uv) {
        // SAFETY: initialised and not yet closed (close consumes self).
        unsafe {
            (uv.timer_stop)(self.mem.ptr());
            (uv.close)(self.mem.ptr(), free_handle);
        }
    }
}
