//! Choice rules: the boolean expressions a Choice state evaluates. In JSON an operator is a key
//! (`"StringEquals": "a"`, `"NumericLessThanPath": "$.max"`), so serde cannot derive this shape;
//! the (de)serialisation here maps those keys onto a small typed tree an interpreter can walk.

use std::fmt;

use serde::de::Error as _;
use serde::ser::SerializeMap;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::{Number, Value};

use super::jsonata::Expression;
use super::state::Variables;

/// A top-level rule of a Choice state: a condition and the state to go to when it holds.
/// `next` is optional only so `validate` can report its absence; a valid rule always has one.
/// A rule may also set variables (`Assign`, both query languages) and, in JSONata, the Choice's
/// output (`Output`) when it matches.
#[derive(Debug, Clone, PartialEq)]
pub struct ChoiceRule {
    pub condition: Condition,
    pub next: Option<String>,
    pub comment: Option<String>,
    pub assign: Option<Variables>,
    pub output: Option<Value>,
}

impl ChoiceRule {
    /// `condition` holding sends the execution to the state `next`.
    pub fn new(condition: Condition, next: impl Into<String>) -> Self {
        Self { condition, next: Some(next.into()), comment: None, assign: None, output: None }
    }

    /// A JSONata rule: `{"Condition": "{% <expression> %}", "Next": next}`, e.g.
    /// `ChoiceRule::jsonata("$states.input.n > 3", "Big")`. `expression` is the body, without
    /// the markers.
    pub fn jsonata(expression: &str, next: impl Into<String>) -> Self {
        Self::new(Condition::Expression(Expression::new(expression)), next)
    }

    /// Sets the variable `name` to `value` when the rule matches (`Assign`).
    pub fn assign(mut self, name: impl Into<String>, value: impl Into<Value>) -> Self {
        self.assign.get_or_insert_with(Variables::new).insert(name.into(), value.into());
        self
    }

    /// The Choice state's output when the rule matches (`Output`, JSONata).
    pub fn output(mut self, output: impl Into<Value>) -> Self {
        self.output = Some(output.into());
        self
    }

    /// A description of the rule (`Comment`).
    pub fn comment(mut self, text: impl Into<String>) -> Self {
        self.comment = Some(text.into());
        self
    }
}

/// A condition: a comparison of the value at `variable` (a path into the input), or a boolean
/// combination of nested conditions. Nested conditions carry no `Next`.
#[derive(Debug, Clone, PartialEq)]
pub enum Condition {
    And(Vec<Condition>),
    Or(Vec<Condition>),
    Not(Box<Condition>),
    Compare {
        variable: String,
        comparison: Comparison,
    },
    /// JSONata: the rule's `Condition`, an expression giving true or false. Only a top-level
    /// rule has one (JSONata has no And/Or/Not rules: the expression combines).
    Expression(Expression),
}

impl Condition {
    /// `variable` compared by `comparison`, e.g. `Condition::compare("$.status", Comparison::string_equals("OK"))`.
    pub fn compare(variable: impl Into<String>, comparison: Comparison) -> Self {
        Condition::Compare { variable: variable.into(), comparison }
    }
}

/// One comparison operator and its operand. The operator name in JSON is derived from the variant:
/// `String(Equals, Value(..))` is `StringEquals`, `Numeric(LessThan, Path(..))` is `NumericLessThanPath`.
#[derive(Debug, Clone, PartialEq)]
pub enum Comparison {
    String(CompareOp, Operand<String>),
    /// A pattern where `*` matches any run of characters (`\*` a literal star). No Path form exists.
    StringMatches(String),
    /// Numbers keep their JSON form (integer or decimal) so a definition round-trips byte for byte.
    Numeric(CompareOp, Operand<Number>),
    BooleanEquals(Operand<bool>),
    /// Timestamps are RFC 3339 strings, compared as instants.
    Timestamp(CompareOp, Operand<String>),
    /// A type test (`IsNull`, `IsPresent`, ...): holds when the test's outcome equals the flag.
    Is(TypeTest, bool),
}

impl Comparison {
    /// `StringEquals` against a literal.
    pub fn string_equals(value: impl Into<String>) -> Self {
        Comparison::String(CompareOp::Equals, Operand::Value(value.into()))
    }

    /// The operator's key in JSON, e.g. `TimestampGreaterThanEqualsPath`.
    pub fn operator(&self) -> String {
        fn with_path<T>(base: String, operand: &Operand<T>) -> String {
            match operand {
                Operand::Value(_) => base,
                Operand::Path(_) => base + "Path",
            }
        }
        match self {
            Comparison::String(op, operand) => with_path(format!("String{}", op.name()), operand),
            Comparison::StringMatches(_) => "StringMatches".to_owned(),
            Comparison::Numeric(op, operand) => with_path(format!("Numeric{}", op.name()), operand),
            Comparison::BooleanEquals(operand) => with_path("BooleanEquals".to_owned(), operand),
            Comparison::Timestamp(op, operand) => with_path(format!("Timestamp{}", op.name()), operand),
            Comparison::Is(test, _) => test.name().to_owned(),
        }
    }

    fn operand_json(&self) -> Value {
        fn operand<T: Clone + Into<Value>>(operand: &Operand<T>) -> Value {
            match operand {
                Operand::Value(v) => v.clone().into(),
                Operand::Path(p) => Value::String(p.clone()),
            }
        }
        match self {
            Comparison::String(_, o) | Comparison::Timestamp(_, o) => operand(o),
            Comparison::StringMatches(pattern) => Value::String(pattern.clone()),
            Comparison::Numeric(_, o) => operand(o),
            Comparison::BooleanEquals(o) => operand(o),
            Comparison::Is(_, flag) => Value::Bool(*flag),
        }
    }

    /// Parses `key: value` as a comparison; `Ok(None)` when `key` is not an operator at all.
    fn parse(key: &str, value: &Value) -> Result<Option<Self>, String> {
        if let Some(test) = TypeTest::from_name(key) {
            let flag = value.as_bool().ok_or_else(|| format!("{key} takes true or false, got {value}"))?;
            return Ok(Some(Comparison::Is(test, flag)));
        }
        if key == "StringMatches" {
            let pattern = value.as_str().ok_or_else(|| format!("StringMatches takes a string pattern, got {value}"))?;
            return Ok(Some(Comparison::StringMatches(pattern.to_owned())));
        }
        let (base, is_path) = key.strip_suffix("Path").map_or((key, false), |base| (base, true));
        fn path<T>(key: &str, value: &Value) -> Result<Operand<T>, String> {
            value
                .as_str()
                .map(|p| Operand::Path(p.to_owned()))
                .ok_or_else(|| format!("{key} takes a path string such as \"$.value\", got {value}"))
        }
        if base == "BooleanEquals" {
            let operand = if is_path {
                path(key, value)?
            } else {
                Operand::Value(value.as_bool().ok_or_else(|| format!("{key} takes true or false, got {value}"))?)
            };
            return Ok(Some(Comparison::BooleanEquals(operand)));
        }
        for kind in ["String", "Numeric", "Timestamp"] {
            let Some(op) = base.strip_prefix(kind).and_then(CompareOp::from_name) else { continue };
            let comparison = match kind {
                "Numeric" => Comparison::Numeric(
                    op,
                    if is_path {
                        path(key, value)?
                    } else {
                        match value {
                            Value::Number(n) => Operand::Value(n.clone()),
                            _ => return Err(format!("{key} takes a number, got {value}")),
                        }
                    },
                ),
                _ => {
                    let operand = if is_path {
                        path(key, value)?
                    } else {
                        Operand::Value(
                            value.as_str().ok_or_else(|| format!("{key} takes a string, got {value}"))?.to_owned(),
                        )
                    };
                    if kind == "String" { Comparison::String(op, operand) } else { Comparison::Timestamp(op, operand) }
                }
            };
            return Ok(Some(comparison));
        }
        Ok(None)
    }
}

/// The ordering operators shared by String, Numeric and Timestamp comparisons.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CompareOp {
    Equals,
    LessThan,
    GreaterThan,
    LessThanEquals,
    GreaterThanEquals,
}

impl CompareOp {
    const ALL: [CompareOp; 5] = [
        CompareOp::Equals,
        CompareOp::LessThan,
        CompareOp::GreaterThan,
        CompareOp::LessThanEquals,
        CompareOp::GreaterThanEquals,
    ];

    pub fn name(self) -> &'static str {
        match self {
            CompareOp::Equals => "Equals",
            CompareOp::LessThan => "LessThan",
            CompareOp::GreaterThan => "GreaterThan",
            CompareOp::LessThanEquals => "LessThanEquals",
            CompareOp::GreaterThanEquals => "GreaterThanEquals",
        }
    }

    fn from_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|op| op.name() == name)
    }
}

/// What a comparison compares against: a literal, or (the `...Path` operators) a path into the input.
#[derive(Debug, Clone, PartialEq)]
pub enum Operand<T> {
    Value(T),
    Path(String),
}

/// The type tests, each taking a boolean: `"IsPresent": false` holds when the variable is absent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TypeTest {
    IsNull,
    IsPresent,
    IsNumeric,
    IsString,
    IsBoolean,
    IsTimestamp,
}

impl TypeTest {
    const ALL: [TypeTest; 6] = [
        TypeTest::IsNull,
        TypeTest::IsPresent,
        TypeTest::IsNumeric,
        TypeTest::IsString,
        TypeTest::IsBoolean,
        TypeTest::IsTimestamp,
    ];

    pub fn name(self) -> &'static str {
        match self {
            TypeTest::IsNull => "IsNull",
            TypeTest::IsPresent => "IsPresent",
            TypeTest::IsNumeric => "IsNumeric",
            TypeTest::IsString => "IsString",
            TypeTest::IsBoolean => "IsBoolean",
            TypeTest::IsTimestamp => "IsTimestamp",
        }
    }

    fn from_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|t| t.name() == name)
    }
}

impl fmt::Display for Comparison {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.operator(), self.operand_json())
    }
}

impl Condition {
    fn write_entries<M: SerializeMap>(&self, map: &mut M) -> Result<(), M::Error> {
        match self {
            Condition::And(all) => map.serialize_entry("And", all),
            Condition::Or(any) => map.serialize_entry("Or", any),
            Condition::Not(inner) => map.serialize_entry("Not", inner),
            Condition::Compare { variable, comparison } => {
                map.serialize_entry("Variable", variable)?;
                map.serialize_entry(&comparison.operator(), &comparison.operand_json())
            }
            Condition::Expression(expression) => map.serialize_entry("Condition", expression),
        }
    }

    /// Parses one condition from its JSON object, with the keys `Next`/`Comment` already taken out
    /// by the caller if it allows them.
    fn from_object(mut object: serde_json::Map<String, Value>) -> Result<Self, String> {
        if let Some(condition) = object.remove("Condition") {
            reject_rest(&object, "Condition")?;
            let Value::String(text) = condition else {
                return Err(format!("Condition takes a JSONata expression \"{{% ... %}}\", got {condition}"));
            };
            return Ok(Condition::Expression(Expression::from_text(text)));
        }
        for combinator in ["And", "Or"] {
            if let Some(list) = object.remove(combinator) {
                reject_rest(&object, combinator)?;
                let Value::Array(items) = list else {
                    return Err(format!("{combinator} takes an array of rules, got {list}"));
                };
                if items.is_empty() {
                    return Err(format!("{combinator} has no rules: give it at least one"));
                }
                let nested = items.into_iter().map(Condition::from_nested).collect::<Result<Vec<_>, _>>()?;
                return Ok(if combinator == "And" { Condition::And(nested) } else { Condition::Or(nested) });
            }
        }
        if let Some(inner) = object.remove("Not") {
            reject_rest(&object, "Not")?;
            return Ok(Condition::Not(Box::new(Condition::from_nested(inner)?)));
        }
        let variable = match object.remove("Variable") {
            Some(Value::String(v)) => v,
            Some(other) => return Err(format!("Variable must be a path string such as \"$.status\", got {other}")),
            None => {
                return Err(format!(
                    "a Choice rule needs Variable and one comparison (e.g. StringEquals), or And/Or/Not; \
                     found only {:?}",
                    object.keys().collect::<Vec<_>>()
                ));
            }
        };
        let mut found = None;
        for (key, value) in &object {
            match Comparison::parse(key, value)? {
                Some(comparison) if found.is_none() => found = Some(comparison),
                Some(comparison) => {
                    return Err(format!(
                        "the rule on {variable} has two comparisons, {} and {}: a rule takes exactly one; \
                         combine several with And",
                        found.map(|c| c.operator()).unwrap_or_default(),
                        comparison.operator()
                    ));
                }
                None => return Err(format!("unknown field {key:?} in the Choice rule on {variable}")),
            }
        }
        let comparison = found.ok_or_else(|| {
            format!("the rule on {variable} has no comparison: add one such as \"StringEquals\" or \"IsPresent\"")
        })?;
        Ok(Condition::Compare { variable, comparison })
    }

    fn from_nested(value: Value) -> Result<Self, String> {
        let Value::Object(object) = value else {
            return Err(format!("a nested Choice rule must be an object, got {value}"));
        };
        if object.contains_key("Next") {
            return Err("a rule nested in And/Or/Not has Next: only top-level rules transition; \
                        move Next to the enclosing rule"
                .to_owned());
        }
        if object.contains_key("Condition") {
            return Err("a rule nested in And/Or/Not has Condition: Condition belongs on a top-level rule of a \
                        JSONata Choice, which has no And/Or/Not (combine inside the expression)"
                .to_owned());
        }
        Condition::from_object(object)
    }
}

fn reject_rest(object: &serde_json::Map<String, Value>, combinator: &str) -> Result<(), String> {
    match object.keys().next() {
        None => Ok(()),
        Some(key) => Err(format!(
            "a rule with {combinator} cannot also have {key:?}: put the comparison inside the {combinator}"
        )),
    }
}

impl Serialize for Condition {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(None)?;
        self.write_entries(&mut map)?;
        map.end()
    }
}

impl<'de> Deserialize<'de> for Condition {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        Condition::from_nested(Value::deserialize(deserializer)?).map_err(D::Error::custom)
    }
}

impl Serialize for ChoiceRule {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(None)?;
        if let Some(comment) = &self.comment {
            map.serialize_entry("Comment", comment)?;
        }
        self.condition.write_entries(&mut map)?;
        if let Some(assign) = &self.assign {
            map.serialize_entry("Assign", assign)?;
        }
        if let Some(output) = &self.output {
            map.serialize_entry("Output", output)?;
        }
        if let Some(next) = &self.next {
            map.serialize_entry("Next", next)?;
        }
        map.end()
    }
}

impl<'de> Deserialize<'de> for ChoiceRule {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let mut object = serde_json::Map::<String, Value>::deserialize(deserializer)?;
        let next = match object.remove("Next") {
            None => None,
            Some(Value::String(next)) => Some(next),
            Some(other) => return Err(D::Error::custom(format!("Next must be a state name, got {other}"))),
        };
        let comment = match object.remove("Comment") {
            None => None,
            Some(Value::String(comment)) => Some(comment),
            Some(other) => return Err(D::Error::custom(format!("Comment must be a string, got {other}"))),
        };
        let assign = match object.remove("Assign") {
            None => None,
            Some(Value::Object(variables)) => Some(variables),
            Some(other) => {
                return Err(D::Error::custom(format!("Assign must be an object of variables by name, got {other}")));
            }
        };
        let output = object.remove("Output");
        let condition = Condition::from_object(object).map_err(D::Error::custom)?;
        Ok(ChoiceRule { condition, next, comment, assign, output })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// Every operator name ASL defines, so none is missed by the parser or mis-spelled on output.
    fn all_operators() -> Vec<(String, Value)> {
        let mut ops = Vec::new();
        for op in CompareOp::ALL {
            ops.push((format!("String{}", op.name()), json!("b")));
            ops.push((format!("Numeric{}", op.name()), json!(4.5)));
            ops.push((format!("Timestamp{}", op.name()), json!("2026-01-01T00:00:00Z")));
            for kind in ["String", "Numeric", "Timestamp"] {
                ops.push((format!("{kind}{}Path", op.name()), json!("$.other")));
            }
        }
        ops.push(("StringMatches".into(), json!("log-*.txt")));
        ops.push(("BooleanEquals".into(), json!(true)));
        ops.push(("BooleanEqualsPath".into(), json!("$.flag")));
        for test in TypeTest::ALL {
            ops.push((test.name().into(), json!(false)));
        }
        ops
    }

    #[test]
    fn every_operator_round_trips_under_its_own_name() {
        let ops = all_operators();
        assert_eq!(ops.len(), 5 * 6 + 3 + 6, "5 orderings x 3 kinds x literal/path, matches, boolean x2, 6 tests");
        for (key, operand) in ops {
            let rule = json!({"Variable": "$.x", key.clone(): operand.clone(), "Next": "Done"});
            let parsed: ChoiceRule = serde_json::from_value(rule.clone()).unwrap();
            let Condition::Compare { comparison, .. } = &parsed.condition else { panic!("{key}: not a comparison") };
            assert_eq!(comparison.operator(), key);
            assert_eq!(serde_json::to_value(&parsed).unwrap(), rule, "{key}");
        }
    }

    #[test]
    fn nesting_keeps_next_on_the_top_level_rule_only() {
        let rule = json!({
            "Not": {"Or": [
                {"Variable": "$.a", "IsPresent": false},
                {"And": [{"Variable": "$.b", "NumericGreaterThan": 3}, {"Variable": "$.b", "NumericLessThan": 10}]}
            ]},
            "Next": "Skip"
        });
        let parsed: ChoiceRule = serde_json::from_value(rule.clone()).unwrap();
        assert_eq!(parsed.next.as_deref(), Some("Skip"));
        assert!(matches!(&parsed.condition, Condition::Not(inner) if matches!(**inner, Condition::Or(_))));
        assert_eq!(serde_json::to_value(&parsed).unwrap(), rule);
    }

    #[test]
    fn integers_stay_integers() {
        let rule = json!({"Variable": "$.n", "NumericEquals": 5, "Next": "A"});
        let parsed: ChoiceRule = serde_json::from_value(rule).unwrap();
        assert_eq!(serde_json::to_string(&parsed).unwrap(), r#"{"Variable":"$.n","NumericEquals":5,"Next":"A"}"#);
    }

    #[test]
    fn malformed_rules_say_what_is_wrong() {
        let cases = [
            (json!({"And": [{"Variable": "$.a", "IsNull": true, "Next": "X"}], "Next": "X"}), "only top-level rules"),
            (json!({"Variable": "$.a", "StringEquals": 1, "Next": "X"}), "StringEquals takes a string, got 1"),
            (json!({"Variable": "$.a", "NumericEquals": "1", "Next": "X"}), "NumericEquals takes a number"),
            (json!({"Variable": "$.a", "IsNull": true, "IsString": true, "Next": "X"}), "two comparisons"),
            (json!({"Variable": "$.a", "Next": "X"}), "has no comparison"),
            (json!({"Variable": "$.a", "StringEqual": "x", "Next": "X"}), "unknown field \"StringEqual\""),
            (json!({"Next": "X"}), "needs Variable"),
            (json!({"And": [], "Next": "X"}), "has no rules"),
            (json!({"Not": {"Variable": "$.a", "IsNull": true}, "Variable": "$.b", "Next": "X"}), "cannot also have"),
        ];
        for (rule, expected) in cases {
            let err = serde_json::from_value::<ChoiceRule>(rule.clone()).unwrap_err().to_string();
            assert!(err.contains(expected), "{rule}: {err}");
        }
    }

    #[test]
    fn a_jsonata_rule_round_trips_and_stays_top_level() {
        let rule =
            json!({"Comment": "c", "Condition": "{% $x > 1 %}", "Assign": {"y": 2}, "Output": {"z": 3}, "Next": "A"});
        let parsed: ChoiceRule = serde_json::from_value(rule.clone()).unwrap();
        assert_eq!(parsed.condition, Condition::Expression(Expression::new("$x > 1")));
        assert_eq!(parsed.assign.as_ref().map(|a| a["y"].clone()), Some(json!(2)));
        assert_eq!(serde_json::to_value(&parsed).unwrap(), rule);
        let cases = [
            (
                json!({"Condition": "{% true %}", "Variable": "$.a", "IsNull": true, "Next": "X"}),
                "a rule with Condition cannot also have",
            ),
            (json!({"Condition": true, "Next": "X"}), "Condition takes a JSONata expression"),
            (json!({"Not": {"Condition": "{% true %}"}, "Next": "X"}), "nested in And/Or/Not has Condition"),
            (json!({"Condition": "{% true %}", "Assign": [1], "Next": "X"}), "Assign must be an object"),
        ];
        for (rule, expected) in cases {
            let err = serde_json::from_value::<ChoiceRule>(rule.clone()).unwrap_err().to_string();
            assert!(err.contains(expected), "{rule}: {err}");
        }
    }
}
