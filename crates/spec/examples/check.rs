//! Prints what the spec crate says about each file given: `cargo run -p elasticache-action-spec --example check -- a.yaml b.yaml`.
fn main() {
    for path in std::env::args().skip(1) {
        match spec::load(std::path::Path::new(&path)) {
            Ok(spec) => println!("{path}: valid ({})", spec.stack),
            Err(errors) => println!("{errors}"),
        }
    }
}
