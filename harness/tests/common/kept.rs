//! `habench run --keep` from a test: the run's results, and its servers kept up (their logs and
//! data with them) until the guard drops, so that a test can count on the survivor by SQL.

use std::path::Path;

use serde_json::Value;

pub struct Kept {
    child: std::process::Child,
    /// The kept topology as `habench` printed it (write_dsn, nodes).
    pub info: Value,
}

impl Kept {
    /// `habench run quick` with `args`, `--keep --quiet --out out`; returns once the run is
    /// written and its servers are kept.
    pub fn run(out: &Path, args: &[&str]) -> Kept {
        Kept::run_scenario("quick", out, args)
    }

    /// The same with another scenario (a shipped name or a file).
    pub fn run_scenario(scenario: &str, out: &Path, args: &[&str]) -> Kept {
        use std::io::{BufRead, BufReader};
        let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_habench"))
            .args(["run", scenario])
            .args(args)
            .args(["--keep", "--quiet", "--out", out.to_str().unwrap()])
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap();
        let stdout = child.stdout.take().unwrap();
        let mut kept = Kept { child, info: Value::Null };
        // The results line, then the kept servers' JSON line.
        let line = BufReader::new(stdout).lines().map_while(Result::ok).find(|l| l.starts_with("{\"kind\""));
        kept.info = serde_json::from_str(&line.expect("the run ended without keeping its servers")).unwrap();
        kept
    }

    /// How many of `ids` the kept topology's primary has no trace of: a message keeps its spool
    /// row until every subscriber completed it, then its tracking rows stay.
    pub fn missing_on_primary(&self, ids: &[i64]) -> u64 {
        let dsn = self.info["write_dsn"].as_str().expect("the kept servers' write endpoint").to_string();
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        rt.block_on(async {
            let (c, conn) = tokio_postgres::connect(&dsn, tokio_postgres::NoTls).await.unwrap();
            tokio::spawn(conn);
            let sql = "SELECT count(*) FROM unnest($1::bigint[]) AS i(id) \
                       WHERE NOT EXISTS (SELECT 1 FROM mbox.spool s WHERE s.id = i.id) \
                       AND NOT EXISTS (SELECT 1 FROM mbox.tracking t WHERE t.msg_id = i.id)";
            let row = c.query_one(sql, &[&ids]).await.unwrap();
            row.get::<_, i64>(0) as u64
        })
    }
}

impl Kept {
    /// Rows of a query on the kept topology's primary, each as text cells.
    pub fn query(&self, sql: &str) -> Vec<Vec<String>> {
        let dsn = self.info["write_dsn"].as_str().expect("the kept servers' write endpoint").to_string();
        self.query_on(&dsn, sql)
    }

    /// The habench process that keeps the servers.
    #[allow(dead_code)]
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Rows of a query through `dsn` (one of the kept servers: a parallel group's, say).
    pub fn query_on(&self, dsn: &str, sql: &str) -> Vec<Vec<String>> {
        let dsn = dsn.to_string();
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        rt.block_on(async {
            let (c, conn) = tokio_postgres::connect(&dsn, tokio_postgres::NoTls).await.unwrap();
            tokio::spawn(conn);
            let rows = c.simple_query(sql).await.unwrap();
            rows.iter()
                .filter_map(|m| match m {
                    tokio_postgres::SimpleQueryMessage::Row(r) => {
                        Some((0..r.len()).map(|i| r.get(i).unwrap_or("").to_string()).collect())
                    }
                    _ => None,
                })
                .collect()
        })
    }
}

impl Drop for Kept {
    fn drop(&mut self) {
        let _ = nix::sys::signal::kill(
            nix::unistd::Pid::from_raw(self.child.id() as i32),
            nix::sys::signal::Signal::SIGTERM,
        );
        let _ = self.child.wait();
    }
}

pub fn read_json(p: &Path) -> Value {
    serde_json::from_str(&std::fs::read_to_string(p).unwrap()).unwrap()
}

/// One acknowledged publish in ledger.csv: when, which message, which server answered.
pub struct LedgerAck {
    pub at_us: i64,
    pub msg_id: i64,
    pub server_port: u16,
}

/// Every acknowledged publish in the run's ledger.csv (ok, or acked after a cancelled wait).
pub fn ledger_acks(dir: &Path) -> Vec<LedgerAck> {
    let text = std::fs::read_to_string(dir.join("ledger.csv")).unwrap();
    let mut lines = text.lines();
    let head: Vec<&str> = lines.next().unwrap().split(',').collect();
    let col = |n: &str| head.iter().position(|h| *h == n).unwrap_or_else(|| panic!("no {n} in {head:?}"));
    let (at, event, outcome, id, port) =
        (col("at_us"), col("event"), col("outcome"), col("msg_id"), col("server_port"));
    lines
        .map(|l| l.split(',').collect::<Vec<_>>())
        .filter(|c| c[event] == "publish" && (c[outcome] == "ok" || c[outcome] == "acked_unreplicated"))
        .map(|c| LedgerAck {
            at_us: c[at].parse().unwrap(),
            msg_id: c[id].parse().unwrap(),
            server_port: c[port].parse().unwrap(),
        })
        .collect()
}
