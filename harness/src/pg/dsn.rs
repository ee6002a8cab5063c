//! Connection strings given by the user: parsed once, the way the workers use them; everything
//! stored or shown is derived from the parsed value, never from the text, so no spelling of a
//! password (spaces around `=`, quotes, escapes, URL user info, URL parameter) can slip through.

use std::fmt;
use std::time::Duration;

use tokio_postgres::config::{Host, SslMode, TargetSessionAttrs};
use tokio_postgres::Config;

/// What stands where a password was.
pub(crate) const HIDDEN: &str = "***";

/// A parsed connection string. `Debug`, `Display` and `Serialize` show it without its password.
#[derive(Clone)]
pub struct UserDsn {
    config: Config,
    shown: String,
}

impl UserDsn {
    /// Parses `text`. Without a password in the text, libpq's `PGPASSWORD` applies, as it
    /// would for psql. The error never echoes the text (the caller names the flag or key).
    pub(crate) fn parse(text: &str) -> Result<UserDsn, String> {
        let mut config = text.parse::<Config>().map_err(|e| {
            format!(
                "not a valid connection string ({e}); write `host=H port=P user=U dbname=D` \
                 or `postgresql://U@H:P/D`"
            )
        })?;
        if config.get_password().is_none() {
            if let Some(pw) = std::env::var_os("PGPASSWORD") {
                config.password(pw.as_encoded_bytes());
            }
        }
        let shown = shown(&config);
        Ok(UserDsn { config, shown })
    }

    /// What the workers connect with (the password included).
    pub(crate) fn config(&self) -> &Config {
        &self.config
    }

    /// The connection string as it may be stored and shown: `password=***` where one is set.
    pub(crate) fn shown(&self) -> &str {
        &self.shown
    }
}

impl fmt::Debug for UserDsn {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("UserDsn").field(&self.shown).finish()
    }
}

impl fmt::Display for UserDsn {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.shown)
    }
}

impl serde::Serialize for UserDsn {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.shown)
    }
}

/// A key-value rendering of what the parsed configuration holds, password hidden.
pub(crate) fn shown(c: &Config) -> String {
    let mut kv: Vec<(&str, String)> = Vec::new();
    let hosts: Vec<String> = c
        .get_hosts()
        .iter()
        .map(|h| match h {
            Host::Tcp(name) => name.clone(),
            Host::Unix(path) => path.display().to_string(),
        })
        .collect();
    if !hosts.is_empty() {
        kv.push(("host", hosts.join(",")));
    }
    let addrs: Vec<String> = c.get_hostaddrs().iter().map(|a| a.to_string()).collect();
    if !addrs.is_empty() {
        kv.push(("hostaddr", addrs.join(",")));
    }
    let ports: Vec<String> = c.get_ports().iter().map(|p| p.to_string()).collect();
    if !ports.is_empty() {
        kv.push(("port", ports.join(",")));
    }
    if let Some(u) = c.get_user() {
        kv.push(("user", u.to_string()));
    }
    if c.get_password().is_some() {
        kv.push(("password", HIDDEN.to_string()));
    }
    if let Some(d) = c.get_dbname() {
        kv.push(("dbname", d.to_string()));
    }
    if let Some(a) = c.get_application_name() {
        kv.push(("application_name", a.to_string()));
    }
    if let Some(o) = c.get_options() {
        kv.push(("options", o.to_string()));
    }
    let ssl = match c.get_ssl_mode() {
        SslMode::Disable => Some("disable"),
        SslMode::Require => Some("require"),
        _ => None,
    };
    if let Some(s) = ssl {
        kv.push(("sslmode", s.to_string()));
    }
    if let Some(t) = c.get_connect_timeout() {
        kv.push(("connect_timeout", secs(*t)));
    }
    let attrs = match c.get_target_session_attrs() {
        TargetSessionAttrs::ReadWrite => Some("read-write"),
        TargetSessionAttrs::ReadOnly => Some("read-only"),
        _ => None,
    };
    if let Some(a) = attrs {
        kv.push(("target_session_attrs", a.to_string()));
    }
    kv.iter().map(|(k, v)| format!("{k}={}", quote(v))).collect::<Vec<_>>().join(" ")
}

fn secs(d: Duration) -> String {
    d.as_secs().to_string()
}

/// libpq's quoting of a value: bare when it is plain, else single-quoted with `\` escapes.
fn quote(v: &str) -> String {
    if !v.is_empty() && !v.chars().any(|c| c.is_whitespace() || c == '\'' || c == '\\') {
        return v.to_string();
    }
    let mut out = String::from("'");
    for c in v.chars() {
        if c == '\'' || c == '\\' {
            out.push('\\');
        }
        out.push(c);
    }
    out.push('\'');
    out
}

/// A server setting that holds a connection string (`primary_conninfo`) shown without its
/// password; any other value is returned as it is.
pub(crate) fn shown_setting(name: &str, value: &str) -> String {
    if !name.ends_with("conninfo") || value.is_empty() {
        return value.to_string();
    }
    match value.parse::<Config>() {
        Ok(c) => shown(&c),
        Err(_) => HIDDEN.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every spelling libpq accepts for a password.
    const FORMS: [(&str, &str); 6] = [
        ("host=db port=5432 user=app password=s3cret dbname=x", "s3cret"),
        ("host=db user=x password = hunter2 dbname=postgres", "hunter2"),
        ("host=db password='a hunter3' dbname=postgres", "a hunter3"),
        (r"host=db password='it\'s \\ q' dbname=postgres", r"it's \ q"),
        ("postgresql://app:s3cr%40t@db:5432/x", "s3cr@t"),
        ("postgres://db/x?user=a&password=p%20w", "p w"),
    ];

    #[test]
    fn no_spelling_of_a_password_survives_and_the_rest_is_kept() {
        for (text, pw) in FORMS {
            let d = UserDsn::parse(text).unwrap_or_else(|e| panic!("{text}: {e}"));
            assert_eq!(d.config().get_password(), Some(pw.as_bytes()), "{text}");
            for out in [d.shown().to_string(), format!("{d:?}"), serde_json::to_string(&d).unwrap()] {
                assert!(!out.contains(pw), "{text} -> {out}");
                // A fragment of a password with spaces is a leak too.
                assert!(pw.split(' ').all(|w| w.len() < 2 || !out.contains(w)), "{text} -> {out}");
                assert!(out.contains("password=***"), "{text} -> {out}");
            }
            assert!(d.shown().contains("host=db"), "{}", d.shown());
            // What is shown is itself a connection string meaning the same, but for the password.
            let again: Config = d.shown().parse().unwrap();
            assert_eq!(again.get_hosts(), d.config().get_hosts());
            assert_eq!(again.get_dbname(), d.config().get_dbname());
        }
    }

    #[test]
    fn quoting_keeps_values_with_spaces_and_quotes() {
        let d = UserDsn::parse(r"host=db application_name='my app\'s' options='-c x=1'").unwrap();
        let again: Config = d.shown().parse().unwrap();
        assert_eq!(again.get_application_name(), Some("my app's"));
        assert_eq!(again.get_options(), Some("-c x=1"));
    }

    #[test]
    fn a_bad_dsn_is_refused_naming_the_field_without_its_password() {
        for text in ["host=db password=s3cret port=notaport", "host=db password='s3cret", "postgresql://u:s3cret@h:x/d"]
        {
            let err = UserDsn::parse(text).unwrap_err();
            assert!(err.starts_with("not a valid connection string"), "{err}");
            assert!(!err.contains("s3cret") && !err.contains("3cret"), "{err}");
        }
    }

    #[test]
    fn conninfo_settings_lose_their_password() {
        let s = shown_setting("primary_conninfo", "user=rep password='x y' host=p port=5 application_name=s1");
        assert!(!s.contains("x y") && s.contains("application_name=s1"), "{s}");
        assert_eq!(shown_setting("work_mem", "4MB"), "4MB");
    }
}
