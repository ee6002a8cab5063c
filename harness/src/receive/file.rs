//! The files of a receive location: a name that carries the file's sequence number, length and
//! checksum, so that whoever reads a file can tell whether it read all of it.

use habench_workloads::messagebox::ops::fragments;

/// A file's name parts: `SEQ-LEN-CHECKSUM.msg`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct FileName {
    pub seq: u64,
    pub len: usize,
    pub checksum: u64,
}

const EXT: &str = ".msg";

impl FileName {
    /// The name of file `seq` with this content.
    pub(crate) fn of(seq: u64, content: &[u8]) -> FileName {
        FileName { seq, len: content.len(), checksum: checksum(content) }
    }

    pub(crate) fn render(&self) -> String {
        format!("{:09}-{}-{:016x}{EXT}", self.seq, self.len, self.checksum)
    }

    /// A name the feeder wrote (hidden and temporary names are not).
    pub(crate) fn parse(name: &str) -> Option<FileName> {
        let stem = name.strip_suffix(EXT)?;
        let mut it = stem.splitn(3, '-');
        let seq = it.next()?.parse().ok()?;
        let len = it.next()?.parse().ok()?;
        let checksum = u64::from_str_radix(it.next()?, 16).ok()?;
        Some(FileName { seq, len, checksum })
    }

    /// Whether `read` is the whole file: its length and checksum.
    pub(crate) fn is_whole(&self, read: &[u8]) -> bool {
        read.len() == self.len && checksum(read) == self.checksum
    }
}

/// FNV-1a, 64 bits: enough to tell a truncated read from the whole file.
pub(crate) fn checksum(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325u64, |h, b| (h ^ u64::from(*b)).wrapping_mul(0x0100_0000_01b3))
}

/// The content of file `seq`: `len` incompressible bytes, the same for the same file.
pub(crate) fn content(seq: u64, len: usize) -> Vec<u8> {
    let msg_id = i64::try_from(seq).unwrap_or(i64::MAX);
    fragments(msg_id, len, len.max(1)).concat()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_name_round_trips_and_tells_a_truncated_read() {
        let body = content(42, 3000);
        let name = FileName::of(42, &body);
        let parsed = FileName::parse(&name.render()).unwrap();
        assert_eq!(parsed, name);
        assert!(parsed.is_whole(&body));
        assert!(!parsed.is_whole(&body[..2999]));
        assert!(!parsed.is_whole(&[]));
    }

    #[test]
    fn other_names_are_not_files_of_the_feeder() {
        assert_eq!(FileName::parse(".000000001-10-00ff.msg.tmp"), None);
        assert_eq!(FileName::parse("000000001-10.msg"), None);
        assert_eq!(FileName::parse("notes.txt"), None);
    }
}
