/*!
The plan vocabulary every step speaks: which resource ([`ResourceId`]), what happens to it
([`Action`]), which attributes change and how ([`AttributeChange`], [`Value`]), and the
whole stack's [`Plan`] with its one-line [`Summary`].

A plan is a value: the orchestrator renders it for people, serialises it as JSON and
posts it to pull requests; nothing here prints or calls AWS. Secondary exports:
[`Known`], for outputs of an earlier step that do not exist until apply, and
[`Sensitive`], a secret that can be carried through a step but only ever renders as
`(sensitive)`.

Architecture invariant: a [`Value`] cannot hold a secret. The only way a secret enters
a plan is [`Value::Sensitive`], which carries no payload.

```
use plan::{Change, Diff, ResourceId, Value};

let vpc = ResourceId::new("vpc", "orders-cache");
let change = Diff::new(vpc)
    .attribute("enable_dns_hostnames", Value::from(false), Value::from(true))
    .replacing("cidr_block", Value::from("10.0.0.0/16"), Value::from("10.0.0.0/16"))
    .finish();
assert_eq!(change.action, plan::Action::Update);
```
*/
#![deny(missing_docs)]

mod known;
mod sensitive;
pub mod tags;
mod value;

use std::fmt;

use serde::{Deserialize, Serialize};

pub use known::Known;
pub use sensitive::Sensitive;
pub use value::Value;

/// A resource a step manages, by kind and deterministic name.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct ResourceId {
    /// The kind, such as `vpc`, `subnet`, `cache_subnet_group`.
    pub kind: String,
    /// The name the stack gives it (its `Name` tag, alias or identifier).
    pub name: String,
}

impl ResourceId {
    /// A resource of `kind` named `name`.
    pub fn new(kind: impl Into<String>, name: impl Into<String>) -> Self {
        ResourceId {
            kind: kind.into(),
            name: name.into(),
        }
    }
}

impl fmt::Display for ResourceId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.kind, self.name)
    }
}

/// What happens to a resource.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Action {
    /// Nothing: it exists as wanted.
    NoOp,
    /// It does not exist and will be created.
    Create,
    /// It exists and some attributes change in place.
    Update,
    /// It exists, and an attribute AWS cannot change forces a new one.
    Replace,
    /// It exists and will be deleted.
    Delete,
}

impl Action {
    /// The one-or-three-character sign Terraform users know: `+`, `~`, `-/+`, `-`.
    pub fn sign(self) -> &'static str {
        match self {
            Action::NoOp => " ",
            Action::Create => "+",
            Action::Update => "~",
            Action::Replace => "-/+",
            Action::Delete => "-",
        }
    }
}

/// One attribute's change. `None` means the attribute is absent on that side.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AttributeChange {
    /// The attribute, as the step names it (`cidr_block`, `retention_days`).
    pub name: String,
    /// Its current value.
    pub before: Option<Value>,
    /// Its value after apply.
    pub after: Option<Value>,
    /// Whether changing it forces a new resource.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub forces_replacement: bool,
}

/// What a step will do to one resource.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Change {
    /// The resource.
    pub resource: ResourceId,
    /// What happens to it.
    pub action: Action,
    /// The attributes that change (all of them for a create or a delete).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub attributes: Vec<AttributeChange>,
}

impl Change {
    /// A resource to create with these attributes.
    pub fn create(resource: ResourceId, attributes: Vec<(&str, Value)>) -> Self {
        Change {
            resource,
            action: Action::Create,
            attributes: attributes
                .into_iter()
                .map(|(name, after)| AttributeChange {
                    name: name.to_owned(),
                    before: None,
                    after: Some(after),
                    forces_replacement: false,
                })
                .collect(),
        }
    }

    /// A resource to delete, showing what it had.
    pub fn delete(resource: ResourceId, attributes: Vec<(&str, Value)>) -> Self {
        Change {
            resource,
            action: Action::Delete,
            attributes: attributes
                .into_iter()
                .map(|(name, before)| AttributeChange {
                    name: name.to_owned(),
                    before: Some(before),
                    after: None,
                    forces_replacement: false,
                })
                .collect(),
        }
    }

    /// Whether anything happens.
    pub fn is_change(&self) -> bool {
        self.action != Action::NoOp
    }

    /// The attributes that force this replacement.
    pub fn replaced_by(&self) -> impl Iterator<Item = &str> {
        self.attributes
            .iter()
            .filter(|a| a.forces_replacement)
            .map(|a| a.name.as_str())
    }
}

/// Builds the change for a resource that exists, attribute by attribute: equal values
/// are dropped, any attribute marked as replacing turns the update into a replacement.
#[derive(Debug)]
pub struct Diff {
    resource: ResourceId,
    attributes: Vec<AttributeChange>,
}

impl Diff {
    /// Starts comparing `resource`.
    pub fn new(resource: ResourceId) -> Self {
        Diff {
            resource,
            attributes: Vec::new(),
        }
    }

    /// An attribute that can change in place.
    pub fn attribute(self, name: &str, before: Value, after: Value) -> Self {
        self.push(name, before, after, false)
    }

    /// An attribute AWS cannot change: a difference forces a replacement.
    pub fn replacing(self, name: &str, before: Value, after: Value) -> Self {
        self.push(name, before, after, true)
    }

    fn push(mut self, name: &str, before: Value, after: Value, forces: bool) -> Self {
        if !before.same_as(&after) {
            self.attributes.push(AttributeChange {
                name: name.to_owned(),
                before: Some(before),
                after: Some(after),
                forces_replacement: forces,
            });
        }
        self
    }

    /// The `tags` attribute of an existing resource: `current` before, and after, the
    /// tags once `wanted` are set on it (tags others added stay).
    pub fn tags(self, current: &tags::Tags, wanted: &tags::Tags) -> Self {
        let (before, after) = tags::tags_change(current, wanted);
        self.attribute("tags", before, after)
    }

    /// Whether any attribute differs.
    pub fn has_changes(&self) -> bool {
        !self.attributes.is_empty()
    }

    /// The change: no-op, update or replacement.
    pub fn finish(self) -> Change {
        let action = if self.attributes.is_empty() {
            Action::NoOp
        } else if self.attributes.iter().any(|a| a.forces_replacement) {
            Action::Replace
        } else {
            Action::Update
        };
        Change {
            resource: self.resource,
            action,
            attributes: self.attributes,
        }
    }
}

/// Everything that would change in one stack.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Plan {
    /// The stack's name.
    pub stack: String,
    /// Every resource the stack manages, in the order apply visits them.
    pub changes: Vec<Change>,
    /// Things the user should know that are not changes (a kept log group, a policy the
    /// stack cannot fix).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub warnings: Vec<String>,
}

impl Plan {
    /// An empty plan for `stack`.
    pub fn new(stack: impl Into<String>) -> Self {
        Plan {
            stack: stack.into(),
            ..Plan::default()
        }
    }

    /// Adds one step's changes and warnings.
    pub fn extend(
        &mut self,
        changes: impl IntoIterator<Item = Change>,
        warnings: impl IntoIterator<Item = String>,
    ) {
        self.changes.extend(changes);
        self.warnings.extend(warnings);
    }

    /// The counts for the closing line.
    pub fn summary(&self) -> Summary {
        let count = |action| self.changes.iter().filter(|c| c.action == action).count();
        Summary {
            add: count(Action::Create),
            change: count(Action::Update),
            replace: count(Action::Replace),
            destroy: count(Action::Delete),
        }
    }

    /// Whether applying this plan would change anything.
    pub fn has_changes(&self) -> bool {
        self.changes.iter().any(Change::is_change)
    }

    /// The replacements, which apply refuses unless the user allows them.
    pub fn replacements(&self) -> impl Iterator<Item = &Change> {
        self.changes.iter().filter(|c| c.action == Action::Replace)
    }
}

/// How many resources each kind of change touches.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Summary {
    /// Resources created.
    pub add: usize,
    /// Resources updated in place.
    pub change: usize,
    /// Resources replaced.
    pub replace: usize,
    /// Resources deleted.
    pub destroy: usize,
}

impl fmt::Display for Summary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if *self == Summary::default() {
            return f.write_str("No changes.");
        }
        write!(
            f,
            "Plan: {} to add, {} to change, {} to replace, {} to destroy.",
            self.add, self.change, self.replace, self.destroy
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vpc() -> ResourceId {
        ResourceId::new("vpc", "demo")
    }

    #[test]
    fn equal_attributes_make_no_change() {
        let change = Diff::new(vpc())
            .attribute("a", Value::from(1), Value::from(1))
            .finish();
        assert_eq!(change.action, Action::NoOp);
        assert!(change.attributes.is_empty());
    }

    #[test]
    fn a_replacing_attribute_turns_an_update_into_a_replacement() {
        let change = Diff::new(vpc())
            .attribute("a", Value::from(1), Value::from(2))
            .replacing(
                "cidr",
                Value::from("10.0.0.0/16"),
                Value::from("10.1.0.0/16"),
            )
            .finish();
        assert_eq!(change.action, Action::Replace);
        assert_eq!(change.replaced_by().collect::<Vec<_>>(), ["cidr"]);
    }

    #[test]
    fn unknown_values_are_changes() {
        let change = Diff::new(vpc())
            .attribute("kms_key", Value::from("k1"), Value::Unknown)
            .finish();
        assert_eq!(change.action, Action::Update);
    }

    #[test]
    fn summary_counts_each_action() {
        let mut plan = Plan::new("demo");
        assert_eq!(plan.summary().to_string(), "No changes.");
        plan.extend(
            [
                Change::create(vpc(), vec![]),
                Change::delete(ResourceId::new("subnet", "a"), vec![]),
                Diff::new(vpc())
                    .replacing("x", Value::from(1), Value::from(2))
                    .finish(),
            ],
            [],
        );
        assert_eq!(
            plan.summary().to_string(),
            "Plan: 1 to add, 0 to change, 1 to replace, 1 to destroy."
        );
        assert!(plan.has_changes());
    }
}
