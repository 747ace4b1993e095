//! A resource: its Type, Properties, and the attributes CloudFormation reads around them
//! (DependsOn, DeletionPolicy, UpdateReplacePolicy, Condition, Metadata).

use serde::{Deserialize, Deserializer, Serialize};
use serde_json::{Map, Value};

use super::LogicalId;

/// What CloudFormation does with a resource's physical resource when the stack is deleted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum DeletionPolicy {
    Delete,
    Retain,
    RetainExceptOnCreate,
    Snapshot,
}

/// What CloudFormation does with the old physical resource when an update replaces it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum UpdateReplacePolicy {
    Delete,
    Retain,
    Snapshot,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Resource {
    #[serde(rename = "Type")]
    pub resource_type: String,
    #[serde(rename = "Properties", default, skip_serializing_if = "Map::is_empty")]
    pub properties: Map<String, Value>,
    #[serde(rename = "DependsOn", default, skip_serializing_if = "Vec::is_empty", deserialize_with = "one_or_many")]
    pub depends_on: Vec<LogicalId>,
    #[serde(rename = "DeletionPolicy", default, skip_serializing_if = "Option::is_none")]
    pub deletion_policy: Option<DeletionPolicy>,
    #[serde(rename = "UpdateReplacePolicy", default, skip_serializing_if = "Option::is_none")]
    pub update_replace_policy: Option<UpdateReplacePolicy>,
    #[serde(rename = "Condition", default, skip_serializing_if = "Option::is_none")]
    pub condition: Option<LogicalId>,
    #[serde(rename = "Metadata", default, skip_serializing_if = "Option::is_none")]
    pub metadata: Option<Value>,
}

impl Resource {
    /// A resource of this type (`AWS::EC2::VPC`), with no properties yet.
    pub fn new(resource_type: impl Into<String>) -> Self {
        Self {
            resource_type: resource_type.into(),
            properties: Map::new(),
            depends_on: Vec::new(),
            deletion_policy: None,
            update_replace_policy: None,
            condition: None,
            metadata: None,
        }
    }

    /// Sets one property; an `Expr` or a `serde_json::json!` value both fit.
    pub fn property(mut self, name: impl Into<String>, value: impl Into<Value>) -> Self {
        self.properties.insert(name.into(), value.into());
        self
    }

    pub fn depends_on(mut self, id: &LogicalId) -> Self {
        if !self.depends_on.contains(id) {
            self.depends_on.push(id.clone());
        }
        self
    }

    pub fn deletion_policy(mut self, policy: DeletionPolicy) -> Self {
        self.deletion_policy = Some(policy);
        self
    }

    pub fn update_replace_policy(mut self, policy: UpdateReplacePolicy) -> Self {
        self.update_replace_policy = Some(policy);
        self
    }

    /// Creates the resource only when the named condition holds.
    pub fn condition(mut self, condition: &LogicalId) -> Self {
        self.condition = Some(condition.clone());
        self
    }

    pub fn metadata(mut self, metadata: Value) -> Self {
        self.metadata = Some(metadata);
        self
    }

    /// Skips one checkov check (`CKV_AWS_158`) on this resource, with the reason a reviewer reads
    /// beside it: `Metadata: {checkov: {skip: [{id, comment}]}}`, which checkov honours and reports
    /// as skipped with that comment. Other metadata keys are kept. Prefer fixing the resource; a
    /// skip is for a check whose fix would be wrong for this stack.
    pub fn checkov_skip(mut self, id: &str, comment: &str) -> Self {
        let mut metadata = match self.metadata.take() {
            Some(Value::Object(map)) => map,
            // Resource Metadata is an object in CloudFormation; anything else keeps its place
            // under a key of its own rather than being dropped.
            Some(other) => Map::from_iter([("Value".to_owned(), other)]),
            None => Map::new(),
        };
        let checkov = metadata.entry("checkov").or_insert_with(|| Value::Object(Map::new()));
        if !checkov.is_object() {
            *checkov = Value::Object(Map::new());
        }
        if let Some(checkov) = checkov.as_object_mut() {
            let skips = checkov.entry("skip").or_insert_with(|| Value::Array(Vec::new()));
            if let Some(skips) = skips.as_array_mut() {
                skips.push(serde_json::json!({ "id": id, "comment": comment }));
            }
        }
        self.metadata = Some(Value::Object(metadata));
        self
    }

    /// The checkov checks skipped on this resource: (id, comment).
    pub fn checkov_skips(&self) -> Vec<(String, String)> {
        let skips = self.metadata.as_ref().and_then(|m| m.get("checkov")).and_then(|c| c.get("skip"));
        skips
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .map(|s| {
                let text = |key: &str| s.get(key).and_then(Value::as_str).unwrap_or_default().to_owned();
                (text("id"), text("comment"))
            })
            .collect()
    }
}

/// `DependsOn` is a string or a list of strings.
fn one_or_many<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Vec<LogicalId>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum OneOrMany {
        One(LogicalId),
        Many(Vec<LogicalId>),
    }
    Ok(match OneOrMany::deserialize(deserializer)? {
        OneOrMany::One(id) => vec![id],
        OneOrMany::Many(ids) => ids,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::template::Expr;
    use serde_json::json;

    #[test]
    fn a_resource_serialises_its_attributes_and_omits_the_empty_ones() {
        let vpc = LogicalId::new("Vpc").unwrap();
        let group = Resource::new("AWS::Logs::LogGroup")
            .property("RetentionInDays", 30)
            .property("Tags", json!([{"Key": "VpcId", "Value": Expr::ref_to(&vpc)}]))
            .depends_on(&vpc)
            .depends_on(&vpc)
            .deletion_policy(DeletionPolicy::Retain)
            .update_replace_policy(UpdateReplacePolicy::Retain);
        assert_eq!(
            serde_json::to_value(&group).unwrap(),
            json!({
                "Type": "AWS::Logs::LogGroup",
                "Properties": {"RetentionInDays": 30, "Tags": [{"Key": "VpcId", "Value": {"Ref": "Vpc"}}]},
                "DependsOn": ["Vpc"],
                "DeletionPolicy": "Retain",
                "UpdateReplacePolicy": "Retain"
            })
        );
        assert_eq!(serde_json::to_value(Resource::new("AWS::SNS::Topic")).unwrap(), json!({"Type": "AWS::SNS::Topic"}));
    }

    #[test]
    fn depends_on_reads_a_string_or_a_list() {
        let one: Resource = serde_json::from_value(json!({"Type": "T", "DependsOn": "A"})).unwrap();
        let many: Resource = serde_json::from_value(json!({"Type": "T", "DependsOn": ["A", "B"]})).unwrap();
        assert_eq!(one.depends_on.len(), 1);
        assert_eq!(many.depends_on.len(), 2);
    }

    #[test]
    fn a_checkov_skip_is_written_where_checkov_reads_it_beside_other_metadata() {
        let group = Resource::new("AWS::Logs::LogGroup")
            .metadata(json!({"cfn-lint": {"config": {"ignore_checks": ["I3011"]}}}))
            .checkov_skip("CKV_AWS_158", "why one")
            .checkov_skip("CKV_AWS_66", "why two");
        assert_eq!(
            serde_json::to_value(&group).unwrap()["Metadata"],
            json!({
                "cfn-lint": {"config": {"ignore_checks": ["I3011"]}},
                "checkov": {"skip": [
                    {"id": "CKV_AWS_158", "comment": "why one"},
                    {"id": "CKV_AWS_66", "comment": "why two"}
                ]}
            })
        );
        assert_eq!(
            group.checkov_skips(),
            [("CKV_AWS_158".to_owned(), "why one".to_owned()), ("CKV_AWS_66".to_owned(), "why two".to_owned())]
        );
        assert!(Resource::new("AWS::SNS::Topic").checkov_skips().is_empty());
    }

    #[test]
    fn an_unknown_attribute_is_refused_by_name() {
        let err = serde_json::from_value::<Resource>(json!({"Type": "T", "Propertys": {}})).unwrap_err();
        assert!(err.to_string().contains("Propertys"), "{err}");
    }
}
