"""Replication groups: statuses that take time, AUTH token strategies, RBAC, transit
encryption, parameters reaching the server, deletion with a final snapshot, shards and
replicas, and a server that fails to start."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from local_elasticache.config import settings
from local_elasticache.resp import Connection

from .conftest import wait_for
from .helpers import NEXT_TOKEN, TOKEN, create_group, endpoint_of, error_code, group_status, login
from .test_users import PASSWORD, make_users, user_group_status

# Every group here gets a real server.
pytestmark = pytest.mark.data_plane

TLS = {"TransitEncryptionEnabled": True}


def describe(client: Any, group_id: str) -> dict[str, Any]:
    return client.describe_replication_groups(ReplicationGroupId=group_id)["ReplicationGroups"][0]


def modify_and_wait(client: Any, **arguments: Any) -> dict[str, Any]:
    answer = client.modify_replication_group(ApplyImmediately=True, **arguments)["ReplicationGroup"]
    group_id = arguments["ReplicationGroupId"]
    wait_for(lambda: group_status(client, group_id), "available")
    return answer


def test_a_group_is_creating_then_available_with_a_real_server_at_its_endpoint(client: Any) -> None:
    answer = client.create_replication_group(
        ReplicationGroupId="plain", ReplicationGroupDescription="d", Engine="redis",
        EngineVersion="7.1", CacheNodeType="cache.t4g.micro")
    assert answer["ReplicationGroup"]["Status"] == "creating"
    assert wait_for(lambda: group_status(client, "plain"), "available") == "available"
    group = describe(client, "plain")
    host, port = endpoint_of(group)
    assert host == "127.0.0.1" and port != 6379
    assert group["NodeGroups"][0]["ReaderEndpoint"]["Port"] == port
    assert login(group, None) == "PONG"


def test_a_token_group_speaks_tls_and_accepts_only_its_token(client: Any, ca_file: Path) -> None:
    group = create_group(client, "token", AuthToken=TOKEN, **TLS)
    assert group["AuthTokenEnabled"] and group["TransitEncryptionMode"] == "required"
    assert login(group, ca_file, TOKEN) == "PONG"
    assert login(group, ca_file, NEXT_TOKEN).startswith("WRONGPASS")
    assert login(group, ca_file).startswith("NOAUTH")


def test_rotate_keeps_the_two_newest_tokens_and_set_keeps_only_the_last(client: Any, ca_file: Path) -> None:
    create_group(client, "rotate", AuthToken=TOKEN, **TLS)
    answer = client.modify_replication_group(
        ReplicationGroupId="rotate", AuthToken=NEXT_TOKEN, AuthTokenUpdateStrategy="ROTATE",
        ApplyImmediately=True)["ReplicationGroup"]
    assert answer["Status"] == "modifying"
    assert answer["PendingModifiedValues"]["AuthTokenStatus"] == "ROTATING"
    assert error_code(client.modify_replication_group, ReplicationGroupId="rotate",
                      CacheNodeType="cache.t4g.small") == "InvalidReplicationGroupState"
    wait_for(lambda: group_status(client, "rotate"), "available")
    group = describe(client, "rotate")
    assert "PendingModifiedValues" not in group or not group["PendingModifiedValues"]
    assert login(group, ca_file, TOKEN) == "PONG"
    assert login(group, ca_file, NEXT_TOKEN) == "PONG"

    third = "c" * 20 + "-third-token"
    modify_and_wait(client, ReplicationGroupId="rotate", AuthToken=third, AuthTokenUpdateStrategy="ROTATE")
    assert login(group, ca_file, TOKEN).startswith("WRONGPASS")
    assert login(group, ca_file, NEXT_TOKEN) == "PONG"
    assert error_code(client.modify_replication_group, ReplicationGroupId="rotate",
                      AuthToken=NEXT_TOKEN, AuthTokenUpdateStrategy="SET") == "InvalidParameterValue"
    modify_and_wait(client, ReplicationGroupId="rotate", AuthToken=third, AuthTokenUpdateStrategy="SET")
    assert login(group, ca_file, NEXT_TOKEN).startswith("WRONGPASS")
    assert login(group, ca_file, third) == "PONG"


def test_bad_tokens_and_delete_outside_a_move_to_rbac_are_refused(client: Any) -> None:
    create = client.create_replication_group
    assert error_code(create, ReplicationGroupId="bad", ReplicationGroupDescription="d",
                      AuthToken="has a space in it!!", **TLS) == "InvalidParameterValue"
    assert error_code(create, ReplicationGroupId="bad", ReplicationGroupDescription="d",
                      AuthToken="x" * 20 + "@%") == "InvalidParameterValue"
    create_group(client, "delete", AuthToken=TOKEN, **TLS)
    assert error_code(client.modify_replication_group, ReplicationGroupId="delete",
                      AuthTokenUpdateStrategy="DELETE") == "InvalidParameterValue"


def test_a_token_group_moves_to_rbac_and_back(client: Any, ca_file: Path) -> None:
    make_users(client, "m")
    client.create_user_group(UserGroupId="m-users", Engine="valkey", UserIds=["m-default", "m-app"])
    wait_for(lambda: user_group_status(client, "m-users"), "active")
    group = create_group(client, "move", AuthToken=TOKEN, **TLS)
    assert error_code(client.delete_user_group, UserGroupId="nothing") == "UserGroupNotFound"
    answer = modify_and_wait(client, ReplicationGroupId="move", UserGroupIdsToAdd=["m-users"],
                             AuthTokenUpdateStrategy="DELETE")
    assert answer["PendingModifiedValues"]["UserGroups"]["UserGroupIdsToAdd"] == ["m-users"]
    moved = describe(client, "move")
    assert moved["UserGroupIds"] == ["m-users"] and not moved["AuthTokenEnabled"]
    assert client.describe_user_groups(UserGroupId="m-users")["UserGroups"][0]["ReplicationGroups"] == ["move"]
    assert login(group, ca_file, "app", PASSWORD) == "PONG"
    # The `default` user is off: neither the old token nor no AUTH at all gets in.
    assert login(group, ca_file, TOKEN) != "PONG"
    assert login(group, ca_file).startswith("NOAUTH")
    assert error_code(client.delete_user_group, UserGroupId="m-users") == "InvalidUserGroupState"

    modify_and_wait(client, ReplicationGroupId="move", AuthToken=NEXT_TOKEN,
                    AuthTokenUpdateStrategy="ROTATE", UserGroupIdsToRemove=["m-users"])
    assert describe(client, "move")["UserGroupIds"] == []
    assert login(group, ca_file, NEXT_TOKEN) == "PONG"
    assert login(group, ca_file, "app", PASSWORD).startswith("WRONGPASS")


def test_modify_user_reaches_the_server_once_active(client: Any, ca_file: Path) -> None:
    make_users(client, "mu")
    client.create_user_group(UserGroupId="mu-users", Engine="valkey", UserIds=["mu-default", "mu-app"])
    wait_for(lambda: user_group_status(client, "mu-users"), "active")
    group = create_group(client, "modify-user", UserGroupIds=["mu-users"], **TLS)
    new = "n" * 20 + "-new-password"
    client.modify_user(UserId="mu-app", Passwords=[new, PASSWORD])
    wait_for(lambda: client.describe_users(UserId="mu-app")["Users"][0]["Status"], "active")
    describe(client, "modify-user")  # a request, so the change reaches the server
    assert login(group, ca_file, "app", new) == "PONG"
    assert login(group, ca_file, "app", PASSWORD) == "PONG"
    client.modify_user(UserId="mu-app", Passwords=[new])
    wait_for(lambda: client.describe_users(UserId="mu-app")["Users"][0]["Status"], "active")
    describe(client, "modify-user")
    assert login(group, ca_file, "app", PASSWORD).startswith("WRONGPASS")


def test_transit_encryption_goes_preferred_before_required(client: Any, ca_file: Path) -> None:
    group = create_group(client, "transit")
    assert login(group, None) == "PONG"
    assert error_code(client.modify_replication_group, ReplicationGroupId="transit",
                      TransitEncryptionEnabled=True, TransitEncryptionMode="required") == "InvalidParameterCombination"
    answer = modify_and_wait(client, ReplicationGroupId="transit", TransitEncryptionEnabled=True,
                             TransitEncryptionMode="preferred")
    assert answer["PendingModifiedValues"]["TransitEncryptionMode"] == "preferred"
    assert login(group, ca_file) == "PONG"
    modify_and_wait(client, ReplicationGroupId="transit", TransitEncryptionMode="required")
    assert describe(client, "transit")["TransitEncryptionMode"] == "required"
    assert error_code(client.modify_replication_group, ReplicationGroupId="transit",
                      TransitEncryptionEnabled=False) == "InvalidParameterCombination"


def test_parameters_reach_the_server_of_every_group_using_them(client: Any) -> None:
    client.create_cache_parameter_group(
        CacheParameterGroupName="params", CacheParameterGroupFamily="valkey8", Description="d")
    client.modify_cache_parameter_group(CacheParameterGroupName="params", ParameterNameValues=[
        {"ParameterName": "maxmemory-policy", "ParameterValue": "allkeys-lru"}])
    group = create_group(client, "params", CacheParameterGroupName="params")
    host, port = endpoint_of(group)

    def policy() -> str:
        with Connection.tcp(host, port) as connection:
            return connection.call("CONFIG", "GET", "maxmemory-policy")[1]

    assert policy() == "allkeys-lru"
    client.modify_cache_parameter_group(CacheParameterGroupName="params", ParameterNameValues=[
        {"ParameterName": "maxmemory-policy", "ParameterValue": "noeviction"}])
    assert policy() == "noeviction"
    assert error_code(client.delete_cache_parameter_group,
                      CacheParameterGroupName="params") == "InvalidCacheParameterGroupState"
    assert error_code(client.modify_replication_group, ReplicationGroupId="params",
                      CacheParameterGroupName="default.redis7") == "InvalidParameterCombination"


def test_deletion_finishes_and_its_final_snapshot_seeds_a_new_group(client: Any) -> None:
    group = create_group(client, "keep")
    host, port = endpoint_of(group)
    with Connection.tcp(host, port) as connection:
        connection.call("SET", "order:1", "kept")
    answer = client.delete_replication_group(ReplicationGroupId="keep", FinalSnapshotIdentifier="keep-final")
    assert answer["ReplicationGroup"]["Status"] == "deleting"
    assert wait_for(lambda: group_status(client, "keep"), "gone") == "gone"
    assert not any((settings.servers_dir / str(port)).glob("*"))
    snapshots = client.describe_snapshots(ReplicationGroupId="keep")["Snapshots"]
    assert [s["SnapshotName"] for s in snapshots] == ["keep-final"]

    restored = create_group(client, "keep", SnapshotName="keep-final")
    host, port = endpoint_of(restored)
    with Connection.tcp(host, port) as connection:
        assert connection.call("GET", "order:1") == "kept"
    assert error_code(client.delete_replication_group, ReplicationGroupId="keep",
                      FinalSnapshotIdentifier="keep-final") == "SnapshotAlreadyExistsFault"
    assert error_code(client.create_replication_group, ReplicationGroupId="other",
                      ReplicationGroupDescription="d", SnapshotName="nothing") == "SnapshotNotFoundFault"


def test_cluster_mode_serves_every_slot_and_shards_and_replicas_change(client: Any, ca_file: Path) -> None:
    group = create_group(client, "sharded", ClusterMode="enabled", NumNodeGroups=2,
                         ReplicasPerNodeGroup=1, **TLS)
    host, port = endpoint_of(group)

    def cluster_ok() -> bool:
        with Connection.tcp(host, port, ca_file) as connection:
            return "cluster_state:ok" in connection.call("CLUSTER", "INFO")

    assert wait_for(cluster_ok, True)
    modify = client.modify_replication_group_shard_configuration(
        ReplicationGroupId="sharded", NodeGroupCount=3, ApplyImmediately=True)
    assert modify["ReplicationGroup"]["Status"] == "modifying"
    wait_for(lambda: group_status(client, "sharded"), "available")
    assert len(describe(client, "sharded")["NodeGroups"]) == 3
    assert error_code(client.modify_replication_group_shard_configuration, ReplicationGroupId="sharded",
                      NodeGroupCount=2, ApplyImmediately=True) == "InvalidParameterValue"
    client.modify_replication_group_shard_configuration(
        ReplicationGroupId="sharded", NodeGroupCount=2, NodeGroupsToRemove=["0003"], ApplyImmediately=True)
    wait_for(lambda: group_status(client, "sharded"), "available")
    assert len(describe(client, "sharded")["NodeGroups"]) == 2
    client.increase_replica_count(ReplicationGroupId="sharded", NewReplicaCount=2, ApplyImmediately=True)
    wait_for(lambda: group_status(client, "sharded"), "available")
    members = describe(client, "sharded")["NodeGroups"][0]["NodeGroupMembers"]
    assert len(members) == 3
    assert error_code(client.decrease_replica_count, ReplicationGroupId="sharded",
                      NewReplicaCount=5, ApplyImmediately=True) == "InvalidParameterValue"


def test_a_server_that_does_not_start_makes_the_group_create_failed(client: Any) -> None:
    real = settings.redis_server
    settings.redis_server = "/bin/false"
    try:
        client.create_replication_group(ReplicationGroupId="broken", ReplicationGroupDescription="d")
    finally:
        settings.redis_server = real
    assert wait_for(lambda: group_status(client, "broken"), "create-failed") == "create-failed"
    client.delete_replication_group(ReplicationGroupId="broken")
    assert wait_for(lambda: group_status(client, "broken"), "gone") == "gone"


def test_subnet_groups_are_modified_and_deleted_unless_in_use(client: Any) -> None:
    client.create_cache_subnet_group(CacheSubnetGroupName="net", CacheSubnetGroupDescription="d",
                                     SubnetIds=["subnet-1"])
    create_group(client, "uses-net", CacheSubnetGroupName="net")
    assert error_code(client.delete_cache_subnet_group, CacheSubnetGroupName="net") == "CacheSubnetGroupInUse"
    client.delete_replication_group(ReplicationGroupId="uses-net")
    wait_for(lambda: group_status(client, "uses-net"), "gone")
    client.modify_cache_subnet_group(CacheSubnetGroupName="net", CacheSubnetGroupDescription="new")
    client.delete_cache_subnet_group(CacheSubnetGroupName="net")
    assert error_code(client.delete_cache_subnet_group, CacheSubnetGroupName="net") == "CacheSubnetGroupNotFoundFault"
