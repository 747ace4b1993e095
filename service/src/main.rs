//! The servicefull binary: the runtime's dispatcher with this service's subcommands.

fn main() -> std::process::ExitCode {
    service::root().run()
}
