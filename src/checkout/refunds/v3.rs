//! Receiving a v3 refund notification (`REFUND.SUCCESS`, `REFUND.ABNORMAL`, `REFUND.CLOSED`):
//! opened by the v3 client, then read as the refund result v2's notification carries and
//! recorded by the same `record_refund`, so the order, our refund record and the admin's
//! attention follow a v3 refund exactly as they follow a v2 one.

use std::net::IpAddr;

use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use super::super::Checkout;
use super::super::notification::Receipt;
use super::super::rejected::{NotificationKind, Reason};
use crate::wxpay::messages::beijing_dashed;
use crate::wxpay::notify::{RefundInfo, RefundNotification};
use crate::wxpay::v3::client::notify::Opened;
use crate::wxpay::v3::messages::RefundNotification as V3Refund;
use crate::wxpay::xml::Fields;

impl Checkout {
    /// Verifies a v3 refund notification (its request `headers` and raw `body`, from `from`)
    /// and records it; a rejected one is logged in summary and kept for the admin.
    pub async fn receive_v3_refund_notification(
        &self,
        headers: &[(String, String)],
        body: &[u8],
        from: Option<IpAddr>,
    ) -> Receipt {
        let opened: Opened<V3Refund> =
            match self.open_v3_notification(NotificationKind::Refund, headers, body, from).await {
                Ok(opened) => opened,
                Err(receipt) => return receipt,
            };
        let n = match self.as_v2_refund(&opened.resource) {
            Ok(n) => n,
            Err((why, detail)) => {
                self.reject_notification(NotificationKind::Refund, why, from, body, &detail);
                return Receipt::Rejected("参数格式校验错误");
            }
        };
        self.refund_receipt(&n).await
    }

    /// The refund result in v2's terms. Another merchant's `mchid` or a negative amount is
    /// refused (nothing recorded), as v2 refuses another merchant's refund notification.
    fn as_v2_refund(&self, r: &V3Refund) -> Result<RefundNotification, (Reason, String)> {
        if r.mchid != self.settings.mch_id {
            return Err((Reason::WrongMerchant, format!("refund notification for mchid {:?}", r.mchid)));
        }
        let fen = |v: i64, what: &str| {
            u64::try_from(v).map_err(|_| (Reason::BadField, format!("refund notification {what} {v}")))
        };
        let info = RefundInfo {
            out_refund_no: r.out_refund_no.clone(),
            out_trade_no: r.out_trade_no.clone(),
            refund_id: r.refund_id.clone(),
            transaction_id: r.transaction_id.clone(),
            total_fee: fen(r.amount.total, "total")?,
            refund_fee: fen(r.amount.refund, "refund")?,
            settlement_total_fee: None,
            settlement_refund_fee: None,
            refund_status: super::super::gateway::refund_status(r.refund_status),
            success_time: r
                .success_time
                .as_deref()
                .and_then(|t| OffsetDateTime::parse(t, &Rfc3339).ok())
                .map(beijing_dashed),
            refund_recv_accout: Some(r.user_received_account.clone()),
            refund_account: None,
            refund_request_source: None,
        };
        // why the decrypted resource as the raw record: it is what WeChat said; the envelope
        // holds only ciphertext.
        let raw_xml = serde_json::to_string(r).unwrap_or_default();
        Ok(RefundNotification {
            appid: self.settings.appid.clone(),
            mch_id: r.mchid.clone(),
            info,
            raw: Fields::new(),
            req_info: Fields::new(),
            raw_xml,
        })
    }
}
