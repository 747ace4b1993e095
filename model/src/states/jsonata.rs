//! What the model knows of JSONata and of workflow variables: the `{% ... %}` wrapping that marks
//! a string as a JSONata expression, fields that take a number or an expression
//! (`TimeoutSeconds`, Wait `Seconds` in a JSONata state), and the rules for a variable's name
//! (the keys of `Assign`). Expressions are kept as the text written; evaluating them is the
//! interpreter's business.
//!
//! AWS, "Transforming data with JSONata in Step Functions": "JSONata expressions use the following
//! syntax: `"{% <JSONata expression> %}"`"; a string not so wrapped is a literal.

use std::fmt;

use serde::de::Error as _;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::Value;

/// What opens a JSONata expression in a string value.
pub const OPEN: &str = "{%";
/// What closes it.
pub const CLOSE: &str = "%}";
/// The longest variable name Step Functions accepts.
pub const MAX_VARIABLE_NAME_LEN: usize = 80;
/// The variable Step Functions reserves (`$states`: input, result, errorOutput, context).
pub const RESERVED_VARIABLE: &str = "states";

/// The expression inside `text` when `text` is wrapped exactly as `{% ... %}` (what is between
/// the markers, untrimmed); `None` for a literal string.
pub fn expression_body(text: &str) -> Option<&str> {
    let body = text.strip_prefix(OPEN)?.strip_suffix(CLOSE)?;
    // "{%}" would be both markers sharing the %; it is not a wrapped expression.
    (text.len() >= OPEN.len() + CLOSE.len()).then_some(body)
}

/// Whether `text` looks meant as an expression (it opens or closes with a marker, perhaps after
/// spaces) without being wrapped exactly: `" {% $x %}"`, `"{% $x"`, `"$x %}"`. Such a string is
/// a literal to Step Functions, surely not what was meant.
pub fn is_half_wrapped(text: &str) -> bool {
    let trimmed = text.trim();
    (trimmed.starts_with(OPEN) || trimmed.ends_with(CLOSE)) && expression_body(text).is_none()
}

/// A JSONata expression as written in a definition, markers included: `{% $states.input.id %}`.
/// Serialises as that string.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Expression(String);

impl Expression {
    /// `body` wrapped in the markers: `Expression::new("$states.input.n + 1")` is
    /// `"{% $states.input.n + 1 %}"`.
    pub fn new(body: &str) -> Self {
        Self(format!("{OPEN} {} {CLOSE}", body.trim()))
    }

    /// A string as written in a definition, wrapped or not (`validate` says when it is not).
    pub fn from_text(text: impl Into<String>) -> Self {
        Self(text.into())
    }

    /// The text as written, markers included.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The expression between the markers, when the text is wrapped exactly as `{% ... %}`.
    pub fn body(&self) -> Option<&str> {
        expression_body(&self.0)
    }
}

impl fmt::Display for Expression {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl From<Expression> for Value {
    fn from(expression: Expression) -> Self {
        Value::String(expression.0)
    }
}

impl From<Expression> for String {
    fn from(expression: Expression) -> Self {
        expression.0
    }
}

/// A field that takes a whole number, or in a JSONata state a JSONata expression giving one:
/// Task `TimeoutSeconds` and `HeartbeatSeconds`, Wait `Seconds`. A JSONPath state takes the
/// number only (`validate` says so; its `...Path` sibling reads the number from the input).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum NumberOrExpression {
    Number(u64),
    Expression(Expression),
}

impl NumberOrExpression {
    /// The number, when the field is one.
    pub fn as_number(&self) -> Option<u64> {
        match self {
            NumberOrExpression::Number(n) => Some(*n),
            NumberOrExpression::Expression(_) => None,
        }
    }

    /// The expression, when the field is one.
    pub fn as_expression(&self) -> Option<&Expression> {
        match self {
            NumberOrExpression::Number(_) => None,
            NumberOrExpression::Expression(e) => Some(e),
        }
    }
}

impl From<u64> for NumberOrExpression {
    fn from(number: u64) -> Self {
        NumberOrExpression::Number(number)
    }
}

impl From<Expression> for NumberOrExpression {
    fn from(expression: Expression) -> Self {
        NumberOrExpression::Expression(expression)
    }
}

impl fmt::Display for NumberOrExpression {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            NumberOrExpression::Number(n) => write!(f, "{n}"),
            NumberOrExpression::Expression(e) => write!(f, "{e}"),
        }
    }
}

impl Serialize for NumberOrExpression {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self {
            NumberOrExpression::Number(n) => serializer.serialize_u64(*n),
            NumberOrExpression::Expression(e) => serializer.serialize_str(e.as_str()),
        }
    }
}

impl<'de> Deserialize<'de> for NumberOrExpression {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        match Value::deserialize(deserializer)? {
            Value::Number(n) => n.as_u64().map(NumberOrExpression::Number).ok_or_else(|| {
                D::Error::custom(format!("{n} is not a whole number of seconds: write a non-negative integer"))
            }),
            Value::String(text) => Ok(NumberOrExpression::Expression(Expression(text))),
            other => Err(D::Error::custom(format!(
                "expected a whole number of seconds or a JSONata expression \"{{% ... %}}\", got {other}"
            ))),
        }
    }
}

/// Checks a workflow variable's name (a key of `Assign`; in a JSONPath state without its `.$`).
/// AWS ("Passing data between states with variables", Variable name syntax): names follow the
/// rules of Unicode identifiers (Unicode Standard Annex #31: the first character an ID_Start
/// character, the rest ID_Continue), at most 80 characters; `$states` is reserved. Rust's
/// `char::is_alphabetic` / `is_alphanumeric` plus `_` stand in for ID_Start / ID_Continue here
/// (they agree on every letter and digit; UAX #31's few combining marks are not told apart).
pub fn check_variable_name(name: &str) -> Result<(), String> {
    let mut chars = name.chars();
    let Some(first) = chars.next() else {
        return Err("the name is empty".to_owned());
    };
    if name == RESERVED_VARIABLE {
        return Err("$states is reserved by Step Functions (input, result, errorOutput, context)".to_owned());
    }
    let length = name.chars().count();
    if length > MAX_VARIABLE_NAME_LEN {
        return Err(format!("the name is {length} characters long; at most {MAX_VARIABLE_NAME_LEN} are allowed"));
    }
    if !(first.is_alphabetic() || first == '_') {
        return Err(format!("it starts with {first:?}: a name starts with a letter or _"));
    }
    if let Some(bad) = chars.find(|c| !(c.is_alphanumeric() || *c == '_')) {
        return Err(format!("it contains {bad:?}: a name has only letters, digits and _"));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn only_exact_wrapping_is_an_expression() {
        assert_eq!(expression_body("{% $states.input %}"), Some(" $states.input "));
        assert_eq!(expression_body("{%%}"), Some(""));
        for literal in ["$states.input", "{% $x", "$x %}", " {% $x %}", "{% $x %} ", "{%}", "{ % $x % }"] {
            assert_eq!(expression_body(literal), None, "{literal:?}");
        }
        for half in ["{% $x", "$x %}", " {% $x %}", "{% $x %} "] {
            assert!(is_half_wrapped(half), "{half:?}");
        }
        for fine in ["{% $x %}", "plain", "100%", "{not an expression}"] {
            assert!(!is_half_wrapped(fine), "{fine:?}");
        }
    }

    #[test]
    fn an_expression_wraps_and_unwraps() {
        let e = Expression::new(" $states.input.n + 1 ");
        assert_eq!(e.as_str(), "{% $states.input.n + 1 %}");
        assert_eq!(e.body(), Some(" $states.input.n + 1 "));
        assert_eq!(serde_json::to_value(&e).unwrap(), json!("{% $states.input.n + 1 %}"));
        assert_eq!(Expression::from_text("$x").body(), None);
    }

    #[test]
    fn number_or_expression_keeps_its_json_form() {
        for value in [json!(5), json!("{% $states.input.delay %}")] {
            let parsed: NumberOrExpression = serde_json::from_value(value.clone()).unwrap();
            assert_eq!(serde_json::to_value(&parsed).unwrap(), value);
        }
        assert_eq!(serde_json::from_value::<NumberOrExpression>(json!(5)).unwrap().as_number(), Some(5));
        for bad in [json!(-1), json!(1.5), json!(true), json!(null)] {
            assert!(serde_json::from_value::<NumberOrExpression>(bad.clone()).is_err(), "{bad}");
        }
    }

    #[test]
    fn variable_names() {
        for good in ["x", "_x", "productName", "count2", "élan", "名前", &"v".repeat(80)] {
            assert_eq!(check_variable_name(good), Ok(()), "{good}");
        }
        let cases = [
            ("", "empty"),
            ("states", "reserved"),
            ("2fast", "starts with '2'"),
            ("a-b", "contains '-'"),
            ("x.$", "contains '.'"),
            ("a b", "contains ' '"),
            ("$x", "starts with '$'"),
        ];
        for (bad, why) in cases {
            let err = check_variable_name(bad).unwrap_err();
            assert!(err.contains(why), "{bad:?}: {err}");
        }
        assert!(check_variable_name(&"v".repeat(81)).unwrap_err().contains("81 characters"));
    }
}
