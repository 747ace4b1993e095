//! Load on one local cloud, with the stack deployed by the CLI as a user deploys it: fifty
//! executions of the workflow started at once through the SDK. Every one ends SUCCEEDED, its task
//! has a log stream of its own with every line the task printed, the SNS topic's notifications
//! reach a subscribed SQS queue exactly once per execution, the local Fargate never has more task
//! containers than its bound (the others wait in PROVISIONING), and once the load is over what the
//! gateway holds is back at its idle level but for the few KiB it keeps of each execution (as AWS
//! keeps them), and a second round adds no more than that. A second test pins the queue itself: a
//! task beyond the bound stays PROVISIONING until capacity frees, and StopTask takes it out of the
//! queue.
//!
//! Each test process starts its own local cloud with `LOCALCLOUD_MAX_TASKS` set. An external
//! endpoint is skipped: only our gateway runs executions and their tasks here. Figures (throughput,
//! peak memory) are `just bench`'s; nothing here is timed.

use std::collections::{BTreeMap, HashSet};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::Duration;

use aws_sdk_ecs::types::{ContainerOverride, KeyValuePair, LaunchType, Task, TaskOverride};
use aws_sdk_sfn::types::ExecutionStatus;
use integration_tests::cli::Provisioner;
use integration_tests::load::{self, RssSampler};
use integration_tests::{LocalCloud, TEST_TASK, subscribed_queue};
use serde_json::{Value, json};

const EXECUTIONS: usize = 50;

/// The test's local cloud with at most `max_tasks` task containers at once, or None (with the
/// reason printed) when the tests point at another endpoint.
async fn own_cloud(max_tasks: usize) -> Option<LocalCloud> {
    if std::env::var_os("AWS_ENDPOINT_URL").is_none() {
        // SAFETY: set before the cloud (and any thread that reads the environment) starts; the
        // gateway inherits it. nextest runs each test in a process of its own.
        unsafe { std::env::set_var(localcloud::fargate::MAX_TASKS_ENV, max_tasks.to_string()) };
    }
    let cloud = LocalCloud::start().await;
    if !cloud.is_own_moto() {
        eprintln!("skipped: executions and tasks run only on our own local cloud; this run points elsewhere");
        return None;
    }
    Some(cloud)
}

/// The stack, provisioned through the CLI; its outputs.
async fn provision(cloud: &LocalCloud, stack: &str) -> Value {
    let out = Provisioner::for_cloud(cloud)
        .run(&["provision", "--json", "--stack-name", stack, "--package", TEST_TASK])
        .await;
    out.assert_success("provision");
    let outputs = out.json()["outputs"].clone();
    for key in ["StateMachineArn", "TopicArn", "LogGroupName", "ClusterArn", "TaskDefinitionArn", "ContainerName"] {
        assert!(outputs[key].is_string(), "the stack has no output {key}: {outputs}");
    }
    outputs
}

fn output<'a>(outputs: &'a Value, key: &str) -> &'a str {
    outputs[key].as_str().unwrap()
}

/// Every notification in the queue, each deleted once read: (SNS MessageId, the published message).
/// Reads until `expected` arrived and then the queue stayed empty for a while more, so a late
/// duplicate is seen too.
async fn drain(sqs: &aws_sdk_sqs::Client, queue_url: &str, expected: usize) -> Vec<(String, Value)> {
    let mut received = Vec::new();
    let mut empty_in_a_row = 0;
    for _ in 0..600 {
        let out = sqs.receive_message().queue_url(queue_url).max_number_of_messages(10).send().await.unwrap();
        for message in out.messages() {
            let envelope: Value = serde_json::from_str(message.body().unwrap()).unwrap();
            let id = envelope["MessageId"].as_str().unwrap_or_default().to_owned();
            let published: Value = serde_json::from_str(envelope["Message"].as_str().unwrap()).unwrap();
            received.push((id, published));
            sqs.delete_message()
                .queue_url(queue_url)
                .receipt_handle(message.receipt_handle().unwrap())
                .send()
                .await
                .unwrap();
        }
        empty_in_a_row = if out.messages().is_empty() { empty_in_a_row + 1 } else { 0 };
        if received.len() >= expected && empty_in_a_row >= 10 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    received
}

/// The lines of a task's log stream (`<service>/<container>/<task id>`), parsed as JSON.
async fn log_stream(logs: &aws_sdk_cloudwatchlogs::Client, group: &str, container: &str, task_arn: &str) -> Vec<Value> {
    let stream = format!("{}/{container}/{}", service::SERVICE_NAME, task_arn.rsplit('/').next().unwrap());
    let out = logs.get_log_events().log_group_name(group).log_stream_name(&stream).start_from_head(true).send().await;
    let out = out.unwrap_or_else(|e| panic!("GetLogEvents {group} {stream}: {e:?}"));
    out.events()
        .iter()
        .map(|e| {
            let line = e.message().unwrap_or_default();
            serde_json::from_str(line).unwrap_or_else(|err| panic!("{stream}: not a JSON line ({err}): {line}"))
        })
        .collect()
}

/// The gateway's VmRSS in KiB once it has settled: the lowest of a few samples over five seconds
/// (the gateway gives freed memory back to the system within about two once it is idle).
async fn settled_rss(pid: u32) -> u64 {
    let mut lowest = u64::MAX;
    for _ in 0..10 {
        tokio::time::sleep(Duration::from_millis(500)).await;
        lowest = lowest.min(load::rss_kib(pid).expect("the gateway runs"));
    }
    lowest
}

/// The SDK clients of one round, on a connection pool of their own: dropped before the gateway's
/// memory is read, so the reading counts no client's open connections (a client's pool keeps
/// them for 90 s; the gateway's buffers for them are the client's doing, not a leak).
struct Clients {
    sfn: aws_sdk_sfn::Client,
    logs: aws_sdk_cloudwatchlogs::Client,
    ecs: aws_sdk_ecs::Client,
    sqs: aws_sdk_sqs::Client,
}

impl Clients {
    async fn new(cloud: &LocalCloud) -> Clients {
        let config = cloud.sdk_config_with_own_connections().await;
        Clients {
            sfn: aws_sdk_sfn::Client::new(&config),
            logs: aws_sdk_cloudwatchlogs::Client::new(&config),
            ecs: aws_sdk_ecs::Client::new(&config),
            sqs: aws_sdk_sqs::Client::new(&config),
        }
    }
}

/// What the gateway may keep of each execution once it has ended, as AWS keeps them: a summary
/// of the execution (its whole record is on disk) and its task's description (ECS describes a
/// stopped task for an hour). About 8.5 KiB measured; an execution's history kept in memory, as
/// before, was about 28 more.
const KEPT_PER_EXECUTION_BYTES: u64 = 12 * 1024;

/// What the first round may add once, whatever the number of executions: tables that grew to
/// their working size. About 200 KiB measured.
const GROWN_ONCE_BYTES: u64 = 512 * 1024;

/// What the allocator may keep of a round's peak as resident memory, freed but not given back
/// (glibc's arenas, fragmented by what is kept): measured 3 to 4 MiB after the first round, less
/// than 1 more after each further round.
const ALLOCATOR_KEEPS_KIB: u64 = 6 * 1024;

#[tokio::test]
async fn fifty_executions_at_once_all_succeed_with_their_own_logs_and_one_notification_each() {
    const MAX_TASKS: usize = 4;
    const ROUNDS: usize = 2;
    let Some(cloud) = own_cloud(MAX_TASKS).await else {
        return;
    };
    let outputs = provision(&cloud, "load").await;
    let queue_url = subscribed_queue(cloud.sdk_config(), output(&outputs, "TopicArn"), "load-notifications").await;
    let docker = bollard::Docker::connect_with_local_defaults().unwrap();
    let gateway = load::gateway_pid(cloud.state_dir().unwrap()).expect("the fixture recorded the gateway's PID");
    let endpoint = cloud.endpoint_url().expect("our own cloud has an endpoint").to_owned();
    let heap = || load::gateway_heap_in_use(&endpoint).unwrap().expect("the gateway reports its heap (glibc)");

    // One execution first, so the idle level counts what the first run of anything allocates
    // (the image pulled once, lazily built state) and the rounds add only per-execution state.
    {
        let clients = Clients::new(&cloud).await;
        let machine = output(&outputs, "StateMachineArn");
        let warm = load::start_all(&clients.sfn, machine, vec![("warm-up".into(), r#"{"name":"warm"}"#.into())])
            .await
            .unwrap();
        load::until_terminal(&clients.sfn, machine, &warm, Duration::from_secs(300)).await.unwrap();
        assert_eq!(drain(&clients.sqs, &queue_url, 1).await.len(), 1, "the warm-up's notification");
    }
    let idle = settled_rss(gateway).await;
    let idle_heap = heap();

    // Rounds of fifty, each with clients of its own, dropped before the gateway is measured.
    // After each, what the gateway holds is back at its idle level but for what it keeps of
    // each execution, and a further round adds no more than that: a leak of any per-execution
    // state (a history, a connection's buffers, a log shipper) grows with every round.
    let mut previous_heap = None;
    for round in 0..ROUNDS {
        let clients = Clients::new(&cloud).await;
        let peak = fifty_at_once(&cloud, &clients, &outputs, &queue_url, &docker, round, MAX_TASKS, gateway).await;
        drop(clients);
        let after = settled_rss(gateway).await;
        let after_heap = heap();
        let executions = ((round + 1) * EXECUTIONS) as u64;
        eprintln!(
            "round {round}: gateway VmRSS idle {:.1} MiB, peak {:.1} MiB under load, {:.1} MiB after; \
             heap in use idle {:.2} MiB, {:.2} MiB after ({:.1} KiB per execution so far)",
            load::mib(idle),
            load::mib(peak),
            load::mib(after),
            load::mib(idle_heap / 1024),
            load::mib(after_heap / 1024),
            after_heap.saturating_sub(idle_heap) as f64 / 1024.0 / executions as f64,
        );
        assert!(
            after_heap <= idle_heap + GROWN_ONCE_BYTES + executions * KEPT_PER_EXECUTION_BYTES,
            "after {executions} executions the gateway holds {:.2} MiB, {:.2} MiB idle: more than the {} KiB \
             per execution it keeps",
            load::mib(after_heap / 1024),
            load::mib(idle_heap / 1024),
            KEPT_PER_EXECUTION_BYTES / 1024
        );
        if let Some(before) = previous_heap {
            assert!(
                after_heap <= before + EXECUTIONS as u64 * KEPT_PER_EXECUTION_BYTES,
                "round {round} grew what the gateway holds from {:.2} MiB to {:.2} MiB",
                load::mib(before / 1024),
                load::mib(after_heap / 1024)
            );
        }
        previous_heap = Some(after_heap);
        assert!(
            after <= idle + ALLOCATOR_KEEPS_KIB + executions * KEPT_PER_EXECUTION_BYTES / 1024,
            "after {executions} executions the gateway's VmRSS is {:.1} MiB, {:.1} MiB idle",
            load::mib(after),
            load::mib(idle)
        );
    }
}

/// One round: fifty executions started at once, each checked to the end (status, its own log
/// stream, one notification); the bound on task containers held and tasks queued beyond it.
/// Returns the gateway's peak VmRSS in KiB while the executions ran.
#[allow(clippy::too_many_arguments)]
async fn fifty_at_once(
    cloud: &LocalCloud,
    clients: &Clients,
    outputs: &Value,
    queue_url: &str,
    docker: &bollard::Docker,
    round: usize,
    max_tasks: usize,
    gateway: u32,
) -> u64 {
    let Clients { sfn, logs, ecs, sqs } = clients;
    let machine = output(outputs, "StateMachineArn");
    let container = output(outputs, "ContainerName");
    let group = output(outputs, "LogGroupName");
    // Watch the engine while the load runs: how many task containers exist at once (the bound
    // covers a task from its container's creation to its removal), and whether tasks queue.
    let watching = Arc::new(AtomicBool::new(true));
    let most_containers = Arc::new(AtomicUsize::new(0));
    let most_provisioning = Arc::new(AtomicUsize::new(0));
    let watcher = {
        let (watching, most_containers, most_provisioning) =
            (watching.clone(), most_containers.clone(), most_provisioning.clone());
        let (docker, ecs, cluster) = (docker.clone(), ecs.clone(), output(outputs, "ClusterArn").to_owned());
        let state_dir = cloud.state_dir().unwrap().to_owned();
        tokio::spawn(async move {
            let mut round = 0;
            while watching.load(Ordering::Relaxed) {
                let now = integration_tests::task_containers(&docker, &state_dir).await.len();
                most_containers.fetch_max(now, Ordering::Relaxed);
                if round % 10 == 0 {
                    let listed = ecs.list_tasks().cluster(&cluster).send().await.unwrap();
                    if !listed.task_arns().is_empty() {
                        let described = ecs
                            .describe_tasks()
                            .cluster(&cluster)
                            .set_tasks(Some(listed.task_arns().to_vec()))
                            .send()
                            .await
                            .unwrap();
                        let queued = described
                            .tasks()
                            .iter()
                            .filter(|t| t.last_status() == Some("PROVISIONING") && t.pull_started_at().is_none())
                            .count();
                        most_provisioning.fetch_max(queued, Ordering::Relaxed);
                    }
                }
                round += 1;
                tokio::time::sleep(Duration::from_millis(25)).await;
            }
        })
    };

    // Each task works a second, so containers overlap and an unbounded Fargate would be seen
    // running many more than the bound; each input is its own, so a line in the wrong stream shows.
    let executions: Vec<(String, String)> = (0..EXECUTIONS)
        .map(|i| {
            let text = vec!["word"; i + 1].join(" ");
            let name = format!("load-{round}-{i}");
            (name.clone(), json!({"name": name, "text": text, "work_seconds": 1}).to_string())
        })
        .collect();
    let sampler = RssSampler::start(gateway, Duration::from_millis(50));
    let arns = load::start_all(sfn, machine, executions).await.unwrap();
    load::until_terminal(sfn, machine, &arns, Duration::from_secs(900)).await.unwrap();
    // A task reports its result before its container stops: wait until every task has stopped and
    // its container is gone (its log lines shipped before that), bounded only against a hang.
    let cluster = output(outputs, "ClusterArn");
    for _ in 0..1200 {
        let running = ecs.list_tasks().cluster(cluster).send().await.unwrap().task_arns().len();
        if running == 0 && cloud.task_containers().await.is_empty() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let peak = sampler.stop();
    watching.store(false, Ordering::Relaxed);
    watcher.await.unwrap();

    // Every execution SUCCEEDED, each with a task of its own.
    let mut task_of = BTreeMap::new();
    for (i, arn) in arns.iter().enumerate() {
        let described = sfn.describe_execution().execution_arn(arn).send().await.unwrap();
        assert_eq!(
            *described.status(),
            ExecutionStatus::Succeeded,
            "load-{round}-{i}: {:?} {:?}",
            described.error(),
            described.cause()
        );
        let output: Value = serde_json::from_str(described.output().unwrap()).unwrap();
        assert_eq!(output["name"], format!("load-{round}-{i}"), "{output}");
        // The task's own result, reported with its token; it names the task it ran in.
        assert_eq!(output["result"]["greeting"], format!("Hello, load-{round}-{i}!"), "{output}");
        let task_arn = output["result"]["task_arn"].as_str().unwrap().to_owned();
        assert!(task_of.insert(task_arn.clone(), i).is_none(), "two executions report the task {task_arn}");
    }

    // The bound held, and tasks beyond it queued rather than failing.
    let (most, queued) = (most_containers.load(Ordering::Relaxed), most_provisioning.load(Ordering::Relaxed));
    eprintln!("at most {most} task containers at once (bound {max_tasks}); up to {queued} tasks seen queued");
    assert!(most <= max_tasks, "{most} task containers at once, more than LOCALCLOUD_max_tasks={max_tasks}");
    assert!(most >= 2, "the tasks ran side by side, not one at a time: at most {most} containers at once");
    assert!(queued > 0, "tasks beyond the bound wait in PROVISIONING");

    // Each task's own stream holds every line it printed, and only its own.
    for (task_arn, &i) in &task_of {
        let lines = log_stream(logs, group, container, task_arn).await;
        let name = format!("load-{round}-{i}");
        let started: Vec<&Value> = lines.iter().filter(|l| l["message"] == "task started").collect();
        let succeeded: Vec<&Value> = lines.iter().filter(|l| l["message"] == "task succeeded").collect();
        let results: Vec<&Value> = lines.iter().filter(|l| l.get("greeting").is_some()).collect();
        assert_eq!((started.len(), succeeded.len(), results.len(), lines.len()), (1, 1, 1, 3), "{name}: {lines:#?}");
        assert_eq!(started[0]["name"], name.as_str(), "{name}: {lines:#?}");
        assert_eq!(started[0]["task_arn"], task_arn.as_str(), "{name}: {lines:#?}");
        assert_eq!(succeeded[0]["words"], i + 1, "{name}: {lines:#?}");
        assert_eq!(results[0]["greeting"], format!("Hello, {name}!"), "{name}: {lines:#?}");
        assert_eq!(
            (results[0]["words"].as_u64(), results[0]["task_arn"].as_str()),
            (Some(i as u64 + 1), Some(task_arn.as_str()))
        );
    }

    // Exactly one notification per execution: none missing, none twice.
    let received = drain(sqs, queue_url, EXECUTIONS).await;
    let ids: HashSet<&str> = received.iter().map(|(id, _)| id.as_str()).collect();
    assert_eq!(ids.len(), received.len(), "an SNS message was delivered twice");
    let mut per_execution: BTreeMap<usize, usize> = BTreeMap::new();
    for (_, message) in &received {
        assert_eq!(message["status"], "SUCCEEDED", "{message}");
        let task_arn = message["result"]["task_arn"].as_str().unwrap_or_default();
        let i = *task_of.get(task_arn).unwrap_or_else(|| panic!("a notification of no execution here: {message}"));
        *per_execution.entry(i).or_default() += 1;
    }
    let wrong: Vec<(usize, usize)> =
        (0..EXECUTIONS).map(|i| (i, per_execution.get(&i).copied().unwrap_or(0))).filter(|(_, n)| *n != 1).collect();
    assert!(wrong.is_empty(), "(execution, notifications) not exactly one: {wrong:?}");

    // Nothing of the round is left running.
    assert_eq!(cloud.task_containers().await.len(), 0, "every task container is removed");
    assert!(ecs.list_tasks().cluster(cluster).send().await.unwrap().task_arns().is_empty(), "no task still RUNNING");
    peak
}

struct Ecs {
    ecs: aws_sdk_ecs::Client,
    cluster: String,
    task_definition: String,
    container: String,
}

impl Ecs {
    async fn run(&self, input: &str) -> Task {
        let overrides = TaskOverride::builder()
            .container_overrides(
                ContainerOverride::builder()
                    .name(&self.container)
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
        ran.tasks()[0].clone()
    }

    async fn describe(&self, arn: &str) -> Task {
        self.ecs.describe_tasks().cluster(&self.cluster).tasks(arn).send().await.unwrap().tasks()[0].clone()
    }

    /// Polls DescribeTasks until `status`. The bound only keeps a broken run from hanging.
    async fn until(&self, arn: &str, status: &str) -> Task {
        for _ in 0..1200 {
            let task = self.describe(arn).await;
            if task.last_status() == Some(status) {
                return task;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("task {arn} never reached {status}: {:?}", self.describe(arn).await);
    }

    async fn stop(&self, arn: &str, reason: &str) {
        self.ecs.stop_task().cluster(&self.cluster).task(arn).reason(reason).send().await.unwrap();
    }
}

#[tokio::test]
async fn a_task_beyond_the_bound_waits_in_provisioning_and_stop_task_takes_it_out_of_the_queue() {
    const MAX_TASKS: usize = 2;
    let Some(cloud) = own_cloud(MAX_TASKS).await else {
        return;
    };
    let outputs = provision(&cloud, "queue").await;
    let ecs = Ecs {
        ecs: aws_sdk_ecs::Client::new(cloud.sdk_config()),
        cluster: output(&outputs, "ClusterArn").to_owned(),
        task_definition: output(&outputs, "TaskDefinitionArn").to_owned(),
        container: output(&outputs, "ContainerName").to_owned(),
    };
    let long = r#"{"work_seconds":300}"#;

    let first = ecs.run(long).await.task_arn().unwrap().to_owned();
    let second = ecs.run(long).await.task_arn().unwrap().to_owned();
    ecs.until(&first, "RUNNING").await;
    ecs.until(&second, "RUNNING").await;
    let third = ecs.run(long).await.task_arn().unwrap().to_owned();
    let fourth = ecs.run(long).await.task_arn().unwrap().to_owned();

    // While both slots are taken, the others are queued as ECS reports a task without capacity
    // yet: PROVISIONING, desired RUNNING, nothing pulled, no container.
    for _ in 0..10 {
        for arn in [&third, &fourth] {
            let task = ecs.describe(arn).await;
            assert_eq!(
                (task.last_status(), task.desired_status()),
                (Some("PROVISIONING"), Some("RUNNING")),
                "{task:?}"
            );
            assert!(task.pull_started_at().is_none() && task.started_at().is_none(), "{task:?}");
        }
        assert_eq!(cloud.task_containers().await.len(), MAX_TASKS, "only the two running tasks have containers");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }

    // StopTask takes a queued task out of the queue: STOPPED, never started, no container.
    ecs.stop(&third, "not needed any more").await;
    let stopped = ecs.until(&third, "STOPPED").await;
    assert_eq!(stopped.stop_code().map(|c| c.as_str()), Some("UserInitiated"), "{stopped:?}");
    assert_eq!(stopped.stopped_reason(), Some("not needed any more"));
    assert!(stopped.started_at().is_none() && stopped.containers()[0].exit_code().is_none(), "{stopped:?}");
    assert_eq!(ecs.describe(&fourth).await.last_status(), Some("PROVISIONING"), "the fourth still waits");

    // A slot that frees goes to the next in the queue.
    ecs.stop(&first, "make room").await;
    ecs.until(&first, "STOPPED").await;
    let started = ecs.until(&fourth, "RUNNING").await;
    assert!(started.pull_started_at().is_some() && started.started_at().is_some(), "{started:?}");
    assert!(cloud.task_containers().await.len() <= MAX_TASKS);

    for arn in [&second, &fourth] {
        ecs.stop(arn, "done").await;
    }
    for arn in [&second, &fourth] {
        let task = ecs.until(arn, "STOPPED").await;
        assert_eq!(task.stop_code().map(|c| c.as_str()), Some("UserInitiated"), "{task:?}");
    }
    assert_eq!(cloud.task_containers().await.len(), 0, "every task container is removed");
}
