"""Runs Local ElastiCache in-process (moto's ThreadedMotoServer with install()) on a free
port, with fast transitions and a state folder of its own. Each test gets its own
account, so tests never see each other's resources."""

from __future__ import annotations

import itertools
import shutil
import socket
import subprocess
import time
from pathlib import Path
from typing import Any, Callable

import boto3
import pytest

import local_elasticache
from local_elasticache.config import settings

ROOT = Path(__file__).resolve().parents[3]
_accounts = itertools.count(100000000000)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "data_plane: needs redis-server (scripts/test.sh skips these without it)")
    # moto notes that InvalidAction is not in ElastiCache's model; AWS answers it anyway.
    config.addinivalue_line("filterwarnings", "ignore:Exception\\(InvalidAction\\)")


@pytest.fixture(scope="session")
def endpoint(tmp_path_factory: pytest.TempPathFactory):
    subprocess.run([str(ROOT / "scripts/emulator.sh"), "certs"], check=True)
    state = tmp_path_factory.mktemp("state")
    shutil.copytree(ROOT / ".moto/tls", state / "tls")
    settings.state_dir = state
    settings.transition_seconds = 0.3
    local_elasticache.install()
    from moto.server import ThreadedMotoServer

    port = free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port)
    server.start()
    yield f"http://127.0.0.1:{port}"
    server.stop()
    local_elasticache.stop_all_servers()


@pytest.fixture
def client(endpoint: str):
    account = str(next(_accounts))
    client = boto3.client(
        "elasticache",
        endpoint_url=endpoint,
        region_name="us-east-1",
        aws_access_key_id="test",
        aws_secret_access_key="test",
    )

    def add_account(request: Any, **_: Any) -> None:
        request.headers["x-moto-account-id"] = account

    client.meta.events.register("before-sign.elasticache.*", add_account)
    return client


def wait_for(read: Callable[[], Any], wanted: Any, timeout: float = 10) -> Any:
    """Polls `read` until it returns `wanted`; returns the last value."""
    deadline = time.monotonic() + timeout
    while True:
        value = read()
        if value == wanted or time.monotonic() > deadline:
            return value
        time.sleep(0.05)


@pytest.fixture
def ca_file() -> Path:
    return settings.ca_file
