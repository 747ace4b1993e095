//! `provisioner template` as a user runs it: the exit code, what is on stdout and on stderr. An
//! error must leave stdout empty, so `provisioner template > stack.json` never writes half a template.

use std::process::{Command, Output};

fn provisioner(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_provisioner")).arg("template").args(args).output().unwrap()
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

fn assert_fails_cleanly(output: &Output, needles: &[&str]) {
    assert!(!output.status.success(), "expected failure, stderr: {}", stderr(output));
    assert!(
        output.stdout.is_empty(),
        "stdout must be empty on error, got: {}",
        String::from_utf8_lossy(&output.stdout)
    );
    for needle in needles {
        assert!(stderr(output).contains(needle), "{needle} missing from stderr: {}", stderr(output));
    }
}

#[test]
fn json_by_default_with_a_note_about_the_placeholder_image() {
    let output = provisioner(&[]);
    assert!(output.status.success(), "{}", stderr(&output));
    let template: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(template["AWSTemplateFormatVersion"], "2010-09-09");
    assert!(stderr(&output).contains("placeholder.invalid/"), "{}", stderr(&output));
    assert!(stderr(&output).contains("--image"), "{}", stderr(&output));
}

#[test]
fn yaml_with_an_image_and_no_note() {
    let output = provisioner(&["--format", "yaml", "--image", "example.com/servicefull:1"]);
    assert!(output.status.success(), "{}", stderr(&output));
    assert!(stderr(&output).is_empty(), "{}", stderr(&output));
    let text = String::from_utf8(output.stdout).unwrap();
    let template = model::template::Template::from_yaml(&text).unwrap();
    assert!(template.parameters().values().any(|p| p.default == Some("example.com/servicefull:1".into())));
}

#[test]
fn an_invalid_task_size_fails_before_printing() {
    let output = provisioner(&["--cpu", "256", "--memory", "4096"]);
    assert_fails_cleanly(&output, &["cpu 256 with memory 4096", "512, 1024, 2048"]);
}

#[test]
fn an_invalid_service_name_fails_before_printing() {
    let output = provisioner(&["--service-name", "My_Service"]);
    assert_fails_cleanly(&output, &["\"My_Service\"", "stack name"]);
}

#[test]
fn a_duplicate_logical_id_fails_before_printing() {
    let path = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("cli-duplicate.json");
    std::fs::write(&path, r#"{"Resources": {"Cluster": {"Type": "AWS::ECS::Cluster"}}}"#).unwrap();
    let output = provisioner(&["--merge", path.to_str().unwrap()]);
    assert_fails_cleanly(&output, &["duplicate logical ID \"Cluster\"", "cli-duplicate.json"]);
}

#[test]
fn an_unreadable_fragment_fails_before_printing() {
    let output = provisioner(&["--merge", "/nonexistent/fragment.json"]);
    assert_fails_cleanly(&output, &["/nonexistent/fragment.json"]);
}

#[test]
fn a_bad_format_is_a_usage_error() {
    let output = provisioner(&["--format", "xml"]);
    assert_fails_cleanly(&output, &["xml"]);
    assert_eq!(output.status.code(), Some(2));
}
