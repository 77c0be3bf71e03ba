"""Lab 05, hidden tests: resets before accept, descriptors over a thousand
connections, select's own limit, nicks that come free, real clients
(Python's irc library and sic) against chatd, and chatc against ngircd.
"""
import os
import resource
import socket
import struct
import threading

import pytest

from netgrader import timing
from netgrader.expect import Mismatch, expect_exit
from netgrader.procs import Limits

LINGER_RST = struct.pack("ii", 1, 0)  # close() sends an RST


def start_chatd(start_server, lab, *args, limits=None):
    return start_server([lab.program("chatd"), "-p", "0", *args],
                        limits=limits or Limits(cpu_seconds=60))


def registered(irc_client, port, nick, channel=None):
    client = irc_client(port, nick)
    client.register(nick)
    if channel:
        client.send(f"JOIN {channel}")
        client.expect("JOIN", channel, what=f"{nick}'s own JOIN of {channel}")
        client.expect("366", channel, what=f"{nick} joining {channel}")
    return client


def raise_nofile(want: int) -> None:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < want:
        resource.setrlimit(resource.RLIMIT_NOFILE, (min(want, hard), hard))


# ---- M=select ----------------------------------------------------------------------------

@pytest.mark.points(2)
@pytest.mark.milestone("select")
@pytest.mark.needs("test_chatd_answers_ping")
def test_chatd_reset_before_accept(start_server, lab, irc_client):
    """Connections reset before chatd accepts them (or right after) do not stop it."""
    server = start_chatd(start_server, lab)
    for i in range(20):
        s = socket.create_connection(("127.0.0.1", server.port))
        if i % 2:
            s.sendall(b"NICK half\r\nUSER h 0 * :h\r\nPRIVMSG #x :")
        s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, LINGER_RST)
        s.close()
    client = registered(irc_client, server.port, "after")
    client.sync()


@pytest.mark.points(2)
@pytest.mark.milestone("select")
@pytest.mark.needs("test_chatd_answers_ping")
def test_chatd_descriptors_stable_after_1000_connections(start_server, lab, irc_client):
    """After 1,000 connections (closed, reset, half-registered), chatd holds what it held before."""
    server = start_chatd(start_server, lab)
    first = irc_client(server.port, "first")
    first.sync()
    baseline = server.open_fds()
    for batch in range(20):
        socks = [socket.create_connection(("127.0.0.1", server.port)) for _ in range(50)]
        for i, s in enumerate(socks):
            if i % 3 == 0:
                s.sendall(b"NICK n%d\r\nUSER u 0 * :u\r\n" % (batch * 50 + i))
            if i % 3 == 1:
                s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, LINGER_RST)
            s.close()
    # A thousand accepts and closes are real work: on a loaded machine they
    # take seconds, so this wait's deadline is long (it costs nothing when
    # the server is quick).
    first.sync(30)
    if not timing.wait_until(lambda: server.open_fds() <= baseline, 30):
        raise Mismatch("chatd's descriptors after 1,000 connections came and went",
                       f"{baseline} (as before)", f"{server.open_fds()}",
                       "Close the socket of every client that goes: EOF, a reset (ECONNRESET "
                       "from recv or send), a QUIT.")
    first.sync()


# ---- M=register --------------------------------------------------------------------------

@pytest.mark.points(2)
@pytest.mark.milestone("register")
@pytest.mark.needs("test_chatd_nick_errors")
def test_chatd_nick_comes_free(start_server, lab, irc_client):
    """433 before registration targets '*'; a nick is free again once its owner quits; a case change of one's own nick is allowed."""
    server = start_chatd(start_server, lab)
    alice = registered(irc_client, server.port, "alice")
    other = irc_client(server.port, "other")
    other.send("NICK Alice")
    m = other.expect("433", what="NICK Alice before registering, alice taken")
    if m.params[:1] != ["*"]:
        raise Mismatch("433 before registration", ":server 433 * Alice :...", str(m),
                       "Before a client has a nick, numerics are addressed to '*'.")
    alice.send("NICK ALICE")
    alice.expect("NICK", "ALICE", what="alice renames herself ALICE (her own nick, new case)")
    alice.send("QUIT")
    alice.read_to_close()
    other.send("NICK alice")
    other.send("USER o 0 * :o")
    other.expect("001", what="the nick alice after its owner quit")


# ---- M=channels: real clients --------------------------------------------------------------

@pytest.mark.points(1)
@pytest.mark.milestone("channels")
@pytest.mark.needs("test_chatd_privmsg_and_notice")
def test_chatd_python_irc_library(start_server, lab, irc_client):
    """Python's irc library (python3-irc) registers, joins and talks to a member."""
    import irc.client

    server = start_chatd(start_server, lab)
    bob = registered(irc_client, server.port, "bob", "#lab")
    reactor = (getattr(irc.client, "Reactor", None) or irc.client.IRC)()  # IRC before 15.0
    state = {"welcome": False, "joined": False, "reply": None}

    def on_welcome(conn, event):
        state["welcome"] = True
        conn.join("#lab")

    def on_join(conn, event):
        if event.source.nick == "pyclient":
            state["joined"] = True
            conn.privmsg("#lab", "from python")

    def on_pubmsg(conn, event):
        state["reply"] = event.arguments[0]

    reactor.add_global_handler("welcome", on_welcome)
    reactor.add_global_handler("join", on_join)
    reactor.add_global_handler("pubmsg", on_pubmsg)
    conn = reactor.server().connect("127.0.0.1", server.port, "pyclient")
    try:
        deadline = timing.Deadline(5)
        while not state["joined"] and not deadline.expired():
            reactor.process_once(0.05)
        if not state["joined"]:
            raise Mismatch("Python's irc library connecting as pyclient",
                           "welcome (001), then its own JOIN of #lab", f"{state}",
                           "Registration ends with 001 addressed to the new nick; a JOIN is "
                           "echoed to the joiner as `:nick!user@host JOIN #lab`.")
        bob.expect("PRIVMSG", "#lab", "from python", seconds=5,
                   what="bob: the irc library's message (it registers, then joins #lab)")
        bob.send("PRIVMSG #lab :hello python")
        deadline = timing.Deadline(5)
        while state["reply"] is None and not deadline.expired():
            reactor.process_once(0.05)
    finally:
        conn.disconnect("done")
    if state["reply"] != "hello python":
        raise Mismatch("the irc library's view of bob's message", "pubmsg 'hello python'",
                       f"{state}", "Relay channel messages as `:nick!user@host PRIVMSG #c :text`.")


@pytest.mark.points(1)
@pytest.mark.milestone("channels")
@pytest.mark.needs("test_chatd_privmsg_and_notice")
def test_chatd_sic_client(start_server, lab, irc_client, run, tmp_path):
    """sic, a real line-mode client, joins and talks; bob sees it join, talk and leave."""
    server = start_chatd(start_server, lab)
    bob = registered(irc_client, server.port, "bob", "#lab")
    # sic quits at the end of its input: keep the input open until bob has
    # seen the message, or sic's exit could overtake its own lines.
    fifo = tmp_path / "sic-input"
    os.mkfifo(fifo)
    holder = os.open(fifo, os.O_RDWR | os.O_NONBLOCK)
    os.write(holder, b":j #lab\n")
    failures = []

    def watch():
        try:
            while bob.expect("JOIN", "#lab", what="bob: sic joins #lab").nick != "sicnick":
                pass  # bob's own JOIN, still pending from registered()
            # One line at a time: sic reads stdin with stdio, and a second line
            # in its buffer would wait there for the next select on stdin.
            os.write(holder, b":m #lab hello from sic\n")
            bob.expect("PRIVMSG", "#lab", "hello from sic", what="bob: sic's message")
        except BaseException as exc:  # re-raised below, in the test's thread
            failures.append(exc)
        finally:
            os.close(holder)  # the end of sic's input: it quits

    watcher = threading.Thread(target=watch, daemon=True)
    watcher.start()
    result = run(["sic", "-h", "127.0.0.1", "-p", str(server.port), "-n", "sicnick"],
                 stdin=fifo, timeout=15, label="sic")
    watcher.join(timeout=timing.scaled(15))
    if failures:
        raise failures[0]
    bob.expect("QUIT", what="bob: sic leaves (its input ended)")
    if result.timed_out:
        raise Mismatch("sic", "it ends when its input does", "it was still running")


# ---- M=queues ----------------------------------------------------------------------------

@pytest.mark.points(2)
@pytest.mark.milestone("queues")
@pytest.mark.needs("test_chatd_server_full")
def test_chatd_select_limit(start_server, lab, irc_client):
    """With descriptors to spare, connections past FD_SETSIZE are told the server is full; the rest keep working."""
    raise_nofile(1400)
    soft, _ = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < 1200:
        pytest.skip("this machine does not let the grader hold 1,200 descriptors")
    server = start_chatd(start_server, lab, "-m", "5000",
                         limits=Limits(cpu_seconds=60, open_files=1300))
    socks = []
    try:
        for i in range(1040):
            s = socket.create_connection(("127.0.0.1", server.port))
            s.settimeout(timing.scaled(5))
            socks.append(s)
        full = 0
        for i, s in enumerate(socks[-40:]):
            s.sendall(b"PING :late\r\n")
        for s in socks[-40:]:
            data = b""
            while b"\n" not in data:
                chunk = s.recv(4096)
                if not chunk:
                    break
                data += chunk
            if data.startswith(b"ERROR :Server full"):
                full += 1
            elif b"PONG" not in data:
                raise Mismatch("a connection near select's limit", "PONG or ERROR :Server full",
                               repr(data[:80]))
        if full == 0:
            raise Mismatch("connections 1,001 to 1,040 (descriptors past 1,023)",
                           "ERROR :Server full for those select cannot watch",
                           "none refused",
                           "FD_SET on a descriptor >= FD_SETSIZE writes past the fd_set: "
                           "refuse such a connection (ERROR :Server full) and close it.")
        socks[0].sendall(b"PING :first\r\n")
        data = socks[0].recv(4096)
        if b"first" not in data:
            raise Mismatch("the first connection, after the limit was met", "its PONG",
                           repr(data[:80]))
    finally:
        for s in socks:
            s.close()
    if not timing.wait_until(lambda: server.open_fds() < 100, 10):
        raise Mismatch("chatd after 1,040 clients closed", "their sockets closed",
                       f"{server.open_fds()} descriptors still open",
                       "A read of 0 bytes is the client's close: close its socket.")
    irc_client(server.port, "after").sync()


# ---- M=client ----------------------------------------------------------------------------

@pytest.mark.points(1)
@pytest.mark.milestone("client")
@pytest.mark.needs("test_chatc_chats_with_chatd")
def test_chatc_with_ngircd(run, lab, ngircd_server, irc_client):
    """chatc against ngircd, a real IRC server: it joins, talks, sends private messages and quits."""
    server = ngircd_server()
    bob = registered(irc_client, server.port, "bob", "#lab")
    result = run([lab.program("chatc"), "-n", "alice", "-j", "#lab", "127.0.0.1",
                  str(server.port)], stdin=b"hello ngircd\n/msg bob psst\n", timeout=10)
    expect_exit(result, 0)
    bob.expect("PRIVMSG", "#lab", "hello ngircd", what="bob: chatc's line to #lab via ngircd")
    bob.expect("PRIVMSG", "bob", "psst", what="bob: /msg bob psst via ngircd")
    bob.expect("QUIT", what="bob: chatc quits at the end of its input")


@pytest.mark.points(1)
@pytest.mark.milestone("client")
@pytest.mark.needs("test_chatc_paste_of_one_mebibyte")
def test_chatc_reads_while_the_server_does_not(run, lab, scripted_server):
    """A server that sends 8 MiB before it reads anything, to a client pasting 8 MiB: no deadlock."""
    paste = [f"paste {i:06d} " + "q" * 80 for i in range(8 * 1024 * 1024 // 94)]
    flood = b"".join(b":bob!b@h NOTICE alice :flood %06d %s\r\n" % (i, b"f" * 70)
                     for i in range(8 * 1024 * 1024 // 100))
    seen = []

    def server(conn):
        head = b""
        while b"USER" not in head:
            head += conn.sock.recv(4096)
        conn.sock.sendall(b":irc.test 001 alice :Welcome\r\n:irc.test 422 alice :none\r\n")
        conn.sock.sendall(flood)  # all of it before reading a byte: chatc must keep reading
        data = b""
        while b"QUIT" not in data[-200:]:
            chunk = conn.sock.recv(1 << 20)
            if not chunk:
                break
            data += chunk
        seen.append(data.count(b"PRIVMSG #p :paste "))
        conn.sock.sendall(b"ERROR :bye\r\n")

    srv = scripted_server(server, timeout=30)
    result = run([lab.program("chatc"), "-n", "alice", "-j", "#p", "127.0.0.1", str(srv.port)],
                 stdin="".join(line + "\n" for line in paste).encode(), timeout=40)
    srv.check()
    expect_exit(result, 0, hint="Read the socket in every turn, whatever the queue holds; "
                "stop reading stdin (not the socket) while the queue is long.")
    if not seen or seen[0] != len(paste):
        raise Mismatch("the server, after its 8 MiB", f"{len(paste)} pasted lines",
                       f"{seen[0] if seen else 0}")
    notices = flood.count(b"\n")
    printed = result.stdout_text.count("-bob- flood")
    if printed != notices:
        raise Mismatch("what chatc printed", f"{notices} notices", f"{printed}")
