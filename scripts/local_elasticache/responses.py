"""Request handlers for the actions models.py adds, in moto's style: parse the query
parameters, call the backend, return an ActionResult that moto serializes from the
botocore model."""

from __future__ import annotations

import functools
import threading
from typing import Any

from moto.core.responses import ActionResult, EmptyResult
from moto.core.utils import camelcase_to_underscores, method_names_from_class
from moto.elasticache.responses import ElastiCacheResponse

from .exceptions import InvalidAction
from .models import LocalElastiCacheBackend

@functools.cache
def handled_actions(response_class: type) -> frozenset[str]:
    """The actions a handler class answers (inspected once, not per request)."""
    return frozenset(method_names_from_class(response_class))


# One request at a time per emulator: statuses advance, servers are reconfigured and
# requests answered in one consistent order.
LOCK = threading.RLock()


class LocalElastiCacheResponse(ElastiCacheResponse):
    @property
    def backend(self) -> LocalElastiCacheBackend:
        return self.elasticache_backend  # type: ignore[return-value]

    def call_action(self) -> Any:
        action = self._get_action()
        if action and camelcase_to_underscores(action) not in handled_actions(type(self)):
            return self._error(InvalidAction(action))
        with LOCK:
            backend = self.backend
            backend.tick()
            try:
                return super().call_action()
            finally:
                backend.sync_servers()

    def _error(self, error: Exception) -> Any:
        """An error response shaped as moto shapes the errors its handlers raise."""
        status, headers, body = self.serialized(ActionResult(error))
        headers["status"] = status
        status, headers, body = self._transform_response(self.response_headers, (body, headers))
        headers, body = self._enrich_response(headers, body)
        return status, headers, body

    # ---- users ------------------------------------------------------------------------

    def modify_user(self) -> ActionResult:
        params = self._get_params()
        user = self.backend.modify_user(
            user_id=params.get("UserId"),
            access_string=params.get("AccessString"),
            append_access_string=params.get("AppendAccessString"),
            passwords=list(params.get("Passwords") or []),
            no_password_required=self._get_bool_param("NoPasswordRequired"),
            authentication_mode=params.get("AuthenticationMode"),
        )
        return ActionResult(user)

    def delete_user(self) -> ActionResult:
        return ActionResult(self.backend.delete_user(self._get_param("UserId")))

    # ---- user groups ------------------------------------------------------------------

    def create_user_group(self) -> ActionResult:
        group = self.backend.create_user_group(
            user_group_id=self._get_param("UserGroupId"),
            engine=self._get_param("Engine"),
            user_ids=list(self._get_param("UserIds") or []),
            tags=self._get_param("Tags", []),
        )
        return ActionResult(group)

    def describe_user_groups(self) -> ActionResult:
        groups = self.backend.describe_user_groups(self._get_param("UserGroupId"))
        return ActionResult({"UserGroups": groups})

    def modify_user_group(self) -> ActionResult:
        group = self.backend.modify_user_group(
            user_group_id=self._get_param("UserGroupId"),
            add=list(self._get_param("UserIdsToAdd") or []),
            remove=list(self._get_param("UserIdsToRemove") or []),
        )
        return ActionResult(group)

    def delete_user_group(self) -> ActionResult:
        return ActionResult(self.backend.delete_user_group(self._get_param("UserGroupId")))

    # ---- cache parameter groups -------------------------------------------------------

    def create_cache_parameter_group(self) -> ActionResult:
        group = self.backend.create_cache_parameter_group(
            name=self._get_param("CacheParameterGroupName"),
            family=self._get_param("CacheParameterGroupFamily"),
            description=self._get_param("Description"),
            tags=self._get_param("Tags", []),
        )
        return ActionResult({"CacheParameterGroup": group})

    def describe_cache_parameter_groups(self) -> ActionResult:
        groups = self.backend.describe_cache_parameter_groups(
            self._get_param("CacheParameterGroupName"))
        return ActionResult({"CacheParameterGroups": groups})

    def modify_cache_parameter_group(self) -> ActionResult:
        name = self.backend.modify_cache_parameter_group(
            name=self._get_param("CacheParameterGroupName"),
            values=list(self._get_param("ParameterNameValues") or []),
        )
        return ActionResult({"CacheParameterGroupName": name})

    def reset_cache_parameter_group(self) -> ActionResult:
        name = self.backend.reset_cache_parameter_group(
            name=self._get_param("CacheParameterGroupName"),
            reset_all=bool(self._get_bool_param("ResetAllParameters")),
            values=list(self._get_param("ParameterNameValues") or []),
        )
        return ActionResult({"CacheParameterGroupName": name})

    def delete_cache_parameter_group(self) -> ActionResult:
        self.backend.delete_cache_parameter_group(self._get_param("CacheParameterGroupName"))
        return EmptyResult()

    def describe_cache_parameters(self) -> ActionResult:
        described = self.backend.describe_cache_parameters(
            name=self._get_param("CacheParameterGroupName"),
            source=self._get_param("Source"),
        )
        return ActionResult({"Parameters": described})

    # ---- engine versions --------------------------------------------------------------

    def describe_cache_engine_versions(self) -> ActionResult:
        versions = self.backend.describe_cache_engine_versions(
            engine=self._get_param("Engine"),
            version=self._get_param("EngineVersion"),
        )
        return ActionResult({"CacheEngineVersions": versions})

    # ---- subnet groups ----------------------------------------------------------------

    def delete_cache_subnet_group(self) -> ActionResult:
        self.backend.delete_cache_subnet_group(self._get_param("CacheSubnetGroupName"))
        return EmptyResult()

    def modify_cache_subnet_group(self) -> ActionResult:
        group = self.backend.modify_cache_subnet_group(
            name=self._get_param("CacheSubnetGroupName"),
            description=self._get_param("CacheSubnetGroupDescription"),
            subnet_ids=list(self._get_param("SubnetIds") or []),
        )
        return ActionResult({"CacheSubnetGroup": group})

    # ---- replication groups -----------------------------------------------------------

    def modify_replication_group(self) -> ActionResult:
        params = self._get_params()
        request = {
            "description": self._get_param("ReplicationGroupDescription"),
            "engine": self._get_param("Engine"),
            "engine_version": self._get_param("EngineVersion"),
            "cache_node_type": self._get_param("CacheNodeType"),
            "automatic_failover_enabled": self._get_bool_param("AutomaticFailoverEnabled"),
            "multi_az_enabled": self._get_bool_param("MultiAZEnabled"),
            "snapshot_retention_limit": self._get_int_param("SnapshotRetentionLimit"),
            "snapshot_window": self._get_param("SnapshotWindow"),
            "preferred_maintenance_window": self._get_param("PreferredMaintenanceWindow"),
            "auto_minor_version_upgrade": self._get_bool_param("AutoMinorVersionUpgrade"),
            "notification_topic_arn": self._get_param("NotificationTopicArn"),
            "security_group_ids": self._get_param("SecurityGroupIds"),
            "cache_parameter_group_name": self._get_param("CacheParameterGroupName"),
            "auth_token": self._get_param("AuthToken"),
            "auth_token_update_strategy": self._get_param("AuthTokenUpdateStrategy"),
            "user_group_ids_to_add": self._get_param("UserGroupIdsToAdd"),
            "user_group_ids_to_remove": self._get_param("UserGroupIdsToRemove"),
            "remove_user_groups": self._get_bool_param("RemoveUserGroups"),
            "transit_encryption_enabled": self._get_bool_param("TransitEncryptionEnabled"),
            "transit_encryption_mode": self._get_param("TransitEncryptionMode"),
            "log_delivery_configurations": params.get("LogDeliveryConfigurations"),
        }
        group = self.backend.modify_replication_group_ext(
            self._get_param("ReplicationGroupId"), request)
        return ActionResult({"ReplicationGroup": group})

    def delete_replication_group(self) -> ActionResult:
        group = self.backend.delete_replication_group_ext(
            self._get_param("ReplicationGroupId"),
            self._get_param("FinalSnapshotIdentifier"),
        )
        return ActionResult({"ReplicationGroup": group})

    def increase_replica_count(self) -> ActionResult:
        group = self.backend.change_replicas(
            self._get_param("ReplicationGroupId"),
            self._get_int_param("NewReplicaCount"),
            increase=True,
        )
        return ActionResult({"ReplicationGroup": group})

    def decrease_replica_count(self) -> ActionResult:
        group = self.backend.change_replicas(
            self._get_param("ReplicationGroupId"),
            self._get_int_param("NewReplicaCount"),
            increase=False,
        )
        return ActionResult({"ReplicationGroup": group})

    def modify_replication_group_shard_configuration(self) -> ActionResult:
        group = self.backend.change_shards(
            self._get_param("ReplicationGroupId"),
            self._get_int_param("NodeGroupCount"),
            remove=list(self._get_param("NodeGroupsToRemove") or []),
            retain=list(self._get_param("NodeGroupsToRetain") or []),
        )
        return ActionResult({"ReplicationGroup": group})
