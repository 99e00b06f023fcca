//! Prometheus metrics (`GET /_panelgate/metrics`), through the `metrics` facade: the process has
//! one recorder, installed by the first [`handle`] call, which every app in the process shares.
//!
//! What is recorded:
//! * `panelgate_requests_total{protocol,call,status}` and the histogram
//!   `panelgate_request_duration_seconds{protocol,call}` (in [`record_request`]);
//! * `panelgate_archive_bytes_written_total` and `panelgate_archive_bytes_read_total{via}` (by
//!   the core's archive writer and reader, and by downloads);
//! * at each scrape, the gauges `panelgate_backup_tasks{state}` and
//!   `panelgate_db_connections{pool,state}` (see [`render`]).

use std::collections::{HashMap, HashSet};
use std::sync::{Once, OnceLock, RwLock};

use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};
use panelgate_core::{Core, SystemCap};

/// Distinct `call` labels kept; further calls are counted as `(other)`, so request text cannot
/// grow the registry without bound.
pub const MAX_CALL_LABELS: usize = 512;

/// Seconds: the request duration histogram's bucket bounds.
const BUCKETS: &[f64] = &[
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];

static HANDLE: OnceLock<Option<PrometheusHandle>> = OnceLock::new();
static CALLS: OnceLock<RwLock<HashSet<String>>> = OnceLock::new();
static UPKEEP: Once = Once::new();

/// Fold histogram samples into their buckets every 5 s between scrapes, so an unscraped server
/// does not hold them all: one task per process, started by the first listener.
pub fn start_upkeep() {
    UPKEEP.call_once(|| {
        tokio::spawn(async {
            let mut every = tokio::time::interval(std::time::Duration::from_secs(5));
            loop {
                every.tick().await;
                if let Some(h) = handle() {
                    h.run_upkeep();
                }
            }
        });
    });
}

/// The process's recorder, installed on first use. `None` when another recorder was installed
/// first (by an embedding program): then nothing is exported.
pub fn handle() -> Option<&'static PrometheusHandle> {
    HANDLE
        .get_or_init(|| {
            let recorder = PrometheusBuilder::new()
                .set_buckets_for_metric(
                    Matcher::Full("panelgate_request_duration_seconds".into()),
                    BUCKETS,
                )
                .ok()?
                .build_recorder();
            let handle = recorder.handle();
            metrics::set_global_recorder(recorder).ok()?;
            describe();
            Some(handle)
        })
        .as_ref()
}

fn describe() {
    use metrics::{describe_counter, describe_gauge, describe_histogram, Unit};
    describe_counter!(
        "panelgate_requests_total",
        "Requests answered, by protocol, call and HTTP status."
    );
    describe_histogram!(
        "panelgate_request_duration_seconds",
        Unit::Seconds,
        "Time from a request's head to its answer, by protocol and call."
    );
    describe_counter!(
        "panelgate_archive_bytes_written_total",
        Unit::Bytes,
        "Bytes of backup archives written."
    );
    describe_counter!(
        "panelgate_archive_bytes_read_total",
        Unit::Bytes,
        "Bytes of backup archives read (restore and verification) or served (download)."
    );
    describe_gauge!("panelgate_backup_tasks", "Backup tasks by state.");
    describe_counter!(
        "panelgate_faults_fired_total",
        "Fault rules that fired, by protocol and effect."
    );
    describe_counter!(
        "panelgate_journal_dropped_total",
        "Journal entries dropped because the journal's queue was full."
    );
    describe_gauge!(
        "panelgate_db_connections",
        "Database pool connections, by pool and state (busy or idle)."
    );
}

/// The `call` label for `call`: itself while fewer than [`MAX_CALL_LABELS`] are known.
fn call_label(call: &str) -> String {
    let calls = CALLS.get_or_init(|| RwLock::new(HashSet::new()));
    // Known calls (nearly every request) only read.
    if calls.read().expect("metrics call labels").contains(call) {
        return call.to_owned();
    }
    let mut known = calls.write().expect("metrics call labels");
    if known.contains(call) {
        return call.to_owned();
    }
    if known.len() < MAX_CALL_LABELS {
        known.insert(call.to_owned());
        return call.to_owned();
    }
    "(other)".to_owned()
}

/// The counter and histogram of one (protocol, status) and call, kept so that a request does not
/// build and look up its metric keys again (at most [`MAX_CALL_LABELS`] calls per protocol and
/// status; an `(other)` call is not kept).
type Handles = (metrics::Counter, metrics::Histogram);
#[allow(clippy::type_complexity)]
static HANDLES: OnceLock<RwLock<HashMap<(&'static str, u16), HashMap<String, Handles>>>> =
    OnceLock::new();

/// Count one answered request and its duration.
pub fn record_request(protocol: &'static str, call: &str, status: u16, seconds: f64) {
    if handle().is_none() {
        return;
    }
    let handles = HANDLES.get_or_init(Default::default);
    if let Some((counter, histogram)) = handles
        .read()
        .expect("metrics handles")
        .get(&(protocol, status))
        .and_then(|calls| calls.get(call))
    {
        counter.increment(1);
        histogram.record(seconds);
        return;
    }
    let label = call_label(call);
    let counter = metrics::counter!("panelgate_requests_total", "protocol" => protocol, "call" => label.clone(), "status" => status.to_string());
    let histogram = metrics::histogram!("panelgate_request_duration_seconds", "protocol" => protocol, "call" => label.clone());
    counter.increment(1);
    histogram.record(seconds);
    if label == call {
        handles
            .write()
            .expect("metrics handles")
            .entry((protocol, status))
            .or_default()
            .insert(label, (counter, histogram));
    }
}

/// Count a fault rule that fired.
pub fn record_fault(protocol: &'static str, effect: &'static str) {
    if handle().is_none() {
        return;
    }
    metrics::counter!("panelgate_faults_fired_total", "protocol" => protocol, "effect" => effect)
        .increment(1);
}

/// The exposition text: the recorded metrics, after the gauges read at scrape time.
pub async fn render(core: &Core, system: &SystemCap) -> Option<String> {
    let handle = handle()?;
    match core.task_counts(system).await {
        Ok(counts) => {
            for state in panelgate_core::backups::TaskState::ALL {
                let n = counts
                    .iter()
                    .find(|(s, _)| s == state.as_str())
                    .map_or(0, |(_, n)| *n);
                metrics::gauge!("panelgate_backup_tasks", "state" => state.as_str()).set(n as f64);
            }
        }
        Err(e) => tracing::warn!(error = %e, "metrics: counting backup tasks"),
    }
    for (pool, size, idle) in core.pool_use() {
        let busy = (size as usize).saturating_sub(idle);
        metrics::gauge!("panelgate_db_connections", "pool" => pool, "state" => "busy")
            .set(busy as f64);
        metrics::gauge!("panelgate_db_connections", "pool" => pool, "state" => "idle")
            .set(idle as f64);
    }
    handle.run_upkeep();
    Some(handle.render())
}
