//! The gateway's own memory: what its allocator holds in use (served on
//! [`MEMORY_PATH`](super::MEMORY_PATH), so a test can tell what the gateway keeps from what the
//! allocator merely has not given back), and the freed memory given back to the system once there
//! is enough of it. glibc's allocator keeps freed memory in its arenas; without this, the
//! gateway's resident memory stays at its peak after a burst of executions.

use std::time::Duration;

/// How often the gateway looks at what its allocator holds free.
const EVERY: Duration = Duration::from_secs(2);

/// Free memory the allocator may keep before it is asked to give it back.
const KEEP_FREE_BYTES: usize = 1024 * 1024;

/// The allocator's figures, in bytes; None where the allocator does not report them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Usage {
    /// Allocated and not freed: what the gateway holds.
    pub in_use: u64,
    /// Freed, kept by the allocator for reuse.
    pub free_held: u64,
}

#[cfg(all(target_os = "linux", target_env = "gnu"))]
pub fn usage() -> Option<Usage> {
    // SAFETY: mallinfo2 only reads the allocator's counters (every arena, under its lock).
    let info = unsafe { libc::mallinfo2() };
    Some(Usage { in_use: (info.uordblks + info.hblkhd) as u64, free_held: info.fordblks as u64 })
}

#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
pub fn usage() -> Option<Usage> {
    None
}

/// Gives freed memory back to the system, every [`EVERY`], whenever the allocator holds more than
/// [`KEEP_FREE_BYTES`] of it. Runs until the gateway stops.
pub async fn give_back_freed_memory() {
    loop {
        tokio::time::sleep(EVERY).await;
        give_back_if_much_is_free();
    }
}

#[cfg(all(target_os = "linux", target_env = "gnu"))]
fn give_back_if_much_is_free() {
    if usage().is_some_and(|u| u.free_held > KEEP_FREE_BYTES as u64) {
        // SAFETY: malloc_trim only returns free pages of every arena to the system.
        unsafe { libc::malloc_trim(0) };
    }
}

#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
fn give_back_if_much_is_free() {}

#[cfg(test)]
mod tests {
    use super::*;

    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    #[test]
    fn usage_counts_what_is_held_and_no_longer_counts_it_once_freed() {
        let before = usage().unwrap().in_use;
        let held: Vec<u8> = vec![1; 8 << 20];
        let during = usage().unwrap().in_use;
        assert!(during >= before + (8 << 20), "in use {before} then {during} while 8 MiB are held");
        drop(held);
        let after = usage().unwrap().in_use;
        assert!(after < during - (4 << 20), "in use {during} then {after} once the 8 MiB were freed");
    }
}
