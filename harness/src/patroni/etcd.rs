//! The DCS: an etcd cluster of 1 or 3 members, each an emulated host: on loopback, or with
//! `--net namespaces` each member a host of its own on the network (habench's health checks
//! through a door at its client port, from the member's own host).

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
    /// `--net namespaces`: its address, and habench's door to its client port.
    addr: Option<std::net::Ipv4Addr>,
    _door: Option<crate::link::LinkProxy>,
}

impl EtcdMember {
    pub(crate) fn client_port(&self) -> u16 {
        self.client.port()
    }

    /// Where habench reaches it (on a network: the door).
    pub(crate) fn client_url(&self) -> String {
        format!("http://127.0.0.1:{}", self.client.port())
    }

    /// `HOST:PORT` where the cluster's nodes reach it.
    pub(crate) fn node_endpoint(&self) -> String {
        match self.addr {
            Some(a) => format!("{a}:{}", self.client.port()),
            None => format!("127.0.0.1:{}", self.client.port()),
        }
    }

    /// Its name, the host it is on a network.
    pub(crate) fn name(&self) -> &str {
        self.host.name()
    }
}

/// The members' names.
pub(crate) fn member_names(members: u8) -> Vec<String> {
    (1..=members).map(|i| format!("e{i}")).collect()
}

/// Starts `members` etcd members (`e1`...) under `dir`, on `net`'s hosts of the same names when
/// given; [`wait_healthy`] waits for them.
pub(crate) async fn launch(
    env: &PgEnv,
    etcd: &Path,
    members: u8,
    (dir, groups): (&Path, &TopologyGroup),
    token: &str,
    net: Option<&std::sync::Arc<crate::netns::Network>>,
) -> Result<Vec<EtcdMember>> {
    let leases: Vec<(String, PortLease, PortLease)> = member_names(members)
        .into_iter()
        .map(|name| {
            let ports = env.root.ports_dir();
            Ok((name, crate::pg::ports::lease(&ports)?, crate::pg::ports::lease(&ports)?))
        })
        .collect::<Result<_>>()?;
    let addr_of =
        |name: &str| -> Result<Option<std::net::Ipv4Addr>> { net.map(|n| n.host(name).map(|h| h.addr)).transpose() };
    let host_of =
        |name: &str| -> Result<String> { Ok(addr_of(name)?.map_or("127.0.0.1".to_string(), |a| a.to_string())) };
    let cluster: Vec<String> = leases
        .iter()
        .map(|(name, _, peer)| Ok(format!("{name}=http://{}:{}", host_of(name)?, peer.port())))
        .collect::<Result<_>>()?;
    let mut out = Vec::new();
    for (name, client, peer) in leases {
        let home = dir.join("dcs").join(&name);
        std::fs::create_dir_all(&home).map_err(|e| Error::io("creating", &home, e))?;
        env.user.own(&home, 0o700)?;
        let data = home.join("data");
        let at = host_of(&name)?;
        let c = format!("http://{at}:{}", client.port());
        let p = format!("http://{at}:{}", peer.port());
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
        let addr = addr_of(&name)?;
        let door = match (net, addr) {
            (Some(n), Some(a)) => {
                host = host.on_network(n.clone(), &name);
                Some(crate::pg::node_net::door(n, &name, a, client.port(), client.port()).await?)
            }
            _ => None,
        };
        host.start()?;
        out.push(EtcdMember { host, client, _peer: peer, addr, _door: door });
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
