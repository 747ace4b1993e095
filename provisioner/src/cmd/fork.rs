//! `provisioner fork NAME DIR`: a new service from this one, in DIR, named NAME everywhere the
//! service is named (see `crate::fork`), ready to build and test.

use std::path::PathBuf;

use clap::Args;

use crate::fork::{ForkRequest, fork};
use crate::image::binary::workspace_root;

#[derive(Debug, Clone, Args)]
pub struct ForkArgs {
    /// The new service's name: lowercase letters, digits and hyphens, starting with a letter. Its
    /// binary, image repository, stack and every resource are named after it.
    #[arg(value_name = "NAME")]
    pub name: String,
    /// Where to write the fork: a new or empty directory.
    #[arg(value_name = "DIR")]
    pub dir: PathBuf,
    /// Task cpu units (256, 512, 1024, ... 16384); this service's when not given.
    #[arg(long)]
    pub cpu: Option<u32>,
    /// Task memory in MiB, a size Fargate accepts with the cpu; this service's when not given.
    #[arg(long, value_name = "MIB")]
    pub memory: Option<u32>,
    /// What the new service does, in one line (its crate description and --help text).
    #[arg(long, value_name = "TEXT")]
    pub description: Option<String>,
}

pub fn run(args: ForkArgs) -> anyhow::Result<()> {
    let request = ForkRequest {
        source: workspace_root(),
        destination: args.dir,
        name: args.name,
        cpu: args.cpu,
        memory: args.memory,
        description: args.description,
    };
    let forked = fork(&request)?;
    let changed: Vec<String> = forked.changed.iter().map(|p| p.display().to_string()).collect();
    eprintln!("forked {} files into {}; changed: {}", forked.files, forked.destination.display(), changed.join(", "));
    eprintln!(
        "next: cd {} && tools/just test   (the task body: service/src/task.rs; the description: \
         service/src/description.rs)",
        forked.destination.display()
    );
    println!("{}", forked.destination.display());
    Ok(())
}
