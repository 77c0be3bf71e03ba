"""Lab 05, part A: chatd, an IRC server in one select loop, against
scripted IRC clients (netgrader/irc.py), real IRC programs and ngircd.

Every client is a socket of this test on loopback. Replies come in order,
so a client's `sync()` (a PING and its PONG) proves that everything an
earlier command caused for that client has arrived: no test waits for a
line that should not come.
"""
import os
import resource
import signal
import socket

import pytest

from netgrader import hang, timing
from netgrader.expect import Mismatch, expect_valgrind_clean
from netgrader.irc import IrcClient
from netgrader.procs import Limits

PING_HINT = ("Answer `PING :x` with `PONG <server> :x` (any server name). Read whatever "
             "bytes are there, feed them to the client's line splitter, and handle every "
             "complete line: a read is not a line.")
REGISTER_HINT = ("Registration ends when both NICK and USER have come (in either order): "
                 "then 001, 002, 003, 004, 005 and 422, each `:server NNN nick ...`.")
QUEUE_HINT = ("Queue each line for its client and write the queue when select says the "
              "socket is writable; never block on one client.")


def start_chatd(start_server, lab, *args, limits=None, **kwargs):
    """chatd -p 0 [args], listening; SIGTERM and exit 0 checked at teardown."""
    return start_server([lab.program("chatd"), "-p", "0", *args],
                        limits=limits or Limits(cpu_seconds=60), **kwargs)


def registered(irc_client, port, nick, channel=None):
    """A client registered as nick (and in channel, up to its 366)."""
    client = irc_client(port, nick)
    client.register(nick)
    if channel:
        client.send(f"JOIN {channel}")
        client.expect("JOIN", channel, what=f"{nick}'s own JOIN of {channel}")
        client.expect("366", channel, what=f"{nick} joining {channel}: the end of NAMES (366)",
                      hint="A JOIN is answered with the JOIN line itself, then 353 and 366.")
    return client


def expect_none(messages, command, what, hint=""):
    """No message of this command among those a sync() returned."""
    bad = [str(m) for m in messages if m.command == command]
    if bad:
        raise Mismatch(what, f"no {command} line", " | ".join(bad[:3]), hint)


def raise_nofile(want: int) -> None:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < want:
        resource.setrlimit(resource.RLIMIT_NOFILE, (min(want, hard), hard))


# ---- M=select: one loop, lines, many clients -----------------------------------------------

@pytest.mark.points(2)
@pytest.mark.milestone("select")
def test_chatd_answers_ping(start_server, lab, irc_client):
    """PING :token gets PONG with that token, before and after other PINGs."""
    server = start_chatd(start_server, lab)
    client = irc_client(server.port)
    client.send("PING :hello")
    pong = client.expect("PONG", what="the answer to `PING :hello`", hint=PING_HINT)
    if pong.text != "hello":
        raise Mismatch("the answer to `PING :hello`", "PONG <server> :hello", str(pong), PING_HINT)
    client.sync()


@pytest.mark.points(2)
@pytest.mark.milestone("select")
@pytest.mark.needs("test_chatd_answers_ping")
def test_chatd_line_a_byte_at_a_time(start_server, lab, irc_client):
    """Lines that arrive a byte per segment are put together; so are lines of two clients at once."""
    server = start_chatd(start_server, lab)
    a, b = irc_client(server.port, "a"), irc_client(server.port, "b")
    for i in range(3):
        a.send(f"PING :slow{i}\r\n".encode()[:4])
        b.send(f"PING :other{i}\r\n", chunk=1)
        a.send(f"PING :slow{i}\r\n".encode()[4:], chunk=1)
        for client, token in ((a, f"slow{i}"), (b, f"other{i}")):
            pong = client.expect("PONG", what=f"{client.name}: the PONG to PING :{token}, sent "
                                 "a byte at a time", hint=PING_HINT)
            if pong.text != token:
                raise Mismatch(f"{client.name}: PONG to PING :{token}", f"PONG <server> :{token}",
                               str(pong), PING_HINT)


@pytest.mark.points(2)
@pytest.mark.milestone("select")
@pytest.mark.needs("test_chatd_answers_ping")
def test_chatd_many_lines_in_one_write(start_server, lab, irc_client):
    """Fifty PINGs in one write get fifty PONGs, in order; a bare LF ends a line too."""
    server = start_chatd(start_server, lab)
    client = irc_client(server.port)
    client.send(b"".join(f"PING :n{i}{'' if i % 2 else chr(13)}\n".encode() for i in range(50)))
    for i in range(50):
        pong = client.expect("PONG", what=f"PONG {i + 1} of 50 (all sent in one write)",
                             hint=PING_HINT)
        if pong.text != f"n{i}":
            raise Mismatch(f"PONG {i + 1} of 50", f"PONG <server> :n{i}", str(pong),
                           "Handle every complete line of a read, in order, and keep the rest.")


@pytest.mark.points(2)
@pytest.mark.milestone("select")
@pytest.mark.needs("test_chatd_answers_ping")
def test_chatd_two_hundred_clients(start_server, lab, irc_client):
    """200 clients connected at once each get their own PONG."""
    server = start_chatd(start_server, lab)
    clients = [irc_client(server.port, f"c{i}") for i in range(200)]
    for i, client in enumerate(clients):
        client.send(f"PING :c{i}")
    for i, client in enumerate(clients):
        pong = client.expect("PONG", what=f"client {i + 1} of 200: its PONG", hint=PING_HINT)
        if pong.text != f"c{i}":
            raise Mismatch(f"client {i + 1} of 200", f"PONG <server> :c{i}", str(pong), PING_HINT)


@pytest.mark.points(2)
@pytest.mark.milestone("select")
@pytest.mark.needs("test_chatd_answers_ping")
def test_chatd_one_thread_waiting_in_select(start_server, lab, irc_client):
    """One thread, waiting in select or pselect, with no epoll descriptor."""
    server = start_chatd(start_server, lab)
    clients = [irc_client(server.port, f"c{i}") for i in range(3)]
    for client in clients:
        client.sync()
    pid = server.pid
    threads = os.listdir(f"/proc/{pid}/task")
    if len(threads) != 1:
        raise Mismatch("the threads of chatd", "1 thread", f"{len(threads)} threads",
                       "One thread serves every client from one select loop: no pthread_create.")
    links = []
    for fd in os.listdir(f"/proc/{pid}/fd"):
        try:
            links.append(os.readlink(f"/proc/{pid}/fd/{fd}"))
        except OSError:
            pass
    if any("eventpoll" in link for link in links):
        raise Mismatch("chatd's descriptors", "sockets only (select needs no descriptor)",
                       "an epoll descriptor", "This lab is about select: no epoll.")
    waiting = set()

    def in_select():
        try:
            number = int(open(f"/proc/{pid}/syscall").read().split()[0])
        except (OSError, ValueError, IndexError):
            return False
        waiting.add(hang.syscall_name(number))
        return hang.syscall_name(number) in ("select", "pselect6")

    if not timing.wait_until(in_select, 5):
        raise Mismatch("the call chatd waits in while every client is quiet",
                       "select or pselect", ", ".join(sorted(waiting)) or "unknown",
                       "Wait for every socket at once in select(2) (or pselect); no poll, "
                       "epoll or blocking read on one socket.")


# ---- M=register --------------------------------------------------------------------------

@pytest.mark.points(4)
@pytest.mark.milestone("register")
@pytest.mark.needs("test_chatd_answers_ping")
def test_chatd_registration_welcome(start_server, lab, irc_client):
    """NICK then USER (and USER then NICK) give 001-005 and 422; 005 says CASEMAPPING=ascii."""
    server = start_chatd(start_server, lab)
    first = irc_client(server.port, "alice")
    welcome = first.register("alice")
    got = [m.command for m in welcome]
    want = ["001", "002", "003", "004", "005", "422"]
    if [c for c in got if c in want] != want or got[-1] != "422":
        raise Mismatch("the welcome after NICK alice and USER", " ".join(want),
                       " ".join(got), REGISTER_HINT)
    for m in welcome:
        if m.params[:1] != ["alice"]:
            raise Mismatch("the target of each welcome numeric", "alice (the new nick)",
                           str(m), "A numeric's first parameter is the client's nick.")
    tokens = [p for m in welcome if m.command == "005" for p in m.params[1:]]
    for token in ("CASEMAPPING=ascii", "CHANTYPES=#"):
        if token not in tokens:
            raise Mismatch("the 005 line", f"a token {token}", " ".join(tokens), REGISTER_HINT)
    for key in ("NICKLEN=", "CHANNELLEN="):
        if not any(t.startswith(key) for t in tokens):
            raise Mismatch("the 005 line", f"a token {key}N", " ".join(tokens), REGISTER_HINT)
    second = irc_client(server.port, "bob")
    second.send("USER bob 0 * :Bob")
    second.send("NICK bob")
    second.expect("001", what="USER first, then NICK: 001", hint=REGISTER_HINT)
    second.expect("422", hint=REGISTER_HINT)


@pytest.mark.points(3)
@pytest.mark.milestone("register")
@pytest.mark.needs("test_chatd_registration_welcome")
def test_chatd_nick_errors(start_server, lab, irc_client):
    """431 (no nick), 432 (bad nick), 433 (taken, in any case); then a free nick is taken."""
    server = start_chatd(start_server, lab)
    registered(irc_client, server.port, "alice")
    client = irc_client(server.port, "second")
    client.send("NICK")
    client.expect("431", what="NICK without a nickname: 431")
    for bad in ("1abc", "toolongnick", "a!b"):
        client.send(f"NICK {bad}")
        client.expect("432", bad, what=f"NICK {bad}: 432 (erroneous nickname)",
                      hint="A nick: 1-9 bytes, a letter or one of []\\`_^{|} first, then "
                           "letters, digits, '-' or those.")
    client.send("NICK ALICE")
    client.expect("433", "ALICE", what="NICK ALICE while alice is taken: 433",
                  hint="Nicks compare without regard to ASCII case (CASEMAPPING=ascii).")
    client.register("bob")


@pytest.mark.points(3)
@pytest.mark.milestone("register")
@pytest.mark.needs("test_chatd_registration_welcome")
def test_chatd_registration_errors(start_server, lab, irc_client):
    """451 before registration, 461 for a short USER, 462 for a second USER, 421 for an unknown command."""
    server = start_chatd(start_server, lab)
    client = irc_client(server.port)
    client.send("JOIN #lab")
    client.expect("451", what="JOIN before registering: 451",
                  hint="Until NICK and USER have come, other commands get 451.")
    client.send("USER bob")
    client.expect("461", "USER", what="USER with one parameter: 461")
    client.register("bob")
    client.send("USER bob 0 * :again")
    client.expect("462", what="USER after registration: 462")
    client.send("FROBNICATE now")
    client.expect("421", "FROBNICATE", what="an unknown command: 421 with the command")
    client.send("JOIN #lab")
    client.expect("JOIN", "#lab", what="JOIN after registering: accepted")


# ---- M=channels --------------------------------------------------------------------------

@pytest.mark.points(3)
@pytest.mark.milestone("channels")
@pytest.mark.needs("test_chatd_registration_welcome")
def test_chatd_join_and_names(start_server, lab, irc_client):
    """JOIN: the join line to every member, then 353 and 366; a comma list joins each."""
    server = start_chatd(start_server, lab)
    alice = registered(irc_client, server.port, "alice")
    alice.send("JOIN #lab")
    echo = alice.expect("JOIN", what="alice's own JOIN line")
    if echo.nick != "alice" or echo.params[:1] != ["#lab"]:
        raise Mismatch("alice's own JOIN", ":alice!user@host JOIN #lab", str(echo),
                       "Members, the joiner included, get `:nick!user@host JOIN #channel`.")
    names = alice.expect("353", what="353 after the JOIN")
    if "alice" not in names.text.replace("@", "").split():
        raise Mismatch("353 for #lab", "alice among the names", str(names))
    alice.expect("366", "#lab", what="366 ending the names")
    bob = registered(irc_client, server.port, "bob")
    bob.send("JOIN #LAB,#other")
    seen = alice.expect("JOIN", what="alice sees bob join #LAB",
                        hint="A JOIN goes to every member of the channel.")
    if seen.nick != "bob":
        raise Mismatch("the JOIN alice sees", "bob's", str(seen))
    names = bob.expect("353", what="353 for bob")
    got = set(names.text.replace("@", "").split())
    if got != {"alice", "bob"}:
        raise Mismatch("353 after bob joins #LAB (the same channel as #lab)", "alice bob",
                       names.text, "Channel names compare without regard to ASCII case.")
    bob.expect("366")
    bob.expect("JOIN", "#other", what="the second channel of `JOIN #LAB,#other`")
    bob.expect("366", "#other")
    expect_none(alice.sync(), "JOIN", "alice, not a member of #other",
                "A JOIN goes to the members of that channel only.")


@pytest.mark.points(3)
@pytest.mark.milestone("channels")
@pytest.mark.needs("test_chatd_join_and_names")
def test_chatd_privmsg_and_notice(start_server, lab, irc_client):
    """PRIVMSG and NOTICE reach the channel's other members and a nick, with the sender's prefix."""
    server = start_chatd(start_server, lab)
    alice = registered(irc_client, server.port, "alice", "#lab")
    bob = registered(irc_client, server.port, "bob", "#lab")
    carol = registered(irc_client, server.port, "carol", "#elsewhere")
    alice.send("PRIVMSG #lab :hello, world:  two spaces")
    m = bob.expect("PRIVMSG", what="bob: alice's message to #lab")
    if m.nick != "alice" or m.params != ["#lab", "hello, world:  two spaces"] or "@" not in m.prefix:
        raise Mismatch("the PRIVMSG bob got", ":alice!user@host PRIVMSG #lab :hello, world:  two "
                       "spaces", str(m), "Relay the text unchanged after the sender's prefix.")
    alice.send("PRIVMSG Bob :just you")
    m = bob.expect("PRIVMSG", "bob", what="bob: a private message (to Bob)")
    if m.text != "just you":
        raise Mismatch("the private PRIVMSG", ":alice!... PRIVMSG bob :just you", str(m))
    bob.send("NOTICE #lab :a notice")
    alice.expect("NOTICE", "#lab", "a notice", what="alice: bob's NOTICE to #lab")
    expect_none(alice.sync(), "PRIVMSG", "alice after her own message to #lab",
                "A channel message goes to the other members, not back to its sender.")
    expect_none(carol.sync(), "PRIVMSG", "carol, not a member of #lab")


@pytest.mark.points(3)
@pytest.mark.milestone("channels")
@pytest.mark.needs("test_chatd_join_and_names")
def test_chatd_message_errors(start_server, lab, irc_client):
    """401, 403, 404, 411, 412, 442, 461 where they belong; a good message still goes through."""
    server = start_chatd(start_server, lab)
    alice = registered(irc_client, server.port, "alice", "#lab")
    bob = registered(irc_client, server.port, "bob", "#other")
    cases = [("PRIVMSG nobody :hi", "401", ("nobody",)),
             ("PRIVMSG #nowhere :hi", "401", ("#nowhere",)),
             ("PRIVMSG #lab :not a member", "404", ("#lab",)),
             ("PRIVMSG", "411", ()),
             ("PRIVMSG alice", "412", ()),
             ("PRIVMSG alice :", "412", ()),
             ("JOIN nohash", "403", ("nohash",)),
             ("PART #nowhere", "403", ("#nowhere",)),
             ("PART #lab", "442", ("#lab",)),
             ("JOIN", "461", ("JOIN",))]
    for line, code, params in cases:
        bob.send(line)
        bob.expect(code, *params, what=f"`{line}`: {code}")
    expect_none(alice.sync(), "PRIVMSG", "alice, after bob's messages that failed")
    bob.send("PRIVMSG alice :this one is fine")
    alice.expect("PRIVMSG", "alice", "this one is fine", what="a message after the errors")
    alice.send("NOTICE nobody :no reply")
    expect_none(alice.sync(), "401", "a NOTICE to nobody", "A NOTICE never gets an error reply.")


@pytest.mark.points(3)
@pytest.mark.milestone("channels")
@pytest.mark.needs("test_chatd_join_and_names")
def test_chatd_part_nick_quit_broadcast(start_server, lab, irc_client):
    """PART, NICK and QUIT reach each client sharing a channel, once; QUIT ends with ERROR and a close."""
    server = start_chatd(start_server, lab)
    alice = registered(irc_client, server.port, "alice", "#a")
    alice.send("JOIN #b")
    alice.expect("JOIN", "#b", what="alice's own JOIN of #b")
    alice.expect("366", "#b")
    bob = registered(irc_client, server.port, "bob", "#a")
    bob.send("JOIN #b")
    bob.expect("JOIN", "#b", what="bob's own JOIN of #b")
    bob.expect("366", "#b")
    alice.sync()
    bob.send("PART #b :see you")
    part = alice.expect("PART", "#b", what="alice: bob parts #b")
    if part.nick != "bob":
        raise Mismatch("the PART alice got", ":bob!... PART #b :see you", str(part))
    bob.expect("PART", "#b", what="bob's own PART line")
    bob.send("JOIN #b")
    bob.expect("JOIN", "#b", what="bob's own JOIN of #b, again")
    bob.expect("366", "#b")
    alice.expect("JOIN", "#b", what="alice sees bob join #b again")
    bob.send("NICK robert")
    nick = bob.expect("NICK", "robert", what="bob's own NICK change")
    alice.expect("NICK", "robert", what="alice sees bob become robert")
    expect_none(alice.sync(), "NICK", "alice shares two channels with bob: one NICK line",
                "Each client that shares a channel gets a NICK (or QUIT) line once.")
    if nick.nick != "bob":
        raise Mismatch("the NICK line", ":bob!... NICK robert (the old nick in the prefix)",
                       str(nick))
    bob.send("QUIT :gone fishing")
    quit_ = alice.expect("QUIT", what="alice sees robert quit")
    if quit_.nick != "robert" or "gone fishing" not in quit_.text:
        raise Mismatch("the QUIT alice got", ":robert!... QUIT :gone fishing", str(quit_))
    rest = bob.read_to_close()
    if not any(m.command == "ERROR" for m in rest):
        raise Mismatch("what bob got after QUIT", "an ERROR line, then the close",
                       " | ".join(map(str, rest)) or "nothing", QUEUE_HINT)
    expect_none(alice.sync(), "QUIT", "alice after robert's quit: one QUIT line")


@pytest.mark.points(2)
@pytest.mark.milestone("channels")
@pytest.mark.needs("test_chatd_join_and_names")
def test_chatd_topic(start_server, lab, irc_client):
    """TOPIC: 331 without one; setting it reaches every member; 332 on query and on join."""
    server = start_chatd(start_server, lab)
    alice = registered(irc_client, server.port, "alice", "#lab")
    alice.send("TOPIC #lab")
    alice.expect("331", "#lab", what="TOPIC #lab without a topic: 331")
    bob = registered(irc_client, server.port, "bob", "#lab")
    alice.send("TOPIC #lab :select, then poll")
    bob.expect("TOPIC", "#lab", "select, then poll", what="bob sees the new topic")
    alice.expect("TOPIC", "#lab", "select, then poll", what="alice's own TOPIC line")
    bob.send("TOPIC #lab")
    bob.expect("332", "#lab", "select, then poll", what="TOPIC #lab: 332 with the topic")
    carol = registered(irc_client, server.port, "carol")
    carol.send("TOPIC #lab")
    carol.expect("442", "#lab", what="TOPIC of a channel carol is not on: 442")
    carol.send("JOIN #lab")
    carol.expect("332", "#lab", "select, then poll", what="joining a channel with a topic: 332")


@pytest.mark.points(2)
@pytest.mark.milestone("channels")
@pytest.mark.needs("test_chatd_privmsg_and_notice")
def test_chatd_broadcast_to_fifty(start_server, lab, irc_client):
    """A channel of 50: ten messages from each of two members reach the other 49, in order."""
    server = start_chatd(start_server, lab)
    members = [registered(irc_client, server.port, f"m{i}", "#big") for i in range(50)]
    for i in range(10):
        members[0].send(f"PRIVMSG #big :zero {i}")
        members[1].send(f"PRIVMSG #big :one {i}")
    for k, member in enumerate(members):
        for sender, word in ((0, "zero"), (1, "one")):
            if k == sender:
                continue
            for i in range(10):
                m = member.expect("PRIVMSG", "#big", f"{word} {i}",
                                  what=f"m{k}: message {i + 1} of m{sender}", hint=QUEUE_HINT)
                if m.nick != f"m{sender}":
                    raise Mismatch(f"m{k}: the sender of `{word} {i}`", f"m{sender}", str(m))


@pytest.mark.points(2)
@pytest.mark.milestone("channels")
@pytest.mark.needs("test_chatd_part_nick_quit_broadcast")
def test_chatd_same_session_as_ngircd(start_server, lab, irc_client, ngircd_server):
    """A scripted session gives the same numerics and relayed lines as ngircd's (server names aside)."""
    ours = start_chatd(start_server, lab)
    theirs = ngircd_server()
    script = [("a", "JOIN #Lab"), ("b", "JOIN #lab"), ("a", "PRIVMSG #lab :hi all"),
              ("b", "PRIVMSG a :psst"), ("a", "NOTICE b :n"), ("b", "PRIVMSG ghost :x"),
              ("b", "PART #nowhere"), ("a", "TOPIC #lab"), ("a", "TOPIC #lab :t1"),
              ("b", "TOPIC #lab"), ("b", "NICK a"), ("b", "NICK bee"), ("a", "PART #lab :bye"),
              ("a", "PART #lab"), ("a", "JOIN #lab,bad"), ("bee", "QUIT :done"),
              ("a", "FROB"), ("a", "PRIVMSG"), ("a", "PRIVMSG a")]
    transcripts = {}
    for server_name, port in (("chatd", ours.port), ("ngircd", theirs.port)):
        clients = {"a": registered(irc_client, port, "a"), "b": registered(irc_client, port, "b")}
        clients["bee"] = clients["b"]
        live = ["a", "b"]
        lines = []
        for who, line in script:
            clients[who].send(line)
            if line.startswith("QUIT"):
                live.remove("b")
                clients["b"].read_to_close()
            # The sender's PONG first: then the server has handled its line, and
            # whatever it sent the others is queued before their PONGs.
            order = ([who] if who in live else []) + [n for n in live if n != who]
            got = {name: clients[name].sync() for name in order}
            for name in live:
                lines += [f"{name} <- {normalise(m)}" for m in got[name]
                          if normalise(m) is not None]
        transcripts[server_name] = lines
    if transcripts["chatd"] != transcripts["ngircd"]:
        first = next((i for i, (x, y) in enumerate(zip(transcripts["chatd"],
                                                       transcripts["ngircd"])) if x != y),
                     min(len(transcripts["chatd"]), len(transcripts["ngircd"])))
        raise Mismatch("the same session against chatd and against ngircd (a real IRC server)",
                       f"line {first + 1}: "
                       + (transcripts["ngircd"][first] if first < len(transcripts["ngircd"])
                          else "no more lines"),
                       (transcripts["chatd"][first] if first < len(transcripts["chatd"])
                        else "no more lines"),
                       "The handout's commands and numerics are real IRC: compare with ngircd "
                       "(`ngircd -n -f FILE`, see the handout).",
                       detail="chatd:\n  " + "\n  ".join(transcripts["chatd"])
                       + "\nngircd:\n  " + "\n  ".join(transcripts["ngircd"]))


COMPARED = {"JOIN", "PART", "PRIVMSG", "NOTICE", "NICK", "QUIT", "TOPIC", "401", "403", "411",
            "412", "421", "331", "332", "353", "366", "433", "442", "461"}


def normalise(m):
    """What the handout fixes about a line: the command, the sender's nick
    and the parameters but the numerics' text; None for a line outside it."""
    if m.command not in COMPARED:
        return None
    params = [p.lower() for p in m.params]
    if m.command.isdigit():
        params = params[1:-1] if m.command not in ("353",) else params[1:]
        if m.command == "353":
            params = params[:-1] + [" ".join(sorted(n.lstrip("@+") for n in params[-1].split()))]
    elif m.command == "PART" and len(params) == 2 and params[1] in ("", m.nick.lower()):
        params = params[:1]  # ngircd adds an empty reason
    elif m.command == "QUIT":
        params = []  # ngircd quotes the reason
    sender = m.nick if m.prefix and "!" in m.prefix else "server"
    return f"{sender} {m.command} {' '.join(params)}".strip()


# ---- M=queues ----------------------------------------------------------------------------

@pytest.mark.points(2)
@pytest.mark.milestone("queues")
@pytest.mark.needs("test_chatd_registration_welcome")
def test_chatd_overlong_line(start_server, lab, irc_client):
    """A line over 512 bytes gets 417 and is dropped to its end; the connection stays usable."""
    server = start_chatd(start_server, lab)
    alice = registered(irc_client, server.port, "alice", "#lab")
    bob = registered(irc_client, server.port, "bob", "#lab")
    exact = "PRIVMSG #lab :" + "x" * (510 - len("PRIVMSG #lab :"))
    bob.send(exact)
    got = alice.expect("PRIVMSG", "#lab", what="a message of exactly 512 bytes with CRLF")
    if len(got.text) < 400 or got.text.strip("x"):
        raise Mismatch("the 512-byte message as alice got it", "its text (cut to fit alice's "
                       "512-byte line at most)", str(got)[:80])
    expect_none(bob.sync(), "417", "a line of exactly 512 bytes with its CRLF",
                "The limit is 512 bytes with the CRLF: 510 bytes of text are allowed.")
    bob.send("PRIVMSG #lab :" + "y" * 600 + " NICK evil", chunk=100)
    bob.expect("417", what="a 614-byte line: 417",
               hint="Keep at most 512 bytes of a line; past that, drop bytes up to the next LF "
                    "and answer 417 once.")
    bob.send("PRIVMSG #lab :after")
    alice.expect("PRIVMSG", "#lab", "after", what="the message after the overlong line")
    before = alice.sync()
    if any("y" * 20 in str(m) for m in before):
        raise Mismatch("alice", "no part of the overlong line", " | ".join(map(str, before)))
    expect_none(bob.sync(), "NICK", "bob's nick: the tail of the overlong line is not a command")


@pytest.mark.points(4)
@pytest.mark.milestone("queues")
@pytest.mark.needs("test_chatd_privmsg_and_notice")
def test_chatd_slow_reader_is_dropped(start_server, lab, irc_client):
    """A member that never reads is dropped for SendQ; the others get every message; memory stays bounded."""
    server = start_chatd(start_server, lab, "-q", "65536")
    slow = irc_client(server.port, "slow", rcvbuf=4096)
    slow.register("slow")
    slow.send("JOIN #flood")
    slow.expect("366")
    alice = registered(irc_client, server.port, "alice", "#flood")
    bob = registered(irc_client, server.port, "bob", "#flood")
    text = "z" * 400
    count, batch = 0, 200
    dropped = False
    deadline = timing.Deadline(20)
    while not dropped and count < 40000 and not deadline.expired():
        bob.send("".join(f"PRIVMSG #flood :{count + i} {text}\r\n" for i in range(batch)))
        for i in range(batch):
            alice.expect("PRIVMSG", "#flood", what=f"alice: message {count + i + 1} while slow "
                         "does not read", hint=QUEUE_HINT)
        count += batch
        for m in alice.sync():
            if m.command == "QUIT" and m.nick == "slow":
                dropped = True
    if not dropped:
        raise Mismatch("a member that never reads", "it is dropped once its queue passes SENDQ "
                       "(64 KiB): the others see it QUIT",
                       f"still a member after {count} messages of 400 bytes",
                       "Count each client's queued bytes; past SENDQ drop the client "
                       "(ERROR :Closing Link: ... (SendQ exceeded)).")
    rss = int(next(line.split()[1] for line in open(f"/proc/{server.pid}/status")
                   if line.startswith("VmRSS:")))
    if rss > 64 * 1024:
        raise Mismatch("chatd's memory after the flood", "at most 64 MiB resident",
                       f"{rss // 1024} MiB", "A queue never grows past SENDQ.")
    bob.send("PRIVMSG #flood :still here")
    alice.expect("PRIVMSG", "#flood", "still here", what="a message after the drop")


@pytest.mark.points(2)
@pytest.mark.milestone("queues")
@pytest.mark.needs("test_chatd_answers_ping")
def test_chatd_server_full(start_server, lab, irc_client):
    """Beyond -m clients: ERROR :Server full and a close; the others keep working; a freed place is taken."""
    server = start_chatd(start_server, lab, "-m", "3")
    clients = [irc_client(server.port, f"c{i}") for i in range(3)]
    for client in clients:
        client.sync()
    extra = irc_client(server.port, "fourth")
    rest = extra.read_to_close()
    if [m.line for m in rest] != ["ERROR :Server full"]:
        raise Mismatch("the fourth client with -m 3", "ERROR :Server full, then the close",
                       " | ".join(m.line for m in rest) or "a close without a line",
                       "Accept it, send the one line, close it.")
    for client in clients:
        client.sync()
    held = server.open_fds()
    clients[0].close()
    if not timing.wait_until(lambda: server.open_fds() < held, 5):
        raise Mismatch("a client of three closes", "chatd closes its socket too",
                       f"still {server.open_fds()} descriptors open",
                       "A read of 0 bytes is the client's close: close its socket, free its place.")
    irc_client(server.port, "late").sync()


@pytest.mark.points(3)
@pytest.mark.milestone("queues")
@pytest.mark.needs("test_chatd_privmsg_and_notice")
def test_chatd_robust_io(lab, faults, irc_client):
    """Short reads and writes, EAGAIN and EINTR everywhere: a whole session still comes out right."""
    runner = faults(kinds=("short", "eagain", "eintr", "shortwrite"), rate=60)
    server = runner.start_server([lab.program("chatd"), "-p", "0"], limits=Limits(cpu_seconds=60))
    alice = registered(irc_client, server.port, "alice", "#lab")
    bob = registered(irc_client, server.port, "bob", "#lab")
    for i in range(30):
        alice.send(f"PRIVMSG #lab :message {i} " + "m" * (i * 13))
        bob.send(f"PRIVMSG alice :private {i}")
    for i in range(30):
        bob.expect("PRIVMSG", "#lab", f"message {i} " + "m" * (i * 13),
                   what=f"bob: message {i + 1} of 30 under short writes", hint=QUEUE_HINT)
    for i in range(30):
        alice.expect("PRIVMSG", "alice", f"private {i}", what=f"alice: private {i + 1} of 30")
    server.stop()


# ---- M=signals ---------------------------------------------------------------------------

@pytest.mark.points(3)
@pytest.mark.milestone("signals")
@pytest.mark.needs("test_chatd_registration_welcome")
def test_chatd_idle_ping_and_timeouts(start_server, lab, irc_client):
    """-t 1: an idle client gets PING and stays by answering; silence after the PING, or no registration, ends in ERROR and a close."""
    server = start_chatd(start_server, lab, "-t", "1")
    lively = registered(irc_client, server.port, "lively", "#t")
    silent = registered(irc_client, server.port, "silent", "#t")
    stranger = irc_client(server.port, "unregistered")
    ping = lively.expect("PING", seconds=5, what="an idle client after -t 1 seconds: PING",
                         hint="Compute select's timeout from the nearest deadline, every turn.")
    lively.send(f"PONG :{ping.text}")
    rest = silent.read_to_close(seconds=8)
    errors = [m for m in rest if m.command == "ERROR"]
    if not errors or "ping timeout" not in errors[0].text.lower():
        raise Mismatch("a client that never answers the PING", "ERROR :... (Ping timeout), "
                       "then the close", " | ".join(map(str, rest)) or "a bare close")
    lively.expect("QUIT", what="lively sees silent quit (Ping timeout)")
    unregistered = stranger.read_to_close(seconds=8)
    if not any(m.command == "ERROR" for m in unregistered):
        raise Mismatch("a connection that never registers", "an ERROR line, then the close",
                       " | ".join(map(str, unregistered)) or "a bare close")
    lively.sync()  # still connected


@pytest.mark.points(3)
@pytest.mark.milestone("signals")
@pytest.mark.needs("test_chatd_registration_welcome")
def test_chatd_sigterm_tells_everyone(start_server, lab, irc_client):
    """SIGTERM: every client gets ERROR :Server shutting down and a close; exit 0."""
    server = start_chatd(start_server, lab)
    clients = [registered(irc_client, server.port, f"c{i}", "#x") for i in range(5)]
    half = irc_client(server.port, "halfway")
    half.send(b"PRIVMSG #x :no line end yet")
    for c in clients:
        c.sync()
    os.kill(server.pid, signal.SIGTERM)
    for c in clients + [half]:
        rest = c.read_to_close(seconds=5)
        if not any(m.line == "ERROR :Server shutting down" for m in rest):
            raise Mismatch(f"{c.name} after SIGTERM", "ERROR :Server shutting down, then the "
                           "close", " | ".join(map(str, rest)) or "a bare close",
                           "On SIGTERM queue the line for every client, let the queues drain "
                           "(2 s at most), then exit 0.")
    server.stop()


@pytest.mark.points(4)
@pytest.mark.milestone("signals")
@pytest.mark.needs("test_chatd_part_nick_quit_broadcast")
def test_chatd_valgrind_clean(start_server, lab, irc_client):
    """Under Valgrind: channels, quits, errors, an overlong line, a reset, then SIGTERM: clean."""
    server = start_chatd(start_server, lab, valgrind=True)
    a = registered(irc_client, server.port, "alice", "#one")
    b = registered(irc_client, server.port, "bob", "#one")
    b.send("JOIN #two,#three")
    b.send("TOPIC #two :a topic")
    a.send("PRIVMSG #one :hi")
    a.send("PRIVMSG " + "x" * 700)
    a.send("NICK alicia")
    b.expect("NICK", "alicia", seconds=20)
    c = registered(irc_client, server.port, "carol", "#one")
    c.send("QUIT :bye")
    c.read_to_close(seconds=20)
    d = irc_client(server.port, "reset")
    d.send(b"NICK dave\r\nUSER d 0 * :d\r\nJOIN #one\r\n")
    d.expect("366", seconds=20)
    d.sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
    d.close()
    a.expect("QUIT", seconds=20, what="dave's reset seen as a QUIT")
    b.sync(seconds=20)
    server.stop(timeout=30)
    expect_valgrind_clean(server, "valgrind after SIGTERM with clients connected")
