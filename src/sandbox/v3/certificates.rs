//! `GET /v3/certificates`: the platform certificate list of certificate mode, each entry's PEM
//! sealed under the APIv3 key (docs/wechat-pay-v3.md#certificate-mode).
//!
//! Owns that answer only; the certificate is made and kept by `cert`.

use std::sync::Arc;

use rocket::{State as Managed, get};
use serde_json::json;

use super::KeyMode;
use super::order::{answer, beijing_rfc3339};
use super::wire::{self, V3Error, V3Head, V3Reply};
use crate::sandbox::state::Sandbox;
use crate::wxpay::v3::EncryptedResource;

pub fn routes() -> Vec<rocket::Route> {
    rocket::routes![certificates]
}

#[get("/v3/certificates")]
async fn certificates(sb: &Managed<Arc<Sandbox>>, head: V3Head) -> V3Reply {
    answer(sb, |v3, now| {
        wire::authenticate(sb, v3, &head, b"", now)?;
        wire::system_fault(sb)?;
        let cert = &v3.certificate;
        let sealed = EncryptedResource::seal(
            &v3.apiv3_key,
            v3.certificate_pem.as_bytes(),
            "certificate",
            &crate::wxpay::v3::resource_nonce(),
            None,
        )
        .map_err(|_| V3Error::system())?;
        let time = |unix: i64| {
            time::OffsetDateTime::from_unix_timestamp(unix).map(beijing_rfc3339).unwrap_or_default()
        };
        let body = json!({"data": [{
            "serial_no": cert.serial_no(),
            "effective_time": time(cert.not_before()),
            "expire_time": time(cert.not_after()),
            "encrypt_certificate": sealed,
        }]});
        // why always under the certificate: this answer is signed by a certificate it carries
        // (a client opens the entries first, then verifies with them), whatever mode is asked.
        Ok(V3Reply::json_in(v3, now, &body, KeyMode::Certificate))
    })
}
