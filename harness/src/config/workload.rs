//! The workload section: which workload, its payload and client library, the MessageBox shape.

use habench_workloads::messagebox::MessageBoxConfig;
use serde::Serialize;

use crate::config::{scenario, Driver, Origin, Overrides, WorkloadKind};
use crate::error::{Error, Result};

#[derive(Debug, Clone, Serialize)]
pub struct Workload {
    pub kind: WorkloadKind,
    /// insert: bytes per row.
    pub payload_bytes: u32,
    /// insert: the client library (MessageBox workers always use habench's wire client).
    pub driver: Driver,
    pub messagebox: MessageBoxConfig,
}

pub(crate) fn workload(args: &Overrides, file: &scenario::ScenarioFile, at: &Origin<'_>) -> Result<Workload> {
    let wsec = file.workload.clone().unwrap_or_default();
    let kind = args.workload.or(wsec.kind).unwrap_or(WorkloadKind::Messagebox);
    let payload_bytes = args.payload_bytes.or(wsec.payload_bytes).unwrap_or(100);
    if payload_bytes == 0 || payload_bytes > 100 * 1024 * 1024 {
        return Err(Error::config(
            at.key(args.payload_bytes.is_some(), "--payload-bytes", "workload.payload_bytes"),
            "give 1 byte to 100 MiB",
        ));
    }
    if args.payload_bytes.is_some() && kind != WorkloadKind::Insert {
        return Err(Error::config("--payload-bytes", "applies to --workload insert only"));
    }
    let driver = args.driver.or(wsec.driver).unwrap_or(Driver::Wire);
    if args.driver.is_some() && kind != WorkloadKind::Insert {
        return Err(Error::config(
            "--driver",
            "applies to --workload insert only (MessageBox workers always use habench's wire client)",
        ));
    }
    let messagebox = file.messagebox.clone().unwrap_or_default();
    messagebox.validate().map_err(|e| Error::config(at.key(false, "[messagebox]", "messagebox"), e))?;
    Ok(Workload { kind, payload_bytes, driver, messagebox })
}
