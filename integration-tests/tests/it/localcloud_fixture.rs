//! The fixture's own promises, each test in a process of its own (as nextest runs every test) so
//! no other test holds the shared local cloud: the last handle dropped stops exactly our
//! processes, and a test process that is killed outright (a nextest timeout, Ctrl-C) takes them
//! with it.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use integration_tests::LocalCloud;

const HELPER_ENV: &str = "LOCALCLOUD_FIXTURE_HELPER";

fn pids(state_dir: &Path) -> Vec<u32> {
    ["moto.pid", "registry.pid", "gateway.pid"]
        .iter()
        .map(|f| std::fs::read_to_string(state_dir.join(f)).unwrap().trim().parse().unwrap())
        .collect()
}

/// Alive and not a zombie (an exited process whose parent has not reaped it has no cmdline).
fn alive(pid: u32) -> bool {
    std::fs::read(format!("/proc/{pid}/cmdline")).is_ok_and(|c| !c.is_empty())
}

fn all_gone_within(pids: &[u32], limit: Duration) -> bool {
    let started = Instant::now();
    while started.elapsed() < limit {
        if pids.iter().all(|p| !alive(*p)) {
            return true;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    false
}

#[tokio::test]
async fn dropping_the_last_handle_stops_our_processes_and_removes_the_state() {
    if std::env::var_os("AWS_ENDPOINT_URL").is_some() || std::env::var_os("LOCALCLOUD_REGISTRY").is_some() {
        eprintln!("skipped: an external cloud is configured; nothing of ours to stop");
        return;
    }
    let cloud = LocalCloud::start().await;
    let state_dir = cloud.state_dir().unwrap().to_path_buf();
    let endpoint = cloud.endpoint_url().unwrap().to_string();
    let ours = pids(&state_dir);
    assert!(ours.iter().all(|p| alive(*p)));
    drop(cloud);
    assert!(ours.iter().all(|p| !alive(*p)), "drop waits until they are gone");
    assert!(!state_dir.exists(), "{} should be removed", state_dir.display());
    assert!(!localcloud::answers(&format!("{endpoint}/moto-api/"), Duration::from_millis(500)));
}

#[test]
fn a_killed_test_process_takes_its_local_cloud_with_it() {
    if std::env::var_os("AWS_ENDPOINT_URL").is_some() || std::env::var_os("LOCALCLOUD_REGISTRY").is_some() {
        eprintln!("skipped: an external cloud is configured; nothing of ours to stop");
        return;
    }
    // The helper's test name in this binary: its module path without the crate's name.
    let name = concat!(module_path!(), "::helper_holds_a_local_cloud_until_killed");
    let name = name.split_once("::").map_or(name, |(_, in_crate)| in_crate);
    let mut helper = Command::new(std::env::current_exe().unwrap())
        .args([name, "--exact", "--nocapture", "--include-ignored"])
        .env(HELPER_ENV, "1")
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap();
    let mut line = String::new();
    let stdout = helper.stdout.take().unwrap();
    let mut lines = BufReader::new(stdout);
    let state_dir = loop {
        line.clear();
        assert!(lines.read_line(&mut line).unwrap() > 0, "the helper ended before its cloud was up");
        if let Some(dir) = line.trim().strip_prefix("STATE_DIR=") {
            break std::path::PathBuf::from(dir);
        }
    };
    let theirs = pids(&state_dir);
    assert!(theirs.iter().all(|p| alive(*p)));

    helper.kill().unwrap(); // SIGKILL: no destructor runs
    helper.wait().unwrap();
    assert!(
        all_gone_within(&theirs, Duration::from_secs(10)),
        "moto, the registry or the gateway outlived their test: {theirs:?}"
    );
    let _ = std::fs::remove_dir_all(state_dir);
}

/// Run only by the test above, as a separate process that it kills.
#[tokio::test]
#[ignore = "a helper process for a_killed_test_process_takes_its_local_cloud_with_it"]
async fn helper_holds_a_local_cloud_until_killed() {
    if std::env::var_os(HELPER_ENV).is_none() {
        return;
    }
    let cloud = LocalCloud::start().await;
    println!("STATE_DIR={}", cloud.state_dir().unwrap().display());
    tokio::time::sleep(Duration::from_secs(120)).await;
}
