//! The image pipeline against the local cloud: build with each builder, push to the registry,
//! read the manifest back, pull the pushed image into the Docker engine and run it, push again
//! and upload nothing; and the ECR side (repository, scan on push, lifecycle policy, token) on the
//! emulator. Pushing to the ECR repository URI itself cannot happen locally: moto's URIs point at
//! no registry (pinned in localcloud.rs as moto_gap_ecr_repository_uri_points_at_no_registry).

use crate::support;

use integration_tests::LocalCloud;
use provisioner::image::pipeline::{self, BuildOptions, Built, Destination};
use provisioner::image::progress::Progress;
use provisioner::image::push::Registry;
use provisioner::image::reference::ImageRef;
use provisioner::image::{Builder, ecr};
use testcontainers::GenericImage;

fn options(builder: Builder) -> BuildOptions {
    BuildOptions {
        workspace: support::workspace(),
        builder,
        base: None,
        ca_certificates: provisioner::image::inputs::DEFAULT_CA_CERTIFICATES.into(),
    }
}

/// Reads the pushed manifest back and checks it names the digest the push reported.
async fn read_back(registry: &str, image_uri: &str) -> (usize, String) {
    let pinned = ImageRef::parse(image_uri).unwrap();
    let reader = Registry::new(registry, oci_client::secrets::RegistryAuth::Anonymous);
    let (manifest, digest, config) = reader.manifest_and_config(&pinned).await.expect("manifest reads back");
    assert_eq!(Some(digest.as_str()), pinned.digest.as_deref(), "the registry serves the pushed digest");
    let config: serde_json::Value = serde_json::from_str(&config).unwrap();
    assert_eq!(config["config"]["User"], "10001:10001");
    (manifest.layers.len(), digest)
}

async fn registry_target(cloud: &LocalCloud, progress: &Progress) -> pipeline::Target {
    let destination = Destination::Registry(cloud.registry().to_owned());
    pipeline::resolve(&destination, "servicefull", &ecr::lifecycle_policy(), progress).await.unwrap()
}

fn image_of(tag_reference: &str) -> GenericImage {
    let (name, tag) = tag_reference.rsplit_once(':').unwrap();
    GenericImage::new(name, tag)
}

#[tokio::test]
async fn oci_push_reads_back_runs_and_does_not_upload_twice() {
    let cloud = LocalCloud::start().await;
    let progress = Progress::quiet();
    let built = pipeline::build(&options(Builder::Oci), &progress).await.unwrap();
    let target = registry_target(&cloud, &progress).await;
    let first = pipeline::push(&built, &target, &progress).await.unwrap();
    assert_eq!(first.uploaded_blobs, Some(2), "one layer and the config: {first:?}");
    assert!(first.image_uri.starts_with(&format!("{}/servicefull@sha256:", cloud.registry())), "{first:?}");
    let (layers, _) = read_back(cloud.registry(), &first.image_uri).await;
    assert_eq!(layers, 1, "one layer, FROM scratch");

    // The Docker engine never had this image: it pulls it from the registry to run it.
    support::assert_runs_the_task(image_of(&first.tag)).await;

    let again = pipeline::push(&built, &target, &progress).await.unwrap();
    assert_eq!(again.uploaded_blobs, Some(0), "{again:?}");
    assert_eq!(again.skipped_blobs, Some(2), "{again:?}");
    assert_eq!(again.digest, first.digest);
    support::untag_images_of(cloud.registry()).await;
}

#[tokio::test]
async fn oci_builds_of_the_same_binary_have_the_same_digest() {
    let progress = Progress::quiet();
    let digest = |b: &pipeline::BuildOutcome| match &b.built {
        Built::Oci { image, .. } => image.manifest_digest.clone(),
        Built::Docker { .. } => unreachable!("built with oci"),
    };
    let one = pipeline::build(&options(Builder::Oci), &progress).await.unwrap();
    let two = pipeline::build(&options(Builder::Oci), &progress).await.unwrap();
    assert_eq!(digest(&one), digest(&two));
}

#[tokio::test]
async fn docker_push_reads_back_and_the_pulled_image_runs() {
    let cloud = LocalCloud::start().await;
    let progress = Progress::quiet();
    let built = pipeline::build(&options(Builder::Docker), &progress).await.unwrap();
    let target = registry_target(&cloud, &progress).await;
    let pushed = pipeline::push(&built, &target, &progress).await.unwrap();
    let (layers, digest) = read_back(cloud.registry(), &pushed.image_uri).await;
    assert_eq!(digest, pushed.digest);
    assert_eq!(layers, 5, "the Dockerfile's four COPY layers and the ADD of its directories");

    // Forget the registry tag so the engine pulls what the registry holds.
    let docker = provisioner::image::docker::connect().await.unwrap();
    docker.remove_image(&pushed.tag, None::<bollard::query_parameters::RemoveImageOptions>, None).await.unwrap();
    support::assert_runs_the_task(image_of(&pushed.tag)).await;
    support::untag_images_of(cloud.registry()).await;
}

#[tokio::test]
async fn ecr_repository_is_created_once_with_scan_on_push_and_a_lifecycle_policy() {
    let cloud = LocalCloud::start().await;
    let client = aws_sdk_ecr::Client::new(cloud.sdk_config());
    let name = format!("push-test-{}", std::process::id());
    let created = ecr::ensure_repository(&client, &name, &ecr::lifecycle_policy()).await.unwrap();
    assert!(created.created);
    assert!(created.uri.ends_with(&format!("/{name}")), "{created:?}");
    let again = ecr::ensure_repository(&client, &name, &ecr::lifecycle_policy()).await.unwrap();
    assert!(!again.created);
    assert_eq!(again.uri, created.uri);

    let described = client.describe_repositories().repository_names(&name).send().await.unwrap();
    let repository = &described.repositories()[0];
    assert_eq!(repository.image_scanning_configuration().map(|c| c.scan_on_push()), Some(true));
    let policy = client.get_lifecycle_policy().repository_name(&name).send().await.unwrap();
    let policy: serde_json::Value = serde_json::from_str(policy.lifecycle_policy_text().unwrap()).unwrap();
    assert_eq!(policy["rules"].as_array().unwrap().len(), 2, "{policy}");

    let registry = ImageRef::parse(&created.uri).unwrap().registry;
    let credentials = ecr::credentials(&client, &registry).await.unwrap();
    assert_eq!(credentials.username, "AWS");
    let token = client.get_authorization_token().send().await.unwrap().authorization_data()[0]
        .authorization_token()
        .unwrap()
        .to_owned();
    let decoded =
        String::from_utf8(base64::Engine::decode(&base64::engine::general_purpose::STANDARD, token).unwrap()).unwrap();
    let password = decoded.split_once(':').unwrap().1;
    assert!(!password.is_empty());
    assert!(!format!("{credentials:?}").contains(password), "the token shows in Debug output");
}

#[tokio::test]
async fn an_invalid_repository_name_fails_before_any_call() {
    let cloud = LocalCloud::start().await;
    let client = aws_sdk_ecr::Client::new(cloud.sdk_config());
    let err = ecr::ensure_repository(&client, "Bad Name", &ecr::lifecycle_policy()).await.unwrap_err().to_string();
    assert!(err.contains("\"Bad Name\"") && err.contains("lowercase"), "{err}");
    let listed = client.describe_repositories().send().await.unwrap();
    assert!(listed.repositories().iter().all(|r| r.repository_name() != Some("Bad Name")));
}

#[tokio::test]
async fn oci_on_a_base_image_keeps_its_layers_mounts_them_and_runs() {
    use provisioner::image::inputs::ImageFile;
    use provisioner::image::oci;
    let cloud = LocalCloud::start().await;
    let progress = Progress::quiet();

    // A base image with one layer of its own (what a user's ffmpeg image would be), in the registry.
    let dir = std::env::temp_dir().join(format!("base-image-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("marker"), b"from the base image\n").unwrap();
    let base_files =
        [ImageFile { in_image: "/opt/base/marker.txt", in_context: "marker", source: dir.join("marker"), mode: 0o644 }];
    let base = oci::build(&base_files, &[], None).unwrap();
    let base_ref = ImageRef::new(cloud.registry(), "test-base").unwrap().with_tag("1");
    Registry::new(cloud.registry(), oci_client::secrets::RegistryAuth::Anonymous)
        .push(&base, &base_ref, &progress)
        .await
        .unwrap();
    let base_layer = base.own_layer().unwrap().digest.clone();

    let mut options = options(Builder::Oci);
    options.base = Some(base_ref);
    let built = pipeline::build(&options, &progress).await.unwrap();
    let target = registry_target(&cloud, &progress).await;
    let pushed = pipeline::push(&built, &target, &progress).await.unwrap();
    assert_eq!(pushed.mounted_blobs, Some(1), "the base layer is mounted, not uploaded: {pushed:?}");
    assert_eq!(pushed.uploaded_blobs, Some(2), "our layer and the config: {pushed:?}");

    let reader = Registry::new(cloud.registry(), oci_client::secrets::RegistryAuth::Anonymous);
    let (manifest, _, config) = reader.manifest_and_config(&ImageRef::parse(&pushed.image_uri).unwrap()).await.unwrap();
    assert_eq!(manifest.layers.len(), 2);
    assert_eq!(manifest.layers[0].digest, base_layer, "the base's layer comes first, unchanged");
    let config: serde_json::Value = serde_json::from_str(&config).unwrap();
    assert_eq!(config["rootfs"]["diff_ids"].as_array().unwrap().len(), 2);

    support::assert_runs_the_task(image_of(&pushed.tag)).await;
    support::untag_images_of(cloud.registry()).await;
    std::fs::remove_dir_all(dir).unwrap();
}
