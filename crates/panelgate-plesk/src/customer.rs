//! `customer`: `add`, `get`, `set`, `del` with every filter (protocols/plesk.md §3).

use panelgate_core::admins::AdminRef;
use panelgate_core::{CoreError, Customer, CustomerPatch, CustomerRef, NewCustomer, Profile};

use crate::call::AccountOp;
use crate::xml::Element;
use crate::{ok_result, Ctx, Fault, OperatorResult};

/// Plesk's `pname` is one field; the model keeps Froxlor's first name and name. "John Smith"
/// is stored as first name "John", name "Smith", and shown again as "John Smith".
pub fn split_pname(pname: &str) -> (String, String) {
    match pname.trim().rsplit_once(' ') {
        Some((first, last)) => (first.trim().to_owned(), last.to_owned()),
        None => (String::new(), pname.trim().to_owned()),
    }
}

pub fn pname(p: &Profile) -> String {
    if p.firstname.is_empty() {
        p.name.clone()
    } else {
        format!("{} {}", p.firstname, p.name)
    }
}

/// The model's language code as a Plesk locale.
pub fn locale(lang: &str) -> String {
    match lang {
        "" | "en" => "en-US".into(),
        "de" => "de-DE".into(),
        "fr" => "fr-FR".into(),
        "nl" => "nl-NL".into(),
        other if other.contains('-') => other.into(),
        other => format!("{other}-{}", other.to_uppercase()),
    }
}

fn language(locale: &str) -> String {
    locale
        .split(['-', '_'])
        .next()
        .unwrap_or("en")
        .to_lowercase()
}

/// Plesk status bitmask: 0 active, 16 disabled by the administrator.
fn status(c: &Customer) -> &'static str {
    if c.deactivated {
        "16"
    } else {
        "0"
    }
}

pub async fn run(ctx: &Ctx<'_>, op: &Element) -> OperatorResult {
    let mut out = Element::new("customer");
    for operation in &op.children {
        let mut answered = Element::new(operation.name.clone());
        match AccountOp::parse(&operation.name) {
            Some(AccountOp::Add) => {
                answered.push(add(ctx, operation).await);
            }
            Some(AccountOp::Get | AccountOp::Set | AccountOp::Del) => {
                for r in filtered(ctx, operation).await {
                    answered.push(r);
                }
            }
            None => {
                answered.push(crate::unsupported());
            }
        }
        out.push(answered);
    }
    Ok(out)
}

fn profile_from(gen: &Element, base: Profile) -> Profile {
    let text = |n: &str| gen.child_text(n).map(str::to_owned);
    let (firstname, name) = match gen.child_text("pname") {
        Some(p) => split_pname(p),
        None => (base.firstname.clone(), base.name.clone()),
    };
    Profile {
        name,
        firstname,
        company: text("cname").unwrap_or(base.company),
        phone: text("phone").unwrap_or(base.phone),
        fax: text("fax").unwrap_or(base.fax),
        email: text("email").unwrap_or(base.email),
        street: text("address").unwrap_or(base.street),
        city: text("city").unwrap_or(base.city),
        state: text("state").unwrap_or(base.state),
        zipcode: text("pcode").unwrap_or(base.zipcode),
        country: text("country").unwrap_or(base.country),
        def_language: gen
            .child_text("locale")
            .map(language)
            .unwrap_or(base.def_language),
        gender: base.gender,
        customernumber: base.customernumber,
    }
}

async fn add(ctx: &Ctx<'_>, operation: &Element) -> Element {
    let Some(gen) = operation.child("gen_info") else {
        return Fault::Incomplete("gen_info is required").result();
    };
    let actor = ctx.principal.actor();
    let owner = match (gen.child_text("owner-id"), gen.child_text("owner-login")) {
        (Some(id), _) => match id.trim().parse::<i64>().ok() {
            Some(id) => Some(id),
            None => return Fault::InvalidValue("owner-id").result(),
        },
        (None, Some(login)) => match ctx
            .core
            .admins()
            .get(&actor, &AdminRef::Login(login.to_owned()))
            .await
        {
            Ok(a) => Some(a.id),
            // An owner the caller cannot see is not found for it.
            Err(CoreError::NotFound { .. } | CoreError::Forbidden(_)) => {
                return Fault::OwnerNotFound(None).result()
            }
            Err(e) => return Fault::from_core(&e, "Client").result(),
        },
        (None, None) => None,
    };
    let login = match panelgate_core::types::Login::try_from(gen.child_text("login").unwrap_or(""))
    {
        Ok(l) => l,
        // The core's login rule: Plesk's own text for a refused login.
        Err(CoreError::Invalid { .. }) => return Fault::InvalidValue("login").result(),
        Err(e) => return Fault::from_core(&e, "Client").result(),
    };
    let mut profile = profile_from(
        gen,
        Profile {
            def_language: "en".into(),
            ..Profile::default()
        },
    );
    if profile.def_language.is_empty() {
        profile.def_language = "en".into();
    }
    let new = NewCustomer {
        loginname: Some(login),
        password: gen.child_text("passwd").map(str::to_owned),
        profile,
        create_std_subdomain: false,
        external_id: gen.child_text("external-id").unwrap_or("").to_owned(),
        description: gen.child_text("description").unwrap_or("").to_owned(),
        deactivated: gen.child_text("status").is_some_and(|s| s.trim() != "0"),
        ..NewCustomer::default()
    };
    let created = match owner {
        Some(o) => {
            ctx.core
                .customers()
                .create_owned(&actor, Some(o), new)
                .await
        }
        None => ctx.core.customers().create(&actor, new).await,
    };
    let created = match created {
        Ok(c) => c,
        Err(e) => {
            return Fault::from_core(&e, "Client").result();
        }
    };
    let mut r = ok_result();
    r.add_text("id", created.id.to_string())
        .add_text("guid", created.uuid);
    r
}

/// Resolve a filter to (filter value, matches); an empty filter selects everything visible.
async fn select(
    ctx: &Ctx<'_>,
    filter: Option<&Element>,
) -> Result<Vec<(Option<String>, Vec<Customer>)>, Element> {
    let actor = ctx.principal.actor();
    // A filter of ids and logins only: each criterion is one lookup, not a scan of every
    // customer the caller sees (same answers: a customer the caller cannot see matches nothing).
    if let Some(f) = filter.filter(|f| {
        !f.children.is_empty()
            && f.children
                .iter()
                .all(|c| c.name == "id" || c.name == "login")
    }) {
        let mut seen = std::collections::HashSet::new();
        let mut groups = Vec::new();
        for crit in f
            .children
            .iter()
            .filter(|crit| seen.insert((crit.name.as_str(), crit.text.trim())))
            .take(crate::MAX_CRITERIA)
        {
            let v = crit.text.trim();
            let r = if crit.name == "id" {
                v.parse::<i64>()
                    .ok()
                    .filter(|id| id.to_string() == v)
                    .map(CustomerRef::Id)
            } else {
                Some(CustomerRef::Login(v.to_owned()))
            };
            let hit = match r {
                None => None,
                Some(r) => match ctx.core.customers().get(&actor, &r).await {
                    Ok(c) if crit.name == "id" || c.loginname == v => Some(c),
                    Ok(_) | Err(CoreError::NotFound { .. }) => None,
                    Err(CoreError::Forbidden(panelgate_core::Denied::OtherCustomer)) => None,
                    Err(e) => return Err(Fault::from_core(&e, "Client").result()),
                },
            };
            groups.push((Some(v.to_owned()), hit.into_iter().collect()));
        }
        return Ok(groups);
    }
    let all = match ctx.core.customers().visible(&actor).await {
        Ok(l) => l,
        Err(e) => {
            return Err(Fault::from_core(&e, "Client").result());
        }
    };
    Ok(crate::filter_groups(filter, all, |c, name, v| match name {
        "id" => c.id.to_string() == v,
        "login" => c.loginname == v,
        "owner-id" => c.admin_id.to_string() == v,
        "owner-login" => c.admin_loginname == v,
        "guid" => c.uuid.eq_ignore_ascii_case(v),
        "external-id" => !v.is_empty() && c.external_id == v,
        _ => false,
    }))
}

/// The customer as `<customer><get>` answers it (both datasets) in a packet of
/// `version`, pretty-printed: what a dashboard shows as the Plesk view of a customer.
pub fn view(c: &Customer, version: &str) -> String {
    let mut r = crate::ok_result();
    r.add_text("id", c.id.to_string());
    r.push(data(c, true, true));
    let mut get = Element::new("get");
    get.push(r);
    let mut customer = Element::new("customer");
    customer.push(get);
    let mut packet = Element::new("packet");
    packet.attrs.push(("version".into(), version.into()));
    packet.push(customer);
    crate::xml::write(&packet, true)
}

/// A `get` result's `<data>`: the datasets asked for.
fn data(c: &Customer, with_gen_info: bool, with_stat: bool) -> Element {
    let mut data = Element::new("data");
    if with_gen_info {
        data.push(gen_info(c));
    }
    if with_stat {
        data.push(stat(c));
    }
    data
}

fn gen_info(c: &Customer) -> Element {
    let mut g = Element::new("gen_info");
    let p = &c.profile;
    g.add_text("cr_date", crate::date(c.created_at))
        .add_text("cname", p.company.clone())
        .add_text("pname", pname(p))
        .add_text("login", c.loginname.clone())
        .add_text("status", status(c))
        .add_text("phone", p.phone.clone())
        .add_text("fax", p.fax.clone())
        .add_text("email", p.email.clone())
        .add_text("address", p.street.clone())
        .add_text("city", p.city.clone())
        .add_text("state", p.state.clone())
        .add_text("pcode", p.zipcode.clone())
        .add_text("country", p.country.clone())
        .add_text("locale", locale(&p.def_language))
        .add_text("guid", c.uuid.clone())
        .add_text("owner-id", c.admin_id.to_string())
        .add_text("owner-login", c.admin_loginname.clone());
    if !c.external_id.is_empty() {
        g.add_text("external-id", c.external_id.clone());
    }
    if !c.description.is_empty() {
        g.add_text("description", c.description.clone());
    }
    g
}

fn stat(c: &Customer) -> Element {
    let mut s = Element::new("stat");
    s.add_text(
        "active_domains",
        i64::from(c.standardsubdomain != 0).to_string(),
    );
    for name in [
        "subdomains",
        "disk_space",
        "postboxs",
        "redirects",
        "mail_groups",
        "mail_resps",
        "mail_lists",
        "web_users",
        "data_bases",
        "traffic",
        "traffic_prevday",
    ] {
        s.add_text(name, "0");
    }
    s
}

/// `get`, `set` and `del`: one `<result>` per matched customer, a 1013 per filter value that
/// matches nothing.
async fn filtered(ctx: &Ctx<'_>, operation: &Element) -> Vec<Element> {
    let groups = match select(ctx, operation.child("filter")).await {
        Ok(g) => g,
        Err(e) => return vec![e],
    };
    let actor = ctx.principal.actor();
    let mut results = Vec::new();
    for (filter_id, hits) in groups {
        if hits.is_empty() {
            match &filter_id {
                Some(v) => {
                    let mut r = Fault::Missing("client does not exist").result();
                    r.add_text("filter-id", v.clone());
                    results.push(r);
                }
                None => results.push(ok_result()),
            }
            continue;
        }
        for c in hits {
            let outcome = match operation.name.as_str() {
                "get" => Ok(c.clone()),
                "set" => {
                    let values = operation.child("values").and_then(|v| v.child("gen_info"));
                    match values {
                        None => Ok(c.clone()),
                        Some(gen) => {
                            let patch = CustomerPatch {
                                password: gen.child_text("passwd").map(str::to_owned),
                                profile: Some(profile_from(gen, c.profile.clone())),
                                deactivated: gen.child_text("status").map(|s| s.trim() != "0"),
                                description: gen.child_text("description").map(str::to_owned),
                                base: Some(Box::new(c.clone())),
                                ..CustomerPatch::default()
                            };
                            ctx.core
                                .customers()
                                .update(&actor, &CustomerRef::Id(c.id), patch)
                                .await
                        }
                    }
                }
                _ => {
                    ctx.core
                        .customers()
                        .delete(&actor, &CustomerRef::Id(c.id))
                        .await
                }
            };
            match outcome {
                Ok(c) => {
                    let mut r = ok_result();
                    if let Some(v) = &filter_id {
                        r.add_text("filter-id", v.clone());
                    }
                    r.add_text("id", c.id.to_string());
                    if operation.name == "get" {
                        let dataset = operation.child("dataset");
                        r.push(data(
                            &c,
                            dataset.is_none_or(|d| d.child("gen_info").is_some()),
                            dataset.is_some_and(|d| d.child("stat").is_some()),
                        ));
                    }
                    results.push(r);
                }
                Err(e) => {
                    let mut r = Fault::from_core(&e, "client").result();
                    if let Some(v) = &filter_id {
                        r.add_text("filter-id", v.clone());
                    }
                    results.push(r);
                }
            }
        }
    }
    results
}
