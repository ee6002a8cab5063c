//! One Patroni node's configuration file (JSON, which Patroni reads as YAML).

use std::path::Path;

use serde_json::{json, Value};

/// What differs between the nodes of one cluster.
#[derive(Debug, Clone)]
pub(crate) struct NodeConfig<'a> {
    pub scope: &'a str,
    pub name: &'a str,
    /// The address its REST API and postgres listen on and are reached at: loopback, or with
    /// `--net namespaces` the node's own (its rules then let the network's addresses in).
    pub host: &'a str,
    pub rest_port: u16,
    pub pg_port: u16,
    /// Where the other members and the clients reach this node's REST API and postgres (the
    /// ports themselves, or emulated links in front of them).
    pub rest_connect_port: u16,
    pub pg_connect_port: u16,
    pub data_dir: &'a Path,
    pub pg_bin: &'a Path,
    pub etcd_hosts: &'a [String],
    /// Patroni's dynamic configuration for bootstrap (`bootstrap.dcs`).
    pub dcs: &'a Value,
    /// Local postgres parameters (habench's, then the user's `--pg-set`).
    pub parameters: &'a serde_json::Map<String, Value>,
    pub pgpass: &'a Path,
    /// `--rest-tls`: the REST API's certificate, key, CA and basic auth.
    pub rest_tls: Option<&'a crate::patroni::tls::RestTls>,
}

impl NodeConfig<'_> {
    pub(crate) fn to_json(&self) -> Value {
        let mut v = self.base_json();
        if let Some(t) = self.rest_tls {
            let auth = json!({ "username": crate::patroni::tls::REST_USER, "password": t.password.expose() });
            let api = &mut v["restapi"];
            api["certfile"] = json!(t.cert_file);
            api["keyfile"] = json!(t.key_file);
            // The members' calls to each other (the leader race) trust the same CA.
            api["cafile"] = json!(t.ca_file);
            api["authentication"] = auth.clone();
            v["ctl"] = json!({ "cacert": t.ca_file, "authentication": auth });
        }
        v
    }

    fn base_json(&self) -> Value {
        let host = self.host;
        let user = crate::pg::conn::SUPERUSER;
        let mut hba = vec![format!("host all all {host}/32 trust"), format!("host replication all {host}/32 trust")];
        if host != crate::pg::conn::HOST {
            hba = crate::pg::node_net::HBA.lines().map(str::to_string).collect();
        }
        json!({
            "scope": self.scope,
            "namespace": "/habench/",
            "name": self.name,
            "log": { "level": "INFO", "format": "%(asctime)s %(levelname)s: %(message)s" },
            "restapi": {
                "listen": format!("{host}:{}", self.rest_port),
                "connect_address": format!("{host}:{}", self.rest_connect_port),
            },
            // The hosts are used as given (emulated links when the node has them): no discovery of
            // the members' own addresses, which would go around the links.
            "etcd3": { "hosts": self.etcd_hosts, "use_proxies": true },
            "bootstrap": {
                "dcs": self.dcs,
                // Patroni runs initdb itself; trust on loopback like habench's own nodes. No
                // fsync of the new cluster's files (a host crash here is a process kill; the
                // page cache survives it), as habench's own template is made.
                "initdb": [{ "encoding": "UTF8" }, { "locale": "C" }, { "auth": "trust" }, { "username": user }, "no-sync"],
            },
            "postgresql": {
                "listen": format!("{host}:{}", self.pg_port),
                "connect_address": format!("{host}:{}", self.pg_connect_port),
                "data_dir": self.data_dir,
                "bin_dir": self.pg_bin,
                "pgpass": self.pgpass,
                // Replicas are cloned as habench clones its own standbys: fast checkpoint.
                "basebackup": [{ "checkpoint": "fast" }, "no-sync"],
                "parameters": self.parameters,
                "pg_hba": hba,
                "authentication": {
                    "superuser": { "username": user },
                    "replication": { "username": user },
                    "rewind": { "username": user },
                },
            },
            "tags": { "nofailover": false, "noloadbalance": false, "clonefrom": false, "nosync": false },
        })
    }
}
