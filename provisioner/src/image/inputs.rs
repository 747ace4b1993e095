//! The image's contents, described once for both builders: which files land where, with which
//! mode, and the entrypoint, user and environment. The Docker builder sends them as a build
//! context for the repository's Dockerfile; the OCI builder writes them as a layer. A test keeps
//! the Dockerfile and these constants in step.

use std::path::{Path, PathBuf};

use super::{ImageError, Result};

/// Where the task binary lives in the image: fixed, so a fork that renames its binary keeps it.
pub const BINARY_IN_IMAGE: &str = "/usr/local/bin/task";
pub const ENTRYPOINT: [&str; 2] = [BINARY_IN_IMAGE, "fargateTask"];
/// The non-root user (and group) the task runs as; named `task` in the image's /etc/passwd.
pub const USER: &str = "10001:10001";
pub const ENV: [&str; 1] = ["SSL_CERT_FILE=/etc/ssl/certs/ca-certificates.crt"];
/// Debian's CA bundle, copied into the image.
pub const DEFAULT_CA_CERTIFICATES: &str = "/etc/ssl/certs/ca-certificates.crt";

/// A directory the image needs beyond the files' parents: its path and mode.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ImageDir {
    pub in_image: &'static str,
    pub mode: u32,
}

/// A FROM-scratch image has no /tmp, and the non-root task user could not create one: tasks that
/// write temporary files (ffmpeg's kind) need it world-writable with the sticky bit.
pub const DIRECTORIES: [ImageDir; 1] = [ImageDir { in_image: "/tmp", mode: 0o1777 }];

/// The Docker build context's archive of DIRECTORIES: `ADD` unpacks a local tar keeping its modes,
/// which `COPY` of a directory (created 0755 by the classic builder) does not.
pub const DIRECTORIES_TAR: &str = "directories.tar";

/// One file of the image: its path inside the image, where it comes from, and its mode.
#[derive(Debug, Clone)]
pub struct ImageFile {
    pub in_image: &'static str,
    /// Its name in the Docker build context.
    pub in_context: &'static str,
    pub source: PathBuf,
    pub mode: u32,
}

/// The files and the Dockerfile one image is made of.
#[derive(Debug, Clone)]
pub struct ImageInputs {
    pub dockerfile: PathBuf,
    pub binary: PathBuf,
    pub ca_certificates: PathBuf,
    pub passwd: PathBuf,
    pub group: PathBuf,
}

impl ImageInputs {
    /// The repository's Dockerfile and docker/ files, with the given binary and CA bundle.
    pub fn new(workspace: &Path, binary: PathBuf, ca_certificates: PathBuf) -> Self {
        Self {
            dockerfile: workspace.join("Dockerfile"),
            binary,
            ca_certificates,
            passwd: workspace.join("docker/passwd"),
            group: workspace.join("docker/group"),
        }
    }

    /// Every file of the image, sorted by path in the image.
    pub fn files(&self) -> Vec<ImageFile> {
        let mut files = vec![
            ImageFile { in_image: "/etc/group", in_context: "group", source: self.group.clone(), mode: 0o644 },
            ImageFile { in_image: "/etc/passwd", in_context: "passwd", source: self.passwd.clone(), mode: 0o644 },
            ImageFile {
                in_image: "/etc/ssl/certs/ca-certificates.crt",
                in_context: "ca-certificates.crt",
                source: self.ca_certificates.clone(),
                mode: 0o644,
            },
            ImageFile { in_image: BINARY_IN_IMAGE, in_context: "task", source: self.binary.clone(), mode: 0o755 },
        ];
        files.sort_by_key(|f| f.in_image);
        files
    }

    /// The files of our layer: all of them alone, only the binary on a base image (whose own
    /// /etc/passwd and CA bundle must not be replaced; the numeric USER needs no passwd entry).
    pub fn files_for(&self, on_base: bool) -> Vec<ImageFile> {
        let mut files = self.files();
        if on_base {
            files.retain(|f| f.in_image == BINARY_IN_IMAGE);
        }
        files
    }

    /// Fails early, naming the missing file and how to get it.
    pub fn check(&self) -> Result<()> {
        if !self.ca_certificates.is_file() {
            return Err(ImageError::MissingCaCertificates { path: self.ca_certificates.clone() });
        }
        for path in [&self.dockerfile, &self.binary, &self.passwd, &self.group] {
            if !path.is_file() {
                return Err(ImageError::Read {
                    path: path.clone(),
                    source: std::io::Error::new(std::io::ErrorKind::NotFound, "no such file"),
                });
            }
        }
        Ok(())
    }

    /// The Docker build context: the Dockerfile and each file under its context name.
    pub fn docker_context(&self) -> Result<Vec<u8>> {
        let mut builder = tar::Builder::new(Vec::new());
        let mut add = |name: &str, data: &[u8], mode: u32| -> Result<()> {
            let mut header = tar::Header::new_gnu();
            header.set_size(data.len() as u64);
            header.set_mode(mode);
            header.set_mtime(0);
            header.set_cksum();
            builder
                .append_data(&mut header, name, data)
                .map_err(|source| ImageError::Write { path: PathBuf::from(name), source })
        };
        add("Dockerfile", &read(&self.dockerfile)?, 0o644)?;
        for file in self.files() {
            add(file.in_context, &read(&file.source)?, file.mode)?;
        }
        add(DIRECTORIES_TAR, &directories_tar()?, 0o644)?;
        builder.into_inner().map_err(|source| ImageError::Write { path: PathBuf::from("build context"), source })
    }
}

/// The Docker context's `directories.tar`: DIRECTORIES as tar entries, with their modes.
pub fn directories_tar() -> Result<Vec<u8>> {
    super::oci::layer_tar(&[], &DIRECTORIES)
}

pub fn read(path: &Path) -> Result<Vec<u8>> {
    std::fs::read(path).map_err(|source| ImageError::Read { path: path.to_owned(), source })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn workspace() -> PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap().to_owned()
    }

    /// The OCI builder writes the filesystem and config these constants describe; the Docker builder
    /// follows the Dockerfile. If they drift apart, the two builders make different images.
    #[test]
    fn the_dockerfile_and_the_oci_builder_describe_the_same_image() {
        let dockerfile = std::fs::read_to_string(workspace().join("Dockerfile")).unwrap();
        let instructions: Vec<&str> =
            dockerfile.lines().map(str::trim).filter(|l| !l.is_empty() && !l.starts_with('#')).collect();
        let entrypoint = format!("ENTRYPOINT {}", serde_json::to_string(&ENTRYPOINT).unwrap().replace(',', ", "));
        assert!(instructions.contains(&entrypoint.as_str()), "Dockerfile lacks `{entrypoint}`");
        assert!(instructions.contains(&format!("USER {USER}").as_str()), "Dockerfile lacks USER {USER}");
        for env in ENV {
            assert!(instructions.contains(&format!("ENV {env}").as_str()), "Dockerfile lacks ENV {env}");
        }
        assert_eq!(instructions.first(), Some(&"FROM scratch"));
        let inputs = ImageInputs::new(&workspace(), PathBuf::from("bin"), PathBuf::from("ca"));
        let copies: Vec<&str> = instructions.iter().filter(|l| l.starts_with("COPY ")).copied().collect();
        assert_eq!(copies.len(), inputs.files().len(), "{copies:?}");
        for file in inputs.files() {
            let source = if file.in_image == BINARY_IN_IMAGE { "${TASK_BINARY}" } else { file.in_context };
            let copy = format!("COPY {source} {}", file.in_image);
            assert!(copies.contains(&copy.as_str()), "Dockerfile lacks `{copy}`: {copies:?}");
        }
        assert!(instructions.contains(&"ARG TASK_BINARY=task"), "the binary's context name is `task`");
        let add = format!("ADD {DIRECTORIES_TAR} /");
        assert!(instructions.contains(&add.as_str()), "Dockerfile lacks `{add}` (the image's directories)");
    }

    #[test]
    fn a_missing_ca_bundle_names_the_path_and_the_package() {
        let inputs =
            ImageInputs::new(&workspace(), PathBuf::from("/nonexistent/bin"), PathBuf::from("/nonexistent/ca.crt"));
        let err = inputs.check().unwrap_err().to_string();
        assert!(err.contains("/nonexistent/ca.crt") && err.contains("apt-get install -y ca-certificates"), "{err}");
    }

    #[test]
    fn the_build_context_holds_the_dockerfile_and_every_file() {
        let dir = std::env::temp_dir().join(format!("inputs-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let bin = dir.join("bin");
        let ca = dir.join("ca");
        std::fs::write(&bin, b"binary").unwrap();
        std::fs::write(&ca, b"certs").unwrap();
        let inputs = ImageInputs::new(&workspace(), bin, ca);
        inputs.check().unwrap();
        let tar = inputs.docker_context().unwrap();
        let mut archive = tar::Archive::new(tar.as_slice());
        let mut names: Vec<(String, u32)> = archive
            .entries()
            .unwrap()
            .map(|e| {
                let e = e.unwrap();
                (e.path().unwrap().display().to_string(), e.header().mode().unwrap())
            })
            .collect();
        names.sort();
        assert_eq!(
            names,
            vec![
                ("Dockerfile".to_owned(), 0o644),
                ("ca-certificates.crt".to_owned(), 0o644),
                ("directories.tar".to_owned(), 0o644),
                ("group".to_owned(), 0o644),
                ("passwd".to_owned(), 0o644),
                ("task".to_owned(), 0o755),
            ]
        );
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
