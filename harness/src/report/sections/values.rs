//! How values of a summary or manifest are written in a report: ms, numbers, text, the
//! primary's name.

use serde_json::Value;

pub(super) fn ms(us: &Value) -> String {
    us.as_f64().map(|v| format!("{:.2}", v / 1000.0)).unwrap_or_else(|| "-".into())
}

pub(super) fn num(v: &Value, digits: usize) -> String {
    v.as_f64().map(|x| format!("{x:.digits$}")).unwrap_or_else(|| "-".into())
}

pub(super) fn text(v: &Value) -> String {
    match v {
        Value::Null => "-".into(),
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

pub(super) fn primary_name(m: &Value) -> String {
    m["topology"]["nodes"]
        .as_array()
        .and_then(|ns| ns.iter().find(|n| n["role"] == "primary"))
        .and_then(|n| n["name"].as_str())
        .unwrap_or("primary")
        .to_string()
}
