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
