//! A local receiver for the merchant's alerts (a WeCom robot or a webhook): a bare HTTP/1.1
//! server on loopback that records every request and answers as the test scripts it.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;
use tokio::sync::Notify;

/// How the receiver answers one request.
#[derive(Debug, Clone)]
pub enum Reply {
    /// This status and body.
    Answer(u16, String),
    /// No answer until [`Receiver::release`] (a slow receiver), then 200.
    Hold,
}

/// One request as received.
#[derive(Debug, Clone)]
pub struct Received {
    pub headers: Vec<(String, String)>,
    pub body: String,
}

impl Received {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
    }

    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.body).expect("a JSON body")
    }
}

#[derive(Default)]
struct Inner {
    received: Vec<Received>,
    script: VecDeque<Reply>,
}

pub struct Receiver {
    pub url: String,
    inner: Arc<Mutex<Inner>>,
    release: Arc<Notify>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for Receiver {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// What WeCom's robot answers when a message is accepted.
pub const WECOM_OK: &str = r#"{"errcode":0,"errmsg":"ok"}"#;

impl Receiver {
    /// A receiver at `http://127.0.0.1:<port>/hook`; unscripted requests get 200 [`WECOM_OK`].
    pub async fn start() -> Receiver {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let url = format!("http://{}/hook", listener.local_addr().expect("addr"));
        let inner: Arc<Mutex<Inner>> = Arc::default();
        let release = Arc::new(Notify::new());
        let (i, r) = (Arc::clone(&inner), Arc::clone(&release));
        let task = tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                tokio::spawn(serve(stream, Arc::clone(&i), Arc::clone(&r)));
            }
        });
        Receiver { url, inner, release, task }
    }

    /// The answers to the next requests, in order.
    pub fn script(&self, replies: impl IntoIterator<Item = Reply>) {
        self.inner.lock().expect("receiver").script.extend(replies);
    }

    pub fn received(&self) -> Vec<Received> {
        self.inner.lock().expect("receiver").received.clone()
    }

    /// Lets every held request answer 200.
    pub fn release(&self) {
        self.release.notify_waiters();
    }

    /// The requests once there are at least `n`, within `within`.
    pub async fn wait_for(&self, n: usize, within: Duration) -> Vec<Received> {
        let what = format!("{n} request(s) at {}", self.url);
        super::until_within(&what, within, || async { self.received().len() >= n }).await;
        self.received()
    }
}

async fn serve(mut stream: tokio::net::TcpStream, inner: Arc<Mutex<Inner>>, release: Arc<Notify>) {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 4096];
    let head_end = loop {
        match stream.read(&mut chunk).await {
            Ok(0) | Err(_) => return,
            Ok(n) => buf.extend_from_slice(&chunk[..n]),
        }
        if let Some(at) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break at;
        }
    };
    let head = String::from_utf8_lossy(&buf[..head_end]).into_owned();
    let headers: Vec<(String, String)> = head
        .lines()
        .skip(1)
        .filter_map(|l| l.split_once(':').map(|(k, v)| (k.trim().to_owned(), v.trim().to_owned())))
        .collect();
    let length = headers
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case("content-length"))
        .and_then(|(_, v)| v.parse::<usize>().ok())
        .unwrap_or(0);
    let mut body = buf[head_end + 4..].to_vec();
    while body.len() < length {
        match stream.read(&mut chunk).await {
            Ok(0) | Err(_) => return,
            Ok(n) => body.extend_from_slice(&chunk[..n]),
        }
    }
    let reply = {
        let mut inner = inner.lock().expect("receiver");
        // why registered before a held answer: the test sees the request while it is held.
        let hold = matches!(inner.script.front(), Some(Reply::Hold));
        let notified = hold.then(|| release.notified());
        inner.received.push(Received { headers, body: String::from_utf8_lossy(&body).into_owned() });
        (inner.script.pop_front().unwrap_or(Reply::Answer(200, WECOM_OK.to_owned())), notified)
    };
    let (status, text) = match reply {
        (Reply::Answer(status, text), _) => (status, text),
        (Reply::Hold, notified) => {
            if let Some(n) = notified {
                n.await;
            }
            (200, WECOM_OK.to_owned())
        }
    };
    let answer = format!(
        "HTTP/1.1 {status} X\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{text}",
        text.len()
    );
    let _ = stream.write_all(answer.as_bytes()).await;
    let _ = stream.shutdown().await;
}
