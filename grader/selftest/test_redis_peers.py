"""The Redis peers of lab 06's tests (netgrader/redis.py): commands are
encoded as multibulks, every reply type is parsed (a bulk split across
reads too), a close is noticed, and redis-server starts unprivileged on a
free port, answers the scripted client and redis-cli, and stops without
leaving a process behind."""
import shutil
import socket
import threading

import pytest

from netgrader import redis
from netgrader.expect import Mismatch
from netgrader.procs import Journal


def test_encode_is_a_multibulk():
    assert redis.encode("SET", b"k\x00", 7) == b"*3\r\n$3\r\nSET\r\n$2\r\nk\x00\r\n$1\r\n7\r\n"


class TinyServer:
    """One connection: answers each read with the next canned bytes, then closes."""

    def __init__(self, replies):
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(1)
        self.port = self.sock.getsockname()[1]
        self.replies = replies
        self.thread = threading.Thread(target=self.serve, daemon=True)
        self.thread.start()

    def serve(self):
        conn, _ = self.sock.accept()
        with conn:
            for reply in self.replies:
                if not conn.recv(65536):
                    return
                for i in range(0, len(reply), 3):  # in pieces
                    conn.sendall(reply[i:i + 3])
        self.sock.close()


def test_every_reply_type_parsed():
    server = TinyServer([b"+OK\r\n", b"-ERR bad\r\n", b":-5\r\n", b"$5\r\nab\r\nc\r\n",
                         b"$-1\r\n", b"*2\r\n$1\r\na\r\n*1\r\n:1\r\n"])
    c = redis.RespClient(server.port, Journal())
    assert c.call("A") == "OK"
    err = c.call("B")
    assert isinstance(err, redis.RespError) and err == "ERR bad"
    assert c.call("C") == -5
    assert c.call("D") == b"ab\r\nc"
    assert c.call("E") is None
    assert c.call("F") == [b"a", [1]]
    c.send(b"x")
    assert c.closed(timeout=5)
    c.close()


def test_no_reply_is_a_mismatch():
    server = TinyServer([])
    c = redis.RespClient(server.port, Journal())
    with pytest.raises(Mismatch):
        c.call("PING")
    c.close()


@pytest.mark.skipif(shutil.which("redis-server") is None, reason="redis-server not installed")
def test_redis_server_starts_answers_and_stops(tmp_path):
    server = redis.start_redis(tmp_path, Journal())
    try:
        c = redis.RespClient(server.port, Journal())
        assert c.call("SET", "k", "v") == "OK"
        assert c.call("GET", "k") == b"v"
        c.close()
        out = redis.redis_cli(server.port, "GET k\nPING\n")
        assert out.returncode == 0 and out.stdout.split() == [b"v", b"PONG"]
    finally:
        server.stop()
    assert server.proc.poll() is not None
