//! The task image built from the repository's Dockerfile by the Docker engine (through
//! testcontainers), run as a container: the image is the thing under test.

use crate::support;

use testcontainers::GenericBuildableImage;
use testcontainers::runners::AsyncBuilder;

#[tokio::test]
async fn the_dockerfile_image_runs_the_task_as_a_non_root_user() {
    let inputs = support::inputs().await;
    inputs.check().expect("image inputs present");
    let mut buildable =
        GenericBuildableImage::new("servicefull-container-test", "latest").with_dockerfile(inputs.dockerfile.clone());
    for file in inputs.files() {
        buildable = buildable.with_file(file.source, file.in_context);
    }
    let directories = provisioner::image::inputs::directories_tar().unwrap();
    buildable = buildable.with_data(directories, provisioner::image::inputs::DIRECTORIES_TAR);
    let image = buildable.build_image().await.expect("the Dockerfile builds with no network");

    let docker = provisioner::image::docker::connect().await.unwrap();
    let inspected = docker.inspect_image("servicefull-container-test:latest").await.unwrap();
    let config = inspected.config.unwrap();
    assert_eq!(config.user.as_deref(), Some("10001:10001"), "runs as the non-root task user");
    assert_eq!(config.entrypoint.unwrap(), vec!["/usr/local/bin/task".to_owned(), "fargateTask".to_owned()]);
    assert_eq!(inspected.os.as_deref(), Some("linux"));

    support::assert_runs_the_task(image).await;
}
