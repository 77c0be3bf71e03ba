"""Lab 03, tftpd: a TFTP server (RFC 1350 with the blksize, tsize and timeout
options), against the reference client, real clients (curl, tftp-hpa's tftp,
atftp), a scripted client that misbehaves on purpose, and a lossy network
(the grader's impairment proxy between client and server)."""
import os
import threading
import time

import pytest

from netgrader import timing, tftp
from netgrader.tftp import IMPAIRMENT, RETRANSMIT_HINT, content, make_root

TIMEOUT_MS = 200  # the server's -T in most tests: losses are recovered quickly
from netgrader.expect import Mismatch, expect_bytes, expect_exit, expect_file, \
    expect_stderr_line, expect_valgrind_clean

def start(start_server, lab, root, timeout_ms=TIMEOUT_MS, **kwargs):
    return start_server([lab.program("tftpd"), "-p", "0", "-r", root, "-T", str(timeout_ms)],
                        **kwargs)


def reference_get(run, lab, port, remote, local, timeout_ms=TIMEOUT_MS, **kwargs):
    return run([lab.reference("tftpget"), "-T", str(timeout_ms), "127.0.0.1", str(port), remote,
                local], **kwargs)


def curl_get(run, port, remote, local, *options, **kwargs):
    return run(["curl", "-sS", "--max-time", "30", *options, f"tftp://127.0.0.1:{port}/{remote}",
                "-o", local], **kwargs)


def curl_put(run, port, local, remote, *options, **kwargs):
    return run(["curl", "-sS", "--max-time", "30", *options, "-T", local,
                f"tftp://127.0.0.1:{port}/{remote}"], **kwargs)


def hpa_tftp(run, port, command, *args, **kwargs):
    return run(["tftp", "-m", "binary", "127.0.0.1", str(port), "-c", command, *args], **kwargs)


def atftp(run, port, direction, local, remote, *options, **kwargs):
    return run(["atftp", *options, direction, "-l", local, "-r", remote, "127.0.0.1", str(port)],
               **kwargs)


def no_leftovers(root, expected_names, what):
    """Only expected_names (and no temporary file) in root."""
    names = sorted(os.listdir(root))
    if names != sorted(expected_names):
        raise Mismatch(what, f"the root to hold exactly {sorted(expected_names)}", str(names),
                       "An upload goes to a temporary file that is renamed only when the last "
                       "block has arrived, and removed when the transfer fails.")


@pytest.mark.points(1)
@pytest.mark.milestone("read")
@pytest.mark.needs("test_tftpd_serves_the_reference_client")
def test_tftpd_usage(run, lab, tmp_path, start_server):
    """Bad options exit 2 with a usage line, a missing root exits 1; good ones serve."""
    root, files = make_root(tmp_path, sizes=(1,))
    for argv in (["-x"], ["-p", "70000", "-r", root], ["-p", "0"], ["-r", root],
                 ["-p", "0", "-r", root, "-T", "0"], ["-p", "0", "-r", root, "extra"]):
        result = run([lab.program("tftpd"), *argv],
                     label=f"tftpd {' '.join(map(str, argv)) or '(no arguments)'}"[:100])
        expect_exit(result, 2, hint="A bad or missing option: message, usage line, exit 2.")
        expect_stderr_line(result, "usage")
    result = run([lab.program("tftpd"), "-p", "0", "-r", tmp_path / "missing"])
    expect_exit(result, 1, hint="A root directory that does not exist: say so, exit 1.")
    server = start(start_server, lab, root)
    reference_get(run, lab, server.port, "f1.bin", tmp_path / "out")
    expect_file(tmp_path / "out", files["f1.bin"], "f1.bin fetched by the reference client")


@pytest.mark.points(2)
@pytest.mark.milestone("read")
def test_tftpd_serves_the_reference_client(run, lab, tmp_path, start_server):
    """Every size, through the reference tftpget: 0, 1, 511, 512, 513, 1024, 70,000 bytes."""
    root, files = make_root(tmp_path)
    server = start(start_server, lab, root)
    for name, expected in files.items():
        out = tmp_path / f"out-{name.replace('/', '-')}"
        result = reference_get(run, lab, server.port, name, out)
        expect_exit(result, 0, f"the reference tftpget fetching {name}")
        expect_file(out, expected, f"{name} as received",
                    "A transfer ends with a DATA shorter than 512 bytes: an empty one when the "
                    "size is a multiple of 512.")


@pytest.mark.points(1)
@pytest.mark.milestone("read")
@pytest.mark.needs("test_tftpd_serves_the_reference_client")
def test_tftpd_block_sizes_exact(lab, tmp_path, start_server, tftp_client):
    """A strict client: block numbers in order, full blocks but the last, a final empty DATA
    for multiples of 512, all from one new port."""
    root, files = make_root(tmp_path, sizes=(0, 512, 1024, 1500))
    server = start(start_server, lab, root)
    client = tftp_client()
    for size in (0, 512, 1024, 1500):
        got = client.download(server.port, f"f{size}.bin")
        expect_bytes(got, files[f"f{size}.bin"], f"f{size}.bin received block by block")


@pytest.mark.points(2)
@pytest.mark.milestone("options")
@pytest.mark.needs("test_tftpd_serves_the_reference_client")
def test_tftpd_serves_curl(run, lab, tmp_path, start_server):
    """curl (which asks for blksize and tsize) gets every size, also with blksize 1428,
    blksize 8 and no options."""
    root, files = make_root(tmp_path)
    server = start(start_server, lab, root)
    for options in ((), ("--tftp-blksize", "1428"), ("--tftp-blksize", "8"),
                    ("--tftp-no-options",)):
        for name in ("f0.bin", "f512.bin", "f1024.bin", "f70000.bin"):
            out = tmp_path / "out"
            result = curl_get(run, server.port, name, out, *options)
            expect_exit(result, 0, f"curl {' '.join(options)} fetching {name}",
                        "curl sends options (RFC 2347): answer with an OACK of those you "
                        "accept, or ignore them all and send DATA 1.")
            expect_file(out, files[name], f"{name} as curl {' '.join(options)} received it")


@pytest.mark.points(2)
@pytest.mark.milestone("read")
@pytest.mark.needs("test_tftpd_serves_the_reference_client")
def test_tftpd_serves_tftp_hpa_and_atftp(run, lab, tmp_path, start_server):
    """tftp-hpa's tftp and atftp fetch files of several sizes."""
    root, files = make_root(tmp_path)
    server = start(start_server, lab, root)
    for name in ("f0.bin", "f513.bin", "f70000.bin"):
        out = tmp_path / "out-hpa"
        result = hpa_tftp(run, server.port, "get", name, out)
        expect_file(out, files[name], f"{name} as tftp-hpa's tftp received it")
        out = tmp_path / "out-atftp"
        result = atftp(run, server.port, "-g", out, name)
        expect_exit(result, 0, f"atftp fetching {name}")
        expect_file(out, files[name], f"{name} as atftp received it")


@pytest.mark.points(2)
@pytest.mark.milestone("options")
@pytest.mark.needs("test_tftpd_serves_the_reference_client")
def test_tftpd_accepts_uploads_from_curl(run, lab, tmp_path, start_server):
    """curl -T uploads files of 0, 512 and 70,000 bytes; each arrives whole, nothing else stays."""
    root, files = make_root(tmp_path, sizes=())
    server = start(start_server, lab, root)
    before = os.listdir(root)
    for size in (0, 512, 70_000):
        local = tmp_path / f"up{size}"
        local.write_bytes(content(size, 100 + size))
        result = curl_put(run, server.port, local, f"up{size}.bin")
        expect_exit(result, 0, f"curl uploading {size} bytes")
        expect_file(root / f"up{size}.bin", local.read_bytes(), f"the upload of {size} bytes")
    no_leftovers(root, before + [f"up{size}.bin" for size in (0, 512, 70_000)],
                 "the root after three uploads")


@pytest.mark.points(2)
@pytest.mark.milestone("write")
@pytest.mark.needs("test_tftpd_serves_the_reference_client")
def test_tftpd_accepts_uploads_from_tftp_hpa_and_atftp(run, lab, tmp_path, start_server):
    """tftp-hpa's tftp and atftp upload files; each arrives whole."""
    root, _files = make_root(tmp_path, sizes=())
    server = start(start_server, lab, root)
    for size in (1, 1024, 9000):
        local = tmp_path / f"up{size}"
        local.write_bytes(content(size, 200 + size))
        hpa_tftp(run, server.port, "put", local, f"hpa{size}.bin")
        expect_file(root / f"hpa{size}.bin", local.read_bytes(), f"tftp-hpa's upload of {size} bytes")
        result = atftp(run, server.port, "-p", local, f"atftp{size}.bin")
        expect_exit(result, 0, f"atftp uploading {size} bytes")
        expect_file(root / f"atftp{size}.bin", local.read_bytes(), f"atftp's upload of {size} bytes")


@pytest.mark.points(3)
@pytest.mark.milestone("options")
@pytest.mark.needs("test_tftpd_serves_the_reference_client")
def test_tftpd_negotiates_options(lab, tmp_path, start_server, tftp_client):
    """blksize and tsize come back in an OACK (unknown options left out); with no options
    there is no OACK; a WRQ's tsize is echoed."""
    root, files = make_root(tmp_path, sizes=(3000,))
    server = start(start_server, lab, root)
    client = tftp_client()
    # Acceptance first: no options, plain RFC 1350.
    got = client.download(server.port, "f3000.bin")
    expect_bytes(got, files["f3000.bin"], "f3000.bin without options")

    client.send(tftp.rrq("f3000.bin", options={"blksize": "1024", "tsize": "0", "color": "blue"}),
                server.port)
    packet, tid = client.expect(tftp.OACK, "the answer to an RRQ with blksize 1024, tsize 0 "
                                "and an unknown option",
                                hint="Accepted options come back in an OACK; unknown ones are "
                                     "left out of it (RFC 2347).")
    wanted = {"blksize": "1024", "tsize": "3000"}
    if packet.options != wanted:
        raise Mismatch("the options of the OACK", str(wanted), str(packet.options),
                       "tsize in a read request is answered with the file's size in bytes.")
    client.send(tftp.ack(0), tid)
    sizes = []
    for block in (1, 2, 3):
        packet, _ = client.expect(tftp.DATA, f"DATA block {block} with blksize 1024", block=block)
        sizes.append(len(packet.payload))
        client.send(tftp.ack(block), tid)
    if sizes != [1024, 1024, 952]:
        raise Mismatch("the sizes of the blocks with blksize 1024", "[1024, 1024, 952]", str(sizes))

    client.send(tftp.wrq("new.bin", options={"tsize": "5"}), server.port)
    packet, tid = client.expect(tftp.OACK, "the answer to a WRQ with tsize 5",
                                hint="A write request's tsize is echoed in the OACK, which "
                                     "takes the place of ACK 0.")
    if packet.options != {"tsize": "5"}:
        raise Mismatch("the options of the OACK to a WRQ", "{'tsize': '5'}", str(packet.options))
    client.send(tftp.data(1, b"hello"), tid)
    client.expect(tftp.ACK, "the answer to the only DATA of the upload", block=1)
    timing.wait_until(lambda: (root / "new.bin").exists(), 5)
    expect_file(root / "new.bin", b"hello", "the 5-byte upload")


@pytest.mark.points(2)
@pytest.mark.milestone("robustness")
@pytest.mark.needs("test_tftpd_serves_the_reference_client")
def test_tftpd_errors(lab, tmp_path, start_server, tftp_client):
    """Missing file: ERROR 1; outside the root (.., a link out): ERROR 2; netascii refused;
    an unknown mode refused. Every refusal is paired with a file that is served."""
    root, files = make_root(tmp_path, sizes=(10,))
    server = start(start_server, lab, root)
    client = tftp_client()
    expect_bytes(client.download(server.port, "sub/inner.txt"), files["sub/inner.txt"],
                 "sub/inner.txt (a file in a sub directory, served)")
    expect_bytes(client.download(server.port, "/f10.bin"), files["f10.bin"],
                 "/f10.bin (a leading slash means the root)")
    cases = [("missing.bin", "octet", {1}, "a file that does not exist"),
             ("../secret.txt", "octet", {2}, "a file outside the root"),
             ("sub/../../secret.txt", "octet", {2}, "a file outside the root"),
             ("link-out", "octet", {2}, "a symbolic link pointing outside the root"),
             ("sub", "octet", {1, 2}, "a directory"),
             ("f10.bin", "netascii", {0, 4}, "netascii mode"),
             ("f10.bin", "mail", {0, 4}, "an unknown mode")]
    for name, mode, codes, what in cases:
        client.send(tftp.rrq(name, mode), server.port)
        packet, _ = client.expect(tftp.ERROR, f"the answer to RRQ {name!r} ({what})",
                                  hint="Refuse with an ERROR packet; never send what is "
                                       "outside the root.")
        if packet.code not in codes:
            raise Mismatch(f"the error code for {what}", " or ".join(map(str, sorted(codes))),
                           f"{packet.code} {packet.message!r}",
                           "1 File not found, 2 Access violation, 4 Illegal TFTP operation.")
        if mode == "netascii" and "netascii" not in packet.message.lower():
            raise Mismatch("the message refusing netascii", "a message that names netascii",
                           repr(packet.message))
    expect_bytes(client.download(server.port, "f10.bin"), files["f10.bin"],
                 "f10.bin after the refusals")


@pytest.mark.points(1)
@pytest.mark.milestone("robustness")
@pytest.mark.needs("test_tftpd_errors")
def test_tftpd_request_rules(lab, tmp_path, start_server, tftp_client):
    """The mode in any case (OcTeT) is octet; a `..` component is refused even when the path
    stays inside the root; an ERROR sent to the request port gets no answer."""
    root, files = make_root(tmp_path, sizes=(10,))
    server = start(start_server, lab, root)
    client = tftp_client()
    client.send(tftp.rrq("f10.bin", "OcTeT"), server.port)
    packet, tid = client.expect(tftp.DATA, "the answer to RRQ 'f10.bin' in mode 'OcTeT'", block=1,
                                hint="Modes are compared ignoring case (strcasecmp): octet, "
                                     "OCTET and OcTeT are one mode.")
    client.send(tftp.ack(1), tid)
    expect_bytes(packet.payload, files["f10.bin"], "f10.bin fetched in mode 'OcTeT'")
    client.send(tftp.rrq("sub/../f10.bin"), server.port)
    hint = ("Refuse a name with any `..` component (ERROR 2), even one that would stay inside "
            "the root: look at the name's components before looking the file up.")
    packet, _ = client.expect(tftp.ERROR, "the answer to RRQ 'sub/../f10.bin'", hint=hint)
    if packet.code != 2:
        raise Mismatch("the error code for 'sub/../f10.bin'", "2 (access violation)",
                       f"{packet.code} {packet.message!r}", hint)
    # An ERROR, then a request whose answer is known (ERROR 1): if the ERROR
    # were answered, that answer would come first.
    client.send(tftp.error(0, "nothing to see"), server.port)
    client.send(tftp.rrq("missing.bin"), server.port)
    hint = ("An ERROR packet is never answered, not even at the request port: two programs "
            "that answer each other's errors never stop.")
    packet, _ = client.expect(tftp.ERROR, "the first answer after an ERROR and then an RRQ for "
                              "missing.bin were sent to the request port", hint=hint)
    if packet.code != 1:
        raise Mismatch("the first answer after an ERROR and then an RRQ for missing.bin",
                       "ERROR 1 (file not found), the answer to the RRQ: the ERROR gets none",
                       f"ERROR {packet.code} {packet.message!r}", hint)


@pytest.mark.points(1)
@pytest.mark.milestone("loss")
@pytest.mark.needs("test_tftpd_serves_the_reference_client")
def test_tftpd_retransmitted_request_is_one_transfer(lab, tmp_path, start_server, tftp_client):
    """The same RRQ twice from one port (a client retransmitting its request): one transfer."""
    root, files = make_root(tmp_path, sizes=(1000,))
    server = start(start_server, lab, root, timeout_ms=100)
    client = tftp_client()
    request = tftp.rrq("f1000.bin")
    client.send(request, server.port)
    client.send(request, server.port)
    packet, tid = client.expect(tftp.DATA, "the answer to RRQ 'f1000.bin'", block=1)
    # Unanswered, DATA 1 comes again every 100 ms from its transfer's port;
    # by its third copy a second transfer would long have sent its own.
    copies = 1
    while copies < 3:
        packet, source = client.receive(5)
        if packet is None:
            raise Mismatch("DATA 1 again, unacknowledged, with -T 100", "a retransmission",
                           "nothing within 5 s", RETRANSMIT_HINT)
        if source != tid:
            raise Mismatch("the packets after an RRQ sent twice from the same port",
                           f"one transfer (port {tid})",
                           f"{tftp.describe(packet.raw)} from a second port, {source}",
                           "A request identical to one being served, from the same address "
                           "and port, is that client retransmitting: ignore it.")
        copies += packet.opcode == tftp.DATA and packet.block == 1
    client.send(tftp.ack(1), tid)
    packet, _ = client.expect(tftp.DATA, "DATA 2 after ACK 1", block=2)
    client.send(tftp.ack(2), tid)
    expect_bytes(files["f1000.bin"][:512] + packet.payload, files["f1000.bin"],
                 "f1000.bin from the one transfer")


@pytest.mark.points(2)
@pytest.mark.milestone("write")
@pytest.mark.needs("test_tftpd_serves_the_reference_client")
def test_tftpd_never_overwrites(lab, tmp_path, start_server, tftp_client):
    """A WRQ for an existing file gets ERROR 6 and the file stays as it was; a new name
    is accepted; a WRQ outside the root gets ERROR 2."""
    root, files = make_root(tmp_path, sizes=(100,))
    server = start(start_server, lab, root)
    client = tftp_client()
    client.send(tftp.wrq("fresh.bin"), server.port)
    _, tid = client.expect(tftp.ACK, "the answer to a WRQ for a new file", block=0)
    client.send(tftp.data(1, b"new"), tid)
    client.expect(tftp.ACK, "the ACK of the upload's only block", block=1)
    for name, code in (("f100.bin", 6), ("../escape.bin", 2), ("sub/../../escape.bin", 2)):
        client.send(tftp.wrq(name), server.port)
        packet, _ = client.expect(tftp.ERROR, f"the answer to WRQ {name!r}")
        if packet.code != code:
            raise Mismatch(f"the error code for WRQ {name!r}", str(code),
                           f"{packet.code} {packet.message!r}",
                           "6 File already exists (never overwrite), 2 Access violation.")
    expect_file(root / "f100.bin", files["f100.bin"], "f100.bin after a refused WRQ")
    if (tmp_path / "escape.bin").exists():
        raise Mismatch("the directory above the root", "no escape.bin", "escape.bin was written")
    timing.wait_until(lambda: (root / "fresh.bin").exists(), 5)
    expect_file(root / "fresh.bin", b"new", "the accepted upload")


@pytest.mark.points(2)
@pytest.mark.milestone("read")
@pytest.mark.needs("test_tftpd_serves_the_reference_client")
def test_tftpd_transfer_ids(lab, tmp_path, start_server, tftp_client):
    """A transfer has its own port; a packet to it from a stranger gets ERROR 5 and the
    transfer goes on undisturbed."""
    root, files = make_root(tmp_path, sizes=(2000,))
    server = start(start_server, lab, root)
    client, stranger = tftp_client(), tftp_client(name="stranger")
    client.send(tftp.rrq("f2000.bin"), server.port)
    _, tid = client.expect(tftp.DATA, "the answer to RRQ f2000.bin", block=1)
    if tid == server.port:
        raise Mismatch("the port DATA 1 came from", "a new port (the transfer ID)", str(tid))
    stranger.send(tftp.ack(1), tid)
    packet, _ = stranger.expect(tftp.ERROR, "the answer to a stranger's ACK at the transfer port",
                                hint="Check the source of every datagram (recvfrom's address): "
                                     "only the client of this transfer may take part.")
    if packet.code != 5:
        raise Mismatch("the stranger's error code", "5 (Unknown transfer ID)",
                       f"{packet.code} {packet.message!r}")
    received = [b""] * 5
    for block in (1, 2, 3, 4):
        client.send(tftp.ack(block), tid)
        packet, source = client.expect(tftp.DATA, f"DATA {block + 1} after the stranger left",
                                       block=block + 1,
                                       hint="A stranger's packet changes nothing in the transfer.")
        received[block] = packet.payload
        if len(packet.payload) < 512:
            client.send(tftp.ack(block + 1), tid)
            break
    if sum(map(len, received)) != 2000 - 512:
        raise Mismatch("the rest of f2000.bin", "1488 bytes after block 1",
                       f"{sum(map(len, received))} bytes")


@pytest.mark.points(2)
@pytest.mark.milestone("loss")
@pytest.mark.needs("test_tftpd_serves_the_reference_client")
def test_tftpd_retransmits_then_gives_up(run, lab, tmp_path, start_server, tftp_client):
    """Without an ACK, DATA 1 comes again after -T ms, 5 times in all; then the server
    gives up and serves the next client."""
    root, files = make_root(tmp_path, sizes=(700,))
    server = start(start_server, lab, root, timeout_ms=150)
    client = tftp_client()
    client.send(tftp.rrq("f700.bin"), server.port)
    copies, times = 0, []
    while True:
        packet, _ = client.receive(2)
        if packet is None or packet.opcode == tftp.ERROR:
            break
        if packet.opcode != tftp.DATA or packet.block != 1:
            raise Mismatch("a packet while the ACK is withheld", "DATA block 1 again",
                           tftp.describe(packet.raw))
        copies += 1
        times.append(time.monotonic())
        if copies > 5:
            break
    if copies != 5:
        raise Mismatch("copies of DATA 1 without an ACK", "5 (sent, then 4 retransmissions)",
                       str(copies), RETRANSMIT_HINT)
    # From the first copy to the last, as this client read them: on a busy
    # machine a copy read late shortens the gap after it to nothing, the
    # whole span only by how late the first one was read.
    gaps = [b - a for a, b in zip(times, times[1:])]
    if times[-1] - times[0] < 0.075 * len(gaps):
        raise Mismatch("the time between retransmissions with -T 150", "at least about 150 ms",
                       ", ".join(f"{g * 1000:.0f} ms" for g in gaps),
                       "Retransmit after -T ms of silence, not at once.")
    reference_get(run, lab, server.port, "f700.bin", tmp_path / "out")
    expect_file(tmp_path / "out", files["f700.bin"], "f700.bin fetched after the give-up")


@pytest.mark.points(2)
@pytest.mark.milestone("loss")
@pytest.mark.needs("test_tftpd_serves_the_reference_client")
def test_tftpd_ignores_duplicate_acks(lab, tmp_path, start_server, tftp_client):
    """The Sorcerer's Apprentice: DATA 1 comes again before its ACK, both copies are ACKed,
    and the duplicate ACK must not make the server send DATA 2 again."""
    root, files = make_root(tmp_path, sizes=(1500,))
    server = start(start_server, lab, root, timeout_ms=1000)
    client = tftp_client()
    client.send(tftp.rrq("f1500.bin"), server.port)
    _, tid = client.expect(tftp.DATA, "the answer to RRQ f1500.bin", block=1)
    client.expect(tftp.DATA, "DATA 1 again, after -T ms without an ACK", block=1,
                  hint=RETRANSMIT_HINT)
    client.send(tftp.ack(1), tid)
    client.send(tftp.ack(1), tid)
    client.expect(tftp.DATA, "the answer to ACK 1", block=2)
    # The duplicate ACK 1 reached the server before this ACK 2 leaves, so a DATA 2 that
    # answers it comes before DATA 3. Only a timer could send DATA 2 again first: -T ms
    # after it went (an adaptive timer too: ACK 1 answered a retransmission, which gives
    # no round-trip sample), and this ACK goes at once.
    client.send(tftp.ack(2), tid)
    packet, _ = client.receive(5)
    if packet is not None and packet.opcode == tftp.DATA and packet.block == 2:
        raise Mismatch("the packet after ACK 1, ACK 1 again and ACK 2", "DATA 3",
                       "DATA 2 again: the answer to the duplicate ACK 1",
                       "Answering every ACK with the next DATA doubles the traffic at each "
                       "duplicate (the Sorcerer's Apprentice bug): ignore ACKs of old blocks.")
    if packet is None or packet.opcode != tftp.DATA or packet.block != 3:
        raise Mismatch("the answer to ACK 2", "DATA 3",
                       "nothing within 5 s" if packet is None else tftp.describe(packet.raw))
    client.send(tftp.ack(3), tid)
    if len(packet.payload) != 1500 - 1024:
        raise Mismatch("the last block of f1500.bin", "476 bytes", f"{len(packet.payload)} bytes")


@pytest.mark.points(2)
@pytest.mark.milestone("write")
@pytest.mark.needs("test_tftpd_serves_the_reference_client")
def test_tftpd_aborted_upload_leaves_nothing(lab, tmp_path, start_server, tftp_client):
    """An upload whose client vanishes after two blocks: the name never appears, and no
    temporary file stays once the server gives up."""
    root, _files = make_root(tmp_path, sizes=())
    before = os.listdir(root)
    server = start(start_server, lab, root, timeout_ms=100)
    client = tftp_client()
    client.send(tftp.wrq("partial.bin"), server.port)
    _, tid = client.expect(tftp.ACK, "the answer to WRQ partial.bin", block=0)
    for block in (1, 2):
        client.send(tftp.data(block, content(512, block)), tid)
        client.expect(tftp.ACK, f"the ACK of DATA {block}", block=block)
    if (root / "partial.bin").exists():
        raise Mismatch("the root during an upload", "no partial.bin until the last block",
                       "partial.bin is there, incomplete",
                       "Write to a temporary name in the same directory; rename at the end.")
    timing.wait_until(lambda: sorted(os.listdir(root)) == sorted(before), 10)
    no_leftovers(root, before, "the root after the client vanished mid-upload")
    # Acceptance: the same name uploads fine afterwards (from a new port: the old one
    # may still hold the server's retransmitted ACKs).
    client = tftp_client(name="second client")
    client.send(tftp.wrq("partial.bin"), server.port)
    _, tid = client.expect(tftp.ACK, "the answer to WRQ partial.bin, again", block=0)
    client.send(tftp.data(1, b"whole"), tid)
    client.expect(tftp.ACK, "the ACK of the only block", block=1)
    timing.wait_until(lambda: (root / "partial.bin").exists(), 5)
    expect_file(root / "partial.bin", b"whole", "partial.bin uploaded in one block")


@pytest.mark.points(2)
@pytest.mark.milestone("robustness")
@pytest.mark.needs("test_tftpd_serves_the_reference_client")
def test_tftpd_concurrent_transfers(run, lab, tmp_path, start_server, tftp_client):
    """A stalled client delays nobody: 6 downloads and 2 uploads at once finish whole."""
    root, files = make_root(tmp_path, sizes=(100_000,))
    server = start(start_server, lab, root, timeout_ms=1000)
    staller = tftp_client(name="staller")
    staller.send(tftp.rrq("f100000.bin"), server.port)
    staller.expect(tftp.DATA, "the answer to the staller's RRQ", block=1)
    results, uploads = {}, {}

    def download(i):
        results[i] = reference_get(run, lab, server.port, "f100000.bin", tmp_path / f"d{i}",
                                   label=f"tftpget-{i}")

    def upload(i):
        local = tmp_path / f"u{i}"
        local.write_bytes(content(50_000, 300 + i))
        uploads[i] = (local, curl_put(run, server.port, local, f"u{i}.bin", label=f"curl-{i}"))

    threads = [threading.Thread(target=download, args=(i,)) for i in range(6)]
    threads += [threading.Thread(target=upload, args=(i,)) for i in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timing.scaled(60))
    for i in range(6):
        expect_exit(results[i], 0, f"concurrent download {i}")
        expect_file(tmp_path / f"d{i}", files["f100000.bin"], f"concurrent download {i}")
    for i, (local, result) in uploads.items():
        expect_exit(result, 0, f"concurrent upload {i}")
        expect_file(root / f"u{i}.bin", local.read_bytes(), f"concurrent upload {i}")


MALFORMED = [b"", b"\x00", b"\x00\x01", b"\x00\x01name-without-end", b"\x00\x01name\x00",
             b"\x00\x01name\x00octet", b"\x00\x02f\x00octet\x00blksize\x00",
             b"\x00\x07xyz", b"\xff\xff", b"\x00\x00", b"\x00\x03\x00\x01data",
             b"\x00\x04\x00\x01", b"\x00\x06blksize\x00512\x00", b"\x00\x05\x00\x01oops\x00",
             b"\x00\x01" + b"A" * 65_000 + b"\x00octet\x00",
             b"\x00\x01f0.bin\x00octet\x00" + b"opt\x00v\x00" * 40]


@pytest.mark.points(2)
@pytest.mark.milestone("robustness")
@pytest.mark.needs("test_tftpd_serves_the_reference_client")
def test_tftpd_survives_malformed_packets(lab, tmp_path, start_server, tftp_client):
    """Short, unterminated, unknown, misplaced and huge datagrams at the listening port:
    ERROR 4 or silence, never a crash, and the next client is served."""
    root, files = make_root(tmp_path, sizes=(600,))
    server = start(start_server, lab, root)
    client, marker = tftp_client(), tftp_client(name="second client")

    def only_errors(raw):
        """What came back to the client until now holds only ERRORs."""
        while True:
            packet, _ = client.receive(0.001, quiet=True)
            if packet is None:
                return
            if packet.opcode != tftp.ERROR:
                raise Mismatch(f"the answers to the malformed datagrams, up to {raw[:24]!r}",
                               "an ERROR (4, Illegal TFTP operation) or nothing",
                               tftp.describe(packet.raw),
                               "Check every length and every NUL before using a request.")

    for number, raw in enumerate(MALFORMED):
        client.send(raw, server.port)
        # Then a request whose answer is known (ERROR 1), from another socket:
        # once it is answered, the server has read the datagram before it, and
        # answered it too unless a thread of its own does so (what comes back
        # later is checked with the next datagram's, and once more at the end).
        # A new name each time: the same request again would be a retransmission.
        missing = f"missing-{number}.bin"
        marker.send(tftp.rrq(missing), server.port, quiet=True)
        marker.expect(tftp.ERROR, f"the answer to RRQ {missing!r} sent right after the "
                      f"malformed datagram {raw[:24]!r}",
                      hint="Nothing a client sends may stop the server from serving the next "
                      "request.")
        only_errors(raw)
        if not server.alive():
            raise Mismatch(f"the server after the datagram {raw[:24]!r}", "still running",
                           "it exited", "Nothing a client sends may stop the server.")
    expect_bytes(tftp_client(name="third client").download(server.port, "f600.bin"),
                 files["f600.bin"], "f600.bin after the malformed datagrams")
    only_errors(MALFORMED[-1])


@pytest.mark.points(2)
@pytest.mark.milestone("loss")
@pytest.mark.needs("test_tftpd_serves_the_reference_client")
def test_tftpd_through_a_lossy_network(run, lab, tmp_path, start_server, impaired):
    """Downloads through drops, duplicates, reordering and delay reach every client whole:
    the reference tftpget, curl, tftp-hpa's tftp and atftp (which negotiates blksize)."""
    root, files = make_root(tmp_path, sizes=(20_000, 1024))
    server = start(start_server, lab, root, timeout_ms=100)
    clients = {
        "the reference tftpget": lambda port, name, out: reference_get(run, lab, port, name, out),
        # curl asks for the timeout option (5 s at its defaults), which then replaces -T:
        # without options it waits -T ms like the others.
        "curl": lambda port, name, out: curl_get(run, port, name, out, "--tftp-no-options"),
        "tftp-hpa's tftp": lambda port, name, out: hpa_tftp(run, port, "get", name, out),
        "atftp": lambda port, name, out: atftp(run, port, "-g", out, name,
                                               "--option", "blksize 1024"),
    }
    for client, fetch in clients.items():
        for name in ("f20000.bin", "f1024.bin"):
            link = impaired(server.port, **IMPAIRMENT)
            out = tmp_path / "out"
            if out.exists():
                out.unlink()
            fetch(link.port, name, out)
            expect_file(out, files[name], f"{name} as {client} received it through the lossy link",
                        RETRANSMIT_HINT)


@pytest.mark.points(2)
@pytest.mark.milestone("loss")
@pytest.mark.needs("test_tftpd_accepts_uploads_from_tftp_hpa_and_atftp")
def test_tftpd_uploads_through_a_lossy_network(run, lab, tmp_path, start_server, impaired):
    """Uploads from curl and atftp through drops, duplicates and reordering arrive whole,
    once (a duplicated DATA is written once)."""
    root, _files = make_root(tmp_path, sizes=())
    server = start(start_server, lab, root, timeout_ms=100)
    local = tmp_path / "upload"
    local.write_bytes(content(12_000, 7))
    for client in ("curl", "atftp"):
        link = impaired(server.port, drop={"up": [4], "down": [3]}, dup={"up": [6, 7]},
                        reorder={"up": [10]})
        remote = f"lossy-{client}.bin"
        if client == "curl":
            result = curl_put(run, link.port, local, remote, timeout=60)
        else:
            result = atftp(run, link.port, "-p", local, remote, timeout=60)
        expect_exit(result, 0, f"{client} uploading through the lossy link", RETRANSMIT_HINT)
        timing.wait_until(lambda: (root / remote).exists(), 5)
        expect_file(root / remote, local.read_bytes(), f"{client}'s upload through the lossy link",
                    "A duplicate DATA is ACKed again but written only once.")


@pytest.mark.points(1)
@pytest.mark.milestone("robustness")
@pytest.mark.needs("test_tftpd_serves_curl")
def test_tftpd_block_numbers_wrap(run, lab, tmp_path, start_server):
    """Past block 65,535 the block number wraps to 0: 600,000 bytes in 8-byte blocks."""
    root, files = make_root(tmp_path, sizes=(600_000,))
    server = start(start_server, lab, root)
    out = tmp_path / "out"
    result = curl_get(run, server.port, "f600000.bin", out, "--tftp-blksize", "8", timeout=120)
    expect_exit(result, 0, "curl fetching 75,000 blocks of 8 bytes",
                "Block numbers are 16 bits: after 65535 comes 0.")
    expect_file(out, files["f600000.bin"], "f600000.bin in 8-byte blocks")


@pytest.mark.points(1)
@pytest.mark.milestone("robustness")
@pytest.mark.needs("test_tftpd_serves_the_reference_client")
def test_tftpd_valgrind_clean(run, lab, tmp_path, start_server, tftp_client):
    """Under Valgrind: downloads, an upload, an error, a stalled transfer cut by SIGTERM."""
    root, files = make_root(tmp_path, sizes=(5000,))
    server = start(start_server, lab, root, valgrind=True)
    reference_get(run, lab, server.port, "f5000.bin", tmp_path / "out", timeout=30)
    expect_file(tmp_path / "out", files["f5000.bin"], "f5000.bin under valgrind")
    local = tmp_path / "up"
    local.write_bytes(content(3000, 9))
    curl_put(run, server.port, local, "up.bin", timeout=30)
    client = tftp_client()
    client.send(tftp.rrq("missing"), server.port)
    client.expect(tftp.ERROR, "the answer to RRQ missing", seconds=10)
    client.send(tftp.rrq("f5000.bin"), server.port)
    client.expect(tftp.DATA, "the answer to RRQ f5000.bin", seconds=10, block=1)
    server.stop()
    expect_valgrind_clean(server, "valgrind after SIGTERM in the middle of a transfer")


@pytest.mark.points(2)
@pytest.mark.milestone("robustness")
@pytest.mark.needs("test_tftpd_serves_the_reference_client", "test_tftpd_accepts_uploads_from_curl")
def test_tftpd_robust_io(run, lab, tmp_path, faults):
    """Under fault injection (its datagrams dropped or duplicated as they leave, EINTR and
    EAGAIN where the kernel may give them) downloads and uploads still arrive whole."""
    root, files = make_root(tmp_path, sizes=(30_000,))
    runner = faults(kinds=("drop", "dup", "eintr", "eagain"), rate=10)
    server = start(runner.start_server, lab, root, timeout_ms=100)
    result = reference_get(run, lab, server.port, "f30000.bin", tmp_path / "out")
    expect_exit(result, 0, "the reference tftpget fetching from the server under faults",
                RETRANSMIT_HINT)
    expect_file(tmp_path / "out", files["f30000.bin"], "f30000.bin under faults")
    local = tmp_path / "up"
    local.write_bytes(content(20_000, 11))
    result = curl_put(run, server.port, local, "up.bin", timeout=60)
    expect_exit(result, 0, "curl uploading to the server under faults", RETRANSMIT_HINT)
    timing.wait_until(lambda: (root / "up.bin").exists(), 5)
    expect_file(root / "up.bin", local.read_bytes(), "the upload under faults")
