//! `Froxlor.listFunctions` and `Froxlor.getApiVersion`. The descriptions are panelgate's own
//! words; the structure is Froxlor's (protocols/froxlor.md §7 G8).

use serde_json::{json, Value};

use crate::call::{FroxlorOp, Module};
use crate::error::Failure;
use crate::params::Params;
use crate::{Ctx, FroxlorVersion, Outcome};

/// (module, function, access groups, return type, summary, [(parameter, type, description)]).
type Doc = (
    &'static str,
    &'static str,
    &'static str,
    &'static str,
    &'static str,
    &'static [(&'static str, &'static str, &'static str)],
);

const TARGET: (&str, &str, &str) = (
    "id",
    "int",
    "optional, the customer id (takes precedence over loginname)",
);
const LOGIN: (&str, &str, &str) = (
    "loginname",
    "string",
    "optional, the login name when no id is given",
);
const SQL: [(&str, &str, &str); 4] = [
    (
        "sql_search",
        "array",
        "optional, filters: {field: value} or {field: {op, value}}",
    ),
    ("sql_limit", "int", "optional, number of rows"),
    (
        "sql_offset",
        "int",
        "optional, rows to skip (only with sql_limit)",
    ),
    ("sql_orderby", "array", "optional, {field: ASC|DESC}"),
];

const DOCS: &[Doc] = &[
    (
        "Admins",
        "get",
        "admin",
        "json",
        "read an admin or reseller by id or login name",
        &[
            ("id", "int", "optional, the admin id"),
            (
                "loginname",
                "string",
                "optional, the login name when no id is given",
            ),
        ],
    ),
    (
        "Admins",
        "listing",
        "admin",
        "json",
        "list all admins and resellers",
        &SQL,
    ),
    (
        "Admins",
        "listingCount",
        "admin",
        "json",
        "count admins and resellers",
        &[],
    ),
    (
        "Customers",
        "listing",
        "admin",
        "json",
        "list the customers the caller may see",
        &[
            SQL[0],
            SQL[1],
            SQL[2],
            SQL[3],
            ("show_usages", "bool", "optional, add usage figures"),
        ],
    ),
    (
        "Customers",
        "listingCount",
        "admin",
        "json",
        "count the customers the caller may see",
        &[],
    ),
    (
        "Customers",
        "get",
        "admin, customer",
        "json",
        "read one customer",
        &[
            TARGET,
            LOGIN,
            ("show_usages", "bool", "optional, add usage figures"),
        ],
    ),
    (
        "Customers",
        "add",
        "admin",
        "json",
        "create a customer",
        &[
            ("email", "string", "the contact address"),
            ("name", "string", "optional if company is given"),
            ("firstname", "string", "optional if company is given"),
            (
                "company",
                "string",
                "optional if name and firstname are given",
            ),
            ("new_loginname", "string", "optional, automatic when empty"),
            (
                "new_customer_password",
                "string",
                "optional, generated when empty",
            ),
            ("diskspace", "int", "optional, MB"),
            ("traffic", "int", "optional, GB"),
            (
                "createstdsubdomain",
                "bool",
                "optional, create the standard subdomain",
            ),
        ],
    ),
    (
        "Customers",
        "update",
        "admin, customer",
        "json",
        "change a customer; a customer may change its language, theme and password",
        &[
            TARGET,
            LOGIN,
            ("deactivated", "bool", "optional, suspend or reactivate"),
        ],
    ),
    (
        "Customers",
        "delete",
        "admin",
        "json",
        "delete a customer",
        &[
            TARGET,
            LOGIN,
            ("delete_userfiles", "int", "optional, also remove the files"),
        ],
    ),
    (
        "Customers",
        "unlock",
        "admin",
        "json",
        "reset the failed-login counter",
        &[TARGET, LOGIN],
    ),
    (
        "Customers",
        "move",
        "admin",
        "json",
        "give a customer to another admin or reseller",
        &[TARGET, LOGIN, ("adminid", "int", "the target admin")],
    ),
    (
        "CustomerBackups",
        "add",
        "admin, customer",
        "json",
        "plan a backup into a folder of the customer's home",
        &[
            ("path", "string", "folder inside the home directory"),
            ("backup_dbs", "bool", "optional"),
            ("backup_mail", "bool", "optional"),
            ("backup_web", "bool", "optional"),
            (
                "customerid",
                "int",
                "required for admins unless loginname is given",
            ),
            (
                "loginname",
                "string",
                "required for admins unless customerid is given",
            ),
        ],
    ),
    (
        "CustomerBackups",
        "get",
        "admin, customer",
        "json",
        "not possible for planned backups",
        &[],
    ),
    (
        "CustomerBackups",
        "update",
        "admin, customer",
        "json",
        "not possible for planned backups",
        &[],
    ),
    (
        "CustomerBackups",
        "listing",
        "admin, customer",
        "json",
        "list planned backups",
        &[
            ("customerid", "int", "optional filter"),
            ("loginname", "string", "optional filter"),
        ],
    ),
    (
        "CustomerBackups",
        "listingCount",
        "admin, customer",
        "json",
        "count planned backups",
        &[],
    ),
    (
        "CustomerBackups",
        "delete",
        "admin, customer",
        "bool",
        "delete a planned backup by id",
        &[("backup_job_entry", "int", "id of the backup job")],
    ),
    (
        "DataDump",
        "add",
        "admin, customer",
        "json",
        "plan a data dump into a folder of the customer's home",
        &[
            ("path", "string", "folder inside the home directory"),
            ("pgp_public_key", "string", "optional"),
            ("dump_dbs", "bool", "optional"),
            ("dump_mail", "bool", "optional"),
            ("dump_web", "bool", "optional"),
        ],
    ),
    (
        "DataDump",
        "get",
        "admin, customer",
        "json",
        "not possible for planned dumps",
        &[],
    ),
    (
        "DataDump",
        "update",
        "admin, customer",
        "json",
        "not possible for planned dumps",
        &[],
    ),
    (
        "DataDump",
        "listing",
        "admin, customer",
        "json",
        "list planned data dumps",
        &[],
    ),
    (
        "DataDump",
        "listingCount",
        "admin, customer",
        "json",
        "count planned data dumps",
        &[],
    ),
    (
        "DataDump",
        "delete",
        "admin, customer",
        "bool",
        "delete a planned data dump by id",
        &[("job_entry", "int", "id of the job")],
    ),
    (
        "Froxlor",
        "listFunctions",
        "admin, customer",
        "array",
        "list the API functions",
        &[
            ("module", "string", "optional"),
            ("function", "string", "optional"),
        ],
    ),
    (
        "Froxlor",
        "getApiVersion",
        "admin, customer",
        "array",
        "the API version",
        &[],
    ),
];

pub fn run(ctx: &Ctx<'_>, op: FroxlorOp, p: &Params) -> Outcome {
    match op {
        FroxlorOp::ListFunctions => list_functions(ctx.version, p),
        FroxlorOp::GetApiVersion => Ok(json!({ "version": ctx.version.release(), "branding": "" })),
    }
}

fn list_functions(version: FroxlorVersion, p: &Params) -> Outcome {
    let module = p.str_or("module", "");
    let function = p.str_or("function", "");
    if !module.is_empty() && Module::parse(&module, version).is_none() {
        return Err(Failure::new(
            404,
            format!("The required module \"Froxlor\\Api\\Commands\\{module}\" could not be found"),
        ));
    }
    let list: Vec<Value> = DOCS
        .iter()
        .filter(|d| Module::parse(d.0, version).is_some())
        .filter(|d| module.is_empty() || d.0 == module)
        .filter(|d| function.is_empty() || d.1.eq_ignore_ascii_case(&function))
        .map(|(m, f, groups, ret, head, params)| {
            let params: Vec<Value> = params
                .iter()
                .map(|(name, ty, desc)| json!({ "parameter": name, "type": ty, "desc": desc }))
                .collect();
            json!({
                "module": m,
                "function": f,
                "params": params,
                "head": head,
                "access": { "groups": groups },
                "return": { "type": ret, "desc": "" },
            })
        })
        .collect();
    Ok(Value::Array(list))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::call::Call;

    // `listFunctions` documents exactly the served calls (`Call::ALL`), no more, no fewer.
    #[test]
    fn list_functions_documents_every_served_call() {
        let documented: Vec<(&str, &str)> = DOCS.iter().map(|d| (d.0, d.1)).collect();
        for call in Call::ALL {
            assert!(
                documented.contains(&(call.module().name(), call.method())),
                "{} is served but not documented",
                call.name()
            );
        }
        for (module, method) in &documented {
            assert!(
                Call::ALL
                    .iter()
                    .any(|c| c.module().name() == *module && c.method() == *method),
                "{module}.{method} is documented but not served"
            );
        }
    }
}
