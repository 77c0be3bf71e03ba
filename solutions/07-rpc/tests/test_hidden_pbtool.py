"""Lab 07, hidden: unpacked repeated numbers from Python, a large Ranking,
nesting at the depth limit and past it, and records of one message merged
(protobuf's concatenation rule)."""
import random
from pathlib import Path

import pytest

from netgrader import rpc
from netgrader.expect import Mismatch, expect_exit

ROOT = Path(__file__).resolve().parents[2].parent
PROTO = ROOT / "labs" / "07-rpc" / "scoreboard.proto"
NEWER = ROOT / "labs" / "07-rpc" / "tests" / "data" / "scoreboard_next.proto"
HINT = ("Run `./pbtool recode MESSAGE < in.bin | protoc --decode_raw` and compare with "
        "`protoc --decode_raw < in.bin`.")


def recode(run, lab, message, data, what):
    result = run([lab.program("pbtool"), "recode", message], stdin=data, timeout=20)
    expect_exit(result, 0, what=what, hint=HINT)
    return result.stdout


def expect_same(got_bytes, want, what):
    got = type(want)()
    try:
        got.ParseFromString(got_bytes)
    except Exception as e:
        raise Mismatch(what, "bytes that Python's protobuf parses", f"a parse error: {e}", HINT)
    if got != want:
        raise Mismatch(what, str(want)[:1500], str(got)[:1500], HINT)


@pytest.mark.points(2)
@pytest.mark.milestone("interop")
def test_unpacked_repeated_numbers(run, lab):
    """Repeated numbers written unpacked by Python ([packed = false]) decode as the packed ones."""
    new, old = rpc.compile_proto(NEWER), rpc.compile_proto(PROTO)
    msg = new.Unpacked(r_i32=[-1, 0, 2**31 - 1], r_s64=[-2**63, 5], r_f32=[1, 2**32 - 1],
                       r_db=[0.5, -1e300], r_flag=[True, False, True])
    data = msg.SerializeToString()
    want = old.AllTypes()
    want.ParseFromString(data)
    out = recode(run, lab, "AllTypes", data, "pbtool recode AllTypes of unpacked repeated numbers")
    expect_same(out, want, "unpacked repeated numbers after pbtool recode")


@pytest.mark.points(1)
@pytest.mark.milestone("interop")
def test_large_ranking(run, lab):
    """A Ranking of 3000 random Scores (about 150 KB) goes through whole."""
    pb = rpc.compile_proto(PROTO)
    rng = random.Random(3)
    msg = pb.Ranking(total=3000)
    for _ in range(3000):
        msg.scores.add().CopyFrom(rpc.random_message(pb.Score, rng, fill=0.7))
    out = recode(run, lab, "Ranking", msg.SerializeToString(), "pbtool recode of 3000 Scores")
    expect_same(out, msg, "a Ranking of 3000 Scores after pbtool recode")


@pytest.mark.points(1)
@pytest.mark.milestone("interop")
def test_nesting_limit(run, lab):
    """AllTypes.child nested 32 levels deep (with the top) decodes; 33 levels are refused."""
    pb = rpc.compile_proto(PROTO)

    def nested(levels):
        top = pb.AllTypes(i32=levels)
        m = top
        for i in range(levels - 1):
            m.child.i32 = i
            m = m.child
        return top

    ok = nested(32)
    out = recode(run, lab, "AllTypes", ok.SerializeToString(), "pbtool recode of 32 levels")
    expect_same(out, ok, "32 levels of AllTypes.child after pbtool recode")
    result = run([lab.program("pbtool"), "recode", "AllTypes"], stdin=nested(33).SerializeToString())
    expect_exit(result, 1, what="pbtool recode of AllTypes.child nested 33 levels",
                hint="Count the depth as pb_decode goes down; past PB_MAX_DEPTH, PB_ERR_DEPTH.")


@pytest.mark.points(1)
@pytest.mark.milestone("interop")
def test_concatenated_messages_merge(run, lab):
    """Two AllTypes serialized one after the other parse as their merge, in C as in Python."""
    pb = rpc.compile_proto(PROTO)
    rng = random.Random(5)
    for i in range(6):
        a, b = rpc.random_message(pb.AllTypes, rng), rpc.random_message(pb.AllTypes, rng)
        data = a.SerializeToString() + b.SerializeToString()
        want = pb.AllTypes()
        want.ParseFromString(data)
        out = recode(run, lab, "AllTypes", data, "pbtool recode of two AllTypes back to back")
        expect_same(out, want, f"two AllTypes back to back (case {i + 1}), merged")
