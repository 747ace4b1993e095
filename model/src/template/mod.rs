//! A typed CloudFormation template: parameters, mappings, conditions, resources and outputs keyed by
//! validated logical IDs, intrinsic functions as builders (`intrinsic`), merging of fragments that
//! refuses a duplicate logical ID, a reference check that finds every `Ref`, `Fn::GetAtt` or
//! `Fn::Sub` variable naming nothing, and output as JSON or YAML. Pure data: no AWS SDK.
//! The Fargate task sizes (`fargate`) and AWS naming rules (`names`) live here too, because they
//! are checks on template values that must fail before anything is deployed.

pub mod fargate;
pub mod intrinsic;
pub mod logical_id;
pub mod names;
pub mod output;
pub mod parameter;
pub mod resource;

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

use serde::{Deserialize, Serialize};
use serde_json::Value;

pub use fargate::{TaskSize, TaskSizeError};
pub use intrinsic::{Expr, Pseudo, RefTarget, sub_variables};
pub use logical_id::LogicalId;
pub use names::NameError;
pub use output::{Export, Output};
pub use parameter::Parameter;
pub use resource::{DeletionPolicy, Resource, UpdateReplacePolicy};

/// The only template format version CloudFormation has.
pub const FORMAT_VERSION: &str = "2010-09-09";

/// The sections of a template that hold logical IDs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Section {
    Metadata,
    Parameters,
    Mappings,
    Conditions,
    Resources,
    Outputs,
}

impl fmt::Display for Section {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Section::Metadata => "Metadata",
            Section::Parameters => "Parameters",
            Section::Mappings => "Mappings",
            Section::Conditions => "Conditions",
            Section::Resources => "Resources",
            Section::Outputs => "Outputs",
        })
    }
}

#[derive(Debug, thiserror::Error)]
pub enum TemplateError {
    #[error("{id:?} is not a valid logical ID: {reason}. Use 1 to 255 ASCII letters and digits, e.g. \"TaskRole\"")]
    InvalidLogicalId { id: String, reason: String },
    #[error(
        "duplicate logical ID {id:?}: {section} already has it{}; rename one of them",
        if .existing == .section { String::new() } else { format!(" (as one of the {existing})") }
    )]
    DuplicateLogicalId { id: LogicalId, section: Section, existing: Section },
    #[error("the template is not valid:\n  - {}", .problems.join("\n  - "))]
    Invalid { problems: Vec<String> },
    #[error("could not read the template fragment as {format}: {detail}")]
    Parse { format: &'static str, detail: String },
    #[error("could not write the template as {format}: {detail}")]
    Write { format: &'static str, detail: String },
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Template {
    #[serde(rename = "AWSTemplateFormatVersion", default = "format_version")]
    format_version: String,
    #[serde(rename = "Description", default, skip_serializing_if = "Option::is_none")]
    description: Option<String>,
    #[serde(rename = "Metadata", default, skip_serializing_if = "BTreeMap::is_empty")]
    metadata: BTreeMap<String, Value>,
    #[serde(rename = "Parameters", default, skip_serializing_if = "BTreeMap::is_empty")]
    parameters: BTreeMap<LogicalId, Parameter>,
    #[serde(rename = "Mappings", default, skip_serializing_if = "BTreeMap::is_empty")]
    mappings: BTreeMap<LogicalId, Value>,
    #[serde(rename = "Conditions", default, skip_serializing_if = "BTreeMap::is_empty")]
    conditions: BTreeMap<LogicalId, Value>,
    #[serde(rename = "Resources", default)]
    resources: BTreeMap<LogicalId, Resource>,
    #[serde(rename = "Outputs", default, skip_serializing_if = "BTreeMap::is_empty")]
    outputs: BTreeMap<LogicalId, Output>,
}

fn format_version() -> String {
    FORMAT_VERSION.to_owned()
}

impl Default for Template {
    fn default() -> Self {
        Self::new()
    }
}

impl Template {
    pub fn new() -> Self {
        Self {
            format_version: format_version(),
            description: None,
            metadata: BTreeMap::new(),
            parameters: BTreeMap::new(),
            mappings: BTreeMap::new(),
            conditions: BTreeMap::new(),
            resources: BTreeMap::new(),
            outputs: BTreeMap::new(),
        }
    }

    pub fn with_description(mut self, description: impl Into<String>) -> Self {
        self.description = Some(description.into());
        self
    }

    pub fn description(&self) -> Option<&str> {
        self.description.as_deref()
    }

    /// The section that already holds `id` in the namespace `section` belongs to. Parameters and
    /// resources share one namespace, since a `Ref` names either.
    fn holder(&self, id: &LogicalId, section: Section) -> Option<Section> {
        match section {
            Section::Parameters | Section::Resources => {
                if self.parameters.contains_key(id) {
                    Some(Section::Parameters)
                } else if self.resources.contains_key(id) {
                    Some(Section::Resources)
                } else {
                    None
                }
            }
            Section::Mappings => self.mappings.contains_key(id).then_some(Section::Mappings),
            Section::Conditions => self.conditions.contains_key(id).then_some(Section::Conditions),
            Section::Outputs => self.outputs.contains_key(id).then_some(Section::Outputs),
            Section::Metadata => self.metadata.contains_key(id.as_str()).then_some(Section::Metadata),
        }
    }

    fn check_free(&self, id: &LogicalId, section: Section) -> Result<(), TemplateError> {
        match self.holder(id, section) {
            Some(existing) => Err(TemplateError::DuplicateLogicalId { id: id.clone(), section, existing }),
            None => Ok(()),
        }
    }

    pub fn add_parameter(&mut self, id: &LogicalId, parameter: Parameter) -> Result<(), TemplateError> {
        self.check_free(id, Section::Parameters)?;
        self.parameters.insert(id.clone(), parameter);
        Ok(())
    }

    pub fn add_mapping(&mut self, id: &LogicalId, mapping: Value) -> Result<(), TemplateError> {
        self.check_free(id, Section::Mappings)?;
        self.mappings.insert(id.clone(), mapping);
        Ok(())
    }

    pub fn add_condition(&mut self, id: &LogicalId, condition: Value) -> Result<(), TemplateError> {
        self.check_free(id, Section::Conditions)?;
        self.conditions.insert(id.clone(), condition);
        Ok(())
    }

    pub fn add_resource(&mut self, id: &LogicalId, resource: Resource) -> Result<(), TemplateError> {
        self.check_free(id, Section::Resources)?;
        self.resources.insert(id.clone(), resource);
        Ok(())
    }

    pub fn add_output(&mut self, id: &LogicalId, output: Output) -> Result<(), TemplateError> {
        self.check_free(id, Section::Outputs)?;
        self.outputs.insert(id.clone(), output);
        Ok(())
    }

    /// Adds a top-level Metadata entry (e.g. `AWS::CloudFormation::Interface`).
    pub fn add_metadata(&mut self, key: impl Into<String>, value: Value) -> Result<(), TemplateError> {
        let key = key.into();
        if self.metadata.contains_key(&key) {
            return Err(TemplateError::Invalid { problems: vec![format!("Metadata already has the key {key:?}")] });
        }
        self.metadata.insert(key, value);
        Ok(())
    }

    pub fn parameters(&self) -> &BTreeMap<LogicalId, Parameter> {
        &self.parameters
    }

    pub fn resources(&self) -> &BTreeMap<LogicalId, Resource> {
        &self.resources
    }

    pub fn outputs(&self) -> &BTreeMap<LogicalId, Output> {
        &self.outputs
    }

    pub fn conditions(&self) -> &BTreeMap<LogicalId, Value> {
        &self.conditions
    }

    pub fn resource(&self, id: &LogicalId) -> Option<&Resource> {
        self.resources.get(id)
    }

    /// A resource to amend in place (a later decorator adding a property, say).
    pub fn resource_mut(&mut self, id: &LogicalId) -> Option<&mut Resource> {
        self.resources.get_mut(id)
    }

    /// Adds every entry of `fragment`. All or nothing: on a duplicate logical ID (named in the
    /// error) this template is left unchanged. The fragment's Description is used only when this
    /// template has none.
    pub fn merge(&mut self, fragment: Template) -> Result<(), TemplateError> {
        for key in fragment.metadata.keys() {
            if self.metadata.contains_key(key) {
                return Err(TemplateError::Invalid {
                    problems: vec![format!("Metadata key {key:?} is in both the template and the fragment")],
                });
            }
        }
        for id in fragment.parameters.keys() {
            self.check_free(id, Section::Parameters)?;
        }
        for id in fragment.resources.keys() {
            self.check_free(id, Section::Resources)?;
            // The fragment keeps parameters and resources apart, so it can hold one ID in both.
            if fragment.parameters.contains_key(id) {
                return Err(TemplateError::DuplicateLogicalId {
                    id: id.clone(),
                    section: Section::Resources,
                    existing: Section::Parameters,
                });
            }
        }
        for id in fragment.mappings.keys() {
            self.check_free(id, Section::Mappings)?;
        }
        for id in fragment.conditions.keys() {
            self.check_free(id, Section::Conditions)?;
        }
        for id in fragment.outputs.keys() {
            self.check_free(id, Section::Outputs)?;
        }
        if self.description.is_none() {
            self.description = fragment.description;
        }
        self.metadata.extend(fragment.metadata);
        self.parameters.extend(fragment.parameters);
        self.mappings.extend(fragment.mappings);
        self.conditions.extend(fragment.conditions);
        self.resources.extend(fragment.resources);
        self.outputs.extend(fragment.outputs);
        Ok(())
    }

    /// Checks what CloudFormation would otherwise reject only at deploy time: at least one
    /// resource, and every `Ref`, `Fn::GetAtt`, `Fn::Sub` variable, `DependsOn` and `Condition`
    /// naming something that exists. Returns every problem, not just the first.
    pub fn validate(&self) -> Result<(), TemplateError> {
        let mut problems = Vec::new();
        if self.resources.is_empty() {
            problems.push("Resources is empty; CloudFormation needs at least one resource".to_owned());
        }
        let names = Names {
            refs: self.parameters.keys().chain(self.resources.keys()).map(LogicalId::as_str).collect(),
            resources: self.resources.keys().map(LogicalId::as_str).collect(),
        };
        for (id, resource) in &self.resources {
            let at = format!("Resources.{id}");
            check_value(&resource.properties_value(), &format!("{at}.Properties"), &names, &mut problems);
            for dependency in &resource.depends_on {
                if !self.resources.contains_key(dependency) {
                    problems.push(format!("{at}.DependsOn names {dependency:?}, which is not a resource"));
                }
            }
            if let Some(condition) = &resource.condition
                && !self.conditions.contains_key(condition)
            {
                problems.push(format!("{at}.Condition names {condition:?}, which is not a condition"));
            }
        }
        for (id, output) in &self.outputs {
            let at = format!("Outputs.{id}");
            check_value(&output.value, &format!("{at}.Value"), &names, &mut problems);
            if let Some(export) = &output.export {
                check_value(&export.name, &format!("{at}.Export.Name"), &names, &mut problems);
            }
            if let Some(condition) = &output.condition
                && !self.conditions.contains_key(condition)
            {
                problems.push(format!("{at}.Condition names {condition:?}, which is not a condition"));
            }
        }
        if problems.is_empty() { Ok(()) } else { Err(TemplateError::Invalid { problems }) }
    }

    /// The template as pretty-printed JSON.
    pub fn to_json(&self) -> Result<String, TemplateError> {
        serde_json::to_string_pretty(self).map_err(|e| TemplateError::Write { format: "JSON", detail: e.to_string() })
    }

    /// The template as YAML, with intrinsic functions in their long form (`Fn::Sub:`), which
    /// CloudFormation reads as it reads the short `!Sub` tags.
    pub fn to_yaml(&self) -> Result<String, TemplateError> {
        serde_yaml_ng::to_string(self).map_err(|e| TemplateError::Write { format: "YAML", detail: e.to_string() })
    }

    /// Reads a template or fragment written in JSON.
    pub fn from_json(text: &str) -> Result<Template, TemplateError> {
        serde_json::from_str(text).map_err(|e| TemplateError::Parse { format: "JSON", detail: e.to_string() })
    }

    /// Reads a template or fragment written in YAML (long-form intrinsic functions only: the
    /// short `!Ref` tags are not read).
    pub fn from_yaml(text: &str) -> Result<Template, TemplateError> {
        serde_yaml_ng::from_str(text).map_err(|e| TemplateError::Parse { format: "YAML", detail: e.to_string() })
    }
}

impl Resource {
    fn properties_value(&self) -> Value {
        Value::Object(self.properties.clone())
    }
}

struct Names<'a> {
    refs: BTreeSet<&'a str>,
    resources: BTreeSet<&'a str>,
}

fn check_value(value: &Value, at: &str, names: &Names<'_>, problems: &mut Vec<String>) {
    match value {
        Value::Array(items) => {
            for (i, item) in items.iter().enumerate() {
                check_value(item, &format!("{at}[{i}]"), names, problems);
            }
        }
        Value::Object(map) if map.len() == 1 => {
            if let Some(target) = map.get("Ref") {
                match target.as_str() {
                    Some(name) if Pseudo::from_name(name).is_some() || names.refs.contains(name) => {}
                    Some(name) => {
                        problems.push(format!("{at}: Ref names {name:?}, which is not a parameter or resource"))
                    }
                    None => problems.push(format!("{at}: Ref takes a logical ID string, got {target}")),
                }
            } else if let Some(args) = map.get("Fn::GetAtt") {
                let target = match args {
                    Value::Array(parts) => parts.first().and_then(Value::as_str),
                    Value::String(dotted) => dotted.split('.').next(),
                    _ => None,
                };
                match target {
                    Some(name) if names.resources.contains(name) => {}
                    Some(name) => problems.push(format!("{at}: Fn::GetAtt names {name:?}, which is not a resource")),
                    None => problems.push(format!("{at}: Fn::GetAtt takes [logicalId, attribute], got {args}")),
                }
                if let Value::Array(parts) = args {
                    for part in parts.iter().skip(1) {
                        check_value(part, at, names, problems);
                    }
                }
            } else if let Some(args) = map.get("Fn::Sub") {
                check_sub(args, at, names, problems);
            } else {
                for (key, item) in map {
                    check_value(item, &format!("{at}.{key}"), names, problems);
                }
            }
        }
        Value::Object(map) => {
            for (key, item) in map {
                check_value(item, &format!("{at}.{key}"), names, problems);
            }
        }
        _ => {}
    }
}

fn check_sub(args: &Value, at: &str, names: &Names<'_>, problems: &mut Vec<String>) {
    let (text, variables) = match args {
        Value::String(text) => (text.as_str(), None),
        Value::Array(parts) if parts.len() == 2 => match (&parts[0], &parts[1]) {
            (Value::String(text), Value::Object(variables)) => (text.as_str(), Some(variables)),
            _ => {
                problems.push(format!("{at}: Fn::Sub takes a string or [string, {{variables}}], got {args}"));
                return;
            }
        },
        _ => {
            problems.push(format!("{at}: Fn::Sub takes a string or [string, {{variables}}], got {args}"));
            return;
        }
    };
    if let Some(variables) = variables {
        for (key, item) in variables {
            check_value(item, &format!("{at}.Fn::Sub.{key}"), names, problems);
        }
    }
    match sub_variables(text) {
        Err(offset) => problems.push(format!("{at}: Fn::Sub has a \"${{\" with no closing \"}}\" at byte {offset}")),
        Ok(found) => {
            for variable in found {
                let name = variable.name.as_str();
                let in_map = variable.attribute.is_none() && variables.is_some_and(|v| v.contains_key(name));
                let known = in_map
                    || match &variable.attribute {
                        None => Pseudo::from_name(name).is_some() || names.refs.contains(name),
                        Some(_) => names.resources.contains(name),
                    };
                if !known {
                    let shown = match &variable.attribute {
                        Some(attribute) => format!("{name}.{attribute}"),
                        None => name.to_owned(),
                    };
                    problems.push(format!(
                        "{at}: Fn::Sub names ${{{shown}}}, which is not a variable, parameter, resource or pseudo \
                         parameter (write ${{!{shown}}} for a literal)"
                    ));
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn id(s: &str) -> LogicalId {
        LogicalId::new(s).unwrap()
    }

    fn sample() -> Template {
        let mut t = Template::new().with_description("sample");
        t.add_parameter(&id("ImageUri"), Parameter::string().default_value("x")).unwrap();
        t.add_resource(&id("Topic"), Resource::new("AWS::SNS::Topic")).unwrap();
        t.add_resource(
            &id("Queue"),
            Resource::new("AWS::SQS::Queue")
                .property("QueueName", Expr::sub("${AWS::StackName}-${Topic.TopicName}-${ImageUri}"))
                .depends_on(&id("Topic")),
        )
        .unwrap();
        t.add_output(&id("TopicArn"), Output::new(Expr::ref_to(&id("Topic"))).export(Expr::sub("${AWS::StackName}-T")))
            .unwrap();
        t
    }

    #[test]
    fn a_template_serialises_its_sections_in_order() {
        let json = sample().to_json().unwrap();
        let version = json.find("AWSTemplateFormatVersion").unwrap();
        let parameters = json.find("\"Parameters\"").unwrap();
        let resources = json.find("\"Resources\"").unwrap();
        let outputs = json.find("\"Outputs\"").unwrap();
        assert!(version < parameters && parameters < resources && resources < outputs, "{json}");
        let value: Value = serde_json::from_str(&json).unwrap();
        assert_eq!(value["AWSTemplateFormatVersion"], "2010-09-09");
        assert_eq!(value["Outputs"]["TopicArn"]["Value"], json!({"Ref": "Topic"}));
        assert!(value.get("Conditions").is_none());
    }

    #[test]
    fn yaml_and_json_carry_the_same_template() {
        let t = sample();
        let from_yaml = Template::from_yaml(&t.to_yaml().unwrap()).unwrap();
        let from_json = Template::from_json(&t.to_json().unwrap()).unwrap();
        assert_eq!(from_yaml, t);
        assert_eq!(from_json, t);
        assert!(t.to_yaml().unwrap().contains("Fn::Sub:"));
    }

    #[test]
    fn a_duplicate_resource_is_refused_by_name() {
        let mut t = sample();
        let err = t.add_resource(&id("Topic"), Resource::new("AWS::SNS::Topic")).unwrap_err().to_string();
        assert!(err.contains("\"Topic\"") && err.contains("Resources"), "{err}");
        // A resource may not take a parameter's ID either: a Ref would not know which one it meant.
        let err = t.add_resource(&id("ImageUri"), Resource::new("AWS::SNS::Topic")).unwrap_err().to_string();
        assert!(err.contains("\"ImageUri\"") && err.contains("Parameters"), "{err}");
        // Outputs are a namespace of their own.
        t.add_output(&id("Topic"), Output::new("x")).unwrap();
    }

    #[test]
    fn merging_a_fragment_with_a_duplicate_changes_nothing_and_names_the_id() {
        let mut t = sample();
        let before = t.clone();
        let mut fragment = Template::new();
        fragment.add_resource(&id("Extra"), Resource::new("AWS::SNS::Topic")).unwrap();
        fragment.add_resource(&id("Queue"), Resource::new("AWS::SQS::Queue")).unwrap();
        let err = t.merge(fragment).unwrap_err();
        assert!(matches!(&err, TemplateError::DuplicateLogicalId { id, .. } if id.as_str() == "Queue"), "{err}");
        assert!(err.to_string().contains("duplicate logical ID \"Queue\""), "{err}");
        assert_eq!(t, before);
    }

    #[test]
    fn merging_distinct_fragments_adds_everything() {
        let mut t = sample();
        let fragment = Template::from_json(
            r#"{"Resources": {"Extra": {"Type": "AWS::SNS::Topic"}},
                "Outputs": {"ExtraArn": {"Value": {"Ref": "Extra"}}}}"#,
        )
        .unwrap();
        t.merge(fragment).unwrap();
        assert!(t.resource(&id("Extra")).is_some());
        assert!(t.outputs().contains_key(&id("ExtraArn")));
        assert_eq!(t.description(), Some("sample"));
        t.validate().unwrap();
    }

    #[test]
    fn a_fragment_with_an_invalid_logical_id_or_section_is_refused() {
        let err = Template::from_json(r#"{"Resources": {"my-topic": {"Type": "AWS::SNS::Topic"}}}"#).unwrap_err();
        assert!(err.to_string().contains("my-topic"), "{err}");
        let err = Template::from_json(r#"{"Resource": {}}"#).unwrap_err();
        assert!(err.to_string().contains("Resource"), "{err}");
    }

    #[test]
    fn validation_reports_every_dangling_reference() {
        let mut t = sample();
        t.add_resource(
            &id("Broken"),
            Resource::new("AWS::SNS::Subscription")
                .property("TopicArn", json!({"Ref": "Topik"}))
                .property("Endpoint", json!({"Fn::GetAtt": ["Nowhere", "Arn"]}))
                .property(
                    "Protocol",
                    Expr::sub_with("${Known}-${Unknown}-${!Literal}-${AWS::Region}", [("Known", Expr::literal("k"))]),
                )
                .property("Region", json!({"Fn::Sub": "${Missing.Arn}"}))
                .depends_on(&id("Ghost")),
        )
        .unwrap();
        t.add_output(&id("Bad"), Output::new(json!({"Ref": "AWS::Nope"}))).unwrap();
        let TemplateError::Invalid { problems } = t.validate().unwrap_err() else { panic!() };
        let all = problems.join("\n");
        for needle in ["\"Topik\"", "\"Nowhere\"", "${Unknown}", "${Missing.Arn}", "\"Ghost\"", "\"AWS::Nope\""] {
            assert!(all.contains(needle), "{needle} missing from:\n{all}");
        }
        assert_eq!(problems.len(), 6, "{all}");
        assert!(!all.contains("Literal") && !all.contains("Known}"), "{all}");
    }

    #[test]
    fn an_empty_template_is_not_valid() {
        let err = Template::new().validate().unwrap_err().to_string();
        assert!(err.contains("at least one resource"), "{err}");
    }
}
