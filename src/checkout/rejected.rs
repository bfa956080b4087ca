//! Notifications we answer FAIL without recording anything (forged, malformed, another
//! merchant's refund, too large, unreadable): counted in the log in summary, and the last
//! [`KEPT`] of them kept in memory, with a masked excerpt of their body, for the admin's doctor
//! page.
//!
//! why both: anyone can post to the notify URLs, so one log line each would let a flood fill
//! the disk (one line per reason a minute, `log_summary`); but a merchant whose key or
//! certificate is wrong needs to see what was refused and from where, which a count does not
//! tell. A verified notification that is not applied (wrong amount, unknown order, another
//! merchant's payment) is not here: it is recorded with its raw XML for the admin's attention.

use std::collections::VecDeque;
use std::fmt::Display;
use std::net::IpAddr;

use crate::log_summary::Summary;
use crate::web::Lang;
use crate::wxpay::notify::NotifyError;

use super::Checkout;

/// How many rejected notifications the admin sees.
pub const KEPT: usize = 20;

/// How much of a rejected body is kept (after its `sign` is masked).
pub const EXCERPT: usize = 512;

/// What stands in for a `sign` value.
pub const MASK: &str = "***";

static PAYMENT: Summary = Summary::warn("payment notification rejected", "payment notifications rejected");
static REFUND: Summary = Summary::warn("refund notification rejected", "refund notifications rejected");

/// Which notify URL it came to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NotificationKind {
    Payment,
    Refund,
}

impl NotificationKind {
    pub fn words(self, lang: Lang) -> &'static str {
        match self {
            NotificationKind::Payment => lang.words().rejected_payment,
            NotificationKind::Refund => lang.words().rejected_refund,
        }
    }
}

/// Why a notification was rejected.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reason {
    /// No `sign`, or one that does not verify with our key.
    BadSignature,
    /// Not XML, or not the flat `<xml>` WeChat sends.
    MalformedXml,
    /// An unsigned `return_code` other than SUCCESS.
    NotSuccess,
    /// A field missing or out of range.
    BadField,
    /// A refund notification naming another appid or mch_id (its outer fields are unsigned).
    WrongMerchant,
    /// A refund notification whose `req_info` does not decrypt with our key.
    Undecryptable,
    /// Over 64 KiB.
    TooLarge,
    /// The connection broke before the body was read.
    Unreadable,
}

impl Reason {
    pub fn of(e: &NotifyError) -> Reason {
        match e {
            NotifyError::Unparseable(_) => Reason::MalformedXml,
            NotifyError::Forged(_) => Reason::BadSignature,
            NotifyError::NotSuccess { .. } => Reason::NotSuccess,
            NotifyError::WrongMerchant { .. } => Reason::WrongMerchant,
            NotifyError::Field { .. } => Reason::BadField,
            NotifyError::Decrypt(_) => Reason::Undecryptable,
        }
    }

    /// The reason in the log.
    pub fn as_str(self) -> &'static str {
        match self {
            Reason::BadSignature => "bad signature",
            Reason::MalformedXml => "malformed XML",
            Reason::NotSuccess => "return_code not SUCCESS",
            Reason::BadField => "missing or invalid field",
            Reason::WrongMerchant => "another merchant",
            Reason::Undecryptable => "req_info does not decrypt",
            Reason::TooLarge => "larger than 64 KiB",
            Reason::Unreadable => "body unreadable",
        }
    }

    /// The reason in the admin's words.
    pub fn words(self, lang: Lang) -> &'static str {
        let w = lang.words();
        match self {
            Reason::BadSignature => w.rejected_bad_signature,
            Reason::MalformedXml => w.rejected_malformed,
            Reason::NotSuccess => w.rejected_not_success,
            Reason::BadField => w.rejected_bad_field,
            Reason::WrongMerchant => w.rejected_wrong_merchant,
            Reason::Undecryptable => w.rejected_undecryptable,
            Reason::TooLarge => w.rejected_too_large,
            Reason::Unreadable => w.rejected_unreadable,
        }
    }
}

/// One rejected notification, as the admin sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RejectedNotification {
    /// Unix seconds, on the checkout's clock.
    pub at: i64,
    pub kind: NotificationKind,
    pub reason: Reason,
    /// The sender (behind a trusted proxy: the address the proxy names).
    pub from: Option<IpAddr>,
    /// The body's whole length.
    pub bytes: usize,
    /// The first [`EXCERPT`] bytes of the body, `sign` values masked.
    pub excerpt: String,
}

impl Checkout {
    /// Counts a notification answered FAIL with nothing recorded, logs it in summary, and keeps
    /// it among the last [`KEPT`] for the admin. `detail` is what the log's first line says.
    pub fn reject_notification(
        &self,
        kind: NotificationKind,
        reason: Reason,
        from: Option<IpAddr>,
        body: &[u8],
        detail: &dyn Display,
    ) {
        let summary = match kind {
            NotificationKind::Payment => &PAYMENT,
            NotificationKind::Refund => &REFUND,
        };
        let sender = from.map_or_else(|| "unknown".to_owned(), |ip| ip.to_string());
        summary.note(reason.as_str(), || format!("{detail}; from {sender}, {} bytes", body.len()));
        let entry = RejectedNotification {
            at: self.now(),
            kind,
            reason,
            from,
            bytes: body.len(),
            excerpt: excerpt(body),
        };
        let mut kept = self.rejected.lock().unwrap_or_else(|p| p.into_inner());
        if kept.len() >= KEPT {
            kept.pop_front();
        }
        kept.push_back(entry);
    }

    /// The last rejected notifications, newest first (since the shop started).
    pub fn rejected_notifications(&self) -> Vec<RejectedNotification> {
        let kept = self.rejected.lock().unwrap_or_else(|p| p.into_inner());
        kept.iter().rev().cloned().collect()
    }
}

/// The ring the checkout keeps them in.
pub(super) type Kept = std::sync::Mutex<VecDeque<RejectedNotification>>;

/// The start of `body` as text: its first [`EXCERPT`] bytes, every `sign` value masked, and `…`
/// when there was more. A `sign` the cut runs through is masked to the end, so cutting first
/// leaks nothing, and a flood of 64 KiB bodies costs no more than one of small ones.
pub fn excerpt(body: &[u8]) -> String {
    let cut = body.len() > EXCERPT;
    let mut head = &body[..body.len().min(EXCERPT)];
    if cut {
        // why: drop the character the cut split, rather than show a replacement for it.
        if let Err(e) = std::str::from_utf8(head) {
            if e.error_len().is_none() {
                head = &head[..e.valid_up_to()];
            }
        }
    }
    let masked = mask_sign(&String::from_utf8_lossy(head));
    if cut { format!("{masked}…") } else { masked }
}

/// `text` with the value of every `sign` masked: the `<sign>` element (any case, CDATA or
/// not, to its closing tag or the end), and `sign=…` or `"sign": "…"` as a form or JSON
/// body would carry it. `sign_type` and other fields stay.
pub fn mask_sign(text: &str) -> String {
    mask_pairs(&mask_elements(text))
}

fn mask_elements(text: &str) -> String {
    // why the same offsets: ASCII lower-casing changes no byte's length.
    let lower = text.to_ascii_lowercase();
    let mut out = String::with_capacity(text.len());
    let mut at = 0;
    while let Some(found) = lower[at..].find("<sign") {
        let name_end = at + found + "<sign".len();
        if !matches!(lower.as_bytes().get(name_end), Some(b'>' | b'/') | Some(b' ' | b'\t' | b'\r' | b'\n')) {
            out.push_str(&text[at..name_end]);
            at = name_end;
            continue;
        }
        let Some(gt) = lower[name_end..].find('>') else {
            out.push_str(&text[at..name_end]);
            out.push_str(MASK);
            return out;
        };
        let content = name_end + gt + 1;
        out.push_str(&text[at..content]);
        let end = lower[content..].find("</sign").map_or(text.len(), |e| content + e);
        if end > content {
            out.push_str(MASK);
        }
        at = end;
        if end < text.len() {
            // why: step past `</sign` so the search does not find it again as an opening.
            out.push_str(&text[end..end + "</sign".len()]);
            at = end + "</sign".len();
        }
    }
    out.push_str(&text[at..]);
    out
}

fn mask_pairs(text: &str) -> String {
    let lower = text.to_ascii_lowercase();
    let bytes = lower.as_bytes();
    let mut out = String::with_capacity(text.len());
    let mut at = 0;
    let mut from = 0;
    while let Some(found) = lower[from..].find("sign") {
        let start = from + found;
        let mut i = start + "sign".len();
        from = i;
        let word_before = start > 0 && (bytes[start - 1].is_ascii_alphanumeric() || bytes[start - 1] == b'_');
        if word_before {
            continue;
        }
        // `sign=`, `sign"=`, `"sign": "`: an optional closing quote and blanks, then = or :.
        if matches!(bytes.get(i), Some(b'"' | b'\'')) {
            i += 1;
        }
        while matches!(bytes.get(i), Some(b' ' | b'\t')) {
            i += 1;
        }
        if !matches!(bytes.get(i), Some(b'=' | b':')) {
            continue;
        }
        i += 1;
        while matches!(bytes.get(i), Some(b' ' | b'\t')) {
            i += 1;
        }
        let quote = match bytes.get(i) {
            Some(&q @ (b'"' | b'\'')) => {
                i += 1;
                Some(q)
            }
            _ => None,
        };
        let value_end = bytes[i..]
            .iter()
            .position(|&b| match quote {
                Some(q) => b == q,
                None => matches!(b, b'&' | b',' | b'}' | b'<' | b' ' | b'\t' | b'\r' | b'\n' | b'"'),
            })
            .map_or(bytes.len(), |p| i + p);
        if value_end > i {
            out.push_str(&text[at..i]);
            out.push_str(MASK);
            at = value_end;
        }
        from = value_end.max(from);
    }
    out.push_str(&text[at..]);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const SIGN: &str = "B552ED6B279343CB493C5DD0D78AB241";

    #[test]
    fn the_sign_element_is_masked_and_every_other_field_kept() {
        let body = format!(
            "<xml><appid>wx1</appid><sign_type>MD5</sign_type><sign>{SIGN}</sign><total_fee>1</total_fee></xml>"
        );
        assert_eq!(
            mask_sign(&body),
            "<xml><appid>wx1</appid><sign_type>MD5</sign_type><sign>***</sign><total_fee>1</total_fee></xml>"
        );
    }

    #[test]
    fn a_sign_in_cdata_in_any_case_or_repeated_is_masked() {
        let body = format!("<xml><SIGN><![CDATA[{SIGN}]]></SIGN><sign attr=\"x\">{SIGN}</sign></xml>");
        let masked = mask_sign(&body);
        assert!(!masked.contains(SIGN), "{masked}");
        assert_eq!(masked, "<xml><SIGN>***</SIGN><sign attr=\"x\">***</sign></xml>");
    }

    #[test]
    fn a_sign_cut_off_by_the_end_of_the_body_is_masked_to_the_end() {
        assert_eq!(mask_sign(&format!("<xml><sign>{SIGN}")), "<xml><sign>***");
        assert_eq!(mask_sign("<xml><sign a=\"b"), "<xml><sign***");
    }

    #[test]
    fn form_and_json_sign_values_are_masked() {
        assert_eq!(
            mask_sign(&format!("appid=wx1&sign={SIGN}&sign_type=MD5")),
            "appid=wx1&sign=***&sign_type=MD5"
        );
        assert_eq!(
            mask_sign(&format!("{{\"sign\": \"{SIGN}\", \"a\": 1}}")),
            "{\"sign\": \"***\", \"a\": 1}"
        );
        assert_eq!(mask_sign("nonce_str=x&design=1"), "nonce_str=x&design=1", "only a whole `sign`");
    }

    #[test]
    fn an_excerpt_never_shows_part_of_a_sign_and_is_cut_on_a_character() {
        let long = format!("<xml><pad>{}</pad><sign>{SIGN}</sign></xml>", "x".repeat(EXCERPT - 30));
        let e = excerpt(long.as_bytes());
        assert!(!e.contains(&SIGN[..8]), "no part of the sign survives the cut: {e}");
        assert!(e.ends_with('…'));
        let chinese = "签".repeat(EXCERPT);
        let e = excerpt(chinese.as_bytes());
        assert!(e.len() <= EXCERPT + '…'.len_utf8() && e.ends_with('…'), "{e}");
        assert!(!e.contains('\u{fffd}'), "the split character is dropped");
        assert_eq!(excerpt(b"<xml/>"), "<xml/>");
        assert_eq!(excerpt(&[0xff, b'a']), "\u{fffd}a", "not UTF-8: replaced, not refused");
    }
}
