//! The Docker engine side of the local Fargate: the task network, pulling, creating, starting,
//! stopping and removing task containers, and finding what an earlier gateway of the same state
//! directory left behind. Every container and network made here carries [`STATE_DIR_LABEL`]. An
//! image cannot carry a label when it is pulled, so the references this cloud pulls are written to
//! [`PULLED_IMAGES_FILE`] in the state directory instead, and `down` removes those that name its
//! own registry.

use std::collections::HashMap;
use std::io::Write;
use std::net::IpAddr;
use std::path::{Path, PathBuf};

use bollard::Docker;
use bollard::container::LogOutput;
use bollard::models::{ContainerCreateBody, HostConfig, NetworkCreateRequest};
use bollard::query_parameters::{
    CreateContainerOptions, CreateImageOptions, EventsOptions, ListContainersOptions, ListNetworksOptions, LogsOptions,
    RemoveContainerOptions, RemoveImageOptions, StopContainerOptions, WaitContainerOptions,
};
use futures_util::{Stream, StreamExt};

use super::definition::ContainerPlan;
use super::task::ContainerExit;

/// Names the state directory whose gateway made a container or network.
pub const STATE_DIR_LABEL: &str = "localcloud.state-dir";
pub const TASK_ARN_LABEL: &str = "com.amazonaws.ecs.task-arn";
pub const CONTAINER_NAME_LABEL: &str = "com.amazonaws.ecs.container-name";
/// In the state directory: the image references this cloud pulled into the engine, one a line.
pub const PULLED_IMAGES_FILE: &str = "pulled-images";

/// The credentials agent (`localcloud/agent/main.rs`), a static binary compiled by the build
/// script; empty when that build could not make it.
pub const AGENT_BINARY: &[u8] = include_bytes!(concat!(env!("OUT_DIR"), "/credentials-agent"));
/// Where the agent listens in a task's network namespace: the port on which the ECS agent serves
/// a task's credentials on an EC2 container instance.
pub const AGENT_PORT: u16 = 51679;
/// The container name ECS gives the pause container whose network namespace a task's containers
/// share; the agent's container carries it in [`CONTAINER_NAME_LABEL`].
pub const PAUSE_CONTAINER_NAME: &str = "~internal~ecs~pause";

#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    #[error("the Docker engine is not reachable ({0}); start it, or check that this user may use /var/run/docker.sock")]
    Unreachable(#[source] bollard::errors::Error),
    #[error("could not create the task network {name}: {source}")]
    Network {
        name: String,
        #[source]
        source: bollard::errors::Error,
    },
    #[error("the task network {name} has no IPv4 gateway address in its IPAM configuration")]
    NoGateway { name: String },
}

/// The Docker network tasks are attached to, and the gateway's address on it.
#[derive(Debug, Clone)]
pub struct TaskNetwork {
    pub name: String,
    pub gateway: IpAddr,
}

#[derive(Clone)]
pub struct Engine {
    docker: Docker,
    state_dir: String,
}

impl std::fmt::Debug for Engine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Engine").field("state_dir", &self.state_dir).finish()
    }
}

impl Engine {
    /// Connects to the local engine and checks it answers.
    pub async fn connect(state_dir: &Path) -> Result<Engine, EngineError> {
        let docker = Docker::connect_with_local_defaults().map_err(EngineError::Unreachable)?;
        docker.ping().await.map_err(EngineError::Unreachable)?;
        Ok(Engine { docker, state_dir: state_dir.display().to_string() })
    }

    fn ours(&self) -> HashMap<String, Vec<String>> {
        HashMap::from([("label".to_string(), vec![format!("{STATE_DIR_LABEL}={}", self.state_dir)])])
    }

    /// The task network's name for this state directory: one per local cloud, so two clouds on
    /// one machine do not share tasks' traffic.
    pub fn network_name(&self) -> String {
        use std::hash::{Hash, Hasher};
        let mut hasher = std::collections::hash_map::DefaultHasher::new();
        self.state_dir.hash(&mut hasher);
        format!("localcloud-tasks-{:016x}", hasher.finish())
    }

    /// The credentials agent's image reference for this state directory: a tag of its own, so
    /// `down` removes this cloud's and never another's in use.
    pub fn agent_image(&self) -> String {
        format!("localcloud-credentials-agent:{}", self.network_name().trim_start_matches("localcloud-tasks-"))
    }

    /// Imports the credentials agent's image (FROM scratch: the binary alone, as its entrypoint)
    /// under [`Engine::agent_image`]; returns the reference. An image already there with this
    /// binary (a restarted gateway's) is used as it is; one with another binary is replaced, so no
    /// untagged image is left behind. Err says why there is none.
    pub async fn import_agent_image(&self) -> Result<String, String> {
        if AGENT_BINARY.is_empty() {
            return Err("this build of localcloud has no credentials agent (its build script could not link a \
                        static binary: install libc6-dev and rebuild)"
                .into());
        }
        let reference = self.agent_image();
        let fingerprint = agent_fingerprint();
        if let Ok(existing) = self.docker.inspect_image(&reference).await {
            let labels = existing.config.and_then(|c| c.labels).unwrap_or_default();
            if labels.get(AGENT_LABEL) == Some(&fingerprint) {
                return Ok(reference);
            }
            self.remove_agent_image().await;
        }
        let mut layer = tar::Builder::new(Vec::new());
        let mut header = tar::Header::new_gnu();
        header.set_size(AGENT_BINARY.len() as u64);
        header.set_mode(0o755);
        header.set_cksum();
        layer
            .append_data(&mut header, "credentials-agent", AGENT_BINARY)
            .and_then(|()| layer.finish())
            .map_err(|e| format!("could not pack the credentials agent: {e}"))?;
        let layer = layer.into_inner().map_err(|e| format!("could not pack the credentials agent: {e}"))?;
        let (repo, tag) = reference.split_once(':').unwrap_or((&reference, "latest"));
        let options = CreateImageOptions {
            from_src: Some("-".into()),
            repo: Some(repo.into()),
            tag: Some(tag.into()),
            changes: vec![r#"ENTRYPOINT ["/credentials-agent"]"#.into(), format!("LABEL {AGENT_LABEL}={fingerprint}")],
            ..Default::default()
        };
        let mut import = self.docker.create_image(Some(options), Some(bollard::body_full(layer.into())), None);
        while let Some(step) = import.next().await {
            match step {
                Ok(info) => {
                    if let Some(detail) = info.error_detail.and_then(|d| d.message) {
                        return Err(format!("could not import the credentials agent's image: {detail}"));
                    }
                }
                Err(e) => {
                    return Err(format!("could not import the credentials agent's image: {}", engine_message(&e)));
                }
            }
        }
        Ok(reference)
    }

    /// Removes this state directory's credentials agent image; true when there was one.
    pub async fn remove_agent_image(&self) -> bool {
        let options = RemoveImageOptions { force: false, noprune: false, ..Default::default() };
        match self.docker.remove_image(&self.agent_image(), Some(options), None).await {
            Ok(_) => true,
            Err(bollard::errors::Error::DockerResponseServerError { status_code: 404, .. }) => false,
            Err(e) => {
                tracing::warn!(image = self.agent_image(), "could not remove the credentials agent's image: {e}");
                false
            }
        }
    }

    /// Creates and starts a task's credentials agent on the task `network`: it listens on
    /// 127.0.0.1:[`AGENT_PORT`] in its network namespace, which the task's container then joins,
    /// and forwards to `gateway` (the gateway's address on the task network). Returns its id.
    pub async fn start_agent(
        &self,
        image: &str,
        container_name: &str,
        task_arn: &str,
        network: &str,
        gateway: &str,
    ) -> Result<String, String> {
        let labels = HashMap::from([
            (STATE_DIR_LABEL.to_string(), self.state_dir.clone()),
            (TASK_ARN_LABEL.to_string(), task_arn.to_owned()),
            (CONTAINER_NAME_LABEL.to_string(), PAUSE_CONTAINER_NAME.to_owned()),
        ]);
        let host_config = HostConfig {
            network_mode: Some(network.to_owned()),
            // It needs nothing: a port above 1024, no file written.
            privileged: Some(false),
            cap_drop: Some(vec!["ALL".into()]),
            readonly_rootfs: Some(true),
            security_opt: Some(vec!["no-new-privileges".into()]),
            memory: Some(16 * 1024 * 1024),
            ..Default::default()
        };
        let body = ContainerCreateBody {
            image: Some(image.to_owned()),
            cmd: Some(vec![format!("127.0.0.1:{AGENT_PORT}"), gateway.to_owned()]),
            user: Some("65534:65534".into()),
            labels: Some(labels),
            host_config: Some(host_config),
            ..Default::default()
        };
        let options = CreateContainerOptions { name: Some(container_name.to_owned()), ..Default::default() };
        let created = self.docker.create_container(Some(options), body).await.map_err(|e| engine_message(&e))?;
        if let Err(e) = self.start(&created.id).await {
            let _ = self.remove(&created.id).await;
            return Err(e);
        }
        Ok(created.id)
    }

    /// Removes every container and network made for this state directory; returns how many of
    /// each. Failures are logged, not returned: this is clean-up, and the next one tries again.
    pub async fn remove_leftovers(&self) -> (usize, usize) {
        let containers = self
            .docker
            .list_containers(Some(ListContainersOptions {
                all: true,
                filters: Some(self.ours()),
                ..Default::default()
            }))
            .await
            .unwrap_or_else(|e| {
                tracing::warn!("could not list leftover task containers: {e}");
                Vec::new()
            });
        let mut removed_containers = 0;
        for id in containers.iter().filter_map(|c| c.id.as_deref()) {
            match self.remove(id).await {
                Ok(()) => removed_containers += 1,
                Err(e) => tracing::warn!(container = id, "could not remove a leftover task container: {e}"),
            }
        }
        let networks =
            self.docker.list_networks(Some(ListNetworksOptions { filters: Some(self.ours()) })).await.unwrap_or_else(
                |e| {
                    tracing::warn!("could not list leftover task networks: {e}");
                    Vec::new()
                },
            );
        let mut removed_networks = 0;
        for id in networks.iter().filter_map(|n| n.id.as_deref()) {
            match self.docker.remove_network(id).await {
                Ok(()) => removed_networks += 1,
                Err(e) => tracing::warn!(network = id, "could not remove a leftover task network: {e}"),
            }
        }
        (removed_containers, removed_networks)
    }

    /// Creates the task network: internal (no route off this machine), labelled as ours.
    pub async fn create_network(&self) -> Result<TaskNetwork, EngineError> {
        let name = self.network_name();
        let network_error = |source| EngineError::Network { name: name.clone(), source };
        let request = NetworkCreateRequest {
            name: name.clone(),
            driver: Some("bridge".into()),
            internal: Some(true),
            labels: Some(HashMap::from([(STATE_DIR_LABEL.to_string(), self.state_dir.clone())])),
            ..Default::default()
        };
        self.docker.create_network(request).await.map_err(network_error)?;
        let inspected = self.docker.inspect_network(&name, None).await.map_err(network_error)?;
        let gateway = inspected
            .ipam
            .and_then(|ipam| ipam.config)
            .into_iter()
            .flatten()
            .filter_map(|config| config.gateway?.parse::<IpAddr>().ok())
            .find(IpAddr::is_ipv4)
            .ok_or(EngineError::NoGateway { name: name.clone() })?;
        Ok(TaskNetwork { name, gateway })
    }

    /// Pulls `image`; the error is the engine's own message (what CannotPullContainerError shows).
    /// A reference the engine did not hold before is recorded as this cloud's, for `down` to
    /// remove; one it held (the user's own, or pulled by an earlier task) is not.
    pub async fn pull(&self, image: &str) -> Result<(), String> {
        let held_before = self.docker.inspect_image(image).await.is_ok();
        let options = CreateImageOptions { from_image: Some(image.to_owned()), ..Default::default() };
        let mut progress = self.docker.create_image(Some(options), None, None);
        while let Some(step) = progress.next().await {
            match step {
                Ok(info) => {
                    if let Some(detail) = info.error_detail.and_then(|d| d.message) {
                        return Err(detail);
                    }
                }
                Err(e) => return Err(engine_message(&e)),
            }
        }
        if !held_before {
            self.record_pulled(image);
        }
        Ok(())
    }

    fn pulled_images_file(&self) -> PathBuf {
        Path::new(&self.state_dir).join(PULLED_IMAGES_FILE)
    }

    /// Appends `image` to the record; a line is one small append, whole even when tasks pull at once.
    fn record_pulled(&self, image: &str) {
        let path = self.pulled_images_file();
        let written = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&path)
            .and_then(|mut file| file.write_all(format!("{image}\n").as_bytes()));
        if let Err(e) = written {
            tracing::warn!(image, "could not record the pulled image in {}: {e}; down leaves it", path.display());
        }
    }

    /// Removes from the engine the images this cloud pulled from its own registry (127.0.0.1 or
    /// localhost on `registry_port`); returns how many. Only the recorded references are removed,
    /// so an image someone else also tags stays under that tag, and a reference to any other
    /// registry is never touched. One that cannot be removed yet (a container of someone else's
    /// uses it) stays recorded for the next `down`; failures are logged, as for containers.
    pub async fn remove_pulled_images(&self, registry_port: u16) -> usize {
        let path = self.pulled_images_file();
        let recorded = match std::fs::read_to_string(&path) {
            Ok(text) => text,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return 0,
            Err(e) => {
                tracing::warn!("could not read {}: {e}; the images this cloud pulled stay", path.display());
                return 0;
            }
        };
        let mut references: Vec<&str> = recorded.lines().filter(|line| !line.is_empty()).collect();
        references.sort_unstable();
        references.dedup();
        let mut removed = 0;
        let mut kept = Vec::new();
        for reference in references.into_iter().filter(|r| from_registry(r, registry_port)) {
            let options = RemoveImageOptions { force: false, noprune: false, ..Default::default() };
            match self.docker.remove_image(reference, Some(options), None).await {
                Ok(_) => removed += 1,
                Err(bollard::errors::Error::DockerResponseServerError { status_code: 404, .. }) => {}
                Err(e) => {
                    tracing::warn!(image = reference, "could not remove an image this cloud pulled: {e}");
                    kept.push(reference);
                }
            }
        }
        let outcome = if kept.is_empty() {
            std::fs::remove_file(&path)
        } else {
            std::fs::write(&path, kept.iter().map(|r| format!("{r}\n")).collect::<String>())
        };
        if let Err(e) = outcome {
            tracing::warn!("could not update {}: {e}", path.display());
        }
        removed
    }

    /// Creates the task's container (not started) and returns its id. `network`: the task
    /// network's name, or `container:<agent id>` to join the task's credentials agent's network
    /// namespace; None: no network at all.
    pub async fn create(
        &self,
        plan: &ContainerPlan,
        container_name: &str,
        task_arn: &str,
        network: Option<&str>,
        environment: Vec<String>,
    ) -> Result<String, String> {
        let labels = HashMap::from([
            (STATE_DIR_LABEL.to_string(), self.state_dir.clone()),
            (TASK_ARN_LABEL.to_string(), task_arn.to_owned()),
            (CONTAINER_NAME_LABEL.to_string(), plan.name.clone()),
        ]);
        let host_config = HostConfig {
            memory: plan.memory_mib.map(|m| m * 1024 * 1024),
            // No swap beyond the limit, as on Fargate: a task over its memory is killed, not slowed.
            memory_swap: plan.memory_mib.map(|m| m * 1024 * 1024),
            nano_cpus: plan.nano_cpus,
            // No network at all rather than the default bridge, which reaches the internet. Either
            // way the container's network namespace is its task's own: never the host's, never
            // another task's (with a credentials agent, the agent's, as a Fargate task's
            // containers share their pause container's).
            network_mode: Some(network.unwrap_or("none").to_owned()),
            // As on Fargate: never privileged (the definition is refused before this), no
            // capability beyond Docker's defaults except what the definition adds (SYS_PTRACE at
            // most), and what it drops dropped.
            privileged: Some(false),
            cap_add: Some(plan.cap_add.clone()).filter(|c| !c.is_empty()),
            cap_drop: Some(plan.cap_drop.clone()).filter(|c| !c.is_empty()),
            ..Default::default()
        };
        let body = ContainerCreateBody {
            image: Some(plan.image.clone()),
            entrypoint: plan.entry_point.clone(),
            cmd: plan.command.clone(),
            env: Some(environment),
            working_dir: plan.working_directory.clone(),
            user: plan.user.clone(),
            labels: Some(labels),
            stop_timeout: Some(plan.stop_timeout_seconds),
            host_config: Some(host_config),
            ..Default::default()
        };
        let options = CreateContainerOptions { name: Some(container_name.to_owned()), ..Default::default() };
        let created = self.docker.create_container(Some(options), body).await.map_err(|e| engine_message(&e))?;
        Ok(created.id)
    }

    pub async fn start(&self, id: &str) -> Result<(), String> {
        self.docker.start_container(id, None).await.map_err(|e| engine_message(&e))
    }

    /// The container's address on the task network, once started.
    pub async fn address(&self, id: &str) -> Option<String> {
        let inspected = self.docker.inspect_container(id, None).await.ok()?;
        let networks = inspected.network_settings?.networks?;
        networks.into_values().find_map(|n| n.ip_address.filter(|ip| !ip.is_empty()))
    }

    /// Its stdout and stderr from the start, following until it exits, with the engine's
    /// timestamps.
    pub fn logs(&self, id: &str) -> impl Stream<Item = Result<LogOutput, bollard::errors::Error>> + use<> {
        let options = LogsOptions { follow: true, stdout: true, stderr: true, timestamps: true, ..Default::default() };
        self.docker.logs(id, Some(options))
    }

    /// Waits until the container exits and says how.
    pub async fn wait(&self, id: &str) -> ContainerExit {
        let options = WaitContainerOptions { condition: "not-running".into() };
        let mut waiting = self.docker.wait_container(id, Some(options));
        // bollard reports a non-zero exit as an error; the inspection below is what counts.
        while let Some(step) = waiting.next().await {
            if let Err(e) = step {
                tracing::debug!(container = id, "wait ended: {e}");
            }
        }
        match self.docker.inspect_container(id, None).await {
            Ok(inspected) => {
                let state = inspected.state.unwrap_or_default();
                ContainerExit { exit_code: state.exit_code, oom_killed: state.oom_killed.unwrap_or(false) }
            }
            Err(e) => {
                tracing::warn!(container = id, "could not inspect the exited container: {e}");
                ContainerExit { exit_code: None, oom_killed: false }
            }
        }
    }

    /// Whether the engine reports an `oom` event for the container since `since` (Unix seconds),
    /// waiting up to `within` for one. Docker records the kernel's OOM kill when containerd reports
    /// it, and that report can come after the exit that ended `wait`: under load an inspection right
    /// after the exit still says OOMKilled false (moby/moby#41929 describes the race). The event,
    /// once it comes, is what settles it.
    pub async fn oom_event(&self, id: &str, since: i64, within: std::time::Duration) -> bool {
        let filters = HashMap::from([
            ("type".to_string(), vec!["container".to_string()]),
            ("container".to_string(), vec![id.to_owned()]),
            ("event".to_string(), vec!["oom".to_string()]),
        ]);
        let options = EventsOptions { since: Some(since.to_string()), until: None, filters: Some(filters) };
        let mut events = self.docker.events(Some(options));
        matches!(tokio::time::timeout(within, events.next()).await, Ok(Some(Ok(_))))
    }

    /// SIGTERM, then SIGKILL after `timeout_seconds` (what Docker's stop does).
    pub async fn stop(&self, id: &str, timeout_seconds: i64) {
        let options = StopContainerOptions { t: Some(timeout_seconds as i32), signal: None };
        if let Err(e) = self.docker.stop_container(id, Some(options)).await {
            tracing::warn!(container = id, "could not stop the task container: {e}");
        }
    }

    pub async fn remove(&self, id: &str) -> Result<(), bollard::errors::Error> {
        let options = RemoveContainerOptions { force: true, v: true, ..Default::default() };
        self.docker.remove_container(id, Some(options)).await
    }
}

/// On the agent's image: which binary it holds ([`agent_fingerprint`]).
const AGENT_LABEL: &str = "localcloud.credentials-agent";

/// A fingerprint of [`AGENT_BINARY`]: the same for the same binary, in every process of one build.
fn agent_fingerprint() -> String {
    use std::hash::{Hash, Hasher};
    let mut hasher = std::collections::hash_map::DefaultHasher::new();
    AGENT_BINARY.hash(&mut hasher);
    format!("{:016x}", hasher.finish())
}

/// Whether `reference` names an image in the registry on loopback port `port`.
fn from_registry(reference: &str, port: u16) -> bool {
    let Some((host, _)) = reference.split_once('/') else { return false };
    host == format!("127.0.0.1:{port}") || host == format!("localhost:{port}")
}

/// The engine's own message when it gave one (what a user would see from `docker`).
fn engine_message(err: &bollard::errors::Error) -> String {
    match err {
        bollard::errors::Error::DockerResponseServerError { message, .. } => message.clone(),
        other => other.to_string(),
    }
}

/// Where the engine is looked for: DOCKER_HOST when it names a socket, else the default socket.
pub fn docker_host() -> String {
    std::env::var("DOCKER_HOST")
        .ok()
        .filter(|h| h.starts_with("unix://"))
        .unwrap_or_else(|| "unix:///var/run/docker.sock".to_owned())
}

/// For `localcloud up`, which is synchronous: whether the engine answers a ping, on a thread of
/// its own (the caller may itself be inside an async runtime). The error is the engine's reason.
pub fn ping_blocking() -> Result<(), String> {
    let pinger = std::thread::spawn(|| {
        let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().map_err(|e| e.to_string())?;
        runtime.block_on(async {
            let docker = Docker::connect_with_local_defaults().map_err(|e| engine_message(&e))?;
            docker.ping().await.map(|_| ()).map_err(|e| engine_message(&e))
        })
    });
    pinger.join().unwrap_or_else(|_| Err("the thread that pinged the Docker engine panicked".into()))
}

/// For `localcloud down`, which is synchronous: removes what the gateway of `state_dir` left and,
/// its containers gone, the images it pulled from the registry on `registry_port` (when known) and
/// its credentials agent's image, on
/// a thread of its own (the caller may itself be inside an async runtime). Without a Docker
/// engine there is nothing to remove.
pub fn remove_leftovers_blocking(state_dir: &Path, registry_port: Option<u16>) {
    let state_dir = state_dir.to_path_buf();
    let cleaner = std::thread::spawn(move || {
        let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().ok()?;
        runtime.block_on(async {
            let engine = Engine::connect(&state_dir).await.ok()?;
            let (containers, networks) = engine.remove_leftovers().await;
            let pulled = match registry_port {
                Some(port) => engine.remove_pulled_images(port).await,
                None => 0,
            };
            let images = pulled + usize::from(engine.remove_agent_image().await);
            Some((containers, networks, images))
        })
    });
    match cleaner.join() {
        Ok(Some((containers, networks, images))) if containers + networks + images > 0 => {
            tracing::info!(containers, networks, images, "removed the gateway's task containers, networks and images")
        }
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_references_to_the_clouds_own_registry_are_its_to_remove() {
        assert!(from_registry("127.0.0.1:5055/servicefull@sha256:0123", 5055));
        assert!(from_registry("localhost:5055/servicefull:latest", 5055));
        assert!(!from_registry("127.0.0.1:5056/servicefull@sha256:0123", 5055));
        assert!(!from_registry("127.0.0.1:50551/servicefull", 5055));
        assert!(!from_registry("registry.example.com:5055/servicefull", 5055));
        assert!(!from_registry("servicefull:latest", 5055));
        assert!(!from_registry("library/busybox", 5055));
    }
}
