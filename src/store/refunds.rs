//! Money going back and money checked: refund records, and the latest reconciliation of each
//! day against WeChat's bill. Feature trees; the orders themselves stay in `orders`.
//!
//! Only storage: whether a refund may start or what a status change means is decided in
//! `domain::refund`, inside the closures given here; what a bill says is `checkout`'s.
//!
//! Layout: `feature:refunds` holds `order_no · 0 · out_refund_no → Refund` (an order's refunds
//! are one prefix scan); `feature:refund_nos` maps `out_refund_no → that key`;
//! `feature:refunds_open` lists the refunds not settled yet (the settling worklist), kept in
//! step in the same transaction as the record.

use serde::{Deserialize, Serialize};
use sled::Transactional;
use sled::transaction::{ConflictableTransactionError, TransactionError};

use super::{Store, StoreError, codec, keys};
use crate::domain::OrderStatus;
use crate::domain::refund::Refund;

pub(super) const REFUNDS: &str = "feature:refunds";
pub(super) const REFUND_NOS: &str = "feature:refund_nos";
pub(super) const OPEN: &str = "feature:refunds_open";
const RECONCILIATION: &str = "feature:reconciliation";

fn refund_key(order_no: &str, out_refund_no: &str) -> Vec<u8> {
    let mut k = keys::events_prefix(order_no);
    k.extend_from_slice(out_refund_no.as_bytes());
    k
}

fn tx_abort(e: impl Into<StoreError>) -> ConflictableTransactionError<StoreError> {
    ConflictableTransactionError::Abort(e.into())
}

fn flatten(e: TransactionError<StoreError>) -> StoreError {
    match e {
        TransactionError::Abort(e) => e,
        TransactionError::Storage(e) => StoreError::Sled(e),
    }
}

impl Store {
    // ---- refunds ----------------------------------------------------------------------

    /// Writes a new refund, unless `decide` (given the order's refunds so far, oldest first)
    /// returns `Err` or another refund already has its number. Runs under one transaction
    /// over the refund trees, so two requests cannot both pass `decide` on the same history.
    pub fn insert_refund<E>(
        &self,
        order_no: &str,
        decide: impl Fn(&[Refund]) -> Result<Refund, E>,
    ) -> Result<Result<Refund, E>, StoreError> {
        let (refunds, nos, open) =
            (self.feature_tree(REFUNDS)?, self.feature_tree(REFUND_NOS)?, self.feature_tree(OPEN)?);
        let _changing = self.changing();
        let result = (&refunds, &nos, &open).transaction(|(t_refunds, t_nos, t_open)| {
            // why by number: a transaction cannot scan, and an order's refund numbers are
            // consecutive (`domain::refund::out_refund_no`), so reading R1, R2 … up to the
            // first gap reads them all, inside the transaction that writes the next one.
            let mut existing: Vec<Refund> = Vec::new();
            for n in 1.. {
                let Some(no) = crate::domain::refund::out_refund_no(order_no, n) else { break };
                match t_refunds.get(refund_key(order_no, &no))? {
                    Some(v) => existing.push(codec::decode(&v).map_err(tx_abort)?),
                    None => break,
                }
            }
            let refund = match decide(&existing) {
                Ok(r) => r,
                Err(e) => return Ok(Err(e)),
            };
            // why an error: only a number outside that sequence could be taken, and then
            // writing it would hide the refund that has it.
            if t_nos.get(refund.out_refund_no.as_bytes())?.is_some() {
                return Err(tx_abort(StoreError::Sled(sled::Error::Unsupported(format!(
                    "refund number {} is taken",
                    refund.out_refund_no
                )))));
            }
            let key = refund_key(&refund.order_no, &refund.out_refund_no);
            t_refunds.insert(key.as_slice(), codec::encode(&refund).map_err(tx_abort)?)?;
            t_nos.insert(refund.out_refund_no.as_bytes(), key.as_slice())?;
            if refund.status.is_open() {
                t_open.insert(refund.out_refund_no.as_bytes(), &[])?;
            }
            Ok(Ok(refund))
        });
        result.map_err(flatten)
    }

    /// An order's refunds, oldest first.
    pub fn refunds(&self, order_no: &str) -> Result<Vec<Refund>, StoreError> {
        let mut all = self
            .feature_tree(REFUNDS)?
            .scan_prefix(keys::events_prefix(order_no))
            .values()
            .map(|v| Ok(codec::decode::<Refund>(&v?)?))
            .collect::<Result<Vec<_>, StoreError>>()?;
        all.sort_by(|a, b| {
            a.created_at.cmp(&b.created_at).then_with(|| a.out_refund_no.cmp(&b.out_refund_no))
        });
        Ok(all)
    }

    pub fn refund(&self, out_refund_no: &str) -> Result<Option<Refund>, StoreError> {
        let Some(key) = self.feature_tree(REFUND_NOS)?.get(out_refund_no.as_bytes())? else {
            return Ok(None);
        };
        self.feature_tree(REFUNDS)?.get(key)?.map(|v| codec::decode(&v)).transpose().map_err(Into::into)
    }

    /// Reads the refund, lets `change` decide (it may re-run on a conflict: keep it pure),
    /// and writes it with the open-refund list in step. `None`: no such refund.
    pub fn update_refund<T>(
        &self,
        out_refund_no: &str,
        change: impl Fn(&mut Refund) -> T,
    ) -> Result<Option<(Refund, T)>, StoreError> {
        let Some(key) = self.feature_tree(REFUND_NOS)?.get(out_refund_no.as_bytes())? else {
            return Ok(None);
        };
        let (refunds, open) = (self.feature_tree(REFUNDS)?, self.feature_tree(OPEN)?);
        let _changing = self.changing();
        let result = (&refunds, &open).transaction(|(t_refunds, t_open)| {
            let Some(raw) = t_refunds.get(&key)? else { return Ok(None) };
            let before: Refund = codec::decode(&raw).map_err(tx_abort)?;
            let mut after = before.clone();
            let out = change(&mut after);
            if after != before {
                t_refunds.insert(&key, codec::encode(&after).map_err(tx_abort)?)?;
                if after.status.is_open() {
                    t_open.insert(after.out_refund_no.as_bytes(), &[])?;
                } else {
                    t_open.remove(after.out_refund_no.as_bytes())?;
                }
            }
            Ok(Some((after, out)))
        });
        result.map_err(flatten)
    }

    /// The refunds not settled yet (Requested or Processing), for settling them.
    pub fn open_refunds(&self) -> Result<Vec<Refund>, StoreError> {
        let mut out = Vec::new();
        for k in self.feature_tree(OPEN)?.iter().keys() {
            let no = String::from_utf8_lossy(&k?).into_owned();
            if let Some(r) = self.refund(&no)? {
                out.push(r);
            }
        }
        Ok(out)
    }

    /// Every refund created in `[from, to)` (Unix seconds), for a day's reconciliation.
    ///
    /// why a scan: refunds are few next to orders (a handful a day in a small shop); an index
    /// by time would cost every refund a second write for a once-a-day question.
    pub fn refunds_created_between(&self, from: i64, to: i64) -> Result<Vec<Refund>, StoreError> {
        let mut out = Vec::new();
        for v in self.feature_tree(REFUNDS)?.iter().values() {
            let r: Refund = codec::decode(&v?)?;
            if r.created_at >= from && r.created_at < to {
                out.push(r);
            }
        }
        Ok(out)
    }

    /// Orders with `status` created in `[from, to)`, oldest first: a range of the status
    /// index, never a scan of all orders.
    pub fn order_nos_with_status_created_between(
        &self,
        status: OrderStatus,
        from: i64,
        to: i64,
    ) -> Result<Vec<String>, StoreError> {
        let start = keys::status(status, from, "");
        let end = keys::status(status, to, "");
        self.by_status.range(start..end).keys().map(|k| Ok(keys::order_no_of_status_key(&k?))).collect()
    }

    // ---- reconciliation ---------------------------------------------------------------

    /// Keeps `record` as the latest run for its day (replacing an earlier one).
    pub fn put_reconciliation(&self, record: &ReconciliationRecord) -> Result<(), StoreError> {
        self.feature_tree(RECONCILIATION)?.insert(record.day.as_bytes(), codec::encode(record)?)?;
        Ok(())
    }

    /// The latest run for `day` (`yyyy-mm-dd`).
    pub fn reconciliation(&self, day: &str) -> Result<Option<ReconciliationRecord>, StoreError> {
        let tree = self.feature_tree(RECONCILIATION)?;
        tree.get(day.as_bytes())?.map(|v| codec::decode(&v)).transpose().map_err(Into::into)
    }

    /// The latest runs of the most recent `limit` days, newest day first.
    pub fn recent_reconciliations(&self, limit: usize) -> Result<Vec<ReconciliationRecord>, StoreError> {
        self.feature_tree(RECONCILIATION)?
            .iter()
            .rev()
            .take(limit)
            .map(|entry| {
                let (_, v) = entry?;
                Ok(codec::decode(&v)?)
            })
            .collect()
    }
}

/// How one reconciliation run ended.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RunOutcome {
    /// The bill was compared with our records.
    Compared,
    /// WeChat has no bill for the day ("No Bill Exist"): no trades that day.
    NoTrades,
    /// The bill could not be had or read (the words say why); try again later.
    Failed(String),
}

/// What kind of difference a reconciliation found.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DiscrepancyKind {
    /// Paid at WeChat, not recorded here; applied now (its notification was lost).
    OrphanApplied,
    /// Paid at WeChat on another attempt of an order already paid: a double payment to refund.
    OrphanDoublePayment,
    /// Paid at WeChat, not recorded here, and it could not be applied (merchant or amount).
    OrphanNotApplied,
    /// Paid at WeChat under an `out_trade_no` we never issued.
    UnknownPayment,
    /// Paid here (that day), absent from WeChat's bill.
    MissingFromBill,
    /// The bill's amount differs from the order's total.
    AmountDiffers,
    /// The bill names another WeChat transaction than ours.
    TransactionDiffers,
    /// A refund in the bill we have no record of.
    UnknownRefund,
    /// A refund whose amount differs.
    RefundAmountDiffers,
    /// WeChat's refund status is not ours.
    RefundStatusDiffers,
    /// A refund WeChat accepted (by our record) that the bill does not list.
    RefundMissingFromBill,
}

/// One difference, with what each side says; the admin puts it in words.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Discrepancy {
    pub kind: DiscrepancyKind,
    pub order_no: Option<String>,
    pub out_trade_no: Option<String>,
    pub transaction_id: Option<String>,
    pub out_refund_no: Option<String>,
    /// Our amount in fen, when there is one.
    pub ours: Option<u64>,
    /// The bill's amount in fen, when there is one.
    pub theirs: Option<u64>,
    /// A status or a detail as either side wrote it (`SUCCESS`, `processing` …).
    pub note: String,
}

/// The latest reconciliation of one Beijing day.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReconciliationRecord {
    /// `yyyy-mm-dd`, Beijing.
    pub day: String,
    /// Unix seconds.
    pub run_at: i64,
    /// `schedule` or `admin`.
    pub trigger: String,
    pub outcome: RunOutcome,
    /// Payment and refund lines in the bill, and their sums in fen.
    pub bill_payments: u64,
    pub bill_refunds: u64,
    pub bill_paid_fen: u64,
    pub bill_refunded_fen: u64,
    /// Our payments that day (paid attempts) and our refunds created that day.
    pub our_payments: u64,
    pub our_refunds: u64,
    pub discrepancies: Vec<Discrepancy>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::Fen;
    use crate::domain::refund::{RefundStatus, Settlement};

    fn store() -> (Store, std::path::PathBuf) {
        let dir = std::env::temp_dir().join(format!("wxcheckout-refunds-{}", rand::random::<u64>()));
        (Store::open(&dir).expect("open"), dir)
    }

    fn new_refund(order_no: &str, existing: &[Refund], fen: u64) -> Result<Refund, &'static str> {
        let no = crate::domain::refund::out_refund_no(order_no, existing.len() + 1).ok_or("number")?;
        Ok(Refund::new(no, order_no, Fen::new(fen).map_err(|_| "fen")?, "r", 100))
    }

    #[test]
    fn refunds_are_numbered_per_order_and_the_open_list_follows_their_status() {
        let (s, dir) = store();
        let r1 = s.insert_refund("N1", |e| new_refund("N1", e, 10)).expect("store").expect("ok");
        let r2 = s.insert_refund("N1", |e| new_refund("N1", e, 20)).expect("store").expect("ok");
        s.insert_refund("N12", |e| new_refund("N12", e, 5)).expect("store").expect("ok");
        assert_eq!((r1.out_refund_no.as_str(), r2.out_refund_no.as_str()), ("N1R1", "N1R2"));
        assert_eq!(s.refunds("N1").expect("read").len(), 2, "N12's refund is not N1's");
        assert_eq!(s.open_refunds().expect("open").len(), 3);
        let refused = s.insert_refund("N1", |_| Err::<Refund, _>("no")).expect("store");
        assert_eq!(refused, Err("no"));
        let (after, changed) = s
            .update_refund("N1R1", |r| r.settle(Settlement::Success, Some("w"), 200))
            .expect("store")
            .expect("exists");
        assert!(changed);
        assert_eq!(after.status, RefundStatus::Success);
        assert_eq!(s.refund("N1R1").expect("read").map(|r| r.status), Some(RefundStatus::Success));
        assert_eq!(s.open_refunds().expect("open").len(), 2);
        assert!(s.update_refund("nope", |_| ()).expect("store").is_none());
        drop(s);
        let _ = std::fs::remove_dir_all(dir);
    }

    #[test]
    fn a_days_reconciliation_is_replaced_by_its_latest_run() {
        let (s, dir) = store();
        let rec = |day: &str, run_at| ReconciliationRecord {
            day: day.into(),
            run_at,
            trigger: "admin".into(),
            outcome: RunOutcome::NoTrades,
            bill_payments: 0,
            bill_refunds: 0,
            bill_paid_fen: 0,
            bill_refunded_fen: 0,
            our_payments: 0,
            our_refunds: 0,
            discrepancies: vec![],
        };
        s.put_reconciliation(&rec("2024-01-01", 1)).expect("put");
        s.put_reconciliation(&rec("2024-01-02", 2)).expect("put");
        s.put_reconciliation(&rec("2024-01-01", 3)).expect("put");
        assert_eq!(s.reconciliation("2024-01-01").expect("read").map(|r| r.run_at), Some(3));
        let days: Vec<String> =
            s.recent_reconciliations(5).expect("read").into_iter().map(|r| r.day).collect();
        assert_eq!(days, ["2024-01-02", "2024-01-01"]);
        drop(s);
        let _ = std::fs::remove_dir_all(dir);
    }
}
