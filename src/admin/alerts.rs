//! `/admin/alerts`: where alerts go (a WeCom group robot, a signed webhook, e-mail), a test
//! alert, and the delivery log — each alert with its deliveries and the receivers' answers.
//!
//! The webhook's signing secret is made here and shown once, on the page that answers the
//! save; afterwards only its first characters. The channels apply at once (no restart).

use std::sync::Arc;

use askama::Template;
use rocket::form::{Contextual, Form, FromForm};
use rocket::http::Status;
use rocket::response::Redirect;
use rocket::{Either, State, get, post};

use super::session::{ClientAddr, Token};
use super::settings::mask;
use super::{Admin, AdminError, AdminSession, Chrome, Section, audit};
use crate::alerts::sign;
use crate::domain::alert::{Alert, ChannelKind, DeliveryState, Topic};
use crate::domain::shop::{self, AlertChannels};
use crate::http::same_origin::SameOrigin;
use crate::web::{Frame, Lang, Page};
use crate::wxpay::messages::beijing_display;

/// Alerts on the page.
const SHOWN: usize = 50;

/// One delivery as the page shows it.
pub struct DeliveryRow {
    pub channel: &'static str,
    pub state: &'static str,
    pub tries: u32,
    pub next: Option<String>,
    /// The answers, newest first: (time, text, milliseconds).
    pub answers: Vec<(String, String, u64)>,
}

/// One alert as the page shows it.
pub struct AlertRow {
    pub id: u64,
    pub when: String,
    pub topic: &'static str,
    pub order_no: Option<String>,
    pub message: String,
    pub deliveries: Vec<DeliveryRow>,
    pub no_channel: bool,
    pub coalesced: bool,
}

impl AlertRow {
    fn of(a: Alert, lang: Lang) -> AlertRow {
        let w = lang.words();
        let topic = match a.topic {
            Topic::Paid => w.alert_paid,
            Topic::Refunded => w.alert_refunded,
            Topic::RefundFailed => w.alert_refund_failed,
            Topic::Attention => w.alert_attention,
            Topic::Test => w.alert_test,
        };
        let no_channel = a.deliveries.is_empty() && a.finished_at.is_some() && !a.coalesced;
        AlertRow {
            id: a.id,
            when: beijing_display(a.at),
            topic,
            order_no: a.order_no,
            message: a.message,
            no_channel,
            coalesced: a.coalesced,
            deliveries: a
                .deliveries
                .into_iter()
                .map(|d| DeliveryRow {
                    channel: match d.channel {
                        ChannelKind::Wecom => lang.t("企业微信", "WeCom"),
                        ChannelKind::Webhook => "Webhook",
                        ChannelKind::Email => lang.t("邮件", "E-mail"),
                    },
                    state: match d.state {
                        DeliveryState::Pending => "pending",
                        DeliveryState::Delivered => "delivered",
                        DeliveryState::GaveUp => "gave_up",
                    },
                    tries: d.tries,
                    next: (d.state == DeliveryState::Pending).then(|| beijing_display(d.next_at)),
                    answers: d
                        .answers
                        .into_iter()
                        .rev()
                        .map(|x| (beijing_display(x.at), x.text, x.millis))
                        .collect(),
                })
                .collect(),
        }
    }
}

#[derive(Template)]
#[template(path = "admin/alerts.html")]
pub struct AlertsPage {
    chrome: Chrome,
    wecom_url: String,
    webhook_url: String,
    emails: String,
    /// The secret's first characters (never the whole secret after it was shown).
    secret_hint: Option<String>,
    /// A secret just made: shown this once.
    new_secret: Option<String>,
    can_email: bool,
    backlog: usize,
    problem: Option<String>,
    notice: Option<&'static str>,
    alerts: Vec<AlertRow>,
}

type Reply = Result<Either<Redirect, (Status, Page<AlertsPage>)>, AdminError>;

fn page_for(
    admin: &Admin,
    frame: Frame,
    session: &AdminSession,
    shown: &AlertChannels,
    new_secret: Option<String>,
    problem: Option<String>,
    notice: Option<&'static str>,
) -> Result<Page<AlertsPage>, AdminError> {
    let lang = frame.lang;
    let saved = admin.checkout.runtime();
    let alerts = admin.checkout.recent_alerts(SHOWN)?.into_iter().map(|a| AlertRow::of(a, lang)).collect();
    Ok(Page(AlertsPage {
        chrome: Chrome::new(frame, Some(session), Section::Alerts),
        wecom_url: shown.wecom_url.as_deref().map(mask_url).unwrap_or_default(),
        webhook_url: shown.webhook_url.as_deref().map(mask_url).unwrap_or_default(),
        emails: shown.emails.join(", "),
        secret_hint: saved.alerts.webhook_secret.as_deref().map(mask),
        new_secret,
        can_email: admin.checkout.can_email(),
        backlog: admin.checkout.alert_backlog(),
        problem,
        notice,
        alerts,
    }))
}

#[get("/alerts?<sent>&<saved>")]
pub fn page(
    admin: &State<Arc<Admin>>,
    session: AdminSession,
    frame: Frame,
    sent: Option<&str>,
    saved: Option<&str>,
) -> Result<Page<AlertsPage>, AdminError> {
    let notice = if sent.is_some() {
        Some(frame.lang.t("测试提醒已放入发送队列。", "The test alert is queued."))
    } else if saved.is_some() {
        Some(frame.lang.t("已保存。", "Saved."))
    } else {
        None
    };
    let current = admin.checkout.runtime().alerts.clone();
    page_for(admin, frame, &session, &current, None, None, notice)
}

#[derive(FromForm)]
pub struct ChannelsForm<'r> {
    wecom_url: Option<&'r str>,
    webhook_url: Option<&'r str>,
    emails: Option<&'r str>,
    /// Make a new webhook secret (the old one stops working).
    rotate: bool,
}

/// An alert address as the page shows it: its query (a WeCom robot's `key=…`, a token) masked,
/// so the page never shows the whole key again once it is saved.
pub fn mask_url(url: &str) -> String {
    match url.split_once('?') {
        Some((base, query)) => format!("{base}?{}", mask(query)),
        None => url.to_owned(),
    }
}

/// The address the form asks for: the saved one when the field still shows it masked.
fn wanted_url(
    field: &'static str,
    typed: Option<&str>,
    saved: Option<&str>,
    lang: Lang,
) -> Result<Option<String>, String> {
    let typed = typed.unwrap_or("").trim();
    if let Some(saved) = saved.filter(|s| !typed.is_empty() && mask_url(s) == typed) {
        return Ok(Some(saved.to_owned()));
    }
    shop::alert_url(field, typed).map_err(|e| (lang.words().shop_settings_refused)(&e))
}

fn channels_of(
    form: &ChannelsForm<'_>,
    saved: &AlertChannels,
    can_email: bool,
    lang: Lang,
) -> Result<AlertChannels, String> {
    let wecom_url = wanted_url("wecom_url", form.wecom_url, saved.wecom_url.as_deref(), lang)?;
    let webhook_url = wanted_url("webhook_url", form.webhook_url, saved.webhook_url.as_deref(), lang)?;
    let emails =
        shop::emails(form.emails.unwrap_or("")).map_err(|e| (lang.words().shop_settings_refused)(&e))?;
    if !emails.is_empty() && !can_email {
        return Err(lang.words().alert_no_smtp.to_owned());
    }
    Ok(AlertChannels { wecom_url, webhook_url, webhook_secret: None, emails })
}

#[post("/alerts/channels", data = "<form>")]
pub async fn save(
    admin: &State<Arc<Admin>>,
    _same_origin: SameOrigin,
    session: AdminSession,
    frame: Frame,
    addr: ClientAddr,
    form: Form<Contextual<'_, ChannelsForm<'_>>>,
) -> Reply {
    session.check_form(&form)?;
    let empty = ChannelsForm { wecom_url: None, webhook_url: None, emails: None, rotate: false };
    let value = form.value.as_ref().unwrap_or(&empty);
    let saved = admin.checkout.runtime().alerts.clone();
    let mut wanted = match channels_of(value, &saved, admin.checkout.can_email(), frame.lang) {
        Ok(c) => c,
        Err(why) => {
            let shown = AlertChannels {
                wecom_url: value.wecom_url.map(str::to_owned),
                webhook_url: value.webhook_url.map(str::to_owned),
                webhook_secret: None,
                emails: value.emails.map(|e| vec![e.to_owned()]).unwrap_or_default(),
            };
            let page = page_for(admin, frame, &session, &shown, None, Some(why), None)?;
            return Ok(Either::Right((Status::UnprocessableEntity, page)));
        }
    };
    let rotate = value.rotate;
    let new_secret = admin
        .checkout
        .change_runtime(|s| {
            let old = s.alerts.webhook_secret.take();
            // why a new secret for a new address: the old receiver's key is not the new one's.
            let same_receiver = wanted.webhook_url.is_some() && wanted.webhook_url == s.alerts.webhook_url;
            let (secret, made) = match (&wanted.webhook_url, old) {
                (None, _) => (None, None),
                (Some(_), Some(old)) if !rotate && same_receiver => (Some(old), None),
                (Some(_), _) => {
                    let new = sign::new_secret();
                    (Some(new.clone()), Some(new))
                }
            };
            wanted.webhook_secret = secret;
            s.alerts = wanted.clone();
            made
        })
        .await?;
    let detail = format!(
        "wecom {}, webhook {}{}, e-mail to {}",
        if wanted.wecom_url.is_some() { "on" } else { "off" },
        if wanted.webhook_url.is_some() { "on" } else { "off" },
        if new_secret.is_some() { " (new secret)" } else { "" },
        wanted.emails.len()
    );
    audit::done(admin, "alerts.channels", &detail, &addr).await?;
    if new_secret.is_none() {
        return Ok(Either::Left(Redirect::to("/admin/alerts?saved=1")));
    }
    let notice = Some(frame.lang.t("已保存。", "Saved."));
    let page = page_for(admin, frame, &session, &wanted, new_secret, None, notice)?;
    Ok(Either::Right((Status::Ok, page)))
}

#[post("/alerts/test", data = "<form>")]
pub async fn test(
    admin: &State<Arc<Admin>>,
    _same_origin: SameOrigin,
    session: AdminSession,
    addr: ClientAddr,
    form: Form<Contextual<'_, Token<'_>>>,
) -> Result<Redirect, AdminError> {
    session.check_form(&form)?;
    let id = admin.checkout.send_test_alert().await?;
    audit::done(admin, "alerts.test", &format!("test alert evt_{id}"), &addr).await?;
    Ok(Redirect::to("/admin/alerts?sent=1"))
}

pub fn routes() -> Vec<rocket::Route> {
    rocket::routes![page, save, test]
}
