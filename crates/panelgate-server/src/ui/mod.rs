//! The dashboard under `/_panelgate/ui`: server-rendered pages (maud) over the same core calls
//! as the control API, with one small embedded script that refreshes the live parts (tasks,
//! journal) by polling. No asset comes from outside the binary.
//!
//! Every page reads without JavaScript; every action is a plain form `POST` to
//! `/_panelgate/ui/do/…` that answers `303 See Other` back to its page with a message. The
//! control API's protection applies: loopback clients, or a token given once on the login page
//! and kept in an `HttpOnly`, `SameSite=Strict` cookie; cross-site writes are refused for the
//! whole control API (see [`crate::control::cross_site`]).

mod pages;
mod pretty;

use std::collections::HashMap;

use panelgate_http::{response, Request, Response};

/// The dashboard's root.
pub const ROOT: &str = "/_panelgate/ui";
/// The cookie that carries the control token.
pub const TOKEN_COOKIE: &str = "panelgate_token";

const CSS: &str = include_str!("app.css");
const JS: &str = include_str!("app.js");

/// A dashboard route.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Route {
    Overview,
    Customers,
    Customer(i64),
    Backups,
    /// The task rows (polled).
    TaskRows,
    Journal,
    /// The journal entries (polled).
    JournalEntries,
    Faults,
    Snapshots,
    Css,
    Js,
    Login,
    SubmitLogin,
    Action(String),
}

impl Route {
    pub fn parse(method: &str, path: &str) -> Option<Route> {
        let rest = path.strip_prefix(ROOT)?;
        let rest = rest.strip_prefix('/').unwrap_or(rest);
        let segments: Vec<&str> = rest.split('/').collect();
        Some(match (method, segments.as_slice()) {
            ("GET" | "HEAD", [""]) => Route::Overview,
            ("GET" | "HEAD", ["customers"]) => Route::Customers,
            ("GET" | "HEAD", ["customers", id]) => Route::Customer(id.parse().ok()?),
            ("GET" | "HEAD", ["backups"]) => Route::Backups,
            ("GET" | "HEAD", ["backups", "tasks"]) => Route::TaskRows,
            ("GET" | "HEAD", ["journal"]) => Route::Journal,
            ("GET" | "HEAD", ["journal", "entries"]) => Route::JournalEntries,
            ("GET" | "HEAD", ["faults"]) => Route::Faults,
            ("GET" | "HEAD", ["snapshots"]) => Route::Snapshots,
            ("GET" | "HEAD", ["app.css"]) => Route::Css,
            ("GET" | "HEAD", ["app.js"]) => Route::Js,
            ("GET" | "HEAD", ["login"]) => Route::Login,
            ("POST", ["login"]) => Route::SubmitLogin,
            ("POST", ["do", action]) => Route::Action((*action).to_owned()),
            _ => return None,
        })
    }

    /// The login page and its form are served to anyone (they grant nothing by themselves).
    pub fn is_login(&self) -> bool {
        matches!(self, Route::Login | Route::SubmitLogin | Route::Css)
    }
}

/// Whether `path` is the dashboard's.
pub fn is_ui(path: &str) -> bool {
    path == ROOT || path.starts_with("/_panelgate/ui/")
}

fn form(req: &Request) -> HashMap<String, String> {
    form_urlencoded::parse(req.body.bytes())
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect()
}

fn html(status: u16, markup: maud::Markup) -> Response {
    let mut resp = response(status, "text/html; charset=utf-8", markup.into_string());
    let h = resp.headers_mut();
    // Nothing but panelgate's own assets; no framing by other sites.
    h.insert(
        http::header::CONTENT_SECURITY_POLICY,
        http::HeaderValue::from_static(
            "default-src 'self'; img-src 'self' data:; frame-ancestors 'none'; form-action 'self'; base-uri 'none'",
        ),
    );
    h.insert(
        http::header::X_CONTENT_TYPE_OPTIONS,
        http::HeaderValue::from_static("nosniff"),
    );
    h.insert(
        http::header::CACHE_CONTROL,
        http::HeaderValue::from_static("no-store"),
    );
    resp
}

fn asset(content_type: &'static str, text: &'static str) -> Response {
    let mut resp = response(200, content_type, text);
    resp.headers_mut().insert(
        http::header::CACHE_CONTROL,
        http::HeaderValue::from_static("no-cache"),
    );
    resp
}

/// `303 See Other` to a dashboard page, with `message` (and whether it is an error) shown there.
fn see_other(back: &str, message: &str, ok: bool) -> Response {
    let mut location = String::from(safe_back(back));
    location.push(if location.contains('?') { '&' } else { '?' });
    location.push_str(
        &form_urlencoded::Serializer::new(String::new())
            .append_pair(if ok { "done" } else { "failed" }, message)
            .finish(),
    );
    let mut resp = response(303, "text/plain; charset=utf-8", "");
    if let Ok(v) = http::HeaderValue::from_str(&location) {
        resp.headers_mut().insert(http::header::LOCATION, v);
    }
    resp
}

/// Where an action returns to: a dashboard page named by the form, or the overview (never
/// another site, never a path outside the dashboard).
fn safe_back(back: &str) -> &str {
    let inside = back == ROOT || back.starts_with("/_panelgate/ui/");
    let plain = back
        .bytes()
        .all(|b| b.is_ascii_graphic() && b != b'\\' && b != b'"');
    if inside && plain && !back.contains("//") && !back.contains("/../") {
        back
    } else {
        ROOT
    }
}

/// The answer to a dashboard request that may use the control API.
pub async fn handle(app: &crate::App, req: &Request, route: Route) -> Response {
    let q = crate::control::query(&req.uri);
    match route {
        Route::Css => asset("text/css; charset=utf-8", CSS),
        Route::Js => asset("text/javascript; charset=utf-8", JS),
        Route::Login => html(200, pages::login(q.get("failed").map(String::as_str))),
        Route::SubmitLogin => submit_login(app, &form(req)),
        Route::Action(action) => {
            let f = form(req);
            let back = f.get("back").cloned().unwrap_or_else(|| ROOT.to_owned());
            match pages::act(app, &action, &f).await {
                Ok(message) => see_other(&back, &message, true),
                Err(message) => see_other(&back, &message, false),
            }
        }
        Route::Overview => page(pages::overview(app, req, &q).await),
        Route::Customers => page(pages::customers(app, &q).await),
        Route::Customer(id) => page(pages::customer(app, id, &q).await),
        Route::Backups => page(pages::backups(app, &q).await),
        Route::TaskRows => fragment(pages::task_rows(app).await),
        Route::Journal => page(pages::journal(app, &q).await),
        Route::JournalEntries => fragment(pages::journal_entries(app, &q).await),
        Route::Faults => page(pages::faults(app, &q).await),
        Route::Snapshots => page(pages::snapshots(app, &q).await),
    }
}

/// A page, or the error page of a core failure.
fn page(result: Result<maud::Markup, pages::Failure>) -> Response {
    match result {
        Ok(markup) => html(200, markup),
        Err(f) => html(f.status, pages::failure(&f)),
    }
}

fn fragment(result: Result<maud::Markup, pages::Failure>) -> Response {
    match result {
        Ok(markup) => html(200, markup),
        Err(f) => html(f.status, maud::html! { p role="alert" { (f.message) } }),
    }
}

fn submit_login(app: &crate::App, f: &HashMap<String, String>) -> Response {
    let given = f.get("token").map(String::as_str).unwrap_or_default();
    let Some(token) = &app.access.token else {
        // Without a token the dashboard is open to loopback clients: nothing to log in to.
        return see_other(ROOT, "no control token is configured", true);
    };
    if !panelgate_core::policy::secret_matches(given, token) {
        return see_other(
            &format!("{ROOT}/login"),
            "that is not the control token",
            false,
        );
    }
    let mut resp = see_other(ROOT, "logged in", true);
    let value: String =
        percent_encoding::utf8_percent_encode(given, percent_encoding::NON_ALPHANUMERIC).collect();
    let cookie = format!("{TOKEN_COOKIE}={value}; Path=/_panelgate; HttpOnly; SameSite=Strict");
    if let Ok(v) = http::HeaderValue::from_str(&cookie) {
        resp.headers_mut().insert(http::header::SET_COOKIE, v);
    }
    resp
}

/// The control token a request's cookie carries, if any.
pub fn cookie_token(headers: &http::HeaderMap) -> Option<String> {
    headers
        .get_all(http::header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .find_map(|pair| pair.trim().strip_prefix(TOKEN_COOKIE)?.strip_prefix('='))
        .and_then(|v| percent_encoding::percent_decode_str(v).decode_utf8().ok())
        .map(|v| v.into_owned())
}

/// The answer for a dashboard page the client may not see: the login page when a token can
/// open it, the control API's refusal otherwise.
pub fn refused(app: &crate::App, req: &Request) -> Response {
    if app.access.token.is_some() && req.method == http::Method::GET {
        return see_other(
            &format!("{ROOT}/login"),
            "log in with the control token",
            false,
        );
    }
    crate::control::forbidden()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn actions_only_return_inside_the_dashboard() {
        assert_eq!(
            safe_back("/_panelgate/ui/backups"),
            "/_panelgate/ui/backups"
        );
        assert_eq!(safe_back("/_panelgate/ui"), "/_panelgate/ui");
        for hostile in [
            "https://evil.example/",
            "//evil.example/_panelgate/ui/",
            "/_panelgate/ui//evil",
            "/_panelgate/ui/../../api.php",
            "/_panelgate/uix",
            "/_panelgate/ui/\r\nSet-Cookie: a=b",
            "",
        ] {
            assert_eq!(safe_back(hostile), ROOT, "{hostile:?}");
        }
    }

    #[test]
    fn the_token_cookie_is_read_among_others() {
        let mut h = http::HeaderMap::new();
        h.insert(
            http::header::COOKIE,
            http::HeaderValue::from_static("a=1; panelgate_token=s%20ecret; b=2"),
        );
        assert_eq!(cookie_token(&h).as_deref(), Some("s ecret"));
        h.insert(
            http::header::COOKIE,
            http::HeaderValue::from_static("panelgate_tokenx=1"),
        );
        assert_eq!(cookie_token(&h), None);
    }

    #[test]
    fn routes() {
        assert_eq!(Route::parse("GET", "/_panelgate/ui"), Some(Route::Overview));
        assert_eq!(
            Route::parse("GET", "/_panelgate/ui/"),
            Some(Route::Overview)
        );
        assert_eq!(
            Route::parse("GET", "/_panelgate/ui/customers/7"),
            Some(Route::Customer(7))
        );
        assert_eq!(Route::parse("GET", "/_panelgate/ui/customers/x"), None);
        assert_eq!(Route::parse("POST", "/_panelgate/ui/customers"), None);
        assert_eq!(
            Route::parse("POST", "/_panelgate/ui/do/reset"),
            Some(Route::Action("reset".into()))
        );
    }
}
