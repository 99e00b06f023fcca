//! The LogicBoxes / ResellerClub HTTP API (httpapi.com) on panelgate's shared core:
//! `/api/{category}/…/{action}.json|.xml`, `auth-userid` + `api-key` on every call
//! (protocols/httpapi.md).
//!
//! # A request's path
//! 1. The router sends every `/api/….json` and `/api/….xml` here; the parameters are the query
//!    string merged with an urlencoded body.
//! 2. The caller is authenticated by the core (`auth-userid` names the credential, `api-key`
//!    is its secret); the core's policy decides what it may see.
//! 3. The answer is a JSON value (maps of strings, bare ids, `true`), or the `<hashtable>` XML
//!    form; errors are HTTP 500 with `{"status":"ERROR","message":…}` (§2.4).
//!
//! # Served so far (issue 10 is in progress)
//! `resellers/details`, `customers/details`, `customers/details-by-id`, `customers/search`,
//! `customers/signup`, `customers/v2/signup`, `customers/modify`, `customers/delete`,
//! `customers/change-password` (and `v2/`), `customers/suspend`, `customers/unsuspend`,
//! `customers/generate-token` and `customers/authenticate-token`.
//! Other calls answer the ERROR envelope.

use std::net::IpAddr;

use http::Uri;
use panelgate_core::types::Login;
use panelgate_core::{
    Core, CoreError, CredentialKind, Customer, CustomerRef, NewCustomer, Principal, Profile,
};
use panelgate_http::{BoxFuture, Context, Frontend, Params, Request, Response};
use serde_json::{json, Map, Value};

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

/// The answer format, from the path's extension.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Format {
    Json,
    Xml,
}

/// `customers/details-by-id` and `json` of `/api/customers/details-by-id.json`.
fn split_path(path: &str) -> Option<(&str, Format)> {
    let rest = path.strip_prefix("/api/")?;
    if let Some(call) = rest.strip_suffix(".json") {
        Some((call, Format::Json))
    } else {
        rest.strip_suffix(".xml").map(|call| (call, Format::Xml))
    }
}

/// A failed call: HTTP 500 and the ERROR envelope (§2.4).
struct Failure(String);

impl Failure {
    fn new(message: impl Into<String>) -> Failure {
        Failure(message.into())
    }
}

/// The one mapping of core errors to httpapi.com messages. What the caller may not see is
/// answered like what does not exist.
fn from_core(e: &CoreError, what: &str) -> Failure {
    match e {
        CoreError::NotFound { .. }
        | CoreError::Forbidden(panelgate_core::Denied::OtherCustomer) => {
            Failure::new(format!("{what} not found"))
        }
        CoreError::Forbidden(_) => {
            Failure::new("Access Denied. You are not authorized to perform this action.")
        }
        CoreError::AlreadyExists { key, .. } => {
            Failure::new(format!("Customer {key} already exists"))
        }
        CoreError::Invalid { reason, .. } => Failure::new(reason.clone()),
        CoreError::QuotaExceeded(_) => Failure::new("Customer limit reached"),
        CoreError::Conflict(reason) => Failure::new(reason.clone()),
        CoreError::Unavailable(detail) | CoreError::Internal(detail) => {
            tracing::error!(protocol = "httpapi", error = %detail, "operation failed");
            Failure::new("An unexpected error occurred")
        }
    }
}

/// A token as LogicBoxes shows them: a random UUID (version 4 layout).
fn new_token() -> String {
    let b: [u8; 16] = std::array::from_fn(|_| rand::random::<u8>());
    let h: String = b.iter().map(|x| format!("{x:02x}")).collect();
    format!(
        "{}-{}-4{}-a{}-{}",
        &h[0..8],
        &h[8..12],
        &h[13..16],
        &h[17..20],
        &h[20..32]
    )
}

/// `+CC NUMBER` as stored ↔ `telnocc`, `telno`.
fn split_phone(phone: &str) -> (String, String) {
    match phone.strip_prefix('+').and_then(|p| p.split_once(' ')) {
        Some((cc, no)) if cc.chars().all(|c| c.is_ascii_digit()) => (cc.to_owned(), no.to_owned()),
        _ => (String::new(), phone.to_owned()),
    }
}

/// A customer as `details` answers it (§4.2): every value a string, optional keys absent when
/// unset, `state` `Not Applicable` when there is none.
fn customer_map(c: &Customer) -> Map<String, Value> {
    let p = &c.profile;
    let (telnocc, telno) = split_phone(&p.phone);
    let name = [p.firstname.as_str(), p.name.as_str()]
        .iter()
        .filter(|s| !s.is_empty())
        .copied()
        .collect::<Vec<_>>()
        .join(" ");
    let mut m = Map::new();
    let mut put = |k: &str, v: String| {
        m.insert(k.to_owned(), Value::String(v));
    };
    put("customerid", c.id.to_string());
    put("username", c.loginname.clone());
    put("resellerid", c.admin_id.to_string());
    put("parentid", c.admin_id.to_string());
    put("name", name);
    put("company", p.company.clone());
    put("useremail", p.email.clone());
    put("telnocc", telnocc);
    put("telno", telno);
    put("address1", p.street.clone());
    put("city", p.city.clone());
    put(
        "state",
        if p.state.is_empty() {
            "Not Applicable".into()
        } else {
            p.state.clone()
        },
    );
    put("country", p.country.clone());
    put("zip", p.zipcode.clone());
    put("creationdt", c.created_at.to_string());
    put(
        "customerstatus",
        if c.deactivated { "Suspended" } else { "Active" }.into(),
    );
    put("langpref", p.def_language.clone());
    put("salescontactid", "0".into());
    put("totalreceipts", "0.0".into());
    m
}

/// An integer parameter, or the API's message for it.
fn int_param(p: &Params, name: &str) -> Result<i64, Failure> {
    let v = p
        .get(name)
        .ok_or_else(|| Failure::new(format!("Required parameter missing: {name}")))?;
    v.trim()
        .parse::<i64>()
        .map_err(|_| Failure::new(format!("Invalid {name}: {v}")))
}

impl Frontend for HttpApi {
    fn protocol(&self) -> &'static str {
        "httpapi"
    }

    fn matches(&self, uri: &Uri) -> bool {
        split_path(uri.path()).is_some()
    }

    fn handle<'a>(&'a self, req: Request, cx: &'a Context) -> BoxFuture<'a, Response> {
        Box::pin(self.respond(req, cx))
    }
}

impl HttpApi {
    async fn respond(&self, req: Request, cx: &Context) -> Response {
        let Some((call, format)) = split_path(req.uri.path()) else {
            return render(Err(Failure::new("Unsupported API call")), Format::Json);
        };
        cx.set_call(call.to_owned());
        let params = Params::from_request(&req);
        let peer: Option<IpAddr> = req.peer.map(|s| s.ip());
        let answer = match self.caller(&params, peer).await {
            Ok(principal) => {
                cx.set_actor(principal.actor().label());
                self.run(call, &params, &principal, peer).await
            }
            Err(f) => Err(f),
        };
        render(answer, format)
    }

    /// `auth-userid` + `api-key`: the credential the user id names, and its secret. (The
    /// legacy `auth-password` is not accepted yet.)
    async fn caller(&self, p: &Params, peer: Option<IpAddr>) -> Result<Principal, Failure> {
        let denied = || Failure::new("Authentication failed. Invalid auth-userid or api-key.");
        let userid = p.get("auth-userid").unwrap_or("");
        let Some(key) = p.get("api-key") else {
            return Err(Failure::new("Required parameter missing: api-key"));
        };
        let login = self
            .core
            .auth()
            .key(CredentialKind::Httpapi, userid, key, peer)
            .await;
        match login {
            Ok(Ok(principal)) => Ok(principal),
            Ok(Err(_)) => Err(denied()),
            Err(e) => Err(from_core(&e, "Reseller")),
        }
    }

    async fn run(
        &self,
        call: &str,
        p: &Params,
        principal: &Principal,
        peer: Option<IpAddr>,
    ) -> Result<Value, Failure> {
        let actor = principal.actor();
        let customers = self.core.customers();
        match call {
            "resellers/details" => {
                let Some(id) = actor.admin_id() else {
                    return Err(from_core(
                        &CoreError::Forbidden(panelgate_core::Denied::RoleNotAllowed),
                        "",
                    ));
                };
                let admin = self
                    .core
                    .admins()
                    .get(&actor, &panelgate_core::admins::AdminRef::Id(id))
                    .await
                    .map_err(|e| from_core(&e, "Reseller"))?;
                Ok(json!({
                    "resellerid": admin.id.to_string(),
                    "username": admin.loginname,
                    "name": admin.name,
                    "useremail": admin.email,
                    "resellerstatus": if admin.deactivated { "Suspended" } else { "Active" },
                    "parentid": "0",
                }))
            }
            "customers/details" => {
                let username = p
                    .get("username")
                    .ok_or_else(|| Failure::new("Required parameter missing: username"))?;
                let c = customers
                    .get(&actor, &CustomerRef::Login(username.to_owned()))
                    .await
                    .map_err(|e| from_core(&e, &format!("Customer {username}")))?;
                Ok(Value::Object(customer_map(&c)))
            }
            "customers/details-by-id" => {
                let id = int_param(p, "customer-id")?;
                let c = customers
                    .get(&actor, &CustomerRef::Id(id))
                    .await
                    .map_err(|e| from_core(&e, &format!("Customer {id}")))?;
                Ok(Value::Object(customer_map(&c)))
            }
            "customers/search" => {
                let count = int_param(p, "no-of-records")?;
                let page = int_param(p, "page-no")?;
                if !(10..=500).contains(&count) {
                    return Err(Failure::new(format!(
                        "no-of-records must be between 10 and 500, not {count}"
                    )));
                }
                if page < 1 {
                    return Err(Failure::new(format!("Invalid page-no: {page}")));
                }
                let all = customers
                    .visible(&actor)
                    .await
                    .map_err(|e| from_core(&e, "Customer"))?;
                let wanted = |c: &&Customer| {
                    p.get("username").is_none_or(|u| c.loginname == u)
                        && (p.get_all("customer-id").is_empty()
                            || p.get_all("customer-id")
                                .iter()
                                .any(|id| *id == c.id.to_string()))
                        && p.get("status")
                            .is_none_or(|s| s == if c.deactivated { "Suspended" } else { "Active" })
                };
                let matching: Vec<&Customer> = all.iter().filter(wanted).collect();
                let mut out = Map::new();
                let skip = (page as usize - 1).saturating_mul(count as usize);
                let shown: Vec<&&Customer> =
                    matching.iter().skip(skip).take(count as usize).collect();
                out.insert("recsonpage".into(), Value::String(shown.len().to_string()));
                out.insert("recsindb".into(), Value::String(matching.len().to_string()));
                for (i, c) in shown.iter().enumerate() {
                    let row: Map<String, Value> = customer_map(c)
                        .into_iter()
                        .filter(|(k, _)| {
                            matches!(
                                k.as_str(),
                                "customerid"
                                    | "username"
                                    | "resellerid"
                                    | "name"
                                    | "company"
                                    | "city"
                                    | "state"
                                    | "country"
                                    | "customerstatus"
                                    | "totalreceipts"
                                    | "telnocc"
                                    | "telno"
                            )
                        })
                        .map(|(k, v)| (format!("customer.{k}"), v))
                        .chain([(
                            "customer.websitecount".to_owned(),
                            Value::String("0".into()),
                        )])
                        .collect();
                    out.insert((i + 1).to_string(), Value::Object(row));
                }
                Ok(Value::Object(out))
            }
            "customers/signup" | "customers/v2/signup" => {
                let need = |k: &str| {
                    p.get(k)
                        .filter(|v| !v.is_empty())
                        .map(str::to_owned)
                        .ok_or_else(|| Failure::new(format!("Required parameter missing: {k}")))
                };
                let username = need("username")?;
                let login = Login::try_from(username.as_str())
                    .map_err(|_| Failure::new(format!("Invalid username: {username}")))?;
                let phone = match (p.get("phone-cc"), p.get("phone")) {
                    (Some(cc), Some(no)) if !cc.is_empty() => format!("+{cc} {no}"),
                    (_, Some(no)) => no.to_owned(),
                    _ => String::new(),
                };
                let get = |k: &str| p.get(k).unwrap_or("").to_owned();
                let new = NewCustomer {
                    loginname: Some(login),
                    password: Some(need("passwd")?),
                    profile: Profile {
                        name: need("name")?,
                        company: get("company"),
                        email: username.clone(),
                        street: get("address-line-1"),
                        city: get("city"),
                        state: get("state"),
                        country: get("country"),
                        zipcode: get("zipcode"),
                        phone,
                        def_language: p.get("lang-pref").unwrap_or("en").to_owned(),
                        ..Profile::default()
                    },
                    ..NewCustomer::default()
                };
                let c = customers
                    .create(&actor, new)
                    .await
                    .map_err(|e| from_core(&e, &format!("Customer {username}")))?;
                // A bare integer (§4.1).
                Ok(Value::from(c.id))
            }
            "customers/modify" => {
                let id = int_param(p, "customer-id")?;
                let r = CustomerRef::Id(id);
                let current = customers
                    .get(&actor, &r)
                    .await
                    .map_err(|e| from_core(&e, &format!("Customer {id}")))?;
                let mut profile = current.profile.clone();
                let set = |field: &mut String, key: &str| {
                    if let Some(v) = p.get(key) {
                        *field = v.to_owned();
                    }
                };
                if p.get("name").is_some() {
                    profile.firstname.clear();
                }
                set(&mut profile.name, "name");
                set(&mut profile.company, "company");
                set(&mut profile.street, "address-line-1");
                set(&mut profile.city, "city");
                set(&mut profile.state, "state");
                set(&mut profile.country, "country");
                set(&mut profile.zipcode, "zipcode");
                set(&mut profile.def_language, "lang-pref");
                if let Some(no) = p.get("phone") {
                    profile.phone = match p.get("phone-cc") {
                        Some(cc) if !cc.is_empty() => format!("+{cc} {no}"),
                        _ => no.to_owned(),
                    };
                }
                let patch = panelgate_core::CustomerPatch {
                    profile: Some(profile),
                    ..Default::default()
                };
                customers
                    .update(&actor, &r, patch)
                    .await
                    .map_err(|e| from_core(&e, &format!("Customer {id}")))?;
                Ok(Value::Bool(true))
            }
            "customers/change-password" | "customers/v2/change-password" => {
                let id = int_param(p, "customer-id")?;
                let password = p
                    .get("new-passwd")
                    .filter(|v| !v.is_empty())
                    .ok_or_else(|| Failure::new("Required parameter missing: new-passwd"))?;
                let r = CustomerRef::Id(id);
                // Visible first, so that a foreign id is "not found", not a refused change.
                customers
                    .get(&actor, &r)
                    .await
                    .map_err(|e| from_core(&e, &format!("Customer {id}")))?;
                let patch = panelgate_core::CustomerPatch {
                    password: Some(password.to_owned()),
                    ..Default::default()
                };
                customers
                    .update(&actor, &r, patch)
                    .await
                    .map_err(|e| from_core(&e, &format!("Customer {id}")))?;
                Ok(Value::Bool(true))
            }
            "customers/suspend" | "customers/unsuspend" => {
                let id = int_param(p, "customer-id")?;
                customers
                    .set_suspended(&actor, &CustomerRef::Id(id), call == "customers/suspend")
                    .await
                    .map_err(|e| from_core(&e, &format!("Customer {id}")))?;
                Ok(Value::Bool(true))
            }
            "customers/delete" => {
                let id = int_param(p, "customer-id")?;
                customers
                    .delete(&actor, &CustomerRef::Id(id))
                    .await
                    .map_err(|e| from_core(&e, &format!("Customer {id}")))?;
                Ok(Value::Bool(true))
            }
            "customers/generate-token" => {
                // The customer's own login checked by the core, then a one-time token for it.
                let need = |k: &str| {
                    p.get(k)
                        .filter(|v| !v.is_empty())
                        .ok_or_else(|| Failure::new(format!("Required parameter missing: {k}")))
                };
                let (username, passwd) = (need("username")?, need("passwd")?);
                customers
                    .get(&actor, &CustomerRef::Login(username.to_owned()))
                    .await
                    .map_err(|e| from_core(&e, &format!("Customer {username}")))?;
                match self.core.auth().password(username, passwd, peer).await {
                    Ok(Ok(_)) => {}
                    Ok(Err(_)) => return Err(Failure::new("Invalid username or password")),
                    Err(e) => return Err(from_core(&e, "Customer")),
                }
                let token = new_token();
                self.core
                    .auth()
                    .new_login_key(&actor, username, &token, peer)
                    .await
                    .map_err(|e| from_core(&e, &format!("Customer {username}")))?;
                Ok(Value::String(token))
            }
            "customers/authenticate-token" => {
                let token = p
                    .get("token")
                    .filter(|v| !v.is_empty())
                    .ok_or_else(|| Failure::new("Required parameter missing: token"))?;
                let invalid = || Failure::new("Invalid or expired token");
                let principal = match self.core.auth().key_login(None, token, peer).await {
                    Ok(Ok(p)) => p,
                    Ok(Err(_)) => return Err(invalid()),
                    Err(e) => return Err(from_core(&e, "Token")),
                };
                let Some(id) = principal.actor().customer_id() else {
                    return Err(invalid());
                };
                // Only a customer of the calling reseller.
                let c = customers
                    .get(&actor, &CustomerRef::Id(id))
                    .await
                    .map_err(|e| match e {
                        // Another reseller's customer: the token is no good to this caller.
                        CoreError::NotFound { .. } | CoreError::Forbidden(_) => invalid(),
                        e => from_core(&e, "Customer"),
                    })?;
                Ok(Value::Object(customer_map(&c)))
            }
            other => Err(Failure::new(format!(
                "Unsupported API call: {other} (not served by panelgate yet)"
            ))),
        }
    }
}

/// The `<hashtable>` XML form of a value (§2.2): maps as entries of key and value, scalars as
/// `<string>`.
fn xml_value(v: &Value, out: &mut String) {
    fn esc(s: &str) -> String {
        s.replace('&', "&amp;")
            .replace('<', "&lt;")
            .replace('>', "&gt;")
    }
    match v {
        Value::Object(m) => {
            out.push_str("<hashtable>");
            for (k, v) in m {
                out.push_str("<entry><string>");
                out.push_str(&esc(k));
                out.push_str("</string>");
                xml_value(v, out);
                out.push_str("</entry>");
            }
            out.push_str("</hashtable>");
        }
        Value::String(s) => {
            out.push_str("<string>");
            out.push_str(&esc(s));
            out.push_str("</string>");
        }
        other => {
            out.push_str("<string>");
            out.push_str(&esc(&other.to_string()));
            out.push_str("</string>");
        }
    }
}

fn render(answer: Result<Value, Failure>, format: Format) -> Response {
    let (status, value) = match answer {
        Ok(v) => (200, v),
        Err(Failure(message)) => (500, json!({"status": "ERROR", "message": message})),
    };
    match format {
        Format::Json => panelgate_http::response(status, "application/json", value.to_string()),
        Format::Xml => {
            let mut out = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
            xml_value(&value, &mut out);
            panelgate_http::response(status, "text/xml", out)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_and_phones() {
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
        assert_eq!(
            split_phone("+1 1234567890"),
            ("1".into(), "1234567890".into())
        );
        assert_eq!(split_phone("555 123"), ("".into(), "555 123".into()));
    }
}
