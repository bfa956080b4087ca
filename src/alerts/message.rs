//! What an alert says, per channel: WeCom markdown, the webhook's JSON, an e-mail. Built from
//! the alert and its order as it is when sent.

use serde_json::json;

use crate::domain::Order;
use crate::domain::alert::{Alert, Topic};
use crate::web::i18n::Words;
use crate::wxpay::messages::beijing_display;

/// WeCom's limit on a markdown message's content, in bytes.
pub const WECOM_MAX_BYTES: usize = 4096;

/// An alert with what it is about, ready to word.
pub struct Message<'a> {
    pub alert: &'a Alert,
    pub order: Option<&'a Order>,
    /// The order's admin page, when the shop knows its own address.
    pub admin_url: Option<String>,
    pub shop_name: &'a str,
    pub sandbox: bool,
}

/// Buyer-typed text inside markdown: no markup of theirs, one line, bounded.
fn plain(s: &str, max: usize) -> String {
    s.chars()
        .map(|c| match c {
            '<' | '>' | '[' | ']' | '*' | '`' | '#' | '_' | '~' => ' ',
            c if c.is_control() => ' ',
            c => c,
        })
        .take(max)
        .collect()
}

impl Message<'_> {
    pub fn title(&self, w: &Words) -> &'static str {
        match self.alert.topic {
            Topic::Paid => w.alert_paid,
            Topic::Refunded => w.alert_refunded,
            Topic::RefundFailed => w.alert_refund_failed,
            Topic::Attention => w.alert_attention,
            Topic::Test => w.alert_test,
        }
    }

    /// The lines every channel shows: `(label, value)`.
    fn facts(&self, w: &Words) -> Vec<(&'static str, String)> {
        let mut facts = Vec::new();
        if let Some(o) = self.order {
            facts.push((w.alert_order_no, o.no.clone()));
            facts.push((w.alert_amount, o.total.to_string()));
            let items: Vec<String> =
                o.lines.iter().map(|l| format!("{} ×{}", plain(&l.name, 40), l.qty)).collect();
            facts.push((w.alert_items, items.join("，")));
            let c = &o.contact;
            let buyer: Vec<String> = [&c.name, &c.phone, &c.address]
                .into_iter()
                .flatten()
                .filter(|s| !s.is_empty())
                .map(|s| plain(s, 120))
                .collect();
            if !buyer.is_empty() {
                facts.push((w.alert_buyer, buyer.join(" · ")));
            }
            if let Some(note) = c.note.as_deref().filter(|n| !n.is_empty()) {
                facts.push((w.alert_note, plain(note, 200)));
            }
        } else if let Some(no) = &self.alert.order_no {
            facts.push((w.alert_order_no, no.clone()));
        }
        if self.alert.topic != Topic::Paid || self.order.is_none() {
            facts.push((w.alert_detail, plain(&self.alert.message, 300)));
        }
        facts.push((w.alert_time, beijing_display(self.alert.at)));
        facts
    }

    /// The WeCom group robot's markdown, within its 4096-byte limit.
    pub fn wecom_markdown(&self, w: &Words) -> String {
        let sandbox = if self.sandbox { w.alert_sandbox_prefix } else { "" };
        let link =
            self.admin_url.as_ref().map(|url| format!("[{}]({url})", w.alert_open_admin)).unwrap_or_default();
        let mut out = format!("**{sandbox}{}** · {}\n", self.title(w), plain(self.shop_name, 30));
        // why line by line: a message over WeCom's limit loses its last facts whole (never half
        // a tag), and the link to the order always stays.
        for (label, value) in self.facts(w) {
            let line = format!("> {label}：<font color=\"comment\">{value}</font>\n");
            if out.len() + line.len() + link.len() > WECOM_MAX_BYTES {
                break;
            }
            out.push_str(&line);
        }
        out.push_str(&link);
        cut_bytes(out, WECOM_MAX_BYTES)
    }

    /// The webhook's JSON body.
    pub fn webhook_json(&self) -> String {
        let order = self.order.map(|o| {
            json!({
                "order_no": o.no,
                "status": o.status.as_str(),
                "total_fen": o.total.get(),
                "refunded_fen": o.refunded.get(),
                "items": o.lines.iter().map(|l| json!({
                    "slug": l.slug, "name": l.name, "qty": l.qty, "unit_fen": l.unit.get(),
                })).collect::<Vec<_>>(),
                "contact": {
                    "name": o.contact.name, "phone": o.contact.phone,
                    "address": o.contact.address, "note": o.contact.note,
                },
                "paid_at": o.paid_at,
            })
        });
        json!({
            "id": format!("evt_{}", self.alert.id),
            "type": self.alert.topic.event_type(),
            "created": self.alert.at,
            "sandbox": self.sandbox,
            "shop": self.shop_name,
            "data": {
                "order_no": self.alert.order_no,
                "message": self.alert.message,
                "order": order,
                "admin_url": self.admin_url,
            },
        })
        .to_string()
    }

    /// An e-mail's subject and plain-text body.
    pub fn email(&self, w: &Words) -> (String, String) {
        let sandbox = if self.sandbox { w.alert_sandbox_prefix } else { "" };
        let subject = match self.order {
            Some(o) => format!("{sandbox}{} {} {}", self.title(w), o.no, o.total),
            None => format!("{sandbox}{}", self.title(w)),
        };
        let mut body = format!("{}\n\n", self.shop_name);
        for (label, value) in self.facts(w) {
            body.push_str(&format!("{label}: {value}\n"));
        }
        if let Some(url) = &self.admin_url {
            body.push_str(&format!("\n{}: {url}\n", w.alert_open_admin));
        }
        (subject, body)
    }
}

/// `s` cut to at most `max` bytes on a character boundary.
fn cut_bytes(mut s: String, max: usize) -> String {
    if s.len() > max {
        let mut end = max;
        while !s.is_char_boundary(end) {
            end -= 1;
        }
        s.truncate(end);
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{Contact, Fen, Line, OrderStatus};
    use crate::web::Lang;

    fn order() -> Order {
        Order {
            no: "3006020001".into(),
            token: "t".into(),
            lines: vec![Line {
                slug: "tea".into(),
                name: "乌龙茶 <b>".into(),
                unit: Fen::new(1800).unwrap(),
                qty: 2,
            }],
            total: Fen::new(3600).unwrap(),
            contact: Contact {
                name: Some("张三".into()),
                phone: Some("13800138000".into()),
                address: None,
                note: None,
            },
            status: OrderStatus::Paid,
            created_at: 0,
            paid_at: Some(10),
            closed_at: None,
            attempts: vec![],
            paid_by: None,
            refunded: Fen::ZERO,
            settled_refunds: vec![],
            fulfilment: crate::domain::fulfilment::Fulfilment::Waiting,
            lifetime_secs: None,
        }
    }

    #[test]
    fn a_paid_order_reads_in_wecom_markdown_with_its_number_amount_items_buyer_and_link() {
        let o = order();
        let alert = Alert::new(42, 1_700_000_000, Topic::Paid, Some(o.no.clone()), "paid by x".into());
        let m = Message {
            alert: &alert,
            order: Some(&o),
            admin_url: Some("https://shop.example/admin/orders/3006020001".into()),
            shop_name: "山间咖啡",
            sandbox: false,
        };
        let md = m.wecom_markdown(Lang::Zh.words());
        assert!(md.starts_with("**新订单已支付** · 山间咖啡\n"), "{md}");
        assert!(md.contains("3006020001") && md.contains("¥36.00") && md.contains("乌龙茶  b  ×2"), "{md}");
        assert!(md.contains("张三 · 13800138000"), "{md}");
        assert!(md.ends_with("(https://shop.example/admin/orders/3006020001)"), "{md}");
        assert!(!md.contains("<b>"), "buyer text carries no markup: {md}");
        let json: serde_json::Value = serde_json::from_str(&m.webhook_json()).unwrap();
        assert_eq!(json["id"], "evt_42");
        assert_eq!(json["type"], "order.paid");
        assert_eq!(json["data"]["order"]["total_fen"], 3600);
        assert_eq!(json["data"]["order"]["items"][0]["qty"], 2);
    }

    #[test]
    fn a_message_with_very_many_items_stays_within_wecom_s_limit_and_keeps_its_link() {
        let mut o = order();
        o.lines = (0..200)
            .map(|i| Line {
                slug: format!("p{i}"),
                name: "很长的商品名称".repeat(5),
                unit: Fen::new(100).unwrap(),
                qty: 1,
            })
            .collect();
        let alert = Alert::new(1, 0, Topic::Paid, Some(o.no.clone()), String::new());
        let m = Message {
            alert: &alert,
            order: Some(&o),
            admin_url: Some("https://s/admin/orders/1".into()),
            shop_name: "店",
            sandbox: true,
        };
        let md = m.wecom_markdown(Lang::Zh.words());
        assert!(md.len() <= WECOM_MAX_BYTES, "{}", md.len());
        assert!(md.ends_with("(https://s/admin/orders/1)"), "the link stays");
        assert!(md.starts_with("**【沙箱】新订单已支付**"));
    }

    #[test]
    fn a_long_markdown_message_is_cut_within_wecom_s_limit_on_a_character_boundary() {
        let cut = cut_bytes("好".repeat(2000), WECOM_MAX_BYTES);
        assert!(cut.len() <= WECOM_MAX_BYTES);
        assert_eq!(cut.len() % 3, 0);
    }
}
