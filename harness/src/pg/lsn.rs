//! WAL positions.

use std::fmt;

/// A WAL position (`pg_lsn`), comparable and subtractable as bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize)]
#[serde(into = "String")]
pub struct Lsn(pub u64);

impl Lsn {
    /// Parses PostgreSQL's `X/Y` hexadecimal form.
    pub(crate) fn parse(text: &str) -> Option<Lsn> {
        let (hi, lo) = text.trim().split_once('/')?;
        let hi = u64::from_str_radix(hi, 16).ok()?;
        let lo = u64::from_str_radix(lo, 16).ok()?;
        (hi <= u32::MAX as u64 && lo <= u32::MAX as u64).then_some(Lsn((hi << 32) | lo))
    }

    /// Bytes from `earlier` to `self` (0 when `earlier` is ahead).
    pub(crate) fn bytes_since(self, earlier: Lsn) -> u64 {
        self.0.saturating_sub(earlier.0)
    }
}

impl fmt::Display for Lsn {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:X}/{:X}", self.0 >> 32, self.0 & 0xFFFF_FFFF)
    }
}

impl From<Lsn> for String {
    fn from(l: Lsn) -> String {
        l.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lsn_text_round_trips_and_orders() {
        let a = Lsn::parse("0/3000060").unwrap();
        let b = Lsn::parse("1/0").unwrap();
        assert_eq!(a.to_string(), "0/3000060");
        assert!(b > a);
        assert_eq!(b.bytes_since(a), 0x1_0000_0000 - 0x300_0060);
        assert_eq!(a.bytes_since(b), 0);
        assert_eq!(Lsn::parse("zz"), None);
        assert_eq!(Lsn::parse("100000000/0"), None);
    }
}
