//! `webspace`: `add`, `get`, `del` with the minimum `gen_setup` / `gen_info` fields (the shared
//! model's subscriptions), because `backup-webspace` targets webspaces.

use panelgate_core::subscriptions::Subscription;
use panelgate_core::CustomerRef;

use crate::call::{SiteOp, WebspaceOp};
use crate::xml::Element;
use crate::{ok_result, Ctx, Fault, OperatorResult};

pub async fn run(ctx: &Ctx<'_>, op: &Element) -> OperatorResult {
    let mut out = Element::new("webspace");
    for operation in &op.children {
        let mut answered = Element::new(operation.name.clone());
        match WebspaceOp::parse(&operation.name) {
            Some(WebspaceOp::Add) => {
                answered.push(add(ctx, operation).await);
            }
            Some(WebspaceOp::Get | WebspaceOp::Del) => {
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
    let Some(setup) = operation.child("gen_setup") else {
        return Fault::Incomplete("gen_setup is required").result();
    };
    let actor = ctx.principal.actor();
    let owner = match (
        setup.child_text("owner-id"),
        setup.child_text("owner-login"),
    ) {
        (Some(id), _) => id.trim().parse::<i64>().map(CustomerRef::Id).ok(),
        (None, Some(login)) => Some(CustomerRef::Login(login.trim().to_owned())),
        (None, None) => None,
    };
    let Some(owner) = owner else {
        // A webspace of the administrator itself: the shared model keeps webspaces per customer.
        return Fault::OwnerNotFound(Some(
            "panelgate keeps webspaces per customer; give owner-id or owner-login",
        ))
        .result();
    };
    let name = setup.child_text("name").unwrap_or("").trim();
    match ctx.core.subscriptions().create(&actor, &owner, name).await {
        Ok(sub) => {
            let mut r = ok_result();
            r.add_text("id", sub.id.to_string())
                .add_text("guid", crate::guid_for("webspace", sub.id));
            r
        }
        Err(panelgate_core::CoreError::NotFound { .. }) => Fault::OwnerNotFound(None).result(),
        Err(e) => Fault::from_core(&e, "Webspace").result(),
    }
}

fn gen_info(s: &Subscription, owner_login: &str) -> Element {
    let mut g = Element::new("gen_info");
    g.add_text("cr_date", crate::date(s.created_at))
        .add_text("name", s.domain.clone())
        .add_text("ascii-name", s.domain.clone())
        .add_text("status", "0")
        .add_text("real_size", "0")
        .add_text("owner-id", s.customer_id.to_string())
        .add_text("owner-login", owner_login)
        .add_text("htype", "vrt_hst")
        .add_text("guid", crate::guid_for("webspace", s.id))
        .add_text("vendor-guid", crate::guid_for("admin", s.admin_id))
        .add_text("external-id", "");
    g
}

async fn filtered(ctx: &Ctx<'_>, operation: &Element) -> Vec<Element> {
    let actor = ctx.principal.actor();
    let all = match ctx.core.subscriptions().list(&actor).await {
        Ok(l) => l,
        Err(e) => {
            return vec![Fault::from_core(&e, "Webspace").result()];
        }
    };
    let owners = match ctx.core.customers().visible(&actor).await {
        Ok(l) => l,
        Err(e) => return vec![Fault::from_core(&e, "Webspace").result()],
    };
    let owner_login = |id: i64| {
        owners
            .iter()
            .find(|c| c.id == id)
            .map(|c| c.loginname.clone())
            .unwrap_or_default()
    };
    let groups = crate::filter_groups(
        operation.child("filter"),
        all,
        |s: &Subscription, name, v| match name {
            "id" => s.id.to_string() == v,
            "name" => s.domain.eq_ignore_ascii_case(v),
            "owner-id" => s.customer_id.to_string() == v,
            "owner-login" => owner_login(s.customer_id) == v,
            "guid" => crate::guid_for("webspace", s.id).eq_ignore_ascii_case(v),
            _ => false,
        },
    );
    let mut results = Vec::new();
    for (filter_id, hits) in groups {
        if hits.is_empty() {
            if let Some(v) = &filter_id {
                let mut r = Fault::Missing("Webspace does not exist").result();
                r.add_text("filter-id", v.clone());
                results.push(r);
            } else if operation.name == "get" {
                results.push(ok_result());
            }
            continue;
        }
        for s in hits {
            let outcome = match operation.name.as_str() {
                "get" => Ok(s.clone()),
                _ => ctx.core.subscriptions().delete(&actor, s.id).await,
            };
            match outcome {
                Ok(s) => {
                    let mut r = ok_result();
                    if let Some(v) = &filter_id {
                        r.add_text("filter-id", v.clone());
                    }
                    r.add_text("id", s.id.to_string());
                    if operation.name == "get" {
                        let mut data = Element::new("data");
                        data.push(gen_info(&s, &owner_login(s.customer_id)));
                        r.push(data);
                    }
                    results.push(r);
                }
                Err(e) => {
                    let mut r = Fault::from_core(&e, "Webspace").result();
                    if let Some(v) = &filter_id {
                        r.add_text("filter-id", v.clone());
                    }
                    results.push(r);
                }
            }
        }
    }
    if results.is_empty() {
        results.push(ok_result());
    }
    results
}

/// `site/get`: sites are the same subscriptions, read-only here (lexicon/certbot look a domain up
/// this way before they touch its DNS).
pub async fn site(ctx: &Ctx<'_>, op: &Element) -> OperatorResult {
    let mut out = Element::new("site");
    let actor = ctx.principal.actor();
    for operation in &op.children {
        let mut answered = Element::new(operation.name.clone());
        if SiteOp::parse(&operation.name).is_none() {
            answered.push(crate::unsupported());
            out.push(answered);
            continue;
        }
        let all = match ctx.core.subscriptions().list(&actor).await {
            Ok(all) => all,
            Err(e) => {
                answered.push(Fault::from_core(&e, "Site").result());
                out.push(answered);
                continue;
            }
        };
        let groups = crate::filter_groups(
            operation.child("filter"),
            all,
            |s: &Subscription, name, v| match name {
                "name" => s.domain.eq_ignore_ascii_case(v),
                "id" => s.id.to_string() == v,
                "guid" => crate::guid_for("webspace", s.id).eq_ignore_ascii_case(v),
                _ => false,
            },
        );
        let wants_gen_info = operation
            .child("dataset")
            .is_some_and(|d| d.child("gen_info").is_some());
        for (filter_id, hits) in groups {
            if hits.is_empty() {
                if let Some(v) = filter_id {
                    let mut r = Fault::Missing("Site does not exist").result();
                    r.add_text("filter-id", v);
                    answered.push(r);
                }
                continue;
            }
            for s in hits {
                let mut r = ok_result();
                if let Some(v) = &filter_id {
                    r.add_text("filter-id", v.clone());
                }
                r.add_text("id", s.id.to_string());
                let mut data = Element::new("data");
                if wants_gen_info {
                    let mut g = Element::new("gen_info");
                    g.add_text("cr_date", crate::date(s.created_at))
                        .add_text("name", s.domain.clone())
                        .add_text("ascii-name", s.domain.clone())
                        .add_text("status", "0")
                        .add_text("real_size", "0")
                        .add_text("htype", "vrt_hst")
                        .add_text("guid", crate::guid_for("webspace", s.id))
                        .add_text("webspace-guid", crate::guid_for("webspace", s.id))
                        .add_text("webspace-id", s.id.to_string());
                    data.push(g);
                }
                r.push(data);
                answered.push(r);
            }
        }
        if answered.children.is_empty() {
            answered.push(ok_result());
        }
        out.push(answered);
    }
    Ok(out)
}
