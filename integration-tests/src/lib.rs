//! The test harness's view of the cloud: [`LocalCloud`] brings the local cloud (moto, the registry
//! and the gateway in front of moto) up for a test run, in a temporary state directory on free ports (so runs coexist and never touch the
//! checkout's `.localcloud/`), shares them between the tests of one process, and stops exactly
//! those processes when the last test lets go. With `AWS_ENDPOINT_URL` and/or `LOCALCLOUD_REGISTRY`
//! in the environment it starts nothing and points the same tests at those endpoints (LocalStack,
//! a running `just up`, or real AWS).
//!
//! ```no_run
//! # async fn example() {
//! use integration_tests::LocalCloud;
//! let cloud = LocalCloud::start().await;
//! let ecr = aws_sdk_ecr::Client::new(cloud.sdk_config());
//! ecr.create_repository().repository_name("servicefull").send().await.unwrap();
//! let image = format!("{}/servicefull:latest", cloud.registry());
//! # }
//! ```

pub mod cli;
pub mod load;
pub mod proxy;

/// The platform's own test task (integration-tests/test-task): the package and binary the tests
/// put in an image where they turn knobs the service's task does not have (`work_seconds`,
/// `ignore_sigterm`, `allocate_mib`, the uid and capabilities it logs), with `provision --package`
/// or `pipeline::build_task`. Tests of the service itself run the service's image.
pub const TEST_TASK: &str = "platform-test-task";

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex, OnceLock, Weak};
use std::time::Duration;

use aws_config::{BehaviorVersion, Region, SdkConfig};
use aws_sdk_sts::config::Credentials;
use localcloud::{Config, Lifetime, REGION, REGISTRY_ENV, Service};

/// One test's handle on the cloud. Cheap to start a second time in the same process while a first
/// handle lives: the processes are shared, only the SDK configuration is built anew (an SDK
/// client's connection pool belongs to the tokio runtime it was made on, and every `#[tokio::test]`
/// has its own).
pub struct LocalCloud {
    target: Target,
    sdk_config: SdkConfig,
    /// Keeps our own processes up while this handle lives; None for an external cloud.
    own: Option<Arc<OwnCloud>>,
}

/// Where the tests point.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    /// Start our own local cloud.
    Own,
    /// Endpoints from the environment. `aws_endpoint_url` is None for real AWS.
    External { aws_endpoint_url: Option<String>, registry: String },
}

impl Target {
    /// Reads the choice from variables (`lookup` is `std::env::var` in use, a map in tests).
    pub fn from_env(lookup: impl Fn(&str) -> Option<String>) -> Result<Target, String> {
        let get = |name: &str| lookup(name).filter(|v| !v.trim().is_empty());
        match (get("AWS_ENDPOINT_URL"), get(REGISTRY_ENV)) {
            (None, None) => Ok(Target::Own),
            (endpoint, Some(registry)) => Ok(Target::External { aws_endpoint_url: endpoint, registry }),
            (Some(endpoint), None) => Err(format!(
                "AWS_ENDPOINT_URL is set ({endpoint}) but {REGISTRY_ENV} is not: set {REGISTRY_ENV} to the \
                 registry's host:port as well (`. .localcloud/env` sets both), or unset AWS_ENDPOINT_URL \
                 to let the tests start their own local cloud"
            )),
        }
    }
}

/// Our own moto, registry and gateway, stopped when the last handle drops.
struct OwnCloud {
    /// How it was started: the same ports and state directory start it again after a fault.
    config: Config,
    state_dir: PathBuf,
    aws_endpoint_url: String,
    registry: String,
}

impl Drop for OwnCloud {
    fn drop(&mut self) {
        // down() signals only the PIDs recorded in our own state directory.
        if let Err(err) = localcloud::down(&self.state_dir, Duration::from_secs(5)) {
            eprintln!("LocalCloud teardown: {err}");
        }
        let _ = std::fs::remove_dir_all(&self.state_dir);
    }
}

/// The processes every live handle in this process shares, or the one being started: the lock is
/// held while starting so concurrent tests wait for one start instead of each making their own.
fn shared_own() -> Arc<OwnCloud> {
    static SHARED: OnceLock<Mutex<Weak<OwnCloud>>> = OnceLock::new();
    let mut slot = SHARED.get_or_init(Default::default).lock().unwrap_or_else(|e| e.into_inner());
    if let Some(own) = slot.upgrade() {
        return own;
    }
    let own = Arc::new(start_own());
    *slot = Arc::downgrade(&own);
    own
}

/// The SDK's configuration for our own cloud at `endpoint`.
async fn own_sdk_config(endpoint: &str) -> SdkConfig {
    aws_config::defaults(BehaviorVersion::latest())
        .endpoint_url(endpoint)
        .region(Region::new(REGION))
        // moto accepts any credentials; fixed ones keep a developer's real profile out of the
        // local run.
        .credentials_provider(Credentials::new("test", "test", None, None, "localcloud"))
        .load()
        .await
}

impl LocalCloud {
    /// The cloud for this test, started if needed. Panics with the reason (and what to do) when it
    /// cannot start: a test fixture has no one to return an error to.
    pub async fn start() -> LocalCloud {
        let target = Target::from_env(|name| std::env::var(name).ok()).unwrap_or_else(|e| panic!("{e}"));
        match target {
            Target::Own => {
                // Starting blocks for about a second (moto's Python start-up).
                let own = match tokio::task::spawn_blocking(shared_own).await {
                    Ok(own) => own,
                    Err(join) => std::panic::resume_unwind(join.into_panic()),
                };
                let sdk_config = own_sdk_config(&own.aws_endpoint_url).await;
                LocalCloud { target: Target::Own, sdk_config, own: Some(own) }
            }
            external => {
                // The standard chain reads AWS_ENDPOINT_URL (and its per-service variants) itself.
                let sdk_config = aws_config::load_defaults(BehaviorVersion::latest()).await;
                LocalCloud { target: external, sdk_config, own: None }
            }
        }
    }

    /// A cloud of this handle's own, shared with no other test, so its teardown (`localcloud down`
    /// when the handle drops) is the caller's to observe. With an external target, as [`start`].
    ///
    /// [`start`]: LocalCloud::start
    pub async fn start_alone() -> LocalCloud {
        let target = Target::from_env(|name| std::env::var(name).ok()).unwrap_or_else(|e| panic!("{e}"));
        if target != Target::Own {
            return LocalCloud::start().await;
        }
        let own = match tokio::task::spawn_blocking(start_own).await {
            Ok(own) => Arc::new(own),
            Err(join) => std::panic::resume_unwind(join.into_panic()),
        };
        let sdk_config = own_sdk_config(&own.aws_endpoint_url).await;
        LocalCloud { target: Target::Own, sdk_config, own: Some(own) }
    }

    /// The one AWS endpoint (`http://127.0.0.1:PORT`); None when pointed at real AWS.
    pub fn endpoint_url(&self) -> Option<&str> {
        match (&self.own, &self.target) {
            (Some(own), _) => Some(&own.aws_endpoint_url),
            (None, Target::External { aws_endpoint_url, .. }) => aws_endpoint_url.as_deref(),
            (None, Target::Own) => None,
        }
    }

    /// The registry as image references name it (`127.0.0.1:PORT`).
    pub fn registry(&self) -> &str {
        match (&self.own, &self.target) {
            (Some(own), _) => &own.registry,
            (None, Target::External { registry, .. }) => registry,
            (None, Target::Own) => "",
        }
    }

    /// Configuration for any aws-sdk-* client, built through the standard aws-config chain.
    pub fn sdk_config(&self) -> &SdkConfig {
        &self.sdk_config
    }

    /// A configuration like [`LocalCloud::sdk_config`] with an HTTP client (so a connection pool)
    /// of its own: once every SDK client made from it is dropped, its connections are closed. The
    /// load test measures the gateway's memory with no client connected.
    pub async fn sdk_config_with_own_connections(&self) -> SdkConfig {
        match &self.own {
            Some(own) => own_sdk_config(&own.aws_endpoint_url).await,
            None => aws_config::load_defaults(BehaviorVersion::latest()).await,
        }
    }

    /// True when this run started its own moto: tests that pin a moto gap only hold there.
    pub fn is_own_moto(&self) -> bool {
        self.own.is_some()
    }

    /// Our own state directory (PID files, logs/moto.log, logs/registry.log, logs/gateway.log);
    /// None when external.
    pub fn state_dir(&self) -> Option<&Path> {
        self.own.as_ref().map(|own| own.state_dir.as_path())
    }
}

/// The ids of the task containers a local cloud whose state directory is `state_dir` has in the
/// engine (its state-dir label), in any state: created, running or exited. Not the tasks'
/// credentials agents (ECS's pause containers): one task, one container here, as ECS counts.
pub async fn task_containers(docker: &bollard::Docker, state_dir: &Path) -> Vec<String> {
    let label = format!("localcloud.state-dir={}", state_dir.display());
    let filters = std::collections::HashMap::from([("label".to_string(), vec![label])]);
    let options =
        bollard::query_parameters::ListContainersOptions { all: true, filters: Some(filters), ..Default::default() };
    let containers = docker.list_containers(Some(options)).await.unwrap();
    let agent = |c: &bollard::models::ContainerSummary| {
        c.labels.as_ref().and_then(|l| l.get(localcloud::fargate::engine::CONTAINER_NAME_LABEL)).map(String::as_str)
            == Some(localcloud::fargate::engine::PAUSE_CONTAINER_NAME)
    };
    containers.into_iter().filter(|c| !agent(c)).filter_map(|c| c.id).collect()
}

/// A new SQS queue named `name`, subscribed to the SNS `topic`; its URL.
pub async fn subscribed_queue(config: &SdkConfig, topic: &str, name: &str) -> String {
    let sqs = aws_sdk_sqs::Client::new(config);
    let queue_url = sqs.create_queue().queue_name(name).send().await.unwrap().queue_url().unwrap().to_owned();
    let attributes = sqs
        .get_queue_attributes()
        .queue_url(&queue_url)
        .attribute_names(aws_sdk_sqs::types::QueueAttributeName::QueueArn)
        .send()
        .await
        .unwrap();
    let queue_arn = attributes.attributes().unwrap()[&aws_sdk_sqs::types::QueueAttributeName::QueueArn].clone();
    let sns = aws_sdk_sns::Client::new(config);
    sns.subscribe().topic_arn(topic).protocol("sqs").endpoint(&queue_arn).send().await.unwrap();
    queue_url
}

/// An HTTP agent for raw requests to the local cloud: straight to loopback whatever proxy the
/// environment names, any status returned as an answer (not an error), a minute at most.
pub fn loopback_agent() -> ureq::Agent {
    ureq::Agent::config_builder()
        .http_status_as_error(false)
        .timeout_global(Some(Duration::from_secs(60)))
        .proxy(None)
        .build()
        .into()
}

/// Fault injection on our own cloud (the fault tests): kill one process as a crash would, and
/// start it again the way `localcloud up` does after one.
impl LocalCloud {
    fn own(&self, what: &str) -> &OwnCloud {
        self.own.as_deref().unwrap_or_else(|| panic!("{what} needs the tests' own local cloud, not an external one"))
    }

    /// The ids of this cloud's task containers in the engine, in any state.
    pub async fn task_containers(&self) -> Vec<String> {
        let docker = bollard::Docker::connect_with_local_defaults().unwrap();
        task_containers(&docker, &self.own("task_containers").state_dir).await
    }

    /// The PID `up` recorded for `service` in our state directory.
    pub fn pid(&self, service: Service) -> u32 {
        let file = self.own("pid").state_dir.join(format!("{}.pid", service.name()));
        let text = std::fs::read_to_string(&file).unwrap_or_else(|e| panic!("{}: {e}", file.display()));
        text.trim().parse().unwrap_or_else(|e| panic!("{}: {text:?}: {e}", file.display()))
    }

    /// Kills our own `service` with SIGKILL (no chance to clean up, as a crash or an OOM kill) and
    /// waits until it is gone. Returns its PID.
    pub fn kill(&self, service: Service) -> u32 {
        let pid = self.pid(service);
        // SAFETY: kill(2) on a PID recorded in our own state directory a moment ago.
        let killed = unsafe { libc::kill(pid as libc::pid_t, libc::SIGKILL) };
        assert_eq!(killed, 0, "kill -9 {pid} ({service}): {}", std::io::Error::last_os_error());
        let deadline = std::time::Instant::now() + Duration::from_secs(10);
        while localcloud::status(&self.own("kill").state_dir)
            .services
            .iter()
            .any(|s| s.service == service && s.state == "running")
        {
            assert!(std::time::Instant::now() < deadline, "{service} (pid {pid}) still runs after SIGKILL");
            std::thread::sleep(Duration::from_millis(25));
        }
        pid
    }

    /// Starts again whatever of our own cloud is not running, on the same ports and state
    /// directory (what `localcloud up` does after a crash).
    ///
    /// A killed service's port can stay unbindable for a moment with no listener and no
    /// connection visible in /proc (seen twice in full CI runs, never alone), so a taken port is
    /// tried again for up to 10 s; if it stays taken, the panic shows the port's rows of
    /// /proc/net/tcp{,6} for whoever chases it next.
    pub fn restart(&self) -> localcloud::Up {
        let own = self.own("restart");
        let deadline = std::time::Instant::now() + Duration::from_secs(10);
        loop {
            match localcloud::up(&own.config) {
                Ok(up) => return up,
                Err(localcloud::Error::PortTaken { .. }) if std::time::Instant::now() < deadline => {
                    std::thread::sleep(Duration::from_millis(100));
                }
                Err(e @ localcloud::Error::PortTaken { port, .. }) => {
                    let hex = format!(":{port:04X} ");
                    let rows: Vec<String> = ["/proc/net/tcp", "/proc/net/tcp6"]
                        .iter()
                        .filter_map(|table| std::fs::read_to_string(table).ok())
                        .flat_map(|text| {
                            text.lines().filter(|l| l.contains(&hex)).map(str::to_owned).collect::<Vec<_>>()
                        })
                        .collect();
                    panic!(
                        "the local cloud did not start again after 10 s: {e}\nits rows in /proc/net/tcp{{,6}}:\n{}",
                        rows.join("\n")
                    )
                }
                Err(e) => panic!("the local cloud did not start again: {e}"),
            }
        }
    }
}

/// The localcloud binary that runs the gateway: LOCALCLOUD_GATEWAY when set, else built once per
/// test process (cargo builds only a test's library dependencies, not their binaries).
fn gateway_binary(checkout: &Path) -> PathBuf {
    static BINARY: OnceLock<PathBuf> = OnceLock::new();
    BINARY
        .get_or_init(|| {
            if let Some(path) = std::env::var_os("LOCALCLOUD_GATEWAY") {
                return PathBuf::from(path);
            }
            let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
            let output = std::process::Command::new(cargo)
                .args(["build", "--quiet", "-p", "localcloud", "--bin", "localcloud"])
                .current_dir(checkout)
                .output()
                .unwrap_or_else(|e| panic!("cannot run cargo to build the localcloud gateway: {e}"));
            assert!(
                output.status.success(),
                "building the localcloud gateway failed:\n{}",
                String::from_utf8_lossy(&output.stderr)
            );
            provisioner::image::binary::target_dir(checkout).join("debug/localcloud")
        })
        .clone()
}

/// Starts moto, the registry and the gateway in a fresh temporary state directory on free ports,
/// tied to this process so a test run that is killed leaves nothing behind.
fn start_own() -> OwnCloud {
    static RUN: AtomicU32 = AtomicU32::new(0);
    let checkout = Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap_or(Path::new("."));
    let gateway = gateway_binary(checkout);
    let mut last_error = String::new();
    // A free port can be taken between our probe and the server's bind; a new pair then does.
    for _ in 0..3 {
        let state_dir = std::env::temp_dir().join(format!(
            "localcloud-test-{}-{}",
            std::process::id(),
            RUN.fetch_add(1, Ordering::Relaxed)
        ));
        let mut config = Config::for_checkout(checkout);
        config.state_dir = state_dir.clone();
        config.aws_port = Some(free_port());
        config.moto_port = Some(free_port());
        config.registry_port = Some(free_port());
        config.gateway = gateway.clone();
        config.lifetime = Lifetime::TiedToThisProcess;
        match localcloud::up(&config) {
            Ok(up) => {
                return OwnCloud {
                    config,
                    state_dir,
                    aws_endpoint_url: up.endpoints.aws_endpoint_url,
                    registry: up.endpoints.registry,
                };
            }
            Err(err @ (localcloud::Error::PortTaken { .. } | localcloud::Error::Exited { .. })) => {
                last_error = err.to_string();
                let _ = localcloud::down(&state_dir, Duration::from_secs(2));
                let _ = std::fs::remove_dir_all(&state_dir);
            }
            Err(err) => {
                let _ = std::fs::remove_dir_all(&state_dir);
                panic!("the local cloud for this test run did not start: {err}");
            }
        }
    }
    panic!("the local cloud for this test run did not start after 3 tries: {last_error}");
}

/// Below the ephemeral range (`localcloud::spare_port`): the fault tests kill a service and
/// `restart` binds its port again, which a client connection must not have taken meanwhile.
fn free_port() -> u16 {
    localcloud::spare_port().unwrap_or_else(|e| panic!("{e}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
        let pairs: Vec<(String, String)> = pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        move |name| pairs.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone())
    }

    #[test]
    fn nothing_set_starts_our_own() {
        assert_eq!(Target::from_env(env(&[])), Ok(Target::Own));
        assert_eq!(Target::from_env(env(&[("AWS_ENDPOINT_URL", " ")])), Ok(Target::Own));
    }

    #[test]
    fn an_endpoint_and_a_registry_point_at_them() {
        let target = Target::from_env(env(&[
            ("AWS_ENDPOINT_URL", "http://localhost:4566"),
            ("LOCALCLOUD_REGISTRY", "localhost:5055"),
        ]));
        assert_eq!(
            target,
            Ok(Target::External {
                aws_endpoint_url: Some("http://localhost:4566".into()),
                registry: "localhost:5055".into()
            })
        );
    }

    #[test]
    fn a_registry_alone_is_real_aws() {
        let target = Target::from_env(env(&[("LOCALCLOUD_REGISTRY", "1.dkr.ecr.eu-west-1.amazonaws.com")]));
        assert!(matches!(target, Ok(Target::External { aws_endpoint_url: None, .. })), "{target:?}");
    }

    #[test]
    fn an_endpoint_without_a_registry_says_which_variable_is_missing() {
        let err = Target::from_env(env(&[("AWS_ENDPOINT_URL", "http://localhost:4566")])).unwrap_err();
        assert!(err.contains("LOCALCLOUD_REGISTRY") && err.contains("http://localhost:4566"), "{err}");
    }
}
