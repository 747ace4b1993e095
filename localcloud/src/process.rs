//! The operating-system side of the local cloud's processes: starting them (detached from the
//! terminal, or tied to the current process for tests), recognising them again from a PID file,
//! stopping only them, finding who holds a port, and waiting until a process answers HTTP.
//! Linux only: ownership and port holders are read from /proc.

use std::collections::HashMap;
use std::io::{self, Read, Seek, SeekFrom};
use std::net::TcpListener;
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::{Mutex, OnceLock, mpsc};
use std::time::{Duration, Instant};

use crate::error::Error;
use crate::service::Service;
use crate::state::StateDir;

/// Every child carries this variable with its state directory: a PID is only ever signalled when
/// /proc/PID/environ still says it is ours, so a PID recycled by an unrelated process is left alone.
const OWNER_ENV: &str = "LOCALCLOUD_OWNER";

/// How long a started process outlives the process that started it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lifetime {
    /// Its own session, no terminal: keeps running after `localcloud up` exits, until `down`.
    Detached,
    /// Receives SIGTERM when the current process dies, however it dies (test runs that are killed
    /// or time out leave nothing behind).
    TiedToThisProcess,
}

/// Children started by this process, kept so their exit is noticed (and reaped: a child that
/// exited stays a zombie, and would look alive, until its parent waits for it).
fn children() -> &'static Mutex<HashMap<u32, Child>> {
    static CHILDREN: OnceLock<Mutex<HashMap<u32, Child>>> = OnceLock::new();
    CHILDREN.get_or_init(Default::default)
}

/// The exit status of our child `pid` if it has exited (reaping it), None while it runs or when it
/// is not our child.
fn exited_child(pid: u32) -> Option<String> {
    let mut table = children().lock().unwrap_or_else(|e| e.into_inner());
    let status = table.get_mut(&pid)?.try_wait().ok()??;
    table.remove(&pid);
    Some(status.to_string())
}

/// Starts `cmd` for `service` with its output appended to `log`, and returns its PID.
pub(crate) fn spawn(
    service: Service,
    mut cmd: Command,
    state: &StateDir,
    log: &Path,
    lifetime: Lifetime,
) -> Result<u32, Error> {
    let program = cmd.get_program().into();
    let out = std::fs::File::options().create(true).append(true).open(log).map_err(Error::io("open the log", log))?;
    let err = out.try_clone().map_err(Error::io("open the log", log))?;
    cmd.stdin(Stdio::null()).stdout(out).stderr(err).env(OWNER_ENV, state.path());
    let spawned = match lifetime {
        Lifetime::Detached => {
            // SAFETY: setsid is async-signal-safe; a new session has no controlling terminal, so
            // Ctrl-C or closing the terminal that ran `up` does not reach the service.
            unsafe {
                cmd.pre_exec(|| {
                    if libc::setsid() < 0 {
                        return Err(io::Error::last_os_error());
                    }
                    Ok(())
                })
            };
            cmd.spawn()
        }
        Lifetime::TiedToThisProcess => spawn_tied(cmd),
    };
    let child = spawned.map_err(|source| Error::Spawn { service, program, source })?;
    let pid = child.id();
    children().lock().unwrap_or_else(|e| e.into_inner()).insert(pid, child);
    tracing::debug!(%service, pid, ?lifetime, "started");
    Ok(pid)
}

/// PR_SET_PDEATHSIG fires when the *thread* that forked the child ends, not the process: a child
/// forked from a test thread or a tokio blocking thread would be killed when that thread finishes.
/// So every tied child is forked from one thread that lives as long as the process.
fn spawn_tied(cmd: Command) -> io::Result<Child> {
    type Request = (Command, mpsc::Sender<io::Result<Child>>);
    static SPAWNER: OnceLock<Mutex<mpsc::Sender<Request>>> = OnceLock::new();
    let spawner = SPAWNER.get_or_init(|| {
        let (tx, rx) = mpsc::channel::<Request>();
        std::thread::Builder::new()
            .name("localcloud-spawner".into())
            .spawn(move || {
                for (mut cmd, reply) in rx {
                    let parent = std::process::id() as libc::pid_t;
                    // SAFETY: prctl and getppid are async-signal-safe.
                    unsafe {
                        cmd.process_group(0).pre_exec(move || {
                            if libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGTERM) != 0 {
                                return Err(io::Error::last_os_error());
                            }
                            // The parent may have died before prctl took effect.
                            if libc::getppid() != parent {
                                return Err(io::Error::other("the parent exited while starting"));
                            }
                            Ok(())
                        })
                    };
                    let _ = reply.send(cmd.spawn());
                }
            })
            .map(|_| Mutex::new(tx))
            .unwrap_or_else(|e| {
                // Without the thread nothing can be spawned tied; every request reports why.
                let (tx, _) = mpsc::channel();
                tracing::error!("cannot start the spawner thread: {e}");
                Mutex::new(tx)
            })
    });
    let (reply, answer) = mpsc::channel();
    let sent = spawner.lock().unwrap_or_else(|e| e.into_inner()).send((cmd, reply));
    sent.map_err(|_| io::Error::other("the localcloud spawner thread is gone"))?;
    answer.recv().map_err(|_| io::Error::other("the localcloud spawner thread is gone"))?
}

/// True when `pid` is a live process of `service` started from this state directory.
pub(crate) fn is_ours(pid: u32, service: Service, state: &StateDir) -> bool {
    if exited_child(pid).is_some() {
        return false;
    }
    let proc = Path::new("/proc").join(pid.to_string());
    // A zombie (exited, not yet reaped by a parent that is not us) has an empty cmdline.
    let Ok(cmdline) = std::fs::read(proc.join("cmdline")) else { return false };
    let runs_program = cmdline.split(|b| *b == 0).any(|arg| {
        let arg = String::from_utf8_lossy(arg);
        let name = Path::new(&*arg).file_name();
        service.program_names().iter().any(|wanted| name == Some(wanted.as_ref()))
    });
    if !runs_program {
        return false;
    }
    let marker = format!("{OWNER_ENV}={}", state.path().display());
    std::fs::read(proc.join("environ"))
        .map(|env| env.split(|b| *b == 0).any(|var| var == marker.as_bytes()))
        .unwrap_or(false)
}

/// Stops `pid` if it is still ours: SIGTERM, then SIGKILL after `grace`. Returns whether it was
/// running.
pub(crate) fn stop(pid: u32, service: Service, state: &StateDir, grace: Duration) -> Result<bool, Error> {
    if !is_ours(pid, service, state) {
        return Ok(false);
    }
    for (signal, wait) in [(libc::SIGTERM, grace), (libc::SIGKILL, Duration::from_secs(5))] {
        tracing::debug!(%service, pid, signal, "signalling");
        // SAFETY: plain kill(2) on a PID we just checked is our own process.
        unsafe { libc::kill(pid as libc::pid_t, signal) };
        let deadline = Instant::now() + wait;
        while Instant::now() < deadline {
            if !is_ours(pid, service, state) {
                return Ok(true);
            }
            std::thread::sleep(Duration::from_millis(25));
        }
    }
    Err(Error::StopFailed { service, pid })
}

/// Fails with the port and its holder when `port` cannot be bound on loopback.
pub(crate) fn check_port_free(service: Service, port: u16) -> Result<(), Error> {
    match TcpListener::bind(("127.0.0.1", port)) {
        Ok(_) => Ok(()),
        Err(_) => {
            let (flag, env_var) = service.port_flag();
            Err(Error::PortTaken { service, port, holder: port_holder(port), flag, env_var })
        }
    }
}

/// A port on loopback that is free now (for moto, which only the gateway needs to find).
pub(crate) fn free_port(service: Service) -> Result<u16, Error> {
    spare_port().map_err(|source| Error::Spawn { service, program: "a free port on 127.0.0.1".into(), source })
}

/// A port free on loopback now, below the kernel's ephemeral range, for a server that may have to
/// bind it again after a crash. A port the kernel hands out for port 0 is one it also gives the
/// local end of outgoing connections: once the server is gone, any client's connection can take it
/// and the restart fails (a test run did). Below the range, only another server can.
pub fn spare_port() -> io::Result<u16> {
    use std::hash::{BuildHasher, Hasher};
    let range = std::fs::read_to_string("/proc/sys/net/ipv4/ip_local_port_range").unwrap_or_default();
    let (low, high) = below_ephemeral(&range);
    for _ in 0..200 {
        // RandomState is seeded afresh on each call: a random port without a crate for it.
        let random = std::collections::hash_map::RandomState::new().build_hasher().finish();
        let port = low + (random % u64::from(high - low)) as u16;
        if TcpListener::bind(("127.0.0.1", port)).is_ok() {
            return Ok(port);
        }
    }
    Err(io::Error::new(io::ErrorKind::AddrInUse, format!("no free port on 127.0.0.1 in {low}..{high}")))
}

/// Ports from 10000 up to the start of the ephemeral range (`low high`, as
/// /proc/sys/net/ipv4/ip_local_port_range gives it); 10000..32768, Linux's default, when that
/// cannot be read or leaves too little below it.
fn below_ephemeral(ip_local_port_range: &str) -> (u16, u16) {
    const FIRST: u16 = 10_000;
    match ip_local_port_range.split_whitespace().next().and_then(|low| low.parse::<u16>().ok()) {
        Some(low) if low >= FIRST + 1_000 => (FIRST, low),
        _ => (FIRST, 32_768),
    }
}

/// "pid 123 (python3 -m http.server 4566)" for the process listening on `port`, when /proc shows
/// it to this user.
pub fn port_holder(port: u16) -> Option<String> {
    let inodes: Vec<String> = ["/proc/net/tcp", "/proc/net/tcp6"]
        .iter()
        .filter_map(|table| std::fs::read_to_string(table).ok())
        .flat_map(|text| listening_inodes(&text, port))
        .collect();
    if inodes.is_empty() {
        // No listener: the port may be the local end of a connection, which blocks a bind as well.
        let text = std::fs::read_to_string("/proc/net/tcp").ok()?;
        return connection_on(&text, port).map(|remote| format!("the local end of a connection to {remote}"));
    }
    for entry in std::fs::read_dir("/proc").ok()?.flatten() {
        let Ok(pid) = entry.file_name().to_string_lossy().parse::<u32>() else { continue };
        let Ok(fds) = std::fs::read_dir(entry.path().join("fd")) else { continue };
        for fd in fds.flatten() {
            let Ok(target) = std::fs::read_link(fd.path()) else { continue };
            let target = target.to_string_lossy();
            if inodes.iter().any(|inode| target == format!("socket:[{inode}]")) {
                let cmdline = std::fs::read(entry.path().join("cmdline")).unwrap_or_default();
                let cmdline = String::from_utf8_lossy(&cmdline).replace('\0', " ");
                return Some(format!("pid {pid} ({})", cmdline.trim()));
            }
        }
    }
    None
}

/// One socket of a /proc/net/tcp{,6} table: its local port, remote address (hex, `ADDR:PORT`),
/// state (hex, `0A` = listening) and inode.
struct SocketRow<'a> {
    local_port: u16,
    remote: &'a str,
    state: &'a str,
    inode: &'a str,
}

fn socket_rows(table: &str) -> impl Iterator<Item = SocketRow<'_>> {
    table.lines().skip(1).filter_map(|line| {
        let fields: Vec<&str> = line.split_whitespace().collect();
        let local_port = u16::from_str_radix(fields.get(1)?.rsplit(':').next()?, 16).ok()?;
        Some(SocketRow { local_port, remote: fields.get(2)?, state: fields.get(3)?, inode: fields.get(9)? })
    })
}

/// The socket inodes in a /proc/net/tcp{,6} table that listen on `port` (any address).
fn listening_inodes(table: &str, port: u16) -> Vec<String> {
    const LISTEN: &str = "0A";
    socket_rows(table)
        .filter(|row| row.local_port == port && row.state == LISTEN)
        .map(|row| row.inode.to_string())
        .collect()
}

/// The remote address ("127.0.0.1:40000") of a connection whose local end is `port`, from
/// /proc/net/tcp (IPv4: the address is four little-endian bytes in hex, then the port).
fn connection_on(table: &str, port: u16) -> Option<String> {
    socket_rows(table).filter(|row| row.local_port == port).find_map(|row| {
        let (address, remote_port) = row.remote.split_once(':')?;
        let address = u32::from_str_radix(address, 16).ok()?;
        let remote_port = u16::from_str_radix(remote_port, 16).ok()?;
        (remote_port != 0).then(|| format!("{}:{remote_port}", std::net::Ipv4Addr::from(address.swap_bytes())))
    })
}

/// Waits until `url` answers 200, failing early (with the log's end) if our child `pid` exits.
pub(crate) fn wait_ready(
    service: Service,
    pid: u32,
    url: &str,
    log: &Path,
    timeout: Duration,
) -> Result<Duration, Error> {
    let started = Instant::now();
    loop {
        if answers(url, Duration::from_secs(1)) {
            return Ok(started.elapsed());
        }
        if let Some(status) = exited_child(pid) {
            return Err(Error::Exited { service, status, url: url.into(), log: log.into(), tail: tail(log, 20) });
        }
        if started.elapsed() >= timeout {
            return Err(Error::NotReady { service, url: url.into(), timeout, log: log.into(), tail: tail(log, 20) });
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// True when a GET of `url` answers 200 within `timeout`.
pub fn answers(url: &str, timeout: Duration) -> bool {
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .timeout_global(Some(timeout))
        // Loopback only: a proxy from the environment must not see these requests.
        .proxy(None)
        .build()
        .into();
    matches!(agent.get(url).call(), Ok(response) if response.status() == 200)
}

/// The last `lines` lines of a log, terminal colour codes removed, for error messages.
pub fn tail(log: &Path, lines: usize) -> String {
    const WINDOW: u64 = 16 * 1024;
    let Ok(mut file) = std::fs::File::open(log) else { return format!("({} cannot be read)", log.display()) };
    let len = file.metadata().map(|m| m.len()).unwrap_or(0);
    let mut bytes = Vec::new();
    if file.seek(SeekFrom::Start(len.saturating_sub(WINDOW))).is_err() || file.read_to_end(&mut bytes).is_err() {
        return format!("({} cannot be read)", log.display());
    }
    let text = strip_ansi(&String::from_utf8_lossy(&bytes));
    let all: Vec<&str> = text.lines().collect();
    all[all.len().saturating_sub(lines)..].join("\n")
}

/// moto's development server colours its output even into a file.
fn strip_ansi(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars();
    while let Some(c) = chars.next() {
        if c == '\u{1b}' {
            // CSI sequence: ESC [ parameters final-byte (a letter).
            for c in chars.by_ref() {
                if c.is_ascii_alphabetic() {
                    break;
                }
            }
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
    fn a_listening_socket_is_found_in_the_tcp_table_by_port() {
        let table = "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode\n\
           0: 0100007F:11D6 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 4242 1\n\
           1: 0100007F:11D6 0100007F:9C40 01 00000000:00000000 00:00000000 00000000     0        0 4343 1\n";
        assert_eq!(listening_inodes(table, 4566), vec!["4242".to_string()]);
        assert!(listening_inodes(table, 5055).is_empty());
        // 0x9C40 = 40000 is the local end of no connection here; 4566's connection goes to 40000.
        assert_eq!(connection_on(table, 4566), Some("127.0.0.1:40000".to_string()));
        assert_eq!(connection_on(table, 40000), None);
    }

    #[test]
    fn the_holder_of_a_port_is_named() {
        let listener = TcpListener::bind(("127.0.0.1", 0)).unwrap();
        let port = listener.local_addr().unwrap().port();
        let holder = port_holder(port).expect("our own socket is visible in /proc");
        assert!(holder.starts_with(&format!("pid {} ", std::process::id())), "{holder}");
        let err = check_port_free(Service::Registry, port).unwrap_err().to_string();
        assert!(err.contains(&port.to_string()) && err.contains("--registry-port"), "{err}");

        // A port the kernel gave a client's end of a connection cannot be bound either.
        let client = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
        let client_port = client.local_addr().unwrap().port();
        let err = check_port_free(Service::Moto, client_port).unwrap_err().to_string();
        assert!(err.contains(&format!("the local end of a connection to 127.0.0.1:{port}")), "{err}");
    }

    #[test]
    fn a_spare_port_is_free_and_below_the_ephemeral_range() {
        assert_eq!(below_ephemeral("32768\t60999\n"), (10_000, 32_768));
        assert_eq!(below_ephemeral("40000 60999"), (10_000, 40_000));
        assert_eq!(below_ephemeral(""), (10_000, 32_768), "unreadable: Linux's default");
        assert_eq!(below_ephemeral("1024 65535"), (10_000, 32_768), "nothing left below: Linux's default");
        let range = std::fs::read_to_string("/proc/sys/net/ipv4/ip_local_port_range").unwrap();
        let (low, high) = below_ephemeral(&range);
        let port = spare_port().unwrap();
        assert!((low..high).contains(&port), "{port} in {low}..{high}");
    }

    #[test]
    fn colour_codes_are_removed_from_log_tails() {
        assert_eq!(strip_ansi("\u{1b}[31m\u{1b}[1mWARNING\u{1b}[0m: dev"), "WARNING: dev");
    }

    #[test]
    fn a_process_that_is_not_ours_is_never_ours() {
        let state = StateDir::existing(Path::new("/nonexistent-localcloud"));
        // PID 1 exists but runs neither program and carries no marker.
        assert!(!is_ours(1, Service::Moto, &state));
        assert!(!is_ours(std::process::id(), Service::Registry, &state));
    }
}
