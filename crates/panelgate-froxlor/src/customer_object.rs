//! The customer object of `Customers.get` and friends, and customers as listing rows
//! (protocols/froxlor.md §4.2, §3).

use panelgate_core::{Admin, Customer, Resources};
use serde_json::{json, Map, Value};

use crate::listing::{ColumnRef, Row, Schema, SqlValue};
use crate::FroxlorVersion;

/// Which shape of customer object the caller gets (§4.2).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum View {
    /// Admin callers: `adminname` appended.
    Admin,
    /// The customer itself: no `adminname`, `custom_notes` only when shown.
    Own,
}

pub(crate) fn b(v: bool) -> Value {
    json!(i64::from(v))
}

/// `<resource>` and `<resource>_used` pairs, in the column order Froxlor's customer and admin
/// tables share (diskspace … traffic).
pub(crate) fn insert_resources(m: &mut Map<String, Value>, l: &Resources, u: &Resources) {
    for (name, limit, used) in [
        ("diskspace", l.diskspace, u.diskspace),
        ("mysqls", l.mysqls, u.mysqls),
        ("emails", l.emails, u.emails),
        ("email_accounts", l.email_accounts, u.email_accounts),
        ("email_forwarders", l.email_forwarders, u.email_forwarders),
        ("email_quota", l.email_quota, u.email_quota),
        ("ftps", l.ftps, u.ftps),
        ("subdomains", l.subdomains, u.subdomains),
        ("traffic", l.traffic, u.traffic),
    ] {
        m.insert(name.into(), json!(limit));
        m.insert(format!("{name}_used"), json!(used));
    }
}

/// The customer object, keys in the column order of a fresh install of the chosen version.
pub fn render(c: &Customer, view: View, version: FroxlorVersion, usages: bool) -> Value {
    // About a hundred keys: sized once, not grown.
    let mut m = Map::with_capacity(128);
    let l = &c.limits;
    let u = &c.used;
    let pr = &c.profile;
    m.insert("customerid".into(), json!(c.id));
    m.insert("loginname".into(), json!(c.loginname));
    m.insert("adminid".into(), json!(c.admin_id));
    m.insert("name".into(), json!(pr.name));
    m.insert("firstname".into(), json!(pr.firstname));
    m.insert("gender".into(), json!(pr.gender));
    m.insert("company".into(), json!(pr.company));
    m.insert("street".into(), json!(pr.street));
    m.insert("zipcode".into(), json!(pr.zipcode));
    m.insert("city".into(), json!(pr.city));
    m.insert("phone".into(), json!(pr.phone));
    m.insert("fax".into(), json!(pr.fax));
    m.insert("email".into(), json!(pr.email));
    m.insert("customernumber".into(), json!(pr.customernumber));
    m.insert("def_language".into(), json!(pr.def_language));
    insert_resources(&mut m, l, u);
    m.insert("documentroot".into(), json!(c.documentroot));
    m.insert("standardsubdomain".into(), json!(c.standardsubdomain));
    m.insert("guid".into(), json!(c.guid));
    m.insert("ftp_lastaccountnumber".into(), json!(0));
    m.insert("mysql_lastaccountnumber".into(), json!(0));
    m.insert("deactivated".into(), b(c.deactivated));
    m.insert("phpenabled".into(), b(c.features.phpenabled));
    m.insert("lastlogin_succ".into(), json!(c.lastlogin_succ));
    m.insert("lastlogin_fail".into(), json!(c.lastlogin_fail));
    m.insert("loginfail_count".into(), json!(c.loginfail_count));
    m.insert("reportsent".into(), json!(0));
    m.insert("pop3".into(), b(c.features.pop3));
    m.insert("imap".into(), b(c.features.imap));
    m.insert("perlenabled".into(), b(c.features.perlenabled));
    m.insert("dnsenabled".into(), b(c.features.dnsenabled));
    m.insert("theme".into(), json!(c.theme));
    let notes = if view == View::Own && !c.custom_notes_show {
        String::new()
    } else {
        c.custom_notes.clone()
    };
    m.insert("custom_notes".into(), json!(notes));
    m.insert("custom_notes_show".into(), b(c.custom_notes_show));
    m.insert("lepublickey".into(), Value::Null);
    m.insert("leprivatekey".into(), Value::Null);
    m.insert("leregistered".into(), json!(0));
    m.insert("allowed_phpconfigs".into(), json!(c.allowed_phpconfigs));
    m.insert("type_2fa".into(), json!(0));
    m.insert("api_allowed".into(), b(c.features.api_allowed));
    if version == FroxlorVersion::V2_3 {
        m.insert("shell_allowed".into(), b(c.features.shell_allowed));
    }
    m.insert("logviewenabled".into(), b(c.features.logviewenabled));
    m.insert("allowed_mysqlserver".into(), json!(c.allowed_mysqlserver));
    if version == FroxlorVersion::V2_3 {
        m.insert("gui_access".into(), b(c.features.gui_access));
    }
    if view == View::Admin {
        m.insert("adminname".into(), json!(c.admin_loginname));
    }
    if usages {
        m.insert("domains".into(), json!(0));
        m.insert("webspace_used".into(), json!(0));
        m.insert("mailspace_used".into(), json!(0));
        m.insert("dbspace_used".into(), json!(0));
    }
    Value::Object(m)
}

/// A listing row: the customer with its owner (for `a.*` fields).
pub struct CustomerRow {
    pub customer: Customer,
    owner: Option<std::sync::Arc<Admin>>,
    /// The `c.*` and `a.*` columns, rendered on first use (a listing without a search or an
    /// order renders none of them) and then kept for filtering and sorting.
    columns: std::cell::OnceCell<Map<String, Value>>,
    owner_columns: std::cell::OnceCell<Option<Map<String, Value>>>,
}

impl CustomerRow {
    pub fn new(customer: Customer, owner: Option<std::sync::Arc<Admin>>) -> CustomerRow {
        CustomerRow {
            customer,
            owner,
            columns: std::cell::OnceCell::new(),
            owner_columns: std::cell::OnceCell::new(),
        }
    }

    /// The columns searches and orders use most, read straight from the customer: the value
    /// the rendered object holds, without rendering it (tested against the rendering).
    fn direct(&self, col: &str) -> Option<SqlValue> {
        let c = &self.customer;
        let p = &c.profile;
        let text = |s: &String| Some(SqlValue::Str(s.clone()));
        match col {
            "customerid" => Some(SqlValue::Int(c.id)),
            "adminid" => Some(SqlValue::Int(c.admin_id)),
            "loginname" => text(&c.loginname),
            "name" => text(&p.name),
            "firstname" => text(&p.firstname),
            "company" => text(&p.company),
            "email" => text(&p.email),
            "city" => text(&p.city),
            "zipcode" => text(&p.zipcode),
            "street" => text(&p.street),
            "phone" => text(&p.phone),
            "customernumber" => text(&p.customernumber),
            _ => None,
        }
    }

    fn columns(&self) -> &Map<String, Value> {
        self.columns.get_or_init(|| {
            match render(&self.customer, View::Admin, FroxlorVersion::V2_3, false) {
                Value::Object(m) => m,
                _ => Map::new(),
            }
        })
    }

    fn owner_columns(&self) -> Option<&Map<String, Value>> {
        self.owner_columns
            .get_or_init(|| {
                self.owner
                    .as_deref()
                    .map(|a| crate::admins::render(a, FroxlorVersion::V2_3))
            })
            .as_ref()
    }
}

pub const CUSTOMER_COLUMNS: &[&str] = &[
    "customerid",
    "loginname",
    "password",
    "adminid",
    "name",
    "firstname",
    "gender",
    "company",
    "street",
    "zipcode",
    "city",
    "phone",
    "fax",
    "email",
    "customernumber",
    "def_language",
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
    "documentroot",
    "standardsubdomain",
    "guid",
    "ftp_lastaccountnumber",
    "mysql_lastaccountnumber",
    "deactivated",
    "phpenabled",
    "lastlogin_succ",
    "lastlogin_fail",
    "loginfail_count",
    "reportsent",
    "pop3",
    "imap",
    "perlenabled",
    "dnsenabled",
    "theme",
    "custom_notes",
    "custom_notes_show",
    "lepublickey",
    "leprivatekey",
    "leregistered",
    "allowed_phpconfigs",
    "type_2fa",
    "data_2fa",
    "api_allowed",
    "logviewenabled",
    "allowed_mysqlserver",
    "shell_allowed",
    "gui_access",
];

pub(crate) const SCHEMA: Schema = Schema {
    tables: &[("c", CUSTOMER_COLUMNS), ("a", crate::admins::ADMIN_COLUMNS)],
    order_aliases: &["adminname"],
    natsort: &["c.loginname", "c.name", "a.loginname", "adminname"],
};

impl Row for CustomerRow {
    fn column(&self, (table, col): ColumnRef) -> SqlValue {
        if table == "a" {
            return SqlValue::from_json(self.owner_columns().and_then(|m| m.get(col)));
        }
        match col {
            "password" | "data_2fa" => SqlValue::Str(String::new()),
            _ => self
                .direct(col)
                .unwrap_or_else(|| SqlValue::from_json(self.columns().get(col))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every column read directly equals the rendered object's value.
    #[test]
    fn direct_columns_equal_the_rendering() {
        let mut c = Customer {
            id: 42,
            loginname: "web42".into(),
            admin_id: 7,
            admin_loginname: "reseller".into(),
            profile: Default::default(),
            limits: Default::default(),
            used: Default::default(),
            documentroot: "/var/customers/webs/web42/".into(),
            standardsubdomain: 0,
            guid: 10_042,
            features: Default::default(),
            deactivated: false,
            lastlogin_succ: 0,
            lastlogin_fail: 0,
            loginfail_count: 0,
            theme: "Froxlor".into(),
            custom_notes: String::new(),
            custom_notes_show: false,
            allowed_phpconfigs: String::new(),
            allowed_mysqlserver: String::new(),
            uuid: String::new(),
            external_id: String::new(),
            description: String::new(),
            created_at: 0,
        };
        c.profile.name = "Näme".into();
        c.profile.firstname = "First".into();
        c.profile.company = "Co & Co".into();
        c.profile.email = "a@b.example".into();
        c.profile.city = "Town".into();
        c.profile.zipcode = "01234".into();
        c.profile.street = "Street 1".into();
        c.profile.phone = "+49 30 1".into();
        c.profile.customernumber = "K-1".into();
        let row = CustomerRow::new(c, None);
        let mut checked = 0;
        for col in CUSTOMER_COLUMNS {
            if let Some(direct) = row.direct(col) {
                checked += 1;
                assert_eq!(
                    direct,
                    SqlValue::from_json(row.columns().get(*col)),
                    "{col}"
                );
            }
        }
        assert_eq!(checked, 12, "every direct column is a customer column");
    }
}
