//! `Customers.*` (protocols/froxlor.md §4).

use panelgate_core::customers::{Contains, TextColumn};
use panelgate_core::{
    CoreError, Customer, CustomerPatch, CustomerRef, Features, NewCustomer, Operation, Principal,
    Profile, Resources, Who,
};
use serde_json::json;

use crate::call::CustomersOp;
use crate::customer_object::{render, render_text, CustomerRow, View, SCHEMA};
use crate::error::{from_core, Failure, JobNoun};
use crate::json::{array_text, Fields, ObjectText};
use crate::listing::{self, SqlValue};
use crate::params::{php_is_numeric, PValue, Params};
use crate::validate::{
    check_new_login, email_valid, idna_email, reject_arrays, validate_password, validate_profile,
};
use crate::Data;
use crate::{Ctx, FroxlorVersion, Outcome};

pub(crate) fn core_err(e: panelgate_core::CoreError) -> Failure {
    from_core(e, JobNoun::Backup)
}

pub async fn run(ctx: &Ctx<'_>, op: CustomersOp, p: &Params) -> Result<Data, Failure> {
    let value = match op {
        // The busiest answers are written straight into the response text.
        CustomersOp::Listing => return listing(ctx, p).await.map(Data::Text),
        CustomersOp::Get => {
            let (c, view) = get(ctx, p, "Customers:get").await?;
            let mut text = crate::data_text(4096);
            render_text(&mut text, 1, &c, view, ctx.version, show_usages(p));
            return Ok(Data::Text(text));
        }
        CustomersOp::ListingCount => listing_count(ctx, p).await,
        CustomersOp::Add => add(ctx, p).await,
        CustomersOp::Update => update(ctx, p).await,
        CustomersOp::Delete => delete(ctx, p).await,
        CustomersOp::Unlock => unlock(ctx, p).await,
        CustomersOp::Move => move_customer(ctx, p).await,
    };
    value.map(Data::Value)
}

fn view_for(p: &Principal) -> View {
    match p.who() {
        Who::Admin(_) => View::Admin,
        Who::Customer(_) => View::Own,
    }
}

fn show_usages(p: &Params) -> bool {
    p.bool_or("show_usages", false)
}

/// `id` / `loginname` as `Customers.get` reads them (§4.5): `id` wins when > 0, otherwise
/// `loginname` is required. A non-numeric `id` counts as > 0 (PHP 8) and matches nothing.
pub enum Target {
    Ref(CustomerRef),
    /// A non-numeric id: not found, reported with the text as given.
    BadId(String),
}

pub fn target(p: &Params, label: &str, id_param: &str) -> Result<Target, Failure> {
    if let Some(PValue::Array(..)) = p.raw(id_param) {
        // An array id reaches PDO, whose warning Froxlor turns into a 500.
        return Err(Failure::new(
            500,
            "Internal PHP error: #2 Array to string conversion",
        ));
    }
    if let Some(raw) = p.raw(id_param).and_then(PValue::as_trimmed) {
        if !raw.is_empty() && !php_is_numeric(&raw) {
            return Ok(Target::BadId(raw));
        }
    }
    let id = p.int_or(id_param, 0);
    if id > 0 {
        return Ok(Target::Ref(CustomerRef::Id(id)));
    }
    let login = p
        .required_str("loginname")
        .map_err(|e| Failure::param(e, label))?;
    Ok(Target::Ref(CustomerRef::Login(login)))
}

/// Resolve the target customer for the caller (404 / 401 as in §4.5).
pub async fn get(ctx: &Ctx<'_>, p: &Params, label: &str) -> Result<(Customer, View), Failure> {
    let t = target(p, label, "id")?;
    fetch(ctx, t).await.map(|c| (c, view_for(ctx.principal)))
}

pub async fn fetch(ctx: &Ctx<'_>, t: Target) -> Result<Customer, Failure> {
    let actor = ctx.principal.actor();
    match t {
        // A non-numeric id matches nobody: what the policy says of a hidden customer.
        Target::BadId(raw) => Err(
            match panelgate_core::policy::hidden_customer(
                &actor,
                CoreError::Invalid {
                    field: "id",
                    reason: raw,
                },
            ) {
                CoreError::Invalid { reason, .. } => Failure::new(
                    404,
                    format!("Customer with id #{reason} could not be found"),
                ),
                other => core_err(other),
            },
        ),
        Target::Ref(r) => ctx.core.customers().get(&actor, &r).await.map_err(core_err),
    }
}

/// `Customers.listing`: the answer with its `data` object, as text (see [`Data::Text`]).
async fn listing(ctx: &Ctx<'_>, p: &Params) -> Result<String, Failure> {
    ctx.core
        .authorize(&ctx.principal.actor(), Operation::CustomersList)
        .map_err(core_err)?;
    let query = listing::Query {
        params: p,
        search: true,
        order_and_limit: true,
        natsorting: ctx.settings.flag("panel.natsorting"),
    };
    let rows = match listing::plain_page(&query) {
        // No search and no order: the database pages.
        Some((offset, limit)) => ctx
            .core
            .customers()
            .list_page_with_owners(&ctx.principal.actor(), offset, limit)
            .await
            .map_err(core_err)?
            .into_iter()
            .map(|(customer, owner)| CustomerRow::new(customer, owner.map(std::sync::Arc::new)))
            .collect(),
        None => {
            // Searched a chunk at a time, keeping the matches only; then ordered and cut. In id
            // order (no `sql_orderby`), the scan stops once it holds the asked page.
            let enough = listing::unordered_end(&query);
            let matches = scan_matching(ctx, p, true, enough).await?;
            let order = listing::Query {
                search: false,
                ..query
            };
            listing::apply(&SCHEMA, &order, matches, owner_login)?
        }
    };
    let usages = show_usages(p);
    let mut text = crate::data_text(512 + rows.len() * 3072);
    let mut data = ObjectText::begin(&mut text, 1);
    data.int("count", rows.len() as i64);
    array_text(data.key("list"), 2, rows.len(), |out, i| {
        render_text(out, 3, &rows[i].customer, View::Admin, ctx.version, usages)
    });
    data.end();
    Ok(text)
}

async fn listing_count(ctx: &Ctx<'_>, p: &Params) -> Outcome {
    ctx.core
        .authorize(&ctx.principal.actor(), Operation::CustomersList)
        .map_err(core_err)?;
    let matches = scan_matching(ctx, p, ctx.version == FroxlorVersion::V2_3, None).await?;
    Ok(json!(matches.len()))
}

fn owner_login(r: &CustomerRow, _: &str) -> SqlValue {
    SqlValue::Str(r.customer.admin_loginname.clone())
}

/// The customers the caller may list that `sql_search` selects (when `search`), read a chunk at
/// a time: only matches are kept, so a search of a large table holds its matches, not the table.
/// With `enough`, the scan stops once it holds that many matches (the first ones in id order).
async fn scan_matching(
    ctx: &Ctx<'_>,
    p: &Params,
    search: bool,
    enough: Option<usize>,
) -> Result<Vec<CustomerRow>, Failure> {
    let filter = listing::Query {
        params: p,
        search,
        order_and_limit: false,
        natsorting: false,
    };
    // Plain `%text%` searches of customer columns narrow the scan in the database.
    let contains: Vec<Contains> = listing::plain_contains(&SCHEMA, &filter)
        .into_iter()
        .filter_map(|((table, col), needle)| {
            let column = match (table, col) {
                ("c", "loginname") => TextColumn::Loginname,
                ("c", "name") => TextColumn::Name,
                ("c", "firstname") => TextColumn::Firstname,
                ("c", "company") => TextColumn::Company,
                ("c", "email") => TextColumn::Email,
                ("c", "customernumber") => TextColumn::Customernumber,
                _ => return None,
            };
            Some(Contains { column, needle })
        })
        .collect();
    let mut kept = Vec::new();
    let mut failed = None;
    ctx.core
        .customers()
        .scan_with_owners(&ctx.principal.actor(), &contains, |chunk| {
            let rows: Vec<CustomerRow> = chunk
                .into_iter()
                .map(|(customer, owner)| CustomerRow::new(customer, owner.map(std::sync::Arc::new)))
                .collect();
            match listing::apply(&SCHEMA, &filter, rows, owner_login) {
                Ok(mut m) => {
                    kept.append(&mut m);
                    enough.is_none_or(|n| kept.len() < n)
                }
                Err(e) => {
                    failed = Some(e);
                    false
                }
            }
        })
        .await
        .map_err(core_err)?;
    match failed {
        Some(e) => Err(e.into()),
        None => Ok(kept),
    }
}

/// Megabytes / gigabytes from the API to KiB in the database.
fn to_kib(v: i64, factor: i64) -> i64 {
    v.saturating_mul(factor)
}

fn int_list_json(values: &[String]) -> String {
    let ints: Vec<i64> = values
        .iter()
        .map(|v| crate::params::php_intval(v))
        .collect();
    if ints.is_empty() {
        String::new()
    } else {
        serde_json::to_string(&ints).unwrap_or_default()
    }
}

struct ResourceParams {
    limits: Resources,
}

fn read_resources(ctx: &Ctx<'_>, p: &Params, current: Option<&Resources>) -> ResourceParams {
    let cur = current.copied().unwrap_or_default();
    let mail_quota_default = if current.is_some() {
        cur.email_quota
    } else {
        ctx.settings.int("system.mail_quota")
    };
    let email_quota = if ctx.settings.flag("system.mail_quota_enabled") {
        p.ul_or("email_quota", mail_quota_default)
    } else {
        -1
    };
    ResourceParams {
        limits: Resources {
            diskspace: to_kib(p.ul_or("diskspace", cur.diskspace / 1024), 1024),
            traffic: to_kib(p.ul_or("traffic", cur.traffic / 1_048_576), 1_048_576),
            subdomains: p.ul_or("subdomains", cur.subdomains),
            emails: p.ul_or("emails", cur.emails),
            email_accounts: p.ul_or("email_accounts", cur.email_accounts),
            email_forwarders: p.ul_or("email_forwarders", cur.email_forwarders),
            email_quota,
            ftps: p.ul_or("ftps", cur.ftps),
            mysqls: p.ul_or("mysqls", cur.mysqls),
        },
    }
}

async fn add(ctx: &Ctx<'_>, p: &Params) -> Outcome {
    let label = "Customers:add";
    let actor = ctx.principal.actor();
    ctx.core
        .customers()
        .check_can_add(&actor)
        .await
        .map_err(core_err)?;
    reject_arrays(p)?;
    let s = ctx.settings;
    let email = p
        .required_str("email")
        .map_err(|e| Failure::param(e, label))?;
    let name = p.str_or("name", "");
    let firstname = p.str_or("firstname", "");
    let company = if name.is_empty() || firstname.is_empty() {
        p.required_str("company")
            .map_err(|e| Failure::param(e, label))?
    } else {
        p.str_or("company", "")
    };
    let mut gender = p.int_or("gender", 0);
    if !(0..=2).contains(&gender) {
        gender = 0;
    }
    let def_language = p.str_or("def_language", s.get("panel.standardlanguage"));
    let def_language =
        if ctx.version == FroxlorVersion::V2_3 && !matches!(def_language.as_str(), "en" | "de") {
            s.get("panel.standardlanguage").to_owned()
        } else {
            def_language
        };
    let profile = Profile {
        name,
        firstname,
        gender,
        company,
        street: p.str_or("street", ""),
        zipcode: p.str_or("zipcode", ""),
        city: p.str_or("city", ""),
        phone: p.str_or("phone", ""),
        fax: p.str_or("fax", ""),
        email: email.clone(),
        customernumber: p.str_or("customernumber", ""),
        def_language,
        ..Profile::default()
    };
    let features = Features {
        gui_access: p.bool_or("gui_access", true),
        api_allowed: p.bool_or(
            "api_allowed",
            s.flag("api.enabled") && s.flag("api.customer_default"),
        ),
        shell_allowed: p.bool_or("shell_allowed", s.flag("system.allow_customer_shell")),
        imap: p.bool_or("email_imap", false),
        pop3: p.bool_or("email_pop3", false),
        phpenabled: p.bool_or("phpenabled", false),
        perlenabled: p.bool_or("perlenabled", false),
        dnsenabled: p.bool_or("dnsenabled", false),
        logviewenabled: p.bool_or("logviewenabled", false),
    };
    let custom_notes = p.str_or("custom_notes", "").replace("\r\n", "\n");
    let custom_notes_show = p.bool_or("custom_notes_show", false);
    let create_std = p.bool_or(
        "createstdsubdomain",
        s.flag("system.createstdsubdom_default"),
    );
    let password = p.str_or("new_customer_password", "");
    let loginname = p.str_or("new_loginname", "");
    let plan = p.int_or("hosting_plan_id", 0);
    if plan > 0 {
        return Err(Failure::new(
            404,
            format!("Hosting-plan with id #{plan} could not be found"),
        ));
    }
    let limits = read_resources(ctx, p, None).limits;
    let allowed_phpconfigs = int_list_json(&p.list("allowed_phpconfigs").unwrap_or_default());
    let allowed_mysqlserver = match p.list("allowed_mysqlserver") {
        Some(list) => int_list_json(&list),
        None if limits.mysqls != 0 => "[0]".into(),
        None => String::new(),
    };
    validate_profile(&profile, &custom_notes)?;
    if !password.is_empty() {
        validate_password(ctx, &password)?;
    }
    ctx.core
        .customers()
        .check_allocation(&actor, &limits, None)
        .await
        .map_err(core_err)?;
    if !email_valid(&email) {
        return Err(Failure::standard(format!(
            "Email-address {email} contains invalid characters or is incomplete"
        )));
    }
    let login = if loginname.is_empty() {
        None
    } else {
        Some(check_new_login(ctx, &loginname).await?)
    };
    if ctx.version == FroxlorVersion::V2_3
        && ctx
            .core
            .admins()
            .email_in_use(&ctx.principal.actor(), &email)
            .await
            .map_err(core_err)?
    {
        return Err(Failure::standard(format!(
            "Email-address {email} already in use."
        )));
    }
    let new = NewCustomer {
        loginname: login,
        password: (!password.is_empty()).then_some(password),
        profile: Profile {
            email: idna_email(&email),
            ..profile
        },
        limits,
        features,
        theme: None,
        custom_notes,
        custom_notes_show,
        allowed_phpconfigs,
        allowed_mysqlserver,
        create_std_subdomain: create_std,
        ..NewCustomer::default()
    };
    let created = ctx
        .core
        .customers()
        .create(&actor, new)
        .await
        .map_err(core_err)?;
    Ok(render(&created, View::Admin, ctx.version, false))
}

async fn update(ctx: &Ctx<'_>, p: &Params) -> Outcome {
    let (current, view) = get(ctx, p, "Customers:update").await?;
    reject_arrays(p)?;
    let actor = ctx.principal.actor();
    let target = CustomerRef::Id(current.id);
    let password = p.str_or("new_customer_password", "");
    if !password.is_empty() {
        validate_password(ctx, &password)?;
    }
    if ctx.principal.actor().is_customer() {
        let patch = CustomerPatch {
            password: (!password.is_empty()).then_some(password),
            def_language: p.has("def_language").then(|| p.str_or("def_language", "")),
            theme: p
                .has("theme")
                .then(|| p.str_or("theme", ""))
                .filter(|t| !t.is_empty()),
            ..CustomerPatch::default()
        };
        let updated = ctx
            .core
            .customers()
            .update(&actor, &target, patch)
            .await
            .map_err(core_err)?;
        return Ok(render(&updated, view, ctx.version, false));
    }
    let s = ctx.settings;
    let cp = &current.profile;
    let email = p.str_or("email", &cp.email);
    let name = p.str_or("name", &cp.name);
    let firstname = p.str_or("firstname", &cp.firstname);
    let company = if (name.is_empty() || firstname.is_empty()) && cp.company.is_empty() {
        p.required_str("company")
            .map_err(|e| Failure::param(e, "Customers:update"))?
    } else {
        p.str_or("company", &cp.company)
    };
    let mut gender = p.int_or("gender", cp.gender);
    if !(0..=2).contains(&gender) {
        gender = 0;
    }
    let profile = Profile {
        name,
        firstname,
        gender,
        company,
        street: p.str_or("street", &cp.street),
        zipcode: p.str_or("zipcode", &cp.zipcode),
        city: p.str_or("city", &cp.city),
        phone: p.str_or("phone", &cp.phone),
        fax: p.str_or("fax", &cp.fax),
        email: email.clone(),
        customernumber: p.str_or("customernumber", &cp.customernumber),
        def_language: p.str_or("def_language", &cp.def_language),
        ..cp.clone()
    };
    let f = current.features;
    let features = Features {
        gui_access: p.bool_or("gui_access", f.gui_access),
        api_allowed: p.bool_or("api_allowed", f.api_allowed),
        shell_allowed: p.bool_or("shell_allowed", f.shell_allowed),
        imap: p.raw("email_imap").map(PValue::truthy).unwrap_or(f.imap),
        pop3: p.raw("email_pop3").map(PValue::truthy).unwrap_or(f.pop3),
        phpenabled: p.bool_or("phpenabled", f.phpenabled),
        perlenabled: p.bool_or("perlenabled", f.perlenabled),
        dnsenabled: p.bool_or("dnsenabled", f.dnsenabled),
        logviewenabled: p.bool_or("logviewenabled", f.logviewenabled),
    };
    let custom_notes = p
        .str_or("custom_notes", &current.custom_notes)
        .replace("\r\n", "\n");
    let custom_notes_show = p.bool_or("custom_notes_show", current.custom_notes_show);
    let deactivated = p.bool_or("deactivated", current.deactivated);
    let create_std = p.bool_or("createstdsubdomain", current.standardsubdomain != 0);
    let theme = p.str_or("theme", &current.theme);
    let theme = if theme.is_empty() {
        s.get("panel.default_theme").to_owned()
    } else {
        theme
    };
    let limits = read_resources(ctx, p, Some(&current.limits)).limits;
    let allowed_phpconfigs = match p.list("allowed_phpconfigs") {
        Some(list) => int_list_json(&list),
        None => current.allowed_phpconfigs.clone(),
    };
    let allowed_mysqlserver = match p.list("allowed_mysqlserver") {
        Some(list) => int_list_json(&list),
        None if current.allowed_mysqlserver.is_empty() && limits.mysqls != 0 => "[0]".into(),
        None => current.allowed_mysqlserver.clone(),
    };
    let move_to = p.int_or("move_to_admin", 0);
    validate_profile(&profile, &custom_notes)?;
    if email.is_empty() {
        return Err(Failure::standard("Missing Input in Field Email"));
    }
    if !email_valid(&email) {
        return Err(Failure::standard(format!(
            "Email-address {email} contains invalid characters or is incomplete"
        )));
    }
    if ctx.version == FroxlorVersion::V2_3
        && !email.eq_ignore_ascii_case(&cp.email)
        && ctx
            .core
            .admins()
            .email_in_use(&ctx.principal.actor(), &email)
            .await
            .map_err(core_err)?
    {
        return Err(Failure::standard(format!(
            "Email-address {email} already in use."
        )));
    }
    ctx.core
        .customers()
        .check_allocation(&actor, &limits, Some(&current.limits))
        .await
        .map_err(core_err)?;
    let patch = CustomerPatch {
        password: (!password.is_empty()).then_some(password),
        profile: Some(Profile {
            email: idna_email(&email),
            ..profile
        }),
        limits: Some(limits),
        features: Some(features),
        deactivated: Some(deactivated),
        theme: Some(theme),
        def_language: None,
        custom_notes: Some(custom_notes),
        custom_notes_show: Some(custom_notes_show),
        allowed_phpconfigs: Some(allowed_phpconfigs),
        allowed_mysqlserver: Some(allowed_mysqlserver),
        create_std_subdomain: Some(create_std),
        description: None,
        move_to: (move_to > 0).then_some(move_to),
        base: Some(Box::new(current.clone())),
    };
    let updated = ctx
        .core
        .customers()
        .update(&actor, &target, patch)
        .await
        .map_err(core_err)?;
    Ok(render(&updated, view, ctx.version, false))
}

async fn delete(ctx: &Ctx<'_>, p: &Params) -> Outcome {
    let actor = ctx.principal.actor();
    ctx.core
        .authorize(&actor, Operation::CustomersDelete)
        .map_err(core_err)?;
    let t = target(p, "Customers:delete", "id")?;
    let customer = fetch(ctx, t).await?;
    let deleted = ctx
        .core
        .customers()
        .delete(&actor, &CustomerRef::Id(customer.id))
        .await
        .map_err(core_err)?;
    Ok(render(&deleted, View::Admin, ctx.version, false))
}

async fn unlock(ctx: &Ctx<'_>, p: &Params) -> Outcome {
    let actor = ctx.principal.actor();
    ctx.core
        .authorize(&actor, Operation::CustomersUnlock)
        .map_err(core_err)?;
    let t = target(p, "Customers:unlock", "id")?;
    let customer = fetch(ctx, t).await?;
    let c = ctx
        .core
        .customers()
        .unlock(&actor, &CustomerRef::Id(customer.id))
        .await
        .map_err(core_err)?;
    Ok(render(&c, View::Admin, ctx.version, false))
}

async fn move_customer(ctx: &Ctx<'_>, p: &Params) -> Outcome {
    let actor = ctx.principal.actor();
    ctx.core
        .authorize(&actor, Operation::CustomersMove)
        .map_err(core_err)?;
    let admin_id = p
        .required("adminid")
        .map_err(|e| Failure::param(e, "Customers:move"))?
        .intval();
    let t = target(p, "Customers:move", "id")?;
    let customer = fetch(ctx, t).await?;
    let moved = ctx
        .core
        .customers()
        .move_to(&actor, &CustomerRef::Id(customer.id), admin_id)
        .await
        .map_err(|e| match e {
            // The one conflict of a move: the customer already belongs to that admin.
            CoreError::Conflict(_) => Failure::new(
                406,
                "Cannot move customer to the same admin/reseller as he currently is assigned to",
            ),
            other => core_err(other),
        })?;
    Ok(render(&moved, View::Admin, ctx.version, false))
}

/// The ids of the customers a caller may act on, for `CustomerBackups` (`getAllowedCustomerIds`).
pub async fn visible_ids(ctx: &Ctx<'_>) -> Result<Vec<i64>, Failure> {
    Ok(ctx
        .core
        .customers()
        .visible(&ctx.principal.actor())
        .await
        .map_err(core_err)?
        .iter()
        .map(|c| c.id)
        .collect())
}
