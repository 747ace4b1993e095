//! `provisioner describe` as a user runs it: what it writes, what it prints, and that a bad
//! option writes nothing. The picture is checked by reading it back: the SVG is parsed and its
//! arrows compared with the transitions of the state machine in the template written beside it.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use model::states::{State, StateMachine, States};
use serde_json::Value;

fn provisioner(subcommand: &str, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_provisioner")).arg(subcommand).args(args).output().unwrap()
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

/// A fresh directory (not created) under the test's scratch space.
fn out_dir(name: &str) -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("cli-describe").join(name);
    let _ = std::fs::remove_dir_all(&dir);
    dir
}

fn describe(out: &Path, args: &[&str]) -> Output {
    let mut all = vec!["--out", out.to_str().unwrap()];
    all.extend_from_slice(args);
    provisioner("describe", &all)
}

/// The SVG inside the page.
fn svg_of(page: &str) -> &str {
    let start = page.find("<svg class=\"service\"").expect("the page holds the picture");
    let end = page[start..].find("</svg>").expect("the picture is closed") + start + "</svg>".len();
    &page[start..end]
}

type Transition = (String, Option<String>, Option<String>);

/// The workflow's arrows as drawn: (kind, from state, to state).
fn drawn_transitions(svg: &str) -> Vec<Transition> {
    let document = roxmltree::Document::parse(svg).expect("the SVG is well-formed XML");
    let mut out: Vec<Transition> = document
        .descendants()
        .filter(|n| n.has_tag_name("g") && n.attribute("data-kind").is_some())
        .filter(|n| n.attribute("class").is_some_and(|c| c.split(' ').any(|c| c == "edge")))
        .filter(|n| !matches!(n.attribute("data-kind"), Some("uses" | "reference")))
        .map(|n| {
            (
                n.attribute("data-kind").unwrap_or_default().to_owned(),
                n.attribute("data-from").map(str::to_owned),
                n.attribute("data-to").map(str::to_owned),
            )
        })
        .collect();
    out.sort();
    out
}

/// The transitions of `machine`, from the States Language model.
fn transitions(machine: &StateMachine) -> Vec<Transition> {
    fn walk(states: &States, parent: Option<&str>, out: &mut Vec<Transition>) {
        let t =
            |kind: &str, from: &str, to: Option<&str>| (kind.to_owned(), Some(from.to_owned()), to.map(str::to_owned));
        for (name, state) in states {
            out.extend(state.next().map(|next| t("next", name, Some(next))));
            if let State::Choice(choice) = state {
                out.extend(choice.choices.iter().map(|rule| t("choice", name, rule.next.as_deref())));
                out.extend(choice.default.as_deref().map(|d| t("default", name, Some(d))));
            }
            out.extend(state.catch().iter().map(|c| t("catch", name, Some(&c.next))));
            if state.end() || matches!(state, State::Succeed(_) | State::Fail(_)) {
                out.push(t("end", name, parent));
            }
            let nested: Vec<(&String, &States)> = match state {
                State::Parallel(p) => p.branches.iter().map(|b| (&b.start_at, &b.states)).collect(),
                State::Map(m) => m.item_processor.iter().map(|p| (&p.start_at, &p.states)).collect(),
                _ => Vec::new(),
            };
            for (start, states) in nested {
                out.push(t("branch", name, Some(start)));
                walk(states, Some(name), out);
            }
        }
    }
    let mut out = vec![("start".to_owned(), None, Some(machine.start_at.clone()))];
    walk(&machine.states, None, &mut out);
    out
}

/// Every state machine in a template, parsed from its definition as CloudFormation gets it.
fn state_machines(template: &Value) -> Vec<StateMachine> {
    let resources = template["Resources"].as_object().unwrap();
    resources
        .values()
        .filter(|r| r["Type"] == "AWS::StepFunctions::StateMachine")
        .map(|r| {
            let properties = &r["Properties"];
            let text = if let Some(definition) = properties.get("Definition") {
                definition.to_string()
            } else {
                let sub = &properties["DefinitionString"]["Fn::Sub"];
                sub.as_str().or_else(|| sub[0].as_str()).unwrap().to_owned()
            };
            StateMachine::from_json(&text).unwrap()
        })
        .collect()
}

fn state_names(machine: &StateMachine) -> Vec<String> {
    fn walk(states: &States, out: &mut Vec<String>) {
        for (name, state) in states {
            out.push(name.clone());
            match state {
                State::Parallel(p) => p.branches.iter().for_each(|b| walk(&b.states, out)),
                State::Map(m) => m.item_processor.iter().for_each(|p| walk(&p.states, out)),
                _ => {}
            }
        }
    }
    let mut out = Vec::new();
    walk(&machine.states, &mut out);
    out
}

fn attribute_values(svg: &str, attribute: &str) -> BTreeSet<String> {
    let document = roxmltree::Document::parse(svg).unwrap();
    document.descendants().filter_map(|n| n.attribute(attribute)).map(str::to_owned).collect()
}

/// Checks the page against the template written beside it.
fn assert_pictures(template: &Value, page: &str) {
    let svg = svg_of(page);
    let machines = state_machines(template);
    assert!(!machines.is_empty());
    let mut expected: Vec<Transition> = machines.iter().flat_map(transitions).collect();
    expected.sort();
    assert_eq!(drawn_transitions(svg), expected);

    let drawn_states = attribute_values(svg, "data-state");
    for machine in &machines {
        for name in state_names(machine) {
            assert!(drawn_states.contains(&name), "state {name:?} is not drawn");
        }
    }
    let drawn_ids = attribute_values(svg, "data-logical-id");
    for id in template["Resources"].as_object().unwrap().keys() {
        assert!(drawn_ids.contains(id), "resource {id:?} is not drawn");
    }
    let document = roxmltree::Document::parse(svg).unwrap();
    let starts = document.descendants().filter(|n| n.attribute("data-kind") == Some("start") && n.has_tag_name("g"));
    assert_eq!(starts.filter(|n| n.attribute("class").is_some_and(|c| c.contains("node"))).count(), machines.len());
}

/// Nothing in the page reaches outside it.
fn assert_self_contained(page: &str) {
    let lower = page.to_ascii_lowercase();
    let mut rest = lower.as_str();
    while let Some(at) = rest.find("http") {
        let tail = &rest[at..];
        assert!(
            tail.starts_with("http://www.w3.org/2000/svg\""),
            "an external reference: {}",
            &tail[..tail.len().min(80)]
        );
        assert!(rest[..at].ends_with("xmlns=\""), "a URL outside a namespace declaration: {}", &tail[..40]);
        rest = &tail[4..];
    }
    for forbidden in ["<script", "<link", "<img", "<iframe", "<object", "<embed", "@import", "src=", "href="] {
        assert!(!lower.contains(forbidden), "the page contains {forbidden}");
    }
    let mut rest = lower.as_str();
    while let Some(at) = rest.find("url(") {
        assert!(rest[at..].starts_with("url(#"), "url() to something outside: {}", &rest[at..at + 30]);
        rest = &rest[at + 4..];
    }
}

#[test]
fn writes_the_template_and_a_self_contained_picture_of_it() {
    let out = out_dir("default").join("nested");
    let output = describe(&out, &[]);
    assert!(output.status.success(), "{}", stderr(&output));
    let template_path = out.join("template.json");
    let page_path = out.join("service.html");
    assert_eq!(
        String::from_utf8(output.stdout.clone()).unwrap(),
        format!("{}\n{}\n", template_path.display(), page_path.display())
    );
    assert!(stderr(&output).contains("placeholder.invalid/"), "{}", stderr(&output));

    let written = std::fs::read_to_string(&template_path).unwrap();
    let printed = provisioner("template", &[]);
    assert!(printed.status.success());
    assert_eq!(written.as_bytes(), printed.stdout.as_slice(), "template.json differs from `provisioner template`");

    let template: Value = serde_json::from_str(&written).unwrap();
    let page = std::fs::read_to_string(&page_path).unwrap();
    assert_self_contained(&page);
    assert_pictures(&template, &page);
    let entries: Vec<_> = std::fs::read_dir(&out).unwrap().map(|e| e.unwrap().file_name()).collect();
    assert_eq!(entries.len(), 2, "only the two files, no leftovers: {entries:?}");
}

#[test]
fn the_template_matches_provisioner_template_with_the_same_options() {
    let fragment = Path::new(env!("CARGO_TARGET_TMPDIR")).join("cli-describe-fragment.yaml");
    std::fs::write(&fragment, "Resources:\n  Extra:\n    Type: AWS::SQS::Queue\n").unwrap();
    let options = [
        "--image",
        "123456789012.dkr.ecr.eu-west-1.amazonaws.com/billing@sha256:0123",
        "--service-name",
        "billing",
        "--cpu",
        "1024",
        "--memory",
        "4096",
        "--merge",
        fragment.to_str().unwrap(),
    ];
    let out = out_dir("options");
    let output = describe(&out, &options);
    assert!(output.status.success(), "{}", stderr(&output));
    assert!(stderr(&output).is_empty(), "no note with --image: {}", stderr(&output));
    let printed = provisioner("template", &options);
    assert!(printed.status.success(), "{}", stderr(&printed));
    let written = std::fs::read(out.join("template.json")).unwrap();
    assert_eq!(written, printed.stdout);

    let page = std::fs::read_to_string(out.join("service.html")).unwrap();
    let template: Value = serde_json::from_slice(&written).unwrap();
    assert_pictures(&template, &page);
    assert!(page.contains("cpu 1024 · memory 4096 MiB"), "the task size is shown");
    assert!(page.contains("billing@sha256:0123"), "the image is shown");
    assert!(attribute_values(svg_of(&page), "data-logical-id").contains("Extra"));
}

#[test]
fn a_merged_state_machine_with_parallel_map_and_choice_is_drawn_too() {
    let fragment = Path::new(env!("CARGO_TARGET_TMPDIR")).join("cli-describe-machine.json");
    let definition = serde_json::json!({
        "StartAt": "Route",
        "States": {
            "Route": {"Type": "Choice", "Choices": [
                {"Variable": "$.fan", "BooleanEquals": true, "Next": "Fan"},
                {"Variable": "$.items", "IsPresent": true, "Next": "Each"}
            ], "Default": "Later"},
            "Later": {"Type": "Wait", "Seconds": 5, "Next": "Route"},
            "Fan": {"Type": "Parallel", "End": true,
                "Catch": [{"ErrorEquals": ["States.ALL"], "Next": "Broken"}],
                "Branches": [
                    {"StartAt": "Tell", "States": {"Tell": {"Type": "Task", "Resource": "arn:aws:states:::sns:publish",
                        "Parameters": {"TopicArn": "${Topic}", "Message": "x"}, "End": true}}},
                    {"StartAt": "Idle", "States": {"Idle": {"Type": "Pass", "End": true}}}
                ]},
            "Each": {"Type": "Map", "End": true, "ItemProcessor": {"StartAt": "One",
                "States": {"One": {"Type": "Succeed"}}}},
            "Broken": {"Type": "Fail", "Error": "Broken"}
        }
    });
    let resources = serde_json::json!({"Resources": {"Fanout": {"Type": "AWS::StepFunctions::StateMachine", "Properties": {
        "RoleArn": {"Fn::GetAtt": ["StateMachineRole", "Arn"]},
        "DefinitionSubstitutions": {"Topic": {"Ref": "NotificationTopic"}},
        "Definition": definition
    }}}});
    std::fs::write(&fragment, resources.to_string()).unwrap();
    let out = out_dir("merged-machine");
    let output = describe(&out, &["--merge", fragment.to_str().unwrap()]);
    assert!(output.status.success(), "{}", stderr(&output));
    let template: Value = serde_json::from_slice(&std::fs::read(out.join("template.json")).unwrap()).unwrap();
    let page = std::fs::read_to_string(out.join("service.html")).unwrap();
    assert_eq!(state_machines(&template).len(), 2);
    assert_self_contained(&page);
    assert_pictures(&template, &page);
}

#[test]
fn a_bad_task_size_fails_naming_it_and_writes_nothing() {
    let out = out_dir("bad-size");
    let output = describe(&out, &["--cpu", "256", "--memory", "4096"]);
    assert!(!output.status.success());
    assert!(stderr(&output).contains("cpu 256 with memory 4096"), "{}", stderr(&output));
    assert!(output.stdout.is_empty(), "{}", String::from_utf8_lossy(&output.stdout));
    assert!(!out.exists(), "{} was created", out.display());
}

#[test]
fn a_missing_fragment_fails_naming_it_and_writes_nothing() {
    let out = out_dir("missing-fragment");
    let output = describe(&out, &["--merge", "/nonexistent/fragment.json"]);
    assert!(!output.status.success());
    assert!(stderr(&output).contains("/nonexistent/fragment.json"), "{}", stderr(&output));
    assert!(output.stdout.is_empty());
    assert!(!out.exists(), "{} was created", out.display());
}

#[test]
fn a_bad_option_leaves_earlier_files_alone() {
    let out = out_dir("keep");
    assert!(describe(&out, &[]).status.success());
    let before = std::fs::read(out.join("service.html")).unwrap();
    let output = describe(&out, &["--service-name", "Bad_Name"]);
    assert!(!output.status.success());
    assert!(stderr(&output).contains("\"Bad_Name\""), "{}", stderr(&output));
    assert_eq!(std::fs::read(out.join("service.html")).unwrap(), before);
}

#[test]
fn an_out_path_that_is_a_file_fails_and_leaves_the_file_alone() {
    let dir = out_dir("a-file");
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("not-a-directory");
    std::fs::write(&file, "keep me").unwrap();
    let output = describe(&file, &[]);
    assert!(!output.status.success());
    assert!(stderr(&output).contains("not-a-directory is not a directory"), "{}", stderr(&output));
    assert_eq!(std::fs::read_to_string(&file).unwrap(), "keep me");
}
