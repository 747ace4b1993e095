//! `provisioner describe`: writes the stack's template (`template.json`, byte for byte what
//! `provisioner template` prints with the same options) and a picture of the service
//! (`service.html`: the workflow's states and transitions and the resources each state uses,
//! drawn from that same template) into one directory, with no AWS access. Everything is rendered
//! in memory first, so a bad option fails before the directory is created or a file is touched.

use std::path::{Path, PathBuf};

use anyhow::Context;
use clap::Args;
use model::template::Template;

use crate::diagram::{layout, service, svg};
use crate::template::{self, Format, ServiceOptions, TemplateArgs};

pub const TEMPLATE_FILE: &str = "template.json";
pub const PICTURE_FILE: &str = "service.html";

#[derive(Debug, Clone, Args)]
pub struct DescribeArgs {
    /// The directory to write into, created if missing [default: target/describe in the workspace,
    /// or in the current directory outside one].
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,
    /// The image the task runs (what `provisioner push` printed). Without it, the ImageUri
    /// parameter defaults to a marked placeholder that cannot be pulled.
    #[arg(long, value_name = "URI")]
    pub image: Option<String>,
    #[command(flatten)]
    pub service: ServiceOptions,
}

impl DescribeArgs {
    /// The `provisioner template` options that give the same template, as JSON.
    pub fn template_args(&self) -> TemplateArgs {
        TemplateArgs { format: Format::Json, image: self.image.clone(), service: self.service.clone() }
    }

    /// `--out`, or `target/describe` under the workspace (or the current directory).
    pub fn out_dir(&self) -> anyhow::Result<PathBuf> {
        if let Some(out) = &self.out {
            return Ok(out.clone());
        }
        let here = std::env::current_dir().context("could not read the current directory; pass --out")?;
        let root = crate::workspace::find_root(&here).unwrap_or(here);
        Ok(root.join("target").join("describe"))
    }
}

/// The files `describe` writes, rendered.
pub struct Description {
    /// Exactly what `provisioner template` prints.
    pub template: String,
    pub page: String,
    pub placeholder_image: Option<String>,
}

/// Renders the template and the picture of it, or says why they cannot be.
pub fn describe(args: &DescribeArgs) -> anyhow::Result<Description> {
    let rendered = template::render(&args.template_args())?;
    // What `template` prints: the text and, when it lacks one, a final newline.
    let mut text = rendered.text;
    if !text.ends_with('\n') {
        text.push('\n');
    }
    // The picture is drawn from the text just rendered, so it shows exactly the file beside it.
    let parsed = Template::from_json(&text).context("reading back the rendered template")?;
    let diagram = service::diagram(&parsed);
    let placed = layout::layout(&diagram)?;

    let name = match &args.service.service_name {
        Some(name) => name.clone(),
        None => ::service::description::describe()
            .context("the service description in service/src/description.rs")?
            .name()
            .to_owned(),
    };
    let mut notes = Vec::new();
    if let Some(description) = parsed.description() {
        notes.push(description.to_owned());
    }
    for (id, parameter) in parsed.parameters() {
        if let Some(default) = &parameter.default {
            notes.push(format!("Parameter {id} defaults to {}", crate::diagram::brief(default)));
        }
    }
    notes.push(format!(
        "Drawn by `provisioner describe` from {TEMPLATE_FILE} beside this file ({} resources); nothing was read from AWS.",
        parsed.resources().len()
    ));
    let title = format!("{name}: workflow and resources");
    let page = svg::page(&diagram, &placed, &svg::Page { title: &title, notes: &notes });
    Ok(Description { template: text, page, placeholder_image: rendered.placeholder_image })
}

/// Writes `contents` to `path` through a temporary file beside it, so a reader (or a failure
/// halfway) never sees half a file.
fn write_whole(path: &Path, contents: &str) -> anyhow::Result<()> {
    let partial = path.with_extension("partial");
    std::fs::write(&partial, contents).with_context(|| format!("could not write {}", partial.display()))?;
    std::fs::rename(&partial, path)
        .with_context(|| format!("could not move {} to {}", partial.display(), path.display()))
}

/// Runs `provisioner describe`: renders everything, then writes it and prints the paths.
pub fn run(args: DescribeArgs) -> anyhow::Result<()> {
    let out = args.out_dir()?;
    if out.exists() && !out.is_dir() {
        anyhow::bail!("--out {} is not a directory; pass a directory (it is created if missing)", out.display());
    }
    let description = describe(&args)?;
    if let Some(uri) = &description.placeholder_image {
        eprintln!(
            "note: no --image given: the ImageUri parameter defaults to the placeholder {uri}, which cannot be pulled. \
             Pass --image with the URI `provisioner push` printed, or set ImageUri when deploying."
        );
    }
    std::fs::create_dir_all(&out).with_context(|| format!("could not create the directory {}", out.display()))?;
    let template_path = out.join(TEMPLATE_FILE);
    let page_path = out.join(PICTURE_FILE);
    write_whole(&template_path, &description.template)?;
    write_whole(&page_path, &description.page)?;
    println!("{}", template_path.display());
    println!("{}", page_path.display());
    Ok(())
}
