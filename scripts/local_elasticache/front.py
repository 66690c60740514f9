"""The front a group with IAM users gets: it listens on the group's endpoint (TLS when
the group has transit encryption), passes every byte to the group's redis-server on
an internal port, and checks the one thing redis-server cannot: `AUTH <user> <token>`
(and `HELLO … AUTH <user> <token>`) for an IAM user. A good token is replaced by the
user's internal password, which only the emulator and the server know; a bad one by a
password that cannot match, so the server answers WRONGPASS as ElastiCache would.

Owns the listener and the rewriting. Does not decide who is an IAM user or which
credentials exist: `FrontConfig` and `verify_login` say.
"""

from __future__ import annotations

import logging
import socket
import ssl
import threading
from dataclasses import dataclass, field
from typing import Callable

log = logging.getLogger("local_elasticache")

# A password no user has: what a refused token becomes.
REFUSED = "local-elasticache-refused-token"


@dataclass
class FrontConfig:
    """What the front needs, replaced whole when the group changes."""

    tls: bool
    # IAM user id -> the internal password the server knows it by.
    logins: dict[str, str] = field(default_factory=dict)


class Front:
    """One listener thread, and two pump threads per client connection."""

    def __init__(self, port: int, backend_port: int, config: FrontConfig,
                 context: ssl.SSLContext | None, verify_login: Callable[[str, str], str | None],
                 label: str):
        self.port = port
        self.backend_port = backend_port
        self.config = config
        self.context = context
        self.verify_login = verify_login
        self.label = label
        self.listener = socket.create_server(("127.0.0.1", port), reuse_port=False)
        self.listener.settimeout(0.5)
        self.stopped = threading.Event()
        threading.Thread(target=self._accept, name=f"front-{port}", daemon=True).start()

    def stop(self) -> None:
        self.stopped.set()
        self.listener.close()

    def _accept(self) -> None:
        while not self.stopped.is_set():
            try:
                client, _ = self.listener.accept()
            except socket.timeout:
                continue
            except OSError:
                return
            threading.Thread(target=self._serve, args=(client,), daemon=True).start()

    def _serve(self, client: socket.socket) -> None:
        config = self.config
        try:
            client.settimeout(None)
            if config.tls and self.context is not None:
                client = self.context.wrap_socket(client, server_side=True)
            backend = socket.create_connection(("127.0.0.1", self.backend_port))
        except (OSError, ssl.SSLError) as error:
            log.info("%s: front: connection dropped before the server: %s", self.label, error)
            client.close()
            return
        threading.Thread(target=pump, args=(backend, client), daemon=True).start()
        self._requests(client, backend, config)

    def _requests(self, client: socket.socket, backend: socket.socket, config: FrontConfig) -> None:
        """Client to server, one whole command at a time, logins rewritten."""
        buffer = b""
        try:
            while True:
                data = client.recv(65536)
                if not data:
                    break
                buffer += data
                while True:
                    parsed = parse_command(buffer)
                    if parsed is None:
                        break
                    words, used = parsed
                    raw, buffer = buffer[:used], buffer[used:]
                    backend.sendall(self._rewrite(words, config) or raw)
        except (OSError, ssl.SSLError):
            pass
        finally:
            close(client, backend)

    def _rewrite(self, words: list[bytes], config: FrontConfig) -> bytes | None:
        """The command to send instead, when it logs in an IAM user; else None."""
        upper = [w.upper() for w in words]
        if upper[:1] == [b"AUTH"] and len(words) == 3:
            at = 1
        elif upper[:1] == [b"HELLO"] and b"AUTH" in upper:
            at = upper.index(b"AUTH") + 1
            if at + 1 >= len(words):
                return None
        else:
            return None
        user = words[at].decode(errors="replace")
        password = config.logins.get(user)
        if password is None:
            return None
        problem = self.verify_login(user, words[at + 1].decode(errors="replace"))
        if problem is not None:
            log.info("%s: IAM login of %s refused: %s", self.label, user, problem)
        rewritten = list(words)
        rewritten[at + 1] = (password if problem is None else REFUSED).encode()
        return encode(rewritten)


def pump(source: socket.socket, sink: socket.socket) -> None:
    try:
        while True:
            data = source.recv(65536)
            if not data:
                break
            sink.sendall(data)
    except (OSError, ssl.SSLError):
        pass
    finally:
        close(source, sink)


def close(*ends: socket.socket) -> None:
    """Closes both ends of a proxied connection: either side ending ends it."""
    for end in ends:
        try:
            end.close()
        except OSError:
            pass


def parse_command(buffer: bytes) -> tuple[list[bytes], int] | None:
    """One command from the front of `buffer` (a RESP array of bulk strings, or an
    inline command) and how many bytes it took; None until it is complete."""
    if not buffer:
        return None
    if buffer[:1] != b"*":
        end = buffer.find(b"\n")
        if end < 0:
            return None
        return buffer[:end].strip().split(), end + 1
    end = buffer.find(b"\r\n")
    if end < 0:
        return None
    count = int(buffer[1:end])
    at, words = end + 2, []
    for _ in range(count):
        end = buffer.find(b"\r\n", at)
        if end < 0 or buffer[at:at + 1] != b"$":
            return None
        length = int(buffer[at + 1:end])
        start = end + 2
        if len(buffer) < start + length + 2:
            return None
        words.append(buffer[start:start + length])
        at = start + length + 2
    return words, at


def encode(words: list[bytes]) -> bytes:
    return b"*%d\r\n" % len(words) + b"".join(b"$%d\r\n%s\r\n" % (len(w), w) for w in words)
