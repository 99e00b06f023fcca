//! The router and the request context: which frontend answers a request, the request id
//! (the client's `X-Request-Id` or a new one, echoed in the answer), and what the frontend
//! learned (the call and the actor) for the one log line written per request.

use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex};

use http::{HeaderMap, Uri};

use crate::request::Request;
use crate::response::Response;

/// A boxed future, so that frontends can be trait objects.
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// The request id header.
pub const REQUEST_ID: &str = "x-request-id";

/// What one request is, as the log line will say.
#[derive(Debug)]
pub struct Context {
    id: String,
    noted: Mutex<Noted>,
    /// The server's fault rules and the protocol they are matched under.
    faults: Option<(Arc<crate::faults::Faults>, &'static str)>,
}

#[derive(Debug, Default)]
struct Noted {
    call: Option<String>,
    actor: Option<String>,
    fired: Option<crate::faults::Fired>,
}

impl Context {
    /// The client's `X-Request-Id` when it is a sane token (1–128 characters of letters,
    /// digits, `-`, `_`, `.`, `:`), else a new random id.
    pub fn new(headers: &HeaderMap) -> Context {
        let given = headers
            .get(REQUEST_ID)
            .and_then(|v| v.to_str().ok())
            .filter(|v| {
                (1..=128).contains(&v.len())
                    && v.bytes().all(|b| {
                        b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b':')
                    })
            });
        Context {
            id: given.map_or_else(|| uuid::Uuid::new_v4().to_string(), str::to_owned),
            noted: Mutex::new(Noted::default()),
            faults: None,
        }
    }

    /// Match calls of `protocol` against these fault rules (see [`Context::fault_point`]).
    pub fn with_faults(
        mut self,
        faults: Arc<crate::faults::Faults>,
        protocol: &'static str,
    ) -> Self {
        self.faults = Some((faults, protocol));
        self
    }

    /// A frontend calls this where it knows the call and the actor, before running the call.
    /// When a fault rule fires: an `error` is returned (answer it in the panel's own error
    /// shape, and run nothing); a `delay` is slept here; `drop` and `truncate` are noted for the
    /// server to apply to the answer ([`Context::fired`]).
    pub async fn fault_point(&self) -> Option<crate::faults::Fired> {
        use crate::faults::Effect;
        let (faults, protocol) = self.faults.as_ref()?;
        let (call, actor) = {
            let n = self.noted.lock().expect("context lock");
            (
                n.call.clone().unwrap_or_default(),
                n.actor.clone().unwrap_or_default(),
            )
        };
        let fired = faults.check(protocol, &call, &actor)?;
        self.noted.lock().expect("context lock").fired = Some(fired.clone());
        match fired.effect {
            Effect::Error => Some(fired),
            Effect::Delay => {
                tokio::time::sleep(fired.delay).await;
                None
            }
            Effect::FailTask => {
                panelgate_core::journal::fail_tasks_at(fired.progress);
                None
            }
            Effect::Drop | Effect::Truncate => None,
        }
    }

    /// The fault rule that fired for this request, if one did.
    pub fn fired(&self) -> Option<crate::faults::Fired> {
        self.noted.lock().expect("context lock").fired.clone()
    }

    pub fn id(&self) -> &str {
        &self.id
    }

    /// Name the call being served (`Customers.add`, `customer/get` …).
    pub fn set_call(&self, call: impl Into<String>) {
        self.noted.lock().expect("context lock").call = Some(call.into());
    }

    /// Name the authenticated caller (`admin:1`, `reseller:2`, `customer:7`).
    pub fn set_actor(&self, actor: impl Into<String>) {
        self.noted.lock().expect("context lock").actor = Some(actor.into());
    }

    pub fn call(&self) -> Option<String> {
        self.noted.lock().expect("context lock").call.clone()
    }

    pub fn actor(&self) -> Option<String> {
        self.noted.lock().expect("context lock").actor.clone()
    }

    /// The call and the actor noted so far (empty when not noted), without copying them.
    pub fn with_noted<R>(&self, f: impl FnOnce(&str, &str) -> R) -> R {
        let noted = self.noted.lock().expect("context lock");
        f(
            noted.call.as_deref().unwrap_or_default(),
            noted.actor.as_deref().unwrap_or_default(),
        )
    }
}

/// One panel API served on the shared listener.
pub trait Frontend: Send + Sync + 'static {
    /// The protocol name, for logs (`froxlor`, `plesk` …).
    fn protocol(&self) -> &'static str;
    /// Does this frontend serve `uri` (path, and for `/` the query)?
    fn matches(&self, uri: &Uri) -> bool;
    /// Answer a collected request; note the call and the actor in `cx`.
    fn handle<'a>(&'a self, req: Request, cx: &'a Context) -> BoxFuture<'a, Response>;
}

/// Picks the frontend of a request: the first whose [`Frontend::matches`] says yes.
#[derive(Clone, Default)]
pub struct Router {
    frontends: Vec<Arc<dyn Frontend>>,
}

impl Router {
    pub fn new(frontends: Vec<Arc<dyn Frontend>>) -> Router {
        Router { frontends }
    }

    pub fn route(&self, uri: &Uri) -> Option<&Arc<dyn Frontend>> {
        self.frontends.iter().find(|f| f.matches(uri))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn request_ids() {
        let mut h = HeaderMap::new();
        h.insert(REQUEST_ID, "abc-123".parse().unwrap());
        assert_eq!(Context::new(&h).id(), "abc-123");
        h.insert(REQUEST_ID, "bad id with spaces".parse().unwrap());
        let fresh = Context::new(&h);
        assert_eq!(fresh.id().len(), 36, "{}", fresh.id());
        assert_ne!(
            Context::new(&HeaderMap::new()).id(),
            Context::new(&HeaderMap::new()).id()
        );
    }
}
