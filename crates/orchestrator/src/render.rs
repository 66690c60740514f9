//! Turning plans and outputs into text for people and JSON for machines.

use std::fmt::Write as _;

use plan::{Action, AttributeChange, Change, Plan};
use stack::{Identity, StackOutputs};

/// ANSI colour, on only when asked for.
#[derive(Debug, Clone, Copy)]
pub struct Style {
    pub colour: bool,
}

impl Style {
    pub fn paint(self, code: &str, text: &str) -> String {
        if self.colour {
            format!("\x1b[{code}m{text}\x1b[0m")
        } else {
            text.to_owned()
        }
    }

    pub fn bold(self, text: &str) -> String {
        self.paint("1", text)
    }

    pub fn red(self, text: &str) -> String {
        self.paint("31", text)
    }

    fn action(self, action: Action) -> String {
        let code = match action {
            Action::Create => "32",
            Action::Update => "33",
            Action::Replace => "35",
            Action::Delete => "31",
            Action::NoOp => "0",
        };
        self.paint(code, action.sign())
    }
}

/// The plan as a person reads it: one line per changed resource, attribute diffs
/// beneath, the closing count.
pub fn plan_text(plan: &Plan, identity: &Identity, style: Style) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "{}\n",
        style.bold(&format!(
            "Stack {} · account {} · {}",
            plan.stack, identity.account, identity.region
        ))
    );
    for change in plan.changes.iter().filter(|c| c.is_change()) {
        change_text(&mut out, change, style);
    }
    for warning in &plan.warnings {
        let _ = writeln!(out, "{} {warning}", style.paint("33", "Warning:"));
    }
    if plan.has_changes() || !plan.warnings.is_empty() {
        out.push('\n');
    }
    let _ = writeln!(out, "{}", style.bold(&plan.summary().to_string()));
    out
}

/// The monthly cost under the plan's count: the change, then one row per resource and
/// the notes; nothing when not asked for.
pub fn cost_text(cost: Option<&cost::CostReport>, style: Style) -> String {
    let mut out = String::new();
    let estimate = match cost {
        None => return out,
        Some(cost::CostReport::Unavailable(reason)) => {
            let _ = writeln!(
                out,
                "{} {reason} (the plan is complete without it; --no-cost skips pricing)",
                style.paint("33", "Cost unavailable:")
            );
            return out;
        }
        Some(cost::CostReport::Estimated(estimate)) => estimate,
    };
    let _ = writeln!(
        out,
        "{} {}  ({})",
        style.bold("Cost:"),
        style.bold(&estimate.headline()),
        estimate.basis()
    );
    let rows = estimate.rows();
    let label = |row: &cost::Row| match row.estimate {
        true => format!("{} (estimate)", row.resource),
        false => row.resource.to_owned(),
    };
    let width = rows.iter().map(|r| label(r).len()).max().unwrap_or(0);
    let quantity_width = rows
        .iter()
        .map(|r| r.quantity.chars().count())
        .max()
        .unwrap_or(0);
    for row in &rows {
        let _ = writeln!(
            out,
            "  {:width$}  {:quantity_width$}  {:>10} → {:>10}  {:>11}",
            label(row),
            row.quantity,
            row.before,
            row.after,
            row.change
        );
    }
    for note in estimate.notes() {
        let _ = writeln!(out, "  {note}");
    }
    out
}

/// When each credential was last rotated, one line each (nothing for a stack whose
/// credentials were never rotated).
pub fn rotations_text(outputs: &stack::StackOutputs) -> String {
    let mut out = String::new();
    for (secret, at) in &outputs.last_rotated {
        let at = humantime::format_rfc3339_seconds(*at);
        let _ = writeln!(out, "Credential in secret {secret}: last rotated {at}");
    }
    out
}

fn change_text(out: &mut String, change: &Change, style: Style) {
    let _ = write!(out, "  {} {}", style.action(change.action), change.resource);
    let forced: Vec<&str> = change.replaced_by().collect();
    if !forced.is_empty() {
        let _ = write!(
            out,
            "  {}",
            style.paint("35", &format!("({} forces replacement)", forced.join(", ")))
        );
    }
    out.push('\n');
    let width = change
        .attributes
        .iter()
        .map(|a| a.name.len())
        .max()
        .unwrap_or(0);
    for attribute in &change.attributes {
        let _ = writeln!(
            out,
            "      {:width$}  {}",
            attribute.name,
            attribute_text(attribute)
        );
    }
}

fn attribute_text(attribute: &AttributeChange) -> String {
    match (&attribute.before, &attribute.after) {
        (None, Some(after)) => format!("= {after}"),
        (Some(before), None) => format!("= {before}"),
        (Some(before), Some(after)) => format!("{before} → {after}"),
        (None, None) => String::new(),
    }
}

/// Policy findings as a person reads them: failures and waivers, each with its fix.
pub fn findings_text(findings: &[findings::Finding], style: Style) -> String {
    let mut out = String::new();
    let shown: Vec<&findings::Finding> = findings
        .iter()
        .filter(|f| f.status != findings::Status::Pass)
        .collect();
    if shown.is_empty() {
        let _ = writeln!(out, "Policy: all {} checks pass.", findings.len());
        return out;
    }
    let _ = writeln!(out, "{}", style.bold("Policy findings:"));
    for finding in shown {
        let label = match &finding.status {
            findings::Status::Waived(_) => "waived".to_owned(),
            _ => finding.severity.to_string().to_uppercase(),
        };
        let label = if finding.failed() {
            style.red(&format!("{label:<7}"))
        } else {
            format!("{label:<7}")
        };
        let _ = writeln!(
            out,
            "  {label} {} {}: {}",
            finding.rule, finding.resource, finding.message
        );
        match &finding.status {
            findings::Status::Waived(reason) => {
                let _ = writeln!(out, "          reason: {reason}");
            }
            _ => {
                let _ = writeln!(out, "          fix: {}", finding.fix);
            }
        }
    }
    out
}

/// Outputs as `name = value` lines.
pub fn outputs_text(outputs: &StackOutputs, style: Style) -> String {
    let entries = outputs.entries();
    let width = entries
        .iter()
        .map(|(name, _)| name.len())
        .max()
        .unwrap_or(0);
    let mut out = format!("{}\n", style.bold("Outputs:"));
    for (name, value) in entries {
        let _ = writeln!(out, "  {name:width$} = {value}");
    }
    out
}

/// Outputs as a JSON object.
pub fn outputs_json(outputs: &StackOutputs) -> serde_json::Value {
    let map: serde_json::Map<String, serde_json::Value> = outputs
        .entries()
        .into_iter()
        .map(|(name, value)| (name, serde_json::Value::String(value)))
        .collect();
    serde_json::Value::Object(map)
}

#[cfg(test)]
mod tests {
    use plan::{Diff, ResourceId, Value};

    use super::*;

    fn identity() -> Identity {
        Identity {
            account: "123456789012".into(),
            region: "us-east-1".into(),
        }
    }

    #[test]
    fn text_shows_signs_diffs_and_the_count() {
        let mut plan = Plan::new("demo");
        plan.extend(
            [
                Change::create(
                    ResourceId::new("vpc", "demo"),
                    vec![("cidr_block", Value::from("10.0.0.0/16"))],
                ),
                Diff::new(ResourceId::new("subnet", "demo-a"))
                    .replacing(
                        "cidr_block",
                        Value::from("10.0.1.0/24"),
                        Value::from("10.0.9.0/24"),
                    )
                    .finish(),
                Diff::new(ResourceId::new("security_group", "demo-cache")).finish(),
            ],
            ["a warning".to_owned()],
        );
        let text = plan_text(&plan, &identity(), Style { colour: false });
        assert_eq!(
            text,
            "Stack demo · account 123456789012 · us-east-1\n\n\
             \x20 + vpc demo\n\
             \x20     cidr_block  = \"10.0.0.0/16\"\n\
             \x20 -/+ subnet demo-a  (cidr_block forces replacement)\n\
             \x20     cidr_block  \"10.0.1.0/24\" → \"10.0.9.0/24\"\n\
             Warning: a warning\n\n\
             Plan: 1 to add, 0 to change, 1 to replace, 0 to destroy.\n"
        );
    }

    #[test]
    fn an_empty_plan_says_no_changes() {
        let text = plan_text(&Plan::new("demo"), &identity(), Style { colour: false });
        assert!(text.ends_with("No changes.\n"), "{text}");
    }
}
