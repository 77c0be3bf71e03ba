"""Lab 03, hidden tests: corners of the handout the public tests do not show."""
import os

import pytest

from netgrader import timing, tftp
from netgrader.expect import Mismatch, expect_exit, expect_file
from netgrader.tftp import content, make_root


def start(start_server, lab, root, timeout_ms=200):
    return start_server([lab.program("tftpd"), "-p", "0", "-r", root, "-T", str(timeout_ms)])


@pytest.mark.points(2)
@pytest.mark.milestone("loss")
@pytest.mark.needs("test_tftpd_serves_the_reference_client")
def test_hidden_tftpd_acks_a_repeated_final_block(lab, tmp_path, start_server, tftp_client):
    """The final ACK of an upload is lost: the client sends the last DATA again and must
    get the ACK again; the file is written once."""
    root, _files = make_root(tmp_path, sizes=())
    server = start(start_server, lab, root, timeout_ms=1000)
    client = tftp_client()
    payload = content(700, 1)
    client.send(tftp.wrq("last.bin"), server.port)
    _, tid = client.expect(tftp.ACK, "the answer to WRQ last.bin", block=0)
    client.send(tftp.data(1, payload[:512]), tid)
    client.expect(tftp.ACK, "the ACK of DATA 1", block=1)
    client.send(tftp.data(2, payload[512:]), tid)
    client.expect(tftp.ACK, "the ACK of the final DATA 2", block=2)
    client.send(tftp.data(2, payload[512:]), tid)
    client.expect(tftp.ACK, "the answer to the final DATA 2 sent again (its ACK was lost)",
                  block=2, hint="After the last ACK, stay a while and ACK a repeated final "
                                "block again (RFC 1350 calls it dallying).")
    timing.wait_until(lambda: (root / "last.bin").exists(), 5)
    expect_file(root / "last.bin", payload, "last.bin, its final block received twice")


@pytest.mark.points(1)
@pytest.mark.milestone("options")
@pytest.mark.needs("test_tftpd_serves_the_reference_client")
def test_hidden_tftpd_lowers_a_huge_blksize(lab, tmp_path, start_server, tftp_client):
    """blksize 70000 is more than RFC 2348 allows: the OACK offers 65464 and the blocks
    have that size."""
    root, files = make_root(tmp_path, sizes=(70_000,))
    server = start(start_server, lab, root)
    client = tftp_client()
    client.send(tftp.rrq("f70000.bin", options={"blksize": "70000"}), server.port)
    packet, tid = client.expect(tftp.OACK, "the answer to an RRQ with blksize 70000")
    if packet.options.get("blksize") != "65464":
        raise Mismatch("the blksize in the OACK", "65464 (the largest RFC 2348 allows)",
                       str(packet.options))
    client.send(tftp.ack(0), tid)
    packet, _ = client.expect(tftp.DATA, "DATA 1 with blksize 65464", block=1)
    client.send(tftp.ack(1), tid)
    last, _ = client.expect(tftp.DATA, "DATA 2 with blksize 65464", block=2)
    client.send(tftp.ack(2), tid)
    if packet.payload + last.payload != files["f70000.bin"]:
        raise Mismatch("f70000.bin in blocks of 65464", "65464 + 4536 bytes, the file's",
                       f"{len(packet.payload)} + {len(last.payload)} bytes")


@pytest.mark.points(1)
@pytest.mark.milestone("write")
@pytest.mark.needs("test_tftpd_serves_the_reference_client")
def test_hidden_tftpd_upload_places(lab, tmp_path, start_server, tftp_client):
    """A WRQ naming a directory or a missing directory is refused; one into an existing
    sub directory is accepted."""
    root, _files = make_root(tmp_path, sizes=())
    server = start(start_server, lab, root)
    client = tftp_client()
    for name, codes in (("sub", {2, 6}), ("nowhere/x.bin", {1, 2})):
        client.send(tftp.wrq(name), server.port)
        packet, _ = client.expect(tftp.ERROR, f"the answer to WRQ {name!r}")
        if packet.code not in codes:
            raise Mismatch(f"the error code for WRQ {name!r}", " or ".join(map(str, sorted(codes))),
                           f"{packet.code} {packet.message!r}")
    client.send(tftp.wrq("sub/new.bin"), server.port)
    _, tid = client.expect(tftp.ACK, "the answer to WRQ sub/new.bin", block=0)
    client.send(tftp.data(1, b"inside"), tid)
    client.expect(tftp.ACK, "the ACK of the only block", block=1)
    timing.wait_until(lambda: (root / "sub" / "new.bin").exists(), 5)
    expect_file(root / "sub" / "new.bin", b"inside", "sub/new.bin")


@pytest.mark.points(2)
@pytest.mark.milestone("options")
@pytest.mark.needs("test_tftpget_from_the_reference_server")
def test_hidden_tftpget_refuses_an_unasked_oack(run, lab, tmp_path, tftp_scripted_server):
    """tftpget asks for no option: an OACK is answered with ERROR 8, exit 1, no LOCAL."""
    errors = []

    def handler(req, transfer):
        if req.filename == "good":
            transfer.send_file(b"plain\n")
            return
        transfer.send(tftp.oack({"blksize": "1024"}))
        packet = transfer.receive(5)
        errors.append(packet)

    server = tftp_scripted_server(handler)
    out = tmp_path / "out"
    argv = [lab.program("tftpget"), "-T", "300", "127.0.0.1", str(server.port)]
    result = run([*argv, "good", out])
    expect_exit(result, 0, "tftpget fetching a plain file from the scripted server")
    expect_file(out, b"plain\n", "the plain file")
    os.unlink(out)
    result = run([*argv, "odd", out])
    server.check()
    expect_exit(result, 1, "tftpget answered with an option it did not ask for")
    packet = errors[0] if errors else None
    if packet is None or packet.opcode != tftp.ERROR or packet.code != 8:
        raise Mismatch("tftpget's answer to an OACK it did not ask for", "ERROR 8",
                       "nothing" if packet is None else tftp.describe(packet.raw),
                       "RFC 2347: a client refuses an option negotiation with ERROR 8.")
    if out.exists():
        raise Mismatch("LOCAL after the refused transfer", "no file", "a file was created")
