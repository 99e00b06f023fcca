//! Reads of the shared cache version (see [`crate::store::cache`]), shared by the requests that
//! ask at once. A request needs a read that began after it asked; so it joins the queue, and
//! the next read answers everyone queued before it began. Under load one read answers many
//! requests, and no request waits longer than the read in flight and its own.

use std::sync::{Arc, Mutex, PoisonError, Weak};

use tokio::sync::oneshot;

use crate::Core;

/// The requests waiting for the next read, and whether a task is reading.
#[derive(Default)]
pub(crate) struct VersionReads {
    state: Mutex<State>,
}

#[derive(Default)]
struct State {
    reading: bool,
    waiting: Vec<oneshot::Sender<bool>>,
}

impl VersionReads {
    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// Read the shared version (with whoever else asks now) and move the generation on when another
/// instance wrote. `false`: it could not be read, and the cache is not to be used.
pub(crate) async fn check(core: &Core) -> bool {
    let (reply, answer) = oneshot::channel();
    let start = {
        let mut state = core.inner.version_reads.lock();
        state.waiting.push(reply);
        !std::mem::replace(&mut state.reading, true)
    };
    if start {
        // A task of its own: a request that goes away does not leave the others waiting.
        tokio::spawn(read(Arc::downgrade(&core.inner)));
    }
    answer.await.unwrap_or(false)
}

/// Read until nobody waits. Each round answers the requests that asked before it began.
async fn read(inner: Weak<crate::Inner>) {
    let mut guard = Reading {
        inner: &inner,
        armed: true,
    };
    loop {
        let Some(inner) = inner.upgrade() else {
            return;
        };
        let core = Core { inner };
        let batch = {
            let mut state = core.inner.version_reads.lock();
            if state.waiting.is_empty() {
                state.reading = false;
                guard.armed = false;
                return;
            }
            std::mem::take(&mut state.waiting)
        };
        let read = match super::cache::read_version(core.reader()).await {
            Ok(version) => {
                core.inner.generation.saw_version(version);
                true
            }
            Err(e) => {
                tracing::debug!(error = %e, "reading the cache version");
                false
            }
        };
        drop(core);
        for reply in batch {
            let _ = reply.send(read);
        }
    }
}

/// Clears `reading` when the task ends early (a panic, the runtime going down): the waiting
/// requests read without the cache, and the next one starts a new task.
struct Reading<'a> {
    inner: &'a Weak<crate::Inner>,
    armed: bool,
}

impl Drop for Reading<'_> {
    fn drop(&mut self) {
        if let (true, Some(inner)) = (self.armed, self.inner.upgrade()) {
            let mut state = inner.version_reads.lock();
            state.reading = false;
            state.waiting.clear();
        }
    }
}
