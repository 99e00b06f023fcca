//! `Admins.get`, `Admins.listing`, `Admins.listingCount`: reading admins and resellers.

use panelgate_core::admins::AdminRef;
use panelgate_core::{Admin, Operation};
use serde_json::{json, Map, Value};

use crate::call::AdminsOp;
use crate::error::{from_core, Failure, JobNoun};
use crate::listing::{self, ColumnRef, Row, Schema, SqlValue};
use crate::params::{php_is_numeric, PValue, Params};
use crate::{Ctx, FroxlorVersion, Outcome};

/// `panel_admins` columns in the order of a fresh install.
pub const ADMIN_COLUMNS: &[&str] = &[
    "adminid",
    "loginname",
    "password",
    "name",
    "email",
    "def_language",
    "ip",
    "customers",
    "customers_used",
    "customers_see_all",
    "domains",
    "domains_used",
    "caneditphpsettings",
    "change_serversettings",
    "diskspace",
    "diskspace_used",
    "mysqls",
    "mysqls_used",
    "emails",
    "emails_used",
    "email_accounts",
    "email_accounts_used",
    "email_forwarders",
    "email_forwarders_used",
    "email_quota",
    "email_quota_used",
    "ftps",
    "ftps_used",
    "subdomains",
    "subdomains_used",
    "traffic",
    "traffic_used",
    "deactivated",
    "lastlogin_succ",
    "lastlogin_fail",
    "loginfail_count",
    "reportsent",
    "theme",
    "custom_notes",
    "custom_notes_show",
    "type_2fa",
    "data_2fa",
    "api_allowed",
    "gui_access",
];

fn b(v: bool) -> Value {
    json!(i64::from(v))
}

/// The admin object (without `password` and `data_2fa`, as Froxlor 2.3.8+).
pub fn render(a: &Admin, version: FroxlorVersion) -> Map<String, Value> {
    let mut m = Map::new();
    m.insert("adminid".into(), json!(a.id));
    m.insert("loginname".into(), json!(a.loginname));
    m.insert("name".into(), json!(a.name));
    m.insert("email".into(), json!(a.email));
    m.insert("def_language".into(), json!(a.def_language));
    m.insert("ip".into(), json!(a.ip));
    m.insert("customers".into(), json!(a.customers));
    m.insert("customers_used".into(), json!(a.customers_used));
    m.insert("customers_see_all".into(), b(a.customers_see_all));
    m.insert("domains".into(), json!(a.domains));
    m.insert("domains_used".into(), json!(a.domains_used));
    m.insert("caneditphpsettings".into(), b(a.caneditphpsettings));
    m.insert("change_serversettings".into(), b(a.change_serversettings));
    let (l, u) = (&a.limits, &a.used);
    crate::customer_object::insert_resources(&mut m, l, u);
    m.insert("deactivated".into(), b(a.deactivated));
    m.insert("lastlogin_succ".into(), json!(a.lastlogin_succ));
    m.insert("lastlogin_fail".into(), json!(a.lastlogin_fail));
    m.insert("loginfail_count".into(), json!(a.loginfail_count));
    m.insert("reportsent".into(), json!(a.reportsent));
    m.insert("theme".into(), json!(a.theme));
    m.insert("custom_notes".into(), json!(a.custom_notes));
    m.insert("custom_notes_show".into(), b(a.custom_notes_show));
    m.insert("type_2fa".into(), json!(0));
    m.insert("api_allowed".into(), b(a.api_allowed));
    if version == FroxlorVersion::V2_3 {
        m.insert("gui_access".into(), b(a.gui_access));
    }
    m
}

/// An admin as a listing row, its columns rendered once.
struct AdminRow {
    admin: Admin,
    columns: Map<String, Value>,
}

impl AdminRow {
    fn new(admin: Admin) -> AdminRow {
        AdminRow {
            columns: render(&admin, FroxlorVersion::V2_3),
            admin,
        }
    }
}

const SCHEMA: Schema = Schema {
    tables: &[("", ADMIN_COLUMNS)],
    order_aliases: &[],
    natsort: &[],
};

impl Row for AdminRow {
    fn column(&self, (_, col): ColumnRef) -> SqlValue {
        match col {
            "password" | "data_2fa" => SqlValue::Str(String::new()),
            _ => SqlValue::from_json(self.columns.get(col)),
        }
    }
}

pub async fn run(ctx: &Ctx<'_>, op: AdminsOp, p: &Params) -> Outcome {
    let actor = ctx.principal.actor();
    let core_err = |e| from_core(e, JobNoun::Backup);
    match op {
        AdminsOp::Get => {
            let label = "Admins:get";
            let raw_id = p.raw("id").and_then(PValue::as_trimmed).unwrap_or_default();
            let r = if !raw_id.is_empty() && !php_is_numeric(&raw_id) {
                return Err(Failure::new(
                    404,
                    format!("Admin with id #{raw_id} could not be found"),
                ));
            } else if p.int_or("id", 0) > 0 {
                AdminRef::Id(p.int_or("id", 0))
            } else {
                AdminRef::Login(
                    p.required_str("loginname")
                        .map_err(|e| Failure::param(e, label))?,
                )
            };
            let admin = ctx.core.admins().get(&actor, &r).await.map_err(core_err)?;
            Ok(Value::Object(render(&admin, ctx.version)))
        }
        AdminsOp::Listing | AdminsOp::ListingCount => {
            ctx.core
                .authorize(&actor, Operation::AdminsRead)
                .map_err(core_err)?;
            let rows: Vec<AdminRow> = ctx
                .core
                .admins()
                .list(&actor)
                .await
                .map_err(core_err)?
                .into_iter()
                .map(AdminRow::new)
                .collect();
            let listing = op == AdminsOp::Listing;
            let query = listing::Query {
                params: p,
                search: listing || ctx.version == FroxlorVersion::V2_3,
                order_and_limit: listing,
                natsorting: false,
            };
            let rows = listing::apply(&SCHEMA, &query, rows, |_, _| SqlValue::Null)?;
            if listing {
                let list: Vec<Value> = rows
                    .iter()
                    .map(|r| Value::Object(render(&r.admin, ctx.version)))
                    .collect();
                Ok(crate::json::object([
                    ("count", json!(list.len())),
                    ("list", Value::Array(list)),
                ]))
            } else {
                Ok(json!(rows.len()))
            }
        }
    }
}
