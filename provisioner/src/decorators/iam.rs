//! IAM policy documents as the decorators write them: a role an AWS service assumes, with inline
//! policies of explicit actions on explicit resources (no managed policies, whose wildcards grant
//! more than a task needs).

use model::template::Resource;
use serde_json::{Value, json};

pub const POLICY_VERSION: &str = "2012-10-17";

/// One Allow statement.
pub fn allow(actions: &[&str], resources: impl Into<Value>) -> Value {
    json!({ "Effect": "Allow", "Action": actions, "Resource": resources.into() })
}

/// One Allow statement on every resource, for an action the AWS service defines no resource for
/// (`ecr:GetAuthorizationToken`). The Sid says why, so a reviewer reading the policy in the console
/// sees it; `template_checks` fails on any `*` resource not on its list of such actions.
pub fn allow_on_any_resource(sid: &str, actions: &[&str]) -> Value {
    json!({ "Sid": sid, "Effect": "Allow", "Action": actions, "Resource": "*" })
}

/// One Allow statement with a condition block.
pub fn allow_if(actions: &[&str], resources: impl Into<Value>, condition: Value) -> Value {
    json!({ "Effect": "Allow", "Action": actions, "Resource": resources.into(), "Condition": condition })
}

/// An `AWS::IAM::Role` that `service_principal` (e.g. `ecs-tasks.amazonaws.com`) may assume,
/// with the given inline policies (name, statements); none is a role with no permissions.
pub fn service_role(service_principal: &str, description: &str, policies: Vec<(&str, Vec<Value>)>) -> Resource {
    let role = Resource::new("AWS::IAM::Role").property("Description", description).property(
        "AssumeRolePolicyDocument",
        json!({
            "Version": POLICY_VERSION,
            "Statement": [{
                "Effect": "Allow",
                "Principal": { "Service": service_principal },
                "Action": "sts:AssumeRole",
            }],
        }),
    );
    if policies.is_empty() {
        return role;
    }
    let policies: Vec<Value> = policies
        .into_iter()
        .map(|(name, statements)| {
            json!({ "PolicyName": name, "PolicyDocument": { "Version": POLICY_VERSION, "Statement": statements } })
        })
        .collect();
    role.property("Policies", policies)
}

/// Adds an inline policy (name, statements) to a role made by [`service_role`].
pub fn add_inline_policy(role: &mut Resource, name: &str, statements: Vec<Value>) {
    let policy =
        json!({ "PolicyName": name, "PolicyDocument": { "Version": POLICY_VERSION, "Statement": statements } });
    match role.properties.get_mut("Policies").and_then(Value::as_array_mut) {
        Some(policies) => policies.push(policy),
        None => {
            role.properties.insert("Policies".into(), json!([policy]));
        }
    }
}
