//! The `provisioner` binary as a user runs it, pointed at a [`LocalCloud`] through the standard
//! variables only (`AWS_ENDPOINT_URL`, `AWS_REGION`, credentials, `LOCALCLOUD_REGISTRY`): what
//! the end-to-end tests drive, so exit codes and printed errors are tested, not just library calls.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::io::AsyncReadExt;
use tokio::sync::{OnceCell, watch};

use crate::LocalCloud;

/// What one run of the CLI left.
#[derive(Debug, Clone)]
pub struct CliOutput {
    pub code: Option<i32>,
    pub stdout: String,
    pub stderr: String,
}

impl CliOutput {
    pub fn success(&self) -> bool {
        self.code == Some(0)
    }

    /// Panics with everything the command printed unless it succeeded.
    pub fn assert_success(&self, what: &str) -> &Self {
        assert!(
            self.success(),
            "{what} failed (exit {:?}):\nstdout:\n{}\nstderr:\n{}",
            self.code,
            self.stdout,
            self.stderr
        );
        self
    }

    /// stdout parsed as one JSON document (`--json`).
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.stdout)
            .unwrap_or_else(|e| panic!("stdout is not JSON ({e}):\n{}\nstderr:\n{}", self.stdout, self.stderr))
    }
}

pub struct Provisioner {
    env: Vec<(String, String)>,
    /// Another workspace's binary and directory (a fork's), instead of this workspace's.
    workspace: Option<(PathBuf, PathBuf)>,
}

/// The workspace's target directory, as cargo reports it.
pub fn target_dir() -> PathBuf {
    let workspace = Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap_or(Path::new("."));
    provisioner::image::binary::target_dir(workspace)
}

/// The provisioner binary, built once per test process (a no-op when the workspace build made it).
pub async fn provisioner_binary() -> PathBuf {
    static BINARY: OnceCell<PathBuf> = OnceCell::const_new();
    BINARY
        .get_or_init(|| async {
            let status = tokio::process::Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()))
                .args(["build", "-q", "--locked", "-p", "provisioner", "--bin", "provisioner"])
                .current_dir(env!("CARGO_MANIFEST_DIR"))
                .status()
                .await
                .expect("cargo runs");
            assert!(status.success(), "cargo build -p provisioner failed");
            target_dir().join("debug/provisioner")
        })
        .await
        .clone()
}

impl Provisioner {
    /// The CLI pointed at `cloud` (its endpoint, region, test credentials and registry).
    pub fn for_cloud(cloud: &LocalCloud) -> Provisioner {
        let mut env = vec![
            ("AWS_REGION".to_owned(), localcloud::REGION.to_owned()),
            ("AWS_ACCESS_KEY_ID".to_owned(), "test".to_owned()),
            ("AWS_SECRET_ACCESS_KEY".to_owned(), "test".to_owned()),
            (localcloud::REGISTRY_ENV.to_owned(), cloud.registry().to_owned()),
            // Plain lines, no colours, in what the tests read.
            ("NO_COLOR".to_owned(), "1".to_owned()),
        ];
        if let Some(endpoint) = cloud.endpoint_url() {
            env.push(("AWS_ENDPOINT_URL".to_owned(), endpoint.to_owned()));
        }
        Provisioner { env, workspace: None }
    }

    /// The CLI with no cloud at all, for commands that need none (`build`, `template`).
    pub fn without_cloud() -> Provisioner {
        Provisioner { env: vec![("NO_COLOR".to_owned(), "1".to_owned())], workspace: None }
    }

    /// Sets (or overrides) one variable for every later run.
    pub fn with_env(mut self, key: &str, value: &str) -> Provisioner {
        self.env.retain(|(k, _)| k != key);
        self.env.push((key.to_owned(), value.to_owned()));
        self
    }

    /// Runs `binary` (another workspace's provisioner, already built) in `dir`, that workspace,
    /// instead of this workspace's: how a fork's CLI is driven beside the original's.
    pub fn in_workspace(mut self, binary: PathBuf, dir: PathBuf) -> Provisioner {
        self.workspace = Some((binary, dir));
        self
    }

    /// The binary and the variables a run gets, for a caller that drives the process itself.
    pub fn binary_env(&self) -> (PathBuf, Vec<(String, String)>) {
        let binary = match &self.workspace {
            Some((binary, _)) => binary.clone(),
            None => target_dir().join("debug/provisioner"),
        };
        (binary, self.env.clone())
    }

    /// Runs `provisioner ARGS` to completion, with no standard input.
    pub async fn run(&self, args: &[&str]) -> CliOutput {
        let (binary, dir) = self.binary_and_dir().await;
        let mut command = self.command(&binary, &dir, args);
        let out = command.output().await.unwrap_or_else(|e| panic!("cannot run {}: {e}", binary.display()));
        CliOutput {
            code: out.status.code(),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        }
    }

    /// Starts `provisioner ARGS` and returns at once, for a test that acts while it runs (sends
    /// Ctrl-C, kills a service) and reads its standard error as it comes.
    pub async fn spawn(&self, args: &[&str]) -> Running {
        let (binary, dir) = self.binary_and_dir().await;
        let mut command = self.command(&binary, &dir, args);
        command.stdout(Stdio::piped()).stderr(Stdio::piped()).kill_on_drop(true);
        let mut child = command.spawn().unwrap_or_else(|e| panic!("cannot run {}: {e}", binary.display()));
        let stderr = Arc::new(Mutex::new(String::new()));
        let (grew, _) = watch::channel(());
        let grew = Arc::new(grew);
        let mut pipe = child.stderr.take().expect("stderr is piped");
        let (sink, signal) = (stderr.clone(), grew.clone());
        let reader = tokio::spawn(async move {
            let mut buf = vec![0u8; 8192];
            while let Ok(n) = pipe.read(&mut buf).await {
                if n == 0 {
                    break;
                }
                sink.lock().unwrap_or_else(|e| e.into_inner()).push_str(&String::from_utf8_lossy(&buf[..n]));
                signal.send_replace(());
            }
        });
        Running { child, stderr, grew, reader: Some(reader) }
    }

    /// This workspace's CLI, or the fork's given to [`Provisioner::in_workspace`], and where it runs.
    async fn binary_and_dir(&self) -> (PathBuf, PathBuf) {
        match &self.workspace {
            Some((binary, dir)) => (binary.clone(), dir.clone()),
            None => (provisioner_binary().await, PathBuf::from(env!("CARGO_MANIFEST_DIR"))),
        }
    }

    fn command(&self, binary: &Path, dir: &Path, args: &[&str]) -> tokio::process::Command {
        let mut command = tokio::process::Command::new(binary);
        command.args(args).stdin(Stdio::null()).current_dir(dir);
        // Nothing from the developer's own AWS configuration leaks into a local run.
        for key in
            ["AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_ENDPOINT_URL", "AWS_DEFAULT_REGION", "PROVISIONER_REGISTRY"]
        {
            command.env_remove(key);
        }
        command.envs(self.env.iter().map(|(k, v)| (k.as_str(), v.as_str())));
        command
    }
}

/// A `provisioner` process still running (see [`Provisioner::spawn`]).
pub struct Running {
    child: tokio::process::Child,
    stderr: Arc<Mutex<String>>,
    grew: Arc<watch::Sender<()>>,
    reader: Option<tokio::task::JoinHandle<()>>,
}

impl Running {
    pub fn pid(&self) -> u32 {
        self.child.id().expect("the process has not been waited for")
    }

    /// What it printed on standard error so far.
    pub fn stderr(&self) -> String {
        self.stderr.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }

    /// Waits until its standard error contains `text`; panics with what it printed when it exits
    /// first or `timeout` passes.
    pub async fn wait_for_stderr(&mut self, text: &str, timeout: Duration) {
        let mut grew = self.grew.subscribe();
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            if self.stderr().contains(text) {
                return;
            }
            if let Ok(Some(status)) = self.child.try_wait() {
                // The last bytes may still be in the pipe.
                if let Some(reader) = self.reader.take() {
                    let _ = reader.await;
                }
                assert!(self.stderr().contains(text), "exited ({status}) before printing {text:?}:\n{}", self.stderr());
                return;
            }
            let tick = tokio::time::sleep(Duration::from_millis(200));
            tokio::select! {
                _ = grew.changed() => {}
                _ = tick => {}
                _ = tokio::time::sleep_until(deadline) => {
                    panic!("no {text:?} within {timeout:?}; stderr so far:\n{}", self.stderr())
                }
            }
        }
    }

    /// Sends SIGINT, as Ctrl-C in its terminal does.
    pub fn interrupt(&self) {
        // SAFETY: kill(2) on our own child, which has not been waited for.
        let sent = unsafe { libc::kill(self.pid() as libc::pid_t, libc::SIGINT) };
        assert_eq!(sent, 0, "SIGINT to {}: {}", self.pid(), std::io::Error::last_os_error());
    }

    /// Waits until it exits (at most `timeout`) and returns everything it printed.
    pub async fn finish(mut self, timeout: Duration) -> CliOutput {
        let mut stdout = self.child.stdout.take().expect("stdout is piped");
        let read_stdout = async {
            let mut text = Vec::new();
            let _ = stdout.read_to_end(&mut text).await;
            String::from_utf8_lossy(&text).into_owned()
        };
        let waited = tokio::time::timeout(timeout, async { tokio::join!(self.child.wait(), read_stdout) }).await;
        let Ok((status, stdout)) = waited else {
            let _ = self.child.start_kill();
            panic!("still running after {timeout:?}; stderr:\n{}", self.stderr());
        };
        if let Some(reader) = self.reader.take() {
            let _ = reader.await;
        }
        let status = status.expect("wait for the provisioner");
        CliOutput { code: status.code(), stdout, stderr: self.stderr() }
    }
}
