//! A state's data flow, in the order Step Functions applies it: `InputPath` selects the effective
//! input from the raw input, `Parameters` builds the state's work request from it, the work gives
//! a result, `ResultSelector` reshapes that result, `ResultPath` places it into the raw input,
//! and `OutputPath` selects what goes on to the next state. Each step is a method named for its
//! field, over the parsed form a machine keeps from load ([`DataFlow`]); the state types call the
//! steps they have. Also the payload limit every step's output is held to.

use model::states::NullablePath;
use serde_json::{Map as JsonMap, Value};

use crate::error::{StatesError, names};
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

/// One state's data-flow fields, parsed. A field the state type does not have is absent here too.
#[derive(Debug, Clone)]
pub struct DataFlow {
    pub input_path: Selection,
    pub parameters: Option<Template>,
    pub result_selector: Option<Template>,
    pub result_path: Placement,
    pub output_path: Selection,
}

impl Default for DataFlow {
    fn default() -> Self {
        Self {
            input_path: Selection::Whole,
            parameters: None,
            result_selector: None,
            result_path: Placement::Replace,
            output_path: Selection::Whole,
        }
    }
}

impl DataFlow {
    /// Selects the effective input from the raw input.
    pub fn input_path(&self, raw: &Value, context: &dyn ContextObject) -> Result<Value, StatesError> {
        self.input_path.apply(raw.clone(), context, "InputPath")
    }

    /// Builds the request (or a Pass state's result, or a Parallel's branch input) from the
    /// effective input; without `Parameters`, the effective input itself.
    pub fn parameters(&self, effective: Value, context: &dyn ContextObject) -> Result<Value, StatesError> {
        match &self.parameters {
            Some(template) => template.evaluate(&effective, context),
            None => Ok(effective),
        }
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

    /// What follows the work: ResultSelector, ResultPath, OutputPath.
    pub fn output(&self, raw: &Value, result: Value, context: &dyn ContextObject) -> Result<Value, StatesError> {
        let result = self.result_selector(result, context)?;
        let output = self.result_path(raw, result)?;
        self.output_path(output, context)
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
