//! `CustomerBackups.*` (2.0.x) and `DataDump.*` (2.1+): planned backup jobs
//! (protocols/froxlor.md §5).

use panelgate_core::{BackupJob, CustomerRef, NewBackupJob};
use serde_json::{json, Map, Value};

use crate::call::JobsOp;
use crate::customers::{self, Target};
use crate::error::{from_core, Failure, JobNoun};
use crate::listing::{self, ColumnRef, Row, Schema, SqlValue};
use crate::params::Params;
use crate::{Ctx, Outcome};
use panelgate_core::Who;

/// Which of the two module names was called; they differ in words, not behaviour.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Flavor {
    CustomerBackups,
    DataDump,
}

impl Flavor {
    fn module(self) -> &'static str {
        match self {
            Flavor::CustomerBackups => "CustomerBackups",
            Flavor::DataDump => "DataDump",
        }
    }
    fn noun(self) -> JobNoun {
        match self {
            Flavor::CustomerBackups => JobNoun::Backup,
            Flavor::DataDump => JobNoun::DataExport,
        }
    }
    fn enabled_setting(self) -> &'static str {
        match self {
            Flavor::CustomerBackups => "system.backupenabled",
            Flavor::DataDump => "system.exportenabled",
        }
    }
    fn hide_option(self) -> &'static str {
        match self {
            Flavor::CustomerBackups => "extras.backup",
            Flavor::DataDump => "extras.export",
        }
    }
    fn flag_names(self) -> [&'static str; 3] {
        match self {
            Flavor::CustomerBackups => ["backup_dbs", "backup_mail", "backup_web"],
            Flavor::DataDump => ["dump_dbs", "dump_mail", "dump_web"],
        }
    }
    fn entry_param(self) -> &'static str {
        match self {
            Flavor::CustomerBackups => "backup_job_entry",
            Flavor::DataDump => "job_entry",
        }
    }
}

fn label(flavor: Flavor, method: &str) -> String {
    format!("{}:{method}", flavor.module())
}

pub async fn run(ctx: &Ctx<'_>, flavor: Flavor, op: JobsOp, p: &Params) -> Outcome {
    match (flavor, op) {
        (Flavor::CustomerBackups, JobsOp::Get) => Err(Failure::new(
            303,
            "You cannot get a planned backup. Try CustomerBackups.listing()",
        )),
        (Flavor::CustomerBackups, JobsOp::Update) => Err(Failure::new(
            303,
            "You cannot update a planned backup. You need to delete it and re-add it.",
        )),
        (Flavor::DataDump, JobsOp::Get) => Err(Failure::new(
            303,
            "You cannot get a planned data export. Try DataDump.listing()",
        )),
        (Flavor::DataDump, JobsOp::Update) => Err(Failure::new(
            303,
            "You cannot update a planned data export. You need to delete it and re-add it.",
        )),
        (_, JobsOp::Add) => add(ctx, flavor, p).await,
        (_, JobsOp::Listing) => {
            let jobs = visible_jobs(ctx, flavor, p, true).await?;
            let list: Vec<Value> = jobs.iter().map(|j| render_row(j, flavor)).collect();
            Ok(crate::json::object([
                ("count", json!(list.len())),
                ("list", Value::Array(list)),
            ]))
        }
        (_, JobsOp::ListingCount) => Ok(json!(visible_jobs(ctx, flavor, p, false).await?.len())),
        (_, JobsOp::Delete) => delete(ctx, flavor, p).await,
    }
}

/// §5.2: the feature switch, and the customer's hidden options.
fn gate(ctx: &Ctx<'_>, flavor: Flavor) -> Result<(), Failure> {
    let denied = || Failure::new(405, "You cannot access this resource");
    if !ctx.settings.flag(flavor.enabled_setting()) {
        return Err(denied());
    }
    if ctx.principal.actor().is_customer() {
        let hidden = ctx.settings.get("panel.customer_hide_options");
        if hidden
            .split(',')
            .any(|o| o.trim() == "extras" || o.trim() == flavor.hide_option())
        {
            return Err(denied());
        }
    }
    Ok(())
}

/// `makeSecurePath` (§5.3): drop shell metacharacters, collapse `//` and dot runs, escape spaces.
pub fn make_secure_path(path: &str) -> String {
    let cleaned: String = path
        .chars()
        .filter(|c| {
            !matches!(
                c,
                ':' | ';'
                    | '|'
                    | '&'
                    | '>'
                    | '<'
                    | '`'
                    | '$'
                    | '~'
                    | '?'
                    | '\0'
                    | '\n'
                    | '\r'
                    | '\t'
                    | '\u{c}'
            )
        })
        .collect();
    let mut out = String::with_capacity(cleaned.len() + 4);
    let mut prev: Option<char> = None;
    for c in cleaned.chars() {
        match c {
            '/' if prev == Some('/') => continue,
            '.' if prev == Some('.') => continue,
            ' ' if prev != Some('\\') => out.push_str("\\ "),
            c => out.push(c),
        }
        prev = Some(c);
    }
    out
}

/// `makeCorrectDir`: trimmed, with leading and trailing `/`, made secure.
pub fn make_correct_dir(dir: &str) -> String {
    let mut d = crate::params::php_trim(dir).to_owned();
    if !d.ends_with('/') {
        d.push('/');
    }
    if !d.starts_with('/') {
        d.insert(0, '/');
    }
    make_secure_path(&d)
}

async fn add(ctx: &Ctx<'_>, flavor: Flavor, p: &Params) -> Outcome {
    gate(ctx, flavor)?;
    let path = p
        .required_str("path")
        .map_err(|e| Failure::param(e, &label(flavor, "add")))?;
    let pgp_public_key = match flavor {
        Flavor::DataDump => p.str_or("pgp_public_key", ""),
        Flavor::CustomerBackups => String::new(),
    };
    let [dbs, mail, web] = flavor.flag_names().map(|n| p.bool_or(n, false));
    let customer = match ctx.principal.who() {
        Who::Customer(c) => (**c).clone(),
        Who::Admin(_) => {
            let id = p.int_or("customerid", 0);
            let t = if id > 0 {
                Target::Ref(CustomerRef::Id(id))
            } else {
                let login = p.str_or("loginname", "");
                if login.is_empty() {
                    return Err(Failure::param(
                        crate::params::ParamError::Empty("loginname".into()),
                        "Customers:get",
                    ));
                }
                Target::Ref(CustomerRef::Login(login))
            };
            customers::fetch(ctx, t).await?
        }
    };
    let home = make_correct_dir(&customer.documentroot);
    let destdir = make_correct_dir(&format!(
        "{}/{}",
        customer.documentroot,
        make_correct_dir(&path)
    ));
    if destdir == home {
        return Err(Failure::standard(match flavor {
            Flavor::CustomerBackups => "The folder for backups cannot be your homedir, please chose a folder within your homedir, e.g. /backups",
            Flavor::DataDump => "The folder for data-dumps cannot be your homedir, please chose a folder within your homedir, e.g. /dumps",
        }));
    }
    let job = ctx
        .core
        .backup_jobs()
        .plan(
            &ctx.principal.actor(),
            &CustomerRef::Id(customer.id),
            NewBackupJob {
                target_dir: target_in_home(&customer.documentroot, &destdir).ok_or_else(|| {
                    Failure::standard(format!("The path {destdir} is not inside the home"))
                })?,
                destdir,
                include_databases: dbs,
                include_mail: mail,
                include_web: web,
                pgp_public_key,
            },
        )
        .await
        .map_err(|e| from_core(e, flavor.noun()))?;
    Ok(render_data(&job, flavor))
}

/// The folder of a job's `destdir` (`/var/customers/webs/jdoe/my\ backups/./x/`) relative to
/// the customer's document root, as the core takes it (`my backups/x`).
fn target_in_home(documentroot: &str, destdir: &str) -> Option<String> {
    let rel = destdir.strip_prefix(documentroot.trim_end_matches('/'))?;
    let rel = rel.replace("\\ ", " ");
    let mut parts = Vec::new();
    for part in rel.split('/') {
        match part {
            "" | "." => {}
            ".." => return None,
            p => parts.push(p),
        }
    }
    Some(parts.join("/"))
}

fn flag(v: bool) -> Value {
    json!(if v { "1" } else { "0" })
}

/// The job's task data, keys in Froxlor's order (§5.3).
fn render_data(job: &BackupJob, flavor: Flavor) -> Value {
    let mut m = Map::new();
    m.insert("customerid".into(), json!(job.customer_id));
    m.insert("uid".into(), json!(job.uid));
    m.insert("gid".into(), json!(job.uid));
    m.insert("loginname".into(), json!(job.loginname));
    m.insert("destdir".into(), json!(job.destdir));
    if flavor == Flavor::DataDump {
        m.insert("pgp_public_key".into(), json!(job.pgp_public_key));
    }
    let [dbs, mail, web] = flavor.flag_names();
    m.insert(dbs.into(), flag(job.include_databases));
    m.insert(mail.into(), flag(job.include_mail));
    m.insert(web.into(), flag(job.include_web));
    Value::Object(m)
}

fn render_row(job: &BackupJob, flavor: Flavor) -> Value {
    json!({ "id": job.id, "type": 20, "data": render_data(job, flavor) })
}

struct JobRow(BackupJob, Flavor);

const TASK_SCHEMA: Schema = Schema {
    tables: &[("", &["id", "type", "data"])],
    order_aliases: &[],
    natsort: &[],
};

impl Row for JobRow {
    fn column(&self, (_, col): ColumnRef) -> SqlValue {
        match col {
            "id" => SqlValue::Int(self.0.id),
            "type" => SqlValue::Int(20),
            _ => SqlValue::Str(php_json(&render_data(&self.0, self.1))),
        }
    }
}

/// PHP `json_encode` without flags (compact, `/` escaped), as stored in `panel_tasks.data`.
fn php_json(v: &Value) -> String {
    serde_json::to_string(v)
        .unwrap_or_default()
        .replace('/', "\\/")
}

/// §5.4: the jobs of the customers the caller may act on.
async fn visible_jobs(
    ctx: &Ctx<'_>,
    flavor: Flavor,
    p: &Params,
    with_sql: bool,
) -> Result<Vec<BackupJob>, Failure> {
    gate(ctx, flavor)?;
    let only = match ctx.principal.who() {
        Who::Customer(c) => Some(c.id),
        Who::Admin(_) => {
            let id = p.int_or("customerid", 0);
            let login = p.str_or("loginname", "");
            if id > 0 || !login.is_empty() {
                let t = if id > 0 {
                    Target::Ref(CustomerRef::Id(id))
                } else {
                    Target::Ref(CustomerRef::Login(login))
                };
                Some(customers::fetch(ctx, t).await?.id)
            } else {
                if customers::visible_ids(ctx).await?.is_empty() {
                    return Err(Failure::new(405, "Required resource unsatisfied."));
                }
                None
            }
        }
    };
    let jobs = ctx
        .core
        .backup_jobs()
        .list(&ctx.principal.actor(), only)
        .await
        .map_err(|e| from_core(e, flavor.noun()))?;
    if !with_sql {
        return Ok(jobs);
    }
    let query = listing::Query {
        params: p,
        search: true,
        order_and_limit: true,
        natsorting: false,
    };
    let rows = jobs.into_iter().map(|j| JobRow(j, flavor)).collect();
    let rows = listing::apply(&TASK_SCHEMA, &query, rows, |_, _| SqlValue::Null)?;
    Ok(rows.into_iter().map(|r| r.0).collect())
}

/// §5.7: the listing runs first (gate, visibility), then the entry parameter.
async fn delete(ctx: &Ctx<'_>, flavor: Flavor, p: &Params) -> Outcome {
    let jobs = visible_jobs(ctx, flavor, p, true).await?;
    let entry = p
        .required(flavor.entry_param())
        .map_err(|e| Failure::param(e, &label(flavor, "delete")))?;
    let raw = entry.as_trimmed().unwrap_or_default();
    let id = entry.intval();
    if !jobs.iter().any(|j| j.id == id) {
        let noun = match flavor {
            Flavor::CustomerBackups => "Backup job",
            Flavor::DataDump => "Data export job",
        };
        return Err(Failure::new(
            404,
            format!("{noun} with id #{raw} could not be found"),
        ));
    }
    ctx.core
        .backup_jobs()
        .delete(&ctx.principal.actor(), id)
        .await
        .map_err(|e| from_core(e, flavor.noun()))?;
    Ok(json!(true))
}

#[cfg(test)]
mod tests {
    use super::*;

    // Source: protocols/froxlor.md §5.3 and capture b03 (`my backups/../x`).
    #[test]
    fn destdir_normalisation() {
        let home = "/var/customers/webs/jdoe/";
        let dest = |p: &str| make_correct_dir(&format!("{home}/{}", make_correct_dir(p)));
        assert_eq!(dest("/backups"), "/var/customers/webs/jdoe/backups/");
        assert_eq!(
            dest("my backups/../x"),
            "/var/customers/webs/jdoe/my\\ backups/./x/"
        );
        assert_eq!(dest("/"), home);
        assert_eq!(
            dest("a;rm -rf $HOME"),
            "/var/customers/webs/jdoe/arm\\ -rf\\ HOME/"
        );
    }

    // The folder the core is given for a job: relative to the home, unescaped, normalised.
    #[test]
    fn target_folders() {
        let root = "/var/customers/webs/jdoe/";
        assert_eq!(
            target_in_home(root, "/var/customers/webs/jdoe/my\\ backups/./x/").as_deref(),
            Some("my backups/x")
        );
        assert_eq!(
            target_in_home(root, "/var/customers/webs/jdoe/backups/").as_deref(),
            Some("backups")
        );
        assert_eq!(target_in_home(root, "/elsewhere/backups/"), None);
        assert_eq!(target_in_home(root, "/var/customers/webs/jdoe/../x/"), None);
    }
}
