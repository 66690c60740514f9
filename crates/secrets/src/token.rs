//! Generating AUTH tokens and passwords ElastiCache accepts.

use plan::Sensitive;
use rand::Rng;

/// The special characters ElastiCache accepts in an AUTH token, in the stricter set that
/// both CreateReplicationGroup and ModifyReplicationGroup allow.
pub const SPECIAL_CHARACTERS: &str = "!&#$^<>-";

const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789!&#$^<>-";

/// The shortest and longest token ElastiCache accepts.
pub const LENGTH_RANGE: std::ops::RangeInclusive<usize> = 16..=128;

/// A fresh token of `length` characters (clamped to what ElastiCache accepts), drawn
/// from the thread's CSPRNG (ChaCha, seeded from the operating system).
pub fn generate(length: usize) -> Sensitive {
    let length = length.clamp(*LENGTH_RANGE.start(), *LENGTH_RANGE.end());
    let mut rng = rand::rng();
    let token: String = (0..length)
        .map(|_| char::from(ALPHABET[rng.random_range(0..ALPHABET.len())]))
        .collect();
    Sensitive::new(token)
}

/// Whether ElastiCache accepts `token` as an AUTH token.
pub fn is_valid(token: &str) -> bool {
    LENGTH_RANGE.contains(&token.len())
        && token
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || SPECIAL_CHARACTERS.contains(c))
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    proptest! {
        #[test]
        fn generated_tokens_always_meet_elasticache_rules(length in 0usize..300) {
            let token = generate(length);
            prop_assert!(is_valid(token.expose()));
            prop_assert_eq!(token.expose().len(), length.clamp(16, 128));
        }
    }

    #[test]
    fn the_stricter_set_forbids_what_modify_rejects() {
        for forbidden in ['/', '"', '@', '%', ' '] {
            assert!(!is_valid(&format!("{}{forbidden}", "a".repeat(20))));
        }
        assert!(is_valid(&"a!&#$^<>-".repeat(3)));
    }

    #[test]
    fn tokens_differ() {
        assert_ne!(generate(64).expose(), generate(64).expose());
    }
}
