//! Snapshot tests of the assembled template and of the state machine definition: the committed
//! JSON under tests/snapshots/ is what `provisioner template` produces for the shipped service
//! description. A change to a decorator or to the description shows up here as a diff to review.
//!
//! To accept an intended change, regenerate the snapshots and review the diff in git:
//!     UPDATE_SNAPSHOTS=1 cargo nextest run -p provisioner --test template_snapshot

use std::path::PathBuf;

use provisioner::decorators::{self, state_machine};
use provisioner::fork;
use serde_json::Value;

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

/// The template with the fixed image URI the snapshots use (so they do not depend on a push).
fn assembled() -> (model::template::Template, decorators::DecoratorContext) {
    let image = fork::snapshot_image(service::SERVICE_NAME);
    decorators::assemble(service::description::describe().unwrap(), Some(image)).unwrap()
}

/// What the snapshots must hold: rendered by the code `provisioner fork` writes a fork's with.
fn rendered(name: &str) -> String {
    let snapshots = fork::snapshots(service::description::describe().unwrap()).unwrap();
    snapshots.into_iter().find(|(file, _)| *file == name).map(|(_, text)| text).unwrap()
}

#[test]
fn the_template_matches_its_snapshot() {
    check_snapshot("template.json", &rendered("template.json"));
}

#[test]
fn the_state_machine_definition_matches_its_snapshot() {
    check_snapshot("state_machine.json", &rendered("state_machine.json"));
}

#[test]
fn the_snapshots_are_the_assembled_template_and_its_definition() {
    let (template, ctx) = assembled();
    let rendered_template: Value = serde_json::from_str(&rendered("template.json")).unwrap();
    assert_eq!(rendered_template, serde_json::from_str::<Value>(&template.to_json().unwrap()).unwrap());
    let (definition, _) = state_machine::definition(&ctx).unwrap();
    let rendered_definition: Value = serde_json::from_str(&rendered("state_machine.json")).unwrap();
    assert_eq!(rendered_definition, serde_json::from_str::<Value>(&definition).unwrap());
}

#[test]
fn the_template_carries_exactly_the_snapshotted_definition() {
    let (template, ctx) = assembled();
    let (definition, _) = state_machine::definition(&ctx).unwrap();
    let value: Value = serde_json::from_str(&template.to_json().unwrap()).unwrap();
    let sub = &value["Resources"]["StateMachine"]["Properties"]["DefinitionString"]["Fn::Sub"];
    assert_eq!(sub[0].as_str(), Some(definition.as_str()));
}
