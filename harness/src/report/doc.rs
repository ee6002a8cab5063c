//! A report as blocks (headings, paragraphs, tables, charts), written out as Markdown or as
//! one self-contained HTML page (charts inline as SVG, no external assets).

use std::fmt::Write;

use crate::report::charts::Rendered;

#[derive(Debug, Clone)]
pub(crate) enum Block {
    Heading(u8, String),
    Para(String),
    Table {
        head: Vec<String>,
        rows: Vec<Vec<String>>,
    },
    Chart(Rendered),
    /// The answer first: a few figures, each with a verdict colour.
    Headline(Vec<Fact>),
    /// Blocks shown on request (HTML `<details>`).
    Folded {
        summary: String,
        blocks: Vec<Block>,
    },
}

/// One figure of the headline.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Fact {
    pub label: String,
    pub value: String,
    pub note: String,
    pub tone: Tone,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Tone {
    Good,
    Bad,
    Plain,
}

impl Tone {
    fn class(self) -> &'static str {
        match self {
            Tone::Good => "good",
            Tone::Bad => "bad",
            Tone::Plain => "plain",
        }
    }
}

pub(crate) fn table(head: &[&str], rows: Vec<Vec<String>>) -> Block {
    Block::Table { head: head.iter().map(|h| h.to_string()).collect(), rows }
}

pub(crate) fn to_markdown(blocks: &[Block]) -> String {
    let mut md = String::new();
    for b in blocks {
        match b {
            Block::Heading(level, text) => {
                let _ = writeln!(md, "{} {text}\n", "#".repeat(usize::from(*level)));
            }
            Block::Para(text) => {
                let _ = writeln!(md, "{text}\n");
            }
            Block::Table { head, rows } => {
                md.push_str(&crate::text_table::markdown(head, rows));
                md.push('\n');
            }
            Block::Chart(c) => {
                let _ = writeln!(md, "![{}](charts/{}.svg)\n", c.title, c.name);
            }
            Block::Headline(facts) => {
                for f in facts {
                    let note = if f.note.is_empty() { String::new() } else { format!(" ({})", f.note) };
                    let _ = writeln!(md, "- **{}**: {}{note}", f.label, f.value);
                }
                md.push('\n');
            }
            Block::Folded { summary, blocks } => {
                let _ = writeln!(md, "<details><summary>{summary}</summary>\n");
                md.push_str(&to_markdown(blocks));
                md.push_str("</details>\n\n");
            }
        }
    }
    md
}

fn esc(s: &str) -> String {
    s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;")
}

/// Inline Markdown of paragraphs: `code` and **bold** only.
fn inline(s: &str) -> String {
    let mut out = String::new();
    let mut code = false;
    let mut bold = false;
    let text = esc(s);
    let mut rest = text.as_str();
    while let Some(c) = rest.chars().next() {
        if rest.starts_with("**") {
            out.push_str(if bold { "</b>" } else { "<b>" });
            bold = !bold;
            rest = &rest[2..];
            continue;
        }
        if c == '`' {
            out.push_str(if code { "</code>" } else { "<code>" });
            code = !code;
        } else {
            out.push(c);
        }
        rest = &rest[c.len_utf8()..];
    }
    out
}

const STYLE: &str = "body{font-family:'DejaVu Sans',Verdana,sans-serif;max-width:1000px;margin:2em auto;padding:0 1em;color:#222}
table{border-collapse:collapse;margin:1em 0;font-size:0.9em}th,td{border:1px solid #ccc;padding:4px 8px;text-align:right}
th{background:#f0f0f0}td:first-child,th:first-child{text-align:left}code{background:#f4f4f4;padding:0 3px}
figure{margin:1.5em 0}figcaption{font-size:0.9em;color:#555}svg{max-width:100%;height:auto}
.headline{display:flex;flex-wrap:wrap;gap:12px;margin:1em 0 1.5em}.fact{flex:1 1 180px;border:1px solid #ccc;border-left:6px solid #999;padding:8px 12px;border-radius:4px}
.fact.good{border-left-color:#2a9d3a}.fact.bad{border-left-color:#d62728;background:#fff4f4}.fact .label{font-size:0.85em;color:#555}
.fact .value{font-size:1.4em;font-weight:bold;margin:2px 0}.fact .note{font-size:0.85em;color:#444}
details{margin:1em 0}summary{cursor:pointer;color:#1f4f99}";

pub(crate) fn to_html(title: &str, blocks: &[Block]) -> String {
    let mut h = String::new();
    let _ = write!(
        h,
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>{}</title><style>{STYLE}</style></head><body>\n",
        esc(title)
    );
    html_blocks(&mut h, blocks);
    h.push_str("</body></html>\n");
    h
}

fn html_blocks(h: &mut String, blocks: &[Block]) {
    for b in blocks {
        match b {
            Block::Heading(level, text) => {
                let _ = writeln!(h, "<h{level}>{}</h{level}>", inline(text));
            }
            Block::Para(text) => {
                let _ = writeln!(h, "<p>{}</p>", inline(text));
            }
            Block::Table { head, rows } => {
                h.push_str("<table><thead><tr>");
                for c in head {
                    let _ = write!(h, "<th>{}</th>", inline(c));
                }
                h.push_str("</tr></thead><tbody>\n");
                for r in rows {
                    h.push_str("<tr>");
                    for c in r {
                        let _ = write!(h, "<td>{}</td>", inline(c));
                    }
                    h.push_str("</tr>\n");
                }
                h.push_str("</tbody></table>\n");
            }
            Block::Chart(c) => {
                let svg = c.svg.find("<svg").map(|i| &c.svg[i..]).unwrap_or(&c.svg);
                let _ = writeln!(h, "<figure>{svg}<figcaption>{}</figcaption></figure>", esc(&c.title));
            }
            Block::Headline(facts) => {
                h.push_str("<div class=\"headline\">\n");
                for f in facts {
                    let _ = writeln!(
                        h,
                        "<div class=\"fact {}\"><div class=\"label\">{}</div><div class=\"value\">{}</div><div class=\"note\">{}</div></div>",
                        f.tone.class(),
                        inline(&f.label),
                        inline(&f.value),
                        inline(&f.note)
                    );
                }
                h.push_str("</div>\n");
            }
            Block::Folded { summary, blocks } => {
                let _ = writeln!(h, "<details><summary>{}</summary>", inline(summary));
                html_blocks(h, blocks);
                h.push_str("</details>\n");
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_markdown_cell_keeps_its_pipes_and_line_breaks_inside_its_column() {
        let t = Block::Table {
            head: vec!["what".into(), "detail".into()],
            rows: vec![vec!["a|b".into(), "one\ntwo \\ three".into()]],
        };
        let md = to_markdown(&[t]);
        let row = md.lines().nth(2).unwrap();
        assert_eq!(row, "| a\\|b | one two \\\\ three |");
        // Unescaped pipes: the row's borders and the one between its two cells.
        assert_eq!(row.replace("\\|", "").matches('|').count(), 3);
    }

    #[test]
    fn markdown_and_html_carry_the_same_content() {
        let blocks = vec![
            Block::Heading(1, "Run <x>".into()),
            Block::Para("p99 **12 ms** at `sync`".into()),
            table(&["op", "p99"], vec![vec!["publish".into(), "12".into()]]),
        ];
        let md = to_markdown(&blocks);
        assert!(md.contains("# Run <x>") && md.contains("| publish | 12 |"), "{md}");
        let html = to_html("t", &blocks);
        assert!(html.contains("<h1>Run &lt;x&gt;</h1>"), "{html}");
        assert!(html.contains("<b>12 ms</b>") && html.contains("<code>sync</code>"), "{html}");
        assert!(html.contains("<td>publish</td>"));
        assert!(!html.contains("http://") && !html.contains("https://"), "no external assets");
    }
}
