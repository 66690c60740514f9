/*!
IAM authentication for Amazon ElastiCache (Valkey 7.2+, Redis OSS 7.0+).

An IAM-enabled ElastiCache user logs in with `AUTH <user-id> <token>`, where the token
is a SigV4-presigned request for `elasticache:Connect`, signed with the caller's AWS
credentials and valid for 15 minutes. This crate owns:

- [`token`]: the token for a replication group or a serverless cache ([`Target`]), in
  exactly the form ElastiCache checks (`<name>/?Action=connect&User=<id>`, service
  `elasticache`, `X-Amz-Expires=900`, the session token inside the signed query, no
  scheme), with the name and user id lowercased and validated, and the token's life
  capped by the signing credentials' own expiry. Time and credentials are arguments, so
  the function is pure and testable.
- behind the `redis` feature, [`TokenProvider`]: a `redis::StreamingCredentialsProvider`
  that signs a fresh token before the last one expires and keeps its stream open, so
  the redis crate re-authenticates live connections (which also resets ElastiCache's
  12-hour cut of IAM connections).

It does not read AWS (no SDK client: credentials come from the caller's provider, such
as `aws-config`'s default chain), does not open connections itself, and never prints:
tokens are [`secrecy::SecretString`]s and every error leaves the inputs out.

```
use std::time::{Duration, SystemTime};
use aws_credential_types::Credentials;
use iam_auth::{Target, token};

let credentials = Credentials::from_keys("AKIDEXAMPLE", "secret", None);
let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_735_689_600);
let target = Target::replication_group("orders-cache");
let token = token(&target, "orders-app", "eu-west-1", &credentials, now)?;
assert!(token.expose().starts_with("orders-cache/?Action=connect&User=orders-app&"));
assert_eq!(token.expires_at(), now + Duration::from_secs(900));
# Ok::<(), iam_auth::TokenError>(())
```
*/
#![deny(missing_docs)]

#[cfg(feature = "redis")]
mod provider;
mod token;

#[cfg(feature = "redis")]
pub use provider::{RefreshPolicy, StartError, TokenProvider};
pub use token::{IamToken, TOKEN_LIFETIME, Target, TokenError, token};
