//! The server's messages read in place, for the exchange of an operation: a frame is a type byte,
//! a length that counts itself, and a body. Parsing the frequent ones (DataRow, CommandComplete,
//! ReadyForQuery) straight from the read buffer costs no reference-counted split and no message
//! enum per frame (postgres-protocol's `Message::parse` does both: it was the largest part of the
//! client's user time per publish). Errors and notices, rare, still go through postgres-protocol.

/// The length of the whole frame at the start of `buf` (type byte included) once all of it has
/// arrived; None while it has not. Err for a length no frame can have.
pub(crate) fn complete(buf: &[u8]) -> Result<Option<usize>, String> {
    let Some(len) = buf.get(1..5) else { return Ok(None) };
    let len = u32::from_be_bytes([len[0], len[1], len[2], len[3]]) as usize;
    if len < 4 {
        return Err(format!("protocol error: a message of type {:?} claims {len} bytes", buf[0] as char));
    }
    Ok((buf.len() > len).then_some(len + 1))
}

/// The rows at the end of a CommandComplete body's tag (`INSERT 0 1`, `SELECT 3`); 0 without.
pub(crate) fn command_rows(body: &[u8]) -> u64 {
    let tag = body.strip_suffix(&[0]).unwrap_or(body);
    let last = tag.rsplit(|b| *b == b' ').next().unwrap_or_default();
    std::str::from_utf8(last).ok().and_then(|n| n.parse().ok()).unwrap_or(0)
}

/// The fields of a DataRow body (None: NULL); None for a malformed body.
pub(crate) fn fields(body: &[u8]) -> Option<impl Iterator<Item = Option<&[u8]>>> {
    let count = i16::from_be_bytes(body.get(..2)?.try_into().ok()?);
    let mut rest = &body[2..];
    let mut out = Vec::new();
    for _ in 0..count.max(0) {
        let len = i32::from_be_bytes(rest.get(..4)?.try_into().ok()?);
        rest = &rest[4..];
        if len < 0 {
            out.push(None);
            continue;
        }
        let (field, tail) = rest.split_at_checked(len as usize)?;
        out.push(Some(field));
        rest = tail;
    }
    Some(out.into_iter())
}

/// Every field of a DataRow body read as a text integer, appended to `out`. Err when a field
/// is NULL or no integer, or the body is malformed (what was read before stays appended).
pub(crate) fn ints(body: &[u8], out: &mut Vec<i64>) -> Result<(), ()> {
    let count = i16::from_be_bytes(body.get(..2).ok_or(())?.try_into().map_err(|_| ())?);
    let mut rest = &body[2..];
    for _ in 0..count.max(0) {
        let len = i32::from_be_bytes(rest.get(..4).ok_or(())?.try_into().map_err(|_| ())?);
        rest = &rest[4..];
        let (field, tail) = rest.split_at_checked(usize::try_from(len).map_err(|_| ())?).ok_or(())?;
        out.push(std::str::from_utf8(field).map_err(|_| ())?.parse().map_err(|_| ())?);
        rest = tail;
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
        let f: Vec<_> = fields(&row).unwrap().collect();
        assert_eq!(f, [Some(&b"a"[..]), None, Some(&b""[..])]);
    }
}
