//! Work that callers hand to one task at a time, which takes it in batches: the group commit of
//! customer creates and the shared reads of the cache version. A caller queues its item (with
//! the channel its answer comes back on); the first caller to find no task running starts one.
//! The task takes what waits, a batch at a time, until nothing does, and then ends.

use std::sync::{Mutex, MutexGuard, PoisonError, Weak};

use crate::{Core, Inner};

/// The items waiting, and whether a task takes them.
pub(crate) struct Batches<T> {
    state: Mutex<State<T>>,
}

struct State<T> {
    waiting: Vec<T>,
    running: bool,
}

impl<T> Default for Batches<T> {
    fn default() -> Self {
        Batches {
            state: Mutex::new(State {
                waiting: Vec::new(),
                running: false,
            }),
        }
    }
}

impl<T> Batches<T> {
    fn lock(&self) -> MutexGuard<'_, State<T>> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Queue `item`. `true`: no task takes the batches now, and the caller starts one
    /// ([`drain`]) on a task of its own, so that a caller that goes away does not take the
    /// others' items with it.
    pub(crate) fn push(&self, item: T) -> bool {
        let mut state = self.lock();
        state.waiting.push(item);
        !std::mem::replace(&mut state.running, true)
    }

    /// The next batch (at most `max` items), or `None` when nothing waits. `running` is cleared
    /// under the lock `push` takes, so an item pushed after this starts a new task.
    fn next(&self, max: usize) -> Option<Vec<T>> {
        let mut state = self.lock();
        if state.waiting.is_empty() {
            state.running = false;
            return None;
        }
        let n = state.waiting.len().min(max);
        Some(state.waiting.drain(..n).collect())
    }
}

/// Take the batches of the queue `queue` finds in the core, at most `max` items each, and hand
/// each to `round`, until nothing waits. The task holds the core only during a round (`round`
/// gets it, and drops it before it answers), so that a caller's `Core::close` after its answer
/// closes the database.
pub(crate) async fn drain<T, F, Fut>(
    inner: Weak<Inner>,
    queue: fn(&Inner) -> &Batches<T>,
    max: usize,
    mut round: F,
) where
    F: FnMut(Core, Vec<T>) -> Fut,
    Fut: std::future::Future<Output = ()>,
{
    let mut guard = Running {
        inner: &inner,
        queue,
        armed: true,
    };
    loop {
        let Some(inner) = inner.upgrade() else {
            return;
        };
        let core = Core { inner };
        let Some(batch) = queue(&core.inner).next(max) else {
            guard.armed = false;
            return;
        };
        round(core, batch).await;
    }
}

/// Clears `running` when the task ends early (a panic, or the runtime going down): the items
/// still waiting are dropped (their callers find their answer channel closed), and the next
/// push starts a new task.
struct Running<'a, T> {
    inner: &'a Weak<Inner>,
    queue: fn(&Inner) -> &Batches<T>,
    armed: bool,
}

impl<T> Drop for Running<'_, T> {
    fn drop(&mut self) {
        if let (true, Some(inner)) = (self.armed, self.inner.upgrade()) {
            let mut state = (self.queue)(&inner).lock();
            state.running = false;
            state.waiting.clear();
        }
    }
}
