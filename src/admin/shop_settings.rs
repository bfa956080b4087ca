//! `/admin/settings/shop`: who the shop is (name, customer-service contact, ICP filing number,
//! returns policy, logo) and how long an order may stay unpaid. The rules are
//! `domain::shop`'s, the logo is checked as product images are (`images`), and a saved form
//! applies at once (`Checkout::change_shop`, no restart). A refused form comes back (422) with
//! the reason and nothing changed; every change is in the audit log.

use std::sync::Arc;

use askama::Template;
use rocket::data::Capped;
use rocket::form::{Contextual, Form, FromForm};
use rocket::fs::TempFile;
use rocket::http::Status;
use rocket::response::Redirect;
use rocket::{Either, State, get, post};

use super::images::{self, ImageChange};
use super::session::ClientAddr;
use super::{Admin, AdminError, AdminSession, Chrome, Section, audit};
use crate::checkout::catalogue::NewImage;
use crate::config::Config;
use crate::domain::shop::{self, NAME_MAX, POLICY_MAX, RuntimeSettings, TTL_MAX, TTL_MIN};
use crate::web::{Frame, Page};

/// The form's values as shown: what is stored, or what was just typed.
#[derive(Debug, Clone, Default)]
pub struct ShopFormView {
    pub name: String,
    pub service_contact: String,
    pub icp: String,
    pub returns_policy: String,
    pub order_ttl_minutes: String,
}

impl ShopFormView {
    fn of(s: &RuntimeSettings) -> ShopFormView {
        ShopFormView {
            name: s.profile.name.clone(),
            service_contact: s.profile.service_contact.clone(),
            icp: s.profile.icp.clone(),
            returns_policy: s.profile.returns_policy.clone(),
            order_ttl_minutes: s.order_ttl_minutes.map(|m| m.to_string()).unwrap_or_default(),
        }
    }

    fn refill<T>(form: &Contextual<'_, T>) -> ShopFormView {
        let text = |k: &str| form.context.field_value(k).unwrap_or_default().to_owned();
        ShopFormView {
            name: text("name"),
            service_contact: text("service_contact"),
            icp: text("icp"),
            returns_policy: text("returns_policy"),
            order_ttl_minutes: text("order_ttl_minutes"),
        }
    }
}

#[derive(Template)]
#[template(path = "admin/shop_settings.html")]
pub struct ShopSettingsPage {
    chrome: Chrome,
    form: ShopFormView,
    logo_url: Option<String>,
    /// The configuration's `order_ttl_minutes`, used when the field is empty.
    config_ttl: u32,
    problem: Option<String>,
    saved: Option<&'static str>,
    name_max: usize,
    policy_max: usize,
    ttl_min: u32,
    ttl_max: u32,
}

type Reply = Result<Either<Redirect, (Status, Page<ShopSettingsPage>)>, AdminError>;

fn page_for(
    frame: Frame,
    session: &AdminSession,
    config: &Config,
    form: ShopFormView,
    problem: Option<String>,
    saved: bool,
) -> Page<ShopSettingsPage> {
    let logo_url = frame.logo_url();
    let saved = saved.then_some(frame.lang.words().shop_settings_saved);
    Page(ShopSettingsPage {
        chrome: Chrome::new(frame, Some(session), Section::Settings),
        form,
        logo_url,
        config_ttl: config.order_ttl_minutes,
        problem,
        saved,
        name_max: NAME_MAX,
        policy_max: POLICY_MAX,
        ttl_min: TTL_MIN,
        ttl_max: TTL_MAX,
    })
}

#[get("/settings/shop?<saved>")]
pub fn page(
    admin: &State<Arc<Admin>>,
    config: &State<Config>,
    session: AdminSession,
    frame: Frame,
    saved: Option<&str>,
) -> Page<ShopSettingsPage> {
    let form = ShopFormView::of(&admin.checkout.runtime());
    page_for(frame, &session, config, form, None, saved.is_some())
}

/// The multipart form as sent (text fields optional, so that a missing one is a message on
/// the form; `csrf` is read from the context first, see `AdminSession::check_form`).
#[derive(FromForm)]
pub struct ShopForm<'r> {
    pub name: Option<&'r str>,
    pub service_contact: Option<&'r str>,
    pub icp: Option<&'r str>,
    pub returns_policy: Option<&'r str>,
    pub order_ttl_minutes: Option<&'r str>,
    pub logo: Option<Capped<TempFile<'r>>>,
    pub remove_logo: bool,
}

/// The form again with why nothing changed (422).
fn refused(
    frame: Frame,
    session: &AdminSession,
    config: &Config,
    form: &Contextual<'_, ShopForm<'_>>,
    why: String,
) -> Reply {
    let problem = format!("{why} {}", frame.lang.words().shop_settings_not_saved);
    let view = ShopFormView::refill(form);
    Ok(Either::Right((
        Status::UnprocessableEntity,
        page_for(frame, session, config, view, Some(problem), false),
    )))
}

#[post("/settings/shop", data = "<form>")]
pub async fn save(
    admin: &State<Arc<Admin>>,
    config: &State<Config>,
    session: AdminSession,
    frame: Frame,
    addr: ClientAddr,
    form: Form<Contextual<'_, ShopForm<'_>>>,
) -> Reply {
    session.check_form(&form)?;
    let words = frame.lang.words();
    let Some(value) = &form.value else {
        return refused(frame, &session, config, &form, words.product_form_unreadable.to_owned());
    };
    let before = admin.checkout.runtime();
    let text = |v: Option<&str>| v.unwrap_or("").to_owned();
    let edited = before.profile.edited(
        &text(value.name),
        &text(value.service_contact),
        &text(value.icp),
        &text(value.returns_policy),
    );
    let checked = edited.and_then(|p| shop::order_ttl(value.order_ttl_minutes.unwrap_or("")).map(|t| (p, t)));
    let (profile, ttl) = match checked {
        Ok(checked) => checked,
        Err(why) => {
            let why = (words.shop_settings_refused)(&why);
            return refused(frame, &session, config, &form, why);
        }
    };
    let logo = match images::read_upload(value.logo.as_ref(), value.remove_logo, frame.lang).await {
        Ok(ImageChange::Keep) => NewImage::Keep,
        Ok(ImageChange::Remove) => NewImage::Remove,
        // why no thumbnail: the logo is shown at 40 px from its own (at most 1200 px) image.
        Ok(ImageChange::Replace { image, .. }) => {
            NewImage::Replace { image: image.reference(None), bytes: image.bytes, thumb: None }
        }
        Err(why) => return refused(frame, &session, config, &form, why),
    };
    let detail = changes(&before, &profile, ttl, &logo);
    admin.checkout.change_shop(profile, ttl, logo).await?;
    audit::done(admin, "settings.shop", &detail, &addr).await?;
    Ok(Either::Left(Redirect::to("/admin/settings/shop?saved=1")))
}

/// The audit log's detail: which settings changed (the name and lifetime with their new
/// values; the others by name only, to keep the line short).
fn changes(before: &RuntimeSettings, after: &shop::ShopProfile, ttl: Option<u32>, logo: &NewImage) -> String {
    let b = &before.profile;
    let mut parts = Vec::new();
    if b.name != after.name {
        parts.push(format!("name={}", after.name));
    }
    for (field, changed) in [
        ("service_contact", b.service_contact != after.service_contact),
        ("icp", b.icp != after.icp),
        ("returns_policy", b.returns_policy != after.returns_policy),
    ] {
        if changed {
            parts.push(field.to_owned());
        }
    }
    if before.order_ttl_minutes != ttl {
        parts.push(format!(
            "order_ttl_minutes={}",
            ttl.map_or_else(|| "config".to_owned(), |m| m.to_string())
        ));
    }
    match logo {
        NewImage::Keep => {}
        NewImage::Remove => parts.push("logo removed".to_owned()),
        NewImage::Replace { image, .. } => parts.push(format!("logo {}", image.etag)),
    }
    if parts.is_empty() { "unchanged".to_owned() } else { parts.join("; ") }
}
