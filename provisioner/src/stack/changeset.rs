//! Change sets: create one (CREATE for a new stack, UPDATE for an existing one), wait until
//! CloudFormation has computed it, and read what it will do, resource by resource. A change set
//! with nothing to do is not an error: CloudFormation marks it FAILED with a reason saying so, and
//! it is removed and reported as "no changes" (Sparta treated it as a failure, and its sample forced
//! a change with a timestamp).

use std::fmt;
use std::time::Duration;

use aws_sdk_cloudformation::Client;
use aws_sdk_cloudformation::types::{Capability, ChangeSetType, Parameter, Tag};
use serde::Serialize;

use super::body::TemplateSource;
use super::{Result, StackError, aws};

/// What CloudFormation says, in one of two wordings, when a change set would change nothing.
const NO_CHANGES: [&str; 2] = ["didn't contain changes", "No updates are to be performed"];

#[derive(Debug, Clone)]
pub struct Request {
    pub stack: String,
    pub name: String,
    pub kind: ChangeSetType,
    pub source: TemplateSource,
    pub parameters: Vec<(String, String)>,
    pub capabilities: Vec<Capability>,
    pub tags: Vec<(String, String)>,
    pub description: String,
}

/// One resource the change set adds, modifies or removes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PlannedChange {
    /// `Add`, `Modify`, `Remove`, `Import` or `Dynamic`.
    pub action: String,
    pub logical_id: String,
    pub resource_type: String,
    /// For `Modify`: `True`, `False` or `Conditional` (whether the resource is replaced).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub replacement: Option<String>,
}

impl fmt::Display for PlannedChange {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let sign = match self.action.as_str() {
            "Add" => '+',
            "Remove" => '-',
            _ => '~',
        };
        write!(f, "{sign} {:<7} {} ({})", self.action, self.logical_id, self.resource_type)?;
        match self.replacement.as_deref() {
            Some("True") => write!(f, ", replaced"),
            Some("Conditional") => write!(f, ", may be replaced"),
            Some(_) => write!(f, ", updated in place"),
            None => Ok(()),
        }
    }
}

/// A computed change set.
#[derive(Debug, Clone)]
pub enum Prepared {
    /// Nothing to do; the change set was already removed.
    NoChanges,
    Ready {
        id: String,
        stack_id: Option<String>,
        changes: Vec<PlannedChange>,
    },
}

/// Creates the change set and waits until it is computed.
pub async fn create(cf: &Client, request: &Request) -> Result<Prepared> {
    let mut call = cf
        .create_change_set()
        .stack_name(&request.stack)
        .change_set_name(&request.name)
        .change_set_type(request.kind.clone())
        .description(&request.description)
        .set_capabilities(Some(request.capabilities.clone()));
    call = match &request.source {
        TemplateSource::Body(body) => call.template_body(body),
        TemplateSource::Url(url) => call.template_url(url),
    };
    for (key, value) in &request.parameters {
        call = call.parameters(Parameter::builder().parameter_key(key).parameter_value(value).build());
    }
    for (key, value) in &request.tags {
        call = call.tags(Tag::builder().key(key).value(value).build());
    }
    let created = call.send().await.map_err(|e| aws(&format!("CreateChangeSet for stack {}", request.stack), &e))?;
    let id = created.id.unwrap_or_else(|| request.name.clone());
    let stack_id = created.stack_id;

    let mut delay = Duration::from_millis(200);
    loop {
        let (status, reason, changes) = describe(cf, &request.stack, &id).await?;
        match status.as_str() {
            "CREATE_COMPLETE" => {
                return Ok(Prepared::Ready { id, stack_id, changes });
            }
            "FAILED" => {
                delete(cf, &request.stack, &id).await?;
                if NO_CHANGES.iter().any(|marker| reason.contains(marker)) {
                    return Ok(Prepared::NoChanges);
                }
                return Err(StackError::ChangeSetFailed {
                    stack: request.stack.clone(),
                    change_set: request.name.clone(),
                    reason,
                });
            }
            _ => {
                tokio::time::sleep(delay).await;
                delay = (delay * 2).min(Duration::from_secs(3));
            }
        }
    }
}

/// The change set's status, status reason and changes (every page).
async fn describe(cf: &Client, stack: &str, id: &str) -> Result<(String, String, Vec<PlannedChange>)> {
    let mut changes = Vec::new();
    let mut next: Option<String> = None;
    loop {
        let page = cf
            .describe_change_set()
            .stack_name(stack)
            .change_set_name(id)
            .set_next_token(next.take())
            .send()
            .await
            .map_err(|e| aws(&format!("DescribeChangeSet {id}"), &e))?;
        for change in page.changes() {
            if let Some(resource) = change.resource_change() {
                changes.push(PlannedChange {
                    action: resource.action().map(|a| a.as_str().to_owned()).unwrap_or_default(),
                    logical_id: resource.logical_resource_id().unwrap_or_default().to_owned(),
                    resource_type: resource.resource_type().unwrap_or_default().to_owned(),
                    replacement: resource.replacement().map(|r| r.as_str().to_owned()),
                });
            }
        }
        let status = page.status().map(|s| s.as_str().to_owned()).unwrap_or_default();
        let reason = page.status_reason().unwrap_or_default().to_owned();
        match page.next_token {
            Some(token) if !token.is_empty() => next = Some(token),
            _ => return Ok((status, reason, changes)),
        }
    }
}

pub async fn execute(cf: &Client, stack: &str, id: &str) -> Result<()> {
    cf.execute_change_set()
        .stack_name(stack)
        .change_set_name(id)
        .send()
        .await
        .map(|_| ())
        .map_err(|e| aws(&format!("ExecuteChangeSet {id}"), &e))
}

pub async fn delete(cf: &Client, stack: &str, id: &str) -> Result<()> {
    cf.delete_change_set()
        .stack_name(stack)
        .change_set_name(id)
        .send()
        .await
        .map(|_| ())
        .map_err(|e| aws(&format!("DeleteChangeSet {id}"), &e))
}

/// A change set name CloudFormation accepts (a letter, then letters, digits and hyphens) that is
/// new each time.
pub fn new_name() -> String {
    let millis =
        std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_millis()).unwrap_or_default();
    format!("provision-{millis}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn changes_read_as_a_plan() {
        let change = |action: &str, replacement: Option<&str>| PlannedChange {
            action: action.into(),
            logical_id: "TaskDefinition".into(),
            resource_type: "AWS::ECS::TaskDefinition".into(),
            replacement: replacement.map(Into::into),
        };
        assert_eq!(change("Add", None).to_string(), "+ Add     TaskDefinition (AWS::ECS::TaskDefinition)");
        assert_eq!(
            change("Modify", Some("True")).to_string(),
            "~ Modify  TaskDefinition (AWS::ECS::TaskDefinition), replaced"
        );
        assert_eq!(
            change("Modify", Some("False")).to_string(),
            "~ Modify  TaskDefinition (AWS::ECS::TaskDefinition), updated in place"
        );
        assert_eq!(change("Remove", None).to_string(), "- Remove  TaskDefinition (AWS::ECS::TaskDefinition)");
    }

    #[test]
    fn change_set_names_are_valid() {
        let name = new_name();
        assert!(name.starts_with("provision-") && name.len() < 128, "{name}");
        assert!(name.chars().all(|c| c.is_ascii_alphanumeric() || c == '-'), "{name}");
    }
}
