"""The data plane: one real `redis-server` per replication group, on 127.0.0.1 and a
free port, configured the way ElastiCache configures that group (TLS, the AUTH token or
the RBAC users, the parameter group), and managed over a Unix socket by an admin user
only the emulator knows.

Owns starting, reconfiguring, saving and stopping servers. Does not decide what a
group's configuration is: the backend (models.py) computes a ServerConfig and hands it
over.
"""

from __future__ import annotations

import logging
import os
import secrets
import shutil
import signal
import socket
import ssl
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from .config import settings
from .front import Front, FrontConfig
from .resp import Connection, ReplyError

log = logging.getLogger("local_elasticache")

ADMIN_USER = "local-elasticache-admin"
START_TIMEOUT_SECONDS = 5.0
# Ports servers listen on; the cluster bus of a cluster-mode server is port + 10000.
PORT_RANGE = range(21000, 29000)
ALL_SLOTS = ("0", "16383")


class ServerFailed(Exception):
    """A server did not start; the message says why (the end of its log)."""


@dataclass(frozen=True)
class AclUser:
    """One user as the server should know it."""

    name: str
    # The ElastiCache access string, split into ACL rules (`on ~app:* +@all`).
    rules: tuple[str, ...]
    passwords: tuple[str, ...] = ()
    # Any password (or none) is accepted.
    nopass: bool = False


@dataclass(frozen=True)
class ServerConfig:
    """How ElastiCache would configure a group's server."""

    tls: bool
    cluster: bool
    users: tuple[AclUser, ...]
    # Parameters the server understands at run time, with their effective values.
    parameters: tuple[tuple[str, str], ...] = ()
    # IAM users: (user id, the internal password the server knows it by). With any,
    # the server sits behind a front that checks their tokens (front.py).
    iam_logins: tuple[tuple[str, str], ...] = ()


@dataclass
class RedisServer:
    directory: Path
    port: int
    process: subprocess.Popen
    admin_password: str
    applied: ServerConfig
    label: str = ""
    _users: set[str] = field(default_factory=set)
    # Checks an IAM user's token (user id, token) -> None or why not; set by the backend.
    verify_login: Callable[[str, str], str | None] | None = None
    # The front on `port` once the group has IAM users; the server then listens on
    # `internal_port`, plain, on loopback.
    front: Front | None = None
    internal_port: int = 0

    @property
    def socket_path(self) -> Path:
        return self.directory / "redis.sock"

    # ---- lifecycle --------------------------------------------------------------

    @classmethod
    def start(cls, label: str, config: ServerConfig, seed: Path | None = None,
              verify_login: Callable[[str, str], str | None] | None = None) -> "RedisServer":
        """Starts a server for `label` (a group id) and applies `config`; `seed` is an RDB
        file to load (a snapshot); `verify_login` checks IAM users' tokens. Raises
        ServerFailed when it does not come up."""
        if settings.redis_server is None:
            raise ServerFailed("redis-server is not installed (apt-get install redis-server)")
        port = free_port()
        directory = settings.servers_dir / str(port)
        shutil.rmtree(directory, ignore_errors=True)
        directory.mkdir(parents=True)
        if seed is not None:
            shutil.copyfile(seed, directory / "dump.rdb")
        admin_password = secrets.token_hex(24)
        conf = directory / "redis.conf"
        conf.write_text(config_file(directory, port, config, admin_password))
        os.chmod(conf, 0o600)
        (directory / "group").write_text(label + "\n")
        process = subprocess.Popen(
            [settings.redis_server, str(conf)],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        (directory / "pid").write_text(f"{process.pid}\n")
        # The file starts with an open default user; the ACL comes once it answers.
        started = ServerConfig(config.tls, config.cluster, users=(), parameters=config.parameters)
        server = cls(directory, port, process, admin_password, started, label,
                     verify_login=verify_login)
        server._wait_ready()
        if config.cluster:
            server._admin("CLUSTER", "ADDSLOTSRANGE", *ALL_SLOTS)
            server._wait_cluster_ok()
        server.apply(config)
        log.info("server for %s listening on 127.0.0.1:%d (pid %d)", label, port, process.pid)
        return server

    def _wait_ready(self) -> None:
        deadline = time.monotonic() + START_TIMEOUT_SECONDS
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                break
            try:
                self._admin("PING")
                return
            except (OSError, ReplyError, ConnectionError):
                time.sleep(0.05)
        reason = self.log_tail()
        self.stop()
        raise ServerFailed(f"redis-server for {self.label} did not start: {reason}")

    def _wait_cluster_ok(self) -> None:
        """A new cluster node reports `cluster_state:fail` for about two seconds after
        taking its slots; ElastiCache calls a group available only once it serves."""
        deadline = time.monotonic() + START_TIMEOUT_SECONDS
        while time.monotonic() < deadline:
            info = str(self._admin("CLUSTER", "INFO"))
            if "cluster_state:ok" in info:
                return
            time.sleep(0.1)
        log.warning("%s: the cluster did not reach cluster_state:ok", self.label)

    def log_tail(self) -> str:
        path = self.directory / "server.log"
        try:
            lines = path.read_text(errors="replace").strip().splitlines()
        except OSError:
            return "no log"
        return " | ".join(lines[-3:]) or "empty log"

    def stop(self) -> None:
        self.terminate()
        self.reap()

    def terminate(self) -> None:
        """Asks the server to exit (`reap` waits for it): stopping many servers sends
        every signal first, then waits once."""
        if self.front is not None:
            self.front.stop()
            release_port(self.internal_port)
        if self.process.poll() is None:
            self.process.terminate()

    def reap(self) -> None:
        try:
            self.process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        shutil.rmtree(self.directory, ignore_errors=True)
        release_port(self.port)
        log.info("server for %s on port %d stopped", self.label, self.port)

    def save(self, destination: Path) -> None:
        """Writes the data set to `destination` (an RDB file), for a snapshot."""
        self._admin("SAVE")
        destination.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(self.directory / "dump.rdb", destination)

    # ---- configuration ----------------------------------------------------------

    def apply(self, config: ServerConfig) -> None:
        """Brings the server to `config`, changing only what differs."""
        if config == self.applied:
            return
        with self._admin_connection() as admin:
            if config.iam_logins and self.front is None:
                self._start_front(admin, config)
            if self.front is not None:
                self.front.config = FrontConfig(config.tls, dict(config.iam_logins))
            elif config.tls != self.applied.tls:
                self._switch_transport(admin, config.tls)
            if config.users != self.applied.users:
                self._apply_users(admin, config.users)
            old = dict(self.applied.parameters)
            for name, value in config.parameters:
                if old.get(name) != value:
                    try:
                        admin.call("CONFIG", "SET", name, value)
                    except ReplyError as error:
                        log.warning("%s: CONFIG SET %s refused: %s", self.label, name, error)
        self.applied = config

    def _switch_transport(self, admin: Connection, tls: bool) -> None:
        # The port stays; only what speaks on it changes.
        if tls:
            admin.call("CONFIG", "SET", "port", "0")
            admin.call("CONFIG", "SET", "tls-port", str(self.port))
        else:
            admin.call("CONFIG", "SET", "tls-port", "0")
            admin.call("CONFIG", "SET", "port", str(self.port))

    def _start_front(self, admin: Connection, config: ServerConfig) -> None:
        """Moves the server to a plain internal port and puts the front on the public
        one: only the front can check an IAM token."""
        self.internal_port = free_port()
        admin.call("CONFIG", "SET", "tls-port", "0")
        admin.call("CONFIG", "SET", "port", str(self.internal_port))
        if config.cluster:
            # Cluster clients follow what the server announces: the front, not itself.
            admin.call("CONFIG", "SET", "cluster-announce-port", str(self.port))
            admin.call("CONFIG", "SET", "cluster-announce-tls-port", str(self.port))
        context = None
        if settings.cert_file.exists():
            context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            context.load_cert_chain(settings.cert_file, settings.key_file)
        verify = self.verify_login or (lambda user, token: "no verifier")
        self.front = Front(self.port, self.internal_port, FrontConfig(config.tls, dict(config.iam_logins)),
                           context, verify, self.label)
        log.info("%s: IAM front on %d, server moved to %d", self.label, self.port, self.internal_port)

    def _apply_users(self, admin: Connection, users: tuple[AclUser, ...]) -> None:
        for user in users:
            try:
                admin.call("ACL", "SETUSER", user.name, *acl_rules(user))
            except ReplyError as error:
                # The access string has a rule this server does not know: the user
                # is left with no access rather than half of it.
                log.warning("%s: ACL SETUSER %s refused: %s", self.label, user.name, error)
                admin.call("ACL", "SETUSER", user.name, "reset")
        wanted = {user.name for user in users}
        for name in self._users - wanted - {"default"}:
            admin.call("ACL", "DELUSER", name)
        self._users = wanted

    def _admin_connection(self) -> Connection:
        connection = Connection.unix(self.socket_path)
        connection.call("AUTH", ADMIN_USER, self.admin_password)
        return connection

    def _admin(self, *command: str) -> object:
        with self._admin_connection() as admin:
            return admin.call(*command)


def stop(servers: list[RedisServer]) -> None:
    """Stops `servers`: every one is signalled before any is waited for."""
    for server in servers:
        server.terminate()
    for server in servers:
        server.reap()


def acl_rules(user: AclUser) -> list[str]:
    rules = ["reset", *user.rules]
    rules += [f">{password}" for password in user.passwords]
    if user.nopass:
        rules.append("nopass")
    return rules


def config_file(directory: Path, port: int, config: ServerConfig, admin_password: str) -> str:
    lines = [
        "bind 127.0.0.1",
        "protected-mode no",
        "daemonize no",
        f"port {0 if config.tls else port}",
        f"tls-port {port if config.tls else 0}",
        f"unixsocket {directory / 'redis.sock'}",
        "unixsocketperm 700",
        f"dir {directory}",
        "dbfilename dump.rdb",
        'save ""',
        "appendonly no",
        f"logfile {directory / 'server.log'}",
        "user default on nopass ~* &* +@all",
        f"user {ADMIN_USER} on >{admin_password} ~* &* +@all",
    ]
    if settings.cert_file.exists():
        lines += [
            f"tls-cert-file {settings.cert_file}",
            f"tls-key-file {settings.key_file}",
            f"tls-ca-cert-file {settings.ca_file}",
            "tls-auth-clients no",
        ]
        if config.tls:
            lines += ["tls-replication yes", "tls-cluster yes"]
    elif config.tls:
        raise ServerFailed(f"no TLS certificate at {settings.cert_file} (scripts/emulator.sh makes one)")
    if config.cluster:
        lines += [
            "cluster-enabled yes",
            f"cluster-config-file {directory / 'nodes.conf'}",
            "cluster-announce-ip 127.0.0.1",
        ]
    lines += [f"{name} {quote(value)}" for name, value in config.parameters]
    return "\n".join(lines) + "\n"


def quote(value: str) -> str:
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


_taken: set[int] = set()


def free_port() -> int:
    """A port free on 127.0.0.1, with its cluster-bus port (+10000) free too."""
    for _ in range(200):
        port = secrets.choice(PORT_RANGE)
        if port in _taken:
            continue
        if all(can_bind(p) for p in (port, port + 10000)):
            _taken.add(port)
            return port
    raise ServerFailed("no free port on 127.0.0.1")


def release_port(port: int) -> None:
    _taken.discard(port)


def can_bind(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        try:
            probe.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def clear_leftovers() -> None:
    """Stops servers an earlier emulator process left behind (it was killed) and drops
    its snapshot files: the state that named them lived in its memory."""
    shutil.rmtree(settings.snapshots_dir, ignore_errors=True)
    if not settings.servers_dir.is_dir():
        return
    for pid_file in settings.servers_dir.glob("*/pid"):
        try:
            os.kill(int(pid_file.read_text().strip()), signal.SIGTERM)
        except (OSError, ValueError):
            pass
        shutil.rmtree(pid_file.parent, ignore_errors=True)
