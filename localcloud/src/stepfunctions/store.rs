//! The executions the gateway started: in memory while it runs, and one JSON file each under
//! `<state dir>/stepfunctions/executions/`, written when an execution starts and when it ends, so
//! a restarted gateway still lists them. An execution a gateway left RUNNING (it stopped or was
//! killed mid-run) is closed as FAILED when the next gateway loads it.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use states_interpreter::{EventSink, HistoryEvent, Outcome, StopHandle};
use tokio::sync::watch;

pub const RUNNING: &str = "RUNNING";

/// The error and cause an execution cut off by a gateway stop ends with.
pub const CUT_OFF_ERROR: &str = "States.Runtime";
pub const CUT_OFF_CAUSE: &str = "The local cloud's gateway stopped while this execution ran; the execution \
                                 cannot resume. Start it again.";

/// One execution as DescribeExecution and GetExecutionHistory report it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Record {
    pub execution_arn: String,
    pub state_machine_arn: String,
    pub name: String,
    pub status: String,
    pub start_date: f64,
    pub stop_date: Option<f64>,
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
    /// Closes the record with `outcome`.
    pub fn finish(&mut self, outcome: &Outcome, now: f64) {
        self.status = outcome.status().to_owned();
        self.stop_date = Some(now);
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
        if self.status != RUNNING {
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
    record: Record,
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
    /// A record with that ARN exists already.
    Existing(Box<Record>),
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
            for record in load(dir) {
                let (done, _) = watch::channel(true);
                executions.insert(record.execution_arn.clone(), Entry { record, stop: None, done });
            }
        }
        let store = Store { inner: Arc::new(Inner { dir, executions: Mutex::new(executions) }) };
        let now = crate::fargate::now();
        let closed: Vec<Record> = store.with(|all| {
            all.values_mut().filter_map(|e| e.record.close_cut_off(now).then(|| e.record.clone())).collect()
        });
        for record in &closed {
            tracing::info!(execution = %record.execution_arn, "closed as FAILED: its gateway stopped while it ran");
            store.persist(record);
        }
        store
    }

    fn with<T>(&self, f: impl FnOnce(&mut HashMap<String, Entry>) -> T) -> T {
        f(&mut self.inner.executions.lock().unwrap_or_else(|e| e.into_inner()))
    }

    /// Adds a RUNNING execution, unless one with the same ARN exists.
    pub fn insert(&self, record: Record, stop: StopHandle) -> Inserted {
        let inserted = self.with(|all| {
            if let Some(existing) = all.get(&record.execution_arn) {
                return Inserted::Existing(Box::new(existing.record.clone()));
            }
            let (done, _) = watch::channel(false);
            all.insert(record.execution_arn.clone(), Entry { record: record.clone(), stop: Some(stop), done });
            Inserted::New
        });
        if let Inserted::New = inserted {
            self.persist(&record);
        }
        inserted
    }

    pub fn get(&self, arn: &str) -> Option<Record> {
        self.with(|all| all.get(arn).map(|e| e.record.clone()))
    }

    /// Every execution of `state_machine_arn`, newest first.
    pub fn of_machine(&self, state_machine_arn: &str) -> Vec<Record> {
        let mut records: Vec<Record> = self.with(|all| {
            all.values().filter(|e| e.record.state_machine_arn == state_machine_arn).map(|e| e.record.clone()).collect()
        });
        records.sort_by(|a, b| b.start_date.total_cmp(&a.start_date).then_with(|| b.name.cmp(&a.name)));
        records
    }

    fn push_event(&self, arn: &str, event: Value) {
        self.with(|all| {
            if let Some(entry) = all.get_mut(arn) {
                entry.record.events.push(event);
            }
        });
    }

    /// Records the outcome, persists the record, and wakes whoever waits for it.
    pub fn finish(&self, arn: &str, outcome: &Outcome) -> Option<Record> {
        let now = crate::fargate::now();
        let record = self.with(|all| {
            let entry = all.get_mut(arn)?;
            entry.record.finish(outcome, now);
            entry.stop = None;
            entry.done.send_replace(true);
            Some(entry.record.clone())
        })?;
        self.persist(&record);
        Some(record)
    }

    /// Stops a running execution and waits until its end is recorded; returns the record.
    pub async fn stop(&self, arn: &str, error: Option<String>, cause: Option<String>) -> Option<Record> {
        let (stop, mut done) = self.with(|all| all.get(arn).map(|e| (e.stop.clone(), e.done.subscribe())))?;
        if let Some(stop) = stop {
            stop.stop(error, cause);
            // The run ends as soon as it sees the stop; the bound only keeps a wedged run from
            // hanging the caller.
            let _ = tokio::time::timeout(std::time::Duration::from_secs(10), done.wait_for(|d| *d)).await;
        }
        self.get(arn)
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
                    e.record.close_cut_off(now).then(|| e.record.clone())
                })
                .collect()
        });
        for record in &closed {
            self.persist(record);
        }
    }

    fn persist(&self, record: &Record) {
        let Some(dir) = &self.inner.dir else { return };
        let path = dir.join(file_name(&record.execution_arn));
        let temporary = path.with_extension("json.tmp");
        let written = serde_json::to_vec(record)
            .map_err(std::io::Error::other)
            .and_then(|bytes| std::fs::write(&temporary, bytes))
            .and_then(|()| std::fs::rename(&temporary, &path));
        if let Err(e) = written {
            tracing::warn!(execution = %record.execution_arn, "cannot write {}: {e}", path.display());
        }
    }
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

impl EventSink for Events {
    fn record(&self, event: HistoryEvent) {
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
            execution_arn: format!("arn:aws:states:us-east-1:123456789012:execution:M:{name}"),
            state_machine_arn: "arn:aws:states:us-east-1:123456789012:stateMachine:M".into(),
            name: name.into(),
            status: RUNNING.into(),
            start_date: start,
            stop_date: None,
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
            store.finish(&record("done", 1.0).execution_arn, &Outcome::Succeeded { output: json!({"ok": true}) });
            store.insert(record("cut", 2.0), StopHandle::default());
            // The gateway is killed here: no shutdown.
        }
        let store = Store::open(Some(&dir));
        let listed = store.of_machine("arn:aws:states:us-east-1:123456789012:stateMachine:M");
        assert_eq!(listed.iter().map(|r| r.name.as_str()).collect::<Vec<_>>(), ["cut", "done"], "newest first");
        assert_eq!((listed[1].status.as_str(), listed[1].output.as_deref()), ("SUCCEEDED", Some("{\"ok\":true}")));
        let cut = &listed[0];
        assert_eq!(cut.status, "FAILED");
        assert_eq!(cut.error.as_deref(), Some(CUT_OFF_ERROR));
        assert!(cut.cause.as_deref().unwrap().contains("gateway stopped"), "{cut:?}");
        let last = cut.events.last().unwrap();
        assert_eq!(
            (last["type"].as_str(), last["id"].as_u64(), last["previousEventId"].as_u64()),
            (Some("ExecutionFailed"), Some(2), Some(1))
        );
        // And it stays FAILED on disk.
        assert_eq!(Store::open(Some(&dir)).get(&cut.execution_arn).unwrap().status, "FAILED");
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
