"""Lab 07, hidden tests of the service: the scoreboard's limit (10,000
players), its order and replacement rules at the corners, a host name,
deadlines call by call, a half-close and descriptors over many
connections, a relative Unix path, sbctl's field syntax and replies no
correct server sends."""
import os
import socket
from pathlib import Path

import pytest

from netgrader import rpc, sbrpc, timing
from netgrader.expect import Mismatch, expect_exit, expect_stderr_line
from netgrader.procs import Limits
from netgrader.sbrpc import DEADLINE_EXCEEDED, OK, RESOURCE_EXHAUSTED, call_bytes

PROTO = Path(__file__).resolve().parents[3] / "labs" / "07-rpc" / "scoreboard.proto"


def start_sbd(start_server, lab, address="tcp:127.0.0.1:0", **kwargs):
    if address.startswith("unix:"):
        kwargs["unix_path"] = address[5:]
    return start_server([lab.program("sbd"), "-l", address],
                        limits=Limits(cpu_seconds=60, open_files=2048), **kwargs)


def expect_status(reply, status, what, call_id=None):
    if reply.status != status or (call_id is not None and reply.id != call_id):
        raise Mismatch(what, sbrpc.status_name(status) + ("" if call_id is None else
                                                          f", id {call_id}"),
                       sbrpc.describe_reply(reply))


def expect_msg(got, want, what, hint=""):
    if got != want:
        raise Mismatch(what, str(want).strip().replace("\n", "; ") or "(an empty message)",
                       str(got).strip().replace("\n", "; ") or "(an empty message)", hint)


@pytest.mark.points(2)
@pytest.mark.milestone("server")
@pytest.mark.needs("test_sbd_submit_get_remove")
def test_hidden_scoreboard_full(start_server, lab, sb_client):
    """10,000 players are kept; a new 10,001st gets RESOURCE_EXHAUSTED; a known one still updates; after a Remove a new one fits."""
    server = start_sbd(start_server, lab)
    c = sb_client(server.port)
    pb = c.pb
    for batch in range(20):
        ids = [c.send_call("Submit", pb.Score(player=f"p{batch * 500 + i:05d}", points=i))
               for i in range(500)]
        bad = [r for r in c.replies(ids, f"Submits {batch * 500 + 1} to {batch * 500 + 500}",
                                    timeout=20).values() if r.status != OK]
        if bad:
            raise Mismatch(f"Submits of players {batch * 500 + 1} to {batch * 500 + 500}",
                           "OK for each (at most 10,000 players)", sbrpc.describe_reply(bad[0]))
    expect_status(c.call("Submit", pb.Score(player="newcomer", points=1)), RESOURCE_EXHAUSTED,
                  "Submit of a new player when 10,000 are kept")
    reply = c.call("Submit", pb.Score(player="p00007", points=1000))
    expect_msg(c.payload(reply, "Submit"), pb.Rank(rank=1, total=10000),
               "Submit of a known player with more points on a full scoreboard")
    expect_status(c.call("Remove", pb.Player(name="p00008")), OK, "Remove p00008")
    reply = c.call("Submit", pb.Score(player="newcomer", points=1))
    expect_status(reply, OK, "Submit of a new player after a Remove")
    expect_status(c.call("Get", pb.Player(name="newcomer")), OK, "Get newcomer")


@pytest.mark.points(2)
@pytest.mark.milestone("server")
@pytest.mark.needs("test_sbd_top")
def test_hidden_order_and_replacement_corners(start_server, lab, sb_client):
    """Equal points keep the first Score; more replace it whole; names past ASCII sort bytewise; an empty level is total 0."""
    server = start_sbd(start_server, lab)
    c = sb_client(server.port)
    pb = c.pb
    c.call("Submit", pb.Score(player="same", points=5, proof=b"first", level=pb.HARD))
    c.call("Submit", pb.Score(player="same", points=5, proof=b"second"))
    expect_msg(c.payload(c.call("Get", pb.Player(name="same")), "Get"),
               pb.Score(player="same", points=5, proof=b"first", level=pb.HARD),
               "Get after a Submit with equal points (the first is kept)")
    c.call("Submit", pb.Score(player="same", points=6, laps=[1]))
    expect_msg(c.payload(c.call("Get", pb.Player(name="same")), "Get"),
               pb.Score(player="same", points=6, laps=[1]),
               "Get after a Submit with more points (the whole Score is replaced)")
    for name in ("\u00e9mile", "zoe", "Zoe", "z", "-1"):
        c.call("Submit", pb.Score(player=name, points=-3))
    got = c.payload(c.call("Top", pb.TopRequest(count=10)), "Top")
    names = [s.player for s in got.scores]
    want = ["same"] + sorted(["\u00e9mile", "zoe", "Zoe", "z", "-1"], key=lambda n: n.encode())
    expect_msg(names, want, "the players' order in Top (points -3 for all but same)")
    reply = c.call("Top", pb.TopRequest(count=3, level=pb.EASY))
    expect_msg(c.payload(reply, "Top"), pb.Ranking(), "Top of a level nobody has")


@pytest.mark.points(1)
@pytest.mark.milestone("server")
@pytest.mark.needs("test_sbd_usage_and_addresses")
def test_hidden_host_names(private_names, run, lab, sb_client):
    """tcp:db.test:0 with db.test -> 127.0.0.1 serves; tcp:nowhere.test:0 (no such name) is a runtime error, exit 1."""
    names = private_names({"db.test": ["127.0.0.1"]})
    server = names.start_server([lab.program("sbd"), "-l", "tcp:db.test:0"],
                                limits=Limits(cpu_seconds=60))
    c = sb_client(server.port)
    expect_status(c.call("Wait", c.pb.WaitRequest(ms=1)), OK, "Wait on sbd -l tcp:db.test:0")
    server.stop()
    result = names.run([lab.program("sbd"), "-l", "tcp:nowhere.test:0"], timeout=10)
    expect_exit(result, 1, what="sbd -l tcp:nowhere.test:0 (a name that does not resolve)",
                hint="A well-formed address whose host does not resolve is a runtime error "
                     "(`sbd: ...: why`, exit 1), not a usage error.")
    expect_stderr_line(result, "sbd", what="sbd's message for a name that does not resolve")


@pytest.mark.points(1)
@pytest.mark.milestone("server")
@pytest.mark.needs("test_sbd_deadlines")
def test_hidden_deadlines_call_by_call(start_server, lab, sb_client):
    """Ten Waits of 300 ms in one write, deadlines 50 ms and 5 s alternating: DEADLINE_EXCEEDED for the first kind only."""
    server = start_sbd(start_server, lab)
    c = sb_client(server.port)
    pb = c.pb
    deadlines = {i: (50 if i % 2 else 5000) for i in range(1, 11)}
    c.send(b"".join(call_bytes(pb, "Wait", pb.WaitRequest(ms=300), i, d)
                    for i, d in deadlines.items()))
    got = c.replies(list(deadlines), "ten Waits with deadlines", timeout=5)
    for i, reply in got.items():
        expect_status(reply, DEADLINE_EXCEEDED if deadlines[i] == 50 else OK,
                      f"Wait 300 ms with a deadline of {deadlines[i]} ms (id {i})", i)
    expect_status(c.call("Wait", pb.WaitRequest(ms=350)), OK, "a Wait after them")
    if c.pending:
        raise Mismatch("replies after the ten", "none", sbrpc.describe_reply(
            next(iter(c.pending.values()))), "One reply per call: drop a late result.")


@pytest.mark.points(1)
@pytest.mark.milestone("server")
@pytest.mark.needs("test_sbd_submit_get_remove")
def test_hidden_half_close_and_descriptors(start_server, lab, sb_client):
    """A client that half-closes after its calls still gets their replies; after 300 connections come and go sbd holds as many descriptors as before."""
    server = start_sbd(start_server, lab)
    keep = sb_client(server.port, "keep")
    pb = keep.pb
    keep.call("Wait", pb.WaitRequest(ms=1))
    before = server.open_fds()
    half = sb_client(server.port, "half")
    ids = [half.send_call("Wait", pb.WaitRequest(ms=50)),
           half.send_call("Submit", pb.Score(player="half", points=1))]
    half.sock.shutdown(socket.SHUT_WR)
    for call_id, reply in half.replies(ids, "the replies to calls sent before a half-close").items():
        expect_status(reply, OK, f"call {call_id} sent before shutdown(SHUT_WR)", call_id)
    if not half.closed():
        raise Mismatch("the half-closed connection once its calls are answered", "closed",
                       "still open", "At the end of a client's stream, answer the calls in "
                       "flight, then close.")
    for i in range(300):
        c = sbrpc.SbClient(pb, server.port, name=f"c{i}")
        if i % 3 == 0:
            c.send(call_bytes(pb, "Get", pb.Player(name="x"), 1)[:4])
        elif i % 3 == 1:
            c.send_call("Wait", pb.WaitRequest(ms=200))
        else:
            c.call("Submit", pb.Score(player=f"c{i}", points=i))
        c.close()
    expect_status(keep.call("Wait", pb.WaitRequest(ms=1)), OK, "Wait after 300 connections")
    if not timing.wait_until(lambda: server.open_fds() <= before, 10):
        raise Mismatch("sbd's descriptors once 300 connections closed (their Waits of 200 ms "
                       "done)", f"{before} (as before)", str(server.open_fds()),
                       "Close a connection's socket when its client has gone and nothing is "
                       "left to send, and cancel its timers.")


@pytest.mark.points(1)
@pytest.mark.milestone("unix")
@pytest.mark.needs("test_sbd_unix_socket")
def test_hidden_unix_relative_path(start_server, lab, sb_client, tmp_path):
    """sbd -l unix:sb.sock (relative to its directory): `listening on sb.sock`, served, removed at exit."""
    server = start_sbd(start_server, lab, "unix:sb.sock")
    where = Path(server.cwd) / "sb.sock"
    c = sb_client(str(where))
    expect_status(c.call("Submit", c.pb.Score(player="rel", points=1)), OK,
                  "Submit over unix:sb.sock")
    server.stop()
    if os.path.lexists(where):
        raise Mismatch("sb.sock after SIGTERM", "removed", "still there")


@pytest.mark.points(1)
@pytest.mark.milestone("client")
@pytest.mark.needs("test_sbctl_every_method")
def test_hidden_sbctl_field_syntax(start_server, run, lab, sb_client):
    """Enums by number, false, the int64 minimum, 1e300, an empty bytes value, a UTF-8 name: printed as protoc prints them."""
    server = start_server([lab.reference("sbd"), "-l", "tcp:127.0.0.1:0"],
                          limits=Limits(cpu_seconds=60))
    address = f"tcp:127.0.0.1:{server.port}"
    c = sb_client(server.port)
    pb = c.pb
    result = run([lab.program("sbctl"), address, "Submit", "player=\u00e9l\u00e8ve", "level=1",
                  "verified=false", "points=-9223372036854775808", "accuracy=1e300", "proof=",
                  "laps=4294967295", "laps=0", "when=0"])
    expect_exit(result, 0, what="sbctl Submit with every kind of value")
    reply = c.call("Get", pb.Player(name="\u00e9l\u00e8ve"))
    want = pb.Score(player="\u00e9l\u00e8ve", level=pb.EASY, points=-2**63, accuracy=1e300,
                    laps=[4294967295, 0])
    expect_msg(c.payload(reply, "Get"), want, "the Score sbctl submitted, read back")
    for args, message, raw in (
            (["Get", "name=\u00e9l\u00e8ve"], "Score", reply.payload),
            (["Top", "level=EASY", "count=0"], "Ranking",
             c.call("Top", pb.TopRequest(level=pb.EASY)).payload)):
        result = run([lab.program("sbctl"), address, *args])
        expect_exit(result, 0, what=f"sbctl {' '.join(args)}")
        want_text = rpc.protoc_decode(PROTO, f"scoreboard.{message}", raw)
        if result.stdout_text != want_text:
            raise Mismatch(f"sbctl {' '.join(args)}: what it printed", repr(want_text),
                           repr(result.stdout_text))


@pytest.mark.points(2)
@pytest.mark.milestone("client")
@pytest.mark.needs("test_sbctl_every_method")
def test_hidden_sbctl_bad_replies(scripted_server, run, lab):
    """A reply with flags 1, a frame too large, a Reply cut by a close, no reply at all: `sbctl: ...`, exit 1; a good reply: exit 0."""
    pb = sbrpc.messages(PROTO)
    good = sbrpc.reply_bytes(pb, 1, OK, payload=pb.Score(player="ok"))
    cases = [("a good reply", lambda call: sbrpc.reply_bytes(pb, call.id, OK,
                                                             payload=pb.Score(player="ok")), 0),
             ("a reply frame with flags 1", lambda call: b"\x01" + good[1:], 1),
             ("a reply frame of length 70,000", lambda call: b"\x00\x00\x01\x11\x70" + b"x" * 64, 1),
             ("5 bytes of a 20-byte reply, then a close",
              lambda call: b"\x00\x00\x00\x00\x14\x08\x01\x10\x05\x1a", 1),
             ("a close without a reply", lambda call: b"", 1),
             ("bytes that are not a Reply", lambda call: sbrpc.frame(b"\x08\x01\x12\xff"), 1)]
    for what, answer, code in cases:
        def handler(conn, answer=answer):
            call = sbrpc.read_call(conn, pb)
            data = answer(call)
            if data:
                conn.send(data)
        peer = scripted_server(handler)
        result = run([lab.program("sbctl"), f"tcp:127.0.0.1:{peer.port}", "Get", "name=ok"],
                     timeout=5, label=f"sbctl, {what}")
        expect_exit(result, code, what=f"sbctl Get from a server that sends {what}",
                    hint="Anything but a valid frame holding a Reply is UNAVAILABLE: "
                         "`sbctl: ...` on stderr, exit 1.")
        if code:
            expect_stderr_line(result, "sbctl", what=f"sbctl's message after {what}")
