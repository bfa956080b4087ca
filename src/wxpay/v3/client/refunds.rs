//! Refunds in v3: `POST /v3/refund/domestic/refunds` and the query of one refund by our
//! number. No client certificate, unlike v2: the request's signature proves who asks.

use reqwest::Method;

use super::errors::Call;
use super::types::{NewRefund, Refund, RefundBody, RefundBodyAmount, RefundOf};
use super::{V3Client, segment};
use crate::wxpay::error::Error;

impl V3Client {
    /// `POST /v3/refund/domestic/refunds`: accepted is not refunded; query or await the
    /// notification. A repeat with the same `out_refund_no` refunds once.
    pub async fn refund(&self, r: &NewRefund) -> Result<Refund, Error> {
        let (transaction_id, out_trade_no) = match &r.of {
            RefundOf::TransactionId(t) => (Some(t.as_str()), None),
            RefundOf::OutTradeNo(o) => (None, Some(o.as_str())),
        };
        let body = RefundBody {
            transaction_id,
            out_trade_no,
            out_refund_no: &r.out_refund_no,
            reason: r.reason.as_deref(),
            notify_url: r.notify_url.as_deref(),
            amount: RefundBodyAmount { refund: r.refund_fen, total: r.total_fen, currency: "CNY" },
        };
        let json = serde_json::to_vec(&body).map_err(|e| Error::InvalidInput(e.to_string()))?;
        let url = self.url("v3/refund/domestic/refunds", &[])?;
        let refund: Refund = self.call_json(Call::Refund, Method::POST, &url, &json).await?;
        check_refund_no(&refund, &r.out_refund_no)?;
        Ok(refund)
    }

    /// `GET /v3/refund/domestic/refunds/{out_refund_no}`.
    pub async fn query_refund(&self, out_refund_no: &str) -> Result<Refund, Error> {
        let url = self.url(&format!("v3/refund/domestic/refunds/{}", segment(out_refund_no)), &[])?;
        let refund: Refund = self.call_json(Call::RefundQuery, Method::GET, &url, b"").await?;
        check_refund_no(&refund, out_refund_no)?;
        Ok(refund)
    }
}

fn check_refund_no(refund: &Refund, asked: &str) -> Result<(), Error> {
    if refund.out_refund_no == asked {
        Ok(())
    } else {
        Err(Error::Malformed(format!("asked for refund {asked}, answered {}", refund.out_refund_no)))
    }
}
