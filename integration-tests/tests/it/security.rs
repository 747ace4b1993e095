//! Security, on a local cloud of this test's own, checked the way a reviewer would: what listens
//! where (every TCP socket the local cloud's processes hold, read from /proc), who a task runs as
//! and with what privileges (Docker's view of the task containers, and the task's own, from the
//! kernel, in its log line), that two tasks never share a network namespace, and that credentials
//! never show in what the CLI prints or what the local cloud logs.
//!
//! These need a Docker engine and our own local cloud: against another endpoint there are no
//! processes or containers of ours to look at, so each test says so and returns.

use std::collections::{BTreeSet, HashMap, HashSet};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::path::Path;
use std::time::Duration;

use aws_sdk_ecs::types::{ContainerOverride, KeyValuePair, LaunchType, TaskOverride};
use base64::Engine;
use integration_tests::cli::{CliOutput, Provisioner};
use integration_tests::{LocalCloud, TEST_TASK};
use localcloud::fargate::engine::{CONTAINER_NAME_LABEL, PAUSE_CONTAINER_NAME, STATE_DIR_LABEL, TASK_ARN_LABEL};
use serde_json::Value;

async fn own_cloud() -> Option<LocalCloud> {
    let cloud = LocalCloud::start().await;
    if !cloud.is_own_moto() {
        eprintln!(
            "not applicable: these look at the local cloud's own processes and containers; this run points elsewhere"
        );
        return None;
    }
    Some(cloud)
}

fn docker() -> bollard::Docker {
    bollard::Docker::connect_with_local_defaults().expect("a Docker engine")
}

/// The task network of this local cloud: its name, gateway address and whether it is internal.
async fn task_network(state_dir: &Path) -> (String, IpAddr, bool) {
    let filters = HashMap::from([("label".to_string(), vec![format!("{STATE_DIR_LABEL}={}", state_dir.display())])]);
    let networks = docker()
        .list_networks(Some(bollard::query_parameters::ListNetworksOptions { filters: Some(filters) }))
        .await
        .unwrap();
    assert_eq!(networks.len(), 1, "one task network per local cloud: {networks:?}");
    let network = &networks[0];
    let gateway = network
        .ipam
        .as_ref()
        .and_then(|i| i.config.as_ref())
        .into_iter()
        .flatten()
        .filter_map(|c| c.gateway.as_deref()?.parse::<IpAddr>().ok())
        .find(IpAddr::is_ipv4)
        .expect("the task network's IPv4 gateway");
    (network.name.clone().unwrap(), gateway, network.internal.unwrap_or(false))
}

// --- Listeners -----------------------------------------------------------------------------------

/// `pids` and every process below them.
fn with_descendants(pids: &[u32]) -> BTreeSet<u32> {
    let mut all: BTreeSet<u32> = pids.iter().copied().collect();
    let parents: Vec<(u32, u32)> = std::fs::read_dir("/proc")
        .unwrap()
        .filter_map(|e| e.ok()?.file_name().to_str()?.parse::<u32>().ok())
        .filter_map(|pid| {
            let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
            // The command name is in parentheses and may hold spaces; the parent follows the state.
            let after = &stat[stat.rfind(')')? + 2..];
            Some((pid, after.split_whitespace().nth(1)?.parse().ok()?))
        })
        .collect();
    loop {
        let before = all.len();
        for (pid, parent) in &parents {
            if all.contains(parent) {
                all.insert(*pid);
            }
        }
        if all.len() == before {
            return all;
        }
    }
}

/// The inodes of the sockets a process holds open.
fn socket_inodes(pid: u32) -> HashSet<String> {
    std::fs::read_dir(format!("/proc/{pid}/fd"))
        .map(|dir| {
            dir.filter_map(|e| {
                let target = std::fs::read_link(e.ok()?.path()).ok()?;
                let text = target.to_str()?;
                Some(text.strip_prefix("socket:[")?.strip_suffix(']')?.to_owned())
            })
            .collect()
        })
        .unwrap_or_default()
}

/// A /proc/net address: IPv4 as one little-endian word, IPv6 as four.
fn proc_address(hex: &str) -> (IpAddr, u16) {
    let (address, port) = hex.split_once(':').unwrap();
    let port = u16::from_str_radix(port, 16).unwrap();
    let words: Vec<u32> = (0..address.len() / 8)
        .map(|i| u32::from_str_radix(&address[i * 8..i * 8 + 8], 16).unwrap().swap_bytes())
        .collect();
    let ip = match words.as_slice() {
        [v4] => IpAddr::V4(Ipv4Addr::from(*v4)),
        [a, b, c, d] => {
            let mut bytes = [0u8; 16];
            for (i, w) in [a, b, c, d].iter().enumerate() {
                bytes[i * 4..i * 4 + 4].copy_from_slice(&w.to_be_bytes());
            }
            IpAddr::V6(Ipv6Addr::from(bytes))
        }
        _ => panic!("not a /proc/net address: {hex}"),
    };
    (ip, port)
}

/// Every listening TCP socket and bound UDP socket `pid` holds: (protocol, address, port).
fn listeners(pid: u32) -> Vec<(&'static str, IpAddr, u16)> {
    let inodes = socket_inodes(pid);
    let mut found = Vec::new();
    for (protocol, table) in [("tcp", "tcp"), ("tcp", "tcp6"), ("udp", "udp"), ("udp", "udp6")] {
        let text = std::fs::read_to_string(format!("/proc/{pid}/net/{table}")).unwrap_or_default();
        for row in text.lines().skip(1) {
            let fields: Vec<&str> = row.split_whitespace().collect();
            let (local, state, inode) = (fields[1], fields[3], fields[9]);
            // TCP: LISTEN (0A). UDP has no listen state: every socket of ours in the table is bound.
            if inodes.contains(inode) && (protocol == "udp" || state == "0A") {
                let (ip, port) = proc_address(local);
                found.push((protocol, ip, port));
            }
        }
    }
    found
}

fn is_loopback(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => v4.is_loopback(),
        IpAddr::V6(v6) => v6.is_loopback() || v6.to_ipv4_mapped().is_some_and(|v4| v4.is_loopback()),
    }
}

#[test]
fn a_proc_net_address_reads_as_the_kernel_wrote_it() {
    assert_eq!(proc_address("0100007F:11D6"), (IpAddr::V4(Ipv4Addr::LOCALHOST), 4566));
    assert_eq!(proc_address("00000000:0050"), (IpAddr::V4(Ipv4Addr::UNSPECIFIED), 80));
    assert_eq!(proc_address("00000000000000000000000001000000:1F90"), (IpAddr::V6(Ipv6Addr::LOCALHOST), 8080));
    assert_eq!(proc_address("0100000A:0001").0, IpAddr::V4(Ipv4Addr::new(10, 0, 0, 1)));
    assert!(!is_loopback(IpAddr::V4(Ipv4Addr::UNSPECIFIED)) && !is_loopback(IpAddr::V6(Ipv6Addr::UNSPECIFIED)));
    assert!(is_loopback("::ffff:127.0.0.1".parse().unwrap()));
}

#[tokio::test]
async fn everything_the_local_cloud_starts_listens_on_loopback_or_its_own_task_network() {
    let Some(cloud) = own_cloud().await else { return };
    let state_dir = cloud.state_dir().unwrap().to_owned();
    let status = localcloud::status(&state_dir);
    let services: Vec<(String, u32, u16)> = status
        .services
        .iter()
        .map(|s| (format!("{:?}", s.service), s.pid.expect("a running service has a PID"), s.port.unwrap()))
        .collect();
    assert_eq!(services.len(), 3, "moto, the registry and the gateway: {services:?}");
    let (network, gateway, internal) = task_network(&state_dir).await;
    assert!(internal, "the task network {network} is internal: no route off this machine");

    let mut seen = Vec::new();
    for (service, pid, port) in &services {
        let processes = with_descendants(&[*pid]);
        let mut own: Vec<(&str, IpAddr, u16)> = processes.iter().flat_map(|p| listeners(*p)).collect();
        own.sort();
        own.dedup();
        for (protocol, ip, listening_port) in &own {
            assert!(
                is_loopback(*ip) || *ip == gateway,
                "{service} (pid {pid}, processes {processes:?}) listens on {protocol} {ip}:{listening_port}, which is \
                 neither loopback nor the task network's gateway {gateway}"
            );
        }
        assert!(
            own.iter().any(|(protocol, ip, p)| *protocol == "tcp" && is_loopback(*ip) && p == port),
            "{service} listens on its own port {port} on loopback: {own:?}"
        );
        seen.push((service.clone(), own));
    }
    // The one socket off loopback: the gateway on the task network, where tasks reach the endpoint
    // and the metadata documents.
    let off_loopback: Vec<_> = seen
        .iter()
        .flat_map(|(service, own)| own.iter().filter(|(_, ip, _)| !is_loopback(*ip)).map(move |l| (service, *l)))
        .collect();
    assert_eq!(off_loopback.len(), 1, "only the gateway listens off loopback: {seen:?}");
    assert_eq!(off_loopback[0].0, "Gateway", "{seen:?}");
    assert_eq!(off_loopback[0].1.1, gateway, "{seen:?}");
}

// --- Task containers -----------------------------------------------------------------------------

fn input_override(container: &str, input: &str) -> TaskOverride {
    TaskOverride::builder()
        .container_overrides(
            ContainerOverride::builder()
                .name(container)
                .environment(KeyValuePair::builder().name("TASK_INPUT").value(input).build())
                .build(),
        )
        .build()
}

async fn until_status(ecs: &aws_sdk_ecs::Client, cluster: &str, arn: &str, wanted: &str) {
    for _ in 0..600 {
        let described = ecs.describe_tasks().cluster(cluster).tasks(arn).send().await.unwrap();
        let task = &described.tasks()[0];
        if task.last_status() == Some(wanted) {
            return;
        }
        assert_ne!(task.last_status(), Some("STOPPED"), "task {arn} stopped before {wanted}: {task:?}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("task {arn} never reached {wanted}");
}

#[tokio::test]
async fn a_task_runs_as_non_root_without_added_capabilities_in_a_network_namespace_of_its_own() {
    let Some(cloud) = own_cloud().await else { return };
    let cli = Provisioner::for_cloud(&cloud);
    let created = cli.run(&["provision", "--json", "--package", TEST_TASK]).await;
    created.assert_success("provision");
    let outputs = created.json()["outputs"].clone();
    let cluster = outputs["ClusterArn"].as_str().unwrap().to_owned();
    let task_definition = outputs["TaskDefinitionArn"].as_str().unwrap().to_owned();
    let container = outputs["ContainerName"].as_str().unwrap().to_owned();
    let log_group = outputs["LogGroupName"].as_str().unwrap().to_owned();
    let ecs = aws_sdk_ecs::Client::new(cloud.sdk_config());

    // Two tasks of the stack's own task definition, running at the same time.
    let mut arns = Vec::new();
    for _ in 0..2 {
        let ran = ecs
            .run_task()
            .cluster(&cluster)
            .task_definition(&task_definition)
            .launch_type(LaunchType::Fargate)
            .overrides(input_override(&container, r#"{"name":"security","work_seconds":120}"#))
            .send()
            .await
            .unwrap();
        assert!(ran.failures().is_empty(), "{ran:?}");
        arns.push(ran.tasks()[0].task_arn().unwrap().to_owned());
    }
    for arn in &arns {
        until_status(&ecs, &cluster, arn, "RUNNING").await;
    }

    let docker = docker();
    let (network, _, _) = task_network(cloud.state_dir().unwrap()).await;
    let host_namespace = std::fs::read_link("/proc/self/ns/net").unwrap();
    let mut namespaces = BTreeSet::new();
    let mut sandboxes = BTreeSet::new();
    for arn in &arns {
        // The task's container and its credentials agent (the stack's task definition has a task
        // role), whose network namespace the task's container joins, as a Fargate task's
        // containers join their pause container's.
        let filters = HashMap::from([("label".to_string(), vec![format!("{TASK_ARN_LABEL}={arn}")])]);
        let options = bollard::query_parameters::ListContainersOptions { filters: Some(filters), ..Default::default() };
        let listed = docker.list_containers(Some(options)).await.unwrap();
        assert_eq!(listed.len(), 2, "the task's container and its credentials agent run for {arn}: {listed:?}");
        let name_of = |c: &bollard::models::ContainerSummary| {
            c.labels.as_ref().and_then(|l| l.get(CONTAINER_NAME_LABEL)).cloned().unwrap_or_default()
        };
        let (agents, tasks): (Vec<_>, Vec<_>) = listed.iter().partition(|c| name_of(c) == PAUSE_CONTAINER_NAME);
        assert_eq!((agents.len(), tasks.len()), (1, 1), "{listed:?}");
        let agent = docker.inspect_container(agents[0].id.as_deref().unwrap(), None).await.unwrap();
        let inspected = docker.inspect_container(tasks[0].id.as_deref().unwrap(), None).await.unwrap();
        let config = inspected.config.clone().unwrap();
        let host = inspected.host_config.clone().unwrap();
        let user = config.user.clone().unwrap_or_default();
        assert_eq!(user, provisioner::image::inputs::USER, "the task's user");
        assert!(!user.is_empty() && !user.starts_with("0:") && user != "0" && user != "root", "not root: {user:?}");
        assert!(host.cap_add.clone().unwrap_or_default().is_empty(), "no capability added: {:?}", host.cap_add);
        assert_eq!(
            host.cap_drop.clone().unwrap_or_default(),
            ["ALL"],
            "every capability dropped, as the task definition says"
        );
        assert_eq!(host.privileged, Some(false));
        assert!(host.port_bindings.clone().unwrap_or_default().is_empty(), "nothing published on the host");
        let agent_id = agent.id.clone().unwrap();
        assert_eq!(host.network_mode, Some(format!("container:{agent_id}")), "in its own agent's namespace only");
        // The agent: no root, no capability, nothing published, on the task network only.
        let agent_host = agent.host_config.clone().unwrap();
        let agent_user = agent.config.clone().unwrap().user.unwrap_or_default();
        assert_eq!(agent_user, "65534:65534", "the agent runs as nobody");
        assert_eq!(agent_host.cap_drop.clone().unwrap_or_default(), ["ALL"]);
        assert_eq!((agent_host.privileged, agent_host.readonly_rootfs), (Some(false), Some(true)));
        assert!(agent_host.port_bindings.clone().unwrap_or_default().is_empty(), "nothing published on the host");
        assert_eq!(agent_host.network_mode.as_deref(), Some(network.as_str()), "on the task network only");
        let settings = agent.network_settings.clone().unwrap();
        let attached: Vec<String> = settings.networks.clone().unwrap_or_default().into_keys().collect();
        assert_eq!(attached, std::slice::from_ref(&network));
        sandboxes.insert(settings.sandbox_key.clone().filter(|k| !k.is_empty()).expect("a sandbox of its own"));
        // The kernel's word: the task's process is in its agent's network namespace, which is
        // neither the host's nor the other task's.
        let pid_of = |c: &bollard::models::ContainerInspectResponse| {
            c.state.as_ref().and_then(|s| s.pid).expect("a running container has a PID")
        };
        let namespace = std::fs::read_link(format!("/proc/{}/ns/net", pid_of(&inspected))).unwrap();
        let agent_namespace = std::fs::read_link(format!("/proc/{}/ns/net", pid_of(&agent))).unwrap();
        assert_eq!(namespace, agent_namespace, "{arn} shares its own agent's network namespace");
        assert_ne!(namespace, host_namespace, "{arn} runs in the host's network namespace");
        namespaces.insert(namespace);
    }
    assert_eq!(sandboxes.len(), 2, "each task has its own network sandbox: {sandboxes:?}");
    assert_eq!(namespaces.len(), 2, "each task has its own network namespace: {namespaces:?}");

    for arn in &arns {
        ecs.stop_task().cluster(&cluster).task(arn).reason("security test done").send().await.unwrap();
    }
    for arn in &arns {
        until_status(&ecs, &cluster, arn, "STOPPED").await;
    }

    // The task's own view, from the kernel: its log line says who it ran as.
    let logs = aws_sdk_cloudwatchlogs::Client::new(cloud.sdk_config());
    for arn in &arns {
        let task_id = arn.rsplit('/').next().unwrap();
        let stream = format!("{}/{container}/{task_id}", service::SERVICE_NAME);
        let events = logs
            .get_log_events()
            .log_group_name(&log_group)
            .log_stream_name(&stream)
            .start_from_head(true)
            .send()
            .await;
        let events = events.unwrap_or_else(|e| panic!("GetLogEvents {log_group} {stream}: {e:?}"));
        let started = events
            .events()
            .iter()
            .filter_map(|e| serde_json::from_str::<Value>(e.message()?).ok())
            .find(|l| l["message"] == "task started")
            .unwrap_or_else(|| panic!("no 'task started' line in {stream}: {:?}", events.events()));
        assert_eq!(started["uid"], 10001, "{started}");
        assert_eq!(started["gid"], 10001, "{started}");
        assert_eq!(started["cap_eff"], "0000000000000000", "no effective capability: {started}");
    }
}

// --- Credentials ---------------------------------------------------------------------------------

/// Distinctive credentials: nothing else would ever print these strings.
const ACCESS_KEY_ID: &str = "AKIASECURITYTEST7Q3Z";
const SECRET_ACCESS_KEY: &str = "sEcReT/never+SHOWN/8c1e0f6a4b2d9e7f5a3c1b0d";
const SESSION_TOKEN: &str = "SeSsIoNtOkEn//never+SHOWN/f00dfeedcafe0123456789abcdefFwoGZXIvYXdzEJr";

fn assert_hides(what: &str, text: &str, secrets: &[(&str, String)]) {
    for (name, secret) in secrets {
        assert!(!text.contains(secret.as_str()), "{name} appears in {what}:\n{text}");
    }
}

#[tokio::test]
async fn credentials_and_registry_tokens_never_show_in_output_progress_or_the_local_cloud_s_logs() {
    let Some(cloud) = own_cloud().await else { return };
    let cli = Provisioner::for_cloud(&cloud)
        .with_env("AWS_ACCESS_KEY_ID", ACCESS_KEY_ID)
        .with_env("AWS_SECRET_ACCESS_KEY", SECRET_ACCESS_KEY)
        .with_env("AWS_SESSION_TOKEN", SESSION_TOKEN);

    // The registry password ECR would hand these credentials (moto's, through the gateway): the
    // CLI gets one only when it pushes to ECR, which a local cloud cannot serve (its repository
    // URIs name no real registry), so here it stands for any token that could reach a log.
    let ecr_config = aws_config::defaults(aws_config::BehaviorVersion::latest())
        .endpoint_url(cloud.endpoint_url().unwrap())
        .region(aws_config::Region::new(localcloud::REGION))
        .credentials_provider(aws_sdk_sts::config::Credentials::new(
            ACCESS_KEY_ID,
            SECRET_ACCESS_KEY,
            Some(SESSION_TOKEN.to_owned()),
            None,
            "security-test",
        ))
        .load()
        .await;
    let token = aws_sdk_ecr::Client::new(&ecr_config).get_authorization_token().send().await.unwrap();
    let token = token.authorization_data()[0].authorization_token().unwrap().to_owned();
    let decoded = String::from_utf8(base64::engine::general_purpose::STANDARD.decode(&token).unwrap()).unwrap();
    let password = decoded.split_once(':').unwrap().1.to_owned();

    // The access key ID is an identifier, not a secret (AWS prints it in consoles and CloudTrail),
    // but nothing here has a reason to show it either, so it is held to the same rule.
    let secrets = [
        ("the secret access key", SECRET_ACCESS_KEY.to_owned()),
        ("the session token", SESSION_TOKEN.to_owned()),
        ("the access key ID", ACCESS_KEY_ID.to_owned()),
        ("the ECR authorization token", token.clone()),
        ("the ECR registry password", password.clone()),
    ];

    let registry = cloud.registry().to_owned();
    let mut runs: Vec<(String, CliOutput)> = Vec::new();
    for args in [
        vec!["build", "--json"],
        // To the local registry: a push to ECR would go to moto's repository URI, a real AWS host.
        vec!["push", "--json", "--registry", &registry],
        vec!["push", "--registry", &registry],
        vec!["provision", "--json"],
        vec!["status", "--json"],
        vec!["status"],
        vec!["run", "--follow", "--json", "--input", r#"{"name":"security"}"#],
        vec!["run", "--follow", "--input", r#"{"fail":true}"#],
        // Failures print the SDK's error, which must not carry the request's credentials either.
        vec!["run", "--stack-name", "no-such-stack"],
        vec!["delete", "--yes"],
    ] {
        let out = cli.run(&args).await;
        runs.push((args.join(" "), out));
    }
    // `push` builds with the Docker engine by default, and tags the image for the registry it
    // pushes to, as `docker push` does; that registry's port is this cloud's, gone after the test.
    crate::support::untag_images_of(&registry).await;
    let expected_failures = ["run --follow --input {\"fail\":true}", "run --stack-name no-such-stack"];
    for (args, out) in &runs {
        if expected_failures.contains(&args.as_str()) {
            assert!(!out.success(), "{args} should fail: {out:?}");
        } else {
            out.assert_success(args);
        }
        assert_hides(&format!("the stdout of `provisioner {args}`"), &out.stdout, &secrets);
        assert_hides(&format!("the stderr of `provisioner {args}`"), &out.stderr, &secrets);
    }

    // The local cloud's own logs: moto, the registry, the gateway.
    let logs_dir = cloud.state_dir().unwrap().join("logs");
    let mut read = 0;
    for entry in std::fs::read_dir(&logs_dir).unwrap() {
        let path = entry.unwrap().path();
        let text = String::from_utf8_lossy(&std::fs::read(&path).unwrap()).into_owned();
        assert_hides(&path.display().to_string(), &text, &secrets);
        read += 1;
    }
    assert!(read >= 3, "moto, registry and gateway logs in {}", logs_dir.display());
}
