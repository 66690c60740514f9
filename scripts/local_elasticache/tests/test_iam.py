"""IAM users log in with a SigV4 token, checked by the group's front: tokens signed by
botocore (the signer AWS's own Python toolkit uses) are accepted; a wrongly-cased,
foreign-region or expired one gets ElastiCache's WRONGPASS."""

from __future__ import annotations

import datetime
from pathlib import Path
from typing import Any

import pytest
from botocore.auth import SigV4QueryAuth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

from local_elasticache import sigv4
from local_elasticache.models import secret_for
from local_elasticache.resp import Connection, ReplyError

from .conftest import wait_for
from .helpers import create_group, endpoint_of
from .test_users import user_group_status

pytestmark = pytest.mark.data_plane

USER = "iam-worker"


def token(group_id: str, user: str = USER, region: str = "us-east-1") -> str:
    request = AWSRequest(method="GET", url=f"https://{group_id}/?Action=connect&User={user}")
    SigV4QueryAuth(Credentials("test", "test"), "elasticache", region, expires=900).add_auth(request)
    return request.url.removeprefix("https://")


def iam_group(client: Any, group_id: str) -> dict[str, Any]:
    client.create_user(UserId=f"{group_id}-default", UserName="default", Engine="valkey",
                       AccessString="off", NoPasswordRequired=True)
    client.create_user(UserId=USER, UserName=USER, Engine="valkey", AccessString="on ~* +@all",
                       AuthenticationMode={"Type": "iam"})
    client.create_user_group(UserGroupId=f"{group_id}-users", Engine="valkey",
                             UserIds=[f"{group_id}-default", USER])
    wait_for(lambda: user_group_status(client, f"{group_id}-users"), "active")
    return create_group(client, group_id, TransitEncryptionEnabled=True,
                        UserGroupIds=[f"{group_id}-users"])


def login(group: dict[str, Any], ca_file: Path, password: str) -> str:
    host, port = endpoint_of(group)
    try:
        with Connection.tcp(host, port, ca_file) as connection:
            connection.call("AUTH", USER, password)
            return f"{connection.call('PING')} as {connection.call('ACL', 'WHOAMI')}"
    except ReplyError as error:
        return str(error)


def test_a_good_token_logs_in_and_bad_ones_get_wrongpass(client: Any, ca_file: Path) -> None:
    group = iam_group(client, "iamgroup")
    assert login(group, ca_file, token("iamgroup")) == "PONG as iam-worker"
    assert login(group, ca_file, token("IAMGROUP")).startswith("WRONGPASS")
    assert login(group, ca_file, token("iamgroup", region="eu-west-1")).startswith("WRONGPASS")
    assert login(group, ca_file, token("othergroup")).startswith("WRONGPASS")
    assert login(group, ca_file, "not-a-token").startswith("WRONGPASS")


def test_the_check_refuses_expired_tokens_and_foreign_accounts() -> None:
    good = token("iamgroup")
    expected = sigv4.Expected("iamgroup", USER, "us-east-1", "111122223333")
    now = datetime.datetime.now(datetime.timezone.utc)
    assert sigv4.verify(good, expected, now, secret_for) is None
    later = now + datetime.timedelta(minutes=16)
    assert sigv4.verify(good, expected, later, secret_for) == "expired"
    other_key = good.replace("X-Amz-Credential=test", "X-Amz-Credential=AKIDUNKNOWN")
    assert "did not issue" in (sigv4.verify(other_key, expected, now, secret_for) or "")
    session = sigv4.Signer("test", None, "999999999999")
    assert "account" in (sigv4.verify(good, expected, now, lambda _: session) or "")
    upper_user = token("iamgroup", user="IAM-Worker")
    assert "user" in (sigv4.verify(upper_user, expected, now, secret_for) or "")
