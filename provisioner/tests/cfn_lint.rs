//! The generated template passes cfn-lint (the version tools/setup pins), informational checks
//! included: no errors, no warnings, no informational findings. A finding that is wrong for this
//! stack is ignored on its resource in the decorator that writes it, with the reason beside it.
//!
//! cfn-lint comes from `tools/setup` (into .venv/). When it is missing this test fails, never
//! skips: run `tools/setup`, then `cargo nextest run -p provisioner --test cfn_lint`.

use std::path::{Path, PathBuf};
use std::process::Command;

use provisioner::template::{Format, TemplateArgs, render};

fn cfn_lint() -> PathBuf {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap();
    let path = root.join(".venv/bin/cfn-lint");
    assert!(
        path.is_file(),
        "{} is missing: run tools/setup (it installs the pinned cfn-lint into .venv/), then rerun this test",
        path.display()
    );
    path
}

fn lint(format: Format, image: Option<&str>, file_name: &str) {
    let lint = cfn_lint();
    let args = TemplateArgs { format, image: image.map(str::to_owned), service: Default::default() };
    let text = render(&args).unwrap().text;
    let path = Path::new(env!("CARGO_TARGET_TMPDIR")).join(file_name);
    std::fs::write(&path, text).unwrap();
    let output = Command::new(&lint)
        .args(["--include-checks", "I", "--format", "parseable", "--"])
        .arg(&path)
        .output()
        .unwrap_or_else(|e| panic!("could not run {}: {e}; run tools/setup", lint.display()));
    let findings = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success() && findings.trim().is_empty(),
        "cfn-lint found problems in {} (exit {:?}):\n{findings}{}",
        path.display(),
        output.status.code(),
        String::from_utf8_lossy(&output.stderr)
    );
}

#[test]
fn the_json_template_passes_cfn_lint_with_informational_checks() {
    lint(Format::Json, Some("123456789012.dkr.ecr.us-east-1.amazonaws.com/servicefull:1"), "cfn-lint-template.json");
}

#[test]
fn the_yaml_template_with_the_placeholder_image_passes_cfn_lint() {
    lint(Format::Yaml, None, "cfn-lint-template.yaml");
}
