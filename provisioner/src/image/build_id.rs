//! The build ID: the git commit the image was built from, with a marker when the work tree had
//! uncommitted changes, used as the image tag beside the digest.

use std::path::Path;
use std::process::Command;

/// `<12-hex sha>` or `<12-hex sha>-dirty`; `nogit` outside a git checkout.
pub fn build_id(repo: &Path) -> String {
    let git = |args: &[&str]| -> Option<String> {
        let out = Command::new("git").arg("-C").arg(repo).args(args).output().ok()?;
        out.status.success().then(|| String::from_utf8_lossy(&out.stdout).trim().to_owned())
    };
    let Some(sha) = git(&["rev-parse", "--short=12", "HEAD"]) else {
        return "nogit".to_owned();
    };
    let dirty = git(&["status", "--porcelain", "--untracked-files=no"]).is_none_or(|s| !s.is_empty());
    if dirty { format!("{sha}-dirty") } else { sha }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn outside_git_the_id_says_so() {
        let dir = std::env::temp_dir().join(format!("build-id-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        assert_eq!(build_id(&dir), "nogit");
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn a_clean_and_a_dirty_tree_differ_by_the_marker() {
        let dir = std::env::temp_dir().join(format!("build-id-git-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let git = |args: &[&str]| {
            let ok = Command::new("git").arg("-C").arg(&dir).args(args).output().unwrap().status.success();
            assert!(ok, "git {args:?}");
        };
        git(&["init", "-q"]);
        std::fs::write(dir.join("f"), "1").unwrap();
        git(&["add", "f"]);
        git(&["-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qm", "c"]);
        let clean = build_id(&dir);
        assert_eq!(clean.len(), 12, "{clean}");
        assert!(clean.chars().all(|c| c.is_ascii_hexdigit()), "{clean}");
        std::fs::write(dir.join("f"), "2").unwrap();
        assert_eq!(build_id(&dir), format!("{clean}-dirty"));
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
