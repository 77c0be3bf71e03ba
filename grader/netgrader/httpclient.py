"""A scripted HTTP client for testing servers: it sends exactly the bytes a
test chooses (a byte at a time, a malformed line, half a request), reads the
answer until the server closes, and parses it strictly, so a server test can
say which byte of which line was wrong.

    response = http_request(port, b"GET / HTTP/1.0\\r\\n\\r\\n", journal)
    response.status, response.headers["content-length"], response.body
"""
from __future__ import annotations

import socket
from dataclasses import dataclass, field

from . import timing
from .expect import Mismatch
from .peers import excerpt, recv_until_close, send_in_pieces
from .procs import Journal


@dataclass
class Response:
    raw: bytes
    version: str = ""
    status: int = 0
    reason: str = ""
    headers: dict[str, str] = field(default_factory=dict)  # names in lower case
    header_lines: list[str] = field(default_factory=list)
    body: bytes = b""


def parse_response(raw: bytes, what: str = "the server's response") -> Response:
    """Split a complete response (read to EOF) into its parts; a malformed
    head is a Mismatch that quotes it."""
    end = raw.find(b"\r\n\r\n")
    if end < 0:
        raise Mismatch(what, "a status line and headers, each ending in CRLF, then an empty line",
                       f"{excerpt(raw, 200)}" + (" (nothing at all)" if not raw else ""),
                       "Send the head in full: status line, headers, then \\r\\n on its own.")
    head, body = raw[:end].decode("latin-1"), raw[end + 4:]
    lines = head.split("\r\n")
    parts = lines[0].split(" ", 2)
    if len(parts) < 2 or not parts[0].startswith("HTTP/") or not parts[1].isdigit() \
            or len(parts[1]) != 3:
        raise Mismatch(f"the status line of {what}", "'HTTP/1.0 CODE REASON'",
                       repr(lines[0][:120]), "The first line is the version, a space, three "
                       "digits, a space and the reason phrase.")
    response = Response(raw=raw, version=parts[0], status=int(parts[1]),
                        reason=parts[2] if len(parts) > 2 else "", body=body,
                        header_lines=lines[1:])
    for line in lines[1:]:
        name, colon, value = line.partition(":")
        if not colon or not name or name != name.strip():
            raise Mismatch(f"a header line of {what}", "'Name: value'", repr(line[:120]),
                           "Each header is a name, a colon, a space and the value, then CRLF.")
        response.headers[name.lower()] = value.strip()
    return response


def connect(port: int, host: str = "127.0.0.1", timeout: float = 10) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.settimeout(timing.scaled(timeout))
    sock.connect((host, port))
    return sock


def read_to_eof(sock: socket.socket, timeout: float = 10, limit: int = 1 << 30) -> bytes:
    """Everything until the server closes; TimeoutError if it never does.
    A reset after the answer ends it too: what came is what counts."""
    return recv_until_close(sock, timing.scaled(timeout), limit, reset_ends=True)


def http_request(port: int, request: bytes, journal: Journal, host: str = "127.0.0.1",
                 chunk: int | None = None, timeout: float = 10, parse: bool = True):
    """Send request on a new connection and read the answer to EOF.
    Returns a Response (or the raw bytes with parse=False)."""
    journal.step(f"client sends {excerpt(request)}" + (f" in pieces of {chunk}" if chunk else "")
                 + f" to {host} port {port}")
    with connect(port, host, timeout) as sock:
        send_in_pieces(sock, request, chunk)
        try:
            raw = read_to_eof(sock, timeout)
        except TimeoutError:
            raise Mismatch(f"the answer to {excerpt(request)}",
                           "a response, then the connection closed (Connection: close)",
                           f"the server was still silent or open after {timing.scaled(timeout):g} s",
                           "Close the connection once the response is out: one request per "
                           "connection.") from None
    journal.step(f"client received {excerpt(raw)}, then the server closed")
    return parse_response(raw, f"the answer to {excerpt(request)}") if parse else raw


def get(path: str = "/", version: str = "1.0", method: str = "GET",
        headers: list[tuple[str, str]] | None = None) -> bytes:
    """A well-formed request."""
    lines = [f"{method} {path} HTTP/{version}", "Host: 127.0.0.1", "User-Agent: netlab-grader"]
    lines += [f"{k}: {v}" for k, v in headers or []]
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")
