"""Checks an ElastiCache IAM authentication token as ElastiCache does: a SigV4-presigned
`GET https://<group>/?Action=connect&User=<user>` for service `elasticache`, signed by
credentials the emulator issued, for this group, user and region, and not expired.

Owns the verification only; which credentials exist (moto's STS sessions and the
emulator's own `test`/`test` keys) is looked up by the caller's `secret_for`.
"""

from __future__ import annotations

import datetime
import hashlib
import hmac
from dataclasses import dataclass
from typing import Callable
from urllib.parse import unquote

EMPTY_BODY_SHA256 = hashlib.sha256(b"").hexdigest()
# How far a token's date may be ahead of the emulator's clock.
CLOCK_SKEW = datetime.timedelta(minutes=5)
LONGEST_LIFE = 900


@dataclass(frozen=True)
class Signer:
    """Credentials the emulator knows: the secret key, the session token that must come
    with it (None for long-term keys) and the account they act in (None: any, as the
    emulator's own `test` keys act in whichever account a request names)."""

    secret_key: str
    session_token: str | None
    account_id: str | None


@dataclass(frozen=True)
class Expected:
    """What a token must be for: this group, this user, in this region and account."""

    group_id: str
    user_id: str
    region: str
    account_id: str


def verify(token: str, expected: Expected, now: datetime.datetime,
           secret_for: Callable[[str], Signer | None]) -> str | None:
    """None when `token` is good; otherwise why not (for the emulator's log, never the
    client: ElastiCache answers every failure with the same WRONGPASS)."""
    host, sep, query = token.partition("/?")
    if not sep:
        return "not a presigned URL without its scheme"
    if host != expected.group_id:
        return f"signed for host {host!r}, not the group {expected.group_id!r} (names are lowercase)"
    pairs = [pair.partition("=") for pair in query.split("&")]
    params = {key: unquote(value) for key, _, value in pairs}
    if params.get("Action") != "connect":
        return "Action is not connect"
    if params.get("User") != expected.user_id:
        return f"signed for user {params.get('User')!r}, not {expected.user_id!r}"
    if "ResourceType" in params:
        return "ResourceType=ServerlessCache on a replication group"
    if params.get("X-Amz-Algorithm") != "AWS4-HMAC-SHA256" or params.get("X-Amz-SignedHeaders") != "host":
        return "not SigV4 with only the host signed"
    access_key, _, scope = params.get("X-Amz-Credential", "").partition("/")
    date, region, service, terminator = (scope.split("/") + ["", "", "", ""])[:4]
    if region != expected.region:
        return f"signed for region {region!r}, not {expected.region!r}"
    if service != "elasticache" or terminator != "aws4_request":
        return f"signed for service {service!r}, not elasticache"
    problem = check_time(params, date, now)
    if problem:
        return problem
    signer = secret_for(access_key)
    if signer is None:
        return "signed with credentials the emulator did not issue"
    if signer.account_id not in (None, expected.account_id):
        return f"signed by account {signer.account_id}, not {expected.account_id}"
    if signer.session_token is not None and params.get("X-Amz-Security-Token") != signer.session_token:
        return "the session token is missing or not the credentials' own"
    canonical_query = "&".join(
        f"{key}={value}" for key, _, value in sorted(pairs) if key != "X-Amz-Signature")
    canonical_request = f"GET\n/\n{canonical_query}\nhost:{host}\n\nhost\n{EMPTY_BODY_SHA256}"
    string_to_sign = "\n".join([
        "AWS4-HMAC-SHA256", params["X-Amz-Date"], scope,
        hashlib.sha256(canonical_request.encode()).hexdigest(),
    ])
    key = f"AWS4{signer.secret_key}".encode()
    for part in (date, region, service, terminator):
        key = hmac.new(key, part.encode(), hashlib.sha256).digest()
    signature = hmac.new(key, string_to_sign.encode(), hashlib.sha256).hexdigest()
    if not hmac.compare_digest(signature, params.get("X-Amz-Signature", "")):
        return "the signature does not match"
    return None


def check_time(params: dict[str, str], date: str, now: datetime.datetime) -> str | None:
    try:
        signed = datetime.datetime.strptime(params.get("X-Amz-Date", ""), "%Y%m%dT%H%M%SZ")
        lifetime = int(params.get("X-Amz-Expires", ""))
    except ValueError:
        return "no valid X-Amz-Date or X-Amz-Expires"
    signed = signed.replace(tzinfo=datetime.timezone.utc)
    if signed.strftime("%Y%m%d") != date:
        return "the credential scope's date is not the signing date"
    if not 0 < lifetime <= LONGEST_LIFE:
        return f"X-Amz-Expires is {lifetime}, not 1 to {LONGEST_LIFE}"
    if signed > now + CLOCK_SKEW:
        return "signed in the future"
    if now > signed + datetime.timedelta(seconds=lifetime):
        return "expired"
    return None
