//! The smallest HTTP/1.1 client that talks to Patroni's REST API and etcd's health endpoint on
//! loopback (or a cluster's own URLs): one request per connection, a deadline over all of it.

use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

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

/// `http://host:port` split, with the path prefix dropped; None when it is not such a URL.
pub fn host_port(url: &str) -> Option<(String, u16)> {
    let rest = url.strip_prefix("http://")?;
    let authority = rest.split('/').next()?;
    let (host, port) = authority.rsplit_once(':')?;
    Some((host.to_string(), port.parse().ok()?))
}

/// Sends `method path` with an optional JSON body to `base` (`http://host:port`).
pub async fn request(
    base: &str,
    method: &str,
    path: &str,
    body: Option<&serde_json::Value>,
    timeout: Duration,
) -> std::io::Result<Response> {
    let (host, port) =
        host_port(base).ok_or_else(|| std::io::Error::other(format!("`{base}` is not an http://HOST:PORT address")))?;
    match tokio::time::timeout(timeout, exchange(&host, port, method, path, body)).await {
        Ok(r) => r,
        Err(_) => Err(std::io::Error::new(
            std::io::ErrorKind::TimedOut,
            format!("{method} {base}{path}: no answer in {timeout:?}"),
        )),
    }
}

async fn exchange(
    host: &str,
    port: u16,
    method: &str,
    path: &str,
    body: Option<&serde_json::Value>,
) -> std::io::Result<Response> {
    let mut stream = TcpStream::connect((host, port)).await?;
    let payload = body.map(|b| b.to_string()).unwrap_or_default();
    let mut req =
        format!("{method} {path} HTTP/1.1\r\nHost: {host}:{port}\r\nConnection: close\r\nAccept: application/json\r\n");
    if body.is_some() {
        req.push_str(&format!("Content-Type: application/json\r\nContent-Length: {}\r\n", payload.len()));
    }
    req.push_str("\r\n");
    req.push_str(&payload);
    stream.write_all(req.as_bytes()).await?;
    let mut raw = Vec::new();
    stream.read_to_end(&mut raw).await?;
    parse(&raw)
}

fn parse(raw: &[u8]) -> std::io::Result<Response> {
    let bad = |what: &str| std::io::Error::other(format!("malformed HTTP answer: {what}"));
    let split = raw.windows(4).position(|w| w == b"\r\n\r\n").ok_or_else(|| bad("no end of headers"))?;
    let head = String::from_utf8_lossy(&raw[..split]);
    let status: u16 =
        head.split_whitespace().nth(1).and_then(|s| s.parse().ok()).ok_or_else(|| bad("no status code"))?;
    let chunked = head.lines().any(|l| {
        let l = l.to_ascii_lowercase();
        l.starts_with("transfer-encoding:") && l.contains("chunked")
    });
    let body = &raw[split + 4..];
    let body = if chunked { dechunk(body).ok_or_else(|| bad("bad chunked body"))? } else { body.to_vec() };
    Ok(Response { status, body: String::from_utf8_lossy(&body).into_owned() })
}

fn dechunk(mut body: &[u8]) -> Option<Vec<u8>> {
    let mut out = Vec::new();
    loop {
        let line_end = body.windows(2).position(|w| w == b"\r\n")?;
        let size_text = std::str::from_utf8(&body[..line_end]).ok()?;
        let size = usize::from_str_radix(size_text.split(';').next()?.trim(), 16).ok()?;
        body = &body[line_end + 2..];
        if size == 0 {
            return Some(out);
        }
        out.extend_from_slice(body.get(..size)?);
        body = body.get(size + 2..)?;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn answers_parse_plain_and_chunked() {
        let plain =
            parse(b"HTTP/1.0 503 Service Unavailable\r\nContent-Type: application/json\r\n\r\n{\"role\":\"replica\"}")
                .unwrap();
        assert_eq!((plain.status, plain.body.as_str()), (503, "{\"role\":\"replica\"}"));
        let chunked =
            parse(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n4\r\n{\"a\"\r\n3\r\n:1}\r\n0\r\n\r\n")
                .unwrap();
        assert_eq!(chunked.json().unwrap()["a"], 1);
        assert!(parse(b"garbage").is_err());
        assert_eq!(host_port("http://127.0.0.1:8008"), Some(("127.0.0.1".into(), 8008)));
        assert_eq!(host_port("http://db1:8008/x"), Some(("db1".into(), 8008)));
        assert_eq!(host_port("db1:8008"), None);
    }
}
