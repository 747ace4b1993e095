//! Parallel and Map: the branches of a Parallel, or the iterations of a Map over the items of its
//! input, run concurrently (a Map's bounded by its MaxConcurrency and AWS's ceiling), each as its
//! own thread of history events linked to the state's start; the first failure stops the rest,
//! unless a Map tolerates it (ToleratedFailureCount/Percentage). A distributed Map counts its
//! failed items against that threshold, zero when none is set, and fails with
//! `States.ExceedToleratedFailureThreshold` past it, never with an item's own error.

use futures_util::stream::{self, FuturesUnordered, StreamExt as _};
use serde_json::Value;

use crate::compiled::{ItemSelector, MapWork, Scope};
use crate::context::{LazyContext, StateContext};
use crate::error::{StatesError, names};
use crate::events::EventDetails;
use crate::execution::{Entered, Runner};
use crate::jsonata::Bindings;
use crate::path;
use crate::pipeline::{DataFlow, Finished, reference_value};

/// Iterations an inline Map runs at once at most, whatever its MaxConcurrency (AWS's limit).
pub const INLINE_MAP_CONCURRENCY: usize = 40;
/// Iterations a distributed Map runs at once when MaxConcurrency is 0 or above it; bounded so
/// that a hundred thousand items do not become a hundred thousand futures at once.
pub const DISTRIBUTED_MAP_CONCURRENCY: usize = 1000;

/// The cause AWS gives with States.ExceedToleratedFailureThreshold (recorded on AWS; the
/// documentation names only the error).
pub const THRESHOLD_EXCEEDED: &str = "The specified tolerated failure threshold was exceeded";

/// A failed child execution's entry in a distributed Map's output. AWS documents that "if a child
/// workflow execution fails, Step Functions returns its execution result unchanged", the record
/// of `Transformation: NONE` (input as JSON text, `InputDetails`, `Status`), here with the error
/// and cause it failed with. AWS's record also names the child execution (`ExecutionArn`,
/// `Name`, `StateMachineArn`, `StartDate`, `StopDate`, `Redrive...`); the local interpreter runs
/// no child executions, so it has none to name.
fn failed_child(error: &StatesError, input: Option<&Value>) -> Value {
    let mut record = serde_json::Map::new();
    record.insert("Error".into(), Value::from(error.error.as_str()));
    record.insert("Cause".into(), Value::from(error.cause.as_str()));
    if let Some(input) = input {
        record.insert("Input".into(), Value::String(input.to_string()));
        record.insert("InputDetails".into(), serde_json::json!({"Included": true}));
    }
    record.insert("Status".into(), Value::from("FAILED"));
    Value::Object(record)
}

impl Runner {
    pub(crate) async fn parallel(
        &self,
        branches: &[Scope],
        flow: &DataFlow,
        entered: &Entered<'_>,
        raw: &Value,
        retry_count: u64,
        last: &mut u64,
    ) -> Result<Finished, StatesError> {
        let context = entered.context(self, retry_count);
        let input = flow.request(raw, &context, entered.name)?;
        self.log.emit(last, EventDetails::ParallelStateStarted);
        let started = *last;
        let input = &input;
        let outer = entered.variables;
        let mut running: FuturesUnordered<_> = branches
            .iter()
            .enumerate()
            .map(|(index, branch)| async move {
                let mut branch_last = started;
                // Each branch has a scope of its own: it reads the outer variables, and what it
                // assigns goes when it ends.
                let variables = outer.child();
                (index, self.run_states(branch, input.clone(), &variables, &mut branch_last).await)
            })
            .collect();
        let mut outputs = vec![Value::Null; branches.len()];
        while let Some((index, result)) = running.next().await {
            match result {
                Ok(output) => outputs[index] = output,
                Err(error) => {
                    // The other branches stop here, as the specification requires.
                    drop(running);
                    self.log.emit(last, EventDetails::ParallelStateFailed);
                    return Err(error);
                }
            }
        }
        self.log.emit(last, EventDetails::ParallelStateSucceeded);
        flow.finish(raw, Some(Value::Array(outputs)), &context, entered.name)
    }

    pub(crate) async fn map(
        &self,
        map: &MapWork,
        flow: &DataFlow,
        entered: &Entered<'_>,
        raw: &Value,
        retry_count: u64,
        last: &mut u64,
    ) -> Result<Finished, StatesError> {
        let context = entered.context(self, retry_count);
        let Some(processor) = map.processor.as_ref() else {
            return Err(StatesError::runtime(format!("the Map state {:?} has no ItemProcessor", entered.name)));
        };
        if map.reads_items {
            return Err(StatesError::runtime(format!(
                "the Map state {:?} reads its items with ItemReader, which the local interpreter does not \
                 support: pass the items in the input and use ItemsPath",
                entered.name
            )));
        }
        let effective = flow.input_path(raw, &context)?;
        let items = match &map.jsonata {
            // JSONata: `Items`, a JSON array or an expression giving one; the input when absent.
            Some(jsonata) => {
                let bindings = Bindings { input: raw, result: None, error_output: None, context: &context };
                let items = match &jsonata.items {
                    Some(items) => items.evaluate(&bindings, "Items", entered.name)?,
                    None => raw.clone(),
                };
                Ok(items)
            }
            None => map.items_path.apply(&effective, &context),
        };
        let items = match items {
            Ok(Value::Array(items)) => items,
            Ok(other) if map.jsonata.is_some() => {
                return Err(StatesError::evaluation(
                    "Items",
                    format!("the Items of Map state {:?} gave {}, not a JSON array", entered.name, path::kind(&other)),
                ));
            }
            Ok(other) => {
                return Err(StatesError::runtime(format!(
                    "the ItemsPath {:?} of Map state {:?} gave {}, not a JSON array",
                    map.items_path.text(),
                    entered.name,
                    path::kind(&other)
                )));
            }
            Err(e) => {
                return Err(StatesError::runtime(format!("the ItemsPath of Map state {:?}: {e}", entered.name)));
            }
        };
        let ceiling = if map.distributed { DISTRIBUTED_MAP_CONCURRENCY } else { INLINE_MAP_CONCURRENCY };
        let bindings = Bindings { input: raw, result: None, error_output: None, context: &context };
        let count = |expression: &crate::jsonata::Field, field: &str| {
            expression.evaluate_as(&bindings, field, "Map", entered.name, "a non-negative integer", |value| {
                value.as_u64().ok_or(value)
            })
        };
        let max_concurrency = match (&map.max_concurrency, &map.max_concurrency_path) {
            (Some(n), _) => *n,
            (None, Some(p)) => {
                reference_value(p, &effective, &context, "MaxConcurrencyPath")?.as_u64().ok_or_else(|| {
                    StatesError::runtime(format!(
                        "MaxConcurrencyPath {:?} must point to a non-negative integer",
                        p.text()
                    ))
                })?
            }
            (None, None) => match &map.max_concurrency_expression {
                Some(expression) => count(expression, "MaxConcurrency")?,
                None => 0,
            },
        };
        let limit = match usize::try_from(max_concurrency) {
            Ok(0) | Err(_) => ceiling,
            Ok(n) => n.min(ceiling),
        };
        let tolerated_count = match (&map.tolerated_failure_count, &map.tolerated_failure_count_path) {
            (Some(n), _) => Some(*n),
            (None, Some(p)) => Some(
                reference_value(p, &effective, &context, "ToleratedFailureCountPath")?.as_u64().ok_or_else(|| {
                    StatesError::runtime(format!(
                        "ToleratedFailureCountPath {:?} must point to a non-negative integer",
                        p.text()
                    ))
                })?,
            ),
            (None, None) => map
                .tolerated_failure_count_expression
                .as_deref()
                .map(|e| count(e, "ToleratedFailureCount"))
                .transpose()?,
        };
        let tolerated_percentage = match (&map.tolerated_failure_percentage, &map.tolerated_failure_percentage_path) {
            (Some(n), _) => Some(*n),
            (None, Some(p)) => Some(
                reference_value(p, &effective, &context, "ToleratedFailurePercentagePath")?
                    .as_f64()
                    .filter(|n| (0.0..=100.0).contains(n))
                    .ok_or_else(|| {
                        StatesError::runtime(format!(
                            "ToleratedFailurePercentagePath {:?} must point to a number from 0 to 100",
                            p.text()
                        ))
                    })?,
            ),
            (None, None) => None,
        };
        // A distributed Map tolerates no failure unless told otherwise: "the default percentage value
        // is zero, which means that the workflow fails if any one of its child workflow executions
        // fails or times out", with States.ExceedToleratedFailureThreshold.
        let tolerated_count = match (tolerated_count, tolerated_percentage) {
            (None, None) if map.distributed => Some(0),
            (count, _) => count,
        };
        let selector = map.item_selector.as_ref();
        let length = items.len();
        self.log.emit(last, EventDetails::MapStateStarted { length });
        let started = *last;
        let (effective, name, base, random) = (&effective, entered.name, &self.base_context, &self.random);
        let entered_time = entered.time.as_str();
        let outer = entered.variables;
        let mut iterations = stream::iter(items.into_iter().enumerate())
            .map(|(index, item)| async move {
                let mut iteration_last = started;
                self.log.emit(&mut iteration_last, EventDetails::MapIterationStarted { name: name.to_owned(), index });
                let input = match selector {
                    None => Ok(item),
                    Some(selector) => {
                        let context = LazyContext::new(
                            StateContext {
                                name,
                                entered_time,
                                retry_count,
                                task_token: None,
                                map_item: Some((index, &item)),
                            },
                            base,
                            random,
                            outer,
                        );
                        match selector {
                            ItemSelector::Path(template) => template.evaluate(effective, &context),
                            ItemSelector::Jsonata(field) => {
                                let bindings =
                                    Bindings { input: raw, result: None, error_output: None, context: &context };
                                field.evaluate(&bindings, "ItemSelector", name)
                            }
                        }
                    }
                };
                // A failed child execution's entry in a distributed Map's output records its input.
                let kept = if map.distributed { input.as_ref().ok().cloned() } else { None };
                // An inline iteration reads the outer variables; a distributed Map's child
                // execution none ("Distributed Map states cannot reference variables in outer
                // scopes").
                let variables = if map.distributed { outer.isolated() } else { outer.child() };
                let result = match input {
                    Ok(input) => self.run_states(processor, input, &variables, &mut iteration_last).await,
                    Err(e) => Err(e),
                };
                let result = result.map_err(|error| (error, kept));
                let details = match &result {
                    Ok(_) => EventDetails::MapIterationSucceeded { name: name.to_owned(), index },
                    Err(_) => EventDetails::MapIterationFailed { name: name.to_owned(), index },
                };
                self.log.emit(&mut iteration_last, details);
                (index, result)
            })
            .buffer_unordered(limit);
        let tolerant = tolerated_count.is_some() || tolerated_percentage.is_some();
        let mut outputs = vec![Value::Null; length];
        let mut failures = 0u64;
        while let Some((index, result)) = iterations.next().await {
            match result {
                Ok(output) => outputs[index] = output,
                // Inline, an iteration's error is the Map's own (States.Runtime always: nothing
                // tolerates it); in distributed mode every failed child execution is one failure.
                Err((error, _)) if !tolerant || (!map.distributed && error.error == names::RUNTIME) => {
                    drop(iterations);
                    self.log.emit(last, EventDetails::MapStateFailed);
                    return Err(error);
                }
                Err((error, input)) => {
                    failures += 1;
                    outputs[index] =
                        if map.distributed { failed_child(&error, input.as_ref()) } else { error.to_output() };
                    let over_count = tolerated_count.is_some_and(|n| failures > n);
                    let over_percentage =
                        tolerated_percentage.is_some_and(|p| failures as f64 * 100.0 / length as f64 > p);
                    if over_count || over_percentage {
                        drop(iterations);
                        self.log.emit(last, EventDetails::MapStateFailed);
                        return Err(StatesError::new(names::EXCEED_TOLERATED_FAILURE_THRESHOLD, THRESHOLD_EXCEEDED));
                    }
                }
            }
        }
        self.log.emit(last, EventDetails::MapStateSucceeded);
        flow.finish(raw, Some(Value::Array(outputs)), &context, entered.name)
    }
}
