//! Values an earlier step produces, which a plan from nothing cannot know yet.

use crate::Value;

/// An output of an earlier step: known now, or only after apply.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Known<T> {
    /// The value exists.
    Value(T),
    /// It will exist once an earlier change is applied.
    AfterApply,
}

impl<T> Known<T> {
    /// The value, if known.
    pub fn value(&self) -> Option<&T> {
        match self {
            Known::Value(value) => Some(value),
            Known::AfterApply => None,
        }
    }

    /// The value, if known, by value.
    pub fn into_value(self) -> Option<T> {
        match self {
            Known::Value(value) => Some(value),
            Known::AfterApply => None,
        }
    }

    /// Transforms a known value.
    pub fn map<U>(self, f: impl FnOnce(T) -> U) -> Known<U> {
        match self {
            Known::Value(value) => Known::Value(f(value)),
            Known::AfterApply => Known::AfterApply,
        }
    }

    /// The value as a plan shows it: itself or `(known after apply)`.
    pub fn to_plan_value(&self) -> Value
    where
        T: Clone + Into<Value>,
    {
        match self {
            Known::Value(value) => value.clone().into(),
            Known::AfterApply => Value::Unknown,
        }
    }
}

impl Known<Vec<String>> {
    /// The ids as a plan shows them: a sorted set, or `(known after apply)`.
    pub fn to_plan_set(&self) -> Value {
        match self {
            Known::Value(ids) => Value::set(ids.iter().cloned()),
            Known::AfterApply => Value::Unknown,
        }
    }
}

impl<T> From<Option<T>> for Known<T> {
    fn from(value: Option<T>) -> Self {
        value.map_or(Known::AfterApply, Known::Value)
    }
}
