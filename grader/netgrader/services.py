"""Scripted services that several labs' tests share.

- digest_service: reads everything until the client's FIN, then answers
  "<length> <sha256>\\n" (plus an optional payload) and closes: a client that
  never half-closes never gets an answer.
- http_response / http_handler: an HTTP server that answers one request with
  exactly the bytes a test chooses (trickled, truncated, bare LF, garbage).
"""
from __future__ import annotations

import hashlib

from .peers import PeerConnection


def digest_line(data: bytes) -> bytes:
    return f"{len(data)} {hashlib.sha256(data).hexdigest()}\n".encode()


def digest_service(received: list, payload: bytes = b"", reset: bool = False):
    """A handler; appends what each client sent to `received`."""

    def handler(conn: PeerConnection):
        data = conn.recv_to_eof()
        received.append(data)
        if reset:
            conn.reset()
            return
        conn.send(digest_line(data) + payload)

    return handler


def http_response(status: int = 200, reason: str = "OK", body: bytes = b"",
                  headers: list[tuple[str, str]] | None = None, eol: bytes = b"\r\n",
                  content_length: bool = True, version: str = "HTTP/1.0") -> bytes:
    lines = [f"{version} {status} {reason}".encode()]
    for name, value in headers or [("Content-Type", "application/octet-stream")]:
        lines.append(f"{name}: {value}".encode())
    if content_length:
        lines.append(f"Content-Length: {len(body)}".encode())
    return eol.join(lines) + eol + eol + body


def http_handler(reply: bytes, requests: list | None = None, chunk: int | None = None,
                 answer: bool = True):
    """Read one request head (up to the blank line) and send `reply`.

    With answer=False it reads the request and then stays silent until the
    client gives up (or the peer's own deadline passes)."""

    def handler(conn: PeerConnection):
        head = conn.recv_until(b"\r\n\r\n", limit=64 * 1024)
        if requests is not None:
            requests.append(head)
        if not answer:
            try:
                conn.recv_to_eof()
            except (TimeoutError, OSError):
                pass
            return
        conn.send(reply, chunk=chunk)

    return handler
