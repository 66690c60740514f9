//! Tags, as every step compares them: the stack's tags must be present with our values;
//! tags someone else added are left alone.

use std::collections::BTreeMap;

use crate::Value;

/// Tags: key to value.
pub type Tags = BTreeMap<String, String>;

/// Tags from an SDK's tag list, given as `(key, value)` pairs: every service's `Tag`
/// type is its own, but all have an optional key and value. A tag without a key is
/// skipped; a missing value is empty.
pub fn from_pairs<'a>(pairs: impl IntoIterator<Item = (Option<&'a str>, Option<&'a str>)>) -> Tags {
    pairs
        .into_iter()
        .filter_map(|(key, value)| Some((key?.to_owned(), value.unwrap_or_default().to_owned())))
        .collect()
}

/// Tags as a plan shows them: sorted `key=value` texts.
pub fn tags_value(tags: &Tags) -> Value {
    Value::set(tags.iter().map(|(k, v)| format!("{k}={v}")))
}

/// The tags a resource has once ours are set: `current` with `wanted` laid over it.
pub fn merged(current: &Tags, wanted: &Tags) -> Tags {
    let mut tags = current.clone();
    tags.extend(wanted.iter().map(|(k, v)| (k.clone(), v.clone())));
    tags
}

/// The wanted tags that are absent or have another value.
pub fn missing(current: &Tags, wanted: &Tags) -> Tags {
    wanted
        .iter()
        .filter(|(k, v)| current.get(*k) != Some(*v))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect()
}

/// How the tags attribute of an existing resource changes: `(before, after)` for a plan.
pub fn tags_change(current: &Tags, wanted: &Tags) -> (Value, Value) {
    (tags_value(current), tags_value(&merged(current, wanted)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sdk_pairs_skip_keyless_tags_and_default_empty_values() {
        let tags = from_pairs([(Some("a"), Some("1")), (None, Some("2")), (Some("b"), None)]);
        assert_eq!(tags.get("a").map(String::as_str), Some("1"));
        assert_eq!(tags.get("b").map(String::as_str), Some(""));
        assert_eq!(tags.len(), 2);
    }

    #[test]
    fn foreign_tags_stay_and_ours_win() {
        let current: Tags = [("owner".into(), "x".into()), ("team".into(), "old".into())].into();
        let wanted: Tags = [("team".into(), "new".into())].into();
        assert_eq!(missing(&current, &wanted), wanted);
        assert_eq!(
            merged(&current, &wanted).get("owner").map(String::as_str),
            Some("x")
        );
        assert!(missing(&merged(&current, &wanted), &wanted).is_empty());
    }
}
