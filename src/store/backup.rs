//! A backup: every tree of the database written as one stream, taken while no multi-tree
//! change is half done, and read back into an empty database (see docs/operations.md).
//!
//! The stream (format 1), all integers big-endian:
//!
//! ```text
//! "WXCHECKOUT-BACKUP\n"  format:u32  schema:u32  taken_at:i64  next_id:u64
//! ( 'T' name_len:u16 name  |  'K' key_len:u32 key value_len:u32 value )*
//! 'E' records:u64 sha256(every byte before it, header included):[u8; 32]
//! ```
//!
//! why our own stream rather than copying sled's files: sled 0.34 has no snapshot, and its
//! files copied while it writes are not a database; a stream of records is read back by the
//! same code that checks it, whatever sled does with its files.

use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

use super::{SCHEMA, Store, StoreError, codec, keys, listing};
use crate::domain::Order;
use crate::domain::alert::Alert;
use crate::domain::refund::Refund;

const MAGIC: &[u8] = b"WXCHECKOUT-BACKUP\n";
const FORMAT: u32 = 1;
/// The trees written by changes that hold the store's gate (`Store::changing`): a backup
/// reads them all while the gate is closed.
const GATED: [&str; 17] = [
    "orders",
    "tokens",
    "out_trade_nos",
    "transactions",
    "by_status",
    "events",
    "attention",
    "by_time",
    "by_channel",
    "by_phone",
    "by_stage",
    "outbox",
    "alert_log",
    "products",
    super::refunds::REFUNDS,
    super::refunds::REFUND_NOS,
    super::refunds::OPEN,
];
/// How far a restore moves ids past the backup's. Order numbers and `out_trade_no`s are made
/// from ids, and WeChat keeps those of orders placed after the backup and lost with the
/// restore: new orders must not take them again (WeChat would answer "order paid" for a new
/// order with a lost buyer's payment). 10⁸ ids are far more than a shop uses between a backup
/// and its restore (an order takes about five).
const RESTORE_ID_JUMP: u64 = 100_000_000;
/// Meta key: added to sled's id counter, so that ids after a restore continue past the
/// backup's (a restored database counts from zero again).
pub(super) const ID_FLOOR: &str = "id_floor";
/// Longest tree name, key and value a reader accepts (a corrupt length must not allocate
/// gigabytes): names are short, values are at most an image (10 MiB uploads, stored smaller).
const MAX_NAME: usize = 1024;
const MAX_VALUE: usize = 64 * 1024 * 1024;

/// The first part of the name of a backup taken before a schema upgrade.
pub const PRE_UPGRADE: &str = "pre-upgrade";
const EXT: &str = ".wxbak";

/// Where a data directory's backups are kept.
pub fn dir(data_dir: &Path) -> PathBuf {
    data_dir.join("backups")
}

/// `<kind>-YYYYMMDD-HHMMSSZ.wxbak`, the time in UTC: names sort by time within a kind.
pub fn file_name(kind: &str, unix: i64) -> String {
    let t = time::OffsetDateTime::from_unix_timestamp(unix).unwrap_or(time::OffsetDateTime::UNIX_EPOCH);
    let (d, h) = (t.date(), t.time());
    format!(
        "{kind}-{:04}{:02}{:02}-{:02}{:02}{:02}Z{EXT}",
        d.year(),
        u8::from(d.month()),
        d.day(),
        h.hour(),
        h.minute(),
        h.second()
    )
}

/// The kind and time in a name made by [`file_name`].
pub fn parse_file_name(name: &str) -> Option<(&str, i64)> {
    let stem = name.strip_suffix(EXT)?;
    let (kind, stamp) = stem.split_at_checked(stem.len().checked_sub(17)?)?;
    let stamp = stamp.strip_prefix('-')?.strip_suffix('Z')?;
    let format = time::macros::format_description!("[year][month][day]-[hour][minute][second]");
    let t = time::PrimitiveDateTime::parse(stamp, format).ok()?;
    (!kind.is_empty()).then_some((kind, t.assume_utc().unix_timestamp()))
}

/// What a backup holds, as its header and end say.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BackupSummary {
    pub schema: u32,
    pub taken_at: i64,
    pub records: u64,
    pub orders: u64,
    pub bytes: u64,
}

#[derive(Debug, thiserror::Error)]
pub enum BackupError {
    #[error("{0}")]
    Io(#[from] io::Error),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("not a wxcheckout backup")]
    NotABackup,
    #[error("backup format {0} is newer than this wxcheckout reads (format {FORMAT})")]
    NewerFormat(u32),
    #[error(
        "the backup was taken by a newer wxcheckout (schema {0}, this one writes {SCHEMA}); restore it with that version"
    )]
    NewerSchema(u32),
    #[error("the backup is damaged: {0}")]
    Damaged(String),
    #[error("{0} already holds a database; restore moves it aside only when no server runs on it")]
    Occupied(PathBuf),
}

impl From<sled::Error> for BackupError {
    fn from(e: sled::Error) -> Self {
        BackupError::Store(StoreError::Sled(e))
    }
}

impl Store {
    /// Writes every tree to `out` (see the module). Multi-tree changes wait meanwhile; reads
    /// and single-record writes go on. The caller flushes `out`.
    pub fn export(&self, now: i64, out: &mut impl Write) -> Result<BackupSummary, BackupError> {
        let quiet = self.gate.write().unwrap_or_else(|poisoned| poisoned.into_inner());
        let next_id = self.next_id()?;
        // why the directory's own: before an upgrade it is the older schema's.
        let schema = self.meta.get("schema")?.map_or(SCHEMA, |v| codec::u32_from(&v));
        let mut w = Hashing::new(out);
        w.put(MAGIC)?;
        w.put(&FORMAT.to_be_bytes())?;
        w.put(&schema.to_be_bytes())?;
        w.put(&now.to_be_bytes())?;
        w.put(&next_id.to_be_bytes())?;
        // why in two parts: the trees that changes under the gate write are read while it is
        // closed; the others (images, settings, the admin's records), each written a record
        // at a time, after it opens again, so the shop waits only for the first part.
        let (mut gated, mut rest): (Vec<_>, Vec<_>) =
            self.db.tree_names().into_iter().partition(|n| GATED.iter().any(|g| g.as_bytes() == &n[..]));
        gated.sort();
        rest.sort();
        let gated_count = gated.len();
        let mut quiet = Some(quiet);
        let (mut records, mut orders) = (0u64, 0u64);
        for (i, name) in gated.into_iter().chain(rest).enumerate() {
            if i == gated_count {
                quiet = None;
            }
            let tree = self.db.open_tree(&name)?;
            w.put(b"T")?;
            w.put(
                &u16::try_from(name.len())
                    .map_err(|_| BackupError::Damaged("tree name too long".into()))?
                    .to_be_bytes(),
            )?;
            w.put(&name)?;
            let is_orders = &*name == b"orders";
            for entry in tree.iter() {
                let (k, v) = entry?;
                w.put(b"K")?;
                w.put(&(k.len() as u32).to_be_bytes())?;
                w.put(&k)?;
                w.put(&(v.len() as u32).to_be_bytes())?;
                w.put(&v)?;
                records += 1;
                orders += u64::from(is_orders);
            }
        }
        drop(quiet);
        w.put(b"E")?;
        w.put(&records.to_be_bytes())?;
        let digest = w.hash.clone().finalize();
        w.put(&digest)?;
        Ok(BackupSummary { schema, taken_at: now, records, orders, bytes: w.written })
    }
}

/// Reads a backup from `input` into a new database at `data_dir/db`, which must not exist.
/// Nothing is left behind when the stream turns out damaged.
pub fn import(data_dir: &Path, input: &mut impl Read) -> Result<BackupSummary, BackupError> {
    let target = data_dir.join("db");
    if target.exists() {
        return Err(BackupError::Occupied(data_dir.to_owned()));
    }
    let partial = data_dir.join("db.restoring");
    if partial.exists() {
        std::fs::remove_dir_all(&partial)?;
    }
    std::fs::create_dir_all(data_dir)?;
    let result = sled::Config::new()
        .path(&partial)
        .mode(sled::Mode::LowSpace)
        .open()
        .map_err(BackupError::from)
        .and_then(|db| read_into(Some(&db), input));
    if result.is_err() {
        let _ = std::fs::remove_dir_all(&partial);
        return result;
    }
    // why a rename: the database appears at its place whole, or not at all.
    std::fs::rename(&partial, &target)?;
    sync_dir(&target)?;
    result
}

/// Reads a backup through to its end and checks it, writing nothing.
pub fn check(input: &mut impl Read) -> Result<BackupSummary, BackupError> {
    read_into(None, input)
}

/// Reads the stream, checking it, into `db` when given.
fn read_into(db: Option<&sled::Db>, input: &mut impl Read) -> Result<BackupSummary, BackupError> {
    let mut r = Hashing::new(input);
    let mut magic = [0u8; MAGIC.len()];
    r.take(&mut magic).map_err(|_| BackupError::NotABackup)?;
    if magic != MAGIC {
        return Err(BackupError::NotABackup);
    }
    let format = r.u32()?;
    if format > FORMAT {
        return Err(BackupError::NewerFormat(format));
    }
    let schema = r.u32()?;
    if schema > SCHEMA {
        return Err(BackupError::NewerSchema(schema));
    }
    let taken_at = r.u64()? as i64;
    let next_id = r.u64()?;
    let (mut records, mut orders) = (0u64, 0u64);
    let mut tree: Option<(Option<sled::Tree>, bool)> = None;
    let mut batch = sled::Batch::default();
    let mut batched = 0usize;
    loop {
        match r.byte()? {
            b'T' => {
                if let Some((Some(t), _)) = &tree {
                    t.apply_batch(std::mem::take(&mut batch))?;
                    batched = 0;
                }
                let len = usize::from(r.u16()?);
                let name = r.bytes(len, MAX_NAME)?;
                let t = db.map(|db| db.open_tree(&name)).transpose()?;
                tree = Some((t, name == b"orders"));
            }
            b'K' => {
                let Some((t, is_orders)) = &tree else {
                    return Err(BackupError::Damaged("a record before any tree".into()));
                };
                let klen = r.u32()? as usize;
                let key = r.bytes(klen, MAX_VALUE)?;
                let vlen = r.u32()? as usize;
                let value = r.bytes(vlen, MAX_VALUE)?;
                records += 1;
                orders += u64::from(*is_orders);
                if let Some(t) = t {
                    batch.insert(key, value);
                    batched += 1;
                    if batched >= 10_000 {
                        t.apply_batch(std::mem::take(&mut batch))?;
                        batched = 0;
                    }
                }
            }
            b'E' => {
                if let Some((Some(t), _)) = &tree {
                    t.apply_batch(std::mem::take(&mut batch))?;
                }
                let counted = r.u64()?;
                let expected = r.hash.clone().finalize();
                let mut found = [0u8; 32];
                r.take(&mut found)?;
                if counted != records || found[..] != expected[..] {
                    return Err(BackupError::Damaged("its checksum does not match its records".into()));
                }
                let mut extra = [0u8; 1];
                if r.inner.read(&mut extra)? != 0 {
                    return Err(BackupError::Damaged("bytes after its end".into()));
                }
                break;
            }
            other => return Err(BackupError::Damaged(format!("unknown record tag {other:#04x}"))),
        }
    }
    if let Some(db) = db {
        let floor = next_id.saturating_add(RESTORE_ID_JUMP);
        db.open_tree("meta")?.insert(ID_FLOOR, &floor.to_be_bytes())?;
        db.flush()?;
    }
    Ok(BackupSummary { schema, taken_at, records, orders, bytes: r.written })
}

/// Counts of what a data directory holds, and every inconsistency found.
#[derive(Debug, Default, serde::Serialize, serde::Deserialize)]
pub struct VerifyReport {
    pub schema: u32,
    pub counts: Vec<(String, usize)>,
    pub problems: Vec<String>,
    /// Problems found beyond the first `PROBLEMS_LISTED`.
    pub unlisted: usize,
}

/// Where an index key's `created_at · order number` suffix starts.
type SuffixOf = fn(&[u8]) -> &[u8];

/// Problems past this many are counted, not listed.
const PROBLEMS_LISTED: usize = 50;

impl VerifyReport {
    fn problem(&mut self, p: String) {
        if self.problems.len() < PROBLEMS_LISTED {
            self.problems.push(p);
        } else {
            self.unlisted += 1;
        }
    }
}

impl Store {
    /// Reads every record: orders with their indexes both ways, events, products, refunds
    /// and alerts must decode, and every index entry must lead to its order.
    pub fn verify(&self) -> Result<VerifyReport, StoreError> {
        let report = self.verify_once()?;
        if report.problems.is_empty() {
            return Ok(report);
        }
        // why again with the gate closed: a running shop may have moved an order between
        // reading it and reading its index; what is still wrong with changes held is wrong.
        let _quiet = self.gate.write().unwrap_or_else(|poisoned| poisoned.into_inner());
        self.verify_once()
    }

    fn verify_once(&self) -> Result<VerifyReport, StoreError> {
        let mut report = VerifyReport {
            schema: self.meta.get("schema")?.map_or(0, |v| codec::u32_from(&v)),
            ..VerifyReport::default()
        };
        if report.schema > SCHEMA {
            report.problem(format!("schema {} is newer than this version's {SCHEMA}", report.schema));
        }
        // why: an older directory gets these indexes at its upgrade, not before.
        let listing_built = self.meta.contains_key(listing::LISTING_BUILT)?;
        let stage_built = self.meta.contains_key(listing::STAGE_BUILT)?;
        let mut orders = 0;
        for entry in self.orders.iter() {
            let (k, v) = entry?;
            orders += 1;
            let no = String::from_utf8_lossy(&k).into_owned();
            let order: Order = match codec::decode(&v) {
                Ok(o) => o,
                Err(e) => {
                    report.problem(format!("order {no}: cannot be read ({e})"));
                    continue;
                }
            };
            self.verify_indexes_of(&order, listing_built, stage_built, &mut report)?;
        }
        let pointers: [(&str, &sled::Tree); 3] = [
            ("tokens", &self.tokens),
            ("out_trade_nos", &self.out_trade_nos),
            ("transactions", &self.transactions),
        ];
        for (name, tree) in pointers {
            for entry in tree.iter() {
                let (k, no) = entry?;
                if !self.orders.contains_key(&no)? {
                    let key = String::from_utf8_lossy(&k);
                    report.problem(format!(
                        "{name} {key}: points to a missing order {}",
                        String::from_utf8_lossy(&no)
                    ));
                }
            }
        }
        for entry in self.by_status.iter().keys() {
            let no = keys::order_no_of_status_key(&entry?);
            if !self.orders.contains_key(no.as_bytes())? {
                report.problem(format!("by_status: points to a missing order {no}"));
            }
        }
        // The listing indexes end in `created_at · order number`, after a prefix of their own.
        let listings: [(&str, &sled::Tree, SuffixOf); 4] = [
            ("by_time", &self.by_time, |k| k),
            ("by_channel", &self.by_channel, |k| k.get(1..).unwrap_or_default()),
            ("by_stage", &self.by_stage, |k| k.get(1..).unwrap_or_default()),
            ("by_phone", &self.by_phone, |k| k.splitn(2, |b| *b == 0).nth(1).unwrap_or_default()),
        ];
        for (name, tree, suffix) in listings {
            for entry in tree.iter().keys() {
                let key = entry?;
                let no = keys::order_no_of_suffix(suffix(&key));
                if !self.orders.contains_key(no.as_bytes())? {
                    report.problem(format!("{name}: points to a missing order {no}"));
                }
            }
        }
        let mut events = 0;
        for entry in self.events.iter() {
            let (k, v) = entry?;
            events += 1;
            let no =
                k.split(|b| *b == 0).next().map(String::from_utf8_lossy).unwrap_or_default().into_owned();
            if let Err(e) = codec::decode::<crate::domain::Event>(&v) {
                report.problem(format!("an event of order {no}: cannot be read ({e})"));
            }
        }
        let products = self.products()?.len();
        let mut refunds = 0;
        for v in self.feature_tree(super::refunds::REFUNDS)?.iter().values() {
            refunds += 1;
            if let Err(e) = codec::decode::<Refund>(&v?) {
                report.problem(format!("a refund: cannot be read ({e})"));
            }
        }
        let mut alerts = 0;
        for v in self.outbox.iter().values() {
            alerts += 1;
            if let Err(e) = codec::decode::<Alert>(&v?) {
                report.problem(format!("a pending alert: cannot be read ({e})"));
            }
        }
        report.counts = vec![
            ("orders".into(), orders),
            ("events".into(), events),
            ("products".into(), products),
            ("refunds".into(), refunds),
            ("attention".into(), self.attention.len()),
            ("pending alerts".into(), alerts),
        ];
        Ok(report)
    }

    fn verify_indexes_of(
        &self,
        order: &Order,
        listing_built: bool,
        stage_built: bool,
        report: &mut VerifyReport,
    ) -> Result<(), StoreError> {
        let no = &order.no;
        let expect = listing::IndexKeys::of(order);
        let mut missing = |what: &str, present: bool| {
            if !present {
                report.problem(format!("order {no}: missing from the {what} index"));
            }
        };
        missing("status", self.by_status.contains_key(&expect.status)?);
        if listing_built {
            missing("time", self.by_time.contains_key(&expect.time)?);
            if let Some(k) = &expect.channel {
                missing("channel", self.by_channel.contains_key(k)?);
            }
            if let Some(k) = &expect.phone {
                missing("phone", self.by_phone.contains_key(k)?);
            }
        }
        if let (true, Some(k)) = (stage_built, &expect.stage) {
            missing("fulfilment", self.by_stage.contains_key(k)?);
        }
        let points_here = |tree: &sled::Tree, key: &str| -> Result<bool, StoreError> {
            Ok(tree.get(key.as_bytes())?.is_some_and(|v| v == no.as_bytes()))
        };
        missing("token", points_here(&self.tokens, &order.token)?);
        for a in &order.attempts {
            missing("out_trade_no", points_here(&self.out_trade_nos, &a.out_trade_no)?);
            if let Some(tx) = &a.transaction_id {
                missing("transaction_id", points_here(&self.transactions, tx)?);
            }
        }
        Ok(())
    }
}

/// Writes a backup of the store to `path` whole or not at all: into a temporary file beside
/// it, synced, then renamed. Readable by the owner only (it holds buyers' addresses).
pub fn write_file(store: &Store, now: i64, path: &Path) -> Result<BackupSummary, BackupError> {
    write_file_with(path, |out| store.export(now, out))
}

/// Writes what `fill` produces to `path` as [`write_file`] does.
pub fn write_file_with(
    path: &Path,
    fill: impl FnOnce(&mut io::BufWriter<&std::fs::File>) -> Result<BackupSummary, BackupError>,
) -> Result<BackupSummary, BackupError> {
    let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    // why unique: two backups of one name at once must not write into one temporary file.
    let temp =
        path.with_file_name(format!(".{name}.{}-{}.partial", std::process::id(), rand::random::<u32>()));
    let result = (|| {
        let file = private_file(&temp)?;
        let mut out = io::BufWriter::new(&file);
        let summary = fill(&mut out)?;
        out.flush()?;
        drop(out);
        file.sync_all()?;
        std::fs::rename(&temp, path)?;
        sync_dir(path)?;
        Ok(summary)
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&temp);
    }
    result
}

/// A backup of the store in an unnamed file in `dir`, positioned at its start: the gate is
/// held only while the disk takes it, however slowly whoever reads it afterwards goes.
pub fn export_to_temp(
    store: &Store,
    now: i64,
    dir: &Path,
) -> Result<(std::fs::File, BackupSummary), BackupError> {
    use std::io::Seek;
    std::fs::create_dir_all(dir)?;
    let path = dir.join(format!(".export-{}-{}.partial", std::process::id(), rand::random::<u64>()));
    let file = private_file(&path);
    // why removed at once: the open handle keeps the bytes; a crash leaves nothing behind.
    let _ = std::fs::remove_file(&path);
    let mut file = file?;
    let summary = {
        let mut out = io::BufWriter::new(&file);
        let summary = store.export(now, &mut out)?;
        out.flush()?;
        summary
    };
    file.rewind()?;
    Ok((file, summary))
}

/// Makes a rename into `path`'s directory durable (a power cut must not undo it).
fn sync_dir(path: &Path) -> io::Result<()> {
    match path.parent().filter(|p| !p.as_os_str().is_empty()) {
        Some(dir) => std::fs::File::open(dir)?.sync_all(),
        None => std::fs::File::open(".")?.sync_all(),
    }
}

fn private_file(path: &Path) -> io::Result<std::fs::File> {
    use std::os::unix::fs::OpenOptionsExt;
    std::fs::OpenOptions::new().read(true).write(true).create_new(true).mode(0o600).open(path)
}

/// A writer or reader that hashes every byte passing through and counts them.
struct Hashing<T> {
    inner: T,
    hash: Sha256,
    written: u64,
}

impl<T> Hashing<T> {
    fn new(inner: T) -> Self {
        Hashing { inner, hash: Sha256::new(), written: 0 }
    }
}

impl<W: Write> Hashing<W> {
    fn put(&mut self, bytes: &[u8]) -> io::Result<()> {
        self.inner.write_all(bytes)?;
        self.hash.update(bytes);
        self.written += bytes.len() as u64;
        Ok(())
    }
}

impl<R: Read> Hashing<R> {
    fn take(&mut self, buf: &mut [u8]) -> Result<(), BackupError> {
        self.inner.read_exact(buf).map_err(|e| match e.kind() {
            io::ErrorKind::UnexpectedEof => BackupError::Damaged("it ends early (cut off?)".into()),
            _ => BackupError::Io(e),
        })?;
        self.hash.update(&*buf);
        self.written += buf.len() as u64;
        Ok(())
    }

    fn byte(&mut self) -> Result<u8, BackupError> {
        let mut b = [0u8; 1];
        self.take(&mut b)?;
        Ok(b[0])
    }

    fn u16(&mut self) -> Result<u16, BackupError> {
        let mut b = [0u8; 2];
        self.take(&mut b)?;
        Ok(u16::from_be_bytes(b))
    }

    fn u32(&mut self) -> Result<u32, BackupError> {
        let mut b = [0u8; 4];
        self.take(&mut b)?;
        Ok(u32::from_be_bytes(b))
    }

    fn u64(&mut self) -> Result<u64, BackupError> {
        let mut b = [0u8; 8];
        self.take(&mut b)?;
        Ok(u64::from_be_bytes(b))
    }

    fn bytes(&mut self, len: usize, max: usize) -> Result<Vec<u8>, BackupError> {
        if len > max {
            return Err(BackupError::Damaged(format!("a length of {len} bytes")));
        }
        let mut v = vec![0u8; len];
        self.take(&mut v)?;
        Ok(v)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_backup_file_name_carries_its_kind_and_utc_time_and_reads_back() {
        let name = file_name("pre-upgrade", 1_700_000_000);
        assert_eq!(name, "pre-upgrade-20231114-221320Z.wxbak");
        assert_eq!(parse_file_name(&name), Some(("pre-upgrade", 1_700_000_000)));
        assert_eq!(parse_file_name("daily-20231114-221320Z.wxbak.partial"), None);
        assert_eq!(parse_file_name("-20231114-221320Z.wxbak"), None);
        assert_eq!(parse_file_name("x.wxbak"), None);
    }
}
