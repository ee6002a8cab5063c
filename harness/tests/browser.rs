//! report.html in a real browser (Debian's headless chromium, which `.ci/run` installs): every
//! chart is in the page as drawn SVG, and the page asks for nothing over the network (read from
//! chromium's own network log, with a page that does ask as the control).

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

fn chromium() -> PathBuf {
    let path = PathBuf::from(std::env::var_os("HABENCH_CHROMIUM").unwrap_or_else(|| "/usr/bin/chromium".into()));
    assert!(
        path.exists(),
        "{} is missing: install it (`apt-get install chromium`) or set HABENCH_CHROMIUM",
        path.display()
    );
    path
}

/// Loads `page` headless; returns the DOM after parsing and the URLs the page itself asked for.
fn load(page: &Path, work: &Path) -> (String, Vec<String>) {
    std::fs::create_dir_all(work).unwrap();
    let profile = work.join("profile");
    let netlog = work.join("net.json");
    let dom = work.join("dom.html");
    let mut child = Command::new(chromium())
        .args(["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run"])
        .args(["--disable-background-networking", "--disable-component-update", "--disable-sync"])
        .arg(format!("--user-data-dir={}", profile.display()))
        .arg(format!("--log-net-log={}", netlog.display()))
        .arg("--dump-dom")
        .arg(format!("file://{}", page.display()))
        .stdout(std::fs::File::create(&dom).unwrap())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    common::wait_exit(&mut child, Duration::from_secs(90));
    (std::fs::read_to_string(&dom).unwrap(), page_requests(&netlog))
}

/// URLs in the network log whose request came from a page (chromium's own requests have no
/// initiating origin; a file:// page's have the opaque origin `null`).
fn page_requests(netlog: &Path) -> Vec<String> {
    let log: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(netlog).unwrap()).unwrap();
    let start_job = log["constants"]["logEventTypes"]["URL_REQUEST_START_JOB"].as_u64().expect("event type");
    log["events"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["type"].as_u64() == Some(start_job))
        .filter(|e| e["params"]["initiator"].as_str() != Some("not an origin"))
        .filter_map(|e| e["params"]["url"].as_str().map(str::to_string))
        .collect()
}

#[test]
fn the_report_shows_every_chart_and_fetches_nothing() {
    let work = common::TempDir::new("browser", "report");
    let run = work.join("run");
    std::fs::create_dir_all(&run).unwrap();
    let fixture = Path::new(env!("CARGO_MANIFEST_DIR")).join("../results/examples/quick-seed1");
    for e in std::fs::read_dir(&fixture).unwrap().flatten() {
        std::fs::copy(e.path(), run.join(e.file_name())).unwrap();
    }
    let written = habench::report::write(&run).expect("report");
    assert!(written.charts.len() >= 2, "{:?}", written.charts);

    let (dom, requests) = load(&run.join("report.html"), &work.join("report"));
    assert!(requests.is_empty(), "the report asked the network for {requests:?}");
    assert!(dom.contains("class=\"headline\""), "the headline leads the page");
    let figures: Vec<&str> = dom.split("<figure>").skip(1).collect();
    assert_eq!(figures.len(), written.charts.len(), "one figure per chart written");
    for f in &figures {
        let f = &f[..f.find("</figure>").expect("closed figure")];
        assert!(f.contains("<svg"), "a figure without its drawing");
        let marks = f.matches("<polyline").count() + f.matches("<path").count() + f.matches("<rect").count();
        assert!(marks > 10, "a chart drawn with only {marks} marks");
        assert!(f.contains("<text"), "a chart without axis text");
    }

    // The control: the same check sees a page that does fetch something.
    let control = work.join("control.html");
    std::fs::write(&control, "<html><body><img src=\"http://example.invalid/x.png\"></body></html>").unwrap();
    let (_, requests) = load(&control, &work.join("control"));
    assert_eq!(requests, ["http://example.invalid/x.png"], "the network check sees a page's request");
}
