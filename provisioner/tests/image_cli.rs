//! `provisioner build` and `push` as a user runs them: bad input fails fast, with a message that
//! names the value and the fix, a non-zero exit, and nothing on stdout.

use std::process::Command;

fn provisioner(args: &[&str]) -> (Option<i32>, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_provisioner"))
        .args(args)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .env_remove("PROVISIONER_REGISTRY")
        .output()
        .unwrap();
    (out.status.code(), String::from_utf8_lossy(&out.stdout).into_owned(), String::from_utf8_lossy(&out.stderr).into_owned())
}

#[test]
fn a_registry_with_a_scheme_is_refused_before_building() {
    let (code, stdout, stderr) = provisioner(&["push", "--registry", "http://127.0.0.1:5000", "--builder", "oci"]);
    assert_eq!(code, Some(1), "{stderr}");
    assert!(stdout.is_empty(), "{stdout}");
    assert!(stderr.contains("\"http://127.0.0.1:5000\"") && stderr.contains("without a scheme"), "{stderr}");
    assert!(!stderr.contains("compiling"), "it built before checking its input: {stderr}");
}

#[test]
fn an_unknown_builder_is_a_usage_error() {
    let (code, _, stderr) = provisioner(&["build", "--builder", "kaniko"]);
    assert_eq!(code, Some(2), "{stderr}");
    assert!(stderr.contains("kaniko") && stderr.contains("docker") && stderr.contains("oci"), "{stderr}");
}

#[test]
fn no_docker_engine_points_at_the_daemonless_builder() {
    let out = Command::new(env!("CARGO_BIN_EXE_provisioner"))
        .args(["build", "--builder", "docker"])
        .env("DOCKER_HOST", "unix:///nonexistent/docker.sock")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("Docker engine is not reachable") && stderr.contains("--builder oci"), "{stderr}");
}

#[test]
fn a_base_image_with_the_docker_builder_is_refused() {
    let (code, _, stderr) = provisioner(&["build", "--builder", "docker", "--base", "127.0.0.1:5000/ffmpeg:7"]);
    assert_eq!(code, Some(1), "{stderr}");
    assert!(stderr.contains("--base goes with --builder oci"), "{stderr}");
}

#[test]
fn a_registry_that_does_not_answer_fails_with_its_address_and_the_fix() {
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let registry = format!("127.0.0.1:{port}");
    let (code, stdout, stderr) = provisioner(&["push", "--builder", "oci", "--registry", &registry, "--json"]);
    assert_eq!(code, Some(1), "{stderr}");
    assert!(stdout.is_empty(), "{stdout}");
    assert!(stderr.contains(&registry) && stderr.contains("did not answer") && stderr.contains("just up"), "{stderr}");
}
