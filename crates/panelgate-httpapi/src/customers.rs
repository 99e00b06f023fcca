//! `resellers/details` and the customers family (§4) over the core's customers.

use std::net::IpAddr;

use panelgate_core::admins::AdminRef;
use panelgate_core::customers::{Contains, TextColumn};
use panelgate_core::types::Login;
use panelgate_core::{
    Core, CoreError, Customer, CustomerPatch, CustomerRef, Denied, NewCustomer, Principal, Profile,
};
use serde_json::{json, Map, Value};

use crate::call::{Call, ContactForm, Page};
use crate::{from_core, Failure, Subject};

/// A token as LogicBoxes shows them: a random UUID (version 4 layout).
pub(crate) fn new_token() -> String {
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

fn join_phone(cc: Option<&str>, no: &str) -> String {
    match cc {
        Some(cc) => format!("+{cc} {no}"),
        None => no.to_owned(),
    }
}

/// A customer as `details` answers it (§4.2, in the key order of the recorded G2 answer): every
/// value a string but `isDominicanTaxConfiguredByParent` (a boolean) and `salespersonshash` (an
/// object), `state` `Not Applicable` when there is none.
pub(crate) fn customer_map(c: &Customer) -> Map<String, Value> {
    let p = &c.profile;
    let (telnocc, telno) = split_phone(&p.phone);
    let name = [p.firstname.as_str(), p.name.as_str()]
        .iter()
        .filter(|s| !s.is_empty())
        .copied()
        .collect::<Vec<_>>()
        .join(" ");
    let state = if p.state.is_empty() {
        "Not Applicable".to_owned()
    } else {
        p.state.clone()
    };
    let owner = c.admin_id.to_string();
    let no = || Value::String("false".into());
    let fields: [(&str, Value); 28] = [
        ("city", s(&p.city)),
        ("langpref", s(&p.def_language)),
        ("twofactorsmsauth_enabled", no()),
        ("totalreceipts", s("0.0")),
        ("company", s(&p.company)),
        ("username", s(&c.loginname)),
        ("pin", s(format!("{:04}", c.id.rem_euclid(10_000)))),
        ("country", s(&p.country)),
        ("ispasswdexpired", no()),
        ("useremail", s(&p.email)),
        ("telno", s(telno)),
        ("customerid", s(c.id)),
        ("twofactorgoogleauth_enabled", no()),
        ("creationdt", s(c.created_at)),
        ("zip", s(&p.zipcode)),
        ("address1", s(&p.street)),
        ("parentid", s(&owner)),
        ("salescontactid", s("0")),
        ("name", s(name)),
        ("isDominicanTaxConfiguredByParent", Value::Bool(false)),
        ("resellerid", s(&owner)),
        ("salespersonshash", Value::Object(Map::new())),
        ("telnocc", s(telnocc)),
        ("other_state", s(&p.state)),
        (
            "customerstatus",
            s(if c.deactivated { "Suspended" } else { "Active" }),
        ),
        ("stateid", s("0")),
        ("twofactorauth_enabled", no()),
        ("state", s(state)),
    ];
    fields.into_iter().map(|(k, v)| (k.to_owned(), v)).collect()
}

/// A value as httpapi.com writes nearly every one: a JSON string.
pub(crate) fn s(v: impl ToString) -> Value {
    Value::String(v.to_string())
}

/// A search record (§4.3), in the key order of the recorded G3 answer; `customer.state` only
/// when the customer has one.
fn search_row(c: &Customer) -> Map<String, Value> {
    let full = customer_map(c);
    let mut row = Map::new();
    for key in [
        "telno",
        "username",
        "name",
        "totalreceipts",
        "resellerid",
        "country",
        "telnocc",
        "city",
        "websitecount",
        "customerstatus",
        "company",
        "customerid",
        "state",
    ] {
        let value = match key {
            "totalreceipts" => s("0.000"),
            "websitecount" => s("0"),
            "state" if c.profile.state.is_empty() => continue,
            k => full.get(k).cloned().unwrap_or_else(|| s("")),
        };
        row.insert(format!("customer.{key}"), value);
    }
    row
}

/// `recsonpage`, `recsindb` and the page's records under `"1"`, `"2"`… (§2.2).
pub(crate) fn search_page(total: usize, rows: Vec<Map<String, Value>>) -> Value {
    let mut out = Map::new();
    out.insert("recsonpage".into(), Value::String(rows.len().to_string()));
    out.insert("recsindb".into(), Value::String(total.to_string()));
    for (i, row) in rows.into_iter().enumerate() {
        out.insert((i + 1).to_string(), Value::Object(row));
    }
    Value::Object(out)
}

/// The slice of `items` a page shows.
pub(crate) fn page_of<T>(items: Vec<T>, page: Page) -> (usize, Vec<T>) {
    let total = items.len();
    let skip = (page.page - 1).saturating_mul(page.records);
    (
        total,
        items.into_iter().skip(skip).take(page.records).collect(),
    )
}

pub(crate) async fn reseller_details(core: &Core, principal: &Principal) -> Result<Value, Failure> {
    let actor = principal.actor();
    let Some(id) = actor.admin_id() else {
        return Err(from_core(
            &CoreError::Forbidden(Denied::RoleNotAllowed),
            Subject::Reseller,
        ));
    };
    let admin = core
        .admins()
        .get(&actor, &AdminRef::Id(id))
        .await
        .map_err(|e| from_core(&e, Subject::Reseller))?;
    Ok(json!({
        "resellerid": admin.id.to_string(),
        "username": admin.loginname,
        "name": admin.name,
        "useremail": admin.email,
        "resellerstatus": if admin.deactivated { "Suspended" } else { "Active" },
        "parentid": "0",
    }))
}

/// Apply a signup or modify form to a profile (only the fields given).
fn apply(form: &ContactForm, profile: &mut Profile) {
    let set = |field: &mut String, value: &Option<String>| {
        if let Some(v) = value {
            *field = v.clone();
        }
    };
    if form.name.is_some() {
        profile.firstname.clear();
    }
    set(&mut profile.name, &form.name);
    set(&mut profile.company, &form.company);
    set(&mut profile.street, &form.address1);
    set(&mut profile.city, &form.city);
    // `Not Applicable` + `other-state` when the country has no states (§4.1).
    match (&form.state, &form.other_state) {
        (Some(s), Some(other)) if s == "Not Applicable" => profile.state = other.clone(),
        (Some(s), _) if s == "Not Applicable" => profile.state.clear(),
        (s, _) => set(&mut profile.state, s),
    }
    set(&mut profile.country, &form.country);
    set(&mut profile.zipcode, &form.zipcode);
    set(&mut profile.def_language, &form.lang_pref);
    if let Some(no) = &form.phone {
        profile.phone = join_phone(form.phone_cc.as_deref(), no);
    }
}

pub(crate) async fn run(
    core: &Core,
    principal: &Principal,
    call: Call,
    peer: Option<IpAddr>,
) -> Result<Value, Failure> {
    let actor = principal.actor();
    let customers = core.customers();
    match call {
        Call::CustomerDetails { username } => {
            let c = customers
                .get(&actor, &CustomerRef::Login(username.clone()))
                .await
                .map_err(|e| from_core(&e, Subject::Username(&username)))?;
            Ok(Value::Object(customer_map(&c)))
        }
        Call::CustomerDetailsById { id } => {
            let c = customers
                .get(&actor, &CustomerRef::Id(id))
                .await
                .map_err(|e| from_core(&e, Subject::CustomerId(id)))?;
            Ok(Value::Object(customer_map(&c)))
        }
        Call::CustomerSearch {
            page,
            customer_ids,
            reseller_ids,
            username,
            name,
            company,
            city,
            status,
        } => {
            let contains = |have: &str, want: &Option<String>| {
                want.as_ref()
                    .is_none_or(|w| have.to_lowercase().contains(&w.to_lowercase()))
            };
            let keep = |c: &Customer| {
                let full = format!("{} {}", c.profile.firstname, c.profile.name);
                username.as_ref().is_none_or(|u| c.loginname == *u)
                    && (customer_ids.is_empty() || customer_ids.contains(&c.id))
                    && (reseller_ids.is_empty() || reseller_ids.contains(&c.admin_id))
                    && contains(&full, &name)
                    && contains(&c.profile.company, &company)
                    && contains(&c.profile.city, &city)
                    && status
                        .as_ref()
                        .is_none_or(|s| s == if c.deactivated { "Suspended" } else { "Active" })
            };
            if actor.customer_id().is_some() {
                // A customer sees itself only.
                let all = customers
                    .visible(&actor)
                    .await
                    .map_err(|e| from_core(&e, Subject::Reseller))?;
                let matching: Vec<Customer> = all.into_iter().filter(|c| keep(c)).collect();
                let (total, shown) = page_of(matching, page);
                let rows = shown.iter().map(search_row).collect();
                return Ok(search_page(total, rows));
            }
            // Read a chunk at a time: the matches are counted, only the asked page is kept.
            let narrow: Vec<Contains> = [
                (TextColumn::Loginname, &username),
                (TextColumn::Company, &company),
            ]
            .into_iter()
            .filter_map(|(column, want)| {
                let needle = want.as_ref()?;
                (!needle.is_empty() && needle.bytes().all(Contains::allowed)).then(|| Contains {
                    column,
                    needle: needle.clone(),
                })
            })
            .collect();
            let skip = (page.page - 1).saturating_mul(page.records);
            let (mut total, mut shown) = (0usize, Vec::new());
            customers
                .scan_with_owners(&actor, &narrow, |chunk| {
                    for (c, _) in chunk {
                        if keep(&c) {
                            if total >= skip && shown.len() < page.records {
                                shown.push(c);
                            }
                            total += 1;
                        }
                    }
                    true
                })
                .await
                .map_err(|e| from_core(&e, Subject::Reseller))?;
            let rows = shown.iter().map(search_row).collect();
            Ok(search_page(total, rows))
        }
        Call::CustomerSignup {
            username,
            password,
            form,
            ..
        } => {
            let login = Login::try_from(username.as_str()).map_err(|_| {
                Failure::new(format!(
                    "{{username={} is not a valid username}}",
                    crate::call::shorten(&username)
                ))
            })?;
            let mut profile = Profile {
                email: username.clone(),
                def_language: "en".into(),
                ..Profile::default()
            };
            apply(&form, &mut profile);
            let new = NewCustomer {
                loginname: Some(login),
                password: Some(password),
                profile,
                ..NewCustomer::default()
            };
            let c = customers
                .create(&actor, new)
                .await
                .map_err(|e| from_core(&e, Subject::Username(&username)))?;
            // A bare integer (§4.1).
            Ok(Value::from(c.id))
        }
        Call::CustomerModify { id, form } => {
            let r = CustomerRef::Id(id);
            let current = customers
                .get(&actor, &r)
                .await
                .map_err(|e| from_core(&e, Subject::CustomerId(id)))?;
            let mut profile = current.profile.clone();
            apply(&form, &mut profile);
            let patch = CustomerPatch {
                profile: Some(profile),
                base: Some(Box::new(current)),
                ..Default::default()
            };
            customers
                .update(&actor, &r, patch)
                .await
                .map_err(|e| from_core(&e, Subject::CustomerId(id)))?;
            Ok(Value::Bool(true))
        }
        Call::CustomerChangePassword { id, password, .. } => {
            let r = CustomerRef::Id(id);
            // Visible first, so that a foreign id is "not found", not a refused change.
            customers
                .get(&actor, &r)
                .await
                .map_err(|e| from_core(&e, Subject::CustomerId(id)))?;
            let patch = CustomerPatch {
                password: Some(password),
                ..Default::default()
            };
            customers
                .update(&actor, &r, patch)
                .await
                .map_err(|e| from_core(&e, Subject::CustomerId(id)))?;
            Ok(Value::Bool(true))
        }
        Call::CustomerSuspend { id, suspend } => {
            customers
                .set_suspended(&actor, &CustomerRef::Id(id), suspend)
                .await
                .map_err(|e| from_core(&e, Subject::CustomerId(id)))?;
            Ok(Value::Bool(true))
        }
        Call::CustomerDelete { id } => {
            customers
                .delete(&actor, &CustomerRef::Id(id))
                .await
                .map_err(|e| from_core(&e, Subject::CustomerId(id)))?;
            Ok(Value::Bool(true))
        }
        Call::CustomerForgotPassword { username } => {
            // The customer must be the caller's; panelgate sends no mail.
            customers
                .get(&actor, &CustomerRef::Login(username.clone()))
                .await
                .map_err(|e| from_core(&e, Subject::Username(&username)))?;
            Ok(Value::Bool(true))
        }
        Call::CustomerGenerateToken { username, password } => {
            // The customer's own login checked by the core, then a one-time token for it.
            customers
                .get(&actor, &CustomerRef::Login(username.clone()))
                .await
                .map_err(|e| from_core(&e, Subject::Username(&username)))?;
            match core.auth().password(&username, &password, peer).await {
                Ok(Ok(_)) => {}
                Ok(Err(_)) => return Err(Failure::new("Invalid username or password")),
                Err(e) => return Err(from_core(&e, Subject::Username(&username))),
            }
            let token = new_token();
            core.auth()
                .new_login_key(&actor, &username, &token, peer)
                .await
                .map_err(|e| from_core(&e, Subject::Username(&username)))?;
            Ok(Value::String(token))
        }
        Call::CustomerAuthenticateToken { token } => {
            let invalid = || Failure::new("Invalid or expired token");
            let principal = match core.auth().key_login(None, &token, peer).await {
                Ok(Ok(p)) => p,
                Ok(Err(_)) => return Err(invalid()),
                Err(e) => return Err(from_core(&e, Subject::Reseller)),
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
                    e => from_core(&e, Subject::CustomerId(id)),
                })?;
            Ok(Value::Object(customer_map(&c)))
        }
        other => Err(Failure::new(format!(
            "Unsupported API call: {other:?} is not a customers call"
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn phones_and_pages() {
        assert_eq!(
            split_phone("+1 1234567890"),
            ("1".into(), "1234567890".into())
        );
        assert_eq!(split_phone("555 123"), ("".into(), "555 123".into()));
        assert_eq!(join_phone(Some("49"), "30 1234"), "+49 30 1234");
        let (total, shown) = page_of(
            (1..=25).collect(),
            Page {
                records: 10,
                page: 3,
            },
        );
        assert_eq!((total, shown), (25, vec![21, 22, 23, 24, 25]));
        let (_, none) = page_of(
            (1..=5).collect::<Vec<i32>>(),
            Page {
                records: 10,
                page: 9,
            },
        );
        assert!(none.is_empty());
    }
}
