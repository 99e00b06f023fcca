//! The operator's subcommands (`panelgate reset`, `snapshot`, `journal`, `faults`): clients of a
//! running server's control API (`/_panelgate/`), over plain HTTP.

use std::io::IsTerminal;
use std::time::Duration;

use clap::{Args, Subcommand};
use http_body_util::{BodyExt, Full};
use serde_json::{json, Value};

/// Where the running server is.
#[derive(Debug, Clone, Args)]
pub struct ControlArgs {
    /// The running server's plain-HTTP address
    #[arg(
        long,
        env = "PANELGATE_SERVER",
        default_value = "http://127.0.0.1:8080",
        global = true
    )]
    pub server: String,
    /// The control API's bearer token, if the server has one
    #[arg(long, env = "PANELGATE_CONTROL_TOKEN", global = true)]
    pub token: Option<String>,
}

#[derive(Debug, Clone, Args)]
pub struct SnapshotArgs {
    #[command(subcommand)]
    pub action: SnapshotAction,
    #[command(flatten)]
    pub control: ControlArgs,
}

#[derive(Debug, Clone, Subcommand)]
pub enum SnapshotAction {
    /// Save the whole state under NAME
    Save { name: String },
    /// Bring back the state saved under NAME
    Restore { name: String },
    /// The saved snapshots
    List,
    /// Remove the snapshot NAME
    Delete { name: String },
}

#[derive(Debug, Clone, Args)]
pub struct JournalArgs {
    /// Keep printing new entries as they come (Ctrl-C ends)
    #[arg(long)]
    pub follow: bool,
    /// Only this protocol (froxlor, plesk, ispsystem, httpapi)
    #[arg(long)]
    pub protocol: Option<String>,
    /// Only this call (as the journal names it)
    #[arg(long)]
    pub call: Option<String>,
    /// Only requests that touched this entity (`customer:42`)
    #[arg(long)]
    pub entity: Option<String>,
    /// The newest this many entries (at most 1000)
    #[arg(long, default_value_t = 20)]
    pub limit: u64,
    /// Print each entry whole, as one JSON line
    #[arg(long)]
    pub json: bool,
    #[command(flatten)]
    pub control: ControlArgs,
}

#[derive(Debug, Clone, Args)]
pub struct FaultsArgs {
    #[command(subcommand)]
    pub action: FaultsAction,
    #[command(flatten)]
    pub control: ControlArgs,
}

#[derive(Debug, Clone, Subcommand)]
pub enum FaultsAction {
    /// Add a rule (see the control API for what each field does)
    Add(Box<FaultRule>),
    /// The rules in force, with how often each fired
    List,
    /// Remove every rule, or the one with this id
    Clear { id: Option<u64> },
}

#[derive(Debug, Clone, Args)]
pub struct FaultRule {
    /// froxlor, plesk, ispsystem or httpapi
    #[arg(long)]
    pub protocol: String,
    /// The call pattern (`*` matches any run)
    #[arg(long, default_value = "*")]
    pub call: String,
    /// error, delay, drop, truncate or fail_task
    #[arg(long)]
    pub effect: String,
    /// Only this caller (`admin:1`, `customer:7`)
    #[arg(long)]
    pub actor: Option<String>,
    /// The chance a matching call fires it (0–1)
    #[arg(long)]
    pub probability: Option<f64>,
    /// Fire at most this many times
    #[arg(long)]
    pub times: Option<u64>,
    /// `error`: the message
    #[arg(long)]
    pub message: Option<String>,
    /// `error`: the HTTP status (Froxlor)
    #[arg(long)]
    pub status: Option<u16>,
    /// `error`: the panel's error code (Plesk errcode)
    #[arg(long)]
    pub code: Option<i64>,
    /// `error`: the ISPsystem error type
    #[arg(long = "type")]
    pub kind: Option<String>,
    /// `delay`: milliseconds
    #[arg(long)]
    pub delay_ms: Option<u64>,
    /// `fail_task`: the progress (percent) backup tasks fail at
    #[arg(long)]
    pub progress: Option<i64>,
}

/// A failed command: what to print, and whether it was the server's answer (exit 1) or could
/// not be asked (exit 1 too; usage errors are clap's, exit 2).
type Outcome = Result<(), String>;

/// Send one control API request; the answer's status and JSON (or text).
async fn call(
    control: &ControlArgs,
    method: &str,
    path: &str,
    body: Option<Value>,
) -> Result<(u16, Value), String> {
    let base: http::Uri = control
        .server
        .parse()
        .map_err(|e| format!("--server {}: {e}", control.server))?;
    if base.scheme_str().is_some_and(|s| s != "http") {
        return Err(format!(
            "--server {}: the operator commands speak plain HTTP; use the plain listener",
            control.server
        ));
    }
    let authority = base
        .authority()
        .ok_or_else(|| format!("--server {}: no host:port", control.server))?
        .clone();
    let stream = tokio::net::TcpStream::connect(authority.as_str())
        .await
        .map_err(|e| format!("cannot reach panelgate at {}: {e}", control.server))?;
    let (mut sender, conn) =
        hyper::client::conn::http1::handshake(hyper_util::rt::TokioIo::new(stream))
            .await
            .map_err(|e| e.to_string())?;
    tokio::spawn(conn);
    let mut req = http::Request::builder()
        .method(method)
        .uri(path)
        .header(http::header::HOST, authority.as_str());
    if let Some(token) = &control.token {
        req = req.header(http::header::AUTHORIZATION, format!("Bearer {token}"));
    }
    let bytes = match &body {
        Some(v) => {
            req = req.header(http::header::CONTENT_TYPE, "application/json");
            serde_json::to_vec(v).unwrap_or_default()
        }
        None => Vec::new(),
    };
    let req = req
        .body(Full::new(bytes::Bytes::from(bytes)))
        .map_err(|e| e.to_string())?;
    let resp = sender.send_request(req).await.map_err(|e| e.to_string())?;
    let status = resp.status().as_u16();
    let body = resp
        .into_body()
        .collect()
        .await
        .map_err(|e| e.to_string())?
        .to_bytes();
    let value = serde_json::from_slice(&body)
        .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&body).into_owned()));
    Ok((status, value))
}

/// The answer, or its `error` as the failure.
async fn ask(
    control: &ControlArgs,
    method: &str,
    path: &str,
    body: Option<Value>,
) -> Result<Value, String> {
    let (status, value) = call(control, method, path, body).await?;
    if status >= 400 {
        let why = value["error"]
            .as_str()
            .map_or_else(|| value.to_string(), str::to_owned);
        return Err(format!("the server answered {status}: {why}"));
    }
    Ok(value)
}

/// A spinner on a terminal while `work` runs.
async fn with_progress<T>(what: &str, work: impl std::future::Future<Output = T>) -> T {
    if !std::io::stderr().is_terminal() {
        return work.await;
    }
    let bar = indicatif::ProgressBar::new_spinner();
    bar.set_message(what.to_owned());
    bar.enable_steady_tick(Duration::from_millis(100));
    let out = work.await;
    bar.finish_and_clear();
    out
}

fn encode(v: &str) -> String {
    form_urlencoded::byte_serialize(v.as_bytes()).collect()
}

pub async fn reset(control: &ControlArgs) -> Outcome {
    let v = with_progress("resetting", ask(control, "POST", "/_panelgate/reset", None)).await?;
    println!(
        "reset to the {} seed in {:.0} ms",
        v["seed"].as_str().unwrap_or("?"),
        v["took_ms"].as_f64().unwrap_or(0.0)
    );
    Ok(())
}

pub async fn snapshot(args: &SnapshotArgs) -> Outcome {
    let control = &args.control;
    match &args.action {
        SnapshotAction::Save { name } => {
            let v = with_progress(
                "saving",
                ask(
                    control,
                    "POST",
                    "/_panelgate/snapshots",
                    Some(json!({ "name": name })),
                ),
            )
            .await?;
            println!("saved {}: {}", name, summary(&v));
        }
        SnapshotAction::Restore { name } => {
            let path = format!("/_panelgate/snapshots/{}/restore", encode(name));
            let v = with_progress("restoring", ask(control, "POST", &path, None)).await?;
            println!(
                "restored {} in {:.0} ms: {}",
                name,
                v["took_ms"].as_f64().unwrap_or(0.0),
                summary(&v["restored"])
            );
        }
        SnapshotAction::List => {
            let v = ask(control, "GET", "/_panelgate/snapshots", None).await?;
            for s in v.as_array().into_iter().flatten() {
                println!("{}\t{}", s["name"].as_str().unwrap_or("?"), summary(s));
            }
        }
        SnapshotAction::Delete { name } => {
            let path = format!("/_panelgate/snapshots/{}", encode(name));
            ask(control, "DELETE", &path, None).await?;
            println!("deleted {name}");
        }
    }
    Ok(())
}

/// One line of a snapshot manifest.
fn summary(m: &Value) -> String {
    let rows: u64 = m["rows"]
        .as_object()
        .map_or(0, |r| r.values().filter_map(Value::as_u64).sum());
    format!(
        "{} records, {} customers, {} files ({} bytes), created at {}",
        rows,
        m["rows"]["customers"].as_u64().unwrap_or(0),
        m["files"].as_u64().unwrap_or(0),
        m["file_bytes"].as_u64().unwrap_or(0),
        m["created_at"].as_i64().unwrap_or(0)
    )
}

pub async fn journal(args: &JournalArgs) -> Outcome {
    let mut filter = String::new();
    for (key, value) in [
        ("protocol", &args.protocol),
        ("call", &args.call),
        ("entity", &args.entity),
    ] {
        if let Some(v) = value {
            filter.push_str(&format!("&{key}={}", encode(v)));
        }
    }
    let limit = args.limit.clamp(1, 1000);
    let path = format!("/_panelgate/journal?limit={limit}{filter}");
    let entries = ask(&args.control, "GET", &path, None).await?;
    // Newest first from the server; printed oldest first.
    let mut last = 0;
    for e in entries.as_array().into_iter().flatten().rev() {
        print_entry(e, args.json);
        last = last.max(e["id"].as_i64().unwrap_or(0));
    }
    if !args.follow {
        return Ok(());
    }
    loop {
        // Oldest first after the last one printed, page by page: none is skipped however many
        // arrive between two polls (as long as the journal keeps them).
        let path = format!("/_panelgate/journal?order=asc&limit=1000&after={last}{filter}");
        let entries = ask(&args.control, "GET", &path, None).await?;
        let got = entries.as_array().map_or(0, Vec::len);
        for e in entries.as_array().into_iter().flatten() {
            print_entry(e, args.json);
            last = last.max(e["id"].as_i64().unwrap_or(0));
        }
        if got < 1000 {
            tokio::time::sleep(Duration::from_secs(1)).await;
        }
    }
}

/// `text` with control characters (escape sequences a request may carry) shown as `?`.
fn printable(text: &str) -> String {
    text.chars()
        .map(|c| if c.is_control() { '?' } else { c })
        .collect()
}

fn print_entry(e: &Value, whole: bool) {
    if whole {
        // JSON escapes every control character.
        println!("{e}");
        return;
    }
    let entities: Vec<&str> = e["entities"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .collect();
    let fault = e["fault"].as_str().filter(|f| !f.is_empty());
    println!(
        "#{} {} {} {} {} {} {:.1} ms{}{}",
        e["id"],
        e["at"],
        printable(e["protocol"].as_str().unwrap_or("")),
        printable(e["call"].as_str().unwrap_or("")),
        printable(e["actor"].as_str().unwrap_or("")),
        e["status"],
        e["duration_ms"].as_f64().unwrap_or(0.0),
        if entities.is_empty() {
            String::new()
        } else {
            format!(" [{}]", printable(&entities.join(" ")))
        },
        fault
            .map(|f| format!(" fault: {}", printable(f)))
            .unwrap_or_default()
    );
}

pub async fn faults(args: &FaultsArgs) -> Outcome {
    let control = &args.control;
    match &args.action {
        FaultsAction::Add(r) => {
            let mut rule = json!({
                "protocol": r.protocol,
                "call": r.call,
                "effect": r.effect,
            });
            let fields = [
                ("actor", r.actor.clone().map(Value::from)),
                ("probability", r.probability.map(Value::from)),
                ("times", r.times.map(Value::from)),
                ("message", r.message.clone().map(Value::from)),
                ("status", r.status.map(Value::from)),
                ("code", r.code.map(Value::from)),
                ("type", r.kind.clone().map(Value::from)),
                ("delay_ms", r.delay_ms.map(Value::from)),
                ("progress", r.progress.map(Value::from)),
            ];
            for (key, value) in fields {
                if let Some(v) = value {
                    rule[key] = v;
                }
            }
            let v = ask(control, "POST", "/_panelgate/faults", Some(rule)).await?;
            println!("added fault rule {}", v["id"]);
        }
        FaultsAction::List => {
            let v = ask(control, "GET", "/_panelgate/faults", None).await?;
            for r in v.as_array().into_iter().flatten() {
                println!(
                    "{}\t{} {} {}\tfired {}",
                    r["id"],
                    r["protocol"].as_str().unwrap_or(""),
                    r["call"].as_str().unwrap_or(""),
                    r["effect"].as_str().unwrap_or(""),
                    r["fired"]
                );
            }
        }
        FaultsAction::Clear { id } => {
            let path = match id {
                Some(id) => format!("/_panelgate/faults/{id}"),
                None => "/_panelgate/faults".to_owned(),
            };
            let v = ask(control, "DELETE", &path, None).await?;
            println!("removed {} fault rule(s)", v["removed"]);
        }
    }
    Ok(())
}
