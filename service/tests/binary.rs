//! The servicefull binary as a process: what a container runtime sees (exit codes, stdout's one
//! JSON line, JSON logs on stderr). Built with `lambdabinary`; the build without it is checked in
//! without_feature.rs. SIGTERM cutting long work short is the platform test task's to show
//! (integration-tests/test-task/tests/binary.rs): the sample has no long work.
#![cfg(feature = "lambdabinary")]

use std::process::Command;

fn task(input: Option<&str>) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_servicefull"));
    command.arg("fargateTask").env_remove("TASK_INPUT").env_remove("ECS_CONTAINER_METADATA_URI_V4");
    if let Some(input) = input {
        command.env("TASK_INPUT", input);
    }
    command
}

#[test]
fn success_writes_one_json_line_and_logs_json() {
    let out = task(Some(r#"{"name":"Ada","text":"to be or not"}"#)).output().unwrap();
    assert_eq!(out.status.code(), Some(0), "stderr: {}", String::from_utf8_lossy(&out.stderr));
    let stdout = String::from_utf8(out.stdout).unwrap();
    assert_eq!(stdout.lines().count(), 1, "{stdout}");
    let result: serde_json::Value = serde_json::from_str(stdout.trim()).unwrap();
    assert_eq!(result["greeting"], "Hello, Ada!");
    assert_eq!(result["words"], 4);
    // stdout is not a terminal here, so logs are JSON lines (what CloudWatch gets).
    let stderr = String::from_utf8(out.stderr).unwrap();
    let started = stderr
        .lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .find(|l| l["message"] == "task started")
        .unwrap_or_else(|| panic!("no JSON 'task started' line in: {stderr}"));
    assert_eq!(started["level"], "INFO");
    assert_eq!(started["name"], "Ada");
}

#[test]
fn each_kind_of_failure_has_its_exit_code_and_message() {
    for (input, code, needle) in [
        (None, 66, "TASK_INPUT is not set"),
        (Some("{not json"), 65, "not valid JSON"),
        (Some(r#"{"fail":"yes"}"#), 65, "does not fit this task"),
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
fn help_offers_fargate_task() {
    let out = Command::new(env!("CARGO_BIN_EXE_servicefull")).arg("--help").output().unwrap();
    assert!(out.status.success());
    assert!(String::from_utf8_lossy(&out.stdout).contains("fargateTask"));
}
