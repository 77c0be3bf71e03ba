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


def _serve_once(path, script):
    """A Unix-socket server in a thread: accepts one client and runs script(conn)."""
    import socket
    import threading

    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    listener.bind(str(path))
    listener.listen(1)

    def run():
        conn, _ = listener.accept()
        with conn:
            script(conn)
        listener.close()

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return thread


def test_sbrpc_frames_calls_and_replies_by_id(tmp_path):
    """The scoreboard client (netgrader/sbrpc.py): big-endian frames, replies
    matched by id whatever their order, a bad frame and a close reported."""
    import pytest
    from netgrader import sbrpc
    from netgrader.expect import Mismatch

    pb = sbrpc.messages(PROTO)
    assert sbrpc.frame(b"x" * 300) == b"\x00\x00\x00\x01\x2c" + b"x" * 300
    call = pb.Call()
    call.ParseFromString(sbrpc.call_bytes(pb, "Get", pb.Player(name="a"), 7, 50)[5:])
    assert (call.id, call.method, call.deadline_ms) == (7, "Get", 50)

    def script(conn):
        data = b""
        while data.count(b"Wait") < 2:
            data += conn.recv(4096)
        conn.sendall(sbrpc.reply_bytes(pb, 2) + sbrpc.reply_bytes(pb, 1, sbrpc.NOT_FOUND, "no"))
        conn.sendall(b"\x01\x00\x00\x00\x00")  # a frame with flags 1

    path = tmp_path / "sb.sock"
    thread = _serve_once(path, script)
    client = sbrpc.SbClient(pb, str(path))
    ids = [client.send_call("Wait", pb.WaitRequest(ms=5)) for _ in range(2)]
    got = client.replies(ids)
    assert got[1].status == sbrpc.NOT_FOUND and got[2].status == sbrpc.OK
    with pytest.raises(Mismatch, match="flags 0"):
        client.reply("a bad frame", timeout=2)
    thread.join(timeout=5)
    client.buffer.clear()
    assert client.closed(timeout=2)
    client.close()
