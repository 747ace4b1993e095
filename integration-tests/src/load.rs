//! Load on a local cloud, shared by the load test and `just bench`: many Step Functions executions
//! started at once through the SDK, the wait until every one has ended, and the gateway's resident
//! memory (VmRSS in /proc), read and sampled while the load runs.

use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use aws_sdk_sfn::types::ExecutionStatus;

/// The PID of the gateway a local cloud in `state_dir` recorded (`gateway.pid`).
pub fn gateway_pid(state_dir: &Path) -> Option<u32> {
    std::fs::read_to_string(state_dir.join("gateway.pid")).ok()?.trim().parse().ok()
}

/// The resident memory of `pid` in KiB (VmRSS), None once it is gone.
pub fn rss_kib(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

/// What the gateway at `endpoint` holds allocated, in bytes (its allocator's figure, from
/// `/_localcloud/memory`): unlike VmRSS, it does not count freed memory the allocator has not
/// given back yet. None where the allocator does not report it.
pub fn gateway_heap_in_use(endpoint: &str) -> anyhow::Result<Option<u64>> {
    let url = format!("{}{}", endpoint.trim_end_matches('/'), localcloud::gateway::MEMORY_PATH);
    let document: serde_json::Value = crate::loopback_agent().get(&url).call()?.body_mut().read_json()?;
    Ok(document["in_use_bytes"].as_u64())
}

/// KiB as MiB, for messages and figures.
pub fn mib(kib: u64) -> f64 {
    kib as f64 / 1024.0
}

/// Samples a process's VmRSS on a thread of its own until dropped or [`RssSampler::stop`]ped;
/// keeps the highest value seen.
pub struct RssSampler {
    peak: Arc<AtomicU64>,
    done: Arc<AtomicBool>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl RssSampler {
    pub fn start(pid: u32, every: Duration) -> RssSampler {
        let peak = Arc::new(AtomicU64::new(rss_kib(pid).unwrap_or(0)));
        let done = Arc::new(AtomicBool::new(false));
        let thread = {
            let (peak, done) = (peak.clone(), done.clone());
            std::thread::spawn(move || {
                while !done.load(Ordering::Relaxed) {
                    if let Some(kib) = rss_kib(pid) {
                        peak.fetch_max(kib, Ordering::Relaxed);
                    }
                    std::thread::sleep(every);
                }
            })
        };
        RssSampler { peak, done, thread: Some(thread) }
    }

    /// Stops sampling; the peak in KiB.
    pub fn stop(mut self) -> u64 {
        self.finish();
        self.peak.load(Ordering::Relaxed)
    }

    fn finish(&mut self) {
        self.done.store(true, Ordering::Relaxed);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

impl Drop for RssSampler {
    fn drop(&mut self) {
        self.finish();
    }
}

/// Starts one execution of `machine` per `(name, input)`, all at once (each StartExecution in a
/// tokio task of its own), and returns their ARNs in the order given.
pub async fn start_all(
    sfn: &aws_sdk_sfn::Client,
    machine: &str,
    executions: Vec<(String, String)>,
) -> anyhow::Result<Vec<String>> {
    let mut starting = tokio::task::JoinSet::new();
    for (i, (name, input)) in executions.into_iter().enumerate() {
        let (sfn, machine) = (sfn.clone(), machine.to_owned());
        starting.spawn(async move {
            let started = sfn.start_execution().state_machine_arn(machine).name(&name).input(input).send().await;
            (i, name, started.map(|s| s.execution_arn().to_owned()))
        });
    }
    let mut arns = Vec::new();
    while let Some(joined) = starting.join_next().await {
        let (i, name, started) = joined?;
        let arn = started.map_err(|e| anyhow::anyhow!("StartExecution {name}: {e:?}"))?;
        arns.push((i, arn));
    }
    arns.sort();
    Ok(arns.into_iter().map(|(_, arn)| arn).collect())
}

/// Waits until none of `arns` (executions of `machine`) is RUNNING, polling ListExecutions (one
/// request per poll however many executions there are, so the wait adds little load of its own).
/// `patience` only keeps a broken run from hanging; it is no assertion about speed.
pub async fn until_terminal(
    sfn: &aws_sdk_sfn::Client,
    machine: &str,
    arns: &[String],
    patience: Duration,
) -> anyhow::Result<()> {
    let started = Instant::now();
    loop {
        let mut running = Vec::new();
        let mut token = None;
        loop {
            let page = sfn
                .list_executions()
                .state_machine_arn(machine)
                .status_filter(ExecutionStatus::Running)
                .max_results(1000)
                .set_next_token(token)
                .send()
                .await
                .map_err(|e| anyhow::anyhow!("ListExecutions: {e:?}"))?;
            running.extend(page.executions().iter().map(|e| e.execution_arn().to_owned()));
            token = page.next_token().map(str::to_owned);
            if token.is_none() {
                break;
            }
        }
        let ours = arns.iter().filter(|a| running.contains(a)).count();
        if ours == 0 {
            return Ok(());
        }
        anyhow::ensure!(
            started.elapsed() < patience,
            "{ours} of {} executions still RUNNING after {patience:?}",
            arns.len()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}
