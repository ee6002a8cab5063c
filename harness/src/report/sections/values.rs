//! How values of a summary or manifest are written in a report: ms, numbers, text.

use serde_json::Value;

pub(super) fn text(v: &Value) -> String {
    match v {
        Value::Null => "-".into(),
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// µs as ms with two decimals.
pub(super) fn us_as_ms(us: Option<f64>) -> String {
    us.map(|v| format!("{:.2}", v / 1000.0)).unwrap_or_else(|| "-".into())
}

/// A number with `digits` decimals, `-` when absent.
pub(super) fn fixed(v: Option<f64>, digits: usize) -> String {
    v.map(|x| format!("{x:.digits$}")).unwrap_or_else(|| "-".into())
}

/// Any value, `-` when absent.
pub(super) fn shown<T: std::fmt::Display>(v: Option<T>) -> String {
    v.map(|x| x.to_string()).unwrap_or_else(|| "-".into())
}
