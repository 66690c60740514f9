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
        for error in &self.errors {
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
        Ok(())
    }
}
