//! A TCP proxy on loopback that puts a fault at an exact point of a conversation, for the fault
//! tests: it forwards bytes both ways until a request it watches for goes by (an ECR blob upload,
//! a CloudFormation ExecuteChangeSet), then holds that request forever (the client waits, as for
//! an endpoint that stopped answering) or runs an action first (kill the registry or moto), then
//! forwards it to whatever is left. Requests are matched by bytes in what the client sends (the
//! request line of a registry call, `Action=...` in a CloudFormation form body), so it needs no
//! HTTP parsing and sees keep-alive connections whole.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::Notify;

/// What happens to the request that matches.
pub enum Action {
    /// Not forwarded until [`FaultProxy::heal`]: the client waits for an answer, as from an
    /// endpoint that stopped answering (or, healed, one that was slow).
    Hold,
    /// Runs once (e.g. kills a process), then the request is forwarded to what is left.
    Run(Box<dyn FnOnce() + Send>),
}

/// When the fault happens: at the first request whose bytes contain `on`, once a request
/// containing `armed_by` (when given) has gone through.
pub struct Fault {
    pub armed_by: Option<&'static str>,
    pub on: &'static str,
    pub action: Action,
}

struct Shared {
    upstream: SocketAddr,
    armed_by: Option<&'static str>,
    on: &'static str,
    hold: bool,
    run: Mutex<Option<Box<dyn FnOnce() + Send>>>,
    armed: AtomicBool,
    fired: AtomicBool,
    fired_notify: Notify,
    /// Once cleared, everything passes (the fault is over).
    active: AtomicBool,
    healed: Notify,
}

pub struct FaultProxy {
    address: SocketAddr,
    shared: Arc<Shared>,
}

impl FaultProxy {
    /// Listens on a free loopback port and forwards to `upstream` (`127.0.0.1:PORT`).
    pub async fn start(upstream: &str, fault: Fault) -> FaultProxy {
        let upstream: SocketAddr = upstream
            .trim_start_matches("http://")
            .parse()
            .unwrap_or_else(|e| panic!("the proxy's upstream {upstream:?} is not IP:PORT: {e}"));
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("a free port on 127.0.0.1");
        let address = listener.local_addr().expect("the proxy's address");
        let (hold, run) = match fault.action {
            Action::Hold => (true, None),
            Action::Run(f) => (false, Some(f)),
        };
        let shared = Arc::new(Shared {
            upstream,
            armed_by: fault.armed_by,
            on: fault.on,
            hold,
            run: Mutex::new(run),
            armed: AtomicBool::new(fault.armed_by.is_none()),
            fired: AtomicBool::new(false),
            fired_notify: Notify::new(),
            active: AtomicBool::new(true),
            healed: Notify::new(),
        });
        let accepting = shared.clone();
        tokio::spawn(async move {
            while let Ok((client, _)) = listener.accept().await {
                tokio::spawn(connection(client, accepting.clone()));
            }
        });
        FaultProxy { address, shared }
    }

    /// `127.0.0.1:PORT`, as a registry is named.
    pub fn address(&self) -> String {
        self.address.to_string()
    }

    /// `http://127.0.0.1:PORT`, as an AWS endpoint is named.
    pub fn url(&self) -> String {
        format!("http://{}", self.address)
    }

    /// Waits until the fault has happened.
    pub async fn fired(&self) {
        loop {
            let notified = self.shared.fired_notify.notified();
            if self.shared.fired.load(Ordering::SeqCst) {
                return;
            }
            notified.await;
        }
    }

    pub fn has_fired(&self) -> bool {
        self.shared.fired.load(Ordering::SeqCst)
    }

    /// From now on everything passes, and a held request is sent on.
    pub fn heal(&self) {
        self.shared.active.store(false, Ordering::SeqCst);
        self.shared.healed.notify_waiters();
    }
}

/// True when `pattern` occurs in `window` ending inside its last `fresh` bytes (so bytes already
/// matched on an earlier read are not matched again).
fn contains_fresh(window: &[u8], fresh: usize, pattern: &str) -> bool {
    let pattern = pattern.as_bytes();
    let old = window.len() - fresh;
    window.windows(pattern.len()).enumerate().any(|(at, w)| w == pattern && at + pattern.len() > old)
}

async fn connection(mut client: TcpStream, shared: Arc<Shared>) {
    let Ok(mut upstream) = TcpStream::connect(shared.upstream).await else {
        // Nothing listens there (it was stopped): the client sees its connection closed.
        return;
    };
    let (mut client_read, mut client_write) = client.split();
    let (mut upstream_read, mut upstream_write) = upstream.split();
    let to_client = async {
        let _ = tokio::io::copy(&mut upstream_read, &mut client_write).await;
        let _ = client_write.shutdown().await;
    };
    let to_upstream = async {
        let mut window: Vec<u8> = Vec::new();
        let mut buf = vec![0u8; 64 * 1024];
        loop {
            let n = match client_read.read(&mut buf).await {
                Ok(0) | Err(_) => break,
                Ok(n) => n,
            };
            // Keep the tail of what came before, so a pattern split across two reads is found.
            let keep = window.len().min(256);
            window.drain(..window.len() - keep);
            window.extend_from_slice(&buf[..n]);
            if shared.active.load(Ordering::SeqCst) {
                if let Some(armed_by) = shared.armed_by
                    && contains_fresh(&window, n, armed_by)
                {
                    shared.armed.store(true, Ordering::SeqCst);
                } else if shared.armed.load(Ordering::SeqCst) && contains_fresh(&window, n, shared.on) {
                    let first = !shared.fired.swap(true, Ordering::SeqCst);
                    if shared.hold {
                        shared.fired_notify.notify_waiters();
                        // Held until healed (the client may give up first), then sent on.
                        loop {
                            let healed = shared.healed.notified();
                            if !shared.active.load(Ordering::SeqCst) {
                                break;
                            }
                            healed.await;
                        }
                    }
                    if first {
                        let run = shared.run.lock().unwrap_or_else(|e| e.into_inner()).take();
                        if let Some(run) = run {
                            run();
                        }
                        shared.fired_notify.notify_waiters();
                    }
                }
            }
            if upstream_write.write_all(&buf[..n]).await.is_err() {
                break;
            }
        }
        let _ = upstream_write.shutdown().await;
    };
    // Either side closing ends the connection, as a proxy that holds no state of its own does.
    tokio::select! {
        _ = to_client => {}
        _ = to_upstream => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_pattern_counts_only_when_it_ends_in_new_bytes() {
        let window = b"POST /a HTTP/1.1\r\n\r\nPUT /b";
        assert!(contains_fresh(window, 6, "PUT /b"));
        assert!(!contains_fresh(window, 6, "POST /a"));
        // Split across reads: starts in the old bytes, ends in the new.
        assert!(contains_fresh(window, 3, "PUT /b"));
    }
}
