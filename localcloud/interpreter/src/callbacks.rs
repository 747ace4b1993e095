//! The callback pattern (`.waitForTaskToken`): a Task state hands its task token to the service it
//! calls, then waits until someone calls SendTaskSuccess, SendTaskFailure or SendTaskHeartbeat with
//! that token, or until its TimeoutSeconds or HeartbeatSeconds passes. [`TaskTokens`] is where the
//! waiting states are found by token; one registry serves every execution of a local cloud, and
//! the API's three operations call [`TaskTokens::send`]. Errors as the API reference names them:
//! InvalidToken (not a token this registry could have issued), TaskDoesNotExist (no task has it),
//! TaskTimedOut ("the task token has either expired or the task associated with the token has
//! already been closed").

use std::collections::{HashMap, HashSet, VecDeque};
use std::sync::Mutex;

use serde_json::Value;
use tokio::sync::mpsc;

/// What a caller sends to a waiting task.
#[derive(Debug, Clone, PartialEq)]
pub enum Callback {
    /// SendTaskSuccess: the task's result.
    Success(Value),
    /// SendTaskFailure: its error and cause (both optional in the API).
    Failure { error: Option<String>, cause: Option<String> },
    /// SendTaskHeartbeat: the task is alive; its HeartbeatSeconds starts again.
    Heartbeat,
}

/// Why a callback was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CallbackError {
    #[error("The task token {0:?} is not valid: it is not a token Step Functions issued")]
    InvalidToken(String),
    #[error("No task has the task token {0:?}")]
    TaskDoesNotExist(String),
    #[error("The task of token {0:?} has already been closed: it ended, timed out, or its execution stopped")]
    TaskTimedOut(String),
}

impl CallbackError {
    /// The API's exception name.
    pub fn code(&self) -> &'static str {
        match self {
            CallbackError::InvalidToken(_) => "InvalidToken",
            CallbackError::TaskDoesNotExist(_) => "TaskDoesNotExist",
            CallbackError::TaskTimedOut(_) => "TaskTimedOut",
        }
    }
}

/// How many closed tokens are remembered (to answer TaskTimedOut rather than TaskDoesNotExist).
const REMEMBERED_CLOSED: usize = 10_000;

#[derive(Default)]
struct Closed {
    order: VecDeque<String>,
    set: HashSet<String>,
}

/// The tasks waiting for a callback, by token.
#[derive(Default)]
pub struct TaskTokens {
    open: Mutex<HashMap<String, mpsc::UnboundedSender<Callback>>>,
    closed: Mutex<Closed>,
}

impl TaskTokens {
    pub fn new() -> Self {
        Self::default()
    }

    /// Hands `callback` to the task waiting with `token`.
    pub fn send(&self, token: &str, callback: Callback) -> Result<(), CallbackError> {
        if uuid::Uuid::parse_str(token).is_err() {
            return Err(CallbackError::InvalidToken(token.to_owned()));
        }
        let open = self.open.lock().unwrap_or_else(|e| e.into_inner());
        match open.get(token) {
            Some(sender) => sender.send(callback).map_err(|_| CallbackError::TaskTimedOut(token.to_owned())),
            None if self.closed.lock().unwrap_or_else(|e| e.into_inner()).set.contains(token) => {
                Err(CallbackError::TaskTimedOut(token.to_owned()))
            }
            None => Err(CallbackError::TaskDoesNotExist(token.to_owned())),
        }
    }

    /// A task starts waiting with `token`.
    pub(crate) fn open(&self, token: &str) -> Waiting<'_> {
        let (sender, receiver) = mpsc::unbounded_channel();
        self.open.lock().unwrap_or_else(|e| e.into_inner()).insert(token.to_owned(), sender);
        Waiting { tokens: self, token: token.to_owned(), receiver }
    }

    fn close(&self, token: &str) {
        self.open.lock().unwrap_or_else(|e| e.into_inner()).remove(token);
        let mut closed = self.closed.lock().unwrap_or_else(|e| e.into_inner());
        if closed.set.insert(token.to_owned()) {
            closed.order.push_back(token.to_owned());
        }
        while closed.order.len() > REMEMBERED_CLOSED {
            if let Some(oldest) = closed.order.pop_front() {
                closed.set.remove(&oldest);
            }
        }
    }

    /// How many tasks wait for a callback.
    pub fn waiting(&self) -> usize {
        self.open.lock().unwrap_or_else(|e| e.into_inner()).len()
    }
}

/// One task waiting for its callbacks; its token closes when this is dropped (the task ended,
/// timed out, or its execution stopped).
pub(crate) struct Waiting<'a> {
    tokens: &'a TaskTokens,
    token: String,
    receiver: mpsc::UnboundedReceiver<Callback>,
}

impl Waiting<'_> {
    /// The next callback.
    pub async fn next(&mut self) -> Callback {
        match self.receiver.recv().await {
            Some(callback) => callback,
            // The sender lives in the registry until this closes it: never reached.
            None => std::future::pending().await,
        }
    }
}

impl Drop for Waiting<'_> {
    fn drop(&mut self) {
        self.tokens.close(&self.token);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[tokio::test]
    async fn a_waiting_task_gets_its_callbacks_and_a_closed_token_is_timed_out() {
        let tokens = TaskTokens::new();
        let token = uuid::Uuid::new_v4().to_string();
        let mut waiting = tokens.open(&token);
        tokens.send(&token, Callback::Heartbeat).unwrap();
        tokens.send(&token, Callback::Success(json!({"n": 1}))).unwrap();
        assert_eq!(waiting.next().await, Callback::Heartbeat);
        assert_eq!(waiting.next().await, Callback::Success(json!({"n": 1})));
        assert_eq!(tokens.waiting(), 1);
        drop(waiting);
        assert_eq!(tokens.waiting(), 0);
        assert_eq!(tokens.send(&token, Callback::Heartbeat).unwrap_err().code(), "TaskTimedOut");
        let unknown = uuid::Uuid::new_v4().to_string();
        assert_eq!(tokens.send(&unknown, Callback::Heartbeat).unwrap_err().code(), "TaskDoesNotExist");
        assert_eq!(tokens.send("not a token", Callback::Heartbeat).unwrap_err().code(), "InvalidToken");
    }
}
