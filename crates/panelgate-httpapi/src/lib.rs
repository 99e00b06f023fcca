//! The LogicBoxes / ResellerClub HTTP API (httpapi.com) on panelgate's shared core:
//! `/api/{category}/…/{action}.json|.xml`, `auth-userid` + `api-key` on every call
//! (protocols/httpapi.md).
//!
//! # A request's path
//! 1. The router sends every `/api/….json` and `/api/….xml` here; the parameters are the query
//!    string merged with an urlencoded body (repeated keys are arrays, empty values absent).
//! 2. [`call::Call::decode`] turns the path and parameters into one typed call, or the API's
//!    message for what is missing or malformed; a state-changing call must be a POST.
//! 3. The caller is authenticated by the core (`auth-userid` names the reseller, `api-key` is
//!    its secret; the legacy `auth-password` is its panel password); the core's policy decides
//!    what it may see and change.
//! 4. [`customers`] and [`orders`] run the call on the core; [`render`] writes the answer as
//!    JSON (maps of strings, bare ids, `true`) or the `<hashtable>` XML form. Every failure is
//!    HTTP 500 with `{"status":"ERROR","message":…}` (§2.4), every core error mapped by
//!    [`from_core`].

pub mod call;
mod customers;
mod orders;
pub mod render;

/// The customer as `customers/details-by-id.json` answers it, pretty-printed: what a dashboard
/// shows as the httpapi.com view of a customer.
pub fn customer_view(c: &panelgate_core::Customer) -> String {
    serde_json::to_string_pretty(&serde_json::Value::Object(customers::customer_map(c)))
        .unwrap_or_default()
}

use std::net::IpAddr;

use http::{Method, Uri};
use panelgate_core::{Core, CoreError, CredentialKind, Denied, Principal, Refusal};
use panelgate_http::{BoxFuture, Context, Frontend, Params, Request, Response};
use serde_json::Value;

use call::Call;
use render::{render, Format};

/// The httpapi.com frontend.
#[derive(Clone, Debug)]
pub struct HttpApi {
    core: Core,
}

impl HttpApi {
    pub fn new(core: Core) -> HttpApi {
        HttpApi { core }
    }
}

/// `customers/details-by-id` and `json` of `/api/customers/details-by-id.json`.
pub fn split_path(path: &str) -> Option<(&str, Format)> {
    let rest = path.strip_prefix("/api/")?;
    if let Some(call) = rest.strip_suffix(".json") {
        Some((call, Format::Json))
    } else {
        rest.strip_suffix(".xml").map(|call| (call, Format::Xml))
    }
}

/// A failed call: HTTP 500 and the ERROR envelope (§2.4).
#[derive(Debug, PartialEq, Eq)]
pub struct Failure(pub String);

impl Failure {
    pub fn new(message: impl Into<String>) -> Failure {
        Failure(message.into())
    }
}

/// What a failing call was about, for the message of a record that is not there.
pub(crate) enum Subject<'a> {
    CustomerId(i64),
    Username(&'a str),
    Order(i64),
    Reseller,
}

/// The one mapping of core errors to httpapi.com messages (§2.4). What the caller may not see
/// is answered like what does not exist.
pub(crate) fn from_core(e: &CoreError, about: Subject<'_>) -> Failure {
    let missing = || match &about {
        Subject::CustomerId(id) => format!("Invalid customer-id: {id}"),
        Subject::Username(name) => format!("Customer {} not found", call::shorten(name)),
        Subject::Order(id) => format!("No Entity found for Entityid {id}"),
        Subject::Reseller => "Reseller not found".to_owned(),
    };
    match e {
        CoreError::NotFound { .. } | CoreError::Forbidden(Denied::OtherCustomer) => {
            Failure::new(missing())
        }
        CoreError::Forbidden(_) => Failure::new("You are not allowed to perform this action"),
        CoreError::AlreadyExists { key, .. } => Failure::new(format!(
            "{{username=Customer {} already exists}}",
            call::shorten(&key.to_string())
        )),
        CoreError::Invalid { field, reason } => Failure::new(format!("{{{field}={reason}}}")),
        CoreError::QuotaExceeded(_) => {
            Failure::new("You have reached the maximum number of customers you may add")
        }
        CoreError::Conflict(reason) => Failure::new(reason.clone()),
        CoreError::Unavailable(detail) | CoreError::Internal(detail) => {
            tracing::error!(protocol = "httpapi", error = %detail, "operation failed");
            Failure::new("An unexpected error occurred")
        }
    }
}

/// The message of a refused login (§1.4: only HTTP 500 is known of the real one).
fn refused(r: Refusal) -> Failure {
    Failure::new(match r {
        Refusal::Throttled => "Too many failed login attempts. Please try again later.",
        Refusal::Disabled { .. } => "Your account is suspended",
        Refusal::BadCredentials | Refusal::ApiNotAllowed { .. } => {
            "Authentication failed. Invalid auth-userid or api-key."
        }
    })
}

/// Is every `%` of `raw` followed by two hex digits?
pub fn well_encoded(raw: &[u8]) -> bool {
    let mut i = 0;
    while i < raw.len() {
        if raw[i] == b'%' {
            let hex = |j: usize| raw.get(j).is_some_and(u8::is_ascii_hexdigit);
            if !(hex(i + 1) && hex(i + 2)) {
                return false;
            }
            i += 3;
        } else {
            i += 1;
        }
    }
    true
}

impl Frontend for HttpApi {
    fn protocol(&self) -> &'static str {
        "httpapi"
    }

    /// Every path under `/api/`: one without `.json`/`.xml` is answered with httpapi.com's
    /// own "Unsupported API call", not the server's 404.
    fn matches(&self, uri: &Uri) -> bool {
        uri.path().starts_with("/api/")
    }

    fn handle<'a>(&'a self, req: Request, cx: &'a Context) -> BoxFuture<'a, Response> {
        Box::pin(self.respond(req, cx))
    }
}

impl HttpApi {
    async fn respond(&self, req: Request, cx: &Context) -> Response {
        let Some((path, format)) = split_path(req.uri.path()) else {
            return render(Err(Failure::new("Unsupported API call")), Format::Json);
        };
        cx.set_call(path.to_owned());
        let answer = self.answer(&req, path, cx).await;
        render(answer, format)
    }

    async fn answer(&self, req: &Request, path: &str, cx: &Context) -> Result<Value, Failure> {
        match &req.body {
            panelgate_http::Body::TooLarge => {
                return Err(Failure::new("Request body too large"));
            }
            panelgate_http::Body::TimedOut => {
                return Err(Failure::new("Request body not received in time"));
            }
            panelgate_http::Body::Complete(_) => {}
        }
        let form_body = req
            .header("content-type")
            .is_some_and(|t| t.starts_with("application/x-www-form-urlencoded"));
        if !well_encoded(req.uri.query().unwrap_or("").as_bytes())
            || (form_body && !well_encoded(req.body.bytes()))
        {
            return Err(Failure::new("Invalid parameter encoding"));
        }
        let params = Params::from_request(req);
        if params.not_utf8().is_some() {
            return Err(Failure::new("Invalid parameter encoding"));
        }
        let peer: Option<IpAddr> = req.peer.map(|s| s.ip());
        let principal = self.caller(&params, peer).await?;
        cx.set_actor(principal.actor().label());
        if let Some(fault) = cx.fault_point().await {
            return Err(Failure::new(fault.message));
        }
        let call = Call::decode(path, &params)?;
        if call.is_write() && req.method != Method::POST {
            return Err(Failure::new(format!(
                "{} must be called with the POST method",
                call::shorten(path)
            )));
        }
        match call {
            Call::ResellerDetails => customers::reseller_details(&self.core, &principal).await,
            Call::BackupAdd { .. }
            | Call::BackupAddStorage { .. }
            | Call::BackupRenew { .. }
            | Call::BackupAutoLogin { .. }
            | Call::BackupSearch { .. }
            | Call::BackupDetails { .. }
            | Call::BackupDelete { .. }
            | Call::PlanDetails
            | Call::OrderSuspend { .. }
            | Call::OrderUnsuspend { .. }
            | Call::ActionsSearchCurrent { .. } => {
                let host = req.header("host").unwrap_or("localhost");
                orders::run(&self.core, &principal, call, host, peer).await
            }
            customer_call => customers::run(&self.core, &principal, customer_call, peer).await,
        }
    }

    /// `auth-userid` + `api-key` (or the legacy `auth-password`): the reseller the user id
    /// names, checked by the core.
    async fn caller(&self, p: &Params, peer: Option<IpAddr>) -> Result<Principal, Failure> {
        let userid = p
            .get("auth-userid")
            .filter(|v| !v.is_empty())
            .ok_or_else(|| Failure::new("Required parameter missing: auth-userid"))?;
        let id: i64 = userid.parse().ok().filter(|id| *id >= 0).ok_or_else(|| {
            Failure::new(format!("Invalid auth-userid: {}", call::shorten(userid)))
        })?;
        let login = match (p.get("api-key"), p.get("auth-password")) {
            (Some(key), _) if !key.is_empty() => {
                self.core
                    .auth()
                    .key(CredentialKind::Httpapi, &id.to_string(), key, peer)
                    .await
            }
            (_, Some(password)) if !password.is_empty() => {
                self.core.auth().admin_password(id, password, peer).await
            }
            _ => return Err(Failure::new("Required parameter missing: api-key")),
        };
        match login {
            Ok(Ok(principal)) if principal.actor().admin_id().is_some() => Ok(principal),
            Ok(Ok(_)) => Err(refused(Refusal::BadCredentials)),
            Ok(Err(r)) => Err(refused(r)),
            Err(e) => Err(from_core(&e, Subject::Reseller)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_and_encoding() {
        assert_eq!(
            split_path("/api/customers/v2/signup.json"),
            Some(("customers/v2/signup", Format::Json))
        );
        assert_eq!(
            split_path("/api/backup/us/add.xml"),
            Some(("backup/us/add", Format::Xml))
        );
        assert_eq!(split_path("/api/customers/signup"), None);
        assert_eq!(split_path("/apix/a.json"), None);
        assert!(well_encoded(b"a=%41%2b&b=c+d"));
        for bad in [&b"a=%"[..], b"a=%4", b"a=%zz", b"%4g=1"] {
            assert!(!well_encoded(bad), "{bad:?}");
        }
    }
}
