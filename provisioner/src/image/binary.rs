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
    /// The sample service's binary in this workspace.
    pub fn service(workspace: &Path) -> Self {
        Self {
            workspace: workspace.to_owned(),
            package: "service".to_owned(),
            bin: service::SERVICE_NAME.to_owned(),
            features: vec!["lambdabinary".to_owned()],
        }
    }

    /// The binary of the same name as `package`, another task of the workspace, built with no
    /// features: the platform's test task (`platform-test-task`), which the integration tests run
    /// where they need knobs the service's own task does not have.
    pub fn package(workspace: &Path, package: &str) -> Self {
        Self { workspace: workspace.to_owned(), package: package.to_owned(), bin: package.to_owned(), features: Vec::new() }
    }

    /// Where cargo leaves the binary.
    pub fn path(&self) -> PathBuf {
        target_dir(&self.workspace).join(TARGET).join("release").join(&self.bin)
    }

    /// Runs `cargo build --release` for the static target and returns the binary's path. Cargo's
    /// output goes to the progress reporter line by line; a failure carries its last lines.
    pub async fn build(&self, progress: &Progress) -> Result<PathBuf> {
        let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
        let mut child = tokio::process::Command::new(cargo)
            .current_dir(&self.workspace)
            .args(["build", "--release", "--target", TARGET, "-p", &self.package, "--bin", &self.bin])
            // `--features ""` would be read as a feature with an empty name.
            .args(if self.features.is_empty() { vec![] } else { vec!["--features".to_owned(), self.features.join(",")] })
            .env("CARGO_TARGET_X86_64_UNKNOWN_LINUX_GNU_RUSTFLAGS", "-C target-feature=+crt-static")
            // A nested cargo must not inherit the outer build's per-crate variables.
            .env_remove("RUSTFLAGS")
            .env_remove("CARGO_ENCODED_RUSTFLAGS")
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(ImageError::CargoNotRun)?;
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
        Ok(self.path())
    }
}

/// The workspace's target directory, honouring CARGO_TARGET_DIR as cargo does.
pub fn target_dir(workspace: &Path) -> PathBuf {
    match std::env::var_os("CARGO_TARGET_DIR") {
        Some(dir) => workspace.join(dir),
        None => workspace.join("target"),
    }
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
    fn the_service_is_built_with_lambdabinary_and_another_package_as_itself_without_features() {
        let service = TaskBinary::service(Path::new("/ws"));
        assert_eq!((service.package.as_str(), service.bin.as_str()), ("service", service::SERVICE_NAME));
        assert_eq!(service.features, ["lambdabinary"]);
        let other = TaskBinary::package(Path::new("/ws"), "platform-test-task");
        assert_eq!((other.package.as_str(), other.bin.as_str()), ("platform-test-task", "platform-test-task"));
        assert!(other.features.is_empty());
        assert!(other.path().ends_with("x86_64-unknown-linux-gnu/release/platform-test-task"), "{:?}", other.path());
    }
}
