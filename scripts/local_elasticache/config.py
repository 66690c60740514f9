"""The emulator's settings, read from the environment once at start. Tests change the
fields of `settings` directly."""

from __future__ import annotations

import os
import shutil
from dataclasses import dataclass
from pathlib import Path


@dataclass
class Settings:
    # How long `creating`, `modifying` and `deleting` last.
    transition_seconds: float
    # Where servers, snapshots and the TLS files live.
    state_dir: Path
    # The redis-server binary; None when it is not installed (groups then have no
    # data plane, and say so in the log).
    redis_server: str | None
    # Where the Price List's recorded answers are (one JSON file per region); the same
    # files the cost crate's tests read.
    prices_dir: Path

    @property
    def tls_dir(self) -> Path:
        return self.state_dir / "tls"

    @property
    def ca_file(self) -> Path:
        return self.tls_dir / "ca.pem"

    @property
    def cert_file(self) -> Path:
        return self.tls_dir / "server.pem"

    @property
    def key_file(self) -> Path:
        return self.tls_dir / "server.key"

    @property
    def servers_dir(self) -> Path:
        return self.state_dir / "servers"

    @property
    def snapshots_dir(self) -> Path:
        return self.state_dir / "snapshots"

    @classmethod
    def from_env(cls) -> "Settings":
        return cls(
            transition_seconds=float(
                os.environ.get("LOCAL_ELASTICACHE_TRANSITION_SECONDS", "1")
            ),
            state_dir=Path(os.environ.get("LOCAL_ELASTICACHE_STATE", ".moto")).resolve(),
            redis_server=os.environ.get("LOCAL_ELASTICACHE_REDIS_SERVER")
            or shutil.which("redis-server"),
            prices_dir=Path(
                os.environ.get(
                    "LOCAL_ELASTICACHE_PRICES",
                    Path(__file__).resolve().parents[2] / "crates/cost/fixtures/price-list",
                )
            ),
        )


settings = Settings.from_env()
