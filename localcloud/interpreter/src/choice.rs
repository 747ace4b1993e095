//! Evaluating Choice rules against a state's input. A comparison whose variable holds a value of
//! another type is simply false (the specification's rule); a variable, or a `...Path` operand,
//! that matches nothing is a `States.Runtime` error, except for `IsPresent`, which exists to test
//! exactly that.

use std::cmp::Ordering;

use model::states::{ChoiceRule, CompareOp, Comparison, Condition, Operand, TypeTest};
use serde_json::{Number, Value};

use crate::error::StatesError;
use crate::path::{self, ContextObject, Query};
use crate::timestamp;

/// A Choice rule's condition with its paths parsed, as a loaded machine keeps it.
#[derive(Debug, Clone)]
// Built once per rule when a machine is loaded; a Compare is by far the most common rule, so it
// stays unboxed rather than cost a pointer chase on every evaluation.
#[allow(clippy::large_enum_variant)]
pub enum Rule {
    And(Vec<Rule>),
    Or(Vec<Rule>),
    Not(Box<Rule>),
    Compare {
        variable: Query,
        comparison: Comparison,
        /// The operand of a `...Path` comparison.
        operand: Option<Query>,
    },
    /// A JSONata `Condition` in a JSONPath state, which validation refuses.
    Unsupported(String),
}

impl Rule {
    pub fn new(condition: &Condition) -> Self {
        match condition {
            Condition::And(all) => Rule::And(all.iter().map(Rule::new).collect()),
            Condition::Or(any) => Rule::Or(any.iter().map(Rule::new).collect()),
            Condition::Not(inner) => Rule::Not(Box::new(Rule::new(inner))),
            // A JSONata rule in a JSONPath state: `validate` refuses it before anything runs (a
            // JSONata Choice is loaded as `Work::JsonataChoice`); a machine that gets here anyway
            // fails where the rule is evaluated.
            Condition::Expression(expression) => Rule::Unsupported(expression.to_string()),
            Condition::Compare { variable, comparison } => {
                let operand = match comparison {
                    Comparison::String(_, Operand::Path(p)) | Comparison::Timestamp(_, Operand::Path(p)) => Some(p),
                    Comparison::Numeric(_, Operand::Path(p)) | Comparison::BooleanEquals(Operand::Path(p)) => Some(p),
                    _ => None,
                };
                Rule::Compare {
                    variable: Query::new(variable),
                    comparison: comparison.clone(),
                    operand: operand.map(|p| Query::new(p)),
                }
            }
        }
    }
}

/// A Choice state's rules, parsed: each condition and the state it sends the execution to.
#[derive(Debug, Clone)]
pub struct Rules(Vec<(Rule, Option<String>)>);

impl Rules {
    pub fn new(rules: &[ChoiceRule]) -> Self {
        Self(rules.iter().map(|rule| (Rule::new(&rule.condition), rule.next.clone())).collect())
    }

    /// The `Next` of the first rule that holds, if any.
    pub fn choose(&self, input: &Value, context: &dyn ContextObject) -> Result<Option<&str>, StatesError> {
        for (rule, next) in &self.0 {
            if rule.holds(input, context)? {
                return Ok(next.as_deref());
            }
        }
        Ok(None)
    }
}

/// Whether `condition` holds for `input` (parsing its paths first: for one-off checks).
#[cfg(test)]
pub fn holds(condition: &Condition, input: &Value, context: &dyn ContextObject) -> Result<bool, StatesError> {
    Rule::new(condition).holds(input, context)
}

impl Rule {
    /// Whether the rule holds for `input`.
    pub fn holds(&self, input: &Value, context: &dyn ContextObject) -> Result<bool, StatesError> {
        match self {
            Rule::And(all) => {
                for c in all {
                    if !c.holds(input, context)? {
                        return Ok(false);
                    }
                }
                Ok(true)
            }
            Rule::Or(any) => {
                for c in any {
                    if c.holds(input, context)? {
                        return Ok(true);
                    }
                }
                Ok(false)
            }
            Rule::Not(inner) => Ok(!inner.holds(input, context)?),
            Rule::Unsupported(expression) => Err(StatesError::runtime(format!(
                "the Choice rule's Condition {expression:?} is JSONata, which this interpreter does not run yet"
            ))),
            Rule::Compare { variable, comparison, operand } => {
                let value = match variable.apply(input, context) {
                    Ok(value) => Some(value),
                    Err(path::PathError::NoMatch { .. }) => None,
                    Err(other) => {
                        return Err(StatesError::runtime(format!("the Choice rule on {}: {other}", variable.text())));
                    }
                };
                if let Comparison::Is(TypeTest::IsPresent, flag) = comparison {
                    return Ok(value.is_some() == *flag);
                }
                let Some(value) = value else {
                    return Err(StatesError::runtime(format!(
                        "Invalid path '{}': The choice state's condition path references an invalid value.",
                        variable.text()
                    )));
                };
                compare(&value, comparison, operand.as_ref(), input, context)
            }
        }
    }
}

/// The operand's value: the literal, or the value at its (parsed) path.
fn operand<T: Clone>(
    operand: &Operand<T>,
    path: Option<&Query>,
    input: &Value,
    context: &dyn ContextObject,
    literal: impl Fn(&T) -> Value,
) -> Result<Value, StatesError> {
    let parsed;
    let query = match (operand, path) {
        (Operand::Value(v), _) => return Ok(literal(v)),
        (Operand::Path(_), Some(query)) => query,
        (Operand::Path(p), None) => {
            parsed = Query::new(p);
            &parsed
        }
    };
    query.apply(input, context).map_err(|e| match e {
        path::PathError::NoMatch { .. } => StatesError::runtime(format!(
            "Invalid path '{}': The choice state's condition path references an invalid value.",
            query.text()
        )),
        other => StatesError::runtime(format!("a Choice rule's operand: {other}")),
    })
}

fn ordered(op: CompareOp, ordering: Ordering) -> bool {
    match op {
        CompareOp::Equals => ordering == Ordering::Equal,
        CompareOp::LessThan => ordering == Ordering::Less,
        CompareOp::GreaterThan => ordering == Ordering::Greater,
        CompareOp::LessThanEquals => ordering != Ordering::Greater,
        CompareOp::GreaterThanEquals => ordering != Ordering::Less,
    }
}

fn compare(
    value: &Value,
    comparison: &Comparison,
    path: Option<&Query>,
    input: &Value,
    context: &dyn ContextObject,
) -> Result<bool, StatesError> {
    Ok(match comparison {
        Comparison::String(op, o) => {
            let other = operand(o, path, input, context, |s: &String| Value::String(s.clone()))?;
            match (value, &other) {
                (Value::String(a), Value::String(b)) => ordered(*op, a.as_str().cmp(b.as_str())),
                _ => false,
            }
        }
        Comparison::StringMatches(pattern) => value.as_str().is_some_and(|text| matches_pattern(text, pattern)),
        Comparison::Numeric(op, o) => {
            let other = operand(o, path, input, context, |n: &Number| Value::Number(n.clone()))?;
            match (value, &other) {
                (Value::Number(a), Value::Number(b)) => numeric_order(a, b).is_some_and(|ord| ordered(*op, ord)),
                _ => false,
            }
        }
        Comparison::BooleanEquals(o) => {
            let other = operand(o, path, input, context, |b: &bool| Value::Bool(*b))?;
            matches!((value, &other), (Value::Bool(a), Value::Bool(b)) if a == b)
        }
        Comparison::Timestamp(op, o) => {
            let other = operand(o, path, input, context, |s: &String| Value::String(s.clone()))?;
            match (value.as_str().and_then(timestamp::parse), other.as_str().and_then(timestamp::parse)) {
                (Some(a), Some(b)) => ordered(*op, a.cmp(&b)),
                _ => false,
            }
        }
        Comparison::Is(test, flag) => {
            let outcome = match test {
                TypeTest::IsNull => value.is_null(),
                TypeTest::IsPresent => true,
                TypeTest::IsNumeric => value.is_number(),
                TypeTest::IsString => value.is_string(),
                TypeTest::IsBoolean => value.is_boolean(),
                TypeTest::IsTimestamp => value.as_str().and_then(timestamp::parse).is_some(),
            };
            outcome == *flag
        }
    })
}

/// Integers compare exactly; anything with a fraction compares as a double.
fn numeric_order(a: &Number, b: &Number) -> Option<Ordering> {
    match (a.as_i64(), b.as_i64()) {
        (Some(x), Some(y)) => Some(x.cmp(&y)),
        _ => a.as_f64()?.partial_cmp(&b.as_f64()?),
    }
}

/// StringMatches: `*` matches any run of characters (none included); `\*` is a literal star and
/// `\\` a literal backslash.
pub fn matches_pattern(text: &str, pattern: &str) -> bool {
    #[derive(PartialEq)]
    enum Token {
        Star,
        Char(char),
    }
    let mut tokens = Vec::new();
    let mut chars = pattern.chars();
    while let Some(c) = chars.next() {
        match c {
            '\\' => tokens.push(Token::Char(chars.next().unwrap_or('\\'))),
            '*' => tokens.push(Token::Star),
            c => tokens.push(Token::Char(c)),
        }
    }
    let text: Vec<char> = text.chars().collect();
    // Iterative glob matching with backtracking to the last star: linear in practice.
    let (mut t, mut p) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while t < text.len() {
        match tokens.get(p) {
            Some(Token::Char(c)) if *c == text[t] => {
                t += 1;
                p += 1;
            }
            Some(Token::Star) => {
                star = Some((p, t));
                p += 1;
            }
            _ => match star {
                Some((sp, st)) => {
                    p = sp + 1;
                    t = st + 1;
                    star = Some((sp, st + 1));
                }
                None => return false,
            },
        }
    }
    tokens[p..].iter().all(|token| *token == Token::Star)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn rule(value: Value) -> Condition {
        serde_json::from_value(value).unwrap()
    }

    fn check(condition: Value, input: Value) -> Result<bool, StatesError> {
        holds(&rule(condition), &input, &json!({"State": {"Name": "C"}}))
    }

    #[test]
    fn string_matches_wildcards_and_escapes() {
        assert!(matches_pattern("log-2016-03-14.log", "log-*.log"));
        assert!(matches_pattern("anything", "*"));
        assert!(matches_pattern("", "*"));
        assert!(!matches_pattern("log-1.txt", "log-*.log"));
        assert!(matches_pattern("a*b", "a\\*b"));
        assert!(!matches_pattern("axb", "a\\*b"));
        assert!(matches_pattern("a\\b", "a\\\\b"));
        assert!(matches_pattern("abcbcd", "a*bcd"));
        assert!(matches_pattern("test-42-end", "test-*-*"));
    }

    #[test]
    fn each_operator_against_its_type() {
        let input = json!({
            "s": "b", "n": 10, "f": 1.5, "t": true, "ts": "2016-03-14T01:59:00Z", "nul": null,
            "other": {"s": "b", "n": 10.0, "t": true, "ts": "2016-03-14T02:00:00Z"}
        });
        let cases = [
            (json!({"Variable": "$.s", "StringEquals": "b"}), true),
            (json!({"Variable": "$.s", "StringLessThan": "c"}), true),
            (json!({"Variable": "$.s", "StringGreaterThan": "c"}), false),
            (json!({"Variable": "$.s", "StringLessThanEquals": "b"}), true),
            (json!({"Variable": "$.s", "StringGreaterThanEquals": "c"}), false),
            (json!({"Variable": "$.s", "StringEqualsPath": "$.other.s"}), true),
            (json!({"Variable": "$.n", "StringEquals": "10"}), false),
            (json!({"Variable": "$.n", "NumericEquals": 10}), true),
            (json!({"Variable": "$.n", "NumericEquals": 10.0}), true),
            (json!({"Variable": "$.f", "NumericLessThan": 2}), true),
            (json!({"Variable": "$.f", "NumericGreaterThan": 1.4}), true),
            (json!({"Variable": "$.n", "NumericGreaterThanEquals": 10}), true),
            (json!({"Variable": "$.n", "NumericLessThanEquals": 9}), false),
            (json!({"Variable": "$.n", "NumericEqualsPath": "$.other.n"}), true),
            (json!({"Variable": "$.s", "NumericEquals": 1}), false),
            (json!({"Variable": "$.t", "BooleanEquals": true}), true),
            (json!({"Variable": "$.t", "BooleanEqualsPath": "$.other.t"}), true),
            (json!({"Variable": "$.s", "BooleanEquals": true}), false),
            (json!({"Variable": "$.ts", "TimestampEquals": "2016-03-14T01:59:00Z"}), true),
            (json!({"Variable": "$.ts", "TimestampLessThan": "2016-03-14T03:59:00+02:00"}), false),
            (json!({"Variable": "$.ts", "TimestampLessThanPath": "$.other.ts"}), true),
            (json!({"Variable": "$.ts", "TimestampGreaterThanEquals": "2016-03-14T01:59:00Z"}), true),
            (json!({"Variable": "$.s", "TimestampEquals": "2016-03-14T01:59:00Z"}), false),
            (json!({"Variable": "$.nul", "IsNull": true}), true),
            (json!({"Variable": "$.s", "IsNull": false}), true),
            (json!({"Variable": "$.missing", "IsPresent": false}), true),
            (json!({"Variable": "$.s", "IsPresent": true}), true),
            (json!({"Variable": "$.f", "IsNumeric": true}), true),
            (json!({"Variable": "$.s", "IsString": true}), true),
            (json!({"Variable": "$.t", "IsBoolean": true}), true),
            (json!({"Variable": "$.ts", "IsTimestamp": true}), true),
            (json!({"Variable": "$.s", "IsTimestamp": true}), false),
            (json!({"Variable": "$$.State.Name", "StringEquals": "C"}), true),
            (
                json!({"And": [{"Variable": "$.n", "NumericGreaterThan": 1}, {"Variable": "$.s", "StringEquals": "b"}]}),
                true,
            ),
            (
                json!({"And": [{"Variable": "$.n", "NumericGreaterThan": 1}, {"Variable": "$.s", "StringEquals": "x"}]}),
                false,
            ),
            (
                json!({"Or": [{"Variable": "$.n", "NumericGreaterThan": 100}, {"Variable": "$.s", "StringEquals": "b"}]}),
                true,
            ),
            (json!({"Not": {"Variable": "$.s", "StringEquals": "b"}}), false),
            // Or stops at the first true rule, so the missing variable after it is never read.
            (json!({"Or": [{"Variable": "$.s", "IsString": true}, {"Variable": "$.missing", "IsNull": true}]}), true),
        ];
        let mut failures = Vec::new();
        for (condition, expected) in cases {
            match check(condition.clone(), input.clone()) {
                Ok(got) if got == expected => {}
                other => failures.push(format!("{condition}: expected {expected}, got {other:?}")),
            }
        }
        assert!(failures.is_empty(), "{}", failures.join("\n"));
    }

    #[test]
    fn a_missing_variable_is_a_runtime_error() {
        let error = check(json!({"Variable": "$.missing", "StringEquals": "x"}), json!({})).unwrap_err();
        assert_eq!(error.error, "States.Runtime");
        assert!(error.cause.contains("Invalid path '$.missing'"), "{}", error.cause);
        let error = check(json!({"Variable": "$.n", "NumericEqualsPath": "$.gone"}), json!({"n": 1})).unwrap_err();
        assert!(error.cause.contains("Invalid path '$.gone'"), "{}", error.cause);
    }
}
