"""The TFTP peers of lab 03's tests (netgrader/tftp.py): packets are built
and parsed to the RFC's bytes, malformed ones are named, the scripted client
and the scripted server complete a transfer with each other, a failure in a
scripted server's handler reaches the test, and atftpd starts and serves."""
from pathlib import Path

import pytest

from netgrader import tftp
from netgrader.expect import Mismatch
from netgrader.procs import Journal


def test_packets_have_the_rfc_layout():
    assert tftp.rrq("a.txt") == b"\x00\x01a.txt\x00octet\x00"
    assert tftp.wrq("b", options={"blksize": 1024}) == b"\x00\x02b\x00octet\x00blksize\x001024\x00"
    assert tftp.ack(65536 + 7) == b"\x00\x04\x00\x07"  # block numbers are 16 bits
    assert tftp.data(1, b"hi") == b"\x00\x03\x00\x01hi"
    assert tftp.error(1, "File not found") == b"\x00\x05\x00\x01File not found\x00"
    assert tftp.oack({"tsize": 5}) == b"\x00\x06tsize\x005\x00"
    p = tftp.parse(tftp.rrq("x", "NetAscii", {"BlkSize": "8"}))
    assert (p.opcode, p.filename, p.mode, p.options) == (tftp.RRQ, "x", "NetAscii", {"blksize": "8"})
    assert tftp.describe(tftp.data(3, b"z" * 512)) == "DATA block 3, 512 bytes"


@pytest.mark.parametrize("raw", [b"", b"\x00", b"\x00\x04\x00", b"\x00\x04\x00\x01\x00",
                                 b"\x00\x01name", b"\x00\x01name\x00", b"\x00\x09",
                                 b"\x00\x06blksize\x00"])
def test_malformed_packets_are_named(raw):
    with pytest.raises(ValueError):
        tftp.parse(raw)
    assert tftp.describe(raw).startswith("malformed packet")


def test_scripted_client_and_server_complete_a_transfer():
    journal = Journal()
    payload = tftp.content(1300, 1)
    server = tftp.ScriptedServer(lambda req, transfer: transfer.send_file(payload), journal)
    client = tftp.ScriptedClient(journal)
    try:
        assert client.download(server.port, "any") == payload
        server.check()
        assert server.requests[0].filename == "any"
        assert any("received 1300 bytes in 3 blocks" in step for step in journal.steps)
    finally:
        client.close()
        server.close()


def test_a_failing_handler_reaches_the_test():
    journal = Journal()

    def handler(req, transfer):
        transfer.send(tftp.data(1, b"x" * 512))
        if transfer.receive(5) is not None:
            raise Mismatch("the handler", "a failure", "one", "")

    server = tftp.ScriptedServer(handler, journal)
    client = tftp.ScriptedClient(journal)
    try:
        client.send(tftp.rrq("f"), server.port)
        _, port = client.expect(tftp.DATA, "DATA 1", block=1)
        client.send(tftp.ack(1), port)
        with pytest.raises(Mismatch):
            server.check()
    finally:
        client.close()
        server.close()


def test_the_client_rejects_a_wrong_block():
    journal = Journal()

    def handler(req, transfer):
        transfer.send(tftp.data(1, b"x" * 512))
        transfer.receive(5)
        transfer.send(tftp.data(3, b"y"))

    server = tftp.ScriptedServer(handler, journal)
    client = tftp.ScriptedClient(journal)
    try:
        with pytest.raises(Mismatch, match="DATA block 2"):
            client.download(server.port, "f")
    finally:
        client.close()
        server.close()


def test_atftpd_starts_and_serves(tmp_path):
    journal = Journal()
    root = tmp_path / "root"
    root.mkdir()
    (root / "f.bin").write_bytes(tftp.content(700, 2))
    try:
        server = tftp.start_atftpd(root, tmp_path, journal)
    except tftp.EnvironmentError_ as e:
        pytest.skip(str(e))
    client = tftp.ScriptedClient(journal)
    try:
        assert client.download(server.port, "f.bin") == (root / "f.bin").read_bytes()
    finally:
        client.close()
        server.stop()
    assert Path(server.log).exists()
