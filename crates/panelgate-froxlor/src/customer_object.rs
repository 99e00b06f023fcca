//! The customer object of `Customers.get` and friends, and customers as listing rows
//! (protocols/froxlor.md §4.2, §3).

use panelgate_core::{Admin, Customer, Resources};
use serde_json::{Map, Value};

use crate::json::{Fields, ObjectText};
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

/// `<resource>` and `<resource>_used` pairs, in the column order Froxlor's customer and admin
/// tables share (diskspace … traffic).
pub(crate) fn insert_resources(f: &mut impl Fields, l: &Resources, u: &Resources) {
    for (name, used, limit, in_use) in [
        ("diskspace", "diskspace_used", l.diskspace, u.diskspace),
        ("mysqls", "mysqls_used", l.mysqls, u.mysqls),
        ("emails", "emails_used", l.emails, u.emails),
        (
            "email_accounts",
            "email_accounts_used",
            l.email_accounts,
            u.email_accounts,
        ),
        (
            "email_forwarders",
            "email_forwarders_used",
            l.email_forwarders,
            u.email_forwarders,
        ),
        (
            "email_quota",
            "email_quota_used",
            l.email_quota,
            u.email_quota,
        ),
        ("ftps", "ftps_used", l.ftps, u.ftps),
        ("subdomains", "subdomains_used", l.subdomains, u.subdomains),
        ("traffic", "traffic_used", l.traffic, u.traffic),
    ] {
        f.int(name, limit);
        f.int(used, in_use);
    }
}

/// The customer object, keys in the column order of a fresh install of the chosen version.
pub fn render(c: &Customer, view: View, version: FroxlorVersion, usages: bool) -> Value {
    // About a hundred keys: sized once, not grown.
    let mut m = Map::with_capacity(128);
    render_fields(c, view, version, usages, &mut m);
    Value::Object(m)
}

/// The customer as an admin's `Customers.get` answers it (`{"data": {…}}`), pretty-printed:
/// what a dashboard shows as the Froxlor view of a customer.
pub fn view(c: &Customer, version: FroxlorVersion) -> String {
    let answer = serde_json::json!({ "data": render(c, View::Admin, version, true) });
    serde_json::to_string_pretty(&answer).unwrap_or_default()
}

/// The customer object written straight into response text at nesting `level`.
pub fn render_text(
    out: &mut String,
    level: usize,
    c: &Customer,
    view: View,
    version: FroxlorVersion,
    usages: bool,
) {
    let mut o = ObjectText::begin(out, level);
    render_fields(c, view, version, usages, &mut o);
    o.end();
}

/// The customer object's fields, in order, into `f`.
fn render_fields(
    c: &Customer,
    view: View,
    version: FroxlorVersion,
    usages: bool,
    f: &mut impl Fields,
) {
    let l = &c.limits;
    let u = &c.used;
    let pr = &c.profile;
    f.int("customerid", c.id);
    f.text("loginname", &c.loginname);
    f.int("adminid", c.admin_id);
    f.text("name", &pr.name);
    f.text("firstname", &pr.firstname);
    f.int("gender", pr.gender);
    f.text("company", &pr.company);
    f.text("street", &pr.street);
    f.text("zipcode", &pr.zipcode);
    f.text("city", &pr.city);
    f.text("phone", &pr.phone);
    f.text("fax", &pr.fax);
    f.text("email", &pr.email);
    f.text("customernumber", &pr.customernumber);
    f.text("def_language", &pr.def_language);
    insert_resources(f, l, u);
    f.text("documentroot", &c.documentroot);
    f.int("standardsubdomain", c.standardsubdomain);
    f.int("guid", c.guid);
    f.int("ftp_lastaccountnumber", 0);
    f.int("mysql_lastaccountnumber", 0);
    f.int("deactivated", i64::from(c.deactivated));
    f.int("phpenabled", i64::from(c.features.phpenabled));
    f.int("lastlogin_succ", c.lastlogin_succ);
    f.int("lastlogin_fail", c.lastlogin_fail);
    f.int("loginfail_count", c.loginfail_count);
    f.int("reportsent", 0);
    f.int("pop3", i64::from(c.features.pop3));
    f.int("imap", i64::from(c.features.imap));
    f.int("perlenabled", i64::from(c.features.perlenabled));
    f.int("dnsenabled", i64::from(c.features.dnsenabled));
    f.text("theme", &c.theme);
    let notes = if view == View::Own && !c.custom_notes_show {
        String::new()
    } else {
        c.custom_notes.clone()
    };
    f.text("custom_notes", &notes);
    f.int("custom_notes_show", i64::from(c.custom_notes_show));
    f.null("lepublickey");
    f.null("leprivatekey");
    f.int("leregistered", 0);
    f.text("allowed_phpconfigs", &c.allowed_phpconfigs);
    f.int("type_2fa", 0);
    f.int("api_allowed", i64::from(c.features.api_allowed));
    if version == FroxlorVersion::V2_3 {
        f.int("shell_allowed", i64::from(c.features.shell_allowed));
    }
    f.int("logviewenabled", i64::from(c.features.logviewenabled));
    f.text("allowed_mysqlserver", &c.allowed_mysqlserver);
    if version == FroxlorVersion::V2_3 {
        f.int("gui_access", i64::from(c.features.gui_access));
    }
    if view == View::Admin {
        f.text("adminname", &c.admin_loginname);
    }
    if usages {
        f.int("domains", 0);
        f.int("webspace_used", 0);
        f.int("mailspace_used", 0);
        f.int("dbspace_used", 0);
    }
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
            created_via: String::new(),
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
        c.custom_notes = "line \"one\"\nline two".into();
        // The object written as text is the encoded value, in every shape (issue 11).
        for view in [View::Admin, View::Own] {
            for version in [FroxlorVersion::V2_0, FroxlorVersion::V2_3] {
                for usages in [false, true] {
                    let mut text = String::new();
                    render_text(&mut text, 1, &c, view, version, usages);
                    let value = render(&c, view, version, usages);
                    assert_eq!(
                        format!("{{\n    \"data\": {text}\n}}"),
                        crate::json::encode(&crate::json::object([("data", value)])),
                        "{view:?} {version:?} {usages}"
                    );
                }
            }
        }
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
