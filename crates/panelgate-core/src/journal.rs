//! The request journal: every panel API request with its time, protocol, call, actor, status,
//! duration, the entities it touched, its redacted request and response, and for writes each
//! entity's change. The server records an entry after each answer ([`Journal::record`]); the
//! core notes, while the request runs, what it touches ([`scope`]).
//!
//! Where this process is the database's one user (SQLite), the journal is kept in memory.
//! On PostgreSQL and MariaDB it is a table that the instances share: entries are written by one
//! background task in batches, off the request path, through a queue bounded in entries and
//! bytes: when it is full an entry is dropped and counted (`panelgate_journal_dropped_total`),
//! never waited for. Either way it is kept to `journal_max_entries` entries and
//! `journal_max_bytes` bytes. The journal is not part of the store's state: a reset keeps it.

use std::cell::RefCell;
use std::future::Future;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use sea_orm::sea_query::Expr;
use sea_orm::{
    ColumnTrait, DatabaseConnection, EntityTrait, QueryFilter, QueryOrder, QuerySelect, Set,
};
use serde::Serialize;
use serde_json::{json, Map, Value};
use tokio::sync::{mpsc, oneshot};

use crate::entity::journal;
use crate::{Core, CoreError, CoreResult, SystemCap};

/// The most bytes of each text (request, response, changes) an entry keeps.
pub const TEXT_CAP: usize = 16 * 1024;
/// Entries waiting to be written; past it, entries are dropped.
const QUEUE: usize = 4096;
/// Bytes of entries waiting to be written; past it, entries are dropped.
const QUEUE_BYTES: usize = 8 * 1024 * 1024;
/// The journal is trimmed at most this often (and before every query).
const TRIM_EVERY: std::time::Duration = std::time::Duration::from_secs(1);
/// Entries per insert.
const BATCH: usize = 256;
/// Entities noted per request.
const MAX_ENTITIES: usize = 64;

tokio::task_local! {
    static SCOPE: RefCell<Touched>;
    static REQUEST: Request;
}

/// What the core knows of the panel API request it runs in, whether or not it is journaled.
#[derive(Debug, Default)]
struct Request {
    /// The panel API (`froxlor`, `plesk`, `ispsystem`, `httpapi`).
    protocol: &'static str,
    /// A fired fault rule's `fail_task`: backup tasks this request starts fail at this
    /// progress (percent).
    fail_tasks_at: std::cell::Cell<Option<i64>>,
}

/// Run `f` as a request of the panel API `protocol`: the customers it creates are noted as
/// created through it, and a fault rule's `fail_task` reaches the tasks it starts.
pub async fn request<F: Future>(protocol: &'static str, f: F) -> F::Output {
    REQUEST
        .scope(
            Request {
                protocol,
                ..Request::default()
            },
            f,
        )
        .await
}

/// The panel API the running request came through (`""` outside a [`request`]).
pub(crate) fn origin() -> &'static str {
    REQUEST.try_with(|r| r.protocol).unwrap_or("")
}

/// An entity a request touched: `kind:id`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Touch {
    pub kind: &'static str,
    pub id: i64,
}

impl Touch {
    /// The length of `kind:id`.
    fn text_len(&self) -> usize {
        let digits = if self.id == 0 {
            1
        } else {
            self.id.unsigned_abs().ilog10() as usize + 1
        };
        self.kind.len() + 1 + digits + usize::from(self.id < 0)
    }
}

impl std::fmt::Display for Touch {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}:{}", self.kind, self.id)
    }
}

/// What a request touched, as the core noted it.
#[derive(Clone, Debug, Default)]
pub struct Touched {
    /// In the order first touched.
    pub entities: Vec<Touch>,
    /// `{"entity": "kind:id", "change": {…}}` per write.
    pub changes: Vec<Value>,
}

/// Make the backup tasks the running request starts fail at `progress` percent (a fault
/// rule's `fail_task` effect; nothing outside a [`request`]).
pub fn fail_tasks_at(progress: i64) {
    let _ = REQUEST.try_with(|r| r.fail_tasks_at.set(Some(progress.clamp(0, 99))));
}

/// The failure a fault rule set for tasks the running request starts.
pub(crate) fn task_fault() -> Option<i64> {
    REQUEST.try_with(|r| r.fail_tasks_at.get()).ok().flatten()
}

/// Run `f` and collect what the core notes it touches.
pub async fn scope<F: Future>(f: F) -> (F::Output, Touched) {
    SCOPE
        .scope(RefCell::new(Touched::default()), async move {
            let out = f.await;
            let touched = SCOPE.with(|t| t.take());
            (out, touched)
        })
        .await
}

/// Note that the running request touched `kind:id` (nothing outside a [`scope`]).
pub(crate) fn touched(kind: &'static str, id: i64) {
    let _ = SCOPE.try_with(|t| {
        let entity = Touch { kind, id };
        let mut t = t.borrow_mut();
        if t.entities.len() < MAX_ENTITIES && !t.entities.contains(&entity) {
            t.entities.push(entity);
        }
    });
}

/// Note a committed write of `kind:id`: its fields before and after (`None`: it did not exist).
/// Secret fields (hashes, passwords, secrets) show as changed, never with their values.
pub(crate) fn changed<T: Serialize>(
    kind: &'static str,
    id: i64,
    before: Option<&T>,
    after: Option<&T>,
) {
    if SCOPE.try_with(|_| ()).is_err() {
        return;
    }
    touched(kind, id);
    let value = |v: Option<&T>| v.and_then(|v| serde_json::to_value(v).ok());
    let change = redacted(diff(value(before), value(after)));
    let _ = SCOPE.try_with(|t| {
        let mut t = t.borrow_mut();
        if t.changes.len() < MAX_ENTITIES {
            t.changes
                .push(json!({ "entity": format!("{kind}:{id}"), "change": change }));
        }
    });
}

fn secret_field(name: &str) -> bool {
    let n = name.to_ascii_lowercase();
    n.contains("password") || n.contains("secret") || n.contains("hash") || n.contains("digest")
}

/// Every value under a secret field name, at any depth, replaced by `***` (a diff of a secret
/// still shows that it changed).
fn redacted(v: Value) -> Value {
    match v {
        Value::Object(map) => Value::Object(
            map.into_iter()
                .map(|(k, v)| {
                    let v = if secret_field(&k) {
                        hide(v)
                    } else {
                        redacted(v)
                    };
                    (k, v)
                })
                .collect(),
        ),
        other => other,
    }
}

fn hide(v: Value) -> Value {
    match v {
        Value::Null => Value::Null,
        Value::Object(map) => Value::Object(map.into_iter().map(|(k, v)| (k, hide(v))).collect()),
        _ => Value::String("***".into()),
    }
}

/// The difference of two records: the fields that differ, each `{"before", "after"}`; a
/// creation or deletion shows the whole record.
pub fn diff(before: Option<Value>, after: Option<Value>) -> Value {
    match (before, after) {
        (Some(Value::Object(b)), Some(Value::Object(a))) => {
            let mut out = Map::new();
            for (k, after) in &a {
                let before = b.get(k).unwrap_or(&Value::Null);
                if before != after {
                    out.insert(k.clone(), json!({ "before": before, "after": after }));
                }
            }
            Value::Object(out)
        }
        (None, Some(a)) => json!({ "created": a }),
        (Some(b), None) => json!({ "deleted": b }),
        (b, a) => json!({ "before": b, "after": a }),
    }
}

/// A request's and an answer's texts as the server keeps them until the journal is read: packed
/// into the entry's one allocation on the request path, made into (redacted) texts by
/// [`Texts::unpacker`] only when the entry is read.
pub trait Texts {
    /// The bytes [`Texts::pack`] writes.
    fn packed_len(&self) -> usize;
    /// Append the packed form to `out`.
    fn pack(&self, out: &mut Vec<u8>);
    /// What makes the request's and the answer's texts from the packed form.
    fn unpacker(&self) -> Unpacker;
}

/// Makes the request's and the answer's texts from what [`Texts::pack`] wrote.
pub type Unpacker = fn(&[u8]) -> (String, String);

/// One answered request, as the server hands it over (borrowed: the journal copies what it
/// keeps into one allocation).
pub struct NewEntry<'a> {
    pub request_id: &'a str,
    pub protocol: &'a str,
    pub call: &'a str,
    pub actor: &'a str,
    pub status: u16,
    pub duration_ms: f64,
    pub touched: Touched,
    /// The request's and the answer's texts (the server knows each protocol's secrets).
    pub texts: &'a dyn Texts,
    /// The fault rule that fired (`rule 3: error`), or empty.
    pub fault: String,
}

/// A journal entry as the control API shows it.
#[derive(Clone, Debug, Serialize, PartialEq, utoipa::ToSchema)]
pub struct Entry {
    pub id: i64,
    pub at: i64,
    pub request_id: String,
    pub protocol: String,
    pub call: String,
    pub actor: String,
    pub status: i32,
    pub duration_ms: f64,
    pub entities: Vec<String>,
    pub request: String,
    pub response: String,
    /// Per write `{"entity": "kind:id", "change": {field: {"before", "after"}}}`.
    #[schema(value_type = Vec<Object>)]
    pub changes: Value,
    /// `rule <id>: <effect>` when a fault rule fired.
    pub fault: String,
}

/// What a journal query selects (every part optional), newest first.
#[derive(Clone, Debug, Default)]
pub struct Filter {
    pub protocol: Option<String>,
    pub call: Option<String>,
    /// `kind:id`.
    pub entity: Option<String>,
    pub status: Option<i32>,
    /// Entries at or after these Unix seconds.
    pub since: Option<i64>,
    /// Entries with a larger id (for following the journal).
    pub after_id: Option<i64>,
    /// At most this many (1–1000; default 100).
    pub limit: Option<u64>,
    /// The oldest first instead of the newest (to follow the journal page by page after
    /// `after_id` without skipping any).
    pub oldest_first: bool,
}

pub(crate) enum Msg {
    Entry(Box<journal::ActiveModel>),
    Flush(oneshot::Sender<()>),
}

/// Where the journal is kept.
#[derive(Clone, Debug)]
pub(crate) enum Queue {
    Off,
    /// In the database, shared by every instance on it: the queue to the writer task, and the
    /// bytes in it.
    Database(mpsc::Sender<Msg>, Arc<AtomicUsize>),
    /// In memory, where this process is the database's one user (SQLite): nothing to share,
    /// and no write per request.
    Memory(Arc<Memory>),
}

/// An entry in memory, its texts not made yet. Everything it holds from the request is in one
/// allocation (`blob`): an entry is dropped long after it was made, when its memory is no
/// longer in any cache, so each allocation it holds costs a miss then.
struct Held {
    id: i64,
    at: i64,
    status: i32,
    duration_ms: f64,
    /// protocol, request id, call, actor and the touched entities (comma-separated), each
    /// ended by a NUL, then the packed texts (from `texts_at`).
    blob: Box<[u8]>,
    texts_at: usize,
    unpack: Unpacker,
    changes: Value,
    fault: String,
    size: usize,
}

/// The parts of [`Held`]'s short texts.
struct Meta<'a> {
    protocol: &'a str,
    request_id: &'a str,
    call: &'a str,
    actor: &'a str,
    entities: &'a str,
}

impl Held {
    fn meta(&self) -> Meta<'_> {
        // Written from `&str`s and cut at character boundaries: always UTF-8.
        let text = std::str::from_utf8(&self.blob[..self.texts_at]).unwrap_or_default();
        let mut parts = text.split('\0');
        let mut next = || parts.next().unwrap_or("");
        Meta {
            protocol: next(),
            request_id: next(),
            call: next(),
            actor: next(),
            entities: next(),
        }
    }

    /// The entry as the control API shows it, without its texts.
    fn entry(&self) -> Entry {
        let m = self.meta();
        Entry {
            id: self.id,
            at: self.at,
            request_id: m.request_id.to_owned(),
            protocol: m.protocol.to_owned(),
            call: m.call.to_owned(),
            actor: m.actor.to_owned(),
            status: self.status,
            duration_ms: self.duration_ms,
            entities: entity_list(m.entities),
            request: String::new(),
            response: String::new(),
            changes: self.changes.clone(),
            fault: self.fault.clone(),
        }
    }
}

impl std::fmt::Debug for Held {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.entry().fmt(f)
    }
}

/// The journal in memory: newest last, within its bounds.
#[derive(Debug)]
pub(crate) struct Memory {
    #[allow(clippy::type_complexity)]
    entries: std::sync::Mutex<(std::collections::VecDeque<Held>, usize)>,
    next_id: std::sync::atomic::AtomicI64,
    max_entries: usize,
    max_bytes: usize,
}

impl std::fmt::Debug for Msg {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("journal message")
    }
}

impl Queue {
    /// Start the writer task on `db` (a connection outside the read cache's write tracking:
    /// the journal is never cached).
    pub(crate) fn start(
        db: DatabaseConnection,
        shared: bool,
        max_entries: u64,
        max_bytes: u64,
    ) -> Queue {
        if max_entries == 0 || max_bytes == 0 {
            return Queue::Off;
        }
        if !shared {
            return Queue::Memory(Arc::new(Memory {
                entries: std::sync::Mutex::default(),
                next_id: std::sync::atomic::AtomicI64::new(1),
                max_entries: usize::try_from(max_entries).unwrap_or(usize::MAX),
                max_bytes: usize::try_from(max_bytes).unwrap_or(usize::MAX),
            }));
        }
        let (tx, rx) = mpsc::channel(QUEUE);
        let queued = Arc::new(AtomicUsize::new(0));
        tokio::spawn(write_loop(db, rx, queued.clone(), max_entries, max_bytes));
        Queue::Database(tx, queued)
    }
}

async fn write_loop(
    db: DatabaseConnection,
    mut rx: mpsc::Receiver<Msg>,
    queued: Arc<AtomicUsize>,
    max_entries: u64,
    max_bytes: u64,
) {
    let mut trimmed = std::time::Instant::now();
    while let Some(first) = rx.recv().await {
        let (mut batch, mut flushes) = (Vec::new(), Vec::new());
        let mut next = Some(first);
        while let Some(m) = next.take() {
            match m {
                Msg::Entry(e) => {
                    let size = e.size.clone().unwrap() as usize;
                    queued.fetch_sub(size, Ordering::Relaxed);
                    batch.push(*e)
                }
                Msg::Flush(done) => flushes.push(done),
            }
            if batch.len() < BATCH {
                next = rx.try_recv().ok();
            }
        }
        if !batch.is_empty() {
            if let Err(e) = journal::Entity::insert_many(batch).exec(&db).await {
                tracing::warn!(error = %e, "journal: writing entries");
            }
        }
        if trimmed.elapsed() >= TRIM_EVERY || !flushes.is_empty() {
            trimmed = std::time::Instant::now();
            if let Err(e) = trim(&db, max_entries, max_bytes).await {
                tracing::warn!(error = %e, "journal: trimming");
            }
        }
        for done in flushes {
            let _ = done.send(());
        }
    }
}

/// Keep the newest `max_entries` entries within `max_bytes`.
async fn trim(db: &DatabaseConnection, max_entries: u64, max_bytes: u64) -> CoreResult<()> {
    use journal::Column as J;
    let mut cutoff: Option<i64> = journal::Entity::find()
        .select_only()
        .column(J::Id)
        .order_by_desc(J::Id)
        .offset(max_entries)
        .limit(1)
        .into_tuple()
        .one(db)
        .await?;
    // Newest first, a page at a time, until the sizes pass the cap (at most max_entries rows).
    let (mut total, mut before) = (0u64, i64::MAX);
    'pages: loop {
        let page: Vec<(i64, i64)> = journal::Entity::find()
            .select_only()
            .columns([J::Id, J::Size])
            .filter(J::Id.lt(before))
            .order_by_desc(J::Id)
            .limit(1000)
            .into_tuple()
            .all(db)
            .await?;
        let Some(last) = page.last() else { break };
        before = last.0;
        for (id, size) in &page {
            total = total.saturating_add((*size).max(0) as u64);
            if total > max_bytes {
                cutoff = Some(cutoff.map_or(*id, |c| c.max(*id)));
                break 'pages;
            }
        }
        if cutoff.is_some_and(|c| c >= before) {
            break;
        }
    }
    if let Some(c) = cutoff {
        journal::Entity::delete_many()
            .filter(J::Id.lte(c))
            .exec(db)
            .await?;
    }
    Ok(())
}

impl Memory {
    fn push(&self, at: i64, e: NewEntry<'_>) {
        let entities = &e.touched.entities;
        let meta_len = e.protocol.len()
            + e.request_id.len()
            + e.call.len()
            + e.actor.len()
            + entities.iter().map(|t| t.text_len() + 1).sum::<usize>()
            + 5;
        let mut blob = Vec::with_capacity(meta_len + e.texts.packed_len());
        for part in [e.protocol, e.request_id, e.call, e.actor] {
            // A NUL in a part (a call named by request text) would shift the others.
            if part.contains('\0') {
                blob.extend_from_slice(part.replace('\0', "").as_bytes());
            } else {
                blob.extend_from_slice(part.as_bytes());
            }
            blob.push(0);
        }
        for (i, entity) in entities.iter().enumerate() {
            if i > 0 {
                blob.push(b',');
            }
            use std::io::Write;
            let _ = write!(blob, "{entity}");
        }
        let texts_at = blob.len();
        e.texts.pack(&mut blob);
        // A write's changes hold whole records: kept whole up to the text cap, else as their
        // capped text (counted either way).
        let mut changes = Value::Array(e.touched.changes);
        let changes_len = if changes.as_array().is_some_and(Vec::is_empty) {
            2
        } else {
            let text = changes.to_string();
            if text.len() > TEXT_CAP {
                changes = Value::String(capped(text));
                TEXT_CAP + 64
            } else {
                text.len()
            }
        };
        let size = blob.len() + changes_len + e.fault.len() + 128;
        let mut held = Held {
            // Given under the lock below, so that ids grow in the order entries are kept.
            id: 0,
            at,
            status: i32::from(e.status),
            duration_ms: e.duration_ms,
            blob: blob.into_boxed_slice(),
            texts_at,
            unpack: e.texts.unpacker(),
            changes,
            fault: e.fault,
            size,
        };
        let mut guard = self.entries.lock().expect("journal lock");
        let (entries, bytes) = &mut *guard;
        held.id = self.next_id.fetch_add(1, Ordering::Relaxed);
        entries.push_back(held);
        *bytes += size;
        while entries.len() > self.max_entries || (*bytes > self.max_bytes && entries.len() > 1) {
            if let Some(gone) = entries.pop_front() {
                *bytes -= gone.size;
            }
        }
    }

    fn query(&self, f: &Filter, limit: usize) -> Vec<Entry> {
        let picked: Vec<(Entry, Box<[u8]>, Unpacker)> = {
            let held = self.entries.lock().expect("journal lock");
            let ordered: Box<dyn Iterator<Item = &Held>> = if f.oldest_first {
                Box::new(held.0.iter())
            } else {
                Box::new(held.0.iter().rev())
            };
            ordered
                .filter(|h| {
                    let m = h.meta();
                    f.protocol.as_ref().is_none_or(|p| m.protocol == p)
                        && f.call.as_ref().is_none_or(|c| m.call == c)
                        && f.status.is_none_or(|s| h.status == s)
                        && f.since.is_none_or(|s| h.at >= s)
                        && f.after_id.is_none_or(|a| h.id > a)
                        && f.entity
                            .as_ref()
                            .is_none_or(|x| m.entities.split(',').any(|e| e == x))
                })
                .take(limit)
                .map(|h| (h.entry(), h.blob[h.texts_at..].into(), h.unpack))
                .collect()
        };
        // The texts are made outside the lock.
        picked
            .into_iter()
            .map(|(mut entry, packed, unpack)| {
                let (request, response) = unpack(&packed);
                entry.request = capped(request);
                entry.response = capped(response);
                entry
            })
            .collect()
    }
}

/// The entities of a comma-separated list (`,customer:42,task:3,` as the database keeps it, or
/// without the outer commas as the memory journal does).
fn entity_list(list: &str) -> Vec<String> {
    list.split(',')
        .filter(|e| !e.is_empty())
        .map(str::to_owned)
        .collect()
}

/// The longest short field (call, actor, request id, fault, the entity list) an entry keeps:
/// what a `varchar(255)` column holds, with room for the list's commas.
const SHORT_FIELD: usize = 250;

/// `text` cut to at most `max` bytes, at a character boundary.
fn cut_str(text: &str, max: usize) -> &str {
    if text.len() <= max {
        return text;
    }
    let mut end = max;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    &text[..end]
}

/// Cut `text` to at most `max` bytes, at a character boundary.
fn cut(text: &mut String, max: usize) {
    let end = cut_str(text, max).len();
    text.truncate(end);
}

/// Cut `text` to [`TEXT_CAP`] bytes (at a character boundary), saying how long it was.
pub fn capped(text: String) -> String {
    if text.len() <= TEXT_CAP {
        return text;
    }
    let mut end = TEXT_CAP;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}… [{} bytes in all]", &text[..end], text.len())
}

/// The journal of a core.
pub struct Journal<'a> {
    pub(crate) core: &'a Core,
}

impl Journal<'_> {
    /// Is the journal on (`journal_max_entries` and `journal_max_bytes` above 0)?
    pub fn enabled(&self) -> bool {
        !matches!(self.core.inner.journal, Queue::Off)
    }

    /// Queue an entry; never waits (a full queue drops it, counted).
    pub fn record(&self, mut e: NewEntry<'_>) {
        // The short fields come (partly) from request text: each is cut to what a database
        // column holds, so one long `func` can neither fail a batch nor grow the journal.
        for field in [
            &mut e.request_id,
            &mut e.protocol,
            &mut e.call,
            &mut e.actor,
        ] {
            *field = cut_str(field, SHORT_FIELD);
        }
        cut(&mut e.fault, SHORT_FIELD);
        let mut kept = 1;
        while kept < e.touched.entities.len()
            && e.touched.entities[..=kept]
                .iter()
                .map(|t| t.text_len() + 1)
                .sum::<usize>()
                < SHORT_FIELD
        {
            kept += 1;
        }
        e.touched.entities.truncate(kept);
        let (tx, queued) = match &self.core.inner.journal {
            Queue::Off => return,
            Queue::Memory(memory) => return memory.push(self.core.now(), e),
            Queue::Database(tx, queued) => (tx, queued),
        };
        let mut packed = Vec::with_capacity(e.texts.packed_len());
        e.texts.pack(&mut packed);
        let (request, response) = (e.texts.unpacker())(&packed);
        let (request, response) = (capped(request), capped(response));
        let changes = capped(Value::Array(e.touched.changes).to_string());
        // `,kind:id,kind:id,` (a list a LIKE can find `,kind:id,` in), or empty.
        let mut entities = String::new();
        for t in &e.touched.entities {
            use std::fmt::Write;
            let _ = write!(entities, ",{t}");
        }
        if !entities.is_empty() {
            entities.push(',');
        }
        let size = request.len() + response.len() + changes.len() + entities.len();
        let row = journal::ActiveModel {
            at: Set(self.core.now()),
            request_id: Set(e.request_id.to_owned()),
            protocol: Set(e.protocol.to_owned()),
            call: Set(e.call.to_owned()),
            actor: Set(e.actor.to_owned()),
            status: Set(i32::from(e.status)),
            duration_ms: Set(e.duration_ms),
            entities: Set(entities),
            request: Set(request),
            response: Set(response),
            changes: Set(changes),
            size: Set(size as i64),
            fault: Set(e.fault),
            ..Default::default()
        };
        // Counted before it is sent, so the writer's subtraction never comes first.
        if queued.fetch_add(size, Ordering::Relaxed) + size > QUEUE_BYTES
            || tx.try_send(Msg::Entry(Box::new(row))).is_err()
        {
            queued.fetch_sub(size, Ordering::Relaxed);
            metrics::counter!("panelgate_journal_dropped_total").increment(1);
        }
    }

    /// Wait until every entry queued so far is written.
    pub async fn flush(&self) {
        if let Queue::Database(tx, _) = &self.core.inner.journal {
            let (done, written) = oneshot::channel();
            if tx.send(Msg::Flush(done)).await.is_ok() {
                let _ = written.await;
            }
        }
    }

    /// Entries matching `filter`, newest first (after a [`Journal::flush`]).
    pub async fn query(&self, _system: &SystemCap, filter: &Filter) -> CoreResult<Vec<Entry>> {
        use journal::Column as J;
        if let Some(entity) = &filter.entity {
            let valid = entity.split_once(':').is_some_and(|(kind, id)| {
                !kind.is_empty()
                    && kind.bytes().all(|b| b.is_ascii_lowercase() || b == b'_')
                    && id.parse::<i64>().is_ok()
            });
            if !valid {
                return Err(CoreError::Invalid {
                    field: "entity",
                    reason: format!("{entity:?} is not kind:id (e.g. customer:42)"),
                });
            }
        }
        let limit = filter.limit.unwrap_or(100).clamp(1, 1000);
        if let Queue::Memory(memory) = &self.core.inner.journal {
            return Ok(memory.query(filter, limit as usize));
        }
        self.flush().await;
        let mut q = if filter.oldest_first {
            journal::Entity::find().order_by_asc(J::Id)
        } else {
            journal::Entity::find().order_by_desc(J::Id)
        };
        if let Some(p) = &filter.protocol {
            q = q.filter(J::Protocol.eq(p.as_str()));
        }
        if let Some(c) = &filter.call {
            q = q.filter(J::Call.eq(c.as_str()));
        }
        if let Some(s) = filter.status {
            q = q.filter(J::Status.eq(s));
        }
        if let Some(since) = filter.since {
            q = q.filter(J::At.gte(since));
        }
        if let Some(after) = filter.after_id {
            q = q.filter(J::Id.gt(after));
        }
        if let Some(entity) = &filter.entity {
            // `%`, `_` cannot occur in a checked entity but `_`: escape it.
            let pattern = format!(",{},", entity).replace('_', "\\_");
            q = q.filter(
                Expr::col(J::Entities)
                    .like(sea_orm::sea_query::LikeExpr::new(format!("%{pattern}%")).escape('\\')),
            );
        }
        let rows = q.limit(limit).all(self.core.reader()).await?;
        Ok(rows
            .into_iter()
            .map(|r| Entry {
                id: r.id,
                at: r.at,
                request_id: r.request_id,
                protocol: r.protocol,
                call: r.call,
                actor: r.actor,
                status: r.status,
                duration_ms: r.duration_ms,
                entities: entity_list(&r.entities),
                request: r.request,
                response: r.response,
                changes: serde_json::from_str(&r.changes).unwrap_or(Value::Null),
                fault: r.fault,
            })
            .collect())
    }

    /// Remove every entry.
    pub async fn clear(&self, _system: &SystemCap) -> CoreResult<u64> {
        if let Queue::Memory(memory) = &self.core.inner.journal {
            let mut held = memory.entries.lock().expect("journal lock");
            let n = held.0.len() as u64;
            *held = Default::default();
            return Ok(n);
        }
        self.flush().await;
        let done = journal::Entity::delete_many()
            .exec(&self.core.inner.db)
            .await?;
        Ok(done.rows_affected)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_diff_names_changed_fields_and_hides_secrets() {
        let before = json!({"name": "A", "email": "a@x", "password_hash": "h1"});
        let after = json!({"name": "B", "email": "a@x", "password_hash": "h22"});
        let d = redacted(diff(Some(before.clone()), Some(after)));
        assert_eq!(d["name"], json!({"before": "A", "after": "B"}));
        assert!(d.get("email").is_none());
        assert_eq!(d["password_hash"], json!({"before": "***", "after": "***"}));
        assert!(!d.to_string().contains("h22"));
        let created = redacted(diff(None, Some(before)));
        assert_eq!(created["created"]["name"], "A");
        assert_eq!(created["created"]["password_hash"], "***");
    }

    #[test]
    fn a_touch_knows_its_text_length() {
        for id in [0, 1, 9, 10, 99, 100, 12_345, -1, -10, i64::MAX, i64::MIN] {
            let t = Touch {
                kind: "customer",
                id,
            };
            assert_eq!(t.text_len(), t.to_string().len(), "{id}");
        }
    }

    #[test]
    fn texts_are_capped_at_a_character_boundary() {
        let long = "é".repeat(TEXT_CAP);
        let cut = capped(long.clone());
        assert!(cut.len() < long.len());
        assert!(cut.ends_with(&format!("[{} bytes in all]", long.len())));
        assert_eq!(capped("short".into()), "short");
    }
}
