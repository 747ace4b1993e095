//! The platform test task's binary: the runtime's dispatcher with the task as `fargateTask`, the
//! subcommand the image's entrypoint runs.

fn main() -> std::process::ExitCode {
    platform_test_task::root().run()
}
