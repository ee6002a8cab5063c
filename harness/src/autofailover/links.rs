//! Emulated links around a data node of a formation (set when `partition-primary` is asked):
//! the node is registered with the monitor under a loopback address of its own (127.0.1.K),
//! where a link forwards to its postgres (which listens on 127.0.0.1 only); its keeper reaches
//! the monitor through a second link. Cutting both cuts the node from the monitor and from the
//! other nodes (their health checks, replication, base backups); habench's clients reach
//! postgres on 127.0.0.1 directly and still reach it.

use std::net::{Ipv4Addr, SocketAddr};

use crate::error::{Error, Result};
use crate::link::{LinkProxy, LinkSpec, LinkState};

#[derive(Debug)]
pub(crate) struct NodeLinks {
    host: Ipv4Addr,
    pg: LinkProxy,
    monitor: LinkProxy,
}

impl NodeLinks {
    /// Links for the `k`-th data node (1-based): `127.0.1.k:pg_port` to its postgres, and a
    /// free loopback port to the monitor.
    pub(crate) async fn start(k: u8, pg_port: u16, monitor_port: u16) -> Result<NodeLinks> {
        let host = Ipv4Addr::new(127, 0, 1, k);
        let io = |what: &str, e: std::io::Error| Error::node("link", format!("starting the link {what}: {e}"));
        let pg = LinkProxy::start_at(SocketAddr::from((host, pg_port)), pg_port, LinkSpec::default(), 7000 + k as u64)
            .await
            .map_err(|e| io(&format!("on {host}:{pg_port}"), e))?;
        let monitor = LinkProxy::start(monitor_port, LinkSpec::default(), 7100 + k as u64)
            .await
            .map_err(|e| io("to the monitor", e))?;
        Ok(NodeLinks { host, pg, monitor })
    }

    /// The address the node is registered under (the monitor and the other nodes use it).
    pub(crate) fn host(&self) -> Ipv4Addr {
        self.host
    }

    /// Where its keeper reaches the monitor.
    pub(crate) fn monitor_port(&self) -> u16 {
        self.monitor.port()
    }

    /// Cuts (true) or heals both links. Bytes on open connections are held, as a dropped
    /// network holds them until TCP gives up; the keeper's own monitor connections are closed
    /// at the cut (on a real network its TCP user timeout, 10 s, would end them), so that its
    /// next call fails as pg_auto_failover expects of an unreachable monitor.
    pub(crate) fn cut(&self, cut: bool) {
        let state = if cut { LinkState::Blackhole } else { LinkState::Up };
        self.pg.set_state(state);
        self.monitor.set_state(state);
        if cut {
            self.monitor.reset();
        }
    }

    pub(crate) fn is_cut(&self) -> bool {
        self.pg.state() == LinkState::Blackhole
    }
}
