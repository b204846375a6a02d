//! Child processes on Unix: started on the caller's thread so that a failure is
//! known at once, their stdio pipes become connections of the reactor (the same bufferevent as a
//! socket, under a pipe `io`), and their exit is watched without SIGCHLD: through a pidfd on
//! Linux (readable once the child exited), elsewhere by a thread that waits for that one pid.
//! Every child is reaped by its pid, so none is left a zombie, even after the loop exits.

use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use super::{ExitStatus, SpawnSpec, StdioSpec};
use crate::conn::Io;

/// What the application may still do with a child from any thread: signal it, exactly it.
#[derive(Debug)]
pub(crate) struct ProcessHandle {
    pub pid: u32,
    /// Linux: a descriptor for this very process (signals through it cannot reach a later
    /// process that got the same pid).
    pub pidfd: Option<OwnedFd>,
    /// Reaped: the pid may belong to someone else now.
    pub reaped: AtomicBool,
}

impl ProcessHandle {
    /// Sends `signal`; false when the child is gone.
    pub fn kill(&self, signal: i32) -> bool {
        if self.reaped.load(Ordering::Acquire) {
            return false;
        }
        #[cfg(target_os = "linux")]
        if let Some(fd) = &self.pidfd {
            // SAFETY: pidfd_send_signal takes a pidfd we own, a signal number, a null siginfo
            // and no flags; it reads no memory of ours.
            let r = unsafe {
                libc::syscall(
                    libc::SYS_pidfd_send_signal,
                    fd.as_raw_fd(),
                    signal,
                    std::ptr::null::<libc::siginfo_t>(),
                    0,
                )
            };
            return r == 0;
        }
        // SAFETY: kill(2) with a pid we spawned and have not reaped (checked above).
        unsafe { libc::kill(self.pid as libc::pid_t, signal) == 0 }
    }
}

/// A started child and its pipe ends, ready for the reactor.
#[derive(Debug)]
pub(crate) struct Started {
    pub child: Child,
    pub handle: Arc<ProcessHandle>,
    /// stdin (write end), stdout and stderr (read ends), for the asked pipes.
    pub pipes: [Option<Io>; 3],
}

fn stdio(s: StdioSpec) -> Stdio {
    match s {
        StdioSpec::Ignore => Stdio::null(),
        StdioSpec::Inherit => Stdio::inherit(),
        StdioSpec::Pipe => Stdio::piped(),
    }
}

/// A pidfd for `pid` (Linux 5.3+); None where there is none.
fn pidfd_open(pid: u32) -> Option<OwnedFd> {
    #[cfg(target_os = "linux")]
    {
        // SAFETY: pidfd_open(pid, 0) returns a new descriptor or -1; it reads no memory of ours.
        let fd = unsafe { libc::syscall(libc::SYS_pidfd_open, pid as libc::pid_t, 0) };
        if fd >= 0 {
            // SAFETY: the descriptor was just created for us and nothing else owns it.
            return Some(unsafe { OwnedFd::from_raw_fd(fd as i32) });
        }
    }
    let _ = pid;
    None
}

/// Starts the child.
pub(crate) fn start(spec: &SpawnSpec) -> io::Result<Started> {
    let mut cmd = Command::new(&spec.path);
    cmd.args(&spec.args);
    if let Some(env) = &spec.env {
        cmd.env_clear();
        cmd.envs(env.iter().map(|(k, v)| (k, v)));
    }
    if let Some(cwd) = &spec.cwd {
        cmd.current_dir(cwd);
    }
    cmd.stdin(stdio(spec.stdio[0]))
        .stdout(stdio(spec.stdio[1]))
        .stderr(stdio(spec.stdio[2]));
    let mut child = cmd.spawn()?;
    let mut pipes: [Option<Io>; 3] = [None, None, None];
    if let Some(stdin) = child.stdin.take() {
        let w = mio::unix::pipe::Sender::from(stdin);
        w.set_nonblocking(true)?;
        pipes[0] = Some(Io::PipeIn(Some(w)));
    }
    if let Some(stdout) = child.stdout.take() {
        let r = mio::unix::pipe::Receiver::from(stdout);
        r.set_nonblocking(true)?;
        pipes[1] = Some(Io::PipeOut(r));
    }
    if let Some(stderr) = child.stderr.take() {
        let r = mio::unix::pipe::Receiver::from(stderr);
        r.set_nonblocking(true)?;
        pipes[2] = Some(Io::PipeOut(r));
    }
    let pid = child.id();
    let handle = Arc::new(ProcessHandle {
        pid,
        pidfd: pidfd_open(pid),
        reaped: AtomicBool::new(false),
    });
    Ok(Started {
        child,
        handle,
        pipes,
    })
}

/// A child the reactor watches.
pub(crate) struct Watched {
    pub child: Child,
    pub handle: Arc<ProcessHandle>,
}

impl Watched {
    /// Reaps the child if it has exited.
    pub fn try_reap(&mut self) -> Option<ExitStatus> {
        match self.child.try_wait() {
            Ok(Some(status)) => {
                self.handle.reaped.store(true, Ordering::Release);
                Some(status.into())
            }
            Ok(None) => None,
            // ECHILD: someone else reaped it; it is gone all the same.
            Err(_) => {
                self.handle.reaped.store(true, Ordering::Release);
                Some(ExitStatus {
                    code: None,
                    signal: None,
                })
            }
        }
    }

    /// The loop is going away and the child still runs: a thread waits for it, so it is reaped
    /// when it exits (it is not killed, as Node does not kill its children).
    pub fn reap_later(mut self) {
        let _ = std::thread::Builder::new()
            .name("evasync-reaper".into())
            .spawn(move || {
                let _ = self.child.wait();
                self.handle.reaped.store(true, Ordering::Release);
            });
    }
}

/// What the reactor keeps per child id.
pub(crate) type Processes = crate::id::IdMap<Watched>;

/// Without a pidfd: a thread waits for the child's exit without reaping it (`WNOWAIT`), then
/// `exited` tells the reactor, which reaps it on its own thread.
pub(crate) fn watch_by_thread(pid: u32, exited: impl FnOnce() + Send + 'static) {
    let _ = std::thread::Builder::new()
        .name("evasync-child-watch".into())
        .spawn(move || loop {
            // SAFETY: siginfo_t is plain data; waitid fills it or fails.
            let mut info: libc::siginfo_t = unsafe { std::mem::zeroed() };
            // SAFETY: waitid(P_PID, pid, &info, WEXITED | WNOWAIT) writes only `info`.
            let r = unsafe {
                libc::waitid(
                    libc::P_PID,
                    pid as libc::id_t,
                    &mut info,
                    libc::WEXITED | libc::WNOWAIT,
                )
            };
            if r == 0 || io::Error::last_os_error().kind() != io::ErrorKind::Interrupted {
                exited();
                return;
            }
        });
}

/// The descriptor to poll for a child's exit, if it has one.
pub(crate) fn exit_fd(handle: &ProcessHandle) -> Option<i32> {
    handle.pidfd.as_ref().map(AsRawFd::as_raw_fd)
}
