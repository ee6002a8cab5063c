//! One execution of a prepared statement with typed parameters, encoded into a buffer that the
//! session keeps and reuses (no allocation per operation once it has grown to the largest call).

use bytes::BytesMut;
use postgres_protocol::message::frontend;
use postgres_protocol::types::{self, ArrayDimension};
use postgres_protocol::IsNull;

use super::{WireError, BYTEA_OID};

/// A parameter, sent in binary; its type is the one the statement was prepared with.
#[derive(Debug, Clone, Copy)]
pub enum Param<'a> {
    Int4(i32),
    Int8(i64),
    Text(&'a str),
    /// A one-dimensional `bytea[]` (a message body's fragments).
    ByteaArray(&'a [&'a [u8]]),
}

impl Param<'_> {
    fn encode(self, out: &mut BytesMut) -> Result<IsNull, Box<dyn std::error::Error + Sync + Send>> {
        match self {
            Param::Int4(v) => types::int4_to_sql(v, out),
            Param::Int8(v) => types::int8_to_sql(v, out),
            Param::Text(v) => types::text_to_sql(v, out),
            Param::ByteaArray(parts) => {
                let len = i32::try_from(parts.len()).map_err(|_| "too many fragments")?;
                types::array_to_sql(
                    [ArrayDimension { len, lower_bound: 1 }],
                    BYTEA_OID,
                    parts.iter(),
                    |p, out| {
                        types::bytea_to_sql(p, out);
                        Ok(IsNull::No)
                    },
                    out,
                )?
            }
        }
        Ok(IsNull::No)
    }
}

/// The reusable buffer of a session's calls: Bind (unnamed portal, binary parameters, text
/// results) + Execute + Sync.
#[derive(Debug, Default)]
pub struct CallBuf(BytesMut);

impl CallBuf {
    /// Encodes a call of the prepared statement `statement` with `params`, replacing the last.
    pub fn set(&mut self, statement: &str, params: &[Param<'_>]) -> Result<&mut Self, WireError> {
        self.0.clear();
        frontend::bind(
            "",
            statement,
            params.iter().map(|_| 1i16),
            params.iter().copied(),
            Param::encode,
            Some(0i16),
            &mut self.0,
        )
        .map_err(|_| WireError::client(format!("cannot bind statement {statement:?}")))?;
        frontend::execute("", 0, &mut self.0).map_err(|e| WireError::client(e.to_string()))?;
        frontend::sync(&mut self.0);
        Ok(self)
    }

    pub fn bytes(&self) -> &[u8] {
        &self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_call_carries_its_parameters_in_binary() {
        let body: [&[u8]; 2] = [b"abc", b"de"];
        let mut c = CallBuf::default();
        c.set("p", &[Param::Int8(7), Param::Text("order"), Param::ByteaArray(&body), Param::Int4(3)]).unwrap();
        let b = c.bytes();
        assert_eq!(b[0], b'B');
        assert!(b.windows(8).any(|w| w == 7i64.to_be_bytes()), "int8 in binary");
        assert!(b.windows(5).any(|w| w == b"order"));
        // The array: 1 dimension, no nulls, element oid 17, length 2 from 1, then each element.
        let mut array = Vec::new();
        for v in [1i32, 0, 17, 2, 1, 3] {
            array.extend_from_slice(&v.to_be_bytes());
        }
        array.extend_from_slice(b"abc");
        assert!(b.windows(array.len()).any(|w| w == array), "bytea[] as PostgreSQL's binary array");
        assert!(b.ends_with(&[b'S', 0, 0, 0, 4]), "ends with Sync");
        // Reused: the next call replaces the last.
        let before = c.bytes().len();
        c.set("p", &[Param::Int4(1)]).unwrap();
        assert!(c.bytes().len() < before);
    }
}
