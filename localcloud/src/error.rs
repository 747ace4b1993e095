//! Everything that can go wrong bringing the local cloud up or down, each with the value at fault
//! and what to do about it.

use std::path::PathBuf;
use std::time::Duration;

use crate::service::Service;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error(
        "{service} is not installed: {} is missing or not executable; install it with `tools/setup` \
         (run from the checkout root), or point {env_var} at it",
        path.display()
    )]
    MissingBinary { service: Service, path: PathBuf, env_var: &'static str },

    #[error(
        "port {port} on 127.0.0.1, wanted for {service}, is already in use by {}; stop that process \
         or choose another port with {flag} (or {env_var})",
        holder.as_deref().unwrap_or("a process this user cannot see")
    )]
    PortTaken { service: Service, port: u16, holder: Option<String>, flag: &'static str, env_var: &'static str },

    #[error(
        "{service} already runs on port {running} (pid {pid}), not on the requested port {requested}; \
         run `localcloud down` first to move it"
    )]
    RunningOnOtherPort { service: Service, pid: u32, running: u16, requested: u16 },

    #[error("{service} exited ({status}) before it answered {url}; the end of {}:\n{tail}", log.display())]
    Exited { service: Service, status: String, url: String, log: PathBuf, tail: String },

    #[error(
        "{service} did not answer {url} with 200 within {}s, so it was stopped (raise the wait with \
         --timeout on a slow machine); the end of {}:\n{tail}",
        timeout.as_secs_f32(),
        log.display()
    )]
    NotReady { service: Service, url: String, timeout: Duration, log: PathBuf, tail: String },

    #[error(
        "the Docker engine is not reachable at {host} ({detail}); the local cloud runs ECS tasks as Docker \
         containers, so nothing was started. Start Docker (`sudo systemctl start docker`), or point DOCKER_HOST \
         at a running engine's socket, and check that this user may use it (the docker group)"
    )]
    DockerUnreachable { host: String, detail: String },

    #[error("could not start {service} with {}", program.display())]
    Spawn {
        service: Service,
        program: PathBuf,
        #[source]
        source: std::io::Error,
    },

    #[error("{service} (pid {pid}) is still running after SIGTERM and SIGKILL; look at it with `ps -p {pid}`")]
    StopFailed { service: Service, pid: u32 },

    #[error("could not {action} {}", path.display())]
    Io {
        action: &'static str,
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

impl Error {
    pub(crate) fn io(action: &'static str, path: impl Into<PathBuf>) -> impl FnOnce(std::io::Error) -> Error {
        let path = path.into();
        move |source| Error::Io { action, path, source }
    }
}
