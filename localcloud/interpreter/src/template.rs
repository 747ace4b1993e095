//! Payload templates (`Parameters`, `ItemSelector`, `ResultSelector`): a JSON value copied as it
//! is, except that a field whose name ends in `.$` is renamed without the suffix and takes the
//! value of its path (`$.x`, `$$.Execution.Id`) or intrinsic function. Nested objects, and
//! objects inside arrays, are processed the same way.

use serde_json::{Map, Value};

use crate::error::StatesError;
use crate::path::ContextObject;
use crate::{intrinsics, path};

/// Evaluates `template` against `input` (the state's effective input, or the task result for
/// `ResultSelector`) and the context object.
pub fn evaluate(
    template: &Value,
    input: &Value,
    context: &dyn ContextObject,
) -> Result<Value, StatesError> {
    match template {
        Value::Object(fields) => {
            let mut out = Map::with_capacity(fields.len());
            for (key, value) in fields {
                match key.strip_suffix(".$") {
                    Some(name) => {
                        out.insert(name.to_owned(), dynamic(key, value, input, context)?);
                    }
                    None => {
                        out.insert(key.clone(), evaluate(value, input, context)?);
                    }
                }
            }
            Ok(Value::Object(out))
        }
        Value::Array(items) => items
            .iter()
            .map(|item| evaluate(item, input, context))
            .collect::<Result<_, _>>()
            .map(Value::Array),
        other => Ok(other.clone()),
    }
}

fn dynamic(
    key: &str,
    value: &Value,
    input: &Value,
    context: &dyn ContextObject,
) -> Result<Value, StatesError> {
    let Value::String(expression) = value else {
        return Err(StatesError::runtime(format!(
            "the field {key:?} ends in .$, so its value must be a path or an intrinsic function string, not {value}"
        )));
    };
    if intrinsics::is_call(expression) {
        return intrinsics::evaluate(expression, input, context);
    }
    path::query(expression, input, context).map_err(|e| match e {
        path::PathError::NoMatch { .. } => StatesError::runtime(format!(
            "The JSONPath '{expression}' specified for the field '{key}' could not be found in the input '{}'",
            if expression.starts_with("$$") { context.value() } else { input }
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
        let template =
            json!({"Environment": [{"Name": "TASK_INPUT", "Value.$": "States.JsonToString($)"}]});
        let out = evaluate(&template, &json!({"a": 1}), &json!({})).unwrap();
        assert_eq!(
            out,
            json!({"Environment": [{"Name": "TASK_INPUT", "Value": "{\"a\":1}"}]})
        );
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
