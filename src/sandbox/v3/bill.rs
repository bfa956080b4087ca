//! The v3 trade bill: `GET /v3/bill/tradebill` answers a SHA-1 and a download URL, and
//! `GET /v3/billdownload/file?token=…` serves the file (docs/wechat-pay-v3.md#the-trade-bill-in-the-sandbox).
//!
//! Owns the v3 query rules, the file's bytes (BOM, CRLF, the 27 columns for every bill type)
//! and the short-lived download tokens. Which rows a day holds is the v2 gateway's
//! (`gateway::bill::rows_of`), so both versions bill the same world; it changes no order.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use rocket::http::{ContentType, Status};
use rocket::{State as Managed, get};
use serde_json::json;
use time::Date;

use super::order::answer;
use super::wire::{self, V3Error, V3Head, V3Reply};
use crate::sandbox::gateway::SandboxBase;
use crate::sandbox::gateway::bill::{gzip, rows_of};
use crate::sandbox::state::{Sandbox, ids};
use crate::wxpay::bill::{self, BillKind};
use crate::wxpay::messages::beijing_date;

/// How long a `download_url` works: 5 minutes (the 2024 page), scaled, never under the 30 s
/// of the older page, so a client on a fast `time_scale` still has time to fetch it.
const LIFETIME: Duration = Duration::from_secs(300);
const MIN_LIFETIME: Duration = Duration::from_secs(30);
/// How many files are kept at once. why: each application makes one; a client looping on it
/// must not fill memory.
const MAX_FILES: usize = 1000;
/// Bills are kept about three months ("三个月内"); older ones only in the merchant platform.
const KEPT_DAYS: i64 = 92;

/// The files applied for, by token.
#[derive(Default)]
pub struct Files(Mutex<HashMap<String, File>>);

struct File {
    /// The bytes served: the bill, or its gzip.
    body: Vec<u8>,
    gzip: bool,
    made: Instant,
}

impl Files {
    fn insert(&self, token: String, file: File, lifetime: Duration) {
        let mut files = self.0.lock().unwrap_or_else(|p| p.into_inner());
        files.retain(|_, f| f.made.elapsed() < lifetime);
        if files.len() >= MAX_FILES {
            if let Some(oldest) = files.iter().min_by_key(|(_, f)| f.made).map(|(k, _)| k.clone()) {
                files.remove(&oldest);
            }
        }
        files.insert(token, file);
    }

    fn get(&self, token: &str, lifetime: Duration) -> Option<(Vec<u8>, bool)> {
        let files = self.0.lock().unwrap_or_else(|p| p.into_inner());
        files.get(token).filter(|f| f.made.elapsed() < lifetime).map(|f| (f.body.clone(), f.gzip))
    }
}

pub fn routes() -> Vec<rocket::Route> {
    rocket::routes![tradebill, download]
}

fn lifetime(sb: &Sandbox) -> Duration {
    sb.clock.scaled(LIFETIME).max(MIN_LIFETIME)
}

fn no_statement() -> V3Error {
    V3Error::new(Status::BadRequest, "NO_STATEMENT_EXIST", "请求的账单文件不存在")
}

#[get("/v3/bill/tradebill?<bill_date>&<bill_type>&<tar_type>")]
async fn tradebill(
    sb: &Managed<Arc<Sandbox>>,
    base: SandboxBase,
    head: V3Head,
    bill_date: Option<&str>,
    bill_type: Option<&str>,
    tar_type: Option<&str>,
) -> V3Reply {
    answer(sb, |v3, now| {
        wire::authenticate(sb, v3, &head, b"", now)?;
        wire::system_fault(sb)?;
        let date = check_date(bill_date, beijing_date(sb.clock.now_utc()))?;
        let kind = check_type(bill_type)?;
        let gzip = match tar_type {
            None => false,
            Some("GZIP") => true,
            Some(_) => return Err(V3Error::param("tar_type", "query", "only GZIP, or leave it out")),
        };
        let rows = rows_of(&sb.state(), &sb.merchant, date, kind);
        if rows.is_empty() {
            return Err(no_statement());
        }
        let bytes = file_bytes(&bill::render(BillKind::All, &rows));
        let hash =
            hex::encode(aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA1_FOR_LEGACY_USE_ONLY, &bytes));
        let token = ids::alnum(64);
        let body = if gzip { gzip::stored(&bytes) } else { bytes };
        v3.bills.insert(token.clone(), File { body, gzip, made: Instant::now() }, lifetime(sb));
        let url = base.join(&format!("v3/billdownload/file?token={token}"));
        Ok(V3Reply::json(v3, now, &json!({"hash_type": "SHA1", "hash_value": hash, "download_url": url})))
    })
}

/// `bill_date`: required, `yyyy-MM-DD`, within the kept three months; a day not yet over is
/// allowed (as in the v2 sandbox: a test should not wait a day), a later one has no bill yet.
fn check_date(bill_date: Option<&str>, today: Date) -> Result<Date, V3Error> {
    let raw = bill_date.ok_or_else(|| V3Error::param("bill_date", "query", "is required"))?;
    let format = time::macros::format_description!("[year]-[month]-[day]");
    let date = Date::parse(raw, format).map_err(|_| V3Error::param("bill_date", "query", "yyyy-MM-DD"))?;
    if date > today {
        return Err(no_statement());
    }
    if (today - date).whole_days() > KEPT_DAYS {
        return Err(V3Error::param(
            "bill_date",
            "query",
            "only the last three months; older bills are in the merchant platform",
        ));
    }
    Ok(date)
}

/// `bill_type`: ALL (default), SUCCESS, REFUND; the recharge-coupon and special-industry
/// bills exist but the sandbox has no such trades, so they are never there.
fn check_type(bill_type: Option<&str>) -> Result<BillKind, V3Error> {
    match bill_type.unwrap_or("ALL") {
        "ALL" => Ok(BillKind::All),
        "SUCCESS" => Ok(BillKind::Success),
        "REFUND" => Ok(BillKind::Refund),
        "RECHARGE_REFUND" | "ALL_SPECIAL" | "SUC_SPECIAL" | "REF_SPECIAL" => Err(no_statement()),
        _ => Err(V3Error::param(
            "bill_type",
            "query",
            "ALL, SUCCESS, REFUND, RECHARGE_REFUND, ALL_SPECIAL, SUC_SPECIAL or REF_SPECIAL",
        )),
    }
}

/// The v3 file: UTF-8 with a BOM, every line ended by CRLF (the v2 text has bare `\n`s).
fn file_bytes(text: &str) -> Vec<u8> {
    let mut bytes = vec![0xEF, 0xBB, 0xBF];
    for line in text.split('\n') {
        bytes.extend_from_slice(line.as_bytes());
        bytes.extend_from_slice(b"\r\n");
    }
    bytes
}

/// `GET /v3/billdownload/file?token=…`, signed like any v3 GET (over this path and query as
/// received); the answer is the file, unsigned, as WeChat's is.
#[get("/v3/billdownload/file?<token>")]
async fn download(sb: &Managed<Arc<Sandbox>>, head: V3Head, token: Option<&str>) -> V3Reply {
    answer(sb, |v3, now| {
        wire::authenticate(sb, v3, &head, b"", now)?;
        let expired = || {
            V3Error::param(
                "token",
                "query",
                "unknown or expired (a download_url lives 5 minutes): apply for the bill again",
            )
        };
        let (body, gzip) = v3.bills.get(token.unwrap_or_default(), lifetime(sb)).ok_or_else(expired)?;
        let content_type = if gzip {
            ContentType::GZIP
        } else {
            ContentType::new("text", "plain").with_params(("charset", "utf-8"))
        };
        Ok(V3Reply::File { body, content_type })
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_file_has_a_bom_and_crlf_line_ends() {
        assert_eq!(file_bytes("a\nb"), b"\xEF\xBB\xBFa\r\nb\r\n".to_vec());
    }

    #[test]
    fn a_future_day_has_no_bill_and_one_older_than_three_months_is_refused() {
        let today = time::macros::date!(2026 - 11 - 30);
        assert_eq!(check_date(Some("2026-11-30"), today).unwrap(), today);
        assert_eq!(check_date(Some("2026-12-01"), today).unwrap_err().code, "NO_STATEMENT_EXIST");
        assert_eq!(check_date(Some("2026-08-01"), today).unwrap_err().code, "PARAM_ERROR");
        assert_eq!(check_date(Some("20261130"), today).unwrap_err().code, "PARAM_ERROR");
        assert_eq!(check_date(None, today).unwrap_err().code, "PARAM_ERROR");
    }
}
