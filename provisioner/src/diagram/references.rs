//! Reading a template's values: which resources a property refers to (`Ref`, `Fn::GetAtt`,
//! `Fn::Sub` and its variables), which `${...}` placeholders a string holds, and a property's value
//! in a few words for a box's detail lines.

use std::collections::BTreeMap;

use model::template::{Resource, sub_variables};
use serde_json::Value;

use super::service::STATE_MACHINE_TYPE;

/// Properties whose references are not drawn: policy documents name every resource a role may
/// act on, which says who may, not what uses what.
const UNDRAWN_PROPERTIES: &[&str] = &["Policies", "PolicyDocument", "AssumeRolePolicyDocument", "ManagedPolicyArns"];

/// `Ref`, `Fn::GetAtt` and `Fn::Sub` references to resources in a resource's properties, each
/// with the top-level property it is under.
pub(super) fn references(resource: &Resource, resources: &BTreeMap<String, &Resource>) -> Vec<(String, String)> {
    let mut found = Vec::new();
    for (property, value) in &resource.properties {
        if UNDRAWN_PROPERTIES.contains(&property.as_str())
            || resource.resource_type == STATE_MACHINE_TYPE && property.starts_with("Definition")
        {
            continue;
        }
        let mut targets = Vec::new();
        collect_references(value, resources, &mut targets);
        found.extend(targets.into_iter().map(|t| (property.clone(), t)));
    }
    found
}

pub(super) fn first_reference(value: &Value, resources: &BTreeMap<String, &Resource>) -> Option<String> {
    let mut targets = Vec::new();
    collect_references(value, resources, &mut targets);
    targets.into_iter().next()
}

pub(super) fn collect_references(value: &Value, resources: &BTreeMap<String, &Resource>, out: &mut Vec<String>) {
    match value {
        Value::Object(map) if map.len() == 1 => {
            let (key, inner) = map.iter().next().map_or(("", &Value::Null), |(k, v)| (k.as_str(), v));
            let named = match (key, inner) {
                ("Ref", Value::String(name)) => Some(name.clone()),
                ("Fn::GetAtt", Value::Array(parts)) => parts.first().and_then(Value::as_str).map(str::to_owned),
                ("Fn::GetAtt", Value::String(dotted)) => dotted.split('.').next().map(str::to_owned),
                ("Fn::Sub", Value::String(text)) => {
                    sub_targets(text, &[], resources, out);
                    None
                }
                ("Fn::Sub", Value::Array(parts)) => {
                    if let [Value::String(text), Value::Object(vars)] = parts.as_slice() {
                        let own: Vec<&str> = vars.keys().map(String::as_str).collect();
                        sub_targets(text, &own, resources, out);
                        for v in vars.values() {
                            collect_references(v, resources, out);
                        }
                    }
                    None
                }
                _ => {
                    collect_references(inner, resources, out);
                    None
                }
            };
            if let Some(name) = named.filter(|n| resources.contains_key(n)) {
                out.push(name);
            }
        }
        Value::Object(map) => map.values().for_each(|v| collect_references(v, resources, out)),
        Value::Array(items) => items.iter().for_each(|v| collect_references(v, resources, out)),
        _ => {}
    }
}

pub(super) fn sub_targets(text: &str, own: &[&str], resources: &BTreeMap<String, &Resource>, out: &mut Vec<String>) {
    for variable in sub_variables(text).unwrap_or_default() {
        if !own.contains(&variable.name.as_str()) && resources.contains_key(&variable.name) {
            out.push(variable.name);
        }
    }
}

/// `${Name}` placeholders in a state's fields, each with the nearest field name above it
/// (`Cluster`, `Subnets`, `TopicArn`, `Resource`).
pub(super) fn placeholders(value: &Value, field: Option<&str>, out: &mut Vec<(String, String)>) {
    match value {
        Value::String(text) => {
            for variable in sub_variables(text).unwrap_or_default() {
                out.push((field.unwrap_or("Resource").to_owned(), variable.name));
            }
        }
        Value::Array(items) => items.iter().for_each(|v| placeholders(v, field, out)),
        Value::Object(map) => map.iter().for_each(|(k, v)| placeholders(v, Some(k), out)),
        _ => {}
    }
}

/// The logical ID a `Ref` or `Fn::GetAtt` names.
pub(super) fn referenced_id(value: &Value) -> Option<String> {
    value
        .get("Ref")
        .and_then(Value::as_str)
        .or_else(|| value.get("Fn::GetAtt").and_then(|v| v.get(0)).and_then(Value::as_str))
        .map(str::to_owned)
}

/// A property value in a few words: literals as they are, intrinsic functions by what they name.
pub fn brief(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        Value::Null => "null".to_owned(),
        Value::Bool(_) | Value::Number(_) => value.to_string(),
        Value::Array(items) => items.iter().map(brief).collect::<Vec<_>>().join(", "),
        Value::Object(map) if map.len() == 1 => {
            let (key, inner) = map.iter().next().map_or(("", &Value::Null), |(k, v)| (k.as_str(), v));
            match (key, inner) {
                ("Ref", Value::String(name)) => format!("Ref {name}"),
                ("Fn::GetAtt", Value::Array(parts)) => {
                    parts.iter().filter_map(Value::as_str).collect::<Vec<_>>().join(".")
                }
                ("Fn::GetAtt", Value::String(dotted)) => dotted.clone(),
                ("Fn::Sub", Value::String(text)) => text.clone(),
                ("Fn::Sub", Value::Array(parts)) => parts.first().map(brief).unwrap_or_default(),
                ("Fn::GetAZs", _) => "the region's zones".to_owned(),
                ("Fn::Select", Value::Array(parts)) if parts.len() == 2 => {
                    format!("[{}] of {}", brief(&parts[0]), brief(&parts[1]))
                }
                ("Fn::Join", Value::Array(parts)) if parts.len() == 2 => match &parts[1] {
                    Value::Array(items) => {
                        items.iter().map(brief).collect::<Vec<_>>().join(parts[0].as_str().unwrap_or(""))
                    }
                    other => brief(other),
                },
                _ => value.to_string(),
            }
        }
        Value::Object(_) => value.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn brief_names_what_an_intrinsic_function_refers_to() {
        assert_eq!(brief(&json!({"Ref": "ImageUri"})), "Ref ImageUri");
        assert_eq!(brief(&json!({"Fn::GetAtt": ["Cluster", "Arn"]})), "Cluster.Arn");
        assert_eq!(brief(&json!({"Fn::Sub": ["/ecs/${Name}", {"Name": "x"}]})), "/ecs/${Name}");
        assert_eq!(brief(&json!({"Fn::Join": ["-", ["a", {"Ref": "B"}]]})), "a-Ref B");
        assert_eq!(brief(&json!(256)), "256");
    }
}
