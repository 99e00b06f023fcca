//! Issue 7 acceptance: the isolation matrix. For every call served today (Froxlor, Plesk,
//! ISPsystem, httpapi.com, the control API) × every role (admin, reseller, customer, another reseller's customer) × a foreign
//! object, the call is refused in the protocol's own error shape, nothing changes in the
//! database, and nothing of the foreign object appears in the answer.
//!
//! The matrix is data: one [`Row`] per call, with the request written as a template over the
//! foreign object's ids and names. New frontends add their rows to [`ROWS`].

use panelgate_core::backup_worker::Worker;
use panelgate_core::backups::{BackupOptions, BackupScope};
use panelgate_core::orders::{InvoiceOption, NewBackupOrder};
use panelgate_core::seed::DataSet;
use panelgate_core::{CustomerRef, NewBackupJob};
use panelgate_testkit::TestApp;

/// How a refusal looks in each protocol.
#[derive(Clone, Copy, Debug)]
enum Protocol {
    /// `/api.php`: an HTTP error status with `{"message": …}`.
    Froxlor,
    /// `/enterprise/control/agent.php`: HTTP 200 with a `<status>error</status>` result (1006 or
    /// 1013) or a `<system>` error.
    Plesk,
    /// `/billmgr`: HTTP 200 with a `doc.error` (`out=json`) and no `ok`.
    IspSystem,
    /// `/api/….json`: HTTP 500 with `{"status":"ERROR"}` (only roles with httpapi.com
    /// credentials: resellers; customers have no API of their own there).
    Httpapi,
    /// `/_panelgate/…` with a token configured: 403 for every panel credential.
    Control,
}

/// What the call must do for a caller that does not own the object.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Expect {
    /// Refused in the protocol's error shape.
    Refused,
    /// Listings: answered, but the foreign object is not in the answer (the filter names
    /// something the caller cannot see, and Froxlor answers a customer with its own rows).
    Hidden,
}

struct Row {
    protocol: Protocol,
    call: &'static str,
    method: &'static str,
    path: &'static str,
    /// The body, with `{cid}`, `{clogin}`, `{rid}`, `{rlogin}`, `{jobid}`, `{taskid}`,
    /// `{archiveid}`, `{subid}`, `{domain}` standing for the foreign object.
    body: &'static str,
    expect: Expect,
}

const fn froxlor(call: &'static str, body: &'static str, expect: Expect) -> Row {
    Row {
        protocol: Protocol::Froxlor,
        call,
        method: "POST",
        path: "/api.php",
        body,
        expect,
    }
}

const fn plesk(call: &'static str, body: &'static str) -> Row {
    Row {
        protocol: Protocol::Plesk,
        call,
        method: "POST",
        path: "/enterprise/control/agent.php",
        body,
        expect: Expect::Refused,
    }
}

/// An ISPsystem call as `GET /billmgr?…&out=json`; the caller's `authinfo` is appended.
const fn isp(call: &'static str, path: &'static str, expect: Expect) -> Row {
    Row {
        protocol: Protocol::IspSystem,
        call,
        method: "GET",
        path,
        body: "",
        expect,
    }
}

/// An httpapi.com call as `POST /api/….json`; the role's `auth-userid`/`api-key` is prepended
/// to the body.
const fn httpapi(
    call: &'static str,
    path: &'static str,
    body: &'static str,
    expect: Expect,
) -> Row {
    Row {
        protocol: Protocol::Httpapi,
        call,
        method: "POST",
        path,
        body,
        expect,
    }
}

const fn control(call: &'static str, method: &'static str, path: &'static str) -> Row {
    Row {
        protocol: Protocol::Control,
        call,
        method,
        path,
        body: "",
        expect: Expect::Refused,
    }
}

const ROWS: &[Row] = &[
    froxlor("Customers.get", r#"{"command":"Customers.get","params":{"id":{cid}}}"#, Expect::Refused),
    froxlor("Customers.get by login", r#"{"command":"Customers.get","params":{"loginname":"{clogin}"}}"#, Expect::Refused),
    froxlor("Customers.update", r#"{"command":"Customers.update","params":{"id":{cid},"name":"Pwned","email":"p@example.com"}}"#, Expect::Refused),
    froxlor("Customers.update deactivate", r#"{"command":"Customers.update","params":{"id":{cid},"deactivated":1}}"#, Expect::Refused),
    froxlor("Customers.delete", r#"{"command":"Customers.delete","params":{"id":{cid}}}"#, Expect::Refused),
    froxlor("Customers.unlock", r#"{"command":"Customers.unlock","params":{"id":{cid}}}"#, Expect::Refused),
    froxlor("Customers.move", r#"{"command":"Customers.move","params":{"id":{cid},"adminid":1}}"#, Expect::Refused),
    froxlor("Customers.listing", r#"{"command":"Customers.listing"}"#, Expect::Hidden),
    froxlor("Admins.get", r#"{"command":"Admins.get","params":{"id":{rid}}}"#, Expect::Refused),
    froxlor("Admins.listing", r#"{"command":"Admins.listing"}"#, Expect::Refused),
    froxlor("CustomerBackups.add", r#"{"command":"CustomerBackups.add","params":{"customerid":{cid},"path":"/"}}"#, Expect::Refused),
    froxlor("CustomerBackups.listing", r#"{"command":"CustomerBackups.listing","params":{"customerid":{cid}}}"#, Expect::Hidden),
    froxlor("CustomerBackups.delete", r#"{"command":"CustomerBackups.delete","params":{"backup_job_entry":{jobid}}}"#, Expect::Refused),
    froxlor("DataDump.add", r#"{"command":"DataDump.add","params":{"customerid":{cid},"path":"/"}}"#, Expect::Refused),
    froxlor("DataDump.listing", r#"{"command":"DataDump.listing","params":{"customerid":{cid}}}"#, Expect::Hidden),
    froxlor("DataDump.delete", r#"{"command":"DataDump.delete","params":{"job_entry":{jobid}}}"#, Expect::Refused),
    plesk("customer/get", "<packet><customer><get><filter><id>{cid}</id></filter><dataset><gen_info/></dataset></get></customer></packet>"),
    plesk("customer/get by login", "<packet><customer><get><filter><login>{clogin}</login></filter><dataset><gen_info/></dataset></get></customer></packet>"),
    plesk("customer/set", "<packet><customer><set><filter><id>{cid}</id></filter><values><gen_info><pname>Pwned</pname></gen_info></values></set></customer></packet>"),
    plesk("customer/set status", "<packet><customer><set><filter><login>{clogin}</login></filter><values><gen_info><status>16</status></gen_info></values></set></customer></packet>"),
    plesk("customer/del", "<packet><customer><del><filter><id>{cid}</id></filter></del></customer></packet>"),
    plesk("reseller/get", "<packet><reseller><get><filter><id>{rid}</id></filter><dataset><gen-info/></dataset></get></reseller></packet>"),
    plesk("reseller/set", "<packet><reseller><set><filter><id>{rid}</id></filter><values><gen-info><pname>Pwned</pname></gen-info></values></set></reseller></packet>"),
    plesk("reseller/del", "<packet><reseller><del><filter><id>{rid}</id></filter></del></reseller></packet>"),
    plesk("webspace/get", "<packet><webspace><get><filter><id>{subid}</id></filter><dataset><gen_info/></dataset></get></webspace></packet>"),
    plesk("webspace/del", "<packet><webspace><del><filter><name>{domain}</name></filter></del></webspace></packet>"),
    plesk("site/get", "<packet><site><get><filter><name>{domain}</name></filter><dataset><gen_info/></dataset></get></site></packet>"),
    plesk("backup-customer", "<packet><backup-manager><backup-customer><customer-id>{cid}</customer-id><local/><description>x</description></backup-customer></backup-manager></packet>"),
    plesk("backup-customer by login", "<packet><backup-manager><backup-customer><customer-login>{clogin}</customer-login><local/><description>x</description></backup-customer></backup-manager></packet>"),
    plesk("backup-reseller", "<packet><backup-manager><backup-reseller><reseller-id>{rid}</reseller-id><local/><description>x</description></backup-reseller></backup-manager></packet>"),
    plesk("backup-reseller by login", "<packet><backup-manager><backup-reseller><reseller-login>{rlogin}</reseller-login><local/><description>x</description></backup-reseller></backup-manager></packet>"),
    plesk("backup-webspace", "<packet><backup-manager><backup-webspace><webspace-id>{subid}</webspace-id><local/><description>x</description></backup-webspace></backup-manager></packet>"),
    plesk("get-tasks-info", "<packet><backup-manager><get-tasks-info><task-id>{taskid}</task-id></get-tasks-info></backup-manager></packet>"),
    plesk("get-local-backup-list", "<packet><backup-manager><get-local-backup-list><customer-id>{cid}</customer-id></get-local-backup-list></backup-manager></packet>"),
    plesk("stop-backup", "<packet><backup-manager><stop-backup><task-id>{taskid}</task-id></stop-backup></backup-manager></packet>"),
    plesk("remove-file", "<packet><backup-manager><remove-file><customer-id>{cid}</customer-id><filename>{archivename}</filename></remove-file></backup-manager></packet>"),
    plesk("download-file", "<packet><backup-manager><download-file><customer-id>{cid}</customer-id><filename>{archivename}</filename></download-file></backup-manager></packet>"),
    plesk("get-remote-storage-settings", "<packet><backup-manager><get-remote-storage-settings><customer-id>{cid}</customer-id><protocol>ftp</protocol></get-remote-storage-settings></backup-manager></packet>"),
    plesk("set-remote-storage-settings", "<packet><backup-manager><set-remote-storage-settings><customer-id>{cid}</customer-id><settings><protocol>ftp</protocol><host>evil.example</host></settings></set-remote-storage-settings></backup-manager></packet>"),
    plesk("get-server-wide-settings", "<packet><backup-manager><get-server-wide-settings/></backup-manager></packet>"),
    plesk("set-server-wide-settings", "<packet><backup-manager><set-server-wide-settings><settings><max-backup-files>1</max-backup-files></settings></set-server-wide-settings></backup-manager></packet>"),
    isp("account", "/billmgr?func=account&out=json", Expect::Hidden),
    isp("user", "/billmgr?func=user&out=json", Expect::Hidden),
    isp("account.edit view", "/billmgr?func=account.edit&elid={cid}&out=json", Expect::Refused),
    isp("account.edit change", "/billmgr?func=account.edit&elid={cid}&sok=ok&name=Pwned&passwd=Pwned123!x&out=json", Expect::Refused),
    isp("account.suspend", "/billmgr?func=account.suspend&elid={cid}&out=json", Expect::Refused),
    isp("account.resume", "/billmgr?func=account.resume&elid={cid}&out=json", Expect::Refused),
    isp("account.delete", "/billmgr?func=account.delete&elid={cid}&out=json", Expect::Refused),
    isp("account.delete own and foreign", "/billmgr?func=account.delete&elid={cid},%20{cid}&out=json", Expect::Refused),
    isp("user.edit view", "/billmgr?func=user.edit&elid={cid}&out=json", Expect::Refused),
    isp("user.edit change", "/billmgr?func=user.edit&elid={cid}&sok=ok&realname=Pwned&passwd=Pwned123!x&out=json", Expect::Refused),
    isp("session.newkey", "/billmgr?func=session.newkey&username={clogin}&key=0123456789abcdefXYZ&out=json", Expect::Refused),
    isp("billmgr.backup", "/billmgr?func=billmgr.backup&out=json", Expect::Hidden),
    isp("backupdata.names", "/billmgr?func=backupdata.names&elid=customer&out=json", Expect::Hidden),
    isp("backupdata.restore view", "/billmgr?func=backupdata.restore&plid=customer&elid={clogin}&out=json", Expect::Refused),
    isp("backupdata.restore", "/billmgr?func=backupdata.restore&plid=customer&elid={clogin}&sok=ok&behavior=overwrite&out=json", Expect::Refused),
    isp("backupdata.restore files", "/billmgr?func=backupdata.restore&plid=files&elid={clogin}&sok=ok&behavior=overwrite&out=json", Expect::Refused),
    isp("backupdata.files", "/billmgr?func=backupdata.files&elid={clogin}&out=json", Expect::Refused),
    isp("backupdata.files.restore", "/billmgr?func=backupdata.files.restore&plid={clogin}&elid=index.html&sok=ok&behavior=overwrite&out=json", Expect::Refused),
    isp("billmgr.backup.settings", "/billmgr?func=billmgr.backup.settings&sok=ok&backup_count=1&out=json", Expect::Refused),
    isp("billmgr.backup.setup", "/billmgr?func=billmgr.backup.setup&sok=ok&storage=ftp&ftp_host=evil.example&out=json", Expect::Refused),
    isp("billmgr.backup.create", "/billmgr?func=billmgr.backup.create&sok=ok&out=json", Expect::Refused),
    isp("backups.download", "/billmgr?func=backups.download&elid={archiveid}&out=json", Expect::Refused),
    isp("backups.delete", "/billmgr?func=backups.delete&elid={archiveid}&clean_storages=on&out=json", Expect::Refused),
    isp("backups.restore view", "/billmgr?func=backups.restore&elid={archiveid}&out=json", Expect::Refused),
    isp("backups.restore", "/billmgr?func=backups.restore&elid={archiveid}&sok=ok&behavior=overwrite&out=json", Expect::Refused),
    httpapi("customers/details-by-id", "/api/customers/details-by-id.json", "customer-id={cid}", Expect::Refused),
    httpapi("customers/details", "/api/customers/details.json", "username={clogin}", Expect::Refused),
    httpapi("customers/search", "/api/customers/search.json", "no-of-records=10&page-no=1", Expect::Hidden),
    httpapi("customers/search by id", "/api/customers/search.json", "no-of-records=10&page-no=1&customer-id={cid}", Expect::Hidden),
    httpapi("customers/modify", "/api/customers/modify.json", "customer-id={cid}&name=Pwned", Expect::Refused),
    httpapi("customers/change-password", "/api/customers/change-password.json", "customer-id={cid}&new-passwd=Pwned123%21x", Expect::Refused),
    httpapi("customers/suspend", "/api/customers/suspend.json", "customer-id={cid}", Expect::Refused),
    httpapi("customers/unsuspend", "/api/customers/unsuspend.json", "customer-id={cid}", Expect::Refused),
    httpapi("customers/delete", "/api/customers/delete.json", "customer-id={cid}", Expect::Refused),
    httpapi("customers/v2/change-password", "/api/customers/v2/change-password.json", "customer-id={cid}&new-passwd=Pwned123%21x", Expect::Refused),
    httpapi("customers/signup with a foreign login", "/api/customers/signup.json", "username={clogin}&passwd=Pwned123x&name=n&company=c&address-line-1=a&city=c&state=s&country=US&zipcode=1&phone-cc=1&phone=2&lang-pref=en", Expect::Refused),
    httpapi("customers/v2/signup with a foreign login", "/api/customers/v2/signup.json", "username={clogin}&passwd=Pwned123%21x&name=n&company=c&address-line-1=a&city=c&state=s&country=US&zipcode=1&phone-cc=1&phone=2&lang-pref=en", Expect::Refused),
    httpapi("customers/forgot-password", "/api/customers/forgot-password.json", "username={clogin}", Expect::Refused),
    httpapi("backup/asia/add-storage", "/api/backup/asia/add-storage.json", "backup-order-id={orderid}&storage-size-gb=100&invoice-option=NoInvoice", Expect::Refused),
    httpapi("customers/generate-token", "/api/customers/generate-token.json", "username={clogin}&passwd=changeme1Q**", Expect::Refused),
    httpapi("customers/authenticate-token", "/api/customers/authenticate-token.json", "token={token}", Expect::Refused),
    httpapi("resellers/details", "/api/resellers/details.json", "", Expect::Hidden),
    httpapi("products/plan-details", "/api/products/plan-details.json", "", Expect::Hidden),
    httpapi("backup/us/add", "/api/backup/us/add.json", "customer-id={cid}&hosting-order-id={subid}&storage-size-gb=5&months=1&plan-id=1001&invoice-option=NoInvoice", Expect::Refused),
    httpapi("backup/us/add on a foreign hosting order", "/api/backup/us/add.json", "customer-id=2&hosting-order-id={subid}&storage-size-gb=5&months=1&plan-id=1001&invoice-option=NoInvoice", Expect::Refused),
    httpapi("backup/us/add-storage", "/api/backup/us/add-storage.json", "backup-order-id={orderid}&storage-size-gb=100&invoice-option=NoInvoice", Expect::Refused),
    httpapi("backup/us/renew", "/api/backup/us/renew.json", "backup-order-id={orderid}&months=1&invoice-option=NoInvoice", Expect::Refused),
    httpapi("backup/us/auto-login-details", "/api/backup/us/auto-login-details.json", "backup-order-id={orderid}", Expect::Refused),
    httpapi("backup/us/details", "/api/backup/us/details.json", "backup-order-id={orderid}", Expect::Refused),
    httpapi("backup/asia/details", "/api/backup/asia/details.json", "backup-order-id={orderid}", Expect::Refused),
    httpapi("backup/us/delete", "/api/backup/us/delete.json", "backup-order-id={orderid}", Expect::Refused),
    httpapi("backup/us/search", "/api/backup/us/search.json", "no-of-records=10&page-no=1", Expect::Hidden),
    httpapi("backup/us/search by order", "/api/backup/us/search.json", "no-of-records=10&page-no=1&order-id={orderid}", Expect::Hidden),
    httpapi("backup/us/search by customer", "/api/backup/us/search.json", "no-of-records=10&page-no=1&customer-id={cid}", Expect::Hidden),
    httpapi("orders/suspend", "/api/orders/suspend.json", "order-id={orderid}&reason=x", Expect::Refused),
    httpapi("orders/unsuspend", "/api/orders/unsuspend.json", "order-id={orderid}", Expect::Refused),
    httpapi("actions/search-current", "/api/actions/search-current.json", "no-of-records=10&page-no=1", Expect::Hidden),
    httpapi("actions/search-current by eaqid", "/api/actions/search-current.json", "no-of-records=10&page-no=1&eaq-id={eaqid}", Expect::Hidden),
    control("tasks", "GET", "/_panelgate/tasks"),
    control("archives", "GET", "/_panelgate/archives"),
    control("backup", "POST", "/_panelgate/backups?scope=customer:{cid}"),
    control("archive download", "GET", "/_panelgate/archives/{archiveid}/download"),
    control("archive restore", "POST", "/_panelgate/archives/{archiveid}/restore"),
    control("archive delete", "DELETE", "/_panelgate/archives/{archiveid}"),
    control("upload", "POST", "/_panelgate/archives"),
];

/// A caller of the matrix and the object it must not reach.
struct Role {
    name: &'static str,
    froxlor_key: &'static str,
    plesk_login: &'static str,
    /// `auth-userid=…&api-key=…`, for roles that have httpapi.com credentials.
    httpapi: Option<&'static str>,
    foreign: Foreign,
}

#[derive(Clone, Debug, Default)]
struct Foreign {
    cid: i64,
    clogin: String,
    /// Strings that identify the foreign customer (must not appear in an answer).
    traces: Vec<String>,
    rid: i64,
    rlogin: String,
    jobid: i64,
    taskid: i64,
    archiveid: i64,
    archivename: String,
    subid: i64,
    domain: String,
    /// An active backup order of the foreign customer, and the eaqid of a pending action.
    orderid: i64,
    eaqid: i64,
    /// A one-time login token of the foreign customer.
    token: String,
}

impl Foreign {
    fn fill(&self, template: &str) -> String {
        template
            .replace("{cid}", &self.cid.to_string())
            .replace("{clogin}", &self.clogin)
            .replace("{rid}", &self.rid.to_string())
            .replace("{rlogin}", &self.rlogin)
            .replace("{jobid}", &self.jobid.to_string())
            .replace("{taskid}", &self.taskid.to_string())
            .replace("{archiveid}", &self.archiveid.to_string())
            .replace("{archivename}", &self.archivename)
            .replace("{subid}", &self.subid.to_string())
            .replace("{domain}", &self.domain)
            .replace("{orderid}", &self.orderid.to_string())
            .replace("{eaqid}", &self.eaqid.to_string())
            .replace("{token}", &self.token)
    }
}

/// The demo data plus a second reseller (id 3) with its own customer (customer3), and keys.
const EXTRA: &str = r#"
[[admins]]
id = 3
loginname = "reseller2"
password = "changeme1Q**"
name = "Second Reseller"
email = "reseller2@example.org"
customers = 10
domains = 50
diskspace = 10485760
traffic = 104857600
mysqls = 20
emails = 100
email_accounts = 100
email_forwarders = 100
email_quota = 10240
ftps = 20
subdomains = 50

[[customers]]
id = 3
loginname = "customer3"
password = "changeme1Q**"
admin = 3
name = "Three"
firstname = "Customer"
company = "Third Party Corp"
email = "customer3@example.net"
def_language = "en"

[[credentials]]
kind = "froxlor"
public_key = "customer2-key"
secret = "customer2-secret"
customer_id = 2

[[credentials]]
kind = "froxlor"
public_key = "customer3-key"
secret = "customer3-secret"
customer_id = 3

[[credentials]]
kind = "froxlor"
public_key = "reseller2-key"
secret = "reseller2-secret"
admin_id = 3
"#;

async fn setup() -> (TestApp, Vec<Role>) {
    let mut data = panelgate_server::demo_data().unwrap();
    let extra: DataSet = toml::from_str(EXTRA).unwrap();
    data.admins.extend(extra.admins);
    data.customers.extend(extra.customers);
    data.credentials.extend(extra.credentials);
    let t = TestApp::empty_with(
        panelgate_server::AppOptions {
            control_token: Some("matrix-token".into()),
            ..Default::default()
        },
        Default::default(),
    )
    .await;
    t.load(&data).await;
    let sys = t.sys();
    let mut objects = Vec::new();
    for (cid, login, email, company) in [
        (1, "customer1", "customer1@example.com", "Example One Ltd"),
        (2, "customer2", "customer2@example.com", "Example Two GmbH"),
        (3, "customer3", "customer3@example.net", "Third Party Corp"),
    ] {
        let home = t.core.home_dir(login).unwrap();
        std::fs::create_dir_all(&home).unwrap();
        std::fs::write(home.join("secret.txt"), format!("{login}'s data")).unwrap();
        let job = t
            .core
            .backup_jobs()
            .plan(
                &sys,
                &CustomerRef::Id(cid),
                NewBackupJob {
                    destdir: format!("/var/customers/webs/{login}/backups/"),
                    target_dir: "backups".into(),
                    ..Default::default()
                },
            )
            .await
            .unwrap();
        let domain = format!("site-of-{login}.example");
        let sub = t
            .core
            .subscriptions()
            .create(&sys, &CustomerRef::Id(cid), &domain)
            .await
            .unwrap();
        let task = t
            .core
            .backups()
            .start(&sys, BackupScope::Customer(cid), BackupOptions::default())
            .await
            .unwrap();
        let order = |invoice| NewBackupOrder {
            product: "acronisbackupus".into(),
            customer: cid,
            hosting_order_id: sub.id,
            plan_id: 1001,
            storage_gb: 5,
            months: 12,
            auto_renew: false,
            invoice,
            discount_millis: 0,
        };
        let active = t
            .core
            .orders()
            .add_backup(&sys, order(InvoiceOption::NoInvoice))
            .await
            .unwrap();
        let pending = t
            .core
            .orders()
            .add_backup(&sys, order(InvoiceOption::OnlyAdd))
            .await
            .unwrap();
        let token = format!("token-of-{login}-0123456789");
        t.core
            .auth()
            .new_login_key(&sys, login, &token, None)
            .await
            .unwrap();
        let extra = (active.order.id, pending.action.id, token);
        objects.push((
            cid, login, email, company, job.id, task.id, sub.id, domain, extra,
        ));
    }
    Worker::new(t.core.clone()).run_until_idle().await.unwrap();
    let archives = t.core.backups().archives(&sys).await.unwrap();
    let foreign = |cid: i64, rid: i64, rlogin: &str| {
        let (_, login, email, company, jobid, taskid, subid, domain, (orderid, eaqid, token)) =
            objects.iter().find(|o| o.0 == cid).cloned().unwrap();
        let archive = archives
            .iter()
            .find(|a| a.customer_id == Some(cid))
            .unwrap();
        Foreign {
            cid,
            clogin: login.into(),
            traces: vec![email.into(), company.into(), format!("{login}'s data")],
            rid,
            rlogin: rlogin.into(),
            jobid,
            taskid,
            archiveid: archive.id,
            archivename: archive.file_name.clone(),
            subid,
            domain,
            orderid,
            eaqid,
            token,
        }
    };
    let roles = vec![
        Role {
            name: "admin",
            froxlor_key: "demo-froxlor-admin-key:demo-froxlor-admin-secret",
            plesk_login: "admin",
            httpapi: None,
            // The server owner sees every customer; only the control API is foreign to it.
            foreign: foreign(3, 3, "reseller2"),
        },
        Role {
            name: "reseller",
            froxlor_key: "demo-froxlor-reseller-key:demo-froxlor-reseller-secret",
            plesk_login: "reseller1",
            httpapi: Some("auth-userid=2&api-key=demo-httpapi-key"),
            foreign: foreign(3, 3, "reseller2"),
        },
        Role {
            name: "customer",
            froxlor_key: "demo-froxlor-customer1-key:demo-froxlor-customer1-secret",
            plesk_login: "customer1",
            httpapi: None,
            foreign: foreign(2, 2, "reseller1"),
        },
        Role {
            name: "other reseller's customer",
            froxlor_key: "customer3-key:customer3-secret",
            plesk_login: "customer3",
            httpapi: None,
            foreign: foreign(2, 2, "reseller1"),
        },
    ];
    (t, roles)
}

/// Everything a call could change, as text.
async fn fingerprint(t: &TestApp) -> String {
    let sys = t.sys();
    let c = &t.core;
    format!(
        "{:?}\n{:?}\n{:?}\n{:?}\n{:?}\n{:?}\n{:?}\n{:?}\n{:?}\n{:?}",
        c.customers().list(&sys).await.unwrap(),
        c.admins().list(&sys).await.unwrap(),
        c.credentials()
            .list(&sys, panelgate_core::CredentialKind::Froxlor)
            .await
            .unwrap(),
        c.backup_jobs().list(&sys, None).await.unwrap(),
        c.backups().tasks(&sys).await.unwrap(),
        c.backups().archives(&sys).await.unwrap(),
        c.subscriptions().list(&sys).await.unwrap(),
        c.backups().server_settings(&sys).await.unwrap(),
        c.orders().search(&sys, &Default::default()).await.unwrap(),
        c.orders().current_actions(&sys).await.unwrap(),
    )
}

async fn send(t: &TestApp, role: &Role, row: &Row) -> (u16, String) {
    let (body, target) = (role.foreign.fill(row.body), role.foreign.fill(row.path));
    let r = match row.protocol {
        Protocol::Froxlor | Protocol::Control => {
            panelgate_testkit::send(&t.app, row.method, &target, Some(role.froxlor_key), body).await
        }
        Protocol::Plesk => {
            let login = panelgate_testkit::plesk_login(role.plesk_login);
            panelgate_testkit::send_with(&t.app, row.method, &target, &login, body).await
        }
        Protocol::Httpapi => {
            let body = format!("{}&{body}", role.httpapi.unwrap_or_default());
            let ct = [("content-type", "application/x-www-form-urlencoded")];
            panelgate_testkit::send_with(&t.app, row.method, &target, &ct, body).await
        }
        Protocol::IspSystem => {
            let target = format!("{target}&authinfo={}:changeme1Q**", role.plesk_login);
            panelgate_testkit::send_with(&t.app, row.method, &target, &[], body).await
        }
    };
    (r.status, r.body)
}

fn refused(protocol: Protocol, status: u16, body: &str) -> bool {
    match protocol {
        Protocol::Froxlor => {
            (400..500).contains(&status)
                && serde_json::from_str::<serde_json::Value>(body)
                    .is_ok_and(|v| v["message"].is_string())
        }
        Protocol::Plesk => {
            status == 200
                && body.contains("<status>error</status>")
                && ["1006", "1013"]
                    .iter()
                    .any(|code| body.contains(&format!("<errcode>{code}</errcode>")))
                && !body.contains("<status>ok</status>")
        }
        Protocol::IspSystem => {
            status == 200
                && serde_json::from_str::<serde_json::Value>(body).is_ok_and(|v| {
                    v["doc"]["error"]["$type"]
                        .as_str()
                        .is_some_and(|t| t == "access" || t == "value")
                        && v["doc"]["ok"].is_null()
                })
        }
        Protocol::Httpapi => {
            status == 500
                && serde_json::from_str::<serde_json::Value>(body)
                    .is_ok_and(|v| v["status"] == "ERROR")
        }
        Protocol::Control => status == 403,
    }
}

#[tokio::test]
async fn isolation_matrix() {
    let (t, roles) = setup().await;
    let mut checked = 0;
    let mut failures = Vec::new();
    for role in &roles {
        for row in ROWS {
            // The server owner sees every customer and reseller by design; for it only the
            // control API (the server's own role) is foreign.
            if role.name == "admin" && !matches!(row.protocol, Protocol::Control) {
                continue;
            }
            if matches!(row.protocol, Protocol::Httpapi) && role.httpapi.is_none() {
                continue;
            }
            let before = fingerprint(&t).await;
            let (status, body) = send(&t, role, row).await;
            let after = fingerprint(&t).await;
            let label = format!("{} × {} ({:?})", row.call, role.name, row.protocol);
            if before != after {
                failures.push(format!(
                    "{label}: the call changed the database; answer {status}: {body}"
                ));
            }
            let request = role.foreign.fill(row.body);
            for trace in role.foreign.traces.iter().chain([&role.foreign.domain]) {
                // Panels echo the caller's own filter values; anything else is a leak.
                if body.contains(trace.as_str()) && !request.contains(trace.as_str()) {
                    failures.push(format!("{label}: the answer shows {trace:?}: {body}"));
                }
            }
            match row.expect {
                Expect::Refused if !refused(row.protocol, status, &body) => {
                    failures.push(format!(
                        "{label}: not refused in the protocol's error shape: {status} {body}"
                    ));
                }
                Expect::Hidden if status != 200 && !refused(row.protocol, status, &body) => {
                    failures.push(format!(
                        "{label}: neither answered nor refused: {status} {body}"
                    ));
                }
                _ => {}
            }
            checked += 1;
        }
    }
    println!(
        "isolation matrix: {checked} (call, role) pairs checked, {} rows",
        ROWS.len()
    );
    assert!(
        failures.is_empty(),
        "{} failures:\n{}",
        failures.len(),
        failures.join("\n")
    );
}
