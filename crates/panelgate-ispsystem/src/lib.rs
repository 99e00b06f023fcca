//! The ISPsystem (COREmanager: BILLmanager, ISPmanager, DNSmanager) query API on panelgate's
//! shared core: `func`, `elid`, `plid`, `sok`, `out` (protocols/ispsystem.md).
//!
//! # A request's path
//! 1. The router sends `/billmgr`, `/ispmgr`, `/dnsmgr`, `/manager`, `/manager/<mgr>` and `/`
//!    with `func=` in the query here; the parameters are the query string merged with an
//!    urlencoded or multipart body (the body wins).
//! 2. [`call::Call::decode`] turns them into one typed call (pure, table-tested).
//! 3. The caller is authenticated through the core: `func=auth` (password or one-time key)
//!    opens a session; other calls carry `auth=SESSION`, the `<mgr>ses5` cookie, or
//!    `authinfo=user:password`.
//! 4. The call runs against the core (which decides access) and its answer is one
//!    [`doc::Doc`], rendered by [`render::render`] in the requested `out` format. Every answer
//!    is HTTP 200, errors included (§2.4).
//!
//! # Modules
//! * [`call`]: the typed calls and their decoding;
//! * [`doc`]: the one document model of every answer (lists, forms, ok, errors, auth);
//! * [`render`]: one renderer per output format (`xml`, `devel`, `json`, `sjson`, `xjson`,
//!   `JSONdata`, `bjson`, `text`);
//! * [`accounts`]: client accounts and users over the shared customers.
//!
//! # Served so far, and deviations
//! Sessions and logins, `account`, `account.edit`, `account.delete|suspend|resume` and `user`.
//! The backup functions of the seed are not served yet (they answer `missed`). A request to `/`
//! is routed here only when `func` is in its query string.

pub mod accounts;
pub mod backups;
pub mod call;
pub mod doc;
pub mod fetch;
pub mod render;

use std::net::IpAddr;

use http::Uri;
use panelgate_core::{Core, CoreError, Principal, Refusal};
use panelgate_http::{BoxFuture, Context, Frontend, Params, Request, Response};

use crate::backups::Reply;
use crate::call::Call;
use crate::doc::{Body, Doc, Error};
use crate::render::Format;

/// The ISPsystem frontend.
#[derive(Clone, Debug)]
pub struct IspSystem {
    core: Core,
    /// Hosts `backups.upload&url=` may fetch from (empty: none).
    url_hosts: Vec<String>,
    /// The most bytes one upload (a file part or a fetched URL) may have.
    upload_limit: u64,
}

impl IspSystem {
    pub fn new(core: Core) -> IspSystem {
        IspSystem {
            core,
            url_hosts: Vec::new(),
            upload_limit: 4 * 1024 * 1024 * 1024,
        }
    }

    /// The hosts `backups.upload&url=` may fetch from and the upload limit (builder).
    pub fn with_uploads(mut self, url_hosts: Vec<String>, upload_limit: u64) -> IspSystem {
        self.url_hosts = url_hosts;
        self.upload_limit = upload_limit;
        self
    }
}

/// The panel binary a path names (`/billmgr`), for `doc@binary` and the session cookie.
fn binary(path: &str) -> &str {
    match path {
        "/ispmgr" | "/billmgr" | "/dnsmgr" => path,
        p => match p.strip_prefix("/manager/") {
            Some(m) if !m.is_empty() && !m.contains('/') => &p["/manager".len()..],
            _ => "/billmgr",
        },
    }
}

/// Does the query string carry `func`?
fn has_func(uri: &Uri) -> bool {
    Params::from_query(uri.query()).get("func").is_some()
}

/// The ISPsystem access level of a caller (§2.2: 16 is a client; staff levels above).
fn level(principal: &Principal) -> u32 {
    match principal.actor().kind() {
        panelgate_core::ActorKind::Customer => 16,
        panelgate_core::ActorKind::Reseller => 28,
        panelgate_core::ActorKind::Admin | panelgate_core::ActorKind::System => 30,
    }
}

/// The one mapping of core errors to ISPsystem errors (§3.1 error types).
pub fn from_core(e: &CoreError, elid: &str) -> Error {
    match e {
        // What the caller may not see is refused the same way whether or not it exists.
        CoreError::NotFound { .. } | CoreError::Forbidden(_) => {
            Error::access("elid", "Access denied")
        }
        // The text of protocols/ispsystem.md §6 example 8.
        CoreError::AlreadyExists { key, .. } => {
            Error::exists("user", key.to_string(), "User already exists")
        }
        CoreError::Invalid { field, reason } => Error::value(*field, elid, reason.clone()),
        CoreError::QuotaExceeded(_) => Error::access("limit", "The limit is reached"),
        CoreError::Conflict(reason) => Error::value("elid", elid, reason.clone()),
        CoreError::Unavailable(detail) | CoreError::Internal(detail) => {
            tracing::error!(protocol = "ispsystem", error = %detail, "operation failed");
            Error::new("internal", "server", "", "Internal error")
        }
    }
}

impl Frontend for IspSystem {
    fn protocol(&self) -> &'static str {
        "ispsystem"
    }

    fn matches(&self, uri: &Uri) -> bool {
        let path = uri.path();
        matches!(path, "/billmgr" | "/ispmgr" | "/dnsmgr" | "/manager")
            || path
                .strip_prefix("/manager/")
                .is_some_and(|m| !m.is_empty() && !m.contains('/'))
            || (path == "/" && has_func(uri))
    }

    fn handle<'a>(&'a self, req: Request, cx: &'a Context) -> BoxFuture<'a, Response> {
        Box::pin(self.respond(req, cx))
    }
}

impl IspSystem {
    async fn respond(&self, req: Request, cx: &Context) -> Response {
        // The body as the listener read it (under the body limit): a refused body is answered
        // as an ISPsystem error in the requested format, the query string still read.
        let tmp = self.core.data_dir().join("tmp");
        let read = match &req.body {
            panelgate_http::Body::TooLarge => Err(Error::value(
                "body",
                "",
                "The request is larger than this server accepts",
            )),
            panelgate_http::Body::TimedOut => Err(Error::value(
                "body",
                "",
                "The request body was not received in time",
            )),
            panelgate_http::Body::Complete(b) => {
                Params::from_request_with_files(&req, &tmp, b.len() as u64)
                    .await
                    .map_err(|e| Error::value("body", "", e.to_string()))
            }
        };
        let (params, refused) = match read {
            Ok(p) => match p.not_utf8().map(str::to_owned) {
                // Bytes that are no UTF-8 are refused, not stored as U+FFFD.
                Some(name) => (
                    p,
                    Some(Error::value(
                        name.clone(),
                        "",
                        format!("The value of the field '{name}' is not valid UTF-8"),
                    )),
                ),
                None => (p, None),
            },
            Err(e) => (Params::from_request(&req), Some(e)),
        };
        let out = params.get("out").unwrap_or("xml");
        let func = params.get("func").unwrap_or("").to_owned();
        cx.set_call(func.clone());
        let bin = binary(req.uri.path()).to_owned();
        let tparams: Vec<(String, String)> = params
            .merged()
            .into_iter()
            .map(|(k, v)| (k.to_owned(), v.to_owned()))
            .collect();
        let (format, body) = match Format::parse(out) {
            Some(format) if refused.is_some() => (format, Body::Error(refused.unwrap_or_default())),
            Some(format) => match self.answer(&req, &params, &bin, cx).await {
                Reply::Doc(body) => (format, body),
                Reply::File(files) => {
                    return panelgate_http::download(&files.file_name, files.paths, files.size)
                }
            },
            // An unknown format is answered in XML (the default) with a `value` error.
            None => (
                Format::Xml,
                Body::Error(Error::value(
                    "out",
                    out,
                    format!("Unknown output format {out}"),
                )),
            ),
        };
        let doc = Doc::new(func, body).with_binary(bin).with_tparams(tparams);
        panelgate_http::response(200, format.content_type(), render::render(&doc, format))
    }

    /// Authenticate and run the call.
    async fn answer(&self, req: &Request, p: &Params, bin: &str, cx: &Context) -> Reply {
        let peer: Option<IpAddr> = req.peer.map(|s| s.ip());
        let call = Call::decode(p);
        let auth = self.core.auth();
        let refused =
            |r: Result<panelgate_core::auth::Login, CoreError>| -> Result<Principal, Error> {
                match r {
                    Ok(Ok(principal)) => Ok(principal),
                    Ok(Err(
                        Refusal::BadCredentials
                        | Refusal::Throttled
                        | Refusal::Disabled { .. }
                        | Refusal::ApiNotAllowed { .. },
                    )) => Err(Error::auth("Invalid username or password")),
                    Err(e) => Err(from_core(&e, "")),
                }
            };
        // Logins open a session.
        let login = match &call {
            Call::Auth { username, password } => {
                Some(auth.password(username, password, peer).await)
            }
            Call::AuthKey { username, key } => {
                Some(auth.key_login(username.as_deref(), key, peer).await)
            }
            _ => None,
        };
        if let Some(login) = login {
            let principal = match refused(login) {
                Ok(p) => p,
                Err(e) => return Body::Error(e).into(),
            };
            cx.set_actor(principal.actor().label());
            return match auth.open_session(&principal).await {
                Ok(id) => Body::Auth {
                    id,
                    level: level(&principal),
                },
                Err(e) => Body::Error(from_core(&e, "")),
            }
            .into();
        }
        // Everything else needs a caller: a session (parameter or cookie), or authinfo.
        let cookie = format!("{}ses5", bin.trim_start_matches('/'));
        let session = p
            .get("auth")
            .filter(|s| !s.is_empty())
            .or_else(|| panelgate_http::auth::cookie(&req.headers, &cookie))
            .map(str::to_owned);
        let principal = match (&session, p.get("authinfo")) {
            (Some(id), _) => refused(auth.session(id).await),
            (None, Some(info)) => {
                let (user, password) = info.split_once(':').unwrap_or((info, ""));
                refused(auth.password(user, password, peer).await)
            }
            (None, None) => Err(Error::auth("Authorization required")),
        };
        let principal = match principal {
            Ok(p) => p,
            Err(e) => return Body::Error(e).into(),
        };
        cx.set_actor(principal.actor().label());
        if let Some(fault) = cx.fault_point().await {
            let kind = fault.kind.unwrap_or_else(|| "fault".into());
            return Body::Error(Error::new(kind, "", "", fault.message)).into();
        }
        let core = &self.core;
        let body = match call {
            Call::Auth { .. } | Call::AuthKey { .. } => Body::ok(),
            Call::SessionNewKey { username, key } => {
                match auth
                    .new_login_key(&principal.actor(), &username, &key, peer)
                    .await
                {
                    Ok(()) => Body::ok(),
                    Err(e) => Body::Error(from_core(&e, &username)),
                }
            }
            Call::SessionDelete { elid } => {
                let id = elid.or(session).unwrap_or_default();
                match auth.close_session(&principal.actor(), &id).await {
                    Ok(true) => Body::ok(),
                    Ok(false) => {
                        Body::Error(Error::missed("elid", "", "The session does not exist"))
                    }
                    Err(e) => Body::Error(from_core(&e, "")),
                }
            }
            Call::AccountList => accounts::list(&self.core, &principal, p).await,
            Call::AccountEdit {
                elid,
                submit,
                fields,
            } => accounts::edit(&self.core, &principal, elid, submit, fields).await,
            Call::AccountGroup { op, elids } => {
                accounts::group(&self.core, &principal, op, &elids).await
            }
            Call::UserList => accounts::users(&self.core, &principal, p).await,
            Call::UserEdit {
                elid,
                submit,
                fields,
            } => accounts::edit(&self.core, &principal, elid, submit, fields).await,
            Call::BackupList => backups::list(core, &principal, p).await,
            Call::BackupCreate {
                submit,
                description,
            } => backups::create(core, &principal, submit, description).await,
            call @ Call::BackupSettings { .. } => backups::settings(core, &principal, call).await,
            call @ Call::BackupSetup { .. } => backups::setup(core, &principal, call).await,
            Call::BackupUpload {
                submit,
                url,
                description,
            } => {
                let limits = backups::UploadLimits {
                    url_hosts: &self.url_hosts,
                    max_size: self.upload_limit,
                };
                backups::upload(
                    core,
                    &principal,
                    p,
                    submit,
                    url.as_deref(),
                    description,
                    limits,
                )
                .await
            }
            Call::DataTypes => backups::data_types(core, &principal, p).await,
            Call::DataNames { kind } => {
                backups::data_names(core, &principal, p, kind.as_deref()).await
            }
            call @ Call::DataRestore { .. } => backups::data_restore(core, &principal, call).await,
            Call::DataFiles { login, version } => {
                backups::data_files(core, &principal, p, login.as_deref(), version.as_deref()).await
            }
            call @ Call::DataFilesRestore { .. } => {
                backups::data_files_restore(core, &principal, call).await
            }
            Call::BackupDownload { elid } => {
                return backups::download(core, &principal, elid.as_deref()).await
            }
            Call::BackupDelete {
                elids,
                clean_storages,
            } => backups::delete(core, &principal, &elids, clean_storages).await,
            Call::BackupRestore {
                elid,
                submit,
                behavior,
            } => {
                backups::restore(
                    core,
                    &principal,
                    elid.as_deref(),
                    submit,
                    behavior.as_deref(),
                )
                .await
            }
            Call::Unknown(func) => Body::Error(Error::missed(
                "func",
                func.clone(),
                format!("Function '{func}' not found"),
            )),
        };
        body.into()
    }
}
