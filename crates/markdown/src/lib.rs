/*!
A stack's plan and policy findings as GitHub-flavoured markdown, for the one pull-request
comment per stack that the action keeps up to date and for the job summary.

The report leads with the one-line count, calls out deletions and replacements first,
lists every changed resource in a table, folds attribute diffs into `<details>`, shows
policy findings, and ends with a footer carrying the commit and a hidden marker
([`marker`]) by which the comment is found again. Secrets are redacted by construction:
a plan cannot hold them (see `plan::Value::Sensitive`). A report longer than GitHub's
comment limit drops attribute details first, then resources, and says where the full
plan is.

This crate renders; it does not talk to GitHub (the orchestrator does).
*/
#![deny(missing_docs)]

use std::fmt::Write as _;

use findings::{Finding, Status};
use plan::{Action, Change, Plan};

/// GitHub's limit on a comment's body, in characters.
pub const COMMENT_LIMIT: usize = 65_536;

/// Everything one stack's report shows.
#[derive(Debug, Clone, Copy)]
pub struct Report<'a> {
    /// The plan.
    pub plan: &'a Plan,
    /// The AWS account the plan was made in.
    pub account: &'a str,
    /// The region.
    pub region: &'a str,
    /// Policy findings for the spec.
    pub findings: &'a [Finding],
    /// The spec file, as the workflow names it.
    pub spec_path: &'a str,
    /// The commit the plan was made for.
    pub commit: Option<&'a str>,
    /// Where the full plan can be read when the comment is truncated.
    pub full_plan_at: &'a str,
    /// The monthly cost, when it was asked for.
    pub cost: Option<&'a cost::CostReport>,
}

/// The hidden HTML marker that identifies a stack's comment.
pub fn marker(stack: &str) -> String {
    format!("<!-- elasticache-action:stack={stack} -->")
}

/// The report, at most `limit` characters long.
pub fn render(report: &Report<'_>, limit: usize) -> String {
    for detail in [Detail::Full, Detail::NoAttributes, Detail::Summary] {
        let text = render_with(report, detail);
        if text.chars().count() <= limit {
            return text;
        }
    }
    // Even the summary is too long (thousands of resources): cut it at a line.
    let text = render_with(report, Detail::Summary);
    let footer = footer(report, true);
    let budget = limit.saturating_sub(footer.chars().count() + 1);
    let mut cut: String = text.chars().take(budget).collect();
    if let Some(end) = cut.rfind('\n') {
        cut.truncate(end + 1);
    }
    cut + &footer
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Detail {
    Full,
    NoAttributes,
    Summary,
}

fn render_with(report: &Report<'_>, detail: Detail) -> String {
    let plan = report.plan;
    let mut out = String::new();
    let _ = writeln!(out, "## ElastiCache stack `{}`\n", plan.stack);
    let _ = writeln!(
        out,
        "**{}** · account `{}` · `{}` · spec `{}`\n",
        plan.summary(),
        report.account,
        report.region,
        report.spec_path
    );
    if let Some(report) = report.cost {
        cost_section(&mut out, report, detail != Detail::Summary);
    }
    destructive(&mut out, plan);
    let changes: Vec<&Change> = plan.changes.iter().filter(|c| c.is_change()).collect();
    if !changes.is_empty() && detail != Detail::Summary {
        table(&mut out, &changes);
    }
    if detail == Detail::Full {
        attributes(&mut out, &changes);
    }
    for warning in &plan.warnings {
        let _ = writeln!(out, "> [!NOTE]\n> {}\n", escape(warning));
    }
    findings_section(&mut out, report.findings);
    out + &footer(report, detail != Detail::Full)
}

/// The cost line under the count and, unless the comment is cut to its summary, the
/// table per resource.
fn cost_section(out: &mut String, report: &cost::CostReport, table: bool) {
    let estimate = match report {
        cost::CostReport::Unavailable(reason) => {
            let _ = writeln!(out, "**Cost unavailable:** {}\n", escape(reason));
            return;
        }
        cost::CostReport::Estimated(estimate) => estimate,
    };
    let _ = writeln!(out, "**{}**\n", estimate.headline());
    if !table {
        return;
    }
    let _ = writeln!(
        out,
        "<details><summary>Monthly cost per resource ({})</summary>\n",
        estimate.basis()
    );
    let _ = writeln!(
        out,
        "| resource | quantity | now | after | change |\n|---|---|--:|--:|--:|"
    );
    for row in estimate.rows() {
        let mark = if row.estimate { " (estimate)" } else { "" };
        let _ = writeln!(
            out,
            "| {}{mark} | {} | {} | {} | {} |",
            row.resource,
            escape(&row.quantity),
            row.before,
            row.after,
            row.change
        );
    }
    for note in estimate.notes() {
        let _ = writeln!(out, "\n- {}", escape(&note));
    }
    out.push_str("\n</details>\n\n");
}

fn destructive(out: &mut String, plan: &Plan) {
    let risky: Vec<&Change> = plan
        .changes
        .iter()
        .filter(|c| matches!(c.action, Action::Delete | Action::Replace))
        .collect();
    if risky.is_empty() {
        return;
    }
    let _ = writeln!(
        out,
        "> [!WARNING]\n> This plan deletes or replaces {} resource(s):",
        risky.len()
    );
    for change in risky {
        let verb = if change.action == Action::Delete {
            "deleted"
        } else {
            "replaced"
        };
        let forced: Vec<&str> = change.replaced_by().collect();
        let why = if forced.is_empty() {
            String::new()
        } else {
            format!(" (`{}` cannot change in place)", forced.join("`, `"))
        };
        let _ = writeln!(out, "> - `{}` is **{verb}**{why}", change.resource);
    }
    out.push('\n');
}

fn table(out: &mut String, changes: &[&Change]) {
    let _ = writeln!(out, "| | resource | action |\n|---|---|---|");
    for change in changes {
        let _ = writeln!(
            out,
            "| `{}` | `{}` | {} |",
            change.action.sign(),
            escape(&change.resource.to_string()),
            action_word(change.action)
        );
    }
    out.push('\n');
}

fn attributes(out: &mut String, changes: &[&Change]) {
    for change in changes.iter().filter(|c| !c.attributes.is_empty()) {
        let _ = writeln!(
            out,
            "<details><summary><code>{} {}</code></summary>\n\n```diff",
            change.action.sign(),
            html(&change.resource.to_string())
        );
        for attribute in &change.attributes {
            let forced = if attribute.forces_replacement {
                "  # forces replacement"
            } else {
                ""
            };
            if let Some(before) = &attribute.before
                && change.action != Action::Create
            {
                let _ = writeln!(out, "- {} = {before}{forced}", attribute.name);
            }
            if let Some(after) = &attribute.after {
                let _ = writeln!(out, "+ {} = {after}{forced}", attribute.name);
            }
        }
        let _ = writeln!(out, "```\n\n</details>\n");
    }
}

fn findings_section(out: &mut String, findings: &[Finding]) {
    let shown: Vec<&Finding> = findings
        .iter()
        .filter(|f| f.status != Status::Pass)
        .collect();
    if shown.is_empty() {
        if !findings.is_empty() {
            let _ = writeln!(out, "**Policy:** all {} checks pass.\n", findings.len());
        }
        return;
    }
    let failed = shown.iter().filter(|f| f.failed()).count();
    let _ = writeln!(
        out,
        "### Policy findings: {failed} failed, {} waived\n\n| severity | rule | resource | finding | fix |\n|---|---|---|---|---|",
        shown.len() - failed
    );
    for finding in shown {
        let (severity, fix) = match &finding.status {
            Status::Waived(reason) => ("waived".to_owned(), format!("waived: {}", escape(reason))),
            _ => (format!("**{}**", finding.severity), escape(finding.fix)),
        };
        let _ = writeln!(
            out,
            "| {severity} | `{}` | `{}` | {} | {fix} |",
            finding.rule,
            escape(&finding.resource),
            escape(&finding.message)
        );
    }
    out.push('\n');
}

fn footer(report: &Report<'_>, truncated: bool) -> String {
    let mut out = String::new();
    if truncated {
        let _ = writeln!(
            out,
            "_The full plan is too long for a comment; read it in {}._\n",
            report.full_plan_at
        );
    }
    let commit = report
        .commit
        .map(|c| format!(" for `{}`", c.chars().take(12).collect::<String>()))
        .unwrap_or_default();
    let _ = writeln!(out, "<sub>Planned by elasticache-action{commit}.</sub>");
    let _ = writeln!(out, "{}", marker(&report.plan.stack));
    out
}

fn action_word(action: Action) -> &'static str {
    match action {
        Action::Create => "create",
        Action::Update => "update in place",
        Action::Replace => "**replace**",
        Action::Delete => "**delete**",
        Action::NoOp => "none",
    }
}

/// Keeps table cells in one piece.
fn escape(text: &str) -> String {
    text.replace('|', "\\|").replace('\n', " ")
}

fn html(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

#[cfg(test)]
mod tests;
