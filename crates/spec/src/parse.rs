//! Reading a spec: bytes → YAML → typed model → validated model.
//!
//! serde stops at the first error, so when the whole document fails to deserialise each
//! top-level section is deserialised on its own: a typo in `cluster` and a wrong type in
//! `logs` are reported together, each with its path and line.

use std::io::Read;
use std::path::Path;

use serde::Deserialize;
use serde::de::DeserializeOwned;
use serde_yaml::{Mapping, Value};

use crate::locate::PathIndex;
use crate::model::*;
use crate::{SpecError, SpecErrors};

/// The top-level fields, in the order the error for an unknown field lists them.
const FIELDS: &[&str] = &[
    "stack",
    "region",
    "engine",
    "node_type",
    "port",
    "network",
    "cluster",
    "encryption",
    "auth",
    "logs",
    "outputs",
    "destroy",
    "waivers",
    "tags",
];

const REQUIRED: &[&str] = &["stack", "region", "engine", "node_type", "network"];

/// The largest spec read: far above any real stack's, far below what hurts to parse.
pub const MAX_SPEC_BYTES: u64 = 1024 * 1024;

/// Reads, parses and validates the spec at `path`; `-` reads standard input.
///
/// At most [`MAX_SPEC_BYTES`] are read, so a wrong path such as `/dev/zero` or a pipe
/// that never ends is refused instead of filling memory.
pub fn load(path: &Path) -> Result<Spec, SpecErrors> {
    let stdin = path == Path::new("-");
    let file = source_name(path);
    let cannot_read =
        |err: std::io::Error| SpecErrors::whole_file(&file, format!("cannot read the file: {err}"));
    let mut bytes = Vec::new();
    if stdin {
        std::io::stdin()
            .lock()
            .take(MAX_SPEC_BYTES + 1)
            .read_to_end(&mut bytes)
    } else {
        std::fs::File::open(path)
            .and_then(|opened| opened.take(MAX_SPEC_BYTES + 1).read_to_end(&mut bytes))
    }
    .map_err(cannot_read)?;
    if bytes.len() as u64 > MAX_SPEC_BYTES {
        return Err(SpecErrors::whole_file(
            &file,
            format!(
                "the file is larger than {} MiB; a spec is a short YAML file",
                MAX_SPEC_BYTES / 1024 / 1024
            ),
        ));
    }
    if bytes.contains(&0) {
        return Err(SpecErrors::whole_file(
            &file,
            "this is not a text file; a spec is YAML text",
        ));
    }
    let source = String::from_utf8(bytes).map_err(|_| {
        SpecErrors::whole_file(&file, "this is not UTF-8 text; a spec is YAML text")
    })?;
    parse(&source, &file)
}

/// How errors and reports name the spec at `path`: `<stdin>` for `-`.
pub fn source_name(path: &Path) -> String {
    if path == Path::new("-") {
        "<stdin>".to_owned()
    } else {
        path.display().to_string()
    }
}

/// Parses and validates a spec held in memory; `file` names it in errors.
pub fn parse(source: &str, file: &str) -> Result<Spec, SpecErrors> {
    // Editors on Windows may start UTF-8 files with a byte-order mark; YAML allows it.
    let source = source.strip_prefix('\u{feff}').unwrap_or(source);
    let index = PathIndex::new(source);
    let mapping = parse_mapping(source, file)?;
    let tagged = foreign_tags(&index);
    if !tagged.is_empty() {
        return Err(SpecErrors {
            file: file.to_owned(),
            errors: sorted(tagged),
        });
    }
    let errors_for = |errors: Vec<SpecError>| SpecErrors {
        file: file.to_owned(),
        errors: sorted(errors),
    };
    let mut spec = match deserialize::<Spec>(Value::Mapping(mapping.clone()), "", &index) {
        Ok(spec) => spec,
        Err(first) => {
            let mut errors = section_errors(&mapping, &index);
            if errors.is_empty() {
                errors.push(first);
            }
            return Err(errors_for(errors));
        }
    };
    let errors = crate::validate::validate(&spec, &index);
    if !errors.is_empty() {
        return Err(errors_for(errors));
    }
    // AWS stores replication group ids lowercase; every name derives from this one.
    spec.stack = spec.stack.to_ascii_lowercase();
    Ok(spec)
}

fn parse_mapping(source: &str, file: &str) -> Result<Mapping, SpecErrors> {
    if source.trim().is_empty() {
        return Err(SpecErrors::whole_file(
            file,
            "the file is empty; a spec needs at least stack, region, engine, node_type and network",
        ));
    }
    let value = single_document(source, file)?;
    match value {
        Value::Mapping(mapping) => Ok(mapping),
        Value::Null => Err(SpecErrors::whole_file(
            file,
            "the file holds no fields; a spec needs at least stack, region, engine, node_type and network",
        )),
        other => Err(SpecErrors::whole_file(
            file,
            format!(
                "a spec is a mapping of fields (stack:, region:, …), not {}",
                kind_of(&other)
            ),
        )),
    }
}

/// The one document in `source`. Empty documents after it (a trailing `---`) are
/// accepted; a second document with content is refused rather than ignored.
fn single_document(source: &str, file: &str) -> Result<Value, SpecErrors> {
    let invalid = |err: serde_yaml::Error| {
        let location = err.location();
        SpecErrors {
            file: file.to_owned(),
            errors: vec![SpecError {
                path: String::new(),
                line: location.as_ref().map(|l| l.line()),
                column: location.as_ref().map(|l| l.column()),
                message: format!(
                    "this is not valid YAML: {}{}",
                    without_location(&err),
                    tab_hint(source)
                ),
            }],
        }
    };
    let mut documents = Vec::new();
    for document in serde_yaml::Deserializer::from_str(source) {
        let value = Value::deserialize(document).map_err(invalid)?;
        if !value.is_null() {
            documents.push(value);
        }
    }
    if documents.len() > 1 {
        return Err(SpecErrors::whole_file(
            file,
            format!(
                "the file holds {} YAML documents; a spec is one (a `---` line starts another)",
                documents.len()
            ),
        ));
    }
    Ok(documents.pop().unwrap_or(Value::Null))
}

/// An error for each tag outside YAML's core schema: the spec is plain YAML, and a tag
/// would otherwise be dropped silently and its value read as something else.
fn foreign_tags(index: &PathIndex) -> Vec<SpecError> {
    index
        .foreign_tags()
        .map(|(path, tag)| {
            at(
                index,
                path,
                format!("YAML tags such as `{tag}` are not part of a spec; write the plain value"),
            )
        })
        .collect()
}

fn section_errors(mapping: &Mapping, index: &PathIndex) -> Vec<SpecError> {
    let mut errors = Vec::new();
    for (key, value) in mapping {
        let Some(key) = key.as_str() else {
            errors.push(SpecError {
                path: String::new(),
                line: None,
                column: None,
                message: format!("field names are text, not {}", kind_of(key)),
            });
            continue;
        };
        if let Err(error) = check_section(key, value.clone(), index) {
            errors.push(error);
        }
    }
    for required in REQUIRED {
        if !mapping.contains_key(*required) {
            errors.push(at(
                index,
                "",
                format!(
                    "missing field `{required}` (required: {})",
                    REQUIRED.join(", ")
                ),
            ));
        }
    }
    errors
}

fn check_section(key: &str, value: Value, index: &PathIndex) -> Result<(), SpecError> {
    fn check<T: DeserializeOwned>(
        value: Value,
        key: &str,
        index: &PathIndex,
    ) -> Result<(), SpecError> {
        deserialize::<T>(value, key, index).map(drop)
    }
    match key {
        "stack" | "region" | "node_type" => check::<String>(value, key, index),
        "engine" => check::<Engine>(value, key, index),
        "port" => check::<u16>(value, key, index),
        "network" => check::<Network>(value, key, index),
        "cluster" => check::<Cluster>(value, key, index),
        "encryption" => check::<Encryption>(value, key, index),
        "auth" => check::<Auth>(value, key, index),
        "logs" => check::<Logs>(value, key, index),
        "outputs" => check::<Outputs>(value, key, index),
        "destroy" => check::<Destroy>(value, key, index),
        "waivers" => check::<Vec<Waiver>>(value, key, index),
        "tags" => check::<std::collections::BTreeMap<String, String>>(value, key, index),
        unknown => Err(at(
            index,
            unknown,
            format!(
                "unknown field `{unknown}`, expected one of {}",
                FIELDS
                    .iter()
                    .map(|f| format!("`{f}`"))
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        )),
    }
}

/// Deserialises `value` as a `T` found at `prefix`, turning the first error into a
/// [`SpecError`] at the right path and line.
fn deserialize<T: DeserializeOwned>(
    value: Value,
    prefix: &str,
    index: &PathIndex,
) -> Result<T, SpecError> {
    serde_path_to_error::deserialize(value).map_err(|err| {
        let inner = without_location(err.inner());
        let path = join(prefix, &err.path().to_string());
        at(index, &path, friendlier(&inner))
    })
}

fn join(prefix: &str, path: &str) -> String {
    match (prefix, path) {
        (_, ".") | (_, "") => prefix.to_owned(),
        ("", path) => path.to_owned(),
        (prefix, path) if path.starts_with('[') => format!("{prefix}{path}"),
        (prefix, path) => format!("{prefix}.{path}"),
    }
}

pub(crate) fn at(index: &PathIndex, path: &str, message: impl Into<String>) -> SpecError {
    let position = index.locate(path);
    SpecError {
        path: path.to_owned(),
        line: position.map(|p| p.line),
        column: position.map(|p| p.column),
        message: crate::error::with_long_values_cut(&message.into()),
    }
}

fn sorted(mut errors: Vec<SpecError>) -> Vec<SpecError> {
    errors.sort_by_key(|e| (e.line.unwrap_or(usize::MAX), e.column.unwrap_or(0)));
    errors
}

fn tab_hint(source: &str) -> &'static str {
    if source
        .lines()
        .any(|line| line.trim_start_matches(' ').starts_with('\t'))
    {
        " (YAML is indented with spaces; this file has tabs)"
    } else {
        ""
    }
}

fn without_location(err: &serde_yaml::Error) -> String {
    let text = err.to_string();
    match text.find(" at line ") {
        Some(cut) => text[..cut].to_owned(),
        None => text,
    }
}

/// serde names Rust types; users know YAML.
fn friendlier(message: &str) -> String {
    message
        .replace("expected u16", "expected a whole number from 0 to 65535")
        .replace("expected u32", "expected a whole number")
        .replace("expected a boolean", "expected true or false")
        .replace("expected a string", "expected text")
        .replace("invalid type: unit value", "invalid type: empty value")
}

fn kind_of(value: &Value) -> &'static str {
    match value {
        Value::Null => "an empty value",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Sequence(_) => "a list",
        Value::Mapping(_) => "a mapping",
        Value::Tagged(_) => "a tagged value",
    }
}
