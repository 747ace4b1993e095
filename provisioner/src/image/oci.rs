//! The daemonless builder, the way ko and jib build images: one gzip layer holding the image's
//! files, written deterministically (sorted entries, fixed timestamps, owners and modes, a fixed
//! gzip header), an OCI config and manifest serialised with a fixed key order. The same inputs
//! give the same digest every time. Optionally the layer goes on top of a base image read from a
//! registry (for tasks that need ffmpeg or another native tool), whose layers stay in the registry
//! and are mounted or copied at push time.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::Path;

use flate2::{Compression, GzBuilder};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use super::inputs::{self, ENTRYPOINT, ENV, ImageDir, ImageFile, USER};
use super::reference::ImageRef;
use super::{ImageError, Result};

pub const MANIFEST_MEDIA_TYPE: &str = "application/vnd.oci.image.manifest.v1+json";
pub const CONFIG_MEDIA_TYPE: &str = "application/vnd.oci.image.config.v1+json";
pub const LAYER_MEDIA_TYPE: &str = "application/vnd.oci.image.layer.v1.tar+gzip";

/// A content descriptor, as in an OCI manifest.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Descriptor {
    #[serde(rename = "mediaType")]
    pub media_type: String,
    pub digest: String,
    pub size: u64,
}

#[derive(Serialize)]
struct Manifest<'a> {
    #[serde(rename = "schemaVersion")]
    schema_version: u32,
    #[serde(rename = "mediaType")]
    media_type: &'static str,
    config: &'a Descriptor,
    layers: &'a [Descriptor],
}

/// A base image to build on: where it is, its layers, and its config document.
#[derive(Debug, Clone)]
pub struct BaseImage {
    pub reference: ImageRef,
    pub layers: Vec<Descriptor>,
    pub config: Value,
}

/// A built image: the blobs we made (our layer and the config) in memory, the base's layers by
/// reference, and the manifest bytes whose digest names the image.
#[derive(Debug, Clone)]
pub struct OciImage {
    pub manifest: Vec<u8>,
    pub manifest_digest: String,
    pub config: Descriptor,
    pub config_data: Vec<u8>,
    /// Every layer, base layers first, ours last.
    pub layers: Vec<Descriptor>,
    pub layer_data: Vec<u8>,
    pub base: Option<BaseImage>,
}

impl OciImage {
    /// Total compressed size: what a registry stores and a pull downloads.
    pub fn compressed_size(&self) -> u64 {
        self.config.size + self.layers.iter().map(|l| l.size).sum::<u64>() + self.manifest.len() as u64
    }

    /// Our own layer (the last one).
    pub fn own_layer(&self) -> Option<&Descriptor> {
        self.layers.last()
    }
}

pub fn sha256(data: &[u8]) -> String {
    format!("sha256:{}", hex::encode(Sha256::digest(data)))
}

/// The uncompressed layer tar, deterministic: parents before children, sorted, owned by root,
/// mtime 0, no user or group names. Parent directories are 0755; `dirs` adds (or sets the mode of)
/// directories of their own.
pub fn layer_tar(files: &[ImageFile], dirs: &[ImageDir]) -> Result<Vec<u8>> {
    let mut modes: BTreeMap<String, u32> = BTreeMap::new();
    let paths = files.iter().map(|f| f.in_image).chain(dirs.iter().map(|d| d.in_image));
    for path in paths {
        let path = path.trim_start_matches('/');
        let mut prefix = String::new();
        for part in path.split('/').collect::<Vec<_>>().iter().rev().skip(1).rev() {
            prefix.push_str(part);
            prefix.push('/');
            modes.entry(prefix.clone()).or_insert(0o755);
        }
    }
    for dir in dirs {
        modes.insert(format!("{}/", dir.in_image.trim_matches('/')), dir.mode);
    }
    enum Entry<'a> {
        Dir(u32),
        File(&'a ImageFile),
    }
    let mut entries: Vec<(String, Entry)> = modes.into_iter().map(|(d, mode)| (d, Entry::Dir(mode))).collect();
    entries.extend(files.iter().map(|f| (f.in_image.trim_start_matches('/').to_owned(), Entry::File(f))));
    entries.sort_by(|a, b| a.0.cmp(&b.0));

    let mut builder = tar::Builder::new(Vec::new());
    for (path, entry) in entries {
        let mut header = tar::Header::new_ustar();
        header.set_uid(0);
        header.set_gid(0);
        header.set_mtime(0);
        let written = match entry {
            Entry::Dir(mode) => {
                header.set_entry_type(tar::EntryType::Directory);
                header.set_mode(mode);
                header.set_size(0);
                header.set_cksum();
                builder.append_data(&mut header, &path, std::io::empty())
            }
            Entry::File(file) => {
                let data = inputs::read(&file.source)?;
                header.set_entry_type(tar::EntryType::Regular);
                header.set_mode(file.mode);
                header.set_size(data.len() as u64);
                header.set_cksum();
                builder.append_data(&mut header, &path, data.as_slice())
            }
        };
        written.map_err(|source| ImageError::Write { path: path.into(), source })?;
    }
    builder.into_inner().map_err(|source| ImageError::Write { path: "layer".into(), source })
}

/// Gzip with a fixed header (no name, mtime 0), so equal input gives equal bytes.
pub fn gzip(data: &[u8]) -> Result<Vec<u8>> {
    let mut encoder = GzBuilder::new().mtime(0).write(Vec::with_capacity(data.len() / 2), Compression::default());
    encoder
        .write_all(data)
        .and_then(|_| encoder.finish())
        .map_err(|source| ImageError::Write { path: "layer.tar.gz".into(), source })
}

/// Builds the image from `files` and `dirs`, alone or on top of `base`.
pub fn build(files: &[ImageFile], dirs: &[ImageDir], base: Option<BaseImage>) -> Result<OciImage> {
    let tar = layer_tar(files, dirs)?;
    let diff_id = sha256(&tar);
    let layer_data = gzip(&tar)?;
    let own = Descriptor {
        media_type: LAYER_MEDIA_TYPE.to_owned(),
        digest: sha256(&layer_data),
        size: layer_data.len() as u64,
    };

    let config_doc = match &base {
        None => json!({
            "architecture": "amd64",
            "os": "linux",
            "config": { "Entrypoint": ENTRYPOINT, "Env": ENV, "User": USER, "WorkingDir": "/" },
            "rootfs": { "type": "layers", "diff_ids": [diff_id] },
            "history": [ { "created_by": "provisioner build --builder oci" } ],
        }),
        Some(base) => on_top_of(&base.config, &diff_id)?,
    };
    // serde_json's map is ordered by key, so this serialisation is stable.
    let config_data = serde_json::to_vec(&config_doc)
        .map_err(|e| ImageError::BaseImage { reference: "config".into(), detail: e.to_string() })?;
    let config = Descriptor {
        media_type: CONFIG_MEDIA_TYPE.to_owned(),
        digest: sha256(&config_data),
        size: config_data.len() as u64,
    };

    let mut layers: Vec<Descriptor> = base.as_ref().map(|b| b.layers.clone()).unwrap_or_default();
    layers.push(own);
    let manifest = serde_json::to_vec(&Manifest {
        schema_version: 2,
        media_type: MANIFEST_MEDIA_TYPE,
        config: &config,
        layers: &layers,
    })
    .map_err(|e| ImageError::Write { path: "manifest".into(), source: std::io::Error::other(e) })?;
    Ok(OciImage { manifest_digest: sha256(&manifest), manifest, config, config_data, layers, layer_data, base })
}

/// The base's config with our layer appended and our entrypoint and user in force. The base's
/// Cmd is dropped: it would otherwise be appended to our entrypoint as arguments.
fn on_top_of(base: &Value, diff_id: &str) -> Result<Value> {
    let mut doc = base.clone();
    let bad = |detail: &str| ImageError::BaseImage { reference: "config".into(), detail: detail.to_owned() };
    let os = doc.get("os").and_then(Value::as_str).unwrap_or("");
    let arch = doc.get("architecture").and_then(Value::as_str).unwrap_or("");
    if os != "linux" || arch != "amd64" {
        return Err(bad(&format!("it is {os}/{arch}; Fargate runs this task as linux/amd64, use a linux/amd64 base")));
    }
    let diff_ids = doc
        .pointer_mut("/rootfs/diff_ids")
        .and_then(Value::as_array_mut)
        .ok_or_else(|| bad("its config has no rootfs.diff_ids"))?;
    diff_ids.push(json!(diff_id));
    let object = doc.as_object_mut().ok_or_else(|| bad("its config is not a JSON object"))?;
    let config = object.entry("config").or_insert_with(|| json!({}));
    let config = config.as_object_mut().ok_or_else(|| bad("its config.config is not an object"))?;
    config.insert("Entrypoint".into(), json!(ENTRYPOINT));
    config.insert("User".into(), json!(USER));
    config.remove("Cmd");
    let env = config.entry("Env").or_insert_with(|| json!([]));
    if let Some(env) = env.as_array_mut() {
        for var in ENV {
            let name = var.split('=').next().unwrap_or(var);
            env.retain(|e| e.as_str().is_none_or(|s| !s.starts_with(&format!("{name}="))));
            env.push(json!(var));
        }
    }
    if let Some(history) = object.get_mut("history").and_then(Value::as_array_mut) {
        history.push(json!({ "created_by": "provisioner build --builder oci (task layer)" }));
    }
    Ok(doc)
}

/// Writes the image as an OCI image layout (our blobs; a base's layers stay in its registry).
pub fn write_layout(image: &OciImage, dir: &Path, tag: &str) -> Result<()> {
    let write = |path: &Path, data: &[u8]| -> Result<()> {
        std::fs::write(path, data).map_err(|source| ImageError::Write { path: path.to_owned(), source })
    };
    let blobs = dir.join("blobs/sha256");
    std::fs::create_dir_all(&blobs).map_err(|source| ImageError::Write { path: blobs.clone(), source })?;
    let blob_path = |digest: &str| blobs.join(digest.trim_start_matches("sha256:"));
    write(&blob_path(&image.manifest_digest), &image.manifest)?;
    write(&blob_path(&image.config.digest), &image.config_data)?;
    if let Some(own) = image.own_layer() {
        write(&blob_path(&own.digest), &image.layer_data)?;
    }
    write(&dir.join("oci-layout"), br#"{"imageLayoutVersion":"1.0.0"}"#)?;
    let index = json!({
        "schemaVersion": 2,
        "manifests": [{
            "mediaType": MANIFEST_MEDIA_TYPE,
            "digest": image.manifest_digest,
            "size": image.manifest.len(),
            "annotations": { "org.opencontainers.image.ref.name": tag },
        }],
    });
    write(&dir.join("index.json"), index.to_string().as_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::image::inputs::DIRECTORIES;
    use std::path::PathBuf;

    fn files(dir: &Path, binary: &[u8]) -> Vec<ImageFile> {
        std::fs::create_dir_all(dir).unwrap();
        let bin = dir.join("bin");
        let ca = dir.join("ca");
        std::fs::write(&bin, binary).unwrap();
        std::fs::write(&ca, b"-----BEGIN CERTIFICATE-----\n").unwrap();
        let workspace = Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap();
        super::super::inputs::ImageInputs::new(workspace, bin, ca).files()
    }

    fn temp(name: &str) -> PathBuf {
        std::env::temp_dir().join(format!("oci-{name}-{}", std::process::id()))
    }

    #[test]
    fn the_same_inputs_give_the_same_digest() {
        let a = build(&files(&temp("a"), b"\x7fELF same"), &DIRECTORIES, None).unwrap();
        // Different directory, different file mtimes: the digest must not care.
        std::thread::sleep(std::time::Duration::from_millis(10));
        let b = build(&files(&temp("b"), b"\x7fELF same"), &DIRECTORIES, None).unwrap();
        assert_eq!(a.manifest_digest, b.manifest_digest);
        assert_eq!(a.layer_data, b.layer_data);
        let c = build(&files(&temp("c"), b"\x7fELF other"), &DIRECTORIES, None).unwrap();
        assert_ne!(a.manifest_digest, c.manifest_digest);
        for name in ["a", "b", "c"] {
            let _ = std::fs::remove_dir_all(temp(name));
        }
    }

    #[test]
    fn the_layer_holds_sorted_root_owned_entries_with_fixed_times() {
        let dir = temp("layer");
        let tar = layer_tar(&files(&dir, b"bin"), &DIRECTORIES).unwrap();
        let mut archive = tar::Archive::new(tar.as_slice());
        let entries: Vec<(String, u32, u64, u64)> = archive
            .entries()
            .unwrap()
            .map(|e| {
                let e = e.unwrap();
                let h = e.header();
                (e.path().unwrap().display().to_string(), h.mode().unwrap(), h.uid().unwrap(), h.mtime().unwrap())
            })
            .collect();
        let paths: Vec<&str> = entries.iter().map(|e| e.0.as_str()).collect();
        assert_eq!(
            paths,
            [
                "etc/",
                "etc/group",
                "etc/passwd",
                "etc/ssl/",
                "etc/ssl/certs/",
                "etc/ssl/certs/ca-certificates.crt",
                "tmp/",
                "usr/",
                "usr/local/",
                "usr/local/bin/",
                "usr/local/bin/task",
            ]
        );
        assert!(entries.iter().all(|e| e.2 == 0 && e.3 == 0), "{entries:?}");
        assert_eq!(entries.iter().find(|e| e.0 == "usr/local/bin/task").unwrap().1, 0o755);
        assert_eq!(entries.iter().find(|e| e.0 == "tmp/").unwrap().1, 0o1777, "/tmp is world-writable, sticky");
        let _ = std::fs::remove_dir_all(dir);
    }

    #[test]
    fn the_config_starts_the_task_as_the_non_root_user() {
        let dir = temp("config");
        let image = build(&files(&dir, b"bin"), &DIRECTORIES, None).unwrap();
        let config: Value = serde_json::from_slice(&image.config_data).unwrap();
        assert_eq!(config["config"]["Entrypoint"], json!(["/usr/local/bin/task", "fargateTask"]));
        assert_eq!(config["config"]["User"], "10001:10001");
        assert_eq!(config["rootfs"]["diff_ids"].as_array().unwrap().len(), 1);
        let manifest: Value = serde_json::from_slice(&image.manifest).unwrap();
        assert_eq!(manifest["config"]["digest"], image.config.digest);
        assert_eq!(manifest["layers"][0]["mediaType"], LAYER_MEDIA_TYPE);
        assert_eq!(image.manifest_digest, sha256(&image.manifest));
        let _ = std::fs::remove_dir_all(dir);
    }

    #[test]
    fn on_a_base_our_layer_goes_last_and_the_base_cmd_is_dropped() {
        let dir = temp("base");
        let base = BaseImage {
            reference: ImageRef::parse("127.0.0.1:5000/ffmpeg:1").unwrap(),
            layers: vec![Descriptor { media_type: LAYER_MEDIA_TYPE.into(), digest: "sha256:aa".into(), size: 10 }],
            config: json!({
                "architecture": "amd64", "os": "linux",
                "config": { "Cmd": ["/bin/sh"], "Env": ["PATH=/usr/bin", "SSL_CERT_FILE=/old"] },
                "rootfs": { "type": "layers", "diff_ids": ["sha256:base"] },
                "history": [ { "created_by": "base" } ],
            }),
        };
        let image = build(&files(&dir, b"bin"), &[], Some(base)).unwrap();
        let config: Value = serde_json::from_slice(&image.config_data).unwrap();
        assert_eq!(config["rootfs"]["diff_ids"].as_array().unwrap().len(), 2);
        assert_eq!(config["rootfs"]["diff_ids"][0], "sha256:base");
        assert!(config["config"].get("Cmd").is_none());
        assert_eq!(
            config["config"]["Env"],
            json!(["PATH=/usr/bin", "SSL_CERT_FILE=/etc/ssl/certs/ca-certificates.crt"])
        );
        assert_eq!(image.layers.len(), 2);
        assert_eq!(image.layers[0].digest, "sha256:aa");
        assert_eq!(config["history"].as_array().unwrap().len(), 2);
        let _ = std::fs::remove_dir_all(dir);
    }

    #[test]
    fn a_base_for_another_platform_is_refused_with_the_reason() {
        let base = BaseImage {
            reference: ImageRef::parse("127.0.0.1:5000/arm:1").unwrap(),
            layers: vec![],
            config: json!({ "architecture": "arm64", "os": "linux", "rootfs": { "diff_ids": [] } }),
        };
        let dir = temp("arm");
        let err = build(&files(&dir, b"bin"), &[], Some(base)).unwrap_err().to_string();
        assert!(err.contains("linux/arm64") && err.contains("linux/amd64"), "{err}");
        let _ = std::fs::remove_dir_all(dir);
    }
}
