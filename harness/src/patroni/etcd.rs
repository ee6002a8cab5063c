//! The DCS: an etcd cluster of 1 or 3 members on loopback, each an emulated host.

use std::path::Path;
use std::time::{Duration, Instant};

use crate::error::{Error, Result};
use crate::patroni::http;
use crate::pg::cgroup::TopologyGroup;
use crate::pg::host::{Host, Launch};
use crate::pg::ports::PortLease;
use crate::pg::PgEnv;

/// One etcd member: its host and its two ports.
#[derive(Debug)]
pub(crate) struct EtcdMember {
    pub host: Host,
    client: PortLease,
    _peer: PortLease,
}

impl EtcdMember {
    pub(crate) fn client_port(&self) -> u16 {
        self.client.port()
    }

    pub(crate) fn client_url(&self) -> String {
        format!("http://127.0.0.1:{}", self.client.port())
    }
}

/// Starts `members` etcd members (`e1`...) under `dir`; [`wait_healthy`] waits for them.
pub(crate) fn launch(
    env: &PgEnv,
    etcd: &Path,
    members: u8,
    dir: &Path,
    groups: &TopologyGroup,
    token: &str,
) -> Result<Vec<EtcdMember>> {
    let leases: Vec<(String, PortLease, PortLease)> = (1..=members)
        .map(|i| {
            let ports = env.root.ports_dir();
            Ok((format!("e{i}"), crate::pg::ports::lease(&ports)?, crate::pg::ports::lease(&ports)?))
        })
        .collect::<Result<_>>()?;
    let cluster: Vec<String> =
        leases.iter().map(|(name, _, peer)| format!("{name}=http://127.0.0.1:{}", peer.port())).collect();
    let mut out = Vec::new();
    for (name, client, peer) in leases {
        let home = dir.join("dcs").join(&name);
        std::fs::create_dir_all(&home).map_err(|e| Error::io("creating", &home, e))?;
        env.user.own(&home, 0o700)?;
        let data = home.join("data");
        let c = format!("http://127.0.0.1:{}", client.port());
        let p = format!("http://127.0.0.1:{}", peer.port());
        let args = vec![
            "--name".into(),
            name.clone(),
            "--data-dir".into(),
            data.display().to_string(),
            "--listen-client-urls".into(),
            c.clone(),
            "--advertise-client-urls".into(),
            c,
            "--listen-peer-urls".into(),
            p.clone(),
            "--initial-advertise-peer-urls".into(),
            p,
            "--initial-cluster".into(),
            cluster.join(","),
            "--initial-cluster-state".into(),
            "new".into(),
            "--initial-cluster-token".into(),
            token.to_string(),
            // Patroni's etcd3 client speaks to the v3 gRPC gateway; v2 is not needed.
            "--enable-v2=false".into(),
            "--log-level".into(),
            "warn".into(),
        ];
        let launch =
            Launch { program: etcd.to_path_buf(), args, env: vec![], cwd: home.clone(), log: home.join("etcd.log") };
        let mut host = Host::new(&name, groups.host(&name)?, launch, env.user.clone());
        host.start()?;
        out.push(EtcdMember { host, client, _peer: peer });
    }
    Ok(out)
}

/// Waits until every member answers healthy.
pub(crate) async fn wait_healthy(members: &mut [EtcdMember]) -> Result<()> {
    for m in members {
        wait_member(m, Duration::from_secs(30)).await?;
    }
    Ok(())
}

async fn wait_member(m: &mut EtcdMember, timeout: Duration) -> Result<()> {
    let deadline = Instant::now() + timeout;
    let url = m.client_url();
    loop {
        if let Ok(r) = http::RestClient::plain().request(&url, "GET", "/health", None, Duration::from_secs(1)).await {
            if r.status == 200 && r.body.contains("true") {
                return Ok(());
            }
        }
        if !m.host.is_running() {
            return Err(Error::node(m.host.name(), format!("etcd exited during start:\n{}", m.host.log_tail(15))));
        }
        if Instant::now() >= deadline {
            return Err(Error::Timeout {
                what: format!("etcd member {} to answer healthy", m.host.name()),
                waited: timeout,
            });
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}
