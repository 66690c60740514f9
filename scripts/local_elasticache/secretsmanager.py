"""The two Secrets Manager fixes credential rotation depends on, in moto 5.2.5:

- ListSecretVersionIds reports the time of the call as every version's CreatedDate (and
  LastAccessedDate); AWS reports when each version was made, which a rotation compares
  with when the replication group's AUTH tokens last changed.
- UpdateSecretVersionStage moves the AWSCURRENT label but not the version that
  GetSecretValue without a stage returns, so applications kept reading the old value;
  on AWS that read is AWSCURRENT's.

And one for turning rotation on (`runner: lambda`): RotateSecret with a function and
`RotateImmediately=false` invokes the function in moto (which needs Docker) and makes
a pending version, and keeps only `AutomaticallyAfterDays` of the rules. Here it
records the function and the rules as given (`ScheduleExpression`, `Duration`
included) and enables rotation. AWS also runs the function's testSecret step on a
throwaway pending version then; the emulator cannot run the function, so it does not.
"""

from __future__ import annotations

import json
from typing import Any


def list_secret_version_ids(self: Any, secret_id: str) -> str:
    """moto's `list_secret_version_ids` with each version's own dates."""
    listed = json.loads(_moto_list_secret_version_ids(self, secret_id))
    versions = self.secrets[secret_id].versions
    for entry in listed.get("Versions", []):
        created = versions.get(entry["VersionId"], {}).get("createdate")
        if created is not None:
            entry["CreatedDate"] = created
            entry["LastAccessedDate"] = created
    return json.dumps(listed)


def update_secret_version_stage(self: Any, secret_id: str, version_stage: str,
                                remove_from_version_id: str, move_to_version_id: str) -> Any:
    """moto's `update_secret_version_stage`; a moved AWSCURRENT is also what a read
    without a stage returns."""
    result = _moto_update_secret_version_stage(self, secret_id, version_stage,
                                               remove_from_version_id, move_to_version_id)
    if version_stage == "AWSCURRENT" and move_to_version_id:
        self.secrets[secret_id].set_default_version_id(move_to_version_id)
    return result


def rotate_secret(self: Any, secret_id: str, client_request_token: str | None = None,
                  rotation_lambda_arn: str | None = None,
                  rotation_rules: dict[str, Any] | None = None,
                  rotate_immediately: bool = True) -> str:
    """moto's `rotate_secret`, except that enabling rotation without rotating now only
    records the configuration."""
    if not rotation_lambda_arn or rotate_immediately:
        return _moto_rotate_secret(self, secret_id, client_request_token,
                                   rotation_lambda_arn, rotation_rules, rotate_immediately)
    from moto.awslambda.utils import get_backend
    from moto.secretsmanager.exceptions import (InvalidParameterException,
                                                ResourceNotFoundException,
                                                SecretNotFoundException)

    if not self._is_valid_identifier(secret_id):
        raise SecretNotFoundException()
    try:
        get_backend(self.account_id, self.region_name).get_function(rotation_lambda_arn)
    except Exception:
        raise ResourceNotFoundException(
            f"Resource not found for ARN '{rotation_lambda_arn}'.") from None
    rules = dict(rotation_rules or {})
    if not rules.get("AutomaticallyAfterDays") and not rules.get("ScheduleExpression"):
        raise InvalidParameterException(
            "RotationRules needs AutomaticallyAfterDays or ScheduleExpression.")
    secret = self.secrets[secret_id]
    secret.rotation_requested = True
    secret.rotation_enabled = True
    secret.rotation_lambda_arn = rotation_lambda_arn
    secret.local_rotation_rules = rules
    return secret.to_short_dict()


def secret_to_dict(self: Any) -> dict[str, Any]:
    """moto's `FakeSecret.to_dict`, with the rotation rules as they were given."""
    dct = _moto_secret_to_dict(self)
    rules = getattr(self, "local_rotation_rules", None)
    if rules is not None and "RotationRules" in dct:
        dct["RotationRules"] = rules
    return dct


_moto_list_secret_version_ids: Any = None
_moto_update_secret_version_stage: Any = None
_moto_rotate_secret: Any = None
_moto_secret_to_dict: Any = None


def install() -> None:
    """Puts the fixes into moto's Secrets Manager backend (once)."""
    global _moto_list_secret_version_ids, _moto_update_secret_version_stage
    global _moto_rotate_secret, _moto_secret_to_dict
    from moto.secretsmanager.models import FakeSecret, SecretsManagerBackend

    if _moto_list_secret_version_ids is None:
        _moto_list_secret_version_ids = SecretsManagerBackend.list_secret_version_ids
        _moto_update_secret_version_stage = SecretsManagerBackend.update_secret_version_stage
        SecretsManagerBackend.list_secret_version_ids = list_secret_version_ids
        SecretsManagerBackend.update_secret_version_stage = update_secret_version_stage
        _moto_rotate_secret = SecretsManagerBackend.rotate_secret
        _moto_secret_to_dict = FakeSecret.to_dict
        SecretsManagerBackend.rotate_secret = rotate_secret
        FakeSecret.to_dict = secret_to_dict
