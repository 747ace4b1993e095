//! The executions the gateway started: one JSON file each under
//! `<state dir>/stepfunctions/executions/`, written when an execution starts and when it ends, so
//! a restarted gateway still lists them. An execution a gateway left RUNNING (it stopped or was
//! killed mid-run) is closed as FAILED when the next gateway loads it.
//!
//! Memory holds a running execution's whole record, but only a [`Summary`] of a finished one (what
//! ListExecutions shows): DescribeExecution and GetExecutionHistory read its file. So the gateway's
//! memory does not grow with every execution it ever ran, as a store of whole histories would.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use states_interpreter::{EventDetails, EventSink, HistoryEvent, MAX_HISTORY_EVENTS, Outcome, StopHandle};
use tokio::sync::watch;

pub const RUNNING: &str = "RUNNING";

/// The error and cause an execution cut off by a gateway stop ends with.
pub const CUT_OFF_ERROR: &str = "States.Runtime";
pub const CUT_OFF_CAUSE: &str = "The local cloud's gateway stopped while this execution ran; the execution \
                                 cannot resume. Start it again.";

/// What ListExecutions shows of an execution; kept in memory for every execution.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Summary {
    pub execution_arn: String,
    pub state_machine_arn: String,
    pub name: String,
    pub status: String,
    pub start_date: f64,
    pub stop_date: Option<f64>,
}

/// One execution as DescribeExecution and GetExecutionHistory report it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Record {
    #[serde(flatten)]
    pub summary: Summary,
    /// As the caller sent it.
    pub input: String,
    pub output: Option<String>,
    pub error: Option<String>,
    pub cause: Option<String>,
    /// The definition the execution ran, and the state machine's role then.
    pub definition: String,
    pub role_arn: String,
    /// GetExecutionHistory's events, serialised.
    pub events: Vec<Value>,
}

impl Record {
    /// A copy of everything but the events.
    fn head_clone(&self) -> Record {
        Record {
            summary: self.summary.clone(),
            input: self.input.clone(),
            output: self.output.clone(),
            error: self.error.clone(),
            cause: self.cause.clone(),
            definition: self.definition.clone(),
            role_arn: self.role_arn.clone(),
            events: Vec::new(),
        }
    }

    /// Closes the record with `outcome`.
    pub fn finish(&mut self, outcome: &Outcome, now: f64) {
        self.summary.status = outcome.status().to_owned();
        self.summary.stop_date = Some(now);
        let (output, error, cause) = match outcome {
            Outcome::Succeeded { output } => (Some(output.to_string()), None, None),
            Outcome::Failed { error, cause } | Outcome::TimedOut { error, cause } => {
                (None, Some(error.clone()).filter(|e| !e.is_empty()), Some(cause.clone()).filter(|c| !c.is_empty()))
            }
            Outcome::Aborted { error, cause } => (None, error.clone(), cause.clone()),
        };
        self.output = output;
        self.error = error;
        self.cause = cause;
    }

    /// A RUNNING record whose gateway is gone: FAILED, with the ExecutionFailed event that says why.
    fn close_cut_off(&mut self, now: f64) -> bool {
        if self.summary.status != RUNNING {
            return false;
        }
        self.finish(&Outcome::Failed { error: CUT_OFF_ERROR.into(), cause: CUT_OFF_CAUSE.into() }, now);
        let id = self.events.len() as u64 + 1;
        let previous = self.events.last().and_then(|e| e["id"].as_u64()).unwrap_or(0);
        self.events.push(json!({
            "timestamp": (now * 1000.0).round() / 1000.0,
            "type": "ExecutionFailed",
            "id": id,
            "previousEventId": previous,
            "executionFailedEventDetails": {"error": CUT_OFF_ERROR, "cause": CUT_OFF_CAUSE}
        }));
        true
    }
}

struct Entry {
    summary: Summary,
    /// The whole record while the execution runs; None once it ended and its file holds it (a
    /// store without a directory, or one whose file could not be written, keeps it).
    record: Option<Record>,
    /// None once the execution ended (or for one loaded from disk).
    stop: Option<StopHandle>,
    /// true once the record is final.
    done: watch::Sender<bool>,
}

struct Inner {
    dir: Option<PathBuf>,
    executions: Mutex<HashMap<String, Entry>>,
}

/// Cheap to clone; every clone sees the same executions.
#[derive(Clone)]
pub struct Store {
    inner: Arc<Inner>,
}

/// What [`Store::insert`] found.
pub enum Inserted {
    New,
    /// A running execution with that ARN exists already: its record.
    Running(Box<Record>),
    /// A finished execution with that ARN exists already.
    Finished,
}

impl Store {
    /// A store that persists under `state_dir` (None: memory only, for tests), with the
    /// executions earlier gateways recorded there loaded and those cut off closed as FAILED.
    pub fn open(state_dir: Option<&Path>) -> Store {
        let dir = state_dir.map(|d| d.join("stepfunctions").join("executions"));
        let mut executions = HashMap::new();
        if let Some(dir) = &dir {
            if let Err(e) = std::fs::create_dir_all(dir) {
                tracing::warn!("executions will not outlive the gateway: cannot create {}: {e}", dir.display());
            }
            let now = crate::fargate::now();
            for mut record in load(dir) {
                // Only the summary stays in memory, unless the file cannot be rewritten.
                let mut kept = None;
                if record.close_cut_off(now) {
                    tracing::info!(execution = %record.summary.execution_arn, "closed as FAILED: its gateway stopped while it ran");
                    if !persist(Some(dir), &record) {
                        kept = Some(record.clone());
                    }
                }
                let (done, _) = watch::channel(true);
                let entry = Entry { summary: record.summary.clone(), record: kept, stop: None, done };
                executions.insert(record.summary.execution_arn.clone(), entry);
            }
        }
        Store { inner: Arc::new(Inner { dir, executions: Mutex::new(executions) }) }
    }

    fn with<T>(&self, f: impl FnOnce(&mut HashMap<String, Entry>) -> T) -> T {
        f(&mut self.inner.executions.lock().unwrap_or_else(|e| e.into_inner()))
    }

    /// Adds a RUNNING execution, unless one with the same ARN exists.
    pub fn insert(&self, record: Record, stop: StopHandle) -> Inserted {
        let inserted = self.with(|all| {
            if let Some(existing) = all.get(&record.summary.execution_arn) {
                return match &existing.record {
                    Some(running) if running.summary.status == RUNNING => Inserted::Running(Box::new(running.clone())),
                    _ => Inserted::Finished,
                };
            }
            let (done, _) = watch::channel(false);
            let entry = Entry { summary: record.summary.clone(), record: Some(record.clone()), stop: Some(stop), done };
            all.insert(record.summary.execution_arn.clone(), entry);
            Inserted::New
        });
        if let Inserted::New = inserted {
            persist(self.inner.dir.as_deref(), &record);
        }
        inserted
    }

    /// The whole record: from memory while the execution runs, else from its file. An error when
    /// the file of a finished execution cannot be read (removed or damaged behind our back).
    pub fn get(&self, arn: &str) -> Result<Option<Record>, String> {
        let found = self.with(|all| all.get(arn).map(|e| e.record.clone()));
        match (found, &self.inner.dir) {
            (None, _) => Ok(None),
            (Some(Some(record)), _) => Ok(Some(record)),
            (Some(None), None) => Err(format!("the record of {arn} is gone")),
            (Some(None), Some(dir)) => {
                let path = dir.join(file_name(arn));
                std::fs::read(&path)
                    .map_err(|e| e.to_string())
                    .and_then(|bytes| serde_json::from_slice::<Record>(&bytes).map_err(|e| e.to_string()))
                    .map(Some)
                    .map_err(|e| format!("the record of {arn} cannot be read from {}: {e}", path.display()))
            }
        }
    }

    /// The record without its events (DescribeExecution's part): a running execution's history is
    /// not copied to answer it.
    pub fn get_without_events(&self, arn: &str) -> Result<Option<Record>, String> {
        let found = self.with(|all| all.get(arn).map(|e| e.record.as_ref().map(Record::head_clone)));
        match found {
            None => Ok(None),
            Some(Some(record)) => Ok(Some(record)),
            Some(None) => self.get(arn).map(|r| r.map(|r| Record { events: Vec::new(), ..r })),
        }
    }

    /// The summary of an execution, if there is one.
    pub fn summary(&self, arn: &str) -> Option<Summary> {
        self.with(|all| all.get(arn).map(|e| e.summary.clone()))
    }

    /// Every execution of `state_machine_arn`, newest first.
    pub fn of_machine(&self, state_machine_arn: &str) -> Vec<Summary> {
        let mut summaries: Vec<Summary> = self.with(|all| {
            all.values()
                .filter(|e| e.summary.state_machine_arn == state_machine_arn)
                .map(|e| e.summary.clone())
                .collect()
        });
        summaries.sort_by(|a, b| b.start_date.total_cmp(&a.start_date).then_with(|| b.name.cmp(&a.name)));
        summaries
    }

    fn push_event(&self, arn: &str, event: Value) {
        self.with(|all| {
            if let Some(record) = all.get_mut(arn).and_then(|entry| entry.record.as_mut()) {
                record.events.push(event);
            }
        });
    }

    /// Records the outcome, persists the record (memory keeps only its summary once the file holds
    /// it), and wakes whoever waits for it.
    pub fn finish(&self, arn: &str, outcome: &Outcome) -> Option<Record> {
        let now = crate::fargate::now();
        let record = self.with(|all| {
            let entry = all.get_mut(arn)?;
            let record = entry.record.as_mut()?;
            record.finish(outcome, now);
            entry.summary = record.summary.clone();
            Some(record.clone())
        })?;
        let persisted = persist(self.inner.dir.as_deref(), &record);
        // Dropped only after the file is written, so a reader in between finds the record.
        self.with(|all| {
            if let Some(entry) = all.get_mut(arn) {
                if persisted {
                    entry.record = None;
                }
                entry.stop = None;
                entry.done.send_replace(true);
            }
        });
        Some(record)
    }

    /// Stops a running execution and waits until its end is recorded; returns its summary.
    pub async fn stop(&self, arn: &str, error: Option<String>, cause: Option<String>) -> Option<Summary> {
        let (stop, mut done) = self.with(|all| all.get(arn).map(|e| (e.stop.clone(), e.done.subscribe())))?;
        if let Some(stop) = stop {
            stop.stop(error, cause);
            // The run ends as soon as it sees the stop; the bound only keeps a wedged run from
            // hanging the caller.
            let _ = tokio::time::timeout(std::time::Duration::from_secs(10), done.wait_for(|d| *d)).await;
        }
        self.with(|all| all.get(arn).map(|e| e.summary.clone()))
    }

    /// The sink that appends an execution's events to its record.
    pub fn events_of(&self, arn: &str) -> Arc<dyn EventSink> {
        Arc::new(Events { store: self.clone(), arn: arn.to_owned() })
    }

    /// Every running execution stopped (the gateway is going away), their records closed as cut
    /// off, so no file says RUNNING after a clean stop.
    pub fn shutdown(&self) {
        let now = crate::fargate::now();
        let closed: Vec<Record> = self.with(|all| {
            all.values_mut()
                .filter_map(|e| {
                    if let Some(stop) = e.stop.take() {
                        stop.stop(Some(CUT_OFF_ERROR.into()), Some(CUT_OFF_CAUSE.into()));
                    }
                    let record = e.record.as_mut()?;
                    let closed = record.close_cut_off(now).then(|| record.clone());
                    if closed.is_some() {
                        e.summary = record.summary.clone();
                    }
                    closed
                })
                .collect()
        });
        for record in &closed {
            persist(self.inner.dir.as_deref(), record);
        }
    }
}

/// Writes `record` to its file under `dir` (whole or not at all); false when there is no directory
/// or the file could not be written (said in the log).
fn persist(dir: Option<&Path>, record: &Record) -> bool {
    let Some(dir) = dir else { return false };
    let path = dir.join(file_name(&record.summary.execution_arn));
    let temporary = path.with_extension("json.tmp");
    // Streamed to the file: a history of up to 25,000 events is not copied into one buffer first.
    let written = std::fs::File::create(&temporary)
        .and_then(|file| {
            let mut writer = std::io::BufWriter::new(file);
            serde_json::to_writer(&mut writer, record).map_err(std::io::Error::other)?;
            std::io::Write::flush(&mut writer)
        })
        .and_then(|()| std::fs::rename(&temporary, &path));
    if let Err(e) = written {
        tracing::warn!(execution = %record.summary.execution_arn, "cannot write {}: {e}", path.display());
        return false;
    }
    true
}

/// An execution ARN as a file name (its parts never contain `/`; `:` is kept out of file names).
fn file_name(arn: &str) -> String {
    format!("{}.json", arn.replace([':', '/'], "_"))
}

fn load(dir: &Path) -> Vec<Record> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    entries
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "json"))
        .filter_map(|path| match std::fs::read(&path).map(|b| serde_json::from_slice::<Record>(&b)) {
            Ok(Ok(record)) => Some(record),
            Ok(Err(e)) => {
                tracing::warn!("ignoring {}: not an execution record: {e}", path.display());
                None
            }
            Err(e) => {
                tracing::warn!("ignoring {}: {e}", path.display());
                None
            }
        })
        .collect()
}

struct Events {
    store: Store,
    arn: String,
}

/// The most events the store keeps of one execution's history, its last (ExecutionSucceeded,
/// ExecutionFailed...) aside. A standard execution never records more: the interpreter fails it at
/// AWS's quota of the same size. An express execution may (AWS sets its history no limit, and
/// GetExecutionHistory does not serve express executions on AWS): its later state events are not
/// kept, so a runaway express loop does not grow the gateway's memory either.
pub const MAX_STORED_EVENTS: u64 = MAX_HISTORY_EVENTS;

impl EventSink for Events {
    fn record(&self, event: HistoryEvent) {
        let last = matches!(
            event.details,
            EventDetails::ExecutionSucceeded { .. }
                | EventDetails::ExecutionFailed { .. }
                | EventDetails::ExecutionAborted { .. }
                | EventDetails::ExecutionTimedOut { .. }
        );
        // Ids are consecutive from 1, each recorded once: past the cap means the record holds it.
        if event.id > MAX_STORED_EVENTS && !last {
            if event.id == MAX_STORED_EVENTS + 1 {
                tracing::warn!(
                    execution = %self.arn,
                    "the history reached {MAX_STORED_EVENTS} events: the next ones are not kept (the execution goes on)"
                );
            }
            return;
        }
        match serde_json::to_value(&event) {
            Ok(value) => self.store.push_event(&self.arn, value),
            Err(e) => tracing::warn!(execution = %self.arn, "an event could not be kept: {e}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(name: &str, start: f64) -> Record {
        Record {
            summary: Summary {
                execution_arn: format!("arn:aws:states:us-east-1:123456789012:execution:M:{name}"),
                state_machine_arn: "arn:aws:states:us-east-1:123456789012:stateMachine:M".into(),
                name: name.into(),
                status: RUNNING.into(),
                start_date: start,
                stop_date: None,
            },
            input: "{}".into(),
            output: None,
            error: None,
            cause: None,
            definition: "{}".into(),
            role_arn: "arn:aws:iam::123456789012:role/R".into(),
            events: vec![json!({"timestamp": 1.0, "type": "ExecutionStarted", "id": 1, "previousEventId": 0})],
        }
    }

    #[test]
    fn a_reopened_store_keeps_finished_executions_and_fails_the_ones_cut_off() {
        let dir = std::env::temp_dir().join(format!("sfn-store-{}-{}", std::process::id(), uuid::Uuid::new_v4()));
        std::fs::create_dir_all(&dir).unwrap();
        {
            let store = Store::open(Some(&dir));
            store.insert(record("done", 1.0), StopHandle::default());
            store.finish(
                &record("done", 1.0).summary.execution_arn,
                &Outcome::Succeeded { output: json!({"ok": true}) },
            );
            store.insert(record("cut", 2.0), StopHandle::default());
            // The gateway is killed here: no shutdown.
        }
        let store = Store::open(Some(&dir));
        let listed = store.of_machine("arn:aws:states:us-east-1:123456789012:stateMachine:M");
        assert_eq!(listed.iter().map(|r| r.name.as_str()).collect::<Vec<_>>(), ["cut", "done"], "newest first");
        let done = store.get(&listed[1].execution_arn).unwrap().unwrap();
        assert_eq!((done.summary.status.as_str(), done.output.as_deref()), ("SUCCEEDED", Some("{\"ok\":true}")));
        assert_eq!(listed[0].status, "FAILED");
        let cut = store.get(&listed[0].execution_arn).unwrap().unwrap();
        assert_eq!(cut.summary.status, "FAILED");
        assert_eq!(cut.error.as_deref(), Some(CUT_OFF_ERROR));
        assert!(cut.cause.as_deref().unwrap().contains("gateway stopped"), "{cut:?}");
        let last = cut.events.last().unwrap();
        assert_eq!(
            (last["type"].as_str(), last["id"].as_u64(), last["previousEventId"].as_u64()),
            (Some("ExecutionFailed"), Some(2), Some(1))
        );
        // And it stays FAILED on disk.
        assert_eq!(Store::open(Some(&dir)).get(&cut.summary.execution_arn).unwrap().unwrap().summary.status, "FAILED");
        std::fs::remove_dir_all(&dir).unwrap();
    }

    /// A finished execution's record lives in its file, not in memory: the gateway's memory does
    /// not grow with every execution it ran. The file is the record: remove it and reading it fails
    /// with the path, not a silent "does not exist".
    #[test]
    fn a_finished_execution_is_read_from_its_file_and_only_its_summary_stays_in_memory() {
        let dir = std::env::temp_dir().join(format!("sfn-store-{}-{}", std::process::id(), uuid::Uuid::new_v4()));
        std::fs::create_dir_all(&dir).unwrap();
        let store = Store::open(Some(&dir));
        let arn = record("one", 1.0).summary.execution_arn;
        store.insert(record("one", 1.0), StopHandle::default());
        store.push_event(&arn, json!({"timestamp": 1.5, "type": "PassStateEntered", "id": 2, "previousEventId": 1}));
        assert_eq!(store.get(&arn).unwrap().unwrap().events.len(), 2, "a running record is in memory");
        store.finish(&arn, &Outcome::Succeeded { output: json!({"ok": true}) });
        assert!(store.with(|all| all[&arn].record.is_none()), "the finished record is still held in memory");
        let read = store.get(&arn).unwrap().unwrap();
        assert_eq!((read.summary.status.as_str(), read.events.len()), ("SUCCEEDED", 2), "{read:?}");
        let listed = store.of_machine(&read.summary.state_machine_arn);
        assert_eq!(
            (listed.len(), listed[0].status.as_str(), listed[0].stop_date),
            (1, "SUCCEEDED", read.summary.stop_date)
        );
        std::fs::remove_file(store.inner.dir.as_ref().unwrap().join(file_name(&arn))).unwrap();
        let err = store.get(&arn).unwrap_err();
        assert!(err.contains(&arn) && err.contains(dir.to_str().unwrap()), "{err}");
        // Without a directory, the record stays in memory.
        let memory = Store::open(None);
        memory.insert(record("one", 1.0), StopHandle::default());
        memory.finish(&arn, &Outcome::Succeeded { output: json!(1) });
        assert_eq!(memory.get(&arn).unwrap().unwrap().output.as_deref(), Some("1"));
        std::fs::remove_dir_all(&dir).unwrap();
    }

    /// An express execution has no history limit on AWS, but the store keeps at most
    /// [`MAX_STORED_EVENTS`] of its events, and its last one: a runaway express loop cannot grow
    /// the gateway's memory without bound.
    #[test]
    fn the_store_keeps_at_most_the_cap_of_events_and_the_last_one() {
        let store = Store::open(None);
        let arn = record("express", 1.0).summary.execution_arn;
        store.insert(record("express", 1.0), StopHandle::default());
        let sink = store.events_of(&arn);
        let event = |id: u64, details: EventDetails| HistoryEvent {
            timestamp: std::time::SystemTime::UNIX_EPOCH,
            id,
            previous_event_id: id - 1,
            details,
        };
        // The record starts with one event of its own (see `record`); ids 2.. come from the run.
        let pass = || EventDetails::StateEntered {
            kind: states_interpreter::StateKind::Pass,
            name: "P".into(),
            input: json!({}),
        };
        for id in 2..=MAX_STORED_EVENTS + 10 {
            sink.record(event(id, pass()));
        }
        sink.record(event(MAX_STORED_EVENTS + 11, EventDetails::ExecutionAborted { error: None, cause: None }));
        let kept = store.get(&arn).unwrap().unwrap().events;
        assert_eq!(kept.len() as u64, MAX_STORED_EVENTS + 1);
        assert_eq!(kept[kept.len() - 2]["id"], json!(MAX_STORED_EVENTS));
        assert_eq!(kept.last().unwrap()["type"], "ExecutionAborted");
        assert_eq!(store.get_without_events(&arn).unwrap().unwrap().events.len(), 0);
        assert_eq!(store.summary(&arn).unwrap().status, RUNNING);
    }
}
