//! Request validation for the operators panelgate serves, with libxml2's wording (Plesk
//! validates packets with libxml2 against agent_input.xsd and shows its first message:
//! protocols/plesk.md §1). This is panelgate's own description of the parts of the schema it
//! needs, not Plesk's XSD: operation names per operator (schema order), the order of the
//! elements of `get`/`set`/`del`/`add`, and integer-typed values.

use crate::xml::Element;

/// Operations of each operator, in schema order (1.6.9.1; `backup-manager` from 1.6.9.0).
pub fn operations(operator: &str) -> Option<&'static [&'static str]> {
    Some(match operator {
        "server" => &[
            "get_protos",
            "get",
            "set",
            "srv_man",
            "lic_install",
            "lic_update",
            "initial_setup",
            "get_additional_key",
            "remove_additional_key",
            "renew_additional_key",
            "get-additional-key-list",
        ],
        "customer" => &[
            "add",
            "get",
            "del",
            "set",
            "convert-to-reseller",
            "change-owner",
            "get-domain-list",
        ],
        "reseller" => &[
            "add",
            "set",
            "get",
            "del",
            "ippool-add-ip",
            "ippool-del-ip",
            "ippool-set-ip",
            "cform-buttons-list",
            "get-limit-descriptor",
            "get-permission-descriptor",
            "convert-to-customer",
            "switch-subscription",
            "sync-subscription",
            "add-package",
            "remove-package",
            "enable-aps-filter",
            "disable-aps-filter",
            "get-domain-list",
        ],
        "webspace" => &[
            "add",
            "get",
            "set",
            "del",
            "cform_buttons_list",
            "get_traffic",
            "set_traffic",
            "get-limit-descriptor",
            "get-permission-descriptor",
            "get-physical-hosting-descriptor",
        ],
        "secret_key" => &["create", "get_info", "delete"],
        "site" => &[
            "add",
            "get",
            "set",
            "del",
            "cform_buttons_list",
            "get_traffic",
            "set_traffic",
            "get-physical-hosting-descriptor",
        ],
        "backup-manager" => &[
            "get-remote-storage-settings",
            "set-remote-storage-settings",
            "backup-server",
            "backup-reseller",
            "backup-webspace",
            "backup-customer",
            "get-tasks-info",
            "get-local-backup-list",
            "import-file",
            "download-file",
            "get-supported-protocols",
            "stop-backup",
            "remove-file",
            "get-server-wide-settings",
            "set-server-wide-settings",
        ],
        _ => return None,
    })
}

/// (element, required) in sequence order.
type Seq = &'static [(&'static str, bool)];

fn sequence(operator: &str, operation: &str) -> Option<Seq> {
    Some(match (operator, operation) {
        ("customer" | "reseller" | "webspace" | "site", "get") => {
            &[("filter", true), ("dataset", true)]
        }
        ("customer" | "reseller" | "webspace", "set") => &[("filter", true), ("values", true)],
        ("customer" | "reseller" | "webspace", "del") => &[("filter", true)],
        ("customer", "add") => &[("gen_info", true)],
        ("reseller", "add") => &[
            ("gen-info", true),
            ("limits", false),
            ("permissions", false),
        ],
        _ => return None,
    })
}

const CUSTOMER_GEN_INFO: Seq = &[
    ("cname", false),
    ("pname", true),
    ("login", true),
    ("passwd", true),
    ("status", false),
    ("phone", false),
    ("fax", false),
    ("email", false),
    ("address", false),
    ("city", false),
    ("state", false),
    ("pcode", false),
    ("country", false),
    ("locale", false),
    ("owner-id", false),
    ("owner-login", false),
    ("owner-external-id", false),
    ("external-id", false),
    ("description", false),
];

const RESELLER_GEN_INFO: Seq = &[
    ("cname", false),
    ("pname", true),
    ("login", true),
    ("passwd", true),
    ("status", false),
    ("phone", false),
    ("fax", false),
    ("email", false),
    ("address", false),
    ("city", false),
    ("state", false),
    ("pcode", false),
    ("country", false),
    ("locale", false),
    ("external-id", false),
    ("description", false),
    ("power-user", false),
];

/// `description` is required in every backup operation (backup.xsd: after the storage and the
/// optional `prefix`); a packet without it is a 1014, as Plesk answers.
fn check_backup_description(operation: &Element) -> Result<(), Violation> {
    if operation.child("description").is_some() {
        return Ok(());
    }
    let expected = if operation.child("prefix").is_some() {
        "Expected is ( description )."
    } else {
        "Expected is one of ( prefix, description )."
    };
    Err((
        operation.line,
        format!(
            "Element '{}': Missing child element(s). {expected}",
            operation.name
        ),
    ))
}

/// A libxml2-style message and the line it is about.
pub type Violation = (usize, String);

fn expected(names: &[&str]) -> String {
    let names = &names[..names.len().min(10)];
    if names.len() == 1 {
        format!("Expected is ( {} ).", names[0])
    } else {
        format!("Expected is one of ( {} ).", names.join(", "))
    }
}

fn check_sequence(parent: &Element, seq: Seq) -> Result<(), Violation> {
    let mut at = 0;
    for child in &parent.children {
        let mut candidates = Vec::new();
        let mut found = None;
        for (i, (name, required)) in seq.iter().enumerate().skip(at) {
            candidates.push(*name);
            if *name == child.name {
                found = Some(i);
                break;
            }
            if *required {
                break;
            }
        }
        match found {
            Some(i) => at = i + 1,
            None if candidates.is_empty() => {
                return Err((
                    child.line,
                    format!("Element '{}': This element is not expected.", child.name),
                ));
            }
            None => {
                return Err((
                    child.line,
                    format!(
                        "Element '{}': This element is not expected. {}",
                        child.name,
                        expected(&candidates)
                    ),
                ));
            }
        }
    }
    let missing: Vec<&str> = seq
        .iter()
        .skip(at)
        .scan(false, |done, (name, required)| {
            if *done {
                return None;
            }
            *done = *required;
            Some(*name)
        })
        .collect();
    if seq.iter().skip(at).any(|(_, required)| *required) {
        return Err((
            parent.line,
            format!(
                "Element '{}': Missing child element(s). {}",
                parent.name,
                expected(&missing)
            ),
        ));
    }
    Ok(())
}

fn check_int(el: &Element, type_name: &str) -> Result<(), Violation> {
    // A number has no child elements (found by the plesk_packet fuzz target: `<id>1<x/>2</id>`
    // passed as the number in its text).
    if !el.children.is_empty() {
        return Err((
            el.line,
            format!(
                "Element '{}': Element content is not allowed, because the type definition is simple.",
                el.name
            ),
        ));
    }
    if el.text.trim().parse::<i64>().is_ok() {
        Ok(())
    } else {
        Err((
            el.line,
            format!(
                "Element '{}': '{}' is not a valid value of the atomic type '{type_name}'.",
                el.name, el.text
            ),
        ))
    }
}

/// Check one operator element.
pub fn check_operator(op: &Element) -> Result<(), Violation> {
    let Some(ops) = operations(&op.name) else {
        return Ok(());
    };
    if op.children.is_empty() {
        return Err((
            op.line,
            format!(
                "Element '{}': Missing child element(s). {}",
                op.name,
                expected(ops)
            ),
        ));
    }
    for operation in &op.children {
        if !ops.contains(&operation.name.as_str()) {
            return Err((
                operation.line,
                format!(
                    "Element '{}': This element is not expected. {}",
                    operation.name,
                    expected(ops)
                ),
            ));
        }
        if let Some(seq) = sequence(&op.name, &operation.name) {
            check_sequence(operation, seq)?;
        }
        if let Some(filter) = operation.child("filter") {
            for crit in filter
                .children
                .iter()
                .filter(|c| matches!(c.name.as_str(), "id" | "owner-id"))
            {
                check_int(crit, "id_type")?;
            }
        }
        match (op.name.as_str(), operation.name.as_str()) {
            (
                "backup-manager",
                "backup-server" | "backup-reseller" | "backup-customer" | "backup-webspace",
            ) => check_backup_description(operation)?,
            ("customer", "add") => {
                if let Some(gen) = operation.child("gen_info") {
                    check_sequence(gen, CUSTOMER_GEN_INFO)?;
                    if let Some(owner) = gen.child("owner-id") {
                        check_int(owner, "int")?;
                    }
                }
            }
            ("reseller", "add") => {
                if let Some(gen) = operation.child("gen-info") {
                    check_sequence(gen, RESELLER_GEN_INFO)?;
                }
            }
            ("backup-manager", _) => {
                for c in &operation.children {
                    if matches!(
                        c.name.as_str(),
                        "customer-id" | "reseller-id" | "webspace-id" | "task-id" | "split-size"
                    ) {
                        check_int(
                            c,
                            if c.name == "task-id" {
                                "BackupTaskIdType"
                            } else {
                                "int"
                            },
                        )?;
                    }
                }
            }
            _ => {}
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn first(xml: &str) -> Result<(), Violation> {
        let p = crate::xml::parse(xml.as_bytes()).unwrap();
        p.children.iter().try_for_each(check_operator)
    }

    /// Found by the plesk_packet fuzz target (fuzz/regressions/plesk_packet).
    #[test]
    fn regression_fuzz_a_number_with_child_elements_is_refused() {
        let input = include_bytes!("../../../fuzz/regressions/plesk_packet/id-with-children.xml");
        let p = crate::xml::parse(input).unwrap();
        let (_, message) = p.children.iter().try_for_each(check_operator).unwrap_err();
        assert!(
            message.contains("Element content is not allowed"),
            "{message}"
        );
    }

    // Each expectation is what `xmllint --schema 1.6.9.1/agent_input.xsd` printed for the packet.
    #[test]
    fn libxml2_messages() {
        let cases = [
            ("<packet><customer><nope/></customer></packet>", "Element 'nope': This element is not expected. Expected is one of ( add, get, del, set, convert-to-reseller, change-owner, get-domain-list )."),
            ("<packet><reseller><nope/></reseller></packet>", "Element 'nope': This element is not expected. Expected is one of ( add, set, get, del, ippool-add-ip, ippool-del-ip, ippool-set-ip, cform-buttons-list, get-limit-descriptor, get-permission-descriptor )."),
            ("<packet><server><nope/></server></packet>", "Element 'nope': This element is not expected. Expected is one of ( get_protos, get, set, srv_man, lic_install, lic_update, initial_setup, get_additional_key, remove_additional_key, renew_additional_key )."),
            ("<packet><secret_key><nope/></secret_key></packet>", "Element 'nope': This element is not expected. Expected is one of ( create, get_info, delete )."),
            ("<packet><customer><get><dataset><gen_info/></dataset><filter/></get></customer></packet>", "Element 'dataset': This element is not expected. Expected is ( filter )."),
            ("<packet><customer><get><filter><id>abc</id></filter><dataset><gen_info/></dataset></get></customer></packet>", "Element 'id': 'abc' is not a valid value of the atomic type 'id_type'."),
            ("<packet><customer><add><gen_info><login>x</login><pname>p</pname><passwd>x</passwd></gen_info></add></customer></packet>", "Element 'login': This element is not expected. Expected is one of ( cname, pname )."),
            ("<packet><customer><get><filter/></get></customer></packet>", "Element 'get': Missing child element(s). Expected is ( dataset )."),
            ("<packet><customer><add><gen_info><pname>p</pname><login>x</login><passwd>x</passwd><owner-id>abc</owner-id></gen_info></add></customer></packet>", "Element 'owner-id': 'abc' is not a valid value of the atomic type 'int'."),
            ("<packet><customer/></packet>", "Element 'customer': Missing child element(s). Expected is one of ( add, get, del, set, convert-to-reseller, change-owner, get-domain-list )."),
        ];
        for (xml, want) in cases {
            assert_eq!(first(xml).unwrap_err().1, want, "{xml}");
        }
        assert!(first("<packet><customer><get><filter><id>3</id></filter><dataset><gen_info/></dataset></get></customer></packet>").is_ok());
    }
}
