//! TestState's mocked results checked against the output shape of the API the Task state
//! integrates, as AWS checks them (`mock.fieldValidationMode`, API_MockInput): STRICT, the
//! default, wants every required member and every present member of the right kind; PRESENT
//! checks only the members present; NONE checks nothing. A member the API does not have is
//! accepted in every mode (AWS accepted `{"random":"json"}`). Failures are AWS's own
//! ValidationException messages, `Mock result schema validation error: Field 'X' must be a string`.
//!
//! The shapes come from the AWS service models botocore ships, extracted into `mock-shapes.json`
//! (only what the outputs below reach, with member names as Step Functions presents them) and
//! embedded, so the gateway reads no Python files. Known results, in any partition:
//! - `arn:aws:states:::ecs:runTask`: ECS's `RunTaskResponse` (`Tasks`, `Failures`);
//! - `arn:aws:states:::ecs:runTask.sync`: one ECS `Task`, the stopped task's description;
//! - `arn:aws:states:::sns:publish`: SNS's `PublishResponse` (`MessageId`, `SequenceNumber`).
//!
//! Every other resource is not validated: `.waitForTaskToken` results are whatever the task
//! sends with SendTaskSuccess, and integrations whose shapes are not embedded are passed through.
//! The tests below regenerate the file (`cargo test -p localcloud --lib mock_schema -- --ignored`)
//! and check it against the botocore in `.venv/` when there is one.

use std::cmp::Ordering;
use std::collections::BTreeMap;
use std::str::FromStr;
use std::sync::LazyLock;

use serde::{Deserialize, Serialize};
use serde_json::{Number, Value};

/// How strictly a mocked result is checked (`mock.fieldValidationMode`; STRICT when absent).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(try_from = "String")]
pub enum FieldValidationMode {
    /// Every required member present, every present member of the API's shape.
    #[default]
    Strict,
    /// Every present member of the API's shape; required members may be missing.
    Present,
    /// Nothing is checked.
    None,
}

/// A `fieldValidationMode` that is none of STRICT, PRESENT and NONE, in the words AWS uses for a
/// request member outside its enum.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "1 validation error detected: Value '{value}' at 'mock.fieldValidationMode' failed to satisfy constraint: \
     Member must satisfy enum value set: [STRICT, PRESENT, NONE]"
)]
pub struct UnknownFieldValidationMode {
    pub value: String,
}

impl FieldValidationMode {
    /// The name the API uses.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Strict => "STRICT",
            Self::Present => "PRESENT",
            Self::None => "NONE",
        }
    }

    /// The request's `mock.fieldValidationMode`: STRICT when it has none.
    pub fn from_api(value: Option<&str>) -> Result<Self, UnknownFieldValidationMode> {
        value.map_or(Ok(Self::default()), str::parse)
    }
}

impl FromStr for FieldValidationMode {
    type Err = UnknownFieldValidationMode;

    /// The API's names exactly, as AWS reads them (`strict` is not one of them).
    fn from_str(value: &str) -> Result<Self, Self::Err> {
        match value {
            "STRICT" => Ok(Self::Strict),
            "PRESENT" => Ok(Self::Present),
            "NONE" => Ok(Self::None),
            other => Err(UnknownFieldValidationMode { value: other.to_owned() }),
        }
    }
}

impl TryFrom<String> for FieldValidationMode {
    type Error = UnknownFieldValidationMode;

    fn try_from(value: String) -> Result<Self, Self::Error> {
        value.parse()
    }
}

/// Checks `result`, the mocked result of a Task state whose Resource is `resource`, against the
/// output shape of the API it integrates, as TestState does with `mode`. The error is AWS's
/// ValidationException message. Resources whose result shape is not embedded (see the module's
/// documentation), `.waitForTaskToken` ones among them, are not validated.
pub fn validate(resource: &str, result: &Value, mode: FieldValidationMode) -> Result<(), String> {
    validate_with(&SCHEMA, resource, result, mode)
}

fn validate_with(schema: &Schema, resource: &str, result: &Value, mode: FieldValidationMode) -> Result<(), String> {
    if mode == FieldValidationMode::None {
        return Ok(());
    }
    let Some(shape) = integration(resource).and_then(|integration| schema.resources.get(integration)) else {
        return Ok(());
    };
    let Some(object) = result.as_object() else {
        // Not one of AWS's recorded answers: no field to name, so the result itself is named.
        return Err(format!("{PREFIX}The mocked result must be a JSON object"));
    };
    Validation { schema, mode }.structure(shape, object)
}

/// `<service>:<action>[.<pattern>]` of `arn:<partition>:states:::<service>:<action>[.<pattern>]`.
fn integration(resource: &str) -> Option<&str> {
    match resource.splitn(6, ':').collect::<Vec<_>>().as_slice() {
        ["arn", partition, "states", "", "", integration] if !partition.is_empty() => Some(integration),
        _ => None,
    }
}

const PREFIX: &str = "Mock result schema validation error: ";

/// The embedded shapes; `mock-shapes.json` is checked to parse by a test.
static SCHEMA: LazyLock<Schema> = LazyLock::new(|| {
    serde_json::from_str(include_str!("mock-shapes.json"))
        .unwrap_or_else(|e| panic!("the embedded mock-shapes.json does not parse: {e}"))
});

/// What `mock-shapes.json` holds.
#[derive(Debug, PartialEq, Serialize, Deserialize)]
struct Schema {
    /// What the shapes were extracted from (botocore and its version), for a reader.
    source: String,
    /// `<service>:<action>[.sync]` → the shape of its result.
    resources: BTreeMap<String, String>,
    /// `<service>.<ShapeName>` → the shape; member names as Step Functions presents them.
    shapes: BTreeMap<String, Shape>,
}

/// A Smithy/botocore shape, reduced to what a mocked result is checked for. `min`/`max` bound a
/// length (string, blob, list, map) or a value (numbers), where the model has them.
#[derive(Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "lowercase")]
enum Shape {
    Structure {
        members: BTreeMap<String, String>,
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        required: Vec<String>,
    },
    List {
        member: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        min: Option<Number>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        max: Option<Number>,
    },
    Map {
        value: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        min: Option<Number>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        max: Option<Number>,
    },
    String {
        #[serde(default, rename = "enum", skip_serializing_if = "Option::is_none")]
        values: Option<Vec<String>>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        min: Option<Number>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        max: Option<Number>,
    },
    /// Given as a string in a mock (as AWS's JSON protocols give blobs, base64).
    Blob {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        min: Option<Number>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        max: Option<Number>,
    },
    /// Given as a string in a mock: AWS refused a timestamp given as a number or a boolean with
    /// "must be a string" (its executions give ECS's timestamps as epoch milliseconds, numbers).
    Timestamp,
    Boolean,
    /// integer, long, float and double: any JSON number, within `min`/`max`.
    Number {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        min: Option<Number>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        max: Option<Number>,
    },
}

struct Validation<'a> {
    schema: &'a Schema,
    mode: FieldValidationMode,
}

impl Validation<'_> {
    fn shape(&self, name: &str) -> Result<&Shape, String> {
        // Only a hand-edited mock-shapes.json can name a shape it lacks; the tests check it does not.
        self.schema.shapes.get(name).ok_or_else(|| format!("{PREFIX}the embedded shapes lack {name}"))
    }

    /// AWS checks a structure's required members before its present ones.
    fn structure(&self, shape: &str, object: &serde_json::Map<String, Value>) -> Result<(), String> {
        let Shape::Structure { members, required } = self.shape(shape)? else {
            return Err(format!("{PREFIX}the embedded shape {shape} is not a structure"));
        };
        if self.mode == FieldValidationMode::Strict
            && let Some(missing) = required.iter().find(|name| !object.contains_key(name.as_str()))
        {
            return Err(format!("{PREFIX}Required field '{missing}' is missing"));
        }
        for (name, value) in object {
            if let Some(member) = members.get(name) {
                self.value(name, member, value)?;
            }
        }
        Ok(())
    }

    /// `value` of the member `field`, of shape `shape`; list items and map values are named by
    /// their list's or map's field.
    fn value(&self, field: &str, shape: &str, value: &Value) -> Result<(), String> {
        let must_be = |kind: &str| Err(format!("{PREFIX}Field '{field}' must be {kind}"));
        match self.shape(shape)? {
            Shape::Structure { .. } => match value.as_object() {
                Some(object) => self.structure(shape, object),
                None => must_be("an object"),
            },
            Shape::List { member, min, max } => {
                let Some(items) = value.as_array() else { return must_be("an array") };
                check_length(field, items.len(), min, max)?;
                items.iter().try_for_each(|item| self.value(field, member, item))
            }
            Shape::Map { value: values, min, max } => {
                let Some(object) = value.as_object() else { return must_be("an object") };
                check_length(field, object.len(), min, max)?;
                object.values().try_for_each(|item| self.value(field, values, item))
            }
            Shape::String { values, min, max } => {
                let Some(text) = value.as_str() else { return must_be("a string") };
                if values.as_ref().is_some_and(|values| !values.iter().any(|v| v == text)) {
                    return Err(format!("{PREFIX}Field '{field}' is not an expected value"));
                }
                check_length(field, text.chars().count(), min, max)
            }
            Shape::Blob { min, max } => match value.as_str() {
                Some(text) => check_length(field, text.chars().count(), min, max),
                None => must_be("a string"),
            },
            Shape::Timestamp if value.is_string() => Ok(()),
            Shape::Timestamp => must_be("a string"),
            Shape::Boolean if value.is_boolean() => Ok(()),
            Shape::Boolean => must_be("a boolean"),
            Shape::Number { min, max } => {
                let Some(number) = value.as_number() else { return must_be("a number") };
                if min.as_ref().is_some_and(|min| compare(number, min) == Ordering::Less) {
                    return Err(format!("{PREFIX}Field '{field}' is less than the minimum value"));
                }
                if max.as_ref().is_some_and(|max| compare(number, max) == Ordering::Greater) {
                    return Err(format!("{PREFIX}Field '{field}' exceeds the maximum value"));
                }
                Ok(())
            }
        }
    }
}

/// A length (characters of a string or blob, items of a list, entries of a map) within the
/// model's bounds. "exceeds the maximum length" is not among AWS's recorded answers; it is
/// worded as the recorded "smaller than the minimum length" and "exceeds the maximum value".
fn check_length(field: &str, length: usize, min: &Option<Number>, max: &Option<Number>) -> Result<(), String> {
    let length = Number::from(length);
    if min.as_ref().is_some_and(|min| compare(&length, min) == Ordering::Less) {
        return Err(format!("{PREFIX}Field '{field}' is smaller than the minimum length"));
    }
    if max.as_ref().is_some_and(|max| compare(&length, max) == Ordering::Greater) {
        return Err(format!("{PREFIX}Field '{field}' exceeds the maximum length"));
    }
    Ok(())
}

/// Two JSON numbers compared exactly when both are integers, as floats otherwise.
fn compare(a: &Number, b: &Number) -> Ordering {
    if let (Some(a), Some(b)) = (a.as_i64(), b.as_i64()) {
        return a.cmp(&b);
    }
    if let (Some(a), Some(b)) = (a.as_u64(), b.as_u64()) {
        return a.cmp(&b);
    }
    let (a, b) = (a.as_f64().unwrap_or(f64::NAN), b.as_f64().unwrap_or(f64::NAN));
    a.partial_cmp(&b).unwrap_or(Ordering::Equal)
}

#[cfg(test)]
mod extract {
    //! `mock-shapes.json` from botocore's service models: the shapes reachable from each known
    //! resource's result, member names with their first letter upper-cased as Step Functions
    //! presents an optimised integration's result (ECS's `tasks[].taskArn` is `Tasks[].TaskArn`;
    //! SNS's members are PascalCase already).

    use std::collections::BTreeMap;
    use std::io::Read;
    use std::path::{Path, PathBuf};

    use serde_json::{Number, Value};

    use super::{Schema, Shape};

    /// Where a known resource's result shape is in a service model.
    enum Root {
        /// The output shape of an operation (for SNS, the shape inside its `resultWrapper`).
        Output(&'static str),
        /// A shape by name.
        Shape(&'static str),
    }

    /// The known resources: `<service>:<action>[.sync]`, the model (botocore's directory and API
    /// version) and where its result's shape is. The .sync result of runTask is the stopped
    /// task's description (one `Task`, PascalCase), not DescribeTasks' answer.
    const RESOURCES: &[(&str, &str, &str, Root)] = &[
        ("ecs:runTask", "ecs", "2014-11-13", Root::Output("RunTask")),
        ("ecs:runTask.sync", "ecs", "2014-11-13", Root::Shape("Task")),
        ("sns:publish", "sns", "2010-03-31", Root::Output("Publish")),
    ];

    /// botocore in the checkout's `.venv/` (installed by `tools/setup local`), if there is one.
    pub(super) fn botocore() -> Option<PathBuf> {
        let lib = Path::new(env!("CARGO_MANIFEST_DIR")).parent()?.join(".venv/lib");
        let mut found: Vec<PathBuf> = std::fs::read_dir(lib)
            .ok()?
            .filter_map(|entry| entry.ok().map(|entry| entry.path().join("site-packages/botocore")))
            .filter(|path| path.join("data").is_dir())
            .collect();
        found.sort();
        found.pop()
    }

    pub(super) fn embedded_path() -> PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR")).join("src/stepfunctions/mock-shapes.json")
    }

    /// The schema `mock-shapes.json` holds, extracted from the botocore at `botocore`.
    pub(super) fn schema(botocore: &Path) -> Schema {
        let init = std::fs::read_to_string(botocore.join("__init__.py")).expect("botocore's __init__.py");
        let version = init
            .lines()
            .find_map(|line| line.strip_prefix("__version__ = "))
            .map(|v| v.trim().trim_matches(['\'', '"']).to_owned())
            .expect("botocore's __version__");
        let mut schema =
            Schema { source: format!("botocore {version}"), resources: BTreeMap::new(), shapes: BTreeMap::new() };
        for (resource, service, api_version, root) in RESOURCES {
            let model = model(botocore, service, api_version);
            let root = match root {
                Root::Output(operation) => model["operations"][operation]["output"]["shape"]
                    .as_str()
                    .unwrap_or_else(|| panic!("{service} {api_version} has no output for {operation}")),
                Root::Shape(name) => name,
            };
            schema.resources.insert((*resource).to_owned(), format!("{service}.{root}"));
            add(&mut schema.shapes, &model, service, root);
        }
        schema
    }

    /// `data/<service>/<version>/service-2.json`, gzipped by botocore 1.32 and later.
    fn model(botocore: &Path, service: &str, version: &str) -> Value {
        let dir = botocore.join("data").join(service).join(version);
        let text = match std::fs::read_to_string(dir.join("service-2.json")) {
            Ok(text) => text,
            Err(_) => {
                let file = std::fs::File::open(dir.join("service-2.json.gz"))
                    .unwrap_or_else(|e| panic!("no service-2.json(.gz) in {}: {e}", dir.display()));
                let mut text = String::new();
                flate2::read::GzDecoder::new(file).read_to_string(&mut text).expect("a gzipped service model");
                text
            }
        };
        serde_json::from_str(&text).expect("a service model in JSON")
    }

    /// Step Functions' name for a member: its first letter upper-cased.
    fn member_name(name: &str) -> String {
        let mut chars = name.chars();
        chars.next().map(|c| c.to_uppercase().chain(chars).collect()).unwrap_or_default()
    }

    fn add(shapes: &mut BTreeMap<String, Shape>, model: &Value, service: &str, name: &str) {
        let key = format!("{service}.{name}");
        if shapes.contains_key(&key) {
            return;
        }
        let shape = &model["shapes"][name];
        let qualified = |target: &Value| format!("{service}.{}", target["shape"].as_str().expect("a shape reference"));
        let limit = |bound: &str| shape.get(bound).and_then(Value::as_number).cloned();
        let (min, max): (Option<Number>, Option<Number>) = (limit("min"), limit("max"));
        let converted = match shape["type"].as_str().unwrap_or_else(|| panic!("{service} shape {name} has no type")) {
            "structure" => {
                let members = shape["members"].as_object().expect("members");
                Shape::Structure {
                    members: members.iter().map(|(m, target)| (member_name(m), qualified(target))).collect(),
                    required: shape["required"]
                        .as_array()
                        .into_iter()
                        .flatten()
                        .map(|m| member_name(m.as_str().expect("a required member's name")))
                        .collect(),
                }
            }
            "list" => Shape::List { member: qualified(&shape["member"]), min, max },
            "map" => Shape::Map { value: qualified(&shape["value"]), min, max },
            "string" => Shape::String {
                values: shape["enum"]
                    .as_array()
                    .map(|values| values.iter().map(|v| v.as_str().expect("an enum value").to_owned()).collect()),
                min,
                max,
            },
            "blob" => Shape::Blob { min, max },
            "timestamp" => Shape::Timestamp,
            "boolean" => Shape::Boolean,
            "integer" | "long" | "float" | "double" => Shape::Number { min, max },
            other => panic!("{service} shape {name} has type {other}, which mock-shapes.json has no rule for"),
        };
        shapes.insert(key, converted);
        let targets: Vec<&str> = match shape["type"].as_str() {
            Some("structure") => {
                shape["members"].as_object().into_iter().flatten().filter_map(|(_, t)| t["shape"].as_str()).collect()
            }
            Some("list") => shape["member"]["shape"].as_str().into_iter().collect(),
            Some("map") => shape["value"]["shape"].as_str().into_iter().collect(),
            _ => Vec::new(),
        };
        for target in targets {
            add(shapes, model, service, target);
        }
    }

    /// The file's text: pretty JSON, shapes sorted by name, ending in a newline.
    pub(super) fn render(schema: &Schema) -> String {
        serde_json::to_string_pretty(schema).expect("a schema renders") + "\n"
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    use FieldValidationMode::{None as NoValidation, Present, Strict};

    const RUN_TASK: &str = "arn:aws:states:::ecs:runTask";
    const RUN_TASK_SYNC: &str = "arn:aws:states:::ecs:runTask.sync";
    const PUBLISH: &str = "arn:aws:states:::sns:publish";

    fn error(resource: &str, result: Value, mode: FieldValidationMode) -> String {
        validate(resource, &result, mode).expect_err("a validation error")
    }

    fn message(text: &str) -> String {
        format!("Mock result schema validation error: {text}")
    }

    /// A stopped task as Step Functions gives a runTask.sync result (timestamps as strings, as
    /// TestState wants them).
    fn stopped_task() -> Value {
        json!({
            "Attachments": [{"Id": "a", "Type": "ElasticNetworkInterface", "Status": "DELETED",
                "Details": [{"Name": "subnetId", "Value": "subnet-1"}]}],
            "Attributes": [{"Name": "ecs.cpu-architecture", "Value": "x86_64"}],
            "ClusterArn": "arn:aws:ecs:us-east-1:123456789012:cluster/c",
            "Connectivity": "CONNECTED",
            "Containers": [{"Name": "app", "ExitCode": 0, "LastStatus": "STOPPED", "GpuIds": [],
                "NetworkBindings": [{"BindIP": "0.0.0.0", "ContainerPort": 80, "Protocol": "tcp"}]}],
            "Cpu": "256",
            "CreatedAt": "2026-12-01T10:00:00.000Z",
            "EnableExecuteCommand": false,
            "EphemeralStorage": {"SizeInGiB": 20},
            "LaunchType": "FARGATE",
            "Overrides": {"ContainerOverrides": [{"Name": "app", "Environment": [{"Name": "K", "Value": "V"}]}]},
            "StopCode": "EssentialContainerExited",
            "Tags": [{"Key": "k", "Value": ""}],
            "TaskArn": "arn:aws:ecs:us-east-1:123456789012:task/c/1",
            "Version": 5,
        })
    }

    #[test]
    fn the_embedded_shapes_parse_and_name_only_shapes_they_hold() {
        let schema = &*SCHEMA;
        assert_eq!(
            extract::render(schema),
            include_str!("mock-shapes.json"),
            "mock-shapes.json is not as the generator writes it: regenerate it"
        );
        let names = |shape: &Shape| -> Vec<String> {
            match shape {
                Shape::Structure { members, .. } => members.values().cloned().collect(),
                Shape::List { member, .. } => vec![member.clone()],
                Shape::Map { value, .. } => vec![value.clone()],
                _ => Vec::new(),
            }
        };
        for name in schema.resources.values().cloned().chain(schema.shapes.values().flat_map(names)) {
            assert!(schema.shapes.contains_key(&name), "{name} is named but not in mock-shapes.json");
        }
        assert_eq!(
            schema.resources.keys().collect::<Vec<_>>(),
            ["ecs:runTask", "ecs:runTask.sync", "sns:publish"],
            "the resources the module's documentation lists"
        );
        for (name, shape) in &schema.shapes {
            if let Shape::Structure { members, required } = shape {
                for member in members.keys().chain(required) {
                    assert!(member.starts_with(|c: char| c.is_ascii_uppercase()), "{name}.{member} is not PascalCase");
                }
            }
        }
    }

    #[test]
    fn valid_results_pass_in_every_mode() {
        let run_task =
            json!({"Tasks": [stopped_task()], "Failures": [{"Arn": "x", "Reason": "MISSING", "Detail": "d"}]});
        for mode in [Strict, Present, NoValidation] {
            assert_eq!(validate(RUN_TASK, &run_task, mode), Ok(()));
            assert_eq!(validate(RUN_TASK_SYNC, &stopped_task(), mode), Ok(()));
            assert_eq!(validate(PUBLISH, &json!({"MessageId": "m-1", "SequenceNumber": "1"}), mode), Ok(()));
            // No member of either is required.
            assert_eq!(validate(RUN_TASK, &json!({}), mode), Ok(()));
            assert_eq!(validate(PUBLISH, &json!({}), mode), Ok(()));
        }
    }

    #[test]
    fn a_member_the_api_lacks_is_accepted_even_in_strict() {
        assert_eq!(validate(PUBLISH, &json!({"random": "json"}), Strict), Ok(()));
        assert_eq!(validate(RUN_TASK, &json!({"Tasks": [{"Unmodelled": [1, {"x": null}]}]}), Strict), Ok(()));
        // ECS's own camelCase is not what Step Functions gives: such a member is unknown, not checked.
        assert_eq!(validate(RUN_TASK, &json!({"tasks": "not an array"}), Strict), Ok(()));
    }

    #[test]
    fn a_missing_required_member_fails_in_strict_only() {
        let result = json!({"Tasks": [{"Attributes": [{"Value": "x86_64"}]}]});
        assert_eq!(error(RUN_TASK, result.clone(), Strict), message("Required field 'Name' is missing"));
        assert_eq!(validate(RUN_TASK, &result, Present), Ok(()));
        assert_eq!(validate(RUN_TASK, &result, NoValidation), Ok(()));
        let result = json!({"EphemeralStorage": {}});
        assert_eq!(error(RUN_TASK_SYNC, result.clone(), Strict), message("Required field 'SizeInGiB' is missing"));
        assert_eq!(validate(RUN_TASK_SYNC, &result, Present), Ok(()));
    }

    #[test]
    fn a_member_of_the_wrong_kind_is_named() {
        let cases = [
            (RUN_TASK, json!({"Tasks": {"TaskArn": "t"}}), "Field 'Tasks' must be an array"),
            (PUBLISH, json!({"MessageId": 7}), "Field 'MessageId' must be a string"),
            (RUN_TASK_SYNC, json!({"TaskArn": ["t"]}), "Field 'TaskArn' must be a string"),
            // Nested, and in the second item of a list.
            (RUN_TASK, json!({"Tasks": [{"TaskArn": "t1"}, {"TaskArn": 2}]}), "Field 'TaskArn' must be a string"),
            (
                RUN_TASK_SYNC,
                json!({"Containers": [{"Name": "a"}, {"Name": "b", "ExitCode": "0"}]}),
                "Field 'ExitCode' must be a number",
            ),
            // A long given as a string.
            (RUN_TASK_SYNC, json!({"Version": "5"}), "Field 'Version' must be a number"),
            // A timestamp given as a number (as executions give them) or a boolean.
            (RUN_TASK_SYNC, json!({"CreatedAt": 1680596442871_u64}), "Field 'CreatedAt' must be a string"),
            (RUN_TASK_SYNC, json!({"StoppedAt": true}), "Field 'StoppedAt' must be a string"),
            (RUN_TASK_SYNC, json!({"EnableExecuteCommand": "false"}), "Field 'EnableExecuteCommand' must be a boolean"),
            (RUN_TASK_SYNC, json!({"Overrides": "none"}), "Field 'Overrides' must be an object"),
            (RUN_TASK_SYNC, json!({"Containers": [{"GpuIds": ["0", 1]}]}), "Field 'GpuIds' must be a string"),
            (RUN_TASK_SYNC, json!({"TaskArn": null}), "Field 'TaskArn' must be a string"),
        ];
        for (resource, result, expected) in cases {
            for mode in [Strict, Present] {
                assert_eq!(error(resource, result.clone(), mode), message(expected), "{resource} {result} {mode:?}");
            }
            assert_eq!(validate(resource, &result, NoValidation), Ok(()));
        }
    }

    #[test]
    fn an_enum_member_takes_only_its_values() {
        for (field, value) in [("StopCode", "Exited"), ("LaunchType", "fargate"), ("Connectivity", "")] {
            let result = json!({ field: value });
            let expected = message(&format!("Field '{field}' is not an expected value"));
            assert_eq!(error(RUN_TASK_SYNC, result.clone(), Present), expected);
            assert_eq!(validate(RUN_TASK_SYNC, &result, NoValidation), Ok(()));
        }
        assert_eq!(
            error(RUN_TASK_SYNC, json!({"LaunchType": 1}), Strict),
            message("Field 'LaunchType' must be a string")
        );
    }

    #[test]
    fn lengths_and_values_stay_within_the_model_bounds() {
        assert_eq!(
            error(RUN_TASK_SYNC, json!({"Tags": [{"Key": ""}]}), Strict),
            message("Field 'Key' is smaller than the minimum length")
        );
        assert_eq!(
            error(RUN_TASK_SYNC, json!({"Tags": [{"Key": "k", "Value": "v".repeat(257)}]}), Strict),
            message("Field 'Value' exceeds the maximum length")
        );
        let tags: Vec<Value> = (0..51).map(|i| json!({"Key": format!("k{i}")})).collect();
        assert_eq!(
            error(RUN_TASK_SYNC, json!({ "Tags": tags }), Strict),
            message("Field 'Tags' exceeds the maximum length")
        );
        let mps = |percent: Value| json!({"Containers": [{"GpuSharingStrategy": {"NvidiaMps": {"Memory": 1, "MaxComputePercent": percent}}}]});
        assert_eq!(
            error(RUN_TASK_SYNC, mps(json!(0)), Strict),
            message("Field 'MaxComputePercent' is less than the minimum value")
        );
        assert_eq!(
            error(RUN_TASK_SYNC, mps(json!(101)), Strict),
            message("Field 'MaxComputePercent' exceeds the maximum value")
        );
        assert_eq!(validate(RUN_TASK_SYNC, &mps(json!(100)), Strict), Ok(()));
        assert_eq!(validate(RUN_TASK_SYNC, &mps(json!(0)), NoValidation), Ok(()));
        // The character count, not the bytes: 128 characters of two bytes each is within TagKey's 128.
        assert_eq!(validate(RUN_TASK_SYNC, &json!({"Tags": [{"Key": "é".repeat(128)}]}), Strict), Ok(()));
    }

    /// What ECS and SNS's outputs do not have (blobs, floats, maps, a top-level required member),
    /// on a schema written here.
    #[test]
    fn blobs_floats_maps_and_required_top_level_members_follow_the_same_rules() {
        let schema: Schema = serde_json::from_value(json!({
            "source": "test",
            "resources": {"kms:encrypt": "kms.EncryptResponse"},
            "shapes": {
                "kms.EncryptResponse": {"type": "structure", "required": ["ExecutionArn"], "members": {
                    "ExecutionArn": "kms.String", "CiphertextBlob": "kms.Blob", "Ratio": "kms.Double",
                    "StatusCode": "kms.Integer", "Labels": "kms.Labels", "StorageClass": "kms.StorageClass"}},
                "kms.String": {"type": "string"},
                "kms.Blob": {"type": "blob", "min": 1, "max": 4},
                "kms.Double": {"type": "number", "min": 0.5, "max": 1.5},
                "kms.Integer": {"type": "number"},
                "kms.Labels": {"type": "map", "value": "kms.String", "max": 1},
                "kms.StorageClass": {"type": "string", "enum": ["STANDARD", "GLACIER"]}
            }
        }))
        .unwrap();
        let check = |result: Value, mode| validate_with(&schema, "arn:aws-cn:states:::kms:encrypt", &result, mode);
        let arn = "arn:aws:states:us-east-1:123456789012:execution:M:r";
        assert_eq!(check(json!({}), Strict), Err(message("Required field 'ExecutionArn' is missing")));
        assert_eq!(check(json!({}), Present), Ok(()));
        let with = |field: &str, value: Value| {
            let mut result = json!({ "ExecutionArn": arn });
            result[field] = value;
            result
        };
        let cases = [
            (with("CiphertextBlob", json!(true)), "Field 'CiphertextBlob' must be a string"),
            (with("CiphertextBlob", json!("")), "Field 'CiphertextBlob' is smaller than the minimum length"),
            (with("CiphertextBlob", json!("AAAAAA==")), "Field 'CiphertextBlob' exceeds the maximum length"),
            (with("Ratio", json!("0.7")), "Field 'Ratio' must be a number"),
            (with("Ratio", json!(0.25)), "Field 'Ratio' is less than the minimum value"),
            (with("Ratio", json!(2)), "Field 'Ratio' exceeds the maximum value"),
            (with("StatusCode", json!("200")), "Field 'StatusCode' must be a number"),
            (with("Labels", json!(["a"])), "Field 'Labels' must be an object"),
            (with("Labels", json!({"a": 1})), "Field 'Labels' must be a string"),
            (with("Labels", json!({"a": "1", "b": "2"})), "Field 'Labels' exceeds the maximum length"),
            (with("StorageClass", json!("COLD")), "Field 'StorageClass' is not an expected value"),
        ];
        for (result, expected) in cases {
            assert_eq!(check(result.clone(), Present), Err(message(expected)), "{result}");
        }
        for ok in [with("Ratio", json!(1)), with("CiphertextBlob", json!("AQ==")), with("Labels", json!({"a": "1"}))] {
            assert_eq!(check(ok.clone(), Strict), Ok(()), "{ok}");
        }
    }

    #[test]
    fn callback_and_unknown_resources_are_not_validated() {
        let anything = json!({"Tasks": "no", "MessageId": 1});
        for resource in [
            "arn:aws:states:::ecs:runTask.waitForTaskToken",
            "arn:aws:states:::sns:publish.waitForTaskToken",
            "arn:aws:states:::lambda:invoke",
            "arn:aws:states:::aws-sdk:ecs:runTask",
            "arn:aws:lambda:us-east-1:123456789012:function:f",
            "arn:aws:states:us-east-1:123456789012:activity:a",
            "ecs:runTask",
        ] {
            assert_eq!(validate(resource, &anything, Strict), Ok(()), "{resource}");
        }
        assert_eq!(validate("arn:aws:states:::lambda:invoke", &json!({}), Strict), Ok(()));
    }

    #[test]
    fn every_partition_is_known() {
        for resource in ["arn:aws-cn:states:::sns:publish", "arn:aws-us-gov:states:::sns:publish", PUBLISH] {
            assert_eq!(error(resource, json!({"MessageId": 1}), Strict), message("Field 'MessageId' must be a string"));
        }
        assert_eq!(validate("arn::states:::sns:publish", &json!({"MessageId": 1}), Strict), Ok(()));
    }

    #[test]
    fn a_result_that_is_not_an_object_is_refused_unless_mode_is_none() {
        for result in [json!([]), json!("text"), json!(null), json!(1)] {
            assert_eq!(
                error(RUN_TASK_SYNC, result.clone(), Present),
                message("The mocked result must be a JSON object")
            );
            assert_eq!(validate(RUN_TASK_SYNC, &result, NoValidation), Ok(()));
            assert_eq!(validate("arn:aws:states:::lambda:invoke", &result, Strict), Ok(()));
        }
    }

    #[test]
    fn the_mode_comes_from_the_api_names() {
        assert_eq!(FieldValidationMode::from_api(None), Ok(Strict));
        for mode in [Strict, Present, NoValidation] {
            assert_eq!(FieldValidationMode::from_api(Some(mode.as_str())), Ok(mode));
            assert_eq!(serde_json::from_value::<FieldValidationMode>(json!(mode.as_str())).unwrap(), mode);
        }
        let err = FieldValidationMode::from_api(Some("strict")).unwrap_err();
        assert_eq!(err, UnknownFieldValidationMode { value: "strict".into() });
        assert_eq!(
            err.to_string(),
            "1 validation error detected: Value 'strict' at 'mock.fieldValidationMode' failed to satisfy constraint: \
             Member must satisfy enum value set: [STRICT, PRESENT, NONE]"
        );
        let err = serde_json::from_value::<FieldValidationMode>(json!("LAX")).unwrap_err();
        assert!(
            err.to_string().contains("Value 'LAX'") && err.to_string().contains("[STRICT, PRESENT, NONE]"),
            "{err}"
        );
    }

    #[test]
    fn the_embedded_shapes_are_those_of_the_botocore_in_the_venv() {
        let Some(botocore) = extract::botocore() else {
            eprintln!("skipped: no botocore in .venv/ (tools/setup local installs it); mock-shapes.json not compared");
            return;
        };
        let fresh = extract::schema(&botocore);
        let embedded = &*SCHEMA;
        assert!(
            fresh.resources == embedded.resources && fresh.shapes == embedded.shapes,
            "mock-shapes.json ({}) differs from what {} at {} gives: regenerate it with \
             `cargo test -p localcloud --lib mock_schema -- --ignored` and review the diff",
            embedded.source,
            fresh.source,
            botocore.display()
        );
    }

    #[test]
    #[ignore = "writes src/stepfunctions/mock-shapes.json from the botocore in .venv/: \
                cargo test -p localcloud --lib mock_schema -- --ignored"]
    fn regenerate_the_embedded_shapes() {
        let botocore = extract::botocore()
            .expect("no botocore in .venv/: run `tools/just setup-local` (it installs moto, which brings botocore)");
        let text = extract::render(&extract::schema(&botocore));
        std::fs::write(extract::embedded_path(), text).expect("mock-shapes.json written");
    }
}
