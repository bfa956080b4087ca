//! OAuth2 `snsapi_base`: the authorize URL that learns a buyer's `openid`, and the reading of
//! the `sns/oauth2/access_token` answer.
//!
//! Owns the URL shape and the error codes. The HTTP call itself is
//! `WxPayClient::oauth_openid`; this module does no I/O and never sees the app secret.

use url::Url;
use url::form_urlencoded::byte_serialize;

use super::{Error, endpoint};

/// `{open_base}/connect/oauth2/authorize?appid=…&redirect_uri=…&response_type=code&scope=snsapi_base&state=…#wechat_redirect`.
///
/// why: WeChat requires these parameters in this order and the `#wechat_redirect` fragment;
/// `Url`'s query builder would not promise either, so the string is written by hand.
pub fn authorize_url(open_base: &Url, appid: &str, redirect_uri: &str, state: &str) -> Result<String, Error> {
    if !valid_state(state) {
        return Err(Error::InvalidInput("OAuth state must be 1-128 of [a-zA-Z0-9]".into()));
    }
    let base = endpoint(open_base, "connect/oauth2/authorize");
    Ok(format!(
        "{base}?appid={}&redirect_uri={}&response_type=code&scope=snsapi_base&state={state}#wechat_redirect",
        encode(appid),
        encode(redirect_uri),
    ))
}

fn encode(s: &str) -> String {
    byte_serialize(s.as_bytes()).collect()
}

/// `state` is `[a-zA-Z0-9]{1,128}`, as WeChat documents.
pub fn valid_state(state: &str) -> bool {
    (1..=128).contains(&state.len()) && state.bytes().all(|b| b.is_ascii_alphanumeric())
}

/// What an errcode of the access_token endpoint means.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OAuthErrorKind {
    /// 40029: the code is unknown or expired (5 minutes).
    InvalidCode,
    /// 40163: the code was already exchanged (a duplicate redirect, typically).
    CodeUsed,
    /// 41008: no code sent.
    MissingCode,
    /// 40013: the appid is wrong.
    InvalidAppid,
    /// 40001 / 40125: the app secret is wrong.
    BadSecret,
    /// -1: WeChat is busy; retry.
    Busy,
    Other,
}

/// An `{"errcode":…,"errmsg":…}` answer.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("OAuth error {errcode}: {errmsg}")]
pub struct OAuthError {
    pub errcode: i64,
    pub errmsg: String,
}

impl OAuthError {
    pub fn kind(&self) -> OAuthErrorKind {
        match self.errcode {
            40029 => OAuthErrorKind::InvalidCode,
            40163 => OAuthErrorKind::CodeUsed,
            41008 => OAuthErrorKind::MissingCode,
            40013 => OAuthErrorKind::InvalidAppid,
            40001 | 40125 => OAuthErrorKind::BadSecret,
            -1 => OAuthErrorKind::Busy,
            _ => OAuthErrorKind::Other,
        }
    }
}

/// The success answer; only `openid` matters to a shop with `snsapi_base`.
#[derive(Clone, Debug, PartialEq, Eq, serde::Deserialize)]
pub struct AccessToken {
    pub openid: String,
    #[serde(default)]
    pub scope: Option<String>,
    #[serde(default)]
    pub expires_in: Option<i64>,
}

#[derive(serde::Deserialize)]
struct ErrorBody {
    errcode: i64,
    #[serde(default)]
    errmsg: String,
}

/// Reads an access_token answer body: success JSON or `{"errcode":…}`.
///
/// why: the access token itself is dropped here, so it cannot be stored or logged by mistake.
pub fn parse_access_token(body: &[u8]) -> Result<AccessToken, Error> {
    if let Ok(e) = serde_json::from_slice::<ErrorBody>(body) {
        if e.errcode != 0 {
            return Err(Error::OAuth(OAuthError { errcode: e.errcode, errmsg: e.errmsg }));
        }
    }
    let token: AccessToken =
        serde_json::from_slice(body).map_err(|e| Error::Malformed(format!("access_token answer: {e}")))?;
    if token.openid.is_empty() {
        return Err(Error::Malformed("access_token answer without openid".into()));
    }
    Ok(token)
}

/// The access_token URL; it carries the app secret, so it must never be logged.
pub(crate) fn access_token_url(sns_base: &Url, appid: &str, secret: &str, code: &str) -> String {
    let base = endpoint(sns_base, "sns/oauth2/access_token");
    format!(
        "{base}?appid={}&secret={}&code={}&grant_type=authorization_code",
        encode(appid),
        encode(secret),
        encode(code)
    )
}
