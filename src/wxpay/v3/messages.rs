//! Serde types of the v3 JSON this module's callers meet: the notification envelope, the
//! decrypted transaction and refund, the `/v3/certificates` answer and the error body.
//!
//! Types only, no behaviour. Parsing is lenient as WeChat asks ("new keys may appear"):
//! unknown fields are ignored, fields WeChat leaves out on unpaid orders are `Option`, and an
//! unknown state reads as `Unknown` rather than failing a whole notification
//! (docs/wechat-pay-v3.md#notifications).

use super::aead::EncryptedResource;

/// A notification's body (支付成功通知 / 退款结果通知) before decryption.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct NotificationEnvelope {
    /// Notification id (a UUID in practice); the same on every retry of one event.
    pub id: String,
    /// RFC 3339, `+08:00`.
    pub create_time: String,
    /// `TRANSACTION.SUCCESS`, `REFUND.SUCCESS`, `REFUND.ABNORMAL`, `REFUND.CLOSED`.
    pub event_type: String,
    /// Always `encrypt-resource`.
    pub resource_type: String,
    /// `支付成功`, `退款成功`, …
    pub summary: String,
    pub resource: EncryptedResource,
}

/// `trade_state` of a transaction.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum TradeState {
    Success,
    Refund,
    NotPay,
    Closed,
    Revoked,
    UserPaying,
    PayError,
    Accept,
    /// A state this version does not know.
    #[serde(other)]
    Unknown,
}

/// The decrypted resource of `TRANSACTION.SUCCESS`, and the answer of the order queries.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Transaction {
    pub appid: String,
    pub mchid: String,
    pub out_trade_no: String,
    pub trade_state: TradeState,
    pub trade_state_desc: String,
    /// Present once paid (28 digits, `42…`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub transaction_id: Option<String>,
    /// `JSAPI`, `NATIVE`, `APP`, `MICROPAY`, `MWEB` (H5), `FACEPAY`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub trade_type: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bank_type: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub attach: Option<String>,
    /// RFC 3339, once paid.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub success_time: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub payer: Option<Payer>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub amount: Option<TransactionAmount>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scene_info: Option<SceneInfo>,
    /// Coupons, kept as JSON: the shop records them, it does not compute with them.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub promotion_detail: Option<Vec<serde_json::Value>>,
}

#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Payer {
    pub openid: String,
}

/// Amounts in fen.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct TransactionAmount {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub total: Option<i64>,
    /// What the buyer paid after coupons.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub payer_total: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub currency: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub payer_currency: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct SceneInfo {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub device_id: Option<String>,
}

/// `refund_status` of a refund notification.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum RefundStatus {
    Success,
    Closed,
    Abnormal,
    Processing,
    #[serde(other)]
    Unknown,
}

/// The decrypted resource of `REFUND.*` notifications.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct RefundNotification {
    pub mchid: String,
    pub out_trade_no: String,
    pub transaction_id: String,
    pub out_refund_no: String,
    pub refund_id: String,
    pub refund_status: RefundStatus,
    /// Only when `refund_status` is `SUCCESS`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub success_time: Option<String>,
    /// `支付用户零钱`, `招商银行信用卡0403`, …
    pub user_received_account: String,
    pub amount: RefundNotificationAmount,
}

/// Amounts in fen.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct RefundNotificationAmount {
    pub total: i64,
    pub refund: i64,
    pub payer_total: i64,
    pub payer_refund: i64,
}

/// The body of every v3 4xx/5xx: `{"code":"…","message":"…","detail":{…}}`.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct ErrorBody {
    /// `PARAM_ERROR`, `SIGN_ERROR`, `ORDER_NOT_EXIST`, …
    pub code: String,
    /// Human text; one code may carry several messages, so never match on it.
    pub message: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub detail: Option<ErrorDetail>,
}

/// Which parameter was wrong, on `PARAM_ERROR`.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct ErrorDetail {
    /// A JSON Pointer into the body (`/amount/currency`), or a path/query variable name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value: Option<serde_json::Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub issue: Option<String>,
    /// `body`, `query`, `path`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub location: Option<String>,
}

/// The answer of `GET /v3/certificates` (platform-certificate merchants only).
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct CertificatesResponse {
    pub data: Vec<CertificateEntry>,
}

#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct CertificateEntry {
    pub serial_no: String,
    pub effective_time: String,
    pub expire_time: String,
    /// The PEM certificate, sealed with the APIv3 key, `associated_data` `certificate`.
    pub encrypt_certificate: EncryptedResource,
}
