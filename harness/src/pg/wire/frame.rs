//! The server's messages read in place, for the exchange of an operation: a frame is a type byte,
//! a length that counts itself, and a body. Parsing the frequent ones (DataRow, CommandComplete,
//! ReadyForQuery) straight from the read buffer costs no reference-counted split and no message
//! enum per frame (postgres-protocol's `Message::parse` does both: it was the largest part of the
//! client's user time per publish). Errors and notices, rare, still go through postgres-protocol.

/// The length of the frame at the start of `buf` (type byte included) as its header declares
/// it, once the header has arrived. Err for a length no frame can have.
pub(crate) fn declared(buf: &[u8]) -> Result<Option<usize>, String> {
    let Some(len) = buf.get(1..5) else { return Ok(None) };
    let len = u32::from_be_bytes([len[0], len[1], len[2], len[3]]) as usize;
    if len < 4 {
        return Err(format!("protocol error: a message of type {:?} claims {len} bytes", buf[0] as char));
    }
    Ok(Some(len + 1))
}

/// The length of the whole frame at the start of `buf` once all of it has arrived; None while
/// it has not.
pub(crate) fn complete(buf: &[u8]) -> Result<Option<usize>, String> {
    Ok(declared(buf)?.filter(|n| buf.len() >= *n))
}

/// The rows at the end of a CommandComplete body's tag (`INSERT 0 1`, `SELECT 3`); 0 without.
pub(crate) fn command_rows(body: &[u8]) -> u64 {
    let tag = body.strip_suffix(&[0]).unwrap_or(body);
    let last = tag.rsplit(|b| *b == b' ').next().unwrap_or_default();
    std::str::from_utf8(last).ok().and_then(|n| n.parse().ok()).unwrap_or(0)
}

/// The fields of a DataRow body, in place (None: NULL); an Err ends a malformed body.
pub(crate) fn fields(body: &[u8]) -> impl Iterator<Item = Result<Option<&[u8]>, ()>> {
    let (mut left, mut rest) = match body.split_first_chunk::<2>() {
        Some((count, rest)) => (i16::from_be_bytes(*count).max(0), rest),
        None => (1, &[][..]),
    };
    std::iter::from_fn(move || {
        if left == 0 {
            return None;
        }
        left -= 1;
        let Some((len, tail)) = rest.split_first_chunk::<4>() else {
            left = 0;
            return Some(Err(()));
        };
        let len = i32::from_be_bytes(*len);
        if len < 0 {
            rest = tail;
            return Some(Ok(None));
        }
        match tail.split_at_checked(len as usize) {
            Some((field, tail)) => {
                rest = tail;
                Some(Ok(Some(field)))
            }
            None => {
                left = 0;
                Some(Err(()))
            }
        }
    })
}

/// Every field of a DataRow body read as a text integer, appended to `out`. Err when a field
/// is NULL or no integer, or the body is malformed (what was read before stays appended).
pub(crate) fn ints(body: &[u8], out: &mut Vec<i64>) -> Result<(), ()> {
    for field in fields(body) {
        let text = std::str::from_utf8(field?.ok_or(())?).map_err(|_| ())?;
        out.push(text.parse().map_err(|_| ())?);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frame(tag: u8, body: &[u8]) -> Vec<u8> {
        let mut f = vec![tag];
        f.extend_from_slice(&(body.len() as u32 + 4).to_be_bytes());
        f.extend_from_slice(body);
        f
    }

    fn data_row(fields: &[Option<&[u8]>]) -> Vec<u8> {
        let mut b = (fields.len() as i16).to_be_bytes().to_vec();
        for f in fields {
            match f {
                Some(v) => {
                    b.extend_from_slice(&(v.len() as i32).to_be_bytes());
                    b.extend_from_slice(v);
                }
                None => b.extend_from_slice(&(-1i32).to_be_bytes()),
            }
        }
        b
    }

    #[test]
    fn a_frame_is_complete_once_its_whole_length_has_arrived() {
        let f = frame(b'C', b"INSERT 0 1\0");
        assert_eq!(complete(&f[..3]), Ok(None));
        assert_eq!(complete(&f[..f.len() - 1]), Ok(None));
        assert_eq!(complete(&f), Ok(Some(f.len())));
        let mut two = f.clone();
        two.extend_from_slice(&frame(b'Z', b"I"));
        assert_eq!(complete(&two), Ok(Some(f.len())), "the first frame only");
        assert!(complete(&[b'D', 0, 0, 0, 3]).is_err());
    }

    #[test]
    fn command_tags_give_their_row_counts() {
        assert_eq!(command_rows(b"INSERT 0 1\0"), 1);
        assert_eq!(command_rows(b"UPDATE 25\0"), 25);
        assert_eq!(command_rows(b"CREATE TABLE\0"), 0);
        assert_eq!(command_rows(b""), 0);
    }

    #[test]
    fn data_rows_read_as_integers_or_fail() {
        let mut out = Vec::new();
        assert_eq!(ints(&data_row(&[Some(b"3"), Some(b"-17")]), &mut out), Ok(()));
        assert_eq!(ints(&data_row(&[Some(b"9000000000")]), &mut out), Ok(()));
        assert_eq!(out, [3, -17, 9_000_000_000]);
        assert!(ints(&data_row(&[None]), &mut out).is_err(), "NULL");
        assert!(ints(&data_row(&[Some(b"x")]), &mut out).is_err(), "no integer");
        let mut cut = data_row(&[Some(b"12345")]);
        cut.truncate(cut.len() - 2);
        assert!(ints(&cut, &mut out).is_err(), "a field longer than the body");
        let row = data_row(&[Some(b"a"), None, Some(b"")]);
        let f: Vec<_> = fields(&row).collect();
        assert_eq!(f, [Ok(Some(&b"a"[..])), Ok(None), Ok(Some(&b""[..]))]);
        assert_eq!(fields(&[0]).collect::<Vec<_>>(), [Err(())], "no field count");
        assert_eq!(fields(&cut).collect::<Vec<_>>(), [Err(())], "cut short");
    }
}
