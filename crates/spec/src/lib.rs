/*!
The `spec.yaml` model of an ElastiCache stack: the data types, strict parsing with errors
that name the file, field path and line, semantic validation of every rule that can be
checked without calling AWS, and the JSON Schema editors use to autocomplete specs.

This crate owns what a spec *means*; it does not know how any resource is observed or
created (the step crates do) and makes no AWS call. Secondary exports: [`names`], the
deterministic resource names every step derives from the stack name.

```
let source = r#"
stack: orders-cache
region: eu-west-1
engine: { name: valkey, version: "8.0" }
node_type: cache.t4g.small
network:
  create:
    vpc_cidr: 10.20.0.0/16
    subnets:
      - { availability_zone: eu-west-1a, cidr: 10.20.1.0/24 }
      - { availability_zone: eu-west-1b, cidr: 10.20.2.0/24 }
  allow: { cidrs: [10.0.0.0/8] }
"#;
let spec = spec::parse(source, "spec.yaml").expect("a valid spec");
assert_eq!(spec.stack, "orders-cache");
assert!(spec.encryption.in_transit);
```
*/
#![deny(missing_docs)]

mod error;
mod locate;
mod model;
pub mod names;
mod parse;
mod validate;
mod values;

pub use error::{SpecError, SpecErrors};
pub use locate::{PathIndex, Position};
pub use model::*;
pub use parse::{MAX_SPEC_BYTES, load, parse, source_name};
pub use validate::{LOG_RETENTION_DAYS, replication_group_id_problem};
pub use values::{Cidr, EngineVersion, ParameterValue};

/// The tag key every resource of a stack carries, with the stack name as its value.
pub const STACK_TAG: &str = "elasticache-action:stack";

/// The spec's JSON Schema (draft 2020-12), for editors and for `orchestrator schema`.
pub fn json_schema() -> serde_json::Value {
    serde_json::Value::from(schemars::schema_for!(Spec))
}
