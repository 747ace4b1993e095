//! What the image tests share: the workspace root, the static task binary (built once per test
//! process through the provisioner's own build step), and running an image to completion.
#![allow(dead_code)]

use std::collections::HashMap;
use std::path::PathBuf;

use provisioner::image::binary::TaskBinary;
use provisioner::image::inputs::{DEFAULT_CA_CERTIFICATES, ImageInputs};
use provisioner::image::progress::Progress;
use testcontainers::core::WaitFor;
use testcontainers::core::wait::ExitWaitStrategy;
use testcontainers::runners::AsyncRunner;
use testcontainers::{GenericImage, ImageExt};
use tokio::sync::OnceCell;

pub fn workspace() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).parent().expect("workspace root").to_owned()
}

/// The static task binary, compiled by the same code `provisioner build` runs.
pub async fn task_binary() -> PathBuf {
    static BINARY: OnceCell<PathBuf> = OnceCell::const_new();
    BINARY
        .get_or_init(|| async {
            TaskBinary::service(&workspace()).build(&Progress::quiet()).await.expect("the task binary builds")
        })
        .await
        .clone()
}

pub async fn inputs() -> ImageInputs {
    ImageInputs::new(&workspace(), task_binary().await, PathBuf::from(DEFAULT_CA_CERTIFICATES))
}

/// What a finished container left behind.
#[derive(Debug)]
pub struct Finished {
    pub exit_code: Option<i64>,
    pub stdout: String,
    pub stderr: String,
}

impl Finished {
    /// The one JSON result line on stdout.
    pub fn result(&self) -> serde_json::Value {
        let lines: Vec<&str> = self.stdout.lines().collect();
        assert_eq!(lines.len(), 1, "expected one result line, got: {}", self.stdout);
        serde_json::from_str(lines[0]).unwrap_or_else(|e| panic!("result is not JSON ({e}): {}", self.stdout))
    }

    /// The JSON log lines on stderr.
    pub fn logs(&self) -> Vec<serde_json::Value> {
        self.stderr.lines().filter_map(|l| serde_json::from_str(l).ok()).collect()
    }
}

/// Removes the engine's tags naming `registry` (`HOST:PORT`); the images stay under any other
/// tag. A test's registry is gone after the test, so a tag for it is one nobody can use again:
/// a test that tagged or pulled images from its registry into the engine calls this at its end.
pub async fn untag_images_of(registry: &str) {
    let docker = bollard::Docker::connect_with_local_defaults().unwrap();
    let prefix = format!("{registry}/");
    let filters = HashMap::from([("reference".to_string(), vec![format!("{registry}/*")])]);
    let options = bollard::query_parameters::ListImagesOptions { filters: Some(filters), ..Default::default() };
    let images = docker.list_images(Some(options)).await.unwrap();
    for tag in images.iter().flat_map(|i| i.repo_tags.iter()).filter(|t| t.starts_with(&prefix)) {
        let removed = docker.remove_image(tag, None::<bollard::query_parameters::RemoveImageOptions>, None).await;
        removed.unwrap_or_else(|e| panic!("could not untag {tag}: {e}"));
    }
}

/// Runs `image` with TASK_INPUT (when given) until it exits.
pub async fn run_to_exit(image: GenericImage, input: Option<&str>) -> Finished {
    let image = image.with_wait_for(WaitFor::exit(ExitWaitStrategy::new()));
    let request = match input {
        Some(input) => image.with_env_var("TASK_INPUT", input),
        None => image.into(),
    };
    let container = request.start().await.expect("the container starts");
    let finished = Finished {
        exit_code: container.exit_code().await.expect("exit code"),
        stdout: String::from_utf8_lossy(&container.stdout_to_vec().await.expect("stdout")).into_owned(),
        stderr: String::from_utf8_lossy(&container.stderr_to_vec().await.expect("stderr")).into_owned(),
    };
    container.rm().await.expect("container removed");
    finished
}

/// The checks every image of the task must pass, however it was built or wherever it came from.
pub async fn assert_runs_the_task(image: GenericImage) {
    let ok = run_to_exit(image.clone(), Some(r#"{"name":"container","text":"one two three"}"#)).await;
    assert_eq!(ok.exit_code, Some(0), "{ok:?}");
    let result = ok.result();
    assert_eq!(result["greeting"], "Hello, container!");
    assert_eq!(result["words"], 3);
    let started = ok.logs().into_iter().find(|l| l["message"] == "task started");
    assert!(started.is_some_and(|l| l["level"] == "INFO"), "no JSON 'task started' log line: {}", ok.stderr);

    let failed = run_to_exit(image.clone(), Some(r#"{"fail":true}"#)).await;
    assert_eq!(failed.exit_code, Some(1), "{failed:?}");
    assert!(failed.stderr.contains("failed on purpose"), "{}", failed.stderr);
    assert!(failed.stdout.is_empty(), "{}", failed.stdout);

    let missing = run_to_exit(image, None).await;
    assert_eq!(missing.exit_code, Some(66), "{missing:?}");
    assert!(missing.stderr.contains("TASK_INPUT"), "{}", missing.stderr);
}
