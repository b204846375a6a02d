//! Child processes: `spawn` starts the child here, on the JS thread, so a failure is known at
//! once (the TS layer shapes it as Node's system error); `processKill` signals exactly that child.

use std::ffi::OsString;

use napi_derive::napi;

use crate::event_loop::NativeLoop;

/// The result of `spawn`: ids of the process and of its pipe sockets (0: none), or (errno ≠ 0)
/// why it could not start.
#[napi(object)]
pub struct SpawnResult {
    pub id: u32,
    pub pid: u32,
    pub stdin: u32,
    pub stdout: u32,
    pub stderr: u32,
    pub errno: i32,
    pub message: String,
}

#[napi]
impl NativeLoop {
    /// Starts `path` with `args`; `env` as `[name, value, name, value, …]` replaces the
    /// environment; `stdio` is three codes: 0 ignore, 1 inherit, 2 pipe.
    #[napi(catch_unwind)]
    pub fn spawn(
        &self,
        path: String,
        args: Vec<String>,
        env: Option<Vec<String>>,
        cwd: Option<String>,
        stdio: Vec<u32>,
    ) -> SpawnResult {
        #[cfg(unix)]
        {
            use evasync::process::{SpawnSpec, StdioSpec};
            let code = |i: usize| match stdio.get(i) {
                Some(1) => StdioSpec::Inherit,
                Some(2) => StdioSpec::Pipe,
                _ => StdioSpec::Ignore,
            };
            let spec = SpawnSpec {
                path: OsString::from(path),
                args: args.into_iter().map(OsString::from).collect(),
                env: env.map(|kv| {
                    kv.chunks(2)
                        .filter(|p| p.len() == 2)
                        .map(|p| (OsString::from(&p[0]), OsString::from(&p[1])))
                        .collect()
                }),
                cwd: cwd.map(Into::into),
                stdio: [code(0), code(1), code(2)],
            };
            match self.command(|h| h.spawn(&spec)) {
                Ok(s) => SpawnResult {
                    id: s.id,
                    pid: s.pid,
                    stdin: s.stdio[0].unwrap_or(0),
                    stdout: s.stdio[1].unwrap_or(0),
                    stderr: s.stdio[2].unwrap_or(0),
                    errno: 0,
                    message: String::new(),
                },
                Err(e) => failed(e.raw_os_error().unwrap_or(libc::EINVAL), e.to_string()),
            }
        }
        #[cfg(not(unix))]
        {
            let _ = (path, args, env, cwd, stdio, OsString::new());
            failed(-1, "spawn is not supported on this platform".into())
        }
    }

    /// Sends `signal` to process `id`; false when it has exited.
    #[napi(catch_unwind)]
    pub fn process_kill(&self, id: u32, signal: i32) -> bool {
        #[cfg(unix)]
        return self.handle.process_kill(id, signal);
        #[cfg(not(unix))]
        {
            let _ = (id, signal);
            false
        }
    }
}

fn failed(errno: i32, message: String) -> SpawnResult {
    SpawnResult {
        id: 0,
        pid: 0,
        stdin: 0,
        stdout: 0,
        stderr: 0,
        errno,
        message,
    }
}
