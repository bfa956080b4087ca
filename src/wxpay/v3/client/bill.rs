//! The trade bill: `GET /v3/bill/tradebill` (signed, gives a short-lived `download_url` and the
//! file's SHA-1), then the file itself, fetched with a signed request and checked against that
//! digest because WeChat does not sign it (docs/wechat-pay-v3.md#the-trade-bill).

use aws_lc_rs::digest::{SHA1_FOR_LEGACY_USE_ONLY, digest};
use reqwest::Method;
use url::Url;

use super::V3Client;
use super::errors::{self, Call};
use super::types::{BillLocation, TradeBillType};
use crate::wxpay::bill::{self, Bill};
use crate::wxpay::error::Error;

impl V3Client {
    /// `GET /v3/bill/tradebill?bill_date=…&bill_type=…` (uncompressed: no `tar_type`).
    pub async fn trade_bill_location(
        &self,
        day: time::Date,
        kind: TradeBillType,
    ) -> Result<BillLocation, Error> {
        let date = format!("{:04}-{:02}-{:02}", day.year(), u8::from(day.month()), day.day());
        let url = self.url("v3/bill/tradebill", &[("bill_date", &date), ("bill_type", kind.as_str())])?;
        let location: BillLocation = self.call_json(Call::Bill, Method::GET, &url, b"").await?;
        if !location.hash_type.eq_ignore_ascii_case("SHA1") {
            return Err(Error::Malformed(format!("bill hash_type {:?}, not SHA1", location.hash_type)));
        }
        Ok(location)
    }

    /// The file at `download_url`, at most `max_bill` bytes, whose SHA-1 is `hash_value`.
    pub async fn download_bill(&self, location: &BillLocation) -> Result<Vec<u8>, Error> {
        let url = self.download_url(&location.download_url)?;
        let answer = self.send(Method::GET, &url, b"", "*/*", self.config().max_bill).await?;
        if !answer.status.is_success() {
            return Err(errors::from_status(Call::Bill, answer.status.as_u16(), &answer.body));
        }
        check_sha1(&answer.body, &location.hash_value)?;
        Ok(answer.body)
    }

    /// A day's bill, downloaded, checked and parsed (the same columns as v2's ALL bill).
    pub async fn trade_bill(&self, day: time::Date, kind: TradeBillType) -> Result<Bill, Error> {
        let location = self.trade_bill_location(day, kind).await?;
        let file = self.download_bill(&location).await?;
        let text =
            std::str::from_utf8(&file).map_err(|_| Error::Malformed("the bill is not UTF-8".into()))?;
        Ok(bill::parse(text)?)
    }

    /// `download_url` if it is on the API's own origin.
    ///
    /// why: the download carries our signed `Authorization`; an answer naming another host
    /// (a proxy's rewrite, a forged answer that slipped by) must not receive it.
    fn download_url(&self, raw: &str) -> Result<Url, Error> {
        let url = Url::parse(raw).map_err(|e| Error::Malformed(format!("download_url {raw:?}: {e}")))?;
        if url.origin() != self.config().api_base.origin() {
            return Err(Error::Malformed(format!(
                "download_url {raw:?} is not on {} (refused: it would receive our signature)",
                self.config().api_base.origin().ascii_serialization()
            )));
        }
        Ok(url)
    }
}

/// Whether `file`'s SHA-1 is `expected` (hex, either case).
pub(super) fn check_sha1(file: &[u8], expected: &str) -> Result<(), Error> {
    let got = hex::encode(digest(&SHA1_FOR_LEGACY_USE_ONLY, file));
    if got.eq_ignore_ascii_case(expected.trim()) {
        Ok(())
    } else {
        Err(Error::Malformed(format!("the bill's SHA-1 is {got}, the answer said {expected}")))
    }
}
