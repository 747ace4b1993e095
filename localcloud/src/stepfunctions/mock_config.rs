//! Step Functions Local's mocked service integrations on the local cloud: the mock configuration
//! file named by `SFN_MOCK_CONFIG` (read and checked once, when the gateway starts), the test case
//! a StartExecution picks with `stateMachineArn#TestCase`, and [`MockedIntegrations`], which
//! answers the Task states that test case names with their mocked responses and hands every other
//! call to the real integrations.
//!
//! As AWS documents it ("Using mocked service integrations for testing in Step Functions Local",
//! "Configuration file for mocked service integrations"): the file is
//! `{"StateMachines": {<machine name>: {"TestCases": {<test case>: {<state>: <response>}}}},
//! "MockedResponses": {<response>: {<invocations>: {"Return": <result>} | {"Throw": {"Error", "Cause"}}}}}`;
//! the invocations of a response are one number (`"0"`) or an inclusive range (`"1-2"`), counted
//! from 0 over every call the state makes in the execution (a retry is the next invocation, and so
//! is each Map iteration's call: AWS tells Map users to set MaxConcurrency 1 for a predictable
//! order); "if you do not specify a mocked response, the state machine execution will fail", which
//! Step Functions Local does with `States.Runtime` (never retried or caught); a state the test case
//! does not name calls its service for real; a mocked `.waitForTaskToken` task gets a task token
//! but waits for no callback.
//!
//! What AWS leaves undocumented follows Step Functions Local 2.0.0 as others measured it (floci's
//! notes on its mocked integrations): the error of a call past the entries (`States.Runtime`), the
//! execution ARN (the machine's own, no test case in it), a bare trailing `#` (no test case).
//! Where this differs: every problem of the file stops the gateway from starting, naming the file,
//! the key and the fix; a StartExecution naming a test case that does not exist, or one that mocks
//! a state that is no Task state of the machine, is refused with `ValidationException` (Step
//! Functions Local answered HTTP 500 or failed the execution later); StartSyncExecution takes a
//! test case too (Step Functions Local answered `UnsupportedOperation`; LocalStack takes it).

use std::collections::{BTreeMap, HashMap, HashSet};
use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use futures_util::future::BoxFuture;
use model::states::{State, StateMachine, States};
use serde::de::{self, DeserializeSeed, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_json::{Map, Value};
use states_interpreter::{Callback, Integrations, TaskCall, TaskFailure, TaskTokens, json_kind, names};

use crate::awsjson::AwsError;

/// The variable naming the mock configuration file, as Step Functions Local's.
pub const MOCK_CONFIG_ENV: &str = "SFN_MOCK_CONFIG";

/// Why the mock configuration file cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum MockConfigError {
    #[error(
        "{MOCK_CONFIG_ENV}={}: the mock configuration file cannot be read: {source}; point {MOCK_CONFIG_ENV} at an \
         existing file (an absolute path, or one relative to the directory `localcloud up` runs in), or unset it",
        path.display()
    )]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("the mock configuration file {} ({MOCK_CONFIG_ENV}) is not valid: {problem}", path.display())]
    Invalid { path: PathBuf, problem: String },
}

/// What a mocked Task call answers.
#[derive(Debug, Clone, PartialEq)]
pub enum Answer {
    /// The service's result (any JSON value).
    Return(Value),
    /// The task fails with this error and cause, which Retry and Catch match as any other.
    Throw { error: String, cause: String },
}

/// One entry of a mocked response: the invocations `first..=last` answer `answer`.
#[derive(Debug, Clone, PartialEq)]
struct Entry {
    key: String,
    first: u64,
    last: u64,
    answer: Answer,
}

/// A named mocked response: what each invocation of a state answers.
#[derive(Debug, Clone, PartialEq)]
pub struct MockedResponse {
    pub name: String,
    /// Ordered by their first invocation, none overlapping.
    entries: Vec<Entry>,
}

impl MockedResponse {
    /// What invocation `n` (0 for the first call) answers; None past the entries or in a gap.
    pub fn answer(&self, n: u64) -> Option<&Answer> {
        self.entries.iter().find(|e| e.first <= n && n <= e.last).map(|e| &e.answer)
    }

    /// Its invocation keys, for messages: `"0", "1-2"`.
    fn keys(&self) -> String {
        if self.entries.is_empty() {
            return "none".to_owned();
        }
        self.entries.iter().map(|e| format!("{:?}", e.key)).collect::<Vec<_>>().join(", ")
    }
}

/// One test case of one state machine: the mocked response of each state it names.
#[derive(Debug, Clone, PartialEq)]
pub struct TestCase {
    pub name: String,
    pub state_machine: String,
    pub file: PathBuf,
    pub states: BTreeMap<String, Arc<MockedResponse>>,
}

/// A mock configuration file, checked.
#[derive(Debug, Clone, PartialEq)]
pub struct MockConfig {
    path: PathBuf,
    /// State machine name -> test case name -> test case.
    state_machines: BTreeMap<String, BTreeMap<String, Arc<TestCase>>>,
}

impl MockConfig {
    /// The file `SFN_MOCK_CONFIG` names, read and checked; None when it is unset or empty. Only
    /// the variable is read: Step Functions Local's JAR also looked for `MockConfigFile.json` in
    /// its directory, its Docker image did not, and a file picked up unasked would change what
    /// every `#TestCase` execution does without a word.
    pub fn from_env() -> Result<Option<MockConfig>, MockConfigError> {
        match std::env::var_os(MOCK_CONFIG_ENV).filter(|v| !v.is_empty()) {
            Some(path) => Self::load(Path::new(&path)).map(Some),
            None => Ok(None),
        }
    }

    pub fn load(path: &Path) -> Result<MockConfig, MockConfigError> {
        let text = std::fs::read_to_string(path)
            .map_err(|source| MockConfigError::Read { path: path.to_path_buf(), source })?;
        // Messages name it absolute: a relative path means nothing in an API error.
        Self::parse(&path.canonicalize().unwrap_or_else(|_| path.to_path_buf()), &text)
    }

    /// `text` checked as the file at `path` (named in every error).
    pub fn parse(path: &Path, text: &str) -> Result<MockConfig, MockConfigError> {
        let invalid = |problem: String| MockConfigError::Invalid { path: path.to_path_buf(), problem };
        let document: Value = serde_json::from_str(text).map_err(|e| {
            invalid(format!(
                "it is not JSON ({e}); the file is one JSON object with the fields StateMachines and MockedResponses"
            ))
        })?;
        // serde_json keeps the last of two equal keys; here a second "0" or a second test case of
        // the same name would silently replace the first.
        let mut deserializer = serde_json::Deserializer::from_str(text);
        UniqueKeys("").deserialize(&mut deserializer).map_err(|e| invalid(e.to_string()))?;
        let top = document.as_object().ok_or_else(|| {
            invalid(format!(
                "it is {}, not a JSON object with the fields StateMachines and MockedResponses",
                json_kind(&document)
            ))
        })?;
        for key in top.keys() {
            if key != "StateMachines" && key != "MockedResponses" {
                return Err(invalid(format!(
                    "it has the field {key:?}; a mock configuration has only StateMachines and MockedResponses{}",
                    if key == "MockedResponse" { " (write MockedResponses)" } else { "" }
                )));
            }
        }
        let field = |name: &str| -> Result<&Map<String, Value>, MockConfigError> {
            match top.get(name) {
                Some(Value::Object(object)) => Ok(object),
                Some(other) => Err(invalid(format!("{name} is {}; it must be an object", json_kind(other)))),
                None => Err(invalid(format!("it has no {name}; add \"{name}\": {{...}} at the top level"))),
            }
        };
        let mut responses = HashMap::new();
        for (name, response) in field("MockedResponses")? {
            responses.insert(name.as_str(), Arc::new(mocked_response(name, response).map_err(&invalid)?));
        }
        let mut state_machines = BTreeMap::new();
        for (machine, config) in field("StateMachines")? {
            let at = format!("StateMachines[{machine:?}]");
            let test_cases = match config {
                Value::Object(object) => match (object.get("TestCases"), object.keys().find(|k| *k != "TestCases")) {
                    (_, Some(other)) => {
                        return Err(invalid(format!(
                            "{at} has the field {other:?}; a state machine's only field is TestCases"
                        )));
                    }
                    (Some(Value::Object(cases)), None) => cases,
                    (Some(other), None) => {
                        return Err(invalid(format!("{at}.TestCases is {}; it must be an object", json_kind(other))));
                    }
                    (None, None) => {
                        return Err(invalid(format!(
                            "{at} has no TestCases; write {{\"TestCases\": {{\"<test case>\": {{\"<state>\": \
                             \"<mocked response>\"}}}}}}"
                        )));
                    }
                },
                other => {
                    return Err(invalid(format!(
                        "{at} is {}; it must be {{\"TestCases\": {{...}}}}",
                        json_kind(other)
                    )));
                }
            };
            let mut cases = BTreeMap::new();
            for (case, states) in test_cases {
                let at = format!("{at}.TestCases[{case:?}]");
                let states = states.as_object().ok_or_else(|| {
                    invalid(format!(
                        "{at} is {}; a test case is an object of state names and mocked response names",
                        json_kind(states)
                    ))
                })?;
                let mut mocked = BTreeMap::new();
                for (state, response) in states {
                    let Some(response_name) = response.as_str() else {
                        return Err(invalid(format!(
                            "{at}[{state:?}] is {}; it must be the name of one of MockedResponses",
                            json_kind(response)
                        )));
                    };
                    let response = responses.get(response_name).ok_or_else(|| {
                        let mut defined: Vec<&str> = responses.keys().copied().collect();
                        defined.sort_unstable();
                        invalid(format!(
                            "{at}[{state:?}] names the mocked response {response_name:?}, which MockedResponses does \
                             not define (it defines: {}); add it to MockedResponses or correct the name",
                            if defined.is_empty() { "none".to_owned() } else { defined.join(", ") }
                        ))
                    })?;
                    mocked.insert(state.clone(), response.clone());
                }
                let test_case = TestCase {
                    name: case.clone(),
                    state_machine: machine.clone(),
                    file: path.to_path_buf(),
                    states: mocked,
                };
                cases.insert(case.clone(), Arc::new(test_case));
            }
            state_machines.insert(machine.clone(), cases);
        }
        Ok(MockConfig { path: path.to_path_buf(), state_machines })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// How many state machines and test cases the file has, for the gateway's log.
    pub fn counts(&self) -> (usize, usize) {
        (self.state_machines.len(), self.state_machines.values().map(BTreeMap::len).sum())
    }

    /// The test case `test_case` of the state machine `machine` (its name), or why there is none.
    pub fn test_case(&self, machine: &str, test_case: &str) -> Result<Arc<TestCase>, String> {
        let file = self.path.display();
        let Some(cases) = self.state_machines.get(machine) else {
            return Err(format!(
                "The mock configuration file {file} ({MOCK_CONFIG_ENV}) has no state machine {machine:?} in \
                 StateMachines (it has: {}); add StateMachines.{machine}.TestCases.{test_case}, or start the \
                 execution without '#{test_case}'",
                list(self.state_machines.keys())
            ));
        };
        cases.get(test_case).cloned().ok_or_else(|| {
            format!(
                "The mock configuration file {file} ({MOCK_CONFIG_ENV}) has no test case {test_case:?} for the state \
                 machine {machine:?} (it has: {}); add it under StateMachines.{machine}.TestCases, or use one of those",
                list(cases.keys())
            )
        })
    }
}

fn list<'a>(names: impl Iterator<Item = &'a String>) -> String {
    let names: Vec<&str> = names.map(String::as_str).collect();
    if names.is_empty() { "none".to_owned() } else { names.join(", ") }
}

/// `MockedResponses[name]`, checked: each key an invocation or an inclusive range, none
/// overlapping, each value exactly one of Return and Throw. An empty response is accepted (Step
/// Functions Local accepts it too, a generated file may have one): its first invocation fails the
/// execution as any invocation without an entry does.
fn mocked_response(name: &str, value: &Value) -> Result<MockedResponse, String> {
    let at = format!("MockedResponses[{name:?}]");
    let object = value.as_object().ok_or_else(|| {
        format!("{at} is {}; it must be an object like {{\"0\": {{\"Return\": {{...}}}}}}", json_kind(value))
    })?;
    let mut entries = Vec::new();
    for (key, entry) in object {
        let at = format!("{at}[{key:?}]");
        let (first, last) = invocations(key).ok_or_else(|| {
            format!(
                "{at}: {key:?} is not an invocation number or range; write one number (\"0\" for the first call) \
                 or an inclusive range (\"1-2\")"
            )
        })?;
        if first > last {
            return Err(format!("{at}: the range ends before it starts; write \"{last}-{first}\""));
        }
        entries.push(Entry { key: key.clone(), first, last, answer: answer(&at, entry)? });
    }
    entries.sort_by_key(|e| e.first);
    for pair in entries.windows(2) {
        if pair[1].first <= pair[0].last {
            return Err(format!(
                "{at}: the entries {:?} and {:?} both cover invocation {}; give each invocation one entry",
                pair[0].key, pair[1].key, pair[1].first
            ));
        }
    }
    Ok(MockedResponse { name: name.to_owned(), entries })
}

/// `"3"` is (3, 3), `"1-2"` is (1, 2): digits only, no sign or space.
fn invocations(key: &str) -> Option<(u64, u64)> {
    let number = |s: &str| if !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()) { s.parse().ok() } else { None };
    match key.split_once('-') {
        None => number(key).map(|n| (n, n)),
        Some((first, last)) => Some((number(first)?, number(last)?)),
    }
}

fn answer(at: &str, entry: &Value) -> Result<Answer, String> {
    let object = entry.as_object().ok_or_else(|| {
        format!(
            "{at} is {}; it must be {{\"Return\": ...}} or {{\"Throw\": {{\"Error\": ..., \"Cause\": ...}}}}",
            json_kind(entry)
        )
    })?;
    if let Some(other) = object.keys().find(|k| *k != "Return" && *k != "Throw") {
        return Err(format!("{at} has the field {other:?}; an entry has exactly one field, Return or Throw"));
    }
    match (object.get("Return"), object.get("Throw")) {
        (Some(_), Some(_)) => Err(format!(
            "{at} has both Return and Throw; keep one: Return for the service's result, Throw for its error"
        )),
        (None, None) => Err(format!(
            "{at} has neither Return nor Throw; add one: {{\"Return\": <the service's result>}} or {{\"Throw\": \
             {{\"Error\": \"...\", \"Cause\": \"...\"}}}}"
        )),
        (Some(result), None) => Ok(Answer::Return(result.clone())),
        (None, Some(throw)) => {
            let at = format!("{at}.Throw");
            let fields = throw.as_object().ok_or_else(|| {
                format!("{at} is {}; it must be {{\"Error\": \"...\", \"Cause\": \"...\"}}", json_kind(throw))
            })?;
            if let Some(other) = fields.keys().find(|k| *k != "Error" && *k != "Cause") {
                return Err(format!("{at} has the field {other:?}; Throw has only Error and Cause"));
            }
            // AWS: "The value of Throw must be an object containing an Error and Cause fields with
            // string values".
            let text = |field: &str| match fields.get(field) {
                Some(Value::String(s)) => Ok(s.clone()),
                Some(other) => Err(format!("{at}.{field} is {}; it must be a string", json_kind(other))),
                None => Err(format!(
                    "{at} has no {field}; Throw needs both Error (the name Retry and Catch match) and Cause"
                )),
            };
            Ok(Answer::Throw { error: text("Error")?, cause: text("Cause")? })
        }
    }
}

/// Walks a JSON document and fails on the first object with a key twice, naming where (its path:
/// `MockedResponses["R"]`; empty at the top).
struct UniqueKeys<'a>(&'a str);

impl<'de> DeserializeSeed<'de> for UniqueKeys<'_> {
    type Value = ();

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<(), D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for UniqueKeys<'_> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any JSON value")
    }

    fn visit_bool<E>(self, _: bool) -> Result<(), E> {
        Ok(())
    }

    fn visit_i64<E>(self, _: i64) -> Result<(), E> {
        Ok(())
    }

    fn visit_u64<E>(self, _: u64) -> Result<(), E> {
        Ok(())
    }

    fn visit_f64<E>(self, _: f64) -> Result<(), E> {
        Ok(())
    }

    fn visit_str<E>(self, _: &str) -> Result<(), E> {
        Ok(())
    }

    fn visit_unit<E>(self) -> Result<(), E> {
        Ok(())
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut items: A) -> Result<(), A::Error> {
        let mut n = 0;
        while items.next_element_seed(UniqueKeys(&format!("{}[{n}]", self.0)))?.is_some() {
            n += 1;
        }
        Ok(())
    }

    fn visit_map<A: MapAccess<'de>>(self, mut fields: A) -> Result<(), A::Error> {
        let mut seen = HashSet::new();
        while let Some(key) = fields.next_key::<String>()? {
            let at = if self.0.is_empty() { key.clone() } else { format!("{}[{key:?}]", self.0) };
            if !seen.insert(key.clone()) {
                return Err(de::Error::custom(format!(
                    "{} has the key {key:?} twice (JSON keeps only one of them): give each its own name, or \
                     for invocations its own number or range; the second is",
                    if self.0.is_empty() { "the file" } else { self.0 }
                )));
            }
            fields.next_value_seed(UniqueKeys(&at))?;
        }
        Ok(())
    }
}

/// Takes the `#TestCase` suffix off `state_machine_arn` and returns the test case. A bare trailing
/// `#` names none (Step Functions Local then runs the execution unmocked).
pub fn take_test_case(state_machine_arn: &mut String) -> Option<String> {
    let at = state_machine_arn.find('#')?;
    let case = state_machine_arn.split_off(at);
    Some(case[1..].to_owned()).filter(|c| !c.is_empty())
}

/// What an execution's Task states call: `real` itself without a test case, else the test case
/// `test_case` of the state machine `machine` answering the states it mocks. `definition`, when it
/// could be read, is checked to have a Task state of each name the test case mocks. Errors are
/// StartExecution's ValidationException.
pub(super) fn integrations_for(
    config: Option<&MockConfig>,
    test_case: Option<&str>,
    machine: &str,
    definition: Option<&StateMachine>,
    real: Arc<dyn Integrations>,
    tokens: Arc<TaskTokens>,
) -> Result<Arc<dyn Integrations>, AwsError> {
    let Some(case) = test_case else {
        return Ok(real);
    };
    let invalid = |message: String| super::error("ValidationException", message);
    let Some(config) = config else {
        return Err(invalid(format!(
            "The stateMachineArn names the test case {case:?} (after '#'), but the local cloud has no mock \
             configuration file: start its gateway with {MOCK_CONFIG_ENV}=<the file> (`tools/just down`, then \
             `{MOCK_CONFIG_ENV}=<the file> tools/just up`), or drop '#{case}'"
        )));
    };
    let test_case = config.test_case(machine, case).map_err(invalid)?;
    if let Some(definition) = definition {
        let mut tasks = Vec::new();
        task_states(&definition.states, &mut tasks);
        if let Some(state) = test_case.states.keys().find(|s| !tasks.contains(&s.as_str())) {
            return Err(invalid(format!(
                "The test case {case:?} of the state machine {machine:?} in the mock configuration file {} mocks the \
                 state {state:?}, which is no Task state of the machine (its Task states: {}); correct the name in \
                 StateMachines.{machine}.TestCases.{case}",
                config.path().display(),
                if tasks.is_empty() { "none".to_owned() } else { tasks.join(", ") }
            )));
        }
    }
    tracing::info!(machine, test_case = case, "execution runs with mocked service integrations");
    Ok(Arc::new(MockedIntegrations::new(test_case, real, Some(tokens))))
}

/// The names of every Task state, Parallel branches and Map iterations included (a name is unique
/// in the whole machine).
fn task_states<'a>(states: &'a States, names: &mut Vec<&'a str>) {
    for (name, state) in states {
        match state {
            State::Task(_) => names.push(name),
            State::Parallel(parallel) => parallel.branches.iter().for_each(|b| task_states(&b.states, names)),
            State::Map(map) => {
                map.item_processor.iter().chain(&map.iterator).for_each(|p| task_states(&p.states, names));
            }
            _ => {}
        }
    }
}

/// One execution's Task calls: those of a state its test case mocks answered by invocation
/// number, the others by the real integrations.
pub struct MockedIntegrations {
    test_case: Arc<TestCase>,
    real: Arc<dyn Integrations>,
    /// Where a mocked callback task's token waits: its Return is sent there at once.
    tokens: Option<Arc<TaskTokens>>,
    /// Calls made so far, by state name: the next call's invocation number.
    invocations: Mutex<HashMap<String, u64>>,
}

impl MockedIntegrations {
    pub fn new(test_case: Arc<TestCase>, real: Arc<dyn Integrations>, tokens: Option<Arc<TaskTokens>>) -> Self {
        Self { test_case, real, tokens, invocations: Mutex::default() }
    }

    fn mocked(&self, call: &TaskCall, response: &MockedResponse) -> Result<Value, TaskFailure> {
        let n = {
            let mut invocations = self.invocations.lock().unwrap_or_else(|e| e.into_inner());
            let count = invocations.entry(call.state_name.clone()).or_default();
            *count += 1;
            *count - 1
        };
        tracing::debug!(state = call.state_name, invocation = n, response = response.name, "mocked Task call");
        match response.answer(n) {
            Some(Answer::Return(result)) => {
                // A callback task waits for its token once the call is answered: the mocked result
                // is its SendTaskSuccess, there before the wait starts (the interpreter opened the
                // token before this call). Undocumented by AWS beyond "Step Functions Local will
                // automatically generate a task token"; its history shows TaskSubmitted (with this
                // result) then TaskSucceeded.
                if let (Some(token), Some(tokens)) = (&call.task_token, &self.tokens)
                    && let Err(e) = tokens.send(token, Callback::Success(result.clone()))
                {
                    tracing::warn!(state = call.state_name, "the mocked result found no waiting token: {e}");
                }
                Ok(result.clone())
            }
            Some(Answer::Throw { error, cause }) => Err(TaskFailure::new(error, cause)),
            None => Err(TaskFailure::new(
                names::RUNTIME,
                format!(
                    "The state {:?} was called for the {} time (invocation {n}), but the mocked response {:?} that \
                     test case {:?} of the state machine {:?} gives it in {} has no entry for invocation {n} (its \
                     entries: {}); add one, e.g. \"{n}\": {{\"Return\": ...}}, to MockedResponses.{}",
                    call.state_name,
                    ordinal(n + 1),
                    response.name,
                    self.test_case.name,
                    self.test_case.state_machine,
                    self.test_case.file.display(),
                    response.keys(),
                    response.name
                ),
            )),
        }
    }
}

fn ordinal(n: u64) -> String {
    let suffix = match (n % 10, n % 100) {
        (_, 11..=13) => "th",
        (1, _) => "st",
        (2, _) => "nd",
        (3, _) => "rd",
        _ => "th",
    };
    format!("{n}{suffix}")
}

impl Integrations for MockedIntegrations {
    fn invoke(&self, call: TaskCall) -> BoxFuture<'_, Result<Value, TaskFailure>> {
        match self.test_case.states.get(&call.state_name) {
            Some(response) => {
                let answer = self.mocked(&call, response);
                Box::pin(async move { answer })
            }
            None => self.real.invoke(call),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;
    use states_interpreter::{
        EventDetails, Execution, ExecutionContext, HistoryRecorder, Outcome, TaskEvents, TimeScale,
    };
    use tokio_util::sync::CancellationToken;

    /// The example of AWS's "Configuration file for mocked service integrations" page.
    fn aws_example() -> Value {
        json!({
            "StateMachines": {"LambdaSQSIntegration": {"TestCases": {
                "HappyPath": {"LambdaState": "MockedLambdaSuccess", "SQSState": "MockedSQSSuccess"},
                "RetryPath": {"LambdaState": "MockedLambdaRetry", "SQSState": "MockedSQSSuccess"},
                "HybridPath": {"LambdaState": "MockedLambdaSuccess"}
            }}},
            "MockedResponses": {
                "MockedLambdaSuccess": {"0": {"Return": {"StatusCode": 200, "Payload": {"StatusCode": 200, "body": "Hello from Lambda!"}}}},
                "LambdaMockedResourceNotReady": {"0": {"Throw": {"Error": "Lambda.ResourceNotReadyException", "Cause": "Lambda resource is not ready."}}},
                "MockedSQSSuccess": {"0": {"Return": {"MD5OfMessageBody": "3bcb6e8e-7h85-4375-b0bc-1a59812c6e51", "MessageId": "3bcb6e8e-8b51-4375-b0bc-1a59812c6e51"}}},
                "MockedLambdaRetry": {
                    "0": {"Throw": {"Error": "Lambda.ResourceNotReadyException", "Cause": "Lambda resource is not ready."}},
                    "1-2": {"Throw": {"Error": "Lambda.TimeoutException", "Cause": "Lambda timed out."}},
                    "3": {"Return": {"StatusCode": 200, "Payload": {"StatusCode": 200, "body": "Hello from Lambda!"}}}
                }
            }
        })
    }

    const FILE: &str = "/tmp/MockConfigFile.json";

    fn parse(document: &Value) -> Result<MockConfig, MockConfigError> {
        MockConfig::parse(Path::new(FILE), &document.to_string())
    }

    /// The error for `document`, checked to name the file and to contain each of `expected`.
    fn refused(document: &str, expected: &[&str]) -> String {
        let err = MockConfig::parse(Path::new(FILE), document).unwrap_err().to_string();
        assert!(err.contains(FILE) && err.contains(MOCK_CONFIG_ENV), "{err}");
        for part in expected {
            assert!(err.contains(part), "{part:?} not in: {err}");
        }
        err
    }

    #[test]
    fn the_aws_example_parses_and_each_invocation_finds_its_entry() {
        let config = parse(&aws_example()).unwrap();
        assert_eq!(config.counts(), (1, 3));
        let retry = config.test_case("LambdaSQSIntegration", "RetryPath").unwrap();
        assert_eq!(retry.states.keys().collect::<Vec<_>>(), ["LambdaState", "SQSState"]);
        let lambda = &retry.states["LambdaState"];
        let throw = |error: &str, cause: &str| Answer::Throw { error: error.into(), cause: cause.into() };
        assert_eq!(lambda.answer(0), Some(&throw("Lambda.ResourceNotReadyException", "Lambda resource is not ready.")));
        assert_eq!(lambda.answer(1), Some(&throw("Lambda.TimeoutException", "Lambda timed out.")));
        assert_eq!(lambda.answer(2), lambda.answer(1));
        assert!(matches!(lambda.answer(3), Some(Answer::Return(r)) if r["StatusCode"] == 200));
        assert_eq!(lambda.answer(4), None, "past the last entry: no answer");
        let hybrid = config.test_case("LambdaSQSIntegration", "HybridPath").unwrap();
        assert!(!hybrid.states.contains_key("SQSState"));
    }

    #[test]
    fn ranges_are_inclusive_and_a_gap_or_an_empty_response_answers_nothing() {
        let config = parse(&json!({
            "StateMachines": {"M": {"TestCases": {"T": {"A": "R", "B": "Empty"}}}},
            "MockedResponses": {
                "R": {"5-7": {"Return": "late"}, "0": {"Return": [1, 2]}, "2-3": {"Throw": {"Error": "E", "Cause": ""}}},
                "Empty": {}
            }
        }))
        .unwrap();
        let case = config.test_case("M", "T").unwrap();
        let r = &case.states["A"];
        let answers: Vec<Option<&Answer>> = (0..9).map(|n| r.answer(n)).collect();
        assert_eq!(answers[0], Some(&Answer::Return(json!([1, 2]))), "any JSON value is a result");
        assert_eq!((answers[1], answers[4], answers[8]), (None, None, None));
        assert!(matches!(answers[2], Some(Answer::Throw { error, .. }) if error == "E"));
        assert_eq!(answers[3], answers[2]);
        assert_eq!([answers[5], answers[6], answers[7]], [Some(&Answer::Return(json!("late"))); 3]);
        assert_eq!(case.states["B"].answer(0), None);
        assert_eq!(r.keys(), r#""0", "2-3", "5-7""#);
    }

    #[test]
    fn a_file_that_is_not_a_mock_configuration_is_refused_with_the_fix() {
        refused("{\"StateMachines\": {", &["not JSON", "line 1"]);
        refused("[]", &["an array", "StateMachines and MockedResponses"]);
        refused(r#"{"StateMachines": {}}"#, &["no MockedResponses", "add \"MockedResponses\""]);
        refused(r#"{"MockedResponses": {}}"#, &["no StateMachines"]);
        refused(r#"{"StateMachines": {}, "MockedResponse": {}}"#, &["\"MockedResponse\"", "write MockedResponses"]);
        refused(r#"{"StateMachines": [], "MockedResponses": {}}"#, &["StateMachines is an array"]);
        refused(
            r#"{"StateMachines": {"M": {"TestCase": {}}}, "MockedResponses": {}}"#,
            &["StateMachines[\"M\"]", "\"TestCase\"", "only field is TestCases"],
        );
        refused(r#"{"StateMachines": {"M": {}}, "MockedResponses": {}}"#, &["StateMachines[\"M\"] has no TestCases"]);
        refused(
            r#"{"StateMachines": {"M": {"TestCases": {"T": {"S": 3}}}}, "MockedResponses": {}}"#,
            &["TestCases[\"T\"][\"S\"] is a number", "name of one of MockedResponses"],
        );
    }

    #[test]
    fn a_test_case_naming_a_response_that_does_not_exist_is_refused() {
        let mut document = aws_example();
        document["StateMachines"]["LambdaSQSIntegration"]["TestCases"]["HappyPath"]["SQSState"] = json!("MockedSQS");
        refused(
            &document.to_string(),
            &[
                "StateMachines[\"LambdaSQSIntegration\"].TestCases[\"HappyPath\"][\"SQSState\"]",
                "\"MockedSQS\"",
                "LambdaMockedResourceNotReady, MockedLambdaRetry, MockedLambdaSuccess, MockedSQSSuccess",
                "add it to MockedResponses or correct the name",
            ],
        );
    }

    #[test]
    fn an_entry_needs_exactly_one_of_return_and_throw_and_a_throw_both_strings() {
        let with = |entry: &str| format!(r#"{{"StateMachines": {{}}, "MockedResponses": {{"R": {{"0": {entry}}}}}}}"#);
        let at = "MockedResponses[\"R\"][\"0\"]";
        refused(
            &with(r#"{"Return": 1, "Throw": {"Error": "E", "Cause": "C"}}"#),
            &[at, "both Return and Throw", "keep one"],
        );
        refused(&with("{}"), &[at, "neither Return nor Throw", "add one"]);
        refused(&with(r#"{"Result": 1}"#), &[at, "\"Result\"", "exactly one field"]);
        refused(&with("5"), &[at, "is a number"]);
        refused(&with(r#"{"Throw": {"Error": "E"}}"#), &["[\"0\"].Throw has no Cause"]);
        refused(&with(r#"{"Throw": {"Cause": "C"}}"#), &["[\"0\"].Throw has no Error"]);
        refused(&with(r#"{"Throw": {"Error": 1, "Cause": "C"}}"#), &["Throw.Error is a number", "must be a string"]);
        refused(&with(r#"{"Throw": "E"}"#), &["Throw is a string"]);
        refused(&with(r#"{"Throw": {"Error": "E", "Cause": "C", "Code": 1}}"#), &["\"Code\"", "only Error and Cause"]);
    }

    #[test]
    fn malformed_and_overlapping_invocation_keys_are_refused() {
        let with = |keys: &[&str]| {
            let entries: Map<String, Value> = keys.iter().map(|k| ((*k).to_owned(), json!({"Return": {}}))).collect();
            json!({"StateMachines": {}, "MockedResponses": {"R": entries}}).to_string()
        };
        for bad in ["a", "1-", "-1", "1-2-3", " 1", "+1", "1.5", "", "0x1", "99999999999999999999"] {
            refused(&with(&[bad]), &[&format!("[{bad:?}]"), "not an invocation number or range", "\"1-2\""]);
        }
        refused(&with(&["2-1"]), &["[\"2-1\"]", "ends before it starts", "write \"1-2\""]);
        refused(&with(&["0-2", "2"]), &["\"0-2\" and \"2\" both cover invocation 2", "one entry"]);
        refused(&with(&["4", "1-9"]), &["\"1-9\" and \"4\" both cover invocation 4"]);
        let twice = r#"{"StateMachines": {}, "MockedResponses": {"R": {"0": {"Return": 1}, "0": {"Return": 2}}}}"#;
        refused(twice, &["MockedResponses[\"R\"] has the key \"0\" twice", "line 1 column"]);
        let case_twice = r#"{"StateMachines": {"M": {"TestCases": {"T": {}, "T": {}}}}, "MockedResponses": {}}"#;
        refused(case_twice, &["StateMachines[\"M\"][\"TestCases\"] has the key \"T\" twice"]);
        refused(r#"{"StateMachines": {}, "StateMachines": {}, "MockedResponses": {}}"#, &["the file has the key"]);
        let fine = MockConfig::parse(Path::new(FILE), &with(&["0", "1-3", "4-4", "007-8"])).unwrap();
        assert!(fine.state_machines.is_empty());
    }

    #[test]
    fn an_unreadable_file_names_the_variable_and_the_path() {
        let err = MockConfig::load(Path::new("/nonexistent/mock.json")).unwrap_err().to_string();
        assert!(err.starts_with("SFN_MOCK_CONFIG=/nonexistent/mock.json: "), "{err}");
        assert!(err.contains("or unset it"), "{err}");
    }

    #[test]
    fn the_test_case_is_what_follows_the_hash() {
        let arn = "arn:aws:states:us-east-1:123456789012:stateMachine:M";
        let take = |text: String| {
            let mut text = text;
            let case = take_test_case(&mut text);
            (text, case)
        };
        assert_eq!(take(format!("{arn}#HappyPath")), (arn.to_owned(), Some("HappyPath".to_owned())));
        assert_eq!(take(format!("{arn}#")), (arn.to_owned(), None), "a bare '#' runs unmocked");
        assert_eq!(take(arn.to_owned()), (arn.to_owned(), None));
    }

    /// The real integrations of a test: every call answered with its state name, and recorded.
    #[derive(Default)]
    struct Real(Mutex<Vec<String>>);

    impl Integrations for Real {
        fn invoke(&self, call: TaskCall) -> BoxFuture<'_, Result<Value, TaskFailure>> {
            self.0.lock().unwrap().push(call.state_name.clone());
            Box::pin(async move { Ok(json!({"real": call.state_name})) })
        }
    }

    fn call(state: &str, attempt: u32, token: Option<&str>) -> TaskCall {
        TaskCall {
            resource: "arn:aws:states:::lambda:invoke".into(),
            parameters: json!({}),
            state_name: state.into(),
            attempt,
            execution_arn: "arn:aws:states:us-east-1:123456789012:execution:LambdaSQSIntegration:e".into(),
            task_token: token.map(str::to_owned),
            cancellation: CancellationToken::new(),
            events: TaskEvents::detached("arn:aws:states:::lambda:invoke"),
        }
    }

    fn resolve(
        config: &MockConfig,
        case: Option<&str>,
        definition: Option<&StateMachine>,
    ) -> Result<Arc<dyn Integrations>, AwsError> {
        integrations_for(
            Some(config),
            case,
            "LambdaSQSIntegration",
            definition,
            Arc::new(Real::default()),
            Arc::new(TaskTokens::new()),
        )
    }

    #[tokio::test]
    async fn mocked_states_answer_by_invocation_and_the_others_call_the_real_service() {
        let config = parse(&aws_example()).unwrap();
        let real = Arc::new(Real::default());
        let case = config.test_case("LambdaSQSIntegration", "RetryPath").unwrap();
        let mocked = MockedIntegrations::new(case, real.clone(), None);
        // The invocation is the state's count of calls in the execution, not the call's attempt
        // (a Map iteration or a loop calls again with attempt 1).
        let mut answers = Vec::new();
        for _ in 0..5 {
            answers.push(mocked.invoke(call("LambdaState", 1, None)).await);
        }
        let errors: Vec<&str> = answers[..3].iter().map(|a| a.as_ref().unwrap_err().error.as_str()).collect();
        assert_eq!(errors, ["Lambda.ResourceNotReadyException", "Lambda.TimeoutException", "Lambda.TimeoutException"]);
        assert_eq!(answers[3].as_ref().unwrap()["Payload"]["body"], "Hello from Lambda!");
        let past = answers[4].as_ref().unwrap_err();
        assert_eq!(past.error, "States.Runtime", "never retried nor caught: the execution fails");
        for part in [
            "\"LambdaState\"",
            "5th time (invocation 4)",
            "\"MockedLambdaRetry\"",
            "\"RetryPath\"",
            FILE,
            r#""0", "1-2", "3""#,
            "\"4\": {\"Return\"",
        ] {
            assert!(past.cause.contains(part), "{part:?} not in {}", past.cause);
        }
        assert_eq!(
            mocked.invoke(call("SQSState", 1, None)).await.unwrap()["MessageId"],
            "3bcb6e8e-8b51-4375-b0bc-1a59812c6e51"
        );
        assert_eq!(mocked.invoke(call("Other", 1, None)).await.unwrap(), json!({"real": "Other"}));
        assert_eq!(*real.0.lock().unwrap(), ["Other"], "only the unmocked state reached the service");
    }

    #[tokio::test]
    async fn a_mocked_callback_task_ends_with_its_mocked_result_without_waiting_for_a_callback() {
        let definition = machine(json!({"StartAt": "SQSState", "States": {"SQSState": {"Type": "Task",
            "Resource": "arn:aws:states:::sqs:sendMessage.waitForTaskToken",
            "Parameters": {"QueueUrl": "q", "MessageBody": {"token.$": "$$.Task.Token"}}, "End": true}}}));
        let config = parse(&aws_example()).unwrap();
        let tokens = Arc::new(TaskTokens::new());
        let integrations = integrations_for(
            Some(&config),
            Some("HappyPath"),
            "LambdaSQSIntegration",
            None,
            Arc::new(Real::default()),
            tokens.clone(),
        )
        .unwrap();
        let recorder = Arc::new(HistoryRecorder::default());
        let outcome = Execution::new(definition, json!({}), context(), integrations)
            .with_events(recorder.clone())
            .with_task_tokens(tokens.clone())
            .run()
            .await;
        let Outcome::Succeeded { output } = outcome else { panic!("{outcome:?}") };
        assert_eq!(output["MessageId"], "3bcb6e8e-8b51-4375-b0bc-1a59812c6e51");
        let kinds: Vec<&str> = recorder
            .events()
            .iter()
            .filter_map(|e| match e.details {
                EventDetails::TaskSubmitted { .. } => Some("TaskSubmitted"),
                EventDetails::TaskSucceeded { .. } => Some("TaskSucceeded"),
                _ => None,
            })
            .collect();
        assert_eq!(kinds, ["TaskSubmitted", "TaskSucceeded"]);
        assert_eq!(tokens.waiting(), 0);
    }

    fn context() -> ExecutionContext {
        ExecutionContext::new(
            "arn:aws:states:us-east-1:123456789012:stateMachine:LambdaSQSIntegration",
            "e",
            "arn:aws:iam::123456789012:role/R",
        )
    }

    fn machine(definition: Value) -> StateMachine {
        StateMachine::from_json(&definition.to_string()).unwrap()
    }

    /// The state machine of AWS's page, its Retry as there (2 s, 3 attempts, backoff 2).
    fn lambda_sqs() -> StateMachine {
        machine(json!({
            "StartAt": "LambdaState",
            "States": {
                "LambdaState": {"Type": "Task", "Resource": "arn:aws:states:::lambda:invoke",
                    "Parameters": {"Payload.$": "$", "FunctionName": "HelloWorldFunction"},
                    "Retry": [{"ErrorEquals": ["States.ALL"], "IntervalSeconds": 2, "MaxAttempts": 3, "BackoffRate": 2}],
                    "Next": "SQSState"},
                "SQSState": {"Type": "Task", "Resource": "arn:aws:states:::sqs:sendMessage",
                    "Parameters": {"QueueUrl": "https://sqs.us-east-1.amazonaws.com/123456789012/myQueue", "MessageBody.$": "$"},
                    "End": true}
            }
        }))
    }

    async fn run(machine: StateMachine, integrations: Arc<dyn Integrations>) -> (Outcome, Vec<EventDetails>) {
        let recorder = Arc::new(HistoryRecorder::default());
        let outcome = Execution::new(machine, json!({}), context(), integrations)
            .with_events(recorder.clone())
            .with_time_scale(TimeScale::new(0.0))
            .run()
            .await;
        (outcome, recorder.events().into_iter().map(|e| e.details).collect())
    }

    #[tokio::test]
    async fn the_retry_path_of_aws_page_retries_three_times_then_succeeds_with_the_mocked_sqs_answer() {
        let config = parse(&aws_example()).unwrap();
        let integrations = resolve(&config, Some("RetryPath"), Some(&lambda_sqs())).unwrap();
        let (outcome, events) = run(lambda_sqs(), integrations).await;
        let Outcome::Succeeded { output } = outcome else { panic!("{outcome:?}") };
        assert_eq!(output["MessageId"], "3bcb6e8e-8b51-4375-b0bc-1a59812c6e51");
        let failed: Vec<&str> = events
            .iter()
            .filter_map(|e| match e {
                EventDetails::TaskFailed { error, .. } => Some(error.as_str()),
                _ => None,
            })
            .collect();
        assert_eq!(failed, ["Lambda.ResourceNotReadyException", "Lambda.TimeoutException", "Lambda.TimeoutException"]);
    }

    #[tokio::test]
    async fn a_call_past_the_last_entry_fails_the_execution_with_states_runtime_despite_retry_on_states_all() {
        let mut document = aws_example();
        document["MockedResponses"]["MockedLambdaRetry"].as_object_mut().unwrap().remove("3");
        let config = parse(&document).unwrap();
        let integrations = resolve(&config, Some("RetryPath"), Some(&lambda_sqs())).unwrap();
        let (outcome, _) = run(lambda_sqs(), integrations).await;
        let Outcome::Failed { error, cause } = outcome else { panic!("{outcome:?}") };
        assert_eq!(error, "States.Runtime");
        assert!(cause.contains("invocation 3"), "{cause}");
    }

    #[tokio::test]
    async fn a_map_s_iterations_share_the_invocation_count_of_their_state() {
        let definition = machine(json!({
            "StartAt": "Each",
            "States": {"Each": {"Type": "Map", "MaxConcurrency": 1, "ItemsPath": "$.items",
                "ItemProcessor": {"StartAt": "LambdaState", "States": {"LambdaState": {"Type": "Task",
                    "Resource": "arn:aws:states:::lambda:invoke", "End": true,
                    "Catch": [{"ErrorEquals": ["States.ALL"], "Next": "Caught"}]},
                    "Caught": {"Type": "Pass", "Result": "caught", "End": true}}},
                "End": true}}
        }));
        let config = parse(&json!({
            "StateMachines": {"LambdaSQSIntegration": {"TestCases": {"Items": {"LambdaState": "PerItem"}}}},
            "MockedResponses": {"PerItem": {"0-1": {"Return": "ok"}, "2": {"Throw": {"Error": "E", "Cause": "c"}}}}
        }))
        .unwrap();
        let integrations = resolve(&config, Some("Items"), Some(&definition)).unwrap();
        let outcome = Execution::new(definition, json!({"items": [1, 2, 3]}), context(), integrations)
            .with_time_scale(TimeScale::new(0.0))
            .run()
            .await;
        assert_eq!(outcome, Outcome::Succeeded { output: json!(["ok", "ok", "caught"]) });
    }

    #[test]
    fn a_start_naming_a_missing_test_case_or_a_state_that_is_no_task_is_refused() {
        let config = parse(&aws_example()).unwrap();
        assert!(resolve(&config, None, None).is_ok(), "no test case: the real integrations");
        let none = integrations_for(
            None,
            Some("HappyPath"),
            "M",
            None,
            Arc::new(Real::default()),
            Arc::new(TaskTokens::new()),
        );
        let err = none.err().unwrap();
        assert_eq!(err.error_type, "ValidationException");
        assert!(err.message.contains("\"HappyPath\"") && err.message.contains("SFN_MOCK_CONFIG=<the file>"), "{err}");

        let err = resolve(&config, Some("SadPath"), None).err().unwrap();
        assert_eq!(err.error_type, "ValidationException");
        for part in ["\"SadPath\"", "\"LambdaSQSIntegration\"", FILE, "HappyPath, HybridPath, RetryPath"] {
            assert!(err.message.contains(part), "{part:?} not in {err}");
        }
        let other = integrations_for(
            Some(&config),
            Some("HappyPath"),
            "Other",
            None,
            Arc::new(Real::default()),
            Arc::new(TaskTokens::new()),
        );
        let err = other.err().unwrap();
        assert!(
            err.message.contains("no state machine \"Other\"") && err.message.contains("LambdaSQSIntegration"),
            "{err}"
        );

        let renamed = machine(json!({"StartAt": "LambdaState", "States": {
            "LambdaState": {"Type": "Task", "Resource": "arn:aws:states:::lambda:invoke", "Next": "SendIt"},
            "SendIt": {"Type": "Parallel", "End": true, "Branches": [{"StartAt": "Send", "States": {
                "Send": {"Type": "Task", "Resource": "arn:aws:states:::sqs:sendMessage", "End": true}}}]}
        }}));
        let err = resolve(&config, Some("HappyPath"), Some(&renamed)).err().unwrap();
        for part in ["mocks the state \"SQSState\"", "no Task state", "LambdaState, Send", "TestCases.HappyPath"] {
            assert!(err.message.contains(part), "{part:?} not in {err}");
        }
        assert!(resolve(&config, Some("HybridPath"), Some(&renamed)).is_ok(), "a Task in a branch counts");
    }
}
