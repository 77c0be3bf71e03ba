"""The protobuf peers of lab 07's tests (netgrader/rpc.py): protoc compiles
the lab's schema into a module once per process, random messages reach
every field and round-trip through Python's protobuf, and protoc's
--encode, --decode and --decode_raw read the encoding guide's examples."""
import random
from pathlib import Path

from netgrader import rpc

ROOT = Path(__file__).resolve().parents[2]
PROTO = ROOT / "labs" / "07-rpc" / "scoreboard.proto"


def test_compile_proto_once_per_file():
    first = rpc.compile_proto(PROTO)
    assert rpc.compile_proto(PROTO) is first
    assert first.Test1(a=150).SerializeToString() == bytes.fromhex("089601")
    assert first.Test5(f=[3, 270, 86942]).SerializeToString() == bytes.fromhex("3206038e029ea705")


def test_random_messages_reach_every_field_and_round_trip():
    pb = rpc.compile_proto(PROTO)
    rng = random.Random(1)
    seen = set()
    for _ in range(30):
        msg = rpc.random_message(pb.AllTypes, rng)
        again = pb.AllTypes()
        again.ParseFromString(msg.SerializeToString())
        assert again == msg
        seen |= {f.name for f, _ in msg.ListFields()}
    assert seen == {f.name for f in pb.AllTypes.DESCRIPTOR.fields}


def test_protoc_reads_and_writes_the_guide_examples():
    data = rpc.protoc_encode(PROTO, "scoreboard.Test2", 'b: "testing"')
    assert data == bytes.fromhex("120774657374696e67")
    assert rpc.protoc_decode(PROTO, "scoreboard.Test2", data) == 'b: "testing"\n'
    assert rpc.protoc_decode_raw(bytes.fromhex("089601")) == "1: 150\n"
