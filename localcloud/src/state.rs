//! The state directory (`.localcloud/` in the checkout): where each file lives, the PID and port
//! records, the env file a shell sources, and the lock that keeps two `up`/`down` from interleaving.

use std::fs::File;
use std::os::fd::AsRawFd;
use std::path::{Path, PathBuf};

use crate::error::Error;
use crate::service::Service;

/// The region the local cloud reports; moto accepts any, and tools need one.
pub const REGION: &str = "us-east-1";
/// The variable naming the registry (host:port), beside the standard AWS_ENDPOINT_URL.
pub const REGISTRY_ENV: &str = "LOCALCLOUD_REGISTRY";

#[derive(Debug, Clone)]
pub struct StateDir {
    root: PathBuf,
}

impl StateDir {
    /// Creates the directory (and its logs/) if needed. The path is made absolute so the marker our
    /// children carry (see `process`) is the same whichever directory a command runs from.
    pub fn open(root: &Path) -> Result<StateDir, Error> {
        let logs = root.join("logs");
        std::fs::create_dir_all(&logs).map_err(Error::io("create the state directory", &logs))?;
        let root = root.canonicalize().map_err(Error::io("resolve the state directory", root))?;
        Ok(StateDir { root })
    }

    /// The state directory as it is, without creating anything (for `status`).
    pub fn existing(root: &Path) -> StateDir {
        let root = root.canonicalize().unwrap_or_else(|_| root.to_path_buf());
        StateDir { root }
    }

    pub fn path(&self) -> &Path {
        &self.root
    }

    pub fn log(&self, service: Service) -> PathBuf {
        self.root.join("logs").join(format!("{}.log", service.name()))
    }

    pub fn env_file(&self) -> PathBuf {
        self.root.join("env")
    }

    pub(crate) fn registry_config(&self) -> PathBuf {
        self.root.join("registry").join("config.yml")
    }

    pub(crate) fn registry_data(&self) -> PathBuf {
        self.root.join("registry").join("data")
    }

    fn pid_file(&self, service: Service) -> PathBuf {
        self.root.join(format!("{}.pid", service.name()))
    }

    fn port_file(&self, service: Service) -> PathBuf {
        self.root.join(format!("{}.port", service.name()))
    }

    /// The PID and port recorded by the last start, if both files are there and readable.
    pub(crate) fn recorded(&self, service: Service) -> Option<(u32, u16)> {
        let read = |p: PathBuf| std::fs::read_to_string(p).ok();
        let pid = read(self.pid_file(service))?.trim().parse().ok()?;
        let port = read(self.port_file(service))?.trim().parse().ok()?;
        Some((pid, port))
    }

    pub(crate) fn has_pid_file(&self, service: Service) -> bool {
        self.pid_file(service).exists()
    }

    pub(crate) fn record(&self, service: Service, pid: u32, port: u16) -> Result<(), Error> {
        let (pid_file, port_file) = (self.pid_file(service), self.port_file(service));
        std::fs::write(&port_file, format!("{port}\n")).map_err(Error::io("write", &port_file))?;
        std::fs::write(&pid_file, format!("{pid}\n")).map_err(Error::io("write", &pid_file))
    }

    pub(crate) fn forget(&self, service: Service) -> Result<(), Error> {
        remove_if_present(&self.pid_file(service))?;
        remove_if_present(&self.port_file(service))
    }

    pub(crate) fn write_env(&self, endpoints: &Endpoints) -> Result<(), Error> {
        let path = self.env_file();
        std::fs::write(&path, endpoints.env_file_text()).map_err(Error::io("write the env file", &path))
    }

    pub(crate) fn remove_env(&self) -> Result<(), Error> {
        remove_if_present(&self.env_file())
    }

    /// Holds an exclusive lock on `<state>/lock` until the guard drops, so a second `up` waits for
    /// the first instead of starting a second moto.
    pub(crate) fn lock(&self) -> Result<Lock, Error> {
        let path = self.root.join("lock");
        let file = File::options()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&path)
            .map_err(Error::io("open the lock file", &path))?;
        // SAFETY: flock on a descriptor we own; released when the file closes.
        if unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX) } != 0 {
            return Err(Error::Io { action: "lock", path, source: std::io::Error::last_os_error() });
        }
        Ok(Lock { _file: file })
    }
}

pub(crate) struct Lock {
    _file: File,
}

fn remove_if_present(path: &Path) -> Result<(), Error> {
    match std::fs::remove_file(path) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(Error::io("remove", path)(e)),
        _ => Ok(()),
    }
}

/// Where the local cloud answers.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Endpoints {
    /// The one endpoint for every AWS API (the gateway), e.g. `http://127.0.0.1:4566`.
    pub aws_endpoint_url: String,
    /// The registry as image references name it, e.g. `127.0.0.1:5055`.
    pub registry: String,
}

impl Endpoints {
    pub fn new(aws_port: u16, registry_port: u16) -> Endpoints {
        Endpoints {
            aws_endpoint_url: Service::Gateway.address(aws_port),
            registry: Service::Registry.address(registry_port),
        }
    }

    /// The variables that point the AWS CLI, the SDKs (through the standard config chain) and our
    /// tools at the local cloud. The credentials are moto's dummy ones: the SDKs refuse to sign
    /// without some.
    pub fn env_vars(&self) -> Vec<(&'static str, String)> {
        vec![
            ("AWS_ENDPOINT_URL", self.aws_endpoint_url.clone()),
            ("AWS_REGION", REGION.to_owned()),
            ("AWS_DEFAULT_REGION", REGION.to_owned()),
            ("AWS_ACCESS_KEY_ID", "test".to_owned()),
            ("AWS_SECRET_ACCESS_KEY", "test".to_owned()),
            // Step Functions' model puts `sync-` before the host of TestState and
            // StartSyncExecution: without this standard setting the CLI and the SDKs ask
            // http://sync-127.0.0.1:4566/, which does not resolve (the provisioner honours it too).
            ("AWS_DISABLE_HOST_PREFIX_INJECTION", "true".to_owned()),
            (REGISTRY_ENV, self.registry.clone()),
        ]
    }

    /// The env file: `export` lines a POSIX shell sources (`. .localcloud/env`).
    pub fn env_file_text(&self) -> String {
        let mut text = String::from(
            "# Written by `localcloud up`, removed by `localcloud down`.\n\
             # Point a shell at the local cloud with: . .localcloud/env\n",
        );
        for (key, value) in self.env_vars() {
            text.push_str(&format!("export {key}={value}\n"));
        }
        text
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_env_file_exports_the_endpoints_a_shell_can_source() {
        let text = Endpoints::new(4566, 5055).env_file_text();
        assert!(text.contains("export AWS_ENDPOINT_URL=http://127.0.0.1:4566\n"), "{text}");
        assert!(text.contains("export LOCALCLOUD_REGISTRY=127.0.0.1:5055\n"), "{text}");
        assert!(text.contains("export AWS_DEFAULT_REGION=us-east-1\n"), "{text}");
        assert!(text.contains("export AWS_ACCESS_KEY_ID=test\n"), "{text}");
        assert!(text.contains("export AWS_DISABLE_HOST_PREFIX_INJECTION=true\n"), "{text}");
    }

    #[test]
    fn pid_and_port_round_trip_and_forget_is_idempotent() {
        let dir = std::env::temp_dir().join(format!("localcloud-state-unit-{}", std::process::id()));
        let state = StateDir::open(&dir).unwrap();
        assert_eq!(state.recorded(Service::Moto), None);
        state.record(Service::Moto, 42, 4566).unwrap();
        assert_eq!(state.recorded(Service::Moto), Some((42, 4566)));
        state.forget(Service::Moto).unwrap();
        state.forget(Service::Moto).unwrap();
        assert_eq!(state.recorded(Service::Moto), None);
        std::fs::remove_dir_all(dir).unwrap();
    }
}
