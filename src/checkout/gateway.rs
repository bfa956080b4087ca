//! `Gateway`: the one door from the use cases to WeChat Pay's payment API, whichever version
//! `wxpay.api_version` names: place a prepay for an attempt, query it, close it, refund,
//! query a refund, download a day's bill (docs/wechat-pay-v3.md#the-checkout-on-v3).
//!
//! Owns the translation between the checkout's words (an attempt's `UnifiedOrder`, a v2
//! `Refund`) and each version's calls, and back into one shape of answer: the facts a paid
//! query proves go through `apply_payment` whatever the version. It must not decide anything
//! about orders: the use cases read its answers exactly as they read v2's. OAuth is not here
//! (it is the same for both versions and stays on the v2 client).

use time::format_description::well_known::Rfc3339;

use crate::domain::{ApiVersion, PaymentFacts};
use crate::store::StoreError;
use crate::wxpay::bill::Bill;
use crate::wxpay::jsapi::JsapiPayParams;
use crate::wxpay::messages::{
    BEIJING, BillType, DownloadBill, OrderRef, RefundQuery, RefundQueryBy, RefundStatus, TradeKind,
    TradeState, UnifiedOrder,
};
use crate::wxpay::v3::V3Client;
use crate::wxpay::v3::client::types::{H5Type, NewOrder, NewRefund, RefundOf, TradeBillType};
use crate::wxpay::v3::messages::{RefundStatus as V3RefundStatus, TradeState as V3TradeState};
use crate::wxpay::{self, Error, WxPayClient};

use super::apply::facts_from_query;
use super::apply_v3::facts_from_transaction;
use super::{Checkout, Settings};

/// The API the checkout's own calls go through.
#[derive(Clone, Copy)]
pub(crate) enum Gateway<'a> {
    V2(&'a WxPayClient),
    V3(&'a V3Client),
}

/// A placed prepay, as the attempt keeps it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Prepay {
    /// What marks the attempt as known to WeChat (see `v3_prepay_id`).
    pub prepay_id: String,
    pub mweb_url: Option<String>,
    pub code_url: Option<String>,
}

/// What a query by `out_trade_no` says, in the checkout's words.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Queried {
    pub trade_state: TradeState,
    /// The payment to apply when `trade_state` says paid and the answer carries its fields.
    pub facts: Option<PaymentFacts>,
}

/// One refund as a query reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct RefundSeen {
    pub refund_id: String,
    pub refund_fee: u64,
    pub status: RefundStatus,
}

impl Checkout {
    /// The gateway of the configured API version: where new attempts are placed.
    pub(crate) fn gateway(&self) -> Gateway<'_> {
        match (self.settings.api, &self.v3) {
            (ApiVersion::V3, Some(v3)) => Gateway::V3(v3),
            _ => Gateway::V2(&self.wx),
        }
    }

    /// The gateway of `api`, for what an attempt or refund placed on it needs (query, close,
    /// refund, refund query), when that version's client is configured.
    ///
    /// why no fallback to the other version: WeChat wants an order queried and closed in the
    /// version that created it (v3 close is reported to fail on v2 orders, and a query may
    /// answer "no such order"); such an answer would be read as a fact about the attempt. The
    /// attempt is left as it is and the error says which setting it needs.
    pub(crate) fn gateway_for(&self, api: ApiVersion) -> Result<Gateway<'_>, Error> {
        match api {
            ApiVersion::V2 if self.settings.api_key.is_some() => Ok(Gateway::V2(&self.wx)),
            ApiVersion::V3 => self.v3.as_ref().map(Gateway::V3).ok_or_else(|| not_configured(api)),
            ApiVersion::V2 => Err(not_configured(api)),
        }
    }

    /// The API attempt `out_trade_no` of `order_no` was placed on (the configured one for an
    /// attempt the order does not hold).
    pub(crate) fn attempt_api(&self, order_no: &str, out_trade_no: &str) -> Result<ApiVersion, StoreError> {
        Ok(self
            .store
            .order(order_no)?
            .and_then(|o| o.attempt(out_trade_no).map(|a| a.api))
            .unwrap_or(self.settings.api))
    }

    /// Open attempts of pending orders placed on a version whose client is not configured,
    /// as `(out_trade_no, version)`, at most `limit`: they are left as they are until it is.
    pub fn stranded_attempts(&self, limit: usize) -> Result<Vec<(String, ApiVersion)>, StoreError> {
        let orders = self.store.stuck_pending(self.now() + 1, limit, 5000)?;
        Ok(orders
            .iter()
            .flat_map(|o| o.open_attempts())
            .filter(|a| self.gateway_for(a.api).is_err())
            .map(|a| (a.out_trade_no.clone(), a.api))
            .take(limit)
            .collect())
    }

    /// `query` of an attempt placed on `api`, through that version.
    pub(crate) async fn query_on(&self, api: ApiVersion, out_trade_no: &str) -> Result<Queried, Error> {
        self.gateway_for(api)?.query(out_trade_no, &self.settings, self.now()).await
    }

    /// `close` of an attempt placed on `api`, through that version.
    pub(crate) async fn close_on(&self, api: ApiVersion, out_trade_no: &str) -> Result<(), Error> {
        self.gateway_for(api)?.close(out_trade_no).await
    }
}

/// Why an attempt of `api` cannot be asked about: its version's client is not configured.
fn not_configured(api: ApiVersion) -> Error {
    let needs = match api {
        ApiVersion::V2 => "the APIv2 key (wxpay.api_key)",
        ApiVersion::V3 => "the API v3 credentials ([wxpay.v3])",
    };
    Error::InvalidInput(format!(
        "this attempt was placed on API {}; calls about it (query, close, refund) need {needs}, \
         which this shop does not have: it is left as it is",
        api.as_str()
    ))
}

impl Gateway<'_> {
    /// Places (or renews with identical parameters) the prepay of an attempt.
    pub async fn prepay(&self, req: &UnifiedOrder) -> Result<Prepay, Error> {
        match self {
            Gateway::V2(wx) => {
                let a = wx.unified_order(req).await?;
                Ok(Prepay { prepay_id: a.prepay_id, mweb_url: a.mweb_url, code_url: a.code_url })
            }
            Gateway::V3(v3) => {
                let order = new_order(req)?;
                match &req.kind {
                    TradeKind::Jsapi { openid } => {
                        let prepay_id = v3.jsapi(&order, openid).await?;
                        Ok(Prepay { prepay_id, mweb_url: None, code_url: None })
                    }
                    // why Wap: the buyer is in a phone browser on our own site; `iOS`/`Android`
                    // name an app.
                    TradeKind::Mweb { .. } => {
                        let h5_url = v3.h5(&order, H5Type::Wap).await?;
                        Ok(Prepay {
                            prepay_id: v3_prepay_id(&h5_url),
                            mweb_url: Some(h5_url),
                            code_url: None,
                        })
                    }
                    TradeKind::Native { .. } => {
                        let code_url = v3.native(&order).await?;
                        Ok(Prepay {
                            prepay_id: v3_prepay_id(&code_url),
                            mweb_url: None,
                            code_url: Some(code_url),
                        })
                    }
                }
            }
        }
    }

    /// The JSAPI bridge parameters for a prepay of this version: v2 signs `paySign` with the
    /// API key (MD5/HMAC), v3 with the merchant's RSA key (`signType` RSA).
    pub fn jsapi_pay_params(&self, prepay_id: &str, now: i64) -> Result<JsapiPayParams, Error> {
        match self {
            Gateway::V2(wx) => wx.jsapi_pay_params(prepay_id, now),
            Gateway::V3(v3) => {
                let p = v3.jsapi_pay_params(prepay_id, now)?;
                Ok(JsapiPayParams {
                    appId: p.app_id,
                    timeStamp: p.time_stamp,
                    nonceStr: p.nonce_str,
                    package: p.package,
                    signType: p.sign_type,
                    paySign: p.pay_sign,
                })
            }
        }
    }

    /// The state of `out_trade_no` at WeChat and, when paid, the facts to apply. Errors keep
    /// v2's codes (`ORDERNOTEXIST`, `SYSTEMERROR` …) in both versions.
    pub async fn query(&self, out_trade_no: &str, s: &Settings, now: i64) -> Result<Queried, Error> {
        match self {
            Gateway::V2(wx) => {
                let q = wx.order_query(&OrderRef::OutTradeNo(out_trade_no.to_owned())).await?;
                let facts = facts_from_query(&q, &s.appid, &s.mch_id, now);
                Ok(Queried { trade_state: q.trade_state, facts })
            }
            Gateway::V3(v3) => {
                let t = v3.query_by_out_trade_no(out_trade_no).await?;
                Ok(Queried {
                    trade_state: trade_state(t.trade_state),
                    facts: facts_from_transaction(&t, now),
                })
            }
        }
    }

    /// Closes `out_trade_no` at WeChat (v2 `closeorder`, v3 `…/close`).
    pub async fn close(&self, out_trade_no: &str) -> Result<(), Error> {
        match self {
            Gateway::V2(wx) => wx.close_order(out_trade_no).await.map(drop),
            Gateway::V3(v3) => v3.close(out_trade_no).await,
        }
    }

    /// Asks for a refund; `Ok` is WeChat's refund id (accepted, not yet refunded).
    pub async fn refund(&self, req: &wxpay::messages::Refund) -> Result<String, Error> {
        match self {
            Gateway::V2(wx) => wx.refund(req).await.map(|r| r.refund_id),
            Gateway::V3(v3) => {
                let of = match &req.order {
                    OrderRef::OutTradeNo(o) => RefundOf::OutTradeNo(o.clone()),
                    OrderRef::TransactionId(t) => RefundOf::TransactionId(t.clone()),
                };
                let r = NewRefund {
                    of,
                    out_refund_no: req.out_refund_no.clone(),
                    reason: req.refund_desc.clone(),
                    notify_url: req.notify_url.clone(),
                    refund_fen: req.refund_fee,
                    total_fen: req.total_fee,
                };
                v3.refund(&r).await.map(|r| r.refund_id)
            }
        }
    }

    /// What WeChat says of refund `out_refund_no`; `None` when its answer lists it not.
    /// "No such refund" is the error `REFUNDNOTEXIST` in both versions.
    pub async fn query_refund(&self, out_refund_no: &str) -> Result<Option<RefundSeen>, Error> {
        match self {
            Gateway::V2(wx) => {
                let q =
                    RefundQuery { by: RefundQueryBy::OutRefundNo(out_refund_no.to_owned()), offset: None };
                let resp = wx.refund_query(&q).await?;
                Ok(resp.records.into_iter().find(|x| x.out_refund_no == out_refund_no).map(|x| RefundSeen {
                    refund_id: x.refund_id,
                    refund_fee: x.refund_fee,
                    status: x.refund_status,
                }))
            }
            Gateway::V3(v3) => {
                let r = v3.query_refund(out_refund_no).await?;
                let refund_fee = u64::try_from(r.amount.refund).map_err(|_| {
                    Error::Malformed(format!("refund {out_refund_no}: amount {}", r.amount.refund))
                })?;
                Ok(Some(RefundSeen { refund_id: r.refund_id, refund_fee, status: refund_status(r.status) }))
            }
        }
    }

    /// The whole bill of one Beijing day. A day without trades is v2's `No Bill Exist`
    /// protocol error in both versions.
    pub async fn bill(&self, day: time::Date) -> Result<Bill, Error> {
        match self {
            Gateway::V2(wx) => {
                wx.download_bill(&DownloadBill { bill_date: day, bill_type: BillType::All }).await
            }
            Gateway::V3(v3) => v3.trade_bill(day, TradeBillType::All).await,
        }
    }
}

/// The v3 order of an attempt's `UnifiedOrder`: the same number, text, amount and expiry.
fn new_order(req: &UnifiedOrder) -> Result<NewOrder, Error> {
    let time_expire = req
        .time_expire
        .map(|t| t.to_offset(BEIJING).format(&Rfc3339))
        .transpose()
        .map_err(|e| Error::InvalidInput(format!("time_expire: {e}")))?;
    Ok(NewOrder {
        description: req.body.clone(),
        out_trade_no: req.out_trade_no.clone(),
        total_fen: req.total_fee,
        notify_url: req.notify_url.clone(),
        attach: req.attach.clone(),
        time_expire,
        // why H5 only: v3 wants the payer's address for H5 (the cashier compares it); sent on
        // the other channels it would make a renewal from another network a "different"
        // order, which WeChat refuses for a reused out_trade_no.
        payer_client_ip: matches!(req.kind, TradeKind::Mweb { .. }).then(|| req.spbill_create_ip.clone()),
    })
}

/// What an attempt keeps as its `prepay_id` for a v3 H5 or Native order.
///
/// why: the checkout reads a stored `prepay_id` as "WeChat knows this out_trade_no" (only
/// such attempts are queried and closed). v3 answers H5 with a link alone, whose
/// `prepay_id` parameter is WeChat's id, and Native with a `code_url` alone: the link itself
/// stands in then, as the one thing WeChat gave back.
fn v3_prepay_id(link: &str) -> String {
    url::Url::parse(link)
        .ok()
        .and_then(|u| u.query_pairs().find(|(k, _)| k == "prepay_id").map(|(_, v)| v.into_owned()))
        .unwrap_or_else(|| link.to_owned())
}

/// A v3 `trade_state` in v2's words (the same states, spelled the same).
fn trade_state(s: V3TradeState) -> TradeState {
    match s {
        V3TradeState::Success => TradeState::Success,
        V3TradeState::Refund => TradeState::Refund,
        V3TradeState::NotPay => TradeState::NotPay,
        V3TradeState::Closed => TradeState::Closed,
        V3TradeState::Revoked => TradeState::Revoked,
        V3TradeState::UserPaying => TradeState::UserPaying,
        V3TradeState::PayError => TradeState::PayError,
        V3TradeState::Accept => TradeState::Accept,
        // why not NOTPAY: a state we do not know must not read as one we act on.
        V3TradeState::Unknown => TradeState::Other("UNKNOWN".to_owned()),
    }
}

/// A v3 refund `status` in v2's words, for the refund query and the v3 refund notification.
pub(super) fn refund_status(s: V3RefundStatus) -> RefundStatus {
    match s {
        V3RefundStatus::Success => RefundStatus::Success,
        V3RefundStatus::Closed => RefundStatus::RefundClose,
        // why CHANGE: v3's ABNORMAL is v2's 退款异常, the transfer that failed.
        V3RefundStatus::Abnormal => RefundStatus::Change,
        V3RefundStatus::Processing => RefundStatus::Processing,
        V3RefundStatus::Unknown => RefundStatus::Other("UNKNOWN".to_owned()),
    }
}

/// When `wxpay.api_version` is v3, the paths WeChat posts notifications to (the v3 routes).
pub(crate) fn notify_paths(v3: bool) -> (&'static str, &'static str) {
    if v3 { ("wxpay/v3/notify", "wxpay/v3/refund-notify") } else { ("wxpay/notify", "wxpay/refund-notify") }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{Config, Overrides};
    use crate::domain::{Attempt, Channel};
    use crate::store::Store;
    use crate::store::test_dir::TempDir;
    use time::OffsetDateTime;

    /// A sandbox shop's checkout speaking `api`, with or without the APIv2 key (no v3 client:
    /// these tests are about which client is chosen, not what it says).
    #[allow(clippy::result_large_err)] // figment's Jail wants its own error type
    fn checkout(dir: &TempDir, api: ApiVersion, v2_key: bool) -> Checkout {
        let mut config = None;
        figment::Jail::expect_with(|_| {
            config = Some(Config::load(None, &Overrides::default()).map_err(|e| e.0)?);
            Ok(())
        });
        let config = config.expect("config");
        let (mut settings, wx) = super::super::settings_and_client(&config).expect("settings");
        settings.api = api;
        if !v2_key {
            settings.api_key = None;
        }
        Checkout::new(Store::open(dir.path()).expect("store"), wx, settings).expect("checkout")
    }

    #[test]
    fn an_attempt_placed_on_v2_goes_through_v2_after_the_shop_switched_to_v3() {
        let dir = TempDir::new("gateway-v2-on-v3");
        let c = checkout(&dir, ApiVersion::V3, true);
        assert!(matches!(c.gateway_for(ApiVersion::V2), Ok(Gateway::V2(_))));
    }

    #[test]
    fn a_v2_attempt_without_the_apiv2_key_is_not_sent_through_v3_and_the_error_names_the_key() {
        let dir = TempDir::new("gateway-no-v2-key");
        let c = checkout(&dir, ApiVersion::V3, false);
        let Err(e) = c.gateway_for(ApiVersion::V2) else {
            panic!("a v2 attempt went through another client")
        };
        let msg = e.to_string();
        assert!(msg.contains("placed on API v2") && msg.contains("wxpay.api_key"), "{msg}");
        assert!(!e.is_retryable(), "a missing setting is not passing trouble");
    }

    #[test]
    fn a_v3_attempt_on_a_shop_without_v3_credentials_is_refused_naming_wxpay_v3() {
        let dir = TempDir::new("gateway-no-v3");
        let c = checkout(&dir, ApiVersion::V2, true);
        let Err(e) = c.gateway_for(ApiVersion::V3) else { panic!("a v3 attempt went through v2") };
        let msg = e.to_string();
        assert!(msg.contains("placed on API v3") && msg.contains("[wxpay.v3]"), "{msg}");
        assert!(matches!(c.gateway(), Gateway::V2(_)), "new attempts use the configured version");
    }

    #[test]
    fn open_attempts_of_a_version_the_shop_is_not_set_up_for_are_listed_as_stranded() {
        let dir = TempDir::new("gateway-stranded");
        let mut c = checkout(&dir, ApiVersion::V2, true);
        let mut order = crate::store::tests::order("S1");
        let v3 = Attempt::open("S1-2", Channel::Native, "127.0.0.1", 1_700_000_001);
        order.attempts.push(Attempt { api: ApiVersion::V3, ..v3 });
        c.store.insert_order(&order, &[]).expect("insert");
        let back_on_v2 = c.stranded_attempts(20).expect("read");
        assert_eq!(back_on_v2, vec![("S1-2".to_owned(), ApiVersion::V3)], "v2 with its key, no [wxpay.v3]");
        (c.settings.api, c.settings.api_key) = (ApiVersion::V3, None);
        let stranded = c.stranded_attempts(20).expect("read");
        assert!(
            stranded.contains(&("S1-1".to_owned(), ApiVersion::V2)),
            "v3 without the v2 key: {stranded:?}"
        );
    }

    #[test]
    fn a_refund_of_a_v2_payment_is_notified_on_the_v2_route_of_a_shop_now_on_v3() {
        let dir = TempDir::new("gateway-refund-notify");
        let mut c = checkout(&dir, ApiVersion::V3, true);
        c.settings.refund_notify_url = "https://shop.example/sub/wxpay/v3/refund-notify".into();
        assert_eq!(
            c.settings.refund_notify_url_on(ApiVersion::V2),
            "https://shop.example/sub/wxpay/refund-notify"
        );
        assert_eq!(c.settings.refund_notify_url_on(ApiVersion::V3), c.settings.refund_notify_url);
    }

    fn order(kind: TradeKind) -> UnifiedOrder {
        UnifiedOrder {
            kind,
            body: "Shop-Coffee".into(),
            attach: Some("N1".into()),
            out_trade_no: "N1-1".into(),
            total_fee: 1200,
            fee_type: None,
            spbill_create_ip: "203.0.113.9".into(),
            time_start: None,
            time_expire: OffsetDateTime::from_unix_timestamp(1_796_032_805).ok(),
            notify_url: "https://shop.example/wxpay/v3/notify".into(),
            device_info: None,
            detail: None,
        }
    }

    #[test]
    fn a_v3_order_carries_the_attempts_number_amount_and_beijing_expiry_and_the_ip_only_for_h5() {
        let native = new_order(&order(TradeKind::Native { product_id: "N1".into() })).unwrap();
        assert_eq!(native.time_expire.as_deref(), Some("2026-11-30T18:00:05+08:00"));
        assert_eq!((native.out_trade_no.as_str(), native.total_fen), ("N1-1", 1200));
        assert_eq!(native.payer_client_ip, None);
        let h5 = new_order(&order(TradeKind::Mweb { scene_info: "{}".into() })).unwrap();
        assert_eq!(h5.payer_client_ip.as_deref(), Some("203.0.113.9"));
    }

    #[test]
    fn an_h5_link_gives_its_prepay_id_and_a_code_url_stands_for_itself() {
        let h5 = "https://wx.tenpay.com/cgi-bin/mmpayweb-bin/checkmweb?prepay_id=wx2016&package=1";
        assert_eq!(v3_prepay_id(h5), "wx2016");
        assert_eq!(v3_prepay_id("weixin://wxpay/bizpayurl?pr=abc"), "weixin://wxpay/bizpayurl?pr=abc");
    }

    #[test]
    fn v3_states_read_as_v2_ones_and_an_unknown_one_as_none_we_act_on() {
        assert_eq!(trade_state(V3TradeState::Success), TradeState::Success);
        assert_eq!(trade_state(V3TradeState::PayError), TradeState::PayError);
        assert!(matches!(trade_state(V3TradeState::Unknown), TradeState::Other(_)));
        assert_eq!(refund_status(V3RefundStatus::Abnormal), RefundStatus::Change);
        assert_eq!(refund_status(V3RefundStatus::Closed), RefundStatus::RefundClose);
    }
}
