//! UTC timestamps, as the manifest, the summary and folder names write them.

use std::time::SystemTime;

use time::OffsetDateTime;

/// `2026-11-29T17:05:12.345Z`
pub(crate) fn rfc3339(t: SystemTime) -> String {
    let d = OffsetDateTime::from(t);
    format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:03}Z",
        d.year(),
        u8::from(d.month()),
        d.day(),
        d.hour(),
        d.minute(),
        d.second(),
        d.millisecond()
    )
}

/// `20261129T170512Z`, for folder names.
pub(crate) fn compact(t: SystemTime) -> String {
    let d = OffsetDateTime::from(t);
    format!(
        "{:04}{:02}{:02}T{:02}{:02}{:02}Z",
        d.year(),
        u8::from(d.month()),
        d.day(),
        d.hour(),
        d.minute(),
        d.second()
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::{Duration, UNIX_EPOCH};

    #[test]
    fn known_instants_format_correctly() {
        let t = UNIX_EPOCH + Duration::from_millis(1_796_058_312_345);
        assert_eq!(rfc3339(t), "2026-11-30T17:05:12.345Z");
        assert_eq!(compact(UNIX_EPOCH), "19700101T000000Z");
        let leap = UNIX_EPOCH + Duration::from_secs(951_782_400); // 2000-02-29
        assert_eq!(&rfc3339(leap)[..10], "2000-02-29");
    }
}
