//! Snapshot tests of the assembled template and of the state machine definition: the committed
//! JSON under tests/snapshots/ is what `provisioner template` produces for the shipped service
//! description. A change to a decorator or to the description shows up here as a diff to review.
//!
//! To accept an intended change, regenerate the snapshots and review the diff in git:
//!     UPDATE_SNAPSHOTS=1 cargo nextest run -p provisioner --test template_snapshot

use std::path::PathBuf;

use provisioner::decorators::{self, state_machine};
use serde_json::Value;

/// A fixed image URI, so the snapshot does not depend on a push.
const IMAGE: &str = "123456789012.dkr.ecr.us-east-1.amazonaws.com/servicefull@sha256:0000000000000000000000000000000000000000000000000000000000000000";

fn snapshot_path(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/snapshots").join(name)
}

/// Compares as JSON values (key order aside), or rewrites the file with UPDATE_SNAPSHOTS=1.
fn check_snapshot(name: &str, actual: &str) {
    let path = snapshot_path(name);
    if std::env::var_os("UPDATE_SNAPSHOTS").is_some() {
        std::fs::write(&path, format!("{}\n", actual.trim_end())).unwrap();
        eprintln!("updated {}", path.display());
        return;
    }
    let expected = std::fs::read_to_string(&path).unwrap_or_else(|e| {
        panic!("cannot read {}: {e}; create it with UPDATE_SNAPSHOTS=1 (see this file's header)", path.display())
    });
    let expected_value: Value = serde_json::from_str(&expected).unwrap();
    let actual_value: Value = serde_json::from_str(actual).unwrap();
    if expected_value != actual_value {
        let diff: Vec<String> = actual
            .lines()
            .zip(expected.lines())
            .enumerate()
            .filter(|(_, (a, e))| a != e)
            .take(10)
            .map(|(n, (a, e))| format!("line {}:\n  expected: {e}\n  actual:   {a}", n + 1))
            .collect();
        panic!(
            "{} differs from what the code produces; if the change is intended, run \
             UPDATE_SNAPSHOTS=1 cargo nextest run -p provisioner --test template_snapshot\n{}",
            path.display(),
            diff.join("\n")
        );
    }
}

fn assembled() -> (runtime::template::Template, decorators::DecoratorContext) {
    decorators::assemble(service::description::describe().unwrap(), Some(IMAGE.into())).unwrap()
}

#[test]
fn the_template_matches_its_snapshot() {
    let (template, _) = assembled();
    check_snapshot("template.json", &template.to_json().unwrap());
}

#[test]
fn the_state_machine_definition_matches_its_snapshot() {
    let (_, ctx) = assembled();
    let (definition, _) = state_machine::definition(&ctx).unwrap();
    let pretty = serde_json::to_string_pretty(&serde_json::from_str::<Value>(&definition).unwrap()).unwrap();
    check_snapshot("state_machine.json", &pretty);
}

#[test]
fn the_template_carries_exactly_the_snapshotted_definition() {
    let (template, ctx) = assembled();
    let (definition, _) = state_machine::definition(&ctx).unwrap();
    let value: Value = serde_json::from_str(&template.to_json().unwrap()).unwrap();
    let sub = &value["Resources"]["StateMachine"]["Properties"]["DefinitionString"]["Fn::Sub"];
    assert_eq!(sub[0].as_str(), Some(definition.as_str()));
}
