"""Lab 06, part B: miniredis, a Redis-protocol server on evloop, against
scripted RESP clients (netgrader/redis.py), the real Redis clients
(redis-cli, redis-benchmark, Python's redis) and redis-server itself.

Every client is a socket of this test on loopback. Replies come in order,
so a reply to a PING proves that everything sent before it was handled:
no test waits for a reply that should not come.
"""
import os
import signal
import socket
import subprocess

import pytest

from netgrader import hang, timing
from netgrader.expect import Mismatch, expect_valgrind_clean
from netgrader.procs import Limits
from netgrader.redis import (RespError, cli_script, differential_script, encode,
                              expect_same_replies, redis_cli)
from netgrader.peers import require

PARSE_HINT = ("Read whatever bytes are there into the client's query buffer and run every "
              "complete command in it, in order; keep the rest for the next read.")
QUEUE_HINT = ("Queue each reply in the client's output buffer; write the buffers before the "
              "loop sleeps, and watch a socket for writable only while its buffer is not empty.")


def start_miniredis(start_server, lab, *args, limits=None, **kwargs):
    """miniredis -p 0 [args], listening; SIGTERM and exit 0 checked at teardown."""
    return start_server([lab.program("miniredis"), "-p", "0", *args],
                        limits=limits or Limits(cpu_seconds=120, open_files=2048), **kwargs)


def expect_reply(got, want, what, hint=""):
    if got != want or type(got) is not type(want):
        raise Mismatch(what, repr(want), repr(got), hint)


# ---- M=resp: the protocol on the loop ------------------------------------------------------

@pytest.mark.points(3)
@pytest.mark.milestone("resp")
def test_miniredis_ping_and_pipelining(start_server, lab, resp_client):
    """PING as a multibulk, inline, a byte at a time and 100 in one write: every reply, in order."""
    server = start_miniredis(start_server, lab)
    c = resp_client(server.port)
    expect_reply(c.call("PING"), "PONG", "PING", PARSE_HINT)
    c.send(b"PING\r\nPING\n")
    expect_reply(c.reply("inline PING"), "PONG", "inline PING (CR LF)", PARSE_HINT)
    expect_reply(c.reply("inline PING"), "PONG", "inline PING (a bare LF)", PARSE_HINT)
    c.send(encode("ECHO", "one byte at a time"), chunk=1)
    expect_reply(c.reply(), b"one byte at a time", "ECHO sent a byte at a time", PARSE_HINT)
    c.send(b"".join(encode("ECHO", f"n{i}") for i in range(100)))
    for i in range(100):
        expect_reply(c.reply(f"reply {i + 1} of 100"), f"n{i}".encode(),
                     f"ECHO {i + 1} of 100 sent in one write", PARSE_HINT)


def process_state(pid: int) -> str:
    """The state letter of /proc/PID/stat: R, S, T (stopped), ..."""
    try:
        return open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return "?"


@pytest.mark.points(2)
@pytest.mark.milestone("resp")
@pytest.mark.needs("test_miniredis_ping_and_pipelining")
def test_miniredis_burst_while_busy(start_server, lab, resp_client):
    """800 pipelined SETs (98 KB, more than one read takes) arrive while miniredis is stopped: once it runs again, all 800 are answered though nothing more comes."""
    server = start_miniredis(start_server, lab)
    c = resp_client(server.port)
    expect_reply(c.call("PING"), "PONG", "PING")
    count = 800
    burst = b"".join(encode("SET", f"k{i}", "v" * 90) for i in range(count))
    # Stopped, miniredis reads nothing: the whole burst waits in its socket's receive queue,
    # and once it runs again one readiness event stands for all of it. No more bytes come to
    # announce the rest: a loop that reads once per event and waits for another loses it.
    os.kill(server.pid, signal.SIGSTOP)
    sent = 0
    try:
        if not timing.wait_until(lambda: process_state(server.pid) == "T", 5):
            raise Mismatch("miniredis after SIGSTOP", "stopped", process_state(server.pid))
        c.sock.setblocking(False)
        try:
            while sent < len(burst):
                sent += c.sock.send(burst[sent:])
        except BlockingIOError:
            pass  # the kernel's buffers are full: the rest goes once miniredis runs
        # Everything in miniredis's receive queue (its kernel acknowledged it all): only then
        # does it run again. Where the queue is smaller than the burst, the test goes on anyway.
        timing.wait_until(lambda: c.unacknowledged() == 0, 2)
    finally:
        c.sock.settimeout(timing.scaled(5))
        os.kill(server.pid, signal.SIGCONT)
    c.send(burst[sent:])
    for i in range(count):
        expect_reply(c.reply(f"reply {i + 1} of {count}"), "OK",
                     f"SET {i + 1} of {count}, all sent in one write while miniredis was stopped",
                     "The loop is level-triggered: a descriptor with unread bytes is reported "
                     "again on the next round. If you read once per event, do not register "
                     "with EPOLLET; with EPOLLET, read until EAGAIN.")
    expect_reply(c.call("GET", f"k{count - 1}"), b"v" * 90, "GET of the last key of the burst")


@pytest.mark.points(3)
@pytest.mark.milestone("resp")
@pytest.mark.needs("test_miniredis_ping_and_pipelining")
def test_miniredis_protocol_errors(start_server, lab, resp_client):
    """Each protocol error gets Redis's text, then the connection closes."""
    server = start_miniredis(start_server, lab)
    cases = [
        (b"*x\r\n", "ERR Protocol error: invalid multibulk length"),
        (b"*2\r\n+GET\r\n", "ERR Protocol error: expected '$', got '+'"),
        (b"*1\r\n$-5\r\n", "ERR Protocol error: invalid bulk length"),
        (b"*1\r\n$abc\r\n", "ERR Protocol error: invalid bulk length"),
        (b"x" * (70 * 1024), "ERR Protocol error: too big inline request"),
    ]
    for data, text in cases:
        c = resp_client(server.port)
        expect_reply(c.call("PING"), "PONG", "PING before the error")
        c.send(data)
        got = c.reply(f"the reply to {data[:20]!r}")
        expect_reply(got, RespError(text), f"the reply to {data[:20]!r}",
                     "Answer a protocol error with Redis's text, then close the connection.")
        if not c.closed():
            raise Mismatch(f"the connection after {data[:20]!r}", "closed after the error",
                           "still open")
    c = resp_client(server.port)
    expect_reply(c.call("PING"), "PONG", "a new client after all of them")


@pytest.mark.points(2)
@pytest.mark.milestone("resp")
@pytest.mark.needs("test_miniredis_ping_and_pipelining")
def test_miniredis_one_thread_in_epoll_wait(start_server, lab, resp_client):
    """One thread, waiting in epoll_wait (the default backend), with one epoll descriptor."""
    server = start_miniredis(start_server, lab)
    clients = [resp_client(server.port, f"c{i}") for i in range(3)]
    for c in clients:
        expect_reply(c.call("PING"), "PONG", f"{c.name}: PING")
    pid = server.pid
    threads = os.listdir(f"/proc/{pid}/task")
    if len(threads) != 1:
        raise Mismatch("the threads of miniredis", "1 thread", f"{len(threads)} threads",
                       "One thread serves every client from one event loop.")
    waiting = set()

    def in_epoll_wait():
        try:
            number = int(open(f"/proc/{pid}/syscall").read().split()[0])
        except (OSError, ValueError, IndexError):
            return False
        waiting.add(hang.syscall_name(number))
        return hang.syscall_name(number) in ("epoll_wait", "epoll_pwait", "epoll_pwait2")

    if not timing.wait_until(in_epoll_wait, 5):
        raise Mismatch("the call miniredis waits in while every client is quiet", "epoll_wait",
                       ", ".join(sorted(waiting)) or "unknown",
                       "The default backend waits in epoll_wait, with the nearest timer's "
                       "deadline as its timeout.")


@pytest.mark.points(2)
@pytest.mark.milestone("resp")
@pytest.mark.needs("test_miniredis_ping_and_pipelining")
def test_miniredis_poll_backend(start_server, lab, resp_client):
    """-b poll: the same session, waiting in poll, with no epoll descriptor."""
    server = start_miniredis(start_server, lab, "-b", "poll")
    c = resp_client(server.port)
    expect_reply(c.call("SET", "k", "v"), "OK", "SET under -b poll")
    expect_reply(c.call("GET", "k"), b"v", "GET under -b poll")
    c.send(b"".join(encode("ECHO", f"p{i}") for i in range(50)))
    for i in range(50):
        expect_reply(c.reply(), f"p{i}".encode(), f"ECHO {i + 1} of 50 under -b poll")
    links = []
    for fd in os.listdir(f"/proc/{server.pid}/fd"):
        try:
            links.append(os.readlink(f"/proc/{server.pid}/fd/{fd}"))
        except OSError:
            pass
    if any("eventpoll" in link for link in links):
        raise Mismatch("miniredis -b poll: its descriptors", "no epoll descriptor",
                       "an epoll descriptor", "The poll backend uses poll(2) alone.")
    waiting = set()

    def in_poll():
        try:
            number = int(open(f"/proc/{server.pid}/syscall").read().split()[0])
        except (OSError, ValueError, IndexError):
            return False
        waiting.add(hang.syscall_name(number))
        return hang.syscall_name(number) in ("poll", "ppoll")

    if not timing.wait_until(in_poll, 5):
        raise Mismatch("the call miniredis -b poll waits in", "poll",
                       ", ".join(sorted(waiting)) or "unknown")


# ---- M=strings -------------------------------------------------------------------------------

@pytest.mark.points(4)
@pytest.mark.milestone("strings")
@pytest.mark.needs("test_miniredis_ping_and_pipelining")
def test_miniredis_strings(start_server, lab, resp_client):
    """GET, SET with NX/XX, INCR/DECR/INCRBY, APPEND, STRLEN, MSET/MGET, DEL, EXISTS, DBSIZE."""
    server = start_miniredis(start_server, lab)
    c = resp_client(server.port)
    steps = [
        (("GET", "k"), None), (("SET", "k", "v"), "OK"), (("GET", "k"), b"v"),
        (("SET", "k", "w", "NX"), None), (("SET", "k", "w", "XX"), "OK"), (("GET", "k"), b"w"),
        (("SET", "new", "x", "XX"), None), (("SET", "n", "41"), "OK"), (("INCR", "n"), 42),
        (("DECR", "n"), 41), (("INCRBY", "n", "-50"), -9), (("INCR", "fresh"), 1),
        (("APPEND", "k", "xyz"), 4), (("STRLEN", "k"), 4), (("STRLEN", "none"), 0),
        (("MSET", "a", "1", "b", "2"), "OK"), (("MGET", "a", "none", "b"), [b"1", None, b"2"]),
        (("EXISTS", "a", "a", "none"), 2), (("DEL", "a", "none"), 1), (("DBSIZE",), 4),
        (("SET", "bin", b"a\r\n\x00b"), "OK"), (("GET", "bin"), b"a\r\n\x00b"),
        (("ECHO", b"\x00\xff\r\n"), b"\x00\xff\r\n"), (("FLUSHDB",), "OK"), (("DBSIZE",), 0),
    ]
    for args, want in steps:
        expect_reply(c.call(*args), want, " ".join(a if isinstance(a, str) else repr(a)
                                                   for a in args))


@pytest.mark.points(2)
@pytest.mark.milestone("strings")
@pytest.mark.needs("test_miniredis_strings")
def test_miniredis_error_texts(start_server, lab, resp_client):
    """Wrong type, wrong arity, unknown commands and non-integers: Redis's exact texts."""
    server = start_miniredis(start_server, lab)
    c = resp_client(server.port)
    c.call("RPUSH", "list", "x")
    c.call("SET", "s", "abc")
    steps = [
        (("GET", "list"), "WRONGTYPE Operation against a key holding the wrong kind of value"),
        (("GET",), "ERR wrong number of arguments for 'get' command"),
        (("SET", "k"), "ERR wrong number of arguments for 'set' command"),
        (("FOO", "a", "b"), "ERR unknown command 'FOO', with args beginning with: 'a' 'b' "),
        (("INCR", "s"), "ERR value is not an integer or out of range"),
        (("INCRBY", "s", "1x"), "ERR value is not an integer or out of range"),
        (("SET", "k", "v", "BOGUS"), "ERR syntax error"),
        (("SET", "k", "v", "EX", "0"), "ERR invalid expire time in 'set' command"),
    ]
    for args, want in steps:
        expect_reply(c.call(*args), RespError(want), " ".join(args))
    expect_reply(c.call("PING"), "PONG", "PING after the errors: the connection stays")


@pytest.mark.points(6)
@pytest.mark.milestone("types")
@pytest.mark.needs("test_miniredis_strings")
def test_miniredis_same_replies_as_redis(start_server, lab, redis_server):
    """A script of 400 commands through redis-cli: the same replies from miniredis as from redis-server (members of sets, hashes and KEYS in any order)."""
    server = start_miniredis(start_server, lab)
    redis = redis_server()
    script = differential_script(6, 400)
    want, got = cli_script(redis.port, script), cli_script(server.port, script)
    expect_same_replies(script, want, got, "the script of the test (seed 6), through redis-cli")


# ---- M=expiry --------------------------------------------------------------------------------

@pytest.mark.points(3)
@pytest.mark.milestone("expiry")
@pytest.mark.needs("test_miniredis_strings")
def test_miniredis_ttl_and_lazy_expiry(start_server, lab, resp_client, redis_server):
    """EXPIRE, PEXPIRE, TTL (rounded as redis-server rounds it), PTTL, PERSIST, SET EX/PX; a key read after its time is gone."""
    server = start_miniredis(start_server, lab)
    c = resp_client(server.port)
    # TTL of a key with 100,900 ms left, asked in the same write: redis-server rounds to the
    # nearest second (101), where truncating gives 100.
    redis = resp_client(redis_server().port, "redis-server")
    pair = encode("SET", "r", "v") + encode("PEXPIRE", "r", "100900") + encode("TTL", "r")
    replies = []
    for who in (redis, c):
        who.send(pair)
        replies.append([who.reply(f"{who.name}: {what}") for what in ("SET", "PEXPIRE", "TTL")])
    expect_reply(replies[1], replies[0], "SET r v, PEXPIRE r 100900, TTL r (in one write): the "
                 "replies of redis-server", "TTL rounds the milliseconds left to the nearest "
                 "second, as Redis does: (ms + 500) / 1000.")
    expect_reply(c.call("DEL", "r"), 1, "DEL r")
    expect_reply(c.call("SET", "k", "v"), "OK", "SET k v")
    expect_reply(c.call("TTL", "k"), -1, "TTL of a key without expiry")
    expect_reply(c.call("TTL", "none"), -2, "TTL of a missing key")
    expect_reply(c.call("EXPIRE", "k", "100"), 1, "EXPIRE k 100")
    expect_reply(c.call("TTL", "k"), 100, "TTL right after EXPIRE k 100")
    pttl = c.call("PTTL", "k")
    if not isinstance(pttl, int) or not 90000 <= pttl <= 100000:
        raise Mismatch("PTTL right after EXPIRE k 100", "about 100000", repr(pttl))
    expect_reply(c.call("PERSIST", "k"), 1, "PERSIST k")
    expect_reply(c.call("TTL", "k"), -1, "TTL after PERSIST")
    expect_reply(c.call("EXPIRE", "none", "5"), 0, "EXPIRE of a missing key")
    expect_reply(c.call("SET", "k", "v", "EX", "50"), "OK", "SET k v EX 50")
    expect_reply(c.call("SET", "k", "v2"), "OK", "SET k v2 (clears the expiry)")
    expect_reply(c.call("TTL", "k"), -1, "TTL after a plain SET")
    expect_reply(c.call("SET", "short", "v", "PX", "150"), "OK", "SET short v PX 150")
    expect_reply(c.call("GET", "short"), b"v", "GET short before its time")
    if not timing.wait_until(lambda: c.call("GET", "short") is None, 5):
        raise Mismatch("GET short after PX 150", "nil", "still there")
    expect_reply(c.call("EXISTS", "short"), 0, "EXISTS of an expired key")
    expect_reply(c.call("EXPIRE", "k", "-1"), 1, "EXPIRE k -1 (deletes it)")
    expect_reply(c.call("GET", "k"), None, "GET after EXPIRE -1")


@pytest.mark.points(3)
@pytest.mark.milestone("expiry")
@pytest.mark.needs("test_miniredis_ttl_and_lazy_expiry")
def test_miniredis_active_expiry(start_server, lab, resp_client):
    """Keys that expire and are never touched again leave DBSIZE: a timer deletes them."""
    server = start_miniredis(start_server, lab)
    c = resp_client(server.port)
    for i in range(20):
        c.call("SET", f"tmp{i}", "v", "PX", "100")
    c.call("SET", "stays", "v")
    expect_reply(c.call("DBSIZE"), 21, "DBSIZE right after 21 SETs")
    if not timing.wait_until(lambda: c.call("DBSIZE") == 1, 5):
        raise Mismatch("DBSIZE once 20 keys are past their PX 100 (none read since)", "1",
                       repr(c.call("DBSIZE")),
                       "Run a timer (every 100 ms, say) that deletes keys whose time has passed.")


# ---- M=types ---------------------------------------------------------------------------------

@pytest.mark.points(4)
@pytest.mark.milestone("types")
@pytest.mark.needs("test_miniredis_strings")
def test_miniredis_lists_sets_hashes_zsets(start_server, lab, resp_client):
    """LPUSH/RPUSH/LPOP/RPOP/LLEN/LRANGE, SADD/SCARD/SMEMBERS/SPOP, HSET/HGET/HDEL/HGETALL, ZADD/ZPOPMIN, KEYS."""
    server = start_miniredis(start_server, lab)
    c = resp_client(server.port)
    steps = [
        (("RPUSH", "l", "b", "c"), 2), (("LPUSH", "l", "a", "z"), 4),
        (("LRANGE", "l", "0", "-1"), [b"z", b"a", b"b", b"c"]), (("LRANGE", "l", "1", "2"),
                                                                 [b"a", b"b"]),
        (("LRANGE", "l", "5", "9"), []), (("LPOP", "l"), b"z"), (("RPOP", "l"), b"c"),
        (("LLEN", "l"), 2), (("LPOP", "l", "5"), [b"a", b"b"]), (("LLEN", "l"), 0),
        (("EXISTS", "l"), 0), (("SADD", "s", "x", "y", "x"), 2), (("SCARD", "s"), 2),
        (("SADD", "one", "m"), 1), (("SMEMBERS", "one"), [b"m"]), (("SPOP", "one"), b"m"),
        (("EXISTS", "one"), 0), (("HSET", "h", "f", "1", "g", "2"), 2), (("HSET", "h", "f", "3"), 0),
        (("HGET", "h", "f"), b"3"), (("HGET", "h", "none"), None), (("HDEL", "h", "g", "q"), 1),
        (("HGETALL", "h"), [b"f", b"3"]), (("ZADD", "z", "2", "b", "1", "a", "1.5", "c"), 3),
        (("ZPOPMIN", "z"), [b"a", b"1"]), (("ZPOPMIN", "z", "5"), [b"c", b"1.5", b"b", b"2"]),
        (("SET", "key:1", "v"), "OK"), (("KEYS", "key:[0-9]"), [b"key:1"]), (("KEYS", "nomatch*"), []),
        (("LPUSH", "key:1", "x"), RespError("WRONGTYPE Operation against a key holding the wrong "
                                             "kind of value")),
    ]
    for args, want in steps:
        got = c.call(*args)
        if args[0] == "SMEMBERS" or (args[0] == "KEYS" and isinstance(got, list)):
            got = sorted(got)
        expect_reply(got, want, " ".join(args))
    members = c.call("SMEMBERS", "s")
    if sorted(members or []) != [b"x", b"y"]:
        raise Mismatch("SMEMBERS s", "x and y (any order)", repr(members))


# ---- M=clients: the real clients, and a server that stays up ---------------------------------

@pytest.mark.points(2)
@pytest.mark.milestone("clients")
@pytest.mark.needs("test_miniredis_strings")
def test_miniredis_redis_cli(start_server, lab, resp_client):
    """redis-cli: one-shot commands, a session on stdin, and --pipe with 100,000 SETs."""
    server = start_miniredis(start_server, lab)
    one = redis_cli(server.port, args=["SET", "greeting", "hello"])
    if one.returncode != 0 or one.stdout.strip() != b"OK":
        raise Mismatch("redis-cli SET greeting hello", "OK, exit 0",
                       f"{one.stdout[-200:]!r}, exit {one.returncode}")
    repl = redis_cli(server.port, "GET greeting\nINCR counter\nINCR counter\n")
    if repl.stdout.split() != [b"hello", b"1", b"2"]:
        raise Mismatch("redis-cli with three commands on stdin", "hello 1 2",
                       repr(repl.stdout[-200:]))
    mass = b"".join(encode("SET", f"key:{i}", f"value:{i}") for i in range(100000))
    piped = redis_cli(server.port, mass, ["--pipe"], timeout=60)
    if piped.returncode != 0 or b"errors: 0, replies: 100000" not in piped.stdout:
        raise Mismatch("redis-cli --pipe with 100,000 SETs", "errors: 0, replies: 100000",
                       repr(piped.stdout[-300:]), QUEUE_HINT)
    c = resp_client(server.port)
    expect_reply(c.call("DBSIZE"), 100002, "DBSIZE after --pipe")
    expect_reply(c.call("GET", "key:99999"), b"value:99999", "GET key:99999")


@pytest.mark.points(2)
@pytest.mark.milestone("clients")
@pytest.mark.needs("test_miniredis_lists_sets_hashes_zsets")
def test_miniredis_python_redis(start_server, lab):
    """Python's redis library: connect, strings, a list, a hash, a pipeline of 200 commands."""
    redis = pytest.importorskip("redis")
    server = start_miniredis(start_server, lab)
    r = redis.Redis(host="127.0.0.1", port=server.port, socket_timeout=timing.scaled(10))
    try:
        if not r.ping():
            raise Mismatch("redis-py: ping()", "True", "False")
        r.set("a", "1")
        if r.incr("a") != 2 or r.get("a") != b"2":
            raise Mismatch("redis-py: set, incr, get", "2", repr(r.get("a")))
        r.rpush("l", "x", "y")
        if r.lrange("l", 0, -1) != [b"x", b"y"]:
            raise Mismatch("redis-py: lrange", "[b'x', b'y']", repr(r.lrange("l", 0, -1)))
        r.hset("h", "f", "v")
        if r.hgetall("h") != {b"f": b"v"}:
            raise Mismatch("redis-py: hgetall", "{b'f': b'v'}", repr(r.hgetall("h")))
        pipe = r.pipeline(transaction=False)
        for i in range(200):
            pipe.set(f"p{i}", i)
        if pipe.execute() != [True] * 200:
            raise Mismatch("redis-py: a pipeline of 200 SETs", "200 × True", "something else")
    except redis.RedisError as e:
        raise Mismatch("redis-py against miniredis", "no error", repr(e)) from None
    finally:
        r.close()


def redis_benchmark(port, *args, timeout=60):
    bench = require("redis-benchmark", "redis-tools")
    return subprocess.run([bench, "-h", "127.0.0.1", "-p", str(port), "-q", *args],
                          capture_output=True, timeout=timing.scaled(timeout))


@pytest.mark.points(3)
@pytest.mark.milestone("clients")
@pytest.mark.needs("test_miniredis_lists_sets_hashes_zsets")
def test_miniredis_redis_benchmark(start_server, lab):
    """redis-benchmark -q: pipelined (-P 16), 200 clients, and a reconnect per request (-k 0)."""
    server = start_miniredis(start_server, lab)
    # Small loads: each run proves that redis-benchmark accepts every reply (its first
    # CONFIG GETs, inline PINGs, the types' replies), pipelined, from 200 clients at once, and
    # over 4,000 connections opened and closed (more than the 2,048 descriptors miniredis has
    # here, so that a descriptor leak runs out of them).
    runs = [
        ["-n", "2000", "-P", "16", "-t", "ping,set,get,incr,lpush,rpush,lpop,rpop,sadd,hset,"
         "spop,zadd,zpopmin,lrange_100,mset"],
        ["-n", "2000", "-c", "200", "-t", "set,get"],
        ["-n", "2000", "-c", "20", "-k", "0", "-t", "set,get"],
    ]
    for args in runs:
        done = redis_benchmark(server.port, *args)
        out = done.stdout.decode(errors="replace") + done.stderr.decode(errors="replace")
        if done.returncode != 0 or "error" in out.lower() or "requests per second" not in out:
            raise Mismatch("redis-benchmark -q " + " ".join(args), "exit 0, no errors",
                           f"exit {done.returncode}: {out[-300:]}",
                           "redis-benchmark first sends CONFIG GET save and CONFIG GET "
                           "appendonly; every command it sends needs its exact reply.")


@pytest.mark.points(3)
@pytest.mark.milestone("clients")
@pytest.mark.needs("test_miniredis_strings")
def test_miniredis_reader_that_never_reads(start_server, lab, resp_client):
    """A client that asks for 96 MiB of replies (GETs of a 1 MiB value) in one write and never reads is disconnected; another is served meanwhile."""
    server = start_miniredis(start_server, lab)
    other = resp_client(server.port, "other")
    expect_reply(other.call("SET", "big", "x" * (1 << 20)), "OK", "SET big (1 MiB)")
    before = server.open_fds()
    hog = resp_client(server.port, "hog", rcvbuf=4096)
    expect_reply(hog.call("PING"), "PONG", "hog: PING")
    # 96 MiB asked: past the 64 MiB limit even after the kernel's socket buffers took their
    # share (a few MiB). Nothing is read, so nothing moves on once they are full.
    hog.send(encode("GET", "big") * 96)
    expect_reply(other.call("PING"), "PONG", "another client while one never reads", QUEUE_HINT)
    if not timing.wait_until(lambda: server.open_fds() <= before, 10):
        raise Mismatch("a client that asked for 96 MiB of replies and read none",
                       "disconnected once its queued output passes 64 MiB (miniredis's "
                       f"descriptors back to {before})",
                       f"still connected ({server.open_fds()} descriptors)",
                       "Bound each client's output buffer: past 64 MiB, close the client "
                       "(at a safe point: the end of its read handler, or before the loop "
                       "sleeps), or its replies grow in your memory until it runs out.")
    expect_reply(other.call("PING"), "PONG", "the other client afterwards")
    expect_reply(other.call("STRLEN", "big"), 1 << 20, "STRLEN big afterwards")


@pytest.mark.points(3)
@pytest.mark.milestone("clients")
@pytest.mark.needs("test_miniredis_ping_and_pipelining")
def test_miniredis_idle_crowd_and_stable_descriptors(start_server, lab, resp_client):
    """1,000 idle connections beside active ones; after 10,000 connections come and go, miniredis holds as many descriptors as before."""
    server = start_miniredis(start_server, lab)
    active = resp_client(server.port, "active")
    expect_reply(active.call("PING"), "PONG", "PING")
    before = len(os.listdir(f"/proc/{server.pid}/fd"))
    idle = [socket.create_connection(("127.0.0.1", server.port), timeout=timing.scaled(5))
            for _ in range(1000)]
    try:
        for i in range(20):
            expect_reply(active.call("INCR", "n"), i + 1, "INCR among 1,000 idle connections")
        last = resp_client(server.port, "last")
        expect_reply(last.call("PING"), "PONG", "the 1,002nd client")
    finally:
        for s in idle:
            s.close()
    # 10,000 one after the other: more than the 2,048 descriptors miniredis has here, so that a
    # server that leaks them runs out before the end (and the count below shows any leak).
    for i in range(10000):
        try:
            s = socket.create_connection(("127.0.0.1", server.port), timeout=timing.scaled(5))
            if i % 500 == 499:
                s.sendall(b"PING\r\n")
                if not s.recv(16).startswith(b"+PONG"):
                    raise Mismatch(f"connection {i + 1} of 10,000: PING", "+PONG", "no reply")
        except OSError as e:
            raise Mismatch(f"connection {i + 1} of 10,000", "accepted and served", repr(e),
                           "Close a client's socket when it goes (after deleting it from the "
                           "loop).") from None
        s.close()
    last.close()
    expect_reply(active.call("PING"), "PONG", "PING after 10,000 connections")
    if not timing.wait_until(lambda: len(os.listdir(f"/proc/{server.pid}/fd")) <= before, 10):
        raise Mismatch("miniredis's descriptors after 11,001 clients closed",
                       f"{before} (as before)",
                       str(len(os.listdir(f"/proc/{server.pid}/fd"))),
                       "Close a client's socket when it goes (after deleting it from the loop).")


@pytest.mark.points(2)
@pytest.mark.milestone("clients")
@pytest.mark.needs("test_miniredis_ping_and_pipelining")
def test_miniredis_idle_timeout(start_server, lab, resp_client):
    """--timeout 1: a silent client is closed; one that keeps talking stays."""
    server = start_miniredis(start_server, lab, "--timeout", "1")
    silent = resp_client(server.port, "silent")
    lively = resp_client(server.port, "lively")
    expect_reply(silent.call("PING"), "PONG", "silent: PING")
    deadline = timing.Deadline(8)
    closed = False
    while not deadline.expired():
        expect_reply(lively.call("PING"), "PONG", "a client that talks every 0.2 s")
        if silent.closed(timeout=0.2):
            closed = True
            break
    if not closed:
        raise Mismatch("a client silent for longer than --timeout 1", "closed", "still open",
                       "A timer checks every client's last activity.")
    expect_reply(lively.call("PING"), "PONG", "the lively client afterwards")


@pytest.mark.points(2)
@pytest.mark.milestone("clients")
@pytest.mark.needs("test_miniredis_ping_and_pipelining")
def test_miniredis_sigterm(start_server, lab, resp_client):
    """SIGTERM with clients connected (one halfway through a command): every connection closes, exit 0."""
    server = start_miniredis(start_server, lab)
    clients = [resp_client(server.port, f"c{i}") for i in range(5)]
    for c in clients:
        expect_reply(c.call("PING"), "PONG", f"{c.name}: PING")
    half = resp_client(server.port, "halfway")
    half.send(b"*2\r\n$3\r\nGET\r\n")
    expect_reply(clients[0].call("PING"), "PONG", "PING")
    os.kill(server.pid, signal.SIGTERM)
    for c in clients + [half]:
        if not c.closed(timeout=5):
            raise Mismatch(f"{c.name} after SIGTERM", "closed", "still open",
                           "Read SIGTERM on the loop (signalfd or a self-pipe), stop the loop, "
                           "close every client, exit 0.")
    server.stop()


@pytest.mark.points(3)
@pytest.mark.milestone("clients")
@pytest.mark.needs("test_miniredis_strings")
def test_miniredis_robust_io(lab, faults, resp_client):
    """Short reads and writes, EAGAIN and EINTR: a pipelined session still comes out right."""
    runner = faults(kinds=("short", "eagain", "eintr", "shortwrite"), rate=60)
    server = runner.start_server([lab.program("miniredis"), "-p", "0"],
                                 limits=Limits(cpu_seconds=60))
    a, b = resp_client(server.port, "a"), resp_client(server.port, "b")
    a.send(b"".join(encode("RPUSH", "l", f"item {i} " + "m" * (i * 37)) for i in range(60)))
    for i in range(60):
        expect_reply(a.reply(f"RPUSH {i + 1} of 60"), i + 1, f"a: RPUSH {i + 1} of 60 under "
                     "short reads and writes", PARSE_HINT)
    items = b.call("LRANGE", "l", "0", "-1")
    want = [f"item {i} ".encode() + b"m" * (i * 37) for i in range(60)]
    if items != want:
        raise Mismatch("b: LRANGE l 0 -1 under short writes", "the 60 items in order",
                       f"{len(items or [])} items", QUEUE_HINT)
    server.stop()


@pytest.mark.points(4)
@pytest.mark.milestone("clients")
@pytest.mark.needs("test_miniredis_lists_sets_hashes_zsets")
def test_miniredis_valgrind_clean(start_server, lab, resp_client):
    """Under Valgrind: every type, expiry, errors, a protocol error, a reset, then SIGTERM: clean."""
    server = start_miniredis(start_server, lab, valgrind=True)
    a = resp_client(server.port, "a")
    for args in (("SET", "s", "v", "EX", "100"), ("RPUSH", "l", "1", "2"), ("SADD", "set", "m"),
                 ("HSET", "h", "f", "v"), ("ZADD", "z", "1", "a"), ("INCR", "n"),
                 ("APPEND", "s", "w"), ("SET", "gone", "v", "PX", "1"), ("LPOP", "l"),
                 ("NOSUCH",), ("GET", "l"), ("DEL", "h")):
        a.call(*args)
    bad = resp_client(server.port, "bad")
    bad.send(b"*1\r\n$x\r\n")
    bad.reply("the protocol error")
    bad.closed(timeout=20)
    d = resp_client(server.port, "reset")
    d.send(b"*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$100\r\nhalf")
    expect_reply(a.call("PING"), "PONG", "PING")
    d.sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
    d.close()
    expect_reply(a.call("EXISTS", "s", "l", "set", "z", "n", "h"), 5, "EXISTS of six keys, one deleted")
    server.stop(timeout=30)
    expect_valgrind_clean(server, "valgrind after SIGTERM with clients connected")
