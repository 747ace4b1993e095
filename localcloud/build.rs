//! Compiles the credentials agent (`agent/main.rs`, std only) into a static binary with the same
//! `rustc` that builds this crate, for the local Fargate to put in an image FROM scratch. Without a
//! static C library for the target (glibc's `libc.a`, Debian's libc6-dev, which the task image's
//! own static build needs too) the agent is left out with a warning: the local Fargate then gives
//! a task with a task role the test keys instead of a credentials endpoint, and says so.

use std::path::PathBuf;
use std::process::Command;

fn main() {
    println!("cargo:rerun-if-changed=agent/main.rs");
    println!("cargo:rerun-if-changed=build.rs");
    let out = PathBuf::from(std::env::var_os("OUT_DIR").expect("cargo sets OUT_DIR"));
    let binary = out.join("credentials-agent");
    let target = std::env::var("TARGET").unwrap_or_default();
    let rustc = std::env::var_os("RUSTC").unwrap_or_else(|| "rustc".into());
    let built = if target.contains("-linux-") {
        Command::new(&rustc)
            .args(["--edition", "2024", "--crate-name", "credentials_agent", "--target", &target])
            .args(["-C", "opt-level=s", "-C", "panic=abort", "-C", "strip=symbols", "-C", "target-feature=+crt-static"])
            .arg("-o")
            .arg(&binary)
            .arg("agent/main.rs")
            .output()
            .map_err(|e| e.to_string())
            .and_then(
                |o| if o.status.success() { Ok(()) } else { Err(String::from_utf8_lossy(&o.stderr).into_owned()) },
            )
    } else {
        Err(format!("the agent runs in a Linux container, and {target} is not a Linux target"))
    };
    if let Err(why) = built {
        let first = why.lines().find(|l| !l.trim().is_empty()).unwrap_or("no message").to_owned();
        println!(
            "cargo:warning=the local Fargate's credentials agent was not built ({first}); tasks with a task role get \
             test keys instead of a credentials endpoint. Install libc6-dev for a static build."
        );
        std::fs::write(&binary, b"").expect("OUT_DIR is writable");
    }
}
