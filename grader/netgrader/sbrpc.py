"""The reference client of lab 07's scoreboard service (sbd), in Python:
Python's protobuf for the messages (compiled from the lab's
scoreboard.proto by protoc, netgrader/rpc.py), the lab's framing, calls
with ids, pipelining, raw bytes for hostile frames, and a deadline on
every wait.

    pb = sbrpc.messages(PROTO)                    # the compiled module
    c = SbClient(pb, port, journal)               # TCP on 127.0.0.1
    c = SbClient(pb, "/path/sb.sock", journal)    # a Unix-domain socket
    reply = c.call("Submit", pb.Score(player="ada", points=5))
    rank = c.payload(reply, "Submit")             # a Rank
    ids = [c.send_call("Wait", pb.WaitRequest(ms=m)) for m in (30, 10)]
    got = c.replies(ids)                          # {id: Reply}, any order
    c.send(sbrpc.frame(b"\\x0a", flags=1))       # exact bytes
    c.closed()                                    # True once the server closes

A frame is 1 byte of flags (0), the message's length as 4 bytes
big-endian, then the message. What the server sends is read strictly: a
frame with other flags, a length above SB_FRAME_MAX or bytes that do not
decode as a Reply fail the test with what came. Replies whose id nobody
waits for yet are kept until asked for (`reply_for`), so a test can
collect replies in any order.
"""
from __future__ import annotations

import os
import socket
from pathlib import Path

from . import rpc, stream, timing
from .expect import Mismatch
from .procs import Journal
from .stream import Closed

SB_FRAME_MAX = 65536
HEADER = 5

# Status numbers (gRPC's), as in scoreboard.proto.
OK, INVALID_ARGUMENT, DEADLINE_EXCEEDED, NOT_FOUND = 0, 3, 4, 5
RESOURCE_EXHAUSTED, UNIMPLEMENTED, INTERNAL, UNAVAILABLE = 8, 12, 13, 14
STATUS_NAMES = {OK: "OK", INVALID_ARGUMENT: "INVALID_ARGUMENT",
                DEADLINE_EXCEEDED: "DEADLINE_EXCEEDED", NOT_FOUND: "NOT_FOUND",
                RESOURCE_EXHAUSTED: "RESOURCE_EXHAUSTED", UNIMPLEMENTED: "UNIMPLEMENTED",
                INTERNAL: "INTERNAL", UNAVAILABLE: "UNAVAILABLE"}

# Method -> (request message, reply message).
METHODS = {"Submit": ("Score", "Rank"), "Get": ("Player", "Score"),
           "Top": ("TopRequest", "Ranking"), "Remove": ("Player", "Empty"),
           "Wait": ("WaitRequest", "Empty")}

FRAME_HINT = ("Each frame is 1 byte of flags (0), the message's length in 4 bytes, most "
              "significant first (htonl), then exactly that many bytes of a Reply.")


def messages(proto) -> object:
    """The module protoc writes for the lab's scoreboard.proto."""
    return rpc.compile_proto(proto)


def status_name(number: int) -> str:
    return STATUS_NAMES.get(number, f"status {number}")


def frame(message: bytes, flags: int = 0, length: int | None = None) -> bytes:
    """message in a frame; `length` overrides the header's length (a lie)."""
    n = len(message) if length is None else length
    return bytes([flags]) + n.to_bytes(4, "big") + message


def call_bytes(pb, method: str, request=None, call_id: int = 1, deadline_ms: int = 0) -> bytes:
    """A whole Call frame: request is a message, raw bytes, or None (empty)."""
    if request is None:
        payload = b""
    elif isinstance(request, (bytes, bytearray)):
        payload = bytes(request)
    else:
        payload = request.SerializeToString()
    call = pb.Call(id=call_id, method=method, deadline_ms=deadline_ms, payload=payload)
    return frame(call.SerializeToString())


def describe_reply(reply) -> str:
    text = f"id {reply.id}, {status_name(reply.status)}"
    if reply.message:
        text += f" {reply.message!r}"
    if reply.payload:
        text += f", payload of {len(reply.payload)} bytes"
    return text


def _unix_target(path: str) -> tuple[str, int | None]:
    """A path connect() accepts (sun_path holds 107 bytes): a long one is
    reached through its directory's descriptor (/proc/self/fd/N/name)."""
    if len(os.fsencode(path)) < 100:
        return path, None
    fd = os.open(os.path.dirname(path) or ".", os.O_PATH | os.O_DIRECTORY)
    return f"/proc/self/fd/{fd}/{os.path.basename(path)}", fd


def connect(target, timeout: float = 5) -> socket.socket:
    """A connected stream socket: target is a port (127.0.0.1), (host, port),
    or a str / Path naming a Unix-domain socket."""
    if isinstance(target, (str, Path)):
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        sock.settimeout(timing.scaled(timeout))
        where, fd = _unix_target(str(target))
        try:
            sock.connect(where)
        except OSError:
            sock.close()
            raise
        finally:
            if fd is not None:
                os.close(fd)
        return sock
    host, port = ("127.0.0.1", target) if isinstance(target, int) else target
    sock = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET, socket.SOCK_STREAM)
    sock.settimeout(timing.scaled(timeout))
    try:
        sock.connect((host, port))
    except OSError:
        sock.close()
        raise
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return sock


class SbClient:
    """A scripted client of sbd over TCP or a Unix-domain socket."""

    def __init__(self, pb, target, journal: Journal | None = None, name: str = "client",
                 rcvbuf: int | None = None):
        self.pb, self.target, self.name = pb, target, name
        self.journal = journal or Journal()
        self.buffer = bytearray()
        self.eof = False
        self.pending: dict[int, object] = {}  # replies read, not yet asked for, by id
        self.next_id = 1
        self.sock = None
        try:
            self.sock = self._connect(rcvbuf)
        except OSError as e:
            where = f"the Unix socket {target}" if isinstance(target, (str, Path)) else \
                f"port {target}"
            raise Mismatch(f"{name}: connecting to {where}", "a connection", repr(e),
                           "Is the server still running (its stderr is below)? It must accept "
                           "while it serves other clients.") from None

    def _connect(self, rcvbuf):
        if rcvbuf is None:
            return connect(self.target)
        # SO_RCVBUF must be set before the connection is made to shrink the window.
        if isinstance(self.target, (str, Path)):
            sock = connect(self.target)
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
            return sock
        host, port = ("127.0.0.1", self.target) if isinstance(self.target, int) else self.target
        sock = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET,
                             socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
        sock.settimeout(timing.scaled(5))
        sock.connect((host, port))
        return sock

    # ---- sending ---------------------------------------------------------------------

    def send(self, data: bytes, chunk: int | None = None) -> None:
        """Exact bytes, at once or `chunk` bytes per write (each pushed out)."""
        self.sock.settimeout(timing.scaled(10))
        stream.send(self.sock, data, chunk)

    def send_call(self, method: str, request=None, call_id: int | None = None,
                  deadline_ms: int = 0, chunk: int | None = None) -> int:
        """Sends one Call; returns its id (the next free one unless given)."""
        if call_id is None:
            call_id = self.next_id
        self.next_id = max(self.next_id, call_id + 1)
        self.send(call_bytes(self.pb, method, request, call_id, deadline_ms), chunk)
        return call_id

    # ---- receiving -------------------------------------------------------------------

    def _fill(self, deadline: timing.Deadline) -> None:
        if self.eof:
            raise Closed()
        try:
            self.buffer += stream.receive(self.sock, deadline, 1 << 20)
        except Closed:
            self.eof = True
            raise

    def read_frame(self, what: str = "a reply", timeout: float = 5, hint: str = "",
                   deadline: timing.Deadline | None = None) -> tuple[int, bytes]:
        """(flags, message) of the next frame, checked: flags 0, length at most
        SB_FRAME_MAX. A Mismatch when none comes in time or the server closes."""
        deadline = deadline or timing.Deadline(timeout)
        try:
            while len(self.buffer) < HEADER:
                self._fill(deadline)
            flags = self.buffer[0]
            length = int.from_bytes(self.buffer[1:HEADER], "big")
            if flags != 0 or length > SB_FRAME_MAX:
                raise Mismatch(f"{self.name}: {what}: the frame's header",
                               f"flags 0 and a length of at most {SB_FRAME_MAX}",
                               f"flags {flags}, length {length} "
                               f"(bytes {bytes(self.buffer[:HEADER]).hex(' ')})",
                               hint or FRAME_HINT)
            while len(self.buffer) < HEADER + length:
                self._fill(deadline)
        except socket.timeout:
            got = f"nothing within {deadline.seconds:g} s"
            if self.buffer:
                got += f" but {len(self.buffer)} bytes of a frame ({bytes(self.buffer[:16]).hex(' ')})"
            raise Mismatch(f"{self.name}: {what}", "a reply frame", got, hint) from None
        except Closed:
            got = "the connection closed"
            if self.buffer:
                got += f" after {len(self.buffer)} bytes of a frame"
            raise Mismatch(f"{self.name}: {what}", "a reply frame", got, hint) from None
        message = bytes(self.buffer[HEADER:HEADER + length])
        del self.buffer[:HEADER + length]
        return flags, message

    def reply(self, what: str = "a reply", timeout: float = 5, hint: str = ""):
        """The next Reply, whatever its id (pending ones first, in the order read)."""
        if self.pending:
            first = next(iter(self.pending))
            return self.pending.pop(first)
        return self._read_reply(what, timing.Deadline(timeout), hint)

    def _read_reply(self, what: str, deadline: timing.Deadline, hint: str):
        _flags, message = self.read_frame(what, hint=hint, deadline=deadline)
        reply = self.pb.Reply()
        try:
            reply.ParseFromString(message)
        except Exception as e:  # protobuf's DecodeError
            raise Mismatch(f"{self.name}: {what}", "a frame holding a Reply",
                           f"{len(message)} bytes that do not parse as a Reply ({e}): "
                           f"{message[:32].hex(' ')}", FRAME_HINT) from None
        self.journal.step(f"{self.name}: received Reply {describe_reply(reply)}")
        return reply

    def reply_for(self, call_id: int, what: str = "", timeout: float = 5, hint: str = "",
                  deadline: timing.Deadline | None = None):
        """The Reply with this id; others read meanwhile are kept for later."""
        what = what or f"the reply to call {call_id}"
        if call_id in self.pending:
            return self.pending.pop(call_id)
        deadline = deadline or timing.Deadline(timeout)
        while True:
            reply = self._read_reply(what, deadline, hint)
            if reply.id == call_id:
                return reply
            if reply.id in self.pending:
                raise Mismatch(f"{self.name}: {what}", "one reply per call",
                               f"two replies with id {reply.id}: {describe_reply(self.pending[reply.id])}"
                               f" and {describe_reply(reply)}",
                               "Send exactly one Reply per Call: once its deadline has "
                               "passed and DEADLINE_EXCEEDED went out, drop the late result.")
            self.pending[reply.id] = reply

    def replies(self, ids, what: str = "the replies", timeout: float = 5,
                hint: str = "") -> dict:
        """{id: Reply} for every id, in whatever order they come."""
        got = {}
        deadline = timing.Deadline(timeout)
        for call_id in ids:
            try:
                got[call_id] = self.reply_for(call_id, what, hint=hint, deadline=deadline)
            except Mismatch as e:
                missing = [i for i in ids if i not in got and i != call_id]
                raise Mismatch(e.what, f"{e.expected} for call {call_id} (and {len(missing)} "
                               f"more still missing)", e.got + f"; {len(got)} of {len(ids)} "
                               "replies had come", e.hint) from None
        return got

    def call(self, method: str, request=None, deadline_ms: int = 0, what: str = "",
             timeout: float = 5, hint: str = "", chunk: int | None = None):
        """One call, its Reply."""
        call_id = self.send_call(method, request, deadline_ms=deadline_ms, chunk=chunk)
        return self.reply_for(call_id, what or f"the reply to {method}", timeout, hint)

    def payload(self, reply, method: str, what: str = ""):
        """The reply's payload parsed as the method's reply message."""
        cls = getattr(self.pb, METHODS[method][1])
        msg = cls()
        try:
            msg.ParseFromString(reply.payload)
        except Exception as e:
            raise Mismatch(what or f"the payload of the reply to {method}",
                           f"a {cls.__name__} message",
                           f"{len(reply.payload)} bytes that do not parse ({e})",
                           f"An OK reply to {method} carries a {cls.__name__}, encoded with "
                           "pb_encode.") from None
        return msg

    def closed(self, timeout: float = 5) -> bool:
        """True when the server closes the connection in time (what it sends
        before is read and dropped)."""
        deadline = timing.Deadline(timeout)
        try:
            while True:
                self._fill(deadline)
                self.buffer.clear()
        except Closed:
            return True
        except socket.timeout:
            return False

    def close(self) -> None:
        if self.sock is not None:
            try:
                self.sock.close()
            except OSError:
                pass


def target_of(server):
    """What SbClient connects to for a started sbd: its Unix path or its port."""
    return server.unix_path if getattr(server, "unix_path", None) else server.port


def read_call(conn, pb):
    """For a scripted server (peers.PeerConnection): the next Call a client
    sends, read strictly (flags 0, a length within SB_FRAME_MAX, a Call)."""
    def exact(n: int) -> bytes:
        while len(conn.received) < n:
            chunk = conn.sock.recv(65536)
            if not chunk:
                raise EOFError(f"the client closed after {len(conn.received)} bytes of a frame")
            conn.received += chunk
        data = bytes(conn.received[:n])
        del conn.received[:n]
        return data

    header = exact(HEADER)
    length = int.from_bytes(header[1:], "big")
    if header[0] != 0 or length > SB_FRAME_MAX:
        raise AssertionError(f"a frame header with flags {header[0]}, length {length}")
    call = pb.Call()
    call.ParseFromString(exact(length))
    conn.journal.step(f"{conn.name} received Call id {call.id} {call.method!r}, "
                      f"deadline {call.deadline_ms} ms, payload of {len(call.payload)} bytes")
    return call


def reply_bytes(pb, call_id: int, status: int = OK, message: str = "", payload=b"") -> bytes:
    """A whole Reply frame; payload a message or bytes."""
    if not isinstance(payload, (bytes, bytearray)):
        payload = payload.SerializeToString()
    return frame(pb.Reply(id=call_id, status=status, message=message,
                          payload=bytes(payload)).SerializeToString())
