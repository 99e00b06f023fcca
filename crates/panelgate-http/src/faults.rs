//! Fault injection: rules that make matching panel API calls fail on purpose, in the panel's own
//! error shape, or slow, cut off or dropped (`/_panelgate/faults`, `[[faults]]` in the TOML
//! file). A rule matches a protocol, a call pattern (`*` matches any run of characters) and
//! optionally an actor, and fires with a probability, at most a number of times.
//!
//! The check runs where a frontend knows both the call and the actor ([`Context::fault_point`]):
//! an `error` is answered instead of the call (nothing is done); a `delay` sleeps, then the
//! call runs; `drop` and `truncate` let the call run and then the server drops the connection
//! without an answer, or sends half of the answer and closes.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::Duration;

use serde::{Deserialize, Serialize};

/// What a fired rule does.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Effect {
    /// The panel's own error answer; the call is not run.
    Error,
    /// Wait `delay_ms`, then run the call.
    Delay,
    /// Run the call, then close the connection without an answer.
    Drop,
    /// Run the call, then send half of the answer and close the connection.
    Truncate,
    /// Run the call; the backup tasks it starts fail when their progress reaches `progress`.
    FailTask,
}

impl Effect {
    pub fn as_str(self) -> &'static str {
        match self {
            Effect::Error => "error",
            Effect::Delay => "delay",
            Effect::Drop => "drop",
            Effect::Truncate => "truncate",
            Effect::FailTask => "fail_task",
        }
    }
}

/// A fault rule as clients give it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Rule {
    /// `froxlor`, `plesk`, `ispsystem` or `httpapi`.
    pub protocol: String,
    /// The call as the journal names it (`Customers.add`, `customer/add`, `account.edit`,
    /// `customers/signup`); `*` matches any run of characters. Default `*`.
    #[serde(default = "any")]
    pub call: String,
    /// Only this caller (`admin:1`, `reseller:2`, `customer:7`).
    #[serde(default)]
    pub actor: Option<String>,
    /// The chance that a matching call fires it, 0 to 1. Default 1.
    #[serde(default = "always")]
    pub probability: f64,
    /// Fire at most this many times, then stop matching. Default: no end.
    #[serde(default)]
    pub times: Option<u64>,
    pub effect: Effect,
    /// `error`: the message (default "Injected fault").
    #[serde(default)]
    pub message: Option<String>,
    /// `error`: the HTTP status where the panel sets one (Froxlor; default 500).
    #[serde(default)]
    pub status: Option<u16>,
    /// `error`: the panel's error code (Plesk `errcode`, default 1006).
    #[serde(default)]
    pub code: Option<i64>,
    /// `error`: the ISPsystem error type (default `fault`).
    #[serde(default, rename = "type")]
    pub kind: Option<String>,
    /// `delay`: milliseconds (default 1000, at most 60000).
    #[serde(default)]
    pub delay_ms: Option<u64>,
    /// `fail_task`: the progress (percent, 0–99) the started backup tasks fail at (default 50).
    #[serde(default)]
    pub progress: Option<i64>,
}

fn any() -> String {
    "*".into()
}
fn always() -> f64 {
    1.0
}

/// The most rules at once.
pub const MAX_RULES: usize = 256;

impl Rule {
    /// Refuse what cannot work: an unknown protocol, a probability outside 0–1, an overlong
    /// pattern, a delay over a minute.
    pub fn check(&self) -> Result<(), String> {
        if !["froxlor", "plesk", "ispsystem", "httpapi"].contains(&self.protocol.as_str()) {
            return Err(format!(
                "protocol: {:?} is not froxlor, plesk, ispsystem or httpapi",
                self.protocol
            ));
        }
        if !(0.0..=1.0).contains(&self.probability) {
            return Err("probability: use a number from 0 to 1".into());
        }
        if self.call.is_empty() || self.call.len() > 256 {
            return Err("call: 1 to 256 characters".into());
        }
        if self.progress.is_some_and(|p| !(0..=99).contains(&p)) {
            return Err("progress: a percentage from 0 to 99".into());
        }
        if self.delay_ms.is_some_and(|d| d > 60_000) {
            return Err("delay_ms: at most 60000".into());
        }
        Ok(())
    }
}

/// `pattern` with `*` as any run of characters, against `text` (linear in both).
pub fn glob(pattern: &str, text: &str) -> bool {
    let (p, t) = (pattern.as_bytes(), text.as_bytes());
    let (mut pi, mut ti) = (0, 0);
    let (mut star, mut mark) = (None, 0);
    while ti < t.len() {
        if pi < p.len() && p[pi] != b'*' && p[pi] == t[ti] {
            pi += 1;
            ti += 1;
        } else if pi < p.len() && p[pi] == b'*' {
            star = Some(pi);
            mark = ti;
            pi += 1;
        } else if let Some(s) = star {
            pi = s + 1;
            mark += 1;
            ti = mark;
        } else {
            return false;
        }
    }
    p[pi..].iter().all(|&c| c == b'*')
}

/// A rule with its id and what it did.
#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
pub struct Active {
    pub id: u64,
    #[serde(flatten)]
    pub rule: Rule,
    pub fired: u64,
}

/// A rule that fired for a request.
#[derive(Clone, Debug, PartialEq)]
pub struct Fired {
    pub rule: u64,
    pub effect: Effect,
    pub message: String,
    pub status: Option<u16>,
    pub code: Option<i64>,
    pub kind: Option<String>,
    pub delay: Duration,
    pub progress: i64,
}

/// The rules of one server.
#[derive(Debug, Default)]
pub struct Faults {
    rules: Mutex<Vec<Active>>,
    next: AtomicU64,
}

impl Faults {
    pub fn add(&self, rule: Rule) -> Result<Active, String> {
        rule.check()?;
        let mut rules = self.rules.lock().expect("fault rules");
        if rules.len() >= MAX_RULES {
            return Err(format!("at most {MAX_RULES} rules"));
        }
        let active = Active {
            id: self.next.fetch_add(1, Ordering::Relaxed) + 1,
            rule,
            fired: 0,
        };
        rules.push(active.clone());
        Ok(active)
    }

    pub fn list(&self) -> Vec<Active> {
        self.rules.lock().expect("fault rules").clone()
    }

    /// Remove rule `id` (`None`: every rule); how many went.
    pub fn remove(&self, id: Option<u64>) -> usize {
        let mut rules = self.rules.lock().expect("fault rules");
        let before = rules.len();
        rules.retain(|r| id.is_some_and(|id| r.id != id));
        before - rules.len()
    }

    /// The first rule that matches and fires for this call, counted.
    pub fn check(&self, protocol: &str, call: &str, actor: &str) -> Option<Fired> {
        let mut rules = self.rules.lock().expect("fault rules");
        let rule = rules.iter_mut().find(|a| {
            let r = &a.rule;
            r.protocol == protocol
                && r.times.is_none_or(|t| a.fired < t)
                && r.actor.as_deref().is_none_or(|x| x == actor)
                && glob(&r.call, call)
                && (r.probability >= 1.0 || rand::random::<f64>() < r.probability)
        })?;
        rule.fired += 1;
        let r = &rule.rule;
        Some(Fired {
            rule: rule.id,
            effect: r.effect,
            message: r.message.clone().unwrap_or_else(|| "Injected fault".into()),
            status: r.status,
            code: r.code,
            kind: r.kind.clone(),
            delay: Duration::from_millis(r.delay_ms.unwrap_or(1000).min(60_000)),
            progress: r.progress.unwrap_or(50).clamp(0, 99),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn globs_match_runs() {
        assert!(glob("*", ""));
        assert!(glob("Customers.*", "Customers.add"));
        assert!(glob("*/add", "customer/add"));
        assert!(glob("a*b*c", "aXXbYYc"));
        assert!(!glob("a*b*c", "aXXbYY"));
        assert!(!glob("Customers.add", "Customers.addx"));
        // A long hostile pattern against a long text ends at once.
        let text = "a".repeat(10_000);
        assert!(!glob(&format!("{}b", "*a".repeat(100)), &text));
    }

    #[test]
    fn rules_fire_by_count_actor_and_pattern() {
        let f = Faults::default();
        let rule: Rule = serde_json::from_str(
            r#"{"protocol":"froxlor","call":"Customers.*","actor":"admin:1","times":2,"effect":"error","status":503}"#,
        )
        .unwrap();
        let id = f.add(rule).unwrap().id;
        assert_eq!(f.check("froxlor", "Customers.get", "admin:2"), None);
        assert_eq!(f.check("plesk", "Customers.get", "admin:1"), None);
        let fired = f.check("froxlor", "Customers.get", "admin:1").unwrap();
        assert_eq!((fired.rule, fired.status), (id, Some(503)));
        assert!(f.check("froxlor", "Customers.add", "admin:1").is_some());
        assert_eq!(
            f.check("froxlor", "Customers.add", "admin:1"),
            None,
            "twice only"
        );
        assert_eq!(f.list()[0].fired, 2);
        assert_eq!(f.remove(None), 1);
        let bad: Rule = serde_json::from_str(r#"{"protocol":"cpanel","effect":"drop"}"#).unwrap();
        assert!(f.add(bad).is_err());
    }
}
