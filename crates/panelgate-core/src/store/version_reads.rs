//! Reads of the shared cache version (see [`crate::store::cache`]), shared by the requests that
//! ask at once. A request needs a read that began after it asked; so it joins the queue, and
//! the next read answers everyone queued before it began. Under load one read answers many
//! requests, and no request waits longer than the read in flight and its own.

use std::sync::Arc;

use tokio::sync::oneshot;

use super::batches::{self, Batches};
use crate::Core;

/// The requests waiting for the next read.
pub(crate) type VersionReads = Batches<oneshot::Sender<bool>>;

/// Read the shared version (with whoever else asks now) and move the generation on when another
/// instance wrote. `false`: it could not be read, and the cache is not to be used.
pub(crate) async fn check(core: &Core) -> bool {
    let (reply, answer) = oneshot::channel();
    if core.inner.version_reads.push(reply) {
        tokio::spawn(batches::drain(
            Arc::downgrade(&core.inner),
            |inner| &inner.version_reads,
            usize::MAX,
            |core, batch| async move {
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
            },
        ));
    }
    answer.await.unwrap_or(false)
}
