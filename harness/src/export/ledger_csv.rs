//! `ledger.csv`: every publish and completion with its outcome.

use serde::Serialize;

use crate::runner::ledger::LedgerEntry;

pub(crate) const HEADER: [&str; 11] = [
    "at_us",
    "event",
    "msg_id",
    "subject",
    "instance",
    "outcome",
    "held",
    "latency_us",
    "attempts",
    "server_port",
    "group",
];

/// One entry as a CSV record, in the order of `HEADER`, borrowed from the entry: written with
/// `csv::Writer::serialize`, no cell is allocated.
#[derive(Debug, Serialize)]
pub struct Record<'a> {
    at_us: i64,
    event: &'static str,
    msg_id: i64,
    subject: &'a str,
    instance: &'a str,
    outcome: &'static str,
    held: bool,
    latency_us: u64,
    attempts: i32,
    server_port: u16,
    /// Parallel groups: `g1`, `g2`...; empty without groups.
    group: Option<String>,
}

pub fn record(e: &LedgerEntry) -> Record<'_> {
    Record {
        at_us: e.at_us,
        event: e.event.as_str(),
        msg_id: e.msg_id,
        subject: &e.subject,
        instance: &e.instance,
        outcome: e.outcome.as_str(),
        held: e.held,
        latency_us: e.latency_us,
        attempts: e.attempts,
        server_port: e.server_port,
        group: (e.group > 0).then(|| format!("g{}", e.group)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::runner::ledger::Event;
    use habench_workloads::Outcome;

    #[test]
    fn a_record_has_the_header_s_columns_and_quotes_what_needs_it() {
        let e = LedgerEntry {
            at_us: 1,
            event: Event::Publish,
            msg_id: 7,
            subject: "order, \"urgent\"".into(),
            host: 0,
            instance: String::new(),
            outcome: Outcome::Ok,
            held: true,
            latency_us: 250,
            attempts: 1,
            server_port: 5432,
            group: 0,
        };
        let mut w = csv::WriterBuilder::new().has_headers(false).from_writer(Vec::new());
        w.write_record(HEADER).unwrap();
        w.serialize(record(&e)).unwrap();
        let text = String::from_utf8(w.into_inner().unwrap()).unwrap();
        let (header, rows) = crate::text_table::read(&text);
        assert_eq!(header, HEADER);
        assert_eq!(rows, [["1", "publish", "7", "order, \"urgent\"", "", "ok", "true", "250", "1", "5432", ""]]);
        let grouped = LedgerEntry { group: 2, ..e };
        let mut w = csv::WriterBuilder::new().has_headers(false).from_writer(Vec::new());
        w.serialize(record(&grouped)).unwrap();
        assert!(String::from_utf8(w.into_inner().unwrap()).unwrap().trim_end().ends_with(",5432,g2"));
    }
}
