//! Secrets that steps carry but never show.

use std::fmt;

use secrecy::{ExposeSecret, SecretString};

use crate::Value;

/// A secret value: its `Debug` and `Display` print `(sensitive)`, it has no `Serialize`,
/// and in a plan it becomes [`Value::Sensitive`]. Reading it takes an explicit
/// [`Sensitive::expose`], which is easy to find in review.
#[derive(Clone)]
pub struct Sensitive(SecretString);

impl Sensitive {
    /// Wraps a secret.
    pub fn new(secret: impl Into<String>) -> Self {
        Sensitive(SecretString::from(secret.into()))
    }

    /// The secret itself, for the one call that needs it.
    pub fn expose(&self) -> &str {
        self.0.expose_secret()
    }
}

impl fmt::Debug for Sensitive {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("(sensitive)")
    }
}

impl fmt::Display for Sensitive {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("(sensitive)")
    }
}

impl From<&Sensitive> for Value {
    fn from(_: &Sensitive) -> Self {
        Value::Sensitive
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn never_formats_the_secret() {
        let secret = Sensitive::new("hunter2-hunter2");
        assert_eq!(format!("{secret} {secret:?}"), "(sensitive) (sensitive)");
        assert_eq!(Value::from(&secret), Value::Sensitive);
        assert_eq!(secret.expose(), "hunter2-hunter2");
    }
}
