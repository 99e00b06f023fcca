//! One typed call per endpoint, decoded from the path and the parameters in pure code: every
//! required parameter present, every number a number, every enumeration one of its values.
//! What does not decode is the API's own message (`Required parameter missing: …`,
//! `Invalid …`).

use panelgate_core::orders::{parse_money, InvoiceOption};
use panelgate_http::Params;

use crate::Failure;

/// The Acronis backup region of a `backup/{us,asia}/…` call.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Region {
    Us,
    Asia,
}

impl Region {
    /// The product key of the region's plans.
    pub fn product(self) -> &'static str {
        match self {
            Region::Us => "acronisbackupus",
            Region::Asia => "acronisbackupasia",
        }
    }
}

/// Signup and modify fields, by their request names.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ContactForm {
    pub name: Option<String>,
    pub company: Option<String>,
    pub address1: Option<String>,
    pub city: Option<String>,
    pub state: Option<String>,
    pub other_state: Option<String>,
    pub country: Option<String>,
    pub zipcode: Option<String>,
    pub phone_cc: Option<String>,
    pub phone: Option<String>,
    pub lang_pref: Option<String>,
}

/// A page of a search (`no-of-records` 10–500, `page-no` from 1).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Page {
    pub records: usize,
    pub page: usize,
}

/// Billing of an order action.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Billing {
    pub invoice: InvoiceOption,
    /// Thousandths of the currency unit.
    pub discount: i64,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Call {
    ResellerDetails,
    CustomerDetails {
        username: String,
    },
    CustomerDetailsById {
        id: i64,
    },
    CustomerSearch {
        page: Page,
        customer_ids: Vec<i64>,
        reseller_ids: Vec<i64>,
        username: Option<String>,
        name: Option<String>,
        company: Option<String>,
        city: Option<String>,
        status: Option<String>,
    },
    CustomerSignup {
        v2: bool,
        username: String,
        password: String,
        form: ContactForm,
    },
    CustomerModify {
        id: i64,
        form: ContactForm,
    },
    CustomerChangePassword {
        v2: bool,
        id: i64,
        password: String,
    },
    CustomerSuspend {
        id: i64,
        suspend: bool,
    },
    CustomerDelete {
        id: i64,
    },
    CustomerForgotPassword {
        username: String,
    },
    CustomerGenerateToken {
        username: String,
        password: String,
    },
    CustomerAuthenticateToken {
        token: String,
    },
    BackupAdd {
        region: Region,
        customer: i64,
        hosting_order: i64,
        plan: i64,
        storage_gb: i64,
        months: i64,
        auto_renew: bool,
        billing: Billing,
    },
    BackupAddStorage {
        region: Region,
        order: i64,
        total_gb: i64,
        billing: Billing,
    },
    BackupRenew {
        region: Region,
        order: i64,
        months: i64,
        auto_renew: Option<bool>,
        billing: Billing,
    },
    BackupAutoLogin {
        region: Region,
        order: i64,
    },
    BackupSearch {
        region: Region,
        page: Page,
        order_ids: Vec<i64>,
        customer_ids: Vec<i64>,
        statuses: Vec<String>,
    },
    BackupDetails {
        region: Region,
        order: i64,
    },
    BackupDelete {
        region: Region,
        order: i64,
    },
    PlanDetails,
    OrderSuspend {
        order: i64,
        reason: String,
    },
    OrderUnsuspend {
        order: i64,
    },
    ActionsSearchCurrent {
        page: Page,
        eaqids: Vec<i64>,
        order_ids: Vec<i64>,
    },
}

/// Parameters with empty values treated as absent (§1.3).
struct P<'a>(&'a Params);

impl P<'_> {
    fn opt(&self, name: &str) -> Option<String> {
        self.0
            .get(name)
            .filter(|v| !v.is_empty())
            .map(str::to_owned)
    }

    fn req(&self, name: &str) -> Result<String, Failure> {
        self.opt(name)
            .ok_or_else(|| Failure::new(format!("Required parameter missing: {name}")))
    }

    fn int(&self, name: &str) -> Result<i64, Failure> {
        let v = self.req(name)?;
        parse_int(name, &v)
    }

    fn ints(&self, name: &str) -> Result<Vec<i64>, Failure> {
        self.0
            .get_all(name)
            .into_iter()
            .filter(|v| !v.is_empty())
            .map(|v| parse_int(name, v))
            .collect()
    }

    fn strings(&self, name: &str) -> Vec<String> {
        self.0
            .get_all(name)
            .into_iter()
            .filter(|v| !v.is_empty())
            .map(str::to_owned)
            .collect()
    }

    fn boolean(&self, name: &str) -> Result<Option<bool>, Failure> {
        match self.opt(name).as_deref() {
            None => Ok(None),
            Some("true" | "1") => Ok(Some(true)),
            Some("false" | "0") => Ok(Some(false)),
            Some(v) => Err(Failure::new(format!("Invalid {name}: {}", shorten(v)))),
        }
    }

    fn page(&self) -> Result<Page, Failure> {
        let records = self.int("no-of-records")?;
        let page = self.int("page-no")?;
        if !(10..=500).contains(&records) {
            return Err(Failure::new(format!(
                "{{no-of-records=no-of-records should be between 10 and 500, not {records}}}"
            )));
        }
        if !(1..=1_000_000).contains(&page) {
            return Err(Failure::new(format!(
                "{{page-no=page-no should be a positive number, not {page}}}"
            )));
        }
        Ok(Page {
            records: records as usize,
            page: page as usize,
        })
    }

    fn billing(&self) -> Result<Billing, Failure> {
        let option = self.req("invoice-option")?;
        let invoice = InvoiceOption::parse(&option).ok_or_else(|| {
            Failure::new(format!(
                "{{invoice-option=invoice-option should be one of NoInvoice, PayInvoice, KeepInvoice, OnlyAdd, not {}}}",
                shorten(&option)
            ))
        })?;
        let discount = match self.opt("discount-amount") {
            None => 0,
            Some(v) => parse_money(&v)
                .ok_or_else(|| Failure::new(format!("Invalid discount-amount: {}", shorten(&v))))?,
        };
        Ok(Billing { invoice, discount })
    }

    fn contact(&self) -> ContactForm {
        ContactForm {
            name: self.opt("name"),
            company: self.opt("company"),
            address1: self.opt("address-line-1"),
            city: self.opt("city"),
            state: self.opt("state"),
            other_state: self.opt("other-state"),
            country: self.opt("country"),
            zipcode: self.opt("zipcode"),
            phone_cc: self.opt("phone-cc"),
            phone: self.opt("phone"),
            lang_pref: self.opt("lang-pref"),
        }
    }
}

/// A value in an error message: at most 64 characters of it.
pub(crate) fn shorten(v: &str) -> String {
    if v.chars().count() > 64 {
        format!("{}…", v.chars().take(64).collect::<String>())
    } else {
        v.to_owned()
    }
}

fn parse_int(name: &str, v: &str) -> Result<i64, Failure> {
    v.trim()
        .parse::<i64>()
        .ok()
        .filter(|n| *n >= 0)
        .ok_or_else(|| Failure::new(format!("Invalid {name}: {}", shorten(v))))
}

impl Call {
    /// Does this call change state (POST only)?
    pub fn is_write(&self) -> bool {
        !matches!(
            self,
            Call::ResellerDetails
                | Call::CustomerDetails { .. }
                | Call::CustomerDetailsById { .. }
                | Call::CustomerSearch { .. }
                | Call::CustomerForgotPassword { .. }
                | Call::CustomerGenerateToken { .. }
                | Call::CustomerAuthenticateToken { .. }
                | Call::BackupAutoLogin { .. }
                | Call::BackupSearch { .. }
                | Call::BackupDetails { .. }
                | Call::PlanDetails
                | Call::ActionsSearchCurrent { .. }
        )
    }

    /// Decode the call of `path` (`customers/details-by-id`, `backup/us/add` …).
    pub fn decode(path: &str, params: &Params) -> Result<Call, Failure> {
        let p = P(params);
        if let Some((region, action)) = path
            .strip_prefix("backup/")
            .and_then(|rest| rest.split_once('/'))
        {
            let region = match region {
                "us" => Region::Us,
                "asia" => Region::Asia,
                _ => return Err(unsupported(path)),
            };
            return Ok(match action {
                "add" => Call::BackupAdd {
                    region,
                    storage_gb: p.int("storage-size-gb")?,
                    customer: p.int("customer-id")?,
                    hosting_order: p.int("hosting-order-id")?,
                    months: p.int("months")?,
                    plan: p.int("plan-id")?,
                    auto_renew: p.boolean("auto-renew")?.unwrap_or(false),
                    billing: p.billing()?,
                },
                "add-storage" => Call::BackupAddStorage {
                    region,
                    total_gb: p.int("storage-size-gb")?,
                    order: p.int("backup-order-id")?,
                    billing: p.billing()?,
                },
                "renew" => Call::BackupRenew {
                    region,
                    order: p.int("backup-order-id")?,
                    months: p.int("months")?,
                    auto_renew: p.boolean("auto-renew")?,
                    billing: p.billing()?,
                },
                "auto-login-details" => Call::BackupAutoLogin {
                    region,
                    order: p.int("backup-order-id")?,
                },
                "search" => Call::BackupSearch {
                    region,
                    page: p.page()?,
                    order_ids: p.ints("order-id")?,
                    customer_ids: p.ints("customer-id")?,
                    statuses: p.strings("status"),
                },
                "details" => Call::BackupDetails {
                    region,
                    order: p.int("backup-order-id")?,
                },
                "delete" => Call::BackupDelete {
                    region,
                    order: p.int("backup-order-id")?,
                },
                _ => return Err(unsupported(path)),
            });
        }
        Ok(match path {
            "resellers/details" => Call::ResellerDetails,
            "customers/details" => Call::CustomerDetails {
                username: p.req("username")?,
            },
            "customers/details-by-id" => Call::CustomerDetailsById {
                id: p.int("customer-id")?,
            },
            "customers/search" => Call::CustomerSearch {
                page: p.page()?,
                customer_ids: p.ints("customer-id")?,
                reseller_ids: p.ints("reseller-id")?,
                username: p.opt("username"),
                name: p.opt("name"),
                company: p.opt("company"),
                city: p.opt("city"),
                status: p.opt("status"),
            },
            "customers/signup" | "customers/v2/signup" => {
                let form = p.contact();
                let username = p.req("username")?;
                let password = p.req("passwd")?;
                for (key, value) in [
                    ("name", &form.name),
                    ("company", &form.company),
                    ("address-line-1", &form.address1),
                    ("city", &form.city),
                    ("state", &form.state),
                    ("country", &form.country),
                    ("zipcode", &form.zipcode),
                    ("phone-cc", &form.phone_cc),
                    ("phone", &form.phone),
                    ("lang-pref", &form.lang_pref),
                ] {
                    if value.is_none() {
                        return Err(Failure::new(format!("Required parameter missing: {key}")));
                    }
                }
                let v2 = path == "customers/v2/signup";
                if v2 {
                    check_v2_password("passwd", &password)?;
                }
                Call::CustomerSignup {
                    v2,
                    username,
                    password,
                    form,
                }
            }
            "customers/modify" => Call::CustomerModify {
                id: p.int("customer-id")?,
                form: p.contact(),
            },
            "customers/change-password" | "customers/v2/change-password" => {
                let v2 = path == "customers/v2/change-password";
                let id = p.int("customer-id")?;
                let password = p.req("new-passwd")?;
                if v2 {
                    check_v2_password("new-passwd", &password)?;
                }
                Call::CustomerChangePassword { v2, id, password }
            }
            "customers/suspend" | "customers/unsuspend" => Call::CustomerSuspend {
                id: p.int("customer-id")?,
                suspend: path == "customers/suspend",
            },
            "customers/delete" => Call::CustomerDelete {
                id: p.int("customer-id")?,
            },
            "customers/forgot-password" => Call::CustomerForgotPassword {
                username: p.req("username")?,
            },
            "customers/generate-token" => Call::CustomerGenerateToken {
                username: p.req("username")?,
                password: p.req("passwd")?,
            },
            "customers/authenticate-token" => Call::CustomerAuthenticateToken {
                token: p.req("token")?,
            },
            "products/plan-details" => Call::PlanDetails,
            "orders/suspend" => Call::OrderSuspend {
                order: p.int("order-id")?,
                reason: p.opt("reason").unwrap_or_default(),
            },
            "orders/unsuspend" => Call::OrderUnsuspend {
                order: p.int("order-id")?,
            },
            "actions/search-current" => Call::ActionsSearchCurrent {
                page: p.page()?,
                eaqids: {
                    let mut ids = p.ints("eaq-id")?;
                    ids.extend(p.ints("eaqid")?);
                    ids
                },
                order_ids: p.ints("order-id")?,
            },
            _ => return Err(unsupported(path)),
        })
    }
}

fn unsupported(path: &str) -> Failure {
    Failure::new(format!(
        "Unsupported API call: {} (not served by panelgate)",
        shorten(path)
    ))
}

/// The v2 password policy (§4.1): 9–16 characters with a lowercase and an uppercase letter, a
/// digit and one of `~*!@$#%_+.?:,{}`.
fn check_v2_password(field: &str, password: &str) -> Result<(), Failure> {
    let n = password.chars().count();
    let ok = (9..=16).contains(&n)
        && password.chars().any(|c| c.is_ascii_lowercase())
        && password.chars().any(|c| c.is_ascii_uppercase())
        && password.chars().any(|c| c.is_ascii_digit())
        && password.chars().any(|c| "~*!@$#%_+.?:,{}".contains(c))
        && password
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "~*!@$#%_+.?:,{}".contains(c));
    if ok {
        Ok(())
    } else {
        Err(Failure::new(format!(
            "{{{field}=Password should be 9-16 characters long and contain a lowercase letter, an uppercase letter, a digit and one of ~*!@$#%_+.?:,{{}}}}"
        )))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn decode(path: &str, query: &str) -> Result<Call, String> {
        Call::decode(path, &Params::from_query(Some(query))).map_err(|f| f.0)
    }

    #[test]
    fn decode_table() {
        let ok: &[(&str, &str, Call)] = &[
            ("resellers/details", "", Call::ResellerDetails),
            (
                "customers/details-by-id",
                "customer-id=7&unknown=1",
                Call::CustomerDetailsById { id: 7 },
            ),
            (
                "customers/suspend",
                "customer-id=7&reason=x",
                Call::CustomerSuspend {
                    id: 7,
                    suspend: true,
                },
            ),
            (
                "backup/asia/add",
                "storage-size-gb=50&customer-id=2&hosting-order-id=3&months=12&plan-id=1002&auto-renew=1&invoice-option=KeepInvoice&discount-amount=1.5",
                Call::BackupAdd {
                    region: Region::Asia,
                    customer: 2,
                    hosting_order: 3,
                    plan: 1002,
                    storage_gb: 50,
                    months: 12,
                    auto_renew: true,
                    billing: Billing {
                        invoice: InvoiceOption::KeepInvoice,
                        discount: 1500,
                    },
                },
            ),
            (
                // The seed's example URL has no auto-renew; empty values count as absent.
                "backup/us/renew",
                "backup-order-id=9&months=1&invoice-option=NoInvoice&discount-amount=",
                Call::BackupRenew {
                    region: Region::Us,
                    order: 9,
                    months: 1,
                    auto_renew: None,
                    billing: Billing {
                        invoice: InvoiceOption::NoInvoice,
                        discount: 0,
                    },
                },
            ),
            (
                "backup/us/search",
                "no-of-records=10&page-no=2&customer-id=1&customer-id=2&status=Active",
                Call::BackupSearch {
                    region: Region::Us,
                    page: Page {
                        records: 10,
                        page: 2,
                    },
                    order_ids: vec![],
                    customer_ids: vec![1, 2],
                    statuses: vec!["Active".into()],
                },
            ),
            (
                "actions/search-current",
                "no-of-records=500&page-no=1&eaq-id=4&eaqid=5",
                Call::ActionsSearchCurrent {
                    page: Page {
                        records: 500,
                        page: 1,
                    },
                    eaqids: vec![4, 5],
                    order_ids: vec![],
                },
            ),
            (
                "orders/suspend",
                "order-id=3",
                Call::OrderSuspend {
                    order: 3,
                    reason: String::new(),
                },
            ),
        ];
        for (path, query, want) in ok {
            assert_eq!(decode(path, query).as_ref(), Ok(want), "{path}?{query}");
        }
        let bad: &[(&str, &str, &str)] = &[
            ("customers/details-by-id", "", "Required parameter missing: customer-id"),
            ("customers/details-by-id", "customer-id=", "Required parameter missing: customer-id"),
            ("customers/details-by-id", "customer-id=abc", "Invalid customer-id: abc"),
            ("customers/details-by-id", "customer-id=-4", "Invalid customer-id: -4"),
            ("customers/search", "no-of-records=0&page-no=1", "{no-of-records=no-of-records should be between 10 and 500, not 0}"),
            ("customers/search", "no-of-records=10", "Required parameter missing: page-no"),
            ("backup/us/add", "storage-size-gb=1", "Required parameter missing: customer-id"),
            ("backup/us/renew", "backup-order-id=1&months=1&invoice-option=Gratis", "{invoice-option=invoice-option should be one of NoInvoice, PayInvoice, KeepInvoice, OnlyAdd, not Gratis}"),
            ("backup/us/renew", "backup-order-id=1&months=1&invoice-option=NoInvoice&auto-renew=yes", "Invalid auto-renew: yes"),
            ("backup/us/renew", "backup-order-id=1&months=1&invoice-option=NoInvoice&discount-amount=1e9", "Invalid discount-amount: 1e9"),
            ("backup/eu/add", "", "Unsupported API call: backup/eu/add (not served by panelgate)"),
            ("domains/register", "", "Unsupported API call: domains/register (not served by panelgate)"),
            ("customers/v2/signup", "username=a%40b.c&passwd=short&name=n&company=c&address-line-1=a&city=c&state=s&country=US&zipcode=1&phone-cc=1&phone=2&lang-pref=en", "{passwd=Password should be 9-16 characters long and contain a lowercase letter, an uppercase letter, a digit and one of ~*!@$#%_+.?:,{}}"),
        ];
        for (path, query, want) in bad {
            assert_eq!(
                decode(path, query).as_ref(),
                Err(&want.to_string()),
                "{path}?{query}"
            );
        }
        assert!(!Call::PlanDetails.is_write());
        assert!(Call::OrderUnsuspend { order: 1 }.is_write());
    }

    #[test]
    fn v2_passwords() {
        for good in ["Secret!234x", "aB3~aaaaa"] {
            assert!(check_v2_password("passwd", good).is_ok(), "{good}");
        }
        for bad in [
            "secret!234x",
            "SECRET!234X",
            "Secret1234x",
            "Se!1",
            "Secret!234xxxxxxx",
            "Secret 234!x",
        ] {
            assert!(check_v2_password("passwd", bad).is_err(), "{bad}");
        }
    }
}
