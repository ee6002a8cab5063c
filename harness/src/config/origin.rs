//! Where a configuration value came from, so that an error names its true source.

use crate::config::scenario;

/// Where the values of a run come from, so that an error names its true source: the flag when
/// one was given, else the scenario's line and key.
#[derive(Debug)]
pub(crate) struct Origin<'a> {
    pub source: &'a str,
    pub text: &'a str,
}

impl Origin<'_> {
    /// `flag` when it was given (or the file does not set `key`), else `SOURCE, line N: [table] key`.
    pub(crate) fn key(&self, flag_given: bool, flag: &str, key: &str) -> String {
        if flag_given {
            return flag.to_string();
        }
        match scenario::line_of(self.text, key) {
            Some(n) => {
                let shown = match key.rsplit_once('.') {
                    Some((table, name)) => format!("[{table}] {name}"),
                    None => key.to_string(),
                };
                format!("{}, line {n}: {shown}", self.source)
            }
            None => flag.to_string(),
        }
    }
}
