"""The IRC peers of lab 05's tests (netgrader/irc.py): lines are split the
way RFC 2812 says, the scripted client finds the line it waits for among
others and keeps the rest, sync() returns exactly what came before its
PONG, failures quote what was received, and ngircd starts unprivileged on a
free port, registers clients, relays channel messages without throttling
them and stops without leaving a process behind."""
import os
import shutil
import socket
import threading

import pytest

from netgrader import irc
from netgrader.expect import Mismatch
from netgrader.procs import Journal


def test_parse_follows_the_grammar():
    m = irc.parse(":alice!a@h PRIVMSG #lab :hello  there ")
    assert (m.prefix, m.nick, m.command, m.params, m.text) == \
        ("alice!a@h", "alice", "PRIVMSG", ["#lab", "hello  there "], "hello  there ")
    m = irc.parse("ping   :x")
    assert (m.prefix, m.command, m.params) == (None, "PING", ["x"])
    m = irc.parse(":irc.test 353 bob = #lab :@alice bob")
    assert (m.nick, m.params) == ("irc.test", ["bob", "=", "#lab", "@alice bob"])
    m = irc.parse("CMD " + " ".join(str(i) for i in range(1, 18)))
    assert len(m.params) == 15 and m.params[14] == "15 16 17"
    assert irc.parse("TOPIC #c :").params == ["#c", ""]


class TinyServer:
    """One connection: PING is answered with PONG, QUIT with ERROR and a
    close; `script` lines are sent as soon as the client connects."""

    def __init__(self, script=b""):
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(1)
        self.port = self.sock.getsockname()[1]
        self.script = script
        self.thread = threading.Thread(target=self.serve, daemon=True)
        self.thread.start()

    def serve(self):
        conn, _ = self.sock.accept()
        conn.settimeout(10)
        conn.sendall(self.script)
        buffer = b""
        while True:
            data = conn.recv(4096)
            if not data:
                break
            buffer += data
            while b"\n" in buffer:
                line, buffer = buffer.split(b"\n", 1)
                line = line.rstrip(b"\r")
                if line.startswith(b"PING :"):
                    conn.sendall(b":s PONG s :" + line[6:] + b"\r\n")
                elif line.startswith(b"QUIT"):
                    conn.sendall(b"ERROR :bye\r\n")
                    conn.close()
                    return
        conn.close()

    def close(self):
        self.sock.close()
        self.thread.join(timeout=10)


def test_expect_keeps_what_it_passes_over_and_sync_returns_the_rest():
    server = TinyServer(b":s 001 me :Welcome\r\n:s 005 me A=1 :x\r\n:a!u@h JOIN :#c\r\n"
                        b":s 353 me = #c :a me\n:s 366 me #c :End\r\n")
    client = irc.IrcClient(server.port, Journal(), "me")
    try:
        assert client.expect("366", "#c").params == ["me", "#c", "End"]  # after the target
        assert client.expect("JOIN", "#C").nick == "a"                   # any ASCII case
        before = client.sync()
        assert [m.command for m in before] == ["001", "005", "353"]
        assert client.sync() == []
        with pytest.raises(Mismatch) as failure:
            client.expect("PRIVMSG", seconds=0.2)
        assert "PRIVMSG" in str(failure.value) and ":s 366 me #c :End" in failure.value.got
        client.send("QUIT :done")
        rest = client.read_to_close()
        assert [m.line for m in rest] == ["ERROR :bye"] and client.eof
        with pytest.raises(Mismatch) as closed:
            client.expect("PONG")
        assert "closed" in closed.value.got
    finally:
        client.close()
        server.close()


def test_pieces_and_bytes_are_sent_exactly():
    received = []
    srv = socket.socket()
    srv.bind(("127.0.0.1", 0))
    srv.listen(1)

    def serve():
        conn, _ = srv.accept()
        with conn:
            data = b""
            while True:
                chunk = conn.recv(100)
                if not chunk:
                    break
                data += chunk
            received.append(data)

    t = threading.Thread(target=serve, daemon=True)
    t.start()
    client = irc.IrcClient(srv.getsockname()[1], Journal())
    client.send("NICK abcdef", chunk=1)     # CRLF added
    client.send(b"RAW\n")                   # bytes: as given
    client.close()
    t.join(timeout=10)
    srv.close()
    assert received == [b"NICK abcdef\r\nRAW\n"]


@pytest.fixture
def ngircd(tmp_path):
    if shutil.which("ngircd") is None and not os.path.exists("/usr/sbin/ngircd"):
        pytest.skip("ngircd is not installed (make setup)")
    os.chmod(tmp_path, 0o755)
    server = irc.start_ngircd(tmp_path, Journal())
    yield server
    server.stop()
    assert server.proc.poll() is not None


def test_ngircd_registers_relays_and_does_not_throttle(ngircd):
    a = irc.IrcClient(ngircd.port, Journal(), "a")
    b = irc.IrcClient(ngircd.port, Journal(), "b")
    try:
        welcome = a.register("alice")
        tokens = [p for m in welcome if m.command == "005" for p in m.params]
        assert "CASEMAPPING=ascii" in tokens and "NICKLEN=9" in tokens
        assert welcome[0].prefix == irc.NGIRCD_NAME and welcome[-1].command in ("376", "422")
        b.register("bob")
        a.send("JOIN #lab")
        a.expect("366", "#lab")
        b.send("JOIN #LAB")
        b.expect("366")
        a.expect("JOIN", "#LAB")
        for i in range(200):  # a burst that ngircd's default penalty would slow to 1/s
            b.send(f"PRIVMSG #lab :m{i}")
        for i in range(200):
            assert a.expect("PRIVMSG", "#lab", f"m{i}", seconds=5).nick == "bob"
    finally:
        a.close()
        b.close()
