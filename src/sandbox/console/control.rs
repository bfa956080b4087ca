//! The control page: the seven fault settings of the running sandbox, as a form for people
//! and as JSON for tests. `time_scale` is shown but fixed at start (the clock uses it).
//!
//! Changes state only through `Sandbox::set_faults`, after `SandboxConfig::validate`; a
//! refused change changes nothing.
//!
//! Cross-site protection: the page has no login (the sandbox is a test double), but a page
//! on another site must not be able to flip faults through a visitor's browser. We check the
//! browser's own `Sec-Fetch-Site` / `Origin` (see `web::same_origin`) rather than require an
//! `X-Requested-With` header, because the plain HTML form must work without JavaScript and a
//! form cannot send custom headers; clients that send neither header (tests, curl) are not
//! browsers on another site. A cross-site JSON post would also need a CORS preflight, which
//! this route never grants.

use std::sync::Arc;

use askama::Template;
use rocket::form::{Form, FromForm};
use rocket::http::Status;
use rocket::response::Redirect;
use rocket::serde::json::{Json, Value, json};
use rocket::{Either, State, get, post};

use crate::config::SandboxConfig;
use crate::http::Page;
use crate::sandbox::payer::SameSite;
use crate::sandbox::state::Sandbox;
use crate::sandbox::v3::KeyMode;

/// The settings the control page may change, with these exact names.
const KEYS: [&str; 7] = [
    "notify_copies",
    "notify_drop_first",
    "notify_delay_ms",
    "system_error_rate",
    "notify_extra_fields",
    "notify_bad_sign",
    "payer_network_changed",
];

pub fn routes() -> Vec<rocket::Route> {
    rocket::routes![page, save_form, save_json]
}

#[derive(Template)]
#[template(path = "sandbox/control.html")]
struct ControlPage {
    time_scale: f64,
    notify_copies: String,
    notify_drop_first: String,
    notify_delay_ms: String,
    system_error_rate: String,
    notify_extra_fields: bool,
    notify_bad_sign: bool,
    payer_network_changed: bool,
    saved: bool,
    error: Option<String>,
}

impl ControlPage {
    fn of(f: &SandboxConfig, saved: bool) -> ControlPage {
        ControlPage {
            time_scale: f.time_scale,
            notify_copies: f.notify_copies.to_string(),
            notify_drop_first: f.notify_drop_first.to_string(),
            notify_delay_ms: f.notify_delay_ms.to_string(),
            system_error_rate: f.system_error_rate.to_string(),
            notify_extra_fields: f.notify_extra_fields,
            notify_bad_sign: f.notify_bad_sign,
            payer_network_changed: f.payer_network_changed,
            saved,
            error: None,
        }
    }
}

/// `GET /sandbox/control[?saved=1]`
#[get("/control?<saved>")]
fn page(sandbox: &State<Arc<Sandbox>>, saved: Option<&str>) -> Page<ControlPage> {
    Page(ControlPage::of(&sandbox.faults(), saved.is_some()))
}

/// The form as typed; numbers are parsed here so that a bad one gets a clear message.
#[derive(FromForm)]
struct ControlForm<'r> {
    notify_copies: &'r str,
    notify_drop_first: &'r str,
    notify_delay_ms: &'r str,
    system_error_rate: &'r str,
    /// Checkboxes: present when ticked.
    notify_extra_fields: Option<&'r str>,
    notify_bad_sign: Option<&'r str>,
    payer_network_changed: Option<&'r str>,
}

fn number<T: std::str::FromStr>(key: &str, raw: &str) -> Result<T, String> {
    raw.trim().parse().map_err(|_| format!("`{key}` 不是有效的数字 / is not a valid number: {raw:?}"))
}

fn parse_form(f: &ControlForm<'_>, current: &SandboxConfig) -> Result<SandboxConfig, String> {
    let next = SandboxConfig {
        time_scale: current.time_scale,
        notify_copies: number("notify_copies", f.notify_copies)?,
        notify_drop_first: number("notify_drop_first", f.notify_drop_first)?,
        notify_delay_ms: number("notify_delay_ms", f.notify_delay_ms)?,
        system_error_rate: number("system_error_rate", f.system_error_rate)?,
        notify_extra_fields: f.notify_extra_fields.is_some(),
        notify_bad_sign: f.notify_bad_sign.is_some(),
        payer_network_changed: f.payer_network_changed.is_some(),
        ..current.clone()
    };
    next.validate().map_err(|e| e.to_string())?;
    Ok(next)
}

/// `POST /sandbox/control` (form): saved → 303 back; refused → the page again, unchanged.
#[post("/control", format = "form", data = "<form>")]
fn save_form(
    sandbox: &State<Arc<Sandbox>>,
    _same_site: SameSite,
    form: Form<ControlForm<'_>>,
) -> Either<Redirect, (Status, Page<ControlPage>)> {
    match parse_form(&form, &sandbox.faults()) {
        Ok(next) => {
            sandbox.set_faults(next);
            Either::Left(Redirect::to("/sandbox/control?saved=1"))
        }
        Err(error) => {
            let page = ControlPage {
                time_scale: sandbox.clock.scale(),
                notify_copies: form.notify_copies.to_owned(),
                notify_drop_first: form.notify_drop_first.to_owned(),
                notify_delay_ms: form.notify_delay_ms.to_owned(),
                system_error_rate: form.system_error_rate.to_owned(),
                notify_extra_fields: form.notify_extra_fields.is_some(),
                notify_bad_sign: form.notify_bad_sign.is_some(),
                payer_network_changed: form.payer_network_changed.is_some(),
                saved: false,
                error: Some(error),
            };
            Either::Right((Status::UnprocessableEntity, Page(page)))
        }
    }
}

/// The current settings with the keys of a JSON object laid over them.
fn apply_json(current: &SandboxConfig, body: &str) -> Result<SandboxConfig, String> {
    let changes = match serde_json::from_str::<Value>(body) {
        Ok(Value::Object(m)) => m,
        _ => return Err("body must be a JSON object of settings".to_owned()),
    };
    let mut merged = match serde_json::to_value(current) {
        Ok(Value::Object(m)) => m,
        _ => return Err("current settings are not an object".to_owned()),
    };
    for (key, value) in changes {
        if KEYS.contains(&key.as_str()) {
            merged.insert(key, value);
        } else if key == "time_scale" && value.as_f64() == Some(current.time_scale) {
            // why: echoing back the settings we answered must be accepted.
        } else if key == "time_scale" {
            return Err("`time_scale` is fixed when the sandbox starts (read-only here)".to_owned());
        } else {
            return Err(format!("unknown setting `{key}`; allowed: {}, v3_key_mode", KEYS.join(", ")));
        }
    }
    let next: SandboxConfig = serde_json::from_value(Value::Object(merged)).map_err(|e| e.to_string())?;
    next.validate().map_err(|e| e.to_string())?;
    Ok(next)
}

/// Takes `v3_key_mode` (`public_key` or `certificate`) out of a JSON body of settings.
///
/// why apart from the faults: it is the v3 merchant's key setup, not a fault, and it is not
/// part of the configuration file's `[sandbox]` table.
fn take_v3_mode(body: &str) -> Result<(String, Option<KeyMode>), String> {
    let Ok(Value::Object(mut m)) = serde_json::from_str::<Value>(body) else {
        return Ok((body.to_owned(), None));
    };
    let mode = match m.remove("v3_key_mode") {
        None => None,
        Some(v) => Some(match v.as_str() {
            Some("public_key") => KeyMode::PublicKey,
            Some("certificate") => KeyMode::Certificate,
            _ => return Err("`v3_key_mode` is \"public_key\" or \"certificate\"".to_owned()),
        }),
    };
    Ok((Value::Object(m).to_string(), mode))
}

fn mode_name(mode: KeyMode) -> &'static str {
    match mode {
        KeyMode::PublicKey => "public_key",
        KeyMode::Certificate => "certificate",
    }
}

/// `POST /sandbox/control` (JSON): `{"notify_copies": 2, …}` (any subset, and `v3_key_mode`)
/// → the effective settings, or 400 `{"error": …}` with nothing changed.
#[post("/control", format = "json", data = "<body>")]
fn save_json(sandbox: &State<Arc<Sandbox>>, _same_site: SameSite, body: String) -> (Status, Json<Value>) {
    let applied =
        take_v3_mode(&body).and_then(|(rest, mode)| Ok((apply_json(&sandbox.faults(), &rest)?, mode)));
    match applied {
        Ok((next, mode)) => {
            sandbox.set_faults(next);
            if let Some(mode) = mode {
                sandbox.set_v3_default_mode(mode);
            }
            let mut answer = json!(sandbox.faults());
            answer["v3_key_mode"] = json!(mode_name(sandbox.v3_default_mode()));
            (Status::Ok, Json(answer))
        }
        Err(error) => (Status::BadRequest, Json(json!({ "error": error }))),
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // why: a test fails loudly on purpose
mod tests {
    use super::*;

    #[test]
    fn json_changes_only_the_keys_it_names() {
        let current = SandboxConfig::default();
        let next = apply_json(&current, r#"{"notify_copies": 3, "notify_bad_sign": true}"#).unwrap();
        assert_eq!(next.notify_copies, 3);
        assert!(next.notify_bad_sign);
        assert_eq!(next.notify_delay_ms, current.notify_delay_ms);
    }

    #[test]
    fn json_refuses_bad_values_unknown_keys_and_a_new_time_scale() {
        let current = SandboxConfig::default();
        assert!(apply_json(&current, r#"{"system_error_rate": 2}"#).is_err());
        assert!(apply_json(&current, r#"{"api_key": "x"}"#).is_err());
        assert!(apply_json(&current, r#"{"time_scale": 5}"#).is_err());
        assert!(apply_json(&current, r#"{"time_scale": 1.0}"#).is_ok());
        assert!(apply_json(&current, "[1]").is_err());
    }
}
