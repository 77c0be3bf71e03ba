"""Lab 07, the service: sbd, the scoreboard server, against the course's
reference client in Python (netgrader/sbrpc.py: Python's protobuf from
the same scoreboard.proto, the lab's framing, exact bytes when a test
needs them).

Every client is a socket of this test, on loopback or a Unix-domain
socket. Replies may come in any order: the client matches them by id, and
a test that needs to know that everything before was handled waits for
the reply to a later call that cannot be ready sooner.
"""
import os
import signal
import socket

import pytest

from netgrader import hang, sbrpc, timing
from netgrader.expect import Mismatch, expect_exit, expect_stderr_line, expect_valgrind_clean
from netgrader.procs import Limits
from netgrader.sbrpc import (DEADLINE_EXCEEDED, INVALID_ARGUMENT, NOT_FOUND, OK,
                             RESOURCE_EXHAUSTED, UNIMPLEMENTED, call_bytes, frame, status_name)

FRAME_HINT = ("Read whatever bytes are there into the connection's input buffer and handle "
              "every complete frame in it (5-byte header, then the length it gives); keep the "
              "rest for the next read. One read is not one frame.")
ORDER_HINT = ("Send each reply when its result is ready (a Wait when its timer fires), "
              "tagged with the call's id: the client matches replies by id, not by order.")
QUEUE_HINT = ("Queue replies in the connection's output buffer and write them when the socket "
              "is writable; never block on one client's socket.")


def start_sbd(start_server, lab, address="tcp:127.0.0.1:0", **kwargs):
    """sbd -l ADDRESS, listening (its line read); SIGTERM and exit 0 checked at teardown."""
    if address.startswith("unix:"):
        kwargs["unix_path"] = address[5:]
    return start_server([lab.program("sbd"), "-l", address],
                        limits=Limits(cpu_seconds=60, open_files=2048), **kwargs)


def expect_ok(reply, what, hint=""):
    """An OK reply, with an empty message."""
    if reply.status != OK or reply.message:
        raise Mismatch(what, "status OK with an empty message", sbrpc.describe_reply(reply),
                       hint or "Check the request's rules in the handout's table of methods.")


def expect_status(reply, status, what, call_id=None, hint=""):
    """A reply with this status (and id, when given) and a non-empty message."""
    want = f"{status_name(status)} ({status})" + ("" if call_id is None else f", id {call_id}")
    if reply.status != status or (call_id is not None and reply.id != call_id):
        raise Mismatch(what, want, sbrpc.describe_reply(reply), hint)
    if not reply.message:
        raise Mismatch(what, f"{want} with a message saying why", "an empty message",
                       "A non-OK reply says why in its message (the handout gives the texts).")


def expect_msg(got, want, what, hint=""):
    if got != want:
        raise Mismatch(what, str(want).strip().replace("\n", "; ") or "(an empty message)",
                       str(got).strip().replace("\n", "; ") or "(an empty message)", hint)


def score(pb, player, points, level=0, **fields):
    return pb.Score(player=player, points=points, level=level, **fields)


# ---- M=server: the methods over TCP -------------------------------------------------------------

@pytest.mark.points(2)
@pytest.mark.milestone("server")
def test_sbd_submit_get_remove(start_server, lab, sb_client):
    """Submit gives each player's rank, Get returns the kept Score whole, Remove deletes; NOT_FOUND after."""
    server = start_sbd(start_server, lab)
    c = sb_client(server.port)
    pb = c.pb
    ada = score(pb, "ada", 5, pb.HARD, verified=True, proof=b"\x00\xff\n", laps=[3, 1, 4],
                when=2**64 - 1, accuracy=0.25)
    steps = [(ada, 1, 1), (score(pb, "bob", 9), 1, 2), (score(pb, "ada", 3), 2, 2),
             (score(pb, "cy", -4), 3, 3), (score(pb, "ada", 9, pb.EASY), 1, 3)]
    for request, rank, total in steps:
        reply = c.call("Submit", request, what=f"Submit {request.player} {request.points}")
        expect_ok(reply, f"Submit {request.player} {request.points}")
        expect_msg(c.payload(reply, "Submit"), pb.Rank(rank=rank, total=total),
                   f"the Rank after Submit {request.player} {request.points}",
                   "A player keeps its first Score until one with strictly more points comes; "
                   "rank = 1-based place in points descending, then name ascending.")
    reply = c.call("Submit", score(pb, "bob", 9, pb.HARD, proof=b"equal"))
    expect_msg(c.payload(reply, "Submit"), pb.Rank(rank=2, total=3), "Submit bob 9 again")
    reply = c.call("Get", pb.Player(name="bob"))
    expect_ok(reply, "Get bob")
    expect_msg(c.payload(reply, "Get"), score(pb, "bob", 9),
               "Get bob after a second Submit with equal points (the first is kept)",
               "Only strictly more points replace a kept Score.")
    reply = c.call("Get", pb.Player(name="ada"))
    expect_ok(reply, "Get ada")
    expect_msg(c.payload(reply, "Get"), score(pb, "ada", 9, pb.EASY),
               "Get ada after Submits of 5 (every field set), 3, then 9 (level EASY)",
               "The later Score with more points replaces the whole Score, every field.")
    expect_ok(c.call("Remove", pb.Player(name="bob")), "Remove bob")
    expect_status(c.call("Get", pb.Player(name="bob")), NOT_FOUND, "Get bob after Remove bob")
    expect_status(c.call("Remove", pb.Player(name="bob")), NOT_FOUND, "Remove bob twice")
    reply = c.call("Submit", score(pb, "dee", 1))
    expect_msg(c.payload(reply, "Submit"), pb.Rank(rank=2, total=3),
               "Submit dee 1 after Remove bob (ada 9, dee 1, cy -4)")


@pytest.mark.points(1)
@pytest.mark.milestone("server")
@pytest.mark.needs("test_sbd_submit_get_remove")
def test_sbd_top(start_server, lab, sb_client):
    """Top: scoreboard order (points, then name bytewise), by level, count 0 = 10, total of the level."""
    server = start_sbd(start_server, lab)
    c = sb_client(server.port)
    pb = c.pb
    players = [("alice", 50, pb.HARD), ("al", 50, pb.HARD), ("Zed", 50, pb.EASY),
               ("bo", 70, pb.EASY), ("cat", -5, pb.HARD), ("dan", 0, 0)]
    players += [(f"p{i:02d}", 10 + i, pb.EASY) for i in range(8)]
    ids = [c.send_call("Submit", score(pb, n, p, lv)) for n, p, lv in players]
    for call_id, reply in c.replies(ids, "the replies to 14 pipelined Submits").items():
        expect_ok(reply, f"Submit #{call_id} of 14 pipelined")
    order = sorted(players, key=lambda t: (-t[1], t[0].encode()))

    def ranking(rows, total):
        return pb.Ranking(scores=[score(pb, n, p, lv) for n, p, lv in rows], total=total)

    hint = ("Order: points descending, then player name ascending, byte by byte (memcmp, a "
            "prefix first: \"al\" before \"alice\", \"Zed\" before \"al\"). total counts every "
            "kept score of that level, not only those returned.")
    reply = c.call("Top", pb.TopRequest())
    expect_ok(reply, "Top with count 0")
    expect_msg(c.payload(reply, "Top"), ranking(order[:10], 14), "Top {} (count 0 means 10)",
               hint)
    reply = c.call("Top", pb.TopRequest(count=2, level=pb.HARD))
    expect_msg(c.payload(reply, "Top"), ranking([r for r in order if r[2] == pb.HARD][:2], 3),
               "Top count 2 level HARD", hint)
    reply = c.call("Top", pb.TopRequest(count=100, level=pb.EASY))
    expect_msg(c.payload(reply, "Top"), ranking([r for r in order if r[2] == pb.EASY], 10),
               "Top count 100 level EASY", hint)
    rank = c.payload(c.call("Submit", score(pb, "al", 50)), "Submit")
    expect_msg(rank, pb.Rank(rank=3, total=14), "Submit al 50 again (not more points: kept)",
               hint)


@pytest.mark.points(1)
@pytest.mark.milestone("server")
@pytest.mark.needs("test_sbd_submit_get_remove")
def test_sbd_invalid_arguments(start_server, lab, sb_client):
    """Names of 0 and 65 bytes, count 101, ms 60001: INVALID_ARGUMENT; 1 and 64 bytes, count 100, ms 0: OK."""
    server = start_sbd(start_server, lab)
    c = sb_client(server.port)
    pb = c.pb
    long_name, too_long = "x" * 64, "y" * 65
    expect_ok(c.call("Submit", score(pb, long_name, 1)), "Submit of a 64-byte name")
    expect_ok(c.call("Submit", score(pb, "z", 1)), "Submit of a 1-byte name")
    expect_ok(c.call("Get", pb.Player(name=long_name)), "Get of a 64-byte name")
    expect_ok(c.call("Top", pb.TopRequest(count=100)), "Top count 100")
    expect_ok(c.call("Wait", pb.WaitRequest(ms=0)), "Wait ms 0")
    cases = [("Submit", score(pb, "", 1), "Submit of an empty name"),
             ("Submit", score(pb, too_long, 1), "Submit of a 65-byte name"),
             ("Get", pb.Player(name=""), "Get of an empty name"),
             ("Get", pb.Player(name=too_long), "Get of a 65-byte name"),
             ("Remove", pb.Player(name=too_long), "Remove of a 65-byte name"),
             ("Top", pb.TopRequest(count=101), "Top count 101"),
             ("Wait", pb.WaitRequest(ms=60001), "Wait ms 60001")]
    for method, request, what in cases:
        call_id = c.send_call(method, request)
        expect_status(c.reply_for(call_id, what), INVALID_ARGUMENT, what, call_id,
                      "Check each request against the handout's limits before acting on it.")
    reply = c.call("Top", pb.TopRequest())
    expect_msg(c.payload(reply, "Top"), pb.Ranking(scores=[score(pb, long_name, 1),
                                                           score(pb, "z", 1)], total=2),
               "Top after the refused calls (none of them changed anything)")


@pytest.mark.points(2)
@pytest.mark.milestone("server")
@pytest.mark.needs("test_sbd_submit_get_remove")
def test_sbd_frames_in_pieces(start_server, lab, sb_client):
    """A call a byte at a time, three calls in one write, calls cut anywhere: every reply, right id."""
    server = start_sbd(start_server, lab)
    c = sb_client(server.port)
    pb = c.pb
    one = call_bytes(pb, "Submit", score(pb, "bytewise", 7), 10)
    c.send(one, chunk=1)
    expect_ok(c.reply_for(10, "Submit sent a byte at a time", hint=FRAME_HINT),
              "Submit sent a byte at a time")
    three = b"".join(call_bytes(pb, "Get", pb.Player(name="bytewise"), i) for i in (11, 12, 13))
    c.send(three)
    for call_id, reply in c.replies([11, 12, 13], "three Gets in one write",
                                    hint=FRAME_HINT).items():
        expect_ok(reply, f"Get #{call_id} of three in one write", FRAME_HINT)
        expect_msg(c.payload(reply, "Get"), score(pb, "bytewise", 7), f"Get #{call_id}")
    stream = b"".join(call_bytes(pb, "Submit", score(pb, f"p{i}", i), 100 + i) for i in range(30))
    cuts = [0, 3, 5, 6, 40, 41, 97, 200, 201, 202, 350, len(stream)]
    for a, b in zip(cuts, cuts[1:]):
        c.send(stream[a:b])
    got = c.replies(list(range(100, 130)), "30 Submits cut at odd places", hint=FRAME_HINT)
    if len(got) != 30 or any(r.status != OK for r in got.values()):
        raise Mismatch("30 Submits cut at odd places", "30 OK replies", str(len(got)),
                       FRAME_HINT)
    expect_msg(c.payload(c.call("Top", pb.TopRequest(count=1)), "Top"),
               pb.Ranking(scores=[score(pb, "p29", 29)], total=31), "Top 1 after them")


@pytest.mark.points(2)
@pytest.mark.milestone("server")
@pytest.mark.needs("test_sbd_submit_get_remove")
def test_sbd_hundred_calls_in_flight(start_server, lab, sb_client):
    """101 Waits in one write (the first 3 s, the others 0 to 99 ms): replies as they complete, matched by id."""
    server = start_sbd(start_server, lab)
    c = sb_client(server.port)
    pb = c.pb
    slow_ms = min(60000, int(3000 * timing.factor()))  # longer than the deadline below
    slow = call_bytes(pb, "Wait", pb.WaitRequest(ms=slow_ms), 1000)
    waits = {2000 + i: (i * 37) % 100 for i in range(100)}
    data = slow + b"".join(call_bytes(pb, "Wait", pb.WaitRequest(ms=ms), i)
                           for i, ms in waits.items())
    c.send(data)
    got = c.replies(list(waits), "100 Waits of 0 to 99 ms sent after a Wait of 3 s",
                    timeout=2.5, hint=ORDER_HINT)
    for call_id, reply in got.items():
        expect_ok(reply, f"Wait #{call_id} ({waits[call_id]} ms)")
        if reply.payload:
            raise Mismatch(f"Wait #{call_id}: the payload", "an empty Empty (0 bytes)",
                           f"{len(reply.payload)} bytes")
    if 1000 in c.pending:
        raise Mismatch("the reply to the Wait of 3 s", "after the 100 short ones",
                       "before them, although its timer cannot have fired",
                       "A Wait's reply goes out when its timer fires.")
    expect_ok(c.call("Submit", score(pb, "after", 1)), "Submit while the Wait of 3 s runs",
              ORDER_HINT)


@pytest.mark.points(2)
@pytest.mark.milestone("server")
@pytest.mark.needs("test_sbd_submit_get_remove")
def test_sbd_bad_frames_and_calls(start_server, lab, sb_client):
    """Bad flags, a malformed Call, an unknown method, a malformed request: each its status; the connection stays."""
    server = start_sbd(start_server, lab)
    c = sb_client(server.port)
    pb = c.pb
    expect_ok(c.call("Submit", score(pb, "ok", 1)), "Submit before the bad frames")
    good = pb.Call(id=7, method="Get", payload=pb.Player(name="ok").SerializeToString())
    c.send(frame(good.SerializeToString(), flags=1))
    expect_status(c.reply("the reply to a frame with flags 1"), INVALID_ARGUMENT,
                  "the reply to a well-formed Get in a frame with flags 1", 0,
                  "Flags other than 0 get INVALID_ARGUMENT with id 0; skip the frame's "
                  "message (its length is known) and go on.")
    expect_ok(c.call("Get", pb.Player(name="ok")), "Get after the frame with flags 1")
    c.send(frame(b"\x0a\x05ab"))  # field 1 as a string of 5 bytes, 2 there
    expect_status(c.reply("the reply to a frame that is not a Call"), INVALID_ARGUMENT,
                  "the reply to a frame whose message does not decode as a Call", 0,
                  "Decode the message with pb_decode; when it fails, reply id 0 "
                  "INVALID_ARGUMENT and keep the connection.")
    expect_ok(c.call("Get", pb.Player(name="ok")), "Get after the malformed Call")
    for method in ("submit", "Delete", ""):
        call_id = c.send_call(method, score(pb, "ok", 1))
        expect_status(c.reply_for(call_id, f"method {method!r}"), UNIMPLEMENTED,
                      f"the reply to method {method!r}", call_id,
                      "Method names are case-sensitive: Submit, Get, Top, Remove, Wait.")
    call_id = c.send_call("Submit", b"\x0a\xff")  # a string whose length runs past the end
    expect_status(c.reply_for(call_id, "Submit of a malformed Score"), INVALID_ARGUMENT,
                  "the reply to Submit whose payload is not a Score", call_id,
                  "Decode the payload as the method's request; when it fails, reply "
                  "INVALID_ARGUMENT with the call's id.")
    reply = c.call("Get", pb.Player(name="ok"))
    expect_ok(reply, "Get after every bad call: the connection stays")
    expect_msg(c.payload(reply, "Get"), score(pb, "ok", 1), "Get ok after the bad calls")


@pytest.mark.points(1)
@pytest.mark.milestone("server")
@pytest.mark.needs("test_sbd_submit_get_remove")
def test_sbd_oversized_and_truncated_frames(start_server, lab, sb_client):
    """65,536 bytes served; 65,537: RESOURCE_EXHAUSTED and a close; a cut frame: a close; a half-close after whole calls: their replies, then a close."""
    server = start_sbd(start_server, lab)
    other = sb_client(server.port, "other")
    pb = other.pb
    big = sb_client(server.port, "big")
    proof_len = 65000
    while True:  # a Call of exactly SB_FRAME_MAX bytes (the lengths' varints settle at once)
        call = pb.Call(id=5, method="Submit",
                       payload=pb.Score(player="edge", points=1,
                                        proof=b"p" * proof_len).SerializeToString())
        size = len(call.SerializeToString())
        if size == 65536:
            break
        proof_len += 65536 - size
    big.send(frame(call.SerializeToString()))
    expect_ok(big.reply_for(5, "Submit in a frame of exactly 65,536 bytes"),
              "Submit in a frame of exactly 65,536 bytes (SB_FRAME_MAX: allowed)")
    big.send(b"\x00" + (65537).to_bytes(4, "big") + b"\x0a")
    expect_status(big.reply("the reply to a frame header of length 65,537"), RESOURCE_EXHAUSTED,
                  "the reply to a frame header of length 65,537", 0,
                  "Check the length against SB_FRAME_MAX as soon as the header is in, before "
                  "reading or allocating anything.")
    if not big.closed():
        raise Mismatch("the connection after a frame too large", "closed", "still open",
                       "After RESOURCE_EXHAUSTED for a frame too large, close the connection: "
                       "there is no way to find the next frame.")
    cut = sb_client(server.port, "cut")
    cut.send(call_bytes(pb, "Submit", score(pb, "cut", 2), 1)[:-3])
    cut.sock.shutdown(socket.SHUT_WR)
    if not cut.closed():
        raise Mismatch("a connection whose client ends in the middle of a frame",
                       "closed by the server", "still open",
                       "read() returning 0 is the end of the stream: close the connection, "
                       "whatever part of a frame is still buffered.")
    half = sb_client(server.port, "half")
    ids = [half.send_call("Wait", pb.WaitRequest(ms=50)),
           half.send_call("Submit", score(pb, "half", 3))]
    half.sock.shutdown(socket.SHUT_WR)
    for call_id, reply in half.replies(ids, "the replies to two calls sent before a "
                                       "half-close").items():
        expect_ok(reply, f"half: call {call_id}, sent whole before shutdown(SHUT_WR)",
                  "At the end of a client's stream between frames, the calls in flight are "
                  "still answered; then the connection is closed.")
    if not half.closed():
        raise Mismatch("a half-closed connection once its calls are answered", "closed",
                       "still open", "Close a connection when its client's stream has ended "
                       "and nothing is left to send.")
    reply = other.call("Get", pb.Player(name="cut"))
    expect_status(reply, NOT_FOUND, "Get cut (its Submit was cut short: never applied)")
    reply = other.call("Get", pb.Player(name="edge"))
    expect_ok(reply, "another client afterwards: Get edge")
    expect_msg(len(other.payload(reply, "Get").proof), proof_len, "the proof's length in Get edge")


@pytest.mark.points(1)
@pytest.mark.milestone("server")
@pytest.mark.needs("test_sbd_hundred_calls_in_flight")
def test_sbd_calls_in_flight_limit(start_server, lab, sb_client):
    """1,024 Waits in flight on one connection; the 1,025th gets RESOURCE_EXHAUSTED; another client is still served."""
    server = start_sbd(start_server, lab)
    c = sb_client(server.port)
    pb = c.pb
    long_ms = min(60000, int(5000 * timing.factor()))  # all still pending when the 1,025th comes
    c.send(b"".join(call_bytes(pb, "Wait", pb.WaitRequest(ms=long_ms), i)
                    for i in range(1, 1025)))
    c.send(call_bytes(pb, "Wait", pb.WaitRequest(ms=long_ms), 5000))
    extra = c.reply_for(5000, "the 1,025th Wait in flight", timeout=4)
    expect_status(extra, RESOURCE_EXHAUSTED, "the reply to the 1,025th Wait in flight", 5000,
                  "Count the calls in flight on each connection; past 1,024, answer "
                  "RESOURCE_EXHAUSTED at once instead of starting the call.")
    other = sb_client(server.port, "other")
    expect_ok(other.call("Wait", pb.WaitRequest(ms=1)), "another client's Wait meanwhile",
              "The limit is per connection: other clients' calls are not refused.")
    c.close()  # its 1,024 Waits go with it
    expect_ok(other.call("Submit", score(pb, "after", 1)), "another client's Submit afterwards")


@pytest.mark.points(1)
@pytest.mark.milestone("server")
@pytest.mark.needs("test_sbd_hundred_calls_in_flight")
def test_sbd_deadlines(start_server, lab, sb_client):
    """Wait 400 ms with a deadline of 50 ms: DEADLINE_EXCEEDED, and nothing more for that id; deadlines that hold: OK."""
    server = start_sbd(start_server, lab)
    c = sb_client(server.port)
    pb = c.pb
    expect_ok(c.call("Wait", pb.WaitRequest(ms=10), deadline_ms=5000),
              "Wait 10 ms with a deadline of 5000 ms")
    expect_ok(c.call("Submit", score(pb, "quick", 1), deadline_ms=1),
              "Submit with a deadline of 1 ms (ready at once)")
    late = c.send_call("Wait", pb.WaitRequest(ms=400), deadline_ms=50)
    expect_status(c.reply_for(late, "Wait 400 ms with a deadline of 50 ms", timeout=3),
                  DEADLINE_EXCEEDED, "the reply to Wait 400 ms with a deadline of 50 ms", late,
                  "A call with deadline_ms gets DEADLINE_EXCEEDED when its result is not ready "
                  "that long after the call was read: a timer per call.")
    after = c.send_call("Wait", pb.WaitRequest(ms=700))
    expect_ok(c.reply_for(after, "Wait 700 ms sent after it", timeout=5), "Wait 700 ms")
    if c.pending:
        extra = next(iter(c.pending.values()))
        raise Mismatch("replies before the Wait of 700 ms", "none (the late Wait's result is "
                       "dropped)", sbrpc.describe_reply(extra),
                       "Once DEADLINE_EXCEEDED went out for a call, its result is dropped: one "
                       "reply per call.")


@pytest.mark.points(1)
@pytest.mark.milestone("server")
@pytest.mark.needs("test_sbd_submit_get_remove")
def test_sbd_two_clients_interleaved(start_server, lab, sb_client):
    """One client sends half a call; another is served meanwhile; the first finishes; each sees the other's Submit."""
    server = start_sbd(start_server, lab)
    a, b = sb_client(server.port, "a"), sb_client(server.port, "b")
    pb = a.pb
    data = call_bytes(pb, "Submit", score(pb, "from-a", 3), 1)
    a.send(data[:7])
    expect_ok(b.call("Submit", score(pb, "from-b", 4)), "b: Submit while a is halfway through a call",
              "Keep each connection's partial frame in its own buffer; never wait on one client.")
    a.send(data[7:])
    expect_msg(a.payload(a.reply_for(1, "a: the rest of its Submit"), "Submit"),
               pb.Rank(rank=2, total=2), "a: the Rank of from-a 3 after from-b 4")
    expect_msg(b.payload(b.call("Get", pb.Player(name="from-a")), "Get"), score(pb, "from-a", 3),
               "b: Get from-a")
    expect_msg(a.payload(a.call("Get", pb.Player(name="from-b")), "Get"), score(pb, "from-b", 4),
               "a: Get from-b")


@pytest.mark.points(1)
@pytest.mark.milestone("server")
@pytest.mark.needs("test_sbd_top")
def test_sbd_client_that_never_reads(start_server, lab, sb_client):
    """A client asks for 6 MB of Top replies and reads none; another is served meanwhile; then every reply arrives."""
    server = start_sbd(start_server, lab)
    other = sb_client(server.port, "other")
    pb = other.pb
    ids = [other.send_call("Submit", score(pb, f"player{i:03d}", i, proof=b"q" * 300))
           for i in range(100)]
    other.replies(ids, "100 Submits of 330-byte Scores")
    hog = sb_client(server.port, "hog", rcvbuf=4096)
    request = pb.TopRequest(count=100)
    hog.send(b"".join(call_bytes(pb, "Top", request, i) for i in range(1, 201)))
    for i in range(20):
        reply = other.call("Get", pb.Player(name=f"player{i * 5:03d}"),
                           what="Get while another client's 6 MB of replies wait", hint=QUEUE_HINT)
        expect_ok(reply, f"other: Get #{i + 1} while another client never reads", QUEUE_HINT)
    got = hog.replies(list(range(1, 201)), "200 Top replies, once the client reads",
                      timeout=20, hint="Stop reading from a client whose replies pile up (more "
                      "than 1 MiB), and start again once they drain: no reply is lost.")
    bad = [i for i, r in got.items() if r.status != OK or len(hog.payload(r, "Top").scores) != 100]
    if bad:
        raise Mismatch("hog: the 200 Top replies", "200 OK Rankings of 100 scores",
                       f"{len(bad)} otherwise, the first id {bad[0]}")


@pytest.mark.points(1)
@pytest.mark.milestone("server")
@pytest.mark.needs("test_sbd_submit_get_remove")
def test_sbd_one_thread_in_poll(start_server, lab, sb_client):
    """One thread, which waits in poll or epoll_wait while a Wait is pending."""
    server = start_sbd(start_server, lab)
    clients = [sb_client(server.port, f"c{i}") for i in range(3)]
    for c in clients:
        expect_ok(c.call("Wait", c.pb.WaitRequest(ms=1)), f"{c.name}: Wait 1 ms")
    clients[0].send_call("Wait", clients[0].pb.WaitRequest(ms=10000))
    pid = server.pid
    threads = os.listdir(f"/proc/{pid}/task")
    if len(threads) != 1:
        raise Mismatch("the threads of sbd", "1 thread", f"{len(threads)} threads",
                       "One thread serves every client from one event loop; a Wait is a timer "
                       "on the loop, not a sleeping thread.")
    waiting = set()

    def in_poll():
        try:
            number = int(open(f"/proc/{pid}/syscall").read().split()[0])
        except (OSError, ValueError, IndexError):
            return False
        waiting.add(hang.syscall_name(number))
        return hang.syscall_name(number) in ("poll", "ppoll", "epoll_wait", "epoll_pwait",
                                             "epoll_pwait2")

    if not timing.wait_until(in_poll, 5):
        raise Mismatch("the call sbd waits in while a Wait is pending", "poll or epoll_wait",
                       ", ".join(sorted(waiting)) or "unknown",
                       "Wait in poll/epoll_wait with the nearest timer's deadline as timeout.")


@pytest.mark.points(1)
@pytest.mark.milestone("server")
@pytest.mark.needs("test_sbd_submit_get_remove")
def test_sbd_sigterm(start_server, lab, sb_client):
    """SIGTERM with clients connected, a Wait pending and half a frame buffered: every connection closes, exit 0."""
    server = start_sbd(start_server, lab)
    clients = [sb_client(server.port, f"c{i}") for i in range(3)]
    pb = clients[0].pb
    for c in clients:
        expect_ok(c.call("Submit", score(pb, c.name, 1)), f"{c.name}: Submit")
    clients[1].send_call("Wait", pb.WaitRequest(ms=60000))
    clients[2].send(call_bytes(pb, "Get", pb.Player(name="c0"), 9)[:6])
    expect_ok(clients[0].call("Get", pb.Player(name="c1")), "c0: Get")
    os.kill(server.pid, signal.SIGTERM)
    for c in clients:
        if not c.closed(timeout=5):
            raise Mismatch(f"{c.name} after SIGTERM", "closed", "still open",
                           "Catch SIGTERM on the loop (a flag and EINTR, signalfd or a "
                           "self-pipe), stop the loop, close every connection, exit 0.")
    server.stop()


@pytest.mark.points(1)
@pytest.mark.milestone("server")
def test_sbd_usage_and_addresses(run, start_server, lab, sb_client):
    """No -l, a bad ADDRESS, an extra argument: exit 2; tcp:127.0.0.1:0 and tcp:[::1]:0 serve."""
    for args in ([], ["-l"], ["-l", "udp:127.0.0.1:0"], ["-l", "tcp:127.0.0.1"],
                 ["-l", "tcp:127.0.0.1:99999"], ["-l", "unix:"],
                 ["-l", "tcp:127.0.0.1:0", "extra"]):
        result = run([lab.program("sbd"), *args], label="sbd " + " ".join(args))
        expect_exit(result, 2, what=f"sbd {' '.join(args)}",
                    hint="-l ADDRESS is tcp:HOST:PORT or unix:PATH; anything else is a usage "
                         "error: a message on stderr and exit 2.")
        expect_stderr_line(result, "sbd", what=f"the message of sbd {' '.join(args)}")
    server = start_sbd(start_server, lab)
    c = sb_client(server.port)
    expect_ok(c.call("Wait", c.pb.WaitRequest()), "Wait on tcp:127.0.0.1:0")
    server6 = start_sbd(start_server, lab, "tcp:[::1]:0")
    c6 = sb_client(("::1", server6.port), "ipv6")
    expect_ok(c6.call("Submit", score(c6.pb, "six", 6)), "Submit over tcp:[::1]:0",
              "A numeric IPv6 host comes in brackets: tcp:[::1]:0; getaddrinfo takes it "
              "without them.")


@pytest.mark.points(1)
@pytest.mark.milestone("server")
@pytest.mark.needs("test_sbd_frames_in_pieces")
def test_sbd_robust_io(lab, faults, sb_client):
    """Short reads and writes, EAGAIN and EINTR: pipelined Submits and large Top replies come out right."""
    runner = faults(kinds=("short", "eagain", "eintr", "shortwrite"), rate=60)
    server = runner.start_server([lab.program("sbd"), "-l", "tcp:127.0.0.1:0"],
                                 limits=Limits(cpu_seconds=60))
    a, b = sb_client(server.port, "a"), sb_client(server.port, "b")
    pb = a.pb
    ids = [a.send_call("Submit", score(pb, f"n{i:02d}", i, proof=bytes(range(256)) * 2))
           for i in range(40)]
    for call_id, reply in a.replies(ids, "40 pipelined Submits under short reads").items():
        expect_ok(reply, f"a: Submit #{call_id} under short reads and writes", FRAME_HINT)
    reply = b.call("Top", pb.TopRequest(count=40))
    want = pb.Ranking(scores=[score(pb, f"n{i:02d}", i, proof=bytes(range(256)) * 2)
                              for i in reversed(range(40))], total=40)
    expect_msg(b.payload(reply, "Top"), want, "b: Top 40 (20 KB) under short writes",
               QUEUE_HINT)
    server.stop()


@pytest.mark.points(2)
@pytest.mark.milestone("server")
@pytest.mark.needs("test_sbd_bad_frames_and_calls")
def test_sbd_valgrind_clean(start_server, lab, sb_client):
    """Under Valgrind: every method, every error, a frame too large, a cut frame, a reset, a pending Wait, then SIGTERM: clean."""
    server = start_sbd(start_server, lab, valgrind=True)
    a = sb_client(server.port, "a")
    pb = a.pb
    for method, request in (("Submit", score(pb, "v", 1, proof=b"x" * 100, laps=[1, 2])),
                            ("Submit", score(pb, "v", 5)), ("Submit", score(pb, "w", 2)),
                            ("Get", pb.Player(name="v")), ("Top", pb.TopRequest(count=5)),
                            ("Remove", pb.Player(name="w")), ("Get", pb.Player(name="w")),
                            ("Wait", pb.WaitRequest(ms=1)), ("Nope", None),
                            ("Submit", b"\x0a\xff"), ("Top", pb.TopRequest(count=500))):
        a.call(method, request, timeout=20)
    a.call("Wait", pb.WaitRequest(ms=500), deadline_ms=20, timeout=20)
    a.send(frame(b"\x0a\x01", flags=1))
    a.reply("the reply to flags 1", timeout=20)
    big = sb_client(server.port, "big")
    big.send(b"\x00\xff\xff\xff\xff")
    big.reply("the reply to a frame too large", timeout=20)
    big.closed(timeout=20)
    d = sb_client(server.port, "reset")
    d.send(call_bytes(pb, "Submit", score(pb, "half", 1), 3)[:9])
    expect_ok(a.call("Get", pb.Player(name="v"), timeout=20), "Get v")
    d.sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
    d.close()
    e = sb_client(server.port, "pending")
    e.send_call("Wait", pb.WaitRequest(ms=60000))
    expect_ok(a.call("Wait", pb.WaitRequest(ms=1), timeout=20), "Wait 1 ms at the end")
    server.stop(timeout=30)
    expect_valgrind_clean(server, "valgrind after SIGTERM with a Wait pending")


# ---- M=unix: the same service on a Unix-domain socket --------------------------------------------

@pytest.mark.points(2)
@pytest.mark.milestone("unix")
@pytest.mark.needs("test_sbd_submit_get_remove")
def test_sbd_unix_socket(start_server, lab, sb_client, tmp_path):
    """sbd -l unix:PATH: `listening on PATH`, every method over the socket, two clients, the file gone after SIGTERM."""
    path = tmp_path / "sb.sock"
    server = start_sbd(start_server, lab, f"unix:{path}")
    a, b = sb_client(str(path), "a"), sb_client(str(path), "b")
    pb = a.pb
    expect_msg(a.payload(a.call("Submit", score(pb, "unix", 3)), "Submit"),
               pb.Rank(rank=1, total=1), "a: Submit over the Unix socket")
    expect_msg(b.payload(b.call("Get", pb.Player(name="unix")), "Get"), score(pb, "unix", 3),
               "b: Get over the Unix socket")
    expect_msg(b.payload(b.call("Top", pb.TopRequest()), "Top"),
               pb.Ranking(scores=[score(pb, "unix", 3)], total=1), "b: Top")
    expect_ok(a.call("Wait", pb.WaitRequest(ms=5)), "a: Wait 5 ms")
    expect_ok(a.call("Remove", pb.Player(name="unix")), "a: Remove")
    server.stop()
    if os.path.lexists(path):
        raise Mismatch(f"{path} after SIGTERM", "removed", "still there",
                       "unlink() the socket's path when the server exits: it is a file.")


@pytest.mark.points(1)
@pytest.mark.milestone("unix")
@pytest.mark.needs("test_sbd_unix_socket")
def test_sbd_unix_stale_socket(start_server, run, lab, sb_client, tmp_path):
    """A socket file left by a crash is replaced; a regular file at PATH is an error (File exists, exit 1) and stays."""
    path = tmp_path / "stale.sock"
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.bind(str(path))
    s.close()  # the file stays, as after a crash
    server = start_sbd(start_server, lab, f"unix:{path}")
    c = sb_client(str(path))
    expect_ok(c.call("Submit", score(c.pb, "fresh", 1)), "Submit to sbd started over a stale socket file",
              "At start, a socket file at PATH is a stale one: unlink() it before bind().")
    server.stop()
    regular = tmp_path / "regular"
    regular.write_bytes(b"precious\n")
    result = run([lab.program("sbd"), "-l", f"unix:{regular}"], timeout=5)
    expect_exit(result, 1, what="sbd -l unix:PATH where PATH is a regular file",
                hint="Only a socket file is stale: check with lstat() and S_ISSOCK before "
                     "unlinking; anything else is `sbd: PATH: File exists`, exit 1.")
    expect_stderr_line(result, "file exists", what="sbd's message for a regular file at PATH")
    if regular.read_bytes() != b"precious\n":
        raise Mismatch(f"{regular} after sbd refused it", "the file unchanged", "changed or gone",
                       "Never unlink what is not a socket.")
