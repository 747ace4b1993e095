//! A state's data flow, in the order Step Functions applies it: `InputPath` selects the effective
//! input from the raw input, `Parameters` builds the state's work request from it, the work gives
//! a result, `ResultSelector` reshapes that result, `ResultPath` places it into the raw input,
//! and `OutputPath` selects what goes on to the next state. Each step is a method named for its
//! field, over the parsed form a machine keeps from load ([`DataFlow`]); the state types call the
//! steps they have. Also the payload limit every step's output is held to.

use std::sync::Arc;

use model::states::NullablePath;
use serde_json::{Map as JsonMap, Value};

use crate::error::{StatesError, names};
use crate::inspect;
use crate::jsonata::{Bindings, Field};
use crate::path::{self, ContextObject, Query, Reference};
use crate::template::Template;

/// The largest payload (execution input, state input or output, task result) Step Functions
/// passes: 256 KiB of UTF-8 JSON.
pub const MAX_PAYLOAD_BYTES: usize = 256 * 1024;

/// `InputPath` or `OutputPath`: absent (or `$`) keeps the whole value; `null` gives `{}`.
#[derive(Debug, Clone)]
pub enum Selection {
    Whole,
    Empty,
    Path(Query),
}

impl Selection {
    pub fn new(field: &Option<NullablePath>) -> Self {
        match field {
            None => Selection::Whole,
            Some(NullablePath::Null) => Selection::Empty,
            Some(NullablePath::Path(p)) if p == "$" => Selection::Whole,
            Some(NullablePath::Path(p)) => Selection::Path(Query::new(p)),
        }
    }

    fn apply(&self, value: Value, context: &dyn ContextObject, field: &str) -> Result<Value, StatesError> {
        match self {
            Selection::Whole => Ok(value),
            Selection::Empty => Ok(Value::Object(JsonMap::new())),
            Selection::Path(query) => query.apply(&value, context).map_err(|e| match e {
                path::PathError::NoMatch { .. } => {
                    let p = query.text();
                    StatesError::runtime(format!(
                        "Invalid path '{p}' : No results for path: {p} ({field}) in the value {value}"
                    ))
                }
                other => StatesError::runtime(format!("{field}: {other}")),
            }),
        }
    }
}

/// `ResultPath` (of a state or a catcher): absent replaces the input with the result; `null`
/// keeps the input and drops the result; a reference path merges the result into a copy of the
/// input.
#[derive(Debug, Clone)]
pub enum Placement {
    Replace,
    Discard,
    At(Reference),
}

impl Placement {
    pub fn new(field: &Option<NullablePath>) -> Self {
        match field {
            None => Placement::Replace,
            Some(NullablePath::Null) => Placement::Discard,
            Some(NullablePath::Path(p)) => Placement::At(Reference::new(p)),
        }
    }

    /// The raw input with `result` placed into it.
    pub fn apply(&self, raw: &Value, result: Value) -> Result<Value, StatesError> {
        match self {
            Placement::Replace => Ok(result),
            Placement::Discard => Ok(raw.clone()),
            Placement::At(reference) => {
                let mut output = raw.clone();
                reference.set(&mut output, result).map_err(|e| match e {
                    path::PathError::Mismatch { .. } => {
                        StatesError::new(names::RESULT_PATH_MATCH_FAILURE, e.to_string())
                    }
                    other => StatesError::runtime(format!("ResultPath: {other}")),
                })?;
                Ok(output)
            }
        }
    }
}

/// The two fields that replace the five JSONPath ones in a JSONata state ("Transforming data with
/// JSONata"): `Arguments` (Task, Parallel) and `Output`.
#[derive(Debug, Clone, Default)]
pub struct JsonataFlow {
    pub arguments: Option<Arc<Field>>,
    pub output: Option<Arc<Field>>,
}

/// A state's (or a catcher's, or a Choice rule's) `Assign`: in JSONPath, keys ending in `.$` take
/// a path or intrinsic function; in JSONata, `{% %}` strings are expressions.
#[derive(Debug, Clone)]
pub enum Assign {
    Path(Template),
    Jsonata(Arc<Field>),
}

impl Assign {
    /// The variables it sets. A JSONPath `Assign` reads `value` as `$` (the state's result after
    /// ResultSelector, its effective input when it has no result, or a catcher's error output); a
    /// JSONata one reads `bindings`.
    pub fn evaluate(
        &self,
        value: &Value,
        bindings: &Bindings<'_>,
        field: &str,
        state: &str,
    ) -> Result<JsonMap<String, Value>, StatesError> {
        let assigned = match self {
            Assign::Path(template) => template.evaluate(value, bindings.context)?,
            Assign::Jsonata(expression) => expression.evaluate(bindings, field, state)?,
        };
        match assigned {
            Value::Object(map) => Ok(map),
            other => Err(StatesError::runtime(format!("the {field} of state {state:?} gave {other}, not an object"))),
        }
    }
}

/// What a state that ended normally hands on: its output, and the variables it assigns (stored
/// only once the output is known to be good).
#[derive(Debug, Clone, PartialEq)]
pub struct Finished {
    pub output: Value,
    pub assigned: Option<JsonMap<String, Value>>,
}

/// One state's data-flow fields, parsed. A field the state type does not have is absent here too.
#[derive(Debug, Clone)]
pub struct DataFlow {
    pub input_path: Selection,
    pub parameters: Option<Template>,
    pub result_selector: Option<Template>,
    pub result_path: Placement,
    pub output_path: Selection,
    /// Set for a JSONata state, whose JSONPath fields above are then all absent.
    pub jsonata: Option<Box<JsonataFlow>>,
    pub assign: Option<Assign>,
}

impl Default for DataFlow {
    fn default() -> Self {
        Self {
            input_path: Selection::Whole,
            parameters: None,
            result_selector: None,
            result_path: Placement::Replace,
            output_path: Selection::Whole,
            jsonata: None,
            assign: None,
        }
    }
}

impl DataFlow {
    /// Selects the effective input from the raw input.
    pub fn input_path(&self, raw: &Value, context: &dyn ContextObject) -> Result<Value, StatesError> {
        let effective = self.input_path.apply(raw.clone(), context, "InputPath")?;
        inspect::record(|i| i.after_input_path = Some(effective.clone()));
        Ok(effective)
    }

    /// Builds the request (or a Pass state's result, or a Parallel's branch input) from the
    /// effective input; without `Parameters`, the effective input itself.
    pub fn parameters(&self, effective: Value, context: &dyn ContextObject) -> Result<Value, StatesError> {
        let request = match &self.parameters {
            Some(template) => template.evaluate(&effective, context)?,
            None => effective,
        };
        inspect::record(|i| i.after_parameters = Some(request.clone()));
        Ok(request)
    }

    /// Reshapes the work's raw result.
    pub fn result_selector(&self, result: Value, context: &dyn ContextObject) -> Result<Value, StatesError> {
        match &self.result_selector {
            Some(template) => template.evaluate(&result, context),
            None => Ok(result),
        }
    }

    /// Places the result into the raw input.
    pub fn result_path(&self, raw: &Value, result: Value) -> Result<Value, StatesError> {
        self.result_path.apply(raw, result)
    }

    /// Selects the state's output.
    pub fn output_path(&self, output: Value, context: &dyn ContextObject) -> Result<Value, StatesError> {
        self.output_path.apply(output, context, "OutputPath")
    }

    /// What the state's work is given (a Task's request, the branches' input, a JSONPath Pass
    /// state's result when it has no `Result`): `Parameters` over the `InputPath` selection in
    /// JSONPath; `Arguments` in JSONata, or the state's input when it has none.
    pub fn request(&self, raw: &Value, context: &dyn ContextObject, state: &str) -> Result<Value, StatesError> {
        match &self.jsonata {
            Some(jsonata) => {
                let request = match &jsonata.arguments {
                    Some(arguments) => arguments.evaluate(
                        &Bindings { input: raw, result: None, error_output: None, context },
                        "Arguments",
                        state,
                    )?,
                    None => raw.clone(),
                };
                inspect::record(|i| i.after_arguments = Some(request.clone()));
                Ok(request)
            }
            None => self.parameters(self.input_path(raw, context)?, context),
        }
    }

    /// What follows the work, for a state that ended normally: its output and its assignments.
    /// `result` is the work's (Task, Parallel, Map, Pass); None for a state without one (Choice,
    /// Wait, Succeed). JSONPath: ResultSelector, then Assign on the selected result, ResultPath
    /// and OutputPath (without a result, Assign and OutputPath read the InputPath selection).
    /// JSONata: Assign and Output, both reading `$states.input` and `$states.result` and the
    /// variables as they were when the state was entered; without Output, the result or the input.
    pub fn finish(
        &self,
        raw: &Value,
        result: Option<Value>,
        context: &dyn ContextObject,
        state: &str,
    ) -> Result<Finished, StatesError> {
        if let Some(jsonata) = &self.jsonata {
            let bindings = Bindings { input: raw, result: result.as_ref(), error_output: None, context };
            let assigned = self.assign.as_ref().map(|a| a.evaluate(raw, &bindings, "Assign", state)).transpose()?;
            let output = match &jsonata.output {
                Some(output) => output.evaluate(&bindings, "Output", state)?,
                None => result.unwrap_or_else(|| raw.clone()),
            };
            return Ok(Finished { output, assigned });
        }
        let bindings = Bindings { input: raw, result: None, error_output: None, context };
        match result {
            Some(result) => {
                let result = self.result_selector(result, context)?;
                inspect::record(|i| i.after_result_selector = Some(result.clone()));
                let assigned =
                    self.assign.as_ref().map(|a| a.evaluate(&result, &bindings, "Assign", state)).transpose()?;
                let placed = self.result_path(raw, result)?;
                inspect::record(|i| i.after_result_path = Some(placed.clone()));
                let output = self.output_path(placed, context)?;
                Ok(Finished { output, assigned })
            }
            None => {
                let effective = self.input_path(raw, context)?;
                let assigned =
                    self.assign.as_ref().map(|a| a.evaluate(&effective, &bindings, "Assign", state)).transpose()?;
                Ok(Finished { output: self.output_path(effective, context)?, assigned })
            }
        }
    }
}

/// Fails with `States.DataLimitExceeded` when `value` is over the payload limit.
pub fn check_size(what: &str, value: &Value) -> Result<(), StatesError> {
    let size = serde_json::to_string(value).map(|s| s.len()).unwrap_or(0);
    if size > MAX_PAYLOAD_BYTES {
        return Err(StatesError::new(
            names::DATA_LIMIT_EXCEEDED,
            format!("{what} is {size} bytes, over the payload limit of {MAX_PAYLOAD_BYTES} bytes (256 KiB)"),
        ));
    }
    Ok(())
}

/// The value at a path that must exist (SecondsPath, ErrorPath, MaxConcurrencyPath...).
pub fn reference_value(
    query: &Query,
    input: &Value,
    context: &dyn ContextObject,
    field: &str,
) -> Result<Value, StatesError> {
    query.apply(input, context).map_err(|e| StatesError::runtime(format!("{field}: {e}")))
}

/// A `...SecondsPath` value: a positive integer.
pub fn positive_seconds(
    query: &Query,
    input: &Value,
    context: &dyn ContextObject,
    field: &str,
) -> Result<u64, StatesError> {
    let value = reference_value(query, input, context, field)?;
    value.as_u64().filter(|n| *n > 0).ok_or_else(|| {
        StatesError::runtime(format!("{field} {:?} gave {value}, not a positive integer of seconds", query.text()))
    })
}
