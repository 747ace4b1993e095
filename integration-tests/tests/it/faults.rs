//! Faults survived, one test per row of the README's fault table: a registry that stops in the
//! middle of a push, moto or the gateway killed in the middle of a provision or an execution,
//! Ctrl-C during a push, a provision's wait and a followed run, two provisions of one stack at
//! once, and no Docker engine. Each test puts its fault at an exact point (a proxy in front of the
//! registry or the AWS endpoint that acts on a given request, or a signal once the CLI printed a
//! given line), then checks what the user sees, that nothing is left half-done, and that the next
//! command completes. Each test has its own local cloud (nextest runs each in its own process),
//! since most of them kill part of it.

use std::time::Duration;

use integration_tests::cli::{CliOutput, Provisioner};
use integration_tests::proxy::{Action, Fault, FaultProxy};
use integration_tests::{LocalCloud, TEST_TASK};
use localcloud::Service;
use oci_client::secrets::RegistryAuth;
use provisioner::image::push::Registry;
use provisioner::image::reference::ImageRef;
use serde_json::Value;

/// The stack and repository are named after the service (a fork has its own name).
const STACK: &str = service::SERVICE_NAME;
/// Long enough for a cold compile of the task binary on a busy CI machine.
const BUILD: Duration = Duration::from_secs(900);
const EXIT: Duration = Duration::from_secs(120);

/// The error the CLI printed (from `error:` on), so assertions read what the user reads.
fn error_of(out: &CliOutput) -> &str {
    let at = out.stderr.find("error:").unwrap_or_else(|| panic!("no error printed: {out:?}"));
    &out.stderr[at..]
}

fn sigkill(pid: u32) {
    // SAFETY: kill(2) on a PID our own local cloud recorded for the service being faulted.
    let killed = unsafe { libc::kill(pid as libc::pid_t, libc::SIGKILL) };
    assert_eq!(killed, 0, "kill -9 {pid}: {}", std::io::Error::last_os_error());
}

/// The tags the registry holds for the service's repository.
async fn tags(registry: &str) -> Vec<String> {
    let reader = Registry::new(registry, RegistryAuth::Anonymous);
    reader.tags(&ImageRef::new(registry, STACK).unwrap()).await.expect("the registry lists tags")
}

/// The digest the registry serves for `tag` (a push's `tag`, `HOST:PORT/NAME:TAG`), read from
/// `registry` (the real one, whichever address the push went through).
async fn resolves(registry: &str, tag: &str) -> String {
    let tag = ImageRef::parse(tag).unwrap().tag.expect("a tag");
    let reference = ImageRef::new(registry, STACK).unwrap().with_tag(&tag);
    Registry::new(registry, RegistryAuth::Anonymous).manifest_digest(&reference).await.expect("the tag resolves")
}

async fn wait_for_a_task_container(cloud: &LocalCloud) {
    for _ in 0..600 {
        if !cloud.task_containers().await.is_empty() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("no task container started within a minute");
}

async fn stack_status(cloud: &LocalCloud) -> Option<String> {
    let cf = aws_sdk_cloudformation::Client::new(cloud.sdk_config());
    match cf.describe_stacks().stack_name(STACK).send().await {
        Ok(out) => out.stacks().first().and_then(|s| s.stack_status()).map(|s| s.as_str().to_owned()),
        Err(err) => {
            let text = format!("{:?}", err.into_service_error());
            assert!(text.contains("does not exist"), "DescribeStacks failed: {text}");
            None
        }
    }
}

fn provisioned(out: &CliOutput) -> Value {
    out.assert_success("provision");
    out.json()
}

#[tokio::test]
async fn registry_stopped_mid_push_tags_nothing_and_the_same_push_then_completes() {
    let cloud = LocalCloud::start().await;
    // The registry dies the moment the first blob upload begins.
    let registry_pid = cloud.pid(Service::Registry);
    let proxy = FaultProxy::start(
        cloud.registry(),
        Fault {
            armed_by: None,
            on: format!("POST /v2/{STACK}/blobs/uploads/").leak(),
            action: Action::Run(Box::new(move || sigkill(registry_pid))),
        },
    )
    .await;
    let cli = Provisioner::for_cloud(&cloud);
    let args = ["push", "--builder", "oci", "--registry", &proxy.address(), "--json"];
    let failed = cli.run(&args).await;
    assert!(proxy.has_fired(), "the push reached a blob upload: {failed:?}");
    assert_eq!(failed.code, Some(1), "{failed:?}");
    let error = error_of(&failed);
    assert!(error.contains(&proxy.address()), "names the registry: {error}");
    assert!(error.contains("nothing was tagged"), "{error}");
    let resume = format!(
        "Run the same command again to resume (blobs already uploaded are skipped): provisioner {}",
        args.join(" ")
    );
    assert!(error.contains(&resume), "prints the command that resumes: {error}");

    cloud.restart();
    assert_eq!(tags(cloud.registry()).await, Vec::<String>::new(), "no tag points at a partial image");

    let pushed = cli.run(&args).await;
    pushed.assert_success("the same push, the registry back");
    let summary = pushed.json();
    assert_eq!(resolves(cloud.registry(), summary["tag"].as_str().unwrap()).await, summary["digest"].as_str().unwrap());
}

#[tokio::test]
async fn ctrl_c_during_push_tags_nothing_and_prints_the_command_that_resumes() {
    let cloud = LocalCloud::start().await;
    // The first blob's bytes never reach the registry: the push is mid-upload when Ctrl-C comes.
    let proxy = FaultProxy::start(
        cloud.registry(),
        Fault { armed_by: None, on: format!("PUT /v2/{STACK}/blobs/uploads/").leak(), action: Action::Hold },
    )
    .await;
    let cli = Provisioner::for_cloud(&cloud);
    let mut push = cli.spawn(&["push", "--builder", "oci", "--registry", &proxy.address()]).await;
    tokio::select! {
        _ = proxy.fired() => {}
        _ = tokio::time::sleep(BUILD) => panic!("the push never uploaded a blob: {}", push.stderr()),
    }
    push.wait_for_stderr("pushing", EXIT).await;
    push.interrupt();
    let out = push.finish(EXIT).await;
    assert_eq!(out.code, Some(130), "exits as a shell reports Ctrl-C: {out:?}");
    let error = error_of(&out);
    assert!(error.contains("stopped (Ctrl-C) while pushing, before the manifest: nothing was tagged"), "{error}");
    assert_eq!(tags(cloud.registry()).await, Vec::<String>::new(), "no tag points at a partial image");

    // The printed command, run as printed, completes the push.
    let resume = error.split("resume with: ").nth(1).expect("a resume command").lines().next().unwrap().trim();
    assert_eq!(resume, format!("provisioner push --builder oci --registry {}", proxy.address()));
    proxy.heal();
    let words: Vec<&str> = resume.split_whitespace().skip(1).chain(["--json"]).collect();
    let pushed = cli.run(&words).await;
    pushed.assert_success("the resumed push");
    let summary = pushed.json();
    assert_eq!(resolves(cloud.registry(), summary["tag"].as_str().unwrap()).await, summary["digest"].as_str().unwrap());
}

#[tokio::test]
async fn moto_killed_mid_provision_says_what_to_check_and_the_next_provision_completes() {
    let cloud = LocalCloud::start().await;
    let moto_pid = cloud.pid(Service::Moto);
    let endpoint = cloud.endpoint_url().unwrap().to_owned();
    // moto dies as the change set is about to execute: the gateway is left with nothing behind it.
    let proxy = FaultProxy::start(
        &endpoint,
        Fault {
            armed_by: None,
            on: "Action=ExecuteChangeSet",
            action: Action::Run(Box::new(move || sigkill(moto_pid))),
        },
    )
    .await;
    let through_proxy = Provisioner::for_cloud(&cloud).with_env("AWS_ENDPOINT_URL", &proxy.url());
    let failed = through_proxy.run(&["provision"]).await;
    assert!(proxy.has_fired(), "the provision got as far as executing its change set: {failed:?}");
    assert_eq!(failed.code, Some(1), "{failed:?}");
    let error = error_of(&failed);
    assert!(error.contains("ExecuteChangeSet"), "names the call that failed: {error}");
    assert!(error.contains("moto") && error.contains("did not answer"), "says the emulator stopped answering: {error}");
    assert!(error.contains(&format!("lost track of the operation on stack {STACK}")), "{error}");
    assert!(error.contains(&format!("provisioner status --stack-name {STACK}")), "says how to check: {error}");
    assert!(error.contains("run provision again"), "says how to resume: {error}");

    // `localcloud up` (here: the fixture's restart) brings moto back, empty: moto keeps its state
    // in memory. `status` says the stack is not there; the next provision creates it.
    cloud.restart();
    let cli = Provisioner::for_cloud(&cloud);
    let status = cli.run(&["status"]).await;
    status.assert_success("status after moto came back");
    assert!(status.stdout.contains(&format!("stack {STACK}: not deployed")), "{}", status.stdout);
    let created = provisioned(&cli.run(&["provision", "--json"]).await);
    assert_eq!(created["outcome"], "created", "{created}");
    assert_eq!(stack_status(&cloud).await.as_deref(), Some("CREATE_COMPLETE"));
}

#[tokio::test]
async fn gateway_killed_mid_execution_ends_it_failed_and_leaves_no_container() {
    let cloud = LocalCloud::start().await;
    let cli = Provisioner::for_cloud(&cloud);
    provisioned(&cli.run(&["provision", "--json", "--package", TEST_TASK]).await);

    let mut run = cli.spawn(&["run", "--follow", "--input", r#"{"name":"cut","work_seconds":600}"#]).await;
    run.wait_for_stderr("started (arn:", EXIT).await;
    wait_for_a_task_container(&cloud).await;
    let arn_line = run.stderr();
    let execution_arn = arn_line.split("started (").nth(1).and_then(|s| s.split(')').next()).unwrap().to_owned();
    cloud.kill(Service::Gateway);

    let out = run.finish(EXIT).await;
    assert_eq!(out.code, Some(1), "{out:?}");
    let error = error_of(&out);
    assert!(error.contains("lost track of execution"), "{error}");
    assert!(error.contains(&format!("provisioner status --stack-name {STACK}")), "says how to see it: {error}");
    assert!(error.contains("did not answer"), "says the endpoint stopped answering: {error}");

    // The next gateway closes the cut-off execution as FAILED and removes the task's container.
    cloud.restart();
    assert!(cloud.task_containers().await.is_empty(), "no task container keeps running");
    let sfn = aws_sdk_sfn::Client::new(cloud.sdk_config());
    let described = sfn.describe_execution().execution_arn(&execution_arn).send().await.unwrap();
    assert_eq!(described.status().as_str(), "FAILED", "not RUNNING: {described:?}");
    assert_eq!(described.error(), Some(localcloud::stepfunctions::store::CUT_OFF_ERROR));
    assert!(described.cause().is_some_and(|c| c.contains("gateway stopped while this execution ran")), "{described:?}");
    let status = cli.run(&["status", "--json"]).await;
    status.assert_success("status after the gateway came back");
    let executions = status.json()["executions"].clone();
    let listed = executions.as_array().unwrap().iter().find(|e| e["execution_arn"] == execution_arn.as_str());
    assert_eq!(listed.map(|e| e["status"].clone()), Some(Value::from("FAILED")), "{executions}");
}

#[tokio::test]
async fn ctrl_c_during_the_provision_wait_leaves_the_stack_to_cloudformation_and_says_how_to_see_it() {
    let cloud = LocalCloud::start().await;
    // Once the change set executes, the stack's progress never comes back: the CLI is waiting.
    let proxy = FaultProxy::start(
        cloud.endpoint_url().unwrap(),
        Fault { armed_by: Some("Action=ExecuteChangeSet"), on: "Action=DescribeStack", action: Action::Hold },
    )
    .await;
    let cli = Provisioner::for_cloud(&cloud).with_env("AWS_ENDPOINT_URL", &proxy.url());
    let mut provision = cli.spawn(&["provision"]).await;
    tokio::select! {
        _ = proxy.fired() => {}
        _ = tokio::time::sleep(BUILD) => panic!("the provision never waited on its stack: {}", provision.stderr()),
    }
    provision.wait_for_stderr(&format!("creating stack {STACK}"), EXIT).await;
    provision.interrupt();
    let out = provision.finish(EXIT).await;
    assert_eq!(out.code, Some(130), "{out:?}");
    let error = error_of(&out);
    assert!(error.contains("stopped waiting (Ctrl-C); the stack operation goes on in CloudFormation"), "{error}");
    assert!(error.contains(&format!("provisioner status --stack-name {STACK}")), "{error}");

    // CloudFormation finished the operation by itself; the next command sees it, and the next
    // provision is not refused by a lock left behind.
    let direct = Provisioner::for_cloud(&cloud);
    let status = direct.run(&["status", "--json"]).await;
    status.assert_success("status");
    assert_eq!(status.json()["stack"]["status"], "CREATE_COMPLETE", "{}", status.stdout);
    let again = provisioned(&direct.run(&["provision", "--json"]).await);
    assert_eq!(again["outcome"], "no-changes", "{again}");
}

#[tokio::test]
async fn ctrl_c_during_run_follow_leaves_the_execution_running_and_says_how_to_see_and_stop_it() {
    let cloud = LocalCloud::start().await;
    let cli = Provisioner::for_cloud(&cloud);
    let provision = provisioned(&cli.run(&["provision", "--json", "--package", TEST_TASK]).await);
    let cluster = provision["outputs"]["ClusterArn"].as_str().expect("the cluster's ARN").to_owned();

    let mut run = cli.spawn(&["run", "--follow", "--input", r#"{"name":"followed","work_seconds":600}"#]).await;
    run.wait_for_stderr("started (arn:", EXIT).await;
    wait_for_a_task_container(&cloud).await;
    run.interrupt();
    let out = run.finish(EXIT).await;
    assert_eq!(out.code, Some(130), "{out:?}");
    let error = error_of(&out);
    assert!(error.contains("stopped following (Ctrl-C); the execution goes on"), "{error}");
    assert!(error.contains(&format!("provisioner status --stack-name {STACK}")), "{error}");
    let execution_arn = error
        .split("--execution-arn ")
        .nth(1)
        .map(|s| s.trim().to_owned())
        .unwrap_or_else(|| panic!("the stop command names the execution: {error}"));

    // As on AWS, the execution is whole and goes on; the printed command stops it. Its task waits
    // for a token (the callback), which StopExecution does not stop on AWS (only `.sync` does), nor
    // here: it is stopped as it would be there, with ECS's StopTask, and then no container is left.
    let sfn = aws_sdk_sfn::Client::new(cloud.sdk_config());
    let described = sfn.describe_execution().execution_arn(&execution_arn).send().await.unwrap();
    assert_eq!(described.status().as_str(), "RUNNING", "{described:?}");
    assert!(!cloud.task_containers().await.is_empty(), "its task still runs");
    sfn.stop_execution().execution_arn(&execution_arn).send().await.unwrap();
    let stopped = sfn.describe_execution().execution_arn(&execution_arn).send().await.unwrap();
    assert_eq!(stopped.status().as_str(), "ABORTED");
    let ecs = aws_sdk_ecs::Client::new(cloud.sdk_config());
    let tasks = ecs.list_tasks().cluster(&cluster).send().await.unwrap();
    assert_eq!(tasks.task_arns().len(), 1, "the callback task outlives its execution: {tasks:?}");
    ecs.stop_task().cluster(&cluster).task(&tasks.task_arns()[0]).send().await.unwrap();
    for _ in 0..600 {
        if cloud.task_containers().await.is_empty() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("the stopped execution's task container is still there");
}

#[tokio::test]
async fn a_second_provision_of_the_same_stack_refuses_while_the_first_runs() {
    let cloud = LocalCloud::start().await;
    // The first provision is held just before it executes its change set: it has built, pushed
    // and planned, and holds the stack.
    let proxy = FaultProxy::start(
        cloud.endpoint_url().unwrap(),
        Fault { armed_by: None, on: "Action=ExecuteChangeSet", action: Action::Hold },
    )
    .await;
    // Both through the proxy: the same endpoint, as two terminals of one developer would be.
    let cli = Provisioner::for_cloud(&cloud).with_env("AWS_ENDPOINT_URL", &proxy.url());
    let first = cli.spawn(&["provision", "--json"]).await;
    tokio::select! {
        _ = proxy.fired() => {}
        _ = tokio::time::sleep(BUILD) => panic!("the first provision never executed: {}", first.stderr()),
    }

    let second = cli.run(&["provision", "--json"]).await;
    assert_eq!(second.code, Some(1), "{second:?}");
    let error = error_of(&second);
    assert!(
        error.contains(&format!("another `provisioner provision` of stack {STACK}"))
            && error.contains(&format!("pid {}", first.pid())),
        "names the stack and the provision that holds it: {error}"
    );
    assert!(error.contains(&format!("provisioner status --stack-name {STACK}")), "{error}");
    assert!(!second.stderr.contains("compiling"), "refused before any work: {}", second.stderr);
    let cf = aws_sdk_cloudformation::Client::new(cloud.sdk_config());
    let change_sets = cf.list_change_sets().stack_name(STACK).send().await.unwrap();
    assert_eq!(change_sets.summaries().len(), 1, "only the first's change set: {change_sets:?}");
    let firsts = change_sets.summaries()[0].change_set_name().unwrap().to_owned();

    proxy.heal();
    let first = first.finish(EXIT).await;
    let created = provisioned(&first);
    assert_eq!(created["outcome"], "created", "{created}");
    // (AWS removes an executed change set; moto keeps it. Either way, none is the second's.)
    let change_sets = cf.list_change_sets().stack_name(STACK).send().await.unwrap();
    let names: Vec<_> = change_sets.summaries().iter().filter_map(|c| c.change_set_name()).collect();
    assert!(names.iter().all(|n| *n == firsts), "none left by the second: {names:?}");
}

#[tokio::test]
async fn no_docker_engine_fails_a_docker_build_before_compiling() {
    let cli = Provisioner::without_cloud().with_env("DOCKER_HOST", "unix:///nonexistent/docker.sock");
    let out = cli.run(&["build", "--builder", "docker"]).await;
    assert_eq!(out.code, Some(1), "{out:?}");
    let error = error_of(&out);
    assert!(error.contains("Docker engine") && error.contains("--builder oci"), "says what and what to do: {error}");
    assert!(error.contains("/nonexistent/docker.sock"), "names where it looked: {error}");
    assert!(!out.stderr.contains("compiling"), "nothing was compiled: {}", out.stderr);
}
