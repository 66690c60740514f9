//! Tokens for random valid inputs verify against a SigV4 verifier written here from
//! AWS's specification (canonical request, string to sign, derived key), sharing no code
//! with the signer, as ElastiCache verifies them.

use std::time::{Duration, SystemTime};

use aws_credential_types::Credentials;
use hmac::{Hmac, Mac};
use iam_auth::{Target, token};
use proptest::prelude::*;
use sha2::{Digest, Sha256};

const EMPTY_BODY_SHA256: &str = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

struct Expected<'a> {
    host: &'a str,
    user: &'a str,
    region: &'a str,
    access_key: &'a str,
    secret: &'a str,
    session_token: Option<&'a str>,
    serverless: bool,
    now: SystemTime,
}

fn hmac(key: &[u8], data: &str) -> Vec<u8> {
    let mut mac = Hmac::<Sha256>::new_from_slice(key).expect("any key length");
    mac.update(data.as_bytes());
    mac.finalize().into_bytes().to_vec()
}

fn decode(value: &str) -> String {
    let bytes = value.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' && i + 2 < bytes.len() {
            let hex = std::str::from_utf8(&bytes[i + 1..i + 3]).expect("ascii");
            out.push(u8::from_str_radix(hex, 16).expect("hex"));
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).expect("utf-8")
}

/// `yyyymmddThhmmssZ` for `time`, computed from the civil calendar.
fn amz_date(time: SystemTime) -> String {
    let secs = time
        .duration_since(SystemTime::UNIX_EPOCH)
        .expect("after 1970")
        .as_secs();
    let (days, rest) = (secs / 86_400, secs % 86_400);
    // Howard Hinnant's days-to-civil.
    let z = i64::try_from(days).expect("fits") + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}{month:02}{day:02}T{:02}{:02}{:02}Z",
        rest / 3600,
        rest % 3600 / 60,
        rest % 60
    )
}

fn verify(token: &str, expected: &Expected<'_>) -> Result<(), String> {
    let (host, query) = token.split_once("/?").ok_or("no host/?query shape")?;
    if host != expected.host {
        return Err(format!("host {host}"));
    }
    let mut pairs: Vec<(&str, &str)> = query
        .split('&')
        .map(|p| p.split_once('=').ok_or("k=v"))
        .collect::<Result<_, _>>()?;
    pairs.sort();
    let get = |key: &str| pairs.iter().find(|(k, _)| *k == key).map(|(_, v)| *v);
    let date = amz_date(expected.now);
    let scope = format!(
        "{}/{}/elasticache/aws4_request",
        &date[..8],
        expected.region
    );
    let checks = [
        ("Action", Some("connect".to_owned())),
        ("User", Some(expected.user.to_owned())),
        ("X-Amz-Algorithm", Some("AWS4-HMAC-SHA256".to_owned())),
        (
            "X-Amz-Credential",
            Some(format!("{}/{scope}", expected.access_key)),
        ),
        ("X-Amz-Date", Some(date.clone())),
        ("X-Amz-Expires", Some("900".to_owned())),
        ("X-Amz-SignedHeaders", Some("host".to_owned())),
        (
            "X-Amz-Security-Token",
            expected.session_token.map(str::to_owned),
        ),
        (
            "ResourceType",
            expected.serverless.then(|| "ServerlessCache".to_owned()),
        ),
    ];
    for (key, want) in checks {
        let got = get(key).map(decode);
        if got != want {
            return Err(format!("{key}: {got:?} != {want:?}"));
        }
    }
    let signature = get("X-Amz-Signature").ok_or("no signature")?;
    let canonical_query: Vec<String> = pairs
        .iter()
        .filter(|(k, _)| *k != "X-Amz-Signature")
        .map(|(k, v)| format!("{k}={v}"))
        .collect();
    let canonical_request = format!(
        "GET\n/\n{}\nhost:{host}\n\nhost\n{EMPTY_BODY_SHA256}",
        canonical_query.join("&")
    );
    let string_to_sign = format!(
        "AWS4-HMAC-SHA256\n{date}\n{scope}\n{}",
        hex::encode(Sha256::digest(canonical_request.as_bytes()))
    );
    let mut key = hmac(format!("AWS4{}", expected.secret).as_bytes(), &date[..8]);
    for part in [expected.region, "elasticache", "aws4_request"] {
        key = hmac(&key, part);
    }
    let computed = hex::encode(hmac(&key, &string_to_sign));
    match computed == signature {
        true => Ok(()),
        false => Err(format!("signature {signature} != {computed}")),
    }
}

#[test]
fn the_verifier_accepts_the_java_demo_apps_vector() {
    // Checks the checker: the published vector must verify here too.
    let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_735_689_600);
    let credentials = Credentials::from_keys("fakeAccessKeyId", "fakeSecretKey", None);
    let signed = token(
        &Target::replication_group("my-replication-group-id"),
        "my-user-id",
        "eu-west-1",
        &credentials,
        now,
    )
    .expect("signs");
    let expected = Expected {
        host: "my-replication-group-id",
        user: "my-user-id",
        region: "eu-west-1",
        access_key: "fakeAccessKeyId",
        secret: "fakeSecretKey",
        session_token: None,
        serverless: false,
        now,
    };
    verify(signed.expose(), &expected).expect("verifies");
    assert!(signed.expose().contains(
        "X-Amz-Signature=9e361603d85874bce06114c6644725ed113e3b11ae6fa92efdf10c6bcf5de8d7"
    ));
    let tampered = signed
        .expose()
        .replace("User=my-user-id", "User=my-user-ie");
    assert!(
        verify(
            &tampered,
            &Expected {
                user: "my-user-ie",
                ..expected
            }
        )
        .is_err()
    );
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]

    #[test]
    fn every_token_for_valid_inputs_verifies(
        name in "[a-z][a-z0-9]{0,12}(-[a-z0-9]{1,8}){0,3}",
        user in "(default\\.)?[a-z][a-z0-9-]{0,20}",
        region in "(us|eu|ap|sa|ca|me|af)-(east|west|north|south|central|southeast)-[1-9]",
        access_key in "AKIA[A-Z0-9]{16}",
        secret in "[A-Za-z0-9/+]{40}",
        session_token in proptest::option::of("[A-Za-z0-9/+=]{20,80}"),
        serverless in any::<bool>(),
        seconds in 946_684_800u64..4_102_444_800u64,
    ) {
        let now = SystemTime::UNIX_EPOCH + Duration::from_secs(seconds);
        let credentials = Credentials::from_keys(&access_key, &secret, session_token.clone());
        let target = match serverless {
            true => Target::serverless_cache(name.to_ascii_uppercase()),
            false => Target::replication_group(name.to_ascii_uppercase()),
        };
        let signed = token(&target, &user.to_ascii_uppercase(), &region, &credentials, now)
            .expect("valid inputs sign");
        let expected = Expected {
            host: &name,
            user: &user,
            region: &region,
            access_key: &access_key,
            secret: &secret,
            session_token: session_token.as_deref(),
            serverless,
            now,
        };
        prop_assert_eq!(verify(signed.expose(), &expected), Ok(()));
    }
}
