//! ECS tasks that really run, through the gateway's ECS API: this project's own image (built with
//! the daemonless OCI builder and pushed to the local registry), a task definition and a cluster
//! registered through aws-sdk-ecs (moto keeps them), RunTask with a container override, and
//! DescribeTasks until STOPPED. The task's output comes back through CloudWatch Logs. Every test
//! ends with no container of ours left.
//!
//! These need a Docker engine and our own local cloud (an external endpoint is skipped: only the
//! local cloud runs tasks on this machine, and real AWS cannot pull from a loopback registry).

use crate::support;

use std::time::Duration;

use aws_sdk_ecs::types::{
    Compatibility, ContainerDefinition, ContainerOverride, KeyValuePair, LaunchType, LogConfiguration, LogDriver,
    NetworkMode, Task, TaskOverride,
};
use integration_tests::{LocalCloud, TEST_TASK};
use provisioner::image::Builder;
use provisioner::image::binary::TaskBinary;
use provisioner::image::pipeline::{self, BuildOptions, Destination};
use provisioner::image::progress::Progress;
use serde_json::Value;

const CONTAINER: &str = "servicefull";
const LOG_GROUP: &str = "/ecs/servicefull-test";
/// A task role (moto's STS assumes a role whether or not IAM holds it).
const TASK_ROLE: &str = "arn:aws:iam::123456789012:role/servicefull-test-task";

fn unique(prefix: &str) -> String {
    let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_nanos();
    format!("{prefix}-{}-{nanos}", std::process::id())
}

/// The cloud, or None (with the reason printed) when these tests cannot run here.
async fn own_cloud() -> Option<LocalCloud> {
    let cloud = LocalCloud::start().await;
    if !cloud.is_own_moto() {
        eprintln!("skipped: tasks run only on our own local cloud; this run points at another endpoint");
        return None;
    }
    Some(cloud)
}

/// The platform's test task, built by the project's own pipeline and pushed to the cloud's registry: its
/// `repository@sha256:...` URI, as a task definition names it.
async fn pushed_image(cloud: &LocalCloud) -> String {
    let progress = Progress::quiet();
    let options = BuildOptions {
        workspace: support::workspace(),
        builder: Builder::Oci,
        base: None,
        ca_certificates: provisioner::image::inputs::DEFAULT_CA_CERTIFICATES.into(),
    };
    let task = TaskBinary::package(&options.workspace, TEST_TASK);
    let built = pipeline::build_task(&options, &task, &progress).await.expect("the image builds");
    let destination = Destination::Registry(cloud.registry().to_owned());
    let target = pipeline::resolve(&destination, TEST_TASK, &provisioner::image::ecr::lifecycle_policy(), &progress)
        .await
        .expect("the registry resolves");
    pipeline::push(&built, &target, &progress).await.expect("the image pushes").image_uri
}

struct Setup {
    ecs: aws_sdk_ecs::Client,
    logs: aws_sdk_cloudwatchlogs::Client,
    cluster: String,
    task_definition: String,
}

/// A cluster, the log group, and a task definition for `image` as CloudFormation would make them,
/// with `task_role` as its task role.
async fn setup(
    cloud: &LocalCloud,
    image: &str,
    container_memory: i32,
    stop_timeout: i32,
    task_role: Option<&str>,
) -> Setup {
    let ecs = aws_sdk_ecs::Client::new(cloud.sdk_config());
    let logs = aws_sdk_cloudwatchlogs::Client::new(cloud.sdk_config());
    let cluster = unique("cluster");
    ecs.create_cluster().cluster_name(&cluster).send().await.unwrap();
    match logs.create_log_group().log_group_name(LOG_GROUP).send().await {
        Ok(_) => {}
        Err(e) if e.as_service_error().is_some_and(|e| e.is_resource_already_exists_exception()) => {}
        Err(e) => panic!("CreateLogGroup: {e:?}"),
    }
    let container = ContainerDefinition::builder()
        .name(CONTAINER)
        .image(image)
        .essential(true)
        .memory(container_memory)
        .stop_timeout(stop_timeout)
        .environment(KeyValuePair::builder().name("RUST_LOG").value("info").build())
        .log_configuration(
            LogConfiguration::builder()
                .log_driver(LogDriver::Awslogs)
                .options("awslogs-group", LOG_GROUP)
                .options("awslogs-region", "us-east-1")
                .options("awslogs-stream-prefix", "ecs")
                .build()
                .unwrap(),
        )
        .build();
    let registered = ecs
        .register_task_definition()
        .family(unique("servicefull"))
        .requires_compatibilities(Compatibility::Fargate)
        .network_mode(NetworkMode::Awsvpc)
        .cpu("256")
        .memory("512")
        .set_task_role_arn(task_role.map(str::to_owned))
        .container_definitions(container)
        .send()
        .await
        .unwrap();
    let task_definition = registered.task_definition().unwrap().task_definition_arn().unwrap().to_owned();
    Setup { ecs, logs, cluster, task_definition }
}

impl Setup {
    async fn run(&self, input: &str) -> Task {
        self.run_as(input, None).await
    }

    /// RunTask with `input`, and `task_role` as the override's task role when given.
    async fn run_as(&self, input: &str, task_role: Option<&str>) -> Task {
        let overrides = TaskOverride::builder()
            .set_task_role_arn(task_role.map(str::to_owned))
            .container_overrides(
                ContainerOverride::builder()
                    .name(CONTAINER)
                    .environment(KeyValuePair::builder().name("TASK_INPUT").value(input).build())
                    .build(),
            )
            .build();
        let ran = self
            .ecs
            .run_task()
            .cluster(&self.cluster)
            .task_definition(&self.task_definition)
            .launch_type(LaunchType::Fargate)
            .overrides(overrides)
            .send()
            .await
            .unwrap();
        assert!(ran.failures().is_empty(), "{ran:?}");
        assert_eq!(ran.tasks().len(), 1, "{ran:?}");
        ran.tasks()[0].clone()
    }

    async fn describe(&self, arn: &str) -> Task {
        let described = self.ecs.describe_tasks().cluster(&self.cluster).tasks(arn).send().await.unwrap();
        assert!(described.failures().is_empty(), "{described:?}");
        described.tasks()[0].clone()
    }

    /// Polls DescribeTasks until `status`, and returns every lastStatus seen on the way. The
    /// deadline only keeps a broken run from hanging; it is no assertion about speed.
    async fn until(&self, arn: &str, status: &str) -> (Task, Vec<String>) {
        let mut seen: Vec<String> = Vec::new();
        for _ in 0..1200 {
            let task = self.describe(arn).await;
            let last = task.last_status().unwrap_or_default().to_owned();
            if seen.last() != Some(&last) {
                seen.push(last.clone());
            }
            if last == status {
                return (task, seen);
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("task {arn} never reached {status}; seen {seen:?}");
    }

    /// The events of the task's log stream, `ecs/<container>/<task id>`.
    async fn log_lines(&self, task_arn: &str) -> Vec<String> {
        let id = task_arn.rsplit('/').next().unwrap();
        let events = self
            .logs
            .get_log_events()
            .log_group_name(LOG_GROUP)
            .log_stream_name(format!("ecs/{CONTAINER}/{id}"))
            .start_from_head(true)
            .send()
            .await
            .unwrap();
        events.events().iter().map(|e| e.message().unwrap_or_default().to_owned()).collect()
    }
}

/// The task's result: the one line with a greeting.
fn result_line(lines: &[Value]) -> &Value {
    lines.iter().find(|l| l.get("greeting").is_some()).unwrap_or_else(|| panic!("no result line: {lines:?}"))
}

fn json_lines(lines: &[String]) -> Vec<Value> {
    lines.iter().map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not a JSON line ({e}): {l}"))).collect()
}

#[tokio::test]
async fn a_task_runs_to_success_reads_its_arn_from_the_metadata_endpoint_and_its_lines_reach_cloudwatch() {
    let Some(cloud) = own_cloud().await else {
        return;
    };
    let image = pushed_image(&cloud).await;
    let setup = setup(&cloud, &image, 128, 30, None).await;

    let started = setup.run(r#"{"name":"x","text":"a b"}"#).await;
    let arn = started.task_arn().unwrap().to_owned();
    assert_eq!(started.last_status(), Some("PROVISIONING"));
    assert_eq!(started.desired_status(), Some("RUNNING"));
    assert_eq!(started.launch_type(), Some(&LaunchType::Fargate));
    assert_eq!(started.task_definition_arn(), Some(setup.task_definition.as_str()));
    let id = arn.rsplit('/').next().unwrap();
    assert!(arn.starts_with("arn:aws:ecs:us-east-1:") && arn.contains(&format!(":task/{}/", setup.cluster)), "{arn}");
    assert!(id.len() == 32 && id.chars().all(|c| c.is_ascii_hexdigit()), "{arn}");

    let (stopped, seen) = setup.until(&arn, "STOPPED").await;
    assert!(seen.iter().all(|s| ["PROVISIONING", "PENDING", "RUNNING", "STOPPED"].contains(&s.as_str())), "{seen:?}");
    assert_eq!(stopped.stop_code().map(|c| c.as_str()), Some("EssentialContainerExited"));
    assert_eq!(stopped.stopped_reason(), Some("Essential container in task exited"));
    assert_eq!(stopped.desired_status(), Some("STOPPED"));
    assert_eq!((stopped.cpu(), stopped.memory()), (Some("256"), Some("512")));
    let container = &stopped.containers()[0];
    assert_eq!((container.name(), container.exit_code()), (Some(CONTAINER), Some(0)));
    assert_eq!(container.image(), Some(image.as_str()));
    let (created, started_at, stopped_at) =
        (stopped.created_at().unwrap(), stopped.started_at().unwrap(), stopped.stopped_at().unwrap());
    assert!(created <= started_at && started_at <= stopped_at, "{stopped:?}");

    // stdout's result line and stderr's JSON log lines, as the task wrote them.
    let lines = json_lines(&setup.log_lines(&arn).await);
    let result = result_line(&lines);
    assert_eq!(result["greeting"], "Hello, x!");
    assert_eq!(result["words"], 2);
    assert_eq!(result["task_arn"], arn.as_str(), "the ARN the task read from its metadata endpoint");
    let messages: Vec<&str> = lines.iter().filter_map(|l| l["message"].as_str()).collect();
    assert_eq!(messages, ["task started", "task succeeded"], "{lines:?}");
    assert_eq!(
        lines[0]["fields"]["task_arn"].as_str().or(lines[0]["task_arn"].as_str()),
        Some(arn.as_str()),
        "{lines:?}"
    );
    assert_eq!(lines.len(), 3, "two log lines and the result: {lines:?}");

    assert!(cloud.task_containers().await.is_empty(), "the stopped task's container is removed");
}

/// A task with a task role gets that role's credentials as on Fargate: the container credentials
/// endpoint's URI in AWS_CONTAINER_CREDENTIALS_FULL_URI, on the task's own loopback (the SDKs take
/// plain HTTP only there), served through its credentials agent by the gateway, which assumes the
/// role through the local cloud's STS; no static keys beside it; an AWS SDK's chain accepts it. An override's role wins. The URI
/// names a random id, and answers only while its task runs. A task without a role has no
/// credentials at all, as on AWS.
#[tokio::test]
async fn a_task_gets_its_role_s_credentials_from_its_endpoint_and_none_without_a_role() {
    let Some(cloud) = own_cloud().await else {
        return;
    };
    let image = pushed_image(&cloud).await;
    let with_role = setup(&cloud, &image, 128, 30, Some(TASK_ROLE)).await;
    let docker = bollard::Docker::connect_with_local_defaults().unwrap();
    let http = integration_tests::loopback_agent();
    let endpoint = cloud.endpoint_url().unwrap().trim_end_matches('/').to_owned();
    let fetch = |path: &str| {
        let mut answer = http.get(&format!("{endpoint}{path}")).call().unwrap();
        let status = answer.status().as_u16();
        (status, answer.body_mut().read_json::<Value>().unwrap_or(Value::Null))
    };

    // Running long enough to look at from outside: its environment, and its endpoint's answer.
    let arn = with_role.run(r#"{"credentials":true,"work_seconds":15}"#).await.task_arn().unwrap().to_owned();
    with_role.until(&arn, "RUNNING").await;
    let id = arn.rsplit('/').next().unwrap();
    let inspected = docker.inspect_container(&format!("localcloud-{id}-{CONTAINER}"), None).await.unwrap();
    let env = inspected.config.unwrap().env.unwrap_or_default();
    let uri = env
        .iter()
        .find_map(|v| v.strip_prefix("AWS_CONTAINER_CREDENTIALS_FULL_URI="))
        .unwrap_or_else(|| panic!("no credentials URI: {env:?}"))
        .to_owned();
    let path = uri.strip_prefix("http://127.0.0.1:51679").unwrap_or_else(|| panic!("not on loopback: {uri}"));
    assert!(path.starts_with("/v2/credentials/") && !path.contains(id), "a random id, not the task's: {uri}");
    assert!(!env.iter().any(|v| v.starts_with("AWS_ACCESS_KEY_ID=")), "the role's credentials only: {env:?}");
    let (status, document) = fetch(path);
    assert_eq!(status, 200, "{document}");
    assert_eq!(document["RoleArn"], TASK_ROLE, "{document}");
    for field in ["AccessKeyId", "SecretAccessKey", "Token", "Expiration"] {
        assert!(document[field].as_str().is_some_and(|v| !v.is_empty()), "{field} in {document}");
    }
    assert!(document["AccessKeyId"].as_str().unwrap().starts_with("ASIA"), "STS's temporary keys: {document}");
    // An AWS SDK's own default chain takes the document: botocore (moto's virtualenv holds it),
    // with no keys and the URI on loopback as the task has it (here the gateway's own loopback
    // listener), asks STS who it is, and STS answers with the task role's assumed-role session.
    let python = support::workspace().join(".venv/bin/python");
    let whoami = std::process::Command::new(&python)
        .args(["-c", "import boto3; print(boto3.client('sts').get_caller_identity()['Arn'])"])
        .env_clear()
        .env("AWS_CONTAINER_CREDENTIALS_FULL_URI", format!("{endpoint}{path}"))
        .env("AWS_ENDPOINT_URL", &endpoint)
        .env("AWS_DEFAULT_REGION", "us-east-1")
        .env("HOME", std::env::temp_dir())
        .output()
        .unwrap_or_else(|e| panic!("{}: {e}", python.display()));
    assert!(whoami.status.success(), "{}", String::from_utf8_lossy(&whoami.stderr));
    assert_eq!(
        String::from_utf8_lossy(&whoami.stdout).trim(),
        format!("arn:aws:sts::123456789012:assumed-role/servicefull-test-task/{id}"),
        "the task role's session, named after the task"
    );
    let (status, unknown) = fetch("/v2/credentials/5e0e7e3c-6a1b-4d4e-9c3f-2d6f8e1a0b7c");
    assert_eq!((status, &unknown["code"]), (400, &Value::from("InvalidIdInRequest")), "{unknown}");

    // From inside, through the agent: the same role and keys, the output says.
    with_role.until(&arn, "STOPPED").await;
    let lines = json_lines(&with_role.log_lines(&arn).await);
    let result = result_line(&lines);
    assert_eq!(result["credentials"]["role_arn"], TASK_ROLE, "{result}");
    assert_eq!(result["credentials"]["access_key_id"], document["AccessKeyId"], "{result}");
    let (status, gone) = fetch(path);
    assert_eq!(status, 400, "a stopped task's credentials are no longer served: {gone}");
    let filters = std::collections::HashMap::from([(
        "label".to_string(),
        vec![format!("{}={arn}", localcloud::fargate::engine::TASK_ARN_LABEL)],
    )]);
    let options =
        bollard::query_parameters::ListContainersOptions { all: true, filters: Some(filters), ..Default::default() };
    let left = docker.list_containers(Some(options)).await.unwrap();
    assert!(left.is_empty(), "the task's container and its credentials agent are removed: {left:?}");

    // RunTask's override names another role.
    let other = "arn:aws:iam::123456789012:role/servicefull-test-other";
    let arn = with_role.run_as(r#"{"credentials":true}"#, Some(other)).await.task_arn().unwrap().to_owned();
    with_role.until(&arn, "STOPPED").await;
    let lines = json_lines(&with_role.log_lines(&arn).await);
    let result = result_line(&lines);
    assert_eq!(result["credentials"]["role_arn"], other, "{result}");

    // No task role: no credentials of any kind.
    let without = setup(&cloud, &image, 128, 30, None).await;
    let arn = without.run(r#"{"credentials":true}"#).await.task_arn().unwrap().to_owned();
    without.until(&arn, "STOPPED").await;
    let lines = json_lines(&without.log_lines(&arn).await);
    let result = result_line(&lines);
    assert!(
        result["credentials"]["error"].as_str().is_some_and(|e| e.contains("no credentials")),
        "a task without a role has none: {result}"
    );
    assert!(cloud.task_containers().await.is_empty());
}

/// A small image the cloud never pulled, imported into the engine under `references`; removed by
/// [`remove_images`].
async fn imported_image(docker: &bollard::Docker, references: &[&str]) {
    use bollard::query_parameters::{CreateImageOptions, TagImageOptions};
    use futures_util::StreamExt;
    let layer = provisioner::image::inputs::directories_tar().unwrap();
    let (repo, tag) = references[0].rsplit_once(':').unwrap();
    let options = CreateImageOptions {
        from_src: Some("-".into()),
        repo: Some(repo.into()),
        tag: Some(tag.into()),
        ..Default::default()
    };
    let mut import = docker.create_image(Some(options), Some(bollard::body_full(bytes::Bytes::from(layer))), None);
    while let Some(step) = import.next().await {
        step.expect("the image imports");
    }
    for reference in &references[1..] {
        let (repo, tag) = reference.rsplit_once(':').unwrap();
        let options = TagImageOptions { repo: Some(repo.into()), tag: Some(tag.into()) };
        docker.tag_image(references[0], Some(options)).await.expect("the image is tagged");
    }
}

async fn remove_images(docker: &bollard::Docker, references: &[&str]) {
    for reference in references {
        let _ = docker.remove_image(reference, None::<bollard::query_parameters::RemoveImageOptions>, None).await;
    }
}

/// `localcloud down` (here the teardown of a cloud of this test's own) removes the image the
/// cloud pulled to run a task, as it removes the task's container, and keeps every image it did
/// not pull: one of another name, and one named in the cloud's own registry that it never pulled.
#[tokio::test]
async fn down_removes_the_images_the_cloud_pulled_and_keeps_every_other() {
    let cloud = LocalCloud::start_alone().await;
    if !cloud.is_own_moto() {
        eprintln!("skipped: tasks run only on our own local cloud; this run points at another endpoint");
        return;
    }
    let docker = bollard::Docker::connect_with_local_defaults().unwrap();
    let unrelated = unique("localcloud-test-unrelated");
    let unrelated = format!("{unrelated}:kept");
    let same_registry = format!("{}/{}:kept", cloud.registry(), unique("unrelated"));
    imported_image(&docker, &[&unrelated, &same_registry]).await;

    let image = pushed_image(&cloud).await;
    let setup = setup(&cloud, &image, 128, 30, None).await;
    let arn = setup.run(r#"{"name":"x","text":"a b"}"#).await.task_arn().unwrap().to_owned();
    setup.until(&arn, "STOPPED").await;
    assert!(docker.inspect_image(&image).await.is_ok(), "the cloud pulled {image} to run the task");

    drop(setup);
    drop(cloud);
    let gone = docker.inspect_image(&image).await;
    let kept = [docker.inspect_image(&unrelated).await.is_ok(), docker.inspect_image(&same_registry).await.is_ok()];
    remove_images(&docker, &[&unrelated, &same_registry]).await;
    assert!(
        matches!(gone, Err(bollard::errors::Error::DockerResponseServerError { status_code: 404, .. })),
        "the image the cloud pulled is removed at down: {gone:?}"
    );
    assert_eq!(kept, [true, true], "images the cloud did not pull stay: {unrelated}, {same_registry}");
}

#[tokio::test]
async fn a_failing_task_exits_1_and_describe_tasks_reports_unknown_arns_missing() {
    let Some(cloud) = own_cloud().await else {
        return;
    };
    let image = pushed_image(&cloud).await;
    let setup = setup(&cloud, &image, 128, 30, None).await;

    let arn = setup.run(r#"{"fail": true}"#).await.task_arn().unwrap().to_owned();
    let (stopped, _) = setup.until(&arn, "STOPPED").await;
    assert_eq!(stopped.containers()[0].exit_code(), Some(1));
    assert_eq!(stopped.stop_code().map(|c| c.as_str()), Some("EssentialContainerExited"));
    let lines = setup.log_lines(&arn).await;
    assert!(lines.iter().any(|l| l.contains("failed on purpose")), "{lines:?}");

    let unknown = arn.replace(&arn[arn.len() - 32..], "0123456789abcdef0123456789abcdef");
    let described =
        setup.ecs.describe_tasks().cluster(&setup.cluster).tasks(&arn).tasks(&unknown).send().await.unwrap();
    assert_eq!(described.tasks().len(), 1);
    let failure = &described.failures()[0];
    assert_eq!((failure.arn(), failure.reason()), (Some(unknown.as_str()), Some("MISSING")));

    let missing_cluster = setup.ecs.describe_tasks().cluster(unique("nope")).tasks(&arn).send().await.unwrap_err();
    assert!(
        missing_cluster.as_service_error().is_some_and(|e| e.is_cluster_not_found_exception()),
        "{missing_cluster:?}"
    );
    let run_nowhere =
        setup.ecs.run_task().cluster(unique("nope")).task_definition(&setup.task_definition).send().await.unwrap_err();
    assert!(run_nowhere.as_service_error().is_some_and(|e| e.is_cluster_not_found_exception()), "{run_nowhere:?}");
    assert!(cloud.task_containers().await.is_empty());
}

#[tokio::test]
async fn stop_task_sends_sigterm_and_reports_user_initiated_with_the_reason() {
    let Some(cloud) = own_cloud().await else {
        return;
    };
    let image = pushed_image(&cloud).await;
    let setup = setup(&cloud, &image, 128, 20, None).await;

    let arn = setup.run(r#"{"work_seconds": 600}"#).await.task_arn().unwrap().to_owned();
    setup.until(&arn, "RUNNING").await;
    let listed = setup.ecs.list_tasks().cluster(&setup.cluster).send().await.unwrap();
    assert_eq!(listed.task_arns(), std::slice::from_ref(&arn));

    let stopping =
        setup.ecs.stop_task().cluster(&setup.cluster).task(&arn).reason("enough for the test").send().await.unwrap();
    assert_eq!(stopping.task().and_then(|t| t.desired_status()), Some("STOPPED"));
    let (stopped, _) = setup.until(&arn, "STOPPED").await;
    assert_eq!(stopped.stop_code().map(|c| c.as_str()), Some("UserInitiated"));
    assert_eq!(stopped.stopped_reason(), Some("enough for the test"));
    // 143: the task's own answer to SIGTERM (a SIGKILL after the stop timeout would be 137).
    assert_eq!(stopped.containers()[0].exit_code(), Some(143), "{stopped:?}");
    let lines = setup.log_lines(&arn).await;
    assert!(lines.iter().any(|l| l.contains("stopped by SIGTERM")), "{lines:?}");

    let listed = setup.ecs.list_tasks().cluster(&setup.cluster).send().await.unwrap();
    assert!(listed.task_arns().is_empty(), "a stopped task is not listed as RUNNING: {listed:?}");
    assert!(cloud.task_containers().await.is_empty());
}

#[tokio::test]
async fn a_task_that_ignores_sigterm_is_killed_after_its_stop_timeout() {
    let Some(cloud) = own_cloud().await else {
        return;
    };
    let image = pushed_image(&cloud).await;
    // A stop timeout of 2 s, far below the task's own 25 s grace: only a kill can end it that soon.
    let setup = setup(&cloud, &image, 128, 2, None).await;
    let arn = setup.run(r#"{"work_seconds": 600, "ignore_sigterm": true}"#).await.task_arn().unwrap().to_owned();
    setup.until(&arn, "RUNNING").await;
    setup.ecs.stop_task().cluster(&setup.cluster).task(&arn).reason("stuck").send().await.unwrap();
    let (stopped, _) = setup.until(&arn, "STOPPED").await;
    assert_eq!(stopped.stop_code().map(|c| c.as_str()), Some("UserInitiated"));
    // 137 = 128 + SIGKILL: killed after the stop timeout, not the task's own 143 answer to SIGTERM.
    assert_eq!(stopped.containers()[0].exit_code(), Some(137), "{stopped:?}");
    let lines = setup.log_lines(&arn).await;
    assert!(!lines.iter().any(|l| l.contains("stopped by SIGTERM")), "it did not stop by itself: {lines:?}");
    assert!(cloud.task_containers().await.is_empty());
}

#[tokio::test]
async fn an_image_that_cannot_be_pulled_fails_to_start_with_cannot_pull_container_error() {
    let Some(cloud) = own_cloud().await else {
        return;
    };
    let image = format!("{}/{}:latest", cloud.registry(), unique("no-such-image"));
    let setup = setup(&cloud, &image, 128, 30, None).await;

    let arn = setup.run("{}").await.task_arn().unwrap().to_owned();
    let (stopped, seen) = setup.until(&arn, "STOPPED").await;
    assert!(!seen.contains(&"RUNNING".to_string()), "{seen:?}");
    assert_eq!(stopped.stop_code().map(|c| c.as_str()), Some("TaskFailedToStart"));
    let reason = stopped.stopped_reason().unwrap();
    assert!(reason.starts_with("CannotPullContainerError: ") && reason.contains(&image), "{reason}");
    assert_eq!(stopped.containers()[0].exit_code(), None);
    assert!(cloud.task_containers().await.is_empty());
}

#[tokio::test]
async fn a_task_over_its_memory_is_killed_with_out_of_memory_error() {
    let Some(cloud) = own_cloud().await else {
        return;
    };
    let image = pushed_image(&cloud).await;
    // 16 MiB for the container, 64 MiB filled by the task: the kernel kills it.
    let setup = setup(&cloud, &image, 16, 30, None).await;

    let arn = setup.run(r#"{"allocate_mib": 64}"#).await.task_arn().unwrap().to_owned();
    let (stopped, _) = setup.until(&arn, "STOPPED").await;
    assert_eq!(stopped.stopped_reason(), Some("OutOfMemoryError: Container killed due to memory usage"));
    let container = &stopped.containers()[0];
    assert_eq!(container.reason(), Some("OutOfMemoryError: Container killed due to memory usage"));
    assert_eq!(container.exit_code(), Some(137), "SIGKILL");
    assert!(cloud.task_containers().await.is_empty());
}

#[tokio::test]
async fn the_aws_cli_runs_a_task_against_the_gateway() {
    let Some(cloud) = own_cloud().await else {
        return;
    };
    let Ok(version) = std::process::Command::new("aws").arg("--version").output() else {
        eprintln!("skipped: the AWS CLI is not installed");
        return;
    };
    assert!(version.status.success());
    let image = pushed_image(&cloud).await;
    let setup = setup(&cloud, &image, 128, 30, None).await;
    let overrides = serde_json::json!({"containerOverrides": [{"name": CONTAINER,
        "environment": [{"name": "TASK_INPUT", "value": "{\"name\":\"cli\"}"}]}]});
    let output = std::process::Command::new("aws")
        .args(["ecs", "run-task", "--output", "json", "--launch-type", "FARGATE"])
        .args(["--cluster", &setup.cluster, "--task-definition", &setup.task_definition])
        .args(["--overrides", &overrides.to_string()])
        .args(["--endpoint-url", cloud.endpoint_url().unwrap()])
        .env("AWS_ACCESS_KEY_ID", "test")
        .env("AWS_SECRET_ACCESS_KEY", "test")
        .env("AWS_DEFAULT_REGION", "us-east-1")
        .output()
        .unwrap();
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    let ran: Value = serde_json::from_slice(&output.stdout).unwrap();
    let arn = ran["tasks"][0]["taskArn"].as_str().unwrap_or_else(|| panic!("{ran}")).to_owned();
    let (stopped, _) = setup.until(&arn, "STOPPED").await;
    assert_eq!(stopped.containers()[0].exit_code(), Some(0));
    let lines = json_lines(&setup.log_lines(&arn).await);
    assert!(lines.iter().any(|l| l["greeting"] == "Hello, cli!"), "{lines:?}");
}
