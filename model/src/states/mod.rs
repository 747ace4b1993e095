//! The Amazon States Language as typed data: a state machine definition, every state type, Retry
//! and Catch, Choice rules, and validation that reports every problem before anything is
//! deployed. It serialises to the exact JSON Step Functions takes (PascalCase keys, `"Type"` tags,
//! absent fields omitted, an explicit `"ResultPath": null` kept) and parses it back; the local
//! cloud's interpreter executes the same types. Free-form payloads (`Parameters`, `Result`,
//! `ItemSelector`, `ResultSelector`) stay `serde_json::Value`.
//!
//! `QueryLanguage` is modelled (top level and per state), with JSONata's fields (`Arguments`,
//! `Output`, Map `Items`, Choice `Condition`, expressions in `Seconds`, `TimeoutSeconds`, ...)
//! and workflow variables (`Assign`, in both languages); see [`jsonata`]. `validate` checks a
//! JSONata definition as CreateStateMachine does (each field in the language it belongs to,
//! expressions wrapped as `{% ... %}`, variable names); the local cloud's interpreter runs both
//! languages and checks each expression's syntax at CreateStateMachine.
//!
//! ```
//! use model::states::{Catcher, EcsRunTask, Fail, Retrier, RunPattern, SnsMessage, SnsPublish, StateMachine};
//!
//! // The partition is the caller's: a literal, or a placeholder the template layer substitutes.
//! let partition = "${AWS::Partition}";
//! let run = EcsRunTask {
//!     cluster: "${ClusterArn}".into(),
//!     task_definition: "${TaskDefinitionArn}".into(),
//!     container_name: "servicefull".into(),
//!     subnets: vec!["${SubnetA}".into(), "${SubnetB}".into()],
//!     security_groups: vec!["${SecurityGroup}".into()],
//!     assign_public_ip: true,
//!     pattern: RunPattern::Sync,
//! };
//! let notify = SnsPublish { topic_arn: "${TopicArn}".into(), message: SnsMessage::Path("$".into()) };
//!
//! let machine = StateMachine::new("RunTask")
//!     .with_state(
//!         "RunTask",
//!         run.task(partition)
//!             .with_retry(Retrier::on(["ECS.AmazonECSException"]).interval_seconds(2).max_attempts(3))
//!             .with_catch(Catcher::on(["States.ALL"], "Failed").result_path("$.error"))
//!             .with_next("Notify"),
//!     )
//!     .with_state("Notify", notify.task(partition).with_end())
//!     .with_state("Failed", Fail { error: Some("TaskFailed".into()), ..Fail::default() });
//!
//! machine.validate()?; // every problem at once, each naming its state
//! let definition: String = machine.to_json(); // the DefinitionString
//! assert_eq!(model::states::StateMachine::from_json(&definition)?, machine);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

mod builders;
mod choice;
mod integrations;
pub mod jsonata;
mod machine;
pub mod paths;
mod state;
mod validate;

pub use choice::{ChoiceRule, CompareOp, Comparison, Condition, Operand, TypeTest};
pub use integrations::{EcsRunTask, RunPattern, SnsMessage, SnsPublish, integration_arn};
pub use jsonata::{Expression, NumberOrExpression};
pub use machine::{
    Branch, ExecutionType, ItemProcessor, ParseError, ProcessorConfig, ProcessorMode, QueryLanguage, StateMachine,
    States,
};
pub use state::{
    Catcher, Choice, Fail, JitterStrategy, Map, NullablePath, Parallel, Pass, Retrier, STATES_ALL, State, Succeed,
    Task, Variables, Wait,
};
pub use validate::{Location, MAX_RETRY_VALUE, MAX_STATE_NAME_LEN, ValidationError, ValidationErrors};
