//! The one error type of the client side of the protocol: what can go wrong talking to
//! WeChat Pay, from the transport to a business refusal. Its own module so that the message
//! types, OAuth and the client all use it without depending on one another.

use super::bill::BillError;
use super::oauth::{OAuthError, OAuthErrorKind};
use super::sign::SignError;
use super::xml::{Fields, XmlError};

/// Everything that can go wrong talking to WeChat Pay, in the order the checks run.
#[derive(Debug, Clone, thiserror::Error)]
pub enum Error {
    /// No answer, a timeout, or an HTTP status other than 200. Safe to retry.
    #[error("transport: {0}")]
    Transport(String),
    /// `return_code=FAIL`: an unsigned protocol refusal (`error_code` on downloadbill).
    #[error("WeChat Pay refused the request: {return_msg}")]
    Protocol { return_msg: String, error_code: Option<String> },
    /// A SUCCESS answer without a valid signature: never data.
    #[error("answer rejected: {0}")]
    BadSignature(#[from] SignError),
    /// A signed answer naming another `appid` or `mch_id`.
    #[error("answer is for another merchant ({field} = {got:?})")]
    WrongMerchant { field: &'static str, got: String },
    /// `result_code=FAIL`, signed.
    #[error("WeChat Pay business error {err_code}: {err_code_des}")]
    Business { err_code: String, err_code_des: String, raw: Fields },
    #[error("unreadable XML: {0}")]
    Xml(#[from] XmlError),
    #[error("field {field}: {problem}")]
    Field { field: String, problem: &'static str },
    #[error("malformed answer: {0}")]
    Malformed(String),
    #[error("unreadable bill: {0}")]
    Bill(#[from] BillError),
    #[error("refund certificate not configured (cert_pem and key_pem are both needed)")]
    CertNotConfigured,
    #[error("refund certificate unreadable: {0}")]
    CertUnreadable(String),
    #[error("invalid input: {0}")]
    InvalidInput(String),
    #[error(transparent)]
    OAuth(#[from] OAuthError),
}

impl Error {
    /// Whether the same request may be sent again (WeChat's SYSTEMERROR, BIZERR_NEED_RETRY,
    /// FREQUENCY_LIMITED, OAuth -1, or no answer at all).
    ///
    /// why FREQUENCY_LIMITED: WeChat took nothing and asks to come back later; a refund
    /// refused for it must stay to be sent again with the same number, not end failed.
    pub fn is_retryable(&self) -> bool {
        match self {
            Error::Transport(_) => true,
            Error::Business { err_code, .. } => {
                matches!(err_code.as_str(), "SYSTEMERROR" | "BIZERR_NEED_RETRY" | "FREQUENCY_LIMITED")
            }
            Error::OAuth(e) => e.kind() == OAuthErrorKind::Busy,
            // why: downloadbill has no business envelope, so its SYSTEMERROR arrives as the
            // return_msg of an unsigned FAIL (docs/wechat-pay-v2.md#downloadbill); only that
            // exact word counts.
            Error::Protocol { return_msg, .. } => return_msg == "SYSTEMERROR",
            _ => false,
        }
    }

    /// What kind of error, in a few fixed words: what summarised log lines are keyed by (the
    /// message itself carries what WeChat or the network said).
    pub fn kind(&self) -> &'static str {
        match self {
            Error::Transport(_) => "no answer",
            Error::Protocol { .. } => "refused (return_code FAIL)",
            Error::BadSignature(_) => "answer not signed by WeChat",
            Error::WrongMerchant { .. } => "answer for another merchant",
            Error::Business { .. } => "business error (result_code FAIL)",
            Error::Xml(_) | Error::Field { .. } | Error::Malformed(_) | Error::Bill(_) => "unreadable answer",
            Error::CertNotConfigured | Error::CertUnreadable(_) => "refund certificate",
            Error::InvalidInput(_) => "invalid input",
            Error::OAuth(_) => "OAuth error",
        }
    }

    /// The `err_code` of a business error.
    pub fn err_code(&self) -> Option<&str> {
        match self {
            Error::Business { err_code, .. } => Some(err_code),
            _ => None,
        }
    }
}
