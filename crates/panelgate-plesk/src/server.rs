//! `server` (`get_protos`, `get`) and `secret_key` (`create`).

use panelgate_core::{CredentialKind, NewCredential};

use crate::call::{SecretKeyOp, ServerOp};
use crate::xml::Element;
use panelgate_core::Who;

use crate::{ok_result, Ctx, Fault, OperatorResult, PROTOCOLS};

fn property(name: &str, value: &str) -> Element {
    let mut p = Element::new("property");
    p.add_text("name", name).add_text("value", value);
    p
}

pub async fn run(ctx: &Ctx<'_>, op: &Element, _version: &str) -> OperatorResult {
    let mut out = Element::new("server");
    for operation in &op.children {
        let mut answered = Element::new(operation.name.clone());
        match ServerOp::parse(&operation.name) {
            Some(ServerOp::GetProtos) => {
                let mut r = ok_result();
                let mut protos = Element::new("protos");
                for p in PROTOCOLS {
                    protos.add_text("proto", *p);
                }
                r.push(protos);
                answered.push(r);
            }
            Some(ServerOp::Get) => {
                answered.push(get(ctx, operation).await);
            }
            None => {
                answered.push(crate::unsupported());
            }
        }
        out.push(answered);
    }
    Ok(out)
}

/// `secret_key/get_info` and `delete`. Keys are stored hashed, so a key is shown only when the
/// request names it; a listing of all keys shows `sha256:<fingerprint>` instead of the key.
async fn keys(ctx: &Ctx<'_>, operation: &Element, op: SecretKeyOp) -> Vec<Element> {
    let actor = ctx.principal.actor();
    // Each distinct key once, at most as many as any filter is answered for.
    let mut seen = std::collections::HashSet::new();
    let named: Vec<&str> = operation
        .child("filter")
        .map(|f| {
            f.children_named("key")
                .map(|k| k.text.trim())
                .filter(|k| seen.insert(*k))
                .take(crate::MAX_CRITERIA)
                .collect()
        })
        .unwrap_or_default();
    let visible = match ctx
        .core
        .credentials()
        .list(&actor, CredentialKind::Plesk)
        .await
    {
        Ok(v) => v,
        Err(e) => {
            return vec![Fault::from_core(&e, "Secret key").result()];
        }
    };
    let owner_login = |k: &panelgate_core::credentials::CredentialInfo| match ctx.principal.who() {
        Who::Admin(a) if k.admin_id == Some(a.id) => a.loginname.clone(),
        Who::Customer(c) => c.loginname.clone(),
        _ => String::new(),
    };
    let info = |key_text: String, k: &panelgate_core::credentials::CredentialInfo| {
        let mut i = Element::new("key_info");
        i.add_text("key", key_text)
            .add_text("ip_address", k.allowed_from.clone())
            .add_text("description", k.description.clone())
            .add_text("login", owner_login(k));
        i
    };
    if named.is_empty() {
        if op == SecretKeyOp::Delete {
            return vec![Fault::Incomplete("name the keys to delete").result()];
        }
        let mut r = ok_result();
        for k in &visible {
            r.push(info(format!("sha256:{}", k.fingerprint), k));
        }
        return vec![r];
    }
    let mut results = Vec::new();
    for key in named {
        let found = match ctx
            .core
            .credentials()
            .find_secret_key(&actor, CredentialKind::Plesk, key)
            .await
        {
            Ok(found) => found,
            Err(e) => {
                let mut r = Fault::from_core(&e, "Secret key").result();
                r.add_text("key", key);
                results.push(r);
                continue;
            }
        };
        let Some(k) = found else {
            let mut r = Fault::Missing("Secret key does not exist").result();
            r.add_text("key", key);
            results.push(r);
            continue;
        };
        if op == SecretKeyOp::Delete {
            match ctx.core.credentials().delete(&actor, k.id).await {
                Ok(()) => {
                    let mut r = ok_result();
                    r.add_text("key", key);
                    results.push(r);
                }
                Err(e) => {
                    let mut r = Fault::from_core(&e, "Secret key").result();
                    r.add_text("key", key);
                    results.push(r);
                }
            }
        } else {
            let mut r = ok_result();
            r.push(info(key.to_owned(), &k));
            results.push(r);
        }
    }
    results
}

async fn get(ctx: &Ctx<'_>, operation: &Element) -> Element {
    if ctx.principal.as_admin().is_none() {
        return Fault::PermissionDenied.result();
    }
    let settings = match ctx.core.settings().snapshot().await {
        Ok(s) => s,
        Err(e) => {
            return Fault::from_core(&e, "Server").result();
        }
    };
    let mut r = ok_result();
    for dataset in &operation.children {
        match dataset.name.as_str() {
            "gen_info" => {
                let mut g = Element::new("gen_info");
                g.add_text("server_name", settings.get("system.hostname"))
                    .add_text("server_guid", crate::guid_for("server", 0))
                    .add_text("mode", "standard");
                r.push(g);
            }
            "key" => {
                let mut k = Element::new("key");
                for (name, value) in [
                    ("can-manage-customers", "1"),
                    ("can-manage-resellers", "1"),
                    ("can-manage-mail-settings", "1"),
                    ("lim_cl", "-1"),
                    ("lim_dom", "-1"),
                    ("key-type", "panelgate"),
                ] {
                    k.push(property(name, value));
                }
                k.add_text("content", "cGFuZWxnYXRlIGVtdWxhdGVkIGxpY2Vuc2U=");
                r.push(k);
            }
            _ => {}
        }
    }
    r
}

/// `secret_key/create`: a new key for the caller (an admin or reseller).
pub async fn secret_key(ctx: &Ctx<'_>, op: &Element) -> OperatorResult {
    let mut out = Element::new("secret_key");
    for operation in &op.children {
        let mut answered = Element::new(operation.name.clone());
        match SecretKeyOp::parse(&operation.name) {
            Some(SecretKeyOp::Create) => {
                let (admin_id, customer_id) = match ctx.principal.who() {
                    Who::Admin(a) => (Some(a.id), None),
                    Who::Customer(c) => (None, Some(c.id)),
                };
                let key = {
                    use rand::RngCore;
                    let mut bytes = [0u8; 16];
                    rand::rngs::OsRng.fill_bytes(&mut bytes);
                    panelgate_core::types::format_guid(&bytes)
                };
                let new = NewCredential {
                    kind: CredentialKind::Plesk,
                    public_key: String::new(),
                    secret: key.clone(),
                    admin_id,
                    customer_id,
                    allowed_from: operation
                        .child_text("ip_address")
                        .unwrap_or("")
                        .trim()
                        .to_owned(),
                    valid_until: -1,
                    description: operation.child_text("description").unwrap_or("").to_owned(),
                };
                match ctx
                    .core
                    .credentials()
                    .create(&ctx.principal.actor(), new)
                    .await
                {
                    Ok(_) => {
                        let mut r = ok_result();
                        r.add_text("key", key);
                        answered.push(r);
                    }
                    Err(e) => {
                        answered.push(Fault::from_core(&e, "Secret key").result());
                    }
                }
            }
            Some(op @ (SecretKeyOp::GetInfo | SecretKeyOp::Delete)) => {
                for r in keys(ctx, operation, op).await {
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
