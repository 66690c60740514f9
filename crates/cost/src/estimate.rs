//! The priced bills before and after a plan, and the words every front end shows for
//! them (one place, so the text, the JSON and the PR comment agree).

use serde::Serialize;

use crate::{CURRENCY, Price};

/// One priced part of a bill.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Line {
    /// What it is for: `cache nodes`, `backup storage`, `KMS key`, `secrets`,
    /// `interface endpoints`, `rotation function`.
    pub resource: &'static str,
    /// How much of it: `9 × cache.r7g.large (Valkey)`.
    pub quantity: String,
    /// USD a month; `None` when the Price List had no price for it.
    pub monthly: Option<f64>,
    /// Whether the amount rests on an assumption (named in `note`).
    pub estimate: bool,
    /// The assumption, or why there is no price.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
    /// The prices it was computed from.
    pub prices: Vec<Price>,
}

/// A stack's monthly bill: its lines in a fixed order.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Bill {
    /// The lines.
    pub lines: Vec<Line>,
}

impl Bill {
    /// The sum of the priced lines, USD a month.
    pub fn total(&self) -> f64 {
        self.lines.iter().filter_map(|l| l.monthly).sum()
    }

    /// Lines the Price List had no price for.
    pub fn unpriced(&self) -> impl Iterator<Item = &Line> {
        self.lines.iter().filter(|l| l.monthly.is_none())
    }

    fn line(&self, resource: &str) -> Option<&Line> {
        self.lines.iter().find(|l| l.resource == resource)
    }
}

/// One resource's line before and after.
#[derive(Debug, Clone, PartialEq)]
pub struct LineChange<'a> {
    /// The resource.
    pub resource: &'static str,
    /// Its line now, if the stack has it.
    pub before: Option<&'a Line>,
    /// Its line after the plan, if the stack will have it.
    pub after: Option<&'a Line>,
}

impl LineChange<'_> {
    /// After minus before, USD a month (an unpriced side counts as zero).
    pub fn change(&self) -> f64 {
        let monthly = |l: Option<&Line>| l.and_then(|l| l.monthly).unwrap_or(0.0);
        monthly(self.after) - monthly(self.before)
    }
}

/// What the stack costs now and after the plan.
#[derive(Debug, Clone, PartialEq)]
pub struct Estimate {
    /// The region priced.
    pub region: String,
    /// The bill of what exists.
    pub before: Bill,
    /// The bill of what the plan leaves.
    pub after: Bill,
}

impl Estimate {
    /// Each resource either bill has, in the bills' order.
    pub fn changes(&self) -> Vec<LineChange<'_>> {
        let mut resources: Vec<&'static str> = Vec::new();
        for line in self.before.lines.iter().chain(&self.after.lines) {
            if !resources.contains(&line.resource) {
                resources.push(line.resource);
            }
        }
        resources
            .into_iter()
            .map(|resource| LineChange {
                resource,
                before: self.before.line(resource),
                after: self.after.line(resource),
            })
            .collect()
    }

    /// After minus before, USD a month.
    pub fn change(&self) -> f64 {
        self.after.total() - self.before.total()
    }

    /// `+$412.34/month (from $0.00 to $412.34)`; `no change ($412.34/month)`; either
    /// followed by `, without cache nodes (no price)` when a line has no price.
    pub fn headline(&self) -> String {
        let (before, after) = (self.before.total(), self.after.total());
        let mut unpriced: Vec<&str> = Vec::new();
        for line in self.before.unpriced().chain(self.after.unpriced()) {
            if !unpriced.contains(&line.resource) {
                unpriced.push(line.resource);
            }
        }
        let gaps = match unpriced.is_empty() {
            true => String::new(),
            false => format!(", without {} (no price)", unpriced.join(", ")),
        };
        if cents(after - before) == 0 {
            return format!("no change ({}/month){gaps}", dollars(after));
        }
        format!(
            "{}/month (from {} to {}){gaps}",
            signed_dollars(after - before),
            dollars(before),
            dollars(after)
        )
    }

    /// What the totals leave out: unpriced lines, named.
    pub fn gaps(&self) -> Vec<String> {
        described(self.before.unpriced().chain(self.after.unpriced()))
    }
}

/// `resource: note` for each line, each once (`no price` for an unpriced line without
/// a note).
fn described<'a>(lines: impl Iterator<Item = &'a Line>) -> Vec<String> {
    let mut described: Vec<String> = Vec::new();
    for line in lines {
        let text = format!(
            "{}: {}",
            line.resource,
            line.note.as_deref().unwrap_or("no price")
        );
        if !described.contains(&text) {
            described.push(text);
        }
    }
    described
}

/// One resource's line as every front end shows it: amounts written out.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Row {
    /// The resource, `backup storage`.
    pub resource: &'static str,
    /// How much of it after the plan (or now, if the plan removes it).
    pub quantity: String,
    /// Whether the amount is an estimate.
    pub estimate: bool,
    /// `$12.00`, or `—` for a side without the resource, `?` for a side without a price.
    pub before: String,
    /// As `before`, after the plan.
    pub after: String,
    /// `+$12.00`.
    pub change: String,
}

impl Estimate {
    /// Every resource's row, in the bills' order.
    pub fn rows(&self) -> Vec<Row> {
        let side = |line: Option<&Line>| match line {
            None => "—".to_owned(),
            Some(Line { monthly: None, .. }) => "?".to_owned(),
            Some(Line {
                monthly: Some(m), ..
            }) => dollars(*m),
        };
        self.changes()
            .iter()
            .map(|c| {
                let shown = c.after.or(c.before);
                Row {
                    resource: c.resource,
                    quantity: shown.map(|l| l.quantity.clone()).unwrap_or_default(),
                    estimate: shown.is_some_and(|l| l.estimate),
                    before: side(c.before),
                    after: side(c.after),
                    change: signed_dollars(c.change()),
                }
            })
            .collect()
    }

    /// Every line's note (an assumption, or why it has no price), as
    /// `resource: note`, each once.
    pub fn notes(&self) -> Vec<String> {
        let lines = self.before.lines.iter().chain(&self.after.lines);
        described(lines.filter(|l| l.note.is_some()))
    }

    /// What the amounts are: `USD, on-demand list prices in eu-west-1, effective
    /// 2026-11-01` (the latest effective date of the prices used).
    pub fn basis(&self) -> String {
        let effective = self
            .effective()
            .map(|date| format!(", effective {}", date.get(..10).unwrap_or(date)))
            .unwrap_or_default();
        format!(
            "{CURRENCY}, on-demand list prices in {}{effective}",
            self.region
        )
    }

    /// When the prices took effect: the latest effective date of any price used.
    pub fn effective(&self) -> Option<&str> {
        self.before
            .lines
            .iter()
            .chain(&self.after.lines)
            .flat_map(|l| &l.prices)
            .map(|p| p.effective_date.as_str())
            .max()
    }
}

/// A plan's cost, or why there is none.
#[derive(Debug, Clone, PartialEq)]
pub enum CostReport {
    /// Priced.
    Estimated(Estimate),
    /// The Price List could not be read (no permission, offline): the plan is complete
    /// without it.
    Unavailable(String),
}

impl CostReport {
    /// The estimate, if there is one.
    pub fn estimate(&self) -> Option<&Estimate> {
        match self {
            CostReport::Estimated(estimate) => Some(estimate),
            CostReport::Unavailable(_) => None,
        }
    }

    /// The one line a summary shows: the headline, or `cost unavailable: …`.
    pub fn headline(&self) -> String {
        match self {
            CostReport::Estimated(estimate) => estimate.headline(),
            CostReport::Unavailable(reason) => format!("cost unavailable: {reason}"),
        }
    }
}

impl Serialize for CostReport {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let value = match self {
            CostReport::Unavailable(reason) => serde_json::json!({
                "available": false,
                "reason": reason,
            }),
            CostReport::Estimated(estimate) => {
                let resources: Vec<_> = estimate
                    .changes()
                    .iter()
                    .map(|c| {
                        serde_json::json!({
                            "resource": c.resource,
                            "before": c.before,
                            "after": c.after,
                            "monthly_change": round_cents(c.change()),
                        })
                    })
                    .collect();
                serde_json::json!({
                    "available": true,
                    "currency": CURRENCY,
                    "region": estimate.region,
                    "price_type": "on-demand list price",
                    "monthly_before": round_cents(estimate.before.total()),
                    "monthly_after": round_cents(estimate.after.total()),
                    "monthly_change": round_cents(estimate.change()),
                    "resources": resources,
                    "gaps": estimate.gaps(),
                })
            }
        };
        value.serialize(serializer)
    }
}

fn cents(amount: f64) -> i64 {
    (amount * 100.0).round() as i64
}

fn round_cents(amount: f64) -> f64 {
    cents(amount) as f64 / 100.0
}

/// `$1,234.56`.
pub fn dollars(amount: f64) -> String {
    let cents = cents(amount.abs());
    let whole = (cents / 100).to_string();
    let mut grouped = String::new();
    for (i, digit) in whole.chars().enumerate() {
        if i > 0 && (whole.len() - i).is_multiple_of(3) {
            grouped.push(',');
        }
        grouped.push(digit);
    }
    let sign = if amount < 0.0 && cents > 0 { "-" } else { "" };
    format!("{sign}${grouped}.{:02}", cents % 100)
}

/// `+$12.00`, `-$3.50`.
pub fn signed_dollars(amount: f64) -> String {
    match cents(amount) < 0 {
        true => dollars(amount),
        false => format!("+{}", dollars(amount)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn line(resource: &'static str, monthly: Option<f64>) -> Line {
        Line {
            resource,
            quantity: String::new(),
            monthly,
            estimate: false,
            note: monthly
                .is_none()
                .then(|| "no price for cache.x1 in xx-1".into()),
            prices: vec![],
        }
    }

    #[test]
    fn money_is_written_in_cents_with_thousands_and_sign() {
        assert_eq!(dollars(0.0), "$0.00");
        assert_eq!(dollars(412.344), "$412.34");
        assert_eq!(dollars(1234567.891), "$1,234,567.89");
        assert_eq!(dollars(-3.5), "-$3.50");
        assert_eq!(signed_dollars(412.34), "+$412.34");
        assert_eq!(signed_dollars(-0.004), "+$0.00");
        assert_eq!(signed_dollars(-12.0), "-$12.00");
    }

    #[test]
    fn the_headline_says_change_from_and_to() {
        let estimate = Estimate {
            region: "eu-west-1".into(),
            before: Bill::default(),
            after: Bill {
                lines: vec![
                    line("cache nodes", Some(400.0)),
                    line("secrets", Some(12.34)),
                ],
            },
        };
        assert_eq!(
            estimate.headline(),
            "+$412.34/month (from $0.00 to $412.34)"
        );
        let same = Estimate {
            before: estimate.after.clone(),
            ..estimate.clone()
        };
        assert_eq!(same.headline(), "no change ($412.34/month)");
    }

    #[test]
    fn changes_pair_lines_by_resource_and_unpriced_lines_are_gaps() {
        let estimate = Estimate {
            region: "xx-1".into(),
            before: Bill {
                lines: vec![line("cache nodes", Some(100.0)), line("KMS key", Some(1.0))],
            },
            after: Bill {
                lines: vec![line("cache nodes", None), line("secrets", Some(0.4))],
            },
        };
        let changes = estimate.changes();
        let names: Vec<_> = changes.iter().map(|c| c.resource).collect();
        assert_eq!(names, ["cache nodes", "KMS key", "secrets"]);
        assert_eq!(changes[1].change(), -1.0);
        let rows = estimate.rows();
        assert_eq!(
            (rows[0].before.as_str(), rows[0].after.as_str()),
            ("$100.00", "?")
        );
        assert_eq!(
            (rows[2].before.as_str(), rows[2].change.as_str()),
            ("—", "+$0.40")
        );
        assert_eq!(
            estimate.gaps(),
            ["cache nodes: no price for cache.x1 in xx-1"]
        );
        let json = serde_json::to_value(CostReport::Estimated(estimate)).expect("json");
        assert_eq!(json["monthly_before"], 101.0);
        assert_eq!(json["monthly_after"], 0.4);
        assert_eq!(
            json["resources"][0]["after"]["monthly"],
            serde_json::Value::Null
        );
    }
}
