"""Lab 07: pbwire against its peers. Python's protobuf (Debian's
python3-protobuf, from the same scoreboard.proto compiled by protoc) writes
messages that `pbtool recode` decodes with your pb_decode and writes again
with your pb_encode; Python parses what came out, and protoc reads it.
Messages are compared parsed, never as bytes.
"""
import random
from pathlib import Path

import pytest

from netgrader import rpc
from netgrader.expect import Mismatch, expect_exit, expect_valgrind_clean

LAB = Path(__file__).resolve().parent.parent
PROTO = LAB / "scoreboard.proto"
NEWER = Path(__file__).resolve().parent / "data" / "scoreboard_next.proto"
HINT = ("Run `./pbtool recode MESSAGE < in.bin | protoc --decode_raw` and compare with "
        "`protoc --decode_raw < in.bin`: the first field that differs is where to look.")


def recode(run, lab, message, data, valgrind=False):
    """pbtool recode MESSAGE with data on stdin: its result, exit 0 checked."""
    result = run([lab.program("pbtool"), "recode", message], stdin=data, valgrind=valgrind)
    expect_exit(result, 0, what=f"pbtool recode {message} of {len(data)} bytes "
                f"from Python's protobuf", hint=HINT)
    return result


def expect_same(got_bytes, want, what):
    got = type(want)()
    try:
        got.ParseFromString(got_bytes)
    except Exception as e:  # protobuf's DecodeError and friends
        raise Mismatch(what, "bytes that Python's protobuf parses", f"a parse error: {e}", HINT)
    if got != want:
        raise Mismatch(what, str(want)[:1500] or "(an empty message)",
                       str(got)[:1500] or "(an empty message)", HINT)


@pytest.mark.points(3)
@pytest.mark.milestone("interop")
def test_python_messages_survive_pbwire(run, lab):
    """Twenty random AllTypes messages (every type at its limits) from Python, through C, parse equal."""
    pb = rpc.compile_proto(PROTO)
    rng = random.Random(7)
    for i in range(20):
        msg = rpc.random_message(pb.AllTypes, rng)
        out = recode(run, lab, "AllTypes", msg.SerializeToString()).stdout
        expect_same(out, msg, f"random AllTypes message #{i + 1} after pbtool recode")


@pytest.mark.points(1)
@pytest.mark.milestone("interop")
def test_protoc_decode_reads_c(run, lab):
    """protoc --encode writes a Ranking; protoc --decode prints the same after pbwire."""
    text = ('scores { player: "ada" points: -42 level: HARD verified: true proof: "\\000\\377" '
            'laps: [1, 300, 4294967295] when: 18446744073709551615 accuracy: 0.125 }\n'
            'scores { player: "\\303\\251mile" points: 9223372036854775807 }\n'
            'scores { }\ntotal: 3\n')
    data = rpc.protoc_encode(PROTO, "scoreboard.Ranking", text)
    out = recode(run, lab, "Ranking", data).stdout
    want = rpc.protoc_decode(PROTO, "scoreboard.Ranking", data)
    got = rpc.protoc_decode(PROTO, "scoreboard.Ranking", out)
    if got != want:
        raise Mismatch("protoc --decode=scoreboard.Ranking of what pbtool wrote", want, got, HINT)


@pytest.mark.points(1)
@pytest.mark.milestone("interop")
def test_protoc_decode_raw_reads_c(run, lab):
    """protoc --decode_raw sees the same fields in C's bytes as in Python's."""
    pb = rpc.compile_proto(PROTO)
    msg = pb.Score(player="bob", points=-1, level=pb.EASY, laps=[0, 1, 2**32 - 1],
                   when=1, accuracy=-0.0, proof=b"\x08\x96\x01")
    data = msg.SerializeToString()
    out = recode(run, lab, "Score", data).stdout
    want, got = rpc.protoc_decode_raw(data), rpc.protoc_decode_raw(out)
    if got != want:
        raise Mismatch("protoc --decode_raw of what pbtool wrote", want, got, HINT)


@pytest.mark.points(1)
@pytest.mark.milestone("interop")
def test_newer_schema_passes_older_decoder(run, lab):
    """A Score from a newer schema (extra fields of every wire type) decodes with today's table."""
    new = rpc.compile_proto(NEWER)
    old = rpc.compile_proto(PROTO)
    msg = new.Score(player="zoe", points=5, laps=[3, 4], nickname="z", bonus=-7,
                    checksum=0xdeadbeef, ratio=0.75, history=[new.Entry(points=1, note="x")],
                    big_tag=1)
    data = msg.SerializeToString()
    out = recode(run, lab, "Score", data).stdout
    want = old.Score()
    want.ParseFromString(data)
    want.DiscardUnknownFields()
    expect_same(out, want, "a newer Score (unknown fields 9 to 13 and 100000) after pbtool recode")


@pytest.mark.points(1)
@pytest.mark.milestone("interop")
def test_pbtool_refuses_malformed_input(run, lab):
    """A valid Score is recoded; the same bytes cut short, or with a group, are refused."""
    pb = rpc.compile_proto(PROTO)
    data = pb.Score(player="carol", points=10, laps=[1, 2, 3]).SerializeToString()
    recode(run, lab, "Score", data)
    for bad, what in ((data[:-1], "cut one byte short"), (data[:3], "cut inside the name"),
                      (data + b"\x4b", "followed by a start-group tag"),
                      (data + b"\x80", "followed by half a tag")):
        result = run([lab.program("pbtool"), "recode", "Score"], stdin=bad)
        expect_exit(result, 1, what=f"pbtool recode Score of a Score {what}",
                    hint="pb_decode returns a negative PB_ERR_* code for such input; "
                         "pbtool then exits 1.")


@pytest.mark.points(2)
@pytest.mark.milestone("interop")
def test_pbtool_valgrind_clean(run, lab):
    """pbtool recode of a large random AllTypes and of a malformed one, under Valgrind."""
    pb = rpc.compile_proto(PROTO)
    msg = rpc.random_message(pb.AllTypes, random.Random(11), fill=1.0)
    data = msg.SerializeToString()
    result = recode(run, lab, "AllTypes", data, valgrind=True)
    expect_valgrind_clean(result, "pbtool recode AllTypes")
    expect_same(result.stdout, msg, "a large AllTypes after pbtool recode under Valgrind")
    result = run([lab.program("pbtool"), "recode", "AllTypes"], stdin=data[:-2], valgrind=True)
    expect_exit(result, 1, what="pbtool recode AllTypes of a message cut short, under Valgrind")
    expect_valgrind_clean(result, "pbtool recode AllTypes of a message cut short")
