//! Compiling the task binary: statically linked (so the image can be FROM scratch), with the
//! `lambdabinary` feature that adds the fargateTask entry point, for x86_64 Linux (Fargate's
//! default platform). `--target` is explicit so build scripts and proc macros stay dynamic.

use std::path::{Path, PathBuf};
use std::process::Stdio;

use tokio::io::{AsyncBufReadExt, BufReader};

use super::progress::Progress;
use super::{ImageError, Result};

pub const TARGET: &str = "x86_64-unknown-linux-gnu";

/// What to compile.
#[derive(Debug, Clone)]
pub struct TaskBinary {
    /// The workspace root.
    pub workspace: PathBuf,
    pub package: String,
    pub bin: String,
    pub features: Vec<String>,
}

impl TaskBinary {
    /// The sample service's binary in this workspace: its package is named after the service
    /// (a fork renames it), so the name comes from the crate, never written here.
    pub fn service(workspace: &Path) -> Self {
        Self {
            workspace: workspace.to_owned(),
            package: service::PACKAGE.to_owned(),
            bin: service::SERVICE_NAME.to_owned(),
            features: vec!["lambdabinary".to_owned()],
        }
    }

    /// The binary of the same name as `package`, another task of the workspace, built with no
    /// features: the platform's test task (`platform-test-task`), which the integration tests run
    /// where they need knobs the service's own task does not have.
    pub fn package(workspace: &Path, package: &str) -> Self {
        Self {
            workspace: workspace.to_owned(),
            package: package.to_owned(),
            bin: package.to_owned(),
            features: Vec::new(),
        }
    }

    /// Runs `cargo build --release` for the static target and returns the binary's path, as cargo
    /// reports it (its JSON messages name the executable), so the target directory is wherever
    /// cargo's configuration puts it. Cargo's output goes to the progress reporter line by line; a
    /// failure carries its last lines.
    pub async fn build(&self, progress: &Progress) -> Result<PathBuf> {
        let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
        let mut child = tokio::process::Command::new(cargo)
            .current_dir(&self.workspace)
            .args(["build", "--release", "--target", TARGET, "-p", &self.package, "--bin", &self.bin])
            // `--features ""` would be read as a feature with an empty name.
            .args(if self.features.is_empty() {
                vec![]
            } else {
                vec!["--features".to_owned(), self.features.join(",")]
            })
            .arg("--message-format=json-render-diagnostics")
            .env("CARGO_TARGET_X86_64_UNKNOWN_LINUX_GNU_RUSTFLAGS", "-C target-feature=+crt-static")
            // A nested cargo must not inherit the outer build's per-crate variables.
            .env_remove("RUSTFLAGS")
            .env_remove("CARGO_ENCODED_RUSTFLAGS")
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(ImageError::CargoNotRun)?;
        let executable = child.stdout.take().map(|stdout| {
            let bin = self.bin.clone();
            tokio::spawn(async move {
                let mut lines = BufReader::new(stdout).lines();
                let mut found = None;
                while let Ok(Some(line)) = lines.next_line().await {
                    if found.is_none() {
                        found = artifact_executable(&line, &bin);
                    }
                }
                found
            })
        });
        let mut tail: Vec<String> = Vec::new();
        if let Some(stderr) = child.stderr.take() {
            let mut lines = BufReader::new(stderr).lines();
            while let Ok(Some(line)) = lines.next_line().await {
                progress.detail(&line);
                tail.push(line);
                if tail.len() > 40 {
                    tail.remove(0);
                }
            }
        }
        let status = child.wait().await.map_err(ImageError::CargoNotRun)?;
        if !status.success() {
            let code = status.code().map_or_else(|| "by signal".to_owned(), |c| c.to_string());
            return Err(ImageError::CargoFailed { code, tail: tail.join("\n") });
        }
        let executable = match executable {
            Some(reader) => reader.await.ok().flatten(),
            None => None,
        };
        executable.ok_or_else(|| ImageError::CargoFailed {
            code: "0".to_owned(),
            tail: format!("cargo built, but named no executable for the binary {}", self.bin),
        })
    }
}

/// The executable a line of cargo's JSON output names, when it is the artifact of `bin`.
fn artifact_executable(line: &str, bin: &str) -> Option<PathBuf> {
    let message: serde_json::Value = serde_json::from_str(line).ok()?;
    if message["reason"] != "compiler-artifact" || message["target"]["name"] != bin {
        return None;
    }
    message["executable"].as_str().map(PathBuf::from)
}

/// The workspace's target directory as cargo reports it (`cargo metadata`: CARGO_TARGET_DIR,
/// `build.target-dir` in a config, or `target/`); cargo's own default rule when cargo cannot say.
pub fn target_dir(workspace: &Path) -> PathBuf {
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let reported = std::process::Command::new(cargo)
        .current_dir(workspace)
        .args(["metadata", "--format-version", "1", "--no-deps", "--offline"])
        .stderr(Stdio::null())
        .output()
        .ok()
        .filter(|out| out.status.success())
        .and_then(|out| serde_json::from_slice::<serde_json::Value>(&out.stdout).ok())
        .and_then(|metadata| metadata["target_directory"].as_str().map(PathBuf::from));
    reported.unwrap_or_else(|| match std::env::var_os("CARGO_TARGET_DIR") {
        Some(dir) => workspace.join(dir),
        None => workspace.join("target"),
    })
}

/// The workspace around the current directory, or the directory itself outside one.
pub fn workspace_root() -> PathBuf {
    let start = std::env::current_dir().unwrap_or_else(|_| PathBuf::from("."));
    crate::workspace::find_root(&start).unwrap_or(start)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_executable_is_read_from_cargos_artifact_message_for_the_binary_only() {
        let artifact = |name: &str, exe: &str| {
            format!(
                r#"{{"reason":"compiler-artifact","target":{{"name":"{name}","kind":["bin"]}},"executable":{exe}}}"#
            )
        };
        let line = artifact("servicefull", r#""/elsewhere/x86_64-unknown-linux-gnu/release/servicefull""#);
        let found = artifact_executable(&line, "servicefull");
        assert_eq!(found, Some(PathBuf::from("/elsewhere/x86_64-unknown-linux-gnu/release/servicefull")));
        assert_eq!(artifact_executable(&line, "other"), None);
        assert_eq!(artifact_executable(&artifact("servicefull", "null"), "servicefull"), None);
        assert_eq!(artifact_executable(r#"{"reason":"build-finished","success":true}"#, "servicefull"), None);
        assert_eq!(artifact_executable("not json", "servicefull"), None);
    }

    #[test]
    fn the_service_is_built_with_lambdabinary_and_another_package_as_itself_without_features() {
        let service = TaskBinary::service(Path::new("/ws"));
        assert_eq!((service.package.as_str(), service.bin.as_str()), (service::PACKAGE, service::SERVICE_NAME));
        assert_eq!(service.features, ["lambdabinary"]);
        let other = TaskBinary::package(Path::new("/ws"), "platform-test-task");
        assert_eq!((other.package.as_str(), other.bin.as_str()), ("platform-test-task", "platform-test-task"));
        assert!(other.features.is_empty());
    }
}
