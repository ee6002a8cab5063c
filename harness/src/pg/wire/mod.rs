//! A lean PostgreSQL wire-protocol client for the workers' statements (the calibration INSERT
//! and the MessageBox operations).
//!
//! tokio-postgres runs every connection as two tasks (the client and a connection task that
//! owns the socket), so each operation costs two task wake-ups and a channel hop on top of the
//! socket. Here a connection is a socket owned by the task that uses it: an execution writes a
//! prebuilt Bind/Execute/Sync and reads until ReadyForQuery, as libpq does for pgbench. It
//! speaks what the workers need and no more: startup with trust, password, md5 and
//! SCRAM-SHA-256 authentication, the listener's host list with `target_session_attrs`
//! (see `connect`), statements prepared once with binary int4, int8, text and bytea[]
//! parameters (`call`), integer results, server errors with their SQLSTATE, the server's
//! warnings that a commit stopped waiting for synchronous replication (counted), and cancel
//! requests (`cancel`). No TLS. Message encoding and decoding are postgres-protocol's (the codecs
//! tokio-postgres uses).

mod call;
mod cancel;
mod connect;
mod frame;

use std::fmt;

use bytes::{Buf, BytesMut};
use fallible_iterator::FallibleIterator;
use postgres_protocol::message::{backend, frontend};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpStream, UnixStream};

pub use call::{CallBuf, Param};
pub(crate) use cancel::WireCancel;
pub use connect::connect;

/// PostgreSQL's type oids of the parameters the wire client binds.
pub const INT4_OID: u32 = 23;
pub const INT8_OID: u32 = 20;
pub const TEXT_OID: u32 = 25;
pub const BYTEA_ARRAY_OID: u32 = 1001;
const BYTEA_OID: u32 = 17;

/// What went wrong on a wire connection.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WireError {
    /// The SQLSTATE when the server sent an error; None for I/O and protocol errors.
    pub code: Option<String>,
    /// The server's message (`SEVERITY: message (SQLSTATE)`) or the client's.
    pub message: String,
    /// The connection is unusable.
    pub closed: bool,
}

impl WireError {
    fn client(message: impl Into<String>) -> WireError {
        WireError { code: None, message: message.into(), closed: true }
    }

    fn io(e: std::io::Error) -> WireError {
        WireError::client(format!("connection lost: {e}"))
    }

    fn server(body: &backend::ErrorResponseBody) -> WireError {
        let (mut severity, mut message, mut code) = (String::new(), String::new(), None);
        let mut fields = body.fields();
        while let Ok(Some(f)) = fields.next() {
            let value = || String::from_utf8_lossy(f.value_bytes()).into_owned();
            match f.type_() {
                b'V' => severity = value(),
                b'S' if severity.is_empty() => severity = value(),
                b'M' => message = value(),
                b'C' => code = Some(value()),
                _ => {}
            }
        }
        let text = match &code {
            Some(c) => format!("{severity}: {message} ({c})"),
            None => format!("{severity}: {message}"),
        };
        // FATAL and PANIC end the session; a plain ERROR leaves the connection usable.
        let closed = severity != "ERROR";
        WireError { code, message: text, closed }
    }
}

impl fmt::Display for WireError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for WireError {}

#[derive(Debug)]
enum Stream {
    Tcp(TcpStream),
    Unix(UnixStream),
}

/// One open, authenticated session.
#[derive(Debug)]
pub struct WireConn {
    stream: Stream,
    rbuf: BytesMut,
    /// Set once an I/O or fatal error was seen.
    closed: bool,
    /// What a cancel request needs: the server's address, and the backend's key (startup).
    cancel: Option<WireCancel>,
    /// Warnings "canceling wait for synchronous replication" received so far.
    cancelled_waits: u64,
    /// The backend's process id and secret key (startup's BackendKeyData).
    backend_key: Option<(i32, i32)>,
}

/// What an exchange returned.
#[derive(Debug, Default)]
pub struct Reply {
    /// The rows of the last command tag.
    pub rows: u64,
    first_value: Option<String>,
    /// With `ints`: every field of every data row, row after row, as integers.
    pub ints: Vec<i64>,
}

impl WireConn {
    /// A session over a Unix socket that is already past startup (the client benchmarks talk to
    /// a canned server this way).
    pub fn over_unix(stream: UnixStream) -> WireConn {
        WireConn::new(Stream::Unix(stream))
    }

    fn new(stream: Stream) -> WireConn {
        WireConn {
            stream,
            rbuf: BytesMut::with_capacity(8192),
            closed: false,
            cancel: None,
            cancelled_waits: 0,
            backend_key: None,
        }
    }

    pub fn is_closed(&self) -> bool {
        self.closed
    }

    /// Takes in, without waiting, what the server sent while the session was idle: a server
    /// that shuts down sends FATAL (57P01) to idle sessions and closes them, a crashed one just
    /// closes. Returns whether the session is closed now (as tokio-postgres's connection task
    /// would have noticed). Costs no system call when nothing arrived (the socket's readiness
    /// was cleared by the last read).
    pub(crate) fn check_idle(&mut self) -> bool {
        while !self.closed {
            let r = match &self.stream {
                Stream::Tcp(s) => s.try_read_buf(&mut self.rbuf),
                Stream::Unix(s) => s.try_read_buf(&mut self.rbuf),
            };
            match r {
                Ok(0) => self.closed = true,
                Ok(_) => {}
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => break,
                Err(_) => self.closed = true,
            }
        }
        // Between exchanges only notices, parameter changes and a fatal error can arrive.
        while let Ok(Some(m)) = backend::Message::parse(&mut self.rbuf) {
            if let backend::Message::ErrorResponse(body) = m {
                self.closed |= WireError::server(&body).closed;
            }
        }
        self.closed
    }

    /// Warnings "canceling wait for synchronous replication" received so far. The warning
    /// arrives within the exchange of the commit it concerns, so a count read after the answer
    /// includes it.
    pub(crate) fn cancelled_waits(&self) -> u64 {
        self.cancelled_waits
    }

    /// How to ask the server to cancel this session's statement (None: a Unix socket, or no
    /// key sent).
    pub(crate) fn cancel_token(&self) -> Option<WireCancel> {
        self.cancel.clone()
    }

    async fn write_all(&mut self, buf: &[u8]) -> Result<(), WireError> {
        let r = match &mut self.stream {
            Stream::Tcp(s) => s.write_all(buf).await,
            Stream::Unix(s) => s.write_all(buf).await,
        };
        r.map_err(|e| self.fail(WireError::io(e)))
    }

    /// The next message from the server (startup and authentication: postgres-protocol reads it).
    async fn read(&mut self) -> Result<backend::Message, WireError> {
        let n = self.frame().await?;
        match backend::Message::parse(&mut self.rbuf.split_to(n)) {
            Ok(Some(m)) => Ok(m),
            Ok(None) => Err(self.fail(WireError::client("protocol error: a frame postgres-protocol finds incomplete"))),
            Err(e) => Err(self.fail(WireError::client(format!("protocol error: {e}")))),
        }
    }

    fn fail(&mut self, e: WireError) -> WireError {
        self.closed |= e.closed;
        e
    }

    /// Reads until a whole frame is at the start of the read buffer; returns its length.
    async fn frame(&mut self) -> Result<usize, WireError> {
        loop {
            match frame::complete(&self.rbuf) {
                Ok(Some(n)) => return Ok(n),
                Ok(None) => {}
                Err(e) => return Err(self.fail(WireError::client(e))),
            }
            // A long frame is read into room made for all of it at once.
            if let Ok(Some(want)) = frame::declared(&self.rbuf) {
                self.rbuf.reserve(want.saturating_sub(self.rbuf.len()));
            }
            let n = match &mut self.stream {
                Stream::Tcp(s) => s.read_buf(&mut self.rbuf).await,
                Stream::Unix(s) => s.read_buf(&mut self.rbuf).await,
            };
            match n {
                Ok(0) => return Err(self.fail(WireError::client("connection closed by the server"))),
                Ok(_) => {}
                Err(e) => return Err(self.fail(WireError::io(e))),
            }
        }
    }

    /// Reads to the end of an exchange (ReadyForQuery): the rows of the last command tag and
    /// the first column of the first data row, or the first server error of the exchange.
    /// With `ints`, every field of every row is read as an integer (text format); a field that
    /// is NULL or no integer fails the exchange. Frames are read in place (`frame`).
    /// `ints` is the vector the integers go to (cleared first: a caller that hands back the
    /// last reply's allocates none).
    async fn finish(&mut self, ints: Option<Vec<i64>>) -> Result<Reply, WireError> {
        let want_ints = ints.is_some();
        let mut reply = Reply { ints: ints.unwrap_or_default(), ..Reply::default() };
        reply.ints.clear();
        let mut err: Option<WireError> = None;
        loop {
            let n = match (self.frame().await, &err) {
                // A FATAL error is followed by the end of the connection: it says more.
                (Err(_), Some(server)) => return Err(self.fail(WireError { closed: true, ..server.clone() })),
                (r, _) => r?,
            };
            let body = &self.rbuf[5..n];
            match self.rbuf[0] {
                b'Z' => {
                    self.rbuf.advance(n);
                    return match err {
                        Some(e) => Err(self.fail(e)),
                        None => Ok(reply),
                    };
                }
                b'C' => reply.rows = frame::command_rows(body),
                b'D' if want_ints => {
                    let read = frame::ints(body, &mut reply.ints);
                    if read.is_err() && err.is_none() {
                        err = Some(WireError { closed: false, ..WireError::client("a result field is no integer") });
                    }
                }
                b'D' if reply.first_value.is_none() => {
                    let first = frame::fields(body).next().and_then(|f| f.ok().flatten());
                    reply.first_value = first.map(|v| String::from_utf8_lossy(v).into_owned());
                }
                // Notices and errors are rare: postgres-protocol reads them.
                b'N' | b'E' => match backend::Message::parse(&mut BytesMut::from(&self.rbuf[..n])) {
                    Ok(Some(backend::Message::NoticeResponse(b))) if is_cancelled_wait(&b) => self.cancelled_waits += 1,
                    Ok(Some(backend::Message::ErrorResponse(b))) if err.is_none() => err = Some(WireError::server(&b)),
                    _ => {}
                },
                // Bind/Parse complete, parameter changes: nothing to keep.
                _ => {}
            }
            self.rbuf.advance(n);
        }
    }

    /// Prepares a named statement whose parameters have the given type oids.
    pub async fn prepare(&mut self, name: &str, sql: &str, param_types: &[u32]) -> Result<(), WireError> {
        let mut buf = BytesMut::new();
        frontend::parse(name, sql, param_types.iter().copied(), &mut buf)
            .map_err(|e| WireError::client(e.to_string()))?;
        frontend::sync(&mut buf);
        self.write_all(&buf).await?;
        self.finish(None).await.map(|_| ())
    }

    /// Runs one simple-protocol query and returns the first column of its first row.
    pub async fn query_value(&mut self, sql: &str) -> Result<Option<String>, WireError> {
        let mut buf = BytesMut::new();
        frontend::query(sql, &mut buf).map_err(|e| WireError::client(e.to_string()))?;
        self.write_all(&buf).await?;
        self.finish(None).await.map(|r| r.first_value)
    }

    /// Runs a prebuilt call; returns the rows its command affected.
    pub async fn execute(&mut self, call: &CallBuf) -> Result<u64, WireError> {
        self.write_all(call.bytes()).await?;
        self.finish(None).await.map(|r| r.rows)
    }

    /// Runs the call in `call` (see `CallBuf`); returns its integer results.
    pub async fn query_ints(&mut self, call: &CallBuf) -> Result<Reply, WireError> {
        self.query_ints_into(call, Vec::new()).await
    }

    /// `query_ints` with the integers written into `ints` (cleared first), the vector of an
    /// earlier reply handed back.
    pub async fn query_ints_into(&mut self, call: &CallBuf, ints: Vec<i64>) -> Result<Reply, WireError> {
        self.write_all(call.bytes()).await?;
        self.finish(Some(ints)).await
    }

    /// Says goodbye (best effort).
    pub(crate) async fn close(mut self) {
        let mut buf = BytesMut::new();
        frontend::terminate(&mut buf);
        let _ = self.write_all(&buf).await;
    }
}

/// The server's warning that a commit stopped waiting for synchronous replication.
fn is_cancelled_wait(body: &backend::NoticeResponseBody) -> bool {
    let (mut code, mut message) = (String::new(), String::new());
    let mut fields = body.fields();
    while let Ok(Some(f)) = fields.next() {
        match f.type_() {
            b'C' => code = String::from_utf8_lossy(f.value_bytes()).into_owned(),
            b'M' => message = String::from_utf8_lossy(f.value_bytes()).into_owned(),
            _ => {}
        }
    }
    habench_workloads::is_cancelled_sync_wait(&code, &message)
}
