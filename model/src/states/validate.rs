//! Validation of a state machine before it is deployed: the rules Step Functions would reject the
//! definition for (or, like an unreachable state, a mistake it would let through), checked in one
//! pass so that every problem is reported at once, each naming where it is and how to fix it.
//! Nested machines (Parallel branches, Map processors) are checked by the same rules.

use std::collections::{HashMap, HashSet, VecDeque};
use std::fmt;

use serde_json::Value;

use super::choice::Condition;
use super::jsonata::{self, NumberOrExpression};
use super::machine::{QueryLanguage, StateMachine, States};
use super::paths;
use super::state::{Catcher, NullablePath, Retrier, STATES_ALL, State, Variables};

/// Fields only a JSONPath state has, with what a JSONata state uses instead.
const JSONPATH_ONLY: &[(&str, &str)] = &[
    ("InputPath", "select from $states.input in Arguments (or Output) instead"),
    ("Parameters", "use Arguments (Map: ItemSelector), with no .$ on keys"),
    ("Result", "use Output"),
    ("ResultSelector", "use Output, reading $states.result"),
    ("ResultPath", "use Output (and Assign to keep values in variables)"),
    ("OutputPath", "use Output"),
    ("ItemsPath", "use Items, e.g. \"{% $states.input.items %}\""),
    ("SecondsPath", "use Seconds with an expression, e.g. \"{% $states.input.delay %}\""),
    ("TimestampPath", "use Timestamp with an expression, e.g. \"{% $states.input.at %}\""),
    ("TimeoutSecondsPath", "use TimeoutSeconds with an expression"),
    ("HeartbeatSecondsPath", "use HeartbeatSeconds with an expression"),
    ("ErrorPath", "use Error with an expression"),
    ("CausePath", "use Cause with an expression"),
    ("MaxConcurrencyPath", "use MaxConcurrency"),
    ("ToleratedFailureCountPath", "use ToleratedFailureCount"),
    ("ToleratedFailurePercentagePath", "use ToleratedFailurePercentage"),
];

/// Fields only a JSONata state has, with what a JSONPath state uses instead.
const JSONATA_ONLY: &[(&str, &str)] = &[
    ("Arguments", "use Parameters (and InputPath), or set \"QueryLanguage\": \"JSONata\" on the state"),
    ("Output", "use ResultSelector, ResultPath and OutputPath, or set \"QueryLanguage\": \"JSONata\" on the state"),
    ("Items", "use ItemsPath, or set \"QueryLanguage\": \"JSONata\" on the state"),
];

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
        "{at} sets \"QueryLanguage\": \"JSONPath\" in a machine whose QueryLanguage is JSONata: a JSONata \
         machine cannot have JSONPath states; write the state in JSONata, or make the machine JSONPath (the \
         default) and set \"QueryLanguage\": \"JSONata\" on its JSONata states"
    )]
    JsonPathStateInJsonataMachine { at: Location },
    #[error("{at} is a {language} state but has {field}, which {language} states do not take: {fix}")]
    FieldNotInLanguage { at: Location, language: &'static str, field: String, fix: String },
    #[error(
        "{at}: {field} {value:?} is not a JSONata expression: write it wrapped exactly as \"{{% ... %}}\", \
         nothing before {{% or after %}}"
    )]
    NotAnExpression { at: Location, field: String, value: String },
    #[error(
        "{at}: {field} {value:?} looks meant as a JSONata expression but is not wrapped exactly as \"{{% ... %}}\", \
         so Step Functions takes it as a literal string; remove what is before {{% or after %}}, or close it"
    )]
    HalfWrappedExpression { at: Location, field: String, value: String },
    #[error("{at}: Items is {found}: give a JSON array, or a JSONata expression \"{{% ... %}}\" giving one")]
    InvalidItems { at: Location, found: String },
    #[error(
        "{at}: {field} sets {name:?}, which is not a valid variable name: {reason}; a name is a letter or _ \
         followed by letters, digits and _, at most 80 characters{hint}"
    )]
    InvalidVariableName { at: Location, field: String, name: String, reason: String, hint: &'static str },
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
    #[error(
        "{at} waits for a task token ({resource}) but never passes $$.Task.Token to the task: it would wait \
         until its HeartbeatSeconds or TimeoutSeconds, as nothing can report back. {fix}; Step Functions would \
         accept it, the provisioner does not"
    )]
    CallbackWithoutToken { at: Location, resource: String, fix: &'static str },
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
            | Self::JsonPathStateInJsonataMachine { at }
            | Self::FieldNotInLanguage { at, .. }
            | Self::NotAnExpression { at, .. }
            | Self::HalfWrappedExpression { at, .. }
            | Self::InvalidItems { at, .. }
            | Self::InvalidVariableName { at, .. }
            | Self::InvalidTimestamp { at, .. }
            | Self::NoWayOut { at }
            | Self::CallbackWithoutToken { at, .. } => at,
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
        validator.top = self.query_language.unwrap_or_default();
        validator.machine(&[], &self.start_at, &self.states);
        if validator.errors.is_empty() { Ok(()) } else { Err(ValidationErrors(validator.errors)) }
    }
}

/// For a Task waiting for a task token whose request never hands the token on: how to fix it. An
/// `ecs:runTask.waitForTaskToken` must pass it in the container's environment as
/// [`TOKEN_ENV`](crate::task::TOKEN_ENV), the variable the task runtime reads; any other callback
/// integration anywhere in its request.
fn callback_without_token(
    resource: &str,
    parameters: Option<&Value>,
    arguments: Option<&Value>,
) -> Option<&'static str> {
    if !resource.ends_with(".waitForTaskToken") {
        return None;
    }
    let request = parameters.or(arguments);
    if resource.ends_with(":ecs:runTask.waitForTaskToken") {
        let overrides = request.and_then(|r| r.get("Overrides"));
        let passed = match overrides.and_then(|o| o.get("ContainerOverrides")) {
            // An expression computing the overrides: it has to name the token somewhere.
            Some(expression @ Value::String(_)) => names_token(expression),
            Some(Value::Array(containers)) => containers.iter().any(|container| match container.get("Environment") {
                Some(Value::Array(variables)) => variables.iter().any(|variable| {
                    variable.get("Name").and_then(Value::as_str) == Some(crate::task::TOKEN_ENV)
                        && (variable
                            .get("Value.$")
                            .and_then(Value::as_str)
                            .is_some_and(|v| v.contains(crate::task::TOKEN_PATH))
                            || variable.get("Value").is_some_and(names_token))
                }),
                Some(expression @ Value::String(_)) => names_token(expression),
                _ => false,
            }),
            _ => false,
        };
        return (!passed).then_some(
            "Pass it in the container's environment: {\"Name\": \"TASK_TOKEN\", \"Value.$\": \"$$.Task.Token\"} in \
             Overrides.ContainerOverrides[].Environment (in JSONata \"Value\": \"{% $states.context.Task.Token %}\"), \
             as EcsRunTask with RunPattern::Callback writes it",
        );
    }
    let passed = request.is_some_and(|request| names_token(request) || token_path_in(request));
    (!passed).then_some(
        "Pass it in the request, e.g. \"TaskToken.$\": \"$$.Task.Token\" (in JSONata \
         \"{% $states.context.Task.Token %}\"), where the worker reads it",
    )
}

/// Whether a JSONata expression anywhere in `value` reads the task token.
fn names_token(value: &Value) -> bool {
    match value {
        Value::String(text) => {
            jsonata::expression_body(text).is_some_and(|body| body.contains("$states.context.Task.Token"))
        }
        Value::Array(items) => items.iter().any(names_token),
        Value::Object(map) => map.values().any(names_token),
        _ => false,
    }
}

/// Whether a JSONPath template anywhere in `value` has a `.$` field reading the task token.
fn token_path_in(value: &Value) -> bool {
    match value {
        Value::Array(items) => items.iter().any(token_path_in),
        Value::Object(map) => map.iter().any(|(key, value)| {
            (key.ends_with(".$") && value.as_str().is_some_and(|v| v.contains(crate::task::TOKEN_PATH)))
                || token_path_in(value)
        }),
        _ => false,
    }
}

/// Every `Assign` of a state, with where it is: the state's own, each Choice rule's, each Catch's.
fn assigns(state: &State) -> Vec<(String, &Variables)> {
    let mut found = Vec::new();
    if let Some(assign) = state.assign() {
        found.push(("Assign".to_owned(), assign));
    }
    if let State::Choice(choice) = state {
        for (index, rule) in choice.choices.iter().enumerate() {
            if let Some(assign) = &rule.assign {
                found.push((format!("Choices rule {} Assign", index + 1), assign));
            }
        }
    }
    for (index, catcher) in state.catch().iter().enumerate() {
        if let Some(assign) = &catcher.assign {
            found.push((format!("Catch {} Assign", index + 1), assign));
        }
    }
    found
}

#[derive(Default)]
struct Validator {
    errors: Vec<ValidationError>,
    /// Every state name seen so far, anywhere in the machine, with where it was first seen.
    names: HashMap<String, Location>,
    /// Also refuse loops with no way out (see [`StateMachine::lint`]).
    strict: bool,
    /// The machine's query language, the default of every state in it.
    top: QueryLanguage,
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
        let language = state.query_language().unwrap_or(self.top);
        if self.top == QueryLanguage::JSONata && state.query_language() == Some(QueryLanguage::JSONPath) {
            self.errors.push(ValidationError::JsonPathStateInJsonataMachine { at: at.clone() });
        }
        self.language_fields(at, state, language);
        self.variables(at, state, language);
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
                let timeout_seconds = task.timeout_seconds.as_ref().and_then(NumberOrExpression::as_number);
                let heartbeat_seconds = task.heartbeat_seconds.as_ref().and_then(NumberOrExpression::as_number);
                for (field, value) in [("TimeoutSeconds", timeout_seconds), ("HeartbeatSeconds", heartbeat_seconds)] {
                    if value == Some(0) {
                        self.errors.push(ValidationError::ZeroSeconds { at: at.clone(), field });
                    }
                }
                if let (Some(heartbeat @ 1..), Some(timeout @ 1..)) = (heartbeat_seconds, timeout_seconds)
                    && heartbeat >= timeout
                {
                    self.errors.push(ValidationError::HeartbeatNotBelowTimeout { at: at.clone(), heartbeat, timeout });
                }
                if self.strict
                    && let Some(fix) =
                        callback_without_token(&task.resource, task.parameters.as_ref(), task.arguments.as_ref())
                {
                    self.errors.push(ValidationError::CallbackWithoutToken {
                        at: at.clone(),
                        resource: task.resource.clone(),
                        fix,
                    });
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
                let expression = language == QueryLanguage::JSONata
                    && wait.timestamp.as_deref().is_some_and(|t| jsonata::expression_body(t).is_some());
                if let Some(value) = &wait.timestamp
                    && !expression
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
        // A JSONata state's JSONPath fields are errors of their own (language_fields).
        if language == QueryLanguage::JSONPath {
            self.paths(at, state);
        }
    }

    /// Each field in the language it belongs to, and in a JSONata state the fields that must be
    /// expressions wrapped as `{% ... %}`.
    fn language_fields(&mut self, at: &Location, state: &State, language: QueryLanguage) {
        let Ok(Value::Object(fields)) = serde_json::to_value(state) else { return };
        let (name, other, table) = match language {
            QueryLanguage::JSONata => ("JSONata", "JSONPath", JSONPATH_ONLY),
            QueryLanguage::JSONPath => ("JSONPath", "JSONata", JSONATA_ONLY),
        };
        let mut wrong = |field: String, fix: &str| {
            self.errors.push(ValidationError::FieldNotInLanguage {
                at: at.clone(),
                language: name,
                field,
                fix: fix.to_owned(),
            })
        };
        for (field, fix) in table {
            if fields.contains_key(*field) {
                wrong((*field).to_owned(), fix);
            }
        }
        for (index, catcher) in state.catch().iter().enumerate() {
            let (field, present, fix) = match language {
                QueryLanguage::JSONata => {
                    ("ResultPath", catcher.result_path.is_some(), "use Output, reading $states.errorOutput")
                }
                QueryLanguage::JSONPath => ("Output", catcher.output.is_some(), "use ResultPath"),
            };
            if present {
                wrong(format!("Catch {} {field}", index + 1), fix);
            }
        }
        if let State::Choice(choice) = state {
            for (index, rule) in choice.choices.iter().enumerate() {
                let rule_no = index + 1;
                match (language, &rule.condition) {
                    (QueryLanguage::JSONata, Condition::Expression(_))
                    | (
                        QueryLanguage::JSONPath,
                        Condition::Compare { .. } | Condition::And(_) | Condition::Or(_) | Condition::Not(_),
                    ) => {}
                    (QueryLanguage::JSONata, _) => wrong(
                        format!("Choices rule {rule_no} (a {other} rule: Variable, And, Or or Not)"),
                        "write the rule as {\"Condition\": \"{% <expression giving true or false> %}\", \"Next\": ...}",
                    ),
                    (QueryLanguage::JSONPath, Condition::Expression(_)) => wrong(
                        format!("Choices rule {rule_no} Condition"),
                        "write the rule with Variable and a comparison such as StringEquals, or set \"QueryLanguage\": \"JSONata\" on the state",
                    ),
                }
                if language == QueryLanguage::JSONPath && rule.output.is_some() {
                    wrong(
                        format!("Choices rule {rule_no} Output"),
                        "remove it, or set \"QueryLanguage\": \"JSONata\" on the state",
                    );
                }
            }
        }
        let seconds: Vec<(&str, Option<&NumberOrExpression>)> = match state {
            State::Task(task) => vec![
                ("TimeoutSeconds", task.timeout_seconds.as_ref()),
                ("HeartbeatSeconds", task.heartbeat_seconds.as_ref()),
            ],
            State::Wait(wait) => vec![("Seconds", wait.seconds.as_ref())],
            State::Map(map) => vec![
                ("MaxConcurrency", map.max_concurrency.as_ref()),
                ("ToleratedFailureCount", map.tolerated_failure_count.as_ref()),
            ],
            _ => Vec::new(),
        };
        // Fields that, when written as a string, must be one wrapped expression.
        let mut expressions: Vec<(String, &str)> = Vec::new();
        for (field, value) in seconds {
            let Some(NumberOrExpression::Expression(expression)) = value else { continue };
            match language {
                QueryLanguage::JSONata => expressions.push((field.to_owned(), expression.as_str())),
                QueryLanguage::JSONPath => self.errors.push(ValidationError::FieldNotInLanguage {
                    at: at.clone(),
                    language: "JSONPath",
                    field: format!("{field} {:?} (a string)", expression.as_str()),
                    fix: format!("give a whole number, or read it from the input with {field}Path"),
                }),
            }
        }
        if language == QueryLanguage::JSONPath {
            return;
        }
        if let State::Choice(choice) = state {
            for (index, rule) in choice.choices.iter().enumerate() {
                if let Condition::Expression(expression) = &rule.condition {
                    expressions.push((format!("Choices rule {} Condition", index + 1), expression.as_str()));
                }
            }
        }
        if let State::Map(map) = state {
            match &map.items {
                None | Some(Value::Array(_)) => {}
                Some(Value::String(text)) => expressions.push(("Items".to_owned(), text)),
                Some(other) => {
                    self.errors.push(ValidationError::InvalidItems { at: at.clone(), found: other.to_string() })
                }
            }
        }
        for (field, value) in expressions {
            if jsonata::expression_body(value).is_none() {
                self.errors.push(ValidationError::NotAnExpression { at: at.clone(), field, value: value.to_owned() });
            }
        }
        if self.strict {
            // Free-form fields: a string not wrapped exactly is a literal on AWS, so this is a lint.
            let mut free: Vec<(String, &Value)> = Vec::new();
            for field in ["Arguments", "Output", "ItemSelector", "Error", "Cause", "Timestamp"] {
                if let Some(value) = fields.get(field) {
                    free.push((field.to_owned(), value));
                }
            }
            let mut half = Vec::new();
            for (field, value) in &free {
                half_wrapped(field, value, &mut half);
            }
            for (field, value) in half {
                self.errors.push(ValidationError::HalfWrappedExpression { at: at.clone(), field, value });
            }
        }
    }

    /// The names of the variables every `Assign` sets, and in JSONPath the syntax of its `.$` values.
    fn variables(&mut self, at: &Location, state: &State, language: QueryLanguage) {
        for (field, assign) in assigns(state) {
            for (key, value) in assign {
                let (name, hint) = match (language, key.strip_suffix(".$")) {
                    (QueryLanguage::JSONPath, Some(name)) => (name, ""),
                    (QueryLanguage::JSONata, Some(_)) => {
                        (key.as_str(), " (in a JSONata state a name takes no .$: write the value as \"{% ... %}\")")
                    }
                    (_, None) => (key.as_str(), ""),
                };
                if let Err(reason) = jsonata::check_variable_name(name) {
                    self.errors.push(ValidationError::InvalidVariableName {
                        at: at.clone(),
                        field: field.clone(),
                        name: key.clone(),
                        reason,
                        hint,
                    });
                }
                if language == QueryLanguage::JSONata {
                    if self.strict {
                        let mut half = Vec::new();
                        half_wrapped(&format!("{field} {key:?}"), value, &mut half);
                        for (field, value) in half {
                            self.errors.push(ValidationError::HalfWrappedExpression { at: at.clone(), field, value });
                        }
                    }
                    continue;
                }
                let mut problems = Vec::new();
                let single = serde_json::Map::from_iter([(key.clone(), value.clone())]);
                paths::check_template(&Value::Object(single), &mut |inner, text, reason| {
                    // `$name` (a variable, possibly followed by a path into it) is a JSONPath Assign value too.
                    if !is_variable_reference(text) {
                        problems.push((format!("{field} {inner:?}"), text.to_owned(), reason));
                    }
                });
                for (field, value, reason) in problems {
                    let at = at.clone();
                    self.errors.push(if paths::is_call(&value) {
                        ValidationError::InvalidIntrinsic { at, field, value, reason }
                    } else {
                        ValidationError::InvalidPath { at, field, value, reason }
                    });
                }
            }
        }
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

/// Strings anywhere in `value` that look meant as an expression but are not wrapped exactly.
fn half_wrapped(field: &str, value: &Value, found: &mut Vec<(String, String)>) {
    match value {
        Value::String(text) if jsonata::is_half_wrapped(text) => found.push((field.to_owned(), text.clone())),
        Value::Array(items) => items.iter().for_each(|item| half_wrapped(field, item, found)),
        Value::Object(map) => map.values().for_each(|item| half_wrapped(field, item, found)),
        _ => {}
    }
}

/// `$name`, `$name.field`, `$name[0]`: a reference to a workflow variable (JSONPath states).
fn is_variable_reference(text: &str) -> bool {
    let Some(rest) = text.strip_prefix('$') else { return false };
    let name: String = rest.chars().take_while(|c| c.is_alphanumeric() || *c == '_').collect();
    let after = &rest[name.len()..];
    jsonata::check_variable_name(&name).is_ok()
        && (after.is_empty() || paths::check_path(&format!("${after}"), false).is_ok())
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

    /// `around`, with the machine's QueryLanguage JSONata.
    fn jsonata(state: Value) -> StateMachine {
        let mut machine = around(state);
        machine.query_language = Some(QueryLanguage::JSONata);
        machine
    }

    /// `alone`, with the machine's QueryLanguage JSONata.
    fn jsonata_alone(state: Value) -> StateMachine {
        let mut machine = alone(state);
        machine.query_language = Some(QueryLanguage::JSONata);
        machine
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
            ("Next to no state", around(task(json!({"Next": "Nowhere", "Catch": [{"ErrorEquals": ["States.ALL"], "Next": "End"}]}))), "state \"S\": Next names \"Nowhere\"".into(), "use one of \"S\", \"End\""),
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
            // AWS, State machine structure: "You cannot revert a top-level JSONata-based state machine to a mix of JSONata and JSONPath states."
            ("JSONPath state in a JSONata machine", machine(json!({"QueryLanguage": "JSONata", "StartAt": "A", "States": {"A": {"Type": "Pass", "QueryLanguage": "JSONPath", "End": true}}})), "state \"A\" sets \"QueryLanguage\": \"JSONPath\" in a machine whose QueryLanguage is JSONata".into(), "write the state in JSONata"),
            // AWS, Transforming data with JSONata: JSONata states replace InputPath, Parameters, ResultSelector, ResultPath and OutputPath with Arguments and Output.
            ("InputPath in a JSONata state", jsonata(json!({"Type": "Pass", "InputPath": "$.a", "Next": "End"})), "state \"S\" is a JSONata state but has InputPath".into(), "$states.input"),
            ("Parameters in a JSONata state", jsonata(task(json!({"Parameters": {"a.$": "$.a"}}))), "state \"S\" is a JSONata state but has Parameters".into(), "use Arguments"),
            ("ResultSelector in a JSONata state", jsonata(task(json!({"ResultSelector": {"a.$": "$.a"}}))), "state \"S\" is a JSONata state but has ResultSelector".into(), "use Output"),
            ("ResultPath in a JSONata state", jsonata(task(json!({"ResultPath": "$.r"}))), "state \"S\" is a JSONata state but has ResultPath".into(), "use Output"),
            ("OutputPath in a JSONata state", jsonata_alone(json!({"Type": "Succeed", "OutputPath": "$.a"})), "state \"S\" is a JSONata state but has OutputPath".into(), "use Output"),
            ("Result in a JSONata Pass", jsonata(json!({"Type": "Pass", "Result": 1, "Next": "End"})), "state \"S\" is a JSONata state but has Result".into(), "use Output"),
            ("ItemsPath in a JSONata Map", jsonata(json!({"Type": "Map", "ItemsPath": "$.items", "Next": "End", "ItemProcessor": {"StartAt": "P", "States": {"P": {"Type": "Succeed"}}}})), "state \"S\" is a JSONata state but has ItemsPath".into(), "use Items"),
            ("SecondsPath in a JSONata Wait", jsonata(json!({"Type": "Wait", "SecondsPath": "$.s", "Next": "End"})), "state \"S\" is a JSONata state but has SecondsPath".into(), "use Seconds with an expression"),
            ("TimestampPath in a JSONata Wait", jsonata(json!({"Type": "Wait", "TimestampPath": "$.t", "Next": "End"})), "state \"S\" is a JSONata state but has TimestampPath".into(), "use Timestamp with an expression"),
            ("TimeoutSecondsPath in a JSONata Task", jsonata(task(json!({"TimeoutSecondsPath": "$.t"}))), "state \"S\" is a JSONata state but has TimeoutSecondsPath".into(), "use TimeoutSeconds with an expression"),
            ("HeartbeatSecondsPath in a JSONata Task", jsonata(task(json!({"HeartbeatSecondsPath": "$.t"}))), "state \"S\" is a JSONata state but has HeartbeatSecondsPath".into(), "use HeartbeatSeconds with an expression"),
            ("ErrorPath in a JSONata Fail", jsonata_alone(json!({"Type": "Fail", "ErrorPath": "$.e"})), "state \"S\" is a JSONata state but has ErrorPath".into(), "use Error with an expression"),
            ("CausePath in a JSONata Fail", jsonata_alone(json!({"Type": "Fail", "CausePath": "$.c"})), "state \"S\" is a JSONata state but has CausePath".into(), "use Cause with an expression"),
            ("Catch ResultPath in a JSONata state", jsonata(task(json!({"Catch": [{"ErrorEquals": ["States.ALL"], "ResultPath": "$.e", "Next": "End"}]}))), "state \"S\" is a JSONata state but has Catch 1 ResultPath".into(), "$states.errorOutput"),
            ("Variable rule in a JSONata Choice", jsonata(json!({"Type": "Choice", "Choices": [{"Variable": "$.a", "IsPresent": true, "Next": "End"}]})), "state \"S\" is a JSONata state but has Choices rule 1 (a JSONPath rule".into(), "{\"Condition\": \"{% <expression giving true or false> %}\""),
            ("Arguments in a JSONPath state", around(task(json!({"Arguments": {"a": 1}}))), "state \"S\" is a JSONPath state but has Arguments".into(), "use Parameters"),
            ("Output in a JSONPath state", around(json!({"Type": "Pass", "Output": {"a": 1}, "Next": "End"})), "state \"S\" is a JSONPath state but has Output".into(), "use ResultSelector, ResultPath and OutputPath"),
            ("Items in a JSONPath Map", around(json!({"Type": "Map", "Items": [1, 2], "Next": "End", "ItemProcessor": {"StartAt": "P", "States": {"P": {"Type": "Succeed"}}}})), "state \"S\" is a JSONPath state but has Items".into(), "use ItemsPath"),
            ("Condition in a JSONPath Choice", around(json!({"Type": "Choice", "Choices": [{"Condition": "{% true %}", "Next": "End"}]})), "state \"S\" is a JSONPath state but has Choices rule 1 Condition".into(), "write the rule with Variable"),
            ("rule Output in a JSONPath Choice", around(json!({"Type": "Choice", "Choices": [{"Variable": "$.a", "IsPresent": true, "Output": 1, "Next": "End"}]})), "state \"S\" is a JSONPath state but has Choices rule 1 Output".into(), "remove it"),
            ("Catch Output in a JSONPath state", around(task(json!({"Catch": [{"ErrorEquals": ["States.ALL"], "Output": 1, "Next": "End"}]}))), "state \"S\" is a JSONPath state but has Catch 1 Output".into(), "use ResultPath"),
            ("Seconds as a string in a JSONPath Wait", around(json!({"Type": "Wait", "Seconds": "{% 5 %}", "Next": "End"})), "state \"S\" is a JSONPath state but has Seconds \"{% 5 %}\" (a string)".into(), "SecondsPath"),
            ("TimeoutSeconds as a string in a JSONPath Task", around(task(json!({"TimeoutSeconds": "10"}))), "state \"S\" is a JSONPath state but has TimeoutSeconds \"10\" (a string)".into(), "TimeoutSecondsPath"),
            ("JSONata state in a JSONPath machine keeps JSONPath rules elsewhere", machine(json!({"StartAt": "A", "States": {"A": {"Type": "Pass", "QueryLanguage": "JSONata", "Output": 1, "Next": "B"}, "B": {"Type": "Pass", "Output": 1, "End": true}}})), "state \"B\" is a JSONPath state but has Output".into(), "set \"QueryLanguage\": \"JSONata\" on the state"),
            // AWS, Transforming data with JSONata: JSONata expressions are written "{% <JSONata expression> %}".
            ("Condition not wrapped", jsonata(json!({"Type": "Choice", "Choices": [{"Condition": "$states.input.a", "Next": "End"}]})), "state \"S\": Choices rule 1 Condition \"$states.input.a\" is not a JSONata expression".into(), "wrapped exactly as \"{% ... %}\""),
            ("Condition with a space before the marker", jsonata(json!({"Type": "Choice", "Choices": [{"Condition": " {% true %}", "Next": "End"}]})), "state \"S\": Choices rule 1 Condition \" {% true %}\"".into(), "nothing before {% or after %}"),
            ("Items neither array nor expression", jsonata(json!({"Type": "Map", "Items": {"a": 1}, "Next": "End", "ItemProcessor": {"StartAt": "P", "States": {"P": {"Type": "Succeed"}}}})), "state \"S\": Items is {\"a\":1}".into(), "give a JSON array"),
            ("Items string not wrapped", jsonata(json!({"Type": "Map", "Items": "$states.input", "Next": "End", "ItemProcessor": {"StartAt": "P", "States": {"P": {"Type": "Succeed"}}}})), "state \"S\": Items \"$states.input\" is not a JSONata expression".into(), "wrapped exactly"),
            ("Seconds string not wrapped", jsonata(json!({"Type": "Wait", "Seconds": "5", "Next": "End"})), "state \"S\": Seconds \"5\" is not a JSONata expression".into(), "wrapped exactly"),
            ("HeartbeatSeconds half wrapped", jsonata(task(json!({"HeartbeatSeconds": "{% 5"}))), "state \"S\": HeartbeatSeconds \"{% 5\" is not a JSONata expression".into(), "wrapped exactly"),
            ("Timestamp literal still checked in JSONata", jsonata(json!({"Type": "Wait", "Timestamp": "tomorrow", "Next": "End"})), "state \"S\": Timestamp \"tomorrow\" is not a timestamp".into(), "RFC 3339"),
            // AWS, Passing data between states with variables: names are Unicode identifiers (ID_Start, then ID_Continue), at most 80 characters; $states is reserved.
            ("variable named states", jsonata(json!({"Type": "Pass", "Assign": {"states": 1}, "Next": "End"})), "state \"S\": Assign sets \"states\", which is not a valid variable name: $states is reserved".into(), "a letter or _"),
            ("variable name starting with a digit", around(json!({"Type": "Pass", "Assign": {"1x": 1}, "Next": "End"})), "state \"S\": Assign sets \"1x\", which is not a valid variable name: it starts with '1'".into(), "at most 80 characters"),
            ("variable name with a hyphen", jsonata(json!({"Type": "Wait", "Seconds": 1, "Assign": {"my-var": 1}, "Next": "End"})), "state \"S\": Assign sets \"my-var\"".into(), "contains '-'"),
            ("variable name too long", jsonata(json!({"Type": "Pass", "Assign": {"v".repeat(81): 1}, "Next": "End"})), "state \"S\": Assign sets".into(), "81 characters long"),
            ("a .$ key in a JSONata Assign", jsonata(json!({"Type": "Pass", "Assign": {"x.$": "$.a"}, "Next": "End"})), "state \"S\": Assign sets \"x.$\"".into(), "takes no .$"),
            ("variable name in a Catch Assign", jsonata(task(json!({"Catch": [{"ErrorEquals": ["States.ALL"], "Assign": {"bad name": 1}, "Next": "End"}]}))), "state \"S\": Catch 1 Assign sets \"bad name\"".into(), "contains ' '"),
            ("variable name in a Choice rule Assign", jsonata(json!({"Type": "Choice", "Choices": [{"Condition": "{% true %}", "Assign": {"": 1}, "Next": "End"}]})), "state \"S\": Choices rule 1 Assign sets \"\"".into(), "the name is empty"),
            ("JSONPath Assign .$ value not a path", around(json!({"Type": "Pass", "Assign": {"x.$": "a.b"}, "Next": "End"})), "state \"S\": Assign \"x.$\" \"a.b\" is not a valid JSONPath".into(), "write e.g."),
            ("JSONPath Assign .$ value referencing $states", around(json!({"Type": "Pass", "Assign": {"x.$": "$states.input"}, "Next": "End"})), "state \"S\": Assign \"x.$\" \"$states.input\" is not a valid JSONPath".into(), "write e.g."),
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
        assert_eq!(locations, ["state \"Spin\"", "state \"Again\""], "{errors}");
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

    /// AWS's own JSONata examples, each inside the least machine that holds it (the scaffolding,
    /// state names and End/Default, is ours): they parse, validate, and serialise back to the same JSON.
    #[test]
    fn aws_jsonata_examples_round_trip_and_validate() {
        let examples = [
            // "Transforming data with JSONata in Step Functions": the Task after conversion to JSONata.
            json!({"QueryLanguage": "JSONata", "StartAt": "T", "States": {"T": {
                "QueryLanguage": "JSONata", "Type": "Task", "Resource": "arn:aws:states:::lambda:invoke",
                "Arguments": {"static": "Hello", "title": "{% $states.input.title %}",
                              "name": "{% $customerName %}", "not-evaluated": "$customerName"},
                "End": true}}}),
            // "Choice workflow state", Choice Rules (JSONata): the four example rules.
            json!({"QueryLanguage": "JSONata", "StartAt": "C", "States": {
                "C": {"Type": "Choice", "Choices": [
                    {"Condition": "{% $foo = 1 %}", "Next": "NumericMatchState"},
                    {"Condition": "{% $type = 'local' %}", "Next": "StringMatchState"},
                    {"Condition": "{% $foo > 'MyStringABC' %}", "Next": "StringGreaterMatchState"},
                    {"Condition": "{% $possiblyNullValue != null and $possiblyNullValue = 42 %}", "Next": "NotNullAnd42"}
                ], "Default": "NumericMatchState"},
                "NumericMatchState": {"Type": "Succeed"},
                "StringMatchState": {"Type": "Succeed"},
                "StringGreaterMatchState": {"Type": "Succeed"},
                "NotNullAnd42": {"Type": "Succeed"}}}),
            // "Passing data between states with variables": the Assign example, in a JSONPath and a JSONata Pass.
            json!({"StartAt": "P", "States": {
                "P": {"Type": "Pass", "Assign": {"productName": "product1", "count": 42, "available": true}, "Next": "Q"},
                "Q": {"Type": "Pass", "QueryLanguage": "JSONata",
                      "Assign": {"productName": "product1", "count": 42, "available": true}, "End": true}}}),
            // Every JSONata field this model knows, in one machine (ours, from the fields the state pages list).
            json!({"QueryLanguage": "JSONata", "StartAt": "Get", "States": {
                "Get": {"Type": "Task", "Resource": "arn:aws:states:::lambda:invoke",
                    "Arguments": {"FunctionName": "f", "Payload": "{% $states.input %}"},
                    "TimeoutSeconds": "{% $states.input.timeout %}", "HeartbeatSeconds": 10,
                    "Assign": {"taskResult": "{% $states.result %}"}, "Output": "{% $states.result.Payload %}",
                    "Catch": [{"ErrorEquals": ["States.ALL"], "Assign": {"why": "{% $states.errorOutput.Cause %}"},
                               "Output": {"failed": true}, "Next": "Failed"}],
                    "Next": "Route"},
                "Route": {"Type": "Choice", "Choices": [{"Condition": "{% $taskResult.n > 1 %}", "Assign": {"big": true},
                    "Output": "{% $states.input %}", "Next": "Pause"}], "Default": "Each", "Assign": {"seen": 1}},
                "Pause": {"Type": "Wait", "Seconds": "{% $states.input.delay %}", "Output": {"waited": true}, "Next": "Until"},
                "Until": {"Type": "Wait", "Timestamp": "{% $states.input.at %}", "Next": "Each"},
                "Each": {"Type": "Map", "Items": "{% $states.input.items %}", "ItemSelector": {"v": "{% $states.context.Map.Item.Value %}"},
                    "ItemProcessor": {"StartAt": "Work", "States": {"Work": {"Type": "Pass", "Output": "{% $states.input.v %}", "End": true}}},
                    "Output": "{% $states.result %}", "Next": "Fixed"},
                "Fixed": {"Type": "Map", "Items": [1, 2, 3],
                    "ItemProcessor": {"StartAt": "W", "States": {"W": {"Type": "Succeed", "Output": "{% $states.input %}"}}}, "Next": "Fan"},
                "Fan": {"Type": "Parallel", "Arguments": {"x": "{% $states.input %}"},
                    "Branches": [{"StartAt": "B", "States": {"B": {"Type": "Pass", "End": true}}}], "Output": "{% $states.result[0] %}", "Next": "Done"},
                "Done": {"Type": "Succeed", "Output": {"price": "{% $taskResult %}"}},
                "Failed": {"Type": "Fail", "Error": "{% $why %}", "Cause": "literal cause"}}}),
            // JSONPath variables: `.$` Assign values taking a path, a variable, or an intrinsic.
            json!({"StartAt": "A", "States": {"A": {"Type": "Task", "Resource": "arn:aws:states:::lambda:invoke",
                "Assign": {"whole.$": "$", "part.$": "$.Payload.id", "again.$": "$whole.Payload", "n.$": "States.MathAdd($.a, 1)",
                           "nested": {"x.$": "$part"}},
                "Catch": [{"ErrorEquals": ["States.ALL"], "Assign": {"err.$": "$.Cause"}, "ResultPath": "$.e", "Next": "B"}],
                "Next": "B"},
                "B": {"Type": "Choice", "Choices": [{"Variable": "$.a", "IsPresent": true, "Assign": {"hit": true}, "Next": "C"}], "Default": "C"},
                "C": {"Type": "Succeed"}}}),
        ];
        for example in examples {
            let parsed = machine(example.clone());
            assert_eq!(parsed.validate(), Ok(()), "{example}");
            assert_eq!(serde_json::to_value(&parsed).unwrap(), example);
            assert_eq!(StateMachine::from_json(&parsed.to_json()).unwrap(), parsed);
        }
    }

    #[test]
    fn half_wrapped_free_form_strings_are_a_lint_not_an_error() {
        // AWS: only a string wrapped as "{% ... %}" is evaluated; anything else is a literal, so
        // Step Functions accepts these and `validate` does too. `lint` names each one.
        let machine = jsonata(task(json!({"Arguments": {"a": "{% $states.input"}, "Output": ["$x %}"],
            "Assign": {"v": " {% 1 %}"}})));
        assert_eq!(machine.validate(), Ok(()));
        let errors = machine.lint().unwrap_err();
        let text: Vec<String> = errors.0.iter().map(ToString::to_string).collect();
        assert_eq!(text.len(), 3, "{text:#?}");
        assert!(text[0].starts_with("state \"S\": Arguments \"{% $states.input\" looks meant as a JSONata expression"));
        assert!(text[1].starts_with("state \"S\": Output \"$x %}\""));
        assert!(text[2].starts_with("state \"S\": Assign \"v\" \" {% 1 %}\"") && text[2].contains("literal string"));
    }

    #[test]
    fn a_callback_task_that_never_passes_its_token_is_a_lint() {
        let ecs = |environment: Value| {
            json!({"Type": "Task", "Resource": "arn:aws:states:::ecs:runTask.waitForTaskToken", "End": true,
                   "Parameters": {"Cluster": "c", "TaskDefinition": "t",
                                  "Overrides": {"ContainerOverrides": [{"Name": "app", "Environment": environment}]}}})
        };
        let lint = |machine: StateMachine| -> Vec<String> {
            assert_eq!(machine.validate(), Ok(()), "AWS accepts it, so validate does");
            machine.lint().err().map(|e| e.0.iter().map(ToString::to_string).collect()).unwrap_or_default()
        };
        // The token in TASK_TOKEN, as the runtime reads it: JSONPath, an intrinsic, JSONata.
        assert_eq!(lint(alone(ecs(json!([{"Name": "TASK_TOKEN", "Value.$": "$$.Task.Token"}])))), Vec::<String>::new());
        let format = json!([{"Name": "TASK_TOKEN", "Value.$": "States.Format('{}', $$.Task.Token)"}]);
        assert_eq!(lint(alone(ecs(format))), Vec::<String>::new());
        let mut jsonata_state = ecs(json!([{"Name": "TASK_TOKEN", "Value": "{% $states.context.Task.Token %}"}]));
        jsonata_state["Arguments"] = jsonata_state.as_object_mut().unwrap().remove("Parameters").unwrap();
        jsonata_state["QueryLanguage"] = json!("JSONata");
        assert_eq!(lint(alone(jsonata_state)), Vec::<String>::new());
        // Missing, under another name, or not the token: refused, naming the state and the fix.
        for environment in [
            json!([{"Name": "TASK_INPUT", "Value.$": "States.JsonToString($)"}]),
            json!([{"Name": "MY_TOKEN", "Value.$": "$$.Task.Token"}]),
            json!([{"Name": "TASK_TOKEN", "Value": "$$.Task.Token"}]),
        ] {
            let errors = lint(alone(ecs(environment.clone())));
            assert_eq!(errors.len(), 1, "{environment}: {errors:#?}");
            assert!(
                errors[0].starts_with("state \"S\" waits for a task token (arn:aws:states:::ecs:runTask.waitForTaskToken) but never passes $$.Task.Token")
                    && errors[0].contains("{\"Name\": \"TASK_TOKEN\", \"Value.$\": \"$$.Task.Token\"}"),
                "{}", errors[0]
            );
        }
        // Another callback integration: the token anywhere in its request.
        let sqs = |parameters: Value| {
            alone(json!({"Type": "Task", "Resource": "arn:aws:states:::sqs:sendMessage.waitForTaskToken",
                         "Parameters": parameters, "End": true}))
        };
        assert_eq!(
            lint(sqs(json!({"QueueUrl": "q", "MessageBody": {"token.$": "$$.Task.Token"}}))),
            Vec::<String>::new()
        );
        assert_eq!(lint(sqs(json!({"QueueUrl": "q", "MessageBody.$": "$"}))).len(), 1);
        // Not a callback: nothing to pass.
        assert_eq!(
            lint(alone(json!({"Type": "Task", "Resource": "arn:aws:states:::ecs:runTask.sync", "End": true}))),
            Vec::<String>::new()
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
