//! A new service from this one (`provisioner fork`, `just fork NAME DIR`), proven by running it:
//! the fork differs from the original only where the service is named, builds, passes its unit
//! tests and renders a template that names no resource of the original; and on one local cloud
//! the original and the fork are deployed, run and deleted side by side, each task's logs in its
//! own log group.
//!
//! Both tests use one fork in target/fork-tests/ and take turns (a lock held for the whole test),
//! so the fork's crates are compiled once. The fork's debug builds use their own target directory
//! (its binaries have the original's names) and this workspace's build directory, so the registry
//! crates the original compiled are not compiled again. Cargo names a workspace member's build by
//! its package name and its path relative to the workspace. A fork names the service's package
//! after itself and the model's `NAME-model`; every other member builds on the model, so none of
//! the fork's builds is ever taken for the original's, and an edit to the fork's runtime stays the
//! fork's. The fork's release
//! build of the task binary (`provision`) keeps to its own target directory.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::Output;

use integration_tests::LocalCloud;
use integration_tests::cli::{CliOutput, Provisioner, provisioner_binary, target_dir};
use serde_json::Value;

const ORIGINAL: &str = service::SERVICE_NAME;
const FORK: &str = "thumbnailer";
const FORK_CPU: &str = "512";
const FORK_MEMORY: &str = "1024";
const FORK_DESCRIPTION: &str = "Makes \"thumbnails\" of the images it is given";

/// The files a fork changes; every other file is the original's, byte for byte.
const CHANGED: [&str; 12] = [
    "Cargo.lock",
    "Cargo.toml",
    "README.md",
    "model/Cargo.toml",
    "provisioner/tests/snapshots/state_machine.json",
    "provisioner/tests/snapshots/template.json",
    "service/Cargo.toml",
    "service/src/description.rs",
    "service/src/lib.rs",
    "service/src/main.rs",
    "service/tests/binary.rs",
    "service/tests/without_feature.rs",
];

fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap().to_owned()
}

fn text(out: &Output) -> String {
    format!("stdout:\n{}\nstderr:\n{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr))
}

/// A failed cargo run as a report that starts with what matters: the lines that say why (a
/// linker's own words sit among thousands of characters of its command line), the disk and the
/// memory left, then everything it printed.
fn cargo_failure(out: &Output) -> String {
    let stderr = String::from_utf8_lossy(&out.stderr);
    let telling = ["error", "ld:", "collect2", "No space", "Killed", "signal", "memory", "Bus error"];
    let why: Vec<String> = stderr
        .lines()
        .filter(|line| !line.trim_start().starts_with("= note: \"cc\"") && !line.contains("\"-Wl,"))
        .filter(|line| telling.iter().any(|t| line.contains(t)))
        .map(|line| line.chars().take(300).collect())
        .collect();
    let machine = |program: &str, args: &[&str]| {
        std::process::Command::new(program)
            .args(args)
            .output()
            .map(|o| String::from_utf8_lossy(&o.stdout).into_owned())
            .unwrap_or_else(|e| format!("{program}: {e}"))
    };
    let target = target_dir();
    format!(
        "why:\n{}\ndisk:\n{}memory:\n{}{}",
        why.join("\n"),
        machine("df", &["-h", target.to_str().unwrap_or(".")]),
        machine("free", &["-m"]),
        text(out)
    )
}

struct Fork {
    dir: PathBuf,
    /// The fork's own target directory: what its builds produce.
    target: PathBuf,
    _turn: std::fs::File,
}

impl Fork {
    /// Generates the fork afresh with this workspace's `provisioner fork`, once it is this test's turn.
    async fn generate() -> Fork {
        let base = target_dir().join("fork-tests");
        std::fs::create_dir_all(&base).unwrap();
        let turn = std::fs::File::create(base.join(".lock")).unwrap();
        let turn = tokio::task::spawn_blocking(move || turn.lock().map(|()| turn)).await.unwrap().unwrap();
        let dir = base.join(FORK);
        if dir.exists() {
            std::fs::remove_dir_all(&dir).unwrap();
        }
        let out = tokio::process::Command::new(provisioner_binary().await)
            .args(["fork", FORK, dir.to_str().unwrap(), "--cpu", FORK_CPU, "--memory", FORK_MEMORY])
            .args(["--description", FORK_DESCRIPTION])
            .current_dir(workspace())
            .output()
            .await
            .unwrap();
        assert!(out.status.success(), "provisioner fork failed\n{}", text(&out));
        assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), dir.to_str().unwrap(), "{}", text(&out));
        // What tools/setup would install in the fork (cfn-lint and checkov for its template tests): the original's.
        for venv in [".venv", ".venv-checkov"] {
            std::os::unix::fs::symlink(workspace().join(venv), dir.join(venv)).unwrap();
        }
        Fork { dir, target: base.join("target"), _turn: turn }
    }

    /// cargo in the fork, for a debug build: its own target directory and this workspace's build
    /// directory, where the fork's crates get builds of their own by their names (see the top).
    async fn cargo(&self, args: &[&str]) -> Output {
        tokio::process::Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()))
            .args(args)
            .current_dir(&self.dir)
            .env("CARGO_TARGET_DIR", &self.target)
            .env("CARGO_BUILD_BUILD_DIR", target_dir())
            .output()
            .await
            .unwrap()
    }

    async fn build_provisioner(&self) -> PathBuf {
        let out = self.cargo(&["build", "--locked", "-p", "provisioner", "--bin", "provisioner"]).await;
        assert!(out.status.success(), "building the fork's provisioner failed\n{}", cargo_failure(&out));
        self.target.join("debug/provisioner")
    }
}

/// Every string in a JSON document.
fn strings(value: &Value, out: &mut BTreeSet<String>) {
    match value {
        Value::String(s) => {
            out.insert(s.clone());
        }
        Value::Array(items) => items.iter().for_each(|v| strings(v, out)),
        Value::Object(map) => map.values().for_each(|v| strings(v, out)),
        _ => {}
    }
}

async fn template(binary: &Path, dir: &Path) -> Value {
    let out = tokio::process::Command::new(binary).arg("template").current_dir(dir).output().await.unwrap();
    assert!(out.status.success(), "{} template failed\n{}", binary.display(), text(&out));
    serde_json::from_slice(&out.stdout).unwrap()
}

fn tracked_files(dir: &Path) -> Vec<String> {
    let out = std::process::Command::new("git")
        .args(["ls-files", "--cached", "--others", "--exclude-standard"])
        .current_dir(dir)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", text(&out));
    String::from_utf8(out.stdout).unwrap().lines().filter(|f| dir.join(f).exists()).map(str::to_owned).collect()
}

#[tokio::test]
async fn a_fork_differs_only_in_its_names_builds_passes_its_unit_tests_and_names_no_resource_of_the_original() {
    let fork = Fork::generate().await;
    let original = workspace();

    // Only the files that name the service differ, and none of them names the original any more.
    let mut changed = Vec::new();
    for file in tracked_files(&original) {
        let theirs = std::fs::read(fork.dir.join(&file)).unwrap_or_else(|e| panic!("{file} is not in the fork: {e}"));
        if theirs != std::fs::read(original.join(&file)).unwrap() {
            changed.push(file);
        }
    }
    changed.sort();
    assert_eq!(changed, CHANGED, "the files the fork changed");
    for file in CHANGED {
        let content = std::fs::read_to_string(fork.dir.join(file)).unwrap();
        assert!(!content.contains(ORIGINAL), "{file} still names {ORIGINAL}:\n{content}");
    }
    let read = |file: &str| std::fs::read_to_string(fork.dir.join(file)).unwrap();
    assert!(read("service/src/lib.rs").contains(&format!("pub const SERVICE_NAME: &str = \"{FORK}\";")));
    assert!(read("service/Cargo.toml").contains(&format!("[[bin]]\nname = \"{FORK}\"")));
    // Crates of its own: the service's package is named after the fork, in the manifests and the lock.
    assert!(read("service/Cargo.toml").contains(&format!(
        "[package]\n# Named after the service, as the binary is: `provisioner fork` renames both.\nname = \"{FORK}\""
    )));
    assert!(read("Cargo.toml").contains(&format!("package = \"{FORK}\"")));
    assert!(read("Cargo.lock").contains(&format!("[[package]]\nname = \"{FORK}\"\nversion")));
    // And the model's, on which every other member builds, so no build of the fork's is the original's.
    assert!(read("model/Cargo.toml").contains(&format!("[package]\nname = \"{FORK}-model\"")));
    assert!(read("Cargo.toml").contains(&format!("model = {{ package = \"{FORK}-model\", path = \"model\" }}")));
    assert!(read("Cargo.lock").contains(&format!("[[package]]\nname = \"{FORK}-model\"\nversion")));
    assert!(read("service/Cargo.toml").contains(r#"description = "Makes \"thumbnails\" of the images it is given""#));
    assert!(read("service/src/description.rs").contains(&format!("pub const CPU: u32 = {FORK_CPU};")));
    assert!(read("service/src/description.rs").contains(&format!("pub const MEMORY_MIB: u32 = {FORK_MEMORY};")));
    assert!(read("README.md").starts_with(&format!("# {FORK}\n")));
    assert!(fork.dir.join(".git").is_dir(), "the fork is a git repository of its own");

    // It builds, and its unit tests pass, with and without the task subcommand.
    let out =
        fork.cargo(&["test", "--no-fail-fast", "--locked", "-p", FORK, "-p", "provisioner", "--all-features"]).await;
    assert!(out.status.success(), "the fork's tests failed\n{}", cargo_failure(&out));
    let passed = String::from_utf8_lossy(&out.stdout).matches("test result: ok.").count();
    assert!(passed >= 10, "the fork's test targets ran ({passed})\n{}", text(&out));
    let out = fork.cargo(&["test", "--locked", "-p", FORK]).await;
    assert!(out.status.success(), "the fork's service tests without lambdabinary failed\n{}", text(&out));
    let out = fork.cargo(&["run", "-q", "--locked", "-p", FORK, "--", "--help"]).await;
    assert!(String::from_utf8_lossy(&out.stdout).contains(FORK_DESCRIPTION), "{}", text(&out));

    // Its template has the original's shape and names none of the original's resources.
    let ours = template(&provisioner_binary().await, &original).await;
    let theirs = template(&fork.build_provisioner().await, &fork.dir).await;
    let logical_ids = |t: &Value| t["Resources"].as_object().unwrap().keys().cloned().collect::<Vec<_>>();
    assert_eq!(logical_ids(&ours), logical_ids(&theirs), "the same resources");
    let text = theirs.to_string();
    assert!(!text.contains(ORIGINAL), "the fork's template names {ORIGINAL}: {text}");
    let (mut our_strings, mut their_strings) = (BTreeSet::new(), BTreeSet::new());
    strings(&ours, &mut our_strings);
    strings(&theirs, &mut their_strings);
    let named: Vec<&String> = our_strings.iter().filter(|s| s.contains(ORIGINAL)).collect();
    assert!(named.len() >= 15, "the original's names: {named:?}");
    for name in named {
        assert!(!their_strings.contains(name), "the fork's template holds the original's {name:?}");
    }
    let resource = |logical_id: &str, property: &str| theirs["Resources"][logical_id]["Properties"][property].clone();
    assert_eq!(resource("Cluster", "ClusterName"), FORK);
    assert_eq!(resource("TaskLogGroup", "LogGroupName"), format!("/ecs/{FORK}"));
    assert_eq!(resource("NotificationTopic", "TopicName"), format!("{FORK}-notifications"));
    assert_eq!(resource("StateMachine", "StateMachineName"), format!("{FORK}-workflow"));
    assert_eq!(resource("TaskDefinition", "Family"), FORK);
    assert_eq!(
        (resource("TaskDefinition", "Cpu"), resource("TaskDefinition", "Memory")),
        (FORK_CPU.into(), FORK_MEMORY.into())
    );
    let options = &resource("TaskDefinition", "ContainerDefinitions")[0]["LogConfiguration"]["Options"];
    assert_eq!(options["awslogs-stream-prefix"], FORK);
}

fn summary(out: &CliOutput, what: &str) -> Value {
    out.assert_success(what);
    out.json()
}

/// The log streams of a group, by name.
async fn streams(logs: &aws_sdk_cloudwatchlogs::Client, group: &str) -> Vec<String> {
    let out = logs.describe_log_streams().log_group_name(group).send().await.unwrap();
    out.log_streams().iter().filter_map(|s| s.log_stream_name()).map(str::to_owned).collect()
}

async fn messages(logs: &aws_sdk_cloudwatchlogs::Client, group: &str, stream: &str) -> Vec<String> {
    let out = logs.get_log_events().log_group_name(group).log_stream_name(stream).start_from_head(true).send().await;
    let out = out.unwrap_or_else(|e| panic!("GetLogEvents {group} {stream}: {e:?}"));
    out.events().iter().filter_map(|e| e.message()).map(str::to_owned).collect()
}

#[tokio::test]
async fn the_original_and_its_fork_deploy_run_and_delete_side_by_side_on_one_local_cloud() {
    let fork = Fork::generate().await;
    let fork_binary = fork.build_provisioner().await;
    let cloud = LocalCloud::start().await;
    let config = cloud.sdk_config();
    let original = Provisioner::for_cloud(&cloud);
    // The fork's task binary is built in release mode in its own target directory alone.
    let forked = Provisioner::for_cloud(&cloud)
        .with_env("CARGO_TARGET_DIR", fork.target.to_str().unwrap())
        .in_workspace(fork_binary, fork.dir.clone());

    // Both deployed at once: no name, export or repository collides.
    let (ours, theirs) = tokio::join!(original.run(&["provision", "--json"]), forked.run(&["provision", "--json"]));
    let (ours, theirs) = (summary(&ours, "provision (original)"), summary(&theirs, "provision (fork)"));
    assert_eq!(ours["outcome"], "created", "{ours}");
    assert_eq!(theirs["outcome"], "created", "{theirs}");
    let output = |s: &Value, key: &str| s["outputs"][key].as_str().unwrap_or_else(|| panic!("{key} in {s}")).to_owned();
    for key in ["ClusterArn", "TaskDefinitionArn", "StateMachineArn", "TopicArn", "LogGroupName", "ContainerName"] {
        assert_ne!(output(&ours, key), output(&theirs, key), "{key}");
    }
    assert_eq!(output(&ours, "LogGroupName"), format!("/ecs/{ORIGINAL}"));
    assert_eq!(output(&theirs, "LogGroupName"), format!("/ecs/{FORK}"));
    assert!(output(&theirs, "TopicArn").ends_with(&format!(":{FORK}-notifications")));
    assert!(theirs["image_uri"].as_str().unwrap().starts_with(&format!("{}/{FORK}@sha256:", cloud.registry())));
    let cf = aws_sdk_cloudformation::Client::new(config);
    let exports = cf.list_exports().send().await.unwrap();
    let exports: BTreeSet<&str> = exports.exports().iter().filter_map(|e| e.name()).collect();
    for stack in [ORIGINAL, FORK] {
        assert!(exports.contains(format!("{stack}-StateMachineArn").as_str()), "{exports:?}");
    }

    // Both workflows run at once, each its own task.
    let input = |name: &str| format!(r#"{{"name":"{name}","text":"one two three four"}}"#);
    let (our_input, their_input) = (input("original"), input("fork"));
    let our_args = ["run", "--follow", "--json", "--input", our_input.as_str()];
    let their_args = ["run", "--follow", "--json", "--input", their_input.as_str()];
    let (our_run, their_run) = tokio::join!(original.run(&our_args), forked.run(&their_args));
    let runs =
        [(ORIGINAL, summary(&our_run, "run (original)"), ours), (FORK, summary(&their_run, "run (fork)"), theirs)];

    // Each task's logs are in its own log group, under its own stream prefix, and only there.
    let logs = aws_sdk_cloudwatchlogs::Client::new(config);
    let mut tasks = BTreeMap::new();
    for (service, run, provisioned) in &runs {
        assert_eq!(run["status"], "SUCCEEDED", "{service}: {run}");
        let execution = run["execution_arn"].as_str().unwrap();
        assert!(execution.contains(&format!(":execution:{service}-workflow:")), "{service}'s own state machine: {run}");
        let task_arn = run["task_arn"].as_str().unwrap().to_owned();
        let task_id = task_arn.rsplit('/').next().unwrap().to_owned();
        let group = output(provisioned, "LogGroupName");
        let stream = format!("{service}/{service}/{task_id}");
        assert_eq!(
            streams(&logs, &group).await,
            std::slice::from_ref(&stream),
            "{service}'s log group holds its one task"
        );
        let lines = messages(&logs, &group, &stream).await;
        let result =
            lines.iter().find_map(|l| serde_json::from_str::<Value>(l).ok().filter(|v| v.get("greeting").is_some()));
        let result = result.unwrap_or_else(|| panic!("no result line in {group}: {lines:?}"));
        assert_eq!(result["service"], *service, "{result}");
        let name = if *service == ORIGINAL { "original" } else { "fork" };
        assert_eq!(result["greeting"], format!("Hello, {name}!"), "{result}");
        tasks.insert(*service, task_id);
    }
    assert_ne!(tasks[ORIGINAL], tasks[FORK]);

    // Both deleted at once; nothing of either is left.
    let (ours, theirs) = tokio::join!(original.run(&["delete", "--yes"]), forked.run(&["delete", "--yes"]));
    ours.assert_success("delete (original)");
    theirs.assert_success("delete (fork)");
    for stack in [ORIGINAL, FORK] {
        assert!(cf.describe_stacks().stack_name(stack).send().await.is_err(), "{stack} is gone");
    }
    let sfn = aws_sdk_sfn::Client::new(config);
    assert!(sfn.list_state_machines().send().await.unwrap().state_machines().is_empty(), "no state machine is left");
    let sns = aws_sdk_sns::Client::new(config);
    assert!(sns.list_topics().send().await.unwrap().topics().is_empty(), "no topic is left");
}
