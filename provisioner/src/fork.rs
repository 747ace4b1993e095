//! Starting a new service from this one (`provisioner fork`, `just fork NAME DIR`): copies the
//! workspace (what git tracks, and untracked files it does not ignore) into a new directory and
//! changes exactly the places that name the service, its task size or its description, and gives
//! the model package a name of its own (`NAME-model`): cargo names a member's build by its package
//! name and its path in the workspace, so a fork and its original sharing one `CARGO_TARGET_DIR`
//! would otherwise share builds, and an edit in one would reach the other. The
//! template snapshots are rendered by the code the snapshot tests compare against, for the new
//! name and size, so the fork builds and its tests pass with no further edit. No AWS access.

use std::path::{Path, PathBuf};
use std::process::Command;

use service::description::{self, DescriptionError, ServiceDescription};

use crate::decorators::{self, state_machine};

/// Where the template snapshots live, relative to the workspace root.
pub const SNAPSHOT_DIR: &str = "provisioner/tests/snapshots";

/// What a fork is asked to be; `None` keeps this service's value.
#[derive(Debug, Clone)]
pub struct ForkRequest {
    /// The workspace to copy.
    pub source: PathBuf,
    /// A directory that does not exist yet, or is empty.
    pub destination: PathBuf,
    pub name: String,
    pub cpu: Option<u32>,
    pub memory: Option<u32>,
    pub description: Option<String>,
}

/// What a fork did.
#[derive(Debug, Clone)]
pub struct Forked {
    pub destination: PathBuf,
    /// Every file written, relative to the destination.
    pub files: usize,
    /// The files that differ from the source, relative to the destination, sorted.
    pub changed: Vec<PathBuf>,
}

#[derive(Debug, thiserror::Error)]
pub enum ForkError {
    #[error("the new service is not usable: {0}")]
    Description(#[from] DescriptionError),
    #[error("{0:?} is this service's own name; a fork needs another, since every AWS resource is named after it")]
    SameName(String),
    #[error("the description {value:?} is not usable: {reason}")]
    DescriptionText { value: String, reason: &'static str },
    #[error("{} is not empty; give a new directory (or an empty one) for the fork", .0.display())]
    DestinationNotEmpty(PathBuf),
    #[error("{} is the workspace being forked; give another directory", .0.display())]
    DestinationIsSource(PathBuf),
    #[error("git failed in {} ({reason}); fork from a git checkout, with git installed", dir.display())]
    Git { dir: PathBuf, reason: String },
    #[error("{}: {source}", path.display())]
    Io { path: PathBuf, source: std::io::Error },
    #[error(
        "{file} no longer holds {expected:?}, which a fork rewrites: update the edits in \
         provisioner/src/fork.rs to what the file holds now"
    )]
    TemplateChanged { file: String, expected: String },
    #[error("rendering the fork's template snapshots: {0}")]
    Snapshot(String),
    #[error(
        "{0:?} is already the name of a package this workspace builds (see Cargo.lock); the service's \
         package is named after the service (and the model's NAME-model), so give the fork another name"
    )]
    PackageNameTaken(String),
    #[error(
        "Cargo.lock does not hold the package {name:?} once as a workspace package ({reason}): run `cargo metadata` in the source to bring it up to date"
    )]
    Lockfile { name: String, reason: String },
}

type Result<T> = std::result::Result<T, ForkError>;

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> ForkError + '_ {
    move |source| ForkError::Io { path: path.to_owned(), source }
}

/// The fixed image URI the template snapshots use, so they do not depend on a push.
pub fn snapshot_image(service_name: &str) -> String {
    format!("123456789012.dkr.ecr.us-east-1.amazonaws.com/{service_name}@sha256:{}", "0".repeat(64))
}

/// The snapshot files (name under [`SNAPSHOT_DIR`], content) of a service: its template and its
/// state machine definition, as the snapshot tests compare them.
pub fn snapshots(service: ServiceDescription) -> std::result::Result<Vec<(&'static str, String)>, String> {
    let image = snapshot_image(service.name());
    let (template, ctx) = decorators::assemble(service, Some(image)).map_err(|e| e.to_string())?;
    let (definition, _) = state_machine::definition(&ctx).map_err(|e| e.to_string())?;
    let definition: serde_json::Value = serde_json::from_str(&definition).map_err(|e| e.to_string())?;
    let pretty = serde_json::to_string_pretty(&definition).map_err(|e| e.to_string())?;
    Ok(vec![
        ("template.json", format!("{}\n", template.to_json().map_err(|e| e.to_string())?.trim_end())),
        ("state_machine.json", format!("{pretty}\n")),
    ])
}

/// One text change in one file: `find` must occur `times` times (0: at least once).
struct Edit {
    file: &'static str,
    find: String,
    replace: String,
    times: usize,
}

impl Edit {
    fn new(file: &'static str, find: String, replace: String, times: usize) -> Self {
        Self { file, find, replace, times }
    }
}

/// The service's identity: what a fork changes.
struct Identity {
    name: String,
    cpu: u32,
    memory: u32,
    description: String,
}

/// Every place outside the snapshots that names the service, its task size or its description.
fn edits(old: &Identity, new: &Identity) -> Vec<Edit> {
    let (o, n) = (&old.name, &new.name);
    let mut edits = vec![
        // The package and the binary, both named after the service.
        Edit::new("service/Cargo.toml", format!("name = \"{o}\""), format!("name = \"{n}\""), 2),
        Edit::new(
            "service/src/lib.rs",
            format!("pub const SERVICE_NAME: &str = \"{o}\";"),
            format!("pub const SERVICE_NAME: &str = \"{n}\";"),
            1,
        ),
        Edit::new("service/src/main.rs", format!("The {o} binary"), format!("The {n} binary"), 1),
        Edit::new("service/tests/binary.rs", format!("The {o} binary"), format!("The {n} binary"), 1),
        Edit::new("service/tests/binary.rs", format!("CARGO_BIN_EXE_{o}\""), format!("CARGO_BIN_EXE_{n}\""), 0),
        Edit::new(
            "service/tests/without_feature.rs",
            format!("CARGO_BIN_EXE_{o}\""),
            format!("CARGO_BIN_EXE_{n}\""),
            0,
        ),
        Edit::new("README.md", o.clone(), n.clone(), 0),
    ];
    if old.cpu != new.cpu {
        let line = |cpu| format!("pub const CPU: u32 = {cpu};");
        edits.push(Edit::new("service/src/description.rs", line(old.cpu), line(new.cpu), 1));
    }
    if old.memory != new.memory {
        let line = |memory| format!("pub const MEMORY_MIB: u32 = {memory};");
        edits.push(Edit::new("service/src/description.rs", line(old.memory), line(new.memory), 1));
    }
    if old.description != new.description {
        let line = |text: &str| format!("description = \"{}\"", toml_escape(text));
        edits.push(Edit::new("service/Cargo.toml", line(&old.description), line(&new.description), 1));
    }
    edits
}

/// The workspace manifest's dependency on the service, `service = { package = "NAME", ... }`:
/// the package is renamed, `use service::...` stays.
fn manifest_edit(old: &str, new: &str) -> Edit {
    Edit::new("Cargo.toml", format!("package = \"{old}\""), format!("package = \"{new}\""), 1)
}

/// Where the model crate lives, relative to the workspace root.
const MODEL_DIR: &str = "model";

/// The model package's name in a fork of `service`: every other member depends on the model, so
/// with a name of its own for it, no build of the fork's can be taken for one of the original's.
fn model_package(service: &str) -> String {
    format!("{service}-model")
}

/// The model package's name, from its manifest: `model` in the original, `NAME-model` in a fork.
fn model_name(manifest: &str) -> Option<&str> {
    manifest.lines().find_map(|l| l.strip_prefix("name = \"")?.strip_suffix('"'))
}

/// The edits that rename the model package from `old` to `new`: its manifest, and the workspace's
/// dependency on it (`model = { path = "model" }` in the original), so `use model::...` stays.
fn model_edits(old: &str, new: &str) -> [Edit; 2] {
    let dependency = |name: &str| match name {
        "model" => format!("model = {{ path = \"{MODEL_DIR}\" }}"),
        name => format!("model = {{ package = \"{name}\", path = \"{MODEL_DIR}\" }}"),
    };
    [
        Edit::new("model/Cargo.toml", format!("name = \"{old}\""), format!("name = \"{new}\""), 1),
        Edit::new("Cargo.toml", dependency(old), dependency(new), 1),
    ]
}

/// The package names Cargo.lock holds.
fn locked_names(lock: &str) -> Vec<&str> {
    lock.lines().filter_map(|l| l.strip_prefix("name = \"")?.strip_suffix('"')).collect()
}

/// The dependency entry's package name: `"name"`, `"name version"` or `"name version (source)"`.
fn entry_name(line: &str) -> &str {
    line.trim().trim_start_matches('"').split(['"', ' ']).next().unwrap_or_default()
}

/// Cargo.lock with the workspace package `old` renamed `new`, in the order cargo writes (packages
/// and each dependency list sorted by name), so `--locked` builds of the fork pass as they are.
fn rename_locked_package(lock: &str, old: &str, new: &str) -> std::result::Result<String, String> {
    let (body, newline) = match lock.strip_suffix('\n') {
        Some(body) => (body, "\n"),
        None => (lock, ""),
    };
    let mut parts: Vec<String> = body.split("\n\n").map(str::to_owned).collect();
    let name_line = format!("name = \"{old}\"");
    let is_ours = |part: &str| {
        part.starts_with("[[package]]\n")
            && part.lines().any(|l| l == name_line)
            && !part.lines().any(|l| l.starts_with("source = "))
    };
    let ours: Vec<usize> = (0..parts.len()).filter(|&i| is_ours(&parts[i])).collect();
    let [index] = ours[..] else {
        return Err(format!("found {} workspace packages named {old:?}", ours.len()));
    };
    let block = parts.remove(index).replace(&name_line, &format!("name = \"{new}\""));
    let quoted = format!("\"{old}\"");
    for part in &mut parts {
        let mut lines: Vec<String> = part.lines().map(str::to_owned).collect();
        let Some(at) = lines.iter().position(|l| l.trim() == quoted.clone() + ",") else { continue };
        let entry = lines.remove(at).replace(&quoted, &format!("\"{new}\""));
        let start = lines.iter().position(|l| l == "dependencies = [").map_or(0, |i| i + 1);
        let end = lines[start..].iter().position(|l| l == "]").map_or(lines.len(), |i| start + i);
        let to = (start..end).find(|&i| entry_name(&lines[i]) > new).unwrap_or(end);
        lines.insert(to, entry);
        *part = lines.join("\n");
    }
    let package_name =
        |part: &str| part.lines().find_map(|l| l.strip_prefix("name = \"")).map(|n| n.trim_end_matches('"').to_owned());
    let to = (1..parts.len())
        .find(|&i| parts[i].starts_with("[[package]]") && package_name(&parts[i]).is_some_and(|n| n.as_str() > new))
        .unwrap_or_else(|| parts.iter().rposition(|p| p.starts_with("[[package]]")).map_or(parts.len(), |i| i + 1));
    parts.insert(to, block);
    Ok(parts.join("\n\n") + newline)
}

/// A TOML basic string's content: backslash and quote escaped (control characters are refused
/// before this).
fn toml_escape(text: &str) -> String {
    text.replace('\\', "\\\\").replace('"', "\\\"")
}

fn check_description(text: &str) -> Result<()> {
    let reason = if text.trim().is_empty() {
        Some("it is empty")
    } else if text.chars().any(char::is_control) {
        Some("it must be one line, without control characters")
    } else if text.chars().count() > 200 {
        Some("it is over 200 characters; say more in the README")
    } else {
        None
    };
    match reason {
        Some(reason) => Err(ForkError::DescriptionText { value: text.to_owned(), reason }),
        None => Ok(()),
    }
}

/// The README's first line, its title, names the fork.
fn retitle(readme: &str, name: &str) -> String {
    let rest = readme.split_once('\n').map_or("", |(_, rest)| rest);
    format!("# {name}\n{rest}")
}

/// The files to copy, relative to `source`: what git tracks and what it would not ignore, each
/// existing in the working tree (uncommitted changes are forked as they are).
fn list_files(source: &Path) -> Result<Vec<PathBuf>> {
    let fail = |reason: String| ForkError::Git { dir: source.to_owned(), reason };
    let out = Command::new("git")
        .args(["ls-files", "-z", "--cached", "--others", "--exclude-standard"])
        .current_dir(source)
        .output()
        .map_err(|e| fail(format!("git did not run: {e}")))?;
    if !out.status.success() {
        return Err(fail(String::from_utf8_lossy(&out.stderr).trim().to_owned()));
    }
    let mut files: Vec<PathBuf> = out
        .stdout
        .split(|b| *b == 0)
        .filter(|f| !f.is_empty())
        .map(|f| PathBuf::from(String::from_utf8_lossy(f).into_owned()))
        .filter(|f| source.join(f).symlink_metadata().is_ok())
        .collect();
    files.sort();
    files.dedup();
    Ok(files)
}

/// Copies one file, keeping its permissions and modification time (an unchanged file stays
/// fresh for cargo), or recreates a symbolic link.
fn copy_file(from: &Path, to: &Path) -> Result<()> {
    if let Some(parent) = to.parent() {
        std::fs::create_dir_all(parent).map_err(io(parent))?;
    }
    let meta = from.symlink_metadata().map_err(io(from))?;
    if meta.file_type().is_symlink() {
        let target = std::fs::read_link(from).map_err(io(from))?;
        return std::os::unix::fs::symlink(target, to).map_err(io(to));
    }
    std::fs::copy(from, to).map_err(io(from))?;
    if let Ok(modified) = meta.modified() {
        let file = std::fs::File::options().write(true).open(to).map_err(io(to))?;
        file.set_modified(modified).map_err(io(to))?;
    }
    Ok(())
}

/// Makes the fork: checks everything first, so a refused fork writes nothing.
pub fn fork(request: &ForkRequest) -> Result<Forked> {
    let old = Identity {
        name: service::SERVICE_NAME.to_owned(),
        cpu: description::CPU,
        memory: description::MEMORY_MIB,
        description: service::DESCRIPTION.to_owned(),
    };
    if request.name == old.name {
        return Err(ForkError::SameName(request.name.clone()));
    }
    let new = Identity {
        name: request.name.clone(),
        cpu: request.cpu.unwrap_or(old.cpu),
        memory: request.memory.unwrap_or(old.memory),
        description: request.description.clone().unwrap_or_else(|| old.description.clone()),
    };
    check_description(&new.description)?;
    let source_lock = request.source.join("Cargo.lock");
    let lock = std::fs::read_to_string(&source_lock).map_err(io(&source_lock))?;
    let new_model = model_package(&new.name);
    if let Some(taken) = [&new.name, &new_model].into_iter().find(|n| locked_names(&lock).contains(&n.as_str())) {
        return Err(ForkError::PackageNameTaken(taken.clone()));
    }
    let model_manifest = request.source.join(MODEL_DIR).join("Cargo.toml");
    let model_text = std::fs::read_to_string(&model_manifest).map_err(io(&model_manifest))?;
    let old_model = model_name(&model_text)
        .ok_or_else(|| ForkError::TemplateChanged {
            file: "model/Cargo.toml".into(),
            expected: "name = \"...\"".into(),
        })?
        .to_owned();
    let service = description::describe()?.with_name(&new.name)?.with_task_size(new.cpu, new.memory)?;
    let snapshots = snapshots(service).map_err(ForkError::Snapshot)?;

    let source = request.source.canonicalize().map_err(io(&request.source))?;
    let destination = &request.destination;
    match std::fs::read_dir(destination) {
        Ok(mut entries) => {
            if destination.canonicalize().map_err(io(destination))? == source {
                return Err(ForkError::DestinationIsSource(destination.clone()));
            }
            if entries.next().is_some() {
                return Err(ForkError::DestinationNotEmpty(destination.clone()));
            }
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => return Err(ForkError::Io { path: destination.clone(), source: e }),
    }
    let files = list_files(&source)?;

    // Every edit is applied in memory and checked before anything is written.
    let mut changed: std::collections::BTreeMap<PathBuf, String> = Default::default();
    let renames = [manifest_edit(&old.name, &new.name)].into_iter().chain(model_edits(&old_model, &new_model));
    for edit in edits(&old, &new).into_iter().chain(renames) {
        let path = PathBuf::from(edit.file);
        let text = match changed.get(&path) {
            Some(text) => text.clone(),
            None => std::fs::read_to_string(source.join(&path)).map_err(io(&source.join(&path)))?,
        };
        let found = text.matches(&edit.find).count();
        if found == 0 || (edit.times != 0 && found != edit.times) {
            return Err(ForkError::TemplateChanged { file: edit.file.to_owned(), expected: edit.find });
        }
        changed.insert(path, text.replace(&edit.find, &edit.replace));
    }
    let readme = PathBuf::from("README.md");
    let text = changed.get(&readme).cloned().map_or_else(|| std::fs::read_to_string(source.join(&readme)), Ok);
    let text = text.map_err(io(&source.join(&readme)))?;
    changed.insert(readme, retitle(&text, &new.name));
    for (file, text) in snapshots {
        changed.insert(Path::new(SNAPSHOT_DIR).join(file), text);
    }
    let renamed = rename_locked_package(&lock, &old.name, &new.name)
        .map_err(|reason| ForkError::Lockfile { name: old.name.clone(), reason })?;
    let renamed = rename_locked_package(&renamed, &old_model, &new_model)
        .map_err(|reason| ForkError::Lockfile { name: old_model.clone(), reason })?;
    changed.insert(PathBuf::from("Cargo.lock"), renamed);

    std::fs::create_dir_all(destination).map_err(io(destination))?;
    for file in &files {
        let to = destination.join(file);
        match changed.get(file) {
            Some(text) => {
                if let Some(parent) = to.parent() {
                    std::fs::create_dir_all(parent).map_err(io(parent))?;
                }
                std::fs::write(&to, text).map_err(io(&to))?;
                let permissions = source.join(file).metadata().map_err(io(&source.join(file)))?.permissions();
                std::fs::set_permissions(&to, permissions).map_err(io(&to))?;
            }
            None => copy_file(&source.join(file), &to)?,
        }
    }
    // A repository of its own, so the fork's build IDs and its own forks work from the start.
    let init = Command::new("git").args(["init", "-q"]).current_dir(destination).output();
    match init {
        Ok(out) if out.status.success() => {}
        Ok(out) => {
            let reason = String::from_utf8_lossy(&out.stderr).trim().to_owned();
            return Err(ForkError::Git { dir: destination.clone(), reason: format!("git init: {reason}") });
        }
        Err(e) => return Err(ForkError::Io { path: destination.clone(), source: e }),
    }
    let changed: Vec<PathBuf> = changed
        .into_iter()
        .filter(|(file, text)| std::fs::read(source.join(file)).map_or(true, |old| old != text.as_bytes()))
        .map(|(file, _)| file)
        .collect();
    Ok(Forked { destination: destination.clone(), files: files.len(), changed })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn identity(name: &str) -> Identity {
        Identity { name: name.into(), cpu: 256, memory: 512, description: "Says \"hi\"".into() }
    }

    #[test]
    fn the_edits_name_the_new_service_and_nothing_of_the_old() {
        let mut new = identity("thumbnailer");
        new.cpu = 512;
        new.memory = 1024;
        new.description = "Makes thumbnails".into();
        let edits = edits(&identity("servicefull"), &new);
        assert!(edits.iter().all(|e| !e.replace.contains("servicefull")));
        assert!(edits.iter().any(|e| e.replace == "pub const SERVICE_NAME: &str = \"thumbnailer\";"));
        assert!(edits.iter().any(|e| e.replace == "pub const CPU: u32 = 512;"));
        assert!(edits.iter().any(|e| e.find == "description = \"Says \\\"hi\\\"\""));
        // An unchanged size or description is left alone.
        assert_eq!(edits.len(), 10);
        assert_eq!(super::edits(&identity("a-b"), &identity("c-d")).len(), 7);
    }

    #[test]
    fn the_model_package_is_renamed_after_the_fork_in_its_manifest_and_the_workspace_dependency() {
        let manifest = "[package]\nname = \"model\"\nversion = \"0.1.0\"\n";
        assert_eq!(model_name(manifest), Some("model"));
        let [own, dependency] = model_edits("model", &model_package("thumbnailer"));
        assert_eq!(
            (own.file, own.find.as_str(), own.replace.as_str()),
            ("model/Cargo.toml", "name = \"model\"", "name = \"thumbnailer-model\"")
        );
        assert_eq!(dependency.find, r#"model = { path = "model" }"#);
        assert_eq!(dependency.replace, r#"model = { package = "thumbnailer-model", path = "model" }"#);
        // A fork of a fork renames the fork's own.
        let [_, dependency] = model_edits("thumbnailer-model", &model_package("resizer"));
        assert_eq!(dependency.find, r#"model = { package = "thumbnailer-model", path = "model" }"#);
        assert_eq!(dependency.replace, r#"model = { package = "resizer-model", path = "model" }"#);
    }

    #[test]
    fn the_readme_title_is_the_fork_name() {
        assert_eq!(retitle("# Fargate tasks\n\ntext\n", "thumbnailer"), "# thumbnailer\n\ntext\n");
    }

    #[test]
    fn a_bad_description_is_refused_with_the_reason() {
        for (bad, reason) in [("", "empty"), ("two\nlines", "one line"), (&"x".repeat(201), "200")] {
            let err = check_description(bad).unwrap_err().to_string();
            assert!(err.contains(reason), "{bad:?}: {err}");
        }
        check_description("Makes \"thumbnails\" of C:\\images").unwrap();
    }

    #[test]
    fn a_bad_fork_is_refused_before_anything_is_written() {
        let dir = std::env::temp_dir().join(format!("fork-refused-{}", std::process::id()));
        let source = PathBuf::from(env!("CARGO_MANIFEST_DIR")).parent().unwrap().to_owned();
        let request = |name: &str, cpu, description: Option<&str>| ForkRequest {
            source: source.clone(),
            destination: dir.clone(),
            name: name.into(),
            cpu,
            memory: None,
            description: description.map(Into::into),
        };
        // Another name than this service's, whatever a fork named it.
        let other = format!("{}-fork", service::SERVICE_NAME);
        let cases = [
            (request("Bad_Name", None, None), "\"Bad_Name\""),
            (request(service::SERVICE_NAME, None, None), "own name"),
            (request(&other, Some(4096), None), "cpu 4096 with memory"),
            (request(&other, None, Some("a\nb")), "one line"),
            (request("tokio", None, None), "already the name of a package"),
            (request("provisioner", None, None), "already the name of a package"),
        ];
        for (request, needle) in cases {
            let err = fork(&request).unwrap_err().to_string();
            assert!(err.contains(needle), "{request:?}: {err}");
            assert!(!dir.exists(), "{request:?} wrote {}", dir.display());
        }
        let not_empty = request(&other, None, None);
        let err = fork(&ForkRequest { destination: source.join("service"), ..not_empty }).unwrap_err().to_string();
        assert!(err.contains("is not empty"), "{err}");
    }

    #[test]
    fn the_lock_renames_the_package_in_cargos_order() {
        let lock = "# header\nversion = 4\n\n[[package]]\nname = \"anyhow\"\nversion = \"1.0.0\"\nsource = \"registry+x\"\n\n\
            [[package]]\nname = \"base64\"\nversion = \"0.22.1\"\nsource = \"registry+x\"\n\n\
            [[package]]\nname = \"provisioner\"\nversion = \"0.1.0\"\ndependencies = [\n \"anyhow\",\n \"base64 0.22.1\",\n \"servicefull\",\n \"sha2\",\n]\n\n\
            [[package]]\nname = \"servicefull\"\nversion = \"0.1.0\"\ndependencies = [\n \"anyhow\",\n]\n\n\
            [[package]]\nname = \"sha2\"\nversion = \"0.11.0\"\nsource = \"registry+x\"\n";
        let renamed = rename_locked_package(lock, "servicefull", "a-b").unwrap();
        let names = locked_names(&renamed);
        assert_eq!(names, ["a-b", "anyhow", "base64", "provisioner", "sha2"], "{renamed}");
        assert!(
            renamed.contains("dependencies = [\n \"a-b\",\n \"anyhow\",\n \"base64 0.22.1\",\n \"sha2\",\n]"),
            "{renamed}"
        );
        assert!(renamed.ends_with("registry+x\"\n"), "{renamed}");
        let last = rename_locked_package(lock, "servicefull", "zebra").unwrap();
        assert_eq!(locked_names(&last), ["anyhow", "base64", "provisioner", "sha2", "zebra"], "{last}");
        assert!(last.contains(" \"sha2\",\n \"zebra\",\n]"), "{last}");
        assert!(
            last.ends_with("[[package]]\nname = \"zebra\"\nversion = \"0.1.0\"\ndependencies = [\n \"anyhow\",\n]\n"),
            "{last}"
        );
        // The real lock: the service's package is there once, and renaming it keeps every other line.
        let real = std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("../Cargo.lock")).unwrap();
        let forked = rename_locked_package(&real, service::PACKAGE, "thumbnailer").unwrap();
        let sorted = |text: &str| {
            let mut lines: Vec<String> = text.lines().map(|l| l.replace(service::PACKAGE, "thumbnailer")).collect();
            lines.sort();
            lines
        };
        assert_eq!(sorted(&real), sorted(&forked));
        assert!(rename_locked_package(&real, "no-such-package", "x").unwrap_err().contains("found 0"));
    }
}
