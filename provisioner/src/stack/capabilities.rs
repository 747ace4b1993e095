//! The capabilities a template must acknowledge, derived from what it holds (never a fixed list):
//! IAM resources need CAPABILITY_IAM, IAM resources with custom names CAPABILITY_NAMED_IAM, and
//! nested stacks or macros CAPABILITY_AUTO_EXPAND.

use aws_sdk_cloudformation::types::Capability;
use model::template::Template;

/// IAM resource types and the property that gives each a custom name.
const IAM_TYPES: &[(&str, Option<&str>)] = &[
    ("AWS::IAM::Role", Some("RoleName")),
    ("AWS::IAM::ManagedPolicy", Some("ManagedPolicyName")),
    ("AWS::IAM::Policy", None),
    ("AWS::IAM::RolePolicy", None),
    ("AWS::IAM::User", Some("UserName")),
    ("AWS::IAM::UserPolicy", None),
    ("AWS::IAM::Group", Some("GroupName")),
    ("AWS::IAM::GroupPolicy", None),
    ("AWS::IAM::InstanceProfile", Some("InstanceProfileName")),
    ("AWS::IAM::AccessKey", None),
    ("AWS::IAM::UserToGroupAddition", None),
];

const EXPANDING_TYPES: &[&str] =
    &["AWS::CloudFormation::Stack", "AWS::CloudFormation::Macro", "AWS::Serverless::Application"];

pub fn required(template: &Template) -> Vec<Capability> {
    let mut iam = false;
    let mut named_iam = false;
    let mut expand = false;
    for resource in template.resources().values() {
        let kind = resource.resource_type.as_str();
        if let Some((_, name_property)) = IAM_TYPES.iter().find(|(t, _)| *t == kind) {
            iam = true;
            if name_property.is_some_and(|p| resource.properties.contains_key(p)) {
                named_iam = true;
            }
        }
        if EXPANDING_TYPES.contains(&kind) || kind.starts_with("AWS::Serverless::") {
            expand = true;
        }
    }
    let mut capabilities = Vec::new();
    if named_iam {
        capabilities.push(Capability::CapabilityNamedIam);
    } else if iam {
        capabilities.push(Capability::CapabilityIam);
    }
    if expand {
        capabilities.push(Capability::CapabilityAutoExpand);
    }
    capabilities
}

#[cfg(test)]
mod tests {
    use model::template::{LogicalId, Resource};

    use super::*;

    fn with(resources: &[(&str, Resource)]) -> Template {
        let mut template = Template::new();
        for (id, resource) in resources {
            template.add_resource(&LogicalId::new(*id).unwrap(), resource.clone()).unwrap();
        }
        template
    }

    #[test]
    fn unnamed_roles_need_iam_named_ones_named_iam() {
        assert!(required(&with(&[("Topic", Resource::new("AWS::SNS::Topic"))])).is_empty());
        assert_eq!(required(&with(&[("Role", Resource::new("AWS::IAM::Role"))])), vec![Capability::CapabilityIam]);
        let named = Resource::new("AWS::IAM::Role").property("RoleName", "x");
        assert_eq!(
            required(&with(&[("Role", Resource::new("AWS::IAM::Role")), ("Named", named)])),
            vec![Capability::CapabilityNamedIam]
        );
        assert_eq!(
            required(&with(&[("Nested", Resource::new("AWS::CloudFormation::Stack"))])),
            vec![Capability::CapabilityAutoExpand]
        );
    }
}
