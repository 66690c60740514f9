"""A minimal RESP2 client: enough for the emulator to manage its servers and for the
tests to prove who may log in. Not a general Redis client."""

from __future__ import annotations

import socket
import ssl
from pathlib import Path
from typing import Any


class ReplyError(Exception):
    """The server answered with an error (`-ERR …`, `-WRONGPASS …`)."""


class Connection:
    """One connection, over a Unix socket, TCP, or TCP with TLS."""

    def __init__(self, sock: socket.socket):
        self.sock = sock
        self.buffer = b""

    @classmethod
    def unix(cls, path: Path, timeout: float = 5.0) -> "Connection":
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        sock.settimeout(timeout)
        sock.connect(str(path))
        return cls(sock)

    @classmethod
    def tcp(
        cls,
        host: str,
        port: int,
        ca_file: Path | None = None,
        timeout: float = 5.0,
    ) -> "Connection":
        """Plain TCP, or TLS verified against `ca_file` when one is given."""
        sock = socket.create_connection((host, port), timeout=timeout)
        if ca_file is not None:
            context = ssl.create_default_context(cafile=str(ca_file))
            sock = context.wrap_socket(sock, server_hostname=host)
        return cls(sock)

    def close(self) -> None:
        self.sock.close()

    def __enter__(self) -> "Connection":
        return self

    def __exit__(self, *_: Any) -> None:
        self.close()

    def call(self, *args: str | bytes | int) -> Any:
        """Sends one command and returns its reply; an error reply raises ReplyError."""
        self.sock.sendall(encode(args))
        reply = self._read()
        if isinstance(reply, ReplyError):
            raise reply
        return reply

    def _line(self) -> bytes:
        while b"\r\n" not in self.buffer:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise ConnectionError("the server closed the connection")
            self.buffer += chunk
        line, self.buffer = self.buffer.split(b"\r\n", 1)
        return line

    def _exactly(self, size: int) -> bytes:
        while len(self.buffer) < size + 2:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise ConnectionError("the server closed the connection")
            self.buffer += chunk
        data, self.buffer = self.buffer[:size], self.buffer[size + 2 :]
        return data

    def _read(self) -> Any:
        line = self._line()
        kind, rest = line[:1], line[1:]
        if kind == b"+":
            return rest.decode()
        if kind == b"-":
            return ReplyError(rest.decode())
        if kind == b":":
            return int(rest)
        if kind == b"$":
            size = int(rest)
            return None if size < 0 else self._exactly(size).decode(errors="replace")
        if kind == b"*":
            size = int(rest)
            return None if size < 0 else [self._read() for _ in range(size)]
        raise ConnectionError(f"unexpected reply {line[:40]!r}")


def encode(args: tuple[str | bytes | int, ...]) -> bytes:
    parts = [f"*{len(args)}\r\n".encode()]
    for arg in args:
        data = arg if isinstance(arg, bytes) else str(arg).encode()
        parts.append(f"${len(data)}\r\n".encode() + data + b"\r\n")
    return b"".join(parts)
