"""What the tests share: making a group, reading its status and endpoint, logging in."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ClientError

from local_elasticache.resp import Connection, ReplyError

from .conftest import wait_for

TOKEN = "a" * 20 + "-first-token"
NEXT_TOKEN = "b" * 20 + "-second-token"


def group_status(client: Any, group_id: str) -> str:
    try:
        groups = client.describe_replication_groups(ReplicationGroupId=group_id)
    except ClientError as error:
        if error.response["Error"]["Code"] == "ReplicationGroupNotFoundFault":
            return "gone"
        raise
    return groups["ReplicationGroups"][0]["Status"]


def create_group(client: Any, group_id: str, **extra: Any) -> dict[str, Any]:
    client.create_replication_group(
        ReplicationGroupId=group_id,
        ReplicationGroupDescription="test",
        Engine="valkey",
        EngineVersion="8.0",
        CacheNodeType="cache.t4g.micro",
        **extra,
    )
    assert wait_for(lambda: group_status(client, group_id), "available") == "available"
    return client.describe_replication_groups(ReplicationGroupId=group_id)["ReplicationGroups"][0]


def endpoint_of(group: dict[str, Any]) -> tuple[str, int]:
    if group.get("ConfigurationEndpoint"):
        found = group["ConfigurationEndpoint"]
    else:
        found = group["NodeGroups"][0]["PrimaryEndpoint"]
    return found["Address"], found["Port"]


def login(group: dict[str, Any], ca_file: Path | None, *auth: str) -> str:
    """AUTH with `auth` (password, or user and password) and PING; the reply or the
    error text."""
    host, port = endpoint_of(group)
    try:
        with Connection.tcp(host, port, ca_file) as connection:
            if auth:
                connection.call("AUTH", *auth)
            return connection.call("PING")
    except ReplyError as error:
        return str(error)


def error_code(call: Any, **arguments: Any) -> str:
    with pytest.raises(ClientError) as raised:
        call(**arguments)
    return raised.value.response["Error"]["Code"]
