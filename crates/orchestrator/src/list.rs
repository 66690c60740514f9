//! `orchestrator list`: the specs a glob matched, as a GitHub Actions job matrix, so a
//! workflow can plan and apply each stack in a job of its own, in parallel.

use std::path::PathBuf;

use serde::Serialize;

/// GitHub runs at most this many jobs from one matrix.
pub const MAX_MATRIX_JOBS: usize = 256;

/// One matrix entry: a stack and where its spec is.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Entry {
    /// The spec file, as given.
    pub spec: String,
    /// The stack's name.
    pub stack: String,
    /// Its region.
    pub region: String,
}

/// The matrix (`{"include": [...]}`, what `strategy.matrix` takes through `fromJSON`),
/// or every reason there is none: invalid specs, one stack in two specs (their jobs
/// would apply it at once), too many for one matrix.
pub fn matrix(paths: &[PathBuf]) -> Result<Vec<Entry>, Vec<String>> {
    let mut problems = Vec::new();
    let mut entries: Vec<Entry> = Vec::new();
    for path in paths {
        match spec::load(path) {
            Ok(spec) => entries.push(Entry {
                spec: path.display().to_string(),
                stack: spec.stack,
                region: spec.region,
            }),
            Err(errors) => problems.push(errors.to_string()),
        }
    }
    for (i, entry) in entries.iter().enumerate() {
        let first = entries
            .iter()
            .position(|e| e.stack == entry.stack && e.region == entry.region);
        if let Some(first) = first.filter(|first| *first < i) {
            problems.push(format!(
                "{} and {} both describe stack {} in {}: their jobs would apply it at once; give one another `stack`",
                entries[first].spec, entry.spec, entry.stack, entry.region
            ));
        }
    }
    if entries.len() > MAX_MATRIX_JOBS {
        problems.push(format!(
            "{} specs: GitHub runs at most {MAX_MATRIX_JOBS} jobs from one matrix; split them across workflows or globs",
            entries.len()
        ));
    }
    if paths.is_empty() {
        problems.push(
            "no spec given: name spec files (the shell expands a glob such as stacks/*.yaml)"
                .to_owned(),
        );
    }
    match problems.is_empty() {
        true => Ok(entries),
        false => Err(problems),
    }
}

/// The matrix as one line of JSON.
pub fn matrix_json(entries: &[Entry]) -> String {
    serde_json::json!({ "include": entries }).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn specs(count: usize, dir: &str) -> Vec<PathBuf> {
        let root = std::env::temp_dir().join(format!("list-{dir}-{}", std::process::id()));
        std::fs::create_dir_all(&root).expect("a directory");
        let example =
            std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/quickstart.yaml");
        let source = std::fs::read_to_string(example).expect("the quickstart");
        (0..count)
            .map(|i| {
                let path = root.join(format!("stack-{i:02}.yaml"));
                let text = source.replace("stack: quickstart", &format!("stack: cache-{i:02}"));
                std::fs::write(&path, text).expect("written");
                path
            })
            .collect()
    }

    #[test]
    fn one_two_and_fifty_specs_make_valid_matrices() {
        for count in [1, 2, 50] {
            let entries = matrix(&specs(count, &format!("n{count}"))).expect("a matrix");
            let json: serde_json::Value =
                serde_json::from_str(&matrix_json(&entries)).expect("JSON");
            let include = json["include"].as_array().expect("include");
            assert_eq!(include.len(), count);
            for entry in include {
                assert!(entry["spec"].as_str().is_some_and(|s| s.ends_with(".yaml")));
                assert!(
                    entry["stack"]
                        .as_str()
                        .is_some_and(|s| s.starts_with("cache-"))
                );
                assert_eq!(entry["region"], "us-east-1");
            }
        }
    }

    #[test]
    fn a_stack_in_two_specs_and_an_invalid_spec_are_each_named() {
        let mut paths = specs(2, "dup");
        paths.push(paths[0].clone());
        let bad = paths[0].with_file_name("bad.yaml");
        std::fs::write(&bad, "stack: Not_Valid\n").expect("written");
        paths.push(bad);
        let problems = matrix(&paths).expect_err("refused");
        assert_eq!(problems.len(), 2, "{problems:?}");
        assert!(
            problems
                .iter()
                .any(|p| p.contains("both describe stack cache-00"))
        );
        assert!(problems.iter().any(|p| p.contains("bad.yaml")));
        assert!(matrix(&[]).is_err());
    }
}
