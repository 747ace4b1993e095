//! JSONata fields, as Step Functions evaluates them ("Transforming data with JSONata in Step
//! Functions"): every string of a field's JSON written as `{% expression %}` is a JSONata
//! expression (at any depth of an object or array); every other string is a literal. Expressions
//! read `$states` (`input`, `result`, `errorOutput`, `context`) and the workflow variables
//! (`$name`), and may call, besides JSONata 2.0's own functions, the ones Step Functions adds:
//! `$partition`, `$range`, `$hash`, `$random` (with an optional seed), `$uuid` and `$parse`
//! (`$eval` is not available). An expression that fails, or gives a value JSON cannot hold
//! (undefined, a function, a number that is not finite), fails the state with
//! `States.QueryEvaluationError`.
//!
//! Expressions go through `jsonata-core` (which passes the whole jsonata-js test suite). They are
//! parsed once, when the machine is loaded; a definition whose expression does not parse is
//! refused at CreateStateMachine ([`CompiledMachine::problems`](crate::CompiledMachine::problems)).
//! The engine's values are reference-counted and not `Send`, so each evaluation runs start to end
//! without an `.await`, and only the parts of `$states` and the variables an expression names are
//! converted for it.

use std::collections::BTreeSet;
use std::fmt;
use std::sync::Arc;

use jsonata_core::ast::AstNode;
use jsonata_core::evaluator::{Context, Evaluator, EvaluatorError, EvaluatorOptions};
use jsonata_core::value::JValue;
use model::states::jsonata::expression_body;
use rand::{RngExt as _, SeedableRng as _};
use serde_json::{Map, Number, Value};

use crate::error::StatesError;
use crate::path::ContextObject;
use crate::random::RandomSource;

/// How long one expression may run before it fails with `States.QueryEvaluationError`. AWS
/// documents no such limit; without one, an expression that never ends (`$f := function(){$f()}`
/// aside, which the stack limit stops) would hold the execution's thread forever.
pub const EVALUATION_TIMEOUT_MS: u64 = 10_000;
/// The most items `$range` gives: AWS documents the same limit for `States.ArrayRange`, and its
/// JSONata functions page gives none of its own.
pub const MAX_RANGE_ITEMS: usize = 1000;

/// One expression, parsed.
pub struct Expression {
    /// What the definition wrote between `{%` and `%}`.
    body: String,
    parsed: Result<AstNode, String>,
}

impl fmt::Debug for Expression {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Expression").field("body", &self.body).field("parses", &self.parsed.is_ok()).finish()
    }
}

impl Expression {
    fn new(body: &str) -> Self {
        let parsed = jsonata_core::parser::parse(body).map_err(|e| e.to_string());
        Self { body: body.trim().to_owned(), parsed }
    }
}

/// A JSONata state's field (`Arguments`, `Output`, `Assign`, `Items`, a Choice rule's `Condition`,
/// Wait `Seconds`...), its expressions parsed, with what they read.
#[derive(Debug)]
pub struct Field {
    template: Template,
    reads: Reads,
}

#[derive(Debug)]
enum Template {
    Literal(Value),
    Expression(Box<Expression>),
    Object(Vec<(String, Template)>),
    Array(Vec<Template>),
}

/// What a field's expressions read: which members of `$states`, and which variables. Found from
/// the text, conservatively: a name that only looks like a variable (a function's, `$count`) is
/// looked up and skipped when no variable has it.
#[derive(Debug, Default, Clone)]
struct Reads {
    input: bool,
    result: bool,
    error_output: bool,
    context: bool,
    variables: BTreeSet<String>,
}

impl Reads {
    fn scan(&mut self, body: &str) {
        let chars: Vec<char> = body.chars().collect();
        let mut i = 0;
        while i < chars.len() {
            if chars[i] != '$' {
                i += 1;
                continue;
            }
            let start = i + 1;
            let mut end = start;
            while end < chars.len() && (chars[end].is_alphanumeric() || chars[end] == '_') {
                end += 1;
            }
            let name: String = chars[start..end].iter().collect();
            if name == "states" {
                // `$states.input`: only that member; `$states` alone, or `$states[...]`: all of it.
                let member: String = if chars.get(end) == Some(&'.') {
                    chars[end + 1..].iter().take_while(|c| c.is_alphanumeric() || **c == '_').collect()
                } else {
                    String::new()
                };
                match member.as_str() {
                    "input" => self.input = true,
                    "result" => self.result = true,
                    "errorOutput" => self.error_output = true,
                    "context" => self.context = true,
                    _ => {
                        (self.input, self.result, self.error_output, self.context) = (true, true, true, true);
                    }
                }
            } else if !name.is_empty() {
                self.variables.insert(name);
            }
            i = end.max(i + 1);
        }
    }
}

impl Field {
    /// A field's JSON value, as the definition writes it.
    pub fn new(value: &Value) -> Self {
        let mut reads = Reads::default();
        let template = Template::new(value, &mut reads);
        Self { template, reads }
    }

    /// Whether the field holds no expression.
    #[cfg(test)]
    pub fn is_literal(&self) -> bool {
        matches!(self.template, Template::Literal(_))
    }

    /// Every expression that does not parse, with the parser's reason.
    pub fn problems(&self) -> Vec<(String, String)> {
        let mut problems = Vec::new();
        self.template.problems(&mut problems);
        problems
    }

    /// The field's value converted by `convert` (a number of seconds, a string...); when it gives
    /// None, `States.QueryEvaluationError`: "The {field} of {kind} state {state:?} gave {value},
    /// not {expected}".
    pub fn evaluate_as<T>(
        &self,
        bindings: &Bindings<'_>,
        field: &str,
        kind: &str,
        state: &str,
        expected: &str,
        convert: impl FnOnce(Value) -> Result<T, Value>,
    ) -> Result<T, StatesError> {
        convert(self.evaluate(bindings, field, state)?).map_err(|value| {
            StatesError::evaluation(
                field,
                format!("The {field} of {kind} state {state:?} gave {value}, not {expected}"),
            )
        })
    }

    /// The field's value, its expressions evaluated against `bindings`. `field` and `state`
    /// name it in an error.
    pub fn evaluate(&self, bindings: &Bindings<'_>, field: &str, state: &str) -> Result<Value, StatesError> {
        if let Template::Literal(value) = &self.template {
            return Ok(value.clone());
        }
        let mut session = Session::new(bindings, &self.reads);
        self.template.evaluate(&mut session, field, state)
    }
}

impl Template {
    fn new(value: &Value, reads: &mut Reads) -> Self {
        match value {
            Value::String(text) => match expression_body(text) {
                Some(body) => {
                    reads.scan(body);
                    Template::Expression(Box::new(Expression::new(body)))
                }
                None => Template::Literal(value.clone()),
            },
            Value::Object(map) => {
                let fields: Vec<(String, Template)> =
                    map.iter().map(|(k, v)| (k.clone(), Template::new(v, reads))).collect();
                if fields.iter().all(|(_, t)| matches!(t, Template::Literal(_))) {
                    Template::Literal(value.clone())
                } else {
                    Template::Object(fields)
                }
            }
            Value::Array(items) => {
                let items: Vec<Template> = items.iter().map(|v| Template::new(v, reads)).collect();
                if items.iter().all(|t| matches!(t, Template::Literal(_))) {
                    Template::Literal(value.clone())
                } else {
                    Template::Array(items)
                }
            }
            other => Template::Literal(other.clone()),
        }
    }

    fn problems(&self, out: &mut Vec<(String, String)>) {
        match self {
            Template::Literal(_) => {}
            Template::Expression(e) => {
                if let Err(reason) = &e.parsed {
                    out.push((e.body.clone(), reason.clone()));
                }
            }
            Template::Object(fields) => fields.iter().for_each(|(_, t)| t.problems(out)),
            Template::Array(items) => items.iter().for_each(|t| t.problems(out)),
        }
    }

    fn evaluate(&self, session: &mut Session, field: &str, state: &str) -> Result<Value, StatesError> {
        match self {
            Template::Literal(value) => Ok(value.clone()),
            Template::Expression(e) => session.evaluate(e, field, state),
            Template::Object(fields) => {
                let mut map = Map::with_capacity(fields.len());
                for (key, template) in fields {
                    map.insert(key.clone(), template.evaluate(session, field, state)?);
                }
                Ok(Value::Object(map))
            }
            Template::Array(items) => {
                items.iter().map(|t| t.evaluate(session, field, state)).collect::<Result<Vec<_>, _>>().map(Value::Array)
            }
        }
    }
}

/// What `$states` holds where a field is evaluated.
pub struct Bindings<'a> {
    /// The state's input.
    pub input: &'a Value,
    /// The Task, Parallel or Map result (in `Output` and `Assign`).
    pub result: Option<&'a Value>,
    /// The error output (in a Catcher's `Output` and `Assign`).
    pub error_output: Option<&'a Value>,
    /// The context object, the variables and the execution's random source.
    pub context: &'a dyn ContextObject,
}

/// One evaluator with `$states` and the variables bound, for the expressions of one field.
struct Session {
    evaluator: Evaluator,
}

impl Session {
    fn new(bindings: &Bindings<'_>, reads: &Reads) -> Self {
        let mut states: Vec<(String, JValue)> = Vec::with_capacity(4);
        if reads.input {
            states.push(("input".to_owned(), to_jvalue(bindings.input)));
        }
        if reads.result
            && let Some(result) = bindings.result
        {
            states.push(("result".to_owned(), to_jvalue(result)));
        }
        if reads.error_output
            && let Some(error) = bindings.error_output
        {
            states.push(("errorOutput".to_owned(), to_jvalue(error)));
        }
        if reads.context {
            states.push(("context".to_owned(), to_jvalue(bindings.context.value())));
        }
        let mut context = Context::new();
        context.bind("states".to_owned(), JValue::Object(std::rc::Rc::new(states.into_iter().collect())));
        for name in &reads.variables {
            if let Some(value) = bindings.context.variable(name) {
                context.bind(name.clone(), to_jvalue(&value));
            }
        }
        let options = EvaluatorOptions { timeout_ms: Some(EVALUATION_TIMEOUT_MS), ..EvaluatorOptions::default() };
        let mut evaluator = Evaluator::with_options(context, options);
        register_functions(&mut evaluator, bindings.context.random().clone());
        Self { evaluator }
    }

    fn evaluate(&mut self, expression: &Expression, field: &str, state: &str) -> Result<Value, StatesError> {
        let failed = |reason: String| {
            StatesError::evaluation(
                field,
                format!(
                    "The JSONata expression '{}' specified for the field '{field}' of state {state:?} {reason}",
                    expression.body
                ),
            )
        };
        let ast = expression.parsed.as_ref().map_err(|e| failed(format!("does not parse: {e}")))?;
        let value = self
            .evaluator
            .evaluate(ast, &JValue::Undefined)
            .map_err(|e| failed(format!("returned an error: {}", e.message())))?;
        from_jvalue(&value).map_err(|what| failed(format!("returned {what}, which JSON cannot hold")))
    }
}

/// A serde value as the engine's.
pub(crate) fn to_jvalue(value: &Value) -> JValue {
    JValue::from(value.clone())
}

/// The engine's value as JSON: whole numbers as integers (JSONata has only doubles; `1` must stay
/// `1`, not `1.0`). Fails, naming what it found, on undefined, a function, or a number that is
/// not finite. Undefined items of an array are dropped, as JSONata drops them from sequences.
pub(crate) fn from_jvalue(value: &JValue) -> Result<Value, &'static str> {
    Ok(match value {
        JValue::Null => Value::Null,
        JValue::Bool(b) => Value::Bool(*b),
        JValue::Number(n) => number(*n).ok_or("a number that is not finite")?,
        JValue::String(s) => Value::String(s.to_string()),
        JValue::Array(items) => {
            Value::Array(items.iter().filter(|v| !v.is_undefined()).map(from_jvalue).collect::<Result<Vec<_>, _>>()?)
        }
        JValue::Object(map) => {
            let mut out = Map::with_capacity(map.len());
            for (key, value) in map.iter() {
                if !value.is_undefined() {
                    out.insert(key.clone(), from_jvalue(value)?);
                }
            }
            Value::Object(out)
        }
        JValue::Undefined => return Err("nothing (undefined)"),
        _ => return Err("a function"),
    })
}

/// A double as JSON: an integer when it is one exactly (within 2^53), else a float.
fn number(n: f64) -> Option<Value> {
    if !n.is_finite() {
        return None;
    }
    const EXACT: f64 = 9_007_199_254_740_992.0;
    if n.fract() == 0.0 && n.abs() <= EXACT {
        return Some(Value::Number(Number::from(n as i64)));
    }
    Number::from_f64(n).map(Value::Number)
}

fn host_error(function: &str, reason: impl fmt::Display) -> EvaluatorError {
    EvaluatorError::EvaluationError(format!("${function}: {reason}"))
}

fn integer_arg(function: &str, args: &[JValue], index: usize, what: &str) -> Result<i64, EvaluatorError> {
    match args.get(index) {
        Some(JValue::Number(n)) if n.fract() == 0.0 && n.is_finite() => Ok(*n as i64),
        Some(other) => Err(host_error(function, format!("{what} must be an integer, got {}", describe(other)))),
        None => Err(host_error(function, format!("{what} is missing"))),
    }
}

fn describe(value: &JValue) -> String {
    match from_jvalue(value) {
        Ok(json) => json.to_string(),
        Err(what) => what.to_owned(),
    }
}

/// The functions Step Functions adds to JSONata ("JSONata functions provided by Step Functions"),
/// and `$eval`, which it withholds.
fn register_functions(evaluator: &mut Evaluator, random: Arc<RandomSource>) {
    // None of these names is a JSONata built-in, so registering cannot fail; `random` and `eval`
    // replace built-ins that are not compiled ahead, which register_fn_override allows.
    let _ = evaluator.register_fn("partition", |args: &[JValue]| {
        let Some(JValue::Array(items)) = args.first() else {
            return Err(host_error("partition", "the first argument must be an array"));
        };
        let size = integer_arg("partition", args, 1, "the chunk size")?;
        if size <= 0 {
            return Err(host_error("partition", format!("the chunk size must be positive, got {size}")));
        }
        let items: Vec<JValue> = items.iter().cloned().collect();
        let chunks: Vec<JValue> = items.chunks(size as usize).map(|c| JValue::array(c.to_vec())).collect();
        Ok(JValue::array(chunks))
    });
    let _ = evaluator.register_fn("range", |args: &[JValue]| {
        let start = integer_arg("range", args, 0, "the start")?;
        let end = integer_arg("range", args, 1, "the end")?;
        let step = integer_arg("range", args, 2, "the step")?;
        if step == 0 {
            return Err(host_error("range", "the step must not be 0"));
        }
        let mut values = Vec::new();
        let mut n = start;
        while (step > 0 && n <= end) || (step < 0 && n >= end) {
            if values.len() == MAX_RANGE_ITEMS {
                return Err(host_error("range", format!("the range has more than {MAX_RANGE_ITEMS} items")));
            }
            values.push(JValue::Number(n as f64));
            n += step;
        }
        // A JSONata sequence of one value is that value: AWS gives `1` for `$range(1, 1, 1)`
        // (recorded on AWS; see conformance-jsonata.json's function-range-of-one-value-is-that-value).
        if values.len() == 1 {
            return Ok(values.remove(0));
        }
        Ok(JValue::array(values))
    });
    let _ = evaluator.register_fn("hash", |args: &[JValue]| {
        let Some(JValue::String(data)) = args.first() else {
            return Err(host_error("hash", "the data must be a string"));
        };
        let Some(JValue::String(algorithm)) = args.get(1) else {
            return Err(host_error("hash", "the algorithm must be a string: MD5, SHA-1, SHA-256, SHA-384 or SHA-512"));
        };
        crate::intrinsics::hash(data.as_bytes(), algorithm).map(JValue::from).ok_or_else(|| {
            host_error(
                "hash",
                format!("the algorithm {algorithm:?} is not one of MD5, SHA-1, SHA-256, SHA-384, SHA-512"),
            )
        })
    });
    let draws = random.clone();
    let _ = evaluator.register_fn_override("random", move |args: &[JValue]| match args.first() {
        None | Some(JValue::Undefined) => Ok(JValue::Number(draws.unit())),
        Some(_) => {
            let seed = integer_arg("random", args, 0, "the seed")?;
            Ok(JValue::Number(rand::rngs::SmallRng::seed_from_u64(seed as u64).random::<f64>()))
        }
    });
    let _ = evaluator.register_fn("uuid", move |_: &[JValue]| Ok(JValue::from(random.uuid().to_string())));
    let _ = evaluator.register_fn("parse", |args: &[JValue]| {
        let Some(JValue::String(text)) = args.first() else {
            return Err(host_error("parse", "the argument must be a string of JSON"));
        };
        serde_json::from_str::<Value>(text)
            .map(JValue::from)
            .map_err(|e| host_error("parse", format!("{text:?} is not JSON: {e}")))
    });
    let _ = evaluator.register_fn_override("eval", |_: &[JValue]| {
        Err(host_error("eval", "Step Functions does not provide $eval; use $parse to read JSON text"))
    });
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::names;
    use serde_json::json;

    fn eval(expression: &str, input: Value) -> Result<Value, StatesError> {
        let context = json!({"Execution": {"Name": "run-1"}, "State": {"Name": "S"}});
        let field = Field::new(&json!(format!("{{% {expression} %}}")));
        field.evaluate(&Bindings { input: &input, result: None, error_output: None, context: &context }, "Output", "S")
    }

    #[test]
    fn strings_wrapped_in_markers_are_evaluated_at_any_depth_and_others_are_literals() {
        let field = Field::new(
            &json!({"a": "{% $states.input.n + 1 %}", "b": ["{% $states.context.Execution.Name %}", "$x"], "c": 5}),
        );
        assert!(!field.is_literal());
        let context = json!({"Execution": {"Name": "run-1"}});
        let input = json!({"n": 41});
        let value = field
            .evaluate(&Bindings { input: &input, result: None, error_output: None, context: &context }, "Output", "S")
            .unwrap();
        assert_eq!(value, json!({"a": 42, "b": ["run-1", "$x"], "c": 5}));
        assert!(Field::new(&json!({"a": "plain", "b": " {% 1 %}"})).is_literal());
    }

    #[test]
    fn whole_numbers_stay_integers_and_other_numbers_floats() {
        assert_eq!(eval("1 + 1", json!(null)).unwrap(), json!(2));
        assert_eq!(eval("3 / 2", json!(null)).unwrap(), json!(1.5));
        assert_eq!(eval("$states.input", json!({"big": 12345678901_i64})).unwrap(), json!({"big": 12345678901_i64}));
    }

    #[test]
    fn undefined_errors_and_non_finite_numbers_are_query_evaluation_errors() {
        for (expression, says) in [
            ("$states.input.missing", "undefined"),
            ("'a' + 1", "returned an error"),
            ("function($x){$x}", "a function"),
            ("$states.input.", "does not parse"),
        ] {
            let err = eval(expression, json!({})).unwrap_err();
            assert_eq!(err.error, names::QUERY_EVALUATION_ERROR, "{expression}");
            assert!(
                err.cause.contains(says) && err.cause.contains("'Output'") && err.cause.contains("\"S\""),
                "{expression}: {}",
                err.cause
            );
        }
    }

    #[test]
    fn aws_functions() {
        assert_eq!(eval("$partition([1,2,3,4,5], 2)", json!(null)).unwrap(), json!([[1, 2], [3, 4], [5]]));
        assert_eq!(eval("$range(0, 10, 2)", json!(null)).unwrap(), json!([0, 2, 4, 6, 8, 10]));
        assert_eq!(eval("$range(5, 1, -2)", json!(null)).unwrap(), json!([5, 3, 1]));
        assert!(eval("$range(0, 5000, 1)", json!(null)).unwrap_err().cause.contains("more than 1000"));
        assert_eq!(
            eval("$hash('input data', 'SHA-1')", json!(null)).unwrap(),
            json!("aaff4a450a104cd177d28d18d74485e8cae074b7")
        );
        assert!(eval("$hash('x', 'SHA-3')", json!(null)).is_err());
        assert_eq!(eval("$parse('{\"a\": [1, 2]}')", json!(null)).unwrap(), json!({"a": [1, 2]}));
        assert!(eval("$parse('{nope')", json!(null)).unwrap_err().cause.contains("not JSON"));
        assert!(eval("$eval('1')", json!(null)).unwrap_err().cause.contains("$parse"));
        let seeded = eval("[$random(7), $random(7)]", json!(null)).unwrap();
        assert_eq!(seeded[0], seeded[1]);
        let unseeded = eval("$random()", json!(null)).unwrap().as_f64().unwrap();
        assert!((0.0..1.0).contains(&unseeded));
        let uuid = eval("$uuid()", json!(null)).unwrap();
        assert_eq!(uuid::Uuid::parse_str(uuid.as_str().unwrap()).unwrap().get_version_num(), 4);
    }

    #[test]
    fn reads_name_the_states_members_and_variables_an_expression_uses() {
        let mut reads = Reads::default();
        reads.scan("$states.input.a & $count($items) & $states.context.State.Name");
        assert!(reads.input && reads.context && !reads.result && !reads.error_output);
        assert_eq!(reads.variables.iter().collect::<Vec<_>>(), ["count", "items"]);
        let mut all = Reads::default();
        all.scan("$keys($states)");
        assert!(all.input && all.result && all.error_output && all.context);
    }
}
