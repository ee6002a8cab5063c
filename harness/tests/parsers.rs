//! Every parser that takes user text, fed random and adversarial input: it never panics, and
//! every refusal names the flag or the scenario key it came from. Each parser gets at least
//! `CASES` inputs; the counts are printed (and written to `$CARGO_TARGET_TMPDIR/parser-cases/`,
//! which `.ci/run` prints).

use std::sync::atomic::{AtomicU64, Ordering};

use clap::Parser;
use habench::cli::Cli;
use habench::config::{Overrides, RunConfig};
use proptest::prelude::*;
use proptest::test_runner::{Config, TestCaseError, TestRunner};

const CASES: u32 = 10_000;

/// Text a user could type, weighted towards the characters each parser cares about.
fn text(alphabet: &'static str) -> BoxedStrategy<String> {
    prop_oneof![
        3 => proptest::string::string_regex(alphabet).unwrap(),
        1 => any::<String>(),
        1 => proptest::string::string_regex("[0-9]{15,40}[a-z]{0,5}").unwrap(),
    ]
    .boxed()
}

/// Runs `check` on `CASES` inputs, then reports how many it ran.
fn fuzz(name: &str, strategy: BoxedStrategy<String>, check: impl Fn(&str) -> Result<(), String>) {
    let count = AtomicU64::new(0);
    let mut runner = TestRunner::new(Config { cases: CASES, failure_persistence: None, ..Config::default() });
    let result = runner.run(&strategy, |input| {
        count.fetch_add(1, Ordering::Relaxed);
        let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| check(&input)));
        match outcome {
            Ok(Ok(())) => Ok(()),
            Ok(Err(why)) => Err(TestCaseError::fail(format!("{input:?}: {why}"))),
            Err(_) => Err(TestCaseError::fail(format!("{input:?}: panicked"))),
        }
    });
    let n = count.load(Ordering::Relaxed);
    if let Err(e) = result {
        panic!("{name}: {e}");
    }
    assert!(n >= u64::from(CASES), "{name}: only {n} cases ran");
    let line = format!("parser {name}: {n} random and adversarial cases, no panic, every error named its source");
    eprintln!("{line}");
    let dir = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("parser-cases");
    let _ = std::fs::create_dir_all(&dir);
    let _ = std::fs::write(dir.join(name), format!("{line}\n"));
}

/// A flag's value through the real command line: accepted, or refused naming the flag.
fn flag(args: &[&str], flag: &str, value: &str) -> Result<(), String> {
    // `--flag=value`: a value that starts with `-` is still the flag's value.
    let joined = format!("{flag}={value}");
    let mut argv: Vec<&str> = vec!["habench"];
    argv.extend(args);
    argv.push(&joined);
    match Cli::try_parse_from(&argv) {
        Ok(_) => Ok(()),
        Err(e) => {
            let msg = e.to_string();
            if msg.contains(flag) {
                Ok(())
            } else {
                Err(format!("the error does not name {flag}: {msg}"))
            }
        }
    }
}

#[test]
fn durations() {
    fuzz("duration", text("[0-9.]{0,8}(us|ms|s|m|min|h|d|)?[ ]?"), |v| flag(&["run"], "--duration", v));
}

#[test]
fn link_specs() {
    fuzz("link", text("[a-z0-9]{0,3}=?((delay|jitter|bandwidth|x):[0-9.]{0,6}(ms|s|mbit|kbit|gbit|)?,?){0,3}"), |v| {
        flag(&["run"], "--link", v)
    });
}

#[test]
fn cpu_lists() {
    fuzz("cpu-list", text("[a-z0-9]{0,3}=[0-9,\\- ]{0,12}"), |v| flag(&["run"], "--pin", v));
}

#[test]
fn fault_specs() {
    fuzz("fault", text("(kill-primary|pause-primary|slow-link|nope)?@?[0-9.]{0,5}(ms|s|m)?:?[0-9]{0,3}s?"), |v| {
        flag(&["run"], "--fault", v)
    });
}

#[test]
fn report_mixes() {
    fuzz("report-mix", text("((counts|lookup|scan|x)=?[0-9\\-]{0,11},?){0,4}"), |v| flag(&["run"], "--report-mix", v));
}

#[test]
fn server_settings() {
    fuzz("pg-set", text("[a-z_.0-9 ]{0,10}=?[a-zA-Z0-9 ']{0,8}"), |v| flag(&["run"], "--pg-set", v));
}

#[test]
fn connection_strings() {
    fuzz(
        "dsn",
        text("(postgres(ql)?://)?([a-z]{1,4}(:[a-z%0-9]{0,6})?@)?([a-z0-9.]{0,6}(:[0-9a-z]{0,6})?)?(/[a-z]{0,4})?(\\?[a-z_]{0,8}=[a-z0-9%]{0,6})?|(host|port|password|user|sslmode|x) ?= ?'?[a-z0-9 \\\\']{0,8}'? ?"),
        |v| {
            let args = Overrides { target_dsn: Some(v.to_string()), ..Default::default() };
            match RunConfig::from_overrides(&args) {
                Ok(_) => Ok(()),
                Err(e) if e.to_string().starts_with("--target-dsn: ") => Ok(()),
                Err(e) => Err(format!("the error does not start with --target-dsn: {e}")),
            }
        },
    );
}

/// Scenario text: known tables and keys with adversarial values, and plain noise.
fn scenario_text() -> BoxedStrategy<String> {
    let key = prop_oneof![
        Just("name"),
        Just("duration"),
        Just("warmup"),
        Just("trials"),
        Just("seed"),
        Just("[load]\nrate"),
        Just("[load]\nclients"),
        Just("[load]\nop_timeout"),
        Just("[topology]\nkind"),
        Just("[topology]\nstandbys"),
        Just("[topology]\narchive_timeout"),
        Just("[reports]\nrate"),
        Just("[reports]\nmix"),
        Just("[orchestrator]\nprobe_interval"),
        Just("[[variants]]\nname"),
        Just("[[faults]]\nkind = \"pause-primary\"\nat"),
        Just("[messagebox]\ncleanup_interval"),
    ];
    let value = prop_oneof![
        proptest::string::string_regex("\"[a-z0-9./ -]{0,12}\"").unwrap(),
        proptest::string::string_regex("-?[0-9]{1,25}(\\.[0-9]{1,3})?").unwrap(),
        Just("\"../../x\"".to_string()),
        Just("\"1500ms\"".to_string()),
        Just("\"99999999999999999999h\"".to_string()),
        Just("nan".to_string()),
        Just("inf".to_string()),
        Just("true".to_string()),
        Just("[]".to_string()),
    ];
    prop_oneof![
        4 => proptest::collection::vec((key, value), 1..4)
            .prop_map(|kvs| kvs.iter().map(|(k, v)| format!("{k} = {v}\n")).collect::<String>()),
        1 => any::<String>(),
    ]
    .boxed()
}

#[test]
fn scenario_files() {
    fuzz("scenario-toml", scenario_text(), |text| {
        match RunConfig::variants_from_text(&Overrides::default(), "s.toml", text) {
            Ok(_) => Ok(()),
            Err(e) if e.to_string().starts_with("s.toml") => Ok(()),
            Err(e) => Err(format!("the error does not name the file: {e}")),
        }
    });
}

/// Cluster files (`--cluster`): node commands as text or `{ run, timeout }`, file and command
/// timeouts, the DCS's commands. A refusal names the file and, for a bad timeout or command
/// table, the key.
#[test]
fn cluster_files() {
    let value = prop_oneof![
        Just("\"true\"".to_string()),
        proptest::string::string_regex("\"[0-9.]{0,5}(ms|s|m|h|x|)\"").unwrap(),
        proptest::string::string_regex("\\{ ?(run|timeout|timout) ?= ?\"[a-z0-9 ]{0,6}\" ?(, ?(timeout|run|x) ?= ?(\"[0-9.]{0,4}(ms|s|h|)\"|[0-9]{1,3}))? ?\\}").unwrap(),
        proptest::string::string_regex("[0-9]{1,3}|\\[\\]|\\{\\}").unwrap(),
        any::<String>(),
    ];
    let key = prop_oneof![Just("timeout"), Just("pause"), Just("resume"), Just("crash"), Just("kill"), Just("explode")];
    let url = prop_oneof![
        proptest::string::string_regex(
            "\"(https?|ftp)?(://)?(\\[[0-9a-f:]{0,6}\\]|[a-z0-9.]{0,8})(:[0-9a-z]{0,6})?(/[a-z]{0,3})?\""
        )
        .unwrap(),
        proptest::string::string_regex("\"https?://[a-z]{1,3}:[a-z0-9]{1,4}@h:8008\"").unwrap(),
        Just("\"http://[::1]:8008\"".to_string()),
        Just("\"https://127.0.0.1:8008\"".to_string()),
    ];
    let rest_key = prop_oneof![
        Just("ca_file"),
        Just("cert_file"),
        Just("key_file"),
        Just("username"),
        Just("password"),
        Just("cafile")
    ];
    let file = prop_oneof![
        Just("\"/nonexistent/ca.pem\"".to_string()),
        Just("\"/etc/hostname\"".to_string()),
        Just("\"/etc\"".to_string()),
        Just("\"\"".to_string()),
        proptest::string::string_regex("\"[a-z/.]{0,10}\"|[0-9]{1,3}").unwrap(),
    ];
    let node = "[[nodes]]\nname = \"n1\"\ndsn = \"host=h port=5432 user=u dbname=d\"\n";
    let commands = (key, value, 0..3usize)
        .prop_map(move |(k, v, at)| match at {
            0 => format!("{k} = {v}\n{node}"),
            1 => format!("{node}[nodes.commands]\n{k} = {v}\n"),
            _ => format!("{node}[dcs]\n{k} = {v}\n"),
        })
        .boxed();
    let urls = url.prop_map(move |u| format!("{node}patroni = {u}\n")).boxed();
    let rest = (rest_key, file, any::<bool>())
        .prop_map(move |(k, f, https)| {
            let url = if https { "patroni = \"https://h:8008\"\n" } else { "" };
            format!("{node}{url}[rest]\n{k} = {f}\n")
        })
        .boxed();
    let strategy = prop_oneof![2 => commands, 1 => urls, 1 => rest].boxed();
    fuzz("cluster-file", strategy, |text| match habench::cluster::ClusterFile::parse("c.toml", text) {
        Ok(c) => {
            let all = c.nodes.iter().flat_map(|n| n.commands.values()).chain(c.dcs.values());
            match all.clone().find(|cmd| {
                cmd.timeout < std::time::Duration::from_millis(100)
                    || cmd.timeout > std::time::Duration::from_secs(3600)
            }) {
                Some(cmd) => Err(format!("a timeout out of range was taken: {cmd:?}")),
                None => Ok(()),
            }
        }
        Err(e) if !e.starts_with("c.toml: ") => Err(format!("the error does not name the file: {e}")),
        Err(e)
            if text.contains("[rest]\n")
                && !text.contains("cafile")
                && !e.contains("rest.")
                && !e.contains("patroni")
                && !e.contains(": line ") =>
        {
            Err(format!("a [rest] refusal names no key: {e}"))
        }
        Err(e)
            if text.contains("@h:8008")
                && e.contains(':')
                && text.split('"').any(|p| p.len() > 1 && e.contains(p) && p.contains('@')) =>
        {
            Err(format!("a URL's credentials are shown: {e}"))
        }
        Err(e) if text.contains("timeout = \"") && e.contains("not a duration") && !e.contains("timeout") => {
            Err(format!("a bad timeout's error does not name the key: {e}"))
        }
        Err(_) => Ok(()),
    });
}

#[test]
fn harness_stall_limits() {
    fuzz("max-harness-stall", text("[0-9.]{0,8}(us|ms|s|m|h|)?"), |v| {
        let Ok(d) = habench_workloads::duration::parse_duration(v) else {
            return flag(&["run"], "--max-harness-stall", v);
        };
        let args = Overrides { max_harness_stall: Some(d), ..Default::default() };
        match RunConfig::from_overrides(&args) {
            Ok(c) if c.max_harness_stall >= std::time::Duration::from_millis(50) => Ok(()),
            Ok(c) => Err(format!("{:?} was taken", c.max_harness_stall)),
            Err(e) if e.to_string().starts_with("--max-harness-stall: ") => Ok(()),
            Err(e) => Err(format!("the error does not start with --max-harness-stall: {e}")),
        }
    });
}
