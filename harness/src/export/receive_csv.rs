//! `receive.csv`: every file the feeder wrote, with each read of it (one line per read; a file
//! nobody read has one line with empty read columns).

use std::collections::HashMap;

use crate::receive::{Receipt, ReceiveRecords};

pub(crate) const HEADER: [&str; 11] = [
    "seq",
    "file",
    "bytes",
    "created_us",
    "done_us",
    "instance",
    "msg_id",
    "read_us",
    "bytes_read",
    "whole",
    "outcome",
];

pub(crate) fn render(r: &ReceiveRecords) -> String {
    let mut reads: HashMap<u64, Vec<&Receipt>> = HashMap::new();
    for x in &r.receipts {
        reads.entry(x.seq).or_default().push(x);
    }
    let mut rows = Vec::with_capacity(r.receipts.len().max(r.feeds.len()));
    for f in &r.feeds {
        let file =
            [f.seq.to_string(), f.file.clone(), f.bytes.to_string(), f.created_us.to_string(), f.done_us.to_string()];
        match reads.get(&f.seq) {
            None => rows.push(file.iter().cloned().chain(std::iter::repeat_n(String::new(), 6)).collect::<Vec<_>>()),
            Some(v) => rows.extend(v.iter().map(|x| {
                let read = [
                    x.instance.clone(),
                    x.msg_id.to_string(),
                    x.read_us.to_string(),
                    x.bytes.to_string(),
                    x.whole.to_string(),
                    x.outcome.as_str().to_string(),
                ];
                file.iter().cloned().chain(read).collect()
            })),
        }
    }
    crate::text_table::table(&HEADER, &rows)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::receive::Feed;
    use habench_workloads::Outcome;

    #[test]
    fn a_file_read_twice_has_two_lines_and_an_unread_file_one() {
        let feed = |seq| Feed { seq, file: format!("f{seq}.msg"), bytes: 5, created_us: 10, done_us: 20 };
        let read = |msg_id| Receipt {
            seq: 1,
            file: "f1.msg".into(),
            instance: format!("recv-{msg_id}"),
            msg_id,
            bytes: 5,
            whole: true,
            read_us: 30,
            outcome: Outcome::Ok,
        };
        let r =
            ReceiveRecords { feeds: vec![feed(1), feed(2)], receipts: vec![read(1), read(2)], left_on_disk: vec![] };
        assert_eq!(
            render(&r),
            "seq,file,bytes,created_us,done_us,instance,msg_id,read_us,bytes_read,whole,outcome\n\
             1,f1.msg,5,10,20,recv-1,1,30,5,true,ok\n\
             1,f1.msg,5,10,20,recv-2,2,30,5,true,ok\n\
             2,f2.msg,5,10,20,,,,,,\n"
        );
    }
}
