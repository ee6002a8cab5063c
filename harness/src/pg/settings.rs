//! Server settings written to a node's `habench.conf` (included from postgresql.conf).

use std::fmt::Write;

/// An ordered set of `name = value` settings; setting a name again replaces its value.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Settings(Vec<(String, String)>);

impl Settings {
    pub(crate) fn new() -> Self {
        Self::default()
    }

    pub(crate) fn set(&mut self, name: &str, value: impl Into<String>) -> &mut Self {
        let value = value.into();
        match self.0.iter_mut().find(|(n, _)| n == name) {
            Some(slot) => slot.1 = value,
            None => self.0.push((name.to_string(), value)),
        }
        self
    }

    /// Applies every setting of `other` on top of these.
    pub(crate) fn extend(&mut self, other: &Settings) -> &mut Self {
        for (n, v) in &other.0 {
            self.set(n, v.clone());
        }
        self
    }

    pub(crate) fn iter(&self) -> impl Iterator<Item = (&str, &str)> {
        self.0.iter().map(|(n, v)| (n.as_str(), v.as_str()))
    }

    /// postgresql.conf syntax, every value single-quoted.
    pub(crate) fn render(&self) -> String {
        let mut out = String::from("# written by habench; rewritten at every start of this node\n");
        for (n, v) in &self.0 {
            let _ = writeln!(out, "{n} = '{}'", v.replace('\'', "''"));
        }
        out
    }
}

/// Parses `name=value` as given to `--pg-set`.
pub(crate) fn parse_assignment(s: &str) -> Result<(String, String), String> {
    let (name, value) =
        s.split_once('=').ok_or_else(|| format!("`{s}` is not NAME=VALUE (example: --pg-set shared_buffers=256MB)"))?;
    let name = name.trim().to_ascii_lowercase();
    let valid = name.chars().next().is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '.');
    if !valid {
        return Err(format!("`{name}` is not a PostgreSQL setting name (letters, digits, `_` and `.`)"));
    }
    Ok((name, value.trim().to_string()))
}

/// The settings a server runs with whose source is not the built-in default (and the
/// durability settings whatever their source), as a report shows them (secrets masked).
pub(crate) async fn non_default(client: &tokio_postgres::Client) -> std::collections::BTreeMap<String, String> {
    // What the servers were configured with (not what this session's client set), and the
    // durability settings whatever their source: a report must say `on`, not leave it out.
    let sql = "SELECT name, current_setting(name) FROM pg_settings \
               WHERE source NOT IN ('default', 'override', 'client', 'session') \
                  OR name IN ('synchronous_commit', 'synchronous_standby_names', 'fsync', 'full_page_writes', \
                              'wal_sync_method') \
               ORDER BY name";
    match client.query(sql, &[]).await {
        Ok(rows) => rows
            .iter()
            .map(|r| {
                let (name, value): (String, String) = (r.get(0), r.get(1));
                let value = crate::pg::dsn::shown_setting(&name, &value);
                (name, value)
            })
            .collect(),
        Err(_) => std::collections::BTreeMap::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn later_values_replace_earlier_ones_in_place() {
        let mut s = Settings::new();
        s.set("a", "1").set("b", "2").set("a", "3");
        assert_eq!(s.iter().collect::<Vec<_>>(), [("a", "3"), ("b", "2")]);
    }

    #[test]
    fn values_are_quoted_for_postgresql_conf() {
        let mut s = Settings::new();
        s.set("archive_command", "cp %p 'x'");
        assert!(s.render().contains("archive_command = 'cp %p ''x'''\n"));
    }

    #[test]
    fn assignments_are_validated() {
        assert_eq!(parse_assignment("Work_Mem = 64MB"), Ok(("work_mem".into(), "64MB".into())));
        assert_eq!(parse_assignment("auto_explain.log_min_duration=0").unwrap().0, "auto_explain.log_min_duration");
        assert!(parse_assignment("work_mem").unwrap_err().contains("NAME=VALUE"));
        assert!(parse_assignment("1x=2").unwrap_err().contains("setting name"));
        assert!(parse_assignment("a;b=2").is_err());
    }
}
