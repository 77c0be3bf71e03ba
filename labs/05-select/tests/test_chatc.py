"""Lab 05, part B: chatc, a line-mode IRC client in one select loop, against
the reference chatd, scripted IRC servers and a first address that never
answers.

chatc's input is a file: it reads it to the end once registered, so each
test's script is fixed; what chatc prints is compared line by line.
"""
import os
import socket

import pytest

from netgrader.expect import Mismatch, expect_exit, expect_stderr_line, expect_valgrind_clean
from netgrader.procs import Limits

CLIENT_HINT = ("Register (NICK, USER), wait for 001, then JOIN; read stdin only once "
               "registered, and write to the server only when select says it is writable.")


def start_reference(start_server, lab, *args):
    return start_server([lab.reference("chatd"), "-p", "0", *args],
                        limits=Limits(cpu_seconds=60))


def registered(irc_client, port, nick, *channels):
    client = irc_client(port, nick)
    client.register(nick)
    for channel in channels:
        client.send(f"JOIN {channel}")
        client.expect("JOIN", channel, what=f"{nick}'s own JOIN of {channel}")
        client.expect("366", channel, what=f"{nick} joining {channel}")
    return client


def lines_until(conn, predicate, what):
    """Lines from a scripted server's connection until predicate(line) holds."""
    seen = []
    while True:
        try:
            line = conn.recv_until(b"\n").decode(errors="replace").rstrip("\r\n")
        except (OSError, EOFError) as exc:
            raise Mismatch(f"the scripted server, waiting for {what}", what,
                           f"{type(exc).__name__} after: {' | '.join(seen) or 'nothing'}",
                           CLIENT_HINT) from None
        seen.append(line)
        if predicate(line):
            return seen


def expect_lines(got: str, want: list[str], what: str, hint: str = ""):
    lines = got.splitlines()
    if lines != want:
        first = next((i for i, (a, b) in enumerate(zip(lines, want)) if a != b),
                     min(len(lines), len(want)))
        raise Mismatch(what, f"line {first + 1}: " + (want[first] if first < len(want)
                                                      else "nothing more"),
                       (lines[first] if first < len(lines) else "nothing more"), hint,
                       detail="chatc printed:\n  " + "\n  ".join(lines[:40]))


# ---- M=client ----------------------------------------------------------------------------

@pytest.mark.points(2)
@pytest.mark.milestone("client")
def test_chatc_chats_with_chatd(run, lab, start_server, irc_client):
    """Text, /msg, /nick, /join, /part, /raw and /quit reach the reference chatd as IRC."""
    server = start_reference(start_server, lab)
    bob = registered(irc_client, server.port, "bob", "#lab", "#two")
    script = ("hello all\n/msg bob private hi\n/nick alicia\n/join #two\nin two\n/part\n"
              "/raw TOPIC #lab :raw topic\n/quit leaving now\n")
    result = run([lab.program("chatc"), "-n", "alice", "-j", "#lab", "127.0.0.1",
                  str(server.port)], stdin=script.encode(), timeout=10)
    expect_exit(result, 0, hint=CLIENT_HINT)
    for command, params, what in (
            ("JOIN", ("#lab",), "alice joins #lab (-j)"),
            ("PRIVMSG", ("#lab", "hello all"), "a line of text: PRIVMSG to #lab"),
            ("PRIVMSG", ("bob", "private hi"), "/msg bob private hi"),
            ("NICK", ("alicia",), "/nick alicia"),
            ("JOIN", ("#two",), "/join #two"),
            ("PRIVMSG", ("#two", "in two"), "text after /join #two goes to #two"),
            ("PART", ("#two",), "/part leaves the current channel, #two"),
            ("TOPIC", ("#lab", "raw topic"), "/raw TOPIC #lab :raw topic"),
            ("QUIT", (), "/quit leaving now")):
        m = bob.expect(command, *params, what=f"bob, in #lab and #two: {what}", hint=CLIENT_HINT)
    if "leaving now" not in m.text:
        raise Mismatch("the QUIT bob saw", "its reason: leaving now", str(m))


def scripted_irc(conn, events, nick="alice", retries=1, done=None):
    """A scripted IRC server: 433 for the first `retries` nicks, then 001, a
    PING that must be answered, the events, and ERROR plus a close once
    chatc has sent QUIT."""
    tried = nick
    for _ in range(retries):
        lines_until(conn, lambda line: line.startswith("NICK "), "NICK")
        conn.send(f":irc.test 433 * {tried} :Nickname is already in use\r\n".encode())
        tried += "_"
    lines_until(conn, lambda line: line == f"NICK {tried}",
                f"NICK {tried} (the nick with '_' appended after 433)")
    conn.send(f":irc.test 001 {tried} :Welcome\r\n:irc.test 422 {tried} :MOTD File is missing\r\n"
              "PING :token42\r\n".encode())
    lines_until(conn, lambda line: line.startswith("PONG") and "token42" in line,
                "PONG :token42 (the answer to the server's PING)")
    conn.send("".join(line + "\r\n" for line in events).encode())
    lines_until(conn, lambda line: line.startswith("QUIT"), "QUIT at the end of input")
    conn.send(b"ERROR :Closing Link: bye\r\n")
    if done is not None:
        done.append(True)


@pytest.mark.points(3)
@pytest.mark.milestone("client")
def test_chatc_prints_what_it_receives(run, lab, scripted_server):
    """433 retried with '_'; PING answered; messages, notices, joins, parts, nicks and quits printed; errors on stderr."""
    events = [":alice_!a@h JOIN :#lab", ":bob!b@h PRIVMSG #lab :hi there",
              ":bob!b@h PRIVMSG alice_ :a secret", ":bob!b@h NOTICE alice_ :note this",
              ":carol!c@h JOIN :#lab", ":carol!c@h PART #lab :bye",
              ":bob!b@h NICK :robert", ":robert!b@h QUIT :gone home",
              ":irc.test 401 alice_ nobody :No such nick/channel"]
    server = scripted_server(lambda conn: scripted_irc(conn, events))
    result = run([lab.program("chatc"), "-n", "alice", "127.0.0.1", str(server.port)],
                 timeout=10)
    server.check()
    expect_exit(result, 0, hint=CLIENT_HINT)
    expect_lines(result.stdout_text, [
        "-!- alice_ has joined #lab", "<bob> hi there", "*bob* a secret", "-bob- note this",
        "-!- carol has joined #lab", "-!- carol has parted #lab",
        "-!- bob is now known as robert", "-!- robert has quit (gone home)"],
        "what chatc printed", "The formats are in the handout, one line per message.")
    expect_stderr_line(result, "401", "nobody", "No such nick/channel",
                       what="an error numeric on stderr")


@pytest.mark.points(1)
@pytest.mark.milestone("client")
def test_chatc_failures(run, lab, start_server, scripted_server, tmp_path):
    """A refused connect and a server that closes first: a message and exit 1; a good session exits 0."""
    server = start_reference(start_server, lab)
    ok = run([lab.program("chatc"), "-n", "alice", "127.0.0.1", str(server.port)],
             stdin=b"/quit\n", timeout=10)
    expect_exit(ok, 0, "chatc against chatd, input /quit", CLIENT_HINT)
    closed = socket.socket()
    closed.bind(("127.0.0.1", 0))  # bound, never listening: every connect is refused
    port = closed.getsockname()[1]
    try:
        refused = run([lab.program("chatc"), "127.0.0.1", str(port)], timeout=10)
    finally:
        closed.close()
    expect_exit(refused, 1, "chatc to a port nobody listens on")
    expect_stderr_line(refused, f"connect 127.0.0.1 {port}", "refused",
                       what="the message of a refused connect",
                       hint="`chatc: connect HOST PORT: reason`, with strerror's reason.")

    def close_after_welcome(conn):
        lines_until(conn, lambda line: line.startswith("USER"), "USER")
        conn.send(b":irc.test 001 guest :Welcome\r\n")

    early = scripted_server(close_after_welcome)
    fifo = tmp_path / "stdin"
    os.mkfifo(fifo)
    holder = os.open(fifo, os.O_RDWR | os.O_NONBLOCK)  # a writer that never writes nor closes
    try:
        gone = run([lab.program("chatc"), "127.0.0.1", str(early.port)], stdin=fifo, timeout=10)
    finally:
        os.close(holder)
    early.check()
    expect_exit(gone, 1, "chatc when the server closes first (input still open)",
                "A read of 0 bytes from the server, before any /quit: say so and exit 1.")
    if not gone.stderr_text.strip():
        raise Mismatch("chatc when the server closes first", "a message on stderr", "nothing")


@pytest.mark.points(2)
@pytest.mark.milestone("client")
def test_chatc_first_address_silent(private_names, lab, scripted_server):
    """A first address that never answers costs -t seconds; the second one is used."""
    done = []
    server = scripted_server(lambda conn: scripted_irc(conn, [], retries=0, done=done),
                             host="127.0.0.1")
    # ::1 sorts before 127.0.0.1 (RFC 6724): the silent listener is the first address.
    silent = socket.socket(socket.AF_INET6)
    silent.bind(("::1", server.port))
    silent.listen(0)
    filler = socket.create_connection(("::1", server.port))  # the queue's one place
    try:
        runner = private_names({"chat.test": ["::1", "127.0.0.1"]})
        result = runner.run([lab.program("chatc"), "-t", "1", "-n", "alice", "chat.test",
                             str(server.port)], stdin=b"/quit\n", timeout=8)
    finally:
        filler.close()
        silent.close()
    server.check()
    expect_exit(result, 0, "chatc -t 1 to chat.test: ::1 (silent), then 127.0.0.1",
                "Connect without blocking: EINPROGRESS, select for writability with the -t "
                "deadline, SO_ERROR; on a timeout close that socket and try the next address.")
    if not done:
        raise Mismatch("the IRC server at 127.0.0.1 (the second address)",
                       "a whole session: NICK, USER, PONG, QUIT", "no session",
                       "Try the next address after the first times out.")


@pytest.mark.points(2)
@pytest.mark.milestone("client")
@pytest.mark.needs("test_chatc_chats_with_chatd")
def test_chatc_paste_of_one_mebibyte(run, lab, start_server, irc_client):
    """1 MiB of lines pasted at once: every line arrives, in order; chatc exits 0 at the end."""
    server = start_reference(start_server, lab, "-q", str(32 << 20))
    bob = registered(irc_client, server.port, "bob", "#paste")
    lines = [f"line {i:06d} " + "p" * 90 for i in range(10486)]
    result = run([lab.program("chatc"), "-n", "alice", "-j", "#paste", "127.0.0.1",
                  str(server.port)], stdin="".join(line + "\n" for line in lines).encode(),
                 timeout=30)
    expect_exit(result, 0, hint=CLIENT_HINT)
    for i, line in enumerate(lines):
        bob.expect("PRIVMSG", "#paste", line, seconds=10,
                   what=f"bob: pasted line {i + 1} of {len(lines)}",
                   hint="Queue what stdin gives and send the queue as the socket takes it; "
                        "a send may take only part of it.")


@pytest.mark.points(2)
@pytest.mark.milestone("client")
@pytest.mark.needs("test_chatc_chats_with_chatd")
def test_chatc_valgrind_clean(run, lab, start_server, irc_client):
    """Under Valgrind: a session with every command, to the end of input: clean."""
    server = start_reference(start_server, lab)
    bob = registered(irc_client, server.port, "bob", "#lab")
    result = run([lab.program("chatc"), "-n", "alice", "-j", "#lab", "127.0.0.1",
                  str(server.port)],
                 stdin=b"hi\n/msg bob x\n/nick alicia\n/join #b\n/part\n/bogus\n/raw PING :r\n",
                 timeout=20, valgrind=True)
    expect_exit(result, 0)
    expect_valgrind_clean(result, "valgrind, chatc to the end of its input")
    bob.expect("QUIT", seconds=20)


@pytest.mark.points(1)
@pytest.mark.milestone("client")
@pytest.mark.needs("test_chatc_chats_with_chatd")
def test_chatc_robust_io(lab, faults, start_server, irc_client):
    """Short reads and writes and EAGAIN on chatc's socket: every line still arrives whole, in order."""
    server = start_reference(start_server, lab)
    bob = registered(irc_client, server.port, "bob", "#lab")
    lines = [f"robust {i} " + "r" * (i * 7 % 300) for i in range(200)]
    runner = faults(kinds=("short", "eagain", "shortwrite"), rate=60)
    result = runner.run([lab.program("chatc"), "-n", "alice", "-j", "#lab", "127.0.0.1",
                         str(server.port)], stdin="".join(l + "\n" for l in lines).encode(),
                        timeout=20)
    expect_exit(result, 0, hint=CLIENT_HINT)
    for i, line in enumerate(lines):
        bob.expect("PRIVMSG", "#lab", line, what=f"bob: line {i + 1} of 200, sent under short "
                   "writes", hint="A send may take part of the queue: keep the rest for the "
                   "next writable turn; EAGAIN is not an error.")
