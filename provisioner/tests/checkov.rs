//! The generated template passes checkov (the version tools/setup pins into .venv-checkov/), the
//! scanner a security reviewer runs on CloudFormation: no failed check. A check that cannot
//! reasonably pass for this stack is skipped on its resource, in the resource's Metadata
//! (`checkov: {skip: [{id, comment}]}`), by the decorator that writes the resource, with the reason
//! as the comment; this test holds each skip to a real comment and checks that checkov read it.
//!
//! checkov runs with nothing downloaded and no update check (`--skip-download`,
//! `BC_SKIP_MAPPING`, `CKV_SKIP_PACKAGE_UPDATE_CHECK`): it reaches no network. It lives in a
//! virtualenv of its own because its pins (boto3 1.35, networkx 2, packaging 23) would downgrade
//! what moto and cfn-lint need in .venv/. When it is missing this test fails, never skips: run
//! `tools/setup`, then `cargo nextest run -p provisioner --test checkov`.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Command;

use provisioner::template::{Format, TemplateArgs, render};
use serde_json::Value;

fn checkov() -> PathBuf {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap();
    let path = root.join(".venv-checkov/bin/checkov");
    assert!(
        path.is_file(),
        "{} is missing: run tools/setup (it installs the pinned checkov into .venv-checkov/), then rerun this test",
        path.display()
    );
    path
}

/// The checks skipped in the template's own metadata: (logical ID, check ID, comment).
fn skips_in(template: &Value) -> BTreeSet<(String, String, String)> {
    let mut skips = BTreeSet::new();
    for (id, resource) in template["Resources"].as_object().unwrap() {
        for skip in resource["Metadata"]["checkov"]["skip"].as_array().into_iter().flatten() {
            let text = |key: &str| skip[key].as_str().unwrap_or_default().to_owned();
            skips.insert((id.clone(), text("id"), text("comment")));
        }
    }
    skips
}

/// checkov's JSON report on `text`, written to `file_name`.
fn scan(text: &str, file_name: &str) -> Value {
    let path = Path::new(env!("CARGO_TARGET_TMPDIR")).join(file_name);
    std::fs::write(&path, text).unwrap();
    let checkov = checkov();
    let output = Command::new(&checkov)
        .args(["--framework", "cloudformation", "--skip-download", "--output", "json", "--file"])
        .arg(&path)
        .env("BC_SKIP_MAPPING", "TRUE")
        .env("CKV_SKIP_PACKAGE_UPDATE_CHECK", "true")
        .output()
        .unwrap_or_else(|e| panic!("could not run {}: {e}; run tools/setup", checkov.display()));
    let report: Value = serde_json::from_slice(&output.stdout).unwrap_or_else(|e| {
        panic!(
            "checkov's output is not JSON ({e}), exit {:?}:\n{}\n{}",
            output.status.code(),
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        )
    });
    assert_eq!(report["check_type"], "cloudformation", "one framework, one report: {report}");
    let failed = report["results"]["failed_checks"].as_array().cloned().unwrap_or_default();
    let shown: Vec<String> = failed
        .iter()
        .map(|c| format!("{} {} on {}: {}", c["check_id"], c["check_name"], c["resource"], c["guideline"]))
        .collect();
    assert!(
        failed.is_empty() && output.status.success(),
        "checkov failed {} check(s) on {} (exit {:?}); fix the decorator that writes the resource, or skip the \
         check in its Metadata with the reason:\n{}",
        failed.len(),
        path.display(),
        output.status.code(),
        shown.join("\n")
    );
    report
}

fn check_ids(report: &Value, kind: &str) -> BTreeSet<(String, String)> {
    report["results"][kind]
        .as_array()
        .into_iter()
        .flatten()
        .map(|c| (c["check_id"].as_str().unwrap().to_owned(), c["resource"].as_str().unwrap().to_owned()))
        .collect()
}

fn assert_passes(format: Format, image: Option<&str>, file_name: &str) {
    let args = TemplateArgs { format, image: image.map(str::to_owned), service: Default::default() };
    let text = render(&args).unwrap().text;
    let template: Value = match format {
        Format::Json => serde_json::from_str(&text).unwrap(),
        Format::Yaml => serde_json::to_value(model::template::Template::from_yaml(&text).unwrap()).unwrap(),
    };
    let report = scan(&text, file_name);

    // checkov really read this stack: the checks the template was changed to pass are among the
    // passed ones (an empty scan would fail nothing and prove nothing).
    let passed = check_ids(&report, "passed_checks");
    for expected in [
        ("CKV_AWS_158", "AWS::Logs::LogGroup.TaskLogGroup"),
        ("CKV_AWS_66", "AWS::Logs::LogGroup.TaskLogGroup"),
        ("CKV_AWS_26", "AWS::SNS::Topic.NotificationTopic"),
        ("CKV_AWS_65", "AWS::ECS::Cluster.Cluster"),
        ("CKV_AWS_7", "AWS::KMS::Key.TaskLogKey"),
        ("CKV_AWS_33", "AWS::KMS::Key.TaskLogKey"),
        ("CKV_AWS_23", "AWS::EC2::SecurityGroup.TaskSecurityGroup"),
        ("CKV_AWS_111", "AWS::IAM::Role.StateMachineRole"),
    ] {
        let expected = (expected.0.to_owned(), expected.1.to_owned());
        assert!(passed.contains(&expected), "checkov did not pass {expected:?}; passed: {passed:?}");
    }

    // Every skip has a reason, and the skips checkov reports are exactly those of the metadata.
    let skips = skips_in(&template);
    for (id, check, comment) in &skips {
        assert!(check.starts_with("CKV"), "{id}: skip of {check:?} names no checkov check");
        assert!(comment.split_whitespace().count() >= 8, "{id}: skip of {check} needs a real reason, got {comment:?}");
    }
    let skipped: BTreeSet<(String, String)> = report["results"]["skipped_checks"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|c| {
            assert!(!c["check_result"]["suppress_comment"].as_str().unwrap_or_default().is_empty(), "{c}");
            (c["check_id"].as_str().unwrap().to_owned(), c["resource"].as_str().unwrap().to_owned())
        })
        .collect();
    let declared: BTreeSet<(String, String)> = skips
        .iter()
        .map(|(id, check, _)| {
            let kind = template["Resources"][id]["Type"].as_str().unwrap();
            (check.clone(), format!("{kind}.{id}"))
        })
        .collect();
    assert_eq!(skipped, declared, "checkov skipped exactly what the template's metadata skips");
}

#[test]
fn the_json_template_passes_checkov() {
    assert_passes(
        Format::Json,
        Some("123456789012.dkr.ecr.us-east-1.amazonaws.com/servicefull:1"),
        "checkov-template.json",
    );
}

#[test]
fn the_yaml_template_with_the_placeholder_image_passes_checkov() {
    assert_passes(Format::Yaml, None, "checkov-template.yaml");
}
