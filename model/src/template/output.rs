//! Stack outputs: what a stack reports once it exists (ARNs, IDs), optionally exported under a
//! region-wide name other stacks can import.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::LogicalId;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
pub struct Output {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    pub value: Value,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub export: Option<Export>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub condition: Option<LogicalId>,
}

/// The export of an output; its name must be unique in the account and region.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
pub struct Export {
    pub name: Value,
}

impl Output {
    /// An output whose value is `value` (an `Expr` or a literal).
    pub fn new(value: impl Into<Value>) -> Self {
        Self { description: None, value: value.into(), export: None, condition: None }
    }

    pub fn description(mut self, description: impl Into<String>) -> Self {
        self.description = Some(description.into());
        self
    }

    /// Exports the value under `name` (an `Expr`, usually a `Fn::Sub` on `${AWS::StackName}`).
    pub fn export(mut self, name: impl Into<Value>) -> Self {
        self.export = Some(Export { name: name.into() });
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::template::{Expr, LogicalId};
    use serde_json::json;

    #[test]
    fn an_exported_output_serialises_with_its_export_name() {
        let cluster = LogicalId::new("Cluster").unwrap();
        let output = Output::new(Expr::get_att(&cluster, "Arn"))
            .description("The ECS cluster")
            .export(Expr::sub("${AWS::StackName}-ClusterArn"));
        assert_eq!(
            serde_json::to_value(&output).unwrap(),
            json!({
                "Description": "The ECS cluster",
                "Value": {"Fn::GetAtt": ["Cluster", "Arn"]},
                "Export": {"Name": {"Fn::Sub": "${AWS::StackName}-ClusterArn"}}
            })
        );
    }
}
