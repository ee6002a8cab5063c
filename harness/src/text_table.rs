//! Tables as text, the one place that writes them. CSV by the book (RFC 4180 through the `csv`
//! crate): a cell with a comma, a quote or a line break is quoted, so a message type or variant
//! name cannot shift a file's columns. Markdown with every cell escaped: a `|` cannot start a
//! column, a line break cannot end a row.

/// One record, with its line end.
pub(crate) fn line<S: AsRef<[u8]>>(cells: &[S]) -> String {
    let mut w = csv::WriterBuilder::new().from_writer(Vec::new());
    // Writing to memory cannot fail; a record is never refused for its content.
    let _ = w.write_record(cells);
    String::from_utf8(w.into_inner().unwrap_or_default()).unwrap_or_default()
}

/// A header and its rows.
pub(crate) fn table<S: AsRef<[u8]>>(header: &[&str], rows: &[Vec<S>]) -> String {
    let mut out = line(header);
    for r in rows {
        out.push_str(&line(r));
    }
    out
}

/// A Markdown table (a header, its rule and the rows; each line ends with a line break).
pub(crate) fn markdown<H: AsRef<str>, C: AsRef<str>>(header: &[H], rows: &[Vec<C>]) -> String {
    let line = |cells: &mut dyn Iterator<Item = &str>| cells.map(md_cell).collect::<Vec<_>>().join(" | ");
    let mut out = format!("| {} |\n|{}\n", line(&mut header.iter().map(AsRef::as_ref)), "---|".repeat(header.len()));
    for r in rows {
        out.push_str(&format!("| {} |\n", line(&mut r.iter().map(AsRef::as_ref))));
    }
    out
}

/// A Markdown table cell: a `|` (a fault's detail, a variant's name) would start a new column,
/// a line break would end the row.
fn md_cell(text: &str) -> String {
    text.replace('\\', "\\\\").replace('|', "\\|").replace(['\r', '\n'], " ")
}

/// Reads a CSV text with a header into (header, records); a record that does not parse is
/// left out.
pub(crate) fn read(text: &str) -> (Vec<String>, Vec<Vec<String>>) {
    let mut r = csv::ReaderBuilder::new().flexible(true).from_reader(text.as_bytes());
    let header = r.headers().map(|h| h.iter().map(str::to_string).collect()).unwrap_or_default();
    let rows = r.records().filter_map(|rec| rec.ok()).map(|rec| rec.iter().map(str::to_string).collect()).collect();
    (header, rows)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_with_commas_quotes_and_line_breaks_round_trip() {
        let names = ["plain", "a,b", "say \"hi\"", "two\nlines", "\r\n,\"", ""];
        let rows: Vec<Vec<String>> = names.iter().map(|n| vec![n.to_string(), "1".to_string()]).collect();
        let text = table(&["name", "n"], &rows);
        let (header, back) = read(&text);
        assert_eq!(header, ["name", "n"]);
        assert_eq!(back, rows);
    }

    #[test]
    fn a_markdown_cell_cannot_add_a_column_or_end_a_row() {
        let md = markdown(&["name", "n"], &[vec!["a|b", "1"], vec!["two\nlines", "c:\\x"]]);
        assert_eq!(md, "| name | n |\n|---|---|\n| a\\|b | 1 |\n| two lines | c:\\\\x |\n");
    }
}
