//! Validation of a state machine before it is deployed: the rules Step Functions would reject the
//! definition for (or, like an unreachable state, a mistake it would let through), checked in one
//! pass so that every problem is reported at once, each naming where it is and how to fix it.
//! Nested machines (Parallel branches, Map processors) are checked by the same rules.

use std::collections::{HashMap, HashSet, VecDeque};
use std::fmt;

use serde_json::Value;

use super::machine::{QueryLanguage, StateMachine, States};
use super::paths;
use super::state::{Catcher, NullablePath, Retrier, STATES_ALL, State};

/// The longest state name Step Functions accepts.
pub const MAX_STATE_NAME_LEN: usize = 80;
/// The largest MaxAttempts and IntervalSeconds Step Functions accepts.
pub const MAX_RETRY_VALUE: u32 = 99_999_999;

/// Where a problem is: a state, or a (nested) machine when `state` is `None`. Displays as
/// `state "X"`, or `Parallel "Fanout" branch 1 state "X"` inside a nested machine; branches
/// are numbered from 1.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Location {
    /// The enclosing Parallel/Map states, outermost first, each rendered as shown above.
    pub scope: Vec<String>,
    pub state: Option<String>,
}

impl Location {
    fn machine(scope: &[String]) -> Self {
        Self { scope: scope.to_vec(), state: None }
    }

    fn state(scope: &[String], name: &str) -> Self {
        Self { scope: scope.to_vec(), state: Some(name.to_owned()) }
    }
}

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (self.scope.is_empty(), &self.state) {
            (true, None) => f.write_str("the state machine"),
            (true, Some(name)) => write!(f, "state {name:?}"),
            (false, None) => f.write_str(&self.scope.join(" ")),
            (false, Some(name)) => write!(f, "{} state {name:?}", self.scope.join(" ")),
        }
    }
}

/// One rule a definition breaks. Every message names its [`Location`] and says how to fix it.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ValidationError {
    #[error("{at} has no states: add at least one state to States and name it in StartAt")]
    NoStates { at: Location },
    #[error("{at} has no StartAt: set StartAt to the state to begin with, one of {known}")]
    MissingStartAt { at: Location, known: String },
    #[error("{at} has StartAt {start_at:?}, which is not one of its states: use one of {known}")]
    UnknownStartAt { at: Location, start_at: String, known: String },
    #[error(
        "{at}: {field} names {target:?}, which is not a state here: use one of {known} \
         (a state can only go to states of its own machine or branch)"
    )]
    UnknownTarget { at: Location, field: String, target: String, known: String },
    #[error(
        "{at} can never run: no StartAt, Next, Default or Catch leads to it; link it from another state or remove it"
    )]
    Unreachable { at: Location },
    #[error("{at} ({kind}) has neither Next nor End: add \"Next\": \"<state>\" or \"End\": true")]
    NoTransition { at: Location, kind: &'static str },
    #[error("{at} has both Next ({next:?}) and End: keep one; End ends the execution, Next continues it")]
    NextAndEnd { at: Location, next: String },
    #[error("{at} is a {kind} state, which always ends the execution, but has Next {next:?}: remove Next")]
    TerminalWithNext { at: Location, kind: &'static str, next: String },
    #[error("{at} is a Choice with no rules: add at least one rule to Choices (and a Default for no match)")]
    NoChoices { at: Location },
    #[error("{at}: Choices rule {rule} has no Next: every top-level rule must name the state to go to when it matches")]
    RuleWithoutNext { at: Location, rule: usize },
    #[error("{at} is a Parallel with no Branches: add at least one branch")]
    NoBranches { at: Location },
    #[error("{at} is a Map with no ItemProcessor: add an ItemProcessor (StartAt and States) to run per item")]
    MapWithoutProcessor { at: Location },
    #[error("{at} is a Map with both ItemProcessor and Iterator: keep ItemProcessor (Iterator is its older name)")]
    MapWithTwoProcessors { at: Location },
    #[error(
        "{at} is a Wait with {count} of Seconds, Timestamp, SecondsPath and TimestampPath ({found}): give exactly one"
    )]
    WaitForms { at: Location, count: usize, found: String },
    #[error("{at}: Retry {retrier} has IntervalSeconds {value}: use whole seconds from 1 to 99999999")]
    RetryInterval { at: Location, retrier: usize, value: u64 },
    #[error("{at}: Retry {retrier} has MaxAttempts {value}: use 0 (no retries) to 99999999")]
    RetryMaxAttempts { at: Location, retrier: usize, value: i64 },
    #[error("{at}: Retry {retrier} has BackoffRate {value}: use 1.0 (constant interval) or more")]
    RetryBackoffRate { at: Location, retrier: usize, value: f64 },
    #[error("{at}: {field} {index} has an empty ErrorEquals: name at least one error, e.g. \"States.ALL\"")]
    EmptyErrorEquals { at: Location, field: &'static str, index: usize },
    #[error(
        "{at}: {field} {index} lists States.ALL with other errors: States.ALL must stand alone in its \
         ErrorEquals; move the other errors to an earlier {field} entry"
    )]
    StatesAllNotAlone { at: Location, field: &'static str, index: usize },
    #[error(
        "{at}: {field} {index} matches States.ALL but is not the last {field} entry, so the ones after it \
         can never match: move it to the end"
    )]
    StatesAllNotLast { at: Location, field: &'static str, index: usize },
    #[error("{at}: {field} is 0: it must be at least 1 second; remove it to use the default")]
    ZeroSeconds { at: Location, field: &'static str },
    #[error(
        "{at}: HeartbeatSeconds ({heartbeat}) is not less than TimeoutSeconds ({timeout}): a heartbeat must \
         come before the timeout; lower HeartbeatSeconds or raise TimeoutSeconds"
    )]
    HeartbeatNotBelowTimeout { at: Location, heartbeat: u64, timeout: u64 },
    #[error("{at}: the name is {length} characters long; Step Functions allows at most 80: shorten it")]
    NameTooLong { at: Location, length: usize },
    #[error(
        "{at}: the name is already used by {first}; state names must be unique across the whole machine, \
         branches included: rename one"
    )]
    DuplicateName { at: Location, first: Location },
    #[error(
        "{at} has no terminal state: no Succeed, no Fail and no state with \"End\": true, so no execution \
         could ever end; end the last state with \"End\": true (Step Functions refuses this as MISSING_END_STATE)"
    )]
    NoTerminalState { at: Location },
    #[error(
        "{at}: {field} {value:?} is not a valid JSONPath: {reason}; write e.g. \"$.result\" or \"$$.Execution.Id\""
    )]
    InvalidPath { at: Location, field: String, value: String, reason: String },
    #[error(
        "{at}: {field} {value:?} is not a valid intrinsic function call: {reason}; write e.g. \
         \"States.Format('Hello, {{}}', $.name)\""
    )]
    InvalidIntrinsic { at: Location, field: String, value: String, reason: String },
    #[error(
        "{at} sets \"QueryLanguage\": \"JSONata\": JSONata is not supported yet; write it with JSONPath \
         (remove QueryLanguage or set it to \"JSONPath\")"
    )]
    JsonataNotSupported { at: Location },
    #[error(
        "{at}: Timestamp {value:?} is not a timestamp Step Functions accepts: {reason}; write RFC 3339 with an \
         uppercase T and a Z or numeric offset, e.g. \"2026-11-01T00:00:00Z\""
    )]
    InvalidTimestamp { at: Location, value: String, reason: String },
    #[error(
        "{at} is in a loop with no way out: no path from it reaches a Succeed, Fail or End state, so an \
         execution that gets there runs until its time limit (a year for a standard workflow). Give the loop \
         a way out (a Choice rule or Default to a state that ends, or a Catch); Step Functions would accept \
         it, the provisioner does not"
    )]
    NoWayOut { at: Location },
}

impl ValidationError {
    /// Where the problem is.
    pub fn location(&self) -> &Location {
        match self {
            Self::NoStates { at }
            | Self::MissingStartAt { at, .. }
            | Self::UnknownStartAt { at, .. }
            | Self::UnknownTarget { at, .. }
            | Self::Unreachable { at }
            | Self::NoTransition { at, .. }
            | Self::NextAndEnd { at, .. }
            | Self::TerminalWithNext { at, .. }
            | Self::NoChoices { at }
            | Self::RuleWithoutNext { at, .. }
            | Self::NoBranches { at }
            | Self::MapWithoutProcessor { at }
            | Self::MapWithTwoProcessors { at }
            | Self::WaitForms { at, .. }
            | Self::RetryInterval { at, .. }
            | Self::RetryMaxAttempts { at, .. }
            | Self::RetryBackoffRate { at, .. }
            | Self::EmptyErrorEquals { at, .. }
            | Self::StatesAllNotAlone { at, .. }
            | Self::StatesAllNotLast { at, .. }
            | Self::ZeroSeconds { at, .. }
            | Self::HeartbeatNotBelowTimeout { at, .. }
            | Self::NameTooLong { at, .. }
            | Self::DuplicateName { at, .. }
            | Self::NoTerminalState { at }
            | Self::InvalidPath { at, .. }
            | Self::InvalidIntrinsic { at, .. }
            | Self::JsonataNotSupported { at }
            | Self::InvalidTimestamp { at, .. }
            | Self::NoWayOut { at } => at,
        }
    }
}

/// Every problem found in a definition, in document order.
#[derive(Debug, Clone, PartialEq)]
pub struct ValidationErrors(pub Vec<ValidationError>);

impl fmt::Display for ValidationErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let count = self.0.len();
        write!(f, "the state machine definition has {count} problem{}:", if count == 1 { "" } else { "s" })?;
        for error in &self.0 {
            write!(f, "\n  - {error}")?;
        }
        Ok(())
    }
}

impl std::error::Error for ValidationErrors {}

impl StateMachine {
    /// Checks every rule and returns all problems found, or `Ok` when the machine can be deployed.
    pub fn validate(&self) -> Result<(), ValidationErrors> {
        self.check(Validator::default())
    }

    /// [`StateMachine::validate`], and also what Step Functions accepts but is surely a mistake:
    /// a loop that nothing leads out of. What the provisioner checks before deploying; an emulator
    /// must use `validate`, never stricter than AWS.
    pub fn lint(&self) -> Result<(), ValidationErrors> {
        self.check(Validator { strict: true, ..Validator::default() })
    }

    fn check(&self, mut validator: Validator) -> Result<(), ValidationErrors> {
        if self.timeout_seconds == Some(0) {
            validator.errors.push(ValidationError::ZeroSeconds { at: Location::default(), field: "TimeoutSeconds" });
        }
        if self.query_language == Some(QueryLanguage::JSONata) {
            validator.errors.push(ValidationError::JsonataNotSupported { at: Location::default() });
        }
        validator.machine(&[], &self.start_at, &self.states);
        if validator.errors.is_empty() { Ok(()) } else { Err(ValidationErrors(validator.errors)) }
    }
}

#[derive(Default)]
struct Validator {
    errors: Vec<ValidationError>,
    /// Every state name seen so far, anywhere in the machine, with where it was first seen.
    names: HashMap<String, Location>,
    /// Also refuse loops with no way out (see [`StateMachine::lint`]).
    strict: bool,
}

impl Validator {
    fn machine(&mut self, scope: &[String], start_at: &str, states: &States) {
        let before = self.errors.len();
        let known = known_names(states);
        if states.is_empty() {
            self.errors.push(ValidationError::NoStates { at: Location::machine(scope) });
        }
        let start_ok = states.contains_key(start_at);
        if start_at.is_empty() {
            self.errors.push(ValidationError::MissingStartAt { at: Location::machine(scope), known: known.clone() });
        } else if !start_ok && !states.is_empty() {
            self.errors.push(ValidationError::UnknownStartAt {
                at: Location::machine(scope),
                start_at: start_at.to_owned(),
                known: known.clone(),
            });
        }
        for (name, state) in states {
            let at = Location::state(scope, name);
            self.name(&at, name);
            for (field, target) in transitions(state) {
                if !states.contains_key(target) {
                    self.errors.push(ValidationError::UnknownTarget {
                        at: at.clone(),
                        field,
                        target: target.to_owned(),
                        known: known.clone(),
                    });
                }
            }
            self.state(scope, &at, name, state);
        }
        let terminal: Vec<&str> = states.iter().filter(|(_, s)| is_terminal(s)).map(|(n, _)| n.as_str()).collect();
        // A missing Next or End, or a Next to nowhere, is the likelier cause and has its own fix.
        let graph_errors = self.errors[before..]
            .iter()
            .any(|e| matches!(e, ValidationError::UnknownTarget { .. } | ValidationError::NoTransition { .. }));
        if !states.is_empty() && terminal.is_empty() && !graph_errors {
            // As Step Functions does, this one error stands for the rest of the graph's problems.
            self.errors.push(ValidationError::NoTerminalState { at: Location::machine(scope) });
            return;
        }
        // Without a valid StartAt every state would be "unreachable"; that error alone is the useful one.
        if start_ok {
            let reached = reachable(start_at, states);
            for name in states.keys().filter(|name| !reached.contains(name.as_str())) {
                self.errors.push(ValidationError::Unreachable { at: Location::state(scope, name) });
            }
            if self.strict && !terminal.is_empty() {
                let ending = reaching(&terminal, states);
                for name in states.keys().filter(|n| reached.contains(n.as_str()) && !ending.contains(n.as_str())) {
                    self.errors.push(ValidationError::NoWayOut { at: Location::state(scope, name) });
                }
            }
        }
    }

    /// The paths and the `.$` payload fields of one state, checked for syntax.
    fn paths(&mut self, at: &Location, state: &State) {
        let Ok(Value::Object(fields)) = serde_json::to_value(state) else { return };
        let mut bad_path = |field: &str, value: &str, reason: String| {
            self.errors.push(ValidationError::InvalidPath {
                at: at.clone(),
                field: field.to_owned(),
                value: value.to_owned(),
                reason,
            })
        };
        for field in paths::PATH_FIELDS {
            if let Some(Value::String(path)) = fields.get(*field)
                && let Err(reason) = paths::check_path(path, false)
            {
                bad_path(field, path, reason);
            }
        }
        if let Some(Value::String(path)) = fields.get("ResultPath")
            && let Err(reason) = paths::check_path(path, true)
        {
            bad_path("ResultPath", path, reason);
        }
        for (index, catcher) in state.catch().iter().enumerate() {
            if let Some(NullablePath::Path(path)) = &catcher.result_path
                && let Err(reason) = paths::check_path(path, true)
            {
                bad_path(&format!("Catch {} ResultPath", index + 1), path, reason);
            }
        }
        if let Some(Value::Array(rules)) = fields.get("Choices") {
            for (index, rule) in rules.iter().enumerate() {
                choice_paths(rule, &mut |key, path, reason| {
                    bad_path(&format!("Choices rule {} {key}", index + 1), path, reason)
                });
            }
        }
        let mut problems = Vec::new();
        for field in ["ErrorPath", "CausePath"] {
            if let Some(Value::String(text)) = fields.get(field) {
                let checked =
                    if paths::is_call(text) { paths::check_call(text) } else { paths::check_path(text, false) };
                if let Err(reason) = checked {
                    problems.push((field.to_owned(), text.clone(), reason));
                }
            }
        }
        for field in paths::TEMPLATE_FIELDS {
            if let Some(template) = fields.get(*field) {
                paths::check_template(template, &mut |key, value, reason| {
                    problems.push((format!("{field} {key:?}"), value.to_owned(), reason))
                });
            }
        }
        for (field, value, reason) in problems {
            let at = at.clone();
            self.errors.push(if paths::is_call(&value) {
                ValidationError::InvalidIntrinsic { at, field, value, reason }
            } else {
                ValidationError::InvalidPath { at, field, value, reason }
            });
        }
    }

    fn name(&mut self, at: &Location, name: &str) {
        let length = name.chars().count();
        if length > MAX_STATE_NAME_LEN {
            self.errors.push(ValidationError::NameTooLong { at: at.clone(), length });
        }
        if let Some(first) = self.names.get(name) {
            self.errors.push(ValidationError::DuplicateName { at: at.clone(), first: first.clone() });
        } else {
            self.names.insert(name.to_owned(), at.clone());
        }
    }

    fn state(&mut self, scope: &[String], at: &Location, name: &str, state: &State) {
        let kind = state.type_name();
        if state.query_language() == Some(QueryLanguage::JSONata) {
            self.errors.push(ValidationError::JsonataNotSupported { at: at.clone() });
        }
        match state {
            State::Succeed(_) | State::Fail(_) => {
                let stray = match state {
                    State::Succeed(succeed) => succeed.next.as_ref(),
                    State::Fail(fail) => fail.next.as_ref(),
                    _ => None,
                };
                if let Some(next) = stray {
                    self.errors.push(ValidationError::TerminalWithNext { at: at.clone(), kind, next: next.clone() });
                }
            }
            State::Choice(choice) => {
                if choice.choices.is_empty() {
                    self.errors.push(ValidationError::NoChoices { at: at.clone() });
                }
                for (index, rule) in choice.choices.iter().enumerate() {
                    if rule.next.is_none() {
                        self.errors.push(ValidationError::RuleWithoutNext { at: at.clone(), rule: index + 1 });
                    }
                }
            }
            _ => match (state.next(), state.end()) {
                (None, false) => self.errors.push(ValidationError::NoTransition { at: at.clone(), kind }),
                (Some(next), true) => {
                    self.errors.push(ValidationError::NextAndEnd { at: at.clone(), next: next.to_owned() })
                }
                _ => {}
            },
        }
        match state {
            State::Task(task) => {
                for (field, value) in
                    [("TimeoutSeconds", task.timeout_seconds), ("HeartbeatSeconds", task.heartbeat_seconds)]
                {
                    if value == Some(0) {
                        self.errors.push(ValidationError::ZeroSeconds { at: at.clone(), field });
                    }
                }
                if let (Some(heartbeat @ 1..), Some(timeout @ 1..)) = (task.heartbeat_seconds, task.timeout_seconds)
                    && heartbeat >= timeout
                {
                    self.errors.push(ValidationError::HeartbeatNotBelowTimeout { at: at.clone(), heartbeat, timeout });
                }
            }
            State::Wait(wait) => {
                let forms = [
                    ("Seconds", wait.seconds.is_some()),
                    ("Timestamp", wait.timestamp.is_some()),
                    ("SecondsPath", wait.seconds_path.is_some()),
                    ("TimestampPath", wait.timestamp_path.is_some()),
                ];
                let found: Vec<&str> = forms.iter().filter(|(_, set)| *set).map(|(form, _)| *form).collect();
                if let Some(value) = &wait.timestamp
                    && let Err(reason) = check_timestamp(value)
                {
                    self.errors.push(ValidationError::InvalidTimestamp {
                        at: at.clone(),
                        value: value.clone(),
                        reason,
                    });
                }
                if found.len() != 1 {
                    let found_text = if found.is_empty() { "none given".to_owned() } else { found.join(", ") };
                    self.errors.push(ValidationError::WaitForms {
                        at: at.clone(),
                        count: found.len(),
                        found: found_text,
                    });
                }
            }
            State::Parallel(parallel) => {
                if parallel.branches.is_empty() {
                    self.errors.push(ValidationError::NoBranches { at: at.clone() });
                }
                for (index, branch) in parallel.branches.iter().enumerate() {
                    let inner = nested(scope, format!("Parallel {name:?} branch {}", index + 1));
                    self.machine(&inner, &branch.start_at, &branch.states);
                }
            }
            State::Map(map) => match (&map.item_processor, &map.iterator) {
                (None, None) => self.errors.push(ValidationError::MapWithoutProcessor { at: at.clone() }),
                (Some(_), Some(_)) => self.errors.push(ValidationError::MapWithTwoProcessors { at: at.clone() }),
                (Some(processor), None) => {
                    let inner = nested(scope, format!("Map {name:?} ItemProcessor"));
                    self.machine(&inner, &processor.start_at, &processor.states);
                }
                (None, Some(processor)) => {
                    let inner = nested(scope, format!("Map {name:?} Iterator"));
                    self.machine(&inner, &processor.start_at, &processor.states);
                }
            },
            State::Pass(_) | State::Choice(_) | State::Succeed(_) | State::Fail(_) => {}
        }
        self.retriers(at, state.retry());
        self.catchers(at, state.catch());
        self.paths(at, state);
    }

    fn retriers(&mut self, at: &Location, retry: &[Retrier]) {
        for (index, retrier) in retry.iter().enumerate() {
            let retrier_no = index + 1;
            if let Some(value) = retrier.interval_seconds
                && !(1..=u64::from(MAX_RETRY_VALUE)).contains(&value)
            {
                self.errors.push(ValidationError::RetryInterval { at: at.clone(), retrier: retrier_no, value });
            }
            if let Some(value) = retrier.max_attempts
                && !(0..=i64::from(MAX_RETRY_VALUE)).contains(&value)
            {
                self.errors.push(ValidationError::RetryMaxAttempts { at: at.clone(), retrier: retrier_no, value });
            }
            if let Some(value) = retrier.backoff_rate
                && (value.is_nan() || value < 1.0)
            {
                self.errors.push(ValidationError::RetryBackoffRate { at: at.clone(), retrier: retrier_no, value });
            }
        }
        let lists: Vec<&[String]> = retry.iter().map(|r| r.error_equals.as_slice()).collect();
        self.error_equals(at, "Retry", &lists);
    }

    fn catchers(&mut self, at: &Location, catch: &[Catcher]) {
        let lists: Vec<&[String]> = catch.iter().map(|c| c.error_equals.as_slice()).collect();
        self.error_equals(at, "Catch", &lists);
    }

    fn error_equals(&mut self, at: &Location, field: &'static str, lists: &[&[String]]) {
        for (index, errors) in lists.iter().enumerate() {
            let entry = index + 1;
            if errors.is_empty() {
                self.errors.push(ValidationError::EmptyErrorEquals { at: at.clone(), field, index: entry });
            }
            if errors.iter().any(|e| e == STATES_ALL) {
                if errors.len() > 1 {
                    self.errors.push(ValidationError::StatesAllNotAlone { at: at.clone(), field, index: entry });
                }
                if entry != lists.len() {
                    self.errors.push(ValidationError::StatesAllNotLast { at: at.clone(), field, index: entry });
                }
            }
        }
    }
}

/// Checks a literal Wait `Timestamp` as the States Language defines timestamps: RFC 3339
/// (`2016-03-14T01:59:00Z`, fractional seconds allowed), an uppercase `T` between date and time, and
/// an uppercase `Z` or a numeric offset (`+02:00`); the date and time must exist (no February 30th,
/// no hour 25; no leap second, which Step Functions' Java time does not take either).
fn check_timestamp(text: &str) -> Result<(), String> {
    let b = text.as_bytes();
    let digits = |range: std::ops::Range<usize>| -> Option<u32> {
        let part = b.get(range)?;
        if part.iter().all(u8::is_ascii_digit) { std::str::from_utf8(part).ok()?.parse().ok() } else { None }
    };
    let shape = "it is not of the form YYYY-MM-DDThh:mm:ss followed by Z or an offset";
    let (Some(year), Some(month), Some(day)) = (digits(0..4), digits(5..7), digits(8..10)) else {
        return Err(shape.to_owned());
    };
    if b.get(4) != Some(&b'-') || b.get(7) != Some(&b'-') {
        return Err(shape.to_owned());
    }
    match b.get(10) {
        Some(b'T') => {}
        Some(b't') => return Err("the T between date and time must be uppercase".to_owned()),
        Some(b' ') | None => return Err("it has no time: a T and the time of day must follow the date".to_owned()),
        Some(_) => return Err(shape.to_owned()),
    }
    let (Some(hour), Some(minute), Some(second)) = (digits(11..13), digits(14..16), digits(17..19)) else {
        return Err(shape.to_owned());
    };
    if b.get(13) != Some(&b':') || b.get(16) != Some(&b':') {
        return Err(shape.to_owned());
    }
    let mut i = 19;
    if b.get(i) == Some(&b'.') {
        i += 1;
        let start = i;
        while b.get(i).is_some_and(u8::is_ascii_digit) {
            i += 1;
        }
        if i == start {
            return Err("a dot after the seconds must be followed by digits".to_owned());
        }
    }
    match &b[i..] {
        b"Z" => {}
        b"z" => return Err("the Z (UTC) must be uppercase".to_owned()),
        [] => return Err("it has no time zone: end it with Z (UTC) or an offset such as +02:00".to_owned()),
        [b'+' | b'-', rest @ ..] if rest.len() == 5 => {
            let (Some(hours), Some(minutes)) = (digits(i + 1..i + 3), digits(i + 4..i + 6)) else {
                return Err(shape.to_owned());
            };
            if rest[2] != b':' || hours > 23 || minutes > 59 {
                return Err(format!("the offset {:?} is not a valid offset", &text[i..]));
            }
        }
        _ => return Err(shape.to_owned()),
    }
    let leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
    let days = match month {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if leap => 29,
        2 => 28,
        _ => return Err(format!("there is no month {month}")),
    };
    if day == 0 || day > days {
        return Err(format!("{year:04}-{month:02} has no day {day}"));
    }
    if hour > 23 || minute > 59 || second > 59 {
        return Err(format!("{hour:02}:{minute:02}:{second:02} is not a time of day"));
    }
    Ok(())
}

fn nested(scope: &[String], segment: String) -> Vec<String> {
    let mut inner = scope.to_vec();
    inner.push(segment);
    inner
}

fn known_names(states: &States) -> String {
    if states.is_empty() {
        return "(none: the States object is empty)".to_owned();
    }
    states.keys().map(|name| format!("{name:?}")).collect::<Vec<_>>().join(", ")
}

/// Every state name `state` can go to, with the field that names it (for the error message).
fn transitions(state: &State) -> Vec<(String, &str)> {
    let mut out = Vec::new();
    if let Some(next) = state.next() {
        out.push(("Next".to_owned(), next));
    }
    if let State::Choice(choice) = state {
        for (index, rule) in choice.choices.iter().enumerate() {
            if let Some(next) = &rule.next {
                out.push((format!("Choices rule {} Next", index + 1), next.as_str()));
            }
        }
        if let Some(default) = &choice.default {
            out.push(("Default".to_owned(), default.as_str()));
        }
    }
    for (index, catcher) in state.catch().iter().enumerate() {
        out.push((format!("Catch {} Next", index + 1), catcher.next.as_str()));
    }
    out
}

/// A state that ends the execution (or its branch).
fn is_terminal(state: &State) -> bool {
    matches!(state, State::Succeed(_) | State::Fail(_)) || state.end()
}

/// The states from which one of `terminal` can be reached (the terminal states included).
fn reaching<'a>(terminal: &[&'a str], states: &'a States) -> HashSet<&'a str> {
    let mut seen: HashSet<&str> = terminal.iter().copied().collect();
    loop {
        let before = seen.len();
        for (name, state) in states {
            if !seen.contains(name.as_str()) && transitions(state).iter().any(|(_, t)| seen.contains(t)) {
                seen.insert(name.as_str());
            }
        }
        if seen.len() == before {
            return seen;
        }
    }
}

/// The paths of one Choice rule (`Variable`, `...Path` comparisons), nested rules included.
fn choice_paths(rule: &Value, report: &mut dyn FnMut(&str, &str, String)) {
    let Value::Object(fields) = rule else { return };
    for (key, value) in fields {
        match value {
            Value::String(path) if key == "Variable" || (key.ends_with("Path") && key != "Next") => {
                if let Err(reason) = paths::check_path(path, false) {
                    report(key, path, reason);
                }
            }
            Value::Array(nested) if key == "And" || key == "Or" => {
                nested.iter().for_each(|rule| choice_paths(rule, report));
            }
            Value::Object(_) if key == "Not" => choice_paths(value, report),
            _ => {}
        }
    }
}

fn reachable<'a>(start_at: &'a str, states: &'a States) -> HashSet<&'a str> {
    let mut seen = HashSet::from([start_at]);
    let mut queue = VecDeque::from([start_at]);
    while let Some(name) = queue.pop_front() {
        let Some(state) = states.get(name) else { continue };
        for (_, target) in transitions(state) {
            if seen.insert(target) {
                queue.push_back(target);
            }
        }
    }
    seen
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::{Value, json};

    fn machine(document: Value) -> StateMachine {
        serde_json::from_value(document).unwrap()
    }

    /// A one-state machine around `state`, named "S", plus a terminal "End" for it to go to.
    fn around(state: Value) -> StateMachine {
        machine(json!({"StartAt": "S", "States": {"S": state, "End": {"Type": "Succeed"}}}))
    }

    /// A machine of the single state "S".
    fn alone(state: Value) -> StateMachine {
        machine(json!({"StartAt": "S", "States": {"S": state}}))
    }

    fn task(extra: Value) -> Value {
        let mut task = json!({"Type": "Task", "Resource": "arn:aws:states:::sns:publish", "Next": "End"});
        task.as_object_mut().unwrap().extend(extra.as_object().unwrap().clone());
        task
    }

    fn retry(retrier: Value) -> StateMachine {
        around(task(json!({"Retry": [retrier]})))
    }

    #[test]
    fn each_rule_is_reported_naming_its_state_and_the_fix() {
        let long = "N".repeat(81);
        // (rule, machine, where the message must point, a fragment of the fix)
        let rows: Vec<(&str, StateMachine, String, &str)> = vec![
            ("empty machine", machine(json!({"StartAt": "A", "States": {}})), "the state machine has no states".into(), "add at least one state"),
            ("StartAt missing", machine(json!({"States": {"A": {"Type": "Succeed"}}})), "the state machine has no StartAt".into(), "one of \"A\""),
            ("StartAt to no state", machine(json!({"StartAt": "B", "States": {"A": {"Type": "Succeed"}}})), "StartAt \"B\"".into(), "use one of \"A\""),
            ("Next to no state", around(task(json!({"Next": "Nowhere", "Catch": [{"ErrorEquals": ["States.ALL"], "Next": "End"}]}))), "state \"S\": Next names \"Nowhere\"".into(), "use one of \"End\", \"S\""),
            ("Default to no state", around(json!({"Type": "Choice", "Choices": [{"Variable": "$.a", "IsNull": true, "Next": "End"}], "Default": "Nowhere"})), "state \"S\": Default names \"Nowhere\"".into(), "use one of"),
            ("Catch Next to no state", around(task(json!({"Catch": [{"ErrorEquals": ["States.ALL"], "Next": "Nowhere"}]}))), "state \"S\": Catch 1 Next names \"Nowhere\"".into(), "use one of"),
            ("Choice rule Next to no state", around(json!({"Type": "Choice", "Choices": [{"Variable": "$.a", "IsNull": true, "Next": "Nowhere"}], "Default": "End"})), "state \"S\": Choices rule 1 Next names \"Nowhere\"".into(), "use one of"),
            ("unreachable state", machine(json!({"StartAt": "A", "States": {"A": {"Type": "Succeed"}, "B": {"Type": "Succeed"}}})), "state \"B\" can never run".into(), "link it from another state or remove it"),
            ("neither Next nor End", alone(json!({"Type": "Pass"})), "state \"S\" (Pass) has neither Next nor End".into(), "\"End\": true"),
            ("both Next and End", around(json!({"Type": "Pass", "Next": "End", "End": true})), "state \"S\" has both Next".into(), "keep one"),
            ("Choice without Choices", around(json!({"Type": "Choice", "Choices": [], "Default": "End"})), "state \"S\" is a Choice with no rules".into(), "add at least one rule"),
            ("top-level rule without Next", around(json!({"Type": "Choice", "Choices": [{"Variable": "$.a", "IsNull": true}], "Default": "End"})), "state \"S\": Choices rule 1 has no Next".into(), "must name the state"),
            ("Retry IntervalSeconds < 1", retry(json!({"ErrorEquals": ["States.ALL"], "IntervalSeconds": 0})), "state \"S\": Retry 1 has IntervalSeconds 0".into(), "from 1 to 99999999"),
            ("Retry IntervalSeconds in nanoseconds", retry(json!({"ErrorEquals": ["States.ALL"], "IntervalSeconds": 2_000_000_000u64})), "state \"S\": Retry 1 has IntervalSeconds 2000000000".into(), "whole seconds"),
            ("Retry MaxAttempts < 0", retry(json!({"ErrorEquals": ["States.ALL"], "MaxAttempts": -1})), "state \"S\": Retry 1 has MaxAttempts -1".into(), "use 0 (no retries) to 99999999"),
            ("Retry MaxAttempts > 99999999", retry(json!({"ErrorEquals": ["States.ALL"], "MaxAttempts": 100_000_000})), "state \"S\": Retry 1 has MaxAttempts 100000000".into(), "to 99999999"),
            ("Retry BackoffRate < 1.0", retry(json!({"ErrorEquals": ["States.ALL"], "BackoffRate": 0.5})), "state \"S\": Retry 1 has BackoffRate 0.5".into(), "1.0 (constant interval) or more"),
            ("TimeoutSeconds zero", around(task(json!({"TimeoutSeconds": 0}))), "state \"S\": TimeoutSeconds is 0".into(), "at least 1 second"),
            ("HeartbeatSeconds zero", around(task(json!({"HeartbeatSeconds": 0}))), "state \"S\": HeartbeatSeconds is 0".into(), "at least 1 second"),
            ("heartbeat not below timeout", around(task(json!({"TimeoutSeconds": 60, "HeartbeatSeconds": 60}))), "state \"S\": HeartbeatSeconds (60) is not less than TimeoutSeconds (60)".into(), "lower HeartbeatSeconds"),
            ("machine TimeoutSeconds zero", machine(json!({"StartAt": "A", "TimeoutSeconds": 0, "States": {"A": {"Type": "Succeed"}}})), "the state machine: TimeoutSeconds is 0".into(), "at least 1 second"),
            ("name over 80 characters", machine(json!({"StartAt": long, "States": {long.clone(): {"Type": "Succeed"}}})), format!("state \"{long}\": the name is 81 characters long"), "at most 80"),
            ("Fail with Next", alone(json!({"Type": "Fail", "Error": "E", "Next": "End"})), "state \"S\" is a Fail state".into(), "remove Next"),
            ("Succeed with Next", alone(json!({"Type": "Succeed", "Next": "End"})), "state \"S\" is a Succeed state".into(), "remove Next"),
            ("Wait with no form", around(json!({"Type": "Wait", "Next": "End"})), "state \"S\" is a Wait with 0 of".into(), "give exactly one"),
            ("Wait with two forms", around(json!({"Type": "Wait", "Seconds": 1, "TimestampPath": "$.t", "Next": "End"})), "state \"S\" is a Wait with 2 of Seconds, Timestamp, SecondsPath and TimestampPath (Seconds, TimestampPath)".into(), "give exactly one"),
            ("States.ALL not last", around(task(json!({"Retry": [{"ErrorEquals": ["States.ALL"]}, {"ErrorEquals": ["States.Timeout"]}]}))), "state \"S\": Retry 1 matches States.ALL but is not the last".into(), "move it to the end"),
            ("States.ALL not alone", around(task(json!({"Catch": [{"ErrorEquals": ["States.Timeout", "States.ALL"], "Next": "End"}]}))), "state \"S\": Catch 1 lists States.ALL with other errors".into(), "must stand alone"),
            ("empty ErrorEquals", retry(json!({"ErrorEquals": []})), "state \"S\": Retry 1 has an empty ErrorEquals".into(), "name at least one error"),
            ("Parallel without Branches", around(json!({"Type": "Parallel", "Branches": [], "Next": "End"})), "state \"S\" is a Parallel with no Branches".into(), "add at least one branch"),
            ("Map without processor", around(json!({"Type": "Map", "Next": "End"})), "state \"S\" is a Map with no ItemProcessor".into(), "add an ItemProcessor"),
            ("Map with both processors", around(json!({"Type": "Map", "Next": "End",
                "ItemProcessor": {"StartAt": "P", "States": {"P": {"Type": "Succeed"}}},
                "Iterator": {"StartAt": "I", "States": {"I": {"Type": "Succeed"}}}})), "state \"S\" is a Map with both ItemProcessor and Iterator".into(), "keep ItemProcessor"),
            ("nested in a Parallel branch", machine(json!({"StartAt": "Fanout", "States": {"Fanout": {"Type": "Parallel", "End": true, "Branches": [
                {"StartAt": "X", "States": {"X": {"Type": "Pass"}}}]}}})), "Parallel \"Fanout\" branch 1 state \"X\" (Pass) has neither Next nor End".into(), "\"End\": true"),
            ("nested in a Map processor", machine(json!({"StartAt": "Each", "States": {"Each": {"Type": "Map", "End": true, "ItemProcessor":
                {"StartAt": "Work", "States": {"Work": {"Type": "Succeed"}, "Stray": {"Type": "Succeed"}}}}}})), "Map \"Each\" ItemProcessor state \"Stray\" can never run".into(), "remove it"),
            ("a branch may not leave its branch", machine(json!({"StartAt": "Fanout", "States": {"Fanout": {"Type": "Parallel", "Next": "After", "Branches": [
                {"StartAt": "X", "States": {"X": {"Type": "Pass", "Next": "After"}}}]}, "After": {"Type": "Succeed"}}})), "Parallel \"Fanout\" branch 1 state \"X\": Next names \"After\"".into(), "its own machine or branch"),
            ("name used twice across branches", machine(json!({"StartAt": "Fanout", "States": {"Fanout": {"Type": "Parallel", "End": true, "Branches": [
                {"StartAt": "Same", "States": {"Same": {"Type": "Succeed"}}},
                {"StartAt": "Same", "States": {"Same": {"Type": "Succeed"}}}]}}})), "Parallel \"Fanout\" branch 2 state \"Same\": the name is already used by Parallel \"Fanout\" branch 1 state \"Same\"".into(), "rename one"),
            ("no terminal state (MISSING_END_STATE)", machine(json!({"StartAt": "A", "States": {"A": {"Type": "Pass", "Next": "B"}, "B": {"Type": "Pass", "Next": "A"}}})), "the state machine has no terminal state".into(), "\"End\": true"),
            ("InputPath not a path", around(json!({"Type": "Pass", "InputPath": "a.b", "Next": "End"})), "state \"S\": InputPath \"a.b\" is not a valid JSONPath: a path starts with $".into(), "write e.g. \"$.result\""),
            ("OutputPath ending in a dot", around(json!({"Type": "Pass", "OutputPath": "$.a.", "Next": "End"})), "state \"S\": OutputPath \"$.a.\" is not a valid JSONPath: it ends with a dot".into(), "write e.g."),
            ("ResultPath with a wildcard", around(task(json!({"ResultPath": "$.a[*]"}))), "state \"S\": ResultPath \"$.a[*]\" is not a valid JSONPath: a reference path".into(), "write e.g."),
            ("Catch ResultPath unclosed", around(task(json!({"Catch": [{"ErrorEquals": ["States.ALL"], "ResultPath": "$.e[0", "Next": "End"}]}))), "state \"S\": Catch 1 ResultPath \"$.e[0\" is not a valid JSONPath".into(), "write e.g."),
            ("Parameters .$ not a path", around(task(json!({"Parameters": {"Message": {"text.$": "name"}}}))), "state \"S\": Parameters \"text.$\" \"name\" is not a valid JSONPath".into(), "write e.g."),
            ("unknown intrinsic function", around(task(json!({"Parameters": {"Message.$": "States.Frobnicate($.a)"}}))), "state \"S\": Parameters \"Message.$\" \"States.Frobnicate($.a)\" is not a valid intrinsic function call: States.Frobnicate is not an intrinsic function".into(), "States.Format"),
            ("ItemsPath not a path", machine(json!({"StartAt": "S", "States": {"S": {"Type": "Map", "ItemsPath": "items", "End": true, "ItemProcessor": {"StartAt": "P", "States": {"P": {"Type": "Succeed"}}}}}})), "state \"S\": ItemsPath \"items\" is not a valid JSONPath".into(), "write e.g."),
            ("JSONata on a state", around(json!({"Type": "Pass", "QueryLanguage": "JSONata", "Next": "End"})), "state \"S\" sets \"QueryLanguage\": \"JSONata\"".into(), "JSONata is not supported yet"),
            ("JSONata at the top level", machine(json!({"QueryLanguage": "JSONata", "StartAt": "A", "States": {"A": {"Type": "Succeed"}}})), "the state machine sets \"QueryLanguage\": \"JSONata\"".into(), "write it with JSONPath"),
            ("JSONata in a Map processor", machine(json!({"StartAt": "Each", "States": {"Each": {"Type": "Map", "End": true, "ItemProcessor":
                {"StartAt": "Work", "States": {"Work": {"Type": "Succeed", "QueryLanguage": "JSONata"}}}}}})), "Map \"Each\" ItemProcessor state \"Work\" sets \"QueryLanguage\": \"JSONata\"".into(), "not supported yet"),
            ("Timestamp on a day that does not exist", around(json!({"Type": "Wait", "Timestamp": "2024-02-30T00:00:00Z", "Next": "End"})), "state \"S\": Timestamp \"2024-02-30T00:00:00Z\" is not a timestamp Step Functions accepts: 2024-02 has no day 30".into(), "e.g. \"2026-11-01T00:00:00Z\""),
            ("Timestamp at hour 25", around(json!({"Type": "Wait", "Timestamp": "2024-01-01T25:00:00Z", "Next": "End"})), "state \"S\": Timestamp \"2024-01-01T25:00:00Z\"".into(), "25:00:00 is not a time of day"),
            ("Timestamp without T", around(json!({"Type": "Wait", "Timestamp": "2024-01-01 10:00:00Z", "Next": "End"})), "state \"S\": Timestamp \"2024-01-01 10:00:00Z\"".into(), "a T and the time of day must follow"),
            ("Timestamp without a zone", around(json!({"Type": "Wait", "Timestamp": "2024-01-01T10:00:00", "Next": "End"})), "state \"S\": Timestamp \"2024-01-01T10:00:00\"".into(), "end it with Z (UTC) or an offset"),
            ("Timestamp date only", around(json!({"Type": "Wait", "Timestamp": "2024-01-01", "Next": "End"})), "state \"S\": Timestamp \"2024-01-01\"".into(), "has no time"),
            ("Timestamp lowercase z", around(json!({"Type": "Wait", "Timestamp": "2024-01-01T10:00:00z", "Next": "End"})), "state \"S\": Timestamp".into(), "must be uppercase"),
            ("Fail CausePath call unclosed", alone(json!({"Type": "Fail", "CausePath": "States.Format('{}', $.a"})), "state \"S\": CausePath".into(), "write e.g."),
        ];
        let mut failures = Vec::new();
        for (rule, machine, location, fix) in rows {
            let errors = match machine.validate() {
                Ok(()) => Vec::new(),
                Err(ValidationErrors(errors)) => errors,
            };
            let [error] = errors.as_slice() else {
                failures.push(format!("{rule}: expected exactly one error, got {errors:#?}"));
                continue;
            };
            let message = error.to_string();
            if !message.contains(&location) {
                failures.push(format!("{rule}: {message:?} does not say {location:?}"));
            }
            if !message.contains(fix) {
                failures.push(format!("{rule}: {message:?} does not say how to fix it ({fix:?})"));
            }
        }
        assert!(failures.is_empty(), "{}", failures.join("\n"));
    }

    #[test]
    fn all_errors_are_reported_at_once_in_document_order() {
        let machine = machine(json!({
            "StartAt": "A",
            "States": {
                "A": {"Type": "Pass", "Next": "Gone"},
                "B": {"Type": "Wait", "End": true},
                "C": {"Type": "Fail", "Next": "A"}
            }
        }));
        let errors = machine.validate().unwrap_err();
        let locations: Vec<String> = errors.0.iter().map(|e| e.location().to_string()).collect();
        assert_eq!(locations, ["state \"A\"", "state \"B\"", "state \"C\"", "state \"B\"", "state \"C\""], "{errors}");
        let text = errors.to_string();
        assert!(
            text.starts_with("the state machine definition has 5 problems:\n  - state \"A\": Next names \"Gone\""),
            "{text}"
        );
    }

    #[test]
    fn a_loop_with_no_way_out_passes_validate_as_on_aws_but_not_lint() {
        let spinning = machine(json!({"StartAt": "Start", "States": {
            "Start": {"Type": "Choice", "Choices": [{"Variable": "$.spin", "IsPresent": true, "Next": "Spin"}], "Default": "Done"},
            "Spin": {"Type": "Wait", "Seconds": 1, "Next": "Again"},
            "Again": {"Type": "Pass", "Next": "Spin"},
            "Done": {"Type": "Succeed"}
        }}));
        assert_eq!(spinning.validate(), Ok(()));
        let errors = spinning.lint().unwrap_err();
        let locations: Vec<String> = errors.0.iter().map(|e| e.location().to_string()).collect();
        assert_eq!(locations, ["state \"Again\"", "state \"Spin\""], "{errors}");
        assert!(
            errors.0[0].to_string().contains("loop with no way out") && errors.0[0].to_string().contains("a Catch")
        );
        // A loop left through a Choice, or through a Catch, has a way out.
        let polling = machine(json!({"StartAt": "Wait", "States": {
            "Wait": {"Type": "Wait", "Seconds": 5, "Next": "Poll"},
            "Poll": {"Type": "Task", "Resource": "arn:aws:states:::sns:publish", "Next": "Wait",
                "Catch": [{"ErrorEquals": ["States.ALL"], "Next": "Failed"}]},
            "Failed": {"Type": "Fail"}
        }}));
        assert_eq!(polling.lint(), Ok(()));
    }

    #[test]
    fn rfc_3339_timestamps_and_jsonpath_pass() {
        for timestamp in [
            "2016-03-14T01:59:00Z",
            "2024-02-29T23:59:59.123456Z",
            "2016-03-14T01:59:00+05:30",
            "2016-03-14T01:59:00-02:00",
            "2000-02-29T00:00:00Z",
        ] {
            assert_eq!(check_timestamp(timestamp), Ok(()), "{timestamp}");
            assert_eq!(around(json!({"Type": "Wait", "Timestamp": timestamp, "Next": "End"})).validate(), Ok(()));
        }
        for bad in [
            "1900-02-29T00:00:00Z",
            "2024-13-01T00:00:00Z",
            "2024-01-01T00:60:00Z",
            "2024-01-01T00:00:60Z",
            "2024-01-01T00:00:00+24:00",
            "2024-01-01T00:00:00.Z",
            "2024-01-01T00:00Z",
            "next tuesday",
            "",
        ] {
            assert!(check_timestamp(bad).is_err(), "{bad}");
        }
        // QueryLanguage JSONPath, at the top level and on a state, is what the interpreter runs.
        let source = json!({"QueryLanguage": "JSONPath", "StartAt": "A", "States": {
            "A": {"Type": "Pass", "QueryLanguage": "JSONPath", "End": true}}});
        let jsonpath = machine(source.clone());
        assert_eq!(jsonpath.query_language, Some(QueryLanguage::JSONPath));
        assert_eq!(jsonpath.states["A"].query_language(), Some(QueryLanguage::JSONPath));
        assert_eq!(jsonpath.validate(), Ok(()));
        assert_eq!(serde_json::to_value(&jsonpath).unwrap(), source);
        assert!(
            serde_json::from_value::<StateMachine>(json!({"QueryLanguage": "jsonpath", "StartAt": "A",
            "States": {"A": {"Type": "Succeed"}}}))
            .is_err(),
            "AWS spells it JSONPath"
        );
    }

    #[test]
    fn a_valid_machine_passes() {
        let machine = machine(json!({
            "StartAt": "Run",
            "TimeoutSeconds": 600,
            "States": {
                "Run": {"Type": "Task", "Resource": "arn:aws:states:::ecs:runTask.sync", "TimeoutSeconds": 300, "HeartbeatSeconds": 60,
                    "Retry": [{"ErrorEquals": ["States.Timeout"], "MaxAttempts": 0}, {"ErrorEquals": ["States.ALL"], "IntervalSeconds": 1, "BackoffRate": 1.0}],
                    "Catch": [{"ErrorEquals": ["States.ALL"], "ResultPath": "$.error", "Next": "Failed"}],
                    "Next": "Done"},
                "Done": {"Type": "Succeed"},
                "Failed": {"Type": "Fail", "Error": "RunFailed"}
            }
        }));
        assert_eq!(machine.validate(), Ok(()));
    }
}
