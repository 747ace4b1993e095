//! The ECR repository the image lives in. `provisioner push` creates it, because the image must
//! exist before the stack does; the stack only names it, to scope the execution role's pull
//! permissions to this one repository. Its lifecycle policy document is here, for `push` to apply.

use model::template::{Expr, Template};
use serde_json::json;

use super::context::Repository;
use super::{Decorator, DecoratorContext, DecoratorError};

/// How many images the repository keeps by default.
pub const KEEP_IMAGES: u32 = 10;

/// The lifecycle policy: untagged images (left behind when a tag moves) expire a day after their
/// push, and of the rest only the newest `keep` stay. ECR requires a count of at least 1, and
/// keeping none would expire the image a deployed stack runs, so `keep` 0 is treated as 1.
pub fn lifecycle_policy_json(keep: u32) -> String {
    let keep = keep.max(1);
    json!({
        "rules": [
            {
                "rulePriority": 1,
                "description": "Expire untagged images a day after they were pushed",
                "selection": {
                    "tagStatus": "untagged",
                    "countType": "sinceImagePushed",
                    "countUnit": "days",
                    "countNumber": 1
                },
                "action": { "type": "expire" }
            },
            {
                // A rule on "any" must have the highest priority number: ECR evaluates it last.
                "rulePriority": 2,
                "description": format!("Keep only the newest {keep} images"),
                "selection": { "tagStatus": "any", "countType": "imageCountMoreThan", "countNumber": keep },
                "action": { "type": "expire" }
            }
        ]
    })
    .to_string()
}

/// The repository's ARN in whatever account, region and partition the stack is deployed to.
pub fn repository_arn(name: &str) -> Expr {
    Expr::sub(format!("arn:${{AWS::Partition}}:ecr:${{AWS::Region}}:${{AWS::AccountId}}:repository/{name}"))
}

/// Records the repository (named after the service) in the context; adds no resources.
pub struct EcrRepositoryDecorator;

impl Decorator for EcrRepositoryDecorator {
    fn name(&self) -> &str {
        "ecr"
    }

    fn decorate(&self, ctx: &mut DecoratorContext, _template: &mut Template) -> Result<(), DecoratorError> {
        let name = ctx.service.repository_name().to_owned();
        ctx.repository = Some(Repository { arn: repository_arn(&name), name });
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_lifecycle_policy_expires_untagged_images_and_keeps_the_newest() {
        let policy: serde_json::Value = serde_json::from_str(&lifecycle_policy_json(5)).unwrap();
        let rules = policy["rules"].as_array().unwrap();
        assert_eq!(rules.len(), 2);
        assert_eq!(rules[0]["selection"]["tagStatus"], "untagged");
        assert_eq!(rules[0]["selection"]["countUnit"], "days");
        assert_eq!(rules[0]["selection"]["countNumber"], 1);
        assert_eq!(rules[1]["selection"]["tagStatus"], "any");
        assert_eq!(rules[1]["selection"]["countNumber"], 5);
        assert!(rules[0]["rulePriority"].as_u64() < rules[1]["rulePriority"].as_u64());
        let zero: serde_json::Value = serde_json::from_str(&lifecycle_policy_json(0)).unwrap();
        assert_eq!(zero["rules"][1]["selection"]["countNumber"], 1);
    }

    #[test]
    fn the_repository_arn_hard_codes_no_partition_or_region() {
        let arn = serde_json::to_value(repository_arn("servicefull")).unwrap();
        assert_eq!(
            arn,
            json!({"Fn::Sub": "arn:${AWS::Partition}:ecr:${AWS::Region}:${AWS::AccountId}:repository/servicefull"})
        );
    }
}
