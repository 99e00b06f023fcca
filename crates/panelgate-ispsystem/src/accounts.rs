//! Client accounts (`account`, `account.edit`, `account.delete|suspend|resume`) and their login
//! users (`user`) over the shared customers (protocols/ispsystem.md scope, §4).
//!
//! A BILLmanager client account is one panelgate customer: `id` is the customer id, `name` the
//! contact name, `email` the contact address and `login` the customer's login. Whatever the
//! caller may not see is answered like an id that does not exist (the core decides).

use panelgate_core::backup::date;
use panelgate_core::types::Login;
use panelgate_core::{Core, CoreError, Customer, CustomerPatch, CustomerRef, NewCustomer};
use panelgate_core::{Principal, Profile};
use panelgate_http::Params;

use crate::call::{AccountFields, GroupOp};
use crate::doc::{Body, Cell, Error, Form, List, Metadata, Row};
use crate::from_core;

/// The default page size when a client asks for a page without `p_cnt`.
const DEFAULT_PAGE: usize = 100;
/// The largest page a client may ask for.
const MAX_PAGE: usize = 10_000;
/// The most ids one group action may name.
const MAX_GROUP: usize = 1_000;

/// The status column: the shown text with the raw BILLmanager value in `orig`.
fn status(c: &Customer) -> Cell {
    if c.deactivated {
        Cell::with_orig("status", "Suspended", "3")
    } else {
        Cell::with_orig("status", "Active", "2")
    }
}

fn account_row(c: &Customer) -> Row {
    vec![
        Cell::new("id", c.id.to_string()),
        Cell::new("name", display_name(c)),
        Cell::new("email", c.profile.email.clone()),
        Cell::new("login", c.loginname.clone()),
        Cell::new("country", c.profile.country.clone()),
        status(c),
        Cell::new("registration_date", date(c.created_at)),
    ]
}

fn user_row(c: &Customer) -> Row {
    vec![
        Cell::new("id", c.id.to_string()),
        Cell::new("name", c.loginname.clone()),
        Cell::new("realname", display_name(c)),
        Cell::new("email", c.profile.email.clone()),
        Cell::new("account_id", c.id.to_string()),
        status(c),
    ]
}

/// The contact name, falling back to the login.
fn display_name(c: &Customer) -> String {
    let full = [c.profile.firstname.as_str(), c.profile.name.as_str()]
        .iter()
        .filter(|s| !s.is_empty())
        .copied()
        .collect::<Vec<_>>()
        .join(" ");
    if full.is_empty() {
        c.loginname.clone()
    } else {
        full
    }
}

/// Does `row` match the inline filter of `p` (`filter=on` plus column values, §4.5)? A column
/// named with a non-empty value must hold that value (compared without case).
fn matches_filter(row: &Row, p: &Params, columns: &[&str]) -> bool {
    columns
        .iter()
        .all(|col| match p.get(col).filter(|v| !v.is_empty()) {
            None => true,
            Some(wanted) => row.iter().any(|cell| match cell {
                Cell::Value { name, value, .. } => {
                    name == col && value.eq_ignore_ascii_case(wanted)
                }
                Cell::Flag(_) => false,
            }),
        })
}

/// One page of `rows` as the client asked (`p_num`, `p_cnt`), or all of them; with
/// `filter=on`, only the rows matching the inline filter.
pub(crate) fn page(rows: Vec<Row>, p: &Params, columns: &[&str]) -> List {
    let rows: Vec<Row> = if p.get("filter") == Some("on") {
        rows.into_iter()
            .filter(|r| matches_filter(r, p, columns))
            .collect()
    } else {
        rows
    };
    let metadata = list_metadata(columns);
    let Some((num, cnt)) = requested_page(p) else {
        return List::new(rows).with_metadata(metadata);
    };
    let total = rows.len();
    let shown = rows
        .into_iter()
        .skip((num - 1).saturating_mul(cnt))
        .take(cnt)
        .collect();
    List::paged(shown, num, cnt, total).with_metadata(metadata)
}

fn list_metadata(columns: &[&str]) -> Metadata {
    Metadata {
        columns: columns.iter().map(|c| (*c).to_owned()).collect(),
        ..Metadata::default()
    }
}

/// A page already cut (by the database): `shown` rows of `total`.
fn page_of(shown: Vec<Row>, num: usize, cnt: usize, total: usize, columns: &[&str]) -> List {
    List::paged(shown, num, cnt, total).with_metadata(list_metadata(columns))
}

const ACCOUNT_COLUMNS: [&str; 7] = [
    "id",
    "name",
    "email",
    "login",
    "country",
    "status",
    "registration_date",
];

async fn visible(core: &Core, principal: &Principal) -> Result<Vec<Customer>, Error> {
    core.customers()
        .visible(&principal.actor())
        .await
        .map_err(|e| from_core(&e, ""))
}

/// The page a client asks for (`p_num`, `p_cnt`), if it asks for one.
fn requested_page(p: &Params) -> Option<(usize, usize)> {
    let num = p.get("p_num").and_then(|v| v.parse::<usize>().ok());
    let cnt = p.get("p_cnt").and_then(|v| v.parse::<usize>().ok());
    if num.is_none() && cnt.is_none() {
        return None;
    }
    let cnt = cnt.unwrap_or(DEFAULT_PAGE).clamp(1, MAX_PAGE);
    let num = num.unwrap_or(1).max(1);
    Some((num, cnt))
}

/// The customer as an admin's `func=account&out=xml` lists it (a page of one row): what a
/// dashboard shows as the ISPsystem view of a customer.
pub fn view(c: &Customer) -> String {
    let list = page_of(vec![account_row(c)], 1, 1, 1, &ACCOUNT_COLUMNS);
    let doc = crate::doc::Doc::new("account", list).with_binary("/billmgr");
    crate::render::render(&doc, crate::render::Format::Xml)
}

/// `func=account`.
pub async fn list(core: &Core, principal: &Principal, p: &Params) -> Body {
    // An admin's page is paged by the database (a customer sees only itself anyway).
    let page_asked = requested_page(p).filter(|_| p.get("filter") != Some("on"));
    if let (Some((num, cnt)), None) = (page_asked, principal.actor().customer_id()) {
        let offset = (num - 1).saturating_mul(cnt);
        let actor = principal.actor();
        let customers = core.customers();
        let total = match customers.count(&actor).await {
            Ok(n) => n as usize,
            Err(e) => return Body::Error(from_core(&e, "")),
        };
        let shown = match customers
            .list_page_with_owners(&actor, offset as u64, cnt as u64)
            .await
        {
            Ok(rows) => rows.iter().map(|(c, _)| account_row(c)).collect(),
            Err(e) => return Body::Error(from_core(&e, "")),
        };
        return page_of(shown, num, cnt, total, &ACCOUNT_COLUMNS).into();
    }
    match visible(core, principal).await {
        Ok(all) => page(all.iter().map(account_row).collect(), p, &ACCOUNT_COLUMNS).into(),
        Err(e) => Body::Error(e),
    }
}

/// `func=user`.
pub async fn users(core: &Core, principal: &Principal, p: &Params) -> Body {
    match visible(core, principal).await {
        Ok(all) => page(
            all.iter().map(user_row).collect(),
            p,
            &["id", "name", "realname", "email", "account_id", "status"],
        )
        .into(),
        Err(e) => Body::Error(e),
    }
}

/// An account id of `elid`: a customer id (what is not a number names nothing).
fn account_ref(elid: &str) -> Result<CustomerRef, Error> {
    elid.parse::<i64>()
        .ok()
        .filter(|id| *id > 0)
        .map(CustomerRef::Id)
        .ok_or_else(|| Error::value("elid", elid, "The value of 'elid' is invalid"))
}

fn form(c: Option<&Customer>) -> Body {
    let get = |f: fn(&Customer) -> String| c.map(f).unwrap_or_default();
    Form::new([
        ("elid", get(|c| c.id.to_string())),
        ("name", get(display_name)),
        ("email", get(|c| c.profile.email.clone())),
        ("username", get(|c| c.loginname.clone())),
        ("country", get(|c| c.profile.country.clone())),
        ("state", get(|c| c.profile.state.clone())),
        ("city", get(|c| c.profile.city.clone())),
        ("phone", get(|c| c.profile.phone.clone())),
        ("note", get(|c| c.description.clone())),
    ])
    .into()
}

/// An e-mail address as BILLmanager's form accepts it: one `@` between a local part and a
/// dotted domain, no spaces, control characters or address punctuation (a `\r\n` in it would
/// be a header injection in every mail panelgate's users send with it).
fn email_ok(email: &str) -> bool {
    let Some((local, domain)) = email.split_once('@') else {
        return false;
    };
    let plain = |s: &str| {
        !s.is_empty()
            && s.chars()
                .all(|c| !c.is_whitespace() && !c.is_control() && !"<>()[],;:\"\\@".contains(c))
    };
    email.len() <= 254
        && plain(local)
        && plain(domain)
        && domain.contains('.')
        && !domain.starts_with('.')
        && !domain.ends_with('.')
}

/// The profile `fields` describe, on top of `base`.
fn profile(base: Profile, f: &AccountFields) -> Profile {
    let pick = |new: &Option<String>, old: String| new.clone().unwrap_or(old);
    Profile {
        // BILLmanager has one contact name; a form that sets it clears the first name.
        firstname: if f.name.is_some() {
            String::new()
        } else {
            base.firstname.clone()
        },
        name: pick(&f.name, base.name),
        email: pick(&f.email, base.email),
        country: pick(&f.country, base.country),
        state: pick(&f.state, base.state),
        city: pick(&f.city, base.city),
        phone: pick(&f.phone, base.phone),
        ..base
    }
}

/// `func=account.edit`: the form (no `sok`), a create (`sok`) or a change (`sok` + `elid`).
pub async fn edit(
    core: &Core,
    principal: &Principal,
    elid: Option<String>,
    submit: bool,
    fields: AccountFields,
) -> Body {
    let actor = principal.actor();
    let customers = core.customers();
    if submit {
        if let Some(email) = fields.email.as_deref().filter(|e| !e.is_empty()) {
            if !email_ok(email) {
                return Body::Error(Error::value(
                    "email",
                    email,
                    format!("The value '{email}' of the field 'email' is invalid"),
                ));
            }
        }
    }
    match (elid, submit) {
        (None, false) => form(None),
        (Some(elid), false) => {
            let r = match account_ref(&elid) {
                Ok(r) => r,
                Err(e) => return Body::Error(e),
            };
            match customers.get(&actor, &r).await {
                Ok(c) => form(Some(&c)),
                Err(e) => Body::Error(from_core(&e, &elid)),
            }
        }
        (None, true) => {
            // The login is the user name, else the e-mail address (BILLmanager logs clients
            // in by e-mail).
            let wanted = fields
                .username
                .clone()
                .filter(|u| !u.is_empty())
                .or_else(|| fields.email.clone().filter(|e| !e.is_empty()));
            let Some(wanted) = wanted else {
                return Body::Error(Error::new(
                    "empty",
                    "email",
                    "",
                    "The field 'email' is required",
                ));
            };
            let login = match Login::try_from(wanted.as_str()) {
                Ok(l) => l,
                Err(_) => {
                    return Body::Error(Error::value(
                        "username",
                        wanted.clone(),
                        format!("The value '{wanted}' of the field 'username' is invalid"),
                    ))
                }
            };
            let new = NewCustomer {
                loginname: Some(login),
                password: fields.password.clone().filter(|p| !p.is_empty()),
                profile: profile(
                    Profile {
                        def_language: "en".into(),
                        ..Profile::default()
                    },
                    &fields,
                ),
                description: fields.note.clone().unwrap_or_default(),
                ..NewCustomer::default()
            };
            match customers.create(&actor, new).await {
                Ok(c) => Body::created(c.id.to_string()),
                Err(e) => Body::Error(from_core(&e, &wanted)),
            }
        }
        (Some(elid), true) => {
            let r = match account_ref(&elid) {
                Ok(r) => r,
                Err(e) => return Body::Error(e),
            };
            let current = match customers.get(&actor, &r).await {
                Ok(c) => c,
                Err(e) => return Body::Error(from_core(&e, &elid)),
            };
            let patch = CustomerPatch {
                password: fields.password.clone().filter(|p| !p.is_empty()),
                profile: Some(profile(current.profile.clone(), &fields)),
                description: fields.note.clone(),
                base: Some(Box::new(current)),
                ..CustomerPatch::default()
            };
            match customers.update(&actor, &r, patch).await {
                Ok(c) => Body::created(c.id.to_string()),
                Err(e) => Body::Error(from_core(&e, &elid)),
            }
        }
    }
}

/// `func=account.delete|suspend|resume` on every id of `elid`. The ids are checked first, so a
/// bad id changes nothing; the changes then run one by one (the first refusal stops them).
pub async fn group(core: &Core, principal: &Principal, op: GroupOp, elids: &[String]) -> Body {
    if elids.is_empty() {
        return Body::Error(Error::value("elid", "", "The value of 'elid' is invalid"));
    }
    if elids.len() > MAX_GROUP {
        return Body::Error(Error::value(
            "elid",
            "",
            format!("At most {MAX_GROUP} objects can be changed at once"),
        ));
    }
    // An id named twice is acted on once.
    let mut seen = std::collections::HashSet::new();
    let elids: Vec<&String> = elids.iter().filter(|e| seen.insert(e.as_str())).collect();
    let actor = principal.actor();
    let customers = core.customers();
    let mut refs = Vec::with_capacity(elids.len());
    for elid in elids {
        let r = match account_ref(elid) {
            Ok(r) => r,
            Err(e) => return Body::Error(e),
        };
        if let Err(e) = customers.get(&actor, &r).await {
            return Body::Error(from_core(&e, elid));
        }
        refs.push((elid, r));
    }
    for (elid, r) in refs {
        let done: Result<Customer, CoreError> = match op {
            GroupOp::Delete => customers.delete(&actor, &r).await,
            GroupOp::Suspend | GroupOp::Resume => {
                customers
                    .set_suspended(&actor, &r, op == GroupOp::Suspend)
                    .await
            }
        };
        if let Err(e) = done {
            return Body::Error(from_core(&e, elid));
        }
    }
    Body::ok()
}
