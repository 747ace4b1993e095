//! One provision of a stack at a time from this machine. CloudFormation refuses a second
//! operation on a stack that is *_IN_PROGRESS, but between the first look at the stack and the
//! execution of the change set (the build and push, minutes) two provisions would both go ahead:
//! the second's change set would be computed against a stack the first is about to change. An
//! advisory lock (flock, released by the kernel however the holder ends) per stack, account,
//! region and endpoint closes that window; the second provision refuses at once and names the
//! holder.

use std::fs::File;
use std::io::Write;
use std::os::fd::AsRawFd;
use std::path::PathBuf;

#[derive(Debug, thiserror::Error)]
#[error(
    "another `provisioner provision` of stack {stack} ({target}) is running on this machine{holder}; nothing was \
     done. Let it finish (`provisioner status --stack-name {stack}` shows the stack), then run provision again"
)]
pub struct ProvisionInProgress {
    pub stack: String,
    pub target: String,
    /// " (pid N)" when the holder wrote its PID.
    pub holder: String,
}

/// Held while a provision runs; dropping it releases the lock.
#[derive(Debug)]
pub struct StackLock {
    _file: File,
}

/// Takes the lock for `stack` in `target` (account, region and endpoint, as the caller prints
/// them), or fails naming the process that holds it.
pub fn acquire(stack: &str, target: &str) -> anyhow::Result<StackLock> {
    // One directory per user: another user's lock directory in a shared /tmp is not ours to write.
    // SAFETY: getuid(2) cannot fail.
    let dir = std::env::temp_dir().join(format!("provisioner-locks-{}", unsafe { libc::getuid() }));
    std::fs::create_dir_all(&dir).map_err(|e| anyhow::Error::new(e).context(format!("creating {}", dir.display())))?;
    let path = dir.join(file_name(stack, target));
    let mut file = File::options().create(true).truncate(false).read(true).write(true).open(&path)?;
    // SAFETY: flock(2) on a descriptor we own; the kernel releases it when the file closes.
    // (std's File::try_lock is newer than this workspace's MSRV.)
    let locked = unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) };
    match locked {
        0 => {
            file.set_len(0)?;
            writeln!(file, "{}", std::process::id())?;
            Ok(StackLock { _file: file })
        }
        _ if std::io::Error::last_os_error().raw_os_error() == Some(libc::EWOULDBLOCK) => {
            let pid = std::fs::read_to_string(&path).unwrap_or_default();
            let holder = match pid.trim() {
                "" => String::new(),
                pid => format!(" (pid {pid})"),
            };
            Err(ProvisionInProgress { stack: stack.to_owned(), target: target.to_owned(), holder }.into())
        }
        _ => Err(anyhow::Error::new(std::io::Error::last_os_error()).context(format!("locking {}", path.display()))),
    }
}

/// A file name that differs for every stack, account, region and endpoint.
fn file_name(stack: &str, target: &str) -> PathBuf {
    use sha2::Digest;
    let digest = sha2::Sha256::digest(format!("{stack}\n{target}").as_bytes());
    let hex: String = digest.iter().take(8).map(|b| format!("{b:02x}")).collect();
    PathBuf::from(format!("{stack}-{hex}.lock"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_second_lock_on_the_same_stack_is_refused_and_names_the_holder() {
        let stack = format!("lock-test-{}", std::process::id());
        let first = acquire(&stack, "account 1 in r").unwrap();
        let err = acquire(&stack, "account 1 in r").unwrap_err();
        let text = err.to_string();
        assert!(err.is::<ProvisionInProgress>(), "{err:?}");
        assert!(text.contains(&stack) && text.contains(&format!("pid {}", std::process::id())), "{text}");
        assert!(text.contains("provisioner status --stack-name"), "{text}");
        // Another account is another stack.
        let other = acquire(&stack, "account 2 in r").unwrap();
        drop(first);
        drop(other);
        drop(acquire(&stack, "account 1 in r").unwrap());
    }
}
