//! Group commit of payments: the changes that concurrent payment results make to their orders
//! go into the store together, one transaction for as many as are waiting.
//!
//! why: a sled 0.34 transaction holds a process-wide write lock while it runs, so payments
//! committed one by one queue for that lock and each pays for twelve trees' overlays and a
//! log reservation; committed as a batch they pay it once (docs/performance.md). One thread
//! commits; the requests wait for their own result, then flush (concurrent flushes share one
//! disk sync), so each answer still waits until its payment is durable.

use std::sync::mpsc;

use tokio::sync::oneshot;

use crate::domain::{Applied, Event, Order};
use crate::store::{Change, Store, StoreError};

/// Payments committed in one transaction at most: bounds how long the batch holds the lock.
const MAX_BATCH: usize = 32;

/// What a payment does to its order (decided by `domain`), and the events it leaves.
pub(super) type PaymentChange = Box<dyn Fn(&mut Order) -> (Applied, Vec<Event>) + Send>;

struct Job {
    no: String,
    change: PaymentChange,
    reply: oneshot::Sender<Result<(Order, Applied), StoreError>>,
}

/// The committing thread's queue; the thread ends when this is dropped.
pub(super) struct Payments {
    queue: mpsc::Sender<Job>,
}

impl Payments {
    pub(super) fn start(store: Store) -> std::io::Result<Payments> {
        let (queue, jobs) = mpsc::channel();
        std::thread::Builder::new().name("payments".into()).spawn(move || commit_all(&store, &jobs))?;
        Ok(Payments { queue })
    }

    /// Commits `change` to order `no` with whatever other payments are waiting (not yet
    /// flushed: the caller flushes before it answers).
    pub(super) async fn commit(
        &self,
        no: String,
        change: PaymentChange,
    ) -> Result<(Order, Applied), StoreError> {
        let (reply, result) = oneshot::channel();
        let stopped = || StoreError::Sled(sled::Error::ReportableBug("the payments thread stopped".into()));
        self.queue.send(Job { no, change, reply }).map_err(|_| stopped())?;
        result.await.map_err(|_| stopped())?
    }
}

fn commit_all(store: &Store, jobs: &mpsc::Receiver<Job>) {
    while let Ok(first) = jobs.recv() {
        let mut batch = vec![first];
        while batch.len() < MAX_BATCH {
            match jobs.try_recv() {
                Ok(job) => batch.push(job),
                Err(_) => break,
            }
        }
        // why catch a panic: it would end this thread and every later payment with it; caught,
        // the batch's requests get an error (WeChat resends) and the next batch goes on.
        let committed = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| commit_batch(store, batch)));
        if committed.is_err() {
            tracing::error!("a batch of payments panicked; its requests were answered with an error");
        }
    }
}

fn commit_batch(store: &Store, batch: Vec<Job>) {
    let changes: Vec<Change<'_, Applied>> =
        batch.iter().map(|j| -> Change<'_, Applied> { (&j.no, &*j.change) }).collect();
    match store.update_orders(&changes) {
        Ok(results) => {
            for (job, result) in batch.into_iter().zip(results) {
                let _ = job.reply.send(result);
            }
        }
        // why one by one after a failed batch: each request then gets its own error, and one
        // payment the database refuses does not fail the others.
        Err(_) => {
            for job in batch {
                let _ = job.reply.send(store.update_order(&job.no, &*job.change));
            }
        }
    }
}
