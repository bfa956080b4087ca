//! `wxcheckout check-config`: the configuration as `serve` reads it — the settings in effect
//! with secrets masked, or every problem naming its key — and an exit code to act on.
#![allow(clippy::unwrap_used)] // why: a test fails loudly on purpose

use std::process::{Command, Output};

use crate::helpers::tempdir::TempDir;

/// Runs `wxcheckout <args>` with only these `WXCHECKOUT_*` variables, in an empty directory.
fn run(args: &[&str], env: &[(&str, &str)]) -> Output {
    let dir = TempDir::new();
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_wxcheckout"));
    cmd.args(args).current_dir(dir.path()).env("WXCHECKOUT_DATA_DIR", dir.path().join("data"));
    for (k, _) in std::env::vars().filter(|(k, _)| k.starts_with("WXCHECKOUT_")) {
        cmd.env_remove(k);
    }
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd.output().unwrap()
}

fn text(o: &Output) -> String {
    format!("{}{}", String::from_utf8_lossy(&o.stdout), String::from_utf8_lossy(&o.stderr))
}

#[test]
fn check_config_prints_the_settings_in_effect_with_secrets_masked_and_exits_0() {
    let secret = "0123456789abcdefABCDEF0123456789";
    let out = run(&["check-config"], &[("WXCHECKOUT_WXPAY__API_KEY", secret), ("WXCHECKOUT_PORT", "8123")]);
    let said = text(&out);
    assert!(out.status.success(), "{said}");
    assert!(said.contains("port = 8123") && said.contains("wxpay.mode = sandbox"), "{said}");
    assert!(said.contains("wxpay.api_key = 0123…89"), "masked: {said}");
    assert!(!said.contains(secret), "never the whole key: {said}");
}

#[test]
fn each_key_serve_refuses_is_named_by_check_config_and_all_of_them_at_once() {
    let bad = [
        ("WXCHECKOUT_ORDER_TTL_MINUTES", "2", "order_ttl_minutes"),
        ("WXCHECKOUT_BACKUPS_KEPT", "1000", "backups_kept"),
        ("WXCHECKOUT_PUBLIC_URL", "not a url", "public_url"),
        ("WXCHECKOUT_RECONCILE_SCALE", "5", "reconcile_scale"),
        ("WXCHECKOUT_SECRET_KEY", "short", "secret_key"),
        ("WXCHECKOUT_CONNECTIONS__HEADER_TIMEOUT_SECS", "0", "connections.header_timeout_secs"),
        ("WXCHECKOUT_ADDRESS", "0.0.0.0", "address"),
        ("WXCHECKOUT_WXPAY__API_KEY_FILE", "/nonexistent/api_key", "wxpay.api_key_file"),
        ("WXCHECKOUT_WXPAY__MODE", "live", "wxpay.appid"),
    ];
    for (var, value, key) in bad {
        let serve = run(&["serve"], &[(var, value)]);
        assert!(!serve.status.success(), "serve refuses {var}={value}");
        assert!(text(&serve).contains(key), "serve names {key}: {}", text(&serve));
        let check = run(&["check-config"], &[(var, value)]);
        assert_eq!(check.status.code(), Some(1), "{var}={value}: {}", text(&check));
        assert!(text(&check).contains(key), "check-config names {key}: {}", text(&check));
    }
    let all: Vec<(&str, &str)> = bad[..6].iter().map(|(v, x, _)| (*v, *x)).collect();
    let check = run(&["check-config"], &all);
    let said = text(&check);
    assert!(said.contains("6 problem(s)"), "every problem at once: {said}");
}

/// A fixture of the v3 unit tests, by absolute path (the commands run in an empty directory).
fn fixture(name: &str) -> String {
    format!("{}/tests/fixtures/wxpay_v3/{name}", env!("CARGO_MANIFEST_DIR"))
}

/// A live v3 merchant in public-key mode, every key valid; each case changes one.
fn live_v3() -> Env {
    vec![
        ("WXCHECKOUT_WXPAY__MODE", "live".into()),
        ("WXCHECKOUT_WXPAY__API_VERSION", "v3".into()),
        ("WXCHECKOUT_WXPAY__APPID", "wxd930ea5d5a258f4f".into()),
        ("WXCHECKOUT_WXPAY__MCH_ID", "1900007291".into()),
        ("WXCHECKOUT_WXPAY__API_KEY", "0123456789abcdefABCDEF0123456789".into()),
        ("WXCHECKOUT_WXPAY__APP_SECRET", "5a4d1f0c3b2e9a8d7c6b5a4f3e2d1c0b".into()),
        ("WXCHECKOUT_PUBLIC_URL", "https://shop.example".into()),
        ("WXCHECKOUT_WXPAY__V3__PRIVATE_KEY_FILE", fixture("merchant_key.pem")),
        ("WXCHECKOUT_WXPAY__V3__CERT_SERIAL", "408B07E79B8269FEC3D5D3E6AB8ED163A6A380DB".into()),
        ("WXCHECKOUT_WXPAY__V3__API_V3_KEY", "a7cde1ZJB1kG2e7VfTs3jQzaWizur8Gb".into()),
        ("WXCHECKOUT_WXPAY__V3__WECHATPAY_PUBLIC_KEY_FILE", fixture("official_pub_key.pem")),
        (
            "WXCHECKOUT_WXPAY__V3__WECHATPAY_PUBLIC_KEY_ID",
            "PUB_KEY_ID_0000000000000024101100397200000006".into(),
        ),
    ]
}

/// `WXCHECKOUT_*` variables and their values.
type Env = Vec<(&'static str, String)>;

/// `live_v3` with `changes` applied (an empty value removes the variable).
fn with(changes: &[(&'static str, &str)]) -> Env {
    let mut env = live_v3();
    for (k, v) in changes {
        env.retain(|(name, _)| name != k);
        if !v.is_empty() {
            env.push((k, (*v).to_owned()));
        }
    }
    env
}

fn check(env: &[(&'static str, String)]) -> Output {
    let pairs: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    run(&["check-config"], &pairs)
}

#[test]
fn api_version_v3_in_sandbox_mode_needs_no_other_setting_and_masks_the_apiv3_key() {
    let out = run(&["check-config"], &[("WXCHECKOUT_WXPAY__API_VERSION", "v3")]);
    let said = text(&out);
    assert!(out.status.success(), "{said}");
    assert!(said.contains("wxpay.api_version = v3"), "{said}");
    assert!(said.contains("wxpay.v3.cert_serial = 408B07E79B8269FEC3D5D3E6AB8ED163A6A380DB"), "{said}");
    assert!(said.contains("wxpay.v3.api_v3_key = wxch…01"), "masked: {said}");
    assert!(!said.contains("wxcheckoutSandboxApiV3Key0000001"), "never the whole key: {said}");
    assert!(said.contains("in-process sandbox"), "{said}");
}

#[test]
fn a_live_v3_merchant_with_every_key_valid_passes_and_no_secret_is_printed() {
    let out = check(&live_v3());
    let said = text(&out);
    assert!(out.status.success(), "{said}");
    assert!(said.contains("public key PUB_KEY_ID_0000000000000024101100397200000006"), "{said}");
    assert!(!said.contains("a7cde1ZJB1kG2e7VfTs3jQzaWizur8Gb") && !said.contains("PRIVATE KEY"), "{said}");
}

#[test]
fn a_live_v3_merchant_needs_no_apiv2_key_but_one_that_is_given_must_be_valid_and_v2_still_needs_it() {
    let out = check(&with(&[("WXCHECKOUT_WXPAY__API_KEY", "")]));
    let said = text(&out);
    assert!(out.status.success(), "{said}");
    assert!(said.contains("wxpay.api_key = (not set: v3 only)"), "{said}");

    let out = check(&with(&[("WXCHECKOUT_WXPAY__API_KEY", "short")]));
    assert!(!out.status.success());
    assert!(text(&out).contains("wxpay.api_key"), "{}", text(&out));

    let out = check(&with(&[("WXCHECKOUT_WXPAY__API_KEY", ""), ("WXCHECKOUT_WXPAY__API_VERSION", "v2")]));
    assert!(!out.status.success());
    assert!(text(&out).contains("`wxpay.api_key` is required in live mode"), "{}", text(&out));
}

#[test]
fn a_merchant_certificate_gives_the_serial_and_proves_the_key_is_its_own() {
    let out = check(&with(&[
        ("WXCHECKOUT_WXPAY__V3__CERT_SERIAL", ""),
        ("WXCHECKOUT_WXPAY__V3__MERCHANT_CERT_FILE", &fixture("merchant_cert.pem")),
    ]));
    let said = text(&out);
    assert!(out.status.success(), "{said}");
    assert!(said.contains("wxpay.v3.cert_serial = 408B07E79B8269FEC3D5D3E6AB8ED163A6A380DB"), "{said}");
}

#[test]
fn each_bad_v3_key_is_refused_by_check_config_with_a_message_naming_it() {
    let ec_key = fixture("ec_key.pem");
    let other_cert = fixture("wechatpay_platform_cert.pem");
    let private_as_public = fixture("merchant_key.pem");
    let cases: Vec<(Env, &str, &str)> = vec![
        (
            with(&[("WXCHECKOUT_WXPAY__V3__PRIVATE_KEY_FILE", "/nonexistent/apiclient_key.pem")]),
            "wxpay.v3.private_key_file",
            "cannot be read",
        ),
        (
            with(&[("WXCHECKOUT_WXPAY__V3__PRIVATE_KEY_FILE", &ec_key)]),
            "wxpay.v3.private_key_file",
            "not an RSA private key",
        ),
        (with(&[("WXCHECKOUT_WXPAY__V3__PRIVATE_KEY_FILE", "")]), "wxpay.v3.private_key_file", "is required"),
        (
            with(&[("WXCHECKOUT_WXPAY__V3__CERT_SERIAL", "408B07E79B8269FE")]),
            "wxpay.v3.cert_serial",
            "40 hex characters",
        ),
        (with(&[("WXCHECKOUT_WXPAY__V3__API_V3_KEY", "short")]), "wxpay.v3.api_v3_key", "exactly 32"),
        (with(&[("WXCHECKOUT_WXPAY__V3__API_V3_KEY", "")]), "wxpay.v3.api_v3_key", "is required"),
        (
            with(&[("WXCHECKOUT_WXPAY__V3__WECHATPAY_PUBLIC_KEY_ID", "0000000000000024101100397200000006")]),
            "wxpay.v3.wechatpay_public_key_id",
            "PUB_KEY_ID_",
        ),
        (
            with(&[("WXCHECKOUT_WXPAY__V3__WECHATPAY_PUBLIC_KEY_FILE", &private_as_public)]),
            "wxpay.v3.wechatpay_public_key_file",
            "not an RSA public key",
        ),
        (
            with(&[
                ("WXCHECKOUT_WXPAY__V3__WECHATPAY_PUBLIC_KEY_FILE", ""),
                ("WXCHECKOUT_WXPAY__V3__WECHATPAY_PUBLIC_KEY_ID", ""),
            ]),
            "wxpay.v3.wechatpay_public_key_file",
            "platform_certificates = true",
        ),
        (
            with(&[
                ("WXCHECKOUT_WXPAY__V3__MERCHANT_CERT_FILE", &other_cert),
                ("WXCHECKOUT_WXPAY__V3__CERT_SERIAL", ""),
            ]),
            "wxpay.v3.private_key_file",
            "is not the private key of the certificate",
        ),
    ];
    for (env, key, why) in cases {
        let out = check(&env);
        let said = text(&out);
        assert_eq!(out.status.code(), Some(1), "{key}: {said}");
        assert!(said.contains(key) && said.contains(why), "names {key} ({why}): {said}");
    }
}

#[test]
fn a_merchant_on_platform_certificates_says_so_and_passes_without_a_public_key() {
    let out = check(&with(&[
        ("WXCHECKOUT_WXPAY__V3__WECHATPAY_PUBLIC_KEY_FILE", ""),
        ("WXCHECKOUT_WXPAY__V3__WECHATPAY_PUBLIC_KEY_ID", ""),
        ("WXCHECKOUT_WXPAY__V3__PLATFORM_CERTIFICATES", "true"),
    ]));
    let said = text(&out);
    assert!(out.status.success(), "{said}");
    assert!(said.contains("platform certificates from /v3/certificates"), "{said}");
}

#[test]
fn in_sandbox_mode_a_merchant_key_the_in_process_sandbox_does_not_know_is_refused() {
    let other = fixture("wechatpay_key.pem");
    let out = run(
        &["check-config"],
        &[("WXCHECKOUT_WXPAY__API_VERSION", "v3"), ("WXCHECKOUT_WXPAY__V3__PRIVATE_KEY_FILE", &other)],
    );
    let said = text(&out);
    assert_eq!(out.status.code(), Some(1), "{said}");
    assert!(said.contains("wxpay.v3.private_key_file") && said.contains("published merchant key"), "{said}");
    let same = fixture("merchant_key.pem");
    let out = run(
        &["check-config"],
        &[("WXCHECKOUT_WXPAY__API_VERSION", "v3"), ("WXCHECKOUT_WXPAY__V3__PRIVATE_KEY_FILE", &same)],
    );
    assert!(out.status.success(), "the published key itself is accepted: {}", text(&out));
}
