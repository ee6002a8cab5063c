//! Who could reach whom while network faults held (`--net namespaces`): for each fault, when it
//! held and a table of the hosts, rows sending and columns receiving.

use crate::events::EventKind;
use crate::report::doc::Block;
use crate::summary::Summary;

use super::outcome::fault_label;

/// One `Reach` event: when (ms after the injection), the hosts, the dropped pairs, the
/// impairments.
type ReachAt<'a> = (f64, &'a [String], &'a [[String; 2]], &'a [[String; 2]]);

pub(super) fn reach(s: &Summary) -> Vec<Block> {
    let mut out = Vec::new();
    for t in s.trials() {
        let reaches: Vec<ReachAt<'_>> = t
            .events
            .iter()
            .filter_map(|e| match &e.event {
                EventKind::Reach { hosts, dropped, impaired } => {
                    Some((e.at_ms, hosts.as_slice(), dropped.as_slice(), impaired.as_slice()))
                }
                _ => None,
            })
            .collect();
        let Some(&(at_ms, hosts, dropped, impaired)) = reaches.iter().find(|r| !r.2.is_empty() || !r.3.is_empty())
        else {
            continue;
        };
        if out.is_empty() {
            out.push(Block::Heading(2, "Who reached whom".into()));
        }
        let from = t.injected_at_s + at_ms / 1e3;
        let until = match reaches.iter().find(|r| r.0 > at_ms && r.2.is_empty() && r.3.is_empty()) {
            Some(whole) => {
                format!("until {:.1} s, then every host reached every other again", t.injected_at_s + whole.0 / 1e3)
            }
            None => "until the end of the run".into(),
        };
        out.push(Block::Para(format!(
            "`{}`: from {from:.1} s {until}. Rows send, columns receive: `CUT`: its packets are dropped on the way.",
            fault_label(&t.fault)
        )));
        out.push(Block::Table { head: head(hosts), rows: rows(hosts, dropped, impaired) });
    }
    out
}

fn head(hosts: &[String]) -> Vec<String> {
    std::iter::once("from / to".to_string()).chain(hosts.iter().cloned()).collect()
}

/// One row per sending host: `-` to itself, `CUT`, the impairment of either end, or `ok`.
fn rows(hosts: &[String], dropped: &[[String; 2]], impaired: &[[String; 2]]) -> Vec<Vec<String>> {
    let impairment = |h: &String| impaired.iter().find(|[i, _]| i == h).map(|[_, what]| what.clone());
    hosts
        .iter()
        .map(|a| {
            let cells = hosts.iter().map(|b| {
                if a == b {
                    "-".to_string()
                } else if dropped.iter().any(|[f, t]| f == a && t == b) {
                    "CUT".to_string()
                } else {
                    impairment(a).or_else(|| impairment(b)).unwrap_or_else(|| "ok".into())
                }
            });
            std::iter::once(a.clone()).chain(cells).collect()
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_one_way_cut_shows_in_one_cell_and_a_loss_on_its_hosts_line() {
        let hosts: Vec<String> = ["primary", "s1", "clients"].map(String::from).to_vec();
        let r = rows(&hosts, &[["primary".into(), "s1".into()]], &[]);
        assert_eq!(r[0], ["primary", "-", "CUT", "ok"]);
        assert_eq!(r[1], ["s1", "ok", "-", "ok"]);
        let lossy = rows(&hosts, &[], &[["s1".into(), "5% loss".into()]]);
        assert_eq!(lossy[0], ["primary", "-", "5% loss", "ok"]);
        assert_eq!(lossy[1], ["s1", "5% loss", "-", "5% loss"]);
        assert_eq!(head(&hosts), ["from / to", "primary", "s1", "clients"]);
    }
}
