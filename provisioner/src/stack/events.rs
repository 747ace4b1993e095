//! Following a stack operation: the stack's new events, oldest first, as they arrive, until the
//! stack reaches a final status; and, when it failed, the events that caused it (not the
//! "Resource creation cancelled" that follows a failure, nor the rollback's progress).

use std::collections::HashSet;
use std::fmt;
use std::time::{Duration, Instant};

use aws_sdk_cloudformation::Client;
use serde::Serialize;

use super::status::{is_final, is_root_cause};
use super::{Result, aws, is_missing_stack};

/// One stack event, as printed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Event {
    /// RFC 3339, as CloudFormation reports it.
    pub timestamp: String,
    pub logical_id: String,
    pub resource_type: String,
    pub status: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub reason: String,
}

impl fmt::Display for Event {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // The time of day is enough on a line that scrolls by; the date is in --json.
        let time = self.timestamp.get(11..19).unwrap_or(&self.timestamp);
        write!(f, "{time} {:<28} {} ({})", self.status, self.logical_id, self.resource_type)?;
        if !self.reason.is_empty() {
            write!(f, ": {}", self.reason)?;
        }
        Ok(())
    }
}

impl Event {
    pub fn is_root_cause(&self) -> bool {
        is_root_cause(&self.status, &self.reason)
    }
}

/// Reads a stack's events and hands out only those not seen before.
pub struct Follower {
    stack: String,
    seen: HashSet<String>,
}

impl Follower {
    /// Starts following `stack` (its name, or better its ID, which outlives a delete): the events
    /// already there are not reported.
    pub async fn start(cf: &Client, stack: &str) -> Result<Follower> {
        let seen = page(cf, stack, None).await?.map(|(events, _)| events).unwrap_or_default();
        Ok(Follower { stack: stack.to_owned(), seen: seen.into_iter().map(|(id, _)| id).collect() })
    }

    /// The events that arrived since the last call, oldest first. A stack that does not exist has
    /// none.
    pub async fn poll(&mut self, cf: &Client) -> Result<Vec<Event>> {
        let mut fresh = Vec::new();
        let mut next: Option<String> = None;
        // Newest first: stop at the first event already seen.
        'pages: while let Some((events, token)) = page(cf, &self.stack, next.take()).await? {
            for (id, event) in events {
                if !self.seen.insert(id) {
                    break 'pages;
                }
                fresh.push(event);
            }
            match token {
                Some(token) => next = Some(token),
                None => break,
            }
        }
        fresh.reverse();
        Ok(fresh)
    }
}

/// The stack's most recent events (one page, up to 100), newest first.
pub async fn recent(cf: &Client, stack: &str) -> Result<Vec<Event>> {
    Ok(page(cf, stack, None).await?.map(|(events, _)| events.into_iter().map(|(_, e)| e).collect()).unwrap_or_default())
}

/// One page of events, newest first, with their IDs and the next page's token; None when the
/// stack does not exist.
async fn page(
    cf: &Client,
    stack: &str,
    token: Option<String>,
) -> Result<Option<(Vec<(String, Event)>, Option<String>)>> {
    let page = match cf.describe_stack_events().stack_name(stack).set_next_token(token).send().await {
        Ok(page) => page,
        Err(err) if is_missing_stack(&err) => return Ok(None),
        Err(err) => return Err(aws(&format!("DescribeStackEvents {stack}"), &err)),
    };
    let events = page
        .stack_events()
        .iter()
        .map(|event| {
            let id = event.event_id().unwrap_or_default().to_owned();
            let event = Event {
                timestamp: event
                    .timestamp()
                    .and_then(|t| t.fmt(aws_sdk_cloudformation::primitives::DateTimeFormat::DateTime).ok())
                    .unwrap_or_default(),
                logical_id: event.logical_resource_id().unwrap_or_default().to_owned(),
                resource_type: event.resource_type().unwrap_or_default().to_owned(),
                status: event.resource_status().map(|s| s.as_str().to_owned()).unwrap_or_default(),
                reason: event.resource_status_reason().unwrap_or_default().to_owned(),
            };
            (id, event)
        })
        .collect();
    let next = page.next_token.filter(|t| !t.is_empty());
    Ok(Some((events, next)))
}

/// How a followed operation ended.
#[derive(Debug, Clone)]
pub struct Ended {
    /// The stack's final status; `DELETE_COMPLETE` when it no longer exists.
    pub status: String,
    /// The events that caused a failure, oldest first.
    pub causes: Vec<Event>,
    pub events: Vec<Event>,
    pub seconds: f64,
}

/// Waits until `stack` reaches a final status, handing each new event to `on_event` as it arrives.
pub async fn wait(
    cf: &Client,
    follower: &mut Follower,
    stack: &str,
    mut on_event: impl FnMut(&Event),
    mut on_tick: impl FnMut(&str, Duration),
) -> Result<Ended> {
    let started = Instant::now();
    let mut events = Vec::new();
    let mut delay = Duration::from_millis(250);
    loop {
        let status = current_status(cf, stack).await?;
        // Events are read after the status so that those leading to a final status are all shown.
        for event in follower.poll(cf).await? {
            on_event(&event);
            events.push(event);
        }
        let status = status.unwrap_or_else(|| "DELETE_COMPLETE".to_owned());
        if is_final(&status) {
            let causes = events.iter().filter(|e| e.is_root_cause()).cloned().collect();
            return Ok(Ended { status, causes, events, seconds: started.elapsed().as_secs_f64() });
        }
        on_tick(&status, started.elapsed());
        tokio::time::sleep(delay).await;
        delay = (delay * 2).min(Duration::from_secs(3));
    }
}

/// The stack's status, None when it does not exist.
pub async fn current_status(cf: &Client, stack: &str) -> Result<Option<String>> {
    match cf.describe_stacks().stack_name(stack).send().await {
        Ok(out) => Ok(out.stacks().first().and_then(|s| s.stack_status()).map(|s| s.as_str().to_owned())),
        Err(err) if is_missing_stack(&err) => Ok(None),
        Err(err) => Err(aws(&format!("DescribeStacks {stack}"), &err)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_event_reads_as_one_line() {
        let event = Event {
            timestamp: "2026-11-29T17:00:01Z".into(),
            logical_id: "Broken".into(),
            resource_type: "AWS::Foo::Bar".into(),
            status: "CREATE_FAILED".into(),
            reason: "Resource type AWS::Foo::Bar is not supported".into(),
        };
        assert_eq!(
            event.to_string(),
            "17:00:01 CREATE_FAILED                Broken (AWS::Foo::Bar): Resource type AWS::Foo::Bar is not supported"
        );
        assert!(event.is_root_cause());
    }
}
