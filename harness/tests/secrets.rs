//! No password in any output: every libpq spelling of a password (key = value with spaces,
//! quoted with spaces and escapes, URL user info, URL parameter, PGPASSWORD) is used for a real
//! run against a server that demands it, and the password appears in no file of the results
//! folder, no line of stdout or stderr, and no error.

mod common;

use std::path::Path;
use std::process::Command;

use habench::pg::wire;
use habench::topology::{AnyTopology, TopologyKind, TopologySpec};

const PLAIN: &str = "hunter2xyz";
/// With a space, a quote and a backslash: only a quoted or URL-encoded form can carry it.
const TRICKY: &str = r"s3cr3tq Pw'9\z";

/// Every file below `dir`, read as bytes.
fn files(dir: &Path) -> Vec<(String, Vec<u8>)> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).unwrap().flatten() {
        let p = e.path();
        if p.is_dir() {
            out.extend(files(&p));
        } else {
            out.push((p.display().to_string(), std::fs::read(&p).unwrap()));
        }
    }
    out
}

fn leaks(haystack: &[u8], password: &str) -> bool {
    // The whole password, and each word of it of 4 or more characters.
    let text = String::from_utf8_lossy(haystack);
    text.contains(password) || password.split([' ', '\'', '\\']).any(|w| w.len() >= 4 && text.contains(w))
}

fn run(dsn: &str, env_password: Option<&str>, out: &Path) -> std::process::Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_habench"));
    // A warm-up: the publishers' SCRAM key derivation (CPU work on their threads, slow in a debug
    // build) would otherwise stall them inside the measured phase and compromise the run.
    cmd.args(["run", "quick", "--duration", "1s", "--warmup", "1s", "--quiet", "--target-dsn", dsn])
        .arg("--out")
        .arg(out)
        .env_remove("PGPASSWORD");
    if let Some(pw) = env_password {
        cmd.env("PGPASSWORD", pw);
    }
    cmd.output().unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn no_spelling_of_a_password_reaches_any_output() {
    let topo = AnyTopology::up(common::env(), TopologySpec::new(TopologyKind::Single)).await.unwrap();
    let node = topo.as_topology().primary();
    let port = node.port();
    let admin_cfg: tokio_postgres::Config = node.dsn().parse().unwrap();
    let mut admin = wire::connect(&admin_cfg, std::time::Duration::from_secs(5)).await.unwrap();
    let tricky_sql = TRICKY.replace('\'', "''");
    admin
        .query_value(&format!(
            "SET password_encryption = 'scram-sha-256'; \
             CREATE ROLE plain_user LOGIN SUPERUSER PASSWORD '{PLAIN}'; \
             CREATE ROLE tricky_user LOGIN SUPERUSER PASSWORD E'{}'",
            tricky_sql.replace('\\', "\\\\")
        ))
        .await
        .unwrap();
    let hba = node.data_dir().join("pg_hba.conf");
    let old = std::fs::read_to_string(&hba).unwrap();
    std::fs::write(&hba, format!("host all plain_user,tricky_user 127.0.0.1/32 scram-sha-256\n{old}")).unwrap();
    admin.query_value("SELECT pg_reload_conf()").await.unwrap();
    // The reload is asynchronous: wait until a password-less login is refused.
    common::poll("the scram rule", std::time::Duration::from_secs(10), || async {
        let cfg: tokio_postgres::Config =
            format!("host=127.0.0.1 port={port} user=plain_user dbname=postgres").parse().unwrap();
        wire::connect(&cfg, std::time::Duration::from_secs(5)).await.err()
    })
    .await;

    let quoted = TRICKY.replace('\\', r"\\").replace('\'', r"\'");
    let encoded = "s3cr3tq%20Pw%279%5Cz";
    let forms: Vec<(String, Option<&str>, &str)> = vec![
        (format!("host=127.0.0.1 port={port} user=plain_user password = {PLAIN} dbname=postgres"), None, PLAIN),
        (format!("host=127.0.0.1 port={port} user=tricky_user password='{quoted}' dbname=postgres"), None, TRICKY),
        (format!("postgresql://tricky_user:{encoded}@127.0.0.1:{port}/postgres"), None, TRICKY),
        (format!("postgres://127.0.0.1:{port}/postgres?user=plain_user&password={PLAIN}"), None, PLAIN),
        (format!("host=127.0.0.1 port={port} user=plain_user dbname=postgres"), Some(PLAIN), PLAIN),
    ];
    let root = common::TempDir::new("secrets", "forms");
    for (i, (dsn, env_pw, password)) in forms.iter().enumerate() {
        // A run that works: every file it writes is clean.
        let out_dir = root.join(format!("form-{i}"));
        let out = run(dsn, *env_pw, &out_dir);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(out.status.success(), "form {i} should authenticate and run: {stderr}");
        assert!(!leaks(&out.stdout, password) && !leaks(&out.stderr, password), "form {i}: stdout/stderr leak");
        let written = files(&out_dir);
        assert!(written.len() >= 5, "form {i}: a full results folder: {}", written.len());
        for (path, bytes) in &written {
            assert!(!leaks(bytes, password), "form {i}: {path} holds the password");
        }
        let manifest = std::fs::read_to_string(out_dir.join("manifest.json")).unwrap();
        assert!(manifest.contains("password=***"), "form {i}: the manifest says a password was given");

        // A run that fails (nothing listens on the port): the error is clean too.
        let dead = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let bad = dsn.replace(&port.to_string(), &dead.to_string());
        let out = run(&bad, *env_pw, &root.join(format!("form-{i}-dead")));
        assert!(!out.status.success(), "form {i}: a dead port fails");
        assert!(!leaks(&out.stdout, password) && !leaks(&out.stderr, password), "form {i}: error leaks");
        assert!(String::from_utf8_lossy(&out.stderr).contains("error:"), "form {i}: an error is printed");

        // A connection string that does not parse: refused naming the flag, without the password.
        let broken = format!("{dsn} port=notaport");
        let out = run(&broken, *env_pw, &root.join(format!("form-{i}-broken")));
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success() && !leaks(&out.stderr, password), "form {i}: {stderr}");
    }
}
