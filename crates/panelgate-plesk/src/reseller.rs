//! `reseller`: `add`, `get`, `set`, `del` (protocols/plesk.md §3). A reseller is an admin of
//! the shared model without `customers_see_all` (Froxlor's `Admins.*` shows the same object).

use panelgate_core::admins::{AdminPatch, NewAdmin};
use panelgate_core::{Admin, Resources, UNLIMITED};

use crate::call::AccountOp;
use crate::customer::{locale, split_pname};
use crate::xml::Element;
use crate::{ok_result, Ctx, Fault, OperatorResult};

/// Permissions shown for every reseller (panelgate does not model finer rights).
const PERMISSIONS: &[(&str, &str)] = &[
    ("create_clients", "true"),
    ("manage_subscriptions", "true"),
    ("allow_oversell", "false"),
    ("manage_dns", "true"),
    ("manage_mail_settings", "true"),
];

fn pname(a: &Admin) -> String {
    a.name.clone()
}

pub async fn run(ctx: &Ctx<'_>, op: &Element) -> OperatorResult {
    let mut out = Element::new("reseller");
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

async fn add(ctx: &Ctx<'_>, operation: &Element) -> Element {
    let Some(gen) = operation.child("gen-info") else {
        return Fault::Incomplete("gen-info is required").result();
    };
    let (first, last) = split_pname(gen.child_text("pname").unwrap_or(""));
    let name = if first.is_empty() {
        last
    } else {
        format!("{first} {last}")
    };
    let new = NewAdmin {
        loginname: gen.child_text("login").unwrap_or("").trim().to_owned(),
        password: gen.child_text("passwd").unwrap_or("").to_owned(),
        name,
        email: gen.child_text("email").unwrap_or("").to_owned(),
        def_language: "en".into(),
        customers: UNLIMITED,
        domains: UNLIMITED,
        limits: Resources::unlimited(),
        deactivated: gen.child_text("status").is_some_and(|s| s.trim() != "0"),
        ..NewAdmin::default()
    };
    if new.loginname.is_empty()
        || panelgate_core::types::Login::try_from(new.loginname.as_str()).is_err()
    {
        return Fault::InvalidValue("login").result();
    }
    let actor = ctx.principal.actor();
    match ctx
        .core
        .customers()
        .login_taken(&actor, &new.loginname)
        .await
    {
        Ok(true) => return Fault::AlreadyExists("Reseller").result(),
        Ok(false) => {}
        Err(e) => {
            return Fault::from_core(&e, "Reseller").result();
        }
    }
    match ctx.core.admins().create(&actor, new).await {
        Ok(a) => {
            let mut r = ok_result();
            r.add_text("id", a.id.to_string())
                .add_text("guid", crate::guid_for("admin", a.id));
            r
        }
        Err(e) => Fault::from_core(&e, "Reseller").result(),
    }
}

fn gen_info(a: &Admin) -> Element {
    let mut g = Element::new("gen-info");
    g.add_text("cr-date", crate::date(a.created_at))
        .add_text("cname", "")
        .add_text("pname", pname(a))
        .add_text("login", a.loginname.clone())
        .add_text("status", if a.deactivated { "16" } else { "0" })
        .add_text("phone", "")
        .add_text("fax", "")
        .add_text("email", a.email.clone())
        .add_text("address", "")
        .add_text("city", "")
        .add_text("state", "")
        .add_text("pcode", "")
        .add_text("country", "")
        .add_text("locale", locale(&a.def_language))
        .add_text("guid", crate::guid_for("admin", a.id));
    g
}

fn limits(a: &Admin) -> Element {
    let mut l = Element::new("limits");
    for (name, value) in [
        ("max_cl", a.customers),
        ("max_dom", a.domains),
        (
            "disk_space",
            if a.limits.diskspace < 0 {
                -1
            } else {
                a.limits.diskspace * 1024
            },
        ),
        (
            "max_traffic",
            if a.limits.traffic < 0 {
                -1
            } else {
                a.limits.traffic * 1024
            },
        ),
        ("max_db", a.limits.mysqls),
        ("max_box", a.limits.email_accounts),
        ("max_subdom", a.limits.subdomains),
    ] {
        let mut limit = Element::new("limit");
        limit
            .add_text("name", name)
            .add_text("value", value.to_string());
        l.push(limit);
    }
    l
}

async fn filtered(ctx: &Ctx<'_>, operation: &Element) -> Vec<Element> {
    let actor = ctx.principal.actor();
    let all: Vec<Admin> = match ctx.core.admins().list(&actor).await {
        Ok(l) => l.into_iter().filter(Admin::is_reseller).collect(),
        Err(e) => {
            return vec![Fault::from_core(&e, "Reseller").result()];
        }
    };
    // `<all/>` selects everything, like an empty filter.
    let filter = operation
        .child("filter")
        .filter(|f| f.child("all").is_none());
    let groups = crate::filter_groups(filter, all, |a: &Admin, name, v| match name {
        "id" => a.id.to_string() == v,
        "login" => a.loginname == v,
        "guid" => crate::guid_for("admin", a.id).eq_ignore_ascii_case(v),
        _ => false,
    });
    let mut results = Vec::new();
    for (filter_id, hits) in groups {
        if hits.is_empty() {
            match &filter_id {
                Some(v) => {
                    let mut r = Fault::Missing("Reseller does not exist").result();
                    r.add_text("filter-id", v.clone());
                    results.push(r);
                }
                None => results.push(ok_result()),
            }
            continue;
        }
        for a in hits {
            let outcome = match operation.name.as_str() {
                "get" => Ok(a.clone()),
                "set" => match operation.child("values").and_then(|v| v.child("gen-info")) {
                    None => Ok(a.clone()),
                    Some(gen) => {
                        let patch = AdminPatch {
                            name: gen.child_text("pname").map(str::to_owned),
                            email: gen.child_text("email").map(str::to_owned),
                            password: gen.child_text("passwd").map(str::to_owned),
                            deactivated: gen.child_text("status").map(|s| s.trim() != "0"),
                        };
                        ctx.core.admins().update(&actor, a.id, patch).await
                    }
                },
                _ => ctx.core.admins().delete(&actor, a.id).await,
            };
            match outcome {
                Ok(a) => {
                    let mut r = ok_result();
                    if let Some(v) = &filter_id {
                        r.add_text("filter-id", v.clone());
                    }
                    r.add_text("id", a.id.to_string());
                    if operation.name == "get" {
                        let dataset = operation.child("dataset");
                        let wants = |n: &str| dataset.is_none_or(|d| d.child(n).is_some());
                        let mut data = Element::new("data");
                        if wants("gen-info") {
                            data.push(gen_info(&a));
                        }
                        if dataset.is_some_and(|d| d.child("permissions").is_some()) {
                            let mut perms = Element::new("permissions");
                            for (n, v) in PERMISSIONS {
                                let mut p = Element::new("permission");
                                p.add_text("name", *n).add_text("value", *v);
                                perms.push(p);
                            }
                            data.push(perms);
                        }
                        if dataset.is_some_and(|d| d.child("limits").is_some()) {
                            data.push(limits(&a));
                        }
                        r.push(data);
                    }
                    results.push(r);
                }
                Err(e) => {
                    let mut r = Fault::from_core(&e, "Reseller").result();
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
