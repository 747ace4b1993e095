//! The awslogs driver, locally: a task container's stdout and stderr lines, as they are written,
//! to CloudWatch Logs (moto's, through its Logs API) in small batches, each line with the time the
//! engine recorded for it. Lines that are not UTF-8 are shipped lossily, never dropped.

use std::time::Duration;

use bollard::container::LogOutput;
use futures_util::{Stream, StreamExt};
use serde_json::{Value, json};

use crate::awsjson::AwsError;
use crate::upstream::Upstream;

/// A batch is sent when it has this many events, or this long after its first event: small
/// enough that a follower sees lines within a moment, large enough not to flood moto.
const BATCH_EVENTS: usize = 100;
/// CloudWatch Logs' largest event: 256 KiB less the 26 bytes it counts for each event. A longer
/// line is split into events of at most this size, as the awslogs driver splits it.
pub const MAX_EVENT_BYTES: usize = 256 * 1024 - 26;
/// The largest PutLogEvents batch: 1,048,576 bytes, counting each event's message and 26 bytes.
const MAX_BATCH_BYTES: usize = 1_048_576;
const BATCH_WAIT: Duration = Duration::from_millis(200);

/// One log event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogEvent {
    pub timestamp_ms: i64,
    pub message: String,
}

/// A log stream in a group, in a region.
#[derive(Debug, Clone)]
pub struct Destination {
    pub region: String,
    pub group: String,
    pub stream: String,
}

const LOGS: &str = "Logs_20140328";

impl Destination {
    /// Creates the stream (and the group when asked to, as `awslogs-create-group` does). A missing
    /// group is the task's failure to start, as on Fargate.
    pub async fn create(&self, upstream: &Upstream, create_group: bool) -> Result<(), AwsError> {
        if create_group {
            let created = upstream
                .call_json(&format!("{LOGS}.CreateLogGroup"), &self.region, &json!({"logGroupName": self.group}))
                .await;
            match created {
                Err(e) if e.error_type != "ResourceAlreadyExistsException" => return Err(e),
                _ => {}
            }
        }
        let body = json!({"logGroupName": self.group, "logStreamName": self.stream});
        match upstream.call_json(&format!("{LOGS}.CreateLogStream"), &self.region, &body).await {
            Err(e) if e.error_type != "ResourceAlreadyExistsException" => Err(e),
            _ => Ok(()),
        }
    }

    async fn put(&self, upstream: &Upstream, events: &[LogEvent]) -> Result<(), AwsError> {
        let events: Vec<Value> =
            events.iter().map(|e| json!({"timestamp": e.timestamp_ms, "message": e.message})).collect();
        let body = json!({"logGroupName": self.group, "logStreamName": self.stream, "logEvents": events});
        upstream.call_json(&format!("{LOGS}.PutLogEvents"), &self.region, &body).await.map(|_| ())
    }
}

/// Reads the engine's log stream to its end and ships every line. Returns how many events were
/// shipped.
pub async fn ship<S>(upstream: &Upstream, destination: &Destination, output: S) -> usize
where
    S: Stream<Item = Result<LogOutput, bollard::errors::Error>>,
{
    let mut output = std::pin::pin!(output);
    let mut lines = Lines::default();
    let mut batch: Vec<LogEvent> = Vec::new();
    let mut deadline: Option<tokio::time::Instant> = None;
    let mut shipped = 0;
    loop {
        let next = match deadline {
            Some(at) => match tokio::time::timeout_at(at, output.next()).await {
                Ok(next) => next,
                Err(_) => {
                    shipped += flush(upstream, destination, &mut batch).await;
                    deadline = None;
                    continue;
                }
            },
            None => output.next().await,
        };
        match next {
            Some(Ok(
                LogOutput::StdOut { message } | LogOutput::StdErr { message } | LogOutput::Console { message },
            )) => {
                // The two streams are interleaved by the engine record by record; a record is one
                // line (or the start of a long one), so one buffer keeps them in order.
                batch.extend(lines.push(&message));
                if batch.len() >= BATCH_EVENTS || batch_bytes(&batch) > MAX_BATCH_BYTES - MAX_EVENT_BYTES - 26 {
                    shipped += flush(upstream, destination, &mut batch).await;
                    deadline = None;
                } else if !batch.is_empty() && deadline.is_none() {
                    deadline = Some(tokio::time::Instant::now() + BATCH_WAIT);
                }
            }
            Some(Ok(LogOutput::StdIn { .. })) => {}
            Some(Err(e)) => {
                tracing::warn!(stream = %destination.stream, "the container's log stream ended early: {e}");
                break;
            }
            None => break,
        }
    }
    batch.extend(lines.finish());
    shipped + flush(upstream, destination, &mut batch).await
}

fn batch_bytes(batch: &[LogEvent]) -> usize {
    batch.iter().map(|e| e.message.len() + 26).sum()
}

async fn flush(upstream: &Upstream, destination: &Destination, batch: &mut Vec<LogEvent>) -> usize {
    if batch.is_empty() {
        return 0;
    }
    // CloudWatch Logs wants a batch in time order (a stable sort keeps a split line's parts in order).
    batch.sort_by_key(|e| e.timestamp_ms);
    let count = batch.len();
    // Within PutLogEvents' batch size, whatever arrived at once.
    let mut start = 0;
    while start < batch.len() {
        let mut end = start;
        let mut bytes = 0;
        while end < batch.len() && (end == start || bytes + batch[end].message.len() + 26 <= MAX_BATCH_BYTES) {
            bytes += batch[end].message.len() + 26;
            end += 1;
        }
        if let Err(e) = destination.put(upstream, &batch[start..end]).await {
            tracing::warn!(group = %destination.group, stream = %destination.stream, "could not ship {} log events: {e}", end - start);
        }
        start = end;
    }
    batch.clear();
    count
}

/// Splits the engine's timestamped records into lines.
#[derive(Debug, Default)]
struct Lines {
    pending: Vec<u8>,
    pending_timestamp: Option<i64>,
}

impl Lines {
    /// Takes one record, `<RFC 3339 time> <bytes>`, and returns the lines it completes.
    fn push(&mut self, record: &[u8]) -> Vec<LogEvent> {
        let mut events = Vec::new();
        let mut rest = record;
        while !rest.is_empty() {
            if self.pending.is_empty() && self.pending_timestamp.is_none() {
                let (timestamp, text) = split_timestamp(rest);
                self.pending_timestamp = Some(timestamp);
                rest = text;
            }
            match rest.iter().position(|b| *b == b'\n') {
                Some(end) => {
                    self.pending.extend_from_slice(&rest[..end]);
                    events.extend(self.take());
                    rest = &rest[end + 1..];
                }
                None => {
                    self.pending.extend_from_slice(rest);
                    rest = &[];
                }
            }
        }
        events
    }

    /// The last line, when the output did not end with a newline.
    fn finish(&mut self) -> Vec<LogEvent> {
        self.take()
    }

    /// The pending line as events: none when empty, several when it is over an event's size.
    fn take(&mut self) -> Vec<LogEvent> {
        let Some(timestamp) = self.pending_timestamp.take() else { return Vec::new() };
        let bytes = std::mem::take(&mut self.pending);
        let line = String::from_utf8_lossy(&bytes);
        let line = line.strip_suffix('\r').unwrap_or(&line);
        // CloudWatch Logs refuses empty events; the awslogs driver skips empty lines too.
        split_event(line).into_iter().map(|message| LogEvent { timestamp_ms: timestamp, message }).collect()
    }
}

/// A line as events of at most [`MAX_EVENT_BYTES`], split at character boundaries.
fn split_event(line: &str) -> Vec<String> {
    let mut parts = Vec::new();
    let mut rest = line;
    while !rest.is_empty() {
        let mut end = rest.len().min(MAX_EVENT_BYTES);
        while !rest.is_char_boundary(end) {
            end -= 1;
        }
        parts.push(rest[..end].to_owned());
        rest = &rest[end..];
    }
    parts
}

/// The engine's timestamp in milliseconds and the text after it; now when there is none.
fn split_timestamp(record: &[u8]) -> (i64, &[u8]) {
    let now = || {
        std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_millis() as i64).unwrap_or(0)
    };
    let Some(space) = record.iter().take(40).position(|b| *b == b' ') else {
        return (now(), record);
    };
    let parsed = std::str::from_utf8(&record[..space])
        .ok()
        .and_then(|t| aws_smithy_types::DateTime::from_str(t, aws_smithy_types::date_time::Format::DateTime).ok())
        .and_then(|t| t.to_millis().ok());
    match parsed {
        Some(ms) => (ms, &record[space + 1..]),
        None => (now(), record),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_become_lines_with_the_engine_s_time() {
        let mut lines = Lines::default();
        let events = lines.push(b"2026-11-29T10:00:00.123456789Z hello\n");
        assert_eq!(events, vec![LogEvent { timestamp_ms: 1_795_946_400_123, message: "hello".into() }]);
        assert_eq!(lines.finish(), vec![]);
    }

    #[test]
    fn a_line_split_across_records_is_joined_and_an_unterminated_last_line_is_kept() {
        let mut lines = Lines::default();
        assert!(lines.push(b"2026-11-29T10:00:00Z first ha").is_empty());
        let events = lines.push(b"lf\nsecond\n");
        let messages: Vec<_> = events.iter().map(|e| e.message.as_str()).collect();
        assert_eq!(messages, ["first half", "second"]);
        assert!(lines.push(b"2026-11-29T10:00:01Z no newline").is_empty());
        assert_eq!(lines.finish().into_iter().map(|e| e.message).collect::<Vec<_>>(), ["no newline"]);
    }

    #[test]
    fn invalid_utf8_is_shipped_lossily_and_empty_lines_are_skipped() {
        let mut lines = Lines::default();
        let events = lines.push(b"2026-11-29T10:00:00Z caf\xe9 \xff\n");
        assert_eq!(events[0].message, "caf\u{fffd} \u{fffd}");
        assert!(lines.push(b"2026-11-29T10:00:00Z \n").is_empty());
        assert!(lines.push(b"2026-11-29T10:00:00Z \r\n").is_empty());
    }

    #[test]
    fn a_huge_line_is_split_into_events_cloudwatch_accepts_and_nothing_is_lost() {
        // Docker hands a long line over in 16 KiB records; 1 MiB of "é" (2 bytes each) and no newline.
        let line = "é".repeat(512 * 1024);
        let mut lines = Lines::default();
        let mut events = lines.push(b"2026-11-29T10:00:00Z ");
        for chunk in line.as_bytes().chunks(16 * 1024) {
            events.extend(lines.push(chunk));
        }
        assert!(events.is_empty(), "no newline yet");
        events.extend(lines.finish());
        assert_eq!(events.len(), 5, "1 MiB in events of at most {MAX_EVENT_BYTES} bytes");
        assert!(events.iter().all(|e| e.message.len() <= MAX_EVENT_BYTES && !e.message.is_empty()));
        assert_eq!(events.iter().map(|e| e.message.as_str()).collect::<String>(), line);
        assert!(batch_bytes(&events) > MAX_BATCH_BYTES, "so flush must send them in more than one batch");
    }

    #[test]
    fn a_record_without_a_timestamp_is_kept_whole() {
        let (_, text) = split_timestamp(b"no timestamp here");
        assert_eq!(text, b"no timestamp here");
    }
}
