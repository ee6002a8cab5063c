//! What Patroni says about its cluster (`GET /cluster`): members, roles, states, timelines.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct Member {
    pub name: String,
    /// leader, replica, sync_standby, quorum_standby, standby_leader.
    pub role: String,
    /// running, streaming, starting, stopped, crashed, ...
    pub state: String,
    #[serde(default)]
    pub timeline: Option<u64>,
    #[serde(default)]
    pub api_url: Option<String>,
    #[serde(default)]
    pub host: Option<String>,
    #[serde(default)]
    pub port: Option<u16>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub(crate) struct ClusterView {
    #[serde(default)]
    pub members: Vec<Member>,
}

impl ClusterView {
    pub(crate) fn parse(body: &str) -> Option<ClusterView> {
        serde_json::from_str(body).ok()
    }

    /// The member holding the leader key, running.
    pub(crate) fn leader(&self) -> Option<&Member> {
        self.members.iter().find(|m| m.role == "leader" && m.state == "running")
    }

    /// The member holding the leader key, whatever its state.
    #[cfg(test)]
    pub(crate) fn leader_key(&self) -> Option<&str> {
        self.members.iter().find(|m| m.role == "leader").map(|m| m.name.as_str())
    }

    /// Replicas streaming from the leader on its timeline.
    pub(crate) fn streaming(&self) -> Vec<&Member> {
        let tl = self.leader().and_then(|l| l.timeline);
        self.members.iter().filter(|m| m.role != "leader" && m.state == "streaming" && m.timeline == tl).collect()
    }

    /// Replicas that confirm commits (sync or quorum standbys).
    pub(crate) fn sync_standbys(&self) -> Vec<&Member> {
        self.members.iter().filter(|m| m.role == "sync_standby" || m.role == "quorum_standby").collect()
    }

    /// The shape `habench` waits for after bootstrap or a failover: a running leader, `replicas`
    /// streaming on its timeline and at least `sync` of them confirming commits.
    pub(crate) fn is_healthy(&self, replicas: usize, sync: usize) -> bool {
        self.leader().is_some() && self.streaming().len() >= replicas && self.sync_standbys().len() >= sync
    }

    /// One line for errors and logs: `n1 leader running tl1, n2 sync_standby streaming tl1`.
    pub(crate) fn brief(&self) -> String {
        if self.members.is_empty() {
            return "no members".into();
        }
        self.members
            .iter()
            .map(|m| {
                format!("{} {} {} tl{}", m.name, m.role, m.state, m.timeline.map_or("?".into(), |t| t.to_string()))
            })
            .collect::<Vec<_>>()
            .join(", ")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_cluster_answer_tells_leader_streaming_and_sync() {
        let body = r#"{"members":[
            {"name":"n1","role":"leader","state":"running","api_url":"http://127.0.0.1:1/patroni","host":"127.0.0.1","port":5,"timeline":2},
            {"name":"n2","role":"sync_standby","state":"streaming","host":"127.0.0.1","port":6,"timeline":2,"lag":0},
            {"name":"n3","role":"replica","state":"streaming","timeline":1}],"scope":"x"}"#;
        let v = ClusterView::parse(body).unwrap();
        assert_eq!(v.leader().unwrap().name, "n1");
        assert_eq!(v.streaming().len(), 1, "n3 is on an old timeline");
        assert!(v.is_healthy(1, 1));
        assert!(!v.is_healthy(2, 1));
        assert!(v.brief().contains("n2 sync_standby streaming tl2"));
        let none = ClusterView::parse(r#"{"members":[{"name":"n1","role":"replica","state":"running"}]}"#).unwrap();
        assert!(none.leader().is_none() && none.leader_key().is_none());
    }
}
