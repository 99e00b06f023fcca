//! Group commit of customer creates.
//!
//! A create first does what needs no database (checks, the password hash, which runs in
//! parallel); then it joins this queue. One task at a time drains the queue: it takes every
//! create waiting (up to [`MAX_BATCH`]) and writes them in one transaction, so that concurrent
//! creates share the writer's round trips and the commit instead of queueing for them one by
//! one. A create that arrives while the writer is idle is written at once, alone.
//!
//! Each create gets the answer it would get alone, in the order they came (see
//! `Customers::write_batch`).

use std::sync::{Arc, Mutex, MutexGuard, PoisonError, Weak};

use tokio::sync::oneshot;

use crate::customers::{CreateRequest, Created};
use crate::error::CoreError;
use crate::Core;

/// The most creates one transaction writes.
const MAX_BATCH: usize = 64;

type Waiting = (CreateRequest, oneshot::Sender<Created>);

/// The creates waiting for the writer.
#[derive(Default)]
pub(crate) struct CreateQueue {
    state: Mutex<State>,
}

#[derive(Default)]
struct State {
    waiting: Vec<Waiting>,
    /// A task is draining the queue (it clears this when it finds the queue empty).
    draining: bool,
}

impl CreateQueue {
    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// Write `request` with whatever other creates are waiting; the new row and its owner's login.
pub(crate) async fn submit(core: &Core, request: CreateRequest) -> Created {
    let (reply, answer) = oneshot::channel();
    let start = {
        let mut state = core.create_queue().lock();
        state.waiting.push((request, reply));
        !std::mem::replace(&mut state.draining, true)
    };
    if start {
        // A task of its own: a caller that goes away (its client hung up) does not take the
        // other callers' creates with it.
        tokio::spawn(drain(Arc::downgrade(&core.inner)));
    }
    answer
        .await
        .unwrap_or_else(|_| Err(CoreError::Internal("the customer writer stopped".into())))
}

/// Write batches until the queue is empty. The task holds the core only while it writes, so
/// that a caller's `Core::close` after its create was answered closes the database.
async fn drain(inner: Weak<crate::Inner>) {
    let mut guard = Draining {
        inner: &inner,
        armed: true,
    };
    loop {
        let Some(inner) = inner.upgrade() else {
            return;
        };
        let core = Core { inner };
        let batch: Vec<Waiting> = {
            let mut state = core.create_queue().lock();
            if state.waiting.is_empty() {
                // Cleared under the lock that `submit` pushes under: a create pushed after
                // this starts a new task.
                state.draining = false;
                guard.armed = false;
                return;
            }
            let n = state.waiting.len().min(MAX_BATCH);
            state.waiting.drain(..n).collect()
        };
        let (requests, replies): (Vec<_>, Vec<_>) = batch.into_iter().unzip();
        let results = core.customers().write_batch(&requests).await;
        drop(core);
        for (reply, result) in replies.into_iter().zip(results) {
            // The caller may have gone: the customer is created all the same.
            let _ = reply.send(result);
        }
    }
}

/// Clears the queue's `draining` when its task ends early (a panic, or the runtime going
/// down): the creates still waiting are answered with an error (their senders are dropped), and
/// the next create starts a new task.
struct Draining<'a> {
    inner: &'a Weak<crate::Inner>,
    armed: bool,
}

impl Drop for Draining<'_> {
    fn drop(&mut self) {
        if let (true, Some(inner)) = (self.armed, self.inner.upgrade()) {
            let mut state = inner.creates.lock();
            state.draining = false;
            state.waiting.clear();
        }
    }
}
