//! advise.md and advise.html: the answer first, then the decision table (designs x
//! requirements), then every cell's figure, rule and folders.

use std::path::Path;

use crate::report::doc::{self, table, Block};
use crate::summary::{Advice, AdviceVerdict as Verdict};

/// Writes advise.md and advise.html into `dir`; returns the Markdown.
pub(crate) fn write(dir: &Path, a: &Advice) -> Result<String, String> {
    let blocks = blocks(a);
    let md = doc::to_markdown(&blocks);
    crate::store::write_atomic(&dir.join("advise.md"), md.as_bytes()).map_err(|e| format!("advise.md: {e}"))?;
    let html = doc::to_html("habench advise", &blocks);
    crate::store::write_atomic(&dir.join("advise.html"), html.as_bytes()).map_err(|e| format!("advise.html: {e}"))?;
    Ok(md)
}

fn mark(v: Verdict) -> &'static str {
    match v {
        Verdict::Meets => "meets",
        Verdict::Borderline => "BORDERLINE",
        Verdict::Fails => "FAILS",
        Verdict::NoEvidence => "no evidence",
    }
}

pub(crate) fn blocks(a: &Advice) -> Vec<Block> {
    let mut out = vec![Block::Heading(1, "habench advise".into()), Block::Para(a.answer.clone())];
    let requirements: Vec<String> =
        a.designs.first().map(|d| d.cells.iter().map(|c| c.requirement.clone()).collect()).unwrap_or_default();
    let mut head = vec!["design", "servers", "eligible", "MST / load"];
    head.extend(requirements.iter().map(String::as_str));
    let rows = a
        .designs
        .iter()
        .map(|d| {
            let mut row = vec![
                d.design.clone(),
                d.servers.map_or("-".into(), |s| s.to_string()),
                if d.eligible { "yes".into() } else { "no".into() },
                d.headroom.map_or("-".into(), |h| format!("{h:.2}x")),
            ];
            row.extend(d.cells.iter().map(|c| format!("{}: {}", mark(c.verdict), c.figure)));
            row
        })
        .collect();
    out.push(Block::Heading(2, "Decision".into()));
    out.push(table(&head, rows));
    if let Some(r) = &a.relaxation {
        out.push(Block::Para(format!(
            "No design meets every requirement. The smallest relaxation: {} with {}.",
            r.design,
            r.changes.join(", ")
        )));
    }
    out.push(Block::Heading(2, "Evidence".into()));
    let rows = a
        .designs
        .iter()
        .flat_map(|d| {
            d.cells.iter().map(|c| {
                vec![
                    d.design.clone(),
                    c.requirement.clone(),
                    mark(c.verdict).into(),
                    c.figure.clone(),
                    c.rule.clone(),
                    c.folders.join(", "),
                ]
            })
        })
        .collect();
    out.push(table(&["design", "requirement", "verdict", "figure", "rule", "folders"], rows));
    out.push(Block::Para(format!("Evidence: {}.", a.evidence_rule)));
    out
}
