//! Domain types: what the services take and return. Frontends render these in their own wire
//! formats; they never see database rows.

use serde::{Deserialize, Serialize};

/// Unlimited, for every resource but disk space and traffic.
pub const UNLIMITED: i64 = -1;
/// Unlimited disk space in KiB (Froxlor stores MB × 1024, so "-1 MB" is -1024).
pub const UNLIMITED_DISKSPACE: i64 = -1024;
/// Unlimited traffic in KiB (GB × 1024 × 1024).
pub const UNLIMITED_TRAFFIC: i64 = -1_048_576;

/// The hosting resources an account may use (and has allotted). Disk space and traffic in KiB.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct Resources {
    pub diskspace: i64,
    pub traffic: i64,
    pub mysqls: i64,
    pub emails: i64,
    pub email_accounts: i64,
    pub email_forwarders: i64,
    pub email_quota: i64,
    pub ftps: i64,
    pub subdomains: i64,
}

/// One resource of [`Resources`], with the value that means "unlimited" for it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Resource {
    Diskspace,
    Traffic,
    Mysqls,
    Emails,
    EmailAccounts,
    EmailForwarders,
    EmailQuota,
    Ftps,
    Subdomains,
}

impl Resource {
    pub const ALL: [Resource; 9] = [
        Resource::Diskspace,
        Resource::Traffic,
        Resource::Mysqls,
        Resource::Emails,
        Resource::EmailAccounts,
        Resource::EmailForwarders,
        Resource::EmailQuota,
        Resource::Ftps,
        Resource::Subdomains,
    ];

    pub fn unlimited(self) -> i64 {
        match self {
            Resource::Diskspace => UNLIMITED_DISKSPACE,
            Resource::Traffic => UNLIMITED_TRAFFIC,
            _ => UNLIMITED,
        }
    }
}

/// The largest value of a limit (about 10^15: 1 EiB in KiB); larger values are refused.
pub const MAX_LIMIT: i64 = 1 << 50;

/// Check one limit value: `unlimited` (or -1), or 0 to [`MAX_LIMIT`].
pub fn check_limit(
    field: &'static str,
    value: i64,
    unlimited: i64,
) -> Result<(), crate::error::CoreError> {
    if value == unlimited || value == UNLIMITED || (0..=MAX_LIMIT).contains(&value) {
        Ok(())
    } else {
        Err(crate::error::CoreError::Invalid {
            field,
            reason: format!("{value} is neither a limit from 0 to {MAX_LIMIT} nor unlimited"),
        })
    }
}

impl Resource {
    /// The field's name in the model (and Froxlor's parameter name).
    pub fn field(self) -> &'static str {
        match self {
            Resource::Diskspace => "diskspace",
            Resource::Traffic => "traffic",
            Resource::Mysqls => "mysqls",
            Resource::Emails => "emails",
            Resource::EmailAccounts => "email_accounts",
            Resource::EmailForwarders => "email_forwarders",
            Resource::EmailQuota => "email_quota",
            Resource::Ftps => "ftps",
            Resource::Subdomains => "subdomains",
        }
    }
}

impl Resources {
    /// Every resource unlimited.
    pub fn unlimited() -> Resources {
        let mut r = Resources::default();
        for res in Resource::ALL {
            r.set(res, res.unlimited());
        }
        r
    }

    pub fn get(&self, r: Resource) -> i64 {
        match r {
            Resource::Diskspace => self.diskspace,
            Resource::Traffic => self.traffic,
            Resource::Mysqls => self.mysqls,
            Resource::Emails => self.emails,
            Resource::EmailAccounts => self.email_accounts,
            Resource::EmailForwarders => self.email_forwarders,
            Resource::EmailQuota => self.email_quota,
            Resource::Ftps => self.ftps,
            Resource::Subdomains => self.subdomains,
        }
    }

    pub fn set(&mut self, r: Resource, v: i64) {
        match r {
            Resource::Diskspace => self.diskspace = v,
            Resource::Traffic => self.traffic = v,
            Resource::Mysqls => self.mysqls = v,
            Resource::Emails => self.emails = v,
            Resource::EmailAccounts => self.email_accounts = v,
            Resource::EmailForwarders => self.email_forwarders = v,
            Resource::EmailQuota => self.email_quota = v,
            Resource::Ftps => self.ftps = v,
            Resource::Subdomains => self.subdomains = v,
        }
    }

    /// Check every value: the resource's "unlimited" marker (or -1), or 0 to [`MAX_LIMIT`].
    /// Other negative values would lower an owner's `*_used` counters, and huge ones overflow
    /// the sums the counters are made of.
    pub fn validate(&self) -> Result<(), crate::error::CoreError> {
        for r in Resource::ALL {
            check_limit(r.field(), self.get(r), r.unlimited())?;
        }
        Ok(())
    }

    /// The amount that counts against an owner's `*_used`: nothing when unlimited.
    pub fn counted(&self, r: Resource) -> i64 {
        let v = self.get(r);
        if v == r.unlimited() || v == UNLIMITED {
            0
        } else {
            v
        }
    }
}

/// Contact and address data of a customer.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct Profile {
    pub name: String,
    pub firstname: String,
    /// 0 = none, 1 = male, 2 = female.
    pub gender: i64,
    pub company: String,
    pub street: String,
    pub zipcode: String,
    pub city: String,
    pub state: String,
    pub country: String,
    pub phone: String,
    pub fax: String,
    pub email: String,
    pub customernumber: String,
    pub def_language: String,
}

/// The longest one-line text field (Froxlor's `varchar(255)` columns).
pub const MAX_FIELD_CHARS: usize = 255;
/// The longest free text in characters (notes, descriptions: a `TEXT` column).
pub const MAX_TEXT_CHARS: usize = 65_535;

/// Refuse a text longer than `max_chars` characters (`Invalid` names the field).
pub fn check_text(
    field: &'static str,
    value: &str,
    max_chars: usize,
) -> Result<(), crate::error::CoreError> {
    // PostgreSQL cannot store a NUL in text (the hostile corpus found the 500 it caused); no
    // panel field means one.
    if value.contains('\0') {
        return Err(crate::error::CoreError::Invalid {
            field,
            reason: format!("the value for the field \"{field}\" contains a NUL character"),
        });
    }
    // Bytes bound chars from above: only long values are counted.
    if value.len() > max_chars && value.chars().count() > max_chars {
        return Err(crate::error::CoreError::Invalid {
            field,
            reason: format!(
                "the value for the field \"{field}\" is longer than {max_chars} characters"
            ),
        });
    }
    Ok(())
}

impl Profile {
    /// Every field within its column's length.
    pub fn validate(&self) -> Result<(), crate::error::CoreError> {
        for (field, value) in [
            ("name", &self.name),
            ("firstname", &self.firstname),
            ("company", &self.company),
            ("street", &self.street),
            ("zipcode", &self.zipcode),
            ("city", &self.city),
            ("state", &self.state),
            ("country", &self.country),
            ("phone", &self.phone),
            ("fax", &self.fax),
            ("email", &self.email),
            ("customernumber", &self.customernumber),
            ("def_language", &self.def_language),
        ] {
            check_text(field, value, MAX_FIELD_CHARS)?;
        }
        Ok(())
    }
}

impl NewCustomer {
    /// Every text within its column's length, every limit in range.
    pub fn validate(&self) -> Result<(), crate::error::CoreError> {
        self.profile.validate()?;
        self.limits.validate()?;
        check_text(
            "theme",
            self.theme.as_deref().unwrap_or(""),
            MAX_FIELD_CHARS,
        )?;
        check_text("custom_notes", &self.custom_notes, MAX_TEXT_CHARS)?;
        check_text(
            "allowed_phpconfigs",
            &self.allowed_phpconfigs,
            MAX_FIELD_CHARS,
        )?;
        check_text(
            "allowed_mysqlserver",
            &self.allowed_mysqlserver,
            MAX_FIELD_CHARS,
        )?;
        check_text("external_id", &self.external_id, MAX_FIELD_CHARS)?;
        check_text("description", &self.description, MAX_TEXT_CHARS)?;
        Ok(())
    }
}

impl CustomerPatch {
    /// Every text within its column's length, every limit in range.
    pub fn validate(&self) -> Result<(), crate::error::CoreError> {
        if let Some(p) = &self.profile {
            p.validate()?;
        }
        if let Some(l) = &self.limits {
            l.validate()?;
        }
        for (field, value, max) in [
            ("theme", &self.theme, MAX_FIELD_CHARS),
            ("def_language", &self.def_language, MAX_FIELD_CHARS),
            ("custom_notes", &self.custom_notes, MAX_TEXT_CHARS),
            (
                "allowed_phpconfigs",
                &self.allowed_phpconfigs,
                MAX_FIELD_CHARS,
            ),
            (
                "allowed_mysqlserver",
                &self.allowed_mysqlserver,
                MAX_FIELD_CHARS,
            ),
            ("description", &self.description, MAX_TEXT_CHARS),
        ] {
            check_text(field, value.as_deref().unwrap_or(""), max)?;
        }
        Ok(())
    }
}

/// What a customer may use besides counted resources.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct Features {
    pub phpenabled: bool,
    pub perlenabled: bool,
    pub dnsenabled: bool,
    pub logviewenabled: bool,
    pub pop3: bool,
    pub imap: bool,
    pub api_allowed: bool,
    pub shell_allowed: bool,
    pub gui_access: bool,
}

impl Default for Features {
    fn default() -> Self {
        Features {
            phpenabled: false,
            perlenabled: false,
            dnsenabled: false,
            logviewenabled: false,
            pop3: false,
            imap: false,
            api_allowed: true,
            shell_allowed: false,
            gui_access: true,
        }
    }
}

/// A server owner (`customers_see_all`) or a reseller.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Admin {
    pub id: i64,
    pub loginname: String,
    pub name: String,
    pub email: String,
    pub def_language: String,
    pub theme: String,
    pub ip: String,
    pub custom_notes: Option<String>,
    pub custom_notes_show: bool,
    pub gui_access: bool,
    pub reportsent: i64,
    pub customers_see_all: bool,
    pub change_serversettings: bool,
    pub caneditphpsettings: bool,
    pub api_allowed: bool,
    pub deactivated: bool,
    pub customers: i64,
    pub customers_used: i64,
    pub domains: i64,
    pub domains_used: i64,
    pub limits: Resources,
    pub used: Resources,
    pub lastlogin_succ: i64,
    pub lastlogin_fail: i64,
    pub loginfail_count: i64,
    pub created_at: i64,
}

impl Admin {
    pub fn is_reseller(&self) -> bool {
        !self.customers_see_all
    }
}

/// A hosting customer, with the login of its owner.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Customer {
    pub id: i64,
    pub loginname: String,
    pub admin_id: i64,
    pub admin_loginname: String,
    pub profile: Profile,
    pub limits: Resources,
    pub used: Resources,
    pub documentroot: String,
    pub standardsubdomain: i64,
    pub guid: i64,
    pub features: Features,
    pub deactivated: bool,
    pub lastlogin_succ: i64,
    pub lastlogin_fail: i64,
    pub loginfail_count: i64,
    pub theme: String,
    pub custom_notes: String,
    pub custom_notes_show: bool,
    pub allowed_phpconfigs: String,
    pub allowed_mysqlserver: String,
    pub uuid: String,
    pub external_id: String,
    pub description: String,
    pub created_at: i64,
    /// The panel API it was created through, or empty.
    pub created_via: String,
}

/// What a new customer is made of. Owner, guid and document root are decided by the core.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct NewCustomer {
    /// `None`: the next automatic name (`customer.accountprefix` + number).
    pub loginname: Option<crate::types::Login>,
    /// Plain text; hashed by the core. `None`: a generated password.
    pub password: Option<String>,
    pub profile: Profile,
    pub limits: Resources,
    pub features: Features,
    pub theme: Option<String>,
    pub custom_notes: String,
    pub custom_notes_show: bool,
    pub allowed_phpconfigs: String,
    pub allowed_mysqlserver: String,
    pub create_std_subdomain: bool,
    pub external_id: String,
    pub description: String,
    /// Created deactivated (Plesk `status` 16).
    pub deactivated: bool,
}

/// A change to a customer: `None` keeps the current value.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct CustomerPatch {
    pub password: Option<String>,
    pub profile: Option<Profile>,
    pub limits: Option<Resources>,
    pub features: Option<Features>,
    pub deactivated: Option<bool>,
    pub theme: Option<String>,
    pub def_language: Option<String>,
    pub custom_notes: Option<String>,
    pub custom_notes_show: Option<bool>,
    pub allowed_phpconfigs: Option<String>,
    pub allowed_mysqlserver: Option<String>,
    pub create_std_subdomain: Option<bool>,
    pub description: Option<String>,
    /// Give the customer to this admin, in the same transaction as the rest of the change.
    pub move_to: Option<i64>,
    /// The customer as the caller read it before making this patch of whole values. Given,
    /// only what the patch changes against it is written, onto the customer as it is when
    /// the change is made (field by field for the profile): a concurrent change of another
    /// field, through another panel, is kept. `None`: every value given is written.
    pub base: Option<Box<Customer>>,
}

impl CustomerPatch {
    /// The patch narrowed to what it changes against `base` (see [`CustomerPatch::base`]),
    /// with the profile merged onto `current`.
    pub(crate) fn against_base(mut self, current: &Profile) -> CustomerPatch {
        let Some(base) = self.base.take() else {
            return self;
        };
        fn changed<T: PartialEq>(new: Option<T>, old: &T) -> Option<T> {
            new.filter(|v| v != old)
        }
        if let Some(p) = self.profile.take() {
            let b = &base.profile;
            let mut merged = current.clone();
            macro_rules! merge {
                ($($f:ident),*) => {$(
                    if p.$f != b.$f {
                        merged.$f = p.$f.clone();
                    }
                )*};
            }
            merge!(
                name,
                firstname,
                gender,
                company,
                street,
                zipcode,
                city,
                state,
                country,
                phone,
                fax,
                email,
                customernumber,
                def_language
            );
            self.profile = (merged != *current).then_some(merged);
        }
        self.limits = changed(self.limits, &base.limits);
        self.features = changed(self.features, &base.features);
        self.deactivated = changed(self.deactivated, &base.deactivated);
        self.theme = changed(self.theme, &base.theme);
        self.custom_notes = changed(self.custom_notes, &base.custom_notes);
        self.custom_notes_show = changed(self.custom_notes_show, &base.custom_notes_show);
        self.allowed_phpconfigs = changed(self.allowed_phpconfigs, &base.allowed_phpconfigs);
        self.allowed_mysqlserver = changed(self.allowed_mysqlserver, &base.allowed_mysqlserver);
        self.description = changed(self.description, &base.description);
        self.create_std_subdomain =
            changed(self.create_std_subdomain, &(base.standardsubdomain != 0));
        self.move_to = changed(self.move_to, &base.admin_id);
        self
    }
}

/// How a caller names a customer.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum CustomerRef {
    Id(i64),
    Login(String),
}

/// A planned backup (Froxlor `CustomerBackups` / `DataDump` job).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BackupJob {
    pub id: i64,
    pub customer_id: i64,
    pub loginname: String,
    pub uid: i64,
    /// The destination as the planning panel shows it.
    pub destdir: String,
    /// Where the archive goes, relative to the customer's home.
    pub target_dir: String,
    pub include_databases: bool,
    pub include_mail: bool,
    pub include_web: bool,
    pub pgp_public_key: String,
    pub created_at: i64,
}

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct NewBackupJob {
    /// The destination as the planning panel shows it (kept for that panel, not read).
    pub destdir: String,
    /// Where the archive goes: `/`-separated folders relative to the customer's home, without
    /// `.`, `..` or empty parts (the panel's frontend maps its own paths to this).
    pub target_dir: String,
    pub include_databases: bool,
    pub include_mail: bool,
    pub include_web: bool,
    pub pgp_public_key: String,
}

pub use crate::policy::{Actor, Principal};

/// The kind of a credential row.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum CredentialKind {
    Froxlor,
    Plesk,
    Httpapi,
}

impl CredentialKind {
    pub fn as_str(self) -> &'static str {
        match self {
            CredentialKind::Froxlor => "froxlor",
            CredentialKind::Plesk => "plesk",
            CredentialKind::Httpapi => "httpapi",
        }
    }
}

/// The owner of a credential, with what authentication rules need to know about it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Owner {
    Admin(Box<Admin>),
    Customer(Box<Customer>),
    /// The owner row is gone (Froxlor answers 403 for such a key).
    Missing,
}

/// A credential whose secret verified.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VerifiedKey {
    pub id: i64,
    pub allowed_from: String,
    pub valid_until: i64,
    pub owner: Owner,
}

/// A new credential (seed data, control API, Plesk `secret_key.create`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct NewCredential {
    pub kind: CredentialKind,
    #[serde(default)]
    pub public_key: String,
    pub secret: String,
    #[serde(default)]
    pub admin_id: Option<i64>,
    #[serde(default)]
    pub customer_id: Option<i64>,
    #[serde(default)]
    pub allowed_from: String,
    #[serde(default = "forever")]
    pub valid_until: i64,
    #[serde(default)]
    pub description: String,
}

fn forever() -> i64 {
    -1
}
