//! Starting an execution of a stack's state machine and following it until it ends: each state
//! as it is entered and left, the Fargate task's log lines as they arrive (made safe to show on a
//! terminal), and the outcome, with the failed state, error and cause, and the task's exit code
//! and last log lines when the task failed. Only the standard Step Functions, CloudFormation and
//! CloudWatch Logs APIs are used, so the same code follows an execution on AWS and on the local
//! cloud. Ctrl-C stops following, never the execution.

use std::collections::{HashSet, VecDeque};
use std::time::Duration;

use anyhow::Context;
use aws_sdk_sfn::types::{ExecutionStatus, HistoryEvent, HistoryEventType};
use serde::Serialize;
use serde_json::Value;

use crate::caller::Caller;
use crate::stack::converge::SERVICE_TAG;
use crate::stack::describe;

/// How many of the task's last log lines a failure repeats.
const LAST_LINES: usize = 10;
/// Before a state that ran a task is shown ending, its log stream is read until a read this long
/// after the last one brings nothing new: a task's lines reach CloudWatch Logs a moment after it
/// writes them, and a callback task reports before its container stops.
const SETTLE_PAUSE: Duration = Duration::from_millis(250);
/// The longest that wait lasts, for a task that keeps writing.
const SETTLE_MAX: Duration = Duration::from_secs(3);

/// Ctrl-C while following: the execution goes on.
#[derive(Debug, thiserror::Error)]
#[error(
    "stopped following (Ctrl-C); the execution goes on, as it would had this terminal closed. See how it ends \
     with: provisioner status --stack-name {stack}; stop it with: aws stepfunctions stop-execution \
     --execution-arn {execution_arn}"
)]
pub struct StoppedFollowing {
    pub stack: String,
    pub execution_arn: String,
}

/// The execution ended other than SUCCEEDED.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct ExecutionFailed(pub String);

/// What `run --json` prints.
#[derive(Debug, Default, Serialize)]
pub struct RunSummary {
    pub execution_arn: String,
    pub name: String,
    pub status: String,
    pub output: Option<Value>,
    pub error: Option<String>,
    pub cause: Option<String>,
    pub failed_state: Option<String>,
    pub task_arn: Option<String>,
    pub task_exit_code: Option<i64>,
    pub states: Vec<String>,
    pub log_lines: Vec<String>,
}

/// An execution just started.
pub struct Started {
    pub execution_arn: String,
    /// The execution's name, the last part of its ARN.
    pub name: String,
    /// The stack whose state machine runs it (its outputs name the log group and container).
    pub stack: describe::Stack,
}

/// Starts an execution of the state machine of `stack_name` with `input` (JSON), named `name`
/// (or by Step Functions).
pub async fn start(caller: &Caller, stack_name: &str, input: &str, name: Option<String>) -> anyhow::Result<Started> {
    let cf = aws_sdk_cloudformation::Client::new(&caller.config);
    let stack = describe::stack(&cf, stack_name).await?.with_context(|| {
        format!("the stack {stack_name} does not exist in {caller}: deploy it first with `just provision`")
    })?;
    let state_machine = stack.outputs.get("StateMachineArn").with_context(|| {
        format!(
            "the stack {stack_name} ({}) has no StateMachineArn output; was it deployed by `provisioner provision`?",
            stack.status
        )
    })?;
    let sfn = crate::host_prefix::sfn_client(&caller.config);
    let started = sfn
        .start_execution()
        .state_machine_arn(state_machine)
        .input(input)
        .set_name(name)
        .send()
        .await
        .map_err(|e| anyhow::anyhow!(crate::aws::explain(&format!("StartExecution of {state_machine}"), &e)))?;
    let execution_arn = started.execution_arn().to_owned();
    let name = execution_arn.rsplit(':').next().unwrap_or_default().to_owned();
    Ok(Started { execution_arn, name, stack })
}

/// How a followed execution ended.
pub struct Followed {
    pub summary: RunSummary,
    /// The task's last log lines, at most [`LAST_LINES`].
    pub last_lines: VecDeque<String>,
}

impl Followed {
    pub fn succeeded(&self) -> bool {
        self.summary.status == "SUCCEEDED"
    }

    /// Why it did not succeed: the state, error and cause, and the task's exit code and last lines.
    pub fn failure(&self) -> ExecutionFailed {
        ExecutionFailed(failure_text(&self.summary, &self.last_lines))
    }
}

/// Follows `started` (of the stack named `stack_name`) until it ends, handing each line worth
/// showing (a state entered or left, a task submitted or failed, a task's log line) to `on_line`
/// as it arrives. Ctrl-C stops the following with [`StoppedFollowing`].
pub async fn follow(
    caller: &Caller,
    started: &Started,
    stack_name: &str,
    on_line: &dyn Fn(&str),
) -> anyhow::Result<Followed> {
    let sfn = crate::host_prefix::sfn_client(&caller.config);
    let logs = aws_sdk_cloudwatchlogs::Client::new(&caller.config);
    let stack = &started.stack;
    let mut follower = Follow {
        sfn: &sfn,
        logs: &logs,
        log_group: stack.outputs.get("LogGroupName").cloned(),
        stream_prefix: format!(
            "{}/{}",
            stack_name_prefix(stack),
            stack.outputs.get("ContainerName").cloned().unwrap_or_default()
        ),
        seen: HashSet::new(),
        log_streams: Vec::new(),
        last_lines: VecDeque::new(),
        on_line,
        summary: RunSummary {
            execution_arn: started.execution_arn.clone(),
            name: started.name.clone(),
            ..RunSummary::default()
        },
    };
    let outcome = tokio::select! {
        outcome = follower.until_done() => outcome,
        _ = crate::interrupt::requested() => {
            return Err(StoppedFollowing {
                stack: stack_name.to_owned(),
                execution_arn: started.execution_arn.clone(),
            }
            .into())
        }
    };
    // The endpoint went away mid-way (a network cut, a local cloud that stopped): the execution's
    // fate is unknown here, so say where to read it.
    outcome.with_context(|| {
        format!(
            "lost track of execution {} while following it; it may still run or have ended. See it with: \
             provisioner status --stack-name {stack_name}",
            started.name
        )
    })?;
    Ok(Followed { summary: follower.summary, last_lines: follower.last_lines })
}

/// Whether `event` ends a task state's wait for its ECS task (the task reported, stopped, failed or
/// timed out).
fn ends_a_task(event: &HistoryEvent) -> bool {
    let ecs = |resource_type: &str| resource_type == "ecs";
    event.task_succeeded_event_details().is_some_and(|d| ecs(d.resource_type()))
        || event.task_failed_event_details().is_some_and(|d| ecs(d.resource_type()))
        || event.task_timed_out_event_details().is_some_and(|d| ecs(d.resource_type()))
}

/// The awslogs stream prefix: the service name the stack was tagged with, else the stack name.
fn stack_name_prefix(stack: &describe::Stack) -> String {
    stack.tags.get(SERVICE_TAG).cloned().unwrap_or_else(|| stack.name.clone())
}

fn failure_text(summary: &RunSummary, last_lines: &VecDeque<String>) -> String {
    let mut text = format!("execution {} ended {}", summary.name, summary.status);
    if let Some(state) = &summary.failed_state {
        text.push_str(&format!(" in state {state}"));
    }
    if let Some(error) = &summary.error {
        text.push_str(&format!(": {error}"));
    }
    if let Some(cause) = &summary.cause {
        let shown: String = cause.chars().take(2000).collect();
        text.push_str(&format!("\n  cause: {shown}"));
    }
    let task = summary.task_arn.as_deref().unwrap_or("");
    match summary.task_exit_code {
        Some(code) => text.push_str(&format!("\n  the task {task} exited with code {code}")),
        // A callback task reported its own error (the cause above): no exit code to show.
        None if !last_lines.is_empty() => text.push_str(&format!("\n  the task {task}")),
        None => return text,
    }
    if !last_lines.is_empty() {
        text.push_str("; its last log lines:");
        for line in last_lines {
            text.push_str(&format!("\n  | {line}"));
        }
    }
    text
}

struct Follow<'a> {
    sfn: &'a aws_sdk_sfn::Client,
    logs: &'a aws_sdk_cloudwatchlogs::Client,
    log_group: Option<String>,
    /// `<awslogs-stream-prefix>/<container>`; a task's stream adds `/<task id>`.
    stream_prefix: String,
    seen: HashSet<i64>,
    /// Each task's stream and the token to read on from.
    log_streams: Vec<(String, Option<String>)>,
    last_lines: VecDeque<String>,
    on_line: &'a dyn Fn(&str),
    summary: RunSummary,
}

impl Follow<'_> {
    async fn until_done(&mut self) -> anyhow::Result<()> {
        let mut delay = Duration::from_millis(100);
        loop {
            let described = self
                .sfn
                .describe_execution()
                .execution_arn(&self.summary.execution_arn)
                .send()
                .await
                .map_err(|e| anyhow::anyhow!(crate::aws::explain("DescribeExecution", &e)))?;
            let done = described.status() != &ExecutionStatus::Running;
            self.history().await?;
            self.read_logs().await?;
            if done {
                // Lines written just before the task stopped can arrive a moment after the status.
                tokio::time::sleep(Duration::from_millis(300)).await;
                self.read_logs().await?;
                self.summary.status = described.status().as_str().to_owned();
                self.summary.output = described.output().and_then(|o| serde_json::from_str(o).ok());
                if self.summary.error.is_none() {
                    self.summary.error = described.error().map(str::to_owned);
                    self.summary.cause = described.cause().map(str::to_owned);
                }
                return Ok(());
            }
            tokio::time::sleep(delay).await;
            // Short enough that a task's first lines show within a moment of being written.
            delay = (delay * 2).min(Duration::from_millis(400));
        }
    }

    /// Prints the history events not seen yet.
    async fn history(&mut self) -> anyhow::Result<()> {
        let mut next: Option<String> = None;
        loop {
            let page = self
                .sfn
                .get_execution_history()
                .execution_arn(&self.summary.execution_arn)
                .include_execution_data(true)
                .set_next_token(next.take())
                .send()
                .await
                .map_err(|e| anyhow::anyhow!(crate::aws::explain("GetExecutionHistory", &e)))?;
            for event in page.events() {
                if self.seen.insert(event.id()) {
                    if ends_a_task(event) {
                        self.settle_logs().await?;
                    }
                    self.event(event);
                }
            }
            match page.next_token {
                Some(token) if !token.is_empty() => next = Some(token),
                _ => return Ok(()),
            }
        }
    }

    fn event(&mut self, event: &HistoryEvent) {
        let kind = event.r#type();
        if let Some(entered) = event.state_entered_event_details() {
            self.say(&format!("-> {} entered", entered.name()));
            self.summary.states.push(entered.name().to_owned());
        } else if let Some(exited) = event.state_exited_event_details() {
            self.say(&format!("<- {} exited", exited.name()));
        } else if let Some(submitted) = event.task_submitted_event_details() {
            if submitted.resource_type() == "ecs" {
                self.task_started(submitted.output());
            }
        } else if let Some(failed) = event.task_failed_event_details() {
            self.say(&format!("   task failed: {}", failed.error().unwrap_or("(no error)")));
            self.task_failed(failed.error(), failed.cause());
        } else if let Some(timed_out) = event.task_timed_out_event_details() {
            self.task_failed(timed_out.error(), timed_out.cause());
        } else if let Some(failed) = event.execution_failed_event_details() {
            self.summary.error = failed.error().map(str::to_owned);
            self.summary.cause = failed.cause().map(str::to_owned);
        } else if kind == &HistoryEventType::ExecutionAborted {
            self.summary.error = Some("ExecutionAborted".into());
        }
        if kind.as_str().ends_with("Failed") && self.summary.failed_state.is_none() {
            self.summary.failed_state = self.summary.states.last().cloned();
        }
    }

    /// A RunTask answer (`{"Tasks": [{"TaskArn": ...}]}`): start reading that task's log stream.
    fn task_started(&mut self, output: Option<&str>) {
        let Some(arn) = output
            .and_then(|o| serde_json::from_str::<Value>(o).ok())
            .and_then(|v| v.pointer("/Tasks/0/TaskArn").and_then(Value::as_str).map(str::to_owned))
        else {
            return;
        };
        let task_id = arn.rsplit('/').next().unwrap_or_default().to_owned();
        self.say(&format!("   task {arn} submitted"));
        self.summary.task_arn = Some(arn);
        let stream = format!("{}/{task_id}", self.stream_prefix);
        if !self.log_streams.iter().any(|(s, _)| *s == stream) {
            self.log_streams.push((stream, None));
        }
    }

    /// A task failure's cause is the stopped task as JSON: its essential container's exit code.
    fn task_failed(&mut self, error: Option<&str>, cause: Option<&str>) {
        self.summary.error = error.map(str::to_owned);
        self.summary.cause = cause.map(str::to_owned);
        let task = cause.and_then(|c| serde_json::from_str::<Value>(c).ok());
        if let Some(task) = task {
            if let Some(code) = task.pointer("/Containers/0/ExitCode").and_then(Value::as_i64) {
                self.summary.task_exit_code = Some(code);
            }
            if let Some(arn) = task.get("TaskArn").and_then(Value::as_str) {
                self.summary.task_arn = Some(arn.to_owned());
            }
        }
    }

    /// Reads the tasks' log streams until they settle (see [`SETTLE_PAUSE`]), so that a task's lines
    /// are shown under its state, before the state's end.
    async fn settle_logs(&mut self) -> anyhow::Result<()> {
        if self.log_streams.is_empty() {
            return Ok(());
        }
        let deadline = tokio::time::Instant::now() + SETTLE_MAX;
        self.read_logs().await?;
        while tokio::time::Instant::now() < deadline {
            tokio::time::sleep(SETTLE_PAUSE).await;
            let before = self.summary.log_lines.len();
            self.read_logs().await?;
            if self.summary.log_lines.len() == before {
                break;
            }
        }
        Ok(())
    }

    /// Prints the task's new log lines (a stream that does not exist yet is read again later).
    async fn read_logs(&mut self) -> anyhow::Result<()> {
        let Some(group) = self.log_group.clone() else { return Ok(()) };
        for i in 0..self.log_streams.len() {
            loop {
                let (stream, token) = self.log_streams[i].clone();
                let read = self
                    .logs
                    .get_log_events()
                    .log_group_name(&group)
                    .log_stream_name(&stream)
                    .start_from_head(true)
                    .set_next_token(token.clone())
                    .send()
                    .await;
                let page = match read {
                    Ok(page) => page,
                    Err(err) if err.as_service_error().is_some_and(|e| e.is_resource_not_found_exception()) => break,
                    Err(err) => {
                        return Err(anyhow::anyhow!(crate::aws::explain(
                            &format!("GetLogEvents {group} {stream}"),
                            &err
                        )));
                    }
                };
                for event in page.events() {
                    let line = printable(event.message().unwrap_or_default());
                    (self.on_line)(&format!("   | {line}"));
                    self.last_lines.push_back(line.clone());
                    if self.last_lines.len() > LAST_LINES {
                        self.last_lines.pop_front();
                    }
                    self.summary.log_lines.push(line);
                }
                let next = page.next_forward_token().map(str::to_owned);
                let advanced = next.is_some() && next != token;
                self.log_streams[i].1 = next;
                // The forward token repeats once the stream's end is reached.
                if !advanced || page.events().is_empty() {
                    break;
                }
            }
        }
        Ok(())
    }

    fn say(&self, line: &str) {
        (self.on_line)(line);
    }
}

/// A log line as a terminal may show it: control characters (terminal escape sequences among
/// them, C1's single-byte CSI too) and the bidirectional overrides that make text read otherwise
/// than it is become visible `\u{..}` escapes, so a task cannot move the cursor, recolour the
/// screen or disguise a line. Bytes that were not UTF-8 arrive as U+FFFD (CloudWatch Logs holds text).
pub fn printable(line: &str) -> String {
    let line = line.trim_end_matches(['\n', '\r']);
    let mut out = String::with_capacity(line.len());
    for c in line.chars() {
        let reorders = matches!(c, '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}' | '\u{200e}' | '\u{200f}');
        if (c.is_control() && c != '\t') || reorders {
            out.push_str(&c.escape_unicode().to_string());
        } else {
            out.push(c);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escape_sequences_are_shown_not_obeyed() {
        assert_eq!(printable("\u{1b}[31mred\u{1b}[0m\n"), "\\u{1b}[31mred\\u{1b}[0m");
        assert_eq!(printable("tab\there"), "tab\there");
        assert_eq!(printable("plain"), "plain");
        // C1 CSI, a bell, a carriage return mid-line (overwrites the line), OSC 52 (sets the clipboard).
        assert_eq!(printable("\u{9b}2J\u{7}a\rb"), "\\u{9b}2J\\u{7}a\\u{d}b");
        assert_eq!(printable("\u{1b}]52;c;ZXZpbA==\u{7}"), "\\u{1b}]52;c;ZXZpbA==\\u{7}");
        assert_eq!(printable("admin\u{202e}txt.exe"), "admin\\u{202e}txt.exe");
    }

    #[test]
    fn a_line_that_was_not_utf8_or_is_huge_is_shown_whole() {
        // The local cloud ships invalid bytes as U+FFFD, as text must be; it prints as itself.
        assert_eq!(printable("caf\u{fffd} ok"), "caf\u{fffd} ok");
        let huge = format!("{}\u{1b}[2J", "x".repeat(1024 * 1024));
        let shown = printable(&huge);
        assert!(shown.starts_with(&"x".repeat(1024 * 1024)) && shown.ends_with("\\u{1b}[2J"));
        assert!(!shown.contains('\u{1b}'));
    }
}
