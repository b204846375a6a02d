//! The memory JS and the engine share for one loop, allocated once as ArrayBuffers (replaced by
//! bigger ones in the rare case a batch outgrows them), so a wake-up allocates nothing:
//!
//! - engine → JS: event records and their arena (`evasync::wire::events`); a batch is copied in
//!   and JS is called with its size as arguments — one call per batch, no call back to fetch it;
//! - JS → engine: op records, their bytes, a result per record, and a control block
//!   (`evasync::wire::ops`, [`crate::kinds::Ctl`]). JS writes operations as its callbacks make
//!   them; the engine applies them right after the delivery call returns (or when JS asks,
//!   outside a delivery), in one step.
//!
//! Everything here runs on the JS thread. Each region is an ArrayBuffer created with
//! `napi_create_arraybuffer` (memory outside V8's heap that never moves) and held by a
//! reference, so its data pointer stays valid until the reference is deleted.

use std::ffi::c_void;
use std::ptr;

use evasync::wire::events::EventBatch;
use evasync::wire::ops::RECORD;
use napi::sys;

use crate::kinds::Ctl;

/// Initial sizes: room for a busy batch without growing.
const EVENTS_INITIAL: usize = 4096 * RECORD * 4;
const ARENA_INITIAL: usize = 256 * 1024;
const OPS_INITIAL: usize = 4096 * RECORD * 4;
const DATA_INITIAL: usize = 256 * 1024;

/// One ArrayBuffer: its reference and where its bytes are.
struct Region {
    reference: sys::napi_ref,
    ptr: *mut u8,
    len: usize,
}

/// A napi call's status as a Result.
pub(crate) fn check(status: sys::napi_status, what: &str) -> Result<(), String> {
    if status == sys::Status::napi_ok {
        Ok(())
    } else {
        Err(format!("{what} failed with napi status {status}"))
    }
}

impl Region {
    fn new(env: sys::napi_env, len: usize) -> Result<(Region, sys::napi_value), String> {
        let mut data: *mut c_void = ptr::null_mut();
        let mut value: sys::napi_value = ptr::null_mut();
        let mut reference: sys::napi_ref = ptr::null_mut();
        // SAFETY: `env` is the current environment (JS thread); the out-pointers are valid
        // locals. The ArrayBuffer's memory is zero-filled by napi and lives while referenced.
        unsafe {
            check(
                sys::napi_create_arraybuffer(env, len, &mut data, &mut value),
                "napi_create_arraybuffer",
            )?;
            check(
                sys::napi_create_reference(env, value, 1, &mut reference),
                "napi_create_reference",
            )?;
        }
        Ok((
            Region {
                reference,
                ptr: data.cast(),
                len,
            },
            value,
        ))
    }

    fn value(&self, env: sys::napi_env) -> sys::napi_value {
        let mut v: sys::napi_value = ptr::null_mut();
        // SAFETY: the reference is live (deleted only in `drop_in`), same env.
        unsafe { sys::napi_get_reference_value(env, self.reference, &mut v) };
        v
    }

    fn drop_in(&mut self, env: sys::napi_env) {
        if !self.reference.is_null() {
            // SAFETY: the reference was made for this env and is deleted once.
            unsafe { sys::napi_delete_reference(env, self.reference) };
            self.reference = ptr::null_mut();
            self.ptr = ptr::null_mut();
            self.len = 0;
        }
    }

    /// Copies `src` to the start of the region (which holds at least that many bytes).
    fn fill(&mut self, src: &[u8]) {
        debug_assert!(src.len() <= self.len);
        // SAFETY: `ptr` points to `len` writable bytes of a live ArrayBuffer, `src` fits, and
        // nothing else touches the region while the JS thread runs this.
        unsafe { ptr::copy_nonoverlapping(src.as_ptr(), self.ptr, src.len().min(self.len)) };
    }
}

/// The shared memory of one loop.
pub(crate) struct SharedMemory {
    env: sys::napi_env,
    events: Region,
    arena: Region,
    ops: Region,
    data: Region,
    results: Region,
    ctl: Region,
}

/// The operations JS wrote, ready to apply.
pub(crate) struct PendingOps<'a> {
    pub ops: &'a [u32],
    pub data: &'a [u8],
    pub results: &'a mut [f64],
}

impl SharedMemory {
    pub fn new(env: sys::napi_env) -> Result<SharedMemory, String> {
        let (events, _) = Region::new(env, EVENTS_INITIAL)?;
        let (arena, _) = Region::new(env, ARENA_INITIAL)?;
        let (ops, _) = Region::new(env, OPS_INITIAL)?;
        let (data, _) = Region::new(env, DATA_INITIAL)?;
        let (results, _) = Region::new(env, OPS_INITIAL / RECORD * 2)?;
        let (ctl, _) = Region::new(env, Ctl::Len as usize * 4)?;
        Ok(SharedMemory {
            env,
            events,
            arena,
            ops,
            data,
            results,
            ctl,
        })
    }

    /// `[events, arena, ops, data, results, ctl]` as JS ArrayBuffers.
    pub fn buffers(&self) -> [sys::napi_value; 6] {
        let env = self.env;
        [
            self.events.value(env),
            self.arena.value(env),
            self.ops.value(env),
            self.data.value(env),
            self.results.value(env),
            self.ctl.value(env),
        ]
    }

    fn ctl(&mut self) -> &mut [i32] {
        if self.ctl.ptr.is_null() {
            return &mut [];
        }
        // SAFETY: the control block is `Ctl::Len` i32s of a live, 8-byte aligned ArrayBuffer;
        // only the JS thread touches it, and JS does not run while this borrow is used.
        unsafe { std::slice::from_raw_parts_mut(self.ctl.ptr.cast::<i32>(), Ctl::Len as usize) }
    }

    /// Copies `batch` in and marks a delivery in the control block; returns the arguments of
    /// the delivery call (`[records, arena bytes]`, then new ArrayBuffers — or `undefined` —
    /// for events and arena when the batch outgrew the old ones). Call [`Self::delivered`]
    /// after the call returns. Nothing is borrowed meanwhile: JS may call back in.
    pub fn stage(&mut self, batch: &EventBatch) -> Result<[sys::napi_value; 4], String> {
        let env = self.env;
        let record_bytes = std::mem::size_of_val(batch.records.as_slice());
        let mut args = [ptr::null_mut(); 4];
        // SAFETY: the env is current; the out-pointers are valid.
        unsafe {
            sys::napi_create_uint32(env, batch.records.len() as u32, &mut args[0]);
            sys::napi_create_uint32(env, batch.arena.len() as u32, &mut args[1]);
            sys::napi_get_undefined(env, &mut args[2]);
            sys::napi_get_undefined(env, &mut args[3]);
        }
        if record_bytes > self.events.len {
            let (r, v) = Region::new(env, record_bytes.next_power_of_two())?;
            self.events.drop_in(env);
            self.events = r;
            args[2] = v;
        }
        if batch.arena.len() > self.arena.len {
            let (r, v) = Region::new(env, batch.arena.len().next_power_of_two())?;
            self.arena.drop_in(env);
            self.arena = r;
            args[3] = v;
        }
        // SAFETY: a `[u32]` viewed as its bytes.
        let words = unsafe {
            std::slice::from_raw_parts(batch.records.as_ptr().cast::<u8>(), record_bytes)
        };
        self.events.fill(words);
        self.arena.fill(&batch.arena);
        self.set_ctl(Ctl::Delivering, 1);
        Ok(args)
    }

    /// The delivery call returned.
    pub fn delivered(&mut self) {
        self.set_ctl(Ctl::Delivering, 0);
    }

    fn set_ctl(&mut self, slot: Ctl, v: i32) {
        if let Some(c) = self.ctl().get_mut(slot as usize) {
            *c = v;
        }
    }

    /// The operations JS has written since the last call, if any (the count is reset: the
    /// caller applies them now). Counts JS got wrong are clamped to the regions.
    pub fn take_ops(&mut self) -> Option<PendingOps<'_>> {
        let ctl = self.ctl();
        if ctl.len() < Ctl::Len as usize {
            return None;
        }
        let n = usize::try_from(ctl[Ctl::Ops as usize]).unwrap_or(0);
        let len = usize::try_from(ctl[Ctl::Data as usize]).unwrap_or(0);
        ctl[Ctl::Ops as usize] = 0;
        ctl[Ctl::Data as usize] = 0;
        if n == 0 {
            return None;
        }
        let words = (n * RECORD).min(self.ops.len / 4);
        let len = len.min(self.data.len);
        let results = (words / RECORD).min(self.results.len / 8);
        // SAFETY: each slice lies within its live region (lengths clamped above); the regions
        // are distinct ArrayBuffers, 8-byte aligned; JS does not run while they are borrowed.
        unsafe {
            Some(PendingOps {
                ops: std::slice::from_raw_parts(self.ops.ptr.cast::<u32>(), words),
                data: std::slice::from_raw_parts(self.data.ptr, len),
                results: std::slice::from_raw_parts_mut(self.results.ptr.cast::<f64>(), results),
            })
        }
    }

    /// Replaces the op regions with ones holding at least `min_ops` records and `min_data`
    /// bytes (JS applies what it wrote before asking). Returns `[ops, data, results]`.
    pub fn grow_ops(
        &mut self,
        min_ops: usize,
        min_data: usize,
    ) -> Result<[sys::napi_value; 3], String> {
        let env = self.env;
        let ops_len = (min_ops * RECORD * 4).max(self.ops.len).next_power_of_two();
        let data_len = min_data.max(self.data.len).next_power_of_two();
        let (ops, ov) = Region::new(env, ops_len)?;
        let (data, dv) = Region::new(env, data_len)?;
        let (results, rv) = Region::new(env, ops_len / RECORD * 2)?;
        for old in [&mut self.ops, &mut self.data, &mut self.results] {
            old.drop_in(env);
        }
        self.ops = ops;
        self.data = data;
        self.results = results;
        Ok([ov, dv, rv])
    }

    /// Lets go of every region (the loop ended).
    pub fn release(&mut self) {
        let env = self.env;
        for r in [
            &mut self.events,
            &mut self.arena,
            &mut self.ops,
            &mut self.data,
            &mut self.results,
            &mut self.ctl,
        ] {
            r.drop_in(env);
        }
    }
}
