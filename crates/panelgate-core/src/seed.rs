//! Data sets loaded into a database: the demo data (`fixtures/demo.toml`) and the states that
//! golden tests assume. Loading goes through the same services as the APIs, so counters and
//! hashes are what an API-created record would have.

use std::collections::BTreeMap;

use serde::Deserialize;

use crate::admins::NewAdmin;
use crate::error::{CoreError, CoreResult};
use crate::model::{Features, NewCredential, NewCustomer, Profile, Resources};
use crate::types::Login;
use crate::{sequences, settings, Core};

/// A data set, as read from TOML.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct DataSet {
    pub description: String,
    pub settings: BTreeMap<String, String>,
    /// Next ids to hand out, by sequence name (`customers`, `backup_jobs` …).
    pub sequences: BTreeMap<String, i64>,
    pub admins: Vec<NewAdmin>,
    pub customers: Vec<SeedCustomer>,
    pub credentials: Vec<NewCredential>,
    /// Plans a reseller sells (httpapi.com `products/plan-details`).
    pub plans: Vec<crate::orders::Plan>,
    /// Customers' funds (what `PayInvoice` pays from).
    pub funds: Vec<SeedFunds>,
    /// Precomputed argon2id hashes of this data set's passwords and secrets, by password or
    /// secret: loading takes these instead of hashing (the demo data ships them, so starting
    /// hashes nothing).
    pub hashes: BTreeMap<String, String>,
}

/// A customer's starting funds: `amount` is a decimal string (`100.00`).
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SeedFunds {
    pub customer: i64,
    pub amount: String,
}

#[derive(Clone, Debug, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SeedCustomer {
    /// When given, the id the customer must get (checked).
    pub id: Option<i64>,
    pub loginname: String,
    pub password: String,
    pub admin: i64,
    #[serde(flatten)]
    pub profile: Profile,
    pub limits: Resources,
    pub features: Features,
    pub create_std_subdomain: bool,
}

impl Default for SeedCustomer {
    fn default() -> Self {
        SeedCustomer {
            id: None,
            loginname: String::new(),
            password: String::new(),
            admin: 1,
            profile: Profile::default(),
            limits: Resources::default(),
            features: Features::default(),
            create_std_subdomain: true,
        }
    }
}

/// Load a data set (settings, sequences, admins, customers, credentials, plans, funds, in that
/// order).
pub(crate) async fn load(core: &Core, system: &crate::SystemCap, data: &DataSet) -> CoreResult<()> {
    let hashes = std::sync::Arc::new(data.hashes.clone());
    crate::password::PRECOMPUTED
        .scope(hashes, load_all(core, system, data))
        .await
}

async fn load_all(core: &Core, system: &crate::SystemCap, data: &DataSet) -> CoreResult<()> {
    let actor = system.actor();
    for (name, value) in &data.settings {
        settings::write(&core.db(), name, value).await?;
    }
    for (name, next) in &data.sequences {
        sequences::ensure_at_least(&core.db(), name, *next).await?;
    }
    for admin in &data.admins {
        core.admins().create(&actor, admin.clone()).await?;
    }
    for c in &data.customers {
        let mut profile = c.profile.clone();
        if profile.def_language.is_empty() {
            profile.def_language = "en".into();
        }
        let created = core
            .customers()
            .create_owned(
                &actor,
                Some(c.admin),
                NewCustomer {
                    loginname: Some(Login::try_from(c.loginname.as_str())?),
                    password: Some(c.password.clone()),
                    profile,
                    limits: c.limits,
                    features: c.features,
                    create_std_subdomain: c.create_std_subdomain,
                    ..NewCustomer::default()
                },
            )
            .await?;
        if let Some(id) = c.id {
            if id != created.id {
                return Err(CoreError::Invalid {
                    field: "customers.id",
                    reason: format!("{} got id {} instead of {id}", c.loginname, created.id),
                });
            }
        }
    }
    for cred in &data.credentials {
        core.credentials().create(&actor, cred.clone()).await?;
    }
    for plan in &data.plans {
        core.orders().add_plan(plan).await?;
    }
    for f in &data.funds {
        let amount = crate::orders::parse_money(&f.amount).ok_or_else(|| CoreError::Invalid {
            field: "funds.amount",
            reason: format!("{:?} is not an amount", f.amount),
        })?;
        core.orders()
            .add_funds(&actor, &crate::model::CustomerRef::Id(f.customer), amount)
            .await?;
    }
    Ok(())
}
