//! `panelgate import` (issue 11): a JSON-lines data set loaded by the real binary in batches,
//! then served; bad lines, taken logins and a second process on one SQLite file refused.

use std::io::Write;
use std::process::{Command, Output};

use base64::Engine;

mod support;
use support::start_with;

/// The demo data's stored hash of `changeme1Q**`.
fn demo_hash() -> String {
    panelgate_server::demo_data().expect("the demo data").hashes["changeme1Q**"].clone()
}

fn import(data: &std::path::Path, file: &std::path::Path) -> Output {
    Command::new(env!("CARGO_BIN_EXE_panelgate"))
        .arg("import")
        .arg(file)
        .arg("--data-dir")
        .arg(data)
        .args(["--password-hashing", "fast"])
        .env("PANELGATE_LOG", "warn")
        .output()
        .expect("run panelgate import")
}

const ADMIN: &str = r#"{"admin":{"id":1,"loginname":"admin","password":"changeme1Q**","name":"A","email":"a@example.org","customers_see_all":true,"change_serversettings":true,"customers":-1}}"#;
const KEY: &str =
    r#"{"credential":{"kind":"froxlor","public_key":"k","secret":"s3cret","admin_id":1}}"#;

fn write_lines(path: &std::path::Path, lines: &[String]) {
    let mut f = std::fs::File::create(path).unwrap();
    for l in lines {
        writeln!(f, "{l}").unwrap();
    }
}

fn customer(i: usize, hash: &str) -> String {
    format!(
        r#"{{"customer":{{"loginname":"imp{i}","password_hash":"{hash}","admin":1,"name":"Imported {i}","email":"imp{i}@example.net","create_std_subdomain":{}}}}}"#,
        i.is_multiple_of(2)
    )
}

fn froxlor(addr: &str, body: &str) -> serde_json::Value {
    let auth = base64::engine::general_purpose::STANDARD.encode("k:s3cret");
    let mut s = std::net::TcpStream::connect(addr).unwrap();
    write!(
        s,
        "POST /api.php HTTP/1.1\r\nHost: x\r\nAuthorization: Basic {auth}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )
    .unwrap();
    let mut out = String::new();
    std::io::Read::read_to_string(&mut s, &mut out).unwrap();
    let body = out.split("\r\n\r\n").nth(1).unwrap_or_default();
    serde_json::from_str(body).unwrap_or_else(|e| panic!("{e}: {out}"))
}

#[test]
fn a_json_lines_data_set_is_imported_in_batches_and_served() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let file = dir.path().join("set.jsonl");
    let hash = demo_hash();
    let mut lines = vec![
        r#"{"setting":{"name":"api.enabled","value":"1"}}"#.to_owned(),
        ADMIN.to_owned(),
        KEY.to_owned(),
    ];
    // 2,500 customers: three batches, half with a standard subdomain.
    lines.extend((0..2500).map(|i| customer(i, &hash)));
    // One with a plain password (hashed on import), after the batches.
    lines.push(r#"{"customer":{"loginname":"plain","password":"An0ther-Secret","admin":1,"create_std_subdomain":false}}"#.to_owned());
    write_lines(&file, &lines);

    let out = import(&data, &file);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        stdout.contains("imported 2504 records (2501 customers)"),
        "{stdout}"
    );

    let server = start_with(&data, &["--no-demo"]);
    let all = froxlor(&server.addr, r#"{"command":"Customers.listing"}"#);
    assert_eq!(all["data"]["count"], 2501, "{all}");
    let one = froxlor(
        &server.addr,
        r#"{"command":"Customers.get","params":{"loginname":"imp2498"}}"#,
    );
    let c = &one["data"];
    assert_eq!(c["email"], "imp2498@example.net", "{one}");
    assert_eq!(c["customerid"], 2499, "ids follow the file order: {one}");
    assert!(c["standardsubdomain"].as_i64().unwrap() > 0, "{one}");
    let admin = froxlor(
        &server.addr,
        r#"{"command":"Admins.get","params":{"id":1}}"#,
    );
    assert_eq!(admin["data"]["customers_used"], 2501, "{admin}");

    // Both passwords open the accounts (the stored hash kept, the plain one hashed).
    for (login, password) in [("imp7", "changeme1Q**"), ("plain", "An0ther-Secret")] {
        let mut s = std::net::TcpStream::connect(&server.addr).unwrap();
        let packet = "<packet><server><get><gen_info/></get></server></packet>";
        write!(
            s,
            "POST /enterprise/control/agent.php HTTP/1.1\r\nHost: x\r\nHTTP_AUTH_LOGIN: {login}\r\nHTTP_AUTH_PASSWD: {password}\r\nContent-Type: text/xml\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{packet}",
            packet.len()
        )
        .unwrap();
        let mut out = String::new();
        std::io::Read::read_to_string(&mut s, &mut out).unwrap();
        // A customer may not read server info, but it is authenticated: not error 1001.
        assert!(!out.contains("<errcode>1001</errcode>"), "{login}: {out}");
    }
}

#[test]
fn a_bad_line_or_a_taken_login_stops_the_import_with_its_line() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let file = dir.path().join("bad.jsonl");
    let hash = demo_hash();
    write_lines(
        &file,
        &[
            ADMIN.to_owned(),
            customer(1, &hash),
            "{\"customer\": oops}".to_owned(),
        ],
    );
    let out = import(&data, &file);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(stderr.contains("line 3"), "{stderr}");

    // A login taken twice in one batch: nothing of the batch is written.
    let file = dir.path().join("dup.jsonl");
    write_lines(
        &file,
        &[customer(5, &hash), customer(6, &hash), customer(5, &hash)],
    );
    let out = import(&data, &file);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(stderr.contains("imp5"), "{stderr}");
    let file = dir.path().join("key.jsonl");
    write_lines(&file, &[KEY.to_owned()]);
    assert!(import(&data, &file).status.success());
    let server = start_with(&data, &["--no-demo"]);
    let all = froxlor(&server.addr, r#"{"command":"Customers.listing"}"#);
    // imp1 came before the bad line; the duplicate batch left nothing.
    assert_eq!(all["data"]["count"], 1, "{all}");

    // A hash that is not argon2 is refused.
    drop(server);
    let file = dir.path().join("hash.jsonl");
    write_lines(&file, &[customer(9, "md5:abc")]);
    let out = import(&data, &file);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("argon2"));
}

#[test]
fn import_is_refused_while_a_server_uses_the_sqlite_file() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let server = start_with(&data, &[]);
    let file = dir.path().join("one.jsonl");
    write_lines(&file, &[customer(1, &demo_hash())]);
    let out = import(&data, &file);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(
        stderr.contains("in use by another panelgate process"),
        "{stderr}"
    );
    drop(server);
    assert!(import(&data, &file).status.success());
}
