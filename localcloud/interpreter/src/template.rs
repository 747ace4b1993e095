//! Payload templates (`Parameters`, `ItemSelector`, `ResultSelector`): a JSON value copied as it
//! is, except that a field whose name ends in `.$` is renamed without the suffix and takes the
//! value of its path (`$.x`, `$$.Execution.Id`) or intrinsic function. Nested objects, and
//! objects inside arrays, are processed the same way.

use serde_json::{Map, Value};

use crate::error::StatesError;
use crate::intrinsics;
use crate::path::{self, ContextObject, Query};

/// What a `.$` field or a `...Path` field that takes either form holds: a path or an intrinsic
/// function call, parsed when the machine is loaded.
#[derive(Debug, Clone)]
pub enum Expression {
    Path(Query),
    Call(intrinsics::Call),
    /// A call that does not parse: the error, raised where it is evaluated.
    Broken(StatesError),
}

impl Expression {
    /// Reads `text` as a call when it starts with `States.`, as a path otherwise.
    pub fn new(text: &str) -> Self {
        if intrinsics::is_call(text) {
            match intrinsics::parse(text) {
                Ok(call) => Expression::Call(call),
                Err(error) => Expression::Broken(error),
            }
        } else {
            Expression::Path(Query::new(text))
        }
    }
}

/// A payload template parsed once: literal parts kept as they are, `.$` fields as expressions.
#[derive(Debug, Clone)]
pub enum Template {
    Object(Vec<(String, Template)>),
    Array(Vec<Template>),
    Literal(Value),
    /// A `.$` field: `key` as written (with the suffix), for messages.
    Dynamic {
        key: String,
        value: Result<Expression, StatesError>,
    },
}

impl Template {
    pub fn new(template: &Value) -> Self {
        match template {
            Value::Object(fields) => Template::Object(
                fields
                    .iter()
                    .map(|(key, value)| match key.strip_suffix(".$") {
                        Some(name) => (name.to_owned(), Template::dynamic(key, value)),
                        None => (key.clone(), Template::new(value)),
                    })
                    .collect(),
            ),
            Value::Array(items) => Template::Array(items.iter().map(Template::new).collect()),
            other => Template::Literal(other.clone()),
        }
    }

    fn dynamic(key: &str, value: &Value) -> Self {
        let value = match value {
            Value::String(expression) => Ok(Expression::new(expression)),
            other => Err(StatesError::runtime(format!(
                "the field {key:?} ends in .$, so its value must be a path or an intrinsic function string, not {other}"
            ))),
        };
        Template::Dynamic { key: key.to_owned(), value }
    }

    /// Evaluates the template against `input` (the state's effective input, or the task result
    /// for `ResultSelector`) and the context object.
    pub fn evaluate(&self, input: &Value, context: &dyn ContextObject) -> Result<Value, StatesError> {
        match self {
            Template::Object(fields) => {
                let mut out = Map::with_capacity(fields.len());
                for (name, value) in fields {
                    out.insert(name.clone(), value.evaluate(input, context)?);
                }
                Ok(Value::Object(out))
            }
            Template::Array(items) => {
                items.iter().map(|item| item.evaluate(input, context)).collect::<Result<_, _>>().map(Value::Array)
            }
            Template::Literal(value) => Ok(value.clone()),
            Template::Dynamic { key, value } => dynamic(key, value.as_ref().map_err(Clone::clone)?, input, context),
        }
    }
}

/// Evaluates `template` (parsing it first: a machine's templates are parsed when it is loaded).
#[cfg(test)]
pub fn evaluate(template: &Value, input: &Value, context: &dyn ContextObject) -> Result<Value, StatesError> {
    Template::new(template).evaluate(input, context)
}

fn dynamic(
    key: &str,
    expression: &Expression,
    input: &Value,
    context: &dyn ContextObject,
) -> Result<Value, StatesError> {
    let query = match expression {
        Expression::Call(call) => return call.evaluate(input, context),
        Expression::Broken(error) => return Err(error.clone()),
        Expression::Path(query) => query,
    };
    query.apply(input, context).map_err(|e| match e {
        path::PathError::NoMatch { .. } => StatesError::runtime(format!(
            "The JSONPath '{}' specified for the field '{key}' could not be found in the input '{}'",
            query.text(),
            if query.on_context() { context.value() } else { input }
        )),
        other => StatesError::runtime(format!("the field {key:?}: {other}")),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn the_specification_example() {
        let template = json!({
            "flagged": true,
            "parts": {"first.$": "$.vals[0]", "last3.$": "$.vals[-3:]"},
            "weekday.$": "$$.DayOfWeek",
            "formattedOutput.$": "States.Format('Today is {}', $$.DayOfWeek)"
        });
        let input = json!({"flagged": 7, "vals": [0, 10, 20, 30, 40, 50]});
        let context = json!({"DayOfWeek": "TUESDAY"});
        assert_eq!(
            evaluate(&template, &input, &context).unwrap(),
            json!({
                "flagged": true,
                "parts": {"first": 0, "last3": [30, 40, 50]},
                "weekday": "TUESDAY",
                "formattedOutput": "Today is TUESDAY"
            })
        );
    }

    #[test]
    fn objects_inside_arrays_are_processed() {
        let template = json!({"Environment": [{"Name": "TASK_INPUT", "Value.$": "States.JsonToString($)"}]});
        let out = evaluate(&template, &json!({"a": 1}), &json!({})).unwrap();
        assert_eq!(out, json!({"Environment": [{"Name": "TASK_INPUT", "Value": "{\"a\":1}"}]}));
    }

    #[test]
    fn a_missing_path_says_which_field_and_input() {
        let error = evaluate(&json!({"x.$": "$.nope"}), &json!({"a": 1}), &json!({})).unwrap_err();
        assert_eq!(error.error, "States.Runtime");
        assert_eq!(
            error.cause,
            "The JSONPath '$.nope' specified for the field 'x.$' could not be found in the input '{\"a\":1}'"
        );
        let error = evaluate(&json!({"x.$": 5}), &json!({}), &json!({})).unwrap_err();
        assert!(error.cause.contains("must be a path"), "{}", error.cause);
    }
}
