//! Steps shared by the topologies: node directories, the settings every node gets, primaries
//! from the template, standbys from pg_basebackup, and waiting for replication.

use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::error::{Error, Result};
use crate::pg::{template, Node, PgEnv, Role, Settings};
use crate::topology::spec::TopologySpec;

/// Settings every node gets, before the user's `--pg-set` values.
pub(crate) fn base_settings(spec: &TopologySpec, cluster_name: &str) -> Settings {
    let mut s = Settings::new();
    s.set("listen_addresses", crate::pg::conn::HOST)
        // TCP only: no socket directory to own, share or clean up.
        .set("unix_socket_directories", "")
        .set("cluster_name", cluster_name)
        .set("max_connections", "200")
        .set("wal_level", "replica")
        .set("max_wal_senders", "20")
        .set("max_replication_slots", "20")
        .set("wal_keep_size", "512MB")
        .set("hot_standby", "on")
        // Lets pg_rewind bring a diverged standby or old primary back.
        .set("wal_log_hints", "on")
        // A standby promoted right after its walreceiver died would otherwise wait 5 s.
        .set("wal_retrieve_retry_interval", "200ms")
        .set("log_line_prefix", "%m [%p] ");
    if let Some(level) = spec.sync_commit {
        s.set("synchronous_commit", level.as_str());
    }
    s
}

/// The node's own directory under the topology: `nodes/<name>/` holding `data/` and `server.log`.
pub(crate) fn node_paths(topo_dir: &Path, name: &str) -> Result<(std::path::PathBuf, std::path::PathBuf)> {
    let dir = topo_dir.join("nodes").join(name);
    std::fs::create_dir_all(&dir).map_err(|e| Error::io("creating", &dir, e))?;
    Ok((dir.join("data"), dir.join("server.log")))
}

/// A new primary's data directory, copied from the initdb template.
pub(crate) async fn init_data_dir(env: &PgEnv, data_dir: &Path) -> Result<()> {
    let template = template::ensure_template(env).await?;
    template::copy_data_dir(env, &template, data_dir)
}

/// A node with its own data directory made from the template.
pub(crate) async fn new_primary(env: &Arc<PgEnv>, topo_dir: &Path, name: &str) -> Result<Node> {
    let (data, log) = node_paths(topo_dir, name)?;
    init_data_dir(env, &data).await?;
    Node::new(env.clone(), name, data, log, Role::Primary)
}

/// Copies `primary` into `data_dir` with pg_basebackup (fast checkpoint, WAL streamed).
pub(crate) async fn base_backup(env: &PgEnv, primary: &Node, data_dir: &Path) -> Result<()> {
    if data_dir.exists() {
        std::fs::remove_dir_all(data_dir).map_err(|e| Error::io("removing", data_dir, e))?;
    }
    env.user.create_private_dir(data_dir)?;
    let port = primary.port().to_string();
    let data = data_dir.to_string_lossy();
    env.run_tool(
        "pg_basebackup",
        &[
            "-h",
            crate::pg::conn::HOST,
            "-p",
            &port,
            "-U",
            crate::pg::conn::SUPERUSER,
            "-D",
            &data,
            "-X",
            "stream",
            "-c",
            "fast",
            "--no-sync",
        ],
    )
    .await?;
    Ok(())
}

/// Marks a data directory as a standby's.
pub(crate) fn write_standby_signal(env: &PgEnv, data_dir: &Path) -> Result<()> {
    let path = data_dir.join("standby.signal");
    std::fs::write(&path, "").map_err(|e| Error::io("writing", &path, e))?;
    env.user.own(&path, 0o600)
}

/// What `primary_conninfo` says: always with an explicit application_name, the name that
/// `synchronous_standby_names` lists. `host`: the primary's address on its network, or
/// loopback.
pub(crate) fn primary_conninfo(host: Option<std::net::Ipv4Addr>, primary_port: u16, standby_name: &str) -> String {
    let host = host.map_or(crate::pg::conn::HOST.to_string(), |a| a.to_string());
    format!(
        "host={host} port={primary_port} user={} application_name={standby_name} connect_timeout=2",
        crate::pg::conn::SUPERUSER
    )
}

/// `--net namespaces`: a network with one host per node name, made off the runtime's threads
/// (it runs `ip` a few dozen times); None on loopback.
pub(crate) async fn network(
    spec: &crate::topology::TopologySpec,
    names: &[String],
) -> Result<Option<Arc<crate::netns::Network>>> {
    if spec.net.is_loopback() {
        return Ok(None);
    }
    let names = names.to_vec();
    let made = tokio::task::spawn_blocking(move || {
        let refs: Vec<&str> = names.iter().map(String::as_str).collect();
        crate::netns::Network::create(&refs)
    })
    .await
    .map_err(|e| Error::node("netns", format!("making the network: {e}")))??;
    Ok(Some(Arc::new(made)))
}

/// Polls the primary's `pg_stat_replication` until every `(name, sync_state)` streams with that
/// state (any state where it is None).
pub(crate) async fn wait_streaming(
    primary: &Node,
    expected: &[(String, Option<&'static str>)],
    timeout: Duration,
) -> Result<()> {
    let deadline = Instant::now() + timeout;
    let mut last = String::new();
    let mut client = None;
    loop {
        if client.is_none() {
            client = primary.connect().await.ok();
        }
        if let Some(c) = &client {
            match c.query("SELECT application_name, state, sync_state FROM pg_stat_replication", &[]).await {
                Ok(rows) => {
                    let seen: Vec<(String, String, String)> =
                        rows.iter().map(|r| (r.get(0), r.get(1), r.get(2))).collect();
                    let ok = expected.iter().all(|(name, state)| {
                        seen.iter().any(|(n, st, ss)| n == name && st == "streaming" && state.is_none_or(|s| s == ss))
                    });
                    if ok {
                        return Ok(());
                    }
                    last = format!("{seen:?}");
                }
                Err(_) => client = None,
            }
        }
        if Instant::now() >= deadline {
            return Err(Error::Timeout {
                what: format!("standbys {expected:?} streaming from {} (last seen: {last})", primary.name()),
                waited: timeout,
            });
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}
