//! OAuth2 web authorization as WeChat runs it (docs/wechat-pay-v2.md#oauth-web-authorization):
//! the authorize page that redirects back with a single-use code, `sns/oauth2/access_token`
//! that trades the code for the buyer's openid, and the sandbox buyer's identity (the
//! `sbx_uid` cookie).
//!
//! Owns the codes in `State::oauth_codes` and how an openid is derived. It must not touch
//! orders or payments, and never the shop.

use std::sync::Arc;
use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use rocket::http::{Cookie, CookieJar, SameSite, Status};
use rocket::response::Redirect;
use rocket::response::content::RawHtml;
use rocket::serde::json::Json;
use rocket::{State as Managed, get};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use super::registered::{Registered, web_url};
use super::state::{OauthCode, Sandbox, ids};

/// "code只能使用一次，5分钟未被使用自动过期" (scaled by `time_scale`).
const CODE_LIFETIME: Duration = Duration::from_secs(5 * 60);
const UID_COOKIE: &str = "sbx_uid";

pub fn routes() -> Vec<rocket::Route> {
    rocket::routes![authorize, access_token]
}

// ---- the sandbox buyer ----------------------------------------------------------------------

/// The browser's sandbox user id: the `sbx_uid` cookie, set (for ten years) when absent.
///
/// why these attributes: the id decides whose openid pays, so scripts have no business
/// reading it (HttpOnly), other sites' requests do not carry it except on top-level
/// navigation (Lax: the OAuth and cashier redirects are such navigations), and it is never
/// sent in clear when the shop is served over https (Secure).
pub fn browser_uid(sb: &Sandbox, jar: &CookieJar<'_>) -> String {
    let valid = |v: &str| (8..=64).contains(&v.len()) && v.bytes().all(|b| b.is_ascii_alphanumeric());
    if let Some(uid) = jar.get(UID_COOKIE).map(|c| c.value().to_owned()).filter(|v| valid(v)) {
        return uid;
    }
    let uid = ids::alnum(24);
    let https = sb.public_url.as_ref().is_some_and(|u| u.scheme() == "https");
    let cookie = Cookie::build((UID_COOKIE, uid.clone()))
        .path("/")
        .http_only(true)
        .secure(https)
        .same_site(SameSite::Lax)
        .max_age(rocket::time::Duration::days(3650));
    jar.add(cookie);
    uid
}

/// The openid of user `uid` under `appid`: `o` + 27 characters, stable per browser and appid,
/// as WeChat's openids are per official account. The last 11 characters seal the first 16 to
/// the appid, so the gateway can tell an openid issued for another appid (or made up), as
/// WeChat's unifiedorder does ("appid和openid不匹配").
pub fn openid_for(appid: &str, uid: &str) -> String {
    let user = &b64_sha256(&format!("uid:{uid}"))[..16];
    format!("o{user}{}", seal(appid, user))
}

/// Whether `openid` was issued by this sandbox for `appid`.
pub fn openid_belongs_to(appid: &str, openid: &str) -> bool {
    let Some(rest) = openid.strip_prefix('o').filter(|r| r.len() == 27 && r.is_ascii()) else {
        return false;
    };
    let (user, sealed) = rest.split_at(16);
    bool::from(sealed.as_bytes().ct_eq(seal(appid, user).as_bytes()))
}

fn seal(appid: &str, user: &str) -> String {
    b64_sha256(&format!("{appid}:{user}"))[..11].to_owned()
}

fn b64_sha256(s: &str) -> String {
    URL_SAFE_NO_PAD.encode(Sha256::digest(s.as_bytes()))
}

/// The openid of the browser at hand under the sandbox's appid (payer pages: H5 and NATIVE
/// payers carry no openid).
pub fn browser_openid(sb: &Sandbox, jar: &CookieJar<'_>) -> String {
    openid_for(&sb.merchant.appid, &browser_uid(sb, jar))
}

// ---- authorize --------------------------------------------------------------------------------

/// WeChat's error page for a bad authorize link (a 200 page, as WeChat shows it).
fn error_page(code: &str, message: &str) -> RawHtml<String> {
    RawHtml(format!(
        "<!doctype html><html lang=\"zh-CN\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width,initial-scale=1\"><title>微信网页授权</title></head>\
         <body style=\"font-family:sans-serif;text-align:center;padding:3em 1em\">\
         <h2>{code}</h2><p>{message}</p><p style=\"color:#888\">WeChat Pay sandbox · OAuth2</p></body></html>"
    ))
}

type AuthorizeResult = Result<Redirect, (Status, RawHtml<String>)>;

fn refuse(code: &str, message: &str) -> (Status, RawHtml<String>) {
    (Status::Ok, error_page(code, message))
}

/// `connect/oauth2/authorize`: no consent page even for `snsapi_userinfo` (the sandbox has
/// no profile to share). The redirect domain must be the registered 网页授权域名, exactly
/// (WeChat allows no subdomain); anything else would also make the sandbox an open
/// redirect that hands out codes to any site.
#[allow(clippy::too_many_arguments)] // why: Rocket passes each query parameter as an argument.
#[get("/connect/oauth2/authorize?<appid>&<redirect_uri>&<response_type>&<scope>&<state>")]
fn authorize(
    sb: &Managed<Arc<Sandbox>>,
    jar: &CookieJar<'_>,
    registered: Registered,
    appid: Option<String>,
    redirect_uri: Option<String>,
    response_type: Option<String>,
    scope: Option<String>,
    state: Option<String>,
) -> AuthorizeResult {
    let appid = appid.filter(|a| !a.is_empty()).ok_or_else(|| refuse("10012", "appid不能为空"))?;
    if appid != sb.merchant.appid {
        return Err(refuse("appid error", "appid参数错误，请检查appid"));
    }
    let redirect =
        redirect_uri.filter(|r| !r.is_empty()).ok_or_else(|| refuse("10011", "redirect_uri不能为空"))?;
    let mut target = match web_url(&redirect) {
        Some(u) if registered.oauth_allows(&u) => u,
        _ => {
            sb.refused(
                "网页授权域名 / OAuth domain",
                format!("10003 redirect_uri {redirect:?} is not on {}", registered.oauth_domains.join(", ")),
            );
            return Err(refuse("redirect_uri 参数错误", "10003 redirect_uri域名与后台配置不一致"));
        }
    };
    if response_type.as_deref() != Some("code") {
        return Err(refuse("10001", "response_type参数错误"));
    }
    let scope = match scope.as_deref() {
        None | Some("") => return Err(refuse("10010", "scope不能为空")),
        Some(s @ ("snsapi_base" | "snsapi_userinfo")) => s.to_owned(),
        Some(_) => return Err(refuse("10005", "此公众号并没有这些scope的权限")),
    };
    let openid = browser_openid(sb, jar);
    let code = issue_code(sb, openid, scope);
    // why: query_pairs_mut appends after an existing query and keeps a fragment after it.
    target
        .query_pairs_mut()
        .append_pair("code", &code)
        .append_pair("state", state.as_deref().unwrap_or_default());
    Ok(Redirect::found(target.to_string()))
}

fn issue_code(sb: &Sandbox, openid: String, scope: String) -> String {
    let code = ids::alnum(32);
    let entry = OauthCode { openid, scope, issued: std::time::Instant::now(), used: false };
    // why not `used`: a used code still answers 40163 (not 40029) until it expires.
    let expired = |c: &OauthCode| sb.clock.elapsed(c.issued, CODE_LIFETIME);
    sb.state().insert_oauth_code(code.clone(), entry, expired);
    code
}

// ---- access_token -----------------------------------------------------------------------------

/// `{"errcode":N,"errmsg":"…, hints: [ req_id: … ]"}` as WeChat writes its errors.
fn oauth_error(errcode: i64, errmsg: &str) -> Json<Value> {
    let hint = format!("{errmsg}, hints: [ req_id: {}-sbx ]", ids::alnum(11));
    Json(json!({ "errcode": errcode, "errmsg": hint }))
}

/// `sns/oauth2/access_token`. Answered as `application/json` (WeChat sends `text/plain`;
/// every client parses the body as JSON either way, and JSON is the honest type).
#[get("/sns/oauth2/access_token?<appid>&<secret>&<code>&<grant_type>")]
fn access_token(
    sb: &Managed<Arc<Sandbox>>,
    appid: Option<String>,
    secret: Option<String>,
    code: Option<String>,
    grant_type: Option<String>,
) -> Json<Value> {
    let present = |v: Option<String>| v.filter(|s| !s.is_empty());
    let Some(appid) = present(appid) else { return oauth_error(41002, "appid missing") };
    if appid != sb.merchant.appid {
        return oauth_error(40013, "invalid appid");
    }
    let Some(secret) = present(secret) else { return oauth_error(41004, "appsecret missing") };
    if !bool::from(secret.as_bytes().ct_eq(sb.merchant.app_secret.as_bytes())) {
        return oauth_error(40125, "invalid appsecret");
    }
    let Some(code) = present(code) else { return oauth_error(41008, "missing code") };
    if grant_type.as_deref() != Some("authorization_code") {
        return oauth_error(40002, "invalid grant_type");
    }
    match redeem(sb, &code) {
        Ok(c) => Json(json!({
            "access_token": ids::alnum(86),
            "expires_in": 7200,
            "refresh_token": ids::alnum(86),
            "openid": c.openid,
            "scope": c.scope,
        })),
        Err((errcode, errmsg)) => oauth_error(errcode, errmsg),
    }
}

/// Uses a code once: unknown or expired → 40029, already used → 40163.
fn redeem(sb: &Sandbox, code: &str) -> Result<OauthCode, (i64, &'static str)> {
    let mut st = sb.state();
    let entry = st.oauth_codes.get_mut(code).ok_or((40029, "invalid code"))?;
    if entry.used {
        return Err((40163, "code been used"));
    }
    if sb.clock.elapsed(entry.issued, CODE_LIFETIME) {
        return Err((40029, "invalid code"));
    }
    entry.used = true;
    Ok(entry.clone())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_openid_is_o_and_27_characters_and_depends_on_the_appid() {
        let a = openid_for("wxd930ea5d5a258f4f", "uid123456");
        assert_eq!(a.len(), 28);
        assert!(a.starts_with('o'));
        assert_eq!(a, openid_for("wxd930ea5d5a258f4f", "uid123456"));
        assert_ne!(a, openid_for("wx0000000000000000", "uid123456"));
    }

    #[test]
    fn an_openid_belongs_only_to_the_appid_it_was_issued_for() {
        let a = openid_for("wxd930ea5d5a258f4f", "uid123456");
        assert!(openid_belongs_to("wxd930ea5d5a258f4f", &a));
        assert!(!openid_belongs_to("wx0000000000000000", &a));
        assert!(!openid_belongs_to("wxd930ea5d5a258f4f", "oUpF8uMuAJO_M2pxb1Q9zNjWeS6o"));
        assert!(!openid_belongs_to("wxd930ea5d5a258f4f", ""));
    }
}
