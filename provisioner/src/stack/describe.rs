//! Reading a deployed stack back: its status, outputs, parameters, tags and physical resources.

use std::collections::BTreeMap;

use aws_sdk_cloudformation::Client;
use serde::Serialize;

use super::{Result, aws, is_missing_stack};

#[derive(Debug, Clone, Serialize)]
pub struct Stack {
    pub name: String,
    pub id: String,
    pub status: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub status_reason: String,
    pub outputs: BTreeMap<String, String>,
    pub parameters: BTreeMap<String, String>,
    pub tags: BTreeMap<String, String>,
}

/// The stack, None when it does not exist.
pub async fn stack(cf: &Client, name: &str) -> Result<Option<Stack>> {
    let out = match cf.describe_stacks().stack_name(name).send().await {
        Ok(out) => out,
        Err(err) if is_missing_stack(&err) => return Ok(None),
        Err(err) => return Err(aws(&format!("DescribeStacks {name}"), &err)),
    };
    let Some(stack) = out.stacks().first() else {
        return Ok(None);
    };
    let pairs = |items: Vec<(Option<&str>, Option<&str>)>| -> BTreeMap<String, String> {
        items.into_iter().filter_map(|(k, v)| Some((k?.to_owned(), v.unwrap_or_default().to_owned()))).collect()
    };
    Ok(Some(Stack {
        name: stack.stack_name().unwrap_or(name).to_owned(),
        id: stack.stack_id().unwrap_or_default().to_owned(),
        status: stack.stack_status().map(|s| s.as_str().to_owned()).unwrap_or_default(),
        status_reason: stack.stack_status_reason().unwrap_or_default().to_owned(),
        outputs: pairs(stack.outputs().iter().map(|o| (o.output_key(), o.output_value())).collect()),
        parameters: pairs(stack.parameters().iter().map(|p| (p.parameter_key(), p.parameter_value())).collect()),
        tags: pairs(stack.tags().iter().map(|t| (t.key(), t.value())).collect()),
    }))
}

/// The outputs as `provision` and `status` print them: a heading, then one `KEY  VALUE` line each
/// with the values aligned; nothing at all when there are none.
pub fn outputs_text(outputs: &BTreeMap<String, String>) -> String {
    if outputs.is_empty() {
        return String::new();
    }
    let width = outputs.keys().map(String::len).max().unwrap_or(0);
    let mut text = String::from("Outputs:\n");
    for (key, value) in outputs {
        text.push_str(&format!("  {key:<width$}  {value}\n"));
    }
    text
}

/// The physical ID of each logical resource (for a task definition, its ARN).
pub async fn physical_ids(cf: &Client, stack: &str) -> Result<BTreeMap<String, String>> {
    let out = cf
        .describe_stack_resources()
        .stack_name(stack)
        .send()
        .await
        .map_err(|e| aws(&format!("DescribeStackResources {stack}"), &e))?;
    Ok(out
        .stack_resources()
        .iter()
        .filter_map(|r| Some((r.logical_resource_id()?.to_owned(), r.physical_resource_id()?.to_owned())))
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn outputs_print_as_an_aligned_table_or_not_at_all() {
        assert_eq!(outputs_text(&BTreeMap::new()), "");
        let outputs = BTreeMap::from([("A".to_owned(), "1".to_owned()), ("Longer".to_owned(), "2".to_owned())]);
        assert_eq!(outputs_text(&outputs), "Outputs:\n  A       1\n  Longer  2\n");
    }
}
