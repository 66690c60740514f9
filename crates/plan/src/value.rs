//! Attribute values as a plan shows them.

use std::fmt;

use serde::de::{self, Deserializer};
use serde::ser::{SerializeMap, Serializer};
use serde::{Deserialize, Serialize};

/// An attribute's value in a plan.
///
/// In JSON, known values are plain JSON; [`Value::Unknown`] is
/// `{"known_after_apply": true}` and [`Value::Sensitive`] is `{"sensitive": true}`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Value {
    /// Text.
    Text(String),
    /// A whole number.
    Number(i64),
    /// A flag.
    Bool(bool),
    /// A list, shown in the order the step gives (sort it for stable diffs).
    List(Vec<Value>),
    /// Not known until an earlier change is applied (an id AWS assigns).
    Unknown,
    /// A secret: it exists, and that is all a plan may say.
    Sensitive,
}

impl Value {
    /// A sorted list of texts, so that order never shows as a difference.
    pub fn set<I, S>(items: I) -> Value
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        let mut texts: Vec<String> = items.into_iter().map(Into::into).collect();
        texts.sort();
        texts.dedup();
        Value::List(texts.into_iter().map(Value::Text).collect())
    }

    /// Whether two values are known to be equal. An unknown value is never equal to
    /// anything: it may change.
    pub fn same_as(&self, other: &Value) -> bool {
        !matches!(self, Value::Unknown) && !matches!(other, Value::Unknown) && self == other
    }
}

impl From<&str> for Value {
    fn from(text: &str) -> Self {
        Value::Text(text.to_owned())
    }
}

impl From<String> for Value {
    fn from(text: String) -> Self {
        Value::Text(text)
    }
}

impl From<&String> for Value {
    fn from(text: &String) -> Self {
        Value::Text(text.clone())
    }
}

impl From<bool> for Value {
    fn from(flag: bool) -> Self {
        Value::Bool(flag)
    }
}

impl From<i64> for Value {
    fn from(number: i64) -> Self {
        Value::Number(number)
    }
}

impl From<i32> for Value {
    fn from(number: i32) -> Self {
        Value::Number(i64::from(number))
    }
}

impl From<u16> for Value {
    fn from(number: u16) -> Self {
        Value::Number(i64::from(number))
    }
}

impl From<u32> for Value {
    fn from(number: u32) -> Self {
        Value::Number(i64::from(number))
    }
}

impl<T: Into<Value>> From<Option<T>> for Value {
    /// An absent optional value shows as empty text.
    fn from(value: Option<T>) -> Self {
        value.map_or_else(|| Value::Text(String::new()), Into::into)
    }
}

impl fmt::Display for Value {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Value::Text(text) => write!(f, "{text:?}"),
            Value::Number(number) => write!(f, "{number}"),
            Value::Bool(flag) => write!(f, "{flag}"),
            Value::List(items) => {
                f.write_str("[")?;
                for (i, item) in items.iter().enumerate() {
                    if i > 0 {
                        f.write_str(", ")?;
                    }
                    write!(f, "{item}")?;
                }
                f.write_str("]")
            }
            Value::Unknown => f.write_str("(known after apply)"),
            Value::Sensitive => f.write_str("(sensitive)"),
        }
    }
}

impl Serialize for Value {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self {
            Value::Text(text) => serializer.serialize_str(text),
            Value::Number(number) => serializer.serialize_i64(*number),
            Value::Bool(flag) => serializer.serialize_bool(*flag),
            Value::List(items) => items.serialize(serializer),
            Value::Unknown => marker(serializer, "known_after_apply"),
            Value::Sensitive => marker(serializer, "sensitive"),
        }
    }
}

fn marker<S: Serializer>(serializer: S, key: &str) -> Result<S::Ok, S::Error> {
    let mut map = serializer.serialize_map(Some(1))?;
    map.serialize_entry(key, &true)?;
    map.end()
}

impl<'de> Deserialize<'de> for Value {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        from_json(serde_json::Value::deserialize(deserializer)?).map_err(de::Error::custom)
    }
}

fn from_json(json: serde_json::Value) -> Result<Value, String> {
    use serde_json::Value as Json;
    match json {
        Json::String(text) => Ok(Value::Text(text)),
        Json::Bool(flag) => Ok(Value::Bool(flag)),
        Json::Number(number) => number
            .as_i64()
            .map(Value::Number)
            .ok_or_else(|| format!("{number} is not a whole number")),
        Json::Array(items) => items
            .into_iter()
            .map(from_json)
            .collect::<Result<_, _>>()
            .map(Value::List),
        Json::Object(map) if map.contains_key("known_after_apply") => Ok(Value::Unknown),
        Json::Object(map) if map.contains_key("sensitive") => Ok(Value::Sensitive),
        other => Err(format!("{other} is not a plan value")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_round_trip_keeps_markers() {
        let value = Value::List(vec![
            Value::from("a"),
            Value::Unknown,
            Value::Sensitive,
            Value::from(3),
        ]);
        let json = serde_json::to_string(&value).expect("serialises");
        assert_eq!(
            json,
            r#"["a",{"known_after_apply":true},{"sensitive":true},3]"#
        );
        let back: Value = serde_json::from_str(&json).expect("deserialises");
        assert_eq!(back, value);
    }

    #[test]
    fn sets_ignore_order() {
        assert!(Value::set(["b", "a"]).same_as(&Value::set(["a", "b", "a"])));
    }
}
