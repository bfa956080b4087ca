//! The control socket: `data_dir/control.sock`, a Unix socket only this machine's owner of the
//! data directory can open (mode 0600), through which `wxcheckout backup` and `verify` ask the
//! running server, which alone may open the database (docs/operations.md).
//!
//! One request a connection, one line: `backup` or `verify`. The answer starts with a line,
//! `ok` or `error: why`; after `ok` comes the backup stream, or the verify report as JSON.

use std::io::{BufRead, BufReader, Read, Write};
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use tokio::io::{AsyncBufReadExt, AsyncReadExt};

use crate::checkout::Checkout;
use crate::store::backup::VerifyReport;

pub const SOCKET: &str = "control.sock";
/// Requests handled at once; more wait for their turn in the listener's queue.
const AT_ONCE: usize = 2;

pub fn socket_path(data_dir: &Path) -> PathBuf {
    data_dir.join(SOCKET)
}

/// Listens on the control socket from liftoff until shutdown, then removes it. A socket left
/// by a server that died is replaced: this process holds the database, so no other server
/// can be listening there.
pub fn spawn(checkout: Arc<Checkout>, data_dir: &Path, shutdown: rocket::Shutdown) {
    let path = socket_path(data_dir);
    let _ = std::fs::remove_file(&path);
    let listener = match bind_private(&path) {
        Ok(l) => l,
        Err(e) => {
            return tracing::warn!(error = %e, "no control socket at {} (`wxcheckout backup` cannot reach this server)", path.display());
        }
    };
    let turns = Arc::new(tokio::sync::Semaphore::new(AT_ONCE));
    tokio::spawn(async move {
        tokio::pin!(shutdown);
        loop {
            let stream = tokio::select! {
                _ = &mut shutdown => break,
                accepted = listener.accept() => match accepted {
                    Ok((stream, _)) => stream,
                    Err(e) => {
                        tracing::warn!(error = %e, "control socket: accept failed");
                        continue;
                    }
                },
            };
            let Ok(turn) = Arc::clone(&turns).acquire_owned().await else { break };
            let checkout = Arc::clone(&checkout);
            tokio::spawn(async move {
                if let Err(e) = serve(checkout, stream).await {
                    tracing::warn!(error = %e, "control socket: request failed");
                }
                drop(turn);
            });
        }
        let _ = std::fs::remove_file(&path);
    });
}

/// Binds with a umask-independent 0600: the socket exists only once it is private.
fn bind_private(path: &Path) -> std::io::Result<tokio::net::UnixListener> {
    use std::os::unix::fs::PermissionsExt;
    let listener = tokio::net::UnixListener::bind(path)?;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600))?;
    Ok(listener)
}

async fn serve(checkout: Arc<Checkout>, stream: tokio::net::UnixStream) -> std::io::Result<()> {
    let mut reader = tokio::io::BufReader::new(stream);
    let mut line = String::new();
    // why bounded: a peer that sends no line or an endless one holds a turn only so long.
    let read = tokio::time::timeout(Duration::from_secs(10), async {
        let mut limited = (&mut reader).take(64);
        limited.read_line(&mut line).await
    });
    let command = match read.await {
        Ok(Ok(_)) => line.trim().to_owned(),
        _ => String::new(),
    };
    if command.is_empty() {
        // why silent: `restore` only checks that something listens, and closes at once.
        return Ok(());
    }
    let stream = reader.into_inner().into_std()?;
    stream.set_nonblocking(false)?;
    tokio::task::spawn_blocking(move || answer(&checkout, &command, stream))
        .await
        .map_err(std::io::Error::other)?
}

fn answer(checkout: &Checkout, command: &str, stream: UnixStream) -> std::io::Result<()> {
    // why: a client that stops reading fails its request instead of holding a turn forever.
    stream.set_write_timeout(Some(Duration::from_secs(60)))?;
    let mut out = std::io::BufWriter::new(stream);
    match command {
        "backup" => match checkout.export_backup() {
            Ok((mut file, summary)) => {
                out.write_all(b"ok\n")?;
                std::io::copy(&mut file, &mut out)?;
                tracing::info!(
                    orders = summary.orders,
                    bytes = summary.bytes,
                    "backup sent over the control socket"
                );
            }
            Err(e) => {
                tracing::error!(error = %e, "backup over the control socket failed");
                writeln!(out, "error: {e}")?;
            }
        },
        "verify" => match checkout.verify_store() {
            Ok(report) => {
                out.write_all(b"ok\n")?;
                serde_json::to_writer(&mut out, &report).map_err(std::io::Error::other)?;
            }
            Err(e) => writeln!(out, "error: {e}")?,
        },
        other => writeln!(out, "error: unknown request {other:?} (backup, verify)")?,
    }
    out.flush()
}

/// The running server's answer to `command`, positioned after its `ok` line; `None` when no
/// server listens on `data_dir` (no socket, or a socket nobody accepts on).
pub fn ask(data_dir: &Path, command: &str) -> Result<Option<BufReader<UnixStream>>, String> {
    let path = socket_path(data_dir);
    let mut stream = match UnixStream::connect(&path) {
        Ok(s) => s,
        Err(e)
            if matches!(e.kind(), std::io::ErrorKind::NotFound | std::io::ErrorKind::ConnectionRefused) =>
        {
            return Ok(None);
        }
        Err(e) => return Err(format!("cannot open the control socket {}: {e}", path.display())),
    };
    // why bounded: a server that stops answering must not hang a cron job for ever; a backup
    // is written to a file before its first byte is sent, so ten minutes is very generous.
    stream.set_read_timeout(Some(Duration::from_secs(600))).map_err(|e| e.to_string())?;
    stream.write_all(format!("{command}\n").as_bytes()).map_err(|e| e.to_string())?;
    let mut reader = BufReader::new(stream);
    let mut first = String::new();
    reader.by_ref().take(4096).read_line(&mut first).map_err(|e| e.to_string())?;
    match first.trim_end() {
        "ok" => Ok(Some(reader)),
        other => Err(format!("the server answered: {}", other.strip_prefix("error: ").unwrap_or(other))),
    }
}

/// `verify` asked of the running server.
pub fn verify(data_dir: &Path) -> Result<Option<VerifyReport>, String> {
    let Some(reader) = ask(data_dir, "verify")? else { return Ok(None) };
    serde_json::from_reader(reader).map(Some).map_err(|e| format!("the server's report: {e}"))
}
