"""Errors with the codes and messages of the ElastiCache API reference."""

from moto.elasticache.exceptions import ElastiCacheException


class _Named(ElastiCacheException):
    def __init__(self, message: str):
        super().__init__(message)


class UserGroupNotFound(ElastiCacheException):
    code = "UserGroupNotFound"

    def __init__(self, user_group_id: str):
        super().__init__(f"User group {user_group_id} not found.")


class UserGroupAlreadyExists(ElastiCacheException):
    code = "UserGroupAlreadyExists"

    def __init__(self, user_group_id: str):
        super().__init__(f"User group {user_group_id} already exists.")


class DuplicateUserName(_Named):
    code = "DuplicateUserName"


class DefaultUserRequired(ElastiCacheException):
    code = "DefaultUserRequired"

    def __init__(self) -> None:
        super().__init__("User group needs to contain a user with the user name default.")


class InvalidUserGroupState(_Named):
    code = "InvalidUserGroupState"


class InvalidUserState(_Named):
    code = "InvalidUserState"


class CacheParameterGroupNotFound(ElastiCacheException):
    code = "CacheParameterGroupNotFound"

    def __init__(self, name: str):
        super().__init__(f"CacheParameterGroup {name} not found.")


class CacheParameterGroupAlreadyExists(ElastiCacheException):
    code = "CacheParameterGroupAlreadyExists"

    def __init__(self, name: str):
        super().__init__(f"Parameter group {name} already exists.")


class InvalidCacheParameterGroupState(_Named):
    code = "InvalidCacheParameterGroupState"


class InvalidReplicationGroupState(_Named):
    code = "InvalidReplicationGroupState"


class CacheSubnetGroupInUse(ElastiCacheException):
    code = "CacheSubnetGroupInUse"

    def __init__(self, name: str):
        super().__init__(f"Cache subnet group {name} is currently in use by a cache cluster.")


class InvalidParameterValue(_Named):
    code = "InvalidParameterValue"


class InvalidParameterCombination(_Named):
    code = "InvalidParameterCombination"


class InvalidAction(ElastiCacheException):
    """An action the emulator does not implement: AWS's answer to an unknown action,
    rather than moto's HTML 500 page."""

    code = "InvalidAction"

    def __init__(self, action: str):
        super().__init__(
            f"The action {action} is not implemented by Local ElastiCache "
            "(see docs/emulator.md for what is missing).")
