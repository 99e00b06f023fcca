//! The dashboard's pages and actions. Every read and write goes through the same core calls as
//! the control API, acting as the server ([`panelgate_core::SystemCap`]).

use std::collections::HashMap;

use maud::{html, Markup, DOCTYPE};
use panelgate_core::backups::{BackupScope, RestoreBehavior, TaskState};
use panelgate_core::journal::{Entry, Filter};
use panelgate_core::{CoreError, Customer, CustomerRef};
use panelgate_http::faults::{Effect, Rule};
use panelgate_http::Request;

use super::{pretty, ROOT};

/// Customers per page of the customers table.
const PAGE: u64 = 25;
/// Journal entries a page shows.
const JOURNAL_PAGE: u64 = 50;
/// The longest search text.
const MAX_SEARCH: usize = 100;

/// A page that could not be made.
pub struct Failure {
    pub status: u16,
    pub message: String,
}

impl From<CoreError> for Failure {
    fn from(e: CoreError) -> Failure {
        let (status, message) = crate::control::core_error_parts(e);
        Failure { status, message }
    }
}

type Page = Result<Markup, Failure>;

fn when(unix: i64) -> String {
    if unix <= 0 {
        return "—".into();
    }
    format!("{} UTC", panelgate_core::backups::datetime(unix))
}

fn bytes(n: i64) -> String {
    let n = n.max(0) as f64;
    match n {
        n if n >= 1024.0 * 1024.0 * 1024.0 => format!("{:.1} GiB", n / 1024f64.powi(3)),
        n if n >= 1024.0 * 1024.0 => format!("{:.1} MiB", n / 1024f64.powi(2)),
        n if n >= 1024.0 => format!("{:.1} KiB", n / 1024.0),
        n => format!("{n} B"),
    }
}

fn origin(c: &Customer) -> &str {
    match c.created_via.as_str() {
        "froxlor" => "Froxlor",
        "plesk" => "Plesk",
        "ispsystem" => "ISPsystem",
        "httpapi" => "httpapi.com",
        _ => "data set",
    }
}

const NAV: [(&str, &str); 6] = [
    ("", "Overview"),
    ("/customers", "Customers"),
    ("/backups", "Backups"),
    ("/journal", "Journal"),
    ("/faults", "Faults & clock"),
    ("/snapshots", "Snapshots"),
];

/// The frame of every page: navigation, the message an action left, the content.
fn layout(title: &str, current: &str, q: &HashMap<String, String>, content: Markup) -> Markup {
    html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                title { (title) " · panelgate" }
                link rel="icon" href="data:,";
                link rel="stylesheet" href={ (ROOT) "/app.css" };
                script src={ (ROOT) "/app.js" } defer {}
            }
            body {
                a.skip href="#main" { "Skip to content" }
                header {
                    a.brand href=(ROOT) { "panelgate" }
                    nav aria-label="Main" {
                        ul {
                            @for (path, label) in NAV {
                                li {
                                    @if path == current {
                                        a href={ (ROOT) (path) } aria-current="page" { (label) }
                                    } @else {
                                        a href={ (ROOT) (path) } { (label) }
                                    }
                                }
                            }
                        }
                    }
                }
                main id="main" {
                    h1 { (title) }
                    @if let Some(done) = q.get("done") {
                        p.flash.ok role="status" { (done) }
                    }
                    @if let Some(failed) = q.get("failed") {
                        p.flash.error role="alert" { (failed) }
                    }
                    (content)
                }
                footer { "panelgate " (env!("CARGO_PKG_VERSION")) " · " a href="/_panelgate/openapi.json" { "control API (OpenAPI)" } }
            }
        }
    }
}

/// A form that posts one action and comes back to `back`.
fn action(name: &str, back: &str, label: &str, fields: Markup) -> Markup {
    html! {
        form.inline method="post" action={ (ROOT) "/do/" (name) } {
            input type="hidden" name="back" value=(back);
            (fields)
            button type="submit" { (label) }
        }
    }
}

pub fn failure(f: &Failure) -> Markup {
    layout(
        "Not available",
        "-",
        &HashMap::new(),
        html! { p.flash.error role="alert" { (f.message) } p { a href=(ROOT) { "Back to the overview" } } },
    )
}

pub fn login(failed: Option<&str>) -> Markup {
    let mut q = HashMap::new();
    if let Some(f) = failed {
        q.insert("failed".to_owned(), f.to_owned());
    }
    layout(
        "Log in",
        "-",
        &q,
        html! {
            p { "This panelgate asks for its control token (" code { "--control-token" } ")." }
            form method="post" action={ (ROOT) "/login" } {
                label for="token" { "Control token" }
                input id="token" name="token" type="password" autocomplete="current-password" required;
                button type="submit" { "Log in" }
            }
        },
    )
}

// ---------------------------------------------------------------------------------------------
// Overview

pub async fn overview(app: &crate::App, req: &Request, q: &HashMap<String, String>) -> Page {
    let core = &app.core;
    let counts = core.counts(&app.system).await?;
    let host = req
        .headers
        .get(http::header::HOST)
        .and_then(|h| h.to_str().ok())
        .map(str::to_owned)
        .or_else(|| {
            app.options
                .listeners
                .first()
                .map(|l| l.replace("http://", ""))
        })
        .unwrap_or_else(|| "127.0.0.1:8080".into());
    let base = format!("http://{host}");
    let clock = core.steerable_clock().map(|c| c.state());
    let faults = app.faults.list();
    let task = |state: TaskState| {
        counts
            .tasks
            .iter()
            .find(|(s, _)| s == state.as_str())
            .map_or(0, |(_, n)| *n)
    };
    Ok(layout(
        "Overview",
        "",
        q,
        html! {
            section aria-labelledby="store" {
                h2 id="store" { "What the store holds" }
                dl.counts {
                    div { dt { "Resellers" } dd { (counts.resellers) } }
                    div { dt { a href={ (ROOT) "/customers" } { "Customers" } } dd { (counts.customers) } }
                    div { dt { "Subscriptions" } dd { (counts.subscriptions) } }
                    div { dt { a href={ (ROOT) "/backups" } { "Archives" } } dd { (counts.archives) } }
                    @for state in TaskState::ALL {
                        div { dt { "Tasks " (state.as_str()) } dd { (task(state)) } }
                    }
                }
            }
            section aria-labelledby="server" {
                h2 id="server" { "Server" }
                dl {
                    dt { "Listeners" }
                    dd { @for l in &app.options.listeners { code { (l) } " " } }
                    dt { "Database" }
                    dd { (core.backend_name()) }
                    dt { "Clock" }
                    dd {
                        (when(core.now()))
                        @if let Some(c) = clock {
                            @if c.offset != 0 { " (" (c.offset) " s from the system's)" }
                            @if c.frozen { " frozen" }
                        }
                    }
                    dt { "Seed data set" }
                    dd { (crate::control::seed_name(&app.options.seed)) }
                    dt { a href={ (ROOT) "/faults" } { "Active fault rules" } }
                    dd {
                        @if faults.is_empty() { "none" }
                        @for f in &faults {
                            code { (f.rule.protocol) " " (f.rule.call) " → " (f.rule.effect.as_str()) } " "
                        }
                    }
                }
            }
            section aria-labelledby="apis" {
                h2 id="apis" { "The panel APIs" }
                @for (panel, line) in crate::curl_examples(&base) {
                    h3 { (panel) }
                    pre { code { (line) } }
                }
            }
        },
    ))
}

// ---------------------------------------------------------------------------------------------
// Customers

/// Whether `c` matches a lower-cased search text.
fn matches(c: &Customer, needle: &str) -> bool {
    let p = &c.profile;
    [
        c.loginname.as_str(),
        p.email.as_str(),
        p.name.as_str(),
        p.firstname.as_str(),
        p.company.as_str(),
        c.admin_loginname.as_str(),
    ]
    .iter()
    .any(|f| f.to_lowercase().contains(needle))
}

pub async fn customers(app: &crate::App, q: &HashMap<String, String>) -> Page {
    let actor = app.system.actor();
    let search: String = q
        .get("q")
        .map(|s| s.trim().chars().take(MAX_SEARCH).collect())
        .unwrap_or_default();
    let page_no = q
        .get("page")
        .and_then(|p| p.parse::<u64>().ok())
        .unwrap_or(1)
        .clamp(1, u64::MAX / PAGE);
    let offset = (page_no - 1) * PAGE;
    let (rows, total) = if search.is_empty() {
        let total = app.core.customers().count(&actor).await?;
        let rows = app
            .core
            .customers()
            .list_page_with_owners(&actor, offset, PAGE)
            .await?
            .into_iter()
            .map(|(c, _)| c)
            .collect::<Vec<_>>();
        (rows, total)
    } else {
        // One pass over the customers; memory holds one page.
        let needle = search.to_lowercase();
        let (mut rows, mut total) = (Vec::new(), 0u64);
        app.core
            .customers()
            .scan_with_owners(&actor, &[], |chunk| {
                for (c, _) in chunk {
                    if matches(&c, &needle) {
                        if total >= offset && rows.len() < PAGE as usize {
                            rows.push(c);
                        }
                        total += 1;
                    }
                }
                true
            })
            .await?;
        (rows, total)
    };
    let pages = total.div_ceil(PAGE).max(1);
    let link = |p: u64| {
        let mut s = form_urlencoded::Serializer::new(String::new());
        if !search.is_empty() {
            s.append_pair("q", &search);
        }
        s.append_pair("page", &p.to_string());
        format!("{ROOT}/customers?{}", s.finish())
    };
    Ok(layout(
        "Customers",
        "/customers",
        q,
        html! {
            form.search method="get" action={ (ROOT) "/customers" } role="search" {
                label for="q" { "Search login, e-mail, name, company or owner" }
                input id="q" name="q" type="search" value=(search) maxlength=(MAX_SEARCH);
                button type="submit" { "Search" }
            }
            p { (total) " customers" @if !search.is_empty() { " match" } ", page " (page_no) " of " (pages) "." }
            div.scroll {
                table {
                    caption.visually-hidden { "Customers" }
                    thead { tr {
                        th scope="col" { "ID" } th scope="col" { "Login" } th scope="col" { "Name" }
                        th scope="col" { "E-mail" } th scope="col" { "Owner" } th scope="col" { "Status" }
                        th scope="col" { "Created through" } th scope="col" { "Created" }
                    } }
                    tbody {
                        @for c in &rows {
                            tr {
                                td { (c.id) }
                                td { a href={ (ROOT) "/customers/" (c.id) } { (c.loginname) } }
                                td { (c.profile.firstname) " " (c.profile.name) }
                                td { (c.profile.email) }
                                td { (c.admin_loginname) }
                                td { @if c.deactivated { "suspended" } @else { "active" } }
                                td { (origin(c)) }
                                td { (when(c.created_at)) }
                            }
                        }
                    }
                }
            }
            nav.pager aria-label="Pages" {
                @if page_no > 1 { a href=(link(page_no - 1)) rel="prev" { "← Previous" } }
                @if page_no < pages { a href=(link(page_no + 1)) rel="next" { "Next →" } }
            }
        },
    ))
}

pub async fn customer(app: &crate::App, id: i64, q: &HashMap<String, String>) -> Page {
    let actor = app.system.actor();
    let c = app
        .core
        .customers()
        .get(&actor, &CustomerRef::Id(id))
        .await?;
    let archives: Vec<_> = app
        .core
        .backups()
        .archives(&actor)
        .await?
        .into_iter()
        .filter(|a| a.customer_id == Some(id))
        .collect();
    let entries = if app.core.journal().enabled() {
        app.core
            .journal()
            .query(
                &app.system,
                &Filter {
                    entity: Some(format!("customer:{id}")),
                    // Not a former customer's of the same id (ids start again after a reset).
                    since: Some(c.created_at),
                    limit: Some(20),
                    ..Filter::default()
                },
            )
            .await?
    } else {
        Vec::new()
    };
    let back = format!("{ROOT}/customers/{id}");
    let views = [
        (
            "froxlor",
            "Froxlor",
            "Customers.get (JSON)",
            panelgate_froxlor::customer_object::view(&c, app.options.froxlor_version),
        ),
        (
            "plesk",
            "Plesk",
            "customer/get (XML packet)",
            panelgate_plesk::customer::view(&c, panelgate_plesk::NEWEST),
        ),
        (
            "ispsystem",
            "ISPsystem",
            "func=account (XML)",
            panelgate_ispsystem::accounts::view(&c),
        ),
        (
            "httpapi",
            "httpapi.com",
            "customers/details-by-id (JSON)",
            panelgate_httpapi::customer_view(&c),
        ),
    ];
    Ok(layout(
        &format!("Customer {}", c.loginname),
        "/customers",
        q,
        html! {
            dl {
                dt { "ID" } dd { (c.id) }
                dt { "Owner" } dd { (c.admin_loginname) " (" (c.admin_id) ")" }
                dt { "Status" } dd { @if c.deactivated { "suspended" } @else { "active" } }
                dt { "Created through" } dd { (origin(&c)) ", " (when(c.created_at)) }
            }
            // The task's progress is watched on the backups page.
            (action("backup", &format!("{ROOT}/backups"), "Back up this customer", html! {
                input type="hidden" name="scope" value={ "customer:" (c.id) };
            }))
            section aria-labelledby="views" {
                h2 id="views" { "As each panel API renders it" }
                div.views {
                    @for (key, panel, call, text) in &views {
                        section.view aria-labelledby={ "view-" (key) } data-panel=(key) {
                            h3 id={ "view-" (key) } { (panel) " " small { (call) } }
                            pre tabindex="0" { code { (pretty::body(text)) } }
                        }
                    }
                }
            }
            section aria-labelledby="archives" {
                h2 id="archives" { "Archives" }
                (archive_table(&archives, &back))
            }
            section aria-labelledby="journal" {
                h2 id="journal" { "Journal" }
                @if entries.is_empty() { p { "No journal entries for this customer." } }
                (entry_list(&entries))
            }
        },
    ))
}

// ---------------------------------------------------------------------------------------------
// Backups

fn task_row(t: &panelgate_core::backups::BackupTask) -> Markup {
    html! {
        tr data-task=(t.id) data-state=(t.state.as_str()) {
            td { (t.id) }
            td { (t.scope.key()) }
            td.state { (t.state.as_str()) }
            td { progress max="100" value=(t.progress) aria-label={ "Task " (t.id) " progress" } { (t.progress) "%" } " " (t.progress) "%" }
            td { (t.error) }
            td { (when(t.created_at)) }
            td {
                @if let Some(a) = t.archive_id { a href={ "/_panelgate/archives/" (a) "/download" } { "archive " (a) } }
            }
        }
    }
}

pub async fn task_rows(app: &crate::App) -> Page {
    let mut tasks = app.core.backups().tasks(&app.system.actor()).await?;
    tasks.sort_by_key(|t| std::cmp::Reverse(t.id));
    tasks.truncate(100);
    Ok(html! { @for t in &tasks { (task_row(t)) } })
}

fn archive_table(archives: &[panelgate_core::backups::BackupArchive], back: &str) -> Markup {
    html! {
        @if archives.is_empty() { p { "No archives." } } @else {
            div.scroll {
                table {
                    caption.visually-hidden { "Archives" }
                    thead { tr {
                        th scope="col" { "ID" } th scope="col" { "Of" } th scope="col" { "Created" }
                        th scope="col" { "Size" } th scope="col" { "SHA-256" } th scope="col" { "Items" }
                        th scope="col" { "Actions" }
                    } }
                    tbody {
                        @for a in archives {
                            tr data-archive=(a.id) {
                                td { (a.id) }
                                td { (a.scope.key()) " " (a.scope_name) }
                                td { (when(a.created_at)) }
                                td { (bytes(a.size)) }
                                td { code.hash data-sha256=(a.sha256) { (a.sha256) } }
                                td { (a.items.len()) }
                                td.actions {
                                    a href={ "/_panelgate/archives/" (a.id) "/download" } download=(a.file_name) { "Download" }
                                    (action("restore", back, "Restore", html! {
                                        input type="hidden" name="archive" value=(a.id);
                                        label { "Existing data "
                                            select name="behavior" {
                                                option value="skip" { "skip" }
                                                option value="overwrite" { "overwrite" }
                                            }
                                        }
                                    }))
                                    (action("delete-archive", back, "Delete", html! {
                                        input type="hidden" name="archive" value=(a.id);
                                    }))
                                }
                            }
                        }
                    }
                }
            }
        }
    }
}

pub async fn backups(app: &crate::App, q: &HashMap<String, String>) -> Page {
    let rows = task_rows(app).await?;
    let mut archives = app.core.backups().archives(&app.system.actor()).await?;
    archives.sort_by_key(|a| std::cmp::Reverse(a.id));
    let back = format!("{ROOT}/backups");
    Ok(layout(
        "Backups",
        "/backups",
        q,
        html! {
            section aria-labelledby="start" {
                h2 id="start" { "Start a backup" }
                form.grid method="post" action={ (ROOT) "/do/backup" } {
                    input type="hidden" name="back" value=(back);
                    label for="scope" { "Scope (" code { "server" } ", " code { "reseller:ID" } ", " code { "customer:ID" } " or " code { "subscription:ID" } ")" }
                    input id="scope" name="scope" value="server" required maxlength="40";
                    label for="description" { "Description" }
                    input id="description" name="description" maxlength="200";
                    button type="submit" { "Start backup" }
                }
            }
            section aria-labelledby="tasks" {
                h2 id="tasks" { "Tasks" }
                div.scroll {
                    table {
                        caption.visually-hidden { "Backup tasks, newest first" }
                        thead { tr {
                            th scope="col" { "ID" } th scope="col" { "Scope" } th scope="col" { "State" }
                            th scope="col" { "Progress" } th scope="col" { "Error" } th scope="col" { "Created" }
                            th scope="col" { "Archive" }
                        } }
                        tbody id="task-rows" aria-live="polite" data-live={ (ROOT) "/backups/tasks" } data-every="500" { (rows) }
                    }
                }
            }
            section aria-labelledby="archives" {
                h2 id="archives" { "Archives" }
                (archive_table(&archives, &back))
            }
        },
    ))
}

// ---------------------------------------------------------------------------------------------
// Journal

fn journal_filter(q: &HashMap<String, String>) -> Filter {
    let text = |k: &str| {
        q.get(k)
            .map(|v| v.trim())
            .filter(|v| !v.is_empty())
            .map(|v| v.chars().take(MAX_SEARCH).collect())
    };
    Filter {
        protocol: text("protocol"),
        call: text("call"),
        entity: text("entity"),
        status: q.get("status").and_then(|s| s.trim().parse().ok()),
        limit: Some(JOURNAL_PAGE),
        ..Filter::default()
    }
}

fn entry_list(entries: &[Entry]) -> Markup {
    html! {
        @for e in entries {
            article.entry data-entry=(e.id) data-protocol=(e.protocol) data-call=(e.call) {
                details {
                    summary {
                        span.status data-status=(e.status) { (e.status) } " "
                        strong { (e.protocol) " " (e.call) } " "
                        span.meta { "by " (if e.actor.is_empty() { "anonymous" } else { &e.actor }) ", " (when(e.at)) ", " (format!("{:.1}", e.duration_ms)) " ms" }
                        @if !e.fault.is_empty() { " " span.fault { "fault " (e.fault) } }
                    }
                    @if !e.entities.is_empty() {
                        p { "Touched: " @for ent in &e.entities { code { (ent) } " " } }
                    }
                    h4 { "Request" }
                    pre tabindex="0" { code { (pretty::message(&e.request)) } }
                    h4 { "Response" }
                    pre tabindex="0" { code { (pretty::message(&e.response)) } }
                    @if let Some(changes) = e.changes.as_array().filter(|c| !c.is_empty()) {
                        h4 { "Changes" }
                        (diff_table(changes))
                    }
                }
            }
        }
    }
}

fn short(v: Option<&serde_json::Value>) -> String {
    match v {
        None | Some(serde_json::Value::Null) => String::new(),
        Some(serde_json::Value::String(s)) => s.clone(),
        Some(other) => other.to_string(),
    }
}

/// A write's changes: one row per changed field, before and after.
fn diff_table(changes: &[serde_json::Value]) -> Markup {
    html! {
        div.scroll {
            table.diff {
                thead { tr { th scope="col" { "Entity" } th scope="col" { "Field" } th scope="col" { "Before" } th scope="col" { "After" } } }
                tbody {
                    @for c in changes {
                        @let entity = short(c.get("entity"));
                        @if let Some(fields) = c.get("change").and_then(|v| v.as_object()) {
                            @for (field, v) in fields {
                                tr {
                                    td { code { (entity) } }
                                    td { (field) }
                                    td { del { (short(v.get("before"))) } }
                                    td { ins { (short(v.get("after"))) } }
                                }
                            }
                        }
                    }
                }
            }
        }
    }
}

pub async fn journal_entries(app: &crate::App, q: &HashMap<String, String>) -> Page {
    if !app.core.journal().enabled() {
        return Ok(html! { p { "The journal is off (" code { "journal = false" } ")." } });
    }
    let entries = app
        .core
        .journal()
        .query(&app.system, &journal_filter(q))
        .await?;
    Ok(html! {
        @if entries.is_empty() { p { "No entries." } }
        (entry_list(&entries))
    })
}

pub async fn journal(app: &crate::App, q: &HashMap<String, String>) -> Page {
    let entries = journal_entries(app, q).await?;
    let f = journal_filter(q);
    let mut live = form_urlencoded::Serializer::new(String::new());
    for k in ["protocol", "call", "entity", "status"] {
        if let Some(v) = q.get(k).filter(|v| !v.trim().is_empty()) {
            live.append_pair(k, v);
        }
    }
    let live = format!("{ROOT}/journal/entries?{}", live.finish());
    let selected = f.protocol.clone().unwrap_or_default();
    Ok(layout(
        "Journal",
        "/journal",
        q,
        html! {
            form.filters method="get" action={ (ROOT) "/journal" } {
                label for="protocol" { "Protocol" }
                select id="protocol" name="protocol" {
                    option value="" selected[selected.is_empty()] { "any" }
                    @for p in ["froxlor", "plesk", "ispsystem", "httpapi"] {
                        option value=(p) selected[selected == p] { (p) }
                    }
                }
                label for="call" { "Call" }
                input id="call" name="call" value=(f.call.clone().unwrap_or_default()) placeholder="customer/add";
                label for="status" { "Status" }
                input id="status" name="status" inputmode="numeric" value=(f.status.map(|s| s.to_string()).unwrap_or_default());
                button type="submit" { "Filter" }
            }
            (action("clear-journal", &format!("{ROOT}/journal"), "Clear the journal", html! {}))
            div id="entries" aria-live="polite" data-live=(live) data-every="2000" { (entries) }
        },
    ))
}

// ---------------------------------------------------------------------------------------------
// Faults and clock

pub async fn faults(app: &crate::App, q: &HashMap<String, String>) -> Page {
    let rules = app.faults.list();
    let back = format!("{ROOT}/faults");
    let clock = app.core.steerable_clock().map(|c| c.state());
    Ok(layout(
        "Faults & clock",
        "/faults",
        q,
        html! {
            section aria-labelledby="add" {
                h2 id="add" { "Add a fault rule" }
                form.grid method="post" action={ (ROOT) "/do/add-fault" } {
                    input type="hidden" name="back" value=(back);
                    label for="f-protocol" { "Protocol" }
                    select id="f-protocol" name="protocol" {
                        @for p in ["froxlor", "plesk", "ispsystem", "httpapi"] { option value=(p) { (p) } }
                    }
                    label for="f-call" { "Call (" code { "*" } " matches any run)" }
                    input id="f-call" name="call" value="*" required maxlength="256";
                    label for="f-effect" { "Effect" }
                    select id="f-effect" name="effect" {
                        @for e in ["error", "delay", "drop", "truncate", "fail_task"] { option value=(e) { (e) } }
                    }
                    label for="f-times" { "Times (empty: no end)" }
                    input id="f-times" name="times" inputmode="numeric" value="1";
                    label for="f-probability" { "Probability (0–1)" }
                    input id="f-probability" name="probability" inputmode="decimal" value="1";
                    label for="f-message" { "Error message" }
                    input id="f-message" name="message" maxlength="200" placeholder="Injected fault";
                    label for="f-code" { "Error code (Plesk errcode)" }
                    input id="f-code" name="code" inputmode="numeric";
                    label for="f-status" { "HTTP status (Froxlor)" }
                    input id="f-status" name="status" inputmode="numeric";
                    label for="f-delay" { "Delay (ms)" }
                    input id="f-delay" name="delay_ms" inputmode="numeric";
                    label for="f-progress" { "Fail tasks at progress (%)" }
                    input id="f-progress" name="progress" inputmode="numeric";
                    button type="submit" { "Add rule" }
                }
            }
            section aria-labelledby="rules" {
                h2 id="rules" { "Active rules" }
                @if rules.is_empty() { p { "No fault rules." } } @else {
                    div.scroll {
                        table {
                            thead { tr {
                                th scope="col" { "ID" } th scope="col" { "Protocol" } th scope="col" { "Call" }
                                th scope="col" { "Effect" } th scope="col" { "Fired" } th scope="col" { "Times" }
                                th scope="col" { "Actions" }
                            } }
                            tbody {
                                @for r in &rules {
                                    tr data-rule=(r.id) {
                                        td { (r.id) } td { (r.rule.protocol) } td { code { (r.rule.call) } }
                                        td { (r.rule.effect.as_str()) } td { (r.fired) }
                                        td { @if let Some(t) = r.rule.times { (t) } @else { "∞" } }
                                        td { (action("remove-fault", &back, "Remove", html! {
                                            input type="hidden" name="id" value=(r.id);
                                        })) }
                                    }
                                }
                            }
                        }
                    }
                    (action("clear-faults", &back, "Remove every rule", html! {}))
                }
            }
            section aria-labelledby="clock" {
                h2 id="clock" { "Clock" }
                p { "Now: " strong id="clock-now" { (when(app.core.now())) }
                    @if let Some(c) = clock { @if c.offset != 0 { " (" (c.offset) " s from the system's)" } @if c.frozen { " frozen" } }
                }
                @if clock.is_some() {
                    form.inline method="post" action={ (ROOT) "/do/clock" } {
                        input type="hidden" name="back" value=(back);
                        label for="advance" { "Advance by (seconds)" }
                        input id="advance" name="advance" inputmode="numeric" value="3660";
                        button type="submit" { "Advance" }
                    }
                    (action("clock-reset", &back, "Back to the system's time", html! {}))
                } @else {
                    p { "This server's clock cannot be steered." }
                }
            }
        },
    ))
}

// ---------------------------------------------------------------------------------------------
// Snapshots

pub async fn snapshots(app: &crate::App, q: &HashMap<String, String>) -> Page {
    let list = app.core.snapshots().list(&app.system).await?;
    let back = format!("{ROOT}/snapshots");
    Ok(layout(
        "Snapshots",
        "/snapshots",
        q,
        html! {
            section aria-labelledby="save" {
                h2 id="save" { "Save the whole state" }
                form.inline method="post" action={ (ROOT) "/do/save-snapshot" } {
                    input type="hidden" name="back" value=(back);
                    label for="name" { "Name" }
                    input id="name" name="name" required maxlength="64" pattern="[A-Za-z0-9_\\-][A-Za-z0-9._\\-]*";
                    button type="submit" { "Save snapshot" }
                }
            }
            section aria-labelledby="saved" {
                h2 id="saved" { "Saved snapshots" }
                @if list.is_empty() { p { "No snapshots." } } @else {
                    div.scroll {
                        table {
                            thead { tr { th scope="col" { "Name" } th scope="col" { "Saved" } th scope="col" { "Records" } th scope="col" { "Files" } th scope="col" { "Actions" } } }
                            tbody {
                                @for m in &list {
                                    tr data-snapshot=(m.name) {
                                        td { (m.name) }
                                        td { (when(m.created_at)) }
                                        td { (m.rows.values().sum::<u64>()) }
                                        td { (m.files) " (" (bytes(m.file_bytes as i64)) ")" }
                                        td.actions {
                                            (action("restore-snapshot", &back, "Restore", html! { input type="hidden" name="name" value=(m.name); }))
                                            (action("delete-snapshot", &back, "Delete", html! { input type="hidden" name="name" value=(m.name); }))
                                        }
                                    }
                                }
                            }
                        }
                    }
                }
            }
            section aria-labelledby="reset" {
                h2 id="reset" { "Reset" }
                p { "Empty the store (records, homes, archives, sessions) and load its seed data set (" (crate::control::seed_name(&app.options.seed)) ") again." }
                (action("reset", &back, "Reset to the seed data", html! {}))
            }
        },
    ))
}

// ---------------------------------------------------------------------------------------------
// Actions

fn field<'a>(f: &'a HashMap<String, String>, name: &str) -> Option<&'a str> {
    f.get(name).map(|v| v.trim()).filter(|v| !v.is_empty())
}

fn number<T: std::str::FromStr>(
    f: &HashMap<String, String>,
    name: &str,
) -> Result<Option<T>, String> {
    field(f, name)
        .map(|v| {
            v.parse()
                .map_err(|_| format!("{name}: {v:?} is not a number"))
        })
        .transpose()
}

fn id(f: &HashMap<String, String>, name: &str) -> Result<i64, String> {
    number(f, name)?.ok_or_else(|| format!("{name}: missing"))
}

fn failed(e: CoreError) -> String {
    crate::control::core_error_parts(e).1
}

/// Run a dashboard action; the message to show.
pub async fn act(
    app: &crate::App,
    action: &str,
    f: &HashMap<String, String>,
) -> Result<String, String> {
    let actor = app.system.actor();
    let backups = app.core.backups();
    match action {
        "backup" => {
            let scope = field(f, "scope")
                .and_then(BackupScope::parse)
                .ok_or("scope: use server, reseller:<id>, customer:<id> or subscription:<id>")?;
            let task = backups
                .start(&actor, scope, crate::control::backup_options(f))
                .await
                .map_err(failed)?;
            Ok(format!("backup task {} queued", task.id))
        }
        "restore" => {
            let archive = id(f, "archive")?;
            let behavior = match field(f, "behavior") {
                None | Some("skip") => RestoreBehavior::Skip,
                Some("overwrite") => RestoreBehavior::Overwrite,
                Some(other) => return Err(format!("behavior: {other:?} is not skip or overwrite")),
            };
            backups
                .restore(&actor, archive, None, behavior)
                .await
                .map_err(failed)?;
            Ok(format!("archive {archive} restored"))
        }
        "delete-archive" => {
            let archive = id(f, "archive")?;
            backups
                .remove(&actor, archive, true)
                .await
                .map_err(failed)?;
            Ok(format!("archive {archive} deleted"))
        }
        "add-fault" => {
            let effect = match field(f, "effect").unwrap_or("error") {
                "error" => Effect::Error,
                "delay" => Effect::Delay,
                "drop" => Effect::Drop,
                "truncate" => Effect::Truncate,
                "fail_task" => Effect::FailTask,
                other => return Err(format!("effect: {other:?} is not an effect")),
            };
            let rule = Rule {
                protocol: field(f, "protocol").unwrap_or_default().to_owned(),
                call: field(f, "call").unwrap_or("*").to_owned(),
                actor: field(f, "actor").map(str::to_owned),
                probability: number(f, "probability")?.unwrap_or(1.0),
                times: number(f, "times")?,
                effect,
                message: field(f, "message").map(str::to_owned),
                status: number(f, "status")?,
                code: number(f, "code")?,
                kind: field(f, "type").map(str::to_owned),
                delay_ms: number(f, "delay_ms")?,
                progress: number(f, "progress")?,
            };
            let active = app.faults.add(rule)?;
            Ok(format!("fault rule {} added", active.id))
        }
        "remove-fault" => {
            let rule: u64 = number(f, "id")?.ok_or("id: missing")?;
            match app.faults.remove(Some(rule)) {
                0 => Err(format!("no fault rule {rule}")),
                _ => Ok(format!("fault rule {rule} removed")),
            }
        }
        "clear-faults" => Ok(format!("{} fault rules removed", app.faults.remove(None))),
        "clock" | "clock-reset" => {
            let clock = app
                .core
                .steerable_clock()
                .ok_or("this server's clock cannot be steered")?;
            if action == "clock-reset" {
                clock.reset();
                return Ok("clock back to the system's time".into());
            }
            let secs: i64 = number(f, "advance")?.ok_or("advance: missing")?;
            clock.try_advance(secs)?;
            tracing::info!(clock = ?clock.state(), "clock advanced from the dashboard");
            Ok(format!("clock advanced by {secs} s"))
        }
        "save-snapshot" | "restore-snapshot" | "delete-snapshot" => {
            let name = field(f, "name").unwrap_or_default();
            let done = match action {
                "save-snapshot" => crate::control::save_snapshot_now(app, name)
                    .await
                    .map(|_| "saved"),
                "restore-snapshot" => crate::control::restore_snapshot_now(app, name)
                    .await
                    .map(|_| "restored"),
                _ => crate::control::delete_snapshot_now(app, name)
                    .await
                    .map(|_| "deleted"),
            }
            .map_err(failed)?;
            Ok(format!("snapshot {name} {done}"))
        }
        "reset" => {
            let took = crate::control::reset_store(app)
                .await
                .map_err(|(_, message)| message)?;
            Ok(format!("store reset to its seed data in {took:.0} ms"))
        }
        "clear-journal" => {
            let removed = app
                .core
                .journal()
                .clear(&app.system)
                .await
                .map_err(failed)?;
            Ok(format!("{removed} journal entries removed"))
        }
        other => Err(format!("no such action: {other:?}")),
    }
}
