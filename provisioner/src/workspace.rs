//! Finding the Cargo workspace a command runs in: the tools that work on a checkout (the
//! provisioner, the local cloud) start from the current directory, wherever in the tree it is.

use std::path::{Path, PathBuf};

/// The nearest directory at or above `dir` whose Cargo.toml has a `[workspace]` table.
pub fn find_root(dir: &Path) -> Option<PathBuf> {
    dir.ancestors()
        .find(|d| std::fs::read_to_string(d.join("Cargo.toml")).is_ok_and(|text| text.contains("[workspace]")))
        .map(Path::to_path_buf)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_this_workspace_from_a_member_and_nothing_outside_one() {
        let member = Path::new(env!("CARGO_MANIFEST_DIR"));
        let root = find_root(&member.join("src")).unwrap();
        assert_eq!(root, member.parent().unwrap());
        assert_eq!(find_root(Path::new("/")), None);
    }
}
