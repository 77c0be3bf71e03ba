"""Lab 07, the client: sbctl (on your sbclient and sbnet) against the
reference sbd, and against scripted servers in Python for what a correct
server never does (no reply at all, a stray reply, a reply in pieces).

What sbctl prints for an OK reply is compared with `protoc
--decode=scoreboard.TYPE scoreboard.proto` of the same reply's payload,
which the test fetches with the course's Python client (or builds, for a
Rank it can compute).
"""
import os
from pathlib import Path

import pytest

from netgrader import rpc, sbrpc
from netgrader.expect import Mismatch, expect_exit, expect_stderr_line, expect_valgrind_clean
from netgrader.peers import unused_port
from netgrader.procs import Limits

LAB = Path(__file__).resolve().parent.parent
PROTO = LAB / "scoreboard.proto"
PRINT_HINT = ("Print the reply with the given pbtext printer: fields in number order, unset "
              "ones left out, sub-messages as `name {` ... `}`, as protoc --decode does.")


def start_reference_sbd(start_server, lab, address="tcp:127.0.0.1:0"):
    kwargs = {"unix_path": address[5:]} if address.startswith("unix:") else {}
    return start_server([lab.reference("sbd"), "-l", address], limits=Limits(cpu_seconds=60),
                        **kwargs)


def sbctl(run, lab, address, method, *assignments, deadline=None, valgrind=False, timeout=10):
    """sbctl [-d deadline] address method assignments..., through run."""
    argv = [lab.program("sbctl")] + (["-d", str(deadline)] if deadline is not None else []) \
        + [address, method, *assignments]
    return run(argv, valgrind=valgrind, timeout=timeout,
               label=f"sbctl {method} {' '.join(assignments)}"[:60])


def expect_printed(result, want_text, what):
    expect_exit(result, 0, what=what, hint="An OK reply: print it, exit 0 (stderr says what "
                "went wrong otherwise).")
    got = result.stdout_text
    if got != want_text:
        raise Mismatch(f"{what}: what sbctl printed", repr(want_text) if want_text else
                       "nothing (an empty message prints nothing)", repr(got) or "nothing",
                       PRINT_HINT)


def expect_failure(result, status_name, what, hint=""):
    expect_exit(result, 1, what=what, hint=hint or "A non-OK status: `sbctl: STATUS_NAME: "
                "message` on stderr, exit 1.")
    if result.stdout:
        raise Mismatch(f"{what}: stdout", "nothing (the error goes to stderr)",
                       repr(result.stdout[:200]))
    expect_stderr_line(result, f"sbctl: {status_name}:", what=f"{what}: the message on stderr",
                       hint=hint or "Print `sbctl: STATUS_NAME: message` (the status's name "
                       "from scoreboard.proto, the reply's message) on stderr.")


def decoded(message, data: bytes) -> str:
    return rpc.protoc_decode(PROTO, f"scoreboard.{message}", data)


# ---- M=client ----------------------------------------------------------------------------------

@pytest.mark.points(3)
@pytest.mark.milestone("client")
def test_sbctl_every_method(start_server, run, lab, sb_client):
    """Submit, Get, Top, Remove and Wait through sbctl: what it prints is what protoc --decode prints."""
    server = start_reference_sbd(start_server, lab)
    address = f"tcp:127.0.0.1:{server.port}"
    c = sb_client(server.port, "python")
    pb = c.pb
    c.call("Submit", pb.Score(player="zed", points=100, level=pb.EASY))
    result = sbctl(run, lab, address, "Submit", "player=ada", "points=-42", "level=HARD",
                   "verified=true", "proof=a\"b\\\t\n\udcff", "laps=3", "laps=1", "laps=4",
                   "when=18446744073709551615", "accuracy=0.1")
    expect_printed(result, decoded("Rank", pb.Rank(rank=2, total=2).SerializeToString()),
                   "sbctl ADDRESS Submit player=ada points=-42 level=HARD ...")
    raw = c.call("Get", pb.Player(name="ada")).payload
    want_ada = pb.Score(player="ada", points=-42, level=pb.HARD, verified=True,
                        proof=b"a\"b\\\t\n\xff", laps=[3, 1, 4], when=2**64 - 1, accuracy=0.1)
    if c.payload(c.call("Get", pb.Player(name="ada")), "Get") != want_ada:
        raise Mismatch("the Score sbctl submitted, read back with Get", str(want_ada),
                       str(c.payload(c.call("Get", pb.Player(name="ada")), "Get")),
                       "Build the request from every FIELD=VALUE: enums by name, bools "
                       "true/false, a repeated field once per assignment, bytes as given.")
    expect_printed(sbctl(run, lab, address, "Get", "name=ada"), decoded("Score", raw),
                   "sbctl ADDRESS Get name=ada")
    raw = c.call("Top", pb.TopRequest(count=5)).payload
    expect_printed(sbctl(run, lab, address, "Top", "count=5"), decoded("Ranking", raw),
                   "sbctl ADDRESS Top count=5 (a Ranking: scores { ... } twice, then total)")
    raw = c.call("Top", pb.TopRequest(level=pb.HARD)).payload
    expect_printed(sbctl(run, lab, address, "Top", "level=2"), decoded("Ranking", raw),
                   "sbctl ADDRESS Top level=2 (an enum by number)")
    expect_printed(sbctl(run, lab, address, "Remove", "name=zed"), "",
                   "sbctl ADDRESS Remove name=zed")
    expect_printed(sbctl(run, lab, address, "Wait", "ms=5"), "", "sbctl ADDRESS Wait ms=5")
    if c.call("Get", pb.Player(name="zed")).status != sbrpc.NOT_FOUND:
        raise Mismatch("Get zed after sbctl Remove name=zed", "NOT_FOUND", "still there")


@pytest.mark.points(1)
@pytest.mark.milestone("client")
@pytest.mark.needs("test_sbctl_every_method")
def test_sbctl_status_errors(start_server, run, lab, sb_client):
    """NOT_FOUND, INVALID_ARGUMENT: `sbctl: STATUS: message` on stderr, exit 1; the same calls made valid: exit 0."""
    server = start_reference_sbd(start_server, lab)
    address = f"tcp:127.0.0.1:{server.port}"
    expect_failure(sbctl(run, lab, address, "Get", "name=nobody"), "NOT_FOUND",
                   "sbctl Get name=nobody")
    expect_failure(sbctl(run, lab, address, "Remove", "name=nobody"), "NOT_FOUND",
                   "sbctl Remove name=nobody")
    expect_failure(sbctl(run, lab, address, "Submit", "points=3"), "INVALID_ARGUMENT",
                   "sbctl Submit points=3 (no player)")
    expect_failure(sbctl(run, lab, address, "Wait", "ms=60001"), "INVALID_ARGUMENT",
                   "sbctl Wait ms=60001")
    result = sbctl(run, lab, address, "Submit", "player=somebody", "points=3")
    expect_exit(result, 0, what="sbctl Submit player=somebody points=3")
    expect_printed(sbctl(run, lab, address, "Remove", "name=somebody"), "",
                   "sbctl Remove name=somebody after its Submit")


@pytest.mark.points(1)
@pytest.mark.milestone("client")
@pytest.mark.needs("test_sbctl_every_method")
def test_sbctl_usage(start_server, run, lab):
    """Unknown method, field or value, a bad address, too few arguments: exit 2; the valid call: exit 0."""
    server = start_reference_sbd(start_server, lab)
    address = f"tcp:127.0.0.1:{server.port}"
    for args in (["Get"], [], [address, "get", "name=a"], [address, "Fetch"],
                 [address, "Get", "nick=a"], [address, "Get", "name"],
                 [address, "Submit", "player=a", "points=ten"],
                 [address, "Submit", "player=a", "level=MEDIUM"],
                 [address, "Submit", "player=a", "verified=maybe"],
                 [address, "Wait", "ms=-1"], ["-d", "x", address, "Wait"],
                 ["tcp:127.0.0.1", "Wait"], ["http://127.0.0.1:1", "Wait"]):
        result = run([lab.program("sbctl"), *args], label="sbctl " + " ".join(args)[:50])
        expect_exit(result, 2, what=f"sbctl {' '.join(args)}",
                    hint="An unknown METHOD (names are case-sensitive), an unknown field, a "
                         "value that does not fit its type, a bad ADDRESS: a usage message "
                         "on stderr, exit 2, before connecting.")
    expect_printed(run([lab.program("sbctl"), address, "Wait"]), "", "sbctl ADDRESS Wait")


@pytest.mark.points(1)
@pytest.mark.milestone("client")
@pytest.mark.needs("test_sbctl_every_method")
def test_sbctl_unreachable(start_server, run, lab, tmp_path):
    """Nothing listening on the port, no socket at the path: `sbctl: ADDRESS: why`, exit 1."""
    server = start_reference_sbd(start_server, lab)
    expect_printed(run([lab.program("sbctl"), f"tcp:127.0.0.1:{server.port}", "Wait"]), "",
                   "sbctl Wait to the running sbd")
    for address in (f"tcp:127.0.0.1:{unused_port()}", f"unix:{tmp_path / 'nobody.sock'}"):
        result = run([lab.program("sbctl"), address, "Wait", "ms=1"], timeout=5)
        expect_exit(result, 1, what=f"sbctl {address} Wait (nothing there)",
                    hint="A failed connect is a runtime error: `sbctl: ADDRESS: why`, exit 1.")
        expect_stderr_line(result, "sbctl", address,
                           what=f"the message of sbctl {address} Wait (nothing there)",
                           hint="Name the ADDRESS as given and say why (strerror).")


@pytest.mark.points(2)
@pytest.mark.milestone("client")
@pytest.mark.needs("test_sbctl_every_method")
def test_sbctl_deadline(scripted_server, start_server, run, lab):
    """A server that never replies: -d 200 ends with DEADLINE_EXCEEDED, exit 1; a reply within -d 5000 is printed."""
    pb = sbrpc.messages(PROTO)
    calls = []

    def silent(conn):
        calls.append(sbrpc.read_call(conn, pb))
        conn.recv_to_eof()  # until sbctl gives up and closes

    peer = scripted_server(silent)
    result = sbctl(run, lab, f"tcp:127.0.0.1:{peer.port}", "Get", "name=a", deadline=200,
                   timeout=5)
    expect_failure(result, "DEADLINE_EXCEEDED", "sbctl -d 200 Get to a server that never "
                   "replies", "The stub waits at most deadline_ms (poll with a timeout) and "
                   "returns DEADLINE_EXCEEDED: `sbctl: DEADLINE_EXCEEDED: message`, exit 1.")
    peer.check()
    if not calls or calls[0].deadline_ms != 200:
        raise Mismatch("the Call sbctl -d 200 sent", "deadline_ms 200",
                       f"deadline_ms {calls[0].deadline_ms}" if calls else "no Call",
                       "The Call carries the deadline so the server can drop late work.")
    server = start_reference_sbd(start_server, lab)
    address = f"tcp:127.0.0.1:{server.port}"
    expect_failure(sbctl(run, lab, address, "Wait", "ms=3000", deadline=100, timeout=5),
                   "DEADLINE_EXCEEDED", "sbctl -d 100 Wait ms=3000 (the reference sbd)")
    expect_printed(sbctl(run, lab, address, "Wait", "ms=50", deadline=5000), "",
                   "sbctl -d 5000 Wait ms=50")


@pytest.mark.points(1)
@pytest.mark.milestone("client")
@pytest.mark.needs("test_sbctl_every_method")
def test_sbctl_matches_reply_by_id(scripted_server, run, lab):
    """A stray reply with another id comes first, then the real one a byte at a time: sbctl prints the real one."""
    pb = sbrpc.messages(PROTO)
    right = pb.Score(player="right", points=2)

    def tricky(conn):
        call = sbrpc.read_call(conn, pb)
        conn.send(sbrpc.reply_bytes(pb, call.id + 1000, sbrpc.OK,
                                    payload=pb.Score(player="wrong", points=1)))
        conn.send(sbrpc.reply_bytes(pb, call.id, sbrpc.OK, payload=right), chunk=1)
        conn.recv_to_eof()

    peer = scripted_server(tricky)
    result = sbctl(run, lab, f"tcp:127.0.0.1:{peer.port}", "Get", "name=right", timeout=5)
    expect_printed(result, decoded("Score", right.SerializeToString()),
                   "sbctl Get from a server whose first reply has another id")
    peer.check()


@pytest.mark.points(1)
@pytest.mark.milestone("client")
@pytest.mark.needs("test_sbctl_every_method")
def test_sbctl_robust_io(faults, start_server, sb_client, lab):
    """Short reads and writes and EINTR: a Submit of 40 KB and a Top reply of 34 KB come through whole."""
    server = start_reference_sbd(start_server, lab)
    c = sb_client(server.port, "python")
    pb = c.pb
    ids = [c.send_call("Submit", pb.Score(player=f"p{i:02d}", points=i, level=pb.EASY,
                                          proof=b"z" * 300)) for i in range(100)]
    c.replies(ids, "100 Submits")
    runner = faults(kinds=("short", "eintr", "shortwrite"), rate=60)
    address = f"tcp:127.0.0.1:{server.port}"
    proof = "".join(chr(33 + i % 90) for i in range(40000))
    result = sbctl(runner.run, lab, address, "Submit", "player=big", "points=1000",
                   f"proof={proof}")
    expect_printed(result, decoded("Rank", pb.Rank(rank=1, total=101).SerializeToString()),
                   "sbctl Submit with a 40 KB proof under short writes")
    raw = c.call("Top", pb.TopRequest(count=100, level=pb.EASY)).payload
    result = sbctl(runner.run, lab, address, "Top", "count=100", "level=EASY")
    expect_printed(result, decoded("Ranking", raw),
                   "sbctl Top count=100 level=EASY (34 KB) under short reads")


@pytest.mark.points(2)
@pytest.mark.milestone("client")
@pytest.mark.needs("test_sbctl_every_method")
def test_sbctl_valgrind_clean(start_server, run, lab):
    """Under Valgrind: a Submit, then a deadline that passes: no leak, no error, no descriptor left open."""
    server = start_reference_sbd(start_server, lab)
    address = f"tcp:127.0.0.1:{server.port}"
    cases = [(("Submit", "player=v", "points=3", "laps=1", "laps=2", "proof=xyz"), 0, None),
             (("Wait", "ms=2000"), 1, 50)]
    for args, code, deadline in cases:
        result = sbctl(run, lab, address, *args, deadline=deadline, valgrind=True)
        expect_exit(result, code, what=f"sbctl {' '.join(args)} under Valgrind")
        expect_valgrind_clean(result, f"valgrind on sbctl {' '.join(args)}")


# ---- M=unix ------------------------------------------------------------------------------------

@pytest.mark.points(1)
@pytest.mark.milestone("unix")
@pytest.mark.needs("test_sbctl_every_method")
def test_sbctl_unix(start_server, run, lab, sb_client, tmp_path):
    """sbctl unix:PATH against the reference sbd on a Unix-domain socket: Submit, Get, Remove."""
    path = tmp_path / "ref.sock"
    server = start_reference_sbd(start_server, lab, f"unix:{path}")
    os.chmod(path, 0o777)  # your sbctl runs as another user
    address = f"unix:{path}"
    pb = sbrpc.messages(PROTO)
    expect_printed(sbctl(run, lab, address, "Submit", "player=local", "points=7"),
                   decoded("Rank", pb.Rank(rank=1, total=1).SerializeToString()),
                   "sbctl unix:PATH Submit player=local points=7")
    raw = sb_client(str(path)).call("Get", pb.Player(name="local")).payload
    expect_printed(sbctl(run, lab, address, "Get", "name=local"), decoded("Score", raw),
                   "sbctl unix:PATH Get name=local")
    expect_printed(sbctl(run, lab, address, "Remove", "name=local"), "",
                   "sbctl unix:PATH Remove name=local")
    server.stop()
    result = run([lab.program("sbctl"), address, "Wait"], timeout=5)
    expect_exit(result, 1, what="sbctl unix:PATH once the server has gone")
