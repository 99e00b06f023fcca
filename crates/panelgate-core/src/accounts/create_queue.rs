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

use std::sync::Arc;

use tokio::sync::oneshot;

use crate::customers::{CreateRequest, Created};
use crate::error::CoreError;
use crate::store::batches::{self, Batches};
use crate::Core;

/// The most creates one transaction writes.
const MAX_BATCH: usize = 64;

/// The creates waiting for the writer.
pub(crate) type CreateQueue = Batches<(CreateRequest, oneshot::Sender<Created>)>;

/// Write `request` with whatever other creates are waiting; the new row and its owner's login.
pub(crate) async fn submit(core: &Core, request: CreateRequest) -> Created {
    let (reply, answer) = oneshot::channel();
    if core.create_queue().push((request, reply)) {
        tokio::spawn(batches::drain(
            Arc::downgrade(&core.inner),
            |inner| &inner.creates,
            MAX_BATCH,
            |core, batch| async move {
                let (requests, replies): (Vec<_>, Vec<_>) = batch.into_iter().unzip();
                let results = core.customers().write_batch(&requests).await;
                drop(core);
                for (reply, result) in replies.into_iter().zip(results) {
                    // The caller may have gone: the customer is created all the same.
                    let _ = reply.send(result);
                }
            },
        ));
    }
    answer
        .await
        .unwrap_or_else(|_| Err(CoreError::Internal("the customer writer stopped".into())))
}
