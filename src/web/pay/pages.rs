//! The pay pages: one per channel and the "open in WeChat" page (their errors are
//! `web::BuyerError`s).
//!
//! Owns their wording (Chinese by default, English by `Accept-Language`) and the QR code.
//! Data reaches scripts only as JSON in `<script type="application/json">` or data
//! attributes; the scripts are files under `static/pay/` (CSP-friendly).

use askama::Template;

use super::{PayAnswer, PayContext, sandbox_base};
use crate::checkout::pay::WechatProblem;
use crate::domain::Order;
use crate::web::{BuyerError, Frame, Page, WithScriptOrigin};
use crate::wxpay::jsapi::JsapiPayParams;

/// What an order looks like on a pay page.
pub struct Summary {
    pub order_no: String,
    pub amount: String,
    pub title: String,
    /// `/o/<token>`
    pub order_url: String,
}

impl Summary {
    fn of(order: &Order) -> Summary {
        let first = order.lines.first().map_or_else(String::new, |l| l.name.clone());
        let more = order.lines.len().saturating_sub(1);
        let title = if more > 0 { format!("{first} +{more}") } else { first };
        Summary {
            order_no: order.no.clone(),
            amount: order.total.to_string(),
            title,
            order_url: format!("/o/{}", order.token),
        }
    }
}

#[derive(Template)]
#[template(path = "pay/jsapi.html")]
pub struct JsapiPage {
    frame: Frame,
    order: Summary,
    /// The bridge parameters as JSON, safe inside `<script>`.
    params_json: String,
    /// `{sandbox}/jsapi/bridge.js` when WeChat is the sandbox.
    bridge_js: Option<String>,
}

#[derive(Template)]
#[template(path = "pay/mweb.html")]
pub struct MwebPage {
    frame: Frame,
    order: Summary,
    /// `mweb_url&redirect_url=…`
    link: String,
}

#[derive(Template)]
#[template(path = "pay/native.html")]
pub struct NativePage {
    frame: Frame,
    order: Summary,
    /// An inline `<svg>` of the QR code (our own renderer's output: no buyer data in it).
    qr_svg: String,
    /// `{sandbox}/scan?code_url=…` when WeChat is the sandbox.
    sandbox_scan: Option<String>,
}

#[derive(Template)]
#[template(path = "pay/open_in_wechat.html")]
pub struct OpenInWechatPage {
    frame: Frame,
    order: Summary,
    /// The absolute `/pay/<token>` URL to open in WeChat.
    link: String,
}

pub fn jsapi(ctx: &PayContext<'_>, order: &Order, params: &JsapiPayParams) -> PayAnswer {
    let bridge_js = sandbox_base(ctx.checkout, &ctx.base).map(|b| format!("{b}/jsapi/bridge.js"));
    let script_origin = bridge_js.clone();
    let page = Page(JsapiPage {
        frame: ctx.frame.clone(),
        order: Summary::of(order),
        params_json: script_json(params),
        bridge_js,
    });
    PayAnswer::Jsapi(WithScriptOrigin(page, script_origin))
}

pub fn mweb(ctx: &PayContext<'_>, order: &Order, link: String) -> PayAnswer {
    PayAnswer::Mweb(Page(MwebPage { frame: ctx.frame.clone(), order: Summary::of(order), link }))
}

pub fn native(ctx: &PayContext<'_>, order: &Order, code_url: &str) -> Result<PayAnswer, BuyerError> {
    let label = ctx.frame.lang.words().buyer_qr_label;
    let qr_svg =
        qr_svg(code_url, label).ok_or_else(|| BuyerError::wechat(WechatProblem::Unavailable, order))?;
    let sandbox_scan = sandbox_base(ctx.checkout, &ctx.base).map(|b| {
        let encoded: String = url::form_urlencoded::byte_serialize(code_url.as_bytes()).collect();
        format!("{b}/scan?code_url={encoded}")
    });
    Ok(PayAnswer::Native(Page(NativePage {
        frame: ctx.frame.clone(),
        order: Summary::of(order),
        qr_svg,
        sandbox_scan,
    })))
}

pub fn open_in_wechat(ctx: &PayContext<'_>, order: &Order) -> PayAnswer {
    let link = ctx.base.join(&format!("pay/{}", order.token));
    PayAnswer::OpenInWechat(Page(OpenInWechatPage {
        frame: ctx.frame.clone(),
        order: Summary::of(order),
        link,
    }))
}

/// JSON that cannot end the `<script>` element it sits in.
fn script_json(value: &impl serde::Serialize) -> String {
    // why: serializing plain strings cannot fail.
    let json = serde_json::to_string(value).unwrap_or_else(|_| "{}".to_owned());
    json.replace('<', "\\u003c").replace('>', "\\u003e").replace('&', "\\u0026")
}

/// The QR code of `code_url` as an inline SVG element, labelled for screen readers.
/// `label` is one of our own texts (no markup characters).
fn qr_svg(code_url: &str, label: &'static str) -> Option<String> {
    let code = qrcode::QrCode::new(code_url.as_bytes()).ok()?;
    let svg =
        code.render::<qrcode::render::svg::Color<'_>>().min_dimensions(240, 240).quiet_zone(true).build();
    // why: the XML declaration is not allowed inside HTML; the element starts at `<svg`.
    let start = svg.find("<svg")?;
    Some(svg[start..].replacen("<svg ", &format!("<svg role=\"img\" aria-label=\"{label}\" "), 1))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_in_a_script_element_cannot_close_it() {
        let out = script_json(&serde_json::json!({ "a": "</script><b>&" }));
        assert!(!out.contains('<') && !out.contains('>') && !out.contains('&'));
        let back: serde_json::Value = serde_json::from_str(&out).expect("still JSON");
        assert_eq!(back["a"], "</script><b>&");
    }

    #[test]
    fn a_code_url_becomes_an_inline_svg_qr_code() {
        let svg = qr_svg("weixin://wxpay/bizpayurl?pr=mPE4ILn", "QR").expect("svg");
        assert!(svg.starts_with("<svg role=\"img\" aria-label=\"QR\" "));
        assert!(svg.ends_with("</svg>"));
    }
}
