//! Spec errors: each names the file, the field path and the line, and all are reported
//! together.

use std::fmt;

/// One problem in a spec.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SpecError {
    /// The field path, such as `cluster.snapshot.window`; empty for the whole document.
    pub path: String,
    /// Line, from 1, when the problem can be placed in the file.
    pub line: Option<usize>,
    /// Column, from 1, when the problem can be placed in the file.
    pub column: Option<usize>,
    /// What is wrong and what is allowed.
    pub message: String,
}

/// Quoted values longer than this are cut when a message repeats them.
const SHOWN_CHARS: usize = 60;

/// `message` with every `quoted` value longer than [`SHOWN_CHARS`] cut to its start, an
/// ellipsis and its length, so a pasted megabyte does not become a megabyte of error.
pub(crate) fn with_long_values_cut(message: &str) -> String {
    let parts: Vec<&str> = message.split('`').collect();
    let mut out = String::with_capacity(message.len().min(1024));
    let mut cut_length = None;
    for (i, part) in parts.iter().enumerate() {
        if i > 0 {
            out.push('`');
        }
        if let Some(length) = cut_length.take() {
            out.push_str(&format!(" ({length} characters)"));
        }
        // Odd parts sit between a pair of backticks; text after an unpaired one stays.
        let quoted = i % 2 == 1 && i + 1 < parts.len();
        match part.char_indices().nth(SHOWN_CHARS) {
            Some((cut, _)) if quoted => {
                out.push_str(&part[..cut]);
                out.push('…');
                cut_length = Some(part.chars().count());
            }
            _ => out.push_str(part),
        }
    }
    out
}

impl fmt::Display for SpecError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let (Some(line), Some(column)) = (self.line, self.column) {
            write!(f, "{line}:{column}: ")?;
        }
        if !self.path.is_empty() {
            write!(f, "{}: ", self.path)?;
        }
        f.write_str(&self.message)
    }
}

/// Every problem found in one spec file.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub struct SpecErrors {
    /// The file as the user named it.
    pub file: String,
    /// The problems, in the order they stand in the file.
    pub errors: Vec<SpecError>,
}

/// How many errors a report prints; the rest are counted.
const PRINTED_ERRORS: usize = 50;

impl SpecErrors {
    pub(crate) fn whole_file(file: &str, message: impl Into<String>) -> Self {
        SpecErrors {
            file: file.to_owned(),
            errors: vec![SpecError {
                path: String::new(),
                line: None,
                column: None,
                message: message.into(),
            }],
        }
    }
}

impl fmt::Display for SpecErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let count = self.errors.len();
        let noun = if count == 1 { "error" } else { "errors" };
        write!(f, "{}: {count} {noun} in the spec", self.file)?;
        for error in self.errors.iter().take(PRINTED_ERRORS) {
            write!(f, "\n  {}", self.file)?;
            if let (Some(line), Some(column)) = (error.line, error.column) {
                write!(f, ":{line}:{column}")?;
            }
            write!(f, ": ")?;
            if !error.path.is_empty() {
                write!(f, "{}: ", error.path)?;
            }
            f.write_str(&error.message)?;
        }
        if count > PRINTED_ERRORS {
            write!(f, "\n  and {} more", count - PRINTED_ERRORS)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::with_long_values_cut as cut;

    #[test]
    fn long_quoted_values_are_cut_and_short_ones_kept() {
        assert_eq!(cut("`abc` is not `x`"), "`abc` is not `x`");
        let long = "a".repeat(100);
        let message = cut(&format!("`{long}` is not a region"));
        assert_eq!(
            message,
            format!("`{}…` (100 characters) is not a region", "a".repeat(60))
        );
        assert_eq!(cut("an unpaired ` stays"), "an unpaired ` stays");
        assert_eq!(cut(&format!("odd ` {long}")), format!("odd ` {long}"));
    }
}
