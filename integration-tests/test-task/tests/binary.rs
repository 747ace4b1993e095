//! The test task's binary as a process: the exit codes and lines the integration tests rely on,
//! and SIGTERM cutting long work short (the sample service has no long work to cut).

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

fn task(input: Option<&str>) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_platform-test-task"));
    command.arg("fargateTask").env_remove("TASK_INPUT").env_remove("ECS_CONTAINER_METADATA_URI_V4");
    if let Some(input) = input {
        command.env("TASK_INPUT", input);
    }
    command
}

#[test]
fn success_writes_one_json_line_and_logs_who_it_runs_as() {
    let out = task(Some(r#"{"name":"Ada","text":"to be or not","allocate_mib":1}"#)).output().unwrap();
    assert_eq!(out.status.code(), Some(0), "stderr: {}", String::from_utf8_lossy(&out.stderr));
    let stdout = String::from_utf8(out.stdout).unwrap();
    assert_eq!(stdout.lines().count(), 1, "{stdout}");
    let result: serde_json::Value = serde_json::from_str(stdout.trim()).unwrap();
    assert_eq!(result["greeting"], "Hello, Ada!");
    assert_eq!(result["words"], 4);
    let stderr = String::from_utf8(out.stderr).unwrap();
    let lines: Vec<serde_json::Value> = stderr.lines().filter_map(|l| serde_json::from_str(l).ok()).collect();
    let messages: Vec<&str> = lines.iter().filter_map(|l| l["message"].as_str()).collect();
    assert_eq!(messages, ["task started", "task succeeded"], "{stderr}");
    assert_eq!(lines[0]["name"], "Ada");
    assert!(lines[0]["uid"].is_i64() && lines[0]["gid"].is_i64() && lines[0]["cap_eff"].is_string(), "{stderr}");
    assert_eq!(lines[1]["held_mib"], 1, "{stderr}");
}

#[test]
fn each_kind_of_failure_has_its_exit_code_and_message() {
    for (input, code, needle) in [
        (None, 66, "TASK_INPUT is not set"),
        (Some("{not json"), 65, "not valid JSON"),
        (Some(r#"{"work_seconds":"long"}"#), 65, "does not fit this task"),
        (Some(r#"{"work_seconds":-1}"#), 65, "work_seconds must be a non-negative number"),
        (Some(r#"{"fail":true}"#), 1, "failed on purpose"),
    ] {
        let out = task(input).output().unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(code), "input {input:?}: {stderr}");
        assert!(stderr.contains(needle), "input {input:?}: {stderr}");
        assert!(out.stdout.is_empty(), "input {input:?} printed a result");
    }
}

#[test]
fn sigterm_stops_long_work_with_exit_143() {
    let mut child = task(Some(r#"{"work_seconds":60}"#)).stderr(Stdio::piped()).stdout(Stdio::piped()).spawn().unwrap();
    let mut stderr = BufReader::new(child.stderr.take().unwrap());
    let mut seen = String::new();
    // Wait until the task is working (handlers are installed before the task starts).
    loop {
        let mut line = String::new();
        assert!(stderr.read_line(&mut line).unwrap() > 0, "exited early: {seen}");
        seen.push_str(&line);
        if line.contains("task started") {
            break;
        }
    }
    let started = Instant::now();
    let killed = Command::new("kill").args(["-TERM", &child.id().to_string()]).status().unwrap();
    assert!(killed.success());
    let status = child.wait().unwrap();
    let mut rest = String::new();
    std::io::Read::read_to_string(&mut stderr, &mut rest).unwrap();
    assert_eq!(status.code(), Some(143), "{seen}{rest}");
    assert!(rest.contains("stopped by SIGTERM"), "{rest}");
    assert!(started.elapsed() < Duration::from_secs(20), "took {:?} to stop", started.elapsed());
}
