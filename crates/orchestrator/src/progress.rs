//! Progress on stderr while apply and destroy run, so stdout stays one document with
//! `--json`. On a terminal a wait is one live line (spinner, status, elapsed time); in
//! CI logs it is a plain line every 30 seconds.

use std::io::IsTerminal;
use std::sync::Mutex;
use std::time::Duration;

use indicatif::{ProgressBar, ProgressStyle};
use stack::{Event, format_duration};

/// How often a non-terminal log gets a line while waiting.
const LOG_EVERY: Duration = Duration::from_secs(30);

/// Shows [`Event`]s as they come.
pub struct Reporter {
    spinner: Option<ProgressBar>,
    /// When the last plain waiting line was written, per wait.
    last_line: Mutex<Option<(String, Duration)>>,
}

impl Reporter {
    /// A reporter for this process's stderr.
    pub fn new() -> Self {
        let spinner = std::io::stderr().is_terminal().then(|| {
            let bar = ProgressBar::new_spinner();
            bar.set_style(
                ProgressStyle::with_template("{spinner} {msg}")
                    .unwrap_or_else(|_| ProgressStyle::default_spinner()),
            );
            bar
        });
        Reporter {
            spinner,
            last_line: Mutex::new(None),
        }
    }

    /// Shows one event.
    pub fn show(&self, event: Event) {
        match event {
            Event::StepStarted { step, changes } => {
                self.line(&format!("{step}: applying {changes} change(s)…"));
            }
            Event::StepFinished { step } => self.line(&format!("{step}: done")),
            Event::Waiting {
                resource,
                status,
                elapsed,
            } => self.waiting(&resource, &status, elapsed),
        }
    }

    /// Shows one step or wait of a credential rotation.
    pub fn show_rotation(&self, event: stack::rotation::Event) {
        match event {
            stack::rotation::Event::Step {
                target,
                step,
                version,
            } => self.line(&format!("{target}: {step} (version {version})")),
            stack::rotation::Event::Waiting {
                target,
                why,
                elapsed,
            } => self.waiting(&target, &why, elapsed),
        }
    }

    fn line(&self, text: &str) {
        match &self.spinner {
            Some(bar) => bar.suspend(|| eprintln!("{text}")),
            None => eprintln!("{text}"),
        }
    }

    fn waiting(&self, resource: &str, status: &str, elapsed: Duration) {
        let text = format!(
            "waiting for {resource}: {status} ({} elapsed)",
            format_duration(elapsed)
        );
        if let Some(bar) = &self.spinner {
            bar.enable_steady_tick(Duration::from_millis(120));
            bar.set_message(text);
            return;
        }
        let Ok(mut last) = self.last_line.lock() else {
            return;
        };
        let due = match &*last {
            Some((seen, at)) if seen == resource => elapsed.saturating_sub(*at) >= LOG_EVERY,
            _ => true,
        };
        if due {
            eprintln!("{text}");
            *last = Some((resource.to_owned(), elapsed));
        }
    }

    /// Clears the live line.
    pub fn finish(&self) {
        if let Some(bar) = &self.spinner {
            bar.finish_and_clear();
        }
    }
}
