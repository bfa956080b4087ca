//! Group commit of payments: the changes that concurrent payment results make to their orders
//! go into the store together, one transaction for as many as are waiting.
//!
//! why: a sled 0.34 transaction holds a process-wide write lock while it runs, so payments
//! committed one by one queue for that lock and each pays for twelve trees' overlays and a
//! log reservation; committed as a batch they pay it once (docs/performance.md). One thread
//! commits; the requests wait for their own result, then flush (concurrent flushes share one
//! disk sync), so each answer still waits until its payment is durable.

use std::panic::AssertUnwindSafe;
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
        let not_committed =
            || StoreError::Sled(sled::Error::ReportableBug("the payment was not committed".into()));
        self.queue.send(Job { no, change, reply }).map_err(|_| not_committed())?;
        result.await.map_err(|_| not_committed())?
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
        // why catch a panic: it would end this thread and every later payment with it.
        match std::panic::catch_unwind(AssertUnwindSafe(|| commit_batch(store, &batch))) {
            Ok(results) => {
                for (job, result) in batch.into_iter().zip(results) {
                    let _ = job.reply.send(result);
                }
            }
            // why one by one after a panic: the change that panics would fail every batch
            // it lands in, each time WeChat resends it; alone, only its own request fails.
            Err(_) => {
                tracing::error!("a batch of payments panicked; committing its payments one by one");
                for job in batch {
                    match std::panic::catch_unwind(AssertUnwindSafe(|| {
                        store.update_order(&job.no, &*job.change)
                    })) {
                        Ok(result) => {
                            let _ = job.reply.send(result);
                        }
                        Err(_) => {
                            tracing::error!(order_no = job.no, "a payment's change panicked; not committed")
                        }
                    }
                }
            }
        }
    }
}

fn commit_batch(store: &Store, batch: &[Job]) -> Vec<Result<(Order, Applied), StoreError>> {
    let changes: Vec<Change<'_, Applied>> =
        batch.iter().map(|j| -> Change<'_, Applied> { (&j.no, &*j.change) }).collect();
    match store.update_orders(&changes) {
        Ok(results) => results,
        // why one by one after a failed batch: each request then gets its own error, and one
        // payment the database refuses does not fail the others.
        Err(_) => batch.iter().map(|j| store.update_order(&j.no, &*j.change)).collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::test_dir::TempDir;
    use crate::store::tests::order;

    #[tokio::test]
    async fn a_change_that_panics_fails_alone_and_the_payments_around_it_commit() {
        let dir = TempDir::new("payments-panic");
        let store = Store::open(dir.path()).expect("open");
        for no in ["P1", "P2", "P3"] {
            store.insert_order(&order(no), &[]).expect("insert");
        }
        let payments = Payments::start(store.clone()).expect("thread");
        let named = |name: &'static str| -> PaymentChange {
            Box::new(move |o: &mut Order| {
                o.contact.name = Some(name.into());
                (Applied::Duplicate, Vec::new())
            })
        };
        let panics: PaymentChange = Box::new(|_: &mut Order| panic!("a change that panics"));
        let (one, two, three) = tokio::join!(
            payments.commit("P1".into(), named("one")),
            payments.commit("P2".into(), panics),
            payments.commit("P3".into(), named("three")),
        );
        assert!(one.is_ok() && three.is_ok(), "{one:?} {three:?}");
        assert!(two.is_err());
        let name = |no: &str| store.order(no).expect("read").and_then(|o| o.contact.name);
        assert_eq!((name("P1"), name("P2"), name("P3")), (Some("one".into()), None, Some("three".into())));
        // The thread goes on after the panic.
        assert!(payments.commit("P2".into(), named("two")).await.is_ok());
        assert_eq!(name("P2"), Some("two".into()));
    }
}
