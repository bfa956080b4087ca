//! Configuration: `wxcheckout.toml` (or `--config FILE`) overridden by `WXCHECKOUT_*`
//! environment variables, nested keys joined by `__` (`WXCHECKOUT_WXPAY__MCH_ID`).
//!
//! Owns the raw settings and their validation into a `Config` the rest of the program
//! trusts. A bad setting stops the start with one message naming the key. It must not
//! start anything or touch the disk beyond reading the file.

use std::fmt;
use std::net::IpAddr;
use std::path::{Path, PathBuf};

use figment::Figment;
use figment::providers::{Env, Format, Serialized, Toml};
use serde::{Deserialize, Deserializer, Serialize};
use url::Url;

mod v3;

use self::v3::RawV3;
pub use self::v3::{ApiVersion, V3Config, WechatPaySide};
use crate::wxpay::registration::{MAX_JSAPI_DIRS, Registration, is_domain};
use crate::wxpay::{ApiKey, SignType};

/// The credentials of WeChat's own signing documentation; the sandbox's merchant.
pub const SANDBOX_APPID: &str = "wxd930ea5d5a258f4f";
pub const SANDBOX_MCH_ID: &str = "10000100";
pub const SANDBOX_API_KEY: &str = "192006250b4c09247ec02edce69f6a2d";
/// The sandbox's official-account secret (WeChat's are 32 hex characters too).
pub const SANDBOX_APP_SECRET: &str = "5a4d1f0c3b2e9a8d7c6b5a4f3e2d1c0b";

const LIVE_API_BASE: &str = "https://api.mch.weixin.qq.com/";
const LIVE_OPEN_BASE: &str = "https://open.weixin.qq.com/";
const LIVE_SNS_BASE: &str = "https://api.weixin.qq.com/";

#[derive(Debug, Clone, thiserror::Error)]
#[error("configuration: {0}")]
pub struct ConfigError(pub String);

fn bad(key: &str, why: impl fmt::Display) -> ConfigError {
    ConfigError(format!("`{key}` {why}"))
}

/// `1920…2d`: the first 4 and last 2 characters, enough to tell two keys apart, never to
/// use one. Short values show nothing of themselves.
pub fn mask(secret: &str) -> String {
    let chars: Vec<char> = secret.chars().collect();
    if chars.len() < 10 {
        return "••••".to_owned();
    }
    let head: String = chars[..4].iter().collect();
    let tail: String = chars[chars.len() - 2..].iter().collect();
    format!("{head}…{tail}")
}

/// A secret setting (app secret, admin password, cookie key): `Debug` never shows it.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    pub fn new(s: impl Into<String>) -> Secret {
        Secret(s.into())
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("***")
    }
}

/// Sandbox (the built-in simulation of WeChat) or live (WeChat's real hosts).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Mode {
    Sandbox,
    Live,
}

/// Strings that may arrive as numbers (`WXCHECKOUT_WXPAY__MCH_ID=10000100` parses as one).
fn de_opt_string<'de, D: Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Loose {
        S(String),
        U(u64),
        I(i64),
        F(f64),
    }
    Ok(Option::<Loose>::deserialize(d)?.map(|l| match l {
        Loose::S(s) => s,
        Loose::U(u) => u.to_string(),
        Loose::I(i) => i.to_string(),
        Loose::F(f) => f.to_string(),
    }))
}

#[derive(Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
struct RawConfig {
    port: u16,
    address: IpAddr,
    data_dir: PathBuf,
    #[serde(default, deserialize_with = "de_opt_string")]
    public_url: Option<String>,
    #[serde(default)]
    trusted_proxies: Vec<String>,
    order_ttl_minutes: u32,
    #[serde(default = "seven")]
    backups_kept: u32,
    #[serde(default = "one")]
    reconcile_scale: f64,
    #[serde(default, deserialize_with = "de_opt_string")]
    secret_key: Option<String>,
    #[serde(default)]
    secret_key_file: Option<PathBuf>,
    #[serde(default, deserialize_with = "de_opt_string")]
    metrics_token: Option<String>,
    #[serde(default)]
    metrics_token_file: Option<PathBuf>,
    #[serde(default)]
    wxpay: RawWxpay,
    #[serde(default)]
    sandbox: SandboxConfig,
    #[serde(default)]
    admin: RawAdmin,
    #[serde(default)]
    connections: ConnectionsConfig,
    #[serde(default)]
    allow_sandbox_on_network: bool,
    #[serde(default)]
    smtp: Option<RawSmtp>,
    #[serde(default)]
    log_format: LogFormat,
}

/// How log lines are written: for a person (the default) or one JSON object per line (for a
/// log collector). `--log-format` on the command line wins.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, Serialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    #[default]
    Text,
    Json,
}

/// `[smtp]`: the server e-mail alerts go through. Its credentials stay in the configuration;
/// the recipients are chosen in the admin (Alerts).
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
struct RawSmtp {
    host: String,
    #[serde(default)]
    port: Option<u16>,
    /// `tls` (port 465, the default), `starttls` (587), or `none` (only to this machine).
    #[serde(default)]
    security: Option<String>,
    #[serde(default, deserialize_with = "de_opt_string")]
    username: Option<String>,
    #[serde(default, deserialize_with = "de_opt_string")]
    password: Option<String>,
    #[serde(default)]
    password_file: Option<PathBuf>,
    from: String,
}

/// How the connection to the SMTP server is protected.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SmtpSecurity {
    Tls,
    StartTls,
    /// Plain text, allowed only to a server on this machine (a local relay, tests).
    None,
}

/// The validated `[smtp]`.
#[derive(Debug, Clone)]
pub struct SmtpConfig {
    pub host: String,
    pub port: u16,
    pub security: SmtpSecurity,
    pub credentials: Option<(String, Secret)>,
    pub from: String,
}

impl RawSmtp {
    fn validate(mut self) -> Result<SmtpConfig, ConfigError> {
        self.password = from_file("smtp.password", self.password, self.password_file.take())?;
        let host = self.host.trim().to_owned();
        if host.is_empty() || host.contains(['/', ' ', '@']) {
            return Err(bad("smtp.host", "must be a host name or address"));
        }
        let security = match self.security.as_deref().unwrap_or("tls") {
            "tls" => SmtpSecurity::Tls,
            "starttls" => SmtpSecurity::StartTls,
            "none" => SmtpSecurity::None,
            other => return Err(bad("smtp.security", format!("is {other:?}; use tls, starttls or none"))),
        };
        let local = host == "localhost" || host.parse::<IpAddr>().is_ok_and(|ip| ip.is_loopback());
        if security == SmtpSecurity::None && !local {
            return Err(bad(
                "smtp.security",
                "none sends the password and the buyers' details in clear text: only to a server on this machine",
            ));
        }
        let port = self.port.unwrap_or(match security {
            SmtpSecurity::Tls => 465,
            SmtpSecurity::StartTls => 587,
            SmtpSecurity::None => 25,
        });
        let credentials = match (self.username, self.password) {
            (Some(u), Some(p)) if !u.is_empty() => Some((u, Secret(p))),
            (None, None) => None,
            _ => return Err(bad("smtp.username", "and smtp.password go together")),
        };
        if crate::domain::shop::emails(&self.from).map_or(true, |list| list.len() != 1) {
            return Err(bad("smtp.from", "must be one e-mail address"));
        }
        Ok(SmtpConfig { host, port, security, credentials, from: self.from.trim().to_owned() })
    }
}

impl Default for RawConfig {
    fn default() -> Self {
        RawConfig {
            port: 8000,
            address: IpAddr::from([127, 0, 0, 1]),
            data_dir: PathBuf::from("./data"),
            public_url: None,
            trusted_proxies: Vec::new(),
            order_ttl_minutes: 30,
            backups_kept: 7,
            reconcile_scale: 1.0,
            secret_key: None,
            secret_key_file: None,
            metrics_token: None,
            metrics_token_file: None,
            wxpay: RawWxpay::default(),
            sandbox: SandboxConfig::default(),
            admin: RawAdmin::default(),
            connections: ConnectionsConfig::default(),
            allow_sandbox_on_network: false,
            smtp: None,
            log_format: LogFormat::Text,
        }
    }
}

/// `[connections]`: how the gate in front of the server bounds connections (`http::gate`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct ConnectionsConfig {
    /// A client must send its first request's headers within this many seconds.
    pub header_timeout_secs: u64,
    /// A connection with nothing moving either way for this many seconds is closed.
    pub idle_timeout_secs: u64,
    /// Connections one client address may hold at once (buyers behind one carrier NAT share
    /// an address, so this is generous).
    pub per_address: u32,
    /// Connections at once in all; 0: what the open-file limit leaves room for.
    pub max: u32,
}

impl Default for ConnectionsConfig {
    fn default() -> Self {
        ConnectionsConfig { header_timeout_secs: 10, idle_timeout_secs: 60, per_address: 64, max: 0 }
    }
}

impl ConnectionsConfig {
    fn validate(&self) -> Result<(), ConfigError> {
        if !(1..=300).contains(&self.header_timeout_secs) {
            return Err(bad("connections.header_timeout_secs", "must be from 1 to 300"));
        }
        if !(1..=3600).contains(&self.idle_timeout_secs) {
            return Err(bad("connections.idle_timeout_secs", "must be from 1 to 3600"));
        }
        if self.per_address == 0 {
            return Err(bad("connections.per_address", "must be at least 1"));
        }
        Ok(())
    }
}

#[derive(Debug, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
struct RawWxpay {
    #[serde(default)]
    mode: Option<Mode>,
    #[serde(default, deserialize_with = "de_opt_string")]
    appid: Option<String>,
    #[serde(default, deserialize_with = "de_opt_string")]
    mch_id: Option<String>,
    #[serde(default, deserialize_with = "de_opt_string")]
    api_key: Option<String>,
    /// A file holding `api_key` (a systemd credential, a secret mounted by a container).
    #[serde(default)]
    api_key_file: Option<PathBuf>,
    #[serde(default, deserialize_with = "de_opt_string")]
    app_secret: Option<String>,
    #[serde(default)]
    app_secret_file: Option<PathBuf>,
    #[serde(default)]
    sign_type: Option<SignType>,
    #[serde(default, deserialize_with = "de_opt_string")]
    api_base: Option<String>,
    #[serde(default, deserialize_with = "de_opt_string")]
    open_base: Option<String>,
    #[serde(default, deserialize_with = "de_opt_string")]
    sns_base: Option<String>,
    #[serde(default)]
    cert_pem: Option<PathBuf>,
    #[serde(default)]
    key_pem: Option<PathBuf>,
    /// `v2` (the default) or `v3`.
    #[serde(default)]
    api_version: Option<ApiVersion>,
    /// `[wxpay.v3]`: required with `api_version = "v3"`, read on v2 when written.
    #[serde(default)]
    v3: RawV3,
}

#[derive(Debug, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
struct RawAdmin {
    #[serde(default, deserialize_with = "de_opt_string")]
    password: Option<String>,
    #[serde(default)]
    password_file: Option<PathBuf>,
}

/// The sandbox's clock and faults (also changeable at run time on its control page).
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct SandboxConfig {
    /// Multiplies every sandbox duration: retry schedule, 5-minute rules, link lifetimes.
    pub time_scale: f64,
    /// Deliver each notification this many times, concurrently.
    pub notify_copies: u32,
    /// Drop the first K deliveries of each notification.
    pub notify_drop_first: u32,
    /// Wait this long before each delivery.
    pub notify_delay_ms: u64,
    /// Share of API calls answered `SYSTEMERROR` (0.0–1.0).
    pub system_error_rate: f64,
    /// Add fields WeChat may add one day to every notification.
    pub notify_extra_fields: bool,
    /// Sign notifications with a wrong key.
    pub notify_bad_sign: bool,
    /// The payer's network changed since the shop called unifiedorder: the H5 cashier sees
    /// another address than `spbill_create_ip` (WeChat's "网络环境未能通过安全验证").
    pub payer_network_changed: bool,
    /// `wxcheckout sandbox` only: the merchant's JSAPI payment directories (at most 5,
    /// `http(s)://domain/dir/`); default: `/pay/` on loopback, any port.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub jsapi_dirs: Option<Vec<String>>,
    /// `wxcheckout sandbox` only: H5 authorized domains (`host` or `host:port`); default loopback.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub h5_domains: Option<Vec<String>>,
    /// `wxcheckout sandbox` only: OAuth web-authorization domains; default loopback.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub oauth_domains: Option<Vec<String>>,
}

impl Default for SandboxConfig {
    fn default() -> Self {
        SandboxConfig {
            time_scale: 1.0,
            notify_copies: 1,
            notify_drop_first: 0,
            notify_delay_ms: 0,
            system_error_rate: 0.0,
            notify_extra_fields: false,
            notify_bad_sign: false,
            payer_network_changed: false,
            jsapi_dirs: None,
            h5_domains: None,
            oauth_domains: None,
        }
    }
}

impl SandboxConfig {
    pub fn validate(&self) -> Result<(), ConfigError> {
        // why at most 1: a sandbox is for speeding time up, never slowing it; a scale of 1000
        // kept each notification's retry task alive for ~1000 days.
        if !(self.time_scale > 0.0 && self.time_scale <= 1.0) {
            return Err(bad("sandbox.time_scale", "must be a number above 0 and at most 1 (1 = real time)"));
        }
        if !(1..=50).contains(&self.notify_copies) {
            return Err(bad("sandbox.notify_copies", "must be from 1 to 50"));
        }
        if self.notify_drop_first > 16 {
            return Err(bad("sandbox.notify_drop_first", "must be from 0 to 16 (WeChat tries 16 times)"));
        }
        if self.notify_delay_ms > 60_000 {
            return Err(bad("sandbox.notify_delay_ms", "must be at most 60000"));
        }
        if !(0.0..=1.0).contains(&self.system_error_rate) {
            return Err(bad("sandbox.system_error_rate", "must be between 0.0 and 1.0"));
        }
        self.registration()?;
        Ok(())
    }

    /// The merchant registration `wxcheckout sandbox` enforces: the configured keys, else
    /// the shop's `/pay/` directory and domain on loopback at any port.
    pub fn registration(&self) -> Result<Registration, ConfigError> {
        const LOOPBACK: [&str; 3] = ["127.0.0.1", "localhost", "[::1]"];
        let default_domains = || LOOPBACK.iter().map(|h| (*h).to_owned()).collect::<Vec<_>>();
        let dirs = match &self.jsapi_dirs {
            Some(list) => list.clone(),
            None => LOOPBACK.iter().map(|h| format!("http://{h}/pay/")).collect(),
        };
        if dirs.len() > MAX_JSAPI_DIRS {
            return Err(bad(
                "sandbox.jsapi_dirs",
                format!("WeChat takes at most {MAX_JSAPI_DIRS} directories"),
            ));
        }
        let jsapi_dirs = dirs
            .iter()
            .map(|d| {
                Url::parse(d)
                    .ok()
                    .filter(|u| {
                        matches!(u.scheme(), "http" | "https")
                            && u.host().is_some()
                            && u.path().ends_with('/')
                            && u.query().is_none()
                            && u.fragment().is_none()
                    })
                    .ok_or_else(|| {
                        bad("sandbox.jsapi_dirs", format!("{d:?} is not an http(s) directory ending in /"))
                    })
            })
            .collect::<Result<Vec<_>, _>>()?;
        let domains = |key: &str, list: &Option<Vec<String>>| -> Result<Vec<String>, ConfigError> {
            let list = list.clone().unwrap_or_else(default_domains);
            match list.iter().find(|d| !is_domain(d)) {
                Some(d) => {
                    Err(bad(key, format!("{d:?} is not a domain (host or host:port, no scheme or path)")))
                }
                None => Ok(list.iter().map(|d| d.to_ascii_lowercase()).collect()),
            }
        };
        Ok(Registration {
            jsapi_dirs,
            h5_domains: domains("sandbox.h5_domains", &self.h5_domains)?,
            oauth_domains: domains("sandbox.oauth_domains", &self.oauth_domains)?,
        })
    }
}

/// A trusted proxy: one address or a CIDR block.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ProxyNet {
    addr: IpAddr,
    prefix: u8,
}

impl ProxyNet {
    pub fn parse(s: &str) -> Option<ProxyNet> {
        let (addr, prefix) = match s.split_once('/') {
            Some((a, p)) => (a.trim().parse::<IpAddr>().ok()?, Some(p.trim().parse::<u8>().ok()?)),
            None => (s.trim().parse::<IpAddr>().ok()?, None),
        };
        let max = if addr.is_ipv4() { 32 } else { 128 };
        let prefix = prefix.unwrap_or(max);
        if prefix > max {
            return None;
        }
        // why: `::ffff:127.0.0.1` (how a dual-stack socket names the local proxy) is the IPv4
        // address; kept as IPv6 with prefix 128, `contains` would compare it as a /32 with
        // a shift past 32 bits, and trust every IPv4 client.
        match addr {
            IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
                Some(v4) => Some(ProxyNet { addr: IpAddr::V4(v4), prefix: prefix.checked_sub(96)? }),
                None => Some(ProxyNet { addr, prefix }),
            },
            IpAddr::V4(_) => Some(ProxyNet { addr, prefix }),
        }
    }

    pub fn contains(&self, ip: IpAddr) -> bool {
        let ip = crate::wxpay::canonical_ip(ip);
        let host_bits = |max: u32| max.checked_sub(u32::from(self.prefix));
        match (self.addr, ip) {
            (IpAddr::V4(net), IpAddr::V4(ip)) => {
                let Some(bits) = host_bits(32) else { return false };
                let mask = u32::MAX.checked_shl(bits).unwrap_or(0);
                u32::from(net) & mask == u32::from(ip) & mask
            }
            (IpAddr::V6(net), IpAddr::V6(ip)) => {
                let Some(bits) = host_bits(128) else { return false };
                let mask = u128::MAX.checked_shl(bits).unwrap_or(0);
                u128::from(net) & mask == u128::from(ip) & mask
            }
            _ => false,
        }
    }
}

/// WeChat credentials and where WeChat is.
#[derive(Debug, Clone)]
pub struct WxpayConfig {
    pub mode: Mode,
    pub appid: String,
    pub mch_id: String,
    /// The APIv2 key; `None` only for a live shop on v3 that was given none.
    pub api_key: Option<ApiKey>,
    pub app_secret: Secret,
    pub sign_type: SignType,
    /// `None` in sandbox mode with no override: the sandbox mounted in this process.
    pub api_base: Option<Url>,
    pub open_base: Option<Url>,
    pub sns_base: Option<Url>,
    pub cert_pem: Option<PathBuf>,
    pub key_pem: Option<PathBuf>,
    pub api_version: ApiVersion,
    /// The v3 credentials: always with `api_version` v3, on v2 when `[wxpay.v3]` is written.
    pub v3: Option<V3Config>,
}

/// The validated configuration.
#[derive(Debug, Clone)]
pub struct Config {
    pub port: u16,
    pub address: IpAddr,
    pub data_dir: PathBuf,
    pub public_url: Option<Url>,
    pub trusted_proxies: Vec<ProxyNet>,
    pub order_ttl_minutes: u32,
    /// Daily backups kept in `data_dir/backups` (0: none are taken).
    pub backups_kept: u32,
    /// Multiplies the reconciler's clock: its round interval, the minute before an attempt is
    /// queried, the query backoff, the 5-minute close rule and the order lifetime. 1.0 in
    /// production; tests shrink it so that expiry runs in seconds.
    pub reconcile_scale: f64,
    pub secret_key: Option<Secret>,
    pub admin_password: Option<Secret>,
    pub wxpay: WxpayConfig,
    pub sandbox: SandboxConfig,
    pub connections: ConnectionsConfig,
    /// Sandbox mode on an address other than loopback, said to be intended (a LAN demo).
    pub allow_sandbox_on_network: bool,
    /// Where e-mail alerts are sent from, when configured.
    pub smtp: Option<SmtpConfig>,
    /// Lets a scraper elsewhere read `/metrics` (`Authorization: Bearer …`); without it,
    /// only this machine can.
    pub metrics_token: Option<Secret>,
    pub log_format: LogFormat,
}

/// Values given on the command line, which win over file and environment.
#[derive(Debug, Default, Clone)]
pub struct Overrides {
    pub port: Option<u16>,
}

impl Config {
    /// Reads `file` (or `./wxcheckout.toml` when present), then `WXCHECKOUT_*`, then `overrides`.
    pub fn load(file: Option<&Path>, overrides: &Overrides) -> Result<Config, ConfigError> {
        Config::from_figment(&Config::figment(file, overrides)?)
    }

    /// The configuration as `load` reads it, or every problem in it, each naming its key
    /// (`wxcheckout check-config`: the same rules as `serve`, all reported at once).
    pub fn check(file: Option<&Path>, overrides: &Overrides) -> Result<Config, Vec<ConfigError>> {
        let figment = Config::figment(file, overrides).map_err(|e| vec![e])?;
        let raw: RawConfig = figment
            .extract()
            .map_err(|e| e.into_iter().map(|e| ConfigError(e.to_string())).collect::<Vec<_>>())?;
        raw.check()
    }

    /// The sources in order: defaults, the file, `WXCHECKOUT_*`, the command line.
    fn figment(file: Option<&Path>, overrides: &Overrides) -> Result<Figment, ConfigError> {
        let mut figment = Figment::from(Serialized::defaults(RawConfig::default()));
        match file {
            Some(path) if !path.is_file() => {
                return Err(ConfigError(format!("config file {} not found", path.display())));
            }
            Some(path) => figment = figment.merge(Toml::file_exact(path)),
            None if Path::new("wxcheckout.toml").is_file() => {
                figment = figment.merge(Toml::file_exact("wxcheckout.toml"));
            }
            None => {}
        }
        figment = figment.merge(Env::prefixed("WXCHECKOUT_").split("__"));
        if let Some(port) = overrides.port {
            figment = figment.merge(("port", port));
        }
        Ok(figment)
    }

    /// Every setting in effect as `key = value`, secrets masked (`mask`), for
    /// `wxcheckout check-config`.
    pub fn describe(&self) -> Vec<(&'static str, String)> {
        let opt = |v: Option<String>| v.unwrap_or_else(|| "(not set)".to_owned());
        let url = |u: &Option<Url>| opt(u.as_ref().map(Url::to_string));
        let path = |p: &Option<PathBuf>| opt(p.as_ref().map(|p| p.display().to_string()));
        let w = &self.wxpay;
        let mut out = vec![
            ("address", self.address.to_string()),
            ("port", self.port.to_string()),
            ("data_dir", self.data_dir.display().to_string()),
            ("public_url", url(&self.public_url)),
            (
                "trusted_proxies",
                self.trusted_proxies.iter().map(|p| format!("{p:?}")).collect::<Vec<_>>().join(", "),
            ),
            ("order_ttl_minutes", self.order_ttl_minutes.to_string()),
            ("backups_kept", self.backups_kept.to_string()),
            ("reconcile_scale", self.reconcile_scale.to_string()),
            ("secret_key", opt(self.secret_key.as_ref().map(|k| mask(k.expose())))),
            (
                "admin.password",
                if self.admin_password.is_some() {
                    "••••".to_owned()
                } else {
                    "(not set)".to_owned()
                },
            ),
            (
                "metrics_token",
                if self.metrics_token.is_some() { "••••".to_owned() } else { "(not set)".to_owned() },
            ),
            ("log_format", format!("{:?}", self.log_format).to_lowercase()),
            ("allow_sandbox_on_network", self.allow_sandbox_on_network.to_string()),
            ("wxpay.mode", format!("{:?}", w.mode).to_lowercase()),
            ("wxpay.appid", w.appid.clone()),
            ("wxpay.mch_id", w.mch_id.clone()),
            (
                "wxpay.api_key",
                w.api_key.as_ref().map_or_else(|| "(not set: v3 only)".to_owned(), |k| mask(k.expose())),
            ),
            ("wxpay.app_secret", mask(w.app_secret.expose())),
            ("wxpay.sign_type", w.sign_type.as_str().to_owned()),
            ("wxpay.api_base", url(&w.api_base)),
            ("wxpay.open_base", url(&w.open_base)),
            ("wxpay.sns_base", url(&w.sns_base)),
            ("wxpay.cert_pem", path(&w.cert_pem)),
            ("wxpay.key_pem", path(&w.key_pem)),
            ("wxpay.api_version", w.api_version.as_str().to_owned()),
            ("connections", format!("{:?}", self.connections)),
        ];
        if let Some(v3) = &w.v3 {
            out.extend(v3.describe());
        }
        if self.is_sandbox() {
            out.push(("sandbox", format!("{:?}", self.sandbox)));
        }
        out.push((
            "smtp",
            opt(self.smtp.as_ref().map(|s| {
                let login = s.credentials.as_ref().map_or_else(String::new, |(u, _)| format!(", {u} / ••••"));
                format!("{}:{} ({:?}), from {}{login}", s.host, s.port, s.security, s.from)
            })),
        ));
        out
    }

    pub fn from_figment(figment: &Figment) -> Result<Config, ConfigError> {
        let raw: RawConfig = figment.extract().map_err(|e| ConfigError(first_error(e)))?;
        raw.validate()
    }

    /// Sandbox-mode defaults with no file and no environment (tests start from this).
    pub fn sandbox_defaults() -> Config {
        // why: the defaults are valid by construction; a failure is a bug caught by tests.
        RawConfig::default().validate().expect("default configuration is valid")
    }

    pub fn is_sandbox(&self) -> bool {
        self.wxpay.mode == Mode::Sandbox
    }

    /// Sandbox mode reachable from other machines: anyone there can sign a notification with
    /// the public sandbox key and pay any order, and change the sandbox's faults.
    pub fn sandbox_exposed(&self) -> bool {
        self.is_sandbox() && !self.address.is_loopback()
    }
}

fn one() -> f64 {
    1.0
}

fn seven() -> u32 {
    7
}

fn first_error(e: figment::Error) -> String {
    e.into_iter().next().map(|e| e.to_string()).unwrap_or_else(|| "unreadable".to_owned())
}

/// A secret given either in place (`key`) or as a file holding it (`key_file`, its content
/// with the final line break removed): never both, and a named file must be readable and not
/// empty. The error names the key and the file, never what the file holds.
fn from_file(key: &str, value: Option<String>, file: Option<PathBuf>) -> Result<Option<String>, ConfigError> {
    let Some(path) = file else { return Ok(value) };
    if value.as_deref().is_some_and(|v| !v.is_empty()) {
        return Err(bad(&format!("{key}_file"), format!("and {key} are both set; keep one")));
    }
    let text = std::fs::read_to_string(&path).map_err(|e| {
        bad(&format!("{key}_file"), format!("names {}, which cannot be read ({e})", path.display()))
    })?;
    let secret = text.strip_suffix('\n').map(|t| t.strip_suffix('\r').unwrap_or(t)).unwrap_or(&text);
    if secret.is_empty() {
        return Err(bad(&format!("{key}_file"), format!("names {}, which is empty", path.display())));
    }
    Ok(Some(secret.to_owned()))
}

impl RawConfig {
    fn validate(self) -> Result<Config, ConfigError> {
        self.check().map_err(|mut problems| problems.swap_remove(0))
    }

    /// The configuration, or every problem found in it, each naming its key (at most one per
    /// section: a section's later rules may depend on its earlier ones).
    fn check(mut self) -> Result<Config, Vec<ConfigError>> {
        let mut problems = Vec::new();
        let mut keep = |r: Result<(), ConfigError>| {
            if let Err(e) = r {
                problems.push(e);
            }
        };
        // why first: every rule below sees a secret the same whichever way it was given.
        let files = [
            ("secret_key", &mut self.secret_key, self.secret_key_file.take()),
            ("metrics_token", &mut self.metrics_token, self.metrics_token_file.take()),
            ("admin.password", &mut self.admin.password, self.admin.password_file.take()),
            ("wxpay.api_key", &mut self.wxpay.api_key, self.wxpay.api_key_file.take()),
            ("wxpay.app_secret", &mut self.wxpay.app_secret, self.wxpay.app_secret_file.take()),
        ];
        for (key, value, file) in files {
            match from_file(key, value.take(), file) {
                Ok(v) => *value = v,
                Err(e) => keep(Err(e)),
            }
        }
        // why: a trailing slash, so that joining `wxpay/notify` keeps a path prefix like `/shop/`.
        let public_url = match self.public_url.as_deref().map(|u| parse_base("public_url", u)).transpose() {
            Ok(u) => u,
            Err(e) => {
                keep(Err(e));
                None
            }
        };
        let mut trusted_proxies = Vec::new();
        for p in &self.trusted_proxies {
            match ProxyNet::parse(p) {
                Some(net) => trusted_proxies.push(net),
                None => {
                    keep(Err(bad("trusted_proxies", format!("has {p:?}, not an IP address or CIDR block"))))
                }
            }
        }
        if self.order_ttl_minutes < 5 || self.order_ttl_minutes > 7 * 24 * 60 {
            keep(Err(bad(
                "order_ttl_minutes",
                "must be from 5 to 10080 (WeChat refuses to close an order in its first 5 minutes)",
            )));
        }
        if self.backups_kept > 366 {
            keep(Err(bad("backups_kept", "must be from 0 (no daily backups) to 366")));
        }
        if self.secret_key.as_deref().is_some_and(|k| !valid_cookie_key(k)) {
            keep(Err(bad(
                "secret_key",
                "must be 64 hex characters or 44/88 base64 characters (or leave it unset: one is generated in data_dir)",
            )));
        }
        if self.metrics_token.as_deref().is_some_and(|t| {
            !t.is_empty() && (t.len() < 16 || t.chars().any(|c| c.is_whitespace() || c.is_control()))
        }) {
            keep(Err(bad("metrics_token", "must be at least 16 characters, without spaces")));
        }
        if !(self.reconcile_scale > 0.0 && self.reconcile_scale <= 1.0) {
            keep(Err(bad("reconcile_scale", "must be a number above 0 and at most 1 (1 in production)")));
        }
        keep(self.sandbox.validate());
        keep(self.connections.validate());
        let raw_mode = self.wxpay.mode.unwrap_or(Mode::Sandbox);
        let v3_raw = std::mem::take(&mut self.wxpay.v3);
        let api_version = self.wxpay.api_version.unwrap_or_default();
        let api_base_set = self.wxpay.api_base.as_deref().is_some_and(|b| !b.is_empty());
        // why also on v2 when written: after switching back from v3, orders placed on v3 are
        // still queried, closed and notified through v3 (docs/wechat-pay-v3.md#switching-versions).
        let v3 = match api_version {
            ApiVersion::V2 if v3_raw.is_unset() => None,
            ApiVersion::V2 | ApiVersion::V3 => match v3_raw.validate(raw_mode, api_base_set) {
                Ok(v3) => Some(v3),
                Err(v3_problems) => {
                    v3_problems.into_iter().for_each(|p| keep(Err(p)));
                    None
                }
            },
        };
        let wxpay = self.wxpay.validate(public_url.as_ref(), api_version).map(|mut w| {
            w.api_version = api_version;
            w.v3 = v3;
            w
        });
        let mode = wxpay.as_ref().map_or(raw_mode, |w| w.mode);
        if mode == Mode::Sandbox && !self.address.is_loopback() && !self.allow_sandbox_on_network {
            keep(Err(bad(
                "address",
                format!(
                    "is {}, reachable from other machines, and the shop is in sandbox mode: anyone who can reach it \
                     can pay any order with the public sandbox key and change the sandbox's faults at /sandbox/control. \
                     Listen on 127.0.0.1 (behind a proxy), or set allow_sandbox_on_network = true if that is intended \
                     (a demo on a LAN)",
                    self.address
                ),
            )));
        }
        let smtp = self.smtp.map(RawSmtp::validate).transpose();
        let (wxpay, smtp) = match (wxpay, smtp) {
            (Ok(w), Ok(s)) if problems.is_empty() => (w, s),
            (w, s) => {
                problems.extend(w.err());
                problems.extend(s.err());
                return Err(problems);
            }
        };
        Ok(Config {
            smtp,
            port: self.port,
            address: self.address,
            data_dir: self.data_dir,
            public_url,
            trusted_proxies,
            order_ttl_minutes: self.order_ttl_minutes,
            backups_kept: self.backups_kept,
            reconcile_scale: self.reconcile_scale,
            secret_key: self.secret_key.map(Secret),
            admin_password: self.admin.password.filter(|p| !p.is_empty()).map(Secret),
            wxpay,
            sandbox: self.sandbox,
            connections: self.connections,
            allow_sandbox_on_network: self.allow_sandbox_on_network,
            log_format: self.log_format,
            metrics_token: self.metrics_token.filter(|t| !t.is_empty()).map(Secret),
        })
    }
}

/// What Rocket accepts as a cookie key: 256 bits in hex, or 256/512 bits in base64.
fn valid_cookie_key(k: &str) -> bool {
    use base64::Engine;
    let hex = k.len() == 64 && k.bytes().all(|b| b.is_ascii_hexdigit());
    let b64 = matches!(k.len(), 44 | 88)
        && base64::engine::general_purpose::STANDARD.decode(k).is_ok_and(|b| b.len() == 32 || b.len() == 64);
    hex || b64
}

fn parse_url(key: &str, s: &str) -> Result<Url, ConfigError> {
    let url = Url::parse(s).map_err(|e| bad(key, format!("is not a URL ({e})")))?;
    if !matches!(url.scheme(), "http" | "https") || url.host().is_none() {
        return Err(bad(key, "must be an http(s) URL with a host"));
    }
    Ok(url)
}

/// A base URL ends with `/` so that joining `pay/unifiedorder` keeps its path.
fn parse_base(key: &str, s: &str) -> Result<Url, ConfigError> {
    let with_slash = if s.ends_with('/') { s.to_owned() } else { format!("{s}/") };
    parse_url(key, &with_slash)
}

fn is_loopback(url: &Url) -> bool {
    match url.host() {
        Some(url::Host::Domain(d)) => d == "localhost",
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        None => false,
    }
}

/// What WeChat accepts as the base of the notify URLs it calls: https on the default port,
/// no query string and no fragment (the notify URL it is given must have no parameters, and
/// it calls only port 443).
///
/// why loopback is let through on http and any port: a live-mode shop pointed at a sandbox on
/// this machine (the test suites, a rehearsal) is never called by WeChat; the doctor still
/// reports such a `public_url` as one WeChat cannot reach.
fn check_live_public_url(u: &Url) -> Result<(), ConfigError> {
    if u.query().is_some() {
        return Err(bad(
            "public_url",
            format!(
                "{u} has a query string (?…); in live mode it must have none, WeChat refuses notify URLs with parameters"
            ),
        ));
    }
    if u.fragment().is_some() {
        return Err(bad("public_url", format!("{u} has a fragment (#…); in live mode it must have none")));
    }
    if is_loopback(u) {
        return Ok(());
    }
    if u.scheme() != "https" {
        return Err(bad("public_url", "must be https in live mode (WeChat refuses http notify URLs)"));
    }
    // why: `Url` drops a default port, so `https://host:443` has none here and passes.
    if let Some(port) = u.port() {
        return Err(bad(
            "public_url",
            format!(
                "names port {port}; in live mode it must use https's default port 443 (WeChat calls notify URLs only on 443): serve the shop on 443 through a reverse proxy and leave the port out"
            ),
        ));
    }
    Ok(())
}

impl RawWxpay {
    fn validate(self, public_url: Option<&Url>, api_version: ApiVersion) -> Result<WxpayConfig, ConfigError> {
        let mode = self.mode.unwrap_or(Mode::Sandbox);
        let live = mode == Mode::Live;
        let required = |key: &str, v: Option<String>, default: &str| -> Result<String, ConfigError> {
            match v.filter(|s| !s.is_empty()) {
                Some(s) => Ok(s),
                None if live => Err(bad(key, "is required in live mode")),
                None => Ok(default.to_owned()),
            }
        };
        let appid = required("wxpay.appid", self.appid, SANDBOX_APPID)?;
        let mch_id = required("wxpay.mch_id", self.mch_id, SANDBOX_MCH_ID)?;
        // why optional on v3: every payment call is signed with the v3 key, so a merchant who
        // signed up for v3 only has no APIv2 key to give; one that is given is still checked.
        let api_key = match self.api_key.filter(|s| !s.is_empty()) {
            None if live && api_version == ApiVersion::V3 => None,
            v => Some(required("wxpay.api_key", v, SANDBOX_API_KEY)?),
        };
        let app_secret = required("wxpay.app_secret", self.app_secret, SANDBOX_APP_SECRET)?;
        check_credentials(&appid, &mch_id, api_key.as_deref())?;
        if live {
            match public_url {
                None => {
                    return Err(bad(
                        "public_url",
                        "is required in live mode (WeChat sends notifications there)",
                    ));
                }
                Some(u) => check_live_public_url(u)?,
            }
        }
        let base = |key: &str, v: Option<String>, live_default: &str| -> Result<Option<Url>, ConfigError> {
            match v.filter(|s| !s.is_empty()) {
                Some(s) => parse_base(key, &s).map(Some),
                None if live => parse_base(key, live_default).map(Some),
                None => Ok(None),
            }
        };
        Ok(WxpayConfig {
            mode,
            api_base: base("wxpay.api_base", self.api_base, LIVE_API_BASE)?,
            open_base: base("wxpay.open_base", self.open_base, LIVE_OPEN_BASE)?,
            sns_base: base("wxpay.sns_base", self.sns_base, LIVE_SNS_BASE)?,
            appid,
            mch_id,
            api_key: api_key.map(ApiKey::new),
            app_secret: Secret(app_secret),
            sign_type: self.sign_type.unwrap_or(SignType::Md5),
            cert_pem: self.cert_pem,
            key_pem: self.key_pem,
            api_version: ApiVersion::V2,
            v3: None,
        })
    }
}

fn check_credentials(appid: &str, mch_id: &str, api_key: Option<&str>) -> Result<(), ConfigError> {
    if !appid.starts_with("wx") || appid.len() != 18 || !appid.bytes().all(|b| b.is_ascii_alphanumeric()) {
        return Err(bad("wxpay.appid", "must look like wx followed by 16 letters or digits"));
    }
    if mch_id.is_empty() || mch_id.len() > 32 || !mch_id.bytes().all(|b| b.is_ascii_digit()) {
        return Err(bad("wxpay.mch_id", "must be the merchant number (digits)"));
    }
    if api_key.is_some_and(|k| k.len() != 32 || !k.bytes().all(|b| b.is_ascii_alphanumeric())) {
        return Err(bad("wxpay.api_key", "must be the 32-character APIv2 key (letters and digits)"));
    }
    Ok(())
}

#[cfg(test)]
// why: figment's Jail closures return its own large error type; that is its API, not ours.
#[allow(clippy::result_large_err)]
mod tests {
    use super::*;
    use figment::Jail;

    fn load_in(jail: &Jail) -> Result<Config, ConfigError> {
        let _ = jail;
        Config::load(None, &Overrides::default())
    }

    #[test]
    fn with_nothing_configured_the_shop_runs_in_sandbox_mode_with_the_documented_credentials() {
        Jail::expect_with(|jail| {
            let c = load_in(jail).map_err(|e| e.0)?;
            assert_eq!(c.wxpay.mode, Mode::Sandbox);
            assert_eq!(c.wxpay.appid, SANDBOX_APPID);
            assert_eq!(c.wxpay.mch_id, SANDBOX_MCH_ID);
            assert_eq!(c.wxpay.api_key.as_ref().map(|k| k.expose()), Some(SANDBOX_API_KEY));
            assert_eq!(c.port, 8000);
            assert_eq!(c.address.to_string(), "127.0.0.1");
            assert_eq!(c.data_dir, PathBuf::from("./data"));
            assert!(c.wxpay.api_base.is_none(), "sandbox mode uses the in-process sandbox");
            Ok(())
        });
    }

    #[test]
    fn a_shop_switched_back_to_v2_keeps_the_v3_credentials_it_still_has_and_one_without_has_none() {
        Jail::expect_with(|jail| {
            let section = format!("[wxpay.v3]\ncert_serial = \"{}\"\n", crate::sandbox::v3::MERCHANT_SERIAL);
            jail.create_file("wxcheckout.toml", &format!("[wxpay]\napi_version = \"v2\"\n{section}"))?;
            let c = load_in(jail).map_err(|e| e.0)?;
            assert_eq!(c.wxpay.api_version, ApiVersion::V2);
            assert!(c.wxpay.v3.is_some(), "[wxpay.v3] is read on v2 when written");
            jail.create_file("wxcheckout.toml", "[wxpay]\napi_version = \"v2\"\n")?;
            assert!(load_in(jail).map_err(|e| e.0)?.wxpay.v3.is_none());
            Ok(())
        });
    }

    #[test]
    fn environment_variables_override_the_file_with_nested_keys_joined_by_double_underscores() {
        Jail::expect_with(|jail| {
            jail.create_file("wxcheckout.toml", "port = 9000\n[wxpay]\nsign_type = \"MD5\"\n")?;
            jail.set_env("WXCHECKOUT_PORT", "9100");
            jail.set_env("WXCHECKOUT_WXPAY__SIGN_TYPE", "HMAC-SHA256");
            jail.set_env("WXCHECKOUT_WXPAY__MCH_ID", "1230000109");
            jail.set_env("WXCHECKOUT_SANDBOX__TIME_SCALE", "0.01");
            jail.set_env("WXCHECKOUT_DATA_DIR", "/tmp/x");
            let c = load_in(jail).map_err(|e| e.0)?;
            assert_eq!(c.port, 9100);
            assert_eq!(c.wxpay.sign_type, SignType::HmacSha256);
            assert_eq!(c.wxpay.mch_id, "1230000109", "a numeric-looking value stays a string");
            assert_eq!(c.sandbox.time_scale, 0.01);
            assert_eq!(c.data_dir, PathBuf::from("/tmp/x"));
            Ok(())
        });
    }

    #[test]
    fn a_bad_setting_stops_the_start_with_a_message_naming_the_key() {
        let cases: &[(&str, &str, &str)] = &[
            ("WXCHECKOUT_WXPAY__SIGN_TYPE", "SHA1", "SIGN_TYPE"),
            ("WXCHECKOUT_PORT", "http", "PORT"),
            ("WXCHECKOUT_SANDBOX__SYSTEM_ERROR_RATE", "2", "sandbox.system_error_rate"),
            ("WXCHECKOUT_SANDBOX__TIME_SCALE", "0", "sandbox.time_scale"),
            ("WXCHECKOUT_WXPAY__API_KEY", "short", "wxpay.api_key"),
            ("WXCHECKOUT_WXPAY__APPID", "appid", "wxpay.appid"),
            ("WXCHECKOUT_PUBLIC_URL", "not a url", "public_url"),
            ("WXCHECKOUT_TRUSTED_PROXIES", "[\"10.0.0.0/99\"]", "trusted_proxies"),
            ("WXCHECKOUT_ORDER_TTL_MINUTES", "2", "order_ttl_minutes"),
            ("WXCHECKOUT_BACKUPS_KEPT", "367", "backups_kept"),
            ("WXCHECKOUT_RECONCILE_SCALE", "2", "reconcile_scale"),
            ("WXCHECKOUT_WXPAY__MODE", "production", "MODE"),
            ("WXCHECKOUT_PROT", "8000", "PROT"),
            ("WXCHECKOUT_SECRET_KEY", "too-short", "secret_key"),
        ];
        for (var, value, key) in cases {
            Jail::expect_with(|jail| {
                jail.set_env(var, value);
                let err = load_in(jail).expect_err("must be refused").0;
                assert!(err.contains(key), "{var}={value}: {err:?} does not name {key}");
                Ok(())
            });
        }
    }

    #[test]
    fn sandbox_mode_on_an_address_other_machines_reach_is_refused_unless_said_to_be_intended() {
        Jail::expect_with(|jail| {
            jail.set_env("WXCHECKOUT_ADDRESS", "0.0.0.0");
            let err = load_in(jail).expect_err("sandbox on the network").0;
            assert!(err.contains("address") && err.contains("allow_sandbox_on_network"), "{err}");
            jail.set_env("WXCHECKOUT_ALLOW_SANDBOX_ON_NETWORK", "true");
            let c = load_in(jail).map_err(|e| e.0)?;
            assert!(c.sandbox_exposed(), "allowed, and known to be exposed (the banner says so)");
            jail.set_env("WXCHECKOUT_ADDRESS", "::1");
            assert!(!load_in(jail).map_err(|e| e.0)?.sandbox_exposed(), "IPv6 loopback is not exposed");
            Ok(())
        });
    }

    #[test]
    fn a_connection_limit_out_of_range_is_refused_naming_the_key() {
        Jail::expect_with(|jail| {
            jail.set_env("WXCHECKOUT_CONNECTIONS__HEADER_TIMEOUT_SECS", "0");
            let err = load_in(jail).expect_err("no header time").0;
            assert!(err.contains("connections.header_timeout_secs"), "{err}");
            Ok(())
        });
    }

    #[test]
    fn an_smtp_server_is_read_with_tls_by_default_and_refused_in_clear_text_off_this_machine() {
        Jail::expect_with(|jail| {
            jail.create_file(
                "wxcheckout.toml",
                "[smtp]\nhost = \"smtp.example.com\"\nusername = \"shop\"\npassword = \"pw\"\nfrom = \"shop@example.com\"\n",
            )?;
            let c = load_in(jail).map_err(|e| e.0)?;
            let smtp = c.smtp.expect("[smtp]");
            assert_eq!((smtp.security, smtp.port), (SmtpSecurity::Tls, 465));
            assert_eq!(
                format!("{:?}", smtp.credentials),
                "Some((\"shop\", ***))",
                "the password never shows"
            );
            jail.set_env("WXCHECKOUT_SMTP__SECURITY", "none");
            let err = load_in(jail).expect_err("clear text to another machine").0;
            assert!(err.contains("smtp.security"), "{err}");
            jail.set_env("WXCHECKOUT_SMTP__SECURITY", "starttls");
            jail.set_env("WXCHECKOUT_SMTP__FROM", "not an address");
            let err = load_in(jail).expect_err("bad sender").0;
            assert!(err.contains("smtp.from"), "{err}");
            Ok(())
        });
    }

    #[test]
    fn secrets_can_come_from_files_named_by_a_file_key_never_both_ways_at_once() {
        Jail::expect_with(|jail| {
            jail.create_file("api_key", "0123456789abcdefABCDEF0123456789\n")?;
            jail.create_file("admin_password", "a-password-from-a-file\r\n")?;
            jail.create_file("empty", "")?;
            jail.set_env("WXCHECKOUT_WXPAY__API_KEY_FILE", "api_key");
            jail.set_env("WXCHECKOUT_ADMIN__PASSWORD_FILE", "admin_password");
            let c = load_in(jail).map_err(|e| e.0)?;
            assert_eq!(
                c.wxpay.api_key.as_ref().map(|k| k.expose()),
                Some("0123456789abcdefABCDEF0123456789"),
                "the final line break is not part of it"
            );
            assert_eq!(c.admin_password.as_ref().map(Secret::expose), Some("a-password-from-a-file"));

            jail.set_env("WXCHECKOUT_WXPAY__API_KEY", "0123456789abcdefABCDEF0123456789");
            let err = load_in(jail).expect_err("both").0;
            assert!(err.contains("wxpay.api_key_file") && err.contains("both"), "{err}");

            jail.set_env("WXCHECKOUT_WXPAY__API_KEY", "");
            jail.set_env("WXCHECKOUT_WXPAY__API_KEY_FILE", "missing");
            let err = load_in(jail).expect_err("missing file").0;
            assert!(err.contains("wxpay.api_key_file") && err.contains("missing"), "{err}");
            jail.set_env("WXCHECKOUT_WXPAY__API_KEY_FILE", "empty");
            let err = load_in(jail).expect_err("empty file").0;
            assert!(err.contains("empty"), "{err}");
            Ok(())
        });
    }

    #[test]
    fn live_mode_requires_credentials_and_an_https_public_url() {
        Jail::expect_with(|jail| {
            jail.set_env("WXCHECKOUT_WXPAY__MODE", "live");
            let err = load_in(jail).expect_err("no credentials").0;
            assert!(err.contains("wxpay.appid"), "{err}");
            jail.set_env("WXCHECKOUT_WXPAY__APPID", "wx1234567890abcdef");
            jail.set_env("WXCHECKOUT_WXPAY__MCH_ID", "1230000109");
            jail.set_env("WXCHECKOUT_WXPAY__API_KEY", "0123456789abcdefABCDEF0123456789");
            jail.set_env("WXCHECKOUT_WXPAY__APP_SECRET", "secret");
            jail.set_env("WXCHECKOUT_PUBLIC_URL", "http://shop.example.com");
            let err = load_in(jail).expect_err("http public url").0;
            assert!(err.contains("public_url") && err.contains("https"), "{err}");
            jail.set_env("WXCHECKOUT_PUBLIC_URL", "https://shop.example.com");
            let c = load_in(jail).map_err(|e| e.0)?;
            assert_eq!(c.wxpay.api_base.as_ref().map(Url::as_str), Some("https://api.mch.weixin.qq.com/"));
            jail.set_env("WXCHECKOUT_WXPAY__API_BASE", "http://127.0.0.1:9000/sandbox");
            let c = load_in(jail).map_err(|e| e.0)?;
            assert_eq!(
                c.wxpay.api_base.as_ref().map(Url::as_str),
                Some("http://127.0.0.1:9000/sandbox/"),
                "a base URL gains its trailing slash"
            );
            Ok(())
        });
    }

    /// Live-mode environment with valid credentials and `public_url` set to `url`.
    fn live_with_public_url(jail: &mut Jail, url: &str) {
        jail.set_env("WXCHECKOUT_WXPAY__MODE", "live");
        jail.set_env("WXCHECKOUT_WXPAY__APPID", "wx1234567890abcdef");
        jail.set_env("WXCHECKOUT_WXPAY__MCH_ID", "1230000109");
        jail.set_env("WXCHECKOUT_WXPAY__API_KEY", "0123456789abcdefABCDEF0123456789");
        jail.set_env("WXCHECKOUT_WXPAY__APP_SECRET", "secret");
        jail.set_env("WXCHECKOUT_PUBLIC_URL", url);
    }

    #[test]
    fn in_live_mode_a_public_url_on_another_port_than_443_is_refused_naming_the_port() {
        for url in ["https://shop.example.com:8443", "https://shop.example.com:8000/shop/"] {
            Jail::expect_with(|jail| {
                live_with_public_url(jail, url);
                let err = load_in(jail).expect_err("a port other than 443").0;
                assert!(
                    err.contains("`public_url`") && err.contains("port") && err.contains("443"),
                    "{url}: {err}"
                );
                Ok(())
            });
        }
    }

    #[test]
    fn in_live_mode_a_public_url_with_a_query_or_a_fragment_is_refused() {
        for (url, what) in
            [("https://shop.example.com/?shop=1", "query"), ("https://shop.example.com/#top", "fragment")]
        {
            Jail::expect_with(|jail| {
                live_with_public_url(jail, url);
                let err = load_in(jail).expect_err("parameters in the notify URL").0;
                assert!(err.contains("`public_url`") && err.contains(what), "{url}: {err}");
                Ok(())
            });
        }
    }

    #[test]
    fn in_live_mode_https_on_the_default_port_is_accepted_with_or_without_writing_443() {
        for (url, want) in [
            ("https://shop.example.com", "https://shop.example.com/"),
            ("https://shop.example.com:443/shop", "https://shop.example.com/shop/"),
        ] {
            Jail::expect_with(|jail| {
                live_with_public_url(jail, url);
                let c = load_in(jail).map_err(|e| e.0)?;
                assert_eq!(c.public_url.as_ref().map(Url::as_str), Some(want));
                Ok(())
            });
        }
    }

    #[test]
    fn in_live_mode_a_loopback_public_url_may_be_http_on_any_port_for_rehearsals_against_a_local_sandbox() {
        Jail::expect_with(|jail| {
            live_with_public_url(jail, "http://127.0.0.1:8000");
            load_in(jail).map_err(|e| e.0)?;
            jail.set_env("WXCHECKOUT_PUBLIC_URL", "http://127.0.0.1:8000/?x=1");
            let err = load_in(jail).expect_err("a query even on loopback").0;
            assert!(err.contains("`public_url`") && err.contains("query"), "{err}");
            Ok(())
        });
    }

    #[test]
    fn in_sandbox_mode_the_public_url_may_name_any_port() {
        Jail::expect_with(|jail| {
            jail.set_env("WXCHECKOUT_PUBLIC_URL", "http://192.168.1.20:8000");
            let c = load_in(jail).map_err(|e| e.0)?;
            assert_eq!(c.public_url.as_ref().and_then(Url::port), Some(8000));
            Ok(())
        });
    }

    #[test]
    fn the_example_configuration_in_the_repository_loads_as_it_is() {
        // why: inside a Jail, so variables other tests set do not leak into this one.
        Jail::expect_with(|jail| {
            jail.clear_env();
            let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("wxcheckout.example.toml");
            let c = Config::load(Some(&path), &Overrides::default()).map_err(|e| e.0)?;
            assert_eq!(c.wxpay.mode, Mode::Sandbox);
            Ok(())
        });
    }

    #[test]
    fn a_public_url_with_a_path_keeps_it_when_urls_are_joined_to_it() {
        Jail::expect_with(|jail| {
            jail.set_env("WXCHECKOUT_PUBLIC_URL", "https://shop.example.com/shop");
            let c = load_in(jail).map_err(|e| e.0)?;
            let url = c.public_url.as_ref().and_then(|u| u.join("wxpay/notify").ok()).map(String::from);
            assert_eq!(url.as_deref(), Some("https://shop.example.com/shop/wxpay/notify"));
            Ok(())
        });
    }

    #[test]
    fn a_missing_config_file_named_on_the_command_line_is_an_error() {
        Jail::expect_with(|_| {
            let err = Config::load(Some(Path::new("/nonexistent/wxcheckout.toml")), &Overrides::default());
            assert!(err.expect_err("missing").0.contains("not found"));
            Ok(())
        });
    }

    #[test]
    fn trusted_proxies_match_addresses_and_cidr_blocks_in_ipv4_and_ipv6() {
        let net = ProxyNet::parse("10.1.0.0/16").expect("cidr");
        assert!(net.contains("10.1.200.3".parse().expect("ip")));
        assert!(!net.contains("10.2.0.1".parse().expect("ip")));
        assert!(net.contains("::ffff:10.1.0.9".parse().expect("mapped ip")));
        let one = ProxyNet::parse("::1").expect("v6");
        assert!(one.contains("::1".parse().expect("ip")));
        assert!(!one.contains("::2".parse().expect("ip")));
        let v6 = ProxyNet::parse("2001:db8::/32").expect("v6 cidr");
        assert!(v6.contains("2001:db8:1::5".parse().expect("ip")));
        assert!(ProxyNet::parse("0.0.0.0/0").expect("all").contains("8.8.8.8".parse().expect("ip")));
        assert!(ProxyNet::parse("1.2.3.4/33").is_none());
        assert!(ProxyNet::parse("example.com").is_none());
    }

    #[test]
    fn no_secret_ever_shows_in_debug_output() {
        Jail::expect_with(|jail| {
            jail.set_env("WXCHECKOUT_ADMIN__PASSWORD", "hunter2-password");
            jail.set_env("WXCHECKOUT_SECRET_KEY", "ab".repeat(32));
            let c = load_in(jail).map_err(|e| e.0)?;
            let shown = format!("{c:?}");
            for secret in [SANDBOX_API_KEY, SANDBOX_APP_SECRET, "hunter2-password", &"ab".repeat(32)] {
                assert!(!shown.contains(secret), "{secret} shows in {shown}");
            }
            Ok(())
        });
    }

    #[test]
    fn an_ipv4_mapped_trusted_proxy_trusts_that_ipv4_address_only() {
        let local = ProxyNet::parse("::ffff:127.0.0.1").expect("parses");
        assert!(local.contains("127.0.0.1".parse().expect("ip")));
        assert!(local.contains("::ffff:127.0.0.1".parse().expect("ip")));
        assert!(!local.contains("8.8.8.8".parse().expect("ip")));
        let block = ProxyNet::parse("::ffff:10.0.0.0/104").expect("parses");
        assert!(block.contains("10.1.2.3".parse().expect("ip")));
        assert!(!block.contains("11.0.0.1".parse().expect("ip")));
        assert!(
            ProxyNet::parse("::ffff:10.0.0.0/64").is_none(),
            "a mapped prefix below 96 is not an IPv4 block"
        );
    }
}
