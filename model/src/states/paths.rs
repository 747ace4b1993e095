//! The syntax of paths and intrinsic function calls, checked before a definition is deployed, as
//! CreateStateMachine checks it (`SCHEMA_VALIDATION_FAILED: Value must be a valid JSONPath`, `The
//! value for the field 'x.$' must be a valid JSONPath or a valid intrinsic function call`). Only
//! what is surely wrong is refused (no `$` in front, a dangling dot, an unclosed bracket or quote,
//! an unknown or unclosed function), so nothing Step Functions accepts is refused here; whether a
//! path finds anything is for the interpreter to say at run time.

use serde_json::Value;

/// Every intrinsic function Step Functions offers (JSONPath flavour).
pub const INTRINSIC_FUNCTIONS: &[&str] = &[
    "States.Array",
    "States.ArrayContains",
    "States.ArrayGetItem",
    "States.ArrayLength",
    "States.ArrayPartition",
    "States.ArrayRange",
    "States.ArrayUnique",
    "States.Base64Decode",
    "States.Base64Encode",
    "States.Format",
    "States.Hash",
    "States.JsonMerge",
    "States.JsonToString",
    "States.MathAdd",
    "States.MathRandom",
    "States.StringSplit",
    "States.StringToJson",
    "States.UUID",
];

/// Fields of a state that hold a query path (`$...` or `$$...`).
pub const PATH_FIELDS: &[&str] = &[
    "InputPath",
    "OutputPath",
    "ItemsPath",
    "SecondsPath",
    "TimestampPath",
    "TimeoutSecondsPath",
    "HeartbeatSecondsPath",
    "MaxConcurrencyPath",
    "ToleratedFailureCountPath",
    "ToleratedFailurePercentagePath",
];

/// Fields of a state that hold a payload template, whose `.$` keys take a path or a function call.
pub const TEMPLATE_FIELDS: &[&str] = &["Parameters", "ResultSelector", "ItemSelector"];

/// Checks a query path. `reference` asks for a reference path (`ResultPath`): names and indexes
/// only, since it says where to write.
pub fn check_path(path: &str, reference: bool) -> Result<(), String> {
    let rest = if let Some(rest) = path.strip_prefix("$$") {
        rest
    } else if let Some(rest) = path.strip_prefix('$') {
        // `$name...` reads the workflow variable `name` ("Passing data between states with
        // variables"); a reference path says where to write into the input, never a variable.
        match rest.find(|c: char| !(c.is_alphanumeric() || c == '_')).unwrap_or(rest.len()) {
            0 => rest,
            _ if reference => {
                return Err("a reference path writes into the state's input and starts with $. or $[ (a \
                            variable is set with Assign, not a path)"
                    .to_owned());
            }
            end => {
                if &rest[..end] == super::jsonata::RESERVED_VARIABLE {
                    return Err("$states is reserved by Step Functions for JSONata; a JSONPath path reads the \
                                input ($.), the context object ($$.) or a variable of your own"
                        .to_owned());
                }
                if rest.starts_with(|c: char| c.is_ascii_digit()) {
                    return Err(format!(
                        "after the $ comes .name, [...] or a variable name, not {:?}",
                        first_char(rest)
                    ));
                }
                &rest[end..]
            }
        }
    } else {
        return Err(
            "a path starts with $ (the state's input), $$ (the context object) or $name (a variable)".to_owned()
        );
    };
    if !rest.is_empty() && !rest.starts_with(['.', '[']) {
        return Err(format!("after the $ comes .name or [...], not {:?}", first_char(rest)));
    }
    let chars: Vec<char> = rest.chars().collect();
    let (mut depth, mut quote, mut i) = (0usize, None::<char>, 0);
    while i < chars.len() {
        let c = chars[i];
        if let Some(q) = quote {
            if c == '\\' {
                i += 1;
            } else if c == q {
                quote = None;
            }
            i += 1;
            continue;
        }
        match c {
            '\'' | '"' if depth > 0 => quote = Some(c),
            '[' => {
                if chars.get(i + 1) == Some(&']') {
                    return Err("it has an empty []".to_owned());
                }
                depth += 1;
            }
            ']' => {
                if depth == 0 {
                    return Err("it has a ] with no [ before it".to_owned());
                }
                depth -= 1;
            }
            '.' if depth == 0 => {
                let after = chars.get(i + 1).copied();
                let descent = after == Some('.');
                if descent && reference {
                    return Err("a reference path (where a result is written) cannot use .. : name each field".into());
                }
                let next = if descent { chars.get(i + 2).copied() } else { after };
                match next {
                    None => return Err("it ends with a dot: name the field after it, or remove the dot".to_owned()),
                    Some('.') => return Err("it has three dots in a row".to_owned()),
                    _ => {}
                }
                if descent {
                    i += 1;
                }
            }
            '*' | '?' | ':' | ',' if reference && (depth > 0 || c == '*') => {
                return Err(format!(
                    "a reference path (where a result is written) holds only names and indexes, not {c:?}"
                ));
            }
            _ => {}
        }
        i += 1;
    }
    if quote.is_some() {
        return Err("a quoted name in it is not closed".to_owned());
    }
    if depth > 0 {
        return Err("a [ in it is not closed with ]".to_owned());
    }
    Ok(())
}

fn first_char(text: &str) -> String {
    text.chars().next().map(String::from).unwrap_or_default()
}

/// Whether the value of a `.$` key is meant as a function call rather than a path.
pub fn is_call(text: &str) -> bool {
    text.trim_start().starts_with("States.")
}

/// Checks an intrinsic function call: every function named is one Step Functions has, string
/// literals and parentheses are closed, and nothing follows the outer call.
pub fn check_call(text: &str) -> Result<(), String> {
    let chars: Vec<char> = text.trim().chars().collect();
    // `quote` is the quote of the string literal, or of a path argument's bracketed name
    // (`$['a b']`, `$["it's"]`), being read; `brackets` how deep in a path's [...] the scan is.
    let (mut depth, mut quote, mut brackets, mut i, mut closed_at) = (0usize, None::<char>, 0usize, 0, None);
    while i < chars.len() {
        let c = chars[i];
        if let Some(q) = quote {
            if c == '\\' {
                i += 1;
            } else if c == q {
                quote = None;
            }
            i += 1;
            continue;
        }
        if let Some(at) = closed_at {
            if !c.is_whitespace() {
                let rest: String = chars[i..].iter().collect();
                return Err(format!("{rest:?} follows the call that ends at character {}", at + 1));
            }
            i += 1;
            continue;
        }
        match c {
            '\'' => quote = Some(c),
            '"' if brackets > 0 => quote = Some(c),
            '[' => brackets += 1,
            ']' => brackets = brackets.saturating_sub(1),
            '(' => depth += 1,
            ')' => {
                if depth == 0 {
                    return Err("it has a ) with no ( before it".to_owned());
                }
                depth -= 1;
                if depth == 0 {
                    closed_at = Some(i);
                }
            }
            // A function's name, not a field of a path argument ($.States.x).
            'S' if chars[i..].starts_with(&['S', 't', 'a', 't', 'e', 's', '.'])
                && (i == 0 || !(chars[i - 1].is_alphanumeric() || matches!(chars[i - 1], '.' | '$' | '_'))) =>
            {
                let start = i;
                while chars.get(i).is_some_and(|c| c.is_alphanumeric() || *c == '.') {
                    i += 1;
                }
                let name: String = chars[start..i].iter().collect();
                if !INTRINSIC_FUNCTIONS.contains(&name.as_str()) {
                    return Err(format!(
                        "{name} is not an intrinsic function; Step Functions has {}",
                        INTRINSIC_FUNCTIONS.join(", ")
                    ));
                }
                if chars.get(i) != Some(&'(') {
                    return Err(format!("{name} must be followed by ( and its arguments"));
                }
                continue;
            }
            _ => {}
        }
        i += 1;
    }
    if quote.is_some() {
        return Err("a 'string' in it is not closed".to_owned());
    }
    if depth > 0 || closed_at.is_none() {
        return Err("its arguments are not closed with )".to_owned());
    }
    Ok(())
}

/// Checks the `.$` keys of a payload template (at any depth), calling `report(key, value, reason)`
/// for each that is neither a path nor a function call.
pub fn check_template(template: &Value, report: &mut dyn FnMut(&str, &str, String)) {
    match template {
        Value::Object(map) => {
            for (key, value) in map {
                if key.ends_with(".$") {
                    let Some(text) = value.as_str() else {
                        report(
                            key,
                            &value.to_string(),
                            "it must be a string: a path or an intrinsic function call".into(),
                        );
                        continue;
                    };
                    let checked = if is_call(text) { check_call(text) } else { check_path(text, false) };
                    if let Err(reason) = checked {
                        report(key, text, reason);
                    }
                } else {
                    check_template(value, report);
                }
            }
        }
        Value::Array(items) => items.iter().for_each(|item| check_template(item, report)),
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_step_functions_takes_pass() {
        for path in [
            "$",
            "$$",
            "$.a",
            "$.a.b[0]",
            "$['a b']",
            "$..name",
            "$.a[*]",
            "$.a[?(@.x > 1)]",
            "$.a[1:3]",
            "$$.Execution.Id",
            "$.delivery-partner",
            "$['odd]name']",
        ] {
            assert_eq!(check_path(path, false), Ok(()), "{path}");
        }
        for path in ["$", "$.a.b", "$.a[0]", "$['a']"] {
            assert_eq!(check_path(path, true), Ok(()), "{path}");
        }
    }

    #[test]
    fn broken_paths_say_what_is_wrong() {
        for (path, reason) in [
            ("a.b", "starts with $"),
            ("$1a", "after the $"),
            ("$states.input", "reserved"),
            ("$.a.", "ends with a dot"),
            ("$..", "ends with a dot"),
            ("$.a[0", "not closed"),
            ("$.a]", "no ["),
            ("$.a[]", "empty []"),
            ("$['a", "not closed"),
            ("$...a", "three dots"),
        ] {
            let err = check_path(path, false).unwrap_err();
            assert!(err.contains(reason), "{path}: {err}");
        }
        // `$name` reads a variable, except where a path says where to write.
        assert_eq!(check_path("$order.items[0]", false), Ok(()));
        assert!(check_path("$order", true).unwrap_err().contains("Assign"));
        assert!(check_path("$.a[*]", true).unwrap_err().contains("reference path"));
        assert!(check_path("$..a", true).unwrap_err().contains("reference path"));
    }

    #[test]
    fn calls_name_known_functions_and_close() {
        for call in [
            "States.Format('Hello, {}!', $.name)",
            "States.Array(States.Format('{}', $.a), 'x, y', 3)",
            "States.StringToJson('{\\'a\\': 1}')",
            "States.UUID()",
            "  States.ArrayLength($)  ",
            "States.Format('{}', $.States.name)",
            "States.Array($[\"it's\"], $['a\\'b'], $[\"a\\\"b\"])",
        ] {
            assert_eq!(check_call(call), Ok(()), "{call}");
        }
        for (call, reason) in [
            ("States.Frobnicate($.a)", "States.Frobnicate is not an intrinsic function"),
            ("States.Array(States.Nope(1))", "States.Nope is not"),
            ("States.Format('x', $.a", "not closed"),
            ("States.Format('x)", "'string'"),
            ("States.UUID", "must be followed by ("),
            ("States.UUID() extra", "follows the call"),
        ] {
            let err = check_call(call).unwrap_err();
            assert!(err.contains(reason), "{call}: {err}");
        }
    }

    #[test]
    fn templates_are_checked_at_every_depth() {
        let template = serde_json::json!({
            "ok.$": "$.a",
            "nested": {"bad.$": "a.b", "list": [{"call.$": "States.Nope()"}]},
            "literal": "not a path",
            "number.$": 3
        });
        let mut found = Vec::new();
        check_template(&template, &mut |key, value, _| found.push(format!("{key}={value}")));
        found.sort();
        assert_eq!(found, ["bad.$=a.b", "call.$=States.Nope()", "number.$=3"]);
    }
}
