//! The repository's workflows (and the examples users copy) run on runners that exist:
//! every `runs-on` label, matrix values included, is in `.github/runner-labels.txt`.
//! GitHub retired `macos-13` on 2025-12-08 and, with it, every release of this project
//! until the label was replaced; this fails here first.

use std::path::{Path, PathBuf};

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn known_labels() -> Vec<String> {
    let text = std::fs::read_to_string(root().join(".github/runner-labels.txt")).expect("the list");
    text.lines()
        .map(str::trim)
        .filter(|line| !line.is_empty() && !line.starts_with('#'))
        .map(str::to_owned)
        .collect()
}

fn workflows() -> Vec<PathBuf> {
    let mut files = Vec::new();
    for dir in [".github/workflows", "examples/workflows"] {
        let entries = std::fs::read_dir(root().join(dir)).expect(dir);
        files.extend(entries.map(|e| e.expect("an entry").path()).filter(|p| {
            p.extension()
                .is_some_and(|ext| ext == "yml" || ext == "yaml")
        }));
    }
    files.sort();
    files
}

/// The labels a job may run on: its `runs-on`, or for `${{ matrix.<key> }}` every value
/// the matrix gives `<key>`.
fn labels_of(job: &serde_yaml::Value) -> Vec<String> {
    let runs_on = &job["runs-on"];
    let Some(label) = runs_on.as_str() else {
        // A list of labels (self-hosted runners) is the user's own.
        return Vec::new();
    };
    let Some(key) = label
        .strip_prefix("${{ matrix.")
        .and_then(|rest| rest.strip_suffix(" }}"))
    else {
        return vec![label.to_owned()];
    };
    let matrix = &job["strategy"]["matrix"];
    let mut values: Vec<String> = matrix[key]
        .as_sequence()
        .into_iter()
        .flatten()
        .filter_map(|v| v.as_str().map(str::to_owned))
        .collect();
    for entry in matrix["include"].as_sequence().into_iter().flatten() {
        values.extend(entry[key].as_str().map(str::to_owned));
    }
    assert!(!values.is_empty(), "matrix.{key} has no values");
    values
}

#[test]
fn every_workflow_runs_on_runner_labels_github_still_offers() {
    let known = known_labels();
    assert!(known.iter().any(|l| l == "ubuntu-latest"), "{known:?}");
    assert!(
        !known.iter().any(|l| l == "macos-13"),
        "retired on 2025-12-08"
    );
    let files = workflows();
    assert!(files.len() >= 4, "{files:?}");
    let mut checked = 0;
    for file in files {
        let text = std::fs::read_to_string(&file).expect("readable");
        let workflow: serde_yaml::Value = serde_yaml::from_str(&text).expect("YAML");
        for (name, job) in workflow["jobs"].as_mapping().expect("jobs") {
            for label in labels_of(job) {
                assert!(
                    known.contains(&label),
                    "{}: job {name:?} runs on {label:?}, which is not in .github/runner-labels.txt",
                    file.display()
                );
                checked += 1;
            }
        }
    }
    assert!(checked >= 10, "{checked} labels checked");
}

#[test]
fn a_release_publishes_whatever_built_from_the_source_alone() {
    let text =
        std::fs::read_to_string(root().join(".github/workflows/release.yml")).expect("release");
    let release: serde_yaml::Value = serde_yaml::from_str(&text).expect("YAML");
    for job in ["build", "lambda"] {
        assert_eq!(
            release["jobs"][job]["strategy"]["fail-fast"], false,
            "{job}: one failing target must not cancel the others"
        );
    }
    assert_eq!(release["jobs"]["release"]["if"], "${{ !cancelled() }}");
    assert!(
        !text.contains("rust-cache"),
        "a release restores no build cache"
    );
    let targets: Vec<&str> = release["jobs"]["build"]["strategy"]["matrix"]["include"]
        .as_sequence()
        .expect("targets")
        .iter()
        .filter_map(|entry| entry["target"].as_str())
        .collect();
    let install =
        std::fs::read_to_string(root().join("scripts/action/install.sh")).expect("install");
    for target in targets {
        assert!(install.contains(target), "the install step knows {target}");
    }
}

#[test]
fn the_action_lists_the_specs_as_a_matrix_output() {
    let work = std::env::temp_dir().join(format!("list-action-{}", std::process::id()));
    std::fs::create_dir_all(&work).expect("a directory");
    let outputs = work.join("outputs");
    let _ = std::fs::remove_file(&outputs);
    let run = std::process::Command::new("bash")
        .arg(root().join("scripts/action/run.sh"))
        .current_dir(root())
        .env("ORCHESTRATOR", env!("CARGO_BIN_EXE_orchestrator"))
        .env("INPUT_COMMAND", "list")
        .env("INPUT_SPEC", "examples/quickstart.yaml examples/val*.yaml")
        .env("GITHUB_OUTPUT", &outputs)
        .output()
        .expect("bash");
    assert!(
        run.status.success(),
        "{}",
        String::from_utf8_lossy(&run.stderr)
    );
    let written = std::fs::read_to_string(&outputs).expect("outputs");
    let json = written
        .lines()
        .nth(1)
        .filter(|_| written.starts_with("matrix<<"))
        .expect("the matrix output");
    let matrix: serde_json::Value = serde_json::from_str(json).expect("JSON");
    let stacks: Vec<&str> = matrix["include"]
        .as_array()
        .expect("include")
        .iter()
        .filter_map(|entry| entry["stack"].as_str())
        .collect();
    assert_eq!(stacks, ["quickstart", "dev-cache"]);

    // A stack in two specs is refused before any job would apply it twice.
    let refused = std::process::Command::new(env!("CARGO_BIN_EXE_orchestrator"))
        .args([
            "list",
            "--matrix",
            "examples/quickstart.yaml",
            "examples/quickstart.yaml",
        ])
        .current_dir(root())
        .output()
        .expect("runs");
    assert_eq!(refused.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&refused.stderr).contains("both describe stack quickstart"));
}
