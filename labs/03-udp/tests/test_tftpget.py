"""Lab 03, tftpget: a TFTP client, against the reference tftpd, atftpd, a
scripted server that misbehaves on purpose, and a lossy network."""
import os
import socket

import pytest

from netgrader import tftp
from netgrader.expect import Mismatch, expect_exit, expect_file, expect_stderr_line, \
    expect_valgrind_clean
from netgrader.tftp import IMPAIRMENT, RETRANSMIT_HINT, content, make_root

TIMEOUT_MS = 200
PARTIAL_HINT = ("Write to a temporary file beside LOCAL and rename it only when the last block "
                "has arrived; on failure remove it, so LOCAL is untouched.")


def tftpget(run, lab, port, remote, local, timeout_ms=TIMEOUT_MS, **kwargs):
    return run([lab.program("tftpget"), "-T", str(timeout_ms), "127.0.0.1", str(port), remote,
                local], **kwargs)


def reference_server(start_server, lab, root, timeout_ms=TIMEOUT_MS):
    return start_server([lab.reference("tftpd"), "-p", "0", "-r", root, "-T", str(timeout_ms)])


def only_files(directory, names, what):
    found = sorted(os.listdir(directory))
    if found != sorted(names):
        raise Mismatch(what, f"exactly {sorted(names)}", str(found), PARTIAL_HINT)


@pytest.mark.points(1)
@pytest.mark.milestone("read")
@pytest.mark.needs("test_tftpget_from_the_reference_server")
def test_tftpget_usage(run, lab, tmp_path, start_server):
    """Bad command lines exit 2 with a usage line; a good one fetches the file."""
    root, files = make_root(tmp_path, sizes=(10,))
    for argv in ([], ["127.0.0.1", "69", "a"], ["-T", "0", "127.0.0.1", "69", "a", "b"],
                 ["-x", "127.0.0.1", "69", "a", "b"], ["127.0.0.1", "70000", "a", "b"],
                 ["127.0.0.1", "69", "a", "b", "c"]):
        result = run([lab.program("tftpget"), *argv],
                     label=f"tftpget {' '.join(map(str, argv)) or '(no arguments)'}"[:100])
        expect_exit(result, 2, hint="A bad command line: message, usage line, exit 2.")
        expect_stderr_line(result, "usage")
    server = reference_server(start_server, lab, root)
    result = tftpget(run, lab, server.port, "f10.bin", tmp_path / "out")
    expect_exit(result, 0, "tftpget fetching f10.bin from the reference tftpd")
    expect_file(tmp_path / "out", files["f10.bin"], "f10.bin as tftpget saved it")


@pytest.mark.points(2)
@pytest.mark.milestone("read")
def test_tftpget_from_the_reference_server(run, lab, tmp_path, start_server):
    """Every size from the reference tftpd: 0, 1, 511, 512, 513, 1024, 70,000 bytes, and a file
    in a sub directory; nothing on stdout."""
    root, files = make_root(tmp_path)
    server = reference_server(start_server, lab, root)
    for name, expected in files.items():
        out = tmp_path / "out"
        result = tftpget(run, lab, server.port, name, out)
        expect_exit(result, 0, f"tftpget fetching {name}")
        expect_file(out, expected, f"{name} as tftpget saved it",
                    "The last DATA is shorter than 512 bytes: empty when the size is a multiple "
                    "of 512. ACK it, then stop.")
        if result.stdout:
            raise Mismatch(f"tftpget's stdout fetching {name}", "nothing", repr(result.stdout[:80]))


@pytest.mark.points(1)
@pytest.mark.milestone("read")
@pytest.mark.needs("test_tftpget_from_the_reference_server")
def test_tftpget_from_atftpd(run, lab, tmp_path, atftpd_server):
    """Files of 0, 512, 513 and 70,000 bytes from atftpd, a server nobody here wrote."""
    root, files = make_root(tmp_path, sizes=(0, 512, 513, 70_000))
    server = atftpd_server(root)
    for size in (0, 512, 513, 70_000):
        out = tmp_path / f"out{size}"
        result = tftpget(run, lab, server.port, f"f{size}.bin", out)
        expect_exit(result, 0, f"tftpget fetching f{size}.bin from atftpd")
        expect_file(out, files[f"f{size}.bin"], f"f{size}.bin from atftpd")


@pytest.mark.points(2)
@pytest.mark.milestone("loss")
@pytest.mark.needs("test_tftpget_from_the_reference_server")
def test_tftpget_through_a_lossy_network(run, lab, tmp_path, start_server, atftpd_server,
                                         impaired):
    """Through drops, duplicates, reordering and delay, from the reference tftpd and from
    atftpd (whose own retransmissions take a second each), the file arrives whole."""
    root, files = make_root(tmp_path, sizes=(20_000,))
    servers = {"the reference tftpd": (reference_server(start_server, lab, root, 100), IMPAIRMENT),
               "atftpd": (atftpd_server(root),
                          dict(drop={"up": [4], "down": [6]}, dup={"down": [3, 9]},
                               reorder={"down": [12]}))}
    for name, (server, impairment) in servers.items():
        link = impaired(server.port, **impairment)
        out = tmp_path / "out"
        result = tftpget(run, lab, link.port, "f20000.bin", out, timeout=60)
        expect_exit(result, 0, f"tftpget fetching from {name} through the lossy link",
                    RETRANSMIT_HINT)
        expect_file(out, files["f20000.bin"], f"f20000.bin from {name} through the lossy link",
                    "A duplicated DATA is ACKed again but written once; a DATA for another "
                    "block is ignored.")


@pytest.mark.points(2)
@pytest.mark.milestone("robustness")
@pytest.mark.needs("test_tftpget_from_the_reference_server")
def test_tftpget_reports_server_errors(run, lab, tmp_path, start_server):
    """A missing file: the server's message on stderr, exit 1, LOCAL untouched; an existing
    file then replaces LOCAL."""
    root, files = make_root(tmp_path, sizes=(100,))
    server = reference_server(start_server, lab, root)
    downloads = tmp_path / "downloads"
    downloads.mkdir()
    local = downloads / "local.txt"
    local.write_bytes(b"precious\n")
    result = tftpget(run, lab, server.port, "missing.bin", local)
    expect_exit(result, 1, "tftpget asking for a file that does not exist")
    expect_stderr_line(result, "not found",
                       hint="Show the message of the server's ERROR packet.")
    expect_file(local, b"precious\n", "LOCAL after a failed transfer", PARTIAL_HINT)
    only_files(downloads, ["local.txt"], "the directory of LOCAL after a failed transfer")
    result = tftpget(run, lab, server.port, "f100.bin", local)
    expect_exit(result, 0, "tftpget fetching f100.bin over an existing LOCAL")
    expect_file(local, files["f100.bin"], "LOCAL after a complete transfer")
    only_files(downloads, ["local.txt"], "the directory of LOCAL after a complete transfer")


@pytest.mark.points(1)
@pytest.mark.milestone("loss")
@pytest.mark.needs("test_tftpget_from_the_reference_server")
def test_tftpget_answers_strangers(run, lab, tmp_path, tftp_scripted_server):
    """A DATA from another port in the middle of a transfer gets ERROR 5 and changes
    nothing: the file from the real transfer arrives whole."""
    payload = content(1300, 5)
    seen = {}

    def handler(req, transfer):
        transfer.send(tftp.data(1, payload[:512]))
        transfer.receive(5)
        stranger = socket.socket(transfer.sock.family, socket.SOCK_DGRAM)
        stranger.bind((transfer.sock.getsockname()[0], 0))
        try:
            transfer.send(tftp.data(2, b"X" * 512), sock=stranger)
            stranger.settimeout(5)
            try:
                seen["stranger"] = tftp.parse(stranger.recvfrom(tftp.MAX_DATAGRAM)[0])
            except TimeoutError:
                seen["stranger"] = None
        finally:
            stranger.close()
        transfer.send(tftp.data(2, payload[512:1024]))
        transfer.receive(5)
        transfer.send(tftp.data(3, payload[1024:]))
        transfer.receive(5)

    server = tftp_scripted_server(handler)
    out = tmp_path / "out"
    result = tftpget(run, lab, server.port, "file", out, timeout_ms=1000)
    server.check()
    expect_exit(result, 0, "tftpget with a stranger in the middle of the transfer")
    expect_file(out, payload, "the file, with a stranger's DATA 2 sent in the middle",
                "Only the transfer's port (the first answer's source) may send you data.")
    reply = seen.get("stranger")
    if reply is None or reply.opcode != tftp.ERROR or reply.code != 5:
        raise Mismatch("what the stranger got back", "ERROR 5 (Unknown transfer ID)",
                       "nothing" if reply is None else tftp.describe(reply.raw),
                       "Answer a packet from any other address with ERROR 5, then carry on.")


@pytest.mark.points(1)
@pytest.mark.milestone("loss")
@pytest.mark.needs("test_tftpget_from_the_reference_server")
def test_tftpget_incomplete_transfer_leaves_local_untouched(run, lab, tmp_path,
                                                            tftp_scripted_server):
    """A server that goes silent after two blocks: exit 1 after the retries, LOCAL as it
    was, no temporary file left; a complete transfer from the same server succeeds."""
    payload = content(1500, 6)

    def handler(req, transfer):
        if req.filename == "whole":
            transfer.send_file(payload)
            return
        for block in (1, 2):
            transfer.send(tftp.data(block, payload[(block - 1) * 512:block * 512]))
            transfer.receive(5)

    server = tftp_scripted_server(handler)
    downloads = tmp_path / "downloads"
    downloads.mkdir()
    local = downloads / "local.bin"
    local.write_bytes(b"old contents\n")
    result = tftpget(run, lab, server.port, "half", local, timeout_ms=100)
    expect_exit(result, 1, "tftpget when the server stops after two blocks",
                "After 5 unanswered tries, give up: one line on stderr, exit 1.")
    expect_file(local, b"old contents\n", "LOCAL after an incomplete transfer", PARTIAL_HINT)
    only_files(downloads, ["local.bin"], "the directory of LOCAL after an incomplete transfer")
    result = tftpget(run, lab, server.port, "whole", local, timeout_ms=100)
    server.check()
    expect_exit(result, 0, "tftpget fetching a whole file from the same server")
    expect_file(local, payload, "LOCAL after a complete transfer")


@pytest.mark.points(1)
@pytest.mark.milestone("loss")
@pytest.mark.needs("test_tftpget_from_the_reference_server")
def test_tftpget_acks_duplicates_again(run, lab, tmp_path, tftp_scripted_server):
    """A duplicated DATA is ACKed again (its first ACK may be lost) and written once."""
    payload = content(1200, 8)
    acks = []

    def handler(req, transfer):
        transfer.send(tftp.data(1, payload[:512]))
        transfer.send(tftp.data(1, payload[:512]))
        for _ in range(2):
            packet = transfer.receive(5)
            acks.append(packet and tftp.describe(packet.raw))
        transfer.send(tftp.data(2, payload[512:1024]))
        transfer.receive(5)
        transfer.send(tftp.data(3, payload[1024:]))
        transfer.receive(5)

    server = tftp_scripted_server(handler)
    out = tmp_path / "out"
    result = tftpget(run, lab, server.port, "file", out, timeout_ms=1000)
    server.check()
    expect_exit(result, 0, "tftpget when DATA 1 comes twice")
    expect_file(out, payload, "the file when DATA 1 came twice", "Write a block only once.")
    if acks != ["ACK block 1", "ACK block 1"]:
        raise Mismatch("tftpget's answers to DATA 1 sent twice", "ACK block 1, twice",
                       str(acks), "ACK a duplicate DATA again: the first ACK may have been lost.")


@pytest.mark.points(1)
@pytest.mark.milestone("robustness")
@pytest.mark.needs("test_tftpget_from_the_reference_server")
def test_tftpget_block_numbers_wrap(run, lab, tmp_path, start_server):
    """33,600,000 bytes: more than 65,535 blocks of 512, so the block number wraps to 0."""
    root = tmp_path / "root"
    root.mkdir()
    size = 33_600_000
    data = content(size, 12)
    (root / "big.bin").write_bytes(data)
    server = reference_server(start_server, lab, root)
    out = tmp_path / "out"
    result = tftpget(run, lab, server.port, "big.bin", out, timeout=120)
    expect_exit(result, 0, "tftpget fetching 65,625 blocks",
                "Block numbers are 16 bits: after 65535 comes 0.")
    expect_file(out, data, "big.bin (65,625 blocks)")


@pytest.mark.points(1)
@pytest.mark.milestone("robustness")
@pytest.mark.needs("test_tftpget_from_the_reference_server")
def test_tftpget_valgrind_clean(run, lab, tmp_path, start_server):
    """Under Valgrind: a download, a missing file and a silent server, each without a leak
    or a descriptor left open."""
    root, files = make_root(tmp_path, sizes=(5000,))
    server = reference_server(start_server, lab, root)
    silent = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    silent.bind(("127.0.0.1", 0))
    try:
        # The silent server's five sends only cost time: -T 20 there.
        for remote, port, code, ms in (("f5000.bin", server.port, 0, 100),
                                       ("missing", server.port, 1, 100),
                                       ("f5000.bin", silent.getsockname()[1], 1, 20)):
            out = tmp_path / "out"
            result = tftpget(run, lab, port, remote, out, timeout_ms=ms, valgrind=True)
            expect_exit(result, code, f"tftpget fetching {remote} under valgrind")
            expect_valgrind_clean(result, f"valgrind on tftpget fetching {remote}")
    finally:
        silent.close()
    expect_file(tmp_path / "out", files["f5000.bin"], "f5000.bin under valgrind")


@pytest.mark.points(1)
@pytest.mark.milestone("robustness")
@pytest.mark.needs("test_tftpget_from_the_reference_server")
def test_tftpget_robust_io(lab, tmp_path, start_server, faults):
    """Under fault injection (its datagrams dropped or duplicated as they leave, EINTR and
    EAGAIN where the kernel may give them) the file still arrives whole."""
    root, files = make_root(tmp_path, sizes=(30_000,))
    server = reference_server(start_server, lab, root, 100)
    runner = faults(kinds=("drop", "dup", "eintr", "eagain"), rate=10)
    result = tftpget(runner.run, lab, server.port, "f30000.bin", tmp_path / "out", timeout_ms=100)
    expect_exit(result, 0, "tftpget under faults", RETRANSMIT_HINT)
    expect_file(tmp_path / "out", files["f30000.bin"], "f30000.bin under faults")
