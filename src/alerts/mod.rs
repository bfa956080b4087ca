//! Sending alerts to the merchant: a WeCom group robot (企业微信群机器人, markdown), a generic
//! webhook (JSON signed with HMAC-SHA256, `sign`), and e-mail through the configured SMTP
//! server. What each says is in `message`; which alerts to send, when to retry, and recording
//! the answers is `checkout::alerts`. See docs/alerts.md.

pub mod message;
pub mod sign;

use std::time::{Duration, Instant};

use lettre::message::header::ContentType;
use lettre::transport::smtp::authentication::Credentials;
use lettre::{AsyncSmtpTransport, AsyncTransport, Tokio1Executor};

use crate::config::{SmtpConfig, SmtpSecurity};

/// How long one delivery may take before it counts as failed (and is retried later).
pub const TIMEOUT: Duration = Duration::from_secs(10);

/// A try's result: delivered or not, and what the receiver said.
#[derive(Debug, Clone)]
pub struct Sent {
    pub ok: bool,
    pub text: String,
    pub millis: u64,
}

/// The HTTP client and SMTP transport alerts go through.
pub struct Sender {
    http: reqwest::Client,
    smtp: Option<(AsyncSmtpTransport<Tokio1Executor>, String)>,
}

impl Sender {
    pub fn new(smtp: Option<&SmtpConfig>) -> Result<Sender, String> {
        let http = reqwest::Client::builder()
            .timeout(TIMEOUT)
            .connect_timeout(Duration::from_secs(5))
            // why: an alert address is the merchant's choice; a redirect elsewhere is not.
            .redirect(reqwest::redirect::Policy::none())
            .user_agent(concat!("wxcheckout/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| format!("alert HTTP client: {e}"))?;
        let smtp = smtp.map(|c| smtp_transport(c).map(|t| (t, c.from.clone()))).transpose()?;
        Ok(Sender { http, smtp })
    }

    pub fn has_smtp(&self) -> bool {
        self.smtp.is_some()
    }

    /// Posts a markdown message to a WeCom group robot. WeCom answers 200 with `errcode`;
    /// only `errcode` 0 is delivered (45009 is its rate limit: 20 messages a minute).
    pub async fn wecom(&self, url: &str, markdown: &str) -> Sent {
        let body = serde_json::json!({ "msgtype": "markdown", "markdown": { "content": markdown } });
        let started = Instant::now();
        let result = self.http.post(url).json(&body).send().await;
        let (ok, text) = match result {
            Ok(r) => {
                let status = r.status();
                let answer = bounded_text(r).await;
                let errcode = serde_json::from_str::<serde_json::Value>(&answer)
                    .ok()
                    .and_then(|v| v.get("errcode").and_then(serde_json::Value::as_i64));
                (status.is_success() && errcode == Some(0), format!("{} {answer}", status.as_u16()))
            }
            Err(e) => (false, describe(e)),
        };
        Sent { ok, text, millis: elapsed_ms(started) }
    }

    /// Posts the signed JSON to the merchant's webhook; any 2xx is delivered.
    pub async fn webhook(&self, url: &str, secret: &str, id: u64, now: i64, body: String) -> Sent {
        let signature = sign::header(secret, now, &body);
        let started = Instant::now();
        let result = self
            .http
            .post(url)
            .header("Content-Type", "application/json")
            .header(sign::HEADER, signature)
            .header("Idempotency-Key", format!("evt_{id}"))
            .body(body)
            .send()
            .await;
        let (ok, text) = match result {
            Ok(r) => {
                let status = r.status();
                (status.is_success(), format!("{} {}", status.as_u16(), bounded_text(r).await))
            }
            Err(e) => (false, describe(e)),
        };
        Sent { ok, text, millis: elapsed_ms(started) }
    }

    /// Sends a plain-text e-mail to `to` through the configured server.
    pub async fn email(&self, to: &[String], subject: &str, body: String) -> Sent {
        let started = Instant::now();
        let Some((transport, from)) = &self.smtp else {
            return Sent { ok: false, text: "no [smtp] configured".to_owned(), millis: 0 };
        };
        let built = (|| {
            let mut m = lettre::Message::builder().from(from.parse()?).subject(subject);
            for t in to {
                m = m.to(t.parse()?);
            }
            Ok::<_, Box<dyn std::error::Error + Send + Sync>>(m.header(ContentType::TEXT_PLAIN).body(body)?)
        })();
        let (ok, text) = match built {
            Err(e) => (false, format!("message: {e}")),
            Ok(m) => match tokio::time::timeout(TIMEOUT, transport.send(m)).await {
                Ok(Ok(r)) => {
                    (r.is_positive(), format!("{} {}", r.code(), r.message().collect::<Vec<_>>().join(" ")))
                }
                Ok(Err(e)) => (false, e.to_string()),
                Err(_) => (false, "no answer within 10 s".to_owned()),
            },
        };
        Sent { ok, text, millis: elapsed_ms(started) }
    }
}

fn smtp_transport(c: &SmtpConfig) -> Result<AsyncSmtpTransport<Tokio1Executor>, String> {
    let builder = match c.security {
        SmtpSecurity::Tls => AsyncSmtpTransport::<Tokio1Executor>::relay(&c.host),
        SmtpSecurity::StartTls => AsyncSmtpTransport::<Tokio1Executor>::starttls_relay(&c.host),
        SmtpSecurity::None => Ok(AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(&c.host)),
    }
    .map_err(|e| format!("smtp: {e}"))?;
    let mut builder = builder.port(c.port).timeout(Some(TIMEOUT));
    if let Some((user, password)) = &c.credentials {
        builder = builder.credentials(Credentials::new(user.clone(), password.expose().to_owned()));
    }
    Ok(builder.build())
}

/// The first 300 characters of an answer's body, reading at most 2 KiB of it (a receiver
/// may stream without end; the rest is dropped with the connection).
async fn bounded_text(mut r: reqwest::Response) -> String {
    let mut bytes = Vec::new();
    while bytes.len() < 2048 {
        match r.chunk().await {
            Ok(Some(chunk)) => bytes.extend_from_slice(&chunk),
            _ => break,
        }
    }
    bytes.truncate(2048);
    String::from_utf8_lossy(&bytes).chars().take(crate::domain::alert::ANSWER_MAX).collect()
}

/// Why a call failed, without its address (a WeCom robot's address holds its key).
fn describe(e: reqwest::Error) -> String {
    if e.is_timeout() {
        "no answer within 10 s".to_owned()
    } else if e.is_connect() {
        "could not connect".to_owned()
    } else {
        e.without_url().to_string().chars().take(200).collect()
    }
}

fn elapsed_ms(since: Instant) -> u64 {
    u64::try_from(since.elapsed().as_millis()).unwrap_or(u64::MAX)
}
