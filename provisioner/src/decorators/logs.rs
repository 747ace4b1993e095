//! The CloudWatch Logs group the task's output goes to (the awslogs driver), with a retention so
//! logs do not accumulate forever, explicit deletion policies, and a customer managed KMS key of its
//! own that encrypts it (checkov CKV_AWS_158), rotated yearly, usable by CloudWatch Logs for this
//! one log group only.

use model::template::{DeletionPolicy, Expr, Resource, Template, UpdateReplacePolicy};
use serde_json::json;

use super::context::LogGroup;
use super::iam::POLICY_VERSION;
use super::{Decorator, DecoratorContext, DecoratorError, logical_id};

pub const LOG_GROUP: &str = "TaskLogGroup";
pub const LOG_KEY: &str = "TaskLogKey";

/// The days a deleted stack's key waits before KMS deletes it: the shortest KMS allows, so a
/// deleted stack stops costing soon; a key re-created by a new deploy is a new key.
pub const KEY_PENDING_WINDOW_DAYS: u32 = 7;

/// The key policy: the account administers the key, and CloudWatch Logs of this region may use it
/// for this log group only (its ARN is the encryption context Logs passes).
pub fn log_key_policy(log_group_name: &str) -> serde_json::Value {
    json!({
        "Version": POLICY_VERSION,
        "Statement": [
            {
                // AWS's default key policy statement. Without it no one could ever change or
                // delete the key (CloudFormation refuses such a policy: "lockout safety check").
                // In a key policy, Resource "*" means this key and nothing else.
                "Sid": "AccountAdministersThisKey",
                "Effect": "Allow",
                "Principal": { "AWS": Expr::sub("arn:${AWS::Partition}:iam::${AWS::AccountId}:root") },
                "Action": "kms:*",
                "Resource": "*",
            },
            {
                // The actions CloudWatch Logs documents for encrypting a log group; Resource "*"
                // is again this key, and the condition names the one log group.
                "Sid": "CloudWatchLogsEncryptsThisLogGroup",
                "Effect": "Allow",
                "Principal": { "Service": Expr::sub("logs.${AWS::Region}.amazonaws.com") },
                "Action": ["kms:Encrypt*", "kms:Decrypt*", "kms:ReEncrypt*", "kms:GenerateDataKey*", "kms:Describe*"],
                "Resource": "*",
                "Condition": {
                    "ArnEquals": {
                        "kms:EncryptionContext:aws:logs:arn": Expr::sub(format!(
                            "arn:${{AWS::Partition}}:logs:${{AWS::Region}}:${{AWS::AccountId}}:log-group:{log_group_name}"
                        ))
                    }
                },
            },
        ],
    })
}

pub struct LogGroupDecorator;

impl Decorator for LogGroupDecorator {
    fn name(&self) -> &str {
        "logs"
    }

    fn decorate(&self, ctx: &mut DecoratorContext, template: &mut Template) -> Result<(), DecoratorError> {
        let name = ctx.service.log_group_name();
        let key = logical_id(LOG_KEY)?;
        template.add_resource(
            &key,
            Resource::new("AWS::KMS::Key")
                .property("Description", format!("Encrypts the {} task's log group {name}", ctx.service.name()))
                .property("EnableKeyRotation", true)
                .property("PendingWindowInDays", KEY_PENDING_WINDOW_DAYS)
                .property("KeyPolicy", log_key_policy(&name))
                // Delete (which for a key means: scheduled for deletion after the pending window),
                // as the log group it encrypts is deleted with the stack too.
                .deletion_policy(DeletionPolicy::Delete)
                .update_replace_policy(UpdateReplacePolicy::Delete),
        )?;
        let id = logical_id(LOG_GROUP)?;
        template.add_resource(
            &id,
            Resource::new("AWS::Logs::LogGroup")
                .property("LogGroupName", name)
                .property("RetentionInDays", ctx.service.log_retention_days())
                .property("KmsKeyId", Expr::get_att(&key, "Arn"))
                // Delete, stated rather than defaulted: the group has a fixed name, so a retained
                // group would make the next deploy of the same service fail with "already exists".
                // The retention bounds what is lost anyway.
                .deletion_policy(DeletionPolicy::Delete)
                .update_replace_policy(UpdateReplacePolicy::Delete),
        )?;
        ctx.log_group = Some(LogGroup { name: Expr::ref_to(&id), arn: Expr::get_att(&id, "Arn") });
        Ok(())
    }
}
