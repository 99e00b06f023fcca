//! The Froxlor 2.x JSON API (`/api.php`) on panelgate's shared core.
//!
//! # What it emulates
//! Froxlor 2.0.24 (default) or 2.3.10 (`FroxlorVersion::V2_3`): HTTP Basic with API key and
//! secret, `{"command":"Module.method","params":{…}}` bodies or the `api.php?/module/method`
//! query form, the `{"data":…}` / `{"message":…}` envelope with the exception code as HTTP
//! status, PHP's pretty-printed JSON bytes and Froxlor's response headers. Commands:
//! `Froxlor.listFunctions`/`getApiVersion`, `Customers.*`, `CustomerBackups.*` (2.0) and
//! `DataDump.*`, `Admins.get/listing/listingCount`. The wire rules are in
//! protocols/froxlor.md; every behaviour here names the section it follows.
//!
//! # A request's path
//! 1. [`auth`]: the Basic credentials go to the core's authentication (expiry, IP allow-list,
//!    `api_allowed`, deactivation and failed-login limits are the core's rules);
//! 2. `call`: the body (or the `api.php?/module/method` query) is decoded into a [`Command`]
//!    (module, method, [`params::Params`] after PHP's and AntiXSS's normalisation), in linear
//!    time, off the async workers for large bodies;
//! 3. dispatch by module: `customers`, `backups` (CustomerBackups/DataDump), `admins`,
//!    `functions` read their parameters in Froxlor's order, call the core, and render with
//!    `json` (PHP's pretty printer); `listing` applies `sql_*`; `validate` holds the field
//!    rules;
//! 4. [`error::from_core`]: the one mapping of core errors to Froxlor's answers.
//!
//! # Deviations
//! * Customer and admin objects never carry `password` or `data_2fa` (Froxlor itself stopped
//!   returning them in 2.3.8: a password hash on the wire is a security hole).
//! * `sql_search`/`sql_orderby` field names are resolved against a fixed column list, never
//!   put into SQL; the error texts for bad fields are MariaDB 10.11's, as Froxlor shows them.
//! * Only the modules above exist; other Froxlor modules answer `Unknown command`.
//! * A body over the size limit is not read and is treated as empty, as PHP does past
//!   `post_max_size`.

pub mod admins;
pub mod auth;
pub mod backups;
pub mod call;
pub mod customer_object;
pub mod customers;
pub mod error;
pub mod functions;
pub mod json;
pub mod listing;
pub mod params;
pub mod settings;
pub mod validate;

use std::net::IpAddr;

use bytes::Bytes;
use http::{HeaderValue, Uri};
use panelgate_core::Core;
use panelgate_http::{BoxFuture, Context, Frontend, Request, Response};
use serde_json::{json, Value};
use settings::Settings;

use crate::call::{Call, Command, Module};
use crate::error::Failure;
use panelgate_core::{Principal, Refusal};

/// Which Froxlor release the API answers as.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum FroxlorVersion {
    /// 2.0.24: `CustomerBackups.*`, no `gui_access`/`shell_allowed` keys.
    #[default]
    V2_0,
    /// 2.3.10: `DataDump.*` only, `shell_allowed` and `gui_access` keys, `listingCount` searches.
    V2_3,
}

impl FroxlorVersion {
    pub fn parse(s: &str) -> Option<FroxlorVersion> {
        match s.trim() {
            "2.0" | "2.0.24" | "2" => Some(FroxlorVersion::V2_0),
            "2.3" | "2.3.10" => Some(FroxlorVersion::V2_3),
            _ => None,
        }
    }

    pub fn release(self) -> &'static str {
        match self {
            FroxlorVersion::V2_0 => "2.0.24",
            FroxlorVersion::V2_3 => "2.3.10",
        }
    }
}

/// The Froxlor frontend.
#[derive(Clone, Debug)]
pub struct Froxlor {
    core: Core,
    version: FroxlorVersion,
}

/// Everything a command handler needs.
pub struct Ctx<'a> {
    pub core: &'a Core,
    pub principal: &'a Principal,
    pub settings: &'a Settings,
    pub version: FroxlorVersion,
}

pub type Outcome = Result<Value, Failure>;

/// What a command answers under `data`.
pub enum Data {
    Value(Value),
    /// The answer's text but its closing brace: begun by [`data_text`], the value written at
    /// nesting level 1 (the busiest answers skip building a value, and are written where the
    /// answer is, not copied into it).
    Text(String),
}

/// A text for [`Data::Text`]: the answer's opening up to the `data` value, with room for
/// `capacity` bytes more.
pub(crate) fn data_text(capacity: usize) -> String {
    const OPENING: &str = "{\n    \"data\": ";
    let mut text = String::with_capacity(OPENING.len() + capacity + 2);
    text.push_str(OPENING);
    text
}

impl Froxlor {
    pub fn new(core: Core, version: FroxlorVersion) -> Froxlor {
        Froxlor { core, version }
    }

    pub fn version(&self) -> FroxlorVersion {
        self.version
    }

    async fn serve(&self, req: &Request, cx: &Context) -> (u16, Option<String>, HeaderSet) {
        let settings = match self.core.settings().snapshot().await {
            Ok(s) => Settings::new(s),
            Err(e) => {
                let f = error::from_core(e, error::JobNoun::Backup);
                return render(f, HeaderSet::Plain);
            }
        };
        if !settings.flag("api.enabled") {
            return render(
                Failure::new(400, "API is not enabled. Please contact the administrator if you think this is wrong."),
                HeaderSet::Plain,
            );
        }
        let limit = settings.int("system.req_limit_per_interval");
        let reset = self.core.now() + settings.int("system.req_limit_interval");
        let headers = HeaderSet::RateLimited {
            limit,
            reset,
            challenge: false,
        };
        let Some(creds) = auth::parse_basic(&req.headers) else {
            return render(
                Failure::new(401, "Unauthenticated. Please provide api user credentials."),
                HeaderSet::RateLimited {
                    limit,
                    reset,
                    challenge: true,
                },
            );
        };
        let peer: Option<IpAddr> = req.peer.map(|p| p.ip());
        let invalid = || Failure::new(403, "Invalid authorization credentials");
        let principal = match auth::authenticate(&self.core, &creds, peer).await {
            Ok(Ok(p)) => Some(p),
            // Froxlor accepts a suspended admin's key and refuses the command after decoding it.
            Ok(Err(Refusal::Disabled { admin: true })) => None,
            Ok(Err(
                Refusal::BadCredentials
                | Refusal::Throttled
                | Refusal::Disabled { admin: false }
                | Refusal::ApiNotAllowed { .. },
            )) => return render(invalid(), headers),
            Err(e) => return render(error::from_core(e, error::JobNoun::Backup), headers),
        };
        let command = match self.decode(req).await {
            Ok(c) => c,
            Err(e) => return render(e.into(), headers),
        };
        let Some(principal) = principal else {
            return render(Failure::new(406, "Account suspended"), headers);
        };
        cx.set_actor(principal.actor().label());
        let ctx = Ctx {
            core: &self.core,
            principal: &principal,
            settings: &settings,
            version: self.version,
        };
        cx.set_call(command.call.name());
        if let Some(fault) = cx.fault_point().await {
            return render(
                Failure::new(fault.status.unwrap_or(500), fault.message),
                headers,
            );
        }
        match dispatch(&ctx, &command).await {
            Ok(Data::Value(data)) => (
                200,
                Some(json::encode(&json::object([("data", data)]))),
                headers,
            ),
            Ok(Data::Text(mut text)) => {
                text.push_str("\n}");
                (200, Some(text), headers)
            }
            Err(f) => render(f, headers),
        }
    }
}

/// Bodies above this are decoded on the blocking pool, not on an async worker.
const INLINE_DECODE_LIMIT: usize = 64 * 1024;

impl Froxlor {
    /// Decode the command (linear in the body; large bodies off the async workers).
    async fn decode(&self, req: &Request) -> Result<Command, call::DecodeError> {
        let version = self.version;
        let body = match &req.body {
            panelgate_http::Body::Complete(b) if b.len() > INLINE_DECODE_LIMIT => b.clone(),
            other => return call::decode(other.bytes(), req.uri.query(), version),
        };
        let query = req.uri.query().map(str::to_owned);
        tokio::task::spawn_blocking(move || call::decode(&body, query.as_deref(), version))
            .await
            .unwrap_or(Err(call::DecodeError::Fatal))
    }
}

async fn dispatch(ctx: &Ctx<'_>, cmd: &Command) -> Result<Data, Failure> {
    let value = match cmd.call {
        Call::Customers(op) => return customers::run(ctx, op, &cmd.params).await,
        Call::Jobs(module, op) => {
            let flavor = match module {
                Module::CustomerBackups => backups::Flavor::CustomerBackups,
                _ => backups::Flavor::DataDump,
            };
            backups::run(ctx, flavor, op, &cmd.params).await
        }
        Call::Admins(op) => admins::run(ctx, op, &cmd.params).await,
        Call::Froxlor(op) => functions::run(ctx, op, &cmd.params),
    };
    value.map(Data::Value)
}

/// Which response headers an answer carries (protocols/froxlor.md §2.3).
#[derive(Clone, Copy, Debug)]
enum HeaderSet {
    /// API switched off: only `Accept` and `Content-Type`.
    Plain,
    RateLimited {
        limit: i64,
        reset: i64,
        challenge: bool,
    },
}

fn render(f: Failure, headers: HeaderSet) -> (u16, Option<String>, HeaderSet) {
    match f {
        Failure::Message(status, message) => (
            status,
            Some(json::encode(&json!({ "message": message }))),
            headers,
        ),
        Failure::Fatal => (500, None, headers),
    }
}

impl Frontend for Froxlor {
    fn protocol(&self) -> &'static str {
        "froxlor"
    }

    fn matches(&self, uri: &Uri) -> bool {
        let path = uri.path();
        path == "/api.php" || path.starts_with("/api.php/")
    }

    fn handle<'a>(&'a self, req: Request, cx: &'a Context) -> BoxFuture<'a, Response> {
        Box::pin(self.answer(req, cx))
    }
}

impl Froxlor {
    async fn answer(&self, req: Request, cx: &Context) -> Response {
        let (status, body, headers) = self.serve(&req, cx).await;
        let mut resp = panelgate_http::response(
            status,
            "application/json",
            body.map(Bytes::from).unwrap_or_default(),
        );
        let h = resp.headers_mut();
        h.insert(
            http::header::ACCEPT,
            HeaderValue::from_static("application/json"),
        );
        h.remove(http::header::CONTENT_TYPE);
        h.insert(
            http::header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        );
        if let HeaderSet::RateLimited {
            limit,
            reset,
            challenge,
        } = headers
        {
            h.insert("x-ratelimit-limit", HeaderValue::from(limit));
            h.insert("x-ratelimit-remaining", HeaderValue::from(limit - 1));
            h.insert("x-ratelimit-reset", HeaderValue::from(reset));
            if challenge {
                h.insert(
                    http::header::WWW_AUTHENTICATE,
                    HeaderValue::from_static("Basic realm=\"API\""),
                );
            }
        }
        resp
    }
}

#[cfg(test)]
mod proptests;
