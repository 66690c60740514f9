//! The bad-spec corpus: every file in `tests/bad/` must be rejected, and its message must
//! contain each line of the `.expect` file beside it. The examples must all be accepted.

use std::fs;
use std::path::{Path, PathBuf};

fn files(dir: &Path, extension: &str) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = fs::read_dir(dir)
        .expect("directory exists")
        .map(|entry| entry.expect("readable entry").path())
        .filter(|path| path.extension().is_some_and(|e| e == extension))
        .collect();
    files.sort();
    files
}

#[test]
fn every_bad_spec_is_rejected_with_its_message() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/bad");
    let specs = files(&dir, "yaml");
    assert!(specs.len() >= 30, "the corpus has {} specs", specs.len());
    let mut failures = Vec::new();
    for spec in specs {
        let expected = fs::read_to_string(spec.with_extension("expect")).expect("an .expect file");
        let message = match spec::load(&spec) {
            Ok(_) => {
                failures.push(format!("{}: accepted", spec.display()));
                continue;
            }
            Err(errors) => errors.to_string(),
        };
        for line in expected.lines().filter(|l| !l.is_empty()) {
            if !message.contains(line) {
                failures.push(format!(
                    "{}: missing {line:?} in:\n{message}",
                    spec.display()
                ));
            }
        }
        assert!(
            message.contains(&spec.display().to_string()),
            "names the file: {message}"
        );
    }
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}

#[test]
fn every_example_is_valid() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples");
    let examples = files(&dir, "yaml");
    assert!(!examples.is_empty());
    for example in examples {
        if let Err(errors) = spec::load(&example) {
            panic!("{errors}");
        }
    }
}

#[test]
fn a_missing_file_and_a_binary_file_are_clear_errors() {
    let missing = spec::load(Path::new("no/such/spec.yaml")).expect_err("missing");
    assert!(
        missing
            .to_string()
            .contains("no/such/spec.yaml: cannot read the file"),
        "{missing}"
    );
    let dir = std::env::temp_dir().join(format!("spec-binary-{}", std::process::id()));
    fs::create_dir_all(&dir).expect("temp dir");
    let binary = dir.join("spec.yaml");
    fs::write(&binary, [0x7f, b'E', b'L', b'F', 0, 1, 2]).expect("write");
    let error = spec::load(&binary).expect_err("binary");
    assert!(error.to_string().contains("not a text file"), "{error}");
}

#[test]
fn errors_carry_line_and_column() {
    let source = "stack: demo\nregion: us-east-1\nengine: {name: valkey, version: \"8.0\"}\nnode_type: cache.t4g.micro\nnetwork:\n  create:\n    vpc_cidr: 10.0.0.0/16\n    subnets:\n      - {availability_zone: us-east-1a, cidr: 10.1.0.0/24}\n  allow: {cidrs: [10.0.0.0/8]}\ncluster: {replicas_per_shard: 0}\n";
    let errors = spec::parse(source, "s.yaml").expect_err("subnet outside the VPC");
    let error = &errors.errors[0];
    assert_eq!(error.path, "network.create.subnets[0].cidr");
    assert_eq!((error.line, error.column), (Some(9), Some(41)));
}

fn quickstart() -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/quickstart.yaml");
    fs::read_to_string(path).expect("the quickstart example")
}

fn temp_file(name: &str, bytes: &[u8]) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("spec-corpus-{}", std::process::id()));
    fs::create_dir_all(&dir).expect("temp dir");
    let path = dir.join(name);
    fs::write(&path, bytes).expect("write");
    path
}

#[test]
fn a_password_in_an_access_string_is_never_repeated() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/bad/access-password.yaml");
    let errors = spec::load(&path).expect_err("refused");
    let shown = format!("{errors}\n{errors:?}");
    assert!(!shown.contains("hunter2"), "{shown}");
}

#[test]
fn files_over_a_mebibyte_are_refused_before_parsing() {
    let mut big = quickstart().into_bytes();
    big.resize(spec::MAX_SPEC_BYTES as usize + 1, b'#');
    let error = spec::load(&temp_file("big.yaml", &big)).expect_err("too big");
    assert!(error.to_string().contains("larger than 1 MiB"), "{error}");
    let zero = spec::load(Path::new("/dev/zero")).expect_err("endless");
    assert!(zero.to_string().contains("larger than 1 MiB"), "{zero}");
}

#[test]
fn thousands_of_mistakes_print_fifty_and_a_count() {
    let mut source = quickstart();
    source.push_str("auth:\n  mode: rbac\n  users:\n");
    for i in 0..20_000 {
        source.push_str(&format!(
            "    - {{name: \"bad name {i}\", access: \"on ~* +@all\"}}\n"
        ));
    }
    let errors = spec::parse(&source, "many.yaml").expect_err("refused");
    assert!(errors.errors.len() > 20_000, "{}", errors.errors.len());
    let shown = errors.to_string();
    assert_eq!(shown.lines().count(), 1 + 50 + 1, "{shown}");
    assert!(
        shown.ends_with(&format!("and {} more", errors.errors.len() - 50)),
        "{shown}"
    );
}

#[test]
fn a_byte_order_mark_and_an_empty_trailing_document_are_accepted() {
    let with_bom = format!("\u{feff}{}", quickstart());
    spec::parse(&with_bom, "bom.yaml").expect("a BOM is accepted");
    let trailing = format!("{}---\n", quickstart());
    spec::parse(&trailing, "trailing.yaml").expect("an empty trailing document");
    let loaded = spec::load(&temp_file("bom.yaml", with_bom.as_bytes()));
    loaded.expect("a BOM is accepted from a file");
}
