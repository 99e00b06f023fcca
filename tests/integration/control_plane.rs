//! Issue 12: the control plane's health and readiness, metrics, reset and clock, through the
//! router as a client on loopback reaches them.

use std::time::Duration;

use panelgate_core::backup_worker::Worker;
use panelgate_server::AppOptions;
use panelgate_testkit::{TestApp, ADMIN_KEY, TEST_EPOCH};
use serde_json::Value;

async fn json(t: &TestApp, method: &str, target: &str, body: &str) -> (u16, Value) {
    let r = t.control(method, target, body.to_owned()).await;
    (
        r.status,
        serde_json::from_str(&r.body).unwrap_or(Value::Null),
    )
}

/// An ISPsystem session of customer1 (`func=auth` with its password).
async fn isp_session(t: &TestApp) -> String {
    let login = t
        .request(
            "GET",
            "/billmgr?func=auth&username=customer1&password=changeme1Q**&out=json",
            None,
            "",
        )
        .await
        .json();
    login["doc"]["auth"]["$id"]
        .as_str()
        .expect("a session id")
        .to_owned()
}

async fn froxlor_count(t: &TestApp) -> u64 {
    let v = t
        .froxlor(ADMIN_KEY, r#"{"command":"Customers.listing"}"#)
        .await
        .json();
    v["data"]["count"].as_u64().expect("a count")
}

/// `health` answers without the database; `ready` asks the database and the backup worker,
/// and says which of them is missing.
#[tokio::test]
async fn health_is_cheap_and_ready_checks_the_database_and_the_worker() {
    let t = TestApp::demo().await;
    let (status, health) = json(&t, "GET", "/_panelgate/health", "").await;
    assert_eq!((status, health["status"].as_str()), (200, Some("ok")));

    // No worker runs in this test process yet.
    let (status, ready) = json(&t, "GET", "/_panelgate/ready", "").await;
    assert_eq!(status, 503, "{ready}");
    assert_eq!(ready["database"]["ok"], true);
    assert_eq!(ready["worker"]["running"], false);

    let (stop, stopped) = tokio::sync::watch::channel(false);
    let worker =
        tokio::spawn(Worker::new(t.core.clone()).run(60, Duration::from_millis(20), stopped));
    let mut answer = (0, Value::Null);
    for _ in 0..250 {
        answer = json(&t, "GET", "/_panelgate/ready", "").await;
        if answer.0 == 200 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(answer.0, 200, "{}", answer.1);
    assert_eq!(answer.1["status"], "ready");
    stop.send(true).unwrap();
    worker.await.unwrap();
}

/// The clock is read, set, advanced, frozen and released through the control API, and what
/// depends on time follows it: an ISPsystem session idle for an hour expires when the clock is
/// advanced, without any waiting.
#[tokio::test]
async fn the_clock_is_steered_and_sessions_follow_it() {
    let t = TestApp::demo().await;
    let (status, clock) = json(&t, "GET", "/_panelgate/clock", "").await;
    assert_eq!(status, 200);
    assert_eq!(
        (clock["now"].as_i64(), clock["frozen"].as_bool()),
        (Some(TEST_EPOCH), Some(true))
    );

    let session = isp_session(&t).await;
    let account = format!("/billmgr?func=account&auth={session}&out=json");
    let listed = t.request("GET", &account, None, "").await.json();
    assert!(listed["doc"]["error"].is_null(), "{listed}");

    let (status, clock) = json(&t, "POST", "/_panelgate/clock", r#"{"advance": 3601}"#).await;
    assert_eq!(
        (status, clock["now"].as_i64()),
        (200, Some(TEST_EPOCH + 3601))
    );
    assert_eq!(t.core.now(), TEST_EPOCH + 3601);
    let expired = t.request("GET", &account, None, "").await.json();
    assert!(
        !expired["doc"]["error"].is_null(),
        "the session expired: {expired}"
    );

    let (_, clock) = json(&t, "POST", "/_panelgate/clock", r#"{"set": 2000000000}"#).await;
    assert_eq!(clock["now"], 2_000_000_000);
    let (_, clock) = json(&t, "POST", "/_panelgate/clock", r#"{"freeze": false}"#).await;
    assert_eq!(clock["frozen"], false);
    assert!((t.core.now() - 2_000_000_000).abs() <= 2);
    let (_, clock) = json(&t, "POST", "/_panelgate/clock", r#"{"reset": true}"#).await;
    assert_eq!(clock["offset"], 0);

    for bad in [
        "",
        "{}",
        r#"{"advance": "soon"}"#,
        r#"{"set": 1, "advance": 2}"#,
        "[1]",
    ] {
        let (status, v) = json(&t, "POST", "/_panelgate/clock", bad).await;
        assert_eq!(status, 400, "{bad}: {v}");
        assert!(v["error"].as_str().unwrap().contains("advance"), "{v}");
    }
}

/// A reset brings the store back to its seed (here the demo data): records, sessions, homes
/// and archives made since are gone, and every panel answers as on a fresh start.
#[tokio::test]
async fn reset_brings_back_the_seed_and_removes_homes_archives_and_sessions() {
    let t = TestApp::demo().await;
    // Changes of every kind: a customer deleted, a session, a home file, an archive.
    let deleted = t
        .froxlor(
            ADMIN_KEY,
            r#"{"command":"Customers.delete","params":{"id":2}}"#,
        )
        .await;
    assert_eq!(deleted.status, 200, "{}", deleted.body);
    assert_eq!(froxlor_count(&t).await, 1);
    let session = isp_session(&t).await;
    let home = t.core.home_dir("customer1").unwrap();
    std::fs::create_dir_all(&home).unwrap();
    std::fs::write(home.join("index.html"), "made after the seed").unwrap();
    let (status, task) = json(&t, "POST", "/_panelgate/backups?scope=customer:1", "").await;
    assert_eq!(status, 201, "{task}");
    Worker::new(t.core.clone()).run_until_idle().await.unwrap();
    let (_, archives) = json(&t, "GET", "/_panelgate/archives", "").await;
    assert_eq!(archives.as_array().map(Vec::len), Some(1), "{archives}");
    let storage_files = || {
        std::fs::read_dir(t.core.storage_dir())
            .map(|d| d.count())
            .unwrap_or(0)
    };
    assert!(storage_files() > 0);

    let (status, report) = json(&t, "POST", "/_panelgate/reset", "").await;
    assert_eq!(status, 200, "{report}");
    assert_eq!(report["seed"], "demo");
    println!("reset of the demo data: {} ms", report["took_ms"]);

    assert_eq!(froxlor_count(&t).await, 2);
    let (_, archives) = json(&t, "GET", "/_panelgate/archives", "").await;
    assert_eq!(archives, Value::Array(Vec::new()));
    let (_, tasks) = json(&t, "GET", "/_panelgate/tasks", "").await;
    assert_eq!(tasks, Value::Array(Vec::new()));
    assert_eq!(storage_files(), 0);
    assert!(!home.exists(), "the home folder is gone");
    let by_session = t
        .request(
            "GET",
            &format!("/billmgr?func=account&auth={session}&out=json"),
            None,
            "",
        )
        .await
        .json();
    assert!(!by_session["doc"]["error"].is_null(), "{by_session}");
    // Every panel answers from the seed: Plesk sees both demo customers again.
    let plesk = t
        .plesk(
            &panelgate_testkit::plesk_login("admin"),
            "<packet><customer><get><filter/><dataset><gen_info/></dataset></get></customer></packet>",
        )
        .await;
    assert_eq!(
        plesk.body.matches("<login>customer").count(),
        2,
        "{}",
        plesk.body
    );
    // New records take the seed's ids again.
    let (status, _) = json(&t, "POST", "/_panelgate/backups?scope=customer:1", "").await;
    assert_eq!(status, 201);
    let (_, tasks) = json(&t, "GET", "/_panelgate/tasks", "").await;
    assert_eq!(tasks[0]["id"], 1, "{tasks}");

    // Reset is the control API's: with a token, a client without it is refused.
    let guarded = t.app_with(AppOptions {
        control_token: Some("s3cret".into()),
        ..AppOptions::default()
    });
    let refused =
        panelgate_testkit::send_with(&guarded, "POST", "/_panelgate/reset", &[], "").await;
    assert_eq!(refused.status, 403);
}

/// Metrics: requests by protocol, call and status with a latency histogram, tasks by state,
/// archive bytes and the database pools, in Prometheus' text format. Calls named by request
/// text are capped, so a client cannot grow the registry without bound.
#[tokio::test]
async fn metrics_count_requests_tasks_archives_and_pools() {
    let t = TestApp::demo().await;
    assert_eq!(froxlor_count(&t).await, 2);
    let (status, _) = json(&t, "POST", "/_panelgate/backups?scope=customer:1", "").await;
    assert_eq!(status, 201);
    Worker::new(t.core.clone()).run_until_idle().await.unwrap();
    // An unknown Froxlor command has no call label at all.
    let unknown = t.froxlor(ADMIN_KEY, r#"{"command":"Nope.call"}"#).await;
    assert_ne!(unknown.status, 200);
    // Control calls are labelled by path: more distinct paths than the label cap.
    for i in 0..=panelgate_server::metrics::MAX_CALL_LABELS {
        let r = t
            .control("GET", &format!("/_panelgate/tasks/{}", 1000 + i), "")
            .await;
        assert_eq!(r.status, 404);
    }

    let r = t.control("GET", "/_panelgate/metrics", "").await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert!(r.headers["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/plain"));
    let text = r.body;
    for needle in [
        r#"panelgate_requests_total{protocol="froxlor",call="Customers.listing",status="200"}"#,
        r#"panelgate_request_duration_seconds_bucket{protocol="froxlor",call="Customers.listing",le="0.005"}"#,
        r#"panelgate_requests_total{protocol="control",call="POST /_panelgate/backups",status="201"}"#,
        r#"call="(other)""#,
        r#"panelgate_requests_total{protocol="froxlor",call="",status="400"}"#,
        r#"panelgate_backup_tasks{state="finished"}"#,
        r#"panelgate_backup_tasks{state="queued"}"#,
        r#"panelgate_db_connections{pool="writer",state="idle"}"#,
        "panelgate_archive_bytes_written_total",
        "# TYPE panelgate_request_duration_seconds histogram",
    ] {
        assert!(text.contains(needle), "{needle} in:\n{text}");
    }
    let distinct_calls: std::collections::HashSet<&str> = text
        .lines()
        .filter(|l| l.starts_with("panelgate_requests_total{"))
        .filter_map(|l| l.split("call=\"").nth(1)?.split('"').next())
        .collect();
    assert!(
        distinct_calls.len() <= panelgate_server::metrics::MAX_CALL_LABELS + 1,
        "{} call labels",
        distinct_calls.len()
    );
}

/// A journal text cut to the journal's text cap (16 KiB and the note of the whole length).
fn capped_text(text: &Value) -> &str {
    let text = text.as_str().unwrap();
    assert!(
        text.ends_with(" bytes in all]") && text.len() < 17_000,
        "{} bytes, ending {}",
        text.len(),
        &text[text.len().saturating_sub(60)..]
    );
    text
}

async fn journal(t: &TestApp, query: &str) -> Vec<Value> {
    let (status, v) = json(t, "GET", &format!("/_panelgate/journal{query}"), "").await;
    assert_eq!(status, 200, "{v}");
    v.as_array().cloned().unwrap_or_default()
}

/// Every panel request is journaled with its call, actor, status, touched entities and each
/// write's change; passwords, keys and session ids are redacted from requests and answers;
/// the journal is filtered, cleared, and kept to its size.
#[tokio::test]
async fn the_journal_records_redacted_requests_with_entities_and_changes() {
    let t = TestApp::demo().await;
    let add = t
        .plesk(
            &panelgate_testkit::plesk_login("admin"),
            "<packet><customer><add><gen_info><pname>Jo Journal</pname><login>jojournal</login><passwd>Sup3r-S3cret!</passwd><email>jo@example.com</email></gen_info></add></customer></packet>",
        )
        .await;
    assert!(add.body.contains("<status>ok</status>"), "{}", add.body);
    let entries = journal(&t, "?protocol=plesk").await;
    assert_eq!(entries.len(), 1, "{entries:?}");
    let e = &entries[0];
    assert_eq!(e["call"], "customer/add");
    assert_eq!(e["actor"], "admin:1");
    assert_eq!(e["status"], 200);
    let request = e["request"].as_str().unwrap();
    assert!(
        request.starts_with("POST /enterprise/control/agent.php"),
        "{request}"
    );
    assert!(
        request.contains("<passwd>***</passwd>") && !request.contains("Sup3r"),
        "{request}"
    );
    assert!(
        e["response"]
            .as_str()
            .unwrap()
            .contains("<status>ok</status>"),
        "{e}"
    );
    let id = e["entities"][0].as_str().unwrap().to_owned();
    assert!(id.starts_with("customer:"), "{e}");
    let created = &e["changes"][0]["change"]["created"];
    assert_eq!(created["loginname"], "jojournal");
    assert_eq!(created["password_hash"], "***");

    // An update through Froxlor: the change names the field, before and after.
    let update = t
        .froxlor(
            ADMIN_KEY,
            r#"{"command":"Customers.update","params":{"loginname":"jojournal","name":"Renamed"}}"#,
        )
        .await;
    assert_eq!(update.status, 200, "{}", update.body);
    let mine = journal(&t, &format!("?entity={id}")).await;
    assert_eq!(mine.len(), 2, "{mine:?}");
    assert_eq!(mine[0]["call"], "Customers.update");
    let name = &mine[0]["changes"][0]["change"]["name"];
    assert_eq!(name["after"], "Renamed", "{mine:?}");
    assert!(
        name["before"].as_str().is_some_and(|b| b != "Renamed"),
        "{name}"
    );
    let changed: Vec<&String> = mine[0]["changes"][0]["change"]
        .as_object()
        .unwrap()
        .keys()
        .collect();
    // Fields that kept their value are not listed.
    assert!(
        changed.iter().all(|k| *k != "email" && *k != "loginname"),
        "{changed:?}"
    );

    // ISPsystem: the password in the query and the session id in the answer are hidden.
    let session = isp_session(&t).await;
    let isp = journal(&t, "?protocol=ispsystem&limit=1").await;
    let text = isp[0].to_string();
    assert!(
        !text.contains("changeme1Q") && !text.contains(&session),
        "{text}"
    );
    assert!(
        isp[0]["request"].as_str().unwrap().contains("password=***"),
        "{text}"
    );

    // Filters: call, status; a bad entity or number is refused.
    assert_eq!(journal(&t, "?call=Customers.update").await.len(), 1);
    assert_eq!(journal(&t, "?status=500").await.len(), 0);
    let since = journal(&t, &format!("?since={}", TEST_EPOCH + 1)).await;
    assert!(since.is_empty(), "{since:?}");
    for bad in ["?entity=customer", "?entity=x:y", "?limit=many"] {
        let (status, _) = json(&t, "GET", &format!("/_panelgate/journal{bad}"), "").await;
        assert_eq!(status, 400, "{bad}");
    }
    // The control API itself is not journaled.
    assert!(journal(&t, "?protocol=control").await.is_empty());

    // A large request is redacted, then cut to the cap.
    let big = format!(
        r#"{{"command":"Customers.get","params":{{"id":1,"password":"hide-me","filler":"{}"}}}}"#,
        "x".repeat(40_000)
    );
    t.froxlor(ADMIN_KEY, &big).await;
    let last = journal(&t, "?call=Customers.get&limit=1").await;
    let request = capped_text(&last[0]["request"]);
    assert!(!request.contains("hide-me"));
    assert!(
        request.contains(r#""password":"***""#),
        "{}",
        &request[..300]
    );

    // A large answer is kept whole on the request path, then redacted and cut when read.
    let filler = "y".repeat(40_000);
    let r = t
        .request(
            "GET",
            &format!("/billmgr?authinfo=admin:changeme1Q**&out=json&func=account&filler={filler}"),
            None,
            "",
        )
        .await;
    assert!(
        r.body.len() > 40_000 && r.body.contains(&filler),
        "{}",
        r.status
    );
    let last = journal(&t, "?protocol=ispsystem&limit=1").await;
    let response = capped_text(&last[0]["response"]);
    assert!(response.starts_with('{') && response.contains("yyyy"));
    assert!(!response.contains("changeme1Q"), "{}", &response[..500]);

    let (status, cleared) = json(&t, "DELETE", "/_panelgate/journal", "").await;
    assert_eq!((status, cleared["removed"].as_u64()), (200, Some(5)));
    assert!(journal(&t, "").await.is_empty());
}

/// The journal keeps its configured number of entries; 0 turns it off.
#[tokio::test]
async fn the_journal_is_bounded_and_can_be_turned_off() {
    use panelgate_core::Limits;
    let small = TestApp::demo_with(
        AppOptions::default(),
        Limits {
            journal_max_entries: 5,
            ..Limits::default()
        },
    )
    .await;
    for _ in 0..70 {
        froxlor_count(&small).await;
    }
    let kept = journal(&small, "?limit=1000").await;
    assert_eq!(kept.len(), 5);

    let off = TestApp::demo_with(
        AppOptions::default(),
        Limits {
            journal_max_entries: 0,
            ..Limits::default()
        },
    )
    .await;
    froxlor_count(&off).await;
    assert!(journal(&off, "").await.is_empty());
}

/// Fault rules make the next matching call fail in each panel's own error shape without
/// running it, fire a given number of times, match an actor, and show in the journal and the
/// metrics; rules are listed and removed.
#[tokio::test]
async fn faults_answer_in_each_panels_error_shape_and_are_journaled() {
    let t = TestApp::demo().await;
    let add = |body: &str| {
        let body = body.to_owned();
        let t = &t;
        async move {
            let (status, v) = json(t, "POST", "/_panelgate/faults", &body).await;
            assert_eq!(status, 201, "{v}");
            v["id"].as_u64().unwrap()
        }
    };
    // Froxlor: once, with the given status.
    add(r#"{"protocol":"froxlor","call":"Customers.list*","times":1,"effect":"error","status":503,"message":"Database gone"}"#).await;
    let failed = t
        .froxlor(ADMIN_KEY, r#"{"command":"Customers.listing"}"#)
        .await;
    assert_eq!(failed.status, 503);
    assert_eq!(
        failed.json(),
        serde_json::json!({"message": "Database gone"})
    );
    assert_eq!(froxlor_count(&t).await, 2, "fired once only");

    // Plesk: a <system> error with the code; the customer is not created.
    add(r#"{"protocol":"plesk","call":"customer/add","effect":"error","code":1013,"message":"Injected"}"#).await;
    let plesk = t
        .plesk(
            &panelgate_testkit::plesk_login("admin"),
            "<packet><customer><add><gen_info><pname>F</pname><login>faulty</login><passwd>Faulty-Pass1</passwd></gen_info></add></customer></packet>",
        )
        .await;
    assert!(
        plesk.body.contains("<system>")
            && plesk.body.contains("<errcode>1013</errcode>")
            && plesk.body.contains("<errtext>Injected</errtext>"),
        "{}",
        plesk.body
    );
    assert!(t
        .core
        .customers()
        .get(
            &t.sys(),
            &panelgate_core::CustomerRef::Login("faulty".into())
        )
        .await
        .is_err());

    // ISPsystem: <error type=…> in the asked format; only for the named actor.
    add(r#"{"protocol":"ispsystem","call":"account","actor":"admin:1","effect":"error","type":"access","message":"No way"}"#).await;
    let isp = t
        .request(
            "GET",
            "/billmgr?authinfo=admin:changeme1Q**&func=account&out=xml",
            None,
            "",
        )
        .await;
    assert!(
        isp.body.contains(r#"<error type="access""#) && isp.body.contains("No way"),
        "{}",
        isp.body
    );
    let customer = t
        .request(
            "GET",
            "/billmgr?authinfo=customer1:changeme1Q**&func=account&out=json",
            None,
            "",
        )
        .await
        .json();
    assert!(
        customer["doc"]["error"].is_null(),
        "another actor is not hit: {customer}"
    );

    // httpapi.com: HTTP 500 with {"status":"ERROR"}.
    add(r#"{"protocol":"httpapi","call":"customers/*","effect":"error","message":"Try later"}"#)
        .await;
    let api = t
        .request(
            "GET",
            "/api/customers/details-by-id.json?auth-userid=2&api-key=demo-httpapi-key&customer-id=1",
            None,
            "",
        )
        .await;
    assert_eq!(api.status, 500);
    assert_eq!(
        api.json(),
        serde_json::json!({"status": "ERROR", "message": "Try later"})
    );

    // A delay: the call runs after it.
    add(r#"{"protocol":"froxlor","call":"Customers.listingCount","times":1,"effect":"delay","delay_ms":150}"#).await;
    let started = std::time::Instant::now();
    let slow = t
        .froxlor(ADMIN_KEY, r#"{"command":"Customers.listingCount"}"#)
        .await;
    assert_eq!(slow.status, 200);
    assert!(started.elapsed() >= Duration::from_millis(150));

    // Journal and metrics see every fired rule.
    let faulted: Vec<Value> = journal(&t, "?limit=50")
        .await
        .into_iter()
        .filter(|e| !e["fault"].as_str().unwrap_or("").is_empty())
        .collect();
    assert_eq!(faulted.len(), 5, "{faulted:?}");
    let metrics = t.control("GET", "/_panelgate/metrics", "").await.body;
    assert!(
        metrics.contains(r#"panelgate_faults_fired_total{protocol="plesk",effect="error"}"#),
        "{metrics}"
    );

    // Listed with their counts; removed one by one or all.
    let (_, rules) = json(&t, "GET", "/_panelgate/faults", "").await;
    assert_eq!(rules.as_array().unwrap().len(), 5);
    assert_eq!(rules[0]["fired"], 1);
    let first = rules[0]["id"].as_u64().unwrap();
    let (status, _) = json(&t, "DELETE", &format!("/_panelgate/faults/{first}"), "").await;
    assert_eq!(status, 200);
    let (status, _) = json(&t, "DELETE", &format!("/_panelgate/faults/{first}"), "").await;
    assert_eq!(status, 404);
    let (_, cleared) = json(&t, "DELETE", "/_panelgate/faults", "").await;
    assert_eq!(cleared["removed"], 4);
    let plesk = t
        .plesk(
            &panelgate_testkit::plesk_login("admin"),
            "<packet><customer><add><gen_info><pname>F</pname><login>faulty</login><passwd>Faulty-Pass1</passwd></gen_info></add></customer></packet>",
        )
        .await;
    assert!(plesk.body.contains("<status>ok</status>"), "{}", plesk.body);

    // Bad rules are refused.
    for bad in [
        r#"{"protocol":"cpanel","effect":"error"}"#,
        r#"{"protocol":"plesk","effect":"explode"}"#,
        r#"{"protocol":"plesk","effect":"error","probability":2}"#,
        r#"{"protocol":"plesk","effect":"delay","delay_ms":600000}"#,
        "not json",
    ] {
        let (status, v) = json(&t, "POST", "/_panelgate/faults", bad).await;
        assert_eq!(status, 400, "{bad}: {v}");
    }
}

/// What depends on time follows the clock the control API moves, with no waiting: a key's
/// `valid_until`, a planned Froxlor backup job, and a task's lease.
#[tokio::test]
async fn keys_jobs_and_leases_follow_the_steered_clock() {
    use panelgate_core::seed::DataSet;
    use panelgate_core::{CredentialKind, NewCredential};
    let t = TestApp::demo().await;
    t.load(&DataSet {
        credentials: vec![NewCredential {
            kind: CredentialKind::Froxlor,
            public_key: "ak_clock".into(),
            secret: "sk_clock".into(),
            admin_id: Some(1),
            customer_id: None,
            allowed_from: String::new(),
            valid_until: TEST_EPOCH + 600,
            description: String::new(),
        }],
        ..DataSet::default()
    })
    .await;
    let listing = r#"{"command":"Customers.listing"}"#;
    assert_eq!(t.froxlor("ak_clock:sk_clock", listing).await.status, 200);

    // A job planned now is due after the job delay (60 s here).
    let planned = t
        .froxlor(
            ADMIN_KEY,
            r#"{"command":"CustomerBackups.add","params":{"path":"/b","loginname":"customer1","backup_web":1}}"#,
        )
        .await;
    assert_eq!(planned.status, 200, "{}", planned.body);
    let worker = Worker::new(t.core.clone()).with_lease(30);
    assert_eq!(worker.schedule_due_jobs(60).await.unwrap(), 0);

    let (status, _) = json(&t, "POST", "/_panelgate/clock", r#"{"advance": 61}"#).await;
    assert_eq!(status, 200);
    assert_eq!(
        worker.schedule_due_jobs(60).await.unwrap(),
        1,
        "the job is due"
    );

    // A claimed task's lease runs out when the clock passes it.
    let claimed = worker.claim().await.unwrap().expect("the job's task");
    let other = Worker::new(t.core.clone());
    assert_eq!(
        other.claim().await.unwrap().map(|c| c.task_id()),
        None,
        "leased"
    );
    json(&t, "POST", "/_panelgate/clock", r#"{"advance": 31}"#).await;
    other.recover_expired().await.unwrap();
    assert_eq!(
        other.claim().await.unwrap().map(|c| c.task_id()),
        Some(claimed.task_id()),
        "the expired lease is taken over"
    );

    // The key expires once the clock passes its valid_until.
    json(&t, "POST", "/_panelgate/clock", r#"{"advance": 600}"#).await;
    let expired = t.froxlor("ak_clock:sk_clock", listing).await;
    assert_ne!(expired.status, 200, "{}", expired.body);
}

/// The four panels' views of the customers, as bytes: Froxlor `Customers.listing`, Plesk
/// `customer/get`, ISPsystem `account` and httpapi.com `customers/search`.
async fn every_view(t: &TestApp) -> Vec<String> {
    let froxlor = t
        .froxlor(ADMIN_KEY, r#"{"command":"Customers.listing"}"#)
        .await;
    let plesk = t
        .plesk(
            &panelgate_testkit::plesk_login("admin"),
            "<packet><customer><get><filter/><dataset><gen_info/><stat/></dataset></get></customer></packet>",
        )
        .await;
    let isp = t
        .request(
            "GET",
            "/billmgr?func=account&authinfo=admin:changeme1Q**&out=xml",
            None,
            "",
        )
        .await;
    let httpapi = t
        .request(
            "GET",
            "/api/customers/search.json?auth-userid=2&api-key=demo-httpapi-key&no-of-records=50&page-no=1",
            None,
            "",
        )
        .await;
    let views = vec![froxlor, plesk, isp, httpapi];
    for v in &views {
        assert_eq!(v.status, 200, "{}", v.body);
    }
    views.into_iter().map(|v| v.body).collect()
}

fn archive_files(t: &TestApp) -> Vec<(String, Vec<u8>)> {
    let root = t.core.storage_dir();
    let mut files: Vec<_> = walkdir::WalkDir::new(&root)
        .into_iter()
        .filter_map(Result::ok)
        .filter(|e| e.file_type().is_file())
        .map(|e| {
            (
                e.path().strip_prefix(&root).unwrap().display().to_string(),
                std::fs::read(e.path()).unwrap(),
            )
        })
        .collect();
    files.sort();
    files
}

/// Snapshot round trip: save; add, change and delete customers through all four APIs and take
/// a backup; restore. Every panel's view is byte-identical to before, the archive files are
/// the same, and new records take the same ids again.
#[tokio::test]
async fn a_snapshot_brings_back_records_homes_and_archives() {
    let t = TestApp::demo().await;
    let home = t.core.home_dir("customer1").unwrap();
    std::fs::create_dir_all(&home).unwrap();
    std::fs::write(home.join("index.html"), "before the snapshot").unwrap();
    let (status, task) = json(&t, "POST", "/_panelgate/backups?scope=customer:1", "").await;
    assert_eq!(status, 201, "{task}");
    Worker::new(t.core.clone()).run_until_idle().await.unwrap();
    let before = every_view(&t).await;
    let files_before = archive_files(&t);
    assert!(!files_before.is_empty());

    let (status, saved) = json(&t, "POST", "/_panelgate/snapshots", r#"{"name":"start"}"#).await;
    assert_eq!(status, 201, "{saved}");
    assert_eq!(saved["rows"]["customers"], 2, "{saved}");
    assert!(saved["files"].as_u64().unwrap() >= 2, "{saved}");
    let (status, again) = json(&t, "POST", "/_panelgate/snapshots", r#"{"name":"start"}"#).await;
    assert_eq!(status, 409, "{again}");
    for bad in [
        r#"{"name":"../up"}"#,
        r#"{"name":".hidden"}"#,
        r#"{"name":""}"#,
        "{}",
    ] {
        let (status, v) = json(&t, "POST", "/_panelgate/snapshots", bad).await;
        assert_eq!(status, 400, "{bad}: {v}");
    }

    // Changes through every panel, a new home file and a second archive.
    let added = t
        .froxlor(
            ADMIN_KEY,
            r#"{"command":"Customers.add","params":{"email":"snap@example.com","firstname":"Snap","name":"Shot","new_loginname":"snapshot1","new_customer_password":"Secret123!x"}}"#,
        )
        .await;
    assert_eq!(added.status, 200, "{}", added.body);
    let added_id = added.json()["data"]["customerid"].clone();
    let changed = t
        .froxlor(
            ADMIN_KEY,
            r#"{"command":"Customers.update","params":{"id":1,"name":"Changed"}}"#,
        )
        .await;
    assert_eq!(changed.status, 200, "{}", changed.body);
    let plesk = t
        .plesk(
            &panelgate_testkit::plesk_login("admin"),
            "<packet><customer><add><gen_info><pname>Plesk Snap</pname><login>plesksnap</login><passwd>Secret123x</passwd></gen_info></add></customer></packet>",
        )
        .await;
    assert!(plesk.body.contains("<status>ok</status>"), "{}", plesk.body);
    let isp = t
        .request(
            "GET",
            "/billmgr?func=account.edit&elid=2&sok=ok&name=Renamed&authinfo=admin:changeme1Q**&out=json",
            None,
            "",
        )
        .await;
    assert!(isp.json()["doc"]["error"].is_null(), "{}", isp.body);
    let signup = t
        .request(
            "POST",
            "/api/customers/signup.json?auth-userid=2&api-key=demo-httpapi-key&username=snap%40example.org&passwd=Secret%21234x&name=Http+Snap&company=Co&address-line-1=Street+1&city=Town&state=S&country=DE&zipcode=10115&phone-cc=49&phone=301234&lang-pref=en",
            None,
            "",
        )
        .await;
    assert_eq!(signup.status, 200, "{}", signup.body);
    let deleted = t
        .froxlor(
            ADMIN_KEY,
            r#"{"command":"Customers.delete","params":{"id":2}}"#,
        )
        .await;
    assert_eq!(deleted.status, 200, "{}", deleted.body);
    std::fs::write(home.join("index.html"), "after the snapshot").unwrap();
    json(&t, "POST", "/_panelgate/backups?scope=customer:1", "").await;
    Worker::new(t.core.clone()).run_until_idle().await.unwrap();
    assert_ne!(every_view(&t).await, before);
    assert_ne!(archive_files(&t), files_before);

    let (status, restored) = json(&t, "POST", "/_panelgate/snapshots/start/restore", "").await;
    assert_eq!(status, 200, "{restored}");
    println!("snapshot restored in {} ms", restored["took_ms"]);
    let after = every_view(&t).await;
    for (b, a) in before.iter().zip(&after) {
        assert_eq!(b, a);
    }
    assert_eq!(archive_files(&t), files_before);
    assert_eq!(
        std::fs::read_to_string(home.join("index.html")).unwrap(),
        "before the snapshot"
    );
    let (_, archives) = json(&t, "GET", "/_panelgate/archives", "").await;
    assert_eq!(archives.as_array().map(Vec::len), Some(1), "{archives}");
    // The sequences came back too: the same add gets the same id.
    let again = t
        .froxlor(
            ADMIN_KEY,
            r#"{"command":"Customers.add","params":{"email":"snap@example.com","firstname":"Snap","name":"Shot","new_loginname":"snapshot1","new_customer_password":"Secret123!x"}}"#,
        )
        .await;
    assert_eq!(again.json()["data"]["customerid"], added_id);

    let (status, list) = json(&t, "GET", "/_panelgate/snapshots", "").await;
    assert_eq!(status, 200);
    assert_eq!(list[0]["name"], "start", "{list}");
    let (status, _) = json(&t, "DELETE", "/_panelgate/snapshots/start", "").await;
    assert_eq!(status, 200);
    let (status, _) = json(&t, "POST", "/_panelgate/snapshots/start/restore", "").await;
    assert_eq!(status, 404);
    let (status, _) = json(&t, "GET", "/_panelgate/snapshots/..", "").await;
    assert_eq!(status, 400);
}

/// Snapshots are bounded by `max_snapshots`.
#[tokio::test]
async fn snapshots_are_bounded() {
    let t = TestApp::demo_with(
        AppOptions::default(),
        panelgate_core::Limits {
            max_snapshots: 1,
            ..panelgate_core::Limits::default()
        },
    )
    .await;
    let (status, _) = json(&t, "POST", "/_panelgate/snapshots", r#"{"name":"one"}"#).await;
    assert_eq!(status, 201);
    let (status, v) = json(&t, "POST", "/_panelgate/snapshots", r#"{"name":"two"}"#).await;
    assert_eq!(status, 409, "{v}");
    assert!(
        v["error"].as_str().unwrap().contains("max_snapshots"),
        "{v}"
    );
}

/// A fault rule: the next Plesk `backup-customer` task fails at `progress` percent.
async fn fail_next_plesk_backup_at(t: &TestApp, progress: i64) {
    let rule = format!(
        r#"{{"protocol":"plesk","call":"backup-manager/backup-customer","effect":"fail_task","progress":{progress},"times":1}}"#
    );
    let (status, rule) = json(t, "POST", "/_panelgate/faults", &rule).await;
    assert_eq!(status, 201, "{rule}");
}

/// A Plesk `backup-customer` of customer1, run to its end by a worker.
async fn back_up_customer1(t: &TestApp) {
    let backup = "<packet><backup-manager><backup-customer><customer-id>1</customer-id><local/><description>b</description></backup-customer></backup-manager></packet>";
    let r = t
        .plesk(&panelgate_testkit::plesk_login("admin"), backup)
        .await;
    assert!(r.body.contains("<status>ok</status>"), "{}", r.body);
    Worker::new(t.core.clone()).run_until_idle().await.unwrap();
}

/// A `fail_task` fault: the backup a Plesk packet starts fails once its progress reaches the
/// rule's percentage, leaves no archive or part behind, and shows in the journal; the next
/// backup (the rule fired its one time) succeeds.
#[tokio::test]
async fn a_fault_fails_a_backup_task_at_a_given_progress() {
    let t = TestApp::demo().await;
    let home = t.core.home_dir("customer1").unwrap();
    std::fs::create_dir_all(&home).unwrap();
    for i in 0..8 {
        std::fs::write(home.join(format!("f{i}.bin")), vec![i as u8; 64 * 1024]).unwrap();
    }
    fail_next_plesk_backup_at(&t, 40).await;
    let (status, bad) = json(
        &t,
        "POST",
        "/_panelgate/faults",
        r#"{"protocol":"plesk","effect":"fail_task","progress":100}"#,
    )
    .await;
    assert_eq!(status, 400, "{bad}");

    for _ in 0..2 {
        back_up_customer1(&t).await;
    }
    let (_, tasks) = json(&t, "GET", "/_panelgate/tasks", "").await;
    let tasks = tasks.as_array().unwrap().clone();
    let first = tasks.iter().find(|t| t["id"] == 1).expect("task 1");
    let second = tasks.iter().find(|t| t["id"] == 2).expect("task 2");
    assert_eq!(first["state"], "failed", "{first}");
    assert_eq!(first["progress"], 40, "{first}");
    assert!(
        first["error"].as_str().unwrap().contains("injected fault"),
        "{first}"
    );
    assert_eq!(second["state"], "finished", "{second}");
    let (_, archives) = json(&t, "GET", "/_panelgate/archives", "").await;
    assert_eq!(archives.as_array().map(Vec::len), Some(1), "{archives}");
    let leftovers: Vec<_> = walkdir::WalkDir::new(t.core.storage_dir())
        .into_iter()
        .filter_map(Result::ok)
        .filter(|e| e.file_name().to_string_lossy().ends_with(".tmp"))
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
    let entries = journal(&t, "?call=backup-manager/backup-customer").await;
    assert_eq!(entries.len(), 2);
    assert_eq!(
        entries
            .iter()
            .filter(|e| e["fault"] == "rule 1: fail_task")
            .count(),
        1,
        "{entries:?}"
    );
}

/// A fault rule for Plesk `customer/add` with a count of one: the next `customer/add` packet is
/// answered with the injected errcode in a packet that validates against Plesk's schema and
/// changes nothing; the one after succeeds. The same through the control API's OpenAPI route:
/// the document is served and names the rule's fields.
#[tokio::test]
async fn a_counted_plesk_fault_fires_once_in_a_schema_valid_packet() {
    let t = TestApp::demo().await;
    let (status, rule) = json(
        &t,
        "POST",
        "/_panelgate/faults",
        r#"{"protocol":"plesk","call":"customer/add","times":1,"effect":"error","code":1013,"message":"Injected by a test"}"#,
    )
    .await;
    assert_eq!(status, 201, "{rule}");
    let add = "<packet><customer><add><gen_info><pname>Once</pname><login>once</login><passwd>Once-Pass123</passwd></gen_info></add></customer></packet>";
    let login = panelgate_testkit::plesk_login("admin");
    let first = t.plesk(&login, add).await;
    assert!(
        first.body.contains("<errcode>1013</errcode>")
            && first.body.contains("<errtext>Injected by a test</errtext>"),
        "{}",
        first.body
    );
    crate::plesk::validate(&first.body);
    assert_eq!(froxlor_count(&t).await, 2, "nothing was created");
    let second = t.plesk(&login, add).await;
    assert!(
        second.body.contains("<status>ok</status>"),
        "{}",
        second.body
    );
    crate::plesk::validate(&second.body);
    assert_eq!(froxlor_count(&t).await, 3);
    let (_, rules) = json(&t, "GET", "/_panelgate/faults", "").await;
    assert_eq!(rules[0]["fired"], 1, "{rules}");

    let (status, doc) = json(&t, "GET", "/_panelgate/openapi.json", "").await;
    assert_eq!(status, 200);
    assert!(
        doc["paths"]["/_panelgate/faults"]["post"].is_object(),
        "{doc}"
    );
    assert!(doc["components"]["schemas"]["Rule"]["properties"]["times"].is_object());
}

/// A call named by request text (an ISPsystem `func` of 1,000 characters) is kept cut to its
/// column's size: the entry is journaled on every backend (a longer value would fail the
/// database's insert, and the entries batched with it), and later requests are too.
#[tokio::test]
async fn a_long_call_name_is_cut_not_lost() {
    let t = TestApp::demo().await;
    let func = "x".repeat(1000);
    t.request(
        "GET",
        &format!("/billmgr?func={func}&authinfo=admin:changeme1Q**&out=json"),
        None,
        "",
    )
    .await;
    t.froxlor(ADMIN_KEY, r#"{"command":"Customers.listing"}"#)
        .await;
    t.core.journal().flush().await;
    let entries = journal(&t, "?protocol=ispsystem").await;
    assert_eq!(entries.len(), 1, "{entries:?}");
    let call = entries[0]["call"].as_str().unwrap();
    assert!(call.len() <= 250 && call.starts_with("xxx"), "{call}");
    assert_eq!(journal(&t, "?protocol=froxlor").await.len(), 1);
}

/// A `fail_task` fault reaches the task its request starts with the journal off too (the
/// request's scope is the core's, not the journal's), and fails a task with no files to read.
#[tokio::test]
async fn a_fail_task_fault_works_with_the_journal_off() {
    let t = TestApp::demo_with(
        AppOptions::default(),
        panelgate_core::Limits {
            journal_max_entries: 0,
            ..Default::default()
        },
    )
    .await;
    assert!(!t.core.journal().enabled());
    // A customer without a home: no file bytes to reach the progress with.
    fail_next_plesk_backup_at(&t, 10).await;
    back_up_customer1(&t).await;
    let (_, task) = json(&t, "GET", "/_panelgate/tasks/1", "").await;
    assert_eq!(task["state"], "failed", "{task}");
    assert!(
        task["error"].as_str().unwrap().contains("injected fault"),
        "{task}"
    );
}

/// Following the journal: oldest first after an id, page by page, reaches every entry once and
/// in order (what `panelgate journal --follow` does), however many arrived between two reads.
#[tokio::test]
async fn the_journal_is_followed_page_by_page_without_skipping() {
    let t = TestApp::demo().await;
    for _ in 0..7 {
        t.froxlor(ADMIN_KEY, r#"{"command":"Customers.listing"}"#)
            .await;
    }
    let (mut seen, mut last) = (Vec::new(), 0);
    loop {
        let page = journal(&t, &format!("?order=asc&limit=3&after={last}")).await;
        if page.is_empty() {
            break;
        }
        for e in &page {
            let id = e["id"].as_i64().unwrap();
            assert!(id > last, "{id} after {last}");
            last = id;
            seen.push(id);
        }
    }
    assert_eq!(seen.len(), 7, "{seen:?}");
    let newest = journal(&t, "?limit=1").await;
    assert_eq!(newest[0]["id"].as_i64(), seen.last().copied());
    let (status, _) = json(&t, "GET", "/_panelgate/journal?order=sideways", "").await;
    assert_eq!(status, 400);
}

/// A snapshot leaves out archives still being written (`.tmp`, no row yet); a folder under a
/// name without a manifest (a copy cut short) does not keep the name; a delete cut short
/// leaves nothing behind after the next save.
#[tokio::test]
async fn snapshots_skip_unfinished_files_and_leftovers() {
    let t = TestApp::demo().await;
    let storage = t.core.storage_dir();
    std::fs::create_dir_all(&storage).unwrap();
    std::fs::write(storage.join("half.tar.gz.tmp"), b"being written").unwrap();
    let root = t.core.snapshots().dir();
    std::fs::create_dir_all(root.join("taken")).unwrap();
    std::fs::write(root.join("taken/records.jsonl"), b"").unwrap();
    std::fs::create_dir_all(root.join(".deleting-gone-1")).unwrap();
    let (status, saved) = json(&t, "POST", "/_panelgate/snapshots", r#"{"name":"taken"}"#).await;
    assert_eq!(status, 201, "{saved}");
    assert!(!root.join(".deleting-gone-1").exists());
    let copied: Vec<_> = walkdir::WalkDir::new(root.join("taken"))
        .into_iter()
        .filter_map(Result::ok)
        .filter(|e| e.file_name().to_string_lossy().ends_with(".tmp"))
        .collect();
    assert!(copied.is_empty(), "{copied:?}");
    let (status, _) = json(&t, "DELETE", "/_panelgate/snapshots/taken", "").await;
    assert_eq!(status, 200);
    let left: Vec<_> = std::fs::read_dir(&root)
        .unwrap()
        .flatten()
        .map(|e| e.file_name())
        .collect();
    assert!(left.is_empty(), "{left:?}");
}
