//! The local Fargate: ECS tasks that really run, as Docker containers. [`Fargate`] is the API the
//! gateway's ECS operations call, and what a Step Functions integration calls in process
//! (`run_task`, `wait_stopped`, `stop_task`). It reads task definitions and clusters from moto,
//! keeps the tasks it started (stopped ones too, so DescribeTasks finds them), and drives each
//! through its lifecycle in a tokio task of its own.
//!
//! At most `LOCALCLOUD_MAX_TASKS` tasks (default [`DEFAULT_MAX_TASKS`]) have a container at once;
//! the others wait in PROVISIONING, first come first served, as ECS holds tasks it has no capacity
//! for yet. Fifty executions started together on a 2-core laptop then queue instead of starting
//! fifty containers that fight for the CPU and the memory.
//!
//! `definition` merges a task definition and overrides into what to run, `task` is the ECS shape
//! and its transitions, `engine` the Docker side, `logs` the awslogs driver, `metadata` the task
//! metadata endpoint's documents.

pub mod definition;
pub mod engine;
pub mod logs;
pub mod metadata;
pub mod task;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde::Deserialize;
use serde_json::{Value, json};
use tokio::sync::{Semaphore, watch};

use crate::awsjson::AwsError;
use crate::upstream::Upstream;
use definition::{ContainerPlan, TaskDefinition, TaskOverride};
use engine::{Engine, TaskNetwork};
pub use task::{StopCode, Task};

const ECS: &str = "AmazonEC2ContainerServiceV20141113";

/// The variable that bounds how many tasks have a container at once (read at gateway start).
pub const MAX_TASKS_ENV: &str = "LOCALCLOUD_MAX_TASKS";
/// Enough to run a workflow's tasks side by side, few enough that a 2-core machine with a few GB
/// keeps up (each container costs the engine a shim process and a start-up of its own).
pub const DEFAULT_MAX_TASKS: usize = 8;

#[derive(Debug, thiserror::Error)]
#[error(
    "{MAX_TASKS_ENV}={value:?} is not a whole number of 1 or more; unset it for the default \
     ({DEFAULT_MAX_TASKS} task containers at once), or use e.g. 4"
)]
pub struct MaxTasksError {
    pub value: String,
}

/// The bound `LOCALCLOUD_MAX_TASKS` asks for ([`DEFAULT_MAX_TASKS`] when unset).
pub fn max_tasks_from_env() -> Result<usize, MaxTasksError> {
    parse_max_tasks(std::env::var(MAX_TASKS_ENV).ok().as_deref())
}

fn parse_max_tasks(value: Option<&str>) -> Result<usize, MaxTasksError> {
    match value {
        None => Ok(DEFAULT_MAX_TASKS),
        Some(text) => match text.trim().parse::<usize>() {
            // tokio's semaphore holds at most usize::MAX >> 3 permits.
            Ok(n) if (1..=Semaphore::MAX_PERMITS).contains(&n) => Ok(n),
            _ => Err(MaxTasksError { value: text.to_owned() }),
        },
    }
}

/// RunTask's request, as the JSON protocol sends it (the fields the local Fargate uses; the rest,
/// such as networkConfiguration, is accepted and has no local meaning).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RunTaskRequest {
    #[serde(default)]
    pub cluster: Option<String>,
    pub task_definition: String,
    #[serde(default)]
    pub count: Option<u32>,
    #[serde(default)]
    pub overrides: Option<TaskOverride>,
    #[serde(default)]
    pub launch_type: Option<String>,
    #[serde(default)]
    pub started_by: Option<String>,
    #[serde(default)]
    pub group: Option<String>,
}

/// A DescribeTasks failure entry.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Failure {
    pub arn: String,
    pub reason: String,
}

/// ListTasks' filters.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ListTasksRequest {
    #[serde(default)]
    pub cluster: Option<String>,
    #[serde(default)]
    pub family: Option<String>,
    #[serde(default)]
    pub started_by: Option<String>,
    #[serde(default)]
    pub desired_status: Option<String>,
}

/// True for the 32 lowercase hex digits of a task id.
pub fn is_task_id(s: &str) -> bool {
    s.len() == 32 && s.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

/// How long a stopped task is still listed and described: "at least one hour" on ECS.
const STOPPED_TASKS_KEPT_FOR: Duration = Duration::from_secs(3600);
/// How long an exit by SIGKILL waits for the engine's report of an OOM kill that came after it.
const OOM_REPORT_WAIT: Duration = Duration::from_secs(5);

/// Where tasks reach the local cloud: the gateway's address on the task network.
#[derive(Debug, Clone)]
pub struct TaskSide {
    pub network: TaskNetwork,
    /// `http://<gateway on the task network>:<port>`
    pub endpoint: String,
}

/// One task the local Fargate started.
struct Slot {
    state: watch::Sender<Task>,
    /// Set by StopTask: the reason.
    stop: watch::Sender<Option<String>>,
    plan: ContainerPlan,
    family: String,
    revision: u64,
    region: String,
    address: Mutex<Option<String>>,
    /// The last part of the task's credentials URI: random, as ECS's, so no other task on the
    /// network can name it.
    credentials_id: String,
    /// The task role's credentials as last assumed, and until when they are handed out again.
    credentials: Mutex<Option<(Value, std::time::Instant)>>,
}

impl Slot {
    fn new(task: Task, plan: ContainerPlan, family: String, revision: u64, region: String) -> Slot {
        Slot {
            state: watch::channel(task).0,
            stop: watch::channel(None).0,
            plan,
            family,
            revision,
            region,
            address: Mutex::new(None),
            credentials_id: uuid::Uuid::new_v4().to_string(),
            credentials: Mutex::new(None),
        }
    }
}

/// What a task has for its own AWS calls.
#[derive(Debug, Clone, PartialEq, Eq)]
enum TaskCredentials {
    /// No task role: nothing, as on AWS (its SDK finds no credentials).
    None,
    /// Its role's credentials at this URI, through its credentials agent on its own loopback.
    Endpoint(String),
    /// A task role, but no credentials agent to serve it (see the build script): the test keys.
    TestKeys,
}

/// How long an assumed role's credentials are handed out again: well inside STS's default hour.
const CREDENTIALS_REUSED_FOR: Duration = Duration::from_secs(45 * 60);

struct Inner {
    upstream: Upstream,
    engine: Option<Engine>,
    task_side: Option<TaskSide>,
    tasks: Mutex<HashMap<String, Arc<Slot>>>,
    running: tokio_util_tracker::Tracker,
    /// One permit per task that may have a container now; fair, so the queue is FIFO.
    capacity: Arc<Semaphore>,
    /// The credentials agent's image, imported at the first task with a task role; None when it
    /// could not be (the warning says why once).
    agent_image: tokio::sync::OnceCell<Option<String>>,
}

impl Inner {
    async fn agent_image(&self, engine: &Engine) -> Option<String> {
        self.agent_image
            .get_or_init(|| async {
                match engine.import_agent_image().await {
                    Ok(image) => Some(image),
                    Err(why) => {
                        tracing::warn!(
                            "tasks with a task role get the test keys instead of their role's credentials \
                             endpoint: {why}"
                        );
                        None
                    }
                }
            })
            .await
            .clone()
    }
}

/// The local Fargate. Cheap to clone; every clone sees the same tasks.
#[derive(Clone)]
pub struct Fargate {
    inner: Arc<Inner>,
}

impl Fargate {
    /// `engine` None: no Docker engine, every RunTask fails with a ServerException saying so.
    /// `task_side` None: tasks run with no network (and no metadata endpoint).
    /// `max_tasks`: how many tasks may have a container at once (at least 1).
    pub fn new(upstream: Upstream, engine: Option<Engine>, task_side: Option<TaskSide>, max_tasks: usize) -> Fargate {
        Fargate {
            inner: Arc::new(Inner {
                upstream,
                engine,
                task_side,
                tasks: Mutex::new(HashMap::new()),
                running: Default::default(),
                capacity: Arc::new(Semaphore::new(max_tasks.clamp(1, Semaphore::MAX_PERMITS))),
                agent_image: tokio::sync::OnceCell::new(),
            }),
        }
    }

    fn slot(&self, arn_or_id: &str) -> Option<Arc<Slot>> {
        let tasks = self.inner.tasks.lock().unwrap_or_else(|e| e.into_inner());
        tasks.get(arn_or_id).cloned().or_else(|| tasks.values().find(|s| s.state.borrow().id() == arn_or_id).cloned())
    }

    /// The ARN of `cluster` (a name or an ARN; None is "default") when it exists in `region`.
    async fn cluster_arn(&self, region: &str, cluster: Option<&str>) -> Result<String, AwsError> {
        let cluster = cluster.unwrap_or("default");
        let answer = self
            .inner
            .upstream
            .call_json(&format!("{ECS}.DescribeClusters"), region, &json!({"clusters": [cluster]}))
            .await?;
        answer["clusters"]
            .as_array()
            .into_iter()
            .flatten()
            .find(|c| c["status"] == "ACTIVE")
            .and_then(|c| c["clusterArn"].as_str())
            .map(str::to_owned)
            .ok_or_else(AwsError::cluster_not_found)
    }

    /// Starts `request.count` tasks (1 when absent) and returns them as RunTask reports them, in
    /// PROVISIONING. They go on running in the background.
    pub async fn run_task(&self, region: &str, request: RunTaskRequest) -> Result<Vec<Task>, AwsError> {
        let count = request.count.unwrap_or(1);
        if !(1..=10).contains(&count) {
            return Err(AwsError::invalid_parameter(format!("count must be between 1 and 10, got {count}.")));
        }
        if let Some(launch_type) = request.launch_type.as_deref().filter(|l| *l != "FARGATE") {
            return Err(AwsError::invalid_parameter(format!(
                "launchType {launch_type} is not served by the local cloud; it runs tasks as FARGATE."
            )));
        }
        let cluster_arn = self.cluster_arn(region, request.cluster.as_deref()).await?;
        let described = self
            .inner
            .upstream
            .call_json(
                &format!("{ECS}.DescribeTaskDefinition"),
                region,
                &json!({"taskDefinition": request.task_definition}),
            )
            .await?;
        let definition: TaskDefinition = serde_json::from_value(described["taskDefinition"].clone()).map_err(|e| {
            AwsError::server(format!("moto's task definition {} is not as expected: {e}", request.task_definition))
        })?;
        let overrides = request.overrides.clone().unwrap_or_default();
        let plan = definition.plan(&overrides)?;
        let Some(engine) = self.inner.engine.clone() else {
            return Err(AwsError::server(
                "the local cloud's gateway has no Docker engine, so it cannot run tasks; start Docker \
                 and restart the local cloud (`localcloud down && localcloud up`)",
            ));
        };
        self.forget_stopped_before(now() - STOPPED_TASKS_KEPT_FOR.as_secs_f64());
        let mut tasks = Vec::new();
        for _ in 0..count {
            let task = self.new_task(&cluster_arn, &definition, &plan, &request, &overrides);
            let slot = Arc::new(Slot::new(
                task.clone(),
                plan.clone(),
                definition.family.clone(),
                definition.revision,
                region.to_owned(),
            ));
            self.inner.tasks.lock().unwrap_or_else(|e| e.into_inner()).insert(task.task_arn.clone(), slot.clone());
            let inner = self.inner.clone();
            let engine = engine.clone();
            let region = region.to_owned();
            self.inner.running.spawn(async move { lifecycle(inner, engine, slot, region).await });
            tasks.push(task);
        }
        Ok(tasks)
    }

    fn new_task(
        &self,
        cluster_arn: &str,
        definition: &TaskDefinition,
        plan: &ContainerPlan,
        request: &RunTaskRequest,
        overrides: &TaskOverride,
    ) -> Task {
        let id = uuid::Uuid::new_v4().simple().to_string();
        // arn:aws:ecs:REGION:ACCOUNT:cluster/NAME -> the task's ARN in the same region and account.
        let (prefix, cluster_name) = cluster_arn.split_once(":cluster/").unwrap_or((cluster_arn, "default"));
        let task_arn = format!("{prefix}:task/{cluster_name}/{id}");
        let region = prefix.split(':').nth(3).unwrap_or(crate::REGION);
        task::Task {
            task_arn: task_arn.clone(),
            cluster_arn: cluster_arn.to_owned(),
            task_definition_arn: definition.task_definition_arn.clone(),
            last_status: task::PROVISIONING,
            desired_status: task::RUNNING,
            launch_type: "FARGATE",
            platform_version: "1.4.0",
            platform_family: "Linux",
            availability_zone: format!("{region}a"),
            connectivity: "CONNECTING",
            cpu: plan.task_cpu.clone(),
            memory: plan.task_memory.clone(),
            containers: vec![task::Container {
                container_arn: format!("{prefix}:container/{cluster_name}/{id}/{}", uuid::Uuid::new_v4()),
                task_arn,
                name: plan.name.clone(),
                image: plan.image.clone(),
                runtime_id: None,
                last_status: task::PENDING,
                exit_code: None,
                reason: None,
                health_status: "UNKNOWN",
                cpu: plan.nano_cpus.map(|n| (n * 1024 / 1_000_000_000).to_string()),
                memory: plan.memory_mib.map(|m| m.to_string()),
                network_interfaces: vec![],
            }],
            overrides: serde_json::to_value(overrides).unwrap_or(json!({})),
            group: request.group.clone().unwrap_or_else(|| format!("family:{}", definition.family)),
            started_by: request.started_by.clone(),
            version: 1,
            created_at: now(),
            pull_started_at: None,
            pull_stopped_at: None,
            started_at: None,
            stopping_at: None,
            stopped_at: None,
            stop_code: None,
            stopped_reason: None,
            tags: vec![],
            attachments: vec![],
            enable_execute_command: false,
        }
    }

    /// Drops the tasks that stopped before `cutoff` (seconds since the epoch): ECS lists and
    /// describes a stopped task for an hour, then no more, so the tasks of a long session do not
    /// add up in memory.
    fn forget_stopped_before(&self, cutoff: f64) {
        let mut tasks = self.inner.tasks.lock().unwrap_or_else(|e| e.into_inner());
        tasks.retain(|_, slot| slot.state.borrow().stopped_at.is_none_or(|stopped| stopped >= cutoff));
    }

    /// The tasks named (by ARN or id) in `cluster`; the others as failures with reason MISSING.
    pub async fn describe_tasks(
        &self,
        region: &str,
        cluster: Option<&str>,
        tasks: &[String],
    ) -> Result<(Vec<Task>, Vec<Failure>), AwsError> {
        let cluster_arn = self.cluster_arn(region, cluster).await?;
        let (mut found, mut failures) = (Vec::new(), Vec::new());
        for name in tasks {
            match self.slot(name).map(|s| s.state.borrow().clone()).filter(|t| t.cluster_arn == cluster_arn) {
                Some(task) => found.push(task),
                None => failures.push(Failure { arn: name.clone(), reason: "MISSING".into() }),
            }
        }
        Ok((found, failures))
    }

    /// A task as it is now, by ARN or id, whatever its cluster.
    pub fn task(&self, arn_or_id: &str) -> Option<Task> {
        self.slot(arn_or_id).map(|s| s.state.borrow().clone())
    }

    /// Waits until the task has stopped (the container exited, its logs shipped, and it was
    /// removed) and returns it as DescribeTasks then reports it.
    pub async fn wait_stopped(&self, task_arn: &str) -> Result<Task, AwsError> {
        let slot =
            self.slot(task_arn).ok_or_else(|| AwsError::invalid_parameter("The referenced task was not found."))?;
        let mut receiver = slot.state.subscribe();
        let stopped = receiver
            .wait_for(Task::is_stopped)
            .await
            .map_err(|_| AwsError::server("the local Fargate shut down before the task stopped"))?;
        Ok(stopped.clone())
    }

    /// Stops a task: SIGTERM, then SIGKILL after its container's stopTimeout. Returns at once with
    /// the task as StopTask reports it (desiredStatus STOPPED); `wait_stopped` waits for the rest.
    pub async fn stop_task(
        &self,
        region: &str,
        cluster: Option<&str>,
        task: &str,
        reason: Option<&str>,
    ) -> Result<Task, AwsError> {
        let cluster_arn = self.cluster_arn(region, cluster).await?;
        let slot = self
            .slot(task)
            .filter(|s| s.state.borrow().cluster_arn == cluster_arn)
            .ok_or_else(|| AwsError::invalid_parameter("The referenced task was not found."))?;
        let reason = reason.filter(|r| !r.is_empty()).unwrap_or(task::STOPPED_BY_USER).to_owned();
        slot.state.send_modify(|t| t.stopping(now(), StopCode::UserInitiated, &reason));
        slot.stop.send_if_modified(|current| {
            let first = current.is_none();
            if first {
                *current = Some(reason);
            }
            first
        });
        Ok(slot.state.borrow().clone())
    }

    /// The ARNs of the tasks in `cluster` matching the filters (desiredStatus RUNNING by default,
    /// as ECS lists).
    pub async fn list_tasks(&self, region: &str, request: &ListTasksRequest) -> Result<Vec<String>, AwsError> {
        let cluster_arn = self.cluster_arn(region, request.cluster.as_deref()).await?;
        let desired = request.desired_status.as_deref().unwrap_or(task::RUNNING);
        let tasks = self.inner.tasks.lock().unwrap_or_else(|e| e.into_inner());
        let mut listed: Vec<(f64, String)> = tasks
            .values()
            .filter(|s| request.family.as_deref().is_none_or(|f| f == s.family))
            .map(|s| s.state.borrow().clone())
            .filter(|t| t.cluster_arn == cluster_arn && t.desired_status == desired)
            .filter(|t| request.started_by.is_none() || t.started_by == request.started_by)
            .map(|t| (t.created_at, t.task_arn))
            .collect();
        listed.sort_by(|a, b| a.0.total_cmp(&b.0));
        Ok(listed.into_iter().map(|(_, arn)| arn).collect())
    }

    /// The task metadata endpoint's documents for a task id: (container, task).
    pub fn metadata(&self, task_id: &str) -> Option<(Value, Value)> {
        let slot = self.slot(task_id)?;
        let task = slot.state.borrow().clone();
        let address = slot.address.lock().unwrap_or_else(|e| e.into_inner()).clone();
        let facts = metadata::Facts {
            family: &slot.family,
            revision: slot.revision,
            plan: &slot.plan,
            address: address.as_deref(),
        };
        Some((metadata::container(&task, &facts), metadata::task(&task, &facts)))
    }

    /// The container credentials endpoint's document for the task whose credentials id is `id`
    /// (ECS's shape: AccessKeyId, SecretAccessKey, Token, Expiration, RoleArn): its task role,
    /// assumed through the local cloud's STS. Err: the HTTP status and ECS agent's error document,
    /// for an id no running task with a task role holds.
    pub async fn credentials(&self, id: &str) -> Result<Value, (u16, Value)> {
        let not_found = || {
            (
                400,
                json!({"code": "InvalidIdInRequest", "message": format!("CredentialsV2Request: Credentials not found for id {id}")}),
            )
        };
        let slot = {
            let tasks = self.inner.tasks.lock().unwrap_or_else(|e| e.into_inner());
            tasks.values().find(|s| s.credentials_id == id).cloned()
        }
        .filter(|s| !s.state.borrow().is_stopped())
        .ok_or_else(not_found)?;
        let role = slot.plan.task_role_arn.clone().ok_or_else(not_found)?;
        let cached = slot.credentials.lock().unwrap_or_else(|e| e.into_inner()).clone();
        if let Some((document, until)) = cached
            && std::time::Instant::now() < until
        {
            return Ok(document);
        }
        let task_id = slot.state.borrow().id().to_owned();
        let params: Vec<(String, String)> = [
            ("Action", "AssumeRole"),
            ("Version", "2011-06-15"),
            ("RoleArn", role.as_str()),
            ("RoleSessionName", task_id.as_str()),
        ]
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
        let answer = self.inner.upstream.call_query("sts", &slot.region, &params).await.map_err(|e| {
            tracing::warn!(role, "the task role could not be assumed: {e}");
            (500, json!({"code": "InternalError", "message": format!("could not assume the task role {role}: {e}")}))
        })?;
        let field = |name: &str| crate::upstream::xml_element(&answer, name).unwrap_or_default().to_owned();
        let document = json!({
            "AccessKeyId": field("AccessKeyId"),
            "SecretAccessKey": field("SecretAccessKey"),
            "Token": field("SessionToken"),
            "Expiration": field("Expiration"),
            "RoleArn": role,
        });
        *slot.credentials.lock().unwrap_or_else(|e| e.into_inner()) =
            Some((document.clone(), std::time::Instant::now() + CREDENTIALS_REUSED_FOR));
        Ok(document)
    }

    /// Stops every task still running (SIGKILL: the gateway is going away) and waits for their
    /// lifecycles to finish, so their containers are removed.
    pub async fn shutdown(&self, grace: Duration) {
        let slots: Vec<Arc<Slot>> =
            self.inner.tasks.lock().unwrap_or_else(|e| e.into_inner()).values().cloned().collect();
        for slot in slots {
            slot.stop.send_if_modified(|current| {
                let first = current.is_none();
                if first {
                    *current = Some("The local cloud's gateway stopped".into());
                }
                first
            });
        }
        if tokio::time::timeout(grace, self.inner.running.wait()).await.is_err() {
            tracing::warn!(
                "tasks still stopping after {grace:?}; their containers are removed by the next start or `down`"
            );
        }
    }
}

pub(crate) fn now() -> f64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_secs_f64()).unwrap_or(0.0)
}

/// A small counter of running lifecycles, so shutdown can wait for them.
mod tokio_util_tracker {
    use std::future::Future;
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use tokio::sync::Notify;

    #[derive(Default)]
    pub struct Tracker {
        count: Arc<AtomicUsize>,
        done: Arc<Notify>,
    }

    impl Tracker {
        pub fn spawn(&self, future: impl Future<Output = ()> + Send + 'static) {
            self.count.fetch_add(1, Ordering::SeqCst);
            let (count, done) = (self.count.clone(), self.done.clone());
            tokio::spawn(async move {
                future.await;
                count.fetch_sub(1, Ordering::SeqCst);
                done.notify_waiters();
            });
        }

        pub async fn wait(&self) {
            loop {
                let notified = self.done.notified();
                if self.count.load(Ordering::SeqCst) == 0 {
                    return;
                }
                notified.await;
            }
        }
    }
}

/// One task from PROVISIONING to STOPPED, its container removed at the end.
async fn lifecycle(inner: Arc<Inner>, engine: Engine, slot: Arc<Slot>, region: String) {
    let task_arn = slot.state.borrow().task_arn.clone();
    let task_id = slot.state.borrow().id().to_owned();
    let plan = slot.plan.clone();
    let stop_requested = || slot.stop.borrow().is_some();
    let fail = |reason: String| {
        tracing::info!(task = %task_arn, "task failed to start: {reason}");
        slot.state.send_modify(|t| t.failed_to_start(now(), &reason));
    };

    // Queued in PROVISIONING until a container may start; a StopTask (or the gateway stopping)
    // takes the task out of the queue at once. The permit is held until its container is removed.
    let _permit = {
        let mut stop = slot.stop.subscribe();
        tokio::select! {
            biased;
            _ = stop.wait_for(Option::is_some) => {
                slot.state.send_modify(|t| t.stopped(now(), None));
                return;
            }
            permit = inner.capacity.clone().acquire_owned() => match permit {
                Ok(permit) => permit,
                // Never closed; were it, the task could not start.
                Err(_) => return fail("ResourceInitializationError: the local Fargate is shutting down".into()),
            },
        }
    };
    slot.state.send_modify(|t| t.pending(now()));
    if let Err(message) = engine.pull(&plan.image).await {
        return fail(format!("CannotPullContainerError: pull image {}: {message}", plan.image));
    }
    slot.state.send_modify(|t| t.pulled(now()));

    let logs = match &plan.awslogs {
        Some(awslogs) => {
            let destination = logs::Destination {
                region: awslogs.region.clone().unwrap_or_else(|| region.clone()),
                group: awslogs.group.clone(),
                stream: awslogs.stream_name(&plan.name, &task_id),
            };
            if let Err(e) = destination.create(&inner.upstream, awslogs.create_group).await {
                return fail(format!(
                    "ResourceInitializationError: failed to validate logger args: create stream has been retried 1 \
                     times: {e} (log group {})",
                    destination.group
                ));
            }
            Some(destination)
        }
        None => None,
    };
    if stop_requested() {
        slot.state.send_modify(|t| t.stopped(now(), None));
        return;
    }

    // A task with a task role gets its credentials agent first: a container on the task network
    // whose network namespace the task's container joins, as a Fargate task's join their pause
    // container's.
    let side = inner.task_side.as_ref();
    let (agent, credentials) = match (side, &plan.task_role_arn) {
        (Some(side), Some(_)) => match inner.agent_image(&engine).await {
            Some(image) => {
                let gateway = side.endpoint.trim_start_matches("http://");
                let name = format!("localcloud-{task_id}.credentials");
                match engine.start_agent(&image, &name, &task_arn, &side.network.name, gateway).await {
                    Ok(agent) => (
                        Some(agent),
                        TaskCredentials::Endpoint(format!(
                            "http://127.0.0.1:{}/v2/credentials/{}",
                            engine::AGENT_PORT,
                            slot.credentials_id
                        )),
                    ),
                    Err(message) => {
                        return fail(format!(
                            "ResourceInitializationError: could not start the task's credentials agent: {message}"
                        ));
                    }
                }
            }
            None => (None, TaskCredentials::TestKeys),
        },
        _ => (None, TaskCredentials::None),
    };
    let remove_agent = || async {
        if let Some(agent) = &agent
            && let Err(e) = engine.remove(agent).await
        {
            tracing::warn!(task = %task_arn, container = %agent, "could not remove the task's credentials agent: {e}");
        }
    };
    let environment = task_environment(&plan, &task_id, &region, side, &credentials);
    let network = match &agent {
        Some(agent) => Some(format!("container:{agent}")),
        None => side.map(|s| s.network.name.clone()),
    };
    let container_name = format!("localcloud-{task_id}-{}", sanitize(&plan.name));
    // Whole seconds, a second early: Docker's `since` takes seconds, and an event of this container
    // cannot come before it exists.
    let created_at =
        std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_secs() as i64 - 1);
    let id = match engine.create(&plan, &container_name, &task_arn, network.as_deref(), environment).await {
        Ok(id) => id,
        Err(message) => {
            remove_agent().await;
            return fail(format!("CannotCreateContainerError: {message}"));
        }
    };
    if let Err(message) = engine.start(&id).await {
        let _ = engine.remove(&id).await;
        remove_agent().await;
        return fail(format!("CannotStartContainerError: {message}"));
    }
    // The task's address is its network namespace's: the agent's when it has one.
    *slot.address.lock().unwrap_or_else(|e| e.into_inner()) = engine.address(agent.as_deref().unwrap_or(&id)).await;
    slot.state.send_modify(|t| t.running(now(), &id));
    tracing::info!(task = %task_arn, container = %id, "task running");

    let shipping = logs.map(|destination| {
        let upstream = inner.upstream.clone();
        let output = engine.logs(&id);
        tokio::spawn(async move { logs::ship(&upstream, &destination, output).await })
    });

    let mut stop = slot.stop.subscribe();
    let (mut exit, stopped_here) = {
        let waiting = engine.wait(&id);
        tokio::pin!(waiting);
        tokio::select! {
            exit = &mut waiting => (exit, false),
            _ = async { stop.wait_for(Option::is_some).await.map(|_| ()) } => {
                let timeout = plan.stop_timeout_seconds;
                (tokio::join!(engine.stop(&id, timeout), waiting).1, true)
            }
        }
    };
    // A SIGKILL nobody here sent, in a container with a memory limit: the kernel's OOM killer, unless
    // the engine says otherwise once its OOM report has had time to arrive.
    if !exit.oom_killed && !stopped_here && exit.exit_code == Some(137) && plan.memory_mib.is_some() {
        exit.oom_killed = engine.oom_event(&id, created_at, OOM_REPORT_WAIT).await;
    }
    slot.state.send_modify(|t| t.stopping(now(), StopCode::EssentialContainerExited, task::ESSENTIAL_CONTAINER_EXITED));
    if let Some(shipping) = shipping {
        // The engine ends the log stream when the container exits; a follower that sees STOPPED
        // finds every line shipped.
        match tokio::time::timeout(Duration::from_secs(30), shipping).await {
            Ok(Ok(events)) => tracing::debug!(task = %task_arn, events, "logs shipped"),
            _ => {
                tracing::warn!(task = %task_arn, "the task's logs were not all shipped within 30 s")
            }
        }
    }
    if let Err(e) = engine.remove(&id).await {
        tracing::warn!(task = %task_arn, container = %id, "could not remove the task's container: {e}");
    }
    remove_agent().await;
    slot.state.send_modify(|t| t.stopped(now(), Some(exit)));
    tracing::info!(task = %task_arn, stop_code = ?slot.state.borrow().stop_code, "task stopped");
}

/// What a task finds in its environment: what Fargate sets (the metadata endpoint, the region, its
/// task role's credentials URI), the local cloud's endpoint, then the task definition's and the
/// overrides' own variables, which win.
fn task_environment(
    plan: &ContainerPlan,
    task_id: &str,
    region: &str,
    task_side: Option<&TaskSide>,
    credentials: &TaskCredentials,
) -> Vec<String> {
    let mut env: Vec<(String, String)> = vec![
        ("AWS_EXECUTION_ENV".into(), "AWS_ECS_FARGATE".into()),
        ("AWS_REGION".into(), region.into()),
        ("AWS_DEFAULT_REGION".into(), region.into()),
    ];
    if let Some(side) = task_side {
        let metadata = format!("{}/v4/{task_id}", side.endpoint);
        env.extend([
            ("ECS_CONTAINER_METADATA_URI_V4".into(), metadata.clone()),
            ("ECS_CONTAINER_METADATA_URI".into(), metadata),
            ("AWS_ENDPOINT_URL".into(), side.endpoint.clone()),
        ]);
    }
    match credentials {
        TaskCredentials::None => {}
        TaskCredentials::Endpoint(uri) => env.push(("AWS_CONTAINER_CREDENTIALS_FULL_URI".into(), uri.clone())),
        TaskCredentials::TestKeys => {
            env.extend([("AWS_ACCESS_KEY_ID".into(), "test".into()), ("AWS_SECRET_ACCESS_KEY".into(), "test".into())])
        }
    }
    for pair in &plan.environment {
        env.retain(|(k, _)| *k != pair.name);
        env.push((pair.name.clone(), pair.value.clone()));
    }
    env.into_iter().map(|(k, v)| format!("{k}={v}")).collect()
}

/// A container name Docker accepts: [a-zA-Z0-9_.-].
fn sanitize(name: &str) -> String {
    name.chars().map(|c| if c.is_ascii_alphanumeric() || "_.-".contains(c) { c } else { '-' }).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use definition::KeyValuePair;

    fn plan(environment: Vec<KeyValuePair>) -> ContainerPlan {
        ContainerPlan {
            name: "servicefull".into(),
            image: "img".into(),
            entry_point: None,
            command: None,
            environment,
            working_directory: None,
            user: None,
            cap_add: vec![],
            cap_drop: vec![],
            nano_cpus: None,
            memory_mib: None,
            stop_timeout_seconds: 30,
            awslogs: None,
            task_cpu: None,
            task_memory: None,
            task_role_arn: None,
        }
    }

    fn side() -> TaskSide {
        TaskSide {
            network: TaskNetwork { name: "n".into(), gateway: "172.18.0.1".parse().unwrap() },
            endpoint: "http://172.18.0.1:4566".into(),
        }
    }

    #[test]
    fn a_task_reaches_the_gateway_on_the_task_network_and_its_own_variables_win() {
        let side = side();
        let uri = "http://127.0.0.1:51679/v2/credentials/5e0e7e3c-6a1b-4d4e-9c3f-2d6f8e1a0b7c";
        let env = task_environment(
            &plan(vec![KeyValuePair { name: "AWS_REGION".into(), value: "eu-west-1".into() }]),
            "0123456789abcdef0123456789abcdef",
            "us-east-1",
            Some(&side),
            &TaskCredentials::Endpoint(uri.into()),
        );
        assert!(env.contains(
            &"ECS_CONTAINER_METADATA_URI_V4=http://172.18.0.1:4566/v4/0123456789abcdef0123456789abcdef".into()
        ));
        assert!(env.contains(&"AWS_ENDPOINT_URL=http://172.18.0.1:4566".into()));
        assert!(env.contains(&format!("AWS_CONTAINER_CREDENTIALS_FULL_URI={uri}")), "{env:?}");
        assert!(!env.iter().any(|v| v.starts_with("AWS_ACCESS_KEY_ID=")), "the role's, not static keys: {env:?}");
        assert!(
            env.contains(&"AWS_REGION=eu-west-1".into()) && !env.contains(&"AWS_REGION=us-east-1".into()),
            "{env:?}"
        );
    }

    /// On AWS a task without a task role has no credentials at all; with a role but no agent to
    /// serve it (a build without one), the local Fargate falls back to the test keys.
    #[test]
    fn a_task_without_a_role_has_no_credentials_and_without_an_agent_the_test_keys() {
        let side = side();
        let id = "0123456789abcdef0123456789abcdef";
        let none = task_environment(&plan(vec![]), id, "us-east-1", Some(&side), &TaskCredentials::None);
        assert!(
            !none.iter().any(|v| v.starts_with("AWS_ACCESS_KEY_ID=") || v.starts_with("AWS_CONTAINER_CREDENTIALS"))
        );
        let keys = task_environment(&plan(vec![]), id, "us-east-1", Some(&side), &TaskCredentials::TestKeys);
        assert!(keys.contains(&"AWS_ACCESS_KEY_ID=test".into()) && keys.contains(&"AWS_SECRET_ACCESS_KEY=test".into()));
        assert!(!keys.iter().any(|v| v.starts_with("AWS_CONTAINER_CREDENTIALS")), "{keys:?}");
    }

    #[test]
    fn max_tasks_defaults_and_a_bad_value_is_named_with_the_fix() {
        assert_eq!(parse_max_tasks(None).unwrap(), DEFAULT_MAX_TASKS);
        assert_eq!(parse_max_tasks(Some(" 3 ")).unwrap(), 3);
        for bad in ["0", "-1", "two", "", "1.5"] {
            let err = parse_max_tasks(Some(bad)).unwrap_err().to_string();
            assert!(err.contains(&format!("LOCALCLOUD_MAX_TASKS={bad:?}")), "{err}");
            assert!(err.contains("unset it") && err.contains(&DEFAULT_MAX_TASKS.to_string()), "{err}");
        }
    }

    /// As ECS: a stopped task is described for an hour, then forgotten, so memory does not grow
    /// with every task a long session ran; a running task is never forgotten.
    #[test]
    fn a_task_stopped_over_an_hour_ago_is_forgotten_and_the_others_are_kept() {
        let fargate = Fargate::new(Upstream::new(1), None, None, 1);
        let definition: TaskDefinition = serde_json::from_value(json!({
            "taskDefinitionArn": "arn:aws:ecs:us-east-1:123456789012:task-definition/f:1", "family": "f", "revision": 1
        }))
        .unwrap();
        let request = RunTaskRequest { task_definition: "f:1".into(), ..Default::default() };
        let cluster = "arn:aws:ecs:us-east-1:123456789012:cluster/c";
        let at = now();
        let mut arns = Vec::new();
        for stopped_at in [Some(at - 3700.0), Some(at - 60.0), None] {
            let mut task = fargate.new_task(cluster, &definition, &plan(vec![]), &request, &TaskOverride::default());
            if let Some(when) = stopped_at {
                task.stopped(when, None);
            }
            let slot = Slot::new(task.clone(), plan(vec![]), "f".into(), 1, "us-east-1".into());
            fargate.inner.tasks.lock().unwrap().insert(task.task_arn.clone(), Arc::new(slot));
            arns.push(task.task_arn);
        }
        fargate.forget_stopped_before(at - STOPPED_TASKS_KEPT_FOR.as_secs_f64());
        let kept: Vec<bool> = arns.iter().map(|arn| fargate.task(arn).is_some()).collect();
        assert_eq!(kept, [false, true, true], "stopped 3700 s ago, stopped 60 s ago, running");
    }

    #[test]
    fn task_ids_are_32_lowercase_hex_digits() {
        assert!(is_task_id(&uuid::Uuid::new_v4().simple().to_string()));
        assert!(!is_task_id("0123456789ABCDEF0123456789abcdef"));
        assert!(!is_task_id("short"));
        assert_eq!(sanitize("my app/1"), "my-app-1");
    }
}
