//! Scalar values with a shape of their own: CIDR blocks, engine versions, parameters.
//!
//! Each parses at deserialisation time so that a malformed value is reported with its
//! field path and line, in words a user can act on.

use std::fmt;
use std::str::FromStr;

use ipnet::Ipv4Net;
use schemars::JsonSchema;
use serde::de::{self, Visitor};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// An IPv4 CIDR block such as `10.20.0.0/16`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Cidr(pub Ipv4Net);

impl Cidr {
    /// The network.
    pub fn net(self) -> Ipv4Net {
        self.0
    }
}

impl fmt::Display for Cidr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

impl FromStr for Cidr {
    type Err = String;
    fn from_str(text: &str) -> Result<Self, String> {
        text.trim()
            .parse::<Ipv4Net>()
            .map(Cidr)
            .map_err(|_| format!("`{text}` is not an IPv4 CIDR block such as 10.0.0.0/16"))
    }
}

impl<'de> Deserialize<'de> for Cidr {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        text.parse().map_err(de::Error::custom)
    }
}

impl Serialize for Cidr {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(&self.0)
    }
}

impl JsonSchema for Cidr {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "Cidr".into()
    }
    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        schemars::json_schema!({
            "type": "string",
            "description": "An IPv4 CIDR block such as 10.0.0.0/16.",
            "pattern": r"^\d{1,3}(\.\d{1,3}){3}/\d{1,2}$"
        })
    }
}

/// An engine version: `major.minor` or `major.minor.patch`.
///
/// `"7.0"` names the newest 7.0.x that AWS offers, so for "at least" comparisons a
/// missing patch counts as the newest patch of its series.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct EngineVersion {
    /// Major version.
    pub major: u32,
    /// Minor version.
    pub minor: u32,
    /// Patch version, when written.
    pub patch: Option<u32>,
}

impl EngineVersion {
    /// A version with a patch number.
    pub const fn new(major: u32, minor: u32, patch: u32) -> Self {
        EngineVersion {
            major,
            minor,
            patch: Some(patch),
        }
    }

    /// Whether this version is `minimum` or newer.
    pub fn at_least(self, minimum: EngineVersion) -> bool {
        let own = (self.major, self.minor, self.patch.unwrap_or(u32::MAX));
        let min = (minimum.major, minimum.minor, minimum.patch.unwrap_or(0));
        own >= min
    }
}

impl fmt::Display for EngineVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.patch {
            Some(patch) => write!(f, "{}.{}.{}", self.major, self.minor, patch),
            None => write!(f, "{}.{}", self.major, self.minor),
        }
    }
}

impl FromStr for EngineVersion {
    type Err = String;
    fn from_str(text: &str) -> Result<Self, String> {
        let bad = || format!("`{text}` is not an engine version such as \"7.1\" or \"5.0.6\"");
        let parts: Vec<&str> = text.split('.').collect();
        let number = |part: &str| part.parse::<u32>().map_err(|_| bad());
        match parts.as_slice() {
            [major, minor] => Ok(EngineVersion {
                major: number(major)?,
                minor: number(minor)?,
                patch: None,
            }),
            [major, minor, patch] => Ok(EngineVersion {
                major: number(major)?,
                minor: number(minor)?,
                patch: Some(number(patch)?),
            }),
            _ => Err(bad()),
        }
    }
}

impl<'de> Deserialize<'de> for EngineVersion {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct VersionVisitor;
        impl Visitor<'_> for VersionVisitor {
            type Value = EngineVersion;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a quoted engine version such as \"7.1\"")
            }
            fn visit_str<E: de::Error>(self, text: &str) -> Result<EngineVersion, E> {
                text.parse().map_err(E::custom)
            }
            fn visit_f64<E: de::Error>(self, number: f64) -> Result<EngineVersion, E> {
                Err(E::custom(format!(
                    "write the version in quotes, such as \"{number:.1}\": YAML reads an unquoted \
                     version as a number and loses its zeros"
                )))
            }
            fn visit_u64<E: de::Error>(self, number: u64) -> Result<EngineVersion, E> {
                self.visit_f64(number as f64)
            }
            fn visit_i64<E: de::Error>(self, number: i64) -> Result<EngineVersion, E> {
                self.visit_f64(number as f64)
            }
        }
        deserializer.deserialize_any(VersionVisitor)
    }
}

impl Serialize for EngineVersion {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl JsonSchema for EngineVersion {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "EngineVersion".into()
    }
    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        schemars::json_schema!({
            "type": "string",
            "description": "Engine version, quoted: \"7.1\", \"8.0\", \"5.0.6\".",
            "pattern": r"^\d+\.\d+(\.\d+)?$"
        })
    }
}

/// An engine parameter value. YAML numbers and booleans are accepted and kept as the
/// text ElastiCache expects (`300`, `yes`).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ParameterValue(pub String);

impl fmt::Display for ParameterValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl<'de> Deserialize<'de> for ParameterValue {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct ParameterVisitor;
        impl Visitor<'_> for ParameterVisitor {
            type Value = ParameterValue;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a string, number or boolean")
            }
            fn visit_str<E: de::Error>(self, text: &str) -> Result<ParameterValue, E> {
                Ok(ParameterValue(text.to_owned()))
            }
            fn visit_u64<E: de::Error>(self, number: u64) -> Result<ParameterValue, E> {
                Ok(ParameterValue(number.to_string()))
            }
            fn visit_i64<E: de::Error>(self, number: i64) -> Result<ParameterValue, E> {
                Ok(ParameterValue(number.to_string()))
            }
            fn visit_f64<E: de::Error>(self, number: f64) -> Result<ParameterValue, E> {
                Ok(ParameterValue(number.to_string()))
            }
            fn visit_bool<E: de::Error>(self, flag: bool) -> Result<ParameterValue, E> {
                Ok(ParameterValue(if flag { "yes" } else { "no" }.to_owned()))
            }
        }
        deserializer.deserialize_any(ParameterVisitor)
    }
}

impl Serialize for ParameterValue {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.0)
    }
}

impl JsonSchema for ParameterValue {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "ParameterValue".into()
    }
    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        schemars::json_schema!({ "type": ["string", "number", "boolean"] })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_without_patch_count_as_newest_patch() {
        let v70: EngineVersion = "7.0".parse().expect("valid");
        assert!(v70.at_least(EngineVersion::new(7, 0, 5)));
        let v704: EngineVersion = "7.0.4".parse().expect("valid");
        assert!(!v704.at_least(EngineVersion::new(7, 0, 5)));
        let v62: EngineVersion = "6.2".parse().expect("valid");
        assert!(!v62.at_least(EngineVersion::new(7, 0, 0)));
        assert!("7".parse::<EngineVersion>().is_err());
        assert!("7.x".parse::<EngineVersion>().is_err());
    }

    #[test]
    fn cidrs_parse_or_explain() {
        assert!("10.0.0.0/16".parse::<Cidr>().is_ok());
        let err = "10.0.0.0/33".parse::<Cidr>().expect_err("invalid");
        assert!(err.contains("not an IPv4 CIDR block"));
    }
}
