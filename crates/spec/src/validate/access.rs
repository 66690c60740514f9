//! ElastiCache access strings: the Redis ACL rules a user may be given, without the rules
//! that set or clear passwords.
//!
//! ElastiCache takes a user's passwords in their own field and stores the access string
//! in the clear (it is shown by `DescribeUsers` and in our plans), so a password rule
//! (`>secret`, `<secret`, `#hash`, `!hash`), `nopass`, `resetpass` or `reset` (which
//! clears passwords) is refused, and the message never repeats the rule's text.

/// The first problem in `access`, or `None` when every rule is one ElastiCache accepts.
pub(super) fn access_string_problem(access: &str) -> Option<String> {
    if access.trim().is_empty() {
        return Some("give an access string such as \"on ~app:* +@read\"".to_owned());
    }
    if let Some(position) = access.chars().position(|c| c.is_control()) {
        return Some(format!(
            "the access string holds a control character (character {}); rules are separated by single spaces on one line",
            position + 1
        ));
    }
    if !access.is_ascii() {
        return Some("the access string holds a character that is not ASCII".to_owned());
    }
    access.split(' ').enumerate().find_map(|(i, rule)| {
        rule_problem(rule).map(|problem| format!("rule {}: {problem}", i + 1))
    })
}

fn rule_problem(rule: &str) -> Option<String> {
    const KEYWORDS: &[&str] = &[
        "on",
        "off",
        "allkeys",
        "resetkeys",
        "allchannels",
        "resetchannels",
        "allcommands",
        "nocommands",
    ];
    const PASSWORD_RULES: &str = "the stack sets passwords itself (in Secrets Manager) and access strings are stored in the clear";
    if KEYWORDS.contains(&rule) {
        return None;
    }
    match rule {
        "" => {
            return Some(
                "an empty rule (a leading, trailing or double space); separate rules by one space"
                    .to_owned(),
            );
        }
        "nopass" => {
            return Some(format!(
                "`nopass` lets anyone log in as this user without a password; {PASSWORD_RULES}"
            ));
        }
        "resetpass" | "reset" => {
            return Some(format!(
                "`{rule}` clears the user's passwords; {PASSWORD_RULES}"
            ));
        }
        _ => {}
    }
    let (first, rest) = rule.split_at(1);
    match first {
        ">" | "<" | "#" | "!" => Some(format!(
            "a password rule (starting with `{first}`) does not belong in an access string; {PASSWORD_RULES}"
        )),
        "~" | "&" => pattern_problem(rest),
        "%" => key_permission_problem(rest),
        "+" | "-" => command_problem(rest),
        _ => Some(format!(
            "`{}` is not an access-string rule (on, off, ~keys, %R~keys, &channels, +command, -command, +@category, -@category, allkeys, allchannels, allcommands, nocommands)",
            rule
        )),
    }
}

fn pattern_problem(pattern: &str) -> Option<String> {
    pattern
        .is_empty()
        .then(|| "`~` and `&` need a pattern, such as ~app:* or &events:*".to_owned())
}

fn key_permission_problem(rest: &str) -> Option<String> {
    let Some((permission, pattern)) = rest.split_once('~') else {
        return Some("a key permission reads %R~pattern, %W~pattern or %RW~pattern".to_owned());
    };
    if !matches!(permission, "R" | "W" | "RW" | "WR") {
        return Some(format!(
            "`%{}~` is not a key permission: use %R~, %W~ or %RW~",
            permission
        ));
    }
    pattern_problem(pattern)
}

fn command_problem(command: &str) -> Option<String> {
    let name = command.strip_prefix('@').unwrap_or(command);
    let valid = !name.is_empty()
        && name.split('|').all(|part| {
            !part.is_empty()
                && part
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || "-_.:".contains(c))
        });
    (!valid).then(|| format!("`{}` is not a command or @category", command))
}

#[cfg(test)]
mod tests {
    use super::access_string_problem as problem;

    #[test]
    fn the_rules_elasticache_takes_are_accepted() {
        for access in [
            "on ~* +@all",
            "on ~app:* &events:* -@all +@read +get +client|setname",
            "off",
            "on %R~cache:* %RW~app:* allchannels -@dangerous",
            "on allkeys allcommands resetchannels",
        ] {
            assert_eq!(problem(access), None, "{access}");
        }
    }

    #[test]
    fn passwords_are_refused_without_being_repeated() {
        for access in [
            "on >hunter2 ~* +@all",
            "on <hunter2 ~* +@all",
            "on #0123abcd ~* +@all",
            "on !0123abcd ~*",
        ] {
            let message = problem(access).expect("refused");
            assert!(message.contains("password rule"), "{message}");
            assert!(
                !message.contains("hunter2") && !message.contains("0123abcd"),
                "{message}"
            );
        }
        assert!(
            problem("on nopass ~*")
                .expect("refused")
                .contains("`nopass`")
        );
        assert!(
            problem("on resetpass")
                .expect("refused")
                .contains("`resetpass`")
        );
    }

    #[test]
    fn control_characters_and_malformed_rules_are_refused() {
        assert!(
            problem("on ~*\r\n+@all")
                .expect("refused")
                .contains("control character")
        );
        assert!(problem("on  ~*").expect("refused").contains("empty rule"));
        assert!(
            problem("on ~ +@all")
                .expect("refused")
                .contains("need a pattern")
        );
        assert!(
            problem("on %X~a")
                .expect("refused")
                .contains("not a key permission")
        );
        assert!(problem("on +").expect("refused").contains("not a command"));
        assert!(
            problem("on everything")
                .expect("refused")
                .contains("`everything`")
        );
    }
}
