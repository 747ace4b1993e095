//! `provisioner provision | status | delete` against the local cloud, as a user runs them: the
//! stack converges through change sets, reads back right through the AWS APIs (outputs, the task
//! definition's size, network mode, compatibilities and roles, the state machine's task definition),
//! changes nothing when nothing changed, follows a new image, shows a dry run without touching the
//! stack, fails naming the broken resource and recovers on the next run, and deletes to the last
//! resource. Each test has its own local cloud (nextest runs each test in its own process).

use std::path::PathBuf;

use integration_tests::LocalCloud;
use integration_tests::cli::{CliOutput, Provisioner};
use serde_json::Value;

const STACK: &str = service::SERVICE_NAME;

/// The task size the service's description sets, as ECS reads it back.
static CPU: std::sync::LazyLock<String> = std::sync::LazyLock::new(|| service::description::CPU.to_string());
static MEMORY: std::sync::LazyLock<String> = std::sync::LazyLock::new(|| service::description::MEMORY_MIB.to_string());

fn summary(out: &CliOutput) -> Value {
    out.assert_success("provision");
    out.json()
}

/// A CA bundle that differs from the system's by one comment line: a new image (new digest) from
/// the same binary, the way a new build gives one.
fn changed_ca_bundle(dir: &str) -> PathBuf {
    let mut bundle = std::fs::read(provisioner::image::inputs::DEFAULT_CA_CERTIFICATES).expect("the CA bundle");
    bundle.extend_from_slice(format!("# {dir}\n").as_bytes());
    let path = std::env::temp_dir().join(format!("{dir}-{}.crt", std::process::id()));
    std::fs::write(&path, bundle).unwrap();
    path
}

async fn stack_status(cf: &aws_sdk_cloudformation::Client, name: &str) -> Option<String> {
    match cf.describe_stacks().stack_name(name).send().await {
        Ok(out) => out.stacks().first().and_then(|s| s.stack_status()).map(|s| s.as_str().to_owned()),
        Err(err) => {
            let text = format!("{:?}", err.into_service_error());
            assert!(text.contains("does not exist"), "DescribeStacks failed: {text}");
            None
        }
    }
}

async fn outputs(cf: &aws_sdk_cloudformation::Client, name: &str) -> serde_json::Map<String, Value> {
    let out = cf.describe_stacks().stack_name(name).send().await.expect("DescribeStacks");
    out.stacks()[0]
        .outputs()
        .iter()
        .map(|o| (o.output_key().unwrap().to_owned(), Value::from(o.output_value().unwrap())))
        .collect()
}

#[tokio::test]
async fn provision_converges_follows_a_new_image_and_delete_leaves_nothing() {
    let cloud = LocalCloud::start().await;
    let cli = Provisioner::for_cloud(&cloud);
    let config = cloud.sdk_config();
    let cf = aws_sdk_cloudformation::Client::new(config);
    let ecs = aws_sdk_ecs::Client::new(config);
    let sfn = aws_sdk_sfn::Client::new(config);

    // A dry run of a new stack shows the plan and leaves no stack behind.
    let dry = cli.run(&["provision", "--dry-run"]).await;
    dry.assert_success("provision --dry-run");
    assert!(dry.stderr.contains("+ Add     TaskDefinition (AWS::ECS::TaskDefinition)"), "{}", dry.stderr);
    assert!(
        dry.stderr.lines().next().is_some_and(|l| l.contains(&format!("provisioning stack {STACK} in account"))),
        "{}",
        dry.stderr
    );
    assert_eq!(stack_status(&cf, STACK).await, None, "a dry run creates no stack");

    // First provision: created, outputs as the API reads them.
    let created = summary(&cli.run(&["provision", "--json", "--tag", "team=media"]).await);
    assert_eq!(created["outcome"], "created", "{created}");
    let image = created["image_uri"].as_str().unwrap().to_owned();
    assert!(image.starts_with(&format!("{}/{STACK}@sha256:", cloud.registry())), "{image}");
    let read_back = outputs(&cf, STACK).await;
    assert_eq!(Value::Object(read_back.clone()), created["outputs"], "outputs read back through DescribeStacks");
    for key in ["StateMachineArn", "TaskDefinitionArn", "ClusterArn", "TopicArn", "LogGroupName", "VpcId"] {
        assert!(
            read_back.get(key).and_then(Value::as_str).is_some_and(|v| !v.is_empty()),
            "output {key}: {read_back:?}"
        );
    }
    let stack = cf.describe_stacks().stack_name(STACK).send().await.unwrap();
    let tags: Vec<(String, String)> =
        stack.stacks()[0].tags().iter().map(|t| (t.key().unwrap().to_owned(), t.value().unwrap().to_owned())).collect();
    for wanted in [("service", STACK), ("team", "media")] {
        assert!(tags.iter().any(|(k, v)| k == wanted.0 && v == wanted.1), "tag {wanted:?} in {tags:?}");
    }
    assert!(tags.iter().any(|(k, _)| k == "build-id"), "{tags:?}");

    // The task definition is the template's: size, network mode, compatibilities, both roles.
    let task_definition_arn = read_back["TaskDefinitionArn"].as_str().unwrap().to_owned();
    let td = ecs.describe_task_definition().task_definition(&task_definition_arn).send().await.unwrap();
    let td = td.task_definition().unwrap();
    assert_eq!(td.cpu(), Some(CPU.as_str()));
    assert_eq!(td.memory(), Some(MEMORY.as_str()));
    assert_eq!(td.network_mode().map(|m| m.as_str()), Some("awsvpc"));
    assert_eq!(td.requires_compatibilities().iter().map(|c| c.as_str()).collect::<Vec<_>>(), ["FARGATE"]);
    let resources = physical_ids(&cf).await;
    let execution_role = td.execution_role_arn().expect("executionRoleArn");
    let task_role = td.task_role_arn().expect("taskRoleArn");
    assert!(execution_role.ends_with(&format!("/{}", resources["TaskExecutionRole"])), "{execution_role}");
    assert!(task_role.ends_with(&format!("/{}", resources["TaskRole"])), "{task_role}");
    assert_ne!(execution_role, task_role);
    assert_eq!(td.container_definitions()[0].image(), Some(image.as_str()));

    // Nothing changed: no changes, nothing touched.
    let again = summary(&cli.run(&["provision", "--json"]).await);
    assert_eq!(again["outcome"], "no-changes", "{again}");
    assert_eq!(again["image_uri"], created["image_uri"]);
    assert_eq!(outputs(&cf, STACK).await["TaskDefinitionArn"], read_back["TaskDefinitionArn"]);
    // The no-op's change set (FAILED, "didn't contain changes") is removed. (AWS also removes the
    // executed ones; moto keeps them, which is not what this checks.)
    let change_sets = cf.list_change_sets().stack_name(STACK).send().await.unwrap();
    let failed: Vec<_> =
        change_sets.summaries().iter().filter(|c| c.status().is_some_and(|s| s.as_str() == "FAILED")).collect();
    assert!(failed.is_empty(), "the empty change set is removed: {failed:?}");

    // A new image: a new digest, a new revision, and the state machine runs it.
    let bundle = changed_ca_bundle("provision-new-image");
    let bundle_arg = bundle.to_string_lossy().into_owned();
    let dry = cli.run(&["provision", "--dry-run", "--ca-certificates", &bundle_arg]).await;
    dry.assert_success("provision --dry-run with a new image");
    assert!(dry.stderr.contains("~ Modify  TaskDefinition (AWS::ECS::TaskDefinition), replaced"), "{}", dry.stderr);
    assert_eq!(
        outputs(&cf, STACK).await["TaskDefinitionArn"],
        read_back["TaskDefinitionArn"],
        "a dry run changes nothing"
    );

    let updated = summary(&cli.run(&["provision", "--json", "--ca-certificates", &bundle_arg]).await);
    assert_eq!(updated["outcome"], "updated", "{updated}");
    let new_image = updated["image_uri"].as_str().unwrap();
    assert_ne!(new_image, image, "a new digest");
    let new_td_arn = outputs(&cf, STACK).await["TaskDefinitionArn"].as_str().unwrap().to_owned();
    assert_ne!(new_td_arn, task_definition_arn, "a new task definition revision");
    let new_td = ecs.describe_task_definition().task_definition(&new_td_arn).send().await.unwrap();
    let new_td = new_td.task_definition().unwrap();
    assert_eq!(new_td.revision(), td.revision() + 1);
    assert_eq!(new_td.container_definitions()[0].image(), Some(new_image));
    assert_eq!(new_td.container_definitions()[0].name(), Some(STACK));
    assert_eq!(new_td.cpu(), Some(CPU.as_str()));
    let machine = sfn
        .describe_state_machine()
        .state_machine_arn(read_back["StateMachineArn"].as_str().unwrap())
        .send()
        .await
        .unwrap();
    assert!(
        machine.definition().contains(&new_td_arn),
        "the state machine runs {new_td_arn}: {}",
        machine.definition()
    );
    let _ = std::fs::remove_file(bundle);

    // status reads it all back.
    let status = cli.run(&["status", "--json"]).await;
    status.assert_success("status");
    let status = status.json();
    assert_eq!(status["stack"]["status"], "UPDATE_COMPLETE", "{status}");
    assert_eq!(status["task_definition"]["image"], new_image);

    // Delete leaves nothing of the stack behind.
    let deleted = cli.run(&["delete", "--yes"]).await;
    deleted.assert_success("delete");
    assert_eq!(stack_status(&cf, STACK).await, None);
    assert_nothing_left(&cloud, &resources, &read_back).await;
    let again = cli.run(&["delete", "--yes"]).await;
    again.assert_success("delete of a stack that does not exist");
    assert!(again.stderr.contains("does not exist"), "{}", again.stderr);
}

async fn physical_ids(cf: &aws_sdk_cloudformation::Client) -> std::collections::BTreeMap<String, String> {
    let out = cf.describe_stack_resources().stack_name(STACK).send().await.unwrap();
    out.stack_resources()
        .iter()
        .map(|r| (r.logical_resource_id().unwrap().to_owned(), r.physical_resource_id().unwrap_or_default().to_owned()))
        .collect()
}

/// Every resource the stack had is gone, asked of each service's own API.
async fn assert_nothing_left(
    cloud: &LocalCloud,
    resources: &std::collections::BTreeMap<String, String>,
    outputs: &serde_json::Map<String, Value>,
) {
    let config = cloud.sdk_config();
    let ec2 = aws_sdk_ec2::Client::new(config);
    let vpcs = ec2.describe_vpcs().send().await.unwrap();
    assert!(
        !vpcs.vpcs().iter().any(|v| v.vpc_id() == Some(resources["Vpc"].as_str())),
        "VPC {} left",
        resources["Vpc"]
    );
    let subnets = ec2.describe_subnets().send().await.unwrap();
    for subnet in ["PublicSubnet1", "PublicSubnet2"] {
        assert!(!subnets.subnets().iter().any(|s| s.subnet_id() == Some(resources[subnet].as_str())), "{subnet} left");
    }
    let groups = ec2.describe_security_groups().send().await.unwrap();
    assert!(
        !groups.security_groups().iter().any(|g| g.group_id() == Some(resources["TaskSecurityGroup"].as_str())),
        "security group left"
    );
    let gateways = ec2.describe_internet_gateways().send().await.unwrap();
    assert!(
        !gateways
            .internet_gateways()
            .iter()
            .any(|g| g.internet_gateway_id() == Some(resources["InternetGateway"].as_str())),
        "internet gateway left"
    );

    let ecs = aws_sdk_ecs::Client::new(config);
    let clusters = ecs.describe_clusters().clusters(outputs["ClusterArn"].as_str().unwrap()).send().await.unwrap();
    assert!(
        clusters.clusters().iter().all(|c| c.status() == Some("INACTIVE")),
        "cluster left: {:?}",
        clusters.clusters()
    );
    let active = ecs.list_task_definitions().family_prefix(STACK).send().await.unwrap();
    assert!(
        active.task_definition_arns().is_empty(),
        "active task definitions left: {:?}",
        active.task_definition_arns()
    );

    let iam = aws_sdk_iam::Client::new(config);
    for role in ["TaskExecutionRole", "TaskRole", "StateMachineRole"] {
        assert!(iam.get_role().role_name(&resources[role]).send().await.is_err(), "IAM role {role} left");
    }
    let sns = aws_sdk_sns::Client::new(config);
    let topics = sns.list_topics().send().await.unwrap();
    assert!(
        !topics.topics().iter().any(|t| t.topic_arn() == outputs["TopicArn"].as_str()),
        "topic left: {:?}",
        topics.topics()
    );
    let logs = aws_sdk_cloudwatchlogs::Client::new(config);
    let groups = logs
        .describe_log_groups()
        .log_group_name_prefix(outputs["LogGroupName"].as_str().unwrap())
        .send()
        .await
        .unwrap();
    assert!(groups.log_groups().is_empty(), "log group left");
    let sfn = aws_sdk_sfn::Client::new(config);
    // The local cloud may be shared with other suites' tests: only this stack's machine counts.
    let machines = sfn.list_state_machines().send().await.unwrap();
    let ours: Vec<_> = machines.state_machines().iter().filter(|m| m.name().starts_with(STACK)).collect();
    assert!(ours.is_empty(), "state machine left: {ours:?}");
}

#[tokio::test]
async fn a_broken_resource_fails_the_provision_by_name_and_the_next_provision_recovers() {
    let cloud = LocalCloud::start().await;
    let cli = Provisioner::for_cloud(&cloud);
    let cf = aws_sdk_cloudformation::Client::new(cloud.sdk_config());
    let fragment = std::env::temp_dir().join(format!("broken-fragment-{}.json", std::process::id()));
    std::fs::write(
        &fragment,
        r#"{"Resources": {"BrokenWidget": {"Type": "AWS::Widget::Thing", "Properties": {"Size": 3}}}}"#,
    )
    .unwrap();

    let failed = cli.run(&["provision", "--merge", fragment.to_str().unwrap()]).await;
    assert_eq!(failed.code, Some(1), "{failed:?}");
    // The error is the last thing printed; the event lines before it may show the cancellations.
    let error = &failed.stderr[failed.stderr.find("error:").expect("an error line")..];
    assert!(error.contains("ROLLBACK_COMPLETE"), "{}", failed.stderr);
    assert!(
        error.contains("BrokenWidget (AWS::Widget::Thing)") && error.contains("AWS::Widget::Thing"),
        "{}",
        failed.stderr
    );
    assert!(!error.contains("cancelled"), "the cause, not the cancellations: {}", failed.stderr);
    assert_eq!(stack_status(&cf, STACK).await.as_deref(), Some("ROLLBACK_COMPLETE"));

    let recovered = cli.run(&["provision"]).await;
    recovered.assert_success("the provision after a failed create");
    assert!(recovered.stderr.contains("ROLLBACK_COMPLETE after a failed first create"), "{}", recovered.stderr);
    assert_eq!(stack_status(&cf, STACK).await.as_deref(), Some("CREATE_COMPLETE"));
    let _ = std::fs::remove_file(fragment);
}

#[tokio::test]
async fn a_template_over_the_inline_limit_needs_a_bucket_and_goes_through_s3() {
    let cloud = LocalCloud::start().await;
    let cli = Provisioner::for_cloud(&cloud);
    let cf = aws_sdk_cloudformation::Client::new(cloud.sdk_config());
    let fragment = std::env::temp_dir().join(format!("large-fragment-{}.json", std::process::id()));
    let padding = "x".repeat(60_000);
    std::fs::write(
        &fragment,
        format!(r#"{{"Resources": {{"PaddedTopic": {{"Type": "AWS::SNS::Topic", "Metadata": {{"Padding": "{padding}"}}}}}}}}"#),
    )
    .unwrap();
    let merge = fragment.to_str().unwrap();

    let refused = cli.run(&["provision", "--merge", merge]).await;
    assert_eq!(refused.code, Some(1), "{refused:?}");
    assert!(refused.stderr.contains("--s3-bucket") && refused.stderr.contains("51200"), "{}", refused.stderr);
    assert!(!refused.stderr.contains("compiling"), "refused before any build: {}", refused.stderr);

    let missing = cli.run(&["provision", "--merge", merge, "--s3-bucket", "no-such-bucket-here"]).await;
    assert_eq!(missing.code, Some(1), "{missing:?}");
    assert!(missing.stderr.contains("\"no-such-bucket-here\""), "{}", missing.stderr);
    assert_eq!(stack_status(&cf, STACK).await, None, "nothing created");

    let s3 = aws_sdk_s3::Client::from_conf(
        aws_sdk_s3::config::Builder::from(cloud.sdk_config()).force_path_style(true).build(),
    );
    s3.create_bucket().bucket("templates").send().await.unwrap();
    let created = cli.run(&["provision", "--merge", merge, "--s3-bucket", "templates", "--json"]).await;
    assert_eq!(summary(&created)["outcome"], "created");
    let objects = s3.list_objects_v2().bucket("templates").send().await.unwrap();
    let keys: Vec<&str> = objects.contents().iter().filter_map(|o| o.key()).collect();
    assert!(keys.len() == 1 && keys[0].starts_with(&format!("{STACK}/")) && keys[0].ends_with(".json"), "{keys:?}");
    let _ = std::fs::remove_file(fragment);
}
