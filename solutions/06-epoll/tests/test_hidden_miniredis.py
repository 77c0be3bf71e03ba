"""Lab 06, hidden tests of miniredis: a second differential script, the
client limit, the bounds of a multibulk, binary keys and values, expiry
corners."""

import pytest

from netgrader import timing
from netgrader.expect import Mismatch
from netgrader.procs import Limits
from netgrader.redis import (RespError, cli_script, differential_script, encode,
                              expect_same_replies)


def start_miniredis(start_server, lab, *args):
    return start_server([lab.program("miniredis"), "-p", "0", *args],
                        limits=Limits(cpu_seconds=120, open_files=2048))


def expect_reply(got, want, what, hint=""):
    if got != want or type(got) is not type(want):
        raise Mismatch(what, repr(want), repr(got), hint)


@pytest.mark.points(5)
@pytest.mark.milestone("types")
@pytest.mark.needs("test_miniredis_same_replies_as_redis")
def test_hidden_second_script_as_redis(start_server, lab, redis_server):
    """A second script of 600 commands (another seed): the same replies as redis-server (members of sets, hashes and KEYS in any order)."""
    server = start_miniredis(start_server, lab)
    redis = redis_server()
    script = differential_script(1906, 600)
    want, got = cli_script(redis.port, script), cli_script(server.port, script)
    expect_same_replies(script, want, got, "the hidden script, through redis-cli")


@pytest.mark.points(2)
@pytest.mark.milestone("clients")
@pytest.mark.needs("test_miniredis_ping_and_pipelining")
def test_hidden_maxclients(start_server, lab, resp_client):
    """--maxclients 3: the fourth client gets -ERR max number of clients reached; one leaves, another comes in."""
    server = start_miniredis(start_server, lab, "--maxclients", "3")
    clients = [resp_client(server.port, f"c{i}") for i in range(3)]
    for c in clients:
        expect_reply(c.call("PING"), "PONG", f"{c.name}: PING")
    extra = resp_client(server.port, "fourth")
    expect_reply(extra.reply("the fourth client's greeting"),
                 RespError("ERR max number of clients reached"), "the fourth of --maxclients 3")
    clients[0].close()
    def fifth_in():
        c = resp_client(server.port, "fifth")
        got = c.call("PING")
        c.close()
        return got == "PONG"
    if not timing.wait_until(fifth_in, 5):
        raise Mismatch("a client after one of three left", "PONG", "refused")


@pytest.mark.points(3)
@pytest.mark.milestone("resp")
@pytest.mark.needs("test_miniredis_protocol_errors")
def test_hidden_multibulk_bounds(start_server, lab, resp_client):
    """*1048576 is accepted and waits (argv grows as arguments come); *1048577 and a bulk past the limit are errors; a header without CR LF past 64 KB too."""
    server = start_miniredis(start_server, lab)
    c = resp_client(server.port)
    c.send(b"*1048576\r\n" + b"$1\r\nx\r\n" * 10)
    other = resp_client(server.port, "other")
    expect_reply(other.call("PING"), "PONG", "another client while one sends a huge multibulk")
    c.close()
    for data, text in ((b"*1048577\r\n", "ERR Protocol error: invalid multibulk length"),
                       (b"*1\r\n$536870913\r\n", "ERR Protocol error: invalid bulk length"),
                       (b"*1" + b"1" * 70000, "ERR Protocol error: too big mbulk count string")):
        d = resp_client(server.port, "bounds")
        d.send(data)
        expect_reply(d.reply(repr(data[:16])), RespError(text), f"the reply to {data[:16]!r}")
        if not d.closed():
            raise Mismatch(f"after {data[:16]!r}", "closed", "still open")


@pytest.mark.points(3)
@pytest.mark.milestone("strings")
@pytest.mark.needs("test_miniredis_strings")
def test_hidden_binary_keys_and_values(start_server, lab, resp_client):
    """Keys and values with NUL, CR LF and '$' in them; an empty key; a 1 MB value in 1-byte pieces' worth of reads."""
    server = start_miniredis(start_server, lab)
    c = resp_client(server.port)
    for key, value in ((b"a\x00b", b"\r\n$3\r\n"), (b"", b"empty key"), (b"\xff" * 300, b"")):
        expect_reply(c.call("SET", key, value), "OK", f"SET {key[:10]!r}")
        expect_reply(c.call("GET", key), value, f"GET {key[:10]!r}")
    expect_reply(c.call("GET", b"a\x00c"), None, "GET of a key that differs after the NUL")
    big = bytes(range(256)) * 4096
    c.send(encode("SET", "big", big), chunk=65521)
    expect_reply(c.reply("SET big"), "OK", "SET of 1 MB sent in pieces")
    expect_reply(c.call("STRLEN", "big"), len(big), "STRLEN big")
    expect_reply(c.call("GET", "big"), big, "GET big")


@pytest.mark.points(2)
@pytest.mark.milestone("expiry")
@pytest.mark.needs("test_miniredis_ttl_and_lazy_expiry")
def test_hidden_expiry_corners(start_server, lab, resp_client):
    """INCR and APPEND keep a key's expiry, DEL forgets it, PEXPIRE 0 deletes, KEYS skips expired keys."""
    server = start_miniredis(start_server, lab)
    c = resp_client(server.port)
    c.call("SET", "n", "1", "EX", "100")
    expect_reply(c.call("INCR", "n"), 2, "INCR n")
    expect_reply(c.call("TTL", "n"), 100, "TTL after INCR (kept)")
    c.call("APPEND", "n", "0")
    expect_reply(c.call("TTL", "n"), 100, "TTL after APPEND (kept)")
    c.call("DEL", "n")
    c.call("SET", "n", "x")
    expect_reply(c.call("TTL", "n"), -1, "TTL of a key set again after DEL")
    expect_reply(c.call("PEXPIRE", "n", "0"), 1, "PEXPIRE n 0")
    expect_reply(c.call("EXISTS", "n"), 0, "EXISTS after PEXPIRE 0")
    c.call("SET", "soon", "v", "PX", "50")
    c.call("SET", "later", "v")
    if not timing.wait_until(lambda: c.call("KEYS", "*") == [b"later"], 5):
        raise Mismatch("KEYS * once soon's PX 50 passed", "[b'later']", repr(c.call("KEYS", "*")))
