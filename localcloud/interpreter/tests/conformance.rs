//! Runs every case of `conformance.json` and `conformance-jsonata.json` (JSONata and workflow
//! variables; the format is described in its `about` field) through
//! the interpreter: validation first, as CreateStateMachine would, then an execution with Task
//! calls answered from the case's `tasks` table. Time is tokio's paused clock, so Waits, Retry
//! intervals and timeouts take their full definition length without taking wall-clock time.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures_util::future::BoxFuture;
use model::states::StateMachine;
use serde_json::Value;
use states_interpreter::{CompiledMachine, Execution, ExecutionContext, Integrations, Outcome, TaskCall, TaskFailure};

const STATE_MACHINE_ARN: &str = "arn:aws:states:us-east-1:123456789012:stateMachine:Conformance";
const ROLE_ARN: &str = "arn:aws:iam::123456789012:role/Conformance";
const TASK_RESOURCE: &str = "arn:aws:states:::lambda:invoke";

/// Answers Task calls from a case's `tasks` table and records what each state was sent.
struct Table {
    answers: HashMap<String, Vec<Value>>,
    calls: Mutex<HashMap<String, Vec<Value>>>,
}

impl Integrations for Table {
    fn invoke(&self, call: TaskCall) -> BoxFuture<'_, Result<Value, TaskFailure>> {
        Box::pin(async move {
            assert_eq!(call.resource, TASK_RESOURCE, "conformance cases call only {TASK_RESOURCE}");
            let answer = {
                let mut calls = self.calls.lock().unwrap();
                let made = calls.entry(call.state_name.clone()).or_default();
                made.push(call.parameters.clone());
                let answers = self.answers.get(&call.state_name).map(Vec::as_slice).unwrap_or_default();
                answers.get(made.len() - 1).or(answers.last()).cloned()
            };
            let Some(answer) = answer else {
                return Err(TaskFailure::new(
                    "Conformance.NoAnswer",
                    format!("no answer for state {}", call.state_name),
                ));
            };
            if let Some(delay) = answer.get("delay_seconds").and_then(Value::as_f64) {
                tokio::time::sleep(Duration::from_secs_f64(delay)).await;
            }
            match (answer.get("result"), answer.get("error")) {
                (Some(result), _) => Ok(result.clone()),
                (None, Some(error)) => Err(TaskFailure::new(
                    error.as_str().unwrap_or_default(),
                    answer.get("cause").and_then(Value::as_str).unwrap_or_default(),
                )),
                (None, None) => panic!("an answer needs result or error: {answer}"),
            }
        })
    }
}

async fn run_case(case: &Value) -> Result<(), String> {
    let name = case["name"].as_str().ok_or("a case has no name")?;
    let expected = &case["expected"];
    let status = expected["status"].as_str().ok_or("expected.status is missing")?;
    let machine = StateMachine::from_json(&case["definition"].to_string()).map_err(|e| e.to_string())?;
    // As the local cloud's CreateStateMachine does: AWS's rules, then every JSONata expression parsed.
    let problems = match machine.validate() {
        Err(problems) => Some(problems.to_string()),
        Ok(()) => {
            let problems = CompiledMachine::new(machine.clone()).problems();
            (!problems.is_empty()).then(|| problems.join("; "))
        }
    };
    if let Some(text) = problems {
        if status != "INVALID" {
            return Err(format!("the definition does not validate: {text}"));
        }
        let missing: Vec<&str> = expected["problems"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(Value::as_str)
            .filter(|p| !text.contains(p))
            .collect();
        return if missing.is_empty() { Ok(()) } else { Err(format!("{text:?} does not say {missing:?}")) };
    }
    if status == "INVALID" {
        return Err("the definition validates, but the case expects it not to".into());
    }
    let answers: HashMap<String, Vec<Value>> =
        serde_json::from_value(case.get("tasks").cloned().unwrap_or(Value::Object(Default::default())))
            .map_err(|e| format!("tasks: {e}"))?;
    let table = Arc::new(Table { answers, calls: Mutex::default() });
    let context = ExecutionContext::new(STATE_MACHINE_ARN, name, ROLE_ARN);
    let outcome = Execution::new(machine, case["input"].clone(), context, table.clone()).run().await;
    let mut problems = Vec::new();
    if outcome.status() != status {
        problems.push(format!("status {} ({outcome:?}), expected {status}", outcome.status()));
    }
    match &outcome {
        Outcome::Succeeded { output } if expected.get("output") != Some(output) => {
            problems.push(format!("output {output}, expected {}", expected["output"]));
        }
        Outcome::Failed { error, cause } => {
            if expected.get("error").and_then(Value::as_str) != Some(error) {
                problems.push(format!("error {error:?}, expected {}", expected["error"]));
            }
            if let Some(want) = expected.get("cause").and_then(Value::as_str)
                && want != cause
            {
                problems.push(format!("cause {cause:?}, expected {want:?}"));
            }
        }
        _ => {}
    }
    if let Some(Value::Object(want)) = expected.get("calls") {
        let calls = table.calls.lock().unwrap();
        for (state, want) in want {
            let got = Value::Array(calls.get(state).cloned().unwrap_or_default());
            if &got != want {
                problems.push(format!("state {state} was called with {got}, expected {want}"));
            }
        }
    }
    if problems.is_empty() { Ok(()) } else { Err(problems.join("; ")) }
}

/// Runs every case of one table; the names must be unique across tables (`names`).
async fn run_table(file: &str, text: &str, names: &mut std::collections::HashSet<String>) {
    let table: Value = serde_json::from_str(text).unwrap_or_else(|e| panic!("{file} is not JSON: {e}"));
    let cases = table["cases"].as_array().unwrap_or_else(|| panic!("{file} has no cases"));
    let mut failures = Vec::new();
    for case in cases {
        let name = case["name"].as_str().unwrap_or("<unnamed>");
        assert!(names.insert(name.to_owned()), "case {name} appears twice");
        assert!(case["source"].is_string(), "case {name} does not say where it comes from");
        if let Err(problem) = run_case(case).await {
            failures.push(format!("{name}: {problem}"));
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} cases of {file} failed:\n{}",
        failures.len(),
        cases.len(),
        failures.join("\n")
    );
}

#[tokio::test(start_paused = true)]
async fn every_conformance_case() {
    let mut names = std::collections::HashSet::new();
    run_table("conformance.json", include_str!("conformance.json"), &mut names).await;
    run_table("conformance-jsonata.json", include_str!("conformance-jsonata.json"), &mut names).await;
}
