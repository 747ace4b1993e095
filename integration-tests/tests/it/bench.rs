//! `just bench` (the ignored test `bench::figures`, in the one test binary so that it reuses the
//! build `just test` made): the image pipeline's speed and size, measured against the local cloud's registry.
//! The same static binary goes through both paths, side by side in one run: the daemonless OCI
//! build + push, and `docker build` (no cache) + `docker push`. Each run pushes to a fresh
//! repository so every blob is really uploaded. Prints a table, then one `BENCH name=value` line
//! per figure. Targets (measured here, never asserted in tests): OCI at least 5x faster than
//! Docker, and the image within 5% of the compressed binary. Then the deploy, the run, many
//! executions at once (throughput and the gateway's peak memory) and our interpreter against moto's.

use std::path::PathBuf;
use std::time::Instant;

use integration_tests::LocalCloud;
use oci_client::secrets::RegistryAuth;
use provisioner::image::binary::{TaskBinary, workspace_root};
use provisioner::image::inputs::{DEFAULT_CA_CERTIFICATES, DIRECTORIES, ImageInputs};
use provisioner::image::progress::{Progress, human_bytes};
use provisioner::image::push::Registry;
use provisioner::image::reference::ImageRef;
use provisioner::image::{docker, oci};

fn median(mut values: Vec<f64>) -> f64 {
    values.sort_by(f64::total_cmp);
    values[values.len() / 2]
}

#[tokio::test(flavor = "multi_thread")]
#[ignore = "a benchmark, not a test: `just bench` runs it"]
async fn figures() -> anyhow::Result<()> {
    let runs: usize = std::env::var("BENCH_RUNS").ok().and_then(|v| v.parse().ok()).unwrap_or(3).max(1);
    let cloud = LocalCloud::start().await;
    let registry = cloud.registry().to_owned();
    let quiet = Progress::quiet();

    eprintln!("bench: compiling the task binary (not timed)");
    let binary = TaskBinary::service(&workspace_root()).build(&quiet).await?;
    let binary_data = std::fs::read(&binary)?;
    let binary_gzip = oci::gzip(&binary_data)?.len() as u64;
    let inputs = ImageInputs::new(&workspace_root(), binary, DEFAULT_CA_CERTIFICATES.into());
    inputs.check()?;
    // The CA bundle is most of what the image adds to the binary; shown so the size ratio can be read.
    let ca_gzip = oci::gzip(&std::fs::read(&inputs.ca_certificates)?)?.len() as u64;
    let engine = docker::connect().await?;
    let run_id = std::process::id();

    let (mut oci_seconds, mut docker_seconds) = (Vec::new(), Vec::new());
    let mut image_bytes = 0;
    for run in 0..runs {
        eprintln!("bench: run {}/{runs}", run + 1);
        let started = Instant::now();
        let image = oci::build(&inputs.files(), &DIRECTORIES, None)?;
        let target = ImageRef::new(&registry, &format!("bench-oci-{run_id}-{run}"))?.with_tag("bench");
        let report = Registry::new(&registry, RegistryAuth::Anonymous).push(&image, &target, &quiet).await?;
        oci_seconds.push(started.elapsed().as_secs_f64());
        anyhow::ensure!(report.skipped_blobs == 0, "the OCI run found blobs already present: {report:?}");
        image_bytes = image.compressed_size();

        let started = Instant::now();
        let local = format!("bench-docker-{run_id}:{run}");
        docker::build(&engine, &inputs, &local, true, &quiet).await?;
        let target = ImageRef::new(&registry, &format!("bench-docker-{run_id}-{run}"))?.with_tag("bench");
        docker::push(&engine, &local, &target, None, &quiet).await?;
        docker_seconds.push(started.elapsed().as_secs_f64());
        for tag in [local, target.to_string()] {
            let _ = engine.remove_image(&tag, None::<bollard::query_parameters::RemoveImageOptions>, None).await;
        }
    }

    let oci = median(oci_seconds);
    let docker = median(docker_seconds);
    let ratio = docker / oci;
    let size_ratio = image_bytes as f64 / binary_gzip as f64;
    println!("| figure | value | target |");
    println!("|---|---|---|");
    println!("| OCI build + push (median of {runs}) | {oci:.3} s | |");
    println!("| docker build + docker push (median of {runs}) | {docker:.3} s | |");
    println!("| docker / OCI | {ratio:.1}x | >= 5x |");
    println!("| image, compressed | {} | |", human_bytes(image_bytes));
    println!("| binary | {} | |", human_bytes(binary_data.len() as u64));
    println!("| binary, gzip | {} | |", human_bytes(binary_gzip));
    println!("| CA bundle, gzip (part of the image) | {} | |", human_bytes(ca_gzip));
    println!("| image / compressed binary | {size_ratio:.3} | <= 1.05 |");
    println!(
        "| image without the CA bundle / compressed binary | {:.3} | |",
        (image_bytes - ca_gzip) as f64 / binary_gzip as f64
    );
    println!("BENCH oci_build_push_seconds={oci:.3}");
    println!("BENCH docker_build_push_seconds={docker:.3}");
    println!("BENCH oci_vs_docker_build_push={ratio:.2}");
    println!("BENCH image_compressed_bytes={image_bytes}");
    println!("BENCH binary_bytes={}", binary_data.len());
    println!("BENCH binary_gzip_bytes={binary_gzip}");
    println!("BENCH ca_bundle_gzip_bytes={ca_gzip}");
    println!("BENCH image_vs_compressed_binary={size_ratio:.4}");

    workflow_test_figures()?;
    provision_figures(&cloud).await?;
    Ok(())
}

/// The service's workflow tests (`service/tests/workflow.rs`: the sample workflow run in-process
/// with its tasks mocked), their test binary run on its own, compiling apart (median of 5 runs).
/// Target: under 1 s.
fn workflow_test_figures() -> anyhow::Result<()> {
    eprintln!("bench: compiling the workflow tests (not timed)");
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let built = std::process::Command::new(cargo)
        .args(["test", "--locked", "-p", "servicefull", "--all-features", "--test", "workflow", "--no-run"])
        .args(["--message-format", "json"])
        .current_dir(workspace_root())
        .output()?;
    anyhow::ensure!(
        built.status.success(),
        "building the workflow tests failed: {}",
        String::from_utf8_lossy(&built.stderr)
    );
    let executable = String::from_utf8_lossy(&built.stdout)
        .lines()
        .filter_map(|line| serde_json::from_str::<serde_json::Value>(line).ok())
        .filter(|message| message["target"]["name"] == "workflow")
        .find_map(|message| message["executable"].as_str().map(PathBuf::from))
        .ok_or_else(|| anyhow::anyhow!("cargo named no executable for the workflow tests"))?;
    let mut seconds = Vec::new();
    for _ in 0..5 {
        let started = Instant::now();
        let ran = std::process::Command::new(&executable).arg("--quiet").output()?;
        seconds.push(started.elapsed().as_secs_f64());
        anyhow::ensure!(ran.status.success(), "the workflow tests failed: {}", String::from_utf8_lossy(&ran.stdout));
    }
    let workflow = median(seconds);
    println!("| the service's workflow tests, run (median of 5) | {workflow:.3} s | < 1 s |");
    println!("BENCH workflow_tests_s={workflow:.3}");
    Ok(())
}

/// The deploy against the local cloud, through the CLI a user runs: a first provision (image push,
/// create), then one with nothing changed (the compile check, the digest found in the registry, an
/// empty change set). Target: the second under 2 s.
async fn provision_figures(cloud: &LocalCloud) -> anyhow::Result<()> {
    let cli = integration_tests::cli::Provisioner::for_cloud(cloud);
    let stack = format!("bench-{}", std::process::id());
    let args = ["provision", "--json", "--stack-name", &stack];
    // Built before the clock starts: the figure is the provision, not cargo.
    integration_tests::cli::provisioner_binary().await;
    let started = Instant::now();
    let first = cli.run(&args).await;
    let first_seconds = started.elapsed().as_secs_f64();
    anyhow::ensure!(first.success(), "the first provision failed: {}", first.stderr);
    let started = Instant::now();
    let noop = cli.run(&args).await;
    let noop_seconds = started.elapsed().as_secs_f64();
    anyhow::ensure!(noop.success(), "the second provision failed: {}", noop.stderr);
    anyhow::ensure!(noop.json()["outcome"] == "no-changes", "the second provision changed something: {}", noop.stdout);
    let first_log = run_first_log_seconds(cli.binary_env(), &stack).await?;
    let result_s = run_result_seconds(cloud, &noop.json()["outputs"]["StateMachineArn"]).await?;
    let load = load_figures(cloud, &noop.json()["outputs"]["StateMachineArn"]).await?;
    let deleted = cli.run(&["delete", "--yes", "--stack-name", &stack]).await;
    anyhow::ensure!(deleted.success(), "the delete failed: {}", deleted.stderr);
    println!("| provision, first (push + create) | {first_seconds:.3} s | |");
    println!("| provision, nothing changed | {noop_seconds:.3} s | < 2 s |");
    println!("BENCH provision_first_s={first_seconds:.3}");
    println!("BENCH provision_noop_s={noop_seconds:.3}");
    println!("| provisioner run --follow to the task's first log line | {first_log:.3} s | < 1.5 s |");
    println!("BENCH run_first_log_s={first_log:.3}");
    println!("| StartExecution to the end, the sample workflow (callback), median of 5 | {result_s:.3} s | < 1.5 s |");
    println!("BENCH run_result_s={result_s:.3}");
    load.print();
    sfn_versus_moto(cloud).await?;
    teststate_figures(cloud).await
}

/// What many executions at once cost: their throughput and the gateway's peak memory.
struct LoadFigures {
    executions: usize,
    max_tasks: String,
    executions_per_s: f64,
    wall_seconds: f64,
    idle_rss_mb: Option<f64>,
    peak_rss_mb: Option<f64>,
}

impl LoadFigures {
    fn print(&self) {
        let (n, bound) = (self.executions, &self.max_tasks);
        println!(
            "| {n} executions started at once, until all ended (LOCALCLOUD_MAX_TASKS {bound}) | {:.3} s | |",
            self.wall_seconds
        );
        println!("| executions per second, {n} at once | {:.2} | |", self.executions_per_s);
        if let (Some(idle), Some(peak)) = (self.idle_rss_mb, self.peak_rss_mb) {
            println!("| gateway memory (VmRSS), idle before the load | {idle:.1} MiB | |");
            println!("| gateway memory (VmRSS), peak during the load | {peak:.1} MiB | |");
        }
        println!("BENCH executions_per_s={:.2}", self.executions_per_s);
        if let Some(peak) = self.peak_rss_mb {
            println!("BENCH gateway_peak_rss_mb={peak:.1}");
        }
    }
}

/// `BENCH_EXECUTIONS` (default 50) executions of the deployed workflow started at once through the
/// SDK, timed until every one has ended (each must succeed), with the gateway's VmRSS sampled
/// every 20 ms meanwhile. The task containers run within the local Fargate's bound, as a user's
/// would.
async fn load_figures(cloud: &LocalCloud, machine: &serde_json::Value) -> anyhow::Result<LoadFigures> {
    use integration_tests::load;
    let executions: usize = std::env::var("BENCH_EXECUTIONS").ok().and_then(|v| v.parse().ok()).unwrap_or(50).max(1);
    let machine = machine.as_str().ok_or_else(|| anyhow::anyhow!("the stack has no StateMachineArn output"))?;
    let sfn = aws_sdk_sfn::Client::new(cloud.sdk_config());
    let gateway = cloud.state_dir().and_then(load::gateway_pid);
    let idle_rss_mb = gateway.and_then(load::rss_kib).map(load::mib);
    let run = std::process::id();
    let inputs = (0..executions)
        .map(|i| (format!("bench-load-{run}-{i}"), format!(r#"{{"name":"bench-{i}","text":"one two three"}}"#)))
        .collect();
    let sampler = gateway.map(|pid| load::RssSampler::start(pid, std::time::Duration::from_millis(20)));
    let started = Instant::now();
    let arns = load::start_all(&sfn, machine, inputs).await?;
    load::until_terminal(&sfn, machine, &arns, std::time::Duration::from_secs(1800)).await?;
    let wall_seconds = started.elapsed().as_secs_f64();
    let peak_rss_mb = sampler.map(|s| load::mib(s.stop()));
    for arn in &arns {
        let described = sfn.describe_execution().execution_arn(arn).send().await?;
        anyhow::ensure!(
            described.status().as_str() == "SUCCEEDED",
            "{arn} ended {}: {:?} {:?}",
            described.status(),
            described.error(),
            described.cause()
        );
    }
    let max_tasks = std::env::var(localcloud::fargate::MAX_TASKS_ENV)
        .unwrap_or_else(|_| format!("{} (default)", localcloud::fargate::DEFAULT_MAX_TASKS));
    Ok(LoadFigures {
        executions,
        max_tasks,
        executions_per_s: executions as f64 / wall_seconds,
        wall_seconds,
        idle_rss_mb,
        peak_rss_mb,
    })
}

/// `BENCH run_result_s`: StartExecution to the execution's end for the sample workflow (its task
/// run as a container, its result reported with its token, the notification published), one
/// execution after another, DescribeExecution polled every 5 ms; the median of 5.
async fn run_result_seconds(cloud: &LocalCloud, machine: &serde_json::Value) -> anyhow::Result<f64> {
    let machine = machine.as_str().ok_or_else(|| anyhow::anyhow!("the stack has no StateMachineArn output"))?;
    let sfn = aws_sdk_sfn::Client::new(cloud.sdk_config());
    let mut times = Vec::new();
    for _ in 0..5 {
        let started = Instant::now();
        let execution = sfn
            .start_execution()
            .state_machine_arn(machine)
            .input(r#"{"name":"bench","text":"one two three"}"#)
            .send()
            .await?
            .execution_arn()
            .to_owned();
        loop {
            let described = sfn.describe_execution().execution_arn(&execution).send().await?;
            if described.status().as_str() != "RUNNING" {
                anyhow::ensure!(
                    described.status().as_str() == "SUCCEEDED",
                    "{execution} ended {}: {:?}",
                    described.status(),
                    described.cause()
                );
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(5)).await;
        }
        times.push(started.elapsed().as_secs_f64());
    }
    Ok(median(times))
}

/// From starting `provisioner run --follow` to its first line of the task's own output.
async fn run_first_log_seconds(
    (binary, env): (std::path::PathBuf, Vec<(String, String)>),
    stack: &str,
) -> anyhow::Result<f64> {
    use tokio::io::AsyncBufReadExt;
    let started = Instant::now();
    let mut child = tokio::process::Command::new(binary)
        .args(["run", "--follow", "--stack-name", stack, "--input", r#"{"name":"bench","text":"first log line"}"#])
        .envs(env)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()?;
    let stderr = child.stderr.take().ok_or_else(|| anyhow::anyhow!("no stderr"))?;
    let mut lines = tokio::io::BufReader::new(stderr).lines();
    let mut first = None;
    let mut seen = Vec::new();
    while let Some(line) = lines.next_line().await? {
        if first.is_none() && line.starts_with("   | ") {
            first = Some(started.elapsed().as_secs_f64());
        }
        seen.push(line);
    }
    let status = child.wait().await?;
    anyhow::ensure!(status.success(), "the run failed:\n{}", seen.join("\n"));
    first.ok_or_else(|| anyhow::anyhow!("the run showed no log line of the task:\n{}", seen.join("\n")))
}

/// The same Pass/Choice/Map-heavy definition run to the end, one execution after another, by our
/// interpreter (through the gateway) and by moto's own (its `execute_state_machine` mode, straight
/// at moto's internal port). Target: ours at least 10x faster. Then the same workflow written in
/// JSONata, through the gateway (`jsonata_vs_jsonpath`, its time over the JSONPath one's; target:
/// at most 2x), its output checked to be the JSONPath one's.
async fn sfn_versus_moto(cloud: &LocalCloud) -> anyhow::Result<()> {
    const EXECUTIONS: usize = 10;
    let state_dir =
        cloud.state_dir().ok_or_else(|| anyhow::anyhow!("the moto comparison needs the bench's own local cloud"))?;
    let moto_port: u16 = std::fs::read_to_string(state_dir.join("moto.port"))?.trim().parse()?;
    let moto_url = format!("http://127.0.0.1:{moto_port}");
    let agent: ureq::Agent = ureq::Agent::config_builder().proxy(None).build().into();
    agent
        .post(&format!("{moto_url}/moto-api/config"))
        .send_json(serde_json::json!({"stepfunctions": {"execute_state_machine": true}}))?;
    let items: Vec<u32> = (1..=50).collect();
    let definition = serde_json::json!({
        "StartAt": "Init",
        "States": {
            "Init": {"Type": "Pass", "Result": {"items": items}, "ResultPath": "$.data", "Next": "Each"},
            "Each": {
                "Type": "Map", "ItemsPath": "$.data.items", "MaxConcurrency": 10, "ResultPath": "$.sizes", "Next": "Done",
                "ItemProcessor": {"StartAt": "Check", "States": {
                    "Check": {"Type": "Choice", "Choices": [{"Variable": "$", "NumericGreaterThan": 25, "Next": "Big"}], "Default": "Small"},
                    "Big": {"Type": "Pass", "Result": "big", "End": true},
                    "Small": {"Type": "Pass", "Result": "small", "End": true}
                }}
            },
            "Done": {"Type": "Succeed"}
        }
    })
    .to_string();
    let (ours, last) = time_executions(cloud.sdk_config().clone(), &definition, "bench-ours", EXECUTIONS).await?;
    let history_ms = history_latency_ms(cloud.sdk_config(), &last).await?;
    // The same workflow in JSONata: same items, same path through the Choice, same output.
    let jsonata = serde_json::json!({
        "QueryLanguage": "JSONata",
        "StartAt": "Init",
        "States": {
            "Init": {"Type": "Pass", "Output": {"data": {"items": items}}, "Next": "Each"},
            "Each": {
                "Type": "Map", "Items": "{% $states.input.data.items %}", "MaxConcurrency": 10,
                "Output": "{% $merge([$states.input, {'sizes': $states.result}]) %}", "Next": "Done",
                "ItemProcessor": {"StartAt": "Check", "States": {
                    "Check": {"Type": "Choice", "Choices": [{"Condition": "{% $states.input > 25 %}", "Next": "Big"}], "Default": "Small"},
                    "Big": {"Type": "Pass", "Output": "big", "End": true},
                    "Small": {"Type": "Pass", "Output": "small", "End": true}
                }}
            },
            "Done": {"Type": "Succeed"}
        }
    })
    .to_string();
    let (ours_jsonata, last_jsonata) =
        time_executions(cloud.sdk_config().clone(), &jsonata, "bench-jsonata", EXECUTIONS).await?;
    let sfn = aws_sdk_sfn::Client::new(cloud.sdk_config());
    let output = |arn: String| {
        let sfn = sfn.clone();
        async move { anyhow::Ok(sfn.describe_execution().execution_arn(arn).send().await?.output) }
    };
    let (path_output, jsonata_output) = (output(last.clone()).await?, output(last_jsonata).await?);
    anyhow::ensure!(
        path_output == jsonata_output,
        "the two workflows differ: JSONPath gave {path_output:?}, JSONata {jsonata_output:?}"
    );
    let jsonata_ratio = ours_jsonata / ours;
    let moto_config = aws_config::SdkConfig::builder()
        .endpoint_url(&moto_url)
        .region(cloud.sdk_config().region().cloned())
        .credentials_provider(
            cloud.sdk_config().credentials_provider().ok_or_else(|| anyhow::anyhow!("no credentials"))?,
        )
        .behavior_version(aws_config::BehaviorVersion::latest())
        .build();
    let (moto, _) = time_executions(moto_config, &definition, "bench-moto", EXECUTIONS).await?;
    let speedup = moto / ours;
    println!("| {EXECUTIONS} Pass/Choice/Map executions, our interpreter | {ours:.3} s | |");
    println!("| the same, moto's own interpreter | {moto:.3} s | |");
    println!("| moto / ours | {speedup:.1}x | >= 10x |");
    println!("| GetExecutionHistory of one such execution, ours (median of 20) | {history_ms:.2} ms | |");
    println!("| the same {EXECUTIONS} executions written in JSONata, ours | {ours_jsonata:.3} s | |");
    println!("| JSONata / JSONPath | {jsonata_ratio:.2}x | <= 2x |");
    println!("BENCH sfn_jsonata_s={ours_jsonata:.3}");
    println!("BENCH jsonata_vs_jsonpath={jsonata_ratio:.2}");
    println!("BENCH sfn_ours_s={ours:.3}");
    println!("BENCH sfn_history_ms={history_ms:.2}");
    println!("BENCH sfn_moto_s={moto:.3}");
    println!("BENCH sfn_vs_moto_speedup={speedup:.2}");
    Ok(())
}

/// `BENCH teststate_ms`: the median of 100 TestState calls of a JSONata Pass state through the
/// gateway (the SDK's round trip included). Target: under 10 ms.
async fn teststate_figures(cloud: &LocalCloud) -> anyhow::Result<()> {
    let sfn = provisioner::host_prefix::sfn_client_with(cloud.sdk_config(), true);
    let definition = serde_json::json!({"Type": "Pass", "QueryLanguage": "JSONata",
        "Output": "{% $merge([$states.input, {'seen': true}]) %}", "Assign": {"n": "{% $states.input.n + 1 %}"},
        "Next": "After"})
    .to_string();
    let mut times = Vec::with_capacity(100);
    for n in 0..100 {
        let started = std::time::Instant::now();
        let answer = sfn
            .test_state()
            .definition(&definition)
            .input(format!(r#"{{"n": {n}}}"#))
            .inspection_level(aws_sdk_sfn::types::InspectionLevel::Debug)
            .send()
            .await?;
        times.push(started.elapsed().as_secs_f64() * 1000.0);
        anyhow::ensure!(answer.next_state() == Some("After"), "TestState answered {answer:?}");
    }
    let ms = median(times);
    println!("| TestState of a JSONata Pass state (median of 100) | {ms:.2} ms | < 10 ms |");
    println!("BENCH teststate_ms={ms:.2}");
    Ok(())
}

/// Creates the state machine, then runs `count` executions one after another, each to its end;
/// gives the time they took and the last execution's ARN. DescribeExecution is polled every 1 ms: at
/// 10 ms, most of a 10-20 ms execution was the poll's sleep, and the figures moved in steps of it.
async fn time_executions(
    config: aws_config::SdkConfig,
    definition: &str,
    name: &str,
    count: usize,
) -> anyhow::Result<(f64, String)> {
    let sfn = aws_sdk_sfn::Client::new(&config);
    let machine = sfn
        .create_state_machine()
        .name(name)
        .definition(definition)
        .role_arn("arn:aws:iam::123456789012:role/bench")
        .send()
        .await?
        .state_machine_arn;
    let started = Instant::now();
    let mut last = String::new();
    for i in 0..count {
        let execution = sfn.start_execution().state_machine_arn(&machine).name(format!("{name}-{i}")).send().await?;
        loop {
            let described = sfn.describe_execution().execution_arn(execution.execution_arn()).send().await?;
            match described.status().as_str() {
                "RUNNING" => tokio::time::sleep(std::time::Duration::from_millis(1)).await,
                "SUCCEEDED" => break,
                other => {
                    anyhow::bail!("{name} execution {i} ended {other}: {:?} {:?}", described.error(), described.cause())
                }
            }
        }
        last = execution.execution_arn;
    }
    Ok((started.elapsed().as_secs_f64(), last))
}

/// The median time of 20 GetExecutionHistory calls for one finished execution (its whole history
/// in one page): how fast the local cloud answers what `run --follow` and the console poll.
async fn history_latency_ms(config: &aws_config::SdkConfig, execution_arn: &str) -> anyhow::Result<f64> {
    let sfn = aws_sdk_sfn::Client::new(config);
    let mut times = Vec::new();
    for _ in 0..20 {
        let started = Instant::now();
        let history = sfn.get_execution_history().execution_arn(execution_arn).max_results(1000).send().await?;
        times.push(started.elapsed().as_secs_f64() * 1000.0);
        anyhow::ensure!(history.events().len() > 300, "the Map execution's history: {} events", history.events().len());
    }
    Ok(median(times))
}
