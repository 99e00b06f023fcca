//! Issue 14 (races): one login created at once through two panel APIs has exactly one winner,
//! and the other caller gets its own panel's "exists" answer; nothing is half-written. Runs on
//! every backend (the unique login key decides, not a check before the insert).

use std::sync::Arc;

use panelgate_core::CustomerRef;
use panelgate_testkit::{TestApp, ADMIN_KEY};

/// What a panel answered an add with: created, or its own "exists" error.
#[derive(Debug, PartialEq)]
enum Outcome {
    Created,
    Exists,
}

async fn froxlor_add(t: &TestApp, login: &str) -> Outcome {
    let body = format!(
        r#"{{"command":"Customers.add","params":{{"email":"{login}@froxlor.example","name":"Race","firstname":"F","new_loginname":"{login}","new_customer_password":"Secret123x"}}}}"#
    );
    let r = t.froxlor(ADMIN_KEY, &body).await;
    match r.status {
        200 => Outcome::Created,
        400 if r.message() == format!("Loginname {login} already exists") => Outcome::Exists,
        other => panic!("Froxlor answered {other}: {}", r.body),
    }
}

async fn plesk_add(t: &TestApp, login: &str) -> Outcome {
    let packet = format!(
        "<packet><customer><add><gen_info><pname>Race P</pname><login>{login}</login><passwd>Secret123x!</passwd><email>{login}@plesk.example</email></gen_info></add></customer></packet>"
    );
    let r = t
        .plesk(&panelgate_testkit::plesk_login("admin"), &packet)
        .await;
    if r.body.contains("<status>ok</status>") {
        Outcome::Created
    } else if r.body.contains("<errcode>1007</errcode>") {
        Outcome::Exists
    } else {
        panic!("Plesk answered: {}", r.body)
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn one_login_through_two_panels_has_one_winner() {
    let t = Arc::new(TestApp::demo().await);
    let before = t.admin(1).await.customers_used;
    let mut pairs = Vec::new();
    for i in 0..12 {
        let login = format!("twopanels{i}");
        let (a, b) = (t.clone(), t.clone());
        let (la, lb) = (login.clone(), login.clone());
        // Alternate which one is spawned first.
        let froxlor = async move { froxlor_add(&a, &la).await };
        let plesk = async move { plesk_add(&b, &lb).await };
        let (f, p) = if i % 2 == 0 {
            let f = tokio::spawn(froxlor);
            let p = tokio::spawn(plesk);
            (f, p)
        } else {
            let p = tokio::spawn(plesk);
            let f = tokio::spawn(froxlor);
            (f, p)
        };
        pairs.push((login, f, p));
    }
    let mut winners = (0, 0);
    for (login, f, p) in pairs {
        let (f, p) = (f.await.unwrap(), p.await.unwrap());
        match (&f, &p) {
            (Outcome::Created, Outcome::Exists) => winners.0 += 1,
            (Outcome::Exists, Outcome::Created) => winners.1 += 1,
            other => panic!("{login}: {other:?}: exactly one must win"),
        }
        // The one customer is whole: its e-mail is its winner's, its owner the admin.
        let c = t
            .core
            .customers()
            .get(&t.sys(), &CustomerRef::Login(login.clone()))
            .await
            .unwrap();
        let expected = if f == Outcome::Created {
            "froxlor"
        } else {
            "plesk"
        };
        assert_eq!(
            c.profile.email,
            format!("{login}@{expected}.example"),
            "{login}"
        );
        assert_eq!(c.created_via, expected, "{login}");
    }
    eprintln!(
        "12 logins raced through Froxlor and Plesk: Froxlor won {}, Plesk won {}",
        winners.0, winners.1
    );
    // The counters count the winners only.
    assert_eq!(t.admin(1).await.customers_used, before + 12);
}

/// A suspend through Plesk while Froxlor changes the same customer's name: both land (no
/// write puts back a field it did not change), on every backend.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_suspend_and_an_update_through_two_panels_both_land() {
    let t = Arc::new(TestApp::demo().await);
    for round in 0..10 {
        let login = format!("both{round}");
        assert_eq!(froxlor_add(&t, &login).await, Outcome::Created);
        let c = t
            .core
            .customers()
            .get(&t.sys(), &CustomerRef::Login(login.clone()))
            .await
            .unwrap();
        let id = c.id;
        let (a, b) = (t.clone(), t.clone());
        let suspend = tokio::spawn(async move {
            let packet = format!("<packet><customer><set><filter><id>{id}</id></filter><values><gen_info><status>16</status></gen_info></values></set></customer></packet>");
            let r = a
                .plesk(&panelgate_testkit::plesk_login("admin"), &packet)
                .await;
            assert!(r.body.contains("<status>ok</status>"), "{}", r.body);
        });
        let rename = tokio::spawn(async move {
            let body = format!(
                r#"{{"command":"Customers.update","params":{{"id":{id},"name":"Renamed{round}"}}}}"#
            );
            let r = b.froxlor(ADMIN_KEY, &body).await;
            assert_eq!(r.status, 200, "{}", r.body);
        });
        suspend.await.unwrap();
        rename.await.unwrap();
        let c = t
            .core
            .customers()
            .get(&t.sys(), &CustomerRef::Id(id))
            .await
            .unwrap();
        assert!(c.deactivated, "round {round}: the suspend was lost");
        assert_eq!(
            c.profile.name,
            format!("Renamed{round}"),
            "round {round}: the rename was lost"
        );
    }
}

/// Two backups of one customer at once (Plesk and the control API), run by two workers at
/// once: every task is run exactly once and finishes, each with its own archive whose file has
/// the size and SHA-256 of its row.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_backups_of_one_customer_by_two_workers() {
    use panelgate_core::backup_worker::Worker;
    let t = demo_with_files(4).await;
    let (a, b) = (t.clone(), t.clone());
    let plesk = tokio::spawn(async move {
        let packet = "<packet><backup-manager><backup-customer><customer-id>1</customer-id><local/><description>p</description></backup-customer></backup-manager></packet>";
        let r = a
            .plesk(&panelgate_testkit::plesk_login("admin"), packet)
            .await;
        assert!(r.body.contains("<status>ok</status>"), "{}", r.body);
    });
    let control = tokio::spawn(async move {
        let r = b
            .control("POST", "/_panelgate/backups?scope=customer:1", "")
            .await;
        assert_eq!(r.status, 201, "{}", r.body);
    });
    plesk.await.unwrap();
    control.await.unwrap();
    let workers: Vec<_> = (0..2)
        .map(|_| {
            let core = t.core.clone();
            tokio::spawn(async move { Worker::new(core).run_until_idle().await })
        })
        .collect();
    for w in workers {
        w.await.unwrap().unwrap();
    }
    let tasks = t.core.backups().tasks(&t.sys()).await.unwrap();
    assert_eq!(tasks.len(), 2, "{tasks:?}");
    for task in &tasks {
        assert_eq!(task.state.as_str(), "finished", "{task:?}");
        assert_eq!(task.attempts, 1, "run once: {task:?}");
    }
    let archives = t.core.backups().archives(&t.sys()).await.unwrap();
    assert_eq!(archives.len(), 2, "{archives:?}");
    assert_ne!(archives[0].file_name, archives[1].file_name);
    for archive in &archives {
        assert_archive_whole(&t, archive).await;
    }
}

/// A new customer added through Froxlor: its id.
async fn added(t: &TestApp, login: &str) -> i64 {
    assert_eq!(froxlor_add(t, login).await, Outcome::Created);
    t.core
        .customers()
        .get(&t.sys(), &CustomerRef::Login(login.to_owned()))
        .await
        .unwrap()
        .id
}

/// The demo data with `n` files of 256 KiB in customer1's home.
async fn demo_with_files(n: u8) -> Arc<TestApp> {
    let t = Arc::new(TestApp::demo().await);
    let home = t.core.home_dir("customer1").unwrap();
    std::fs::create_dir_all(&home).unwrap();
    for i in 0..n {
        std::fs::write(home.join(format!("f{i}.bin")), vec![i; 256 * 1024]).unwrap();
    }
    t
}

/// An archive's files have the size and the SHA-256 of its row.
async fn assert_archive_whole(t: &TestApp, archive: &panelgate_core::backups::BackupArchive) {
    use sha2::{Digest, Sha256};
    let files = t.core.backups().files(&t.sys(), archive.id).await.unwrap();
    let mut hasher = Sha256::new();
    let mut size = 0;
    for path in &files.paths {
        let bytes = std::fs::read(path).unwrap();
        size += bytes.len() as i64;
        hasher.update(&bytes);
    }
    assert_eq!(size, archive.size, "{archive:?}");
    let sha: String = hasher
        .finalize()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    assert_eq!(sha, archive.sha256, "{archive:?}");
}

/// The rows agree with each other: every admin's `customers_used` is the number of its
/// customers, every subscription's customer exists and has its owner.
async fn assert_consistent(t: &TestApp, what: &str) {
    let customers = t.core.customers().list(&t.sys()).await.unwrap();
    for admin in t.core.admins().list(&t.sys()).await.unwrap() {
        let owned = customers.iter().filter(|c| c.admin_id == admin.id).count() as i64;
        assert_eq!(
            admin.customers_used, owned,
            "{what}: {} counts {} customers, owns {owned}",
            admin.loginname, admin.customers_used
        );
    }
    for s in t.core.subscriptions().list(&t.sys()).await.unwrap() {
        let owner = customers.iter().find(|c| c.id == s.customer_id);
        assert!(
            owner.is_some_and(|c| c.admin_id == s.admin_id),
            "{what}: subscription {s:?} without its customer"
        );
    }
}

/// A restore of a customer's archive while the customer is deleted through Froxlor: whichever
/// goes first, the rows end consistent (the customer is either gone, or back whole from the
/// archive with its counters and subscription), on every backend.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_restore_while_the_customer_is_deleted() {
    use panelgate_core::backup_worker::Worker;
    let t = Arc::new(TestApp::demo().await);
    let mut outcomes = (0, 0);
    for round in 0..6 {
        let login = format!("restored{round}");
        let id = added(&t, &login).await;
        let r = t
            .control(
                "POST",
                &format!("/_panelgate/backups?scope=customer:{id}"),
                "",
            )
            .await;
        assert_eq!(r.status, 201, "{}", r.body);
        Worker::new(t.core.clone()).run_until_idle().await.unwrap();
        let archive = t
            .core
            .backups()
            .archives(&t.sys())
            .await
            .unwrap()
            .into_iter()
            .find(|a| a.customer_id == Some(id))
            .expect("the archive")
            .id;
        let (a, b) = (t.clone(), t.clone());
        let delete = tokio::spawn(async move {
            let body = format!(r#"{{"command":"Customers.delete","params":{{"id":{id}}}}}"#);
            a.froxlor(ADMIN_KEY, &body).await.status
        });
        let restore = tokio::spawn(async move {
            b.control(
                "POST",
                &format!("/_panelgate/archives/{archive}/restore?behavior=skip"),
                "",
            )
            .await
        });
        let (deleted, restored) = (delete.await.unwrap(), restore.await.unwrap());
        assert_eq!(deleted, 200, "round {round}: the delete");
        assert!(
            [200, 404, 409].contains(&restored.status),
            "round {round}: the restore answered {} {}",
            restored.status,
            restored.body
        );
        let back = t
            .core
            .customers()
            .get(&t.sys(), &CustomerRef::Login(login.clone()))
            .await
            .is_ok();
        if back {
            outcomes.1 += 1;
        } else {
            outcomes.0 += 1;
        }
        assert_consistent(&t, &format!("round {round}")).await;
    }
    eprintln!(
        "restore during delete: gone {} times, back from the archive {} times",
        outcomes.0, outcomes.1
    );
}

/// A customer moved to another owner through Froxlor while its backup runs: the move lands,
/// the task finishes with a whole archive, the archive belongs to the customer (its owner
/// is the one the task started with, or the new one: either may list it), and the counters
/// agree with the rows, on every backend.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_move_while_a_backup_runs() {
    use panelgate_core::backup_worker::Worker;
    let t = demo_with_files(8).await;
    let r = t
        .control("POST", "/_panelgate/backups?scope=customer:1", "")
        .await;
    assert_eq!(r.status, 201, "{}", r.body);
    let core = t.core.clone();
    let worker = tokio::spawn(async move { Worker::new(core).run_until_idle().await });
    let reseller = t
        .core
        .admins()
        .list(&t.sys())
        .await
        .unwrap()
        .into_iter()
        .find(|a| a.is_reseller())
        .expect("the demo reseller")
        .id;
    let r = t
        .froxlor(
            ADMIN_KEY,
            &format!(r#"{{"command":"Customers.move","params":{{"id":1,"adminid":{reseller}}}}}"#),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    worker.await.unwrap().unwrap();
    let c = t
        .core
        .customers()
        .get(&t.sys(), &CustomerRef::Id(1))
        .await
        .unwrap();
    assert_eq!(c.admin_id, reseller, "the move landed");
    let tasks = t.core.backups().tasks(&t.sys()).await.unwrap();
    assert_eq!(tasks.len(), 1);
    assert_eq!(tasks[0].state.as_str(), "finished", "{:?}", tasks[0]);
    let archives = t.core.backups().archives(&t.sys()).await.unwrap();
    assert_eq!(archives.len(), 1);
    assert_eq!(archives[0].customer_id, Some(1));
    assert!(
        [Some(1), Some(reseller)].contains(&archives[0].owner_admin_id),
        "{:?}",
        archives[0]
    );
    assert_archive_whole(&t, &archives[0]).await;
    assert_consistent(&t, "after the move").await;
}

/// One customer deleted at once through Froxlor and ISPsystem (found by the crash harness: two
/// clients deleting one customer both succeeded and its owner's counter went down twice): on
/// every backend exactly one delete succeeds, the other gets its panel's "not found", and the
/// owner's counters equal its customers.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn one_customer_deleted_through_two_panels_at_once() {
    let t = Arc::new(TestApp::demo().await);
    let mut wins = (0, 0);
    for round in 0..8 {
        let login = format!("gone{round}");
        let id = added(&t, &login).await;
        let (a, b) = (t.clone(), t.clone());
        let froxlor = tokio::spawn(async move {
            let body = format!(r#"{{"command":"Customers.delete","params":{{"id":{id}}}}}"#);
            a.froxlor(ADMIN_KEY, &body).await
        });
        let isp = tokio::spawn(async move {
            b.request(
                "GET",
                &format!("/billmgr?authinfo=admin:changeme1Q**&out=json&func=account.delete&elid={id}&sok=ok"),
                None,
                "",
            )
            .await
        });
        let (f, i) = (froxlor.await.unwrap(), isp.await.unwrap());
        let froxlor_won = f.status == 200;
        let isp_won = i.json()["doc"]["ok"].is_object();
        assert!(
            froxlor_won != isp_won,
            "round {round}: exactly one delete wins: Froxlor {} {}, ISPsystem {}",
            f.status,
            f.body,
            i.body
        );
        if froxlor_won {
            wins.0 += 1;
            assert!(!i.json()["doc"]["error"].is_null(), "{}", i.body);
        } else {
            wins.1 += 1;
            assert_eq!(f.status, 404, "{}", f.body);
        }
        assert_consistent(&t, &format!("round {round}")).await;
    }
    eprintln!(
        "concurrent deletes: Froxlor first {} times, ISPsystem first {} times",
        wins.0, wins.1
    );
}

/// Issue 11 (group commit): creates that arrive together are written in one transaction, and
/// each gets the answer it would get alone. A reseller with room for 5 customers gets 9 at once
/// (generated logins); the admin gets 3 logins twice each, and one login an admin has. Checked
/// against what one-by-one creates must leave: the quota holds, the generated logins and the ids
/// have no gaps, every duplicate fails with "exists", and the owner's counters are the sums.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn creates_at_once_answer_as_if_one_by_one() {
    use panelgate_core::{
        admins::NewAdmin, seed::DataSet, CoreError, NewCustomer, Profile, Quota, Resources,
    };
    let t = Arc::new(TestApp::demo().await);
    let reseller = NewAdmin {
        id: Some(70),
        loginname: "batchres".into(),
        password: "unusable-hash".into(),
        name: "Batch reseller".into(),
        email: "batchres@example.org".into(),
        customers: 5,
        domains: 5,
        limits: Resources {
            diskspace: 1000,
            ..Resources::default()
        },
        ..NewAdmin::default()
    };
    t.load(&DataSet {
        admins: vec![reseller],
        ..DataSet::default()
    })
    .await;
    let reseller = t.as_admin(70).await.actor();
    let admin = t.as_admin(1).await.actor();
    let new = |login: Option<String>, diskspace: i64| NewCustomer {
        loginname: login.map(|l| l.as_str().try_into().unwrap()),
        password: Some("changeme1Q**".into()),
        profile: Profile {
            name: "Batch".into(),
            email: "batch@example.com".into(),
            ..Profile::default()
        },
        limits: Resources {
            diskspace,
            ..Resources::default()
        },
        create_std_subdomain: true,
        ..NewCustomer::default()
    };
    // Another connection holds the customers' id sequence (a write lock on SQLite, a row lock
    // on PostgreSQL and MariaDB), so the creates queue behind the first one and are written
    // together when it is let go.
    let blocker = {
        use sea_orm::{ConnectionTrait, TransactionTrait};
        let db = sea_orm::Database::connect(&t.db.url).await.unwrap();
        let txn = db.begin().await.unwrap();
        txn.execute_unprepared(
            "UPDATE sequences SET next_value = next_value WHERE name = 'customers'",
        )
        .await
        .unwrap();
        (db, txn)
    };
    let writes_before = t.core.writes_ended();
    let mut calls = Vec::new();
    for _ in 0..9 {
        let (t, actor, new) = (t.clone(), reseller, new(None, 100));
        calls.push(tokio::spawn(async move {
            (70, t.core.customers().create(&actor, new).await)
        }));
    }
    for login in ["dupa", "dupb", "dupc", "dupa", "dupb", "dupc", "admin"] {
        let (t, actor, new) = (t.clone(), admin, new(Some(login.into()), 0));
        calls.push(tokio::spawn(async move {
            (1, t.core.customers().create(&actor, new).await)
        }));
    }
    // Every create has hashed its password and waits for the writer.
    tokio::time::sleep(std::time::Duration::from_millis(1500)).await;
    blocker.1.commit().await.unwrap();
    blocker.0.close().await.unwrap();
    let mut created = Vec::new();
    let (mut over_quota, mut exists) = (0, 0);
    for call in calls {
        match call.await.unwrap() {
            (owner, Ok(c)) => {
                assert_eq!(c.admin_id, owner);
                created.push(c);
            }
            (70, Err(CoreError::QuotaExceeded(Quota::Customers))) => over_quota += 1,
            (1, Err(CoreError::AlreadyExists { .. })) => exists += 1,
            (owner, Err(e)) => panic!("owner {owner}: unexpected {e:?}"),
        }
    }
    assert_eq!((created.len(), over_quota, exists), (8, 4, 4));
    // The first create alone, the rest in one transaction: far fewer commits than creates.
    let commits = t.core.writes_ended() - writes_before;
    assert!(commits <= 3, "{commits} commits for 16 creates");
    // Ids and guids: one each, no gaps (a refused create takes none).
    let mut ids: Vec<i64> = created.iter().map(|c| c.id).collect();
    ids.sort();
    assert_eq!(ids, (ids[0]..ids[0] + 8).collect::<Vec<_>>());
    let guids: std::collections::BTreeSet<i64> = created.iter().map(|c| c.guid).collect();
    assert_eq!(guids.len(), 8);
    // Generated logins: the next five account numbers.
    let mut generated: Vec<String> = created
        .iter()
        .filter(|c| c.admin_id == 70)
        .map(|c| c.loginname.clone())
        .collect();
    generated.sort();
    let first: i64 = generated[0].trim_start_matches("web").parse().unwrap();
    let expected: Vec<String> = (first..first + 5).map(|n| format!("web{n}")).collect();
    assert_eq!(generated, expected);
    // Every create is whole: its row, its standard subdomain; the counters are the sums.
    for c in &created {
        let again = t
            .core
            .customers()
            .get(&t.sys(), &CustomerRef::Id(c.id))
            .await
            .unwrap();
        assert_eq!(again.loginname, c.loginname);
        assert!(
            again.standardsubdomain > 0,
            "{}: no standard subdomain",
            c.loginname
        );
    }
    let res = t.admin(70).await;
    assert_eq!((res.customers_used, res.used.diskspace), (5, 500));
    assert_consistent(&t, "after creates at once").await;
}
