//! What TestState shows at its DEBUG and TRACE levels: a state's data after each processing step
//! (AWS's `InspectionData`). The data-flow pipeline records each step here as it computes it; the
//! record exists only inside [`recording`], the scope a TestState call runs its state in, so an
//! ordinary execution records nothing and pays only a failed task-local look-up per step.

use std::cell::RefCell;

use serde_json::{Map, Value, json};

tokio::task_local! {
    static INSPECTION: RefCell<Inspection>;
}

/// A state's data after each step, and how an error was handled, as TestState reports them. Each
/// field is set only when the state took that step.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Inspection {
    /// The raw state input.
    pub input: Option<Value>,
    /// JSONata: the request after `Arguments`.
    pub after_arguments: Option<Value>,
    pub after_input_path: Option<Value>,
    pub after_parameters: Option<Value>,
    /// The state's raw result (a Task's service answer, a Pass state's `Result`, a mock).
    pub result: Option<Value>,
    pub after_result_selector: Option<Value>,
    pub after_result_path: Option<Value>,
    /// Every variable the state can see once it ran (its own assignments included).
    pub variables: Option<Map<String, Value>>,
    pub error_details: Option<ErrorDetails>,
    /// Map: its items after `ItemsPath` (or JSONata `Items`).
    pub after_items_path: Option<Value>,
    pub tolerated_failure_count: Option<u64>,
    pub tolerated_failure_percentage: Option<f64>,
    pub max_concurrency: Option<u64>,
}

/// How the tested state handled its error: the retrier that would retry it (and after how long),
/// or the catcher that took it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ErrorDetails {
    pub retry_index: Option<usize>,
    pub retry_backoff_interval_seconds: Option<u64>,
    pub catch_index: Option<usize>,
}

impl Inspection {
    /// AWS's `inspectionData` shape: every field a JSON string except the numbers and
    /// `errorDetails`.
    pub fn to_api(&self) -> Value {
        let mut out = Map::new();
        let mut text = |key: &str, value: &Option<Value>| {
            if let Some(value) = value {
                out.insert(key.to_owned(), Value::String(value.to_string()));
            }
        };
        text("input", &self.input);
        text("afterArguments", &self.after_arguments);
        text("afterInputPath", &self.after_input_path);
        text("afterParameters", &self.after_parameters);
        text("result", &self.result);
        text("afterResultSelector", &self.after_result_selector);
        text("afterResultPath", &self.after_result_path);
        text("afterItemsPath", &self.after_items_path);
        text("variables", &self.variables.clone().map(Value::Object));
        if let Some(details) = &self.error_details {
            let mut d = Map::new();
            if let Some(i) = details.catch_index {
                d.insert("catchIndex".into(), json!(i));
            }
            if let Some(i) = details.retry_index {
                d.insert("retryIndex".into(), json!(i));
            }
            if let Some(s) = details.retry_backoff_interval_seconds {
                d.insert("retryBackoffIntervalSeconds".into(), json!(s));
            }
            out.insert("errorDetails".into(), Value::Object(d));
        }
        if let Some(n) = self.tolerated_failure_count {
            out.insert("toleratedFailureCount".into(), json!(n));
        }
        if let Some(p) = self.tolerated_failure_percentage {
            out.insert("toleratedFailurePercentage".into(), json!(p));
        }
        if let Some(n) = self.max_concurrency {
            out.insert("maxConcurrency".into(), json!(n));
        }
        Value::Object(out)
    }
}

/// Records a step, when a TestState call is recording (a no-op otherwise).
pub(crate) fn record(step: impl FnOnce(&mut Inspection)) {
    let _ = INSPECTION.try_with(|inspection| step(&mut inspection.borrow_mut()));
}

/// Whether a TestState call is recording (to skip building a value only it would use).
pub(crate) fn is_recording() -> bool {
    INSPECTION.try_with(|_| ()).is_ok()
}

/// Runs `work` with a fresh record, and returns the record with its result.
pub(crate) async fn recording<T>(work: impl Future<Output = T>) -> (T, Inspection) {
    INSPECTION
        .scope(RefCell::new(Inspection::default()), async move {
            let result = work.await;
            (result, INSPECTION.with(|inspection| inspection.take()))
        })
        .await
}
