//! Intrinsic functions (`States.Format('{}', $.name)` and the rest): parsing the call syntax
//! (string literals with `\'` `\{` `\}` `\\` escapes, numbers, booleans, `null`, paths, nested
//! calls) and evaluating each function with the argument rules AWS documents. A call that cannot
//! be evaluated is a `States.Runtime` error, which is what Step Functions raises.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use rand::{RngExt as _, SeedableRng as _};
use serde_json::{Map, Number, Value};

use crate::error::StatesError;
use crate::path;
use crate::path::ContextObject;

/// The longest string Base64Encode, Base64Decode and Hash accept.
const MAX_STRING_INPUT: usize = 10_000;
/// The most elements ArrayRange may produce.
const MAX_RANGE_ELEMENTS: i64 = 1000;

/// A parsed argument.
#[derive(Debug, Clone, PartialEq)]
enum Arg {
    /// A string literal, kept with its escapes so States.Format can tell `\{` from `{`.
    Literal(String),
    Number(Number),
    Bool(bool),
    Null,
    /// Parsed with the call, once.
    Path(path::Query),
    Call(Call),
}

/// A parsed intrinsic function call: what a machine keeps of `States.Format('{}', $.x)` once it
/// is loaded.
#[derive(Debug, Clone, PartialEq)]
pub struct Call {
    name: String,
    args: Vec<Arg>,
}

/// Whether a `.$` value is an intrinsic function call rather than a path.
pub fn is_call(text: &str) -> bool {
    text.trim_start().starts_with("States.")
}

/// Parses the intrinsic function call `text`; a call that does not parse is a `States.Runtime`
/// error that names it.
pub fn parse(text: &str) -> Result<Call, StatesError> {
    Parser::new(text).parse_whole().map_err(|reason| {
        StatesError::runtime(format!("the intrinsic function {text:?} could not be parsed: {reason}"))
    })
}

/// Evaluates the intrinsic function call `text` against the state's input and context object
/// (parsing it first: a machine's calls are parsed when it is loaded).
#[cfg(test)]
pub fn evaluate(text: &str, input: &Value, context: &dyn ContextObject) -> Result<Value, StatesError> {
    parse(text)?.evaluate(input, context)
}

struct Parser<'a> {
    text: &'a str,
    chars: Vec<char>,
    at: usize,
}

impl<'a> Parser<'a> {
    fn new(text: &'a str) -> Self {
        Self { text, chars: text.chars().collect(), at: 0 }
    }

    fn parse_whole(mut self) -> Result<Call, String> {
        self.skip_spaces();
        let call = self.call()?;
        self.skip_spaces();
        if self.at != self.chars.len() {
            let rest: String = self.chars[self.at..].iter().collect();
            return Err(format!("unexpected {rest:?} after the call in {:?}", self.text));
        }
        Ok(call)
    }

    fn skip_spaces(&mut self) {
        while self.chars.get(self.at).is_some_and(|c| c.is_whitespace()) {
            self.at += 1;
        }
    }

    fn call(&mut self) -> Result<Call, String> {
        let start = self.at;
        while self.chars.get(self.at).is_some_and(|c| c.is_alphanumeric() || *c == '.') {
            self.at += 1;
        }
        let name: String = self.chars[start..self.at].iter().collect();
        if !name.starts_with("States.") {
            return Err(format!("{name:?} is not an intrinsic function (they start with States.)"));
        }
        self.skip_spaces();
        if self.chars.get(self.at) != Some(&'(') {
            return Err(format!("{name} must be followed by ( and its arguments"));
        }
        self.at += 1;
        let mut args = Vec::new();
        self.skip_spaces();
        if self.chars.get(self.at) == Some(&')') {
            self.at += 1;
            return Ok(Call { name, args });
        }
        loop {
            self.skip_spaces();
            args.push(self.arg()?);
            self.skip_spaces();
            match self.chars.get(self.at) {
                Some(',') => self.at += 1,
                Some(')') => {
                    self.at += 1;
                    return Ok(Call { name, args });
                }
                Some(c) => {
                    return Err(format!("expected , or ) in the arguments of {name}, found {c:?}"));
                }
                None => return Err(format!("the arguments of {name} are not closed with )")),
            }
        }
    }

    fn arg(&mut self) -> Result<Arg, String> {
        match self.chars.get(self.at) {
            Some('\'') => self.literal(),
            Some('$') => Ok(Arg::Path(path::Query::new(&self.path()))),
            Some(c) if c.is_ascii_digit() || *c == '-' => self.number(),
            Some(_) => {
                let rest: String = self.chars[self.at..].iter().collect();
                for (word, arg) in [("null", Arg::Null), ("true", Arg::Bool(true)), ("false", Arg::Bool(false))] {
                    if rest.starts_with(word) && !rest[word.len()..].starts_with(|c: char| c.is_alphanumeric()) {
                        self.at += word.len();
                        return Ok(arg);
                    }
                }
                if rest.starts_with("States.") {
                    return Ok(Arg::Call(self.call()?));
                }
                Err(format!(
                    "an argument must be a 'string', a number, true, false, null, a path or a call; found {rest:?}"
                ))
            }
            None => Err("an argument is missing before the end".into()),
        }
    }

    fn literal(&mut self) -> Result<Arg, String> {
        self.at += 1;
        let mut raw = String::new();
        while let Some(&c) = self.chars.get(self.at) {
            self.at += 1;
            match c {
                '\\' => {
                    let escaped = self.chars.get(self.at).copied().ok_or("a string ends with a lone \\")?;
                    self.at += 1;
                    raw.push('\\');
                    raw.push(escaped);
                }
                '\'' => return Ok(Arg::Literal(raw)),
                c => raw.push(c),
            }
        }
        Err("a string literal is not closed with '".into())
    }

    /// A path runs to the next `,` or `)` that is not inside brackets, parentheses or quotes.
    fn path(&mut self) -> String {
        let start = self.at;
        let mut depth = 0usize;
        let mut quote = None;
        while let Some(&c) = self.chars.get(self.at) {
            match quote {
                Some(q) if c == q => quote = None,
                Some(_) if c == '\\' => self.at += 1,
                Some(_) => {}
                None => match c {
                    '\'' | '"' => quote = Some(c),
                    '[' | '(' => depth += 1,
                    ']' | ')' if depth > 0 => depth -= 1,
                    ',' | ')' => break,
                    _ => {}
                },
            }
            self.at += 1;
        }
        self.chars[start..self.at.min(self.chars.len())].iter().collect::<String>().trim_end().to_owned()
    }

    fn number(&mut self) -> Result<Arg, String> {
        let start = self.at;
        while self.chars.get(self.at).is_some_and(|c| c.is_ascii_digit() || matches!(c, '-' | '+' | '.' | 'e' | 'E')) {
            self.at += 1;
        }
        let text: String = self.chars[start..self.at].iter().collect();
        serde_json::from_str::<Number>(&text).map(Arg::Number).map_err(|_| format!("{text:?} is not a number"))
    }
}

/// Removes the escapes of a string literal: `\'` is `'`, `\{` is `{`, `\\` is `\`.
fn unescape(raw: &str) -> String {
    let mut out = String::with_capacity(raw.len());
    let mut chars = raw.chars();
    while let Some(c) = chars.next() {
        if c == '\\' {
            if let Some(next) = chars.next() {
                out.push(next);
            }
        } else {
            out.push(c);
        }
    }
    out
}

impl Arg {
    fn evaluate(&self, input: &Value, context: &dyn ContextObject) -> Result<Value, StatesError> {
        match self {
            Arg::Literal(raw) => Ok(Value::String(unescape(raw))),
            Arg::Number(n) => Ok(Value::Number(n.clone())),
            Arg::Bool(b) => Ok(Value::Bool(*b)),
            Arg::Null => Ok(Value::Null),
            Arg::Path(p) => p
                .apply(input, context)
                .map_err(|e| StatesError::runtime(format!("an argument of an intrinsic function failed: {e}"))),
            Arg::Call(call) => call.evaluate(input, context),
        }
    }
}

impl Call {
    pub fn evaluate(&self, input: &Value, context: &dyn ContextObject) -> Result<Value, StatesError> {
        let name = self.name.as_str();
        let bad = |reason: String| StatesError::runtime(format!("Invalid arguments in {name}: {reason}"));
        let count = |range: std::ops::RangeInclusive<usize>| {
            if range.contains(&self.args.len()) {
                Ok(())
            } else {
                Err(bad(format!(
                    "it takes {} argument(s), got {}",
                    if range.start() == range.end() {
                        range.start().to_string()
                    } else {
                        format!("{} to {}", range.start(), range.end())
                    },
                    self.args.len()
                )))
            }
        };
        if name == "States.Format" {
            let values = self.args.iter().skip(1).map(|a| a.evaluate(input, context)).collect::<Result<Vec<_>, _>>()?;
            return match self.args.first() {
                // A literal template keeps its escapes: `\{` is a literal brace, `{}` a placeholder.
                Some(Arg::Literal(template)) => format(template, &values),
                // A template read from the input (`States.Format($.template, $.name)`, AWS's own
                // example) is plain text: the escapes belong to the invocation's literals only.
                Some(other) => match other.evaluate(input, context)? {
                    Value::String(template) => format(&template.replace('\\', "\\\\"), &values),
                    value => Err(format!("the template must be a string, got {}", path::kind(&value))),
                },
                None => Err("it takes a template and one argument per {} in it".into()),
            }
            .map_err(bad);
        }
        let args = self.args.iter().map(|a| a.evaluate(input, context)).collect::<Result<Vec<_>, _>>()?;
        match name {
            "States.StringToJson" => {
                count(1..=1)?;
                let text = string(&args[0]).map_err(bad)?;
                // An empty or blank string gives null, as AWS records it (its documentation does
                // not say).
                if text.trim().is_empty() {
                    return Ok(Value::Null);
                }
                let parsed: Value =
                    serde_json::from_str(text).map_err(|e| bad(format!("{text:?} is not JSON: {e}")))?;
                // serde_json reads "-0" as the float -0.0; AWS gives 0.
                Ok(if parsed.as_f64().is_some_and(|f| f == 0.0 && f.is_sign_negative()) {
                    Value::from(0)
                } else {
                    parsed
                })
            }
            "States.JsonToString" => {
                count(1..=1)?;
                Ok(Value::String(args[0].to_string()))
            }
            "States.Array" => Ok(Value::Array(args)),
            "States.ArrayPartition" => {
                count(2..=2)?;
                let array = array(&args[0]).map_err(bad)?;
                let size = rounded_integer(&args[1]).map_err(bad)?;
                if size < 1 {
                    return Err(bad(format!("the chunk size must be a positive integer, got {size}")));
                }
                let size = usize::try_from(size).map_err(|_| bad(format!("chunk size {size} is too large")))?;
                Ok(Value::Array(array.chunks(size).map(|c| Value::Array(c.to_vec())).collect()))
            }
            "States.ArrayContains" => {
                count(2..=2)?;
                Ok(Value::Bool(array(&args[0]).map_err(bad)?.contains(&args[1])))
            }
            "States.ArrayRange" => {
                count(3..=3)?;
                let (start, end, step) = (
                    rounded_integer(&args[0]).map_err(bad)?,
                    rounded_integer(&args[1]).map_err(bad)?,
                    rounded_integer(&args[2]).map_err(bad)?,
                );
                if step == 0 {
                    return Err(bad("the step must not be 0".into()));
                }
                let length =
                    if (step > 0 && end >= start) || (step < 0 && end <= start) { (end - start) / step + 1 } else { 0 };
                if length > MAX_RANGE_ELEMENTS {
                    return Err(bad(format!(
                        "the range has {length} elements; at most {MAX_RANGE_ELEMENTS} are allowed"
                    )));
                }
                Ok(Value::Array((0..length).map(|i| Value::from(start + i * step)).collect()))
            }
            "States.ArrayGetItem" => {
                count(2..=2)?;
                let array = array(&args[0]).map_err(bad)?;
                let index = integer(&args[1]).map_err(bad)?;
                usize::try_from(index)
                    .ok()
                    .and_then(|i| array.get(i))
                    .cloned()
                    .ok_or_else(|| bad(format!("index {index} is out of bounds for an array of {}", array.len())))
            }
            "States.ArrayLength" => {
                count(1..=1)?;
                Ok(Value::from(array(&args[0]).map_err(bad)?.len()))
            }
            "States.ArrayUnique" => {
                count(1..=1)?;
                let mut unique: Vec<Value> = Vec::new();
                for item in array(&args[0]).map_err(bad)? {
                    if !unique.contains(item) {
                        unique.push(item.clone());
                    }
                }
                Ok(Value::Array(unique))
            }
            "States.Base64Encode" => {
                count(1..=1)?;
                let text = limited_string(&args[0]).map_err(bad)?;
                Ok(Value::String(BASE64.encode(text)))
            }
            "States.Base64Decode" => {
                count(1..=1)?;
                let text = limited_string(&args[0]).map_err(bad)?;
                let bytes = BASE64.decode(text).map_err(|e| bad(format!("{text:?} is not base64: {e}")))?;
                String::from_utf8(bytes).map(Value::String).map_err(|_| bad("the decoded bytes are not UTF-8".into()))
            }
            "States.Hash" => {
                count(2..=2)?;
                let data = limited_string(&args[0]).map_err(bad)?;
                let algorithm = string(&args[1]).map_err(bad)?;
                hash(data.as_bytes(), algorithm).map(Value::String).ok_or_else(|| {
                    bad(format!("{algorithm:?} is not a hash algorithm: use MD5, SHA-1, SHA-256, SHA-384 or SHA-512"))
                })
            }
            "States.JsonMerge" => {
                count(3..=3)?;
                let (Value::Object(left), Value::Object(right)) = (&args[0], &args[1]) else {
                    return Err(bad("the first two arguments must be JSON objects".into()));
                };
                if args[2] != Value::Bool(false) {
                    return Err(bad("only a shallow merge is supported: the third argument must be false".into()));
                }
                let mut merged: Map<String, Value> = left.clone();
                merged.extend(right.iter().map(|(k, v)| (k.clone(), v.clone())));
                Ok(Value::Object(merged))
            }
            "States.MathRandom" => {
                count(2..=3)?;
                let start = rounded_integer(&args[0]).map_err(bad)?;
                let end = rounded_integer(&args[1]).map_err(bad)?;
                if end <= start {
                    return Err(bad(format!("the end ({end}) must be greater than the start ({start})")));
                }
                let value = match args.get(2) {
                    Some(seed) => {
                        let seed = integer(seed).map_err(bad)?;
                        rand::rngs::SmallRng::seed_from_u64(seed as u64).random_range(start..end)
                    }
                    None => context.random().range(start, end),
                };
                Ok(Value::from(value))
            }
            "States.MathAdd" => {
                count(2..=2)?;
                let a = rounded_integer(&args[0]).map_err(bad)?;
                let b = rounded_integer(&args[1]).map_err(bad)?;
                Ok(Value::from(a + b))
            }
            "States.StringSplit" => {
                count(2..=2)?;
                let text = string(&args[0]).map_err(bad)?;
                let delimiters: Vec<char> = string(&args[1]).map_err(bad)?.chars().collect();
                Ok(Value::Array(
                    text.split(|c| delimiters.contains(&c))
                        .filter(|part| !part.is_empty())
                        .map(|part| Value::String(part.to_owned()))
                        .collect(),
                ))
            }
            "States.UUID" => {
                count(0..=0)?;
                Ok(Value::String(context.random().uuid().to_string()))
            }
            other => Err(StatesError::runtime(format!(
                "{other} is not an intrinsic function Step Functions defines; see the States Language's list"
            ))),
        }
    }
}

/// States.Format: each `{}` takes the next argument, strings as themselves and everything else
/// as JSON; `\{` and `\}` are literal braces.
fn format(template: &str, values: &[Value]) -> Result<Value, String> {
    let mut out = String::new();
    let mut values = values.iter();
    let mut chars = template.chars().peekable();
    let mut placeholders = 0;
    while let Some(c) = chars.next() {
        match c {
            '\\' => {
                if let Some(next) = chars.next() {
                    out.push(next);
                }
            }
            '{' if chars.peek() == Some(&'}') => {
                chars.next();
                placeholders += 1;
                match values.next() {
                    Some(value) => java_text(value, &mut out),
                    None => {
                        return Err(format!(
                            "the template has more {{}} placeholders than the {placeholders} - 1 arguments given"
                        ));
                    }
                }
            }
            c => out.push(c),
        }
    }
    let extra = values.count();
    if extra > 0 {
        return Err(format!(
            "the template has {placeholders} {{}} placeholder(s) but {} arguments were given",
            placeholders + extra
        ));
    }
    Ok(Value::String(out))
}

/// A value as States.Format writes it into its template: a string as itself, a number, boolean
/// or null as its JSON text, and an object or array the way AWS (a Java service) records it:
/// `{"Arg1": 1, "Arg2": []}` becomes `{Arg1=1, Arg2=[]}`, its members written by these same
/// rules, strings unquoted. Not documented; recorded on AWS.
fn java_text(value: &Value, out: &mut String) {
    match value {
        Value::String(s) => out.push_str(s),
        Value::Array(items) => {
            out.push('[');
            for (n, item) in items.iter().enumerate() {
                if n > 0 {
                    out.push_str(", ");
                }
                java_text(item, out);
            }
            out.push(']');
        }
        Value::Object(members) => {
            out.push('{');
            for (n, (key, item)) in members.iter().enumerate() {
                if n > 0 {
                    out.push_str(", ");
                }
                out.push_str(key);
                out.push('=');
                java_text(item, out);
            }
            out.push('}');
        }
        other => out.push_str(&other.to_string()),
    }
}

pub(crate) fn hash(data: &[u8], algorithm: &str) -> Option<String> {
    use sha2::Digest as _;
    Some(match algorithm {
        "MD5" => hex::encode(md5::Md5::digest(data)),
        "SHA-1" => hex::encode(sha1::Sha1::digest(data)),
        "SHA-256" => hex::encode(sha2::Sha256::digest(data)),
        "SHA-384" => hex::encode(sha2::Sha384::digest(data)),
        "SHA-512" => hex::encode(sha2::Sha512::digest(data)),
        _ => return None,
    })
}

fn string(value: &Value) -> Result<&str, String> {
    value.as_str().ok_or_else(|| format!("expected a string, got {}", path::kind(value)))
}

fn limited_string(value: &Value) -> Result<&str, String> {
    let text = string(value)?;
    if text.chars().count() > MAX_STRING_INPUT {
        return Err(format!(
            "the string is {} characters long; at most {MAX_STRING_INPUT} are allowed",
            text.chars().count()
        ));
    }
    Ok(text)
}

fn array(value: &Value) -> Result<&Vec<Value>, String> {
    value.as_array().ok_or_else(|| format!("expected an array, got {}", path::kind(value)))
}

/// An integer argument; a number with a fractional part, or out of the 32-bit range AWS allows,
/// is refused.
fn integer(value: &Value) -> Result<i64, String> {
    let n = match value {
        Value::Number(n) => n.as_i64().or_else(|| n.as_f64().filter(|f| f.fract() == 0.0).map(|f| f as i64)),
        _ => None,
    }
    .ok_or_else(|| format!("expected an integer, got {value}"))?;
    if i32::try_from(n).is_err() {
        return Err(format!("{n} is outside the 32-bit integer range"));
    }
    Ok(n)
}

/// An integer argument where AWS documents that "if you specify a non-integer value ... Step
/// Functions will round it off to the nearest integer" (MathAdd, MathRandom's bounds,
/// ArrayRange, ArrayPartition's chunk size). Halves round up, towards positive infinity, as Java's
/// `Math.round` does and as AWS records it: 2.5 is 3, -2.5 is -2. The result must still be in
/// the 32-bit range.
fn rounded_integer(value: &Value) -> Result<i64, String> {
    let n = match value {
        Value::Number(n) => {
            n.as_i64().or_else(|| n.as_f64().map(|f| (f + 0.5).floor()).filter(|f| f.is_finite()).map(|f| f as i64))
        }
        _ => None,
    }
    .ok_or_else(|| format!("expected a number, got {value}"))?;
    if i32::try_from(n).is_err() {
        return Err(format!("{n} is outside the 32-bit integer range"));
    }
    Ok(n)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn eval(text: &str, input: Value) -> Result<Value, StatesError> {
        evaluate(text, &input, &json!({"Execution": {"Name": "run-1"}}))
    }

    #[test]
    fn parses_every_argument_kind() {
        let call =
            Parser::new("States.Array('it\\'s', 1, -2.5, true, false, null, $.a[0], $$.Execution.Name, States.UUID())")
                .parse_whole()
                .unwrap();
        assert_eq!(call.args.len(), 9);
        assert_eq!(call.args[0], Arg::Literal("it\\'s".into()));
        assert_eq!(call.args[6], Arg::Path("$.a[0]".into()));
        assert!(matches!(&call.args[8], Arg::Call(c) if c.name == "States.UUID" && c.args.is_empty()));
        let value = eval("States.Array('it\\'s', 1, -2.5, true, null, $.a[0], $$.Execution.Name)", json!({"a": ["x"]}))
            .unwrap();
        assert_eq!(value, json!(["it's", 1, -2.5, true, null, "x", "run-1"]));
    }

    #[test]
    fn paths_with_commas_and_parentheses_inside_filters_stay_whole() {
        let input = json!({"items": [{"a": 1, "b": "x,y"}, {"a": 2, "b": "z"}]});
        let value = eval("States.ArrayLength($.items[?(@.a > 1)])", input.clone()).unwrap();
        assert_eq!(value, json!(1));
        assert_eq!(eval("States.Array($.items[0]['b'], 'k')", input).unwrap(), json!(["x,y", "k"]));
    }

    #[test]
    fn format_substitutes_and_keeps_escaped_braces() {
        assert_eq!(
            eval("States.Format('Hello, my name is {}.', $.name)", json!({"name": "Arnav"})).unwrap(),
            json!("Hello, my name is Arnav.")
        );
        assert_eq!(eval("States.Format('\\{{}\\} {} {}', 1, true, null)", json!({})).unwrap(), json!("{1} true null"));
        assert_eq!(eval("States.Format('it\\'s \\\\ {}', 'x')", json!({})).unwrap(), json!("it's \\ x"));
        assert!(eval("States.Format('{} {}', 1)", json!({})).is_err());
        assert!(eval("States.Format('{}', 1, 2)", json!({})).is_err());
    }

    #[test]
    fn the_documented_examples() {
        let input = json!({
            "inputArray": [1, 2, 3, 4, 5, 6, 7, 8, 9],
            "duplicates": [1, 2, 3, 3, 3, 3, 3, 3, 4],
            "json": {"a": 1, "b": {"c": 2}},
            "escaped": "{\"foo\": \"bar\"}",
            "input": "Data to encode",
            "base64": "RGF0YSB0byBlbmNvZGU=",
            "Data": "input data",
            "Algorithm": "SHA-1",
            "json1": {"a": {"a1": 1, "a2": 2}, "b": 2},
            "json2": {"a": {"a3": 1, "a4": 2}, "c": 3},
            "inputString": "This.is+a,test=string",
            "splitter": ".+,=",
            "value1": 111,
            "step": -1
        });
        let cases = [
            ("States.StringToJson($.escaped)", json!({"foo": "bar"})),
            ("States.JsonToString($.json)", json!("{\"a\":1,\"b\":{\"c\":2}}")),
            ("States.Array('Foo', 2020, $.json.b, null)", json!(["Foo", 2020, {"c": 2}, null])),
            ("States.ArrayPartition($.inputArray, 4)", json!([[1, 2, 3, 4], [5, 6, 7, 8], [9]])),
            ("States.ArrayContains($.inputArray, 5)", json!(true)),
            ("States.ArrayContains($.inputArray, 10)", json!(false)),
            ("States.ArrayRange(1, 9, 2)", json!([1, 3, 5, 7, 9])),
            ("States.ArrayRange(5, 1, $.step)", json!([5, 4, 3, 2, 1])),
            ("States.ArrayGetItem($.inputArray, 5)", json!(6)),
            ("States.ArrayLength($.inputArray)", json!(9)),
            ("States.ArrayUnique($.duplicates)", json!([1, 2, 3, 4])),
            ("States.Base64Encode($.input)", json!("RGF0YSB0byBlbmNvZGU=")),
            ("States.Base64Decode($.base64)", json!("Data to encode")),
            ("States.Hash($.Data, $.Algorithm)", json!("aaff4a450a104cd177d28d18d74485e8cae074b7")),
            ("States.Hash('input data', 'MD5')", json!("812f45842bc6d66ee14572ce20db8e86")),
            (
                "States.Hash('input data', 'SHA-256')",
                json!("b4a697a057313163aee33cd8d40c66e9f0f177e00cac2de32475ffff6169c3e3"),
            ),
            ("States.JsonMerge($.json1, $.json2, false)", json!({"a": {"a3": 1, "a4": 2}, "b": 2, "c": 3})),
            ("States.MathAdd($.value1, -1)", json!(110)),
            ("States.StringSplit($.inputString, $.splitter)", json!(["This", "is", "a", "test", "string"])),
            ("States.StringSplit('1,2,3,4,5', ',')", json!(["1", "2", "3", "4", "5"])),
            ("States.ArrayLength(States.Array(1, 2, States.Array(3)))", json!(3)),
        ];
        let mut failures = Vec::new();
        for (call, expected) in cases {
            match eval(call, input.clone()) {
                Ok(value) if value == expected => {}
                other => failures.push(format!("{call}: expected {expected}, got {other:?}")),
            }
        }
        assert!(failures.is_empty(), "{}", failures.join("\n"));
    }

    #[test]
    fn math_add_rounds_each_argument_half_up_as_aws_records() {
        // (first, second, sum) as recorded on AWS: each argument is rounded before the sum.
        let cases = [
            (-9.0, 3.0, -6),
            (1.49, 1.50, 3),
            (1.50, 1.51, 4),
            (-1.49, -1.50, -2),
            (-1.50, -1.51, -3),
            (1.49, -1.49, 0),
            (0.5, 0.0, 1),
            (2.5, 0.0, 3),
            (-0.5, 0.5, 1),
            (-0.5, 0.0, 0),
            (-2.5, 0.0, -2),
            (1.5, 2.25, 4),
        ];
        for (a, b, sum) in cases {
            let got = eval("States.MathAdd($.a, $.b)", json!({"a": a, "b": b})).unwrap();
            assert_eq!(got, json!(sum), "MathAdd({a}, {b})");
        }
        assert_eq!(eval("States.ArrayRange(0.6, 2.4, 1)", json!({})).unwrap(), json!([1, 2]));
    }

    #[test]
    fn string_to_json_of_a_blank_string_is_null() {
        for text in ["", " ", "\n\t ", "null"] {
            assert_eq!(eval("States.StringToJson($.s)", json!({"s": text})).unwrap(), Value::Null, "{text:?}");
        }
        assert_eq!(eval("States.StringToJson($.s)", json!({"s": "-0"})).unwrap(), json!(0));
    }

    #[test]
    fn format_writes_objects_and_arrays_as_aws_does() {
        let input = json!({"o": {"Arg1": 1, "Arg2": []}, "a": [1, "x", null, {"k": true}], "t": "C:\\{} {}"});
        assert_eq!(
            eval("States.Format('fst={} and snd={}.', $.o, $.a)", input.clone()).unwrap(),
            json!("fst={Arg1=1, Arg2=[]} and snd=[1, x, null, {k=true}].")
        );
        // A template from the input is plain text: its backslash is kept.
        assert_eq!(eval("States.Format($.t, 'a', 2)", input).unwrap(), json!("C:\\a 2"));
    }

    #[test]
    fn math_random_stays_in_range_and_a_seed_repeats() {
        for _ in 0..50 {
            let n = eval("States.MathRandom(1, 10)", json!({})).unwrap().as_i64().unwrap();
            assert!((1..10).contains(&n), "{n}");
        }
        let a = eval("States.MathRandom(1, 1000, 7)", json!({})).unwrap();
        assert_eq!(a, eval("States.MathRandom(1, 1000, 7)", json!({})).unwrap());
    }

    #[test]
    fn uuid_is_a_v4_uuid() {
        let text = eval("States.UUID()", json!({})).unwrap();
        let parsed = uuid::Uuid::parse_str(text.as_str().unwrap()).unwrap();
        assert_eq!(parsed.get_version_num(), 4);
    }

    #[test]
    fn bad_arguments_are_runtime_errors_that_say_what_was_wrong() {
        let cases = [
            ("States.ArrayLength('x')", "expected an array"),
            ("States.ArrayGetItem(States.Array(1), 3)", "out of bounds"),
            ("States.ArrayRange(1, 2000, 1)", "at most 1000"),
            ("States.ArrayPartition(States.Array(1), 0)", "positive integer"),
            ("States.Hash('x', 'SHA-3')", "not a hash algorithm"),
            ("States.JsonMerge(States.StringToJson('{}'), States.StringToJson('{}'), true)", "shallow"),
            ("States.MathAdd('1', 1)", "expected a number"),
            ("States.MathAdd(2147483647.5, 1)", "outside the 32-bit integer range"),
            ("States.Format(1, 2)", "the template must be a string"),
            ("States.StringToJson('{nope')", "is not JSON"),
            ("States.Nope(1)", "not an intrinsic function"),
            ("States.Array($.missing)", "matched nothing"),
            ("States.Array(1", "not closed"),
            ("States.Array('open)", "not closed"),
            ("States.UUID(1)", "0 argument(s)"),
        ];
        for (call, expected) in cases {
            let error = eval(call, json!({})).unwrap_err();
            assert_eq!(error.error, "States.Runtime", "{call}");
            assert!(error.cause.contains(expected), "{call}: {:?} does not say {expected:?}", error.cause);
        }
    }
}
