//! Durability exposure: the intervals in which the primary acknowledged commits with fewer
//! synchronous standbys than the run was configured with (a dead standby dropped from
//! `synchronous_standby_names`, Patroni's `on` mode with no standby left), from samples of the
//! primary's setting. Pure: the samples come from the runner, the acknowledgements from the
//! ledger.

use serde::{Deserialize, Serialize};

/// How many standbys must confirm a commit under a `synchronous_standby_names` value:
/// `FIRST k (...)`, `ANY k (...)` and `k (...)` need k; a plain list (or `*`) needs one; an empty
/// value none.
pub(crate) fn required_standbys(names: &str) -> u32 {
    let t = names.trim();
    if t.is_empty() {
        return 0;
    }
    let upper = t.to_ascii_uppercase();
    let rest = upper.strip_prefix("FIRST").or_else(|| upper.strip_prefix("ANY")).unwrap_or(&upper).trim_start();
    let digits: String = rest.chars().take_while(|c| c.is_ascii_digit()).collect();
    let after = rest[digits.len()..].trim_start();
    match digits.parse::<u32>() {
        Ok(k) if after.starts_with('(') => k,
        _ => 1,
    }
}

/// One sample of the primary's synchronous setting; `names` is None when the primary could not
/// be asked (down, or a failover in progress: no commit is acknowledged then either). Only
/// changes are kept: `since_us` is when the sample before (which still showed the previous
/// state) was asked for, `at_us` when this one's answer came, so the change happened between
/// them (the answer to a sample can come milliseconds after the server read the setting).
#[derive(Debug, Clone, PartialEq)]
pub struct SyncSample {
    pub at_us: i64,
    pub since_us: i64,
    pub names: Option<String>,
}

/// An interval of acknowledged but unprotected commits. Its bounds are conservative (they err
/// towards exposure): it starts at the last sample that still showed the protected state and
/// ends at the first that showed it again, so it may hold up to one sampling interval of
/// protected commits at each end, never miss an exposed one.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct Window {
    /// Wall-clock µs: when the last sample before the change was asked for, when the first that
    /// showed it answered, and when the first that no longer did answered (None: it lasted to
    /// the end of the run).
    pub start_us: i64,
    pub seen_us: i64,
    pub end_us: Option<i64>,
    /// The setting during the window, and the one configured.
    pub names: String,
    pub configured: String,
}

/// The windows in which fewer standbys than `configured` would confirm a commit.
pub(crate) fn windows(samples: &[SyncSample], configured: &str) -> Vec<Window> {
    let need = required_standbys(configured);
    let mut out: Vec<Window> = Vec::new();
    let mut open: Option<Window> = None;
    for s in samples {
        let Some(names) = &s.names else { continue };
        let exposed = required_standbys(names) < need;
        match (&mut open, exposed) {
            (None, true) => {
                open = Some(Window {
                    start_us: s.since_us,
                    seen_us: s.at_us,
                    end_us: None,
                    names: names.clone(),
                    configured: configured.into(),
                })
            }
            (Some(w), false) => {
                w.end_us = Some(s.at_us);
                out.extend(open.take());
            }
            _ => {}
        }
    }
    out.extend(open);
    out
}

/// One acknowledged publish: when (wall-clock µs), which message, and which server answered
/// (its port; 0 unknown). Sorted by time, then id.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct MessageAck {
    pub at_us: i64,
    pub msg_id: i64,
    pub server_port: u16,
}

/// The acknowledgements (sorted) from `start_us` up to `end_us`.
pub(crate) fn acks_between(acks: &[MessageAck], start_us: i64, end_us: i64) -> &[MessageAck] {
    let from = acks.partition_point(|a| a.at_us < start_us);
    let to = acks.partition_point(|a| a.at_us < end_us).max(from);
    &acks[from..to]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_settings_require_what_postgres_waits_for() {
        for (names, k) in [
            ("", 0),
            ("  ", 0),
            ("FIRST 1 (s1)", 1),
            ("first 2 (s1, s2, s3)", 2),
            ("ANY 2 (s1,s2)", 2),
            ("3 (a, b, c)", 3),
            ("s1, s2", 1),
            ("*", 1),
            ("\"s1\"", 1),
        ] {
            assert_eq!(required_standbys(names), k, "{names:?}");
        }
    }

    fn at(t: i64, names: Option<&str>) -> SyncSample {
        SyncSample { at_us: t, since_us: t - 10, names: names.map(String::from) }
    }

    #[test]
    fn a_dropped_standby_opens_a_window_until_it_is_back_and_unsampled_moments_keep_the_state() {
        let s = [
            at(0, Some("FIRST 1 (s1)")),
            at(50, Some("")),
            at(100, None),
            at(150, Some("")),
            at(200, Some("FIRST 1 (s1)")),
            at(250, Some("")),
        ];
        let w = windows(&s, "FIRST 1 (s1)");
        assert_eq!(w.len(), 2);
        assert_eq!((w[0].start_us, w[0].seen_us, w[0].end_us, w[0].names.as_str()), (40, 50, Some(200), ""));
        assert_eq!((w[1].start_us, w[1].end_us), (240, None), "open to the end of the run");
        let acks: Vec<MessageAck> = [10, 60, 120, 199, 200, 260, 900]
            .iter()
            .map(|&t| MessageAck { at_us: t, msg_id: t, server_port: 1 })
            .collect();
        assert_eq!(acks_between(&acks, w[0].start_us, w[0].end_us.unwrap()).len(), 3);
        assert_eq!(acks_between(&acks, w[1].start_us, 1000).len(), 2);
        // FIRST 1 of 2 keeps one confirming standby: no window.
        assert!(
            windows(&[at(0, Some("FIRST 1 (s1, s2)")), at(50, Some("FIRST 1 (s2)"))], "FIRST 1 (s1, s2)").is_empty()
        );
        assert!(windows(&s, "").is_empty(), "an asynchronous setup promises nothing to break");
    }
}
