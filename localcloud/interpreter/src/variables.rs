//! Workflow variables (`Assign`, read as `$name`), in both query languages, scoped as AWS scopes
//! them ("Passing data between states with variables"): the top-level states share one scope;
//! each Parallel branch and each inline Map iteration runs in a scope of its own that reads the
//! outer ones, and whatever it assigns goes out of scope when it ends (only its output comes
//! back). A distributed Map's child executions see no outer variable at all. A state's
//! assignments take effect once the state is done, so every expression in a state reads the values
//! from when it was entered (the interpreter evaluates them all before it stores any).
//!
//! AWS's limits: 256 KiB for one variable, 256 KiB for all the values one `Assign` sets, 10 MiB for
//! every variable an execution holds at once.

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use serde_json::Value;

use crate::error::{StatesError, names};

/// The largest value one variable may hold (serialised JSON).
pub const MAX_VARIABLE_BYTES: usize = 256 * 1024;
/// The most one `Assign` may set, all its values together.
pub const MAX_ASSIGN_BYTES: usize = 256 * 1024;
/// The most an execution's variables may hold at once, every scope together.
pub const MAX_EXECUTION_VARIABLE_BYTES: usize = 10 * 1024 * 1024;

/// One scope of variables.
#[derive(Debug, Default)]
pub struct Variables {
    parent: Option<Arc<Variables>>,
    values: Mutex<HashMap<String, (Arc<Value>, usize)>>,
    /// Bytes held by every scope of the execution.
    held: Arc<AtomicUsize>,
}

impl Variables {
    /// The top-level scope of an execution.
    pub fn root() -> Arc<Self> {
        Arc::default()
    }

    /// The scope of a Parallel branch or an inline Map iteration: it reads this one.
    pub fn child(self: &Arc<Self>) -> Arc<Self> {
        Arc::new(Self { parent: Some(self.clone()), values: Mutex::default(), held: self.held.clone() })
    }

    /// The scope of a distributed Map's child execution: it reads nothing of this one, but its
    /// variables count against the same execution.
    pub fn isolated(&self) -> Arc<Self> {
        Arc::new(Self { parent: None, values: Mutex::default(), held: self.held.clone() })
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, (Arc<Value>, usize)>> {
        self.values.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// The value of `name`, from this scope or the nearest outer one that has it.
    pub fn get(&self, name: &str) -> Option<Arc<Value>> {
        if let Some((value, _)) = self.lock().get(name) {
            return Some(value.clone());
        }
        self.parent.as_ref()?.get(name)
    }

    /// Every variable this scope can read, by name (an inner scope's value over an outer one's).
    pub fn visible(&self) -> serde_json::Map<String, Value> {
        let mut all = self.parent.as_ref().map(|p| p.visible()).unwrap_or_default();
        let mut own: Vec<(String, Value)> =
            self.lock().iter().map(|(name, (value, _))| (name.clone(), (**value).clone())).collect();
        own.sort_by(|a, b| a.0.cmp(&b.0));
        all.extend(own);
        all
    }

    /// Stores what one state's `Assign` evaluated to, in this scope, all at once: nothing is
    /// stored when a limit is passed.
    pub fn assign(&self, state: &str, assigned: serde_json::Map<String, Value>) -> Result<(), StatesError> {
        let mut sized = Vec::with_capacity(assigned.len());
        let mut total = 0usize;
        for (name, value) in assigned {
            let size = serde_json::to_string(&value).map(|s| s.len()).unwrap_or(0);
            if size > MAX_VARIABLE_BYTES {
                return Err(too_big(format!(
                    "The value assigned to the variable {name:?} by state {state:?} is {size} bytes, over the \
                     limit of {MAX_VARIABLE_BYTES} bytes (256 KiB) for one variable"
                )));
            }
            total += size;
            sized.push((name, value, size));
        }
        if total > MAX_ASSIGN_BYTES {
            return Err(too_big(format!(
                "The Assign of state {state:?} sets {total} bytes, over the limit of {MAX_ASSIGN_BYTES} bytes \
                 (256 KiB) for one Assign"
            )));
        }
        let mut values = self.lock();
        let freed: usize = sized.iter().filter_map(|(name, ..)| values.get(name).map(|(_, size)| *size)).sum();
        let held = self.held.load(Ordering::Relaxed);
        let after = (held + total).saturating_sub(freed);
        if after > MAX_EXECUTION_VARIABLE_BYTES {
            return Err(too_big(format!(
                "The Assign of state {state:?} would make the execution's variables {after} bytes, over the \
                 limit of {MAX_EXECUTION_VARIABLE_BYTES} bytes (10 MiB)"
            )));
        }
        self.held.fetch_add(total, Ordering::Relaxed);
        self.held.fetch_sub(freed, Ordering::Relaxed);
        for (name, value, size) in sized {
            values.insert(name, (Arc::new(value), size));
        }
        Ok(())
    }

    /// Bytes held by every scope of the execution.
    #[cfg(test)]
    pub fn held_bytes(&self) -> usize {
        self.held.load(Ordering::Relaxed)
    }
}

impl Drop for Variables {
    /// A scope that ends (a branch or iteration that finished) gives its bytes back.
    fn drop(&mut self) {
        let own: usize = self.lock().values().map(|(_, size)| *size).sum();
        self.held.fetch_sub(own, Ordering::Relaxed);
    }
}

/// AWS names no error for a variable over its limits; the payload limit's error is the nearest.
fn too_big(cause: String) -> StatesError {
    StatesError::new(names::DATA_LIMIT_EXCEEDED, cause)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn map(value: Value) -> serde_json::Map<String, Value> {
        value.as_object().cloned().unwrap()
    }

    #[test]
    fn an_inner_scope_reads_outer_variables_and_its_own_go_with_it() {
        let root = Variables::root();
        root.assign("A", map(json!({"x": 1}))).unwrap();
        let branch = root.child();
        branch.assign("B", map(json!({"y": 2}))).unwrap();
        assert_eq!(branch.get("x").as_deref(), Some(&json!(1)));
        assert_eq!(branch.get("y").as_deref(), Some(&json!(2)));
        assert_eq!(root.get("y"), None);
        let distributed = root.isolated();
        assert_eq!(distributed.get("x"), None);
        let held = root.held_bytes();
        drop(branch);
        assert_eq!(root.held_bytes(), held - 1);
    }

    #[test]
    fn limits_refuse_the_whole_assign() {
        let root = Variables::root();
        let big = "x".repeat(MAX_VARIABLE_BYTES);
        let err = root.assign("S", map(json!({"a": 1, "b": big}))).unwrap_err();
        assert_eq!(err.error, names::DATA_LIMIT_EXCEEDED);
        assert!(err.cause.contains("\"b\"") && err.cause.contains("\"S\""), "{}", err.cause);
        assert_eq!(root.get("a"), None, "nothing is stored when a limit is passed");
        let half = "x".repeat(MAX_VARIABLE_BYTES / 2);
        let err = root.assign("S", map(json!({"a": half, "b": half}))).unwrap_err();
        assert!(err.cause.contains("for one Assign"), "{}", err.cause);
        // 10 MiB in all: forty-one variables of a quarter MiB each do not fit; replacing one does.
        let quarter = "x".repeat(MAX_VARIABLE_BYTES - 10);
        for n in 0..40 {
            root.assign("S", map(json!({ format!("v{n}"): quarter }))).unwrap();
        }
        let err = root.assign("S", map(json!({"v40": quarter}))).unwrap_err();
        assert!(err.cause.contains("10 MiB"), "{}", err.cause);
        root.assign("S", map(json!({"v0": quarter}))).unwrap();
    }
}
