//! The `localcloud` CLI: `up`, `down`, `status` over the library, with paths and ports from flags
//! or the environment. Only parsing, printing and exit codes live here.

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

use anyhow::Context;
use clap::{Parser, Subcommand};
use localcloud::{Config, Service, Started, Stopped};

#[derive(Parser)]
#[command(
    name = "localcloud",
    version,
    about = "The local cloud: one AWS endpoint (our gateway, moto behind it, ECS tasks run in Docker) and an OCI registry, on loopback"
)]
struct Cli {
    /// The checkout whose .venv holds moto and whose .localcloud/ holds the state. Default: the
    /// nearest directory above the current one with a Cargo workspace.
    #[arg(long, env = "LOCALCLOUD_CHECKOUT", global = true)]
    checkout: Option<PathBuf>,
    /// Where PID files, logs, registry storage and the env file live. Default: <checkout>/.localcloud
    #[arg(long, env = "LOCALCLOUD_STATE_DIR", global = true)]
    state_dir: Option<PathBuf>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Start moto, the registry and the gateway unless they run, wait until all answer, write the
    /// env file.
    Up {
        /// The AWS endpoint's (the gateway's) port. Default: the one it runs on, else 4566.
        #[arg(long, env = "LOCALCLOUD_AWS_PORT")]
        aws_port: Option<u16>,
        /// moto's internal port, behind the gateway. Default: the one it runs on, else any free one.
        #[arg(long, env = "LOCALCLOUD_MOTO_PORT")]
        moto_port: Option<u16>,
        /// The registry's port. Default: the one it runs on, else 5055.
        #[arg(long, env = "LOCALCLOUD_REGISTRY_PORT")]
        registry_port: Option<u16>,
        /// A moto_server program to run instead of the checkout's launcher (which starts moto from
        /// <checkout>/.venv, installed by tools/setup, with the local cloud's corrections): vanilla
        /// moto, no corrections.
        #[arg(long, env = "LOCALCLOUD_MOTO_SERVER")]
        moto_server: Option<PathBuf>,
        /// The registry binary. Default: /usr/bin/docker-registry (installed by tools/setup).
        #[arg(long, env = "LOCALCLOUD_DOCKER_REGISTRY")]
        docker_registry: Option<PathBuf>,
        /// The localcloud binary that runs the gateway. Default: this one.
        #[arg(long, env = "LOCALCLOUD_GATEWAY")]
        gateway: Option<PathBuf>,
        /// Seconds each service may take to answer.
        #[arg(long, default_value_t = 30.0)]
        timeout: f64,
    },
    /// Stop what `up` started (only the recorded processes). Logs and registry storage stay.
    Down {
        /// Seconds between SIGTERM and SIGKILL.
        #[arg(long, default_value_t = 10.0)]
        timeout: f64,
    },
    /// Show what runs, where, its logs, and the env file.
    Status {
        /// One JSON object instead of text.
        #[arg(long)]
        json: bool,
    },
    /// Run the gateway in the foreground (what `up` starts in the background).
    #[command(hide = true)]
    Gateway {
        /// The public port on 127.0.0.1.
        #[arg(long)]
        port: u16,
        /// moto's port on 127.0.0.1.
        #[arg(long)]
        moto_port: u16,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    // The gateway's log (logs/gateway.log) is where a task's life can be followed.
    let default = if matches!(cli.command, Command::Gateway { .. }) { "info" } else { "warn" };
    let filter = tracing_subscriber::EnvFilter::try_from_env("LOCALCLOUD_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default));
    tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr).with_ansi(false).init();
    match run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("error: {}", runtime::exit::error_chain(err.as_ref()));
            ExitCode::FAILURE
        }
    }
}

fn run(cli: Cli) -> anyhow::Result<()> {
    let checkout = match cli.checkout {
        Some(dir) => dir,
        None => {
            let cwd = std::env::current_dir().context("cannot read the current directory")?;
            // The nearest directory holding a Cargo workspace: `.localcloud/` lives at the checkout's root.
            let root = cwd
                .ancestors()
                .find(|d| std::fs::read_to_string(d.join("Cargo.toml")).is_ok_and(|text| text.contains("[workspace]")));
            root.map_or(cwd.clone(), Path::to_path_buf)
        }
    };
    let mut config = Config::for_checkout(&checkout);
    if let Some(dir) = cli.state_dir {
        config.state_dir = dir;
    }
    match cli.command {
        Command::Up { aws_port, moto_port, registry_port, moto_server, docker_registry, gateway, timeout } => {
            config.aws_port = aws_port;
            config.moto_port = moto_port;
            config.registry_port = registry_port;
            if let Some(program) = moto_server {
                config.moto_server = program;
                config.moto_launcher = None;
            }
            config.docker_registry = docker_registry.unwrap_or(config.docker_registry);
            config.gateway = gateway.unwrap_or(config.gateway);
            config.ready_timeout = seconds(timeout, "--timeout")?;
            let up = localcloud::up(&config)?;
            for (service, outcome) in &up.services {
                let address = match (service, outcome) {
                    (Service::Moto, Started::Started { port, .. } | Started::AlreadyRunning { port, .. }) => {
                        &format!("{} (internal, behind the gateway)", service.address(*port))
                    }
                    (Service::Gateway, _) => &up.endpoints.aws_endpoint_url,
                    (Service::Registry, _) => &up.endpoints.registry,
                };
                match outcome {
                    Started::Started { pid, ready_after_ms, .. } => println!(
                        "{:<9} started, pid {pid}, at {address} (ready after {:.1}s)",
                        service.name(),
                        *ready_after_ms as f64 / 1000.0
                    ),
                    Started::AlreadyRunning { pid, .. } => {
                        println!("{:<9} already running, pid {pid}, at {address}", service.name())
                    }
                }
            }
            println!("env file: {}  (point a shell at it: . {})", up.env_file.display(), up.env_file.display());
            let mocks = localcloud::stepfunctions::mock_config::MOCK_CONFIG_ENV;
            let gateway_ran =
                up.services.iter().any(|(s, o)| *s == Service::Gateway && !matches!(o, Started::Started { .. }));
            if gateway_ran && std::env::var_os(mocks).is_some_and(|v| !v.is_empty()) {
                eprintln!(
                    "note: the gateway was already running; it reads {mocks} only when it starts: `localcloud down`, \
                     then `up` again, to use the file"
                );
            }
        }
        Command::Down { timeout } => {
            for (service, outcome) in localcloud::down(&config.state_dir, seconds(timeout, "--timeout")?)? {
                match outcome {
                    Stopped::Stopped { pid } => {
                        println!("{:<9} stopped (pid {pid})", service.name())
                    }
                    Stopped::WasNotRunning { pid } => {
                        println!("{:<9} was not running (stale PID file for pid {pid} removed)", service.name())
                    }
                    Stopped::NothingRecorded => println!("{:<9} was not running", service.name()),
                }
            }
        }
        Command::Status { json } => {
            let status = localcloud::status(&config.state_dir);
            if json {
                println!("{}", serde_json::to_string_pretty(&status)?);
                return Ok(());
            }
            for s in &status.services {
                let detail = match (s.state, s.pid, &s.address) {
                    ("running", Some(pid), Some(address)) => {
                        let answering = if s.answering { "answering" } else { "NOT answering" };
                        format!("running, pid {pid}, at {address}, {answering}")
                    }
                    ("dead", pid, _) => format!(
                        "dead (pid {} is gone; `localcloud up` restarts it)",
                        pid.map_or("?".into(), |p| p.to_string())
                    ),
                    _ => "stopped".to_string(),
                };
                println!("{:<9} {detail}\n          log: {}", s.service.name(), s.log.display());
            }
            match &status.env_file {
                Some(path) if !status.env.is_empty() => {
                    println!("env file: {}  (point a shell at it: . {})", path.display(), path.display());
                    for (key, value) in &status.env {
                        println!("  {key}={value}");
                    }
                }
                _ => println!("env file: none (written by `localcloud up`)"),
            }
        }
        Command::Gateway { port, moto_port } => {
            let config = localcloud::gateway::GatewayConfig::new(port, moto_port, &config.state_dir)?;
            let runtime = tokio::runtime::Builder::new_multi_thread()
                .enable_all()
                .build()
                .context("cannot start the async runtime")?;
            runtime.block_on(localcloud::gateway::run(config))?;
        }
    }
    Ok(())
}

fn seconds(value: f64, flag: &str) -> anyhow::Result<Duration> {
    Duration::try_from_secs_f64(value)
        .ok()
        .filter(|d| !d.is_zero())
        .with_context(|| format!("{flag} {value} is not a positive number of seconds"))
}
