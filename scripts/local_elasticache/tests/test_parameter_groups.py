"""Cache parameter groups and their parameters."""

from __future__ import annotations

from typing import Any

from .helpers import error_code


def user_parameters(client: Any, name: str) -> dict[str, str]:
    found = client.describe_cache_parameters(CacheParameterGroupName=name, Source="user")
    return {p["ParameterName"]: p["ParameterValue"] for p in found["Parameters"]}


def test_a_parameter_group_is_created_modified_reset_and_deleted(client: Any) -> None:
    created = client.create_cache_parameter_group(
        CacheParameterGroupName="pg1", CacheParameterGroupFamily="valkey8", Description="mine")
    assert created["CacheParameterGroup"]["ARN"].endswith(":parametergroup:pg1")
    assert user_parameters(client, "pg1") == {}
    client.modify_cache_parameter_group(
        CacheParameterGroupName="pg1",
        ParameterNameValues=[{"ParameterName": "maxmemory-policy", "ParameterValue": "allkeys-lru"},
                             {"ParameterName": "timeout", "ParameterValue": "300"}])
    assert user_parameters(client, "pg1") == {"maxmemory-policy": "allkeys-lru", "timeout": "300"}
    client.reset_cache_parameter_group(
        CacheParameterGroupName="pg1", ParameterNameValues=[{"ParameterName": "timeout"}])
    assert user_parameters(client, "pg1") == {"maxmemory-policy": "allkeys-lru"}
    client.reset_cache_parameter_group(CacheParameterGroupName="pg1", ResetAllParameters=True)
    assert user_parameters(client, "pg1") == {}
    client.delete_cache_parameter_group(CacheParameterGroupName="pg1")
    assert error_code(client.describe_cache_parameter_groups,
                      CacheParameterGroupName="pg1") == "CacheParameterGroupNotFound"


def test_every_family_lists_its_defaults(client: Any) -> None:
    everything = client.describe_cache_parameters(CacheParameterGroupName="default.redis7")
    values = {p["ParameterName"]: p for p in everything["Parameters"]}
    assert values["maxmemory-policy"]["ParameterValue"] == "volatile-lru"
    assert values["maxmemory-policy"]["Source"] == "system"
    cluster_on = client.describe_cache_parameters(CacheParameterGroupName="default.valkey8.cluster.on")
    assert {p["ParameterName"]: p["ParameterValue"] for p in cluster_on["Parameters"]}["cluster-enabled"] == "yes"


def test_bad_parameter_requests_get_the_apis_errors(client: Any) -> None:
    create = client.create_cache_parameter_group
    client.create_cache_parameter_group(
        CacheParameterGroupName="pg2", CacheParameterGroupFamily="redis7", Description="mine")
    assert error_code(create, CacheParameterGroupName="pg2", CacheParameterGroupFamily="redis7",
                      Description="again") == "CacheParameterGroupAlreadyExists"
    assert error_code(create, CacheParameterGroupName="pg3", CacheParameterGroupFamily="redis99",
                      Description="x") == "InvalidParameterValue"
    modify = client.modify_cache_parameter_group
    assert error_code(modify, CacheParameterGroupName="pg2", ParameterNameValues=[
        {"ParameterName": "no-such-thing", "ParameterValue": "1"}]) == "InvalidParameterValue"
    assert error_code(modify, CacheParameterGroupName="default.redis7", ParameterNameValues=[
        {"ParameterName": "timeout", "ParameterValue": "1"}]) == "InvalidCacheParameterGroupState"
    assert error_code(client.delete_cache_parameter_group,
                      CacheParameterGroupName="default.redis7") == "InvalidCacheParameterGroupState"


def test_engine_versions_are_listed_and_unknown_ones_refused_at_create(client: Any) -> None:
    listed = client.describe_cache_engine_versions(Engine="valkey")["CacheEngineVersions"]
    assert [v["EngineVersion"] for v in listed] == ["7.2", "8.0", "8.1"]
    assert listed[1]["CacheParameterGroupFamily"] == "valkey8"
    one = client.describe_cache_engine_versions(Engine="redis", EngineVersion="6.2.6")
    assert [v["EngineVersion"] for v in one["CacheEngineVersions"]] == ["6.2"]
    assert error_code(client.create_replication_group, ReplicationGroupId="nope",
                      ReplicationGroupDescription="d", Engine="valkey", EngineVersion="99.0",
                      CacheNodeType="cache.t4g.micro") == "InvalidParameterValue"
