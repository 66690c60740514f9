"""The one Secrets Manager fix rotation depends on: moto 5.2.5's ListSecretVersionIds
reports the time of the call as every version's CreatedDate (and LastAccessedDate);
AWS reports when each version was made, which a rotation compares with when the
replication group's AUTH tokens last changed."""

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


_moto_list_secret_version_ids: Any = None


def install() -> None:
    """Puts the fix into moto's Secrets Manager backend (once)."""
    global _moto_list_secret_version_ids
    from moto.secretsmanager.models import SecretsManagerBackend

    if _moto_list_secret_version_ids is None:
        _moto_list_secret_version_ids = SecretsManagerBackend.list_secret_version_ids
        SecretsManagerBackend.list_secret_version_ids = list_secret_version_ids
