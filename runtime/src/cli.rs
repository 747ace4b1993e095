//! The root command dispatcher. A binary starts from `Root`, adds its task (`add_task`) and its own
//! subcommands with their handlers (as Sparta's `CommandLineOptions.Root.AddCommand` did), and
//! calls `run`. The root owns the global flags (log level, log format), the tokio runtime, SIGTERM
//! handling and the mapping of every outcome to an exit code.

use std::collections::BTreeMap;
use std::ffi::OsString;
use std::future::Future;
use std::pin::Pin;
use std::process::ExitCode;
use std::time::Duration;

use clap::{Arg, ArgAction, ArgMatches, Command};

use crate::exit::{CommandError, Exit};
use crate::logging::{self, LogFormat};
use crate::shutdown::{self, Shutdown, Supervised};

/// What a handler returns: a future, so handlers can be async.
pub type CommandFuture = Pin<Box<dyn Future<Output = Result<(), CommandError>> + Send>>;
type Handler = Box<dyn Fn(Invocation) -> CommandFuture>;

/// What a handler receives: its own parsed arguments and the shutdown signal.
pub struct Invocation {
    pub matches: ArgMatches,
    pub shutdown: Shutdown,
    /// How long the work has after a stop is asked for before the runtime cuts it off.
    pub grace: Duration,
}

pub struct Root {
    command: Command,
    handlers: BTreeMap<String, Handler>,
    unavailable: BTreeMap<String, String>,
    grace: Duration,
}

impl Root {
    pub fn new(name: &'static str, about: &'static str) -> Self {
        let command = Command::new(name)
            .about(about)
            .version(env!("CARGO_PKG_VERSION"))
            .subcommand_required(true)
            .arg_required_else_help(true)
            .arg(
                Arg::new("log-level")
                    .long("log-level")
                    .global(true)
                    .env("LOG_LEVEL")
                    .default_value("info")
                    .help("Log level or filter directive (error, warn, info, debug, trace)"),
            )
            .arg(
                Arg::new("log-format")
                    .long("log-format")
                    .global(true)
                    .env("LOG_FORMAT")
                    .value_parser(clap::builder::EnumValueParser::<LogFormat>::new())
                    .default_value("auto")
                    .action(ArgAction::Set)
                    .help("Log format; auto is JSON lines when stdout is not a terminal (CloudWatch)"),
            );
        Self { command, handlers: BTreeMap::new(), unavailable: BTreeMap::new(), grace: shutdown::DEFAULT_GRACE }
    }

    /// Adds a subcommand and the handler that runs it.
    pub fn add_command<F>(mut self, command: Command, handler: F) -> Self
    where
        F: Fn(Invocation) -> CommandFuture + 'static,
    {
        self.handlers.insert(command.get_name().to_owned(), Box::new(handler));
        self.command = self.command.subcommand(command);
        self
    }

    /// Adds the task subcommand `name` (the image runs `fargateTask`, [`crate::TASK_COMMAND`]) that
    /// runs `run`, an `async fn run(input: Input, context: &TaskContext) -> Result<Output, TaskError>`:
    /// the runtime decodes `TASK_INPUT` as `Input`, writes `Output` as one JSON line on stdout, and
    /// exits with the code of the outcome (see [`crate::entry`]).
    pub fn add_task<I, O, F>(self, name: &'static str, about: &'static str, run: F) -> Self
    where
        I: serde::de::DeserializeOwned + Send + 'static,
        O: serde::Serialize + Send + 'static,
        F: for<'a> crate::entry::Task<'a, I, O> + Clone + Send + Sync + 'static,
    {
        self.add_command(Command::new(name).about(about), crate::entry::handler(run))
    }

    /// Declares a subcommand this build does not have (a cargo feature left out): it is not
    /// offered, and asking for it prints `reason` instead of clap's "unrecognized subcommand".
    pub fn unavailable(mut self, name: &'static str, reason: &str) -> Self {
        self.unavailable.insert(name.to_owned(), reason.to_owned());
        // Registered hidden, taking any arguments, so clap routes it here whatever else the binary
        // offers (with no other subcommand clap would call it an "unexpected argument").
        self.command = self.command.subcommand(
            Command::new(name)
                .hide(true)
                .disable_help_flag(true)
                .arg(Arg::new("args").num_args(0..).trailing_var_arg(true).allow_hyphen_values(true)),
        );
        self
    }

    /// How long a task gets between SIGTERM and being cut off.
    pub fn grace_period(mut self, grace: Duration) -> Self {
        self.grace = grace;
        self
    }

    /// Parses the process arguments, runs the chosen subcommand, and returns its exit code.
    pub fn run(self) -> ExitCode {
        ExitCode::from(self.run_from(std::env::args_os()))
    }

    /// As `run`, with explicit arguments (the first is the program name). Returns the exit code.
    pub fn run_from<I, T>(self, args: I) -> u8
    where
        I: IntoIterator<Item = T>,
        T: Into<OsString> + Clone,
    {
        let matches = match self.command.clone().try_get_matches_from(args) {
            Ok(matches) => matches,
            Err(err) => return self.report_parse_error(err),
        };
        if let Some((asked, _)) = matches.subcommand()
            && let Some(reason) = self.unavailable.get(asked)
        {
            eprintln!("error: the subcommand '{asked}' is not available in this build: {reason}");
            return Exit::Usage.code();
        }
        let level = matches.get_one::<String>("log-level").map_or("info", String::as_str);
        let format = matches.get_one::<LogFormat>("log-format").copied().unwrap_or(LogFormat::Auto);
        if let Err(message) = logging::init(level, format) {
            eprintln!("error: {message}");
            return Exit::Usage.code();
        }
        let Some((name, sub_matches)) = matches.subcommand() else {
            eprintln!("error: no subcommand given; see --help");
            return Exit::Usage.code();
        };
        let Some(handler) = self.handlers.get(name) else {
            eprintln!("error: subcommand {name:?} has no handler");
            return Exit::Usage.code();
        };
        let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
            Ok(runtime) => runtime,
            Err(e) => {
                eprintln!("error: could not start the async runtime: {e}");
                return Exit::TaskFailed.code();
            }
        };
        let shutdown = Shutdown::new();
        let invocation = Invocation { matches: sub_matches.clone(), shutdown: shutdown.clone(), grace: self.grace };
        let work = handler(invocation);
        let grace = self.grace;
        let outcome = runtime.block_on(async {
            // Handlers first, then the work: see termination_signal.
            let signal = shutdown::termination_signal();
            shutdown::supervise(&shutdown, grace, signal, work).await
        });
        // A task may leave blocking work behind (a stuck read); do not wait for it.
        runtime.shutdown_timeout(Duration::from_millis(100));
        finish(name, outcome, grace)
    }

    fn report_parse_error(&self, err: clap::Error) -> u8 {
        let _ = err.print();
        // clap uses 0 for --help/--version and 2 for usage errors.
        u8::try_from(err.exit_code()).unwrap_or(Exit::Usage.code())
    }
}

fn finish(name: &str, outcome: Supervised<Result<(), CommandError>>, grace: Duration) -> u8 {
    match outcome {
        Supervised::Finished(Ok(())) => Exit::Success.code(),
        Supervised::Finished(Err(err)) => {
            tracing::error!(command = name, exit_code = err.exit.code(), "{}", err.message);
            // The log may be JSON for CloudWatch; the plain line on stderr is for a person.
            eprintln!("error: {}", err.message);
            err.exit.code()
        }
        Supervised::CutOff => {
            let message =
                format!("{name} did not stop within the {} s grace period after SIGTERM", grace.as_secs_f64());
            tracing::error!(command = name, exit_code = Exit::Terminated.code(), "{message}");
            eprintln!("error: {message}");
            Exit::Terminated.code()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};

    fn root_with_counter() -> (Root, Arc<AtomicUsize>) {
        let calls = Arc::new(AtomicUsize::new(0));
        let seen = calls.clone();
        let root = Root::new("demo", "a demo").add_command(
            Command::new("greet").arg(Arg::new("who").long("who").required(true)),
            move |inv: Invocation| {
                seen.fetch_add(1, Ordering::SeqCst);
                let who = inv.matches.get_one::<String>("who").cloned().unwrap_or_default();
                Box::pin(async move {
                    if who == "nobody" { Err(CommandError::task_failed("nobody to greet")) } else { Ok(()) }
                })
            },
        );
        (root, calls)
    }

    #[test]
    fn dispatches_to_the_named_subcommand() {
        let (root, calls) = root_with_counter();
        assert_eq!(root.run_from(["demo", "greet", "--who", "you"]), 0);
        assert_eq!(calls.load(Ordering::SeqCst), 1);
    }

    #[test]
    fn a_handler_error_becomes_its_exit_code() {
        let (root, _) = root_with_counter();
        assert_eq!(root.run_from(["demo", "greet", "--who", "nobody"]), Exit::TaskFailed.code());
    }

    #[test]
    fn usage_errors_exit_2_without_running_anything() {
        let (root, calls) = root_with_counter();
        assert_eq!(root.run_from(["demo", "greet"]), 2);
        let (root2, _) = root_with_counter();
        assert_eq!(root2.run_from(["demo", "wave"]), 2);
        assert_eq!(calls.load(Ordering::SeqCst), 0);
    }

    #[test]
    fn global_flags_are_accepted_after_the_subcommand() {
        let (root, calls) = root_with_counter();
        assert_eq!(root.run_from(["demo", "greet", "--who", "x", "--log-format", "json", "--log-level", "debug"]), 0);
        assert_eq!(calls.load(Ordering::SeqCst), 1);
    }

    #[test]
    fn a_bad_log_format_is_a_usage_error() {
        let (root, calls) = root_with_counter();
        assert_eq!(root.run_from(["demo", "--log-format", "xml", "greet", "--who", "x"]), 2);
        assert_eq!(calls.load(Ordering::SeqCst), 0);
    }

    #[test]
    fn an_unavailable_subcommand_is_hidden_and_explained() {
        let (root, calls) = root_with_counter();
        let root = root.unavailable("fargateTask", "rebuild with --features lambdabinary");
        let help = root.command.clone().render_help().to_string();
        assert!(!help.contains("fargateTask"), "{help}");
        assert_eq!(root.run_from(["demo", "fargateTask", "--anything", "x"]), Exit::Usage.code());
        assert_eq!(calls.load(Ordering::SeqCst), 0);
    }

    #[test]
    fn an_unavailable_subcommand_is_explained_even_when_nothing_else_is_offered() {
        let root =
            Root::new("bare", "no subcommands").unavailable("fargateTask", "rebuild with --features lambdabinary");
        assert_eq!(root.run_from(["bare", "fargateTask"]), Exit::Usage.code());
    }

    #[test]
    fn help_lists_added_subcommands_and_global_flags() {
        let (root, _) = root_with_counter();
        let help = root.command.clone().render_help().to_string();
        assert!(help.contains("greet") && help.contains("--log-level") && help.contains("--log-format"), "{help}");
    }
}
