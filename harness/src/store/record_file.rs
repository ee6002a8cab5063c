//! A file written record by record as the run goes (timeline, ledger, hlog): each append is one
//! or more whole records. When a write fails (a full disk), the file is cut back to its last
//! whole record, written no more, and says why: a reader finds whole records only, and the
//! results folder names the file as cut.

use std::fs::File;
use std::io::Write;
use std::path::Path;

#[derive(Debug)]
pub(crate) struct RecordFile {
    file: File,
    /// Bytes of whole records on disk.
    good_len: u64,
    cut: Option<String>,
}

impl RecordFile {
    pub(crate) fn create(path: &Path) -> std::io::Result<RecordFile> {
        Ok(RecordFile { file: File::create(path)?, good_len: 0, cut: None })
    }

    /// Appends whole records; after a failure, nothing more is written.
    pub(crate) fn append(&mut self, bytes: &[u8]) {
        if self.cut.is_some() || bytes.is_empty() {
            return;
        }
        match self.file.write_all(bytes) {
            Ok(()) => self.good_len += bytes.len() as u64,
            Err(e) => {
                // A part of the records may be on disk: cut it off.
                let back = self.file.set_len(self.good_len).map_err(|e| format!("; cutting it back failed: {e}"));
                self.cut = Some(format!(
                    "a write failed ({e}); it ends at its last whole record ({} bytes){}",
                    self.good_len,
                    back.err().unwrap_or_default()
                ));
            }
        }
    }

    /// Why the file ends early, when it does.
    pub(crate) fn cut(&self) -> Option<&str> {
        self.cut.as_deref()
    }
}

/// An in-memory output that a writer can hold for its whole life while whole records are taken
/// out of it (for the file) between them.
#[derive(Debug, Clone, Default)]
pub(crate) struct SharedBuf(std::rc::Rc<std::cell::RefCell<Vec<u8>>>);

impl SharedBuf {
    pub(crate) fn take(&self) -> Vec<u8> {
        std::mem::take(&mut *self.0.borrow_mut())
    }
}

impl Write for SharedBuf {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.0.borrow_mut().extend_from_slice(bytes);
        Ok(bytes.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_failed_write_leaves_the_whole_records_and_says_so() {
        // /dev/full fails every write with ENOSPC.
        let mut f = RecordFile { file: File::options().write(true).open("/dev/full").unwrap(), good_len: 0, cut: None };
        f.append(b"a,b\n");
        assert!(f.cut().unwrap().contains("last whole record (0 bytes)"), "{:?}", f.cut());
        let dir = std::env::temp_dir().join(format!("habench-record-file-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("t.csv");
        let mut f = RecordFile::create(&path).unwrap();
        f.append(b"t_s,x\n");
        f.append(b"1,2\n");
        assert!(f.cut().is_none());
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "t_s,x\n1,2\n");
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
