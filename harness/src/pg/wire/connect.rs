//! Opening a wire session the way libpq does: the connection string's hosts in order, each with
//! its own connect timeout; startup; authentication; then `target_session_attrs` (a host whose
//! session does not have them is closed and the next one tried).

use std::time::{Duration, Instant};

use bytes::BytesMut;
use fallible_iterator::FallibleIterator;
use postgres_protocol::authentication::md5_hash;
use postgres_protocol::authentication::sasl::{ChannelBinding, ScramSha256, SCRAM_SHA_256};
use postgres_protocol::message::{backend::Message, frontend};
use tokio::net::{TcpStream, UnixStream};
use tokio_postgres::config::{Host, SslMode, TargetSessionAttrs};
use tokio_postgres::Config;

use super::{Stream, WireCancel, WireConn, WireError};

const DEFAULT_PORT: u16 = 5432;

/// Connects to the first host of `cfg` that accepts the session and has the required
/// `target_session_attrs`, within `timeout` in all (and the string's `connect_timeout` per host).
pub async fn connect(cfg: &Config, timeout: Duration) -> Result<WireConn, WireError> {
    if cfg.get_ssl_mode() == SslMode::Require {
        return Err(WireError::client(
            "sslmode=require: habench's clients speak no TLS (use sslmode=prefer or sslmode=disable, over a trusted network)",
        ));
    }
    let user = cfg.get_user().ok_or_else(|| WireError::client("the connection string names no user: add user=NAME"))?;
    let deadline = Instant::now() + timeout;
    let per_host = cfg.get_connect_timeout().copied().unwrap_or(timeout).min(timeout);
    let mut last = WireError::client("the connection string names no host: add host=ADDRESS");
    for (host, port) in targets(cfg) {
        let left = deadline.saturating_duration_since(Instant::now());
        let at = match &host {
            Host::Tcp(h) => format!("{h}:{port}"),
            Host::Unix(dir) => format!("{}/.s.PGSQL.{port}", dir.display()),
        };
        let limit = per_host.min(left);
        last = match tokio::time::timeout(limit, open(cfg, user, &host, port)).await {
            Ok(Ok(conn)) => return Ok(conn),
            Ok(Err(e)) => WireError { message: format!("{at}: {}", e.message), ..e },
            Err(_) => WireError::client(format!("{at}: connect timed out after {limit:?}")),
        };
        if Instant::now() >= deadline {
            break;
        }
    }
    Err(last)
}

/// (host, port) in the order libpq tries them; `hostaddr` entries replace the names they pair with.
fn targets(cfg: &Config) -> Vec<(Host, u16)> {
    let (hosts, addrs, ports) = (cfg.get_hosts(), cfg.get_hostaddrs(), cfg.get_ports());
    (0..hosts.len().max(addrs.len()))
        .map(|i| {
            let host = match addrs.get(i) {
                Some(a) => Host::Tcp(a.to_string()),
                None => hosts[i].clone(),
            };
            let port = match ports {
                [one] => *one,
                many => many.get(i).copied().unwrap_or(DEFAULT_PORT),
            };
            (host, port)
        })
        .collect()
}

async fn open(cfg: &Config, user: &str, host: &Host, port: u16) -> Result<WireConn, WireError> {
    let stream = match host {
        Host::Tcp(h) => {
            let s = TcpStream::connect((h.as_str(), port)).await.map_err(WireError::io)?;
            s.set_nodelay(true).map_err(WireError::io)?;
            Stream::Tcp(s)
        }
        Host::Unix(dir) => {
            Stream::Unix(UnixStream::connect(dir.join(format!(".s.PGSQL.{port}"))).await.map_err(WireError::io)?)
        }
    };
    let mut conn = WireConn::new(stream);
    let mut params = vec![("user", user), ("database", cfg.get_dbname().unwrap_or(user)), ("client_encoding", "UTF8")];
    if let Some(a) = cfg.get_application_name() {
        params.push(("application_name", a));
    }
    if let Some(o) = cfg.get_options() {
        params.push(("options", o));
    }
    let mut buf = BytesMut::new();
    frontend::startup_message(params, &mut buf).map_err(|e| WireError::client(e.to_string()))?;
    conn.write_all(&buf).await?;
    let read_only = authenticate(&mut conn, user, cfg.get_password()).await?;
    if let (Host::Tcp(h), Some((process_id, secret_key))) = (host, conn.backend_key) {
        conn.cancel = Some(WireCancel { host: h.clone(), port, process_id, secret_key });
    }
    let attrs = cfg.get_target_session_attrs();
    let want_read_only = match attrs {
        TargetSessionAttrs::ReadWrite => false,
        TargetSessionAttrs::ReadOnly => true,
        _ => return Ok(conn),
    };
    let read_only = match read_only {
        Some(r) => r,
        // Servers before 14 report neither parameter: ask.
        None => conn.query_value("SHOW transaction_read_only").await?.as_deref() == Some("on"),
    };
    if read_only != want_read_only {
        conn.close().await;
        let is = if read_only { "read-only" } else { "read-write" };
        return Err(WireError::client(format!("the session is {is}, not target_session_attrs={attrs:?}")));
    }
    Ok(conn)
}

/// Answers the server's authentication requests up to ReadyForQuery. Returns whether the
/// session is read-only, when the server said (`in_hot_standby`, `default_transaction_read_only`).
async fn authenticate(conn: &mut WireConn, user: &str, password: Option<&[u8]>) -> Result<Option<bool>, WireError> {
    let need_password = || {
        password.ok_or_else(|| {
            WireError::client("the server asks for a password: add password=... to the connection string")
        })
    };
    let mut scram: Option<ScramSha256> = None;
    let mut read_only: Option<bool> = None;
    loop {
        let mut out = BytesMut::new();
        match conn.read().await? {
            Message::AuthenticationOk | Message::NoticeResponse(_) => {}
            Message::BackendKeyData(k) => conn.backend_key = Some((k.process_id(), k.secret_key())),
            Message::AuthenticationCleartextPassword => frontend::password_message(need_password()?, &mut out).map_err(protocol)?,
            Message::AuthenticationMd5Password(b) => {
                let hash = md5_hash(user.as_bytes(), need_password()?, b.salt());
                frontend::password_message(hash.as_bytes(), &mut out).map_err(protocol)?;
            }
            Message::AuthenticationSasl(b) => {
                let offered: Vec<String> = b.mechanisms().map(|m| Ok(m.to_string())).collect().map_err(protocol)?;
                if !offered.iter().any(|m| m == SCRAM_SHA_256) {
                    return Err(WireError::client(format!("the server offers SASL {offered:?}; the wire client speaks {SCRAM_SHA_256}")));
                }
                let s = ScramSha256::new(need_password()?, ChannelBinding::unsupported());
                frontend::sasl_initial_response(SCRAM_SHA_256, s.message(), &mut out).map_err(protocol)?;
                scram = Some(s);
            }
            Message::AuthenticationSaslContinue(b) => {
                let s = scram.as_mut().ok_or_else(|| WireError::client("SASL continue before SASL start"))?;
                s.update(b.data()).map_err(protocol)?;
                frontend::sasl_response(s.message(), &mut out).map_err(protocol)?;
            }
            Message::AuthenticationSaslFinal(b) => {
                let s = scram.as_mut().ok_or_else(|| WireError::client("SASL final before SASL start"))?;
                s.finish(b.data()).map_err(|e| WireError::client(format!("the server's SCRAM proof does not verify: {e}")))?;
            }
            Message::ParameterStatus(p) => {
                let name = p.name().map_err(protocol)?;
                if name == "in_hot_standby" || name == "default_transaction_read_only" {
                    let on = p.value().map_err(protocol)? == "on";
                    read_only = Some(read_only.unwrap_or(false) || on);
                }
            }
            Message::ErrorResponse(b) => {
                let e = WireError::server(&b);
                return Err(conn.fail(WireError { closed: true, ..e }));
            }
            Message::ReadyForQuery(_) => return Ok(read_only),
            _ => {
                return Err(WireError::client(
                    "the server asks for an authentication method the wire client does not speak (trust, password, md5 and scram-sha-256 work)",
                ))
            }
        }
        if !out.is_empty() {
            conn.write_all(&out).await?;
        }
    }
}

fn protocol(e: std::io::Error) -> WireError {
    WireError::client(format!("protocol error: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hosts_pair_with_their_ports_or_share_one() {
        let cfg: Config = "host=a,b port=1,2 user=u".parse().unwrap();
        let t: Vec<String> = targets(&cfg).iter().map(|(h, p)| format!("{h:?}:{p}")).collect();
        assert_eq!(t, [r#"Tcp("a"):1"#, r#"Tcp("b"):2"#]);
        let cfg: Config = "host=a,b port=7 user=u".parse().unwrap();
        assert!(targets(&cfg).iter().all(|(_, p)| *p == 7));
        let cfg: Config = "host=/run/pg user=u".parse().unwrap();
        assert_eq!(targets(&cfg), [(Host::Unix("/run/pg".into()), DEFAULT_PORT)]);
    }
}
