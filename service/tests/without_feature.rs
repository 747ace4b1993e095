//! Built without `lambdabinary`, the binary has no fargateTask: it does not offer it, and asking
//! for it says why and how to get it. Run by `cargo nextest run -p service` (no features).
#![cfg(not(feature = "lambdabinary"))]

use std::process::Command;

#[test]
fn fargate_task_is_absent_and_explained() {
    let out =
        Command::new(env!("CARGO_BIN_EXE_servicefull")).arg("fargateTask").env("TASK_INPUT", "{}").output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("not available in this build"), "{stderr}");
    assert!(stderr.contains("--features lambdabinary"), "{stderr}");

    let help = Command::new(env!("CARGO_BIN_EXE_servicefull")).arg("help").output().unwrap();
    let text = String::from_utf8_lossy(&help.stdout);
    assert!(!text.contains("fargateTask"), "{text}");
}
