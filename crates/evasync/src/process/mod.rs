//! Child processes (cl-async's `spawn`): started on the caller's thread so that a failure is
//! known at once, their stdio pipes become connections of the reactor (the same bufferevent as a
//! socket, under a pipe `io`), and their exit is watched without SIGCHLD (see `unix`). Every
//! child is reaped by its pid, so none is left a zombie, even after the loop exits.

use std::ffi::OsString;
use std::path::PathBuf;

use crate::id::Id;

#[cfg(unix)]
pub(crate) mod unix;
#[cfg(unix)]
pub(crate) use unix::*;

/// What to do with one of a child's standard streams.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum StdioSpec {
    /// `/dev/null`.
    #[default]
    Ignore,
    /// The parent's own stream.
    Inherit,
    /// A pipe, which becomes a connection of the reactor.
    Pipe,
}

/// A child to start.
#[derive(Debug, Clone, Default)]
pub struct SpawnSpec {
    /// The program: a path, or a name looked up in `PATH` (the given environment's when `env`
    /// is set, else this process's, as Node does).
    pub path: OsString,
    /// Its arguments (`argv[0]` excluded).
    pub args: Vec<OsString>,
    /// The whole environment (None: this process's).
    pub env: Option<Vec<(OsString, OsString)>>,
    /// Its working directory (None: this process's).
    pub cwd: Option<PathBuf>,
    /// stdin, stdout, stderr.
    pub stdio: [StdioSpec; 3],
}

/// How a child ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ExitStatus {
    /// Its exit code, when it exited.
    pub code: Option<i32>,
    /// The signal that ended it, when one did.
    pub signal: Option<i32>,
}

#[cfg(unix)]
impl From<std::process::ExitStatus> for ExitStatus {
    fn from(s: std::process::ExitStatus) -> ExitStatus {
        ExitStatus {
            code: s.code(),
            signal: std::os::unix::process::ExitStatusExt::signal(&s),
        }
    }
}

/// Ids of a spawned child and of the connections its pipes became.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Spawned {
    /// The child (its [`crate::Event::ProcessExited`] carries this id).
    pub id: Id,
    /// Its pid.
    pub pid: u32,
    /// stdin, stdout, stderr: the connection ids of the pipes asked for.
    pub stdio: [Option<Id>; 3],
}
