//! Paths, as Step Functions reads them: JSONPath queries over the state's input (`$...`) or the
//! context object (`$$...`), and reference paths (`ResultPath`), which must be definite and may
//! create the fields they name.
//!
//! Queries go through `serde_json_path` (RFC 9535). A definite path (names and indexes only)
//! yields its one value or fails when nothing is there; an indefinite one (wildcards, slices,
//! filters, `..`) yields the array of everything it matched, as Step Functions' Jayway-based paths
//! do.

use serde_json::{Map, Value};
use serde_json_path::JsonPath;

/// Why a path could not be applied.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum PathError {
    #[error("{path:?} is not a valid JSONPath: {reason}")]
    Invalid { path: String, reason: String },
    #[error("the path {path:?} matched nothing")]
    NoMatch { path: String },
    #[error("the variable ${name} has no value here: no state assigned it before, in this scope or an outer one")]
    NoVariable { name: String },
    #[error("the reference path {path:?} may hold only field names and array indexes ($.a.b, $['a'], $.a[0])")]
    NotReference { path: String },
    #[error("the reference path {path:?} cannot be applied: {reason}")]
    Mismatch { path: String, reason: String },
}

/// What an expression reads besides the state's input: the context object (`$$`), built only
/// when a path reads it (it holds the execution's whole input, which a Map of many items must not
/// copy once per iteration), the workflow variables (`$name`), and the execution's random source
/// (`States.UUID`, `States.MathRandom`, JSONata's `$uuid` and `$random`).
pub trait ContextObject: Sync {
    fn value(&self) -> &Value;
    fn random(&self) -> &std::sync::Arc<crate::random::RandomSource>;
    /// The workflow variable `name`, where the state runs.
    fn variable(&self, _name: &str) -> Option<std::sync::Arc<Value>> {
        None
    }
}

/// A bare value as the context object, for unit tests: its draws come from a fixed seed.
#[cfg(test)]
impl ContextObject for Value {
    fn value(&self) -> &Value {
        self
    }

    fn random(&self) -> &std::sync::Arc<crate::random::RandomSource> {
        static RANDOM: std::sync::LazyLock<std::sync::Arc<crate::random::RandomSource>> =
            std::sync::LazyLock::new(|| std::sync::Arc::new(crate::random::RandomSource::seeded(0)));
        &RANDOM
    }

    /// A bare value's variables are its own fields under `"variables"`, for unit tests.
    fn variable(&self, name: &str) -> Option<std::sync::Arc<Value>> {
        self.get("variables")?.get(name).cloned().map(std::sync::Arc::new)
    }
}

/// A query path parsed once, when the machine is loaded, and applied at every evaluation. A path
/// that does not parse keeps its error, which every application returns: a definition that
/// skipped validation fails where the path is used, as before.
#[derive(Debug, Clone)]
pub struct Query {
    text: String,
    /// Reads the context object (`$$...`) rather than the input.
    on_context: bool,
    /// Reads a workflow variable (`$name...`) rather than the input.
    variable: Option<String>,
    /// The path can select at most one node.
    definite: bool,
    parsed: Result<JsonPath, PathError>,
}

impl Query {
    pub fn new(path: &str) -> Self {
        let mut variable = None;
        let owned;
        let (on_context, path_on_target) = match path.strip_prefix('$') {
            Some(rest) if rest.starts_with('$') => (true, rest),
            // `$name.field`: the variable `name` ("Passing data between states with variables":
            // "To reference a variable, prepend the variable name with a dollar sign").
            Some(rest) if rest.starts_with(|c: char| c.is_alphabetic() || c == '_') => {
                let end = rest.find(|c: char| !(c.is_alphanumeric() || c == '_')).unwrap_or(rest.len());
                variable = Some(rest[..end].to_owned());
                owned = format!("${}", &rest[end..]);
                (false, owned.as_str())
            }
            Some(_) => (false, path),
            None => {
                let error = PathError::Invalid { path: path.to_owned(), reason: "a path starts with $ or $$".into() };
                return Self {
                    text: path.to_owned(),
                    on_context: false,
                    variable: None,
                    definite: true,
                    parsed: Err(error),
                };
            }
        };
        let parsed = JsonPath::parse(&bracket_loose_names(path_on_target))
            .map_err(|e| PathError::Invalid { path: path.to_owned(), reason: e.to_string() });
        Self { text: path.to_owned(), on_context, variable, definite: is_definite(path_on_target), parsed }
    }

    /// The path as the definition writes it.
    pub fn text(&self) -> &str {
        &self.text
    }

    /// Whether the path reads the context object (`$$...`).
    pub fn on_context(&self) -> bool {
        self.on_context
    }

    /// Applies the path to `input`, or to `context` when it starts with `$$`.
    pub fn apply(&self, input: &Value, context: &dyn ContextObject) -> Result<Value, PathError> {
        let parsed = self.parsed.as_ref().map_err(Clone::clone)?;
        let held;
        let target = match &self.variable {
            Some(name) => {
                held = context.variable(name).ok_or_else(|| PathError::NoVariable { name: name.clone() })?;
                &*held
            }
            None if self.on_context => context.value(),
            None => input,
        };
        let nodes = parsed.query(target);
        if self.definite {
            nodes.at_most_one().ok().flatten().cloned().ok_or_else(|| PathError::NoMatch { path: self.text.clone() })
        } else {
            Ok(Value::Array(nodes.all().into_iter().cloned().collect()))
        }
    }
}

/// Two queries are the same when their text is.
impl PartialEq for Query {
    fn eq(&self, other: &Self) -> bool {
        self.text == other.text
    }
}

impl From<&str> for Query {
    fn from(path: &str) -> Self {
        Query::new(path)
    }
}

/// Applies `path` to `input`, or to `context` when it starts with `$$` (parsing it first: for
/// paths evaluated once; a machine's paths are [`Query`]s, parsed when it is loaded).
#[cfg(test)]
pub fn query(path: &str, input: &Value, context: &dyn ContextObject) -> Result<Value, PathError> {
    Query::new(path).apply(input, context)
}

/// Rewrites dot-notation names that RFC 9535 does not allow unquoted but Step Functions' JSONPath
/// does (`$.delivery-partner`, `$.2nd`) into bracket notation (`$['delivery-partner']`). Names
/// inside brackets (filters included) and after `..` are left to the parser.
fn bracket_loose_names(path: &str) -> String {
    let chars: Vec<char> = path.chars().collect();
    let mut out = String::with_capacity(path.len() + 8);
    let (mut i, mut depth, mut quote) = (0, 0usize, None);
    while i < chars.len() {
        let c = chars[i];
        if let Some(q) = quote {
            if c == '\\' && i + 1 < chars.len() {
                let escaped = chars[i + 1];
                // Jayway (AWS's JSONPath) takes \' and \" in either kind of quoted name; RFC 9535
                // only the one that closes it, so the other is written as the bare character.
                if matches!(escaped, '\'' | '"') && escaped != q {
                    out.push(escaped);
                } else {
                    out.push(c);
                    out.push(escaped);
                }
                i += 2;
                continue;
            }
            out.push(c);
            if c == q {
                quote = None;
            }
            i += 1;
            continue;
        }
        let dotted_name = depth == 0
            && c == '.'
            && chars.get(i + 1).is_some_and(|next| *next != '.' && *next != '[')
            && (i == 0 || chars[i - 1] != '.');
        if dotted_name {
            let end = chars[i + 1..].iter().position(|c| *c == '.' || *c == '[').map_or(chars.len(), |p| i + 1 + p);
            let name: String = chars[i + 1..end].iter().collect();
            let shorthand = name == "*"
                || (name.starts_with(|c: char| c.is_alphabetic() || c == '_')
                    && name.chars().all(|c| c.is_alphanumeric() || c == '_'));
            if shorthand {
                out.push('.');
                out.push_str(&name);
            } else {
                out.push_str("['");
                out.push_str(&name.replace('\\', "\\\\").replace('\'', "\\'"));
                out.push_str("']");
            }
            i = end;
            continue;
        }
        match c {
            '\'' | '"' => quote = Some(c),
            '[' => depth += 1,
            ']' => depth = depth.saturating_sub(1),
            _ => {}
        }
        out.push(c);
        i += 1;
    }
    out
}

/// Whether a path can select at most one node: no wildcard, recursive descent, slice, union or
/// filter outside quoted names.
fn is_definite(path: &str) -> bool {
    let mut quote = None;
    let mut chars = path.chars().peekable();
    let mut previous = '\0';
    while let Some(c) = chars.next() {
        match quote {
            Some(q) => {
                if c == '\\' {
                    chars.next();
                } else if c == q {
                    quote = None;
                }
            }
            None => match c {
                '\'' | '"' => quote = Some(c),
                '*' | '?' | ':' | ',' => return false,
                '.' if previous == '.' => return false,
                _ => {}
            },
        }
        previous = c;
    }
    true
}

/// One step of a reference path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Step {
    Field(String),
    Index(usize),
}

/// Parses a reference path (`$`, `$.a.b`, `$['a b'][0]`) into its steps.
pub fn reference(path: &str) -> Result<Vec<Step>, PathError> {
    let not_reference = || PathError::NotReference { path: path.to_owned() };
    let rest = path.strip_prefix('$').ok_or_else(not_reference)?;
    if rest.starts_with('$') {
        return Err(not_reference());
    }
    let chars: Vec<char> = rest.chars().collect();
    let mut steps = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        match chars[i] {
            '.' => {
                let start = i + 1;
                let mut end = start;
                while end < chars.len() && chars[end] != '.' && chars[end] != '[' {
                    end += 1;
                }
                let name: String = chars[start..end].iter().collect();
                if name.is_empty() || name.contains(['*', '?', ' ', '(', ')', ']', '\'', '"']) {
                    return Err(not_reference());
                }
                steps.push(Step::Field(name));
                i = end;
            }
            '[' => {
                let close = chars[i..].iter().position(|&c| c == ']').map(|p| i + p).ok_or_else(not_reference)?;
                let inner: String = chars[i + 1..close].iter().collect();
                let inner = inner.trim();
                if let Ok(index) = inner.parse::<usize>() {
                    steps.push(Step::Index(index));
                    i = close + 1;
                    continue;
                }
                // A quoted name may itself hold ']', so find the closing quote first.
                let quote = inner.chars().next().filter(|c| *c == '\'' || *c == '"').ok_or_else(not_reference)?;
                let mut name = String::new();
                let mut j = i + 1;
                while j < chars.len() && chars[j] != quote {
                    j += 1;
                }
                j += 1;
                let mut closed = false;
                while j < chars.len() {
                    match chars[j] {
                        '\\' if j + 1 < chars.len() => {
                            let (c, width) = unescape_at(&chars[j + 1..]);
                            name.push(c);
                            j += 1 + width;
                        }
                        c if c == quote => {
                            closed = true;
                            j += 1;
                            break;
                        }
                        c => {
                            name.push(c);
                            j += 1;
                        }
                    }
                }
                while j < chars.len() && chars[j] == ' ' {
                    j += 1;
                }
                if !closed || chars.get(j) != Some(&']') {
                    return Err(not_reference());
                }
                steps.push(Step::Field(name));
                i = j + 1;
            }
            _ => return Err(not_reference()),
        }
    }
    Ok(steps)
}

/// The character an escape in a quoted name stands for, given what follows its backslash, and
/// how many characters the escape takes after the backslash: `\n`, `\t`, `\b`, `\f`, `\r`,
/// `\uXXXX`, and any other character as itself (`\'`, `\"`, `\\`, `\/`).
fn unescape_at(rest: &[char]) -> (char, usize) {
    match rest.first() {
        Some('n') => ('\n', 1),
        Some('t') => ('\t', 1),
        Some('r') => ('\r', 1),
        Some('b') => ('\u{8}', 1),
        Some('f') => ('\u{c}', 1),
        Some('u') => {
            let hex: String = rest.iter().skip(1).take(4).collect();
            match u32::from_str_radix(&hex, 16).ok().and_then(char::from_u32) {
                Some(c) if hex.len() == 4 => (c, 5),
                _ => ('u', 1),
            }
        }
        Some(&c) => (c, 1),
        None => ('\\', 0),
    }
}

/// A reference path (`ResultPath`) parsed once, when the machine is loaded; one that does not
/// parse keeps its error for every application.
#[derive(Debug, Clone, PartialEq)]
pub struct Reference {
    text: String,
    steps: Result<Vec<Step>, PathError>,
}

impl Reference {
    pub fn new(path: &str) -> Self {
        Self { text: path.to_owned(), steps: reference(path) }
    }

    /// Puts `value` into `target` at this path; see [`set`].
    pub fn set(&self, target: &mut Value, value: Value) -> Result<(), PathError> {
        let steps = self.steps.as_ref().map_err(Clone::clone)?;
        set_steps(target, &self.text, steps, value)
    }
}

/// Puts `value` into `target` at the reference path `path`, creating the objects on the way that
/// do not exist yet (`ResultPath: "$.a.b"` on `{}` gives `{"a": {"b": ...}}`). An existing value
/// on the way that is not an object (or an array, for an index) cannot hold the result.
#[cfg(test)]
pub fn set(target: &mut Value, path: &str, value: Value) -> Result<(), PathError> {
    Reference::new(path).set(target, value)
}

fn set_steps(target: &mut Value, path: &str, steps: &[Step], value: Value) -> Result<(), PathError> {
    let mut here = target;
    for (n, step) in steps.iter().enumerate() {
        let last = n + 1 == steps.len();
        let mismatch = |reason: String| PathError::Mismatch { path: path.to_owned(), reason };
        here = match step {
            Step::Field(name) => {
                let Value::Object(object) = here else {
                    return Err(mismatch(format!(
                        "the value at field {name:?}'s parent is {}, not an object",
                        kind(here)
                    )));
                };
                if !last && !object.contains_key(name) {
                    object.insert(name.clone(), Value::Object(Map::new()));
                }
                if last {
                    object.insert(name.clone(), value);
                    return Ok(());
                }
                object.get_mut(name).ok_or_else(|| mismatch(format!("no field {name:?}")))?
            }
            Step::Index(index) => {
                let Value::Array(array) = here else {
                    return Err(mismatch(format!("the value indexed with [{index}] is {}, not an array", kind(here))));
                };
                let len = array.len();
                let slot = array
                    .get_mut(*index)
                    .ok_or_else(|| mismatch(format!("index {index} is past the end of an array of {len}")))?;
                if last {
                    *slot = value;
                    return Ok(());
                }
                slot
            }
        };
    }
    // `$` itself: the result replaces the input.
    *here = value;
    Ok(())
}

/// A JSON type's name, for messages.
pub fn kind(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn definite_paths_give_the_value_or_fail() {
        let input = json!({"a": {"b": [1, {"c": "x"}]}, "dotted.key": 5, "n": null});
        let ctx = json!({"Execution": {"Name": "run"}});
        assert_eq!(query("$", &input, &ctx).unwrap(), input);
        assert_eq!(query("$.a.b[1].c", &input, &ctx).unwrap(), json!("x"));
        assert_eq!(query("$['dotted.key']", &input, &ctx).unwrap(), json!(5));
        assert_eq!(query("$.n", &input, &ctx).unwrap(), Value::Null);
        assert_eq!(query("$$.Execution.Name", &input, &ctx).unwrap(), json!("run"));
        assert_eq!(query("$$", &input, &ctx).unwrap(), ctx);
        assert_eq!(query("$.missing", &input, &ctx), Err(PathError::NoMatch { path: "$.missing".into() }));
        assert!(matches!(query("a.b", &input, &ctx), Err(PathError::Invalid { .. })));
    }

    #[test]
    fn names_outside_rfc_9535_shorthand_still_work() {
        let input = json!({"delivery-partner": "UQS", "2nd": {"a b": 1}, "it's": 2, "ok_1": {"x-y": [3]}});
        let ctx = json!({});
        assert_eq!(query("$.delivery-partner", &input, &ctx).unwrap(), json!("UQS"));
        assert_eq!(query("$.2nd['a b']", &input, &ctx).unwrap(), json!(1));
        assert_eq!(query("$.it's", &input, &ctx).unwrap(), json!(2));
        assert_eq!(query("$.ok_1.x-y[0]", &input, &ctx).unwrap(), json!(3));
        assert_eq!(bracket_loose_names("$..a-b"), "$..a-b", "recursive descent is left to the parser");
        assert_eq!(bracket_loose_names("$.items[?(@.a-b > 1)].c"), "$.items[?(@.a-b > 1)].c");
        assert_eq!(bracket_loose_names("$.a.b[0].c"), "$.a.b[0].c");
    }

    #[test]
    fn indefinite_paths_give_an_array() {
        let input = json!({"items": [{"price": 5, "n": "a"}, {"price": 15, "n": "b"}, {"price": 8, "n": "c"}]});
        let ctx = json!({});
        assert_eq!(query("$.items[*].n", &input, &ctx).unwrap(), json!(["a", "b", "c"]));
        assert_eq!(query("$.items[?(@.price < 10)].n", &input, &ctx).unwrap(), json!(["a", "c"]));
        assert_eq!(query("$..price", &input, &ctx).unwrap(), json!([5, 15, 8]));
        assert_eq!(query("$.items[0:2].n", &input, &ctx).unwrap(), json!(["a", "b"]));
        assert_eq!(query("$.items[?(@.price > 100)]", &input, &ctx).unwrap(), json!([]));
        // Escaped quotes in a bracketed name, in either kind of quotes, as Jayway reads them.
        let odd = json!({"a'b": 1, "a\"b": 2, "a\\b": 3, "x": {"a'b": 4}});
        for (path, value) in [
            (r#"$['a\'b']"#, 1),
            (r#"$["a\"b"]"#, 2),
            (r#"$["a\'b"]"#, 1),
            (r#"$['a\"b']"#, 2),
            (r#"$["a'b"]"#, 1),
            (r#"$['a\\b']"#, 3),
            (r#"$.x['a\'b']"#, 4),
            (r#"$['a\u0027b']"#, 1),
        ] {
            assert_eq!(query(path, &odd, &ctx), Ok(json!(value)), "{path}");
        }
        // A star inside a quoted name is just a character.
        assert_eq!(query("$['a*b']", &json!({"a*b": 1}), &ctx).unwrap(), json!(1));
    }

    #[test]
    fn reference_paths_parse_names_and_indexes_only() {
        assert_eq!(reference("$").unwrap(), vec![]);
        assert_eq!(
            reference("$.a['b c'][2].d").unwrap(),
            vec![Step::Field("a".into()), Step::Field("b c".into()), Step::Index(2), Step::Field("d".into())]
        );
        assert_eq!(reference("$[\"x]y\"]").unwrap(), vec![Step::Field("x]y".into())]);
        for (path, name) in [
            (r#"$['a\'b']"#, "a'b"),
            (r#"$["a\"b"]"#, "a\"b"),
            (r#"$["a\'b"]"#, "a'b"),
            (r#"$['a\\b']"#, "a\\b"),
            (r#"$['a\u0027b']"#, "a'b"),
        ] {
            assert_eq!(reference(path).unwrap(), vec![Step::Field(name.into())], "{path}");
        }
        for bad in ["$.a[*]", "$..a", "$.a[?(@.b)]", "a", "$$.Execution", "$.", "$.a[1:2]"] {
            assert!(reference(bad).is_err(), "{bad} should not be a reference path");
        }
    }

    #[test]
    fn set_creates_missing_objects_and_keeps_the_rest() {
        let mut input = json!({"master": {"detail": [1, 2, 3]}});
        set(&mut input, "$.master.result.sum", json!(6)).unwrap();
        assert_eq!(input, json!({"master": {"detail": [1, 2, 3], "result": {"sum": 6}}}));
        set(&mut input, "$.master.detail[1]", json!("two")).unwrap();
        assert_eq!(input["master"]["detail"], json!([1, "two", 3]));
        set(&mut input, "$", json!("all")).unwrap();
        assert_eq!(input, json!("all"));
    }

    #[test]
    fn set_refuses_to_overwrite_through_a_non_object() {
        let mut input = json!({"a": "text", "list": [1]});
        assert!(matches!(set(&mut input, "$.a.b", json!(1)), Err(PathError::Mismatch { .. })));
        assert!(matches!(set(&mut input, "$.list[3]", json!(1)), Err(PathError::Mismatch { .. })));
        let mut scalar = json!("just a string");
        assert!(matches!(set(&mut scalar, "$.x", json!(1)), Err(PathError::Mismatch { .. })));
    }
}
