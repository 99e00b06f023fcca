//! `server` (`get_protos`, `get`) and `secret_key` (`create`).

use panelgate_core::{CredentialKind, NewCredential};

use crate::xml::Element;
use crate::{core_error, error_result, ok_result, Ctx, OperatorResult, Principal, PROTOCOLS};

fn property(name: &str, value: &str) -> Element {
    let mut p = Element::new("property");
    p.add_text("name", name).add_text("value", value);
    p
}

pub async fn run(ctx: &Ctx<'_>, op: &Element, _version: &str) -> OperatorResult {
    let mut out = Element::new("server");
    for operation in &op.children {
        let mut answered = Element::new(operation.name.clone());
        match operation.name.as_str() {
            "get_protos" => {
                let mut r = ok_result();
                let mut protos = Element::new("protos");
                for p in PROTOCOLS {
                    protos.add_text("proto", *p);
                }
                r.push(protos);
                answered.push(r);
            }
            "get" => {
                answered.push(get(ctx, operation).await);
            }
            _ => {
                answered.push(crate::unsupported());
            }
        }
        out.push(answered);
    }
    Ok(out)
}

/// `secret_key/get_info` and `delete`. Keys are stored hashed, so a key is shown only when the
/// request names it; a listing of all keys shows `sha256:<fingerprint>` instead of the key.
async fn keys(ctx: &Ctx<'_>, operation: &Element) -> Vec<Element> {
    let actor = ctx.principal.actor();
    let named: Vec<&str> = operation
        .child("filter")
        .map(|f| f.children_named("key").map(|k| k.text.trim()).collect())
        .unwrap_or_default();
    let visible = ctx
        .core
        .credentials()
        .list(&actor, CredentialKind::Plesk)
        .await
        .unwrap_or_default();
    let owner_login = |k: &panelgate_core::credentials::CredentialInfo| match ctx.principal {
        Principal::Admin(a) if k.admin_id == Some(a.id) => a.loginname.clone(),
        Principal::Customer(c) => c.loginname.clone(),
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
        if operation.name == "delete" {
            return vec![error_result(1014, "name the keys to delete")];
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
            .verify(CredentialKind::Plesk, "", key)
            .await
        {
            Ok(Some(v)) => visible.iter().find(|k| k.id == v.id).cloned(),
            _ => None,
        };
        let Some(k) = found else {
            let mut r = error_result(1013, "Secret key does not exist");
            r.add_text("key", key);
            results.push(r);
            continue;
        };
        if operation.name == "delete" {
            match ctx.core.credentials().delete(&actor, k.id).await {
                Ok(()) => {
                    let mut r = ok_result();
                    r.add_text("key", key);
                    results.push(r);
                }
                Err(e) => {
                    let (code, text) = core_error(&e, "Secret key");
                    let mut r = error_result(code, &text);
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
    if !matches!(ctx.principal, Principal::Admin(_)) {
        return error_result(1006, "Permission denied");
    }
    let settings = match ctx.core.settings().snapshot().await {
        Ok(s) => s,
        Err(e) => {
            let (code, text) = core_error(&e, "Server");
            return error_result(code, &text);
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
        match operation.name.as_str() {
            "create" => {
                let Principal::Admin(admin) = ctx.principal else {
                    answered.push(error_result(1006, "Permission denied"));
                    out.push(answered);
                    continue;
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
                    admin_id: Some(admin.id),
                    customer_id: None,
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
                        let (code, text) = core_error(&e, "Secret key");
                        answered.push(error_result(code, &text));
                    }
                }
            }
            "get_info" | "delete" => {
                for r in keys(ctx, operation).await {
                    answered.push(r);
                }
            }
            _ => {
                answered.push(crate::unsupported());
            }
        }
        out.push(answered);
    }
    Ok(out)
}
