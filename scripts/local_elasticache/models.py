"""The ElastiCache backend with the gaps of the pinned moto closed: user groups,
`ModifyUser`, cache parameter groups, the whole of `ModifyReplicationGroup`, replica
and shard changes, statuses that take time, deletion that finishes (with a final
snapshot that can seed a new group), and a real server behind every group.

Written in moto's shape (models hold state and raise the API's errors; responses.py
parses requests), as a subclass of moto's own backend so everything moto already does
stays as it is.
"""

from __future__ import annotations

import datetime
import hashlib
import hmac
import logging
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from re import compile as re_compile
from typing import Any

from moto.core.common_models import BaseModel
from moto.core.utils import utcnow
from moto.elasticache.exceptions import (
    CacheSubnetGroupNotFound,
    PasswordTooShort,
    ReplicationGroupNotFound,
    SnapshotAlreadyExists,
    SnapshotNotFound,
    UserNotFound,
)
from moto.elasticache.models import (
    CacheSubnetGroup,
    ElastiCacheBackend,
    ReplicationGroup,
    Snapshot,
    User,
)
from moto.sts.models import sts_backends

from . import parameters, sigv4
from .config import settings
from .exceptions import (
    CacheParameterGroupAlreadyExists,
    CacheParameterGroupNotFound,
    CacheSubnetGroupInUse,
    DefaultUserRequired,
    DuplicateUserName,
    InvalidCacheParameterGroupState,
    InvalidParameterCombination,
    InvalidParameterValue,
    InvalidReplicationGroupState,
    InvalidUserGroupState,
    InvalidUserState,
    UserGroupAlreadyExists,
    UserGroupNotFound,
)
from .servers import AclUser, RedisServer, ServerConfig, ServerFailed, stop

log = logging.getLogger("local_elasticache")

# The only punctuation ElastiCache accepts in an AUTH token.
TOKEN_PUNCTUATION = set("!&#$^<>-")
FULL_ACCESS = ("on", "~*", "&*", "+@all")
ENGINES = ("redis", "valkey")


def valid_auth_token(token: str) -> bool:
    return 16 <= len(token) <= 128 and all(
        c.isascii() and (c.isalnum() or c in TOKEN_PUNCTUATION) for c in token
    )


class UserGroup(BaseModel):
    def __init__(self, account_id: str, region: str, user_group_id: str, engine: str,
                 user_ids: list[str]):
        self.user_group_id = user_group_id
        self.status = "creating"
        self.engine = engine
        self.user_ids = list(user_ids)
        self.minimum_engine_version = "6.0"
        self.pending_changes: dict[str, list[str]] | None = None
        self.replication_groups: list[str] = []
        self.serverless_caches: list[str] = []
        self.arn = f"arn:aws:elasticache:{region}:{account_id}:usergroup:{user_group_id}"


class CacheParameterGroup(BaseModel):
    def __init__(self, account_id: str, region: str, name: str, family: str,
                 description: str, is_default: bool = False):
        self.cache_parameter_group_name = name
        self.cache_parameter_group_family = family
        self.description = description
        self.is_global = False
        self.is_default = is_default
        self.arn = f"arn:aws:elasticache:{region}:{account_id}:parametergroup:{name}"
        # Values set by the user; everything else is the family's default.
        self.values: dict[str, str] = {}
        self.cluster_on = name.endswith(".cluster.on")

    def effective(self) -> dict[str, str]:
        values = parameters.defaults(self.cache_parameter_group_family, self.cluster_on)
        values.update(self.values)
        return values

    def describe(self, source: str | None) -> list[dict[str, Any]]:
        described = []
        effective = self.effective()
        for definition in parameters.FAMILIES[self.cache_parameter_group_family]:
            user_set = definition.name in self.values
            if source == "user" and not user_set:
                continue
            described.append({
                "ParameterName": definition.name,
                "ParameterValue": effective[definition.name],
                "Description": definition.description,
                "Source": "user" if user_set else "system",
                "DataType": definition.data_type,
                "AllowedValues": definition.allowed,
                "IsModifiable": definition.modifiable,
                "MinimumEngineVersion": "6.0",
                "ChangeType": "immediate" if definition.runtime else "requires-reboot",
            })
        return described


@dataclass
class Timer:
    due: float
    action: Callable[[], None]


class LocalElastiCacheBackend(ElastiCacheBackend):
    """moto's ElastiCache backend, completed."""

    def __init__(self, region_name: str, account_id: str):
        super().__init__(region_name, account_id)
        self.arn_regex = re_compile(
            r"^arn:aws:elasticache:.*:[0-9]*:"
            r"(cluster|snapshot|subnetgroup|replicationgroup|user|usergroup|parametergroup):.*$"
        )
        self.user_groups: dict[str, UserGroup] = {}
        self.cache_parameter_groups: dict[str, CacheParameterGroup] = {}
        for family in parameters.FAMILIES:
            for name in (f"default.{family}", f"default.{family}.cluster.on"):
                self.cache_parameter_groups[name] = CacheParameterGroup(
                    account_id, region_name, name, family,
                    f"Default parameter group for {family}", is_default=True,
                )
        self.timers: list[Timer] = []
        self.servers: dict[str, RedisServer] = {}

    # ---- time ----------------------------------------------------------------------

    def later(self, action: Callable[[], None]) -> None:
        """Runs `action` once the transition time has passed (at the next request)."""
        self.timers.append(Timer(time.monotonic() + settings.transition_seconds, action))

    def tick(self) -> None:
        now = time.monotonic()
        due = [timer for timer in self.timers if timer.due <= now]
        self.timers = [timer for timer in self.timers if timer.due > now]
        for timer in due:
            timer.action()

    def reset(self) -> None:
        self.stop_servers()
        super().reset()

    def stop_servers(self) -> None:
        stop(list(self.servers.values()))
        self.servers.clear()

    # ---- users -----------------------------------------------------------------------

    def describe_users(self, user_id: str | None) -> list[User]:
        if user_id:
            if user_id not in self.users:
                raise UserNotFound(user_id)
            return [self.users[user_id]]
        return list(self.users.values())

    def modify_user(self, user_id: str, access_string: str | None,
                    append_access_string: str | None, passwords: list[str],
                    no_password_required: bool | None,
                    authentication_mode: dict[str, Any] | None) -> User:
        user = self._user(user_id)
        if user.status != "active":
            raise InvalidUserState(f"User {user_id} has status {user.status}.")
        mode = (authentication_mode or {}).get("Type")
        mode_passwords = list((authentication_mode or {}).get("Passwords", []) or [])
        if passwords and mode_passwords:
            raise InvalidParameterCombination(
                "Passwords provided via multiple arguments. Use only one argument")
        passwords = passwords or mode_passwords
        if len(passwords) > 2:
            raise InvalidParameterValue("Passwords size must be between 1-2.")
        if any(not 16 <= len(p) <= 128 for p in passwords):
            raise PasswordTooShort
        if mode == "iam" and passwords:
            raise InvalidParameterCombination(
                "Password field is not allowed with authentication type: iam")
        if no_password_required and passwords:
            raise InvalidParameterCombination(
                "No password required flag is true but passwords are provided")
        if mode and mode not in ("password", "no-password-required", "iam"):
            raise InvalidParameterValue(
                f"Input Authentication type: {mode} is not in the allowed list: "
                "[password,no-password-required,iam]")

        def finish() -> None:
            if access_string is not None:
                user.access_string = access_string
            if append_access_string:
                user.access_string = f"{user.access_string} {append_access_string}"
            if passwords:
                user.passwords = list(passwords)
                user.no_password_required = False
                user.authentication_type = "password"
            if mode == "iam":
                user.passwords, user.no_password_required = [], False
                user.authentication_type = "iam"
            if no_password_required or mode == "no-password-required":
                user.passwords, user.no_password_required = [], True
                user.authentication_type = "no-password-required"
            user.status = "active"

        user.status = "modifying"
        self.later(finish)
        return user

    def delete_user(self, user_id: str) -> User:
        user = self._user(user_id)
        if user_id == "default":
            raise InvalidParameterValue("The default user cannot be deleted.")
        if user.status == "deleting":
            raise InvalidUserState(f"User {user_id} has status deleting.")
        user.status = "deleting"

        def finish() -> None:
            self.users.pop(user_id, None)
            for group in self.user_groups.values():
                if user_id in group.user_ids:
                    group.user_ids.remove(user_id)

        self.later(finish)
        return user

    def _user(self, user_id: str) -> User:
        if user_id not in self.users:
            raise UserNotFound(user_id)
        return self.users[user_id]

    # ---- user groups --------------------------------------------------------------

    def create_user_group(self, user_group_id: str, engine: str, user_ids: list[str],
                          tags: list[dict[str, str]]) -> UserGroup:
        if user_group_id in self.user_groups:
            raise UserGroupAlreadyExists(user_group_id)
        engine = (engine or "").lower()
        if engine not in ENGINES:
            raise InvalidParameterValue(
                f'Unknown parameter for Engine: "{engine}", must be one of: redis, valkey')
        self._check_members(user_ids)
        group = UserGroup(self.account_id, self.region_name, user_group_id, engine, user_ids)
        if tags:
            self.tagging_service.tag_resource(group.arn, tags)
        self.user_groups[user_group_id] = group
        for user_id in user_ids:
            self.users[user_id].user_group_ids.append(user_group_id)

        def finish() -> None:
            group.status = "active"

        self.later(finish)
        return group

    def _check_members(self, user_ids: list[str]) -> None:
        names: set[str] = set()
        for user_id in user_ids:
            name = self._user(user_id).name
            if name in names:
                raise DuplicateUserName(f"Duplicate user name {name} in the user group.")
            names.add(name)
        if "default" not in names:
            raise DefaultUserRequired()

    def describe_user_groups(self, user_group_id: str | None) -> list[UserGroup]:
        if user_group_id:
            return [self._user_group(user_group_id)]
        return list(self.user_groups.values())

    def modify_user_group(self, user_group_id: str, add: list[str],
                          remove: list[str]) -> UserGroup:
        group = self._user_group(user_group_id)
        if group.status != "active":
            raise InvalidUserGroupState(f"User group {user_group_id} is not in active state.")
        for user_id in remove:
            if user_id not in group.user_ids:
                raise InvalidParameterValue(
                    f"User {user_id} is not a member of user group {user_group_id}.")
        members = [u for u in group.user_ids if u not in remove]
        members += [u for u in add if u not in members]
        self._check_members(members)
        group.status = "modifying"
        group.pending_changes = {"UserIdsToAdd": list(add), "UserIdsToRemove": list(remove)}

        def finish() -> None:
            for user_id in remove:
                user = self.users.get(user_id)
                if user is not None and user_group_id in user.user_group_ids:
                    user.user_group_ids.remove(user_group_id)
            for user_id in add:
                if user_id in self.users:
                    self.users[user_id].user_group_ids.append(user_group_id)
            group.user_ids = members
            group.pending_changes = None
            group.status = "active"

        self.later(finish)
        return group

    def delete_user_group(self, user_group_id: str) -> UserGroup:
        group = self._user_group(user_group_id)
        if group.replication_groups:
            raise InvalidUserGroupState(
                f"User group {user_group_id} is associated with replication group(s) "
                f"{', '.join(group.replication_groups)}.")
        if group.status == "deleting":
            raise InvalidUserGroupState(f"User group {user_group_id} is already being deleted.")
        group.status = "deleting"

        def finish() -> None:
            self.user_groups.pop(user_group_id, None)
            for user in self.users.values():
                if user_group_id in user.user_group_ids:
                    user.user_group_ids.remove(user_group_id)

        self.later(finish)
        return group

    def _user_group(self, user_group_id: str) -> UserGroup:
        if user_group_id not in self.user_groups:
            raise UserGroupNotFound(user_group_id)
        return self.user_groups[user_group_id]

    # ---- cache parameter groups ------------------------------------------------------

    def create_cache_parameter_group(self, name: str, family: str, description: str,
                                     tags: list[dict[str, str]]) -> CacheParameterGroup:
        if name in self.cache_parameter_groups:
            raise CacheParameterGroupAlreadyExists(name)
        if family not in parameters.FAMILIES:
            raise InvalidParameterValue(
                f"The parameter CacheParameterGroupFamily has an invalid value: {family}. "
                f"Valid families: {', '.join(parameters.FAMILIES)}")
        group = CacheParameterGroup(self.account_id, self.region_name, name, family, description)
        if tags:
            self.tagging_service.tag_resource(group.arn, tags)
        self.cache_parameter_groups[name] = group
        return group

    def describe_cache_parameter_groups(self, name: str | None) -> list[CacheParameterGroup]:
        if name:
            return [self._parameter_group(name)]
        return list(self.cache_parameter_groups.values())

    def modify_cache_parameter_group(self, name: str, values: list[dict[str, str]]) -> str:
        group = self._parameter_group(name)
        if group.is_default:
            raise InvalidCacheParameterGroupState(
                f"Default parameter group {name} cannot be modified.")
        if not values:
            raise InvalidParameterValue("At least one parameter must be given.")
        changes = {}
        for entry in values:
            key, value = entry.get("ParameterName"), entry.get("ParameterValue")
            definition = parameters.definition(group.cache_parameter_group_family, key or "")
            if definition is None:
                raise InvalidParameterValue(f"Unrecognized parameter: {key}")
            if not definition.modifiable:
                raise InvalidParameterValue(f"Parameter {key} is not modifiable.")
            if value is None:
                raise InvalidParameterValue(f"Parameter {key} needs a value.")
            changes[definition.name] = value
        if "cluster-enabled" in changes and self._groups_using(name):
            raise InvalidCacheParameterGroupState(
                f"cluster-enabled cannot be changed while {name} is in use.")
        group.values.update(changes)
        return name

    def reset_cache_parameter_group(self, name: str, reset_all: bool,
                                    values: list[dict[str, str]]) -> str:
        group = self._parameter_group(name)
        if group.is_default:
            raise InvalidCacheParameterGroupState(
                f"Default parameter group {name} cannot be modified.")
        if reset_all:
            group.values.clear()
        elif not values:
            raise InvalidParameterCombination(
                "Either ResetAllParameters or ParameterNameValues must be given.")
        for entry in values:
            group.values.pop(entry.get("ParameterName", ""), None)
        return name

    def delete_cache_parameter_group(self, name: str) -> None:
        group = self._parameter_group(name)
        if group.is_default:
            raise InvalidCacheParameterGroupState(
                f"Default parameter group {name} cannot be deleted.")
        users = self._groups_using(name)
        if users:
            raise InvalidCacheParameterGroupState(
                f"One or more cache clusters are still members of this parameter group "
                f"{name}, so the group cannot be deleted.")
        self.cache_parameter_groups.pop(name)

    def describe_cache_parameters(self, name: str, source: str | None) -> list[dict[str, Any]]:
        return self._parameter_group(name).describe(source)

    def _parameter_group(self, name: str) -> CacheParameterGroup:
        if name not in self.cache_parameter_groups:
            raise CacheParameterGroupNotFound(name)
        return self.cache_parameter_groups[name]

    def _groups_using(self, parameter_group: str) -> list[str]:
        return [g.replication_group_id for g in self.replication_groups.values()
                if g.cache_parameter_group_name == parameter_group]

    # ---- subnet groups ------------------------------------------------------------

    def delete_cache_subnet_group(self, name: str) -> None:
        if name not in self.cache_subnet_groups:
            raise CacheSubnetGroupNotFound(name)
        if any(g.cache_subnet_group_name == name for g in self.replication_groups.values()):
            raise CacheSubnetGroupInUse(name)
        self.cache_subnet_groups.pop(name)

    def modify_cache_subnet_group(self, name: str, description: str | None,
                                  subnet_ids: list[str]) -> CacheSubnetGroup:
        if name not in self.cache_subnet_groups:
            raise CacheSubnetGroupNotFound(name)
        old = self.cache_subnet_groups[name]
        group = CacheSubnetGroup(
            self.account_id, self.region_name, name,
            description if description is not None else old.cache_subnet_group_description,
            subnet_ids or old.subnet_ids, old.tags,
        )
        self.cache_subnet_groups[name] = group
        return group

    # ---- replication groups ----------------------------------------------------------

    def create_replication_group(self, **request: Any) -> ReplicationGroup:  # type: ignore[override]
        self._check_create(request)
        group = super().create_replication_group(**request)
        gid = group.replication_group_id
        group.status = "creating"
        for node_group in group.node_groups:
            node_group["status"] = "creating"
        if group.transit_encryption_enabled and not group.transit_encryption_mode:
            group.transit_encryption_mode = "required"
        group.auth_tokens = [request["auth_token"]] if request.get("auth_token") else []
        group.open_access = False
        group.pending_modified_values = None
        family = parameters.family_of(group.engine, group.engine_version)
        group.cache_parameter_group_name = request.get("cache_parameter_group_name") or (
            f"default.{family}.cluster.on" if group.cluster_mode == "enabled" else f"default.{family}")
        if not group.engine_version:
            group.engine_version = "8.0" if group.engine == "valkey" else "7.1"
        for user_group_id in group.user_group_ids:
            self.user_groups[user_group_id].replication_groups.append(gid)
        seed = self._snapshot_file(request["snapshot_name"]) if request.get("snapshot_name") else None
        failed = self._start_server(group, seed)

        def finish() -> None:
            status = "create-failed" if failed else "available"
            group.status = status
            for node_group in group.node_groups:
                node_group["status"] = status

        self.later(finish)
        return group

    def describe_cache_engine_versions(self, engine: str | None,
                                       version: str | None) -> list[dict[str, Any]]:
        listed = []
        for name, versions in parameters.ENGINE_VERSIONS.items():
            if engine and engine != name:
                continue
            for listed_version in versions:
                if version and not parameters.same_release(listed_version, version):
                    continue
                listed.append({
                    "Engine": name,
                    "EngineVersion": listed_version,
                    "CacheParameterGroupFamily": parameters.family_of(name, listed_version),
                    "CacheEngineDescription": "Valkey" if name == "valkey" else "Redis",
                    "CacheEngineVersionDescription": f"{name} version {listed_version}",
                })
        return listed

    def _check_create(self, request: dict[str, Any]) -> None:
        engine, version = request.get("engine") or "redis", request.get("engine_version")
        if version and not parameters.offered(engine, version):
            raise InvalidParameterValue(f"Cannot find version {version} for {engine}")
        token = request.get("auth_token")
        transit = request.get("transit_encryption_enabled")
        if token is not None and not valid_auth_token(token):
            raise InvalidParameterValue("Invalid AuthToken provided.")
        if token and not transit:
            raise InvalidParameterCombination(
                "Encryption feature is not enabled: AuthToken requires TransitEncryptionEnabled.")
        user_group_ids = request.get("user_group_ids") or []
        if user_group_ids and token:
            raise InvalidParameterCombination("AuthToken and UserGroupIds cannot both be given.")
        if user_group_ids and not transit:
            raise InvalidParameterCombination(
                "Encryption feature is not enabled: user groups require TransitEncryptionEnabled.")
        for user_group_id in user_group_ids:
            if self._user_group(user_group_id).status != "active":
                raise InvalidUserGroupState(f"User group {user_group_id} is not in active state.")
        name = request.get("cache_parameter_group_name")
        if name:
            self._parameter_group(name)
        snapshot = request.get("snapshot_name")
        if snapshot and snapshot not in self.snapshots:
            raise SnapshotNotFound(snapshot)

    def _start_server(self, group: ReplicationGroup, seed: Path | None) -> bool:
        """Starts the group's server; True when it failed (the group then fails to
        create). With no redis-server installed the group has no data plane but works."""
        label = f"{self.account_id}/{self.region_name}/{group.replication_group_id}"
        if settings.redis_server is None:
            log.warning("%s: redis-server is not installed; the group has no server", label)
            return False
        try:
            server = RedisServer.start(label, self._server_config(group), seed,
                                       verify_login=self._verify_login(group.replication_group_id))
        except ServerFailed as error:
            log.error("%s: create-failed: %s", label, error)
            return True
        self.servers[group.replication_group_id] = server
        point_endpoints(group, server.port)
        return False

    def modify_replication_group_ext(self, replication_group_id: str, request: dict[str, Any]) -> ReplicationGroup:
        group = self._available_group(replication_group_id)
        pending: dict[str, Any] = {}
        changes: list[Callable[[], None]] = []
        self._modify_auth(group, request, pending, changes)
        self._modify_transit(group, request, pending, changes)
        self._modify_settings(group, request, pending, changes)
        super().modify_replication_group(
            replication_group_id=replication_group_id,
            replication_group_description=request.get("description"),
            engine=request.get("engine"),
            cache_node_type=request.get("cache_node_type"),
            automatic_failover_enabled=request.get("automatic_failover_enabled"),
            multi_az_enabled=request.get("multi_az_enabled"),
            snapshot_retention_limit=request.get("snapshot_retention_limit"),
        )
        self._busy(group, pending, changes)
        return group

    def _available_group(self, replication_group_id: str) -> ReplicationGroup:
        if replication_group_id not in self.replication_groups:
            raise ReplicationGroupNotFound(replication_group_id)
        group = self.replication_groups[replication_group_id]
        if group.status != "available":
            raise InvalidReplicationGroupState(
                "Replication group must be in available state to modify.")
        return group

    def _busy(self, group: ReplicationGroup, pending: dict[str, Any],
              changes: list[Callable[[], None]]) -> None:
        """`modifying` with `pending` shown until the transition time has passed."""
        group.status = "modifying"
        group.pending_modified_values = pending or None

        def finish() -> None:
            for change in changes:
                change()
            group.status = "available"
            group.pending_modified_values = None

        self.later(finish)

    def _modify_auth(self, group: ReplicationGroup, request: dict[str, Any],
                     pending: dict[str, Any], changes: list[Callable[[], None]]) -> None:
        token = request.get("auth_token")
        strategy = (request.get("auth_token_update_strategy") or ("ROTATE" if token else "")).upper()
        add = request.get("user_group_ids_to_add") or []
        remove = list(request.get("user_group_ids_to_remove") or [])
        if request.get("remove_user_groups"):
            remove = list(group.user_group_ids)
        transit_on = group.transit_encryption_enabled or request.get("transit_encryption_enabled")
        if strategy and strategy not in ("ROTATE", "SET", "DELETE"):
            raise InvalidParameterValue(
                f"Invalid AuthTokenUpdateStrategy {strategy}: must be one of SET, ROTATE, DELETE.")
        if strategy in ("ROTATE", "SET"):
            if not token:
                raise InvalidParameterValue(f"AuthToken is required for the {strategy} strategy.")
            if not valid_auth_token(token):
                raise InvalidParameterValue("Invalid AuthToken provided.")
            if not transit_on:
                raise InvalidParameterCombination(
                    "Encryption feature is not enabled: AuthToken requires TransitEncryptionEnabled.")
            if group.user_group_ids and set(remove) != set(group.user_group_ids):
                raise InvalidParameterCombination(
                    "An AuthToken cannot be set while user groups are attached; remove them in the same call.")
            if strategy == "SET" and group.auth_tokens and group.auth_tokens[-1] != token:
                raise InvalidParameterValue(
                    "The AuthToken given with SET must be the last AuthToken rotated.")
        if strategy == "DELETE":
            if not add:
                raise InvalidParameterValue("Auth token update strategy delete is not supported currently")
            if token:
                raise InvalidParameterCombination("AuthToken cannot be given with the DELETE strategy.")
        for user_group_id in remove:
            if user_group_id not in group.user_group_ids:
                raise InvalidParameterValue(
                    f"User group {user_group_id} is not associated with {group.replication_group_id}.")
        for user_group_id in add:
            if self._user_group(user_group_id).status != "active":
                raise InvalidUserGroupState(f"User group {user_group_id} is not in active state.")
        if add:
            if len(set(group.user_group_ids) - set(remove)) + len(add) > 1:
                raise InvalidParameterCombination("A replication group can have only one user group.")
            if group.auth_tokens and strategy != "DELETE":
                raise InvalidParameterCombination(
                    "To move from an AuthToken to user groups, use AuthTokenUpdateStrategy DELETE.")
            if not transit_on:
                raise InvalidParameterCombination(
                    "Encryption feature is not enabled: user groups require TransitEncryptionEnabled.")
        if strategy:
            pending["AuthTokenStatus"] = "SETTING" if strategy == "SET" else "ROTATING"
        if add or remove:
            pending["UserGroups"] = {"UserGroupIdsToAdd": list(add), "UserGroupIdsToRemove": remove}

        def apply() -> None:
            if strategy == "ROTATE":
                group.open_access = not group.auth_tokens and not group.user_group_ids
                group.auth_tokens = (group.auth_tokens + [token])[-2:]
            elif strategy == "SET":
                group.auth_tokens, group.open_access = [token], False
            elif strategy == "DELETE":
                group.auth_tokens, group.open_access = [], False
            if strategy:
                group.auth_token_enabled = bool(group.auth_tokens)
                group.auth_token_last_modified_date = utcnow()
            for user_group_id in remove:
                group.user_group_ids.remove(user_group_id)
                if user_group_id in self.user_groups:
                    self.user_groups[user_group_id].replication_groups.remove(group.replication_group_id)
            for user_group_id in add:
                group.user_group_ids.append(user_group_id)
                self.user_groups[user_group_id].replication_groups.append(group.replication_group_id)

        changes.append(apply)

    def _modify_transit(self, group: ReplicationGroup, request: dict[str, Any],
                        pending: dict[str, Any], changes: list[Callable[[], None]]) -> None:
        enabled = request.get("transit_encryption_enabled")
        mode = request.get("transit_encryption_mode")
        if enabled is None and mode is None:
            return
        current = group.transit_encryption_mode if group.transit_encryption_enabled else None
        if enabled is False:
            if current == "required":
                raise InvalidParameterCombination(
                    "Set TransitEncryptionMode to preferred before turning encryption in transit off.")
            target: str | None = None
        elif current is None:
            if mode not in (None, "preferred"):
                raise InvalidParameterCombination(
                    "TransitEncryptionMode must be preferred when turning encryption in transit on "
                    "for an existing replication group.")
            target = "preferred"
        else:
            target = mode or current
        if target is None and (group.auth_tokens or group.user_group_ids):
            raise InvalidParameterCombination(
                "Encryption in transit cannot be turned off while AUTH or user groups are in use.")
        pending["TransitEncryptionEnabled"] = target is not None
        if target:
            pending["TransitEncryptionMode"] = target

        def apply() -> None:
            group.transit_encryption_enabled = target is not None
            group.transit_encryption_mode = target

        changes.append(apply)

    def _modify_settings(self, group: ReplicationGroup, request: dict[str, Any],
                         pending: dict[str, Any], changes: list[Callable[[], None]]) -> None:
        name = request.get("cache_parameter_group_name")
        if name:
            target = self._parameter_group(name)
            family = parameters.family_of(group.engine, group.engine_version)
            if target.cache_parameter_group_family != family:
                raise InvalidParameterCombination(
                    f"Parameter group {name} is of family {target.cache_parameter_group_family}, "
                    f"the replication group needs {family}.")
            cluster_on = target.effective().get("cluster-enabled") == "yes"
            if cluster_on != (group.cluster_mode == "enabled"):
                raise InvalidParameterCombination(
                    f"Parameter group {name} does not match the group's cluster mode.")
        logs = request.get("log_delivery_configurations") or []
        if logs:
            pending["LogDeliveryConfigurations"] = [
                {k: v for k, v in entry.items() if k != "Enabled"} for entry in logs]
        plain = {key: request.get(key) for key in (
            "security_group_ids", "snapshot_window", "preferred_maintenance_window",
            "auto_minor_version_upgrade", "engine_version", "notification_topic_arn")}

        def apply() -> None:
            if name:
                group.cache_parameter_group_name = name
            for entry in logs:
                kept = [c for c in group.log_delivery_configurations
                        if c.get("LogType") != entry.get("LogType")]
                if str(entry.get("Enabled", "true")).lower() != "false":
                    kept += group._get_log_delivery_configurations(
                        [{k: v for k, v in entry.items() if k != "Enabled"}])
                group.log_delivery_configurations = kept
            for key, value in plain.items():
                if value is not None:
                    setattr(group, key, value)

        changes.append(apply)

    def change_replicas(self, replication_group_id: str, count: int, increase: bool) -> ReplicationGroup:
        group = self._available_group(replication_group_id)
        current = len(group.node_groups[0]["node_group_members"]) - 1
        if increase and count <= current:
            raise InvalidParameterValue(
                f"NewReplicaCount {count} must be greater than the current {current}.")
        if not increase and not 0 <= count < current:
            raise InvalidParameterValue(
                f"NewReplicaCount {count} must be less than the current {current}.")
        shards = len(group.node_groups)
        self._busy(group, {}, [lambda: self._reshape(group, shards, count)])
        return group

    def change_shards(self, replication_group_id: str, count: int, remove: list[str],
                      retain: list[str]) -> ReplicationGroup:
        group = self._available_group(replication_group_id)
        if group.cluster_mode != "enabled":
            raise InvalidParameterCombination("Shards can be changed only with cluster mode enabled.")
        if not 1 <= count <= 500:
            raise InvalidParameterValue("NodeGroupCount must be between 1 and 500.")
        if count < len(group.node_groups):
            known = {node_group["node_group_id"] for node_group in group.node_groups}
            if not remove and not retain:
                raise InvalidParameterValue(
                    "NodeGroupsToRemove or NodeGroupsToRetain is required when reducing shards.")
            named = set(remove or retain)
            if not named <= known:
                raise InvalidParameterValue(
                    f"Unknown node groups: {', '.join(sorted(named - known))}.")
            left = len(known) - len(remove) if remove else len(retain)
            if left != count:
                raise InvalidParameterValue(
                    f"NodeGroupCount {count} does not match the node groups that remain ({left}).")
        replicas = len(group.node_groups[0]["node_group_members"]) - 1
        pending = {"Resharding": {"SlotMigration": {"ProgressPercentage": 0.0}}}
        self._busy(group, pending, [lambda: self._reshape(group, count, replicas)])
        return group

    def _reshape(self, group: ReplicationGroup, shards: int, replicas: int) -> None:
        gid = group.replication_group_id
        group.node_groups, group.member_clusters = [], []
        for index in range(shards):
            node_group: dict[str, Any] = {
                "node_group_id": f"{index + 1:0>4}", "status": "available", "node_group_members": []}
            if group.cluster_mode == "enabled":
                first, last = slot_range(index, shards)
                node_group["slots"] = f"{first}-{last}"
                group._set_node_members_clusters_enabled(
                    member_clusters=group.member_clusters, replication_group_id=gid,
                    replicas_per_node_group=replicas, node_group_configuration=[],
                    node_group=node_group, member_clusters_outpost_arns=[])
            else:
                node_group["primary_endpoint"] = {"address": "", "port": group.port}
                group._set_node_members_clusters_disabled(
                    member_clusters=group.member_clusters, replication_group_id=gid,
                    replication_group_domain="local", node_group=node_group,
                    preferred_cache_cluster_azs=[], num_cache_clusters=replicas + 1,
                    replicas_per_node_group=replicas)
            group.node_groups.append(node_group)
        server = self.servers.get(gid)
        if server is not None:
            point_endpoints(group, server.port)

    def delete_replication_group_ext(self, replication_group_id: str,
                                     final_snapshot: str | None) -> ReplicationGroup:
        if replication_group_id not in self.replication_groups:
            raise ReplicationGroupNotFound(replication_group_id)
        group = self.replication_groups[replication_group_id]
        if group.status not in ("available", "create-failed"):
            raise InvalidReplicationGroupState(
                f"Replication group {replication_group_id} is {group.status}; it can be deleted "
                "only when available.")
        if final_snapshot:
            if final_snapshot in self.snapshots:
                raise SnapshotAlreadyExists(final_snapshot)
            self.create_snapshot(final_snapshot, replication_group_id, None, group.kms_key_id, [])
        group.status = "deleting"

        def finish() -> None:
            server = self.servers.pop(replication_group_id, None)
            if server is not None:
                server.stop()
            self.replication_groups.pop(replication_group_id, None)
            for user_group_id in group.user_group_ids:
                user_group = self.user_groups.get(user_group_id)
                if user_group and replication_group_id in user_group.replication_groups:
                    user_group.replication_groups.remove(replication_group_id)

        self.later(finish)
        return group

    # ---- snapshots -----------------------------------------------------------------------

    def create_snapshot(self, snapshot_name: str, replication_group_id: str | None,
                        cache_cluster_id: str | None, kms_key_id: str | None,
                        tags: list[dict[str, str]] | None) -> Snapshot:
        snapshot = super().create_snapshot(
            snapshot_name, replication_group_id, cache_cluster_id, kms_key_id, tags)
        server = self.servers.get(replication_group_id or "")
        if server is not None:
            server.save(self._snapshot_file(snapshot_name))
        return snapshot

    def describe_snapshots(self, replication_group_id: str | None = None, **rest: Any) -> list[Snapshot]:
        # AWS lists the snapshots of a group that no longer exists; moto refuses.
        if replication_group_id and replication_group_id not in self.replication_groups:
            return [s for s in self.snapshots.values()
                    if s.replication_group_id == replication_group_id]
        return super().describe_snapshots(replication_group_id=replication_group_id, **rest)

    def delete_snapshot(self, snapshot_name: str) -> Snapshot:
        snapshot = super().delete_snapshot(snapshot_name)
        self._snapshot_file(snapshot_name).unlink(missing_ok=True)
        return snapshot

    def _snapshot_file(self, name: str) -> Path:
        return settings.snapshots_dir / self.account_id / self.region_name / f"{name}.rdb"

    # ---- the data plane -------------------------------------------------------------------

    def sync_servers(self) -> None:
        """Brings every server to what its group now is (a no-op when nothing changed)."""
        for group_id, server in self.servers.items():
            group = self.replication_groups.get(group_id)
            if group is None:
                continue
            try:
                server.apply(self._server_config(group))
            except (OSError, ConnectionError) as error:
                log.error("%s: the server could not be reconfigured: %s", server.label, error)

    def _server_config(self, group: ReplicationGroup) -> ServerConfig:
        parameter_group = self.cache_parameter_groups.get(group.cache_parameter_group_name or "")
        runtime = []
        if parameter_group is not None:
            effective = parameter_group.effective()
            runtime = [(p.name, effective[p.name])
                       for p in parameters.FAMILIES[parameter_group.cache_parameter_group_family]
                       if p.runtime]
        return ServerConfig(
            tls=bool(group.transit_encryption_enabled),
            cluster=group.cluster_mode == "enabled",
            users=self._acl_users(group),
            parameters=tuple(runtime),
            iam_logins=tuple((user.id, internal_password(user)) for user in self._members(group)
                             if user.authentication_type == "iam"),
        )

    def _members(self, group: ReplicationGroup) -> list[User]:
        if not group.user_group_ids:
            return []
        user_group = self.user_groups.get(group.user_group_ids[0])
        return [self.users[u] for u in (user_group.user_ids if user_group else []) if u in self.users]

    def _verify_login(self, group_id: str) -> Callable[[str, str], str | None]:
        """Checks an IAM user's token for group `group_id` of this account and region."""
        def verify(user_id: str, token: str) -> str | None:
            expected = sigv4.Expected(group_id.lower(), user_id, self.region_name, self.account_id)
            return sigv4.verify(token, expected, datetime.datetime.now(datetime.timezone.utc), secret_for)
        return verify

    def _acl_users(self, group: ReplicationGroup) -> tuple[AclUser, ...]:
        if group.user_group_ids:
            users = tuple(acl_user(user) for user in self._members(group))
            if not any(user.name == "default" for user in users):
                users += (AclUser("default", ("off",)),)
            return users
        if group.auth_tokens:
            return (AclUser("default", FULL_ACCESS, tuple(group.auth_tokens), nopass=group.open_access),)
        return (AclUser("default", FULL_ACCESS, nopass=True),)


def acl_user(user: User) -> AclUser:
    """An ElastiCache user as the server knows it. An IAM user's password is an
    internal one: the group's front checks the token and logs in with it."""
    if user.authentication_type == "iam":
        passwords: tuple[str, ...] = (internal_password(user),)
    elif user.authentication_type == "password":
        passwords = tuple(user.passwords)
    else:
        passwords = ()
    return AclUser(user.name, tuple(user.access_string.split()), passwords,
                   nopass=bool(user.no_password_required))


# Fixed for the emulator's life, known to no client: IAM users' internal passwords.
_INTERNAL_KEY = secrets.token_bytes(32)


def internal_password(user: User) -> str:
    return hmac.new(_INTERNAL_KEY, user.arn.encode(), hashlib.sha256).hexdigest()


def secret_for(access_key: str) -> sigv4.Signer | None:
    """The credentials behind `access_key`: a session moto's STS issued, or the
    emulator's own `test` keys (`scripts/emulator.sh env`), good in any account."""
    if access_key == "test":
        return sigv4.Signer("test", None, None)
    for account_id in list(sts_backends.keys()):
        for backend in list(sts_backends[account_id].values()):
            role = backend.get_assumed_role_from_access_key(access_key)
            if role is not None:
                return sigv4.Signer(role.secret_access_key, role.session_token, role.account_id)
    return None


def point_endpoints(group: ReplicationGroup, port: int) -> None:
    """Every endpoint of the group is its server's."""
    endpoint = {"address": "127.0.0.1", "port": port}
    if group.cluster_mode == "enabled":
        group.configuration_endpoint = dict(endpoint)
    for node_group in group.node_groups:
        if group.cluster_mode != "enabled":
            node_group["primary_endpoint"] = dict(endpoint)
            node_group["primary_endpoint_address"] = "127.0.0.1"
            node_group["reader_endpoint"] = dict(endpoint)
            node_group["reader_endpoint_address"] = "127.0.0.1"
            node_group["port"] = port
        for member in node_group["node_group_members"]:
            if "read_endpoint" in member:
                member["read_endpoint"] = dict(endpoint)


def slot_range(index: int, shards: int) -> tuple[int, int]:
    size = 16384 // shards
    first = index * size
    last = 16383 if index == shards - 1 else first + size - 1
    return first, last

