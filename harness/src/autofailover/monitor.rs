//! The monitor as habench reaches it: its view of the formation (`pgautofailover.node`) and
//! the planned moves it is asked for (`pg_autoctl perform switchover|failover`).

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

use crate::autofailover::{FormationView, NodeState};
use crate::error::{Error, Result};

/// A monitor that takes longer to answer counts as no answer.
const MONITOR_TIMEOUT: Duration = Duration::from_secs(2);
/// How long a planned move may take (the monitor's own default waits are about 30 s).
const PERFORM_TIMEOUT: Duration = Duration::from_secs(90);

/// The formation's settings read back from the monitor.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct Readback {
    pub number_sync_standbys: i32,
    /// Each node: name, candidate priority, replication quorum.
    pub nodes: Vec<(String, i32, bool)>,
}

/// Where the monitor listens and the program that talks to it.
#[derive(Debug, Clone)]
pub struct Monitor {
    pub port: u16,
    pub autoctl: PathBuf,
}

impl Monitor {
    /// The monitor's connection string, as the keepers use it.
    pub fn uri(&self) -> String {
        format!("postgres://autoctl_node@127.0.0.1:{}/pg_auto_failover?sslmode=disable", self.port)
    }

    /// Sets the monitor's settings (`ALTER SYSTEM`, reloaded), then reads every
    /// `pgautofailover.*` setting back; a value that did not take is an error.
    pub async fn configure(&self, set: &BTreeMap<String, i64>) -> Result<Vec<(String, String)>> {
        let fail = |e: &dyn std::fmt::Display| Error::node("monitor", format!("setting the monitor: {e}"));
        let client = self.superuser().await?;
        for (k, v) in set {
            // Keys are checked against MONITOR_SETTINGS and values are integers: nothing to quote.
            client.batch_execute(&format!("ALTER SYSTEM SET pgautofailover.{k} = {v}")).await.map_err(|e| fail(&e))?;
        }
        client.batch_execute("SELECT pg_reload_conf()").await.map_err(|e| fail(&e))?;
        let sql = "SELECT name, setting FROM pg_settings WHERE name LIKE 'pgautofailover.%' ORDER BY name";
        let deadline = std::time::Instant::now() + MONITOR_TIMEOUT;
        loop {
            let rows = client.query(sql, &[]).await.map_err(|e| fail(&e))?;
            let now: Vec<(String, String)> = rows.iter().map(|r| (r.get(0), r.get(1))).collect();
            let missing = set.iter().find(|(k, v)| {
                !now.iter().any(|(n, s)| n.strip_prefix("pgautofailover.") == Some(k.as_str()) && *s == v.to_string())
            });
            match missing {
                None => return Ok(now),
                // The reload is asynchronous: the postmaster signals the backends.
                Some(_) if std::time::Instant::now() < deadline => {
                    tokio::time::sleep(Duration::from_millis(20)).await;
                }
                Some((k, v)) => return Err(fail(&format!("pgautofailover.{k} did not take the value {v}"))),
            }
        }
    }

    /// Sets the formation's `number_sync_standbys` (the monitor then has the primary apply it).
    pub async fn set_number_sync_standbys(&self, n: i64) -> Result<()> {
        let client = self.superuser().await?;
        let n = i32::try_from(n).map_err(|_| Error::config("--engine-set", "number_sync_standbys is 0-8"))?;
        let row = client
            .query_one("SELECT pgautofailover.set_formation_number_sync_standbys('default', $1)", &[&n])
            .await
            .map_err(|e| Error::node("monitor", format!("number_sync_standbys={n}: the monitor refused: {e}")))?;
        match row.get::<_, bool>(0) {
            true => Ok(()),
            false => Err(Error::node("monitor", format!("number_sync_standbys={n}: the monitor said no"))),
        }
    }

    /// The formation's and the nodes' settings as the monitor holds them.
    pub async fn formation_settings(&self) -> Result<Readback> {
        let client = self.superuser().await?;
        let fail = |e: tokio_postgres::Error| Error::node("monitor", format!("reading the formation's settings: {e}"));
        let f = client
            .query_one("SELECT number_sync_standbys FROM pgautofailover.formation WHERE formationid = 'default'", &[])
            .await
            .map_err(fail)?;
        let sql = "SELECT nodename, candidatepriority, replicationquorum FROM pgautofailover.node \
                   WHERE formationid = 'default' ORDER BY nodeid";
        let nodes = client.query(sql, &[]).await.map_err(fail)?;
        Ok(Readback {
            number_sync_standbys: f.get(0),
            nodes: nodes.iter().map(|r| (r.get(0), r.get(1), r.get(2))).collect(),
        })
    }

    async fn superuser(&self) -> Result<tokio_postgres::Client> {
        let mut cfg = tokio_postgres::Config::new();
        cfg.host("127.0.0.1").port(self.port).user(crate::pg::conn::SUPERUSER).dbname("pg_auto_failover");
        crate::pg::conn::connect_config(&cfg, MONITOR_TIMEOUT)
            .await
            .map_err(|e| Error::node("monitor", format!("connecting to the monitor: {e}")))
    }

    /// The monitor's view now (None: the monitor does not answer).
    pub async fn view(&self) -> Option<FormationView> {
        let mut cfg = tokio_postgres::Config::new();
        cfg.host("127.0.0.1").port(self.port).user("autoctl_node").dbname("pg_auto_failover");
        let client = crate::pg::conn::connect_config(&cfg, MONITOR_TIMEOUT).await.ok()?;
        let rows = tokio::time::timeout(MONITOR_TIMEOUT, client.query(FormationView::SQL, &[])).await.ok()?.ok()?;
        let nodes = rows
            .iter()
            .map(|r| NodeState {
                name: r.get(0),
                port: u16::try_from(r.get::<_, i32>(1)).unwrap_or(0),
                reported: r.get(2),
                goal: r.get(3),
                health: r.get(4),
                timeline: r.get(5),
            })
            .collect();
        Some(FormationView { nodes })
    }

    /// `pg_autoctl perform switchover` or `failover` (`what`), asked of the monitor; returns
    /// what it printed last. The command waits until the monitor reports the move done.
    pub async fn perform(&self, what: &str) -> Result<String> {
        let mut cmd = tokio::process::Command::new(&self.autoctl);
        cmd.args(["perform", what, "--monitor", &self.uri(), "--formation", "default", "--group", "0"])
            .env("PATH", "/usr/bin:/bin")
            .kill_on_drop(true);
        let out = tokio::time::timeout(PERFORM_TIMEOUT, cmd.output())
            .await
            .map_err(|_| {
                Error::node("monitor", format!("pg_autoctl perform {what}: no answer within {PERFORM_TIMEOUT:?}"))
            })?
            .map_err(|e| Error::node("monitor", format!("pg_autoctl perform {what}: {e}")))?;
        let text = String::from_utf8_lossy(&out.stderr).to_string() + &String::from_utf8_lossy(&out.stdout);
        let last = text.lines().rev().find(|l| !l.trim().is_empty()).unwrap_or("").trim().to_string();
        if !out.status.success() {
            return Err(Error::node("monitor", format!("pg_autoctl perform {what} failed ({}): {last}", out.status)));
        }
        Ok(last)
    }
}
