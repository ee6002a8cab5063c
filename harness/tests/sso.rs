//! The SSO master secret on real servers: a separate secret server that goes down under load
//! (deliveries go on decrypting with the cached secret, encryptions fail for the outage, a host
//! instance restarted during it cannot start until it ends), and one co-located on the
//! MessageBox whose writes the database holds.

mod common;

use common::kept::{read_json, Kept};

#[test]
fn a_secret_server_outage_fails_encryptions_not_deliveries_and_holds_a_restarting_instance() {
    let out = common::TempDir::new("sso", "separate");
    // quick: 3 s warm-up, so the outage is 5-10 s and the kill at 6 s on the run's clock.
    let k = Kept::run(
        &out,
        &[
            "--sso",
            "separate",
            "--sso-refresh",
            "1s",
            "--duration",
            "12s",
            "--fault",
            "sso-outage@2s:5s",
            "--fault",
            "kill-host-instance@3s",
        ],
    );
    let s = read_json(&out.join("summary.json"));
    assert_eq!(s["check"]["valid"], true, "{}", s["check"]);
    let m = read_json(&out.join("manifest.json"));
    assert!(m["sso_server"]["port"].as_u64().unwrap() > 0, "the manifest names the secret server: {}", m["sso_server"]);
    // --keep keeps the secret server too, and says where it is.
    let kept = k.info["sso_server"]["port"].as_u64().expect("the kept secret server");
    let dsn = format!("host=127.0.0.1 port={kept} user=postgres dbname=postgres");
    let held = k.query_on(&dsn, "SELECT count(*) FROM sso.credentials")[0][0].parse::<u64>().unwrap();
    let x = &s["sso"];
    assert_eq!(x["mode"], "separate");
    let outage = &x["outages"][0];
    let (from, to) = (outage["from_s"].as_f64().unwrap(), outage["to_s"].as_f64().expect("the server came back"));
    assert!((4.9..5.5).contains(&from) && to - from >= 5.0, "{outage}");
    assert!(x["decryptions_ok"].as_u64().unwrap() > 0, "{x}");
    assert_eq!(x["decryptions_failed"], 0, "the cached secret decrypts throughout: {x}");
    let not_done = x["encryptions_failed"].as_u64().unwrap() + x["encryptions_unknown"].as_u64().unwrap();
    // 2 changes a second for the 5 s outage; none outside it.
    assert!(not_done >= 8, "{x}");
    let (f0, f1) = (x["encrypt_failing_from_s"].as_f64().unwrap(), x["encrypt_failing_to_s"].as_f64().unwrap());
    assert!(f0 >= from && f1 <= to + 0.5, "failures only during the outage: {f0}-{f1} vs {from}-{to}");
    // The secret server's own count: every acknowledged encryption is there.
    let ok = x["encryptions_ok"].as_u64().unwrap();
    assert_eq!(x["server_credentials"].as_u64(), Some(held), "the summary's count is the kept server's");
    assert!(ok > 0 && (ok..=ok + x["encryptions_unknown"].as_u64().unwrap()).contains(&held), "{x}");
    assert!(x["refreshes_failed"].as_u64().unwrap() > 0, "re-syncs failed during the outage and kept the cache");
    // The killed host instance restarted 2 s after its death, inside the outage: it waited for
    // the secret until the server was back.
    let start = &x["starts"][0];
    assert_eq!(x["starts_blocked"], 1, "{x}");
    let got_at = start["at_s"].as_f64().unwrap() + start["waited_ms"].as_f64().unwrap() / 1e3;
    assert!(start["failed_attempts"].as_u64().unwrap() >= 1 && got_at >= to, "{start} vs outage end {to}");
    let report = std::fs::read_to_string(out.join("report.md")).unwrap();
    assert!(report.contains(&format!("**SSO secret**: {not_done} encryptions failed")), "the headline says it");
    assert!(report.contains("## SSO master secret"));
}

#[test]
fn a_co_located_secret_lives_in_the_messagebox_database() {
    let out = common::TempDir::new("sso", "co-located");
    let k = Kept::run(&out, &["--sso", "co-located", "--duration", "4s"]);
    let s = read_json(&out.join("summary.json"));
    let x = &s["sso"];
    assert_eq!((x["mode"].as_str(), x["encryptions_failed"].as_u64()), (Some("co-located"), Some(0)), "{x}");
    let rows = k.query("SELECT count(*) FROM sso.credentials")[0][0].parse::<u64>().unwrap();
    assert_eq!(rows, x["encryptions_ok"].as_u64().unwrap(), "the MessageBox's cluster holds every encryption");
    assert_eq!(x["server_credentials"].as_u64(), Some(rows));
}
