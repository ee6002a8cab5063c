//! Patroni's REST API (and etcd's health endpoint) over HTTP or HTTPS: `reqwest` on rustls with
//! the ring provider, a CA file to trust, an optional client certificate, basic auth for the
//! unsafe endpoints (Patroni's `restapi.authentication`), IPv6 literals (`http://[::1]:8008`).
//! One request per connection (no pool to outlive a runtime), a deadline over all of it.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use serde::Serialize;

/// An answer: status code and body.
#[derive(Debug, Clone)]
pub struct Response {
    pub status: u16,
    pub body: String,
}

impl Response {
    pub fn json(&self) -> Option<serde_json::Value> {
        serde_json::from_str(&self.body).ok()
    }
}

/// A password that is used and never shown: `Debug` and `Serialize` give `***`.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    pub(crate) fn new(s: impl Into<String>) -> Secret {
        Secret(s.into())
    }

    pub(crate) fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(crate::pg::dsn::HIDDEN)
    }
}

impl Serialize for Secret {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(crate::pg::dsn::HIDDEN)
    }
}

/// How to reach a REST API: what to trust, who to be, whose basic auth.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct RestAccess {
    /// PEM file of the CA that signed the servers' certificates (https URLs).
    pub ca_file: Option<PathBuf>,
    /// PEM files of a client certificate and its key (servers that verify clients).
    pub cert_file: Option<PathBuf>,
    pub key_file: Option<PathBuf>,
    /// Basic auth (Patroni's `restapi.authentication`, needed for `POST /switchover`).
    pub username: Option<String>,
    pub password: Option<Secret>,
}

/// A client for one cluster's REST APIs.
#[derive(Debug, Clone)]
pub struct RestClient {
    client: reqwest::Client,
    auth: Option<(String, Option<Secret>)>,
}

impl RestClient {
    /// Plain HTTP (and HTTPS that nothing here can verify: refused by the server's certificate).
    pub fn plain() -> RestClient {
        RestClient::new(&RestAccess::default()).expect("a client without files builds")
    }

    /// A client trusting `ca_file`, presenting `cert_file`/`key_file`, sending basic auth. The
    /// error names the key (`ca_file`, `cert_file`, `key_file`) and what is wrong with it.
    pub fn new(access: &RestAccess) -> Result<RestClient, String> {
        // ring, not aws-lc-rs: the clean build needs no C toolchain beyond the cc ring uses.
        // (Deprecated in rustls 0.23 for lacking post-quantum key exchange: fine for a REST API
        // on an operator's network.)
        #[allow(deprecated)]
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let mut roots = rustls::RootCertStore::empty();
        if let Some(ca) = &access.ca_file {
            let certs = read_certs(ca).map_err(|e| format!("ca_file: {e}"))?;
            for c in certs {
                roots.add(c).map_err(|e| format!("ca_file: {}: not a CA certificate ({e})", ca.display()))?;
            }
        }
        let builder = rustls::ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .map_err(|e| e.to_string())?
            .with_root_certificates(roots);
        let tls = match (&access.cert_file, &access.key_file) {
            (Some(cert), Some(key)) => {
                let chain = read_certs(cert).map_err(|e| format!("cert_file: {e}"))?;
                let key = read_key(key).map_err(|e| format!("key_file: {e}"))?;
                builder
                    .with_client_auth_cert(chain, key)
                    .map_err(|e| format!("cert_file, key_file: the key does not fit the certificate ({e})"))?
            }
            (None, None) => builder.with_no_client_auth(),
            (Some(_), None) => return Err("cert_file: give key_file too (the client certificate's key)".into()),
            (None, Some(_)) => return Err("key_file: give cert_file too (the client certificate)".into()),
        };
        let client = reqwest::Client::builder()
            .use_preconfigured_tls(tls)
            .no_proxy()
            .pool_max_idle_per_host(0)
            .build()
            .map_err(|e| format!("the REST client: {e}"))?;
        let auth = access.username.clone().map(|u| (u, access.password.clone()));
        Ok(RestClient { client, auth })
    }

    /// Sends `method path` with an optional JSON body to `base` (`http(s)://host:port`).
    pub async fn request(
        &self,
        base: &str,
        method: &str,
        path: &str,
        body: Option<&serde_json::Value>,
        timeout: Duration,
    ) -> std::io::Result<Response> {
        let url = format!("{}{path}", base.trim_end_matches('/'));
        let method = reqwest::Method::from_bytes(method.as_bytes()).map_err(std::io::Error::other)?;
        let mut req = self.client.request(method.clone(), &url).timeout(timeout).header("Accept", "application/json");
        if let Some((user, password)) = &self.auth {
            req = req.basic_auth(user, password.as_ref().map(Secret::expose));
        }
        if let Some(b) = body {
            req = req.header("Content-Type", "application/json").body(b.to_string());
        }
        let fail = |e: reqwest::Error| {
            let kind = if e.is_timeout() { std::io::ErrorKind::TimedOut } else { std::io::ErrorKind::Other };
            // reqwest's text names the URL only (no credentials are in it).
            std::io::Error::new(kind, format!("{method} {url}: {}", error_chain(&e)))
        };
        let answer = req.send().await.map_err(fail)?;
        let status = answer.status().as_u16();
        let body = answer.text().await.map_err(fail)?;
        Ok(Response { status, body })
    }
}

/// Checks a REST base URL: `http://` or `https://`, a host (a name, an IPv4 address or a
/// bracketed IPv6 literal), a port. Returns the scheme.
pub(crate) fn check_url(url: &str) -> Result<&'static str, String> {
    let parsed = reqwest::Url::parse(url).map_err(|e| format!("`{url}` is not a URL ({e})"))?;
    let scheme = match parsed.scheme() {
        "http" => "http",
        "https" => "https",
        other => return Err(format!("`{url}`: the scheme is {other}; give http://HOST:PORT or https://HOST:PORT")),
    };
    if parsed.host().is_none() || parsed.port_or_known_default().is_none() {
        return Err(format!("`{url}` names no host; give http://HOST:PORT (IPv6: http://[::1]:8008)"));
    }
    if !parsed.username().is_empty() || parsed.password().is_some() {
        return Err(format!(
            "`{}`: no credentials in the URL; give [rest] username and password",
            crate::pg::dsn::HIDDEN
        ));
    }
    Ok(scheme)
}

fn read_certs(path: &Path) -> Result<Vec<rustls_pki_types::CertificateDer<'static>>, String> {
    use rustls_pki_types::pem::PemObject;
    let bytes = std::fs::read(path).map_err(|e| format!("{}: {e}", path.display()))?;
    let certs: Vec<_> = rustls_pki_types::CertificateDer::pem_slice_iter(&bytes)
        .collect::<Result<_, _>>()
        .map_err(|e| format!("{}: not a PEM certificate file ({e})", path.display()))?;
    if certs.is_empty() {
        return Err(format!("{}: holds no PEM certificate", path.display()));
    }
    Ok(certs)
}

fn read_key(path: &Path) -> Result<rustls_pki_types::PrivateKeyDer<'static>, String> {
    use rustls_pki_types::pem::PemObject;
    let bytes = std::fs::read(path).map_err(|e| format!("{}: {e}", path.display()))?;
    // The key's text is never part of an error.
    rustls_pki_types::PrivateKeyDer::from_pem_slice(&bytes)
        .map_err(|_| format!("{}: holds no PEM private key", path.display()))
}

/// An error and its sources on one line (reqwest's own text says little: "error sending request").
fn error_chain(e: &dyn std::error::Error) -> String {
    let mut out = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        let t = s.to_string();
        if !out.contains(&t) {
            out.push_str(&format!(": {t}"));
        }
        source = s.source();
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rest_urls_are_checked_and_ipv6_literals_taken() {
        assert_eq!(check_url("http://127.0.0.1:8008"), Ok("http"));
        assert_eq!(check_url("https://db1.example.internal:8008"), Ok("https"));
        assert_eq!(check_url("http://[::1]:8008"), Ok("http"));
        assert!(check_url("db1:8008").is_err());
        assert!(check_url("ftp://db1:8008").unwrap_err().contains("scheme"));
        let e = check_url("http://u:s3cret@db1:8008").unwrap_err();
        assert!(!e.contains("s3cret") && e.contains("[rest] username"), "{e}");
    }

    #[tokio::test]
    async fn an_ipv6_literal_is_reached_and_basic_auth_is_sent() {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let Ok(listener) = tokio::net::TcpListener::bind("[::1]:0").await else {
            panic!("this test needs IPv6 loopback (::1)");
        };
        let port = listener.local_addr().unwrap().port();
        let server = tokio::spawn(async move {
            let (mut s, _) = listener.accept().await.unwrap();
            let mut buf = vec![0u8; 4096];
            let n = s.read(&mut buf).await.unwrap();
            let head = String::from_utf8_lossy(&buf[..n]).into_owned();
            let body = "{\"role\":\"primary\"}";
            let answer =
                format!("HTTP/1.1 200 OK\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}", body.len());
            s.write_all(answer.as_bytes()).await.unwrap();
            head
        });
        let access = RestAccess { username: Some("u".into()), password: Some(Secret::new("p")), ..Default::default() };
        let client = RestClient::new(&access).unwrap();
        let r = client
            .request(&format!("http://[::1]:{port}"), "GET", "/patroni", None, Duration::from_secs(5))
            .await
            .unwrap();
        assert_eq!((r.status, r.json().unwrap()["role"].as_str()), (200, Some("primary")));
        let head = server.await.unwrap();
        assert!(head.starts_with("GET /patroni HTTP/1.1"), "{head}");
        // Basic auth of u:p.
        assert!(head.to_ascii_lowercase().contains("authorization: basic dtpw"), "{head}");
    }

    #[test]
    fn a_secret_is_never_shown() {
        let a = RestAccess { username: Some("u".into()), password: Some(Secret::new("s3cret")), ..Default::default() };
        assert!(!format!("{a:?}").contains("s3cret"));
        assert!(!serde_json::to_string(&a).unwrap().contains("s3cret"));
    }

    #[test]
    fn bad_files_are_named_by_their_key() {
        let missing = RestAccess { ca_file: Some("/nonexistent/ca.pem".into()), ..Default::default() };
        assert!(RestClient::new(&missing).unwrap_err().starts_with("ca_file: /nonexistent/ca.pem"));
        let not_pem = RestAccess { ca_file: Some("/etc/hostname".into()), ..Default::default() };
        assert!(RestClient::new(&not_pem).unwrap_err().starts_with("ca_file:"));
        let half = RestAccess { cert_file: Some("/etc/hostname".into()), ..Default::default() };
        assert!(RestClient::new(&half).unwrap_err().contains("key_file"));
    }
}
