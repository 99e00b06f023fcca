//! Data sets loaded into a database: the demo data (`fixtures/demo.toml`) and the states that
//! golden tests assume. Loading goes through the same services as the APIs, so counters and
//! hashes are what an API-created record would have.

use std::collections::BTreeMap;

use serde::Deserialize;

use crate::admins::NewAdmin;
use crate::customers::Imported;
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
    /// A stored argon2 hash (PHC string) of the password, kept as is: an imported customer
    /// with one needs no `password` and costs no hashing.
    pub password_hash: Option<String>,
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
            password_hash: None,
        }
    }
}

/// Customers written per transaction when a data set is loaded.
pub const BATCH: usize = 1000;

fn imported(c: &SeedCustomer) -> CoreResult<Imported> {
    let mut profile = c.profile.clone();
    if profile.def_language.is_empty() {
        profile.def_language = "en".into();
    }
    Ok(Imported {
        id: c.id,
        owner: c.admin,
        password_hash: c.password_hash.clone(),
        new: NewCustomer {
            loginname: Some(Login::try_from(c.loginname.as_str())?),
            password: (!c.password.is_empty() || c.password_hash.is_none())
                .then(|| c.password.clone()),
            profile,
            limits: c.limits,
            features: c.features,
            create_std_subdomain: c.create_std_subdomain,
            ..NewCustomer::default()
        },
    })
}

/// One line of a JSON-lines data set: `{"customer": {…}}`, `{"admin": {…}}`, … (the fields of
/// the TOML tables of the same names).
#[derive(Debug, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Record {
    Setting { name: String, value: String },
    Sequence { name: String, next: i64 },
    Admin(Box<NewAdmin>),
    Customer(Box<SeedCustomer>),
    Credential(Box<NewCredential>),
    Plan(Box<crate::orders::Plan>),
    Funds(SeedFunds),
}

/// What a load wrote.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct LoadReport {
    pub records: u64,
    pub customers: u64,
}

/// Load a JSON-lines data set from `input`, in file order, customers in batches of [`BATCH`].
/// `progress` is told how many bytes were read so far. A bad line stops the load with its
/// number; every record before it is written. A batch that cannot be written (a taken login,
/// an unknown owner) is written not at all.
pub(crate) async fn load_lines<R: std::io::BufRead>(
    core: &Core,
    system: &crate::SystemCap,
    mut input: R,
    mut progress: impl FnMut(u64),
) -> CoreResult<LoadReport> {
    let actor = system.actor();
    let mut report = LoadReport::default();
    let mut pending: Vec<Imported> = Vec::with_capacity(BATCH);
    let (mut line, mut number, mut read) = (String::new(), 0u64, 0u64);
    let bad = |number: u64, why: String| CoreError::Invalid {
        field: "data set",
        reason: format!("line {number}: {why}"),
    };
    loop {
        line.clear();
        let n = input
            .read_line(&mut line)
            .map_err(|e| bad(number + 1, e.to_string()))?;
        if n == 0 {
            break;
        }
        number += 1;
        read += n as u64;
        if line.trim().is_empty() {
            continue;
        }
        let record: Record = match serde_json::from_str(&line) {
            Ok(r) => r,
            Err(e) => {
                // Every record before the bad line is written.
                flush(core, &actor, &mut pending, number).await?;
                return Err(bad(number, e.to_string()));
            }
        };
        report.records += 1;
        if let Record::Customer(c) = record {
            let c = match imported(&c) {
                Ok(c) => c,
                Err(e) => {
                    flush(core, &actor, &mut pending, number).await?;
                    return Err(bad(number, e.to_string()));
                }
            };
            pending.push(c);
            if pending.len() == BATCH {
                report.customers += flush(core, &actor, &mut pending, number).await?;
                progress(read);
            }
            continue;
        }
        // Anything else applies after the customers before it.
        report.customers += flush(core, &actor, &mut pending, number).await?;
        apply(core, &actor, record)
            .await
            .map_err(|e| bad(number, e.to_string()))?;
        progress(read);
    }
    report.customers += flush(core, &actor, &mut pending, number).await?;
    progress(read);
    Ok(report)
}

async fn flush(
    core: &Core,
    actor: &crate::Actor,
    pending: &mut Vec<Imported>,
    number: u64,
) -> CoreResult<u64> {
    if pending.is_empty() {
        return Ok(0);
    }
    let batch = std::mem::take(pending);
    let n = batch.len() as u64;
    core.customers()
        .import_batch(actor, batch)
        .await
        .map_err(|e| CoreError::Invalid {
            field: "data set",
            reason: format!("the customers up to line {number}: {e}"),
        })?;
    Ok(n)
}

async fn apply(core: &Core, actor: &crate::Actor, record: Record) -> CoreResult<()> {
    match record {
        Record::Setting { name, value } => settings::write(&core.db(), &name, &value).await,
        Record::Sequence { name, next } => {
            sequences::ensure_at_least(&core.db(), &name, next).await
        }
        Record::Admin(a) => core.admins().create(actor, *a).await.map(|_| ()),
        // Customers go in batches (`flush`), never one by one here.
        Record::Customer(_) => Ok(()),
        Record::Credential(c) => core.credentials().create(actor, *c).await.map(|_| ()),
        Record::Plan(p) => core.orders().add_plan(&p).await,
        Record::Funds(f) => {
            let amount =
                crate::orders::parse_money(&f.amount).ok_or_else(|| CoreError::Invalid {
                    field: "funds.amount",
                    reason: format!("{:?} is not an amount", f.amount),
                })?;
            core.orders()
                .add_funds(actor, &crate::model::CustomerRef::Id(f.customer), amount)
                .await
                .map(|_| ())
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
    let before = data
        .settings
        .iter()
        .map(|(name, value)| Record::Setting {
            name: name.clone(),
            value: value.clone(),
        })
        .chain(data.sequences.iter().map(|(name, next)| Record::Sequence {
            name: name.clone(),
            next: *next,
        }))
        .chain(
            data.admins
                .iter()
                .map(|a| Record::Admin(Box::new(a.clone()))),
        );
    for record in before {
        apply(core, &actor, record).await?;
    }
    for chunk in data.customers.chunks(BATCH) {
        let batch = chunk.iter().map(imported).collect::<CoreResult<Vec<_>>>()?;
        core.customers().import_batch(&actor, batch).await?;
    }
    let after = data
        .credentials
        .iter()
        .map(|c| Record::Credential(Box::new(c.clone())))
        .chain(data.plans.iter().map(|p| Record::Plan(Box::new(p.clone()))))
        .chain(data.funds.iter().cloned().map(Record::Funds));
    for record in after {
        apply(core, &actor, record).await?;
    }
    Ok(())
}
