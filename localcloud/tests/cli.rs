//! The `localcloud` binary as a user runs it: `up` twice leaves one of each, `down` stops exactly
//! those and is fine when nothing runs, a taken port and a missing binary fail clearly with a
//! non-zero exit. Each test runs in its own state directory on free ports, never the checkout's
//! `.localcloud/`. (These live here rather than in integration-tests because only this package's
//! tests are handed the built binary, through CARGO_BIN_EXE_localcloud.)

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde_json::Value;

fn checkout() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap().to_path_buf()
}

/// Ports below the ephemeral range: a test that kills a service and has `up` restart it on its
/// port must not find a client connection holding it.
fn free_port() -> u16 {
    localcloud::spare_port().unwrap()
}

/// A state directory of its own that is brought down, and removed, however the test ends.
struct Sandbox {
    dir: PathBuf,
}

impl Sandbox {
    fn new(name: &str) -> Sandbox {
        let dir = std::env::temp_dir().join(format!("localcloud-cli-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        Sandbox { dir }
    }

    fn command(&self, args: &[&str]) -> Command {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_localcloud"));
        for var in [
            "LOCALCLOUD_AWS_PORT",
            "LOCALCLOUD_REGISTRY_PORT",
            "LOCALCLOUD_MOTO_SERVER",
            "LOCALCLOUD_DOCKER_REGISTRY",
            "LOCALCLOUD_MOTO_PORT",
            "LOCALCLOUD_GATEWAY",
            "SFN_MOCK_CONFIG",
        ] {
            cmd.env_remove(var);
        }
        cmd.arg("--checkout").arg(checkout()).arg("--state-dir").arg(&self.dir).args(args);
        cmd
    }

    fn run(&self, args: &[&str]) -> Output {
        self.command(args).output().unwrap()
    }

    fn status(&self) -> Value {
        let out = self.run(&["status", "--json"]);
        assert!(out.status.success(), "{}", text(&out));
        serde_json::from_slice(&out.stdout).unwrap()
    }
}

impl Drop for Sandbox {
    fn drop(&mut self) {
        let _ = self.run(&["down", "--timeout", "2"]);
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn text(out: &Output) -> String {
    format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr))
}

fn pid_of(status: &Value, service: &str) -> u64 {
    let entry = status["services"].as_array().unwrap().iter().find(|s| s["service"] == service).unwrap();
    entry["pid"].as_u64().unwrap_or_else(|| panic!("{service} has no pid: {status}"))
}

/// Live processes (not zombies) whose environment carries this sandbox's marker.
fn processes_of(dir: &Path) -> Vec<u32> {
    let marker = format!("LOCALCLOUD_OWNER={}", dir.canonicalize().unwrap().display());
    std::fs::read_dir("/proc")
        .unwrap()
        .flatten()
        .filter_map(|e| e.file_name().to_str()?.parse::<u32>().ok())
        .filter(|pid| {
            let alive = std::fs::read(format!("/proc/{pid}/cmdline")).is_ok_and(|c| !c.is_empty());
            let env = std::fs::read(format!("/proc/{pid}/environ")).unwrap_or_default();
            alive && env.split(|b| *b == 0).any(|v| v == marker.as_bytes())
        })
        .collect()
}

#[test]
fn up_twice_leaves_one_of_each_and_down_stops_them_and_is_fine_when_nothing_runs() {
    let sandbox = Sandbox::new("idempotent");
    let (aws, registry) = (free_port().to_string(), free_port().to_string());
    let ports = ["--aws-port", &aws, "--registry-port", &registry];

    let first = sandbox.run(&[&["up"][..], &ports].concat());
    assert!(first.status.success(), "{}", text(&first));
    let before = sandbox.status();
    assert_eq!(before["running"], true, "{before}");

    // Again, with the same ports and with none (the running ones are kept).
    for args in [&[&["up"][..], &ports].concat(), &vec!["up"]] {
        let again = sandbox.run(args);
        assert!(again.status.success(), "{}", text(&again));
        assert_eq!(text(&again).matches("already running").count(), 3, "{}", text(&again));
    }
    let after = sandbox.status();
    assert_eq!(pid_of(&before, "moto"), pid_of(&after, "moto"));
    assert_eq!(pid_of(&before, "registry"), pid_of(&after, "registry"));
    assert_eq!(pid_of(&before, "gateway"), pid_of(&after, "gateway"));
    assert_eq!(processes_of(&sandbox.dir).len(), 3, "exactly one moto, one registry, one gateway");
    // The running gateway read no mock configuration file and will not read one now: up says so.
    let noted = sandbox.command(&["up"]).env("SFN_MOCK_CONFIG", "/nonexistent/mocks.json").output().unwrap();
    assert!(noted.status.success(), "{}", text(&noted));
    assert!(text(&noted).contains("reads SFN_MOCK_CONFIG only when it starts: `localcloud down`"), "{}", text(&noted));

    // The gateway is the endpoint; moto is on another port, behind it.
    let moto_port =
        after["services"].as_array().unwrap().iter().find(|s| s["service"] == "moto").unwrap()["port"].clone();
    assert_ne!(moto_port.to_string(), aws, "{after}");

    // moto runs through our launcher, with its corrections.
    let cmdline = std::fs::read(format!("/proc/{}/cmdline", pid_of(&after, "moto"))).unwrap();
    let launcher = checkout().join("localcloud/moto/launcher.py");
    assert!(cmdline.split(|b| *b == 0).any(|arg| arg == launcher.as_os_str().as_encoded_bytes()), "{cmdline:?}");
    let moto_log = std::fs::read_to_string(sandbox.dir.join("logs/moto.log")).unwrap();
    assert!(moto_log.contains("localcloud: moto 5.2.5 with corrections: "), "{moto_log}");

    // The env file a shell sources names the endpoints status reports.
    let env = std::fs::read_to_string(sandbox.dir.join("env")).unwrap();
    assert!(env.contains(&format!("export AWS_ENDPOINT_URL=http://127.0.0.1:{aws}\n")), "{env}");
    assert!(env.contains(&format!("export LOCALCLOUD_REGISTRY=127.0.0.1:{registry}\n")), "{env}");
    assert_eq!(after["env"]["AWS_ENDPOINT_URL"], format!("http://127.0.0.1:{aws}"));
    for service in after["services"].as_array().unwrap() {
        let log = service["log"].as_str().unwrap();
        assert!(Path::new(log).is_file(), "{log} should exist: {after}");
    }

    let down = sandbox.run(&["down"]);
    assert!(down.status.success(), "{}", text(&down));
    assert_eq!(text(&down).matches("stopped (pid").count(), 3, "{}", text(&down));
    assert!(processes_of(&sandbox.dir).is_empty(), "down leaves nothing of ours running");
    assert!(!sandbox.dir.join("env").exists(), "the env file goes with the services");

    let again = sandbox.run(&["down"]);
    assert!(again.status.success(), "{}", text(&again));
    let status = sandbox.status();
    assert_eq!(status["running"], false);
    assert!(status["services"].as_array().unwrap().iter().all(|s| s["state"] == "stopped"), "{status}");
}

#[test]
fn a_moto_server_of_ones_own_runs_instead_of_the_launcher_and_is_recognised() {
    let sandbox = Sandbox::new("own-moto");
    let (aws, registry) = (free_port().to_string(), free_port().to_string());
    let moto_server = checkout().join(".venv/bin/moto_server");
    let up = || {
        let mut cmd = sandbox.command(&["up", "--aws-port", &aws, "--registry-port", &registry]);
        cmd.env("LOCALCLOUD_MOTO_SERVER", &moto_server).output().unwrap()
    };
    let first = up();
    assert!(first.status.success(), "{}", text(&first));
    let status = sandbox.status();
    assert_eq!(status["running"], true, "{status}");
    let moto_log = std::fs::read_to_string(sandbox.dir.join("logs/moto.log")).unwrap();
    assert!(!moto_log.contains("localcloud: moto"), "vanilla moto_server, no launcher: {moto_log}");
    // Recognised as ours again: a second `up` keeps it.
    let again = up();
    // All three (moto, the registry, the gateway) are kept.
    assert_eq!(text(&again).matches("already running").count(), 3, "{}", text(&again));
    assert!(text(&again).contains("moto      already running"), "{}", text(&again));
    assert_eq!(pid_of(&status, "moto"), pid_of(&sandbox.status(), "moto"));
}

#[test]
fn a_service_that_died_is_reported_and_restarted_on_its_port_by_up() {
    let sandbox = Sandbox::new("restart");
    let (aws, registry) = (free_port().to_string(), free_port().to_string());
    let up = sandbox.run(&["up", "--aws-port", &aws, "--registry-port", &registry]);
    assert!(up.status.success(), "{}", text(&up));
    let registry_pid = pid_of(&sandbox.status(), "registry");
    // Kill the registry behind localcloud's back.
    assert!(Command::new("kill").arg("-9").arg(registry_pid.to_string()).status().unwrap().success());
    std::thread::sleep(std::time::Duration::from_millis(300));

    let status = sandbox.status();
    let entry = status["services"].as_array().unwrap().iter().find(|s| s["service"] == "registry").unwrap();
    assert_eq!(entry["state"], "dead", "{status}");
    assert_eq!(status["running"], false);

    let again = sandbox.run(&["up"]);
    assert!(again.status.success(), "{}", text(&again));
    let status = sandbox.status();
    assert_eq!(status["running"], true, "{status}");
    assert_eq!(status["env"]["LOCALCLOUD_REGISTRY"], format!("127.0.0.1:{registry}"), "same port as before");
}

#[test]
fn a_taken_port_fails_with_the_port_and_its_holder_and_starts_nothing() {
    let sandbox = Sandbox::new("port-taken");
    let holder = TcpListener::bind(("127.0.0.1", 0)).unwrap();
    let port = holder.local_addr().unwrap().port().to_string();
    let out = sandbox.run(&["up", "--aws-port", &port, "--registry-port", &free_port().to_string()]);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains(&format!("port {port} ")), "{err}");
    assert!(err.contains(&format!("pid {}", std::process::id())), "names this test as the holder: {err}");
    assert!(err.contains("--aws-port"), "says how to choose another: {err}");
    assert!(processes_of(&sandbox.dir).is_empty(), "nothing started: {:?}", processes_of(&sandbox.dir));
}

#[test]
fn a_missing_binary_fails_naming_tools_setup_and_starts_nothing() {
    let sandbox = Sandbox::new("missing");
    for (var, path) in [
        ("LOCALCLOUD_MOTO_SERVER", "/nonexistent/moto_server"),
        ("LOCALCLOUD_DOCKER_REGISTRY", "/nonexistent/docker-registry"),
    ] {
        let mut cmd = sandbox.command(&["up", "--aws-port", &free_port().to_string()]);
        cmd.args(["--registry-port", &free_port().to_string()]).env(var, path);
        let out = cmd.output().unwrap();
        assert!(!out.status.success());
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains(path) && err.contains("tools/setup"), "{err}");
        assert!(processes_of(&sandbox.dir).is_empty(), "{var}: nothing started");
    }
}

#[test]
fn status_when_nothing_ever_ran_says_stopped_and_succeeds() {
    let sandbox = Sandbox::new("never");
    let out = sandbox.run(&["status"]);
    assert!(out.status.success(), "{}", text(&out));
    assert!(text(&out).contains("stopped"), "{}", text(&out));
    assert_eq!(sandbox.status()["running"], false);
}

#[test]
fn no_docker_engine_fails_up_before_starting_anything_and_says_how_to_fix_it() {
    let sandbox = Sandbox::new("no-docker");
    let mut cmd = sandbox.command(&["up", "--aws-port", &free_port().to_string()]);
    cmd.args(["--registry-port", &free_port().to_string()]).env("DOCKER_HOST", "unix:///nonexistent/docker.sock");
    let out = cmd.output().unwrap();
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("the Docker engine is not reachable at unix:///nonexistent/docker.sock"), "{err}");
    assert!(err.contains("nothing was started") && err.contains("DOCKER_HOST"), "says what to do: {err}");
    assert!(processes_of(&sandbox.dir).is_empty(), "nothing started: {:?}", processes_of(&sandbox.dir));
    let status = sandbox.status();
    assert!(status["services"].as_array().unwrap().iter().all(|s| s["state"] == "stopped"), "{status}");
    assert!(!sandbox.dir.join("env").exists(), "no env file points at a cloud that is not there");
}

#[test]
fn a_bad_mock_configuration_file_stops_up_naming_the_file_the_key_and_the_fix_and_leaves_nothing_running() {
    let sandbox = Sandbox::new("bad-mocks");
    let file = std::env::temp_dir().join(format!("localcloud-cli-mocks-{}.json", std::process::id()));
    let mocks = r#"{"StateMachines": {"M": {"TestCases": {"T": {"Run": "R"}}}},
        "MockedResponses": {"R": {"0": {"Return": {}, "Throw": {"Error": "E", "Cause": "C"}}}}}"#;
    std::fs::write(&file, mocks).unwrap();
    let mut cmd = sandbox.command(&["up", "--aws-port", &free_port().to_string()]);
    cmd.args(["--registry-port", &free_port().to_string()]).env("SFN_MOCK_CONFIG", &file);
    let out = cmd.output().unwrap();
    let _ = std::fs::remove_file(&file);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("the gateway (the AWS endpoint) exited"), "{err}");
    let reason = format!(
        "the mock configuration file {} (SFN_MOCK_CONFIG) is not valid: MockedResponses[\"R\"][\"0\"] has both \
         Return and Throw; keep one",
        file.display()
    );
    assert!(err.contains(&reason), "{err}");
    assert!(processes_of(&sandbox.dir).is_empty(), "nothing left running: {:?}", processes_of(&sandbox.dir));
}
