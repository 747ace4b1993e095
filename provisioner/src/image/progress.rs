//! Progress on long work: a spinner and byte bars on a terminal (indicatif), plain lines on
//! stderr when stderr is not a terminal, nothing with `--json` (stdout then carries one summary).

use std::io::IsTerminal;
use std::sync::Mutex;
use std::time::Duration;

use indicatif::{ProgressBar, ProgressStyle};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    Terminal,
    Plain,
    Quiet,
}

pub struct Progress {
    mode: Mode,
    current: Mutex<Option<ProgressBar>>,
}

impl Progress {
    pub fn new(mode: Mode) -> Self {
        Self { mode, current: Mutex::new(None) }
    }

    /// Quiet for `--json`, else a terminal display when stderr is one, else plain lines.
    pub fn auto(json: bool) -> Self {
        let mode = if json {
            Mode::Quiet
        } else if std::io::stderr().is_terminal() {
            Mode::Terminal
        } else {
            Mode::Plain
        };
        Self::new(mode)
    }

    pub fn quiet() -> Self {
        Self::new(Mode::Quiet)
    }

    /// Starts a phase of the work.
    pub fn step(&self, message: &str) {
        self.finish_current();
        match self.mode {
            Mode::Terminal => {
                // The title stays on screen; the spinner below it shows the latest detail line.
                eprintln!("==> {message}");
                let bar = ProgressBar::new_spinner();
                bar.set_style(
                    ProgressStyle::with_template("    {spinner} {wide_msg}")
                        .unwrap_or_else(|_| ProgressStyle::default_spinner()),
                );
                bar.enable_steady_tick(Duration::from_millis(120));
                self.set_current(bar);
            }
            Mode::Plain => eprintln!("==> {message}"),
            Mode::Quiet => {}
        }
    }

    /// A line of detail within the current phase (compiler or docker build output).
    pub fn detail(&self, line: &str) {
        match self.mode {
            Mode::Terminal => {
                if let Some(bar) = self.current.lock().ok().and_then(|c| c.clone()) {
                    bar.set_message(line.trim().to_owned());
                }
            }
            Mode::Plain => eprintln!("    {}", line.trim_end()),
            Mode::Quiet => {}
        }
    }

    /// A line that stays (a stack event): above the spinner on a terminal, a plain line elsewhere.
    pub fn line(&self, line: &str) {
        match self.mode {
            Mode::Terminal => match self.current.lock().ok().and_then(|c| c.clone()) {
                Some(bar) => bar.println(format!("    {line}")),
                None => eprintln!("    {line}"),
            },
            Mode::Plain => eprintln!("    {line}"),
            Mode::Quiet => {}
        }
    }

    /// A byte-counting bar for an upload of `total` bytes.
    pub fn bytes(&self, message: &str, total: u64) -> Bytes {
        self.finish_current();
        match self.mode {
            Mode::Terminal => {
                eprintln!("==> {message}");
                let bar = ProgressBar::new(total);
                bar.set_style(
                    ProgressStyle::with_template("    [{bar:30}] {bytes}/{total_bytes} {bytes_per_sec} {wide_msg}")
                        .unwrap_or_else(|_| ProgressStyle::default_bar())
                        .progress_chars("=> "),
                );
                self.set_current(bar.clone());
                Bytes(Some(bar))
            }
            Mode::Plain => {
                eprintln!("==> {message} ({})", human_bytes(total));
                Bytes(None)
            }
            Mode::Quiet => Bytes(None),
        }
    }

    /// Ends the current phase with a closing line.
    pub fn done(&self, message: &str) {
        self.finish_current();
        match self.mode {
            Mode::Terminal | Mode::Plain => eprintln!("    {message}"),
            Mode::Quiet => {}
        }
    }

    fn set_current(&self, bar: ProgressBar) {
        if let Ok(mut current) = self.current.lock() {
            *current = Some(bar);
        }
    }

    fn finish_current(&self) {
        if let Some(bar) = self.current.lock().ok().and_then(|mut c| c.take()) {
            bar.finish_and_clear();
        }
    }
}

impl Drop for Progress {
    fn drop(&mut self) {
        self.finish_current();
    }
}

/// A handle on a byte bar; inert when there is no terminal.
pub struct Bytes(Option<ProgressBar>);

impl Bytes {
    pub fn inc(&self, n: u64) {
        if let Some(bar) = &self.0 {
            bar.inc(n);
        }
    }

    pub fn note(&self, message: &str) {
        if let Some(bar) = &self.0 {
            bar.set_message(message.to_owned());
        }
    }
}

pub fn human_bytes(n: u64) -> String {
    const UNITS: [&str; 4] = ["B", "KiB", "MiB", "GiB"];
    let mut value = n as f64;
    let mut unit = 0;
    while value >= 1024.0 && unit + 1 < UNITS.len() {
        value /= 1024.0;
        unit += 1;
    }
    if unit == 0 { format!("{n} B") } else { format!("{value:.1} {}", UNITS[unit]) }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bytes_are_shown_in_binary_units() {
        assert_eq!(human_bytes(512), "512 B");
        assert_eq!(human_bytes(2048), "2.0 KiB");
        assert_eq!(human_bytes(3 * 1024 * 1024 + 512 * 1024), "3.5 MiB");
    }
}
