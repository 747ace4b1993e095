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
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
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

/// `push` to ECR with the given AWS environment; the endpoint is a loopback port nothing answers on.
fn push_to_ecr(env: &[(&str, &str)], remove: &[&str]) -> (Option<i32>, String, String) {
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let mut command = Command::new(env!("CARGO_BIN_EXE_provisioner"));
    command
        .args(["push", "--builder", "oci"])
        .env_remove("PROVISIONER_REGISTRY")
        .env_remove("AWS_PROFILE")
        .env("AWS_CONFIG_FILE", "/nonexistent/aws-config")
        .env("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent/aws-credentials")
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .env("AWS_ENDPOINT_URL", format!("http://127.0.0.1:{port}"))
        .env("AWS_REGION", "us-east-1")
        .env("AWS_ACCESS_KEY_ID", "test")
        .env("AWS_SECRET_ACCESS_KEY", "test")
        .env("AWS_MAX_ATTEMPTS", "1");
    for (name, value) in env {
        command.env(name, value);
    }
    for name in remove {
        command.env_remove(name);
    }
    let out = command.output().unwrap();
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn an_aws_endpoint_that_does_not_answer_fails_before_compiling() {
    let (code, stdout, stderr) = push_to_ecr(&[], &[]);
    assert_eq!(code, Some(1), "{stderr}");
    assert!(stdout.is_empty(), "{stdout}");
    assert!(stderr.contains("CreateRepository failed") && stderr.contains("AWS endpoint did not answer"), "{stderr}");
    assert!(stderr.contains("AWS_ENDPOINT_URL"), "{stderr}");
    assert!(!stderr.contains("compiling"), "it compiled before finding out: {stderr}");
}

#[test]
fn no_aws_credentials_says_how_to_provide_them() {
    let (code, _, stderr) = push_to_ecr(&[], &["AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"]);
    assert_eq!(code, Some(1), "{stderr}");
    assert!(stderr.contains("no usable AWS credentials") && stderr.contains("AWS_PROFILE"), "{stderr}");
    assert!(!stderr.contains("compiling"), "{stderr}");
}

#[test]
fn no_aws_region_says_how_to_set_one() {
    let (code, _, stderr) = push_to_ecr(&[], &["AWS_REGION", "AWS_DEFAULT_REGION"]);
    assert_eq!(code, Some(1), "{stderr}");
    assert!(stderr.contains("no AWS region") && stderr.contains("AWS_REGION"), "{stderr}");
}
