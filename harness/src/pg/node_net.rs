//! A node on a network habench made (`--net namespaces`): its server runs in the node's
//! namespace and listens on the node's address only. habench reaches it through two doors,
//! forwarders on this machine's loopback: the clients' door (its own port) makes connections
//! from the clients' host, so every shape that cuts the clients from the node cuts habench's
//! clients, probes and reports too; the admin door (at the node's port) makes them from the
//! node's own host, as a local agent would, so that habench can still start, rewind and
//! configure a node that a shape cuts off. Other nodes reach it at its address (replication).
//! Its rules let in the network's addresses.

use std::net::{Ipv4Addr, SocketAddr};
use std::path::Path;
use std::process::{Child, Command};
use std::sync::Arc;

use crate::error::{Error, Result};
use crate::link::{Dial, LinkProxy, LinkSpec};
use crate::netns::{Network, CLIENTS};
use crate::pg::ports::PortLease;

/// The authentication rules of a node on a network: trust from its loopback and from the
/// network's addresses (habench's clients and the other nodes), as on loopback.
pub(crate) const HBA: &str = "host all all 127.0.0.1/32 trust\nhost all all 10.213.0.0/16 trust\n\
host replication all 127.0.0.1/32 trust\nhost replication all 10.213.0.0/16 trust\n";

#[derive(Debug)]
pub(crate) struct NodeNet {
    net: Arc<Network>,
    host: String,
    addr: Ipv4Addr,
    _admin: LinkProxy,
    clients: LinkProxy,
    _clients_port: PortLease,
}

/// A door: a forwarder listening on this machine's loopback at `at`, whose connections are
/// made from host `from` to `addr:port`.
pub(crate) async fn door(net: &Arc<Network>, from: &str, addr: Ipv4Addr, port: u16, at: u16) -> Result<LinkProxy> {
    let dial = Dial::From { net: net.clone(), host: from.into(), addr };
    LinkProxy::start_via(SocketAddr::from(([127, 0, 0, 1], at)), dial, port, LinkSpec::default(), at as u64)
        .await
        .map_err(|e| Error::node(from, format!("opening habench's door to {addr}:{port}: {e}")))
}

impl NodeNet {
    /// Joins host `host` of `net` for a server on `port`, and opens its doors: the admin door
    /// at `port`, the clients' door at `clients_port` (a port of its own).
    pub(crate) async fn join(net: Arc<Network>, host: &str, port: u16, clients_port: PortLease) -> Result<NodeNet> {
        let addr = net.host(host)?.addr;
        let admin = door(&net, host, addr, port, port).await?;
        let clients = door(&net, CLIENTS, addr, port, clients_port.port()).await?;
        Ok(NodeNet { net, host: host.into(), addr, _admin: admin, clients, _clients_port: clients_port })
    }

    pub(crate) fn addr(&self) -> Ipv4Addr {
        self.addr
    }

    /// Where habench's clients reach the node (from the clients' host).
    pub(crate) fn clients_port(&self) -> u16 {
        self.clients.port()
    }

    /// Lines after the node's settings: its address, and its rules file `hba` (holding [`HBA`]).
    pub(crate) fn conf_lines(&self, hba: &Path) -> String {
        format!("listen_addresses = '{}'\nhba_file = '{}'\n", self.addr, hba.display())
    }

    /// Starts `cmd` in the node's namespace.
    pub(crate) fn spawn(&self, cmd: Command) -> Result<Child> {
        self.net.spawn(&self.host, cmd)
    }
}
