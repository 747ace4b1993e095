//! Who the task process runs as, read from the kernel (`/proc/self/status`): the effective user and
//! group and the effective capability set. The task logs them when it starts, so a run shows from
//! the inside that it is not root and holds no capabilities, on Fargate as on the local cloud.

/// The process's effective ids and capabilities; None where /proc is not there (not Linux).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Identity {
    pub uid: u32,
    pub gid: u32,
    /// The effective capability set, as the kernel's bit mask (0: none).
    pub cap_eff: u64,
}

impl Identity {
    pub fn current() -> Option<Identity> {
        Identity::parse(&std::fs::read_to_string("/proc/self/status").ok()?)
    }

    /// From the text of a `/proc/<pid>/status`: `Uid:` and `Gid:` list real, effective, saved and
    /// filesystem ids; `CapEff:` is hex.
    pub fn parse(status: &str) -> Option<Identity> {
        let field = |name: &str| status.lines().find_map(|l| l.strip_prefix(name)).map(str::trim);
        let effective = |name: &str| -> Option<u32> { field(name)?.split_whitespace().nth(1)?.parse().ok() };
        Some(Identity {
            uid: effective("Uid:")?,
            gid: effective("Gid:")?,
            cap_eff: u64::from_str_radix(field("CapEff:")?, 16).ok()?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_effective_ids_and_capabilities_are_read() {
        let status = "Name:\ttask\nUid:\t10001\t10002\t10001\t10001\nGid:\t10001\t10001\t10001\t10001\n\
                      CapInh:\t0000000000000000\nCapEff:\t00000000a80425fb\n";
        assert_eq!(Identity::parse(status), Some(Identity { uid: 10002, gid: 10001, cap_eff: 0xa80425fb }));
        assert_eq!(Identity::parse("Name:\ttask\n"), None);
    }

    #[test]
    fn this_process_has_an_identity_on_linux() {
        let me = Identity::current().expect("/proc/self/status on Linux");
        let status = std::fs::read_to_string("/proc/self/status").unwrap();
        assert!(status.contains(&format!("\t{}\t", me.uid)), "{status}");
    }
}
