"""The Redis peers of lab 06's tests: a scripted RESP client (exact bytes
out, replies parsed in), redis-server started unprivileged on a free port,
and redis-cli run against any port.

    client = RespClient(port, journal)
    client.send(b"*1\\r\\n$4\\r\\nPING\\r\\n")      # exact bytes
    assert client.call("SET", "k", "v") == "OK"  # a command as a multibulk
    client.reply()                               # one reply: str, bytes, int,
                                                 # None, list or RespError
    server = start_redis(tmp_path, journal)      # server.port
    output = redis_cli(port, script_text)        # redis-cli's own output
    script = differential_script(seed, n)        # random commands, errors included
    want, got = cli_script(redis.port, script), cli_script(port, script)   # --no-raw
    expect_same_replies(script, want, got, what) # reply by reply

Simple strings come back as str, bulk strings as bytes, errors as RespError
(a str subclass holding the text after '-'), nulls as None.

The differential tests run one script through `redis-cli --no-raw` against
redis-server and against the lab's server and compare the replies one by
one. The members of SMEMBERS, KEYS, SPOP with a count, HKEYS and HVALS, and
HGETALL's field-value pairs, come in an order the handout leaves open
(Redis's is its encoding's): those replies are compared as multisets.
"""
from __future__ import annotations

import fcntl
import random
import re
import socket
import struct
import subprocess
import termios
from pathlib import Path

from . import stream, timing
from .expect import Mismatch
from .peers import RealServer, require, unused_port, wait_holding
from .procs import EnvironmentError_, Journal
from .stream import Closed


class RespError(str):
    """An error reply: the text after '-', e.g. 'ERR syntax error'."""


def encode(*args: str | bytes | int) -> bytes:
    """A command as RESP multibulk."""
    out = [b"*%d\r\n" % len(args)]
    for arg in args:
        data = arg if isinstance(arg, bytes) else str(arg).encode()
        out.append(b"$%d\r\n%s\r\n" % (len(data), data))
    return b"".join(out)


class RespClient:
    """A scripted RESP client over TCP on loopback."""

    def __init__(self, port: int, journal: Journal | None = None, name: str = "client",
                 host: str = "127.0.0.1", rcvbuf: int | None = None):
        self.port, self.name = port, name
        self.journal = journal or Journal()
        self.buffer = b""
        self.eof = False
        self.sock = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET,
                                  socket.SOCK_STREAM)
        if rcvbuf:
            self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
        self.sock.settimeout(timing.scaled(5))
        self.sock.connect((host, port))

    def send(self, data: bytes, chunk: int | None = None) -> None:
        stream.send(self.sock, data, chunk)

    def _fill(self, deadline: timing.Deadline) -> None:
        if self.eof:
            raise Closed()
        try:
            self.buffer += stream.receive(self.sock, deadline)
        except Closed:
            self.eof = True
            raise

    def _line(self, deadline: timing.Deadline) -> bytes:
        while b"\r\n" not in self.buffer:
            self._fill(deadline)
        line, self.buffer = self.buffer.split(b"\r\n", 1)
        return line

    def _read(self, deadline: timing.Deadline):
        line = self._line(deadline)
        kind, rest = line[:1], line[1:]
        if kind == b"+":
            return rest.decode(errors="replace")
        if kind == b"-":
            return RespError(rest.decode(errors="replace"))
        if kind == b":":
            return int(rest)
        if kind == b"$":
            n = int(rest)
            if n < 0:
                return None
            while len(self.buffer) < n + 2:
                self._fill(deadline)
            data, self.buffer = self.buffer[:n], self.buffer[n + 2:]
            return data
        if kind == b"*":
            n = int(rest)
            if n < 0:
                return None
            return [self._read(deadline) for _ in range(n)]
        raise Mismatch(f"{self.name}: a reply", "a RESP reply (+ - : $ *)", repr(line[:80]),
                       "Every reply starts with one of + - : $ * and ends with CR LF.")

    def reply(self, what: str = "a reply", hint: str = "", timeout: float = 5):
        """The next reply; a Mismatch when none comes in time or the server closes."""
        deadline = timing.Deadline(timeout)
        try:
            return self._read(deadline)
        except socket.timeout:
            raise Mismatch(f"{self.name}: {what}", "a reply",
                           f"nothing within {timing.scaled(timeout):.0f} s", hint) from None
        except Closed:
            raise Mismatch(f"{self.name}: {what}", "a reply", "the connection closed",
                           hint) from None

    def call(self, *args, what: str | None = None, hint: str = ""):
        """Sends one command, returns its reply."""
        self.send(encode(*args))
        return self.reply(what or " ".join(str(a) for a in args)[:60], hint)

    def closed(self, timeout: float = 5) -> bool:
        """True when the server closes the connection in time (replies before it are dropped)."""
        deadline = timing.Deadline(timeout)
        try:
            while True:
                self._fill(deadline)
                self.buffer = b""
        except Closed:
            return True
        except socket.timeout:
            return False

    def unacknowledged(self) -> int:
        """Bytes sent that the server's kernel has not acknowledged yet (SIOCOUTQ): 0 once
        everything sent sits in the server's receive queue (or was read)."""
        return struct.unpack("i", fcntl.ioctl(self.sock.fileno(), termios.TIOCOUTQ,
                                              b"\0" * 4))[0]

    def close(self) -> None:
        try:
            self.sock.close()
        except OSError:
            pass


def start_redis(workdir: Path, journal: Journal) -> RealServer:
    """redis-server on 127.0.0.1 on a free port (.port): no persistence, no protected mode."""
    redis = require("redis-server", "redis-server")
    for _attempt in range(5):
        port = unused_port()
        home = workdir / f"redis-{port}"
        home.mkdir(parents=True, exist_ok=True)
        argv = [redis, "--port", str(port), "--bind", "127.0.0.1", "--save", "",
                "--appendonly", "no", "--dir", str(home), "--daemonize", "no",
                "--protected-mode", "no", "--logfile", ""]
        server = RealServer(argv, port, home, journal, 15, "redis-server")
        journal.programs.append(("redis-server", server.log))
        if wait_holding(server, {"tcp"}):
            journal.step(f"started redis-server (the real Redis) on 127.0.0.1 port {port}")
            return server
        server.stop()
        log = server.log.read_text(errors="replace")
        if "in use" not in log:
            raise EnvironmentError_("redis-server did not start: " + log[-400:])
    raise EnvironmentError_("redis-server found no free port in 5 attempts")


def redis_cli(port: int, stdin: str | bytes = b"", args: list[str] | None = None,
              timeout: float = 30) -> subprocess.CompletedProcess:
    """redis-cli -p port [args] with stdin; its output (bytes) and status."""
    cli = require("redis-cli", "redis-tools")
    data = stdin.encode() if isinstance(stdin, str) else stdin
    return subprocess.run([cli, "-h", "127.0.0.1", "-p", str(port), *(args or [])], input=data,
                          capture_output=True, timeout=timing.scaled(timeout))


# Replies whose members come in the server's own order, with the size of a member: they are
# compared as multisets (of pairs for HGETALL).
UNORDERED = {"SMEMBERS": 1, "KEYS": 1, "SPOP": 1, "HKEYS": 1, "HVALS": 1, "HGETALL": 2}
_NUMBERED = re.compile(r"^ *(\d+)\) ")  # redis-cli right-aligns: " 1) " when 10 or more


def cli_replies(output: bytes) -> list[list[str]]:
    """redis-cli --no-raw's output cut into replies: a line each, or an array's numbered lines
    ("1) ...", "2) ...")."""
    replies: list[list[str]] = []
    following = None  # the number the current array's next line would carry
    for line in output.decode(errors="replace").splitlines():
        m = _NUMBERED.match(line)
        if m and following is not None and int(m.group(1)) == following:
            replies[-1].append(line)
            following += 1
        else:
            replies.append([line])
            following = 2 if m and m.group(1) == "1" else None
    return replies


def canonical(command: str, reply: list[str]) -> list:
    """A reply as compared: in order, or sorted members (pairs) for UNORDERED commands."""
    words = command.split()
    size = UNORDERED.get(words[0].upper()) if words else None
    if size is None or not _NUMBERED.match(reply[0]):
        return reply
    items = [_NUMBERED.sub("", line) for line in reply]
    return sorted(tuple(items[i:i + size]) for i in range(0, len(items), size))


def cli_script(port: int, script: str, timeout: float = 30) -> subprocess.CompletedProcess:
    """redis-cli --no-raw -p port with script on stdin. A server that stops answering (a reply
    shorter than it announced, or none) leaves redis-cli waiting: after the timeout, what it
    printed so far, with returncode -9."""
    try:
        return redis_cli(port, script, ["--no-raw"], timeout)
    except subprocess.TimeoutExpired as e:
        return subprocess.CompletedProcess(e.cmd, -9, e.stdout or b"",
                                           (e.stderr or b"") + b" (killed: no reply in time)")


def differential_script(seed: int, n: int) -> str:
    """A script for expect_same_replies (lab 06 runs one in public, another in hidden):
    n commands of every type, errors included, whose replies are the same on any
    correct server: sets, hashes and KEYS with several members, whose order is free (the
    comparison takes them as multisets), but no SPOP of fewer members than the set holds
    (those are chosen at random)."""
    rng = random.Random(seed)
    keys = [f"k{i}" for i in range(8)]
    lines = ["FLUSHDB"]
    for _ in range(n):
        k, k2 = rng.choice(keys), rng.choice(keys)
        v = rng.choice(["v", "10", "-3", "abc", "0", "007", "x y", "99999999999999999999"])
        v = f'"{v}"' if " " in v else v
        s, h = rng.choice(("s0", "s1")), rng.choice(("h0", "h1"))
        members = " ".join(rng.sample(("a", "b", "c", "d", "1", "2", "10"), rng.randint(2, 4)))
        field, e = rng.choice(("f", "g", "h", "i")), rng.choice((k, s, h))
        pairs = " ".join(f"{f} {rng.choice(('1', 'v', 'x y'))}" for f in
                         rng.sample(("f", "g", "h", "i"), rng.randint(1, 3))).replace("x y", '"x y"')
        lines.append(rng.choice([
            f"SET {k} {v}", f"GET {k}", f"SET {k} {v} NX", f"SET {k} {v} XX", f"INCR {k}",
            f"DECR {k}", f"INCRBY {k} {rng.randint(-5, 5)}", f"APPEND {k} {v}", f"STRLEN {k}",
            f"DEL {k} {k2}", f"EXISTS {k} {k2} {k}", f"MGET {k} {k2}", f"MSET {k} {v} {k2} 1",
            f"LPUSH {k} {v} w", f"RPUSH {k} {v}", f"LPOP {k}", f"RPOP {k}", f"LLEN {k}",
            f"LRANGE {k} 0 -1", f"LRANGE {k} -2 1", f"LPOP {k} 2", f"SADD {k} m", f"SCARD {k}",
            f"HSET {k} f {v}", f"HGET {k} f", f"HDEL {k} f g", f"ZADD {k} 1.5 a", f"TYPE {k}",
            f"ZPOPMIN {k}", f"EXPIRE {k} 1000", f"TTL {k}", f"PERSIST {k}", "PTTL nokey",
            f"GET {k} extra", f"INCRBY {k} x", f"NOSUCH {k} {v}", f"SET {k} {v} EX 0",
            f"SET {k} {v} EX nan", f"SET {k}", "PING", f"ECHO {v}", "DBSIZE", f"LRANGE {k} a 1",
            f"HSET {k} f", f"MSET {k}", f"ZADD {k} x a", f"SET {k} {v} PX 100000 NX",
            # sets and hashes of several members (s0, s1, h0 and h1 hold nothing else; only s1
            # is ever emptied) and KEYS: replies whose order is free
            f"SADD {s} {members}", f"SADD {s} {members}", f"SMEMBERS {s}", f"SMEMBERS {s}",
            f"SCARD {s}", "SPOP s1 10", f"SMEMBERS {k}", f"HSET {h} {pairs}", f"HSET {h} {pairs}",
            f"HGETALL {h}", f"HLEN {h}", f"HDEL {h} {field}", f"HGET {h} {field}",
            f"HGETALL {k}", "KEYS *", "KEYS [sh]?", "KEYS k[0-3]", "KEYS *[^2-5]",
            # TTL rounds: 100,900 ms left is 101 s (truncated: 100)
            f"PEXPIRE {e} 100900\nTTL {e}",
        ]))
    lines += ["DBSIZE", "FLUSHDB", "DBSIZE"]
    return "\n".join(lines) + "\n"


def expect_same_replies(script: str, want: subprocess.CompletedProcess,
                        got: subprocess.CompletedProcess, what: str) -> None:
    """redis-cli --no-raw ran script against redis-server (want) and the lab's server (got):
    the same replies, command by command (UNORDERED ones as multisets); else a Mismatch that
    names the first command whose replies differ."""
    commands = [line for line in script.splitlines() if line.strip()]
    wants, gots = cli_replies(want.stdout), cli_replies(got.stdout)
    for i in range(max(len(wants), len(gots))):
        command = commands[i] if i < len(commands) else "(after the last command)"
        w = wants[i] if i < len(wants) else ["(nothing)"]
        g = gots[i] if i < len(gots) else \
            ["(nothing: redis-cli still waited for a reply when it was stopped; a reply shorter "
             "than it announces, an array of fewer elements than its count?)"
             if got.returncode == -9 else "(nothing)"]
        if canonical(command, w) != canonical(command, g):
            free = " (members in any order)" if canonical(command, w) is not w else ""
            raise Mismatch(f"{what}: the reply to command {i + 1}, `{command}`{free}",
                           " | ".join(w), " | ".join(g),
                           "The same replies as redis-server, error texts included; "
                           "`redis-cli --no-raw` shows each reply's type (\"OK\" is a bulk "
                           "string, OK a simple string).")
    if got.returncode != 0:
        raise Mismatch(f"{what}: redis-cli", "exit status 0",
                       f"{got.returncode}: {got.stderr[-200:]!r}")
