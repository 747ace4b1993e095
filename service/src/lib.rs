//! The sample service. This is the crate a forking user edits: the task body (`task`, built only
//! with the `lambdabinary` feature) and the binary's entry point.

/// The service's name: the binary, the image repository and every stack resource derive from it.
pub const SERVICE_NAME: &str = "servicefull";

/// What the service does, in one line: the crate's description in Cargo.toml.
pub const DESCRIPTION: &str = env!("CARGO_PKG_DESCRIPTION");

/// The service's cargo package (`cargo build -p PACKAGE`): named after the service, so a fork's
/// builds never mix with its original's, even in one target directory.
pub const PACKAGE: &str = env!("CARGO_PKG_NAME");

pub mod description;

#[cfg(feature = "lambdabinary")]
pub mod task;

/// The root command of the binary, with the task subcommand when this build has it.
pub fn root() -> runtime::Root {
    let root = runtime::Root::new(SERVICE_NAME, DESCRIPTION);
    #[cfg(feature = "lambdabinary")]
    let root = root.add_task(runtime::TASK_COMMAND, task::ABOUT, task::run);
    #[cfg(not(feature = "lambdabinary"))]
    let root = root.unavailable(
        runtime::TASK_COMMAND,
        concat!(
            "this binary was built without the cargo feature `lambdabinary`; rebuild it with `cargo build -p ",
            env!("CARGO_PKG_NAME"),
            " --features lambdabinary`"
        ),
    );
    root
}
