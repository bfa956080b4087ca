//! The gate: every connection to the server passes here before Rocket sees it.
//!
//! Rocket 0.5 serves hyper with no header-read timeout and no connection limit, and offers no
//! way to give it a listener of our own. So the server listens here, on the public address, and
//! Rocket on a loopback port only the gate connects to. For each connection the gate:
//!
//! - refuses it at once when its client address already holds `per_address` connections;
//! - when `max` connections are open, makes room by closing the oldest connection that has not
//!   finished its first request's headers (a slow or half-open client), else refuses;
//! - reads the first request's headers itself, within `header_timeout` (answering 408 when they
//!   do not come, 431 when they pass 64 KiB), and only then connects to Rocket;
//! - then relays bytes both ways, and closes a connection idle for `idle_timeout`.
//!
//! So a client that never finishes its headers holds a socket for seconds, not forever, and one
//! address cannot take every socket the process may open. Rocket sees the gate's loopback
//! address as the peer; [`peer`] gives handlers the client's real one, from the table the gate
//! keeps of its connections to Rocket (docs/decisions.md, "The gate in front of Rocket").

use std::collections::{BTreeMap, HashMap};
use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use rocket::Shutdown;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWriteExt};
use tokio::net::tcp::OwnedWriteHalf;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::Notify;

use crate::log_summary::Summary;

/// The first request's headers may be at most this long (hyper's own limit is larger; no
/// browser or WeChat message comes near it).
const MAX_HEAD: usize = 64 * 1024;
const BUF: usize = 8 * 1024;

/// How the gate bounds connections (`[connections]` in the configuration).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    pub header_timeout: Duration,
    pub idle_timeout: Duration,
    pub per_address: usize,
    pub max: usize,
}

/// The gate's shared state: the slots in use and the table of its connections to Rocket.
pub struct Gate {
    limits: Limits,
    slots: Mutex<Slots>,
    /// The local address of each of the gate's connections to Rocket (what Rocket reports as
    /// the remote) → the client's address.
    peers: Mutex<HashMap<SocketAddr, SocketAddr>>,
}

#[derive(Default)]
struct Slots {
    open: usize,
    per_address: HashMap<IpAddr, usize>,
    next_id: u64,
    /// Connections still waiting for their first headers, oldest first, with the signal that
    /// closes them.
    waiting: BTreeMap<u64, Arc<Notify>>,
}

/// Refused and cut connections: logged in summary, at most one line a minute per reason
/// (never one line each).
static REFUSED: Summary = Summary::warn("connection refused or cut", "connections refused or cut");
static ACCEPT_FAILED: Summary = Summary::warn("accept failed; pausing 100 ms", "accepts failed");

const OVER_PER_ADDRESS: &str = "over the per-address limit";
const SERVER_FULL: &str = "server full";
const HEADERS_TOO_SLOW: &str = "headers too slow";

impl Gate {
    pub fn new(limits: Limits) -> Arc<Gate> {
        Arc::new(Gate { limits, slots: Mutex::new(Slots::default()), peers: Mutex::new(HashMap::new()) })
    }

    /// The client behind Rocket's `remote`: the address the gate accepted the connection from,
    /// or `remote` itself for a connection that did not come through the gate.
    pub fn peer_of(&self, remote: SocketAddr) -> SocketAddr {
        lock(&self.peers).get(&remote).copied().unwrap_or(remote)
    }

    /// Accepts connections on `listener` and relays each to Rocket at `inner` until `shutdown`.
    pub async fn run(self: Arc<Self>, listener: TcpListener, inner: SocketAddr, shutdown: Shutdown) {
        loop {
            let accepted = tokio::select! {
                biased;
                _ = shutdown.clone() => break,
                accepted = listener.accept() => accepted,
            };
            match accepted {
                Ok((stream, peer)) => match self.admit(peer.ip()) {
                    Some(ticket) => {
                        tokio::spawn(serve(stream, peer, inner, ticket, shutdown.clone()));
                    }
                    None => drop(stream),
                },
                // why a pause: with no file descriptor left (EMFILE) accept fails at once
                // and would spin; the half-open connections the gate cuts free them.
                Err(e) => {
                    ACCEPT_FAILED.note("accept", || e.to_string());
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
            }
        }
    }

    /// A slot for a connection from `ip`, or `None` (refused).
    fn admit(self: &Arc<Self>, ip: IpAddr) -> Option<Ticket> {
        let ip = crate::wxpay::canonical_ip(ip);
        let mut slots = lock(&self.slots);
        if slots.per_address.get(&ip).copied().unwrap_or(0) >= self.limits.per_address {
            drop(slots);
            REFUSED.note(OVER_PER_ADDRESS, || format!("from {ip}"));
            return None;
        }
        if slots.open >= self.limits.max {
            // why the oldest that is still waiting for its headers: it is the one most likely
            // to be a slow or half-open client, and a served request is never cut for it.
            let Some((_, close)) = slots.waiting.pop_first() else {
                drop(slots);
                REFUSED.note(SERVER_FULL, || format!("from {ip}; {} open", self.limits.max));
                return None;
            };
            close.notify_one();
        }
        slots.open += 1;
        *slots.per_address.entry(ip).or_insert(0) += 1;
        let id = slots.next_id;
        slots.next_id += 1;
        let close = Arc::new(Notify::new());
        slots.waiting.insert(id, Arc::clone(&close));
        Some(Ticket { gate: Arc::clone(self), ip, id, close })
    }
}

/// One admitted connection's slot, given back when it is dropped.
struct Ticket {
    gate: Arc<Gate>,
    ip: IpAddr,
    id: u64,
    /// Notified when the gate needs this slot back before the headers came.
    close: Arc<Notify>,
}

impl Ticket {
    /// The headers came: from now on the connection is never closed to make room.
    fn headers_read(&self) {
        lock(&self.gate.slots).waiting.remove(&self.id);
    }
}

impl Drop for Ticket {
    fn drop(&mut self) {
        let mut slots = lock(&self.gate.slots);
        slots.open = slots.open.saturating_sub(1);
        slots.waiting.remove(&self.id);
        if let Some(n) = slots.per_address.get_mut(&self.ip) {
            *n = n.saturating_sub(1);
            if *n == 0 {
                slots.per_address.remove(&self.ip);
            }
        }
    }
}

/// Removes a connection to Rocket from the peer table when the relay ends.
struct PeerEntry<'a> {
    gate: &'a Gate,
    local: SocketAddr,
}

impl Drop for PeerEntry<'_> {
    fn drop(&mut self) {
        lock(&self.gate.peers).remove(&self.local);
    }
}

/// How reading the first request's headers ended.
enum Head {
    Read,
    TooLarge,
    Closed,
}

async fn serve(
    mut client: TcpStream,
    peer: SocketAddr,
    inner: SocketAddr,
    ticket: Ticket,
    shutdown: Shutdown,
) {
    let gate = Arc::clone(&ticket.gate);
    let limits = gate.limits;
    let _ = client.set_nodelay(true);
    let mut head = Vec::with_capacity(1024);
    let read = tokio::select! {
        biased;
        _ = shutdown => return,
        _ = ticket.close.notified() => {
            REFUSED.note(HEADERS_TOO_SLOW, || format!("from {peer}"));
            return;
        }
        read = tokio::time::timeout(limits.header_timeout, read_head(&mut client, &mut head)) => read,
    };
    match read {
        Ok(Head::Read) => {}
        Ok(Head::Closed) => return,
        Ok(Head::TooLarge) => {
            let _ = client.write_all(&plain_answer("431 Request Header Fields Too Large")).await;
            return;
        }
        Err(_) => {
            REFUSED.note(HEADERS_TOO_SLOW, || format!("from {peer}"));
            let _ = client.write_all(&plain_answer("408 Request Timeout")).await;
            return;
        }
    }
    ticket.headers_read();
    let Ok(mut to_rocket) = TcpStream::connect(inner).await else { return };
    let _ = to_rocket.set_nodelay(true);
    let Ok(local) = to_rocket.local_addr() else { return };
    lock(&gate.peers).insert(local, peer);
    let _entry = PeerEntry { gate: &gate, local };
    if to_rocket.write_all(&head).await.is_err() {
        return;
    }
    drop(head);
    relay(client, to_rocket, limits.idle_timeout).await;
    drop(ticket);
}

/// Reads until the end of the first request's headers (`\r\n\r\n`) is in `head`.
async fn read_head<S: AsyncRead + Unpin>(stream: &mut S, head: &mut Vec<u8>) -> Head {
    let mut buf = [0u8; BUF];
    loop {
        let n = match stream.read(&mut buf).await {
            Ok(0) | Err(_) => return Head::Closed,
            Ok(n) => n,
        };
        let from = head.len().saturating_sub(3);
        head.extend_from_slice(&buf[..n]);
        if head[from..].windows(4).any(|w| w == b"\r\n\r\n") {
            return Head::Read;
        }
        if head.len() > MAX_HEAD {
            return Head::TooLarge;
        }
    }
}

/// Copies bytes both ways until the server side closes, either side fails, or nothing moves
/// for `idle` (a write that cannot go on for that long counts as idle too).
async fn relay(client: TcpStream, server: TcpStream, idle: Duration) {
    let (mut client_read, mut client_write) = client.into_split();
    let (mut server_read, mut server_write) = server.into_split();
    let mut up = vec![0u8; BUF];
    let mut down = vec![0u8; BUF];
    let mut client_open = true;
    // why one timer, moved only when it fires: arming a new one at every read cost a timer
    // registration and cancellation per request and answer (docs/performance.md).
    let mut last = tokio::time::Instant::now();
    let deadline = tokio::time::sleep(idle);
    tokio::pin!(deadline);
    loop {
        tokio::select! {
            read = client_read.read(&mut up), if client_open => match read {
                Ok(0) | Err(_) => {
                    // why go on: the answer to what the client sent may still be coming.
                    client_open = false;
                    let _ = server_write.shutdown().await;
                }
                Ok(n) => {
                    if !write_within(&mut server_write, &up[..n], idle).await {
                        return;
                    }
                    last = tokio::time::Instant::now();
                }
            },
            read = server_read.read(&mut down) => match read {
                Ok(0) | Err(_) => return,
                Ok(n) => {
                    if !write_within(&mut client_write, &down[..n], idle).await {
                        return;
                    }
                    last = tokio::time::Instant::now();
                }
            },
            () = &mut deadline => {
                let due = last + idle;
                if tokio::time::Instant::now() >= due {
                    return;
                }
                deadline.as_mut().reset(due);
            }
        }
    }
}

/// Writes `bytes`, giving up after `within` without progress of the whole write.
///
/// why try first: a socket almost always takes a request or an answer at once; the timer
/// is armed only when it does not.
async fn write_within(w: &mut OwnedWriteHalf, mut bytes: &[u8], within: Duration) -> bool {
    while !bytes.is_empty() {
        match w.try_write(bytes) {
            Ok(0) => return false,
            Ok(n) => bytes = bytes.get(n..).unwrap_or_default(),
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => break,
            Err(_) => return false,
        }
    }
    bytes.is_empty() || matches!(tokio::time::timeout(within, w.write_all(bytes)).await, Ok(Ok(())))
}

fn plain_answer(status: &str) -> Vec<u8> {
    format!("HTTP/1.1 {status}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n").into_bytes()
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

/// The client address of a request: the gate's record of the connection, else Rocket's peer.
pub fn peer(req: &rocket::Request<'_>) -> Option<SocketAddr> {
    let remote = req.remote()?;
    Some(req.rocket().state::<Arc<Gate>>().map_or(remote, |gate| gate.peer_of(remote)))
}

/// The number of connections the gate allows at once when none is configured: what the
/// process's open-file limit leaves room for. Each client connection takes three descriptors
/// (the client's socket, the gate's to Rocket, Rocket's own); 64 stay for the database, logs
/// and WeChat calls.
pub fn default_max(open_files: u64) -> usize {
    usize::try_from(open_files.saturating_sub(64) / 3).unwrap_or(usize::MAX).clamp(16, 16_384)
}

/// Raises this process's soft limit on open files to its hard limit (as Go and the JVM do),
/// and returns the soft limit in effect. systemd starts services at a soft 1,024 with a far
/// higher hard limit.
pub fn raise_open_files_limit() -> u64 {
    use rustix::process::{Resource, Rlimit, getrlimit, setrlimit};
    let limit = getrlimit(Resource::Nofile);
    // why `None` as unlimited: RLIM_INFINITY; cap the figure used for sizing.
    let current = limit.current.unwrap_or(1 << 20);
    if limit.current.is_some() && limit.current < limit.maximum.or(Some(u64::MAX)) {
        let raised = Rlimit { current: limit.maximum, maximum: limit.maximum };
        if setrlimit(Resource::Nofile, raised).is_ok() {
            return limit.maximum.unwrap_or(1 << 20);
        }
    }
    current
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limits(per_address: usize, max: usize) -> Limits {
        Limits {
            header_timeout: Duration::from_secs(10),
            idle_timeout: Duration::from_secs(60),
            per_address,
            max,
        }
    }

    const A: IpAddr = IpAddr::V4(std::net::Ipv4Addr::new(203, 0, 113, 1));
    const B: IpAddr = IpAddr::V4(std::net::Ipv4Addr::new(203, 0, 113, 2));

    #[test]
    fn an_address_gets_at_most_its_share_of_connections_and_gets_them_back_when_they_close() {
        let gate = Gate::new(limits(2, 100));
        let first = gate.admit(A).expect("first");
        let _second = gate.admit(A).expect("second");
        assert!(gate.admit(A).is_none(), "a third from the same address is refused");
        assert!(gate.admit(B).is_some(), "another address is not");
        drop(first);
        assert!(gate.admit(A).is_some(), "a closed connection gives its slot back");
    }

    #[test]
    fn a_full_gate_closes_the_oldest_connection_still_waiting_for_headers_to_let_a_new_one_in() {
        let gate = Gate::new(limits(10, 3));
        let oldest = gate.admit(A).expect("1");
        let served = gate.admit(A).expect("2");
        served.headers_read();
        let _third = gate.admit(A).expect("3");
        let newcomer = gate.admit(B);
        assert!(newcomer.is_some(), "room was made");
        // The oldest waiting connection was told to close (its permit is stored).
        let told = tokio_test_notified(&oldest.close);
        assert!(told, "the oldest half-open connection is closed");
        assert!(!tokio_test_notified(&served.close), "a connection being served is never cut");
    }

    #[test]
    fn a_full_gate_with_every_connection_being_served_refuses_a_new_one() {
        let gate = Gate::new(limits(10, 2));
        let a = gate.admit(A).expect("1");
        a.headers_read();
        let b = gate.admit(A).expect("2");
        b.headers_read();
        assert!(gate.admit(B).is_none());
    }

    #[test]
    fn the_default_maximum_leaves_room_for_three_descriptors_per_connection() {
        assert_eq!(default_max(1024), 320);
        assert_eq!(default_max(10), 16, "never below a usable floor");
    }

    /// Whether `n` holds a stored permit (without waiting).
    fn tokio_test_notified(n: &Notify) -> bool {
        let rt = tokio::runtime::Builder::new_current_thread().enable_time().build().expect("runtime");
        rt.block_on(async { tokio::time::timeout(Duration::from_millis(1), n.notified()).await.is_ok() })
    }
}
