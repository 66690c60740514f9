//! The shapes of names, ids and times the rules check: pure text predicates and the
//! maintenance and snapshot windows.

/// Why `id` cannot be a replication group id, if it cannot.
pub fn replication_group_id_problem(id: &str) -> Result<(), String> {
    let rule = "1-40 letters, digits and hyphens, starting with a letter, without `--` or a trailing hyphen";
    let ok = (1..=40).contains(&id.len())
        && id.starts_with(|c: char| c.is_ascii_alphabetic())
        && id.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
        && !id.contains("--")
        && !id.ends_with('-');
    if ok {
        Ok(())
    } else {
        Err(format!("`{id}` is not a valid stack name: {rule}"))
    }
}

pub(super) fn is_region(region: &str) -> bool {
    let parts: Vec<&str> = region.split('-').collect();
    parts.len() >= 3
        && parts.iter().all(|p| {
            !p.is_empty()
                && p.chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit())
        })
        && parts
            .last()
            .is_some_and(|p| p.chars().all(|c| c.is_ascii_digit()))
}

pub(super) fn is_zone_of(zone: &str, region: &str) -> bool {
    zone.strip_prefix(region).is_some_and(|rest| {
        !rest.is_empty()
            && rest
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
    })
}

pub(super) fn is_aws_id(id: &str, prefix: &str) -> bool {
    id.strip_prefix(prefix).is_some_and(|hex| {
        (8..=17).contains(&hex.len()) && hex.chars().all(|c| c.is_ascii_hexdigit())
    })
}

pub(super) fn is_user_name(name: &str) -> bool {
    (1..=40).contains(&name.len())
        && name.starts_with(|c: char| c.is_ascii_alphabetic())
        && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
        && !name.contains("--")
        && !name.ends_with('-')
}

pub(super) fn is_log_group_name(name: &str) -> bool {
    (1..=512).contains(&name.len())
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "_-/.#".contains(c))
}

pub(super) fn is_kms_key_reference(key: &str) -> bool {
    let is_uuid = |id: &str| {
        id.len() == 36 && id.chars().all(|c| c.is_ascii_hexdigit() || c == '-')
            || id.starts_with("mrk-") && id[4..].chars().all(|c| c.is_ascii_hexdigit())
    };
    if let Some(alias) = key.strip_prefix("alias/") {
        return !alias.is_empty() && !alias.starts_with("aws/");
    }
    if key.starts_with("arn:") {
        let parts: Vec<&str> = key.splitn(6, ':').collect();
        return parts.len() == 6
            && parts[2] == "kms"
            && (parts[5].strip_prefix("key/").is_some_and(is_uuid)
                || parts[5].starts_with("alias/"));
    }
    is_uuid(key)
}

/// A daily window, minutes since midnight UTC.
pub(super) struct DailyWindow {
    start: u32,
    end: u32,
}

impl DailyWindow {
    pub(super) fn minutes(&self) -> u32 {
        (self.end + 24 * 60 - self.start) % (24 * 60)
    }

    /// Whether the daily window meets the weekly one on any day of the week.
    pub(super) fn overlaps_weekly(&self, weekly: &WeeklyWindow) -> bool {
        const WEEK: u32 = 7 * 24 * 60;
        // Two spans on the week's circle meet when either starts inside the other.
        let inside = |point: u32, start: u32, length: u32| (point + WEEK - start) % WEEK < length;
        (0..7).any(|day| {
            let start = day * 24 * 60 + self.start;
            inside(start, weekly.start, weekly.minutes())
                || inside(weekly.start, start, self.minutes())
        })
    }
}

/// A weekly window, minutes since Sunday midnight UTC.
pub(super) struct WeeklyWindow {
    start: u32,
    end: u32,
}

impl WeeklyWindow {
    pub(super) fn minutes(&self) -> u32 {
        (self.end + 7 * 24 * 60 - self.start) % (7 * 24 * 60)
    }
}

pub(super) fn parse_time(text: &str) -> Option<u32> {
    let (hours, minutes) = text.split_once(':')?;
    if hours.len() != 2 || minutes.len() != 2 {
        return None;
    }
    let (hours, minutes): (u32, u32) = (hours.parse().ok()?, minutes.parse().ok()?);
    (hours < 24 && minutes < 60).then_some(hours * 60 + minutes)
}

pub(super) fn parse_daily_window(text: &str) -> Result<DailyWindow, String> {
    let bad =
        || format!("`{text}` is not a daily window such as 03:00-04:00 (UTC, hh24:mi-hh24:mi)");
    let (start, end) = text.split_once('-').ok_or_else(bad)?;
    Ok(DailyWindow {
        start: parse_time(start).ok_or_else(bad)?,
        end: parse_time(end).ok_or_else(bad)?,
    })
}

pub(super) fn parse_weekly_window(text: &str) -> Result<WeeklyWindow, String> {
    const DAYS: [&str; 7] = ["sun", "mon", "tue", "wed", "thu", "fri", "sat"];
    let bad = || {
        format!(
            "`{text}` is not a weekly window such as sun:05:00-sun:06:00 (UTC, ddd:hh24:mi-ddd:hh24:mi)"
        )
    };
    let point = |part: &str| -> Option<u32> {
        let (day, time) = part.split_once(':')?;
        let day = DAYS.iter().position(|d| d.eq_ignore_ascii_case(day))? as u32;
        Some(day * 24 * 60 + parse_time(time)?)
    };
    let (start, end) = text.split_once('-').ok_or_else(bad)?;
    Ok(WeeklyWindow {
        start: point(start).ok_or_else(bad)?,
        end: point(end).ok_or_else(bad)?,
    })
}

/// Whether Secrets Manager accepts `text` as `RotationRules.ScheduleExpression`:
/// `rate(N days)` (1–999), `rate(N hours)` (4–23, and more in whole days), or a cron
/// expression of six fields.
pub(super) fn is_rotation_schedule(text: &str) -> bool {
    if let Some(inner) = text.strip_prefix("rate(").and_then(|t| t.strip_suffix(')')) {
        let mut words = inner.split(' ');
        let (Some(count), Some(unit), None) = (words.next(), words.next(), words.next()) else {
            return false;
        };
        let Ok(count) = count.parse::<u32>() else {
            return false;
        };
        let unit_fits = match count {
            1 => unit == "day",
            _ => matches!(unit, "days" | "hours"),
        };
        return unit_fits
            && match unit {
                "hours" => (4..=23).contains(&count),
                _ => (1..=999).contains(&count),
            };
    }
    text.strip_prefix("cron(")
        .and_then(|t| t.strip_suffix(')'))
        .is_some_and(|inner| inner.split_whitespace().count() == 6)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn daily(text: &str) -> DailyWindow {
        parse_daily_window(text).expect("valid daily window")
    }

    fn weekly(text: &str) -> WeeklyWindow {
        parse_weekly_window(text).expect("valid weekly window")
    }

    #[test]
    fn windows_overlap_on_any_day() {
        assert!(daily("05:30-06:30").overlaps_weekly(&weekly("sun:05:00-sun:06:00")));
        assert!(!daily("03:00-04:00").overlaps_weekly(&weekly("sun:05:00-sun:06:00")));
        assert!(daily("23:30-00:30").overlaps_weekly(&weekly("sat:23:45-sun:01:00")));
        assert!(daily("23:30-00:30").overlaps_weekly(&weekly("mon:00:00-mon:01:00")));
        assert!(!daily("04:00-05:00").overlaps_weekly(&weekly("sun:05:00-sun:06:00")));
    }

    #[test]
    fn windows_measure_across_midnight() {
        assert_eq!(daily("23:30-00:30").minutes(), 60);
        assert_eq!(weekly("sat:23:00-sun:01:00").minutes(), 120);
    }

    #[test]
    fn replication_group_ids_follow_aws_rules() {
        assert!(replication_group_id_problem("orders-cache").is_ok());
        for bad in ["", "1abc", "a--b", "abc-", "a_b", &"a".repeat(41)] {
            assert!(replication_group_id_problem(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn kms_key_references() {
        assert!(is_kms_key_reference("alias/orders"));
        assert!(is_kms_key_reference("1234abcd-12ab-34cd-56ef-1234567890ab"));
        assert!(is_kms_key_reference(
            "arn:aws:kms:eu-west-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab"
        ));
        assert!(!is_kms_key_reference("alias/aws/elasticache"));
        assert!(!is_kms_key_reference("my-key"));
    }

    #[test]
    fn rotation_schedules_are_those_secrets_manager_takes() {
        for good in [
            "rate(30 days)",
            "rate(1 day)",
            "rate(4 hours)",
            "cron(0 4 ? * SUN *)",
        ] {
            assert!(is_rotation_schedule(good), "{good}");
        }
        for bad in [
            "rate(1 days)",
            "rate(2 hours)",
            "rate(0 days)",
            "rate(30 minutes)",
            "cron(0 4 * *)",
            "30d",
        ] {
            assert!(!is_rotation_schedule(bad), "{bad}");
        }
    }
}
