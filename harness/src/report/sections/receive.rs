//! The receive location: files written, read twice, read half-written, and how long pickup
//! took; each receive instance's death and who took over.

use crate::report::doc::Block;
use crate::summary::{ReceiveSection, Summary};

pub(super) fn receive(s: &Summary) -> Vec<Block> {
    let Some(r) = &s.receive else { return Vec::new() };
    let how = match r.lock.as_str() {
        "none" => "listed and read it without claiming a file (as an FTP, SFTP or POP3 adapter does)",
        "exclusive" => "skipped files still being written and claimed each by an atomic rename before reading it",
        _ => "ran as a clustered host: one instance read (without claiming), another took over after its death",
    };
    let mut out = vec![
        Block::Heading(2, "Receive location".into()),
        Block::Para(format!(
            "A feeder wrote **{} files** into a directory, each in pieces (an upload arriving); {} \
             polled it and {how}. {}",
            r.files_written,
            match r.instances {
                1 => "one receive instance".to_string(),
                n => format!("{n} receive instances"),
            },
            verdict(r)
        )),
        Block::Table {
            head: vec!["".into(), "count".into(), "per 10,000 files".into()],
            rows: vec![
                vec!["files written".into(), r.files_written.to_string(), "".into()],
                vec!["reads published (messages)".into(), r.receipts.to_string(), "".into()],
                row("duplicate receives", r.duplicate_receipts, r.duplicates_per_10k),
                vec!["files received more than once".into(), r.files_duplicated.to_string(), "".into()],
                row("incomplete reads", r.incomplete_reads, r.incomplete_per_10k),
                vec!["files never received whole".into(), r.files_never_whole.to_string(), "".into()],
                vec![
                    "publishes failed / unknown".into(),
                    format!("{} / {}", r.failed_publishes, r.unknown_publishes),
                    "".into(),
                ],
                vec!["files left in the location".into(), r.left_on_disk.to_string(), "".into()],
            ],
        },
    ];
    if let Some(d) = r.pickup_delay_ms {
        out.push(Block::Para(format!(
            "Pickup delay, from a file's last write to its first whole read: p50 {:.0} ms, p99 {:.0} ms, max {:.0} ms.",
            d.p50, d.p99, d.max
        )));
    }
    if !r.kills.is_empty() {
        let ms = |v: Option<f64>| v.map(|m| format!("{m:.0} ms")).unwrap_or("-".into());
        out.push(Block::Table {
            head: ["instance killed", "at", "taken over by", "after", "no pickup for", "read again", "restarted after"]
                .map(String::from)
                .to_vec(),
            rows: r
                .kills
                .iter()
                .map(|k| {
                    vec![
                        k.instance.clone(),
                        format!("{:.2} s", k.at_s),
                        k.taken_over_by.clone().unwrap_or("-".into()),
                        ms(k.takeover_ms),
                        ms(k.pickup_gap_ms),
                        k.read_again.to_string(),
                        ms(k.restarted_after_ms),
                    ]
                })
                .collect(),
        });
    }
    out
}

fn row(label: &str, n: u64, per_10k: f64) -> Vec<String> {
    vec![label.into(), n.to_string(), format!("{per_10k:.1}")]
}

fn verdict(r: &ReceiveSection) -> String {
    match (r.duplicate_receipts, r.incomplete_reads) {
        (0, 0) => "Every file became exactly one message, read whole.".into(),
        (1, 0) => "**One file was published twice**: a duplicate downstream.".into(),
        (d, 0) => format!("**{d} extra copies of files were published**: duplicates downstream."),
        (0, i) => format!(
            "**{i} reads took a file still being written**: messages with a truncated body, and the rest of the file lost."
        ),
        (d, i) => format!(
            "**{d} duplicate receives** and **{i} reads of a file still being written** (a truncated message, the rest \
             lost)."
        ),
    }
}
