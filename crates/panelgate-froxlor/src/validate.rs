//! The field rules of `Customers.add` / `Customers.update` (protocols/froxlor.md §2.5, §4.6).

use panelgate_core::Profile;

use crate::customers::core_err;
use crate::error::Failure;
use crate::params::{PValue, Params};
use crate::{Ctx, FroxlorVersion};

/// Validation patterns of `Validate::validate` as used by Customers (§2.5, §4.6).
fn check_format(value: &str, field: &str, ok: impl Fn(char) -> bool) -> Result<(), Failure> {
    if value.chars().all(ok) {
        Ok(())
    } else {
        Err(Failure::format(field))
    }
}

fn text_ok(c: char) -> bool {
    !matches!(c, '\0' | '\r' | '\n' | '<' | '>')
}

pub(crate) fn validate_profile(pr: &Profile, custom_notes: &str) -> Result<(), Failure> {
    check_format(&pr.name, "name", text_ok)?;
    check_format(&pr.firstname, "first name", text_ok)?;
    check_format(&pr.company, "company", text_ok)?;
    check_format(&pr.street, "street", text_ok)?;
    check_format(&pr.zipcode, "zipcode", |c| {
        c.is_ascii_digit() || c.is_ascii_uppercase() || c == ' ' || c == '-'
    })?;
    check_format(&pr.city, "city", text_ok)?;
    let phone = |c: char| c.is_ascii_digit() || matches!(c, '-' | ' ' | '+' | '(' | ')' | '/');
    check_format(&pr.phone, "phone", phone)?;
    check_format(&pr.fax, "fax", phone)?;
    check_format(&pr.customernumber, "customer number", |c| {
        c.is_ascii_alphanumeric() || c == ' ' || c == '-'
    })?;
    check_format(&pr.def_language, "default language", |c| {
        !matches!(c, '\r' | '\n' | '\t' | '\u{c}' | '\0')
    })?;
    check_format(custom_notes, "custom_notes", |c| c != '\0')?;
    Ok(())
}

/// `Crypt::validatePassword` with the panel settings (§4.6 step 5).
pub(crate) fn validate_password(ctx: &Ctx<'_>, pw: &str) -> Result<(), Failure> {
    let s = ctx.settings;
    let min = s.int("panel.password_min_length");
    if (pw.chars().count() as i64) < min {
        return Err(Failure::standard(format!(
            "The given password is too short. Please enter at least {min} characters."
        )));
    }
    let complexity = || {
        Failure::standard(
            "The specified password-complexity was not satisfied.Please contact your administrator if you have any questions about the complexity-specification",
        )
    };
    if !s.get("panel.password_regex").is_empty() {
        return Ok(());
    }
    let checks = [
        (
            "panel.password_alpha_lower",
            pw.chars().any(|c| c.is_ascii_lowercase()),
        ),
        (
            "panel.password_alpha_upper",
            pw.chars().any(|c| c.is_ascii_uppercase()),
        ),
        (
            "panel.password_numeric",
            pw.chars().any(|c| c.is_ascii_digit()),
        ),
        (
            "panel.password_special_char_required",
            pw.chars().any(|c| "!?<>§$%+#=@".contains(c)),
        ),
    ];
    if checks.iter().any(|(setting, ok)| s.flag(setting) && !ok) {
        return Err(complexity());
    }
    Ok(())
}

/// `filter_var(strtolower($email), FILTER_VALIDATE_EMAIL, FILTER_FLAG_EMAIL_UNICODE)`.
pub fn email_valid(email: &str) -> bool {
    let email = email.to_lowercase();
    let Some((local, domain)) = email.rsplit_once('@') else {
        return false;
    };
    let local_ok = !local.is_empty()
        && local.len() <= 64
        && !local.starts_with('.')
        && !local.ends_with('.')
        && !local.contains("..")
        && local
            .chars()
            .all(|c| c.is_alphanumeric() || "!#$%&'*+/=?^_`{|}~.-".contains(c));
    let domain_ok = !domain.is_empty()
        && domain.len() <= 253
        && domain.split('.').all(|label| {
            !label.is_empty()
                && label.len() <= 63
                && !label.starts_with('-')
                && !label.ends_with('-')
                && label.chars().all(|c| c.is_alphanumeric() || c == '-')
        });
    local_ok && domain_ok
}

/// Store emails IDNA-encoded, keeping the case of ASCII domains (§4.2).
pub fn idna_email(email: &str) -> String {
    match email.rsplit_once('@') {
        Some((local, domain)) if !domain.is_ascii() => match idna::domain_to_ascii(domain) {
            Ok(ascii) => format!("{local}@{ascii}"),
            Err(_) => email.to_owned(),
        },
        _ => email.to_owned(),
    }
}

/// Host accounts that exist on a Debian system (Froxlor asks `posix_getpwnam`).
const SYSTEM_ACCOUNTS: &[&str] = &[
    "root",
    "daemon",
    "bin",
    "sys",
    "sync",
    "games",
    "man",
    "lp",
    "mail",
    "news",
    "uucp",
    "proxy",
    "www-data",
    "backup",
    "list",
    "irc",
    "gnats",
    "nobody",
    "_apt",
    "systemd-network",
    "systemd-resolve",
    "messagebus",
    "systemd-timesync",
    "sshd",
    "mysql",
    "postfix",
    "bind",
    "vmail",
    "dovecot",
    "dovenull",
    "ftp",
    "proftpd",
];

const RESERVED_ACCOUNTS: &[&str] = &["root", "admin", "froxroot", "froxlor"];

/// Text parameters that Froxlor passes to `trim()`/`preg_match()`: an array there is a PHP
/// TypeError, an empty 500.
const TEXT_PARAMS: &[&str] = &[
    "email",
    "name",
    "firstname",
    "company",
    "street",
    "zipcode",
    "city",
    "phone",
    "fax",
    "customernumber",
    "def_language",
    "custom_notes",
    "new_loginname",
    "new_customer_password",
    "theme",
];

pub(crate) fn reject_arrays(p: &Params) -> Result<(), Failure> {
    if TEXT_PARAMS
        .iter()
        .any(|n| matches!(p.raw(n), Some(PValue::Array(..))))
    {
        return Err(Failure::Fatal);
    }
    Ok(())
}

/// The `new_loginname` rules of §4.6 steps 9–10.
pub(crate) async fn check_new_login(
    ctx: &Ctx<'_>,
    login: &str,
) -> Result<panelgate_core::types::Login, Failure> {
    let first_ok = login
        .chars()
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic());
    let rest_ok = login
        .chars()
        .skip(1)
        .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
    if !(first_ok && rest_ok && login.chars().count() >= 2) {
        return Err(Failure::format("loginname"));
    }
    let prefix = ctx.settings.get("customer.accountprefix");
    if !prefix.is_empty()
        && login.starts_with(prefix)
        && login[prefix.len()..]
            .chars()
            .next()
            .is_some_and(|c| c.is_ascii_digit())
    {
        return Err(Failure::standard(format!(
            "You cannot create accounts that begin with \"{prefix}\", as this prefix is set to be used for the automatic account-naming. Please enter another account name."
        )));
    }
    if SYSTEM_ACCOUNTS.contains(&login) {
        return Err(Failure::standard(format!(
            "The account \"{login}\" already exists on the system and cannot be used. Please enter another account name."
        )));
    }
    if ctx.version == FroxlorVersion::V2_3
        && RESERVED_ACCOUNTS.contains(&login.to_lowercase().as_str())
    {
        return Err(Failure::standard(format!(
            "The account-name \"{login}\" is reserved for system internals and cannot be used."
        )));
    }
    if ctx
        .core
        .customers()
        .login_taken(&ctx.principal.actor(), login)
        .await
        .map_err(core_err)?
    {
        return Err(Failure::standard(format!(
            "Loginname {login} already exists"
        )));
    }
    const MAX: usize = 61;
    if login.chars().count() > MAX {
        return Err(Failure::standard(format!(
            "Loginname contains too many characters. Only {MAX} characters are allowed."
        )));
    }
    let unix_ok = if ctx.settings.flag("panel.unix_names") {
        login.chars().all(|c| c.is_ascii_alphanumeric())
    } else {
        !login.contains("--")
            && login
                .chars()
                .last()
                .is_some_and(|c| c.is_ascii_alphanumeric())
    };
    if !unix_ok {
        return Err(Failure::standard(format!(
            "Loginname \"{login}\" contains illegal characters."
        )));
    }
    panelgate_core::types::Login::try_from(login).map_err(core_err)
}
