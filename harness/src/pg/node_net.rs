//! A node on a network habench made (`--net namespaces`): its server runs in the node's
//! namespace and listens on the node's address only; habench reaches it through a door, a
//! forwarder on this machine's loopback at the node's own port whose connections leave from the
//! clients' host (so every shape that cuts the clients from the node cuts habench too). Other
//! nodes reach it at its address (replication). Its rules let in the network's addresses.

use std::net::{Ipv4Addr, SocketAddr};
use std::path::Path;
use std::process::{Child, Command};
use std::sync::Arc;

use crate::error::{Error, Result};
use crate::link::{Dial, LinkProxy, LinkSpec};
use crate::netns::{Network, CLIENTS};

/// The authentication rules of a node on a network: trust from its loopback and from the
/// network's addresses (habench's clients and the other nodes), as on loopback.
const HBA: &str = "host all all 127.0.0.1/32 trust\nhost all all 10.213.0.0/16 trust\n\
host replication all 127.0.0.1/32 trust\nhost replication all 10.213.0.0/16 trust\n";

#[derive(Debug)]
pub(crate) struct NodeNet {
    net: Arc<Network>,
    host: String,
    addr: Ipv4Addr,
    _door: LinkProxy,
}

impl NodeNet {
    /// Joins host `host` of `net` for a server on `port`, and opens the door to it.
    pub(crate) async fn join(net: Arc<Network>, host: &str, port: u16) -> Result<NodeNet> {
        let addr = net.host(host)?.addr;
        let dial = Dial::From { net: net.clone(), host: CLIENTS.into(), addr };
        let listen = SocketAddr::from(([127, 0, 0, 1], port));
        let door = LinkProxy::start_via(listen, dial, port, LinkSpec::default(), 9000 + port as u64)
            .await
            .map_err(|e| Error::node(host, format!("opening habench's door to {addr}:{port}: {e}")))?;
        Ok(NodeNet { net, host: host.into(), addr, _door: door })
    }

    pub(crate) fn addr(&self) -> Ipv4Addr {
        self.addr
    }

    /// Lines after the node's settings: its address, and its own rules file (written here,
    /// its path returned for the caller to give to the server's user).
    pub(crate) fn conf_lines(&self, data_dir: &Path) -> Result<(String, std::path::PathBuf)> {
        let hba = data_dir.join("habench_hba.conf");
        std::fs::write(&hba, HBA).map_err(|e| Error::io("writing", &hba, e))?;
        Ok((format!("listen_addresses = '{}'\nhba_file = '{}'\n", self.addr, hba.display()), hba))
    }

    /// Starts `cmd` in the node's namespace.
    pub(crate) fn spawn(&self, cmd: Command) -> Result<Child> {
        self.net.spawn(&self.host, cmd)
    }
}
