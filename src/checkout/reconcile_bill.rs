//! Reconciliation: one Beijing day of WeChat's bill (`downloadbill`, ALL) against our orders
//! and refunds, and the daily task that runs it at 10:30 for the day before.
//!
//! Finds (a) payments WeChat took that we never recorded — an "orphan payment" whose
//! notification was lost: it is applied through `apply_payment`, the one path every payment
//! takes, or put before the merchant when no such `out_trade_no` exists; (b) payments we
//! recorded that the bill does not list; (c) amounts that differ; (d) refunds that differ.
//! The latest run of each day is kept (`store::refunds`). It never decides whether a payment
//! counts (`domain` does) and never edits an order except through `apply_payment`.

use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration;

use time::macros::time;
use time::{Date, OffsetDateTime};

use crate::domain::order::Mismatch;
use crate::domain::refund::{Refund, RefundStatus};
use crate::domain::{Applied, AttemptState, Event, EventKind, EventSource, Order, OrderStatus, PaymentFacts};
use crate::store::refunds::{Discrepancy, DiscrepancyKind, ReconciliationRecord, RunOutcome};
use crate::wxpay::bill::BillRow;
use crate::wxpay::messages::{BEIJING, beijing_day, beijing_midnight};
use crate::wxpay::{self};

use super::{Checkout, CheckoutError};

/// Who started a run.
pub const BY_SCHEDULE: &str = "schedule";
pub const BY_ADMIN: &str = "admin";

/// `yyyy-mm-dd`: how a day is named in records, URLs and forms.
pub fn day_label(day: Date) -> String {
    format!("{:04}-{:02}-{:02}", day.year(), u8::from(day.month()), day.day())
}

/// Reads `yyyy-mm-dd`.
pub fn parse_day(s: &str) -> Option<Date> {
    Date::parse(s.trim(), time::macros::format_description!("[year]-[month]-[day]")).ok()
}

/// `[start, end)` of a Beijing day, in Unix seconds.
pub fn day_bounds(day: Date) -> (i64, i64) {
    let start = beijing_midnight(day);
    (start, start + 24 * 3600)
}

/// Today in Beijing on the system clock, for callers that hold no `Checkout` (tests); the
/// shop itself asks `Checkout::beijing_today`, which tests can set.
pub fn beijing_today() -> Date {
    beijing_day(crate::clock::Clock::system().unix())
}

impl Checkout {
    /// Today in Beijing, on the checkout's clock.
    pub fn beijing_today(&self) -> Date {
        beijing_day(self.now())
    }
}

/// One finding, and whether the merchant still has to be told on the order's timeline or
/// the attention list (`apply_payment` tells about what it refuses itself).
struct Finding {
    d: Discrepancy,
    tell: bool,
}

fn finding(kind: DiscrepancyKind, tell: bool) -> Finding {
    Finding {
        d: Discrepancy {
            kind,
            order_no: None,
            out_trade_no: None,
            transaction_id: None,
            out_refund_no: None,
            ours: None,
            theirs: None,
            note: String::new(),
        },
        tell,
    }
}

/// What WeChat's bill says was paid for a payment line: 订单金额 (the order's total_fee),
/// or in the legacy layout 总金额 (read into `settlement_fee`).
fn bill_amount(r: &BillRow) -> u64 {
    if r.order_fee > 0 { r.order_fee } else { r.settlement_fee }
}

fn is_refund_line(r: &BillRow) -> bool {
    r.trade_state == "REFUND" || !matches!(r.out_refund_no.as_str(), "" | "0")
}

fn is_payment_line(r: &BillRow) -> bool {
    !is_refund_line(r) && r.trade_state == "SUCCESS"
}

impl Checkout {
    /// Reconciles one Beijing day now and keeps the result as that day's latest run.
    /// A bill that cannot be had is recorded as a failed run (and returned, not an error);
    /// only our own store failing is an error.
    pub async fn reconcile_day(
        &self,
        day: Date,
        trigger: &str,
    ) -> Result<ReconciliationRecord, CheckoutError> {
        let run_at = self.now();
        let label = day_label(day);
        let previous = self.store.reconciliation(&label)?;
        let bill = self.gateway().bill(day).await;
        let (outcome, rows) = match bill {
            Ok(bill) => (RunOutcome::Compared, bill.rows),
            // why: "No Bill Exist" is WeChat's way of saying there were no trades that day;
            // our side is still compared (a payment we recorded would then be missing).
            Err(wxpay::Error::Protocol { return_msg, .. })
                if return_msg.eq_ignore_ascii_case("No Bill Exist") =>
            {
                (RunOutcome::NoTrades, Vec::new())
            }
            Err(e) => {
                super::TROUBLE.note("reconciliation: no bill", || format!("{label}: {e}"));
                let mut record = empty_record(&label, run_at, trigger);
                record.outcome = RunOutcome::Failed(e.to_string());
                self.store.put_reconciliation(&record)?;
                self.store.flush().await?;
                return Ok(record);
            }
        };
        let mut record = empty_record(&label, run_at, trigger);
        record.outcome = outcome;
        let findings = self.bill_compare(day, &rows, &mut record).await?;
        let told: Vec<&Discrepancy> =
            previous.as_ref().map(|p| p.discrepancies.iter().collect()).unwrap_or_default();
        for f in &findings {
            if f.tell && !told.iter().any(|t| same_finding(t, &f.d)) {
                self.bill_tell(&label, &f.d).await?;
            }
        }
        record.discrepancies = findings.into_iter().map(|f| f.d).collect();
        self.store.put_reconciliation(&record)?;
        self.store.flush().await?;
        tracing::info!(day = label, found = record.discrepancies.len(), "reconciliation done");
        Ok(record)
    }

    async fn bill_compare(
        &self,
        day: Date,
        rows: &[BillRow],
        record: &mut ReconciliationRecord,
    ) -> Result<Vec<Finding>, CheckoutError> {
        let (payments, refunds): (Vec<&BillRow>, Vec<&BillRow>) =
            rows.iter().filter(|r| is_payment_line(r) || is_refund_line(r)).partition(|r| is_payment_line(r));
        record.bill_payments = payments.len() as u64;
        record.bill_refunds = refunds.len() as u64;
        record.bill_paid_fen = payments.iter().map(|r| bill_amount(r)).sum();
        record.bill_refunded_fen = refunds.iter().map(|r| r.refund_fee).sum();
        let mut out = Vec::new();
        for row in &payments {
            self.bill_payment(day, row, &mut out).await?;
        }
        let listed: HashSet<&str> = payments.iter().map(|r| r.out_trade_no.as_str()).collect();
        record.our_payments = self.bill_our_payments(day, &listed, &mut out)?;
        record.our_refunds = self.bill_refunds(day, &refunds, &mut out)?;
        Ok(out)
    }

    /// (a) and (c) for one payment line of the bill.
    async fn bill_payment(
        &self,
        day: Date,
        row: &BillRow,
        out: &mut Vec<Finding>,
    ) -> Result<(), CheckoutError> {
        let amount = bill_amount(row);
        let found = |kind, tell, order: Option<&Order>| {
            let mut f = finding(kind, tell);
            f.d.order_no = order.map(|o| o.no.clone());
            f.d.out_trade_no = Some(row.out_trade_no.clone());
            f.d.transaction_id = Some(row.transaction_id.clone());
            f.d.ours = order.map(|o| o.total.get());
            f.d.theirs = Some(amount);
            f
        };
        let Some(order) = self.store.order_by_out_trade_no(&row.out_trade_no)? else {
            out.push(found(DiscrepancyKind::UnknownPayment, true, None));
            return Ok(());
        };
        let Some(attempt) = order.attempt(&row.out_trade_no) else { return Ok(()) };
        if attempt.state == AttemptState::Paid {
            if attempt.transaction_id.as_deref() != Some(row.transaction_id.as_str()) {
                let mut f = found(DiscrepancyKind::TransactionDiffers, true, Some(&order));
                f.d.note = attempt.transaction_id.clone().unwrap_or_default();
                out.push(f);
            }
            if order.total.get() != amount {
                out.push(found(DiscrepancyKind::AmountDiffers, true, Some(&order)));
            }
            return Ok(());
        }
        let facts = PaymentFacts {
            appid: row.appid.clone(),
            mch_id: row.mch_id.clone(),
            out_trade_no: row.out_trade_no.clone(),
            transaction_id: row.transaction_id.clone(),
            total_fee: amount,
            paid_at: row.trade_time.assume_offset(BEIJING).unix_timestamp(),
        };
        let outcome = self.apply_payment(&facts, EventSource::Reconciler, None).await?;
        let kind = match outcome.applied {
            Applied::Duplicate => return Ok(()),
            Applied::Paid => DiscrepancyKind::OrphanApplied,
            Applied::DoublePayment => DiscrepancyKind::OrphanDoublePayment,
            Applied::Mismatch(Mismatch::Amount { .. }) => DiscrepancyKind::AmountDiffers,
            Applied::Mismatch(Mismatch::Merchant) | Applied::UnknownAttempt => {
                DiscrepancyKind::OrphanNotApplied
            }
        };
        if matches!(kind, DiscrepancyKind::OrphanApplied | DiscrepancyKind::OrphanDoublePayment) {
            let message = format!(
                "WeChat's bill of {} lists payment {} of ¥{} for {}, which no notification or query had recorded: applied by reconciliation",
                day_label(day),
                row.transaction_id,
                crate::wxpay::bill::format_yuan(amount, 2),
                row.out_trade_no
            );
            let event = Event::new(self.now(), EventSource::Reconciler, EventKind::OrphanPayment, message);
            self.store.update_order(&order.no, |_| ((), vec![event.clone()]))?;
        }
        out.push(found(kind, false, Some(&order)));
        Ok(())
    }

    /// (b): payments we recorded that day (every paid attempt, double payments too) that the
    /// bill does not list. Returns how many we recorded.
    fn bill_our_payments(
        &self,
        day: Date,
        listed: &HashSet<&str>,
        out: &mut Vec<Finding>,
    ) -> Result<u64, CheckoutError> {
        let (start, end) = day_bounds(day);
        // why this window: an attempt can only be paid before its time_expire, which is set
        // from the order's lifetime — the longest one allowed, as the merchant may have
        // shortened it since; two days of margin cover clocks and renewed prepays.
        let ttl = i64::from(crate::domain::shop::TTL_MAX) * 60;
        let from = start - ttl - 2 * 24 * 3600;
        let mut ours = 0;
        for status in [OrderStatus::Paid, OrderStatus::PartiallyRefunded, OrderStatus::Refunded] {
            for no in self.store.order_nos_with_status_created_between(status, from, end)? {
                let Some(order) = self.store.order(&no)? else { continue };
                let paid_that_day = order.attempts.iter().filter(|a| {
                    a.state == AttemptState::Paid && a.paid_at.is_some_and(|t| t >= start && t < end)
                });
                for a in paid_that_day {
                    ours += 1;
                    if !listed.contains(a.out_trade_no.as_str()) {
                        let mut f = finding(DiscrepancyKind::MissingFromBill, true);
                        f.d.order_no = Some(order.no.clone());
                        f.d.out_trade_no = Some(a.out_trade_no.clone());
                        f.d.transaction_id = a.transaction_id.clone();
                        f.d.ours = Some(order.total.get());
                        out.push(f);
                    }
                }
            }
        }
        Ok(ours)
    }

    /// (d): the bill's refund lines against our refund records created that day. Returns
    /// how many refunds we started that day.
    fn bill_refunds(
        &self,
        day: Date,
        lines: &[&BillRow],
        out: &mut Vec<Finding>,
    ) -> Result<u64, CheckoutError> {
        let (start, end) = day_bounds(day);
        let ours = self.store.refunds_created_between(start, end)?;
        for line in lines {
            let order_no = self.store.order_by_out_trade_no(&line.out_trade_no)?.map(|o| o.no);
            let theirs =
                if line.requested_refund_fee > 0 { line.requested_refund_fee } else { line.refund_fee };
            let mk = |kind, r: Option<&Refund>| {
                let mut f = finding(kind, true);
                f.d.order_no = order_no.clone();
                f.d.out_trade_no = Some(line.out_trade_no.clone());
                f.d.transaction_id = Some(line.transaction_id.clone());
                f.d.out_refund_no = Some(line.out_refund_no.clone());
                f.d.ours = r.map(|r| r.amount.get());
                f.d.theirs = Some(theirs);
                f.d.note = format!("{} / {}", line.refund_status, r.map_or("-", |r| r.status.as_str()));
                f
            };
            match self.store.refund(&line.out_refund_no)? {
                None => out.push(mk(DiscrepancyKind::UnknownRefund, None)),
                Some(r) => {
                    if r.amount.get() != theirs {
                        out.push(mk(DiscrepancyKind::RefundAmountDiffers, Some(&r)));
                    }
                    if status_differs(&line.refund_status, &r.status) {
                        out.push(mk(DiscrepancyKind::RefundStatusDiffers, Some(&r)));
                    }
                }
            }
        }
        let listed: HashSet<&str> = lines.iter().map(|l| l.out_refund_no.as_str()).collect();
        for r in ours.iter().filter(|r| r.refund_id.is_some() && !listed.contains(r.out_refund_no.as_str())) {
            let mut f = finding(DiscrepancyKind::RefundMissingFromBill, true);
            f.d.order_no = Some(r.order_no.clone());
            f.d.out_refund_no = Some(r.out_refund_no.clone());
            f.d.ours = Some(r.amount.get());
            f.d.note = r.status.as_str().to_owned();
            out.push(f);
        }
        Ok(ours.len() as u64)
    }

    /// Puts a finding before the merchant: on the order's timeline (with attention), or on
    /// the attention list when no order is known.
    async fn bill_tell(&self, day: &str, d: &Discrepancy) -> Result<(), CheckoutError> {
        let message = format!("reconciliation of {day}: {}", describe(d, true));
        let event =
            Event::new(self.now(), EventSource::Reconciler, EventKind::Reconciliation, message).attention();
        match &d.order_no {
            Some(no) => {
                self.store.update_order(no, |_| ((), vec![event.clone()]))?;
            }
            None => self.store.record_unmatched(&event)?,
        }
        Ok(())
    }
}

fn empty_record(day: &str, run_at: i64, trigger: &str) -> ReconciliationRecord {
    ReconciliationRecord {
        day: day.to_owned(),
        run_at,
        trigger: trigger.to_owned(),
        outcome: RunOutcome::Compared,
        bill_payments: 0,
        bill_refunds: 0,
        bill_paid_fen: 0,
        bill_refunded_fen: 0,
        our_payments: 0,
        our_refunds: 0,
        discrepancies: Vec::new(),
    }
}

/// The same finding as one an earlier run of the day already told about.
fn same_finding(a: &Discrepancy, b: &Discrepancy) -> bool {
    a.kind == b.kind
        && a.order_no == b.order_no
        && a.out_trade_no == b.out_trade_no
        && a.out_refund_no == b.out_refund_no
}

/// Whether the bill's refund status and ours disagree. why the exception: the bill is a
/// snapshot; a refund it shows PROCESSING may have settled since.
fn status_differs(bill: &str, ours: &RefundStatus) -> bool {
    let same = match bill {
        "SUCCESS" => *ours == RefundStatus::Success,
        "REFUNDCLOSE" => *ours == RefundStatus::Closed,
        "CHANGE" => *ours == RefundStatus::Change,
        "PROCESSING" => matches!(
            ours,
            RefundStatus::Processing | RefundStatus::Success | RefundStatus::Change | RefundStatus::Closed
        ),
        _ => false,
    };
    !same
}

fn yuan(fen: Option<u64>) -> String {
    fen.map_or_else(|| "-".to_owned(), |f| format!("¥{}", crate::wxpay::bill::format_yuan(f, 2)))
}

/// A finding in words, in English (`en`) or Chinese.
pub fn describe(d: &Discrepancy, en: bool) -> String {
    let t = |zh: String, e: String| if en { e } else { zh };
    let otn = d.out_trade_no.as_deref().unwrap_or("-");
    let ofn = d.out_refund_no.as_deref().unwrap_or("-");
    let tx = d.transaction_id.as_deref().unwrap_or("-");
    let (ours, theirs) = (yuan(d.ours), yuan(d.theirs));
    match d.kind {
        DiscrepancyKind::OrphanApplied => t(
            format!("微信已收款 {theirs}（{otn}，微信单号 {tx}），本店未记录（通知丢失）：已补记为已支付"),
            format!(
                "WeChat took {theirs} for {otn} (WeChat {tx}) but we had not recorded it (its notification was lost): now applied"
            ),
        ),
        DiscrepancyKind::OrphanDoublePayment => t(
            format!("微信已收款 {theirs}（{otn}），但该订单已由另一笔支付付清：重复支付，请退款"),
            format!(
                "WeChat took {theirs} for {otn}, but the order was already paid by another attempt: a double payment to refund"
            ),
        ),
        DiscrepancyKind::OrphanNotApplied => t(
            format!("微信已收款 {theirs}（{otn}），本店未记录且无法自动补记（商户号或支付单不符），请核查"),
            format!(
                "WeChat took {theirs} for {otn}, which we had not recorded and could not apply (merchant or attempt does not match): check it"
            ),
        ),
        DiscrepancyKind::UnknownPayment => t(
            format!("微信账单有一笔 {theirs} 的收款（商户订单号 {otn}，微信单号 {tx}），本店没有这个订单号"),
            format!(
                "WeChat's bill has a payment of {theirs} for out_trade_no {otn} (WeChat {tx}) that this shop never issued"
            ),
        ),
        DiscrepancyKind::MissingFromBill => t(
            format!("本店记录已支付 {ours}（{otn}，微信单号 {tx}），但微信账单中没有这笔收款"),
            format!("we recorded {otn} as paid ({ours}, WeChat {tx}) but WeChat's bill does not list it"),
        ),
        DiscrepancyKind::AmountDiffers => t(
            format!("金额不符：{otn} 本店订单金额 {ours}，微信账单 {theirs}"),
            format!("amounts differ for {otn}: the order is {ours}, WeChat's bill says {theirs}"),
        ),
        DiscrepancyKind::TransactionDiffers => t(
            format!("{otn} 的微信单号不符：本店 {}，账单 {tx}", d.note),
            format!("{otn} has another WeChat transaction here ({}) than in the bill ({tx})", d.note),
        ),
        DiscrepancyKind::UnknownRefund => t(
            format!("微信账单有退款 {ofn}（{theirs}，{otn}），本店没有这笔退款记录"),
            format!("WeChat's bill has refund {ofn} of {theirs} for {otn} that we have no record of"),
        ),
        DiscrepancyKind::RefundAmountDiffers => t(
            format!("退款 {ofn} 金额不符：本店 {ours}，微信账单 {theirs}"),
            format!("refund {ofn}: we asked {ours}, WeChat's bill says {theirs}"),
        ),
        DiscrepancyKind::RefundStatusDiffers => t(
            format!("退款 {ofn} 状态不符（微信 / 本店）：{}", d.note),
            format!("refund {ofn} status differs (WeChat / ours): {}", d.note),
        ),
        DiscrepancyKind::RefundMissingFromBill => t(
            format!("退款 {ofn}（{ours}，本店状态 {}）不在微信账单中", d.note),
            format!("refund {ofn} of {ours} (ours: {}) is not in WeChat's bill", d.note),
        ),
    }
}

// ---- the daily run ----------------------------------------------------------------------

/// WeChat advises fetching a day's bill after 10:00 the next day; we run at 10:30.
const RUN_AT: time::Time = time!(10:30);
/// A day's bill is final from 10:00 the next day; a run before that is done again.
const BILL_READY: time::Time = time!(10:00);
/// A failed run is tried again this long after.
const RETRY_AFTER: i64 = 30 * 60;
/// How often the task looks whether a run is due.
const CHECK_EVERY: Duration = Duration::from_secs(5 * 60);

/// The day to reconcile at `now`, if any: yesterday, once it is 10:30 in Beijing, unless a
/// run after its bill was ready already succeeded (a failed one is retried every 30 minutes).
///
/// why a check rather than a timer: a shop stopped over 10:30 (or restarted after a failed
/// run) catches up as soon as it starts.
pub fn due_day(now: OffsetDateTime, last: Option<&ReconciliationRecord>) -> Option<Date> {
    let local = now.to_offset(BEIJING);
    if local.time() < RUN_AT {
        return None;
    }
    let yesterday = local.date().previous_day()?;
    let ready = local.date().with_time(BILL_READY).assume_offset(BEIJING).unix_timestamp();
    let due = match last {
        None => true,
        Some(r) if r.run_at < ready => true,
        Some(r) => {
            matches!(r.outcome, RunOutcome::Failed(_)) && now.unix_timestamp() - r.run_at >= RETRY_AFTER
        }
    };
    due.then_some(yesterday)
}

/// Starts the daily reconciliation; it stops at the next await once `shutdown` fires.
pub fn spawn_daily(checkout: Arc<Checkout>, shutdown: rocket::Shutdown) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        tokio::pin!(shutdown);
        loop {
            // why: a run cancelled at an await leaves no half record (it is written last),
            // and its orphan payments went through apply_payment, one transaction each.
            tokio::select! {
                _ = &mut shutdown => break,
                _ = run_if_due(&checkout) => {}
            }
            tokio::select! {
                _ = &mut shutdown => break,
                _ = tokio::time::sleep(CHECK_EVERY) => {}
            }
        }
        tracing::debug!("daily reconciliation stopped");
    })
}

async fn run_if_due(checkout: &Checkout) {
    let now = checkout.clock.now();
    let Some(yesterday) = now.to_offset(BEIJING).date().previous_day() else { return };
    let last = match checkout.store.reconciliation(&day_label(yesterday)) {
        Ok(last) => last,
        Err(e) => return tracing::error!(error = %e, "daily reconciliation: cannot read the last run"),
    };
    let Some(day) = due_day(now, last.as_ref()) else { return };
    if let Err(e) = checkout.reconcile_day(day, BY_SCHEDULE).await {
        tracing::error!(day = day_label(day), error = %e, "daily reconciliation failed");
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    fn record(run_at: OffsetDateTime, outcome: RunOutcome) -> ReconciliationRecord {
        ReconciliationRecord { outcome, ..empty_record("2024-05-01", run_at.unix_timestamp(), BY_SCHEDULE) }
    }

    #[test]
    fn yesterday_is_due_from_10_30_beijing_until_a_run_after_the_bill_was_ready_succeeds() {
        let at = |t: OffsetDateTime| t;
        let before = datetime!(2024-05-02 10:29 +8);
        let after = datetime!(2024-05-02 10:31 +8);
        assert_eq!(due_day(at(before), None), None);
        assert_eq!(due_day(at(after), None), Some(time::macros::date!(2024 - 05 - 01)));
        let early = record(datetime!(2024-05-02 09:00 +8), RunOutcome::Compared);
        assert!(due_day(after, Some(&early)).is_some(), "a run before 10:00 saw an unfinished bill");
        let done = record(datetime!(2024-05-02 10:30 +8), RunOutcome::NoTrades);
        assert_eq!(due_day(datetime!(2024-05-02 23:00 +8), Some(&done)), None);
        let failed = record(datetime!(2024-05-02 10:30 +8), RunOutcome::Failed("SYSTEMERROR".into()));
        assert_eq!(due_day(datetime!(2024-05-02 10:50 +8), Some(&failed)), None);
        assert!(due_day(datetime!(2024-05-02 11:00 +8), Some(&failed)).is_some());
        assert_eq!(due_day(datetime!(2024-05-02 02:31 UTC), None), Some(time::macros::date!(2024 - 05 - 01)));
    }

    #[test]
    fn a_beijing_day_starts_at_16_00_utc_the_day_before() {
        let (start, end) = day_bounds(time::macros::date!(2024 - 05 - 01));
        assert_eq!(start, datetime!(2024-04-30 16:00 UTC).unix_timestamp());
        assert_eq!(end - start, 86_400);
        assert_eq!(parse_day("2024-05-01").map(day_label).as_deref(), Some("2024-05-01"));
        assert_eq!(parse_day("20240501"), None);
    }

    #[test]
    fn a_refund_the_bill_shows_processing_may_have_settled_since() {
        assert!(!status_differs("PROCESSING", &RefundStatus::Success));
        assert!(status_differs("SUCCESS", &RefundStatus::Processing));
        assert!(status_differs("SUCCESS", &RefundStatus::Failed("x".into())));
        assert!(!status_differs("REFUNDCLOSE", &RefundStatus::Closed));
    }
}
