//! The SSO master secret: what kept working and what did not while its server was down.

use crate::report::doc::Block;
use crate::summary::Summary;

pub(super) fn sso(s: &Summary) -> Vec<Block> {
    let Some(x) = &s.sso else { return Vec::new() };
    let place = match x.mode.as_str() {
        "separate" => "on a server of its own (it fails on its own)",
        _ => "beside the MessageBox, on its cluster (it fails over with the database)",
    };
    let outages = match x.outages.as_slice() {
        [] => "It had no outage.".to_string(),
        o => {
            let w: Vec<String> = o
                .iter()
                .map(|w| match w.to_s {
                    Some(t) => format!("{:.1} s to {t:.1} s", w.from_s),
                    None => format!("{:.1} s to the end", w.from_s),
                })
                .collect();
            format!("It was down from {}.", w.join(", "))
        }
    };
    let failing = match (x.encrypt_failing_from_s, x.encrypt_failing_to_s) {
        (Some(a), Some(b)) => format!(" (failing from {a:.1} s to {b:.1} s)"),
        _ => String::new(),
    };
    let mut out = vec![
        Block::Heading(2, "SSO master secret".into()),
        Block::Para(format!(
            "The master secret lived {place}; host instances fetched it at start and re-synced it every {:.0} s. \
             {outages}",
            x.refresh_s
        )),
        Block::Table {
            head: vec!["".into(), "worked".into(), "did not".into()],
            rows: vec![
                vec![
                    "decryptions with the cached secret (deliveries)".into(),
                    x.decryptions_ok.to_string(),
                    x.decryptions_failed.to_string(),
                ],
                vec![
                    "encryptions through the server (configuration changes)".into(),
                    x.encryptions_ok.to_string(),
                    format!("{} failed, {} unknown{failing}", x.encryptions_failed, x.encryptions_unknown),
                ],
                vec![
                    "re-syncs of the cached secret".into(),
                    x.refreshes_ok.to_string(),
                    x.refreshes_failed.to_string(),
                ],
                vec![
                    "host instance starts that had to wait for the secret".into(),
                    "".into(),
                    x.starts_blocked.to_string(),
                ],
            ],
        },
    ];
    if !x.starts.is_empty() {
        out.push(Block::Table {
            head: ["host instance start", "asked at", "waited", "failed attempts"].map(String::from).to_vec(),
            rows: x
                .starts
                .iter()
                .map(|st| {
                    vec![
                        st.instance.clone(),
                        format!("{:.1} s", st.at_s),
                        st.waited_ms.map(|m| format!("{m:.0} ms")).unwrap_or("never started".into()),
                        st.failed_attempts.to_string(),
                    ]
                })
                .collect(),
        });
    }
    out
}
