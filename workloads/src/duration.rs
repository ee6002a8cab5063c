//! Durations as people write them in scenario files and flags: `500ms`, `10s`, `2m`, `1h`.

use std::time::Duration;

/// The longest duration anything in habench accepts: a year.
pub const MAX_SECS: f64 = 365.0 * 24.0 * 3600.0;

/// Parses `<number><unit>` with unit us, ms, s, m or h (a bare 0 is allowed).
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    let t = text.trim();
    if t == "0" {
        return Ok(Duration::ZERO);
    }
    let split = t.find(|c: char| !(c.is_ascii_digit() || c == '.')).unwrap_or(t.len());
    let (num, unit) = t.split_at(split);
    let value: f64 = num.parse().map_err(|_| format!("`{text}` is not a duration (examples: 500ms, 10s, 2m)"))?;
    let secs = match unit.trim() {
        "us" => value / 1e6,
        "ms" => value / 1e3,
        "s" => value,
        "m" | "min" => value * 60.0,
        "h" => value * 3600.0,
        "" => return Err(format!("`{text}` needs a unit: us, ms, s, m or h (e.g. {text}s)")),
        other => return Err(format!("`{text}`: unknown unit `{other}`; use us, ms, s, m or h")),
    };
    if !secs.is_finite() || secs < 0.0 {
        return Err(format!("`{text}` is not a non-negative duration"));
    }
    if secs > MAX_SECS {
        return Err(format!("`{text}` is longer than a year; give a shorter duration"));
    }
    Duration::try_from_secs_f64(secs).map_err(|_| format!("`{text}` is not a duration (examples: 500ms, 10s, 2m)"))
}

/// serde helpers: a duration field written as a string (`"10s"`).
pub mod serde_str {
    use std::time::Duration;

    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&super::format_duration(*d))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
        let s = String::deserialize(d)?;
        super::parse_duration(&s).map_err(serde::de::Error::custom)
    }
}

/// The shortest exact form: `1500ms`, `10s`, `2m`.
pub fn format_duration(d: Duration) -> String {
    let ms = d.as_millis();
    if !d.subsec_nanos().is_multiple_of(1_000_000) {
        format!("{}us", d.as_micros())
    } else if ms.is_multiple_of(60_000) && ms > 0 {
        format!("{}m", ms / 60_000)
    } else if ms.is_multiple_of(1000) {
        format!("{}s", ms / 1000)
    } else {
        format!("{ms}ms")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn units_parse_and_format_round_trip() {
        for (text, d) in [
            ("500ms", Duration::from_millis(500)),
            ("10s", Duration::from_secs(10)),
            ("2m", Duration::from_secs(120)),
            ("1.5s", Duration::from_millis(1500)),
            ("250us", Duration::from_micros(250)),
        ] {
            assert_eq!(parse_duration(text), Ok(d), "{text}");
            assert_eq!(parse_duration(&format_duration(d)), Ok(d));
        }
        assert_eq!(parse_duration("0"), Ok(Duration::ZERO));
    }

    #[test]
    fn bad_durations_say_how_to_write_them() {
        assert!(parse_duration("10").unwrap_err().contains("needs a unit"));
        assert!(parse_duration("10 days").unwrap_err().contains("unknown unit"));
        assert!(parse_duration("soon").unwrap_err().contains("examples"));
    }
}
