//! The three processes the local cloud runs, and everything that differs between them: which
//! program, with which arguments and configuration, where its files live in the state directory,
//! and which URL answers 200 once it is ready.

use std::fmt;
use std::path::{Path, PathBuf};
use std::process::Command;

use serde::Serialize;

use crate::error::Error;
use crate::state::StateDir;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Service {
    /// moto server: every AWS API, on an internal loopback port behind the gateway.
    Moto,
    /// The CNCF distribution registry (Debian's docker-registry).
    Registry,
    /// Our gateway (`localcloud gateway`): the one AWS endpoint, like LocalStack's edge port. It
    /// serves what moto cannot (ECS tasks that run) and forwards the rest to moto.
    Gateway,
}

impl Service {
    /// In start order (the gateway needs moto's port); stopped in reverse.
    pub const ALL: [Service; 3] = [Service::Moto, Service::Registry, Service::Gateway];

    /// The short name used for files in the state directory.
    pub fn name(self) -> &'static str {
        match self {
            Service::Moto => "moto",
            Service::Registry => "registry",
            Service::Gateway => "gateway",
        }
    }

    /// The port used when none is requested or recorded; None: any free loopback port (moto is
    /// internal, only the gateway needs to find it, through its command line).
    pub fn default_port(self) -> Option<u16> {
        match self {
            Service::Moto => None,
            // LocalStack's edge port, so tools configured for LocalStack find us.
            Service::Gateway => Some(4566),
            // 5000 is the registry's customary port and often taken (the Debian package's own
            // system-wide registry, macOS AirPlay); 5055 rarely is.
            Service::Registry => Some(5055),
        }
    }

    /// The CLI flag and environment variable that choose this service's port.
    pub fn port_flag(self) -> (&'static str, &'static str) {
        match self {
            Service::Moto => ("--moto-port", "LOCALCLOUD_MOTO_PORT"),
            Service::Registry => ("--registry-port", "LOCALCLOUD_REGISTRY_PORT"),
            Service::Gateway => ("--aws-port", "LOCALCLOUD_AWS_PORT"),
        }
    }

    /// The environment variable that points at another program for this service.
    pub fn program_env(self) -> &'static str {
        match self {
            Service::Moto => "LOCALCLOUD_MOTO_SERVER",
            Service::Registry => "LOCALCLOUD_DOCKER_REGISTRY",
            Service::Gateway => "LOCALCLOUD_GATEWAY",
        }
    }

    /// The file name the program's path must end with: how we recognise our process in
    /// /proc/PID/cmdline (moto_server is a Python script, so it is argv[1], not argv[0]).
    pub(crate) fn program_name(self) -> &'static str {
        match self {
            Service::Moto => "moto_server",
            Service::Registry => "docker-registry",
            // The localcloud binary itself, run as `localcloud gateway`.
            Service::Gateway => "localcloud",
        }
    }

    /// The URL that answers 200 once the service accepts work.
    pub fn ready_url(self, port: u16) -> String {
        match self {
            // moto's own dashboard API: answers as soon as the WSGI app is up, for every service.
            Service::Moto => format!("http://127.0.0.1:{port}/moto-api/"),
            // The distribution spec's version check.
            Service::Registry => format!("http://127.0.0.1:{port}/v2/"),
            // Served by the gateway itself, never forwarded: it proves the gateway, not moto, listens.
            Service::Gateway => format!("http://127.0.0.1:{port}{}", crate::gateway::HEALTH_PATH),
        }
    }

    /// What a client points at: a URL for the AWS endpoint, host:port for the registry (the form
    /// image references use).
    pub fn address(self, port: u16) -> String {
        match self {
            Service::Moto | Service::Gateway => format!("http://127.0.0.1:{port}"),
            Service::Registry => format!("127.0.0.1:{port}"),
        }
    }

    /// The command that runs the service on `port`, with its configuration written first.
    /// `moto_port` is where the gateway forwards to.
    pub(crate) fn command(
        self,
        program: &Path,
        port: u16,
        state: &StateDir,
        moto_port: u16,
    ) -> Result<Command, Error> {
        let mut cmd = Command::new(program);
        match self {
            Service::Moto => moto_command(&mut cmd, port),
            Service::Gateway => {
                cmd.arg("gateway")
                    .args([
                        "--port",
                        &port.to_string(),
                        "--moto-port",
                        &moto_port.to_string(),
                    ])
                    .arg("--state-dir")
                    .arg(state.path());
            }
            Service::Registry => {
                let config = write_registry_config(state, port)?;
                cmd.arg("serve").arg(config);
                // The registry lets REGISTRY_* variables override its configuration file; one left
                // in the user's shell could move it off loopback or onto another storage.
                for (key, _) in std::env::vars_os() {
                    if key.to_string_lossy().starts_with("REGISTRY_") {
                        cmd.env_remove(key);
                    }
                }
            }
        }
        Ok(cmd)
    }
}

impl fmt::Display for Service {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Service::Moto => "moto (the AWS emulator behind the gateway)",
            Service::Registry => "the registry (docker-registry)",
            Service::Gateway => "the gateway (the AWS endpoint)",
        })
    }
}

/// How moto is started, in this one place: on loopback, on `port`.
fn moto_command(cmd: &mut Command, port: u16) {
    cmd.args(["-H", "127.0.0.1", "-p", &port.to_string()])
        .env("MOTO_PORT", port.to_string());
}

/// Writes the registry's configuration for `port` and returns its path. Rewritten on every start so
/// a changed port or state directory never meets an old file.
fn write_registry_config(state: &StateDir, port: u16) -> Result<PathBuf, Error> {
    let data = state.registry_data();
    std::fs::create_dir_all(&data)
        .map_err(Error::io("create the registry storage directory", &data))?;
    let path = state.registry_config();
    // JSON is YAML, and serde_json quotes the path correctly whatever it contains.
    let root = serde_json::to_string(&data.to_string_lossy()).unwrap_or_default();
    let text = format!(
        "# Written by localcloud on every start; edits are lost.\n\
         version: 0.1\n\
         log:\n  level: info\n\
         storage:\n  filesystem:\n    rootdirectory: {root}\n  delete:\n    enabled: true\n\
         http:\n  addr: 127.0.0.1:{port}\n"
    );
    std::fs::write(&path, text).map_err(Error::io("write the registry configuration", &path))?;
    Ok(path)
}
