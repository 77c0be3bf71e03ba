"""irc.py - IRC peers for lab 05: a scripted IRC client and ngircd, a real
IRC server, started unprivileged on loopback.

    client = IrcClient(port, journal, "alice")
    client.register("alice")                     # NICK, USER; waits for 422 or 376
    client.send("JOIN #lab")
    join = client.expect("JOIN", what="alice's own JOIN")
    names = client.expect("366")
    before = client.sync()                       # PING/PONG: every earlier reply is in

`expect` reads lines (with a deadline) until one whose command, and
parameters from the second on when given, match; the lines it passes over
stay available to later calls. `sync()` sends `PING :token` and returns every
message that arrived before the PONG: the server answers in order, so
whatever an earlier command caused for this client is in the list. A
failure is a Mismatch that quotes the lines received so far.

`start_ngircd(workdir, journal)` runs ngircd (Debian package ngircd) with a
configuration of its own (`-n -f FILE`): server name irc.test, 127.0.0.1
on a free port, no PAM, DNS or ident lookups, no flood penalty
(`MaxPenaltyTime = 0`: it would throttle fast test clients), no limit on
connections per address or on joins. Ready once it holds its port.
"""
from __future__ import annotations

import os
import socket
from dataclasses import dataclass, field
from pathlib import Path

from . import stream, timing
from .expect import Mismatch
from .peers import RealServer, require, unused_port, wait_holding
from .procs import EnvironmentError_, Journal
from .stream import Closed

NGIRCD_NAME = "irc.test"
NGIRCD_CONF = """\
[Global]
Name = {name}
Info = netlab test server
Listen = 127.0.0.1
Ports = {port}
MotdFile = {motd}
PidFile = {home}/ngircd.pid
ServerUID = {uid}
ServerGID = {gid}
[Limits]
MaxConnections = 1000
MaxConnectionsIP = 0
MaxJoins = 0
MaxPenaltyTime = 0
PingTimeout = 120
PongTimeout = 20
MaxNickLength = 9
[Options]
PAM = no
DNS = no
Ident = no
"""


@dataclass
class Message:
    """One IRC line as the tests see it."""

    line: str
    prefix: str | None = None
    command: str = ""
    params: list[str] = field(default_factory=list)

    @property
    def nick(self) -> str | None:
        """The nick of a prefix `nick!user@host`, or the prefix itself."""
        return self.prefix.split("!", 1)[0] if self.prefix else None

    @property
    def text(self) -> str:
        return self.params[-1] if self.params else ""

    def __str__(self) -> str:
        return self.line


def parse(line: str) -> Message:
    """Splits a line (without its line end) the way RFC 2812 says."""
    msg = Message(line)
    rest = line
    if rest.startswith(":"):
        prefix, _, rest = rest.partition(" ")
        msg.prefix = prefix[1:]
    rest = rest.lstrip(" ")
    command, _, rest = rest.partition(" ")
    msg.command = command.upper()
    while rest:
        rest = rest.lstrip(" ")
        if not rest:
            break
        if rest.startswith(":") or len(msg.params) == 14:
            msg.params.append(rest[1:] if rest.startswith(":") else rest)
            break
        word, _, rest = rest.partition(" ")
        msg.params.append(word)
    return msg


class IrcClient:
    """A scripted IRC client over TCP on loopback: exact bytes out, lines in."""

    serial = 0

    def __init__(self, port: int, journal: Journal | None = None, name: str = "client",
                 host: str = "127.0.0.1", rcvbuf: int | None = None, connect: bool = True):
        self.port, self.name, self.host = port, name, host
        self.journal = journal or Journal()
        self.received: list[str] = []     # every line, in order
        self.pending: list[Message] = []  # lines not yet consumed by expect
        self.eof = False
        self._buffer = b""
        self.sock = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET,
                                  socket.SOCK_STREAM)
        if rcvbuf:
            self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
        self.sock.settimeout(timing.scaled(5))
        if connect:
            self.sock.connect((host, port))

    # -- sending
    def send(self, line: str | bytes, chunk: int | None = None) -> None:
        """One line (CRLF added to a str without a line end), or exact bytes."""
        data = line.encode() if isinstance(line, str) else bytes(line)
        if isinstance(line, str) and not line.endswith("\n"):
            data += b"\r\n"
        stream.send(self.sock, data, chunk)

    # -- receiving
    def _fill(self, deadline: timing.Deadline) -> None:
        """Reads once (raising Closed at EOF, socket.timeout at the deadline)."""
        if self.eof:
            raise Closed()
        try:
            self._buffer += stream.receive(self.sock, deadline)
        except Closed:
            self.eof = True
            raise
        while b"\n" in self._buffer:
            raw, self._buffer = self._buffer.split(b"\n", 1)
            text = raw.rstrip(b"\r").decode("utf-8", "replace")
            self.received.append(text)
            self.pending.append(parse(text))

    def transcript(self, last: int = 12) -> str:
        shown = self.received[-last:]
        more = len(self.received) - len(shown)
        return (f"({more} earlier lines) " if more else "") + (
            " | ".join(shown) if shown else "no line at all")

    def expect(self, command: str, *params: str, seconds: float = 5, what: str = "",
               hint: str = "") -> Message:
        """The first message (consumed) whose command is `command` and whose
        parameters start with `params` (for a numeric, those after its
        target; compared without regard to ASCII case); the others stay
        pending."""
        want = command.upper()
        deadline = timing.Deadline(seconds)
        while True:
            for i, msg in enumerate(self.pending):
                if msg.command == want and _params_match(want, msg.params, params):
                    del self.pending[i]
                    return msg
            try:
                self._fill(deadline)
            except (socket.timeout, Closed) as exc:
                shown = " ".join([want, *params]).strip()
                got = ("the connection closed" if isinstance(exc, Closed) else
                       f"nothing like it within {deadline.seconds:g} s")
                raise Mismatch(what or f"{self.name}: waiting for a {shown} line",
                               f"a line `{shown} ...`", f"{got}; {self.name} received: "
                               f"{self.transcript()}", hint) from None

    def sync(self, seconds: float = 5, token: str | None = None) -> list[Message]:
        """Sends PING :token and returns (consumes) every message before its PONG."""
        IrcClient.serial += 1
        token = token or f"sync{IrcClient.serial}"
        self.send(f"PING :{token}")
        deadline = timing.Deadline(seconds)
        while True:
            for i, msg in enumerate(self.pending):
                if msg.command == "PONG" and msg.text == token:
                    before, self.pending = self.pending[:i], self.pending[i + 1:]
                    return before
            try:
                self._fill(deadline)
            except (socket.timeout, Closed) as exc:
                got = ("the connection closed" if isinstance(exc, Closed) else
                       f"no PONG within {deadline.seconds:g} s")
                raise Mismatch(f"{self.name}: PING :{token}, waiting for its PONG",
                               f"a line `PONG <server> :{token}`",
                               f"{got}; {self.name} received: {self.transcript()}",
                               "A PING must be answered with a PONG carrying its argument, "
                               "after everything the client sent before it.") from None

    def read_to_close(self, seconds: float = 5) -> list[Message]:
        """Every message up to the server's close (consumed); a Mismatch if
        the connection is still open at the deadline."""
        deadline = timing.Deadline(seconds)
        while not self.eof:
            try:
                self._fill(deadline)
            except Closed:
                break
            except socket.timeout:
                raise Mismatch(f"{self.name}: waiting for the server to close the connection",
                               "the server's close (EOF)",
                               f"still open after {deadline.seconds:g} s; received: "
                               f"{self.transcript()}") from None
        rest, self.pending = self.pending, []
        return rest

    def register(self, nick: str, user: str | None = None, seconds: float = 5) -> list[Message]:
        """NICK and USER; returns (consumes) the messages up to the end of the
        MOTD (376) or its absence (422)."""
        self.send(f"NICK {nick}\r\nUSER {user or nick} 0 * :{nick} test\r\n")
        deadline = timing.Deadline(seconds)
        while True:
            for i, msg in enumerate(self.pending):
                if msg.command in ("376", "422"):
                    before, self.pending = self.pending[:i + 1], self.pending[i + 1:]
                    return before
                if msg.command in ("431", "432", "433", "ERROR"):
                    raise Mismatch(f"{self.name}: registering as {nick}",
                                   "001 to 005, then 422 (or the MOTD)", str(msg),
                                   "The nick is free and valid: the registration must succeed.")
            try:
                self._fill(deadline)
            except (socket.timeout, Closed) as exc:
                got = ("the connection closed" if isinstance(exc, Closed) else
                       f"no 422 or 376 within {deadline.seconds:g} s")
                raise Mismatch(f"{self.name}: registering as {nick} (NICK, then USER)",
                               "001, 002, 003, 004, 005, then 422 ending the welcome",
                               f"{got}; received: {self.transcript()}",
                               "Registration completes once both NICK and USER have come: "
                               "then the welcome numerics, ending with 422.") from None

    def close(self) -> None:
        try:
            self.sock.close()
        except OSError:
            pass


def _params_match(command: str, got: list[str], want: tuple[str, ...]) -> bool:
    """want is a prefix of the parameters (after the target, for a numeric),
    compared without regard to ASCII case."""
    rest = got[1:] if command.isdigit() else got
    return len(rest) >= len(want) and all(a.lower() == b.lower() for a, b in zip(rest, want))


def start_ngircd(workdir: Path, journal: Journal) -> RealServer:
    """ngircd on 127.0.0.1, on a free port (.port), configured for tests."""
    ngircd = require("ngircd", "ngircd")
    for _attempt in range(5):
        port = unused_port()
        home = workdir / f"ngircd-{port}"
        home.mkdir(parents=True, exist_ok=True)
        os.chmod(home, 0o755)
        conf = home / "ngircd.conf"
        conf.write_text(NGIRCD_CONF.format(name=NGIRCD_NAME, port=port, motd=home / "no-motd",
                                           home=home, uid=os.getuid(), gid=os.getgid()))
        server = RealServer([ngircd, "-n", "-f", str(conf)], port, home, journal, 15, "ngircd")
        journal.programs.append(("ngircd", server.log))
        if wait_holding(server, {"tcp"}):
            journal.step(f"started ngircd (a real IRC server) on 127.0.0.1 port {port}")
            return server
        server.stop()
        log = server.log.read_text(errors="replace")
        if "in use" not in log:
            raise EnvironmentError_("ngircd did not start: " + log[-400:])
    raise EnvironmentError_("ngircd found no free port in 5 attempts")
