//! Test helpers: real servers on loopback, each with a fresh data dir and its own port.
#![allow(dead_code)]

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use wxcheckout::app::{self, Running};
use wxcheckout::config::{Config, SandboxConfig};

/// A server running in this test process.
pub struct TestServer {
    pub running: Running,
    pub data_dir: tempdir::TempDir,
}

impl TestServer {
    /// `http://127.0.0.1:PORT`
    pub fn url(&self) -> String {
        self.running.base_url()
    }

    /// `http://127.0.0.1:PORT/sandbox/`: what a client takes as its API base.
    pub fn sandbox_base(&self) -> String {
        format!("{}/sandbox/", self.url())
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        self.running.shutdown.clone().notify();
    }
}

/// Sandbox-mode defaults on port 0 with a fresh data dir; `tune` adjusts them.
pub fn test_config(tune: impl FnOnce(&mut Config)) -> (Config, tempdir::TempDir) {
    let dir = tempdir::TempDir::new();
    let mut config = Config::sandbox_defaults();
    config.port = 0;
    config.data_dir = dir.path().to_path_buf();
    config.sandbox = SandboxConfig { time_scale: 0.01, ..SandboxConfig::default() };
    tune(&mut config);
    (config, dir)
}

/// `wxcheckout sandbox` in this process.
pub async fn spawn_sandbox(tune: impl FnOnce(&mut Config)) -> TestServer {
    let (config, data_dir) = test_config(tune);
    let running = app::spawn(app::sandbox_only(config)).await.expect("sandbox starts");
    TestServer { running, data_dir }
}

/// `wxcheckout sandbox` in this process, with a handle on its `Sandbox` (to pay orders with
/// `Sandbox::pay`, change faults, read the delivery log).
pub async fn spawn_sandbox_with_handle(
    tune: impl FnOnce(&mut Config),
) -> (TestServer, std::sync::Arc<wxcheckout::sandbox::Sandbox>) {
    let (config, data_dir) = test_config(tune);
    let merchant = wxcheckout::sandbox::merchant_from(&config);
    let sandbox =
        wxcheckout::sandbox::Sandbox::new(merchant, config.sandbox.clone(), config.public_url.clone());
    let running = app::spawn(app::sandbox_with(config, sandbox.clone())).await.expect("sandbox starts");
    (TestServer { running, data_dir }, sandbox)
}

/// `wxcheckout serve` in this process.
pub async fn spawn_shop(tune: impl FnOnce(&mut Config)) -> TestServer {
    let (config, data_dir) = test_config(tune);
    let rocket = app::shop(config).expect("shop builds");
    let running = app::spawn(rocket).await.expect("shop starts");
    TestServer { running, data_dir }
}

/// The built binary, run as its own process (as in production); killed on drop.
pub struct ChildServer {
    pub child: Child,
    pub port: u16,
    pub data_dir: tempdir::TempDir,
}

impl ChildServer {
    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    pub fn sandbox_base(&self) -> String {
        format!("{}/sandbox/", self.url())
    }
}

impl Drop for ChildServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn free_port() -> u16 {
    let l = std::net::TcpListener::bind("127.0.0.1:0").expect("bind a free port");
    l.local_addr().expect("local addr").port()
}

/// Starts `wxcheckout <command>` with `WXCHECKOUT_*` variables and waits for `/healthz`.
pub async fn spawn_binary(command: &str, env: &[(&str, &str)]) -> ChildServer {
    let data_dir = tempdir::TempDir::new();
    for _ in 0..5 {
        let port = free_port();
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_wxcheckout"));
        cmd.arg(command)
            .arg("--port")
            .arg(port.to_string())
            .env("WXCHECKOUT_DATA_DIR", data_dir.path())
            .env("RUST_LOG", "warn")
            .stdout(Stdio::null())
            .stderr(Stdio::inherit());
        for (k, v) in env {
            cmd.env(k, v);
        }
        let mut child = cmd.spawn().expect("binary starts");
        if wait_healthy(&format!("http://127.0.0.1:{port}")).await {
            return ChildServer { child, port, data_dir };
        }
        let _ = child.kill();
        let _ = child.wait();
    }
    panic!("wxcheckout {command} did not become healthy");
}

async fn wait_healthy(url: &str) -> bool {
    let client = reqwest::Client::new();
    for _ in 0..100 {
        if let Ok(r) = client.get(format!("{url}/healthz")).send().await {
            if r.status().is_success() {
                return true;
            }
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    false
}

/// A temporary directory removed on drop (no extra crate needed).
pub mod tempdir {
    use super::PathBuf;
    use std::sync::atomic::{AtomicU64, Ordering};

    static NEXT: AtomicU64 = AtomicU64::new(0);

    pub struct TempDir(PathBuf);

    impl TempDir {
        pub fn new() -> TempDir {
            let n = NEXT.fetch_add(1, Ordering::SeqCst);
            let path = std::env::temp_dir().join(format!(
                "wxcheckout-test-{}-{n}-{}",
                std::process::id(),
                rand_suffix()
            ));
            std::fs::create_dir_all(&path).expect("create temp dir");
            TempDir(path)
        }

        pub fn path(&self) -> &std::path::Path {
            &self.0
        }
    }

    fn rand_suffix() -> u64 {
        use std::time::{SystemTime, UNIX_EPOCH};
        SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.subsec_nanos() as u64).unwrap_or(0)
    }

    impl Drop for TempDir {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }
}
