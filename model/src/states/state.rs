//! The eight state types of the Amazon States Language and what they share: Retry and Catch. Each
//! type is its own struct with exactly the fields ASL allows on it, so an unknown or misplaced field
//! (a typo such as `Retrys`, or `Next` on a Choice) is a parse error naming the field, not a silent
//! loss. Fields that ASL forbids in combination (`Next` with `End`, two Wait forms) are still
//! representable, so that `validate` can report every such mistake at once.

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::Value;

use super::choice::ChoiceRule;
use super::jsonata::NumberOrExpression;

/// The `Assign` field: workflow variables by name, in the order written.
pub type Variables = serde_json::Map<String, Value>;
use super::machine::{Branch, ItemProcessor, QueryLanguage};

/// The error name that matches every error (`States.ALL`); it must stand alone and come last.
pub const STATES_ALL: &str = "States.ALL";

/// One state. Serialises with its `"Type"` tag, e.g. `{"Type": "Task", ...}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "Type")]
// A machine holds tens of states, built once; matching on unboxed variants is worth the padding.
#[allow(clippy::large_enum_variant)]
pub enum State {
    Task(Task),
    Pass(Pass),
    Choice(Choice),
    Wait(Wait),
    Succeed(Succeed),
    Fail(Fail),
    Parallel(Parallel),
    Map(Map),
}

/// A path field that ASL lets be JSON `null` (`InputPath`, `OutputPath`, `ResultPath`), held
/// as `Option<NullablePath>`: `None` when absent (the default, `$`), [`NullablePath::Null`] for an
/// explicit `null` (discard: the state sees `{}` as input, or keeps its input unchanged for
/// `ResultPath`), [`NullablePath::Path`] otherwise. Serialises as the path string or `null`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum NullablePath {
    Path(String),
    Null,
}

impl NullablePath {
    /// The path, unless the field is `null`.
    pub fn as_path(&self) -> Option<&str> {
        match self {
            NullablePath::Path(path) => Some(path),
            NullablePath::Null => None,
        }
    }
}

impl From<&str> for NullablePath {
    fn from(path: &str) -> Self {
        NullablePath::Path(path.to_owned())
    }
}

impl From<String> for NullablePath {
    fn from(path: String) -> Self {
        NullablePath::Path(path)
    }
}

impl Serialize for NullablePath {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self {
            NullablePath::Path(path) => serializer.serialize_str(path),
            NullablePath::Null => serializer.serialize_none(),
        }
    }
}

impl<'de> Deserialize<'de> for NullablePath {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        Ok(Option::<String>::deserialize(deserializer)?.map_or(NullablePath::Null, NullablePath::Path))
    }
}

/// Keeps an explicit `null` apart from an absent field (plain `Option` would fold both into `None`):
/// serde calls this only when the field is present.
fn nullable<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<NullablePath>, D::Error> {
    NullablePath::deserialize(deserializer).map(Some)
}

fn is_false(value: &bool) -> bool {
    !*value
}

/// Calls an AWS service (or an activity): `Resource` is the integration ARN, e.g.
/// `arn:aws:states:::ecs:runTask.sync`. See [`super::integrations`] for builders.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
pub struct Task {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub comment: Option<String>,
    /// `JSONPath` (the default, or whatever the machine's top level says) or `JSONata`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub query_language: Option<QueryLanguage>,
    pub resource: String,
    /// JSONata: the request (Task) or the branches' input (Parallel); strings wrapped as `{% ... %}` are
    /// evaluated. Replaces `InputPath` and `Parameters`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub arguments: Option<Value>,
    #[serde(default, deserialize_with = "nullable", skip_serializing_if = "Option::is_none")]
    pub input_path: Option<NullablePath>,
    /// The request sent to the service; keys ending in `.$` take a path or intrinsic function.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub parameters: Option<Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub result_selector: Option<Value>,
    #[serde(default, deserialize_with = "nullable", skip_serializing_if = "Option::is_none")]
    pub result_path: Option<NullablePath>,
    #[serde(default, deserialize_with = "nullable", skip_serializing_if = "Option::is_none")]
    pub output_path: Option<NullablePath>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timeout_seconds: Option<NumberOrExpression>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timeout_seconds_path: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub heartbeat_seconds: Option<NumberOrExpression>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub heartbeat_seconds_path: Option<String>,
    /// The role the task assumes, e.g. `{"RoleArn": "..."}`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub credentials: Option<Value>,
    /// JSONata: the state's output (`$states.result` or the input when absent). Replaces
    /// `ResultSelector`, `ResultPath` and `OutputPath`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub output: Option<Value>,
    /// Workflow variables to set, by name, in both query languages (in JSONPath, `.$` keys take a
    /// path or an intrinsic function; in JSONata, strings wrapped as `{% ... %}` are evaluated).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub assign: Option<Variables>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub retry: Vec<Retrier>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub catch: Vec<Catcher>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next: Option<String>,
    #[serde(default, skip_serializing_if = "is_false")]
    pub end: bool,
}

impl Task {
    /// A Task calling `resource`, with no transition yet: set `next` or `end` before validating.
    pub fn new(resource: impl Into<String>) -> Self {
        Self { resource: resource.into(), ..Self::default() }
    }

    /// Continues with the state `name`.
    pub fn with_next(mut self, name: impl Into<String>) -> Self {
        self.next = Some(name.into());
        self.end = false;
        self
    }

    /// Ends the execution (or the branch) after this state.
    pub fn with_end(mut self) -> Self {
        self.next = None;
        self.end = true;
        self
    }

    /// Appends a retrier; they are tried in order, so add `States.ALL` last.
    pub fn with_retry(mut self, retrier: Retrier) -> Self {
        self.retry.push(retrier);
        self
    }

    /// Appends a catcher; they are tried in order, so add `States.ALL` last.
    pub fn with_catch(mut self, catcher: Catcher) -> Self {
        self.catch.push(catcher);
        self
    }
}

/// Passes its input to its output, optionally injecting a fixed `Result`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
pub struct Pass {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub comment: Option<String>,
    /// `JSONPath` (the default, or whatever the machine's top level says) or `JSONata`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub query_language: Option<QueryLanguage>,
    #[serde(default, deserialize_with = "nullable", skip_serializing_if = "Option::is_none")]
    pub input_path: Option<NullablePath>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub parameters: Option<Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub result: Option<Value>,
    #[serde(default, deserialize_with = "nullable", skip_serializing_if = "Option::is_none")]
    pub result_path: Option<NullablePath>,
    #[serde(default, deserialize_with = "nullable", skip_serializing_if = "Option::is_none")]
    pub output_path: Option<NullablePath>,
    /// JSONata: the state's output (`$states.result` or the input when absent). Replaces
    /// `ResultSelector`, `ResultPath` and `OutputPath`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub output: Option<Value>,
    /// Workflow variables to set, by name, in both query languages (in JSONPath, `.$` keys take a
    /// path or an intrinsic function; in JSONata, strings wrapped as `{% ... %}` are evaluated).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub assign: Option<Variables>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next: Option<String>,
    #[serde(default, skip_serializing_if = "is_false")]
    pub end: bool,
}

/// Branches on the input: the first rule that matches names the next state, else `Default`.
/// A Choice never ends an execution, so it has neither `Next` nor `End`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
pub struct Choice {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub comment: Option<String>,
    /// `JSONPath` (the default, or whatever the machine's top level says) or `JSONata`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub query_language: Option<QueryLanguage>,
    #[serde(default, deserialize_with = "nullable", skip_serializing_if = "Option::is_none")]
    pub input_path: Option<NullablePath>,
    #[serde(default, deserialize_with = "nullable", skip_serializing_if = "Option::is_none")]
    pub output_path: Option<NullablePath>,
    /// JSONata: the state's output (`$states.result` or the input when absent). Replaces
    /// `ResultSelector`, `ResultPath` and `OutputPath`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub output: Option<Value>,
    /// Workflow variables to set, by name, in both query languages (in JSONPath, `.$` keys take a
    /// path or an intrinsic function; in JSONata, strings wrapped as `{% ... %}` are evaluated).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub assign: Option<Variables>,
    #[serde(default)]
    pub choices: Vec<ChoiceRule>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub default: Option<String>,
}

/// Waits, in exactly one of four forms: `Seconds`, `Timestamp` (RFC 3339), or either read from
/// the input through `SecondsPath` / `TimestampPath`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
pub struct Wait {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub comment: Option<String>,
    /// `JSONPath` (the default, or whatever the machine's top level says) or `JSONata`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub query_language: Option<QueryLanguage>,
    #[serde(default, deserialize_with = "nullable", skip_serializing_if = "Option::is_none")]
    pub input_path: Option<NullablePath>,
    #[serde(default, deserialize_with = "nullable", skip_serializing_if = "Option::is_none")]
    pub output_path: Option<NullablePath>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub seconds: Option<NumberOrExpression>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timestamp: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub seconds_path: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timestamp_path: Option<String>,
    /// JSONata: the state's output (`$states.result` or the input when absent). Replaces
    /// `ResultSelector`, `ResultPath` and `OutputPath`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub output: Option<Value>,
    /// Workflow variables to set, by name, in both query languages (in JSONPath, `.$` keys take a
    /// path or an intrinsic function; in JSONata, strings wrapped as `{% ... %}` are evaluated).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub assign: Option<Variables>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next: Option<String>,
    #[serde(default, skip_serializing_if = "is_false")]
    pub end: bool,
}

/// Ends the execution (or branch) successfully.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
pub struct Succeed {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub comment: Option<String>,
    /// `JSONPath` (the default, or whatever the machine's top level says) or `JSONata`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub query_language: Option<QueryLanguage>,
    #[serde(default, deserialize_with = "nullable", skip_serializing_if = "Option::is_none")]
    pub input_path: Option<NullablePath>,
    #[serde(default, deserialize_with = "nullable", skip_serializing_if = "Option::is_none")]
    pub output_path: Option<NullablePath>,
    /// JSONata: the state's output (`$states.result` or the input when absent). Replaces
    /// `ResultSelector`, `ResultPath` and `OutputPath`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub output: Option<Value>,
    /// Never valid (a Succeed state is terminal); parsed only so `validate` can name the mistake.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next: Option<String>,
}

/// Ends the execution (or branch) with an error and a cause, given literally or read from the input.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
pub struct Fail {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub comment: Option<String>,
    /// `JSONPath` (the default, or whatever the machine's top level says) or `JSONata`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub query_language: Option<QueryLanguage>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error_path: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cause: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cause_path: Option<String>,
    /// Never valid (a Fail state is terminal); parsed only so `validate` can name the mistake.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next: Option<String>,
}

/// Runs each branch on the same input, concurrently; the result is the array of branch outputs.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
pub struct Parallel {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub comment: Option<String>,
    /// `JSONPath` (the default, or whatever the machine's top level says) or `JSONata`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub query_language: Option<QueryLanguage>,
    #[serde(default, deserialize_with = "nullable", skip_serializing_if = "Option::is_none")]
    pub input_path: Option<NullablePath>,
    /// JSONata: the request (Task) or the branches' input (Parallel); strings wrapped as `{% ... %}` are
    /// evaluated. Replaces `InputPath` and `Parameters`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub arguments: Option<Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub parameters: Option<Value>,
    pub branches: Vec<Branch>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub result_selector: Option<Value>,
    #[serde(default, deserialize_with = "nullable", skip_serializing_if = "Option::is_none")]
    pub result_path: Option<NullablePath>,
    #[serde(default, deserialize_with = "nullable", skip_serializing_if = "Option::is_none")]
    pub output_path: Option<NullablePath>,
    /// JSONata: the state's output (`$states.result` or the input when absent). Replaces
    /// `ResultSelector`, `ResultPath` and `OutputPath`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub output: Option<Value>,
    /// Workflow variables to set, by name, in both query languages (in JSONPath, `.$` keys take a
    /// path or an intrinsic function; in JSONata, strings wrapped as `{% ... %}` are evaluated).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub assign: Option<Variables>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub retry: Vec<Retrier>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub catch: Vec<Catcher>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next: Option<String>,
    #[serde(default, skip_serializing_if = "is_false")]
    pub end: bool,
}

/// Runs a processor once per item of an array in the input. `ItemProcessor` is the current form;
/// `Iterator` the older one (exactly one of the two). `ItemSelector` replaced `Parameters`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
pub struct Map {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub comment: Option<String>,
    /// `JSONPath` (the default, or whatever the machine's top level says) or `JSONata`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub query_language: Option<QueryLanguage>,
    #[serde(default, deserialize_with = "nullable", skip_serializing_if = "Option::is_none")]
    pub input_path: Option<NullablePath>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub items_path: Option<String>,
    /// JSONata: the items, a JSON array or an expression giving one. Replaces `ItemsPath`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub items: Option<Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub item_processor: Option<ItemProcessor>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub iterator: Option<ItemProcessor>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub item_selector: Option<Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub parameters: Option<Value>,
    /// Distributed mode only: where the items come from (e.g. an S3 object), free-form.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub item_reader: Option<Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub item_batcher: Option<Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub result_writer: Option<Value>,
    /// 0 means no limit; in a JSONata state, also an expression giving the number.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_concurrency: Option<NumberOrExpression>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_concurrency_path: Option<String>,
    /// In a JSONata state, also an expression giving the number.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tolerated_failure_count: Option<NumberOrExpression>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tolerated_failure_percentage: Option<f64>,
    /// `ToleratedFailureCount` read from the state's input.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tolerated_failure_count_path: Option<String>,
    /// `ToleratedFailurePercentage` read from the state's input.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tolerated_failure_percentage_path: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub label: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub result_selector: Option<Value>,
    #[serde(default, deserialize_with = "nullable", skip_serializing_if = "Option::is_none")]
    pub result_path: Option<NullablePath>,
    #[serde(default, deserialize_with = "nullable", skip_serializing_if = "Option::is_none")]
    pub output_path: Option<NullablePath>,
    /// JSONata: the state's output (`$states.result` or the input when absent). Replaces
    /// `ResultSelector`, `ResultPath` and `OutputPath`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub output: Option<Value>,
    /// Workflow variables to set, by name, in both query languages (in JSONPath, `.$` keys take a
    /// path or an intrinsic function; in JSONata, strings wrapped as `{% ... %}` are evaluated).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub assign: Option<Variables>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub retry: Vec<Retrier>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub catch: Vec<Catcher>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next: Option<String>,
    #[serde(default, skip_serializing_if = "is_false")]
    pub end: bool,
}

/// Retries a Task, Parallel or Map on the errors it names. Absent fields take ASL's defaults:
/// IntervalSeconds 1, MaxAttempts 3, BackoffRate 2.0. Intervals are whole seconds.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
pub struct Retrier {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub comment: Option<String>,
    pub error_equals: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub interval_seconds: Option<u64>,
    /// Signed so that a negative value parses and `validate` can say what is wrong with it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_attempts: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub backoff_rate: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_delay_seconds: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub jitter_strategy: Option<JitterStrategy>,
}

impl Retrier {
    /// A retrier on `errors`, e.g. `Retrier::on(["States.TaskFailed"]).interval_seconds(2)`.
    pub fn on<I, S>(errors: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        Self { error_equals: errors.into_iter().map(Into::into).collect(), ..Self::default() }
    }

    pub fn interval_seconds(mut self, seconds: u64) -> Self {
        self.interval_seconds = Some(seconds);
        self
    }

    pub fn max_attempts(mut self, attempts: i64) -> Self {
        self.max_attempts = Some(attempts);
        self
    }

    pub fn backoff_rate(mut self, rate: f64) -> Self {
        self.backoff_rate = Some(rate);
        self
    }
}

/// How a retry interval is randomised: `FULL` picks uniformly between 0 and the interval.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum JitterStrategy {
    Full,
    None,
}

/// Sends a Task, Parallel or Map that failed (after its retries) on the errors it names to `Next`,
/// with the error output placed at `ResultPath`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
pub struct Catcher {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub comment: Option<String>,
    pub error_equals: Vec<String>,
    #[serde(default, deserialize_with = "nullable", skip_serializing_if = "Option::is_none")]
    pub result_path: Option<NullablePath>,
    /// JSONata: the output passed to `Next` (`$states.errorOutput` when absent). Replaces `ResultPath`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub output: Option<Value>,
    /// Workflow variables to set, by name, in both query languages (in JSONPath, `.$` keys take a
    /// path or an intrinsic function; in JSONata, strings wrapped as `{% ... %}` are evaluated).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub assign: Option<Variables>,
    pub next: String,
}

impl Catcher {
    /// A catcher sending `errors` to the state `next`.
    pub fn on<I, S>(errors: I, next: impl Into<String>) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        Self { error_equals: errors.into_iter().map(Into::into).collect(), next: next.into(), ..Self::default() }
    }

    /// Where the error output goes in the state's input, e.g. `$.error`.
    pub fn result_path(mut self, path: impl Into<String>) -> Self {
        self.result_path = Some(NullablePath::Path(path.into()));
        self
    }
}

impl State {
    /// The `Type` name, as written in the definition.
    pub fn type_name(&self) -> &'static str {
        match self {
            State::Task(_) => "Task",
            State::Pass(_) => "Pass",
            State::Choice(_) => "Choice",
            State::Wait(_) => "Wait",
            State::Succeed(_) => "Succeed",
            State::Fail(_) => "Fail",
            State::Parallel(_) => "Parallel",
            State::Map(_) => "Map",
        }
    }

    /// The state to go to next, on the types that transition (a stray `Next` on Succeed or Fail is
    /// not one: those always end).
    pub fn next(&self) -> Option<&str> {
        match self {
            State::Task(s) => s.next.as_deref(),
            State::Pass(s) => s.next.as_deref(),
            State::Wait(s) => s.next.as_deref(),
            State::Parallel(s) => s.next.as_deref(),
            State::Map(s) => s.next.as_deref(),
            State::Choice(_) | State::Succeed(_) | State::Fail(_) => None,
        }
    }

    /// The `End` field; Succeed and Fail end implicitly and report `false` here.
    pub fn end(&self) -> bool {
        match self {
            State::Task(s) => s.end,
            State::Pass(s) => s.end,
            State::Wait(s) => s.end,
            State::Parallel(s) => s.end,
            State::Map(s) => s.end,
            State::Choice(_) | State::Succeed(_) | State::Fail(_) => false,
        }
    }

    /// The state's own `QueryLanguage`, when it sets one.
    pub fn query_language(&self) -> Option<QueryLanguage> {
        match self {
            State::Task(s) => s.query_language,
            State::Pass(s) => s.query_language,
            State::Choice(s) => s.query_language,
            State::Wait(s) => s.query_language,
            State::Succeed(s) => s.query_language,
            State::Fail(s) => s.query_language,
            State::Parallel(s) => s.query_language,
            State::Map(s) => s.query_language,
        }
    }

    /// `Assign`, on the types that set variables (all but Succeed and Fail).
    pub fn assign(&self) -> Option<&Variables> {
        match self {
            State::Task(s) => s.assign.as_ref(),
            State::Pass(s) => s.assign.as_ref(),
            State::Choice(s) => s.assign.as_ref(),
            State::Wait(s) => s.assign.as_ref(),
            State::Parallel(s) => s.assign.as_ref(),
            State::Map(s) => s.assign.as_ref(),
            State::Succeed(_) | State::Fail(_) => None,
        }
    }

    /// JSONata `Output`, on the types that have it (all but Fail).
    pub fn output(&self) -> Option<&Value> {
        match self {
            State::Task(s) => s.output.as_ref(),
            State::Pass(s) => s.output.as_ref(),
            State::Choice(s) => s.output.as_ref(),
            State::Wait(s) => s.output.as_ref(),
            State::Succeed(s) => s.output.as_ref(),
            State::Parallel(s) => s.output.as_ref(),
            State::Map(s) => s.output.as_ref(),
            State::Fail(_) => None,
        }
    }

    /// Retriers, on the types that can retry.
    pub fn retry(&self) -> &[Retrier] {
        match self {
            State::Task(s) => &s.retry,
            State::Parallel(s) => &s.retry,
            State::Map(s) => &s.retry,
            _ => &[],
        }
    }

    /// Catchers, on the types that can catch.
    pub fn catch(&self) -> &[Catcher] {
        match self {
            State::Task(s) => &s.catch,
            State::Parallel(s) => &s.catch,
            State::Map(s) => &s.catch,
            _ => &[],
        }
    }
}

macro_rules! into_state {
    ($($ty:ident),*) => {
        $(impl From<$ty> for State {
            fn from(state: $ty) -> Self {
                State::$ty(state)
            }
        })*
    };
}
into_state!(Task, Pass, Choice, Wait, Succeed, Fail, Parallel, Map);
