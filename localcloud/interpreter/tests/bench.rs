//! A rough measure of the interpreter's own cost (no assertions on time: benchmarks are never
//! timed assertions). A Map of 2,000 items whose iterations run Pass states with templates,
//! intrinsic functions and paths, and a Choice of compound rules. Run it on purpose:
//! `cargo test --release -p states-interpreter --test bench -- --ignored --nocapture`.

use std::sync::Arc;
use std::time::Instant;

use futures_util::future::BoxFuture;
use model::states::StateMachine;
use serde_json::{Value, json};
use states_interpreter::{Execution, ExecutionContext, Integrations, Outcome, TaskCall, TaskFailure};

struct NoTasks;

impl Integrations for NoTasks {
    fn invoke(&self, call: TaskCall) -> BoxFuture<'_, Result<Value, TaskFailure>> {
        Box::pin(async move { Err(TaskFailure::new("Bench.NoTasks", call.state_name)) })
    }
}

/// With `selector`, each iteration's input is built by an ItemSelector that reads `$$` (which
/// copies the context object, the whole execution input included, once per item: a cost of its
/// own); without, the item is the iteration's input.
fn definition(selector: bool) -> StateMachine {
    let mut definition = json!({"StartAt": "Prepare", "States": {
        "Prepare": {"Type": "Pass", "Parameters": {"items.$": "$.items", "label": "bench"}, "Next": "Each"},
        "Each": {"Type": "Map", "ItemsPath": "$.items", "MaxConcurrency": 40,
            "ItemSelector": {"value.$": "$$.Map.Item.Value", "index.$": "$$.Map.Item.Index", "label.$": "$.label"},
            "ItemProcessor": {"StartAt": "Shape", "States": {
                "Shape": {"Type": "Pass", "InputPath": "$", "Parameters": {
                    "n.$": "$.value.n", "name.$": "States.Format('item {} of {}', $.index, $.label)",
                    "sum.$": "States.MathAdd($.value.n, 1)", "tags.$": "$.value.tags[0:2]",
                    "nested": {"kind.$": "$.value.kind", "first.$": "States.ArrayGetItem($.value.tags, 0)"}},
                    "ResultPath": "$.shaped", "OutputPath": "$.shaped", "Next": "Route"},
                "Route": {"Type": "Choice", "Choices": [
                    {"And": [{"Variable": "$.n", "NumericGreaterThan": 500},
                             {"Variable": "$.nested.kind", "StringEquals": "even"}], "Next": "Big"},
                    {"Or": [{"Variable": "$.n", "NumericLessThan": 10},
                            {"Variable": "$.name", "StringMatches": "item 1*"}], "Next": "Small"}],
                    "Default": "Other"},
                "Big": {"Type": "Pass", "Result": "big", "ResultPath": "$.size", "End": true},
                "Small": {"Type": "Pass", "Result": "small", "ResultPath": "$.size", "End": true},
                "Other": {"Type": "Pass", "Parameters": {"size": "other", "n.$": "$.n"}, "End": true}}},
            "ResultSelector": {"count.$": "States.ArrayLength($)"}, "End": true}}});
    if !selector {
        let each = &mut definition["States"]["Each"];
        each.as_object_mut().unwrap().remove("ItemSelector");
        each["ItemProcessor"]["States"]["Shape"]["InputPath"] = json!("$");
        each["ItemProcessor"]["States"]["Shape"]["Parameters"]["n.$"] = json!("$.n");
        each["ItemProcessor"]["States"]["Shape"]["Parameters"]["sum.$"] = json!("States.MathAdd($.n, 1)");
        each["ItemProcessor"]["States"]["Shape"]["Parameters"]["tags.$"] = json!("$.tags[0:2]");
        each["ItemProcessor"]["States"]["Shape"]["Parameters"]["name.$"] =
            json!("States.Format('item {} of {}', $.n, 'bench')");
        each["ItemProcessor"]["States"]["Shape"]["Parameters"]["nested"] =
            json!({"kind.$": "$.kind", "first.$": "States.ArrayGetItem($.tags, 0)"});
    }
    StateMachine::from_json(&definition.to_string()).unwrap()
}

#[test]
#[ignore = "a benchmark: run it on purpose, in release"]
fn pass_choice_map_heavy() {
    measure("with an ItemSelector reading $$", definition(true));
    measure("items as they are", definition(false));
}

fn measure(what: &str, machine: StateMachine) {
    let items: Vec<Value> = (0..2000)
        .map(|n| json!({"n": n, "kind": if n % 2 == 0 { "even" } else { "odd" }, "tags": ["a", "b", "c"]}))
        .collect();
    let input = json!({"items": items});
    let runtime = tokio::runtime::Builder::new_current_thread().enable_time().build().unwrap();
    let mut times = Vec::new();
    for run in 0..7 {
        let context = ExecutionContext::new("arn:aws:states:us-east-1:123456789012:stateMachine:Bench", "b", "r");
        let start = Instant::now();
        let outcome =
            runtime.block_on(Execution::new(machine.clone(), input.clone(), context, Arc::new(NoTasks)).run());
        let elapsed = start.elapsed();
        assert_eq!(outcome, Outcome::Succeeded { output: json!({"count": 2000}) }, "run {run}");
        if run > 0 {
            times.push(elapsed.as_secs_f64() * 1000.0);
        }
    }
    times.sort_by(f64::total_cmp);
    println!(
        "2000-item Pass/Choice/Map execution, {what}: median {:.1} ms, min {:.1} ms, max {:.1} ms (6 runs)",
        times[times.len() / 2],
        times[0],
        times[times.len() - 1]
    );
}
