//! Running under GitHub Actions: the plan goes to the job summary and the step's outputs.
//!
//! Failures here are warnings: a plan that was made stands even when GitHub's files
//! cannot be written.

use std::io::Write as _;
use std::path::Path;

/// GitHub's limit on one step's job summary.
const SUMMARY_LIMIT: usize = 1024 * 1024;

/// What a plan publishes.
pub struct Published<'a> {
    /// The plan as markdown, for the job summary (rendered with [`SUMMARY_LIMIT`]).
    pub report: markdown::Report<'a>,
    /// The plan as JSON.
    pub json: &'a serde_json::Value,
}

/// Appends to `$GITHUB_STEP_SUMMARY` and `$GITHUB_OUTPUT` when they are set.
pub fn publish(published: &Published<'_>) {
    if let Some(path) = std::env::var_os("GITHUB_STEP_SUMMARY") {
        let text = markdown::render(&published.report, SUMMARY_LIMIT);
        if let Err(err) = append(Path::new(&path), &text) {
            eprintln!("warning: could not write the job summary: {err}");
        }
    }
    if let Some(path) = std::env::var_os("GITHUB_OUTPUT") {
        let plan = published.report.plan;
        let outputs = [
            ("has-changes", plan.has_changes().to_string()),
            ("summary", plan.summary().to_string()),
            ("plan-json", published.json.to_string()),
        ];
        let text: String = outputs
            .iter()
            .map(|(name, value)| output_line(name, value))
            .collect();
        if let Err(err) = append(Path::new(&path), &text) {
            eprintln!("warning: could not write the step outputs: {err}");
        }
    }
}

/// One output in GITHUB_OUTPUT's syntax; multi-line-safe with a delimiter that the
/// value cannot contain.
fn output_line(name: &str, value: &str) -> String {
    let mut delimiter = String::from("ELASTICACHE_ACTION_EOF");
    while value.contains(&delimiter) {
        delimiter.push('_');
    }
    format!("{name}<<{delimiter}\n{value}\n{delimiter}\n")
}

fn append(path: &Path, text: &str) -> std::io::Result<()> {
    let mut file = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)?;
    file.write_all(text.as_bytes())?;
    file.write_all(b"\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn output_values_use_a_delimiter_they_do_not_contain() {
        assert_eq!(
            output_line("a", "x"),
            "a<<ELASTICACHE_ACTION_EOF\nx\nELASTICACHE_ACTION_EOF\n"
        );
        let tricky = output_line("a", "ELASTICACHE_ACTION_EOF");
        assert!(
            tricky.starts_with("a<<ELASTICACHE_ACTION_EOF_\n"),
            "{tricky}"
        );
    }
}
