//! The local cloud: our gateway (one LocalStack-style endpoint for every AWS API), moto server
//! behind it on an internal loopback port, and the CNCF distribution registry, started on loopback
//! and tracked in a state directory (`.localcloud/` in the checkout) so that `up` is idempotent and
//! `down` stops exactly what `up` started. moto is started through our launcher
//! (`localcloud/moto/launcher.py`), which corrects, in process, what moto gets wrong in
//! CloudFormation.
//!
//! This module owns the three operations, [`up`], [`down`] and [`status`]; `service` knows the
//! three programs, `process` the operating system, `state` the files, `gateway` the endpoint,
//! `fargate` the ECS tasks it runs and `stepfunctions` the executions; `awsjson`, the protocol
//! those three and `upstream` speak, sits beside them, so none reaches up into the gateway for it.
//! Clients only ever see [`Endpoints`], the same variables LocalStack or real AWS would be reached
//! through.

pub mod awsjson;
mod error;
pub mod fargate;
pub mod gateway;
mod process;
mod service;
mod state;
pub mod stepfunctions;
pub mod upstream;

use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Serialize;

pub use error::Error;
pub use process::{Lifetime, answers, port_holder, spare_port, tail};
pub use service::Service;
pub use state::{Endpoints, REGION, REGISTRY_ENV, StateDir};

/// How to bring the local cloud up.
#[derive(Debug, Clone)]
pub struct Config {
    /// Where PID files, logs, registry storage and the env file live.
    pub state_dir: PathBuf,
    /// The gateway's port, the one AWS endpoint. None: the port it already runs on, else the
    /// default (4566).
    pub aws_port: Option<u16>,
    /// moto's internal port. None: the port it already runs on, else any free one.
    pub moto_port: Option<u16>,
    /// None: the port it already runs on, else the default (5055).
    pub registry_port: Option<u16>,
    /// The program that runs moto's server: normally the checkout's `.venv/bin/python`, running
    /// `moto_launcher`; or a `moto_server` of one's own (vanilla moto), with no launcher.
    pub moto_server: PathBuf,
    /// Our launcher script (`localcloud/moto/launcher.py`), which starts moto with the local
    /// cloud's corrections to its CloudFormation; passed to `moto_server` as its first argument.
    pub moto_launcher: Option<PathBuf>,
    /// The registry binary, normally `/usr/bin/docker-registry`.
    pub docker_registry: PathBuf,
    /// The localcloud binary, run as `localcloud gateway`.
    pub gateway: PathBuf,
    /// How long each service may take to answer after it starts.
    pub ready_timeout: Duration,
    pub lifetime: Lifetime,
}

impl Config {
    /// The defaults for a checkout: state in `<checkout>/.localcloud`, moto from the checkout's
    /// `.venv` (where `tools/setup` installs it) started through the checkout's launcher, detached
    /// processes.
    pub fn for_checkout(checkout: &Path) -> Config {
        Config {
            state_dir: checkout.join(".localcloud"),
            aws_port: None,
            moto_port: None,
            registry_port: None,
            moto_server: checkout.join(".venv/bin/python"),
            moto_launcher: Some(checkout.join("localcloud/moto/launcher.py")),
            docker_registry: PathBuf::from("/usr/bin/docker-registry"),
            gateway: default_gateway(),
            // moto is ready in under a second on a warm machine; a cold Python import on a busy
            // CI machine takes several.
            ready_timeout: Duration::from_secs(30),
            lifetime: Lifetime::Detached,
        }
    }

    fn port(&self, service: Service) -> Option<u16> {
        match service {
            Service::Moto => self.moto_port,
            Service::Registry => self.registry_port,
            Service::Gateway => self.aws_port,
        }
    }

    fn program(&self, service: Service) -> &Path {
        match service {
            Service::Moto => &self.moto_server,
            Service::Registry => &self.docker_registry,
            Service::Gateway => &self.gateway,
        }
    }
}

/// This very binary when it is `localcloud` (the CLI starting its own gateway), else the
/// `localcloud` beside it (cargo puts the binaries of one build in one directory, wherever its
/// target directory is); `localcloud` on the PATH when there is no executable to go by.
fn default_gateway() -> PathBuf {
    let name = Service::Gateway.program_names()[0];
    match std::env::current_exe() {
        Ok(exe) if exe.file_name() == Some(name.as_ref()) => exe,
        Ok(exe) => exe.with_file_name(name),
        Err(_) => PathBuf::from(name),
    }
}

/// What `up` did for one service.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case", tag = "outcome")]
pub enum Started {
    Started { pid: u32, port: u16, ready_after_ms: u64 },
    AlreadyRunning { pid: u32, port: u16 },
}

#[derive(Debug, Clone, Serialize)]
pub struct Up {
    pub endpoints: Endpoints,
    pub services: Vec<(Service, Started)>,
    pub env_file: PathBuf,
}

/// Starts whatever of the local cloud is not running, waits until both answer, and writes the env
/// file. Idempotent: a running service is left as it is. When a start fails, what this call
/// started is stopped again, so nothing is left half-up.
pub fn up(config: &Config) -> Result<Up, Error> {
    let state = StateDir::open(&config.state_dir)?;
    let _lock = state.lock()?;

    // Plan first, so a missing binary or a taken port fails before anything starts.
    let mut plan = Vec::new();
    for service in Service::ALL {
        match state.recorded(service) {
            Some((pid, port)) if process::is_ours(pid, service, &state) => {
                if let Some(requested) = config.port(service).filter(|p| *p != port) {
                    return Err(Error::RunningOnOtherPort { service, pid, running: port, requested });
                }
                plan.push((service, port, Some(pid)));
            }
            recorded => {
                // A service that died keeps its port, so the env file a shell already sourced stays
                // right.
                let previous_port = recorded.map(|(_, port)| port);
                state.forget(service)?;
                let program = config.program(service);
                if !is_executable(program) {
                    return Err(Error::MissingBinary {
                        service,
                        path: program.to_path_buf(),
                        env_var: service.program_env(),
                    });
                }
                let port = match config.port(service).or(previous_port).or(service.default_port()) {
                    Some(port) => port,
                    None => process::free_port(service)?,
                };
                process::check_port_free(service, port)?;
                plan.push((service, port, None));
            }
        }
    }

    // A gateway without Docker would start and then fail every RunTask: say so before starting
    // anything.
    if plan.iter().any(|(service, _, running)| *service == Service::Gateway && running.is_none()) {
        fargate::engine::ping_blocking()
            .map_err(|detail| Error::DockerUnreachable { host: fargate::engine::docker_host(), detail })?;
    }

    let port_of = |wanted: Service| plan.iter().find(|(s, _, _)| *s == wanted).map(|(_, p, _)| *p);
    let moto_port = port_of(Service::Moto).unwrap_or_default();
    let mut done: Vec<(Service, Started)> = Vec::new();
    for &(service, port, running) in &plan {
        let outcome = match running {
            Some(pid) => {
                // Usually long ready; a concurrent `up` that just started it may still be waiting.
                let log = state.log(service);
                process::wait_ready(service, pid, &service.ready_url(port), &log, config.ready_timeout)
                    .map(|_| Started::AlreadyRunning { pid, port })
            }
            None => start(config, &state, service, port, moto_port),
        };
        match outcome {
            Ok(started) => done.push((service, started)),
            Err(err) => {
                for (service, started) in &done {
                    if let Started::Started { pid, .. } = started {
                        let _ = process::stop(*pid, *service, &state, Duration::from_secs(5));
                        let _ = state.forget(*service);
                    }
                }
                return Err(err);
            }
        }
    }

    let endpoints =
        Endpoints::new(port_of(Service::Gateway).unwrap_or_default(), port_of(Service::Registry).unwrap_or_default());
    state.write_env(&endpoints)?;
    Ok(Up { endpoints, services: done, env_file: state.env_file() })
}

fn start(config: &Config, state: &StateDir, service: Service, port: u16, moto_port: u16) -> Result<Started, Error> {
    let log = state.log(service);
    let launcher = match service {
        Service::Moto => config.moto_launcher.as_deref(),
        Service::Registry | Service::Gateway => None,
    };
    let cmd = service.command(config.program(service), launcher, port, state, moto_port)?;
    let pid = process::spawn(service, cmd, state, &log, config.lifetime)?;
    state.record(service, pid, port)?;
    match process::wait_ready(service, pid, &service.ready_url(port), &log, config.ready_timeout) {
        Ok(after) => Ok(Started::Started { pid, port, ready_after_ms: after.as_millis() as u64 }),
        Err(err) => {
            let _ = process::stop(pid, service, state, Duration::from_secs(5));
            let _ = state.forget(service);
            Err(err)
        }
    }
}

fn is_executable(path: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
}

/// What `down` did for one service.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case", tag = "outcome")]
pub enum Stopped {
    Stopped {
        pid: u32,
    },
    /// A PID file was left by a process that is gone (or is no longer ours): removed, nothing
    /// signalled.
    WasNotRunning {
        pid: u32,
    },
    NothingRecorded,
}

/// Stops what `up` recorded in `state_dir` (SIGTERM, then SIGKILL after `grace`), removes the
/// containers and networks the gateway left for this state directory and the images it pulled
/// from this cloud's registry, and removes the PID files and the env file. Logs and registry
/// storage stay. Fine when nothing runs.
pub fn down(state_dir: &Path, grace: Duration) -> Result<Vec<(Service, Stopped)>, Error> {
    if !state_dir.exists() {
        return Ok(Service::ALL.iter().rev().map(|s| (*s, Stopped::NothingRecorded)).collect());
    }
    let state = StateDir::open(state_dir)?;
    let _lock = state.lock()?;
    // Read before the records go: the images to remove are those pulled from this registry.
    let registry_port = state.recorded(Service::Registry).map(|(_, port)| port);
    let mut report = Vec::new();
    for service in Service::ALL.into_iter().rev() {
        let outcome = match state.recorded(service) {
            Some((pid, _)) if process::stop(pid, service, &state, grace)? => Stopped::Stopped { pid },
            Some((pid, _)) => Stopped::WasNotRunning { pid },
            None if state.has_pid_file(service) => Stopped::WasNotRunning { pid: 0 },
            None => Stopped::NothingRecorded,
        };
        state.forget(service)?;
        report.push((service, outcome));
    }
    // The gateway removes its tasks' containers when it stops; a gateway that was killed could not.
    // The images it pulled go here, once no container of ours uses them.
    fargate::engine::remove_leftovers_blocking(state.path(), registry_port);
    state.remove_env()?;
    Ok(report)
}

#[derive(Debug, Clone, Serialize)]
pub struct ServiceStatus {
    pub service: Service,
    /// "running", "stopped", or "dead" (a PID file whose process is gone or no longer ours).
    pub state: &'static str,
    pub pid: Option<u32>,
    pub port: Option<u16>,
    /// The URL (AWS) or host:port (registry) clients use.
    pub address: Option<String>,
    /// Whether its readiness URL answered 200 just now.
    pub answering: bool,
    pub log: PathBuf,
}

#[derive(Debug, Clone, Serialize)]
pub struct Status {
    pub state_dir: PathBuf,
    /// True when every service runs and answers.
    pub running: bool,
    pub services: Vec<ServiceStatus>,
    /// The env file, when `up` wrote one.
    pub env_file: Option<PathBuf>,
    /// The variables in the env file, in its order; empty unless everything runs.
    #[serde(serialize_with = "as_map")]
    pub env: Vec<(String, String)>,
}

/// What runs, on which ports, whether it answers, and where its logs are. Changes nothing.
pub fn status(state_dir: &Path) -> Status {
    let state = StateDir::existing(state_dir);
    let services: Vec<ServiceStatus> = Service::ALL
        .into_iter()
        .map(|service| {
            let recorded = state.recorded(service);
            let running = recorded.is_some_and(|(pid, _)| process::is_ours(pid, service, &state));
            let port = recorded.map(|(_, port)| port);
            ServiceStatus {
                service,
                state: match (running, recorded.is_some() || state.has_pid_file(service)) {
                    (true, _) => "running",
                    (false, true) => "dead",
                    (false, false) => "stopped",
                },
                pid: recorded.map(|(pid, _)| pid),
                port,
                address: port.map(|p| service.address(p)),
                answering: running && port.is_some_and(|p| answers(&service.ready_url(p), Duration::from_secs(2))),
                log: state.log(service),
            }
        })
        .collect();
    let env_file = Some(state.env_file()).filter(|p| p.exists());
    let running_port =
        |wanted: Service| services.iter().find(|s| s.service == wanted && s.state == "running").and_then(|s| s.port);
    let all_running = services.iter().all(|s| s.state == "running");
    let env = match (running_port(Service::Gateway), running_port(Service::Registry)) {
        (Some(aws), Some(registry)) if all_running && env_file.is_some() => {
            Endpoints::new(aws, registry).env_vars().into_iter().map(|(k, v)| (k.to_owned(), v)).collect()
        }
        _ => Vec::new(),
    };
    Status {
        state_dir: state.path().to_path_buf(),
        running: services.iter().all(|s| s.answering),
        services,
        env_file,
        env,
    }
}

/// `env` as a JSON object, the shape a script reading `status --json` expects.
fn as_map<S: serde::Serializer>(pairs: &[(String, String)], serializer: S) -> Result<S::Ok, S::Error> {
    serializer.collect_map(pairs.iter().map(|(k, v)| (k, v)))
}
