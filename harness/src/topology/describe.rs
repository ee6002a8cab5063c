//! Asks a running topology's servers what they are now (the picture in `info`).

use crate::topology::{NodeInfo, Topology, TopologyInfo};

/// Asks every node for its live role.
pub async fn describe(topology: &mut dyn Topology) -> TopologyInfo {
    let write_dsn = topology.write_dsn();
    let read_dsns = topology.read_dsns();
    let dir = topology.dir().to_path_buf();
    let kind = topology.kind();
    let (server_version, server_user) = topology
        .nodes()
        .first()
        .map(|n| (n.env().bin.version().to_string(), n.env().user.name.clone()))
        .unwrap_or_default();
    let links = topology.spec().links.clone();
    let client_ports: Vec<u16> = topology.nodes().iter().map(|n| topology.client_port(n)).collect();
    let mut nodes = Vec::new();
    for (node, clients_port) in topology.nodes_mut().iter_mut().zip(client_ports) {
        let link = links.get(node.name()).map(|l| l.to_string());
        let mut info = node_info(node, link).await;
        info.clients_port = clients_port;
        nodes.push(info);
    }
    let engine = topology.engine();
    TopologyInfo { kind, write_dsn, read_dsns, nodes, dir, server_version, server_user, engine }
}

/// One server as it is now: its live role, process and CPUs.
pub async fn node_info(node: &mut crate::pg::Node, link: Option<String>) -> NodeInfo {
    let role = node.live_role().await.to_string();
    let pid = node.pid();
    NodeInfo {
        name: node.name().to_string(),
        port: node.port(),
        role,
        data_dir: node.data_dir().to_path_buf(),
        log: node.log_path().to_path_buf(),
        pid,
        cpus: pid.and_then(crate::pg::procs::allowed_cpus),
        link,
        clients_port: node.clients_port(),
        address: node.net_addr().map(|a| format!("{a}:{}", node.port())),
    }
}
