//! The local Fargate's credentials agent: what a task reaches on its own loopback for its task
//! role's credentials, as a Fargate task reaches the ECS agent on 169.254.170.2. It runs in a
//! container of its own on the task network, and the task's container joins its network namespace
//! (Fargate's pause container plays that part), so `127.0.0.1:<port>` inside the task is this
//! process. It forwards each connection, bytes unchanged, to the gateway on the task network,
//! which serves `/v2/credentials/<id>`.
//!
//! Why a forwarder at all: the AWS SDKs take `AWS_CONTAINER_CREDENTIALS_FULL_URI` over plain HTTP
//! only on a loopback address or ECS's and EKS's link-local hosts, and the gateway is neither.
//!
//! std only, so `localcloud`'s build script compiles it with `rustc` alone into a static binary
//! (an image FROM scratch). Usage: `credentials-agent <listen address> <gateway address>`.

use std::io::{self, Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::thread;

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let [_, listen, target] = args.as_slice() else {
        eprintln!("usage: credentials-agent <listen address> <gateway address>");
        std::process::exit(2);
    };
    let listener = match TcpListener::bind(listen.as_str()) {
        Ok(listener) => listener,
        Err(e) => {
            eprintln!("credentials-agent: cannot listen on {listen}: {e}");
            std::process::exit(1);
        }
    };
    for client in listener.incoming() {
        let Ok(client) = client else { continue };
        let target = target.clone();
        thread::spawn(move || {
            if let Err(e) = forward(client, &target) {
                eprintln!("credentials-agent: a connection to {target} failed: {e}");
            }
        });
    }
}

/// Copies `client` to `target` and back until both sides are done.
fn forward(client: TcpStream, target: &str) -> io::Result<()> {
    let upstream = TcpStream::connect(target)?;
    let (client_read, upstream_write) = (client.try_clone()?, upstream.try_clone()?);
    let up = thread::spawn(move || copy(client_read, upstream_write));
    copy(upstream, client)?;
    up.join().unwrap_or(Ok(()))
}

/// `from` into `to`, then ends `to`'s writing half so the other side sees the end.
fn copy(mut from: TcpStream, mut to: TcpStream) -> io::Result<()> {
    let mut buffer = [0u8; 16 * 1024];
    loop {
        let read = from.read(&mut buffer)?;
        if read == 0 {
            let _ = to.shutdown(Shutdown::Write);
            return Ok(());
        }
        to.write_all(&buffer[..read])?;
    }
}
