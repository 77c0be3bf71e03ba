"""What the grader's stream clients (IRC, RESP, the scoreboard's RPC) share:
writing in pieces, and one read bounded by a deadline."""
from __future__ import annotations

import socket

from . import timing


class Closed(Exception):
    """The server closed the connection."""


def send(sock: socket.socket, data: bytes, chunk: int | None = None) -> None:
    """Exact bytes, at once or `chunk` bytes per write (each pushed out)."""
    if not chunk:
        sock.sendall(data)
        return
    for i in range(0, len(data), chunk):
        sock.sendall(data[i:i + chunk])


def receive(sock: socket.socket, deadline: timing.Deadline, size: int = 65536) -> bytes:
    """One read of at most size bytes, waiting no later than deadline
    (socket.timeout after it); Closed at end of file or a reset."""
    remaining = deadline.remaining()
    if remaining <= 0:
        raise socket.timeout()
    sock.settimeout(remaining)
    try:
        data = sock.recv(size)
    except ConnectionResetError:
        data = b""
    if not data:
        raise Closed()
    return data
