"""The two Secrets Manager fixes credential rotation depends on, in moto 5.2.5:

- ListSecretVersionIds reports the time of the call as every version's CreatedDate (and
  LastAccessedDate); AWS reports when each version was made, which a rotation compares
  with when the replication group's AUTH tokens last changed.
- UpdateSecretVersionStage moves the AWSCURRENT label but not the version that
  GetSecretValue without a stage returns, so applications kept reading the old value;
  on AWS that read is AWSCURRENT's.
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


_moto_list_secret_version_ids: Any = None
_moto_update_secret_version_stage: Any = None


def install() -> None:
    """Puts the fixes into moto's Secrets Manager backend (once)."""
    global _moto_list_secret_version_ids, _moto_update_secret_version_stage
    from moto.secretsmanager.models import SecretsManagerBackend

    if _moto_list_secret_version_ids is None:
        _moto_list_secret_version_ids = SecretsManagerBackend.list_secret_version_ids
        _moto_update_secret_version_stage = SecretsManagerBackend.update_secret_version_stage
        SecretsManagerBackend.list_secret_version_ids = list_secret_version_ids
        SecretsManagerBackend.update_secret_version_stage = update_secret_version_stage
