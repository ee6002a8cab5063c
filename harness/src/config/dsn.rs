//! Connection strings given by the user: checked once, never shown with their password.

/// Replaces the password of a key-value (`password=...`) or URL (`user:pass@`) connection
/// string with `***`.
pub fn redact(dsn: &str) -> String {
    if dsn.starts_with("postgres://") || dsn.starts_with("postgresql://") {
        let (scheme, rest) = dsn.split_once("://").unwrap_or(("", dsn));
        let rest = match rest.split_once('@') {
            Some((userinfo, hosts)) => match userinfo.split_once(':') {
                Some((user, _)) => format!("{user}:***@{hosts}"),
                None => rest.to_string(),
            },
            None => rest.to_string(),
        };
        // A password can also be a query parameter.
        return redact_query(&format!("{scheme}://{rest}"));
    }
    let mut out = Vec::new();
    for part in dsn.split_whitespace() {
        match part.split_once('=') {
            Some((k, _)) if k.trim() == "password" => out.push("password=***".to_string()),
            _ => out.push(part.to_string()),
        }
    }
    out.join(" ")
}

fn redact_query(url: &str) -> String {
    let Some((base, query)) = url.split_once('?') else { return url.to_string() };
    let params: Vec<String> = query
        .split('&')
        .map(|p| if p.starts_with("password=") { "password=***".to_string() } else { p.to_string() })
        .collect();
    format!("{base}?{}", params.join("&"))
}

/// Parses a DSN the way the workers will use it; the error says what is wrong without echoing
/// the password.
pub fn parse(dsn: &str) -> Result<tokio_postgres::Config, String> {
    dsn.parse::<tokio_postgres::Config>()
        .map_err(|e| format!("--target-dsn `{}` is not a valid connection string: {e}", redact(dsn)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_never_survive_redaction() {
        assert_eq!(
            redact("host=db port=5432 user=app password=s3cret dbname=x"),
            "host=db port=5432 user=app password=*** dbname=x"
        );
        assert_eq!(redact("postgresql://app:s3cret@db:5432/x"), "postgresql://app:***@db:5432/x");
        assert_eq!(redact("postgres://db/x?user=a&password=s3cret"), "postgres://db/x?user=a&password=***");
        assert_eq!(redact("host=db user=app"), "host=db user=app");
    }

    #[test]
    fn a_bad_dsn_is_refused_without_its_password() {
        let err = parse("host=db password=s3cret port=notaport").unwrap_err();
        assert!(err.contains("--target-dsn"), "{err}");
        assert!(!err.contains("s3cret"), "{err}");
    }
}
