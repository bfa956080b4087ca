//! The shop's `V3Client` from a validated `Config`: the merchant's key and serial, the APIv3
//! key, WeChat's side (a public key, platform certificates, or the in-process sandbox's key)
//! and where the API is. For the checkout's wiring to call beside `settings_and_client`.
//!
//! why the in-process sandbox's key is read from `data_dir` rather than fetched from
//! `/sandbox/v3/public-key`: the client is built before the server listens, so there is nobody
//! to ask yet; the sandbox keeps its signing key in that directory and reads it with
//! `V3Side::load_or_create`, the same function used here, so both sides hold the same key
//! without trusting whatever first answers on the port.

use url::Url;

use crate::clock::Clock;
use crate::config::{Config, WechatPaySide};
use crate::sandbox::v3::V3Side;
use crate::wxpay::v3::certificate::PlatformCertificate;
use crate::wxpay::v3::client::certs::{CertificateCache, WechatPayKeys};
use crate::wxpay::v3::{MerchantSigner, RsaPublicKey, V3Client, V3ClientConfig};

/// Why the v3 client could not be built (the message names the setting or file).
#[derive(Debug, Clone, thiserror::Error)]
#[error("WeChat Pay v3 client: {0}")]
pub struct V3SetupError(pub String);

/// The v3 client when `[wxpay.v3]` is configured (always on v3; on v2 when written, for the
/// attempts placed on v3 before a switch back), else `None`.
pub fn v3_client(config: &Config, clock: Clock) -> Result<Option<V3Client>, V3SetupError> {
    let w = &config.wxpay;
    let Some(v3) = &w.v3 else { return Ok(None) };
    let err = |e: &dyn std::fmt::Display| V3SetupError(e.to_string());
    let signer = MerchantSigner::from_pem(w.mch_id.clone(), &v3.cert_serial, v3.private_key_pem.expose())
        .map_err(|e| err(&format!("wxpay.v3.private_key_file: {e}")))?;
    let wechatpay = match &v3.wechatpay {
        WechatPaySide::PublicKey { id, pem, .. } => WechatPayKeys::PublicKey {
            id: id.clone(),
            key: RsaPublicKey::from_pem(pem)
                .map_err(|e| err(&format!("wxpay.v3.wechatpay_public_key_file: {e}")))?,
        },
        WechatPaySide::PlatformCertificates => WechatPayKeys::Certificates(CertificateCache::new()),
        WechatPaySide::InProcessSandbox => {
            let side = V3Side::load_or_create(&config.data_dir).map_err(|e| err(&e))?;
            let key = RsaPublicKey::from_pem(&side.public_key_pem).map_err(|e| err(&e))?;
            WechatPayKeys::PublicKey { id: side.public_key_id().to_owned(), key }
        }
    };
    let api_base = match &w.api_base {
        Some(base) => base.clone(),
        None => in_process_sandbox(config)?,
    };
    let cfg = V3ClientConfig::new(w.appid.clone(), signer, v3.api_v3_key.clone(), wechatpay, api_base);
    V3Client::with_clock(cfg, clock).map(Some).map_err(|e| err(&e))
}

/// `http://<this server>/sandbox/`, as `checkout::settings_and_client` reaches it for v2.
fn in_process_sandbox(config: &Config) -> Result<Url, V3SetupError> {
    let ip = match config.address {
        a if a.is_unspecified() && a.is_ipv4() => "127.0.0.1".to_owned(),
        a if a.is_unspecified() => "[::1]".to_owned(),
        a if a.is_ipv6() => format!("[{a}]"),
        a => a.to_string(),
    };
    Url::parse(&format!("http://{ip}:{}/sandbox/", config.port)).map_err(|e| V3SetupError(e.to_string()))
}

/// `client`, starting from the platform certificates the store kept (certificate mode) and
/// keeping every new download there, so a restart verifies WeChat's answers and notifications
/// before it can download again (a public-key client is unchanged: it has nothing to keep).
pub fn keep_certificates_in(client: V3Client, store: &crate::store::Store) -> V3Client {
    if !matches!(client.wechatpay_keys(), WechatPayKeys::Certificates(_)) {
        return client;
    }
    match store.wechatpay_certificates() {
        Ok(Some((fetched_at, der))) => {
            // why skip what does not parse: a certificate missing here is downloaded again.
            let certs = der.iter().filter_map(|d| PlatformCertificate::from_der(d).ok()).collect();
            client.preload_certificates(certs, fetched_at);
        }
        Ok(None) => {}
        Err(e) => KEEP_FAILED.note("read", || e.to_string()),
    }
    let store = store.clone();
    client.with_certificate_sink(std::sync::Arc::new(move |certs, fetched_at| {
        let der: Vec<&[u8]> = certs.iter().map(PlatformCertificate::der).collect();
        if let Err(e) = store.put_wechatpay_certificates(fetched_at, &der) {
            KEEP_FAILED.note("write", || e.to_string());
        }
    }))
}

/// A store that could not keep the certificates: they are downloaded again when needed.
static KEEP_FAILED: crate::log_summary::Summary = crate::log_summary::Summary::warn(
    "WeChat Pay platform certificates not kept in the store",
    "platform certificates not kept",
);

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sandbox::v3::{MERCHANT_PRIVATE_KEY, MERCHANT_SERIAL, SANDBOX_APIV3_KEY};
    use crate::store::test_dir::TempDir;
    use crate::wxpay::v3::ApiV3Key;
    use crate::wxpay::v3::client::certs::CertificateCache;

    fn certificate_client(clock: Clock) -> V3Client {
        let signer =
            MerchantSigner::from_pem("1900000109", MERCHANT_SERIAL, MERCHANT_PRIVATE_KEY).expect("key");
        let keys = WechatPayKeys::Certificates(CertificateCache::new());
        let apiv3 = ApiV3Key::new(SANDBOX_APIV3_KEY).expect("APIv3 key");
        let base = Url::parse("http://127.0.0.1:9/").expect("url");
        V3Client::with_clock(V3ClientConfig::new("wx0", signer, apiv3, keys, base), clock).expect("client")
    }

    #[test]
    fn a_certificate_mode_client_starts_from_the_certificates_the_store_kept() {
        let dir = TempDir::new("kept-certificates");
        let store = crate::store::Store::open(dir.path()).expect("store");
        let side = V3Side::load_or_create(dir.path()).expect("the sandbox's keys");
        let clock = Clock::system();
        store.put_wechatpay_certificates(clock.unix(), &[side.certificate.der()]).expect("kept");

        let client = keep_certificates_in(certificate_client(clock.clone()), &store);
        let WechatPayKeys::Certificates(cache) = client.wechatpay_keys() else { panic!("certificate mode") };
        assert_eq!(cache.certificates(), std::slice::from_ref(&side.certificate));
        assert!(!cache.needs_refresh(clock.unix()), "no download is due before the usual refresh");
    }
}
