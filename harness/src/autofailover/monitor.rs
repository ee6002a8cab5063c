//! The monitor as habench reaches it: its view of the formation (`pgautofailover.node`) and
//! the planned moves it is asked for (`pgautofailover.perform_failover`, what `pg_autoctl
//! perform switchover|failover` calls), on a monitor habench started or one a cluster file
//! names.

use std::collections::BTreeMap;
use std::time::Duration;

use tokio_postgres::Config;

use crate::autofailover::{FormationView, NodeState};
use crate::error::{Error, Result};

/// A monitor that takes longer to answer counts as no answer.
const MONITOR_TIMEOUT: Duration = Duration::from_secs(2);
/// How long a planned move may take (the monitor's own default waits are about 30 s).
const PERFORM_TIMEOUT: Duration = Duration::from_secs(90);
/// Every `pgautofailover.*` setting of the monitor.
const SETTINGS_SQL: &str = "SELECT name, setting FROM pg_settings WHERE name LIKE 'pgautofailover.%' ORDER BY name";

/// A session on the monitor within MONITOR_TIMEOUT.
async fn connect(cfg: &Config) -> Result<tokio_postgres::Client> {
    crate::pg::conn::connect_config(cfg, MONITOR_TIMEOUT)
        .await
        .map_err(|e| Error::node("monitor", format!("connecting to the monitor: {e}")))
}

/// The formation's settings read back from the monitor.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct Readback {
    pub number_sync_standbys: i32,
    /// Each node: name, candidate priority, replication quorum.
    pub nodes: Vec<(String, i32, bool)>,
}

/// How the monitor is reached: as `autoctl_node` (or the cluster file's user) for its view
/// and the planned moves; habench's own monitor also as the superuser, to set it.
#[derive(Clone)]
pub struct Monitor {
    cfg: Config,
    /// The monitor's port on this machine, when habench started it.
    local_port: Option<u16>,
}

impl std::fmt::Debug for Monitor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&crate::pg::dsn::shown(&self.cfg))
    }
}

impl Monitor {
    /// The monitor habench started on this machine.
    pub fn local(port: u16) -> Monitor {
        let mut cfg = Config::new();
        cfg.host("127.0.0.1").port(port).user("autoctl_node").dbname("pg_auto_failover");
        Monitor { cfg, local_port: Some(port) }
    }

    /// A monitor that runs elsewhere, by the cluster file's connection string.
    pub fn remote(cfg: Config) -> Monitor {
        Monitor { cfg, local_port: None }
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
        let deadline = std::time::Instant::now() + MONITOR_TIMEOUT;
        loop {
            let rows = client.query(SETTINGS_SQL, &[]).await.map_err(|e| fail(&e))?;
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

    /// The monitor's extension version (as "pgautofailover 2.0") and its `pgautofailover.*`
    /// settings, read as any user may.
    pub async fn extension(&self) -> Result<(String, Vec<(String, String)>)> {
        let fail = |e: &dyn std::fmt::Display| Error::node("monitor", format!("reading the monitor: {e}"));
        let client = self.client().await?;
        let v = client
            .query_one("SELECT extversion FROM pg_extension WHERE extname = 'pgautofailover'", &[])
            .await
            .map_err(|e| fail(&e))?;
        let rows = client.query(SETTINGS_SQL, &[]).await.map_err(|e| fail(&e))?;
        Ok((format!("pgautofailover {}", v.get::<_, String>(0)), rows.iter().map(|r| (r.get(0), r.get(1))).collect()))
    }

    /// A session as the superuser on habench's own monitor, else as the file's user.
    async fn superuser(&self) -> Result<tokio_postgres::Client> {
        let mut cfg = self.cfg.clone();
        if self.local_port.is_some() {
            cfg.user(crate::pg::conn::SUPERUSER);
        }
        connect(&cfg).await
    }

    async fn client(&self) -> Result<tokio_postgres::Client> {
        connect(&self.cfg).await
    }

    /// The monitor's view now, or an error saying it does not answer.
    pub async fn current(&self) -> Result<FormationView> {
        self.view().await.ok_or_else(|| Error::node("monitor", "the monitor does not answer"))
    }

    /// The monitor's view now (None: the monitor does not answer).
    pub async fn view(&self) -> Option<FormationView> {
        let client = self.client().await.ok()?;
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

    /// A planned move (`what`: switchover or failover; in 2.0 both are the monitor's
    /// `perform_failover`): asked of the monitor, then waited for as `pg_autoctl perform` waits,
    /// until another node is assigned and reporting primary. Returns what the monitor showed.
    pub async fn perform(&self, what: &str) -> Result<String> {
        let fail = |e: &dyn std::fmt::Display| Error::node("monitor", format!("{what}: {e}"));
        let before = self.view().await.and_then(|v| v.primary().map(|p| p.name.clone()));
        let client = self.client().await?;
        let asked = client.execute("SELECT pgautofailover.perform_failover('default', 0)", &[]);
        tokio::time::timeout(PERFORM_TIMEOUT, asked)
            .await
            .map_err(|_| fail(&format!("the monitor did not answer within {PERFORM_TIMEOUT:?}")))?
            .map_err(|e| fail(&format!("the monitor refused: {e}")))?;
        let deadline = std::time::Instant::now() + PERFORM_TIMEOUT;
        loop {
            if let Some(v) = self.view().await {
                if let Some(p) = v.primary().filter(|p| Some(&p.name) != before.as_ref()) {
                    return Ok(format!("{} is primary ({})", p.name, v.brief()));
                }
            }
            if std::time::Instant::now() >= deadline {
                return Err(fail(&format!("no new primary within {PERFORM_TIMEOUT:?}")));
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}
