"""Cache parameter families and their defaults: the parameters ElastiCache lists for
every Redis OSS 6+/Valkey family that the engine also accepts at run time (`CONFIG
SET`), plus the ElastiCache-only ones the spec is likely to set.

Defaults are ElastiCache's (the "Redis OSS 7 parameter changes" and "Valkey
parameters" tables of the ElastiCache user guide); `runtime` says whether the
emulator's redis-server is told about a change.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Parameter:
    name: str
    default: str
    data_type: str
    allowed: str
    description: str
    runtime: bool = True
    modifiable: bool = True


_COMMON = [
    Parameter("maxmemory-policy", "volatile-lru", "string",
              "volatile-lru,allkeys-lru,volatile-lfu,allkeys-lfu,volatile-random,allkeys-random,volatile-ttl,noeviction",
              "Max memory policy."),
    Parameter("maxmemory-samples", "3", "integer", "1-", "Max memory samples."),
    Parameter("timeout", "0", "integer", "0,20-", "Close connection if client is idle for a given number of seconds, or never if 0."),
    Parameter("tcp-keepalive", "300", "integer", "0-", "If non-zero, send ACKs every given number of seconds."),
    Parameter("notify-keyspace-events", "", "string", "", "The keyspace events for Redis to notify Pub/Sub subscribers on."),
    Parameter("slowlog-log-slower-than", "10000", "integer", "-", "The execution time, in microseconds, to exceed in order for the command to get logged."),
    Parameter("slowlog-max-len", "128", "integer", "0-", "The length of the slow log."),
    Parameter("lua-time-limit", "5000", "integer", "5000", "Max execution time of a Lua script in milliseconds.", modifiable=False),
    Parameter("activedefrag", "no", "string", "yes,no", "Enabled active memory defragmentation."),
    Parameter("lazyfree-lazy-eviction", "no", "string", "yes,no", "Perform an asynchronous delete on evictions."),
    Parameter("lazyfree-lazy-expire", "no", "string", "yes,no", "Perform an asynchronous delete on expired keys."),
    Parameter("lazyfree-lazy-server-del", "no", "string", "yes,no", "Perform an asynchronous delete for commands which update values."),
    Parameter("lazyfree-lazy-user-del", "no", "string", "yes,no", "DEL behaves like UNLINK."),
    Parameter("hash-max-listpack-entries", "128", "integer", "0-", "The maximum number of hash entries in order for the dataset to be compressed."),
    Parameter("hash-max-listpack-value", "64", "integer", "0-", "The threshold of biggest hash entries in order for the dataset to be compressed."),
    Parameter("set-max-intset-entries", "512", "integer", "0-", "Sets of integers up to this size are encoded specially."),
    Parameter("zset-max-listpack-entries", "128", "integer", "0-", "The maximum number of sorted set entries in order for the dataset to be compressed."),
    Parameter("list-max-listpack-size", "-2", "integer", "-5-", "Lists are encoded specially to save space."),
    Parameter("databases", "16", "integer", "1-1200000", "Set the number of databases.", runtime=False),
    Parameter("reserved-memory-percent", "25", "integer", "0-100", "The percent of memory reserved for non-cache memory usage.", runtime=False),
    Parameter("close-on-replica-write", "yes", "string", "yes,no", "If enabled, clients who attempt to write to a read-only replica will be disconnected.", runtime=False),
    Parameter("cluster-enabled", "no", "string", "yes,no", "Enable cluster mode.", runtime=False),
    Parameter("cluster-allow-reads-when-down", "no", "string", "yes,no", "Serve reads while the cluster is down.", runtime=False),
    Parameter("appendonly", "no", "string", "yes,no", "Enable Redis persistence.", runtime=False, modifiable=False),
]

FAMILIES: dict[str, list[Parameter]] = {
    family: _COMMON for family in ("redis6.x", "redis7", "valkey7", "valkey8")
}


# The engine versions ElastiCache lists (DescribeCacheEngineVersions), newest last.
ENGINE_VERSIONS: dict[str, list[str]] = {
    "redis": ["4.0.10", "5.0.6", "6.0", "6.2", "7.0", "7.1"],
    "valkey": ["7.2", "8.0", "8.1"],
}


def same_release(listed: str, version: str) -> bool:
    """Whether `version` names the listed release (`6.2.6` and `6.2` are the 6.2 one)."""
    listed_parts, wanted = listed.split("."), version.split(".")
    shorter = min(len(listed_parts), len(wanted))
    return listed_parts[:shorter] == wanted[:shorter] and shorter >= 2


def offered(engine: str, version: str) -> bool:
    """Whether ElastiCache runs `version` of `engine`."""
    return any(same_release(listed, version) for listed in ENGINE_VERSIONS.get(engine, []))


def family_of(engine: str, version: str | None) -> str:
    """The family of an engine and version (`valkey`, `8.0` → `valkey8`)."""
    major = (version or ("8" if engine == "valkey" else "7")).split(".")[0]
    if engine == "redis" and major == "6":
        return "redis6.x"
    return f"{engine}{major}"


def defaults(family: str, cluster_on: bool) -> dict[str, str]:
    values = {p.name: p.default for p in FAMILIES[family]}
    if cluster_on:
        values["cluster-enabled"] = "yes"
    return values


def definition(family: str, name: str) -> Parameter | None:
    return next((p for p in FAMILIES[family] if p.name == name), None)
