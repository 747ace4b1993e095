//! The execution's identity and the context object (`$$`) built from it: `$$.Execution`,
//! `$$.StateMachine`, `$$.State`, and, where they apply, `$$.Task.Token` and `$$.Map.Item`.

use std::sync::Arc;
use std::time::SystemTime;

use serde_json::{Value, json};

use crate::random::RandomSource;
use crate::timestamp;
use crate::variables::Variables;

/// Who and what an execution is, as StartExecution established it.
#[derive(Debug, Clone, PartialEq)]
pub struct ExecutionContext {
    /// `arn:aws:states:REGION:ACCOUNT:execution:MACHINE:NAME`
    pub execution_arn: String,
    pub execution_name: String,
    /// When StartExecution started it; `None` until the execution runs, which takes its
    /// clock's reading.
    pub start_time: Option<SystemTime>,
    pub role_arn: String,
    /// `arn:aws:states:REGION:ACCOUNT:stateMachine:MACHINE`
    pub state_machine_arn: String,
    pub state_machine_name: String,
}

impl ExecutionContext {
    /// The context of an execution named `execution_name` of the state machine
    /// `state_machine_arn`; the execution ARN is derived from the machine's, as
    /// Step Functions derives it.
    pub fn new(state_machine_arn: &str, execution_name: &str, role_arn: &str) -> Self {
        let state_machine_name = state_machine_arn.rsplit(':').next().unwrap_or_default().to_owned();
        let prefix = state_machine_arn.rsplitn(3, ':').nth(2).unwrap_or("arn:aws:states:us-east-1:123456789012");
        Self {
            execution_arn: format!("{prefix}:execution:{state_machine_name}:{execution_name}"),
            execution_name: execution_name.to_owned(),
            start_time: None,
            role_arn: role_arn.to_owned(),
            state_machine_arn: state_machine_arn.to_owned(),
            state_machine_name,
        }
    }

    /// The same execution run as an express one, whose ARN says `express` where a standard
    /// execution's says `execution`.
    pub fn express(mut self) -> Self {
        self.execution_arn = self.execution_arn.replacen(":execution:", ":express:", 1);
        self
    }

    /// The region, the fourth field of the execution ARN.
    pub fn region(&self) -> &str {
        self.execution_arn.split(':').nth(3).unwrap_or_default()
    }

    /// `$$.Execution` and `$$.StateMachine`, the part of the context object fixed for the run.
    pub(crate) fn base_object(&self, input: &Value) -> Value {
        json!({
            "Execution": {
                "Id": self.execution_arn,
                "Input": input,
                "Name": self.execution_name,
                "RoleArn": self.role_arn,
                "StartTime": timestamp::format(self.start_time.unwrap_or(SystemTime::UNIX_EPOCH)),
                "RedriveCount": 0
            },
            "StateMachine": {"Id": self.state_machine_arn, "Name": self.state_machine_name}
        })
    }
}

/// What the context object says about the current state.
pub(crate) struct StateContext<'a> {
    pub name: &'a str,
    pub entered_time: &'a str,
    pub retry_count: u64,
    pub task_token: Option<&'a str>,
    /// `$$.Map.Item.Index` and `.Value`, inside a Map's ItemSelector.
    pub map_item: Option<(usize, &'a Value)>,
}

/// A state's context object, built on first use, the variables where the state runs, and the
/// execution's random source.
pub(crate) struct LazyContext<'a> {
    pub state: StateContext<'a>,
    pub base: &'a Value,
    random: &'a Arc<RandomSource>,
    variables: &'a Variables,
    built: std::sync::OnceLock<Value>,
}

impl<'a> LazyContext<'a> {
    pub fn new(
        state: StateContext<'a>,
        base: &'a Value,
        random: &'a Arc<RandomSource>,
        variables: &'a Variables,
    ) -> Self {
        Self { state, base, random, variables, built: std::sync::OnceLock::new() }
    }
}

impl crate::path::ContextObject for LazyContext<'_> {
    fn value(&self) -> &Value {
        self.built.get_or_init(|| self.state.object(self.base))
    }

    fn random(&self) -> &Arc<RandomSource> {
        self.random
    }

    fn variable(&self, name: &str) -> Option<Arc<Value>> {
        self.variables.get(name)
    }
}

impl StateContext<'_> {
    pub fn object(&self, base: &Value) -> Value {
        let mut object = base.clone();
        object["State"] = json!({"EnteredTime": self.entered_time, "Name": self.name, "RetryCount": self.retry_count});
        if let Some(token) = self.task_token {
            object["Task"] = json!({"Token": token});
        }
        if let Some((index, value)) = self.map_item {
            object["Map"] = json!({"Item": {"Index": index, "Value": value}});
        }
        object
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn derives_the_execution_arn_and_region_from_the_machine() {
        let context = ExecutionContext::new(
            "arn:aws:states:eu-west-1:123456789012:stateMachine:Flow",
            "run-1",
            "arn:aws:iam::123456789012:role/R",
        );
        assert_eq!(context.execution_arn, "arn:aws:states:eu-west-1:123456789012:execution:Flow:run-1");
        assert_eq!(context.state_machine_name, "Flow");
        assert_eq!(context.region(), "eu-west-1");
        let base = context.base_object(&json!({"a": 1}));
        assert_eq!(base["Execution"]["Input"], json!({"a": 1}));
        assert_eq!(base["StateMachine"]["Name"], "Flow");
        let state = StateContext {
            name: "S",
            entered_time: "2019-03-26T20:14:13.192Z",
            retry_count: 2,
            task_token: Some("t"),
            map_item: Some((3, &json!("x"))),
        };
        let object = state.object(&base);
        assert_eq!(object["State"], json!({"EnteredTime": "2019-03-26T20:14:13.192Z", "Name": "S", "RetryCount": 2}));
        assert_eq!(object["Task"]["Token"], "t");
        assert_eq!(object["Map"]["Item"], json!({"Index": 3, "Value": "x"}));
    }
}
