//! The monitor's view of a formation: each data node's reported and assigned (goal) state, its
//! health check result and timeline, as `pgautofailover.node` holds them.

/// One data node as the monitor sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NodeState {
    pub name: String,
    pub port: u16,
    /// What the node's keeper last reported (`primary`, `secondary`, `wait_primary`, ...).
    pub reported: String,
    /// What the monitor assigned it.
    pub goal: String,
    /// The monitor's health check: 1 good, 0 bad, -1 unknown.
    pub health: i32,
    pub timeline: i32,
}

impl NodeState {
    /// Reached what it was assigned.
    pub fn settled(&self) -> bool {
        self.reported == self.goal
    }
}

/// Every data node of the formation, in the order they joined.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FormationView {
    pub nodes: Vec<NodeState>,
}

impl FormationView {
    /// What the view is read with (on the monitor's `pg_auto_failover` database).
    pub const SQL: &'static str =
        "SELECT nodename, nodeport, reportedstate::text, goalstate::text, health, reportedtli \
         FROM pgautofailover.node WHERE formationid = 'default' ORDER BY nodeid";

    /// The node that takes writes: assigned and reporting `primary` (or `wait_primary`, a
    /// primary whose standbys are gone, or `single`, the only node).
    pub fn primary(&self) -> Option<&NodeState> {
        self.nodes.iter().find(|n| n.settled() && matches!(n.reported.as_str(), "primary" | "wait_primary" | "single"))
    }

    /// A secondary that has settled (the one a standby fault takes).
    pub fn secondary(&self) -> Option<&NodeState> {
        self.nodes.iter().find(|n| n.settled() && n.reported == "secondary")
    }

    /// `nodes` data nodes, every one settled: one primary and the others secondaries.
    pub fn is_formed(&self, nodes: usize) -> bool {
        let secondaries = self.nodes.iter().filter(|n| n.settled() && n.reported == "secondary").count();
        let primaries = self.nodes.iter().filter(|n| n.settled() && n.reported == "primary").count();
        self.nodes.len() == nodes && primaries == 1 && secondaries == nodes - 1
            || nodes == 1 && self.nodes.len() == 1 && self.nodes[0].settled() && self.nodes[0].reported == "single"
    }

    /// One line: `n1 primary, n2 secondary, n3 catchingup->secondary`.
    pub fn brief(&self) -> String {
        if self.nodes.is_empty() {
            return "no data node registered".into();
        }
        let state = |n: &NodeState| match n.settled() {
            true => format!("{} {}", n.name, n.reported),
            false => format!("{} {}->{}", n.name, n.reported, n.goal),
        };
        self.nodes.iter().map(state).collect::<Vec<_>>().join(", ")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn node(name: &str, reported: &str, goal: &str) -> NodeState {
        NodeState { name: name.into(), port: 1, reported: reported.into(), goal: goal.into(), health: 1, timeline: 1 }
    }

    #[test]
    fn a_formation_is_formed_when_every_node_settled_as_one_primary_and_secondaries() {
        let mut v = FormationView {
            nodes: vec![
                node("n1", "wait_primary", "primary"),
                node("n2", "secondary", "secondary"),
                node("n3", "catchingup", "secondary"),
            ],
        };
        assert!(!v.is_formed(3));
        assert_eq!(v.primary(), None, "not yet settled");
        assert_eq!(v.brief(), "n1 wait_primary->primary, n2 secondary, n3 catchingup->secondary");
        v.nodes[0] = node("n1", "primary", "primary");
        v.nodes[2] = node("n3", "secondary", "secondary");
        assert!(v.is_formed(3));
        assert!(!v.is_formed(4), "a node still missing");
        assert_eq!(v.primary().map(|n| n.name.as_str()), Some("n1"));
        // During a failover the old primary is assigned `draining` and is no primary any more.
        v.nodes[0] = node("n1", "primary", "draining");
        assert_eq!(v.primary(), None);
    }
}
