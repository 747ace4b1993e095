//! Logging setup. On a terminal, human-readable lines; elsewhere (a container whose stdout the
//! awslogs driver ships to CloudWatch) one JSON object a line, so CloudWatch Logs Insights can query
//! the fields. Logs go to stderr: stdout belongs to the task's result.

use std::io::IsTerminal;

use clap::ValueEnum;
use tracing_subscriber::EnvFilter;

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum LogFormat {
    /// JSON when stdout is not a terminal, text when it is.
    Auto,
    Json,
    Text,
}

impl LogFormat {
    /// The format actually used, given whether stdout is a terminal.
    pub fn resolve(self, stdout_is_terminal: bool) -> LogFormat {
        match self {
            LogFormat::Auto if stdout_is_terminal => LogFormat::Text,
            LogFormat::Auto => LogFormat::Json,
            other => other,
        }
    }
}

/// Installs the global subscriber. `level` is an `EnvFilter` directive (`info`, `debug`,
/// `service=debug,info`). A second call in the same process (tests) keeps the first subscriber.
pub fn init(level: &str, format: LogFormat) -> Result<(), String> {
    let filter = EnvFilter::try_new(level).map_err(|e| {
        format!("invalid --log-level {level:?}: {e}; use a level such as error, warn, info, debug or trace")
    })?;
    let builder = tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr);
    let _ = match format.resolve(std::io::stdout().is_terminal()) {
        LogFormat::Json => builder.json().flatten_event(true).with_current_span(false).try_init(),
        _ => builder.with_ansi(std::io::stderr().is_terminal()).try_init(),
    };
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn auto_is_json_off_a_terminal_and_text_on_one() {
        assert_eq!(LogFormat::Auto.resolve(false), LogFormat::Json);
        assert_eq!(LogFormat::Auto.resolve(true), LogFormat::Text);
        assert_eq!(LogFormat::Json.resolve(true), LogFormat::Json);
        assert_eq!(LogFormat::Text.resolve(false), LogFormat::Text);
    }

    #[test]
    fn a_bad_level_names_the_value() {
        let err = init("loud=[", LogFormat::Text).unwrap_err();
        assert!(err.contains("loud=["), "{err}");
    }
}
