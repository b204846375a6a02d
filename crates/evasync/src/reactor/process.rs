//! Child processes in the reactor: their pipes are connections like any other; their exit
//! arrives as readiness on a pidfd (or, without one, from a thread that waited for it) and is
//! reported once the child is reaped.

use mio::unix::SourceFd;
use mio::{Interest, Token};

use crate::conn::{flag, Conn, Io, Phase};
use crate::event::{Event, EventSink};
use crate::id::Id;
use crate::process::{exit_fd, Started, Watched};
use crate::reactor::{Reactor, Slot, Upper, PIPE};
use crate::stats;

impl Reactor {
    /// Takes over a child started by a handle: its pipes become connections under the ids
    /// given, its exit is watched.
    pub(super) fn adopt_process(
        &mut self,
        id: Id,
        started: Started,
        pipe_ids: [Option<Id>; 3],
        sink: &mut dyn EventSink,
    ) {
        let Started {
            child,
            handle,
            pipes,
        } = started;
        for (io, pid) in pipes.into_iter().zip(pipe_ids) {
            let (Some(mut io), Some(pid)) = (io, pid) else {
                continue;
            };
            if io
                .register(self.poll.registry(), Token(pid as usize))
                .is_err()
            {
                continue;
            }
            let writable = matches!(io, Io::PipeIn(_));
            let mut conn = Conn::new(Phase::Open);
            conn.io = Some(io);
            conn.flags |= flag::ANNOUNCED;
            if writable {
                conn.flags |= flag::WRITABLE;
            }
            self.conns.insert(
                pid,
                Slot {
                    conn,
                    upper: Upper::Raw,
                    server: PIPE,
                },
            );
        }
        stats::inc(&self.shared.stats.processes);
        let mut watched = Watched { child, handle };
        match exit_fd(&watched.handle) {
            Some(fd) => {
                let registered = self.poll.registry().register(
                    &mut SourceFd(&fd),
                    Token(id as usize),
                    Interest::READABLE,
                );
                if registered.is_err() {
                    let h = self.handle();
                    crate::process::watch_by_thread(watched.handle.pid, move || {
                        h.process_exited(id)
                    });
                }
            }
            None => {
                let h = self.handle();
                crate::process::watch_by_thread(watched.handle.pid, move || h.process_exited(id));
            }
        }
        // It may have exited already (a spawn of /bin/true): nothing else would say so.
        if let Some(status) = watched.try_reap() {
            self.report_exit(id, watched, status, sink);
            return;
        }
        self.processes.insert(id, watched);
    }

    /// The child's pidfd is readable (or a watcher thread saw it exit): reap and report.
    pub(super) fn process_ready(&mut self, id: Id, sink: &mut dyn EventSink) {
        let Some(w) = self.processes.get_mut(&id) else {
            return;
        };
        if let Some(status) = w.try_reap() {
            if let Some(w) = self.processes.remove(&id) {
                self.report_exit(id, w, status, sink);
            }
        }
    }

    fn report_exit(
        &mut self,
        id: Id,
        w: Watched,
        status: crate::process::ExitStatus,
        sink: &mut dyn EventSink,
    ) {
        if let Some(fd) = exit_fd(&w.handle) {
            let _ = self.poll.registry().deregister(&mut SourceFd(&fd));
        }
        self.shared.forget_process(id);
        stats::dec(&self.shared.stats.processes);
        sink.event(Event::ProcessExited { id, status });
    }

    /// The loop exits: children still running are reaped by threads when they end.
    pub(super) fn let_children_go(&mut self) {
        for (id, w) in self.processes.drain() {
            if let Some(fd) = exit_fd(&w.handle) {
                let _ = self.poll.registry().deregister(&mut SourceFd(&fd));
            }
            self.shared.forget_process(id);
            w.reap_later();
        }
    }
}
