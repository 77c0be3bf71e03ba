"""TFTP for the tests of lab 03: packets, a scripted client and a scripted
server that do exactly what a test tells them, and atftpd as a real peer.

    from netgrader import tftp
    client = tftp.ScriptedClient(journal)
    client.send(tftp.rrq("a.txt", options={"blksize": "1024"}), server.port)
    packet, source = client.expect(tftp.OACK, "the answer to an RRQ with blksize")
    data = client.download(server.port, "a.txt")      # a strict, complete RRQ

Every packet sent or received is journaled in a word or two ("DATA block 3,
512 bytes"), so a failing test's report shows the conversation. Packets are
built here independently of the lab's C code: a test never trusts the code
it grades to check itself.
"""
from __future__ import annotations

import grp
import os
import pwd
import random
import socket
import struct
import threading
from dataclasses import dataclass, field
from pathlib import Path

from . import timing
from .expect import Mismatch
from .peers import RealServer, require, unused_port, wait_holding
from .procs import EnvironmentError_, Journal

RRQ, WRQ, DATA, ACK, ERROR, OACK = 1, 2, 3, 4, 5, 6
NAMES = {RRQ: "RRQ", WRQ: "WRQ", DATA: "DATA", ACK: "ACK", ERROR: "ERROR", OACK: "OACK"}
BLOCK = 512
MAX_DATAGRAM = 65536

# Test material shared by the lab's public and hidden tests.
SIZES = (0, 1, 511, 512, 513, 1024, 70_000)  # the edges of 512-byte blocks, and many blocks
# Losses in both directions, a duplicate each way, a reordered and a late DATA: every
# packet index is one a transfer of a few blocks reaches.
IMPAIRMENT = dict(drop={"up": [3, 8], "down": [2, 6, 7, 13]}, dup={"up": [5], "down": [4, 10]},
                  reorder={"down": [9]}, delay={"down": {15: 150}})
RETRANSMIT_HINT = ("Over a lossy network any packet can vanish: after -T ms without the "
                   "expected answer, send your last packet again (at most 5 times in all).")


def content(size: int, seed: int = 0) -> bytes:
    """size bytes that differ from block to block (a repeated or skipped
    block changes the file), the same for the same seed."""
    return random.Random(seed).randbytes(size)


def make_root(tmp_path: Path, sizes=SIZES) -> tuple[Path, dict]:
    """tmp/root with a file per size (`f0.bin`, `f512.bin`, ...) and
    sub/inner.txt, and tmp/secret.txt beside the root with root/link-out
    pointing at it. Returns the root and {name: contents}."""
    root = tmp_path / "root"
    (root / "sub").mkdir(parents=True)
    files = {}
    for size in sizes:
        files[f"f{size}.bin"] = content(size, size)
        (root / f"f{size}.bin").write_bytes(files[f"f{size}.bin"])
    files["sub/inner.txt"] = b"inside a sub directory\n"
    (root / "sub" / "inner.txt").write_bytes(files["sub/inner.txt"])
    (tmp_path / "secret.txt").write_bytes(b"TOP SECRET\n")
    (root / "link-out").symlink_to(tmp_path / "secret.txt")
    return root, files


def _strings(*parts: str) -> bytes:
    return b"".join(p.encode() + b"\0" for p in parts)


def request(opcode: int, filename: str, mode: str = "octet", options: dict | None = None) -> bytes:
    pairs = [s for name, value in (options or {}).items() for s in (name, str(value))]
    return struct.pack("!H", opcode) + _strings(filename, mode, *pairs)


def rrq(filename: str, mode: str = "octet", options: dict | None = None) -> bytes:
    return request(RRQ, filename, mode, options)


def wrq(filename: str, mode: str = "octet", options: dict | None = None) -> bytes:
    return request(WRQ, filename, mode, options)


def data(block: int, payload: bytes) -> bytes:
    return struct.pack("!HH", DATA, block & 0xFFFF) + payload


def ack(block: int) -> bytes:
    return struct.pack("!HH", ACK, block & 0xFFFF)


def error(code: int, message: str) -> bytes:
    return struct.pack("!HH", ERROR, code) + _strings(message)


def oack(options: dict) -> bytes:
    return struct.pack("!H", OACK) + _strings(*[s for kv in options.items() for s in map(str, kv)])


@dataclass
class Packet:
    opcode: int
    raw: bytes
    block: int = 0
    payload: bytes = b""
    code: int = 0
    message: str = ""
    filename: str = ""
    mode: str = ""
    options: dict = field(default_factory=dict)

    def __str__(self) -> str:
        return describe(self.raw)


def _split_strings(body: bytes) -> list[str]:
    if body and not body.endswith(b"\0"):
        raise ValueError("a string without its terminating NUL")
    return [s.decode("latin-1") for s in body.split(b"\0")[:-1]] if body else []


def parse(raw: bytes) -> Packet:
    """The packet in raw, or ValueError saying what is wrong with it."""
    if len(raw) < 2:
        raise ValueError(f"{len(raw)} bytes: too short for an opcode")
    opcode = struct.unpack("!H", raw[:2])[0]
    if opcode in (DATA, ACK):
        if len(raw) < 4 or (opcode == ACK and len(raw) != 4):
            raise ValueError(f"{NAMES[opcode]} of {len(raw)} bytes")
        return Packet(opcode, raw, block=struct.unpack("!H", raw[2:4])[0], payload=raw[4:])
    if opcode == ERROR:
        if len(raw) < 4:
            raise ValueError(f"ERROR of {len(raw)} bytes")
        strings = _split_strings(raw[4:])
        return Packet(opcode, raw, code=struct.unpack("!H", raw[2:4])[0],
                      message=strings[0] if strings else "")
    if opcode in (RRQ, WRQ, OACK):
        strings = _split_strings(raw[2:])
        head = 2 if opcode != OACK else 0
        if len(strings) < head or (len(strings) - head) % 2:
            raise ValueError(f"{NAMES[opcode]} with {len(strings)} strings")
        options = {strings[i].lower(): strings[i + 1] for i in range(head, len(strings), 2)}
        if opcode == OACK:
            return Packet(opcode, raw, options=options)
        return Packet(opcode, raw, filename=strings[0], mode=strings[1], options=options)
    raise ValueError(f"unknown opcode {opcode}")


def describe(raw: bytes) -> str:
    """A packet in a few words, for transcripts."""
    try:
        p = parse(raw)
    except ValueError as e:
        return f"malformed packet ({e}): {raw[:24]!r}"
    if p.opcode == DATA:
        return f"DATA block {p.block}, {len(p.payload)} bytes"
    if p.opcode == ACK:
        return f"ACK block {p.block}"
    if p.opcode == ERROR:
        return f"ERROR {p.code} {p.message!r}"
    if p.opcode == OACK:
        return f"OACK {p.options}"
    opts = f" {p.options}" if p.options else ""
    return f"{NAMES[p.opcode]} {p.filename!r} {p.mode!r}{opts}"


class ScriptedClient:
    """A UDP socket on loopback that sends and receives TFTP packets as a
    test says, with a deadline on every wait. `host` is the server's."""

    def __init__(self, journal: Journal, host: str = "127.0.0.1", name: str = "client"):
        self.journal, self.host, self.name = journal, host, name
        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        self.sock = socket.socket(family, socket.SOCK_DGRAM)
        self.sock.bind((host, 0))
        self.port = self.sock.getsockname()[1]

    def close(self) -> None:
        self.sock.close()

    def send(self, raw: bytes, port: int, quiet: bool = False) -> None:
        if not quiet:
            self.journal.step(f"{self.name} (port {self.port}) → port {port}: {describe(raw)}")
        self.sock.sendto(raw, (self.host, port))

    def receive(self, seconds: float, quiet: bool = False) -> tuple[Packet | None, int]:
        """The next datagram and the port it came from; (None, 0) when
        nothing came within seconds. Malformed datagrams raise Mismatch."""
        self.sock.settimeout(max(0.001, timing.scaled(seconds)))
        try:
            raw, source = self.sock.recvfrom(MAX_DATAGRAM)
        except TimeoutError:
            if not quiet:
                self.journal.step(f"{self.name}: nothing within {seconds:g} s")
            return None, 0
        if not quiet:
            self.journal.step(f"{self.name} ← port {source[1]}: {describe(raw)}")
        try:
            return parse(raw), source[1]
        except ValueError as e:
            raise Mismatch(f"a datagram to {self.name}", "a well-formed TFTP packet",
                           f"{e}: {raw[:32]!r}",
                           "Every packet starts with a two-byte opcode in network byte order; "
                           "strings end with a NUL byte.") from None

    def expect(self, opcode: int, what: str, seconds: float = 5, block: int | None = None,
               hint: str = "") -> tuple[Packet, int]:
        packet, port = self.receive(seconds)
        if packet is None:
            raise Mismatch(what, f"a {NAMES[opcode]} packet"
                           + (f" for block {block}" if block is not None else ""),
                           f"nothing within {seconds:g} s", hint)
        if packet.opcode != opcode or (block is not None and packet.block != block & 0xFFFF):
            raise Mismatch(what, f"a {NAMES[opcode]} packet"
                           + (f" for block {block & 0xFFFF}" if block is not None else ""),
                           describe(packet.raw), hint)
        return packet, port

    def download(self, port: int, filename: str, options: dict | None = None,
                 blksize: int = BLOCK, seconds: float = 5) -> bytes:
        """A complete, strict RRQ: every DATA must be the next block, from
        one transfer port that is not the listening port, full-size except
        the last. The transcript is journaled only at the ends."""
        self.send(rrq(filename, options=options), port)
        first, tid = self.receive(seconds)
        if first is None:
            raise Mismatch(f"the answer to RRQ {filename!r}", "DATA block 1", "nothing",
                           "Answer a read request from a new socket with the first block.")
        if tid == port:
            raise Mismatch(f"the port the answer to RRQ {filename!r} came from",
                           "a new port (the transfer ID), not the listening port", str(tid),
                           "Each transfer has its own socket, bound to port 0.")
        if first.opcode == OACK:
            self.send(ack(0), tid)
            first, _ = self.expect(DATA, f"the first block of {filename!r} after the OACK",
                                   seconds, block=1)
        if first.opcode != DATA or first.block != 1:
            raise Mismatch(f"the answer to RRQ {filename!r}", "DATA block 1", describe(first.raw))
        received, packet, block = [], first, 1
        while True:
            if len(packet.payload) > blksize:
                raise Mismatch(f"DATA block {block}", f"at most {blksize} bytes",
                               f"{len(packet.payload)} bytes")
            received.append(packet.payload)
            self.send(ack(block), tid, quiet=True)
            if len(packet.payload) < blksize:
                break
            block += 1
            packet, source = self.receive(seconds, quiet=True)
            what = f"the packet after ACK {(block - 1) & 0xFFFF}"
            if packet is None:
                raise Mismatch(what, f"DATA block {block & 0xFFFF}", f"nothing within {seconds:g} s")
            if source != tid:
                raise Mismatch(f"the source port of {what}", f"the transfer's port {tid}", str(source))
            if packet.opcode != DATA or packet.block != block & 0xFFFF:
                raise Mismatch(what, f"DATA block {block & 0xFFFF}", describe(packet.raw),
                               "After ACK n comes DATA n+1; a duplicate ACK is ignored.")
        total = b"".join(received)
        self.journal.step(f"{self.name}: received {len(total)} bytes in {block} blocks, "
                          f"ACKed the last")
        return total


class ScriptedServer:
    """A TFTP server on loopback whose answers a test writes: handler(req,
    transfer) runs in a thread for each request, where req is the Packet and
    transfer a Transfer talking to the client from a fresh port."""

    def __init__(self, handler, journal: Journal, host: str = "127.0.0.1"):
        self.handler, self.journal, self.host = handler, journal, host
        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        self.sock = socket.socket(family, socket.SOCK_DGRAM)
        self.sock.bind((host, 0))
        self.port = self.sock.getsockname()[1]
        self.errors: list[BaseException] = []
        self.transfers: list[Transfer] = []
        self.requests: list[Packet] = []
        self._stopping = threading.Event()
        self._threads: list[threading.Thread] = []
        self._listener = threading.Thread(target=self._listen, daemon=True)
        self._listener.start()

    def _listen(self) -> None:
        self.sock.settimeout(0.05)
        while not self._stopping.is_set():
            try:
                raw, source = self.sock.recvfrom(MAX_DATAGRAM)
            except TimeoutError:
                continue
            except OSError:
                return
            self.journal.step(f"scripted server ← port {source[1]}: {describe(raw)}")
            try:
                req = parse(raw)
            except ValueError:
                continue
            self.requests.append(req)
            transfer = Transfer(self, source)
            self.transfers.append(transfer)
            thread = threading.Thread(target=self._run, args=(req, transfer), daemon=True)
            self._threads.append(thread)
            thread.start()

    def _run(self, req: Packet, transfer: Transfer) -> None:
        try:
            self.handler(req, transfer)
        except BaseException as e:  # reported by check() in the test's thread
            self.errors.append(e)

    def wait_idle(self, seconds: float = 30) -> None:
        for thread in list(self._threads):
            thread.join(timing.scaled(seconds))

    def check(self) -> None:
        self.wait_idle()
        if self.errors:
            raise self.errors[0]

    def close(self) -> None:
        self._stopping.set()
        self._listener.join(timing.scaled(5))
        self.wait_idle(5)
        for transfer in self.transfers:
            transfer.close()
        self.sock.close()


class Transfer:
    """One transfer of a ScriptedServer: a new socket (the transfer ID)."""

    def __init__(self, server: ScriptedServer, client: tuple):
        self.journal, self.client = server.journal, client
        self.sock = socket.socket(server.sock.family, socket.SOCK_DGRAM)
        self.sock.bind((server.host, 0))
        self.port = self.sock.getsockname()[1]
        self.received: list[Packet] = []

    def send(self, raw: bytes, quiet: bool = False, sock: socket.socket | None = None) -> None:
        sock = sock or self.sock
        if not quiet:
            self.journal.step(f"scripted server (port {sock.getsockname()[1]}) → client: "
                              f"{describe(raw)}")
        sock.sendto(raw, self.client)

    def receive(self, seconds: float, quiet: bool = False) -> Packet | None:
        """The next packet from the client on the transfer port, or None."""
        deadline = timing.Deadline(seconds)
        while not deadline.expired():
            self.sock.settimeout(max(0.001, deadline.remaining()))
            try:
                raw, source = self.sock.recvfrom(MAX_DATAGRAM)
            except TimeoutError:
                break
            if source[:2] != self.client[:2]:
                continue
            packet = parse(raw)
            if not quiet:
                self.journal.step(f"scripted server (port {self.port}) ← client: {describe(raw)}")
            self.received.append(packet)
            return packet
        if not quiet:
            self.journal.step(f"scripted server: nothing from the client within {seconds:g} s")
        return None

    def send_file(self, content: bytes, blksize: int = BLOCK, seconds: float = 5) -> None:
        """Serve content block by block, waiting for each ACK (stop-and-wait)."""
        blocks = [content[i:i + blksize] for i in range(0, len(content), blksize)]
        if len(content) % blksize == 0:
            blocks.append(b"")
        for number, payload in enumerate(blocks, start=1):
            self.send(data(number, payload), quiet=True)
            while True:
                packet = self.receive(seconds, quiet=True)
                if packet is None:
                    raise Mismatch(f"the client's ACK of block {number}", f"ACK {number & 0xFFFF}",
                                   f"nothing within {seconds:g} s")
                if packet.opcode == ACK and packet.block == number & 0xFFFF:
                    break
        self.journal.step(f"scripted server: sent {len(content)} bytes in {len(blocks)} blocks")

    def close(self) -> None:
        self.sock.close()


def start_atftpd(root: Path, workdir: Path, journal: Journal, retry_seconds: int = 1) -> RealServer:
    """atftpd serving root on a free loopback port, ready when it holds the
    port (read from /proc; atftpd cannot take port 0).

    Started by root, atftpd switches to the user nobody unless told
    otherwise, and nobody must then be able to reach root through every
    directory above it. Making them world-searchable does not last: every
    pytest session that starts resets /tmp/pytest-of-USER to mode 0700, so
    a grading running beside another (a class graded in parallel, a
    mutation run) saw atftpd answer "File not found" for a file that was
    there. atftpd therefore keeps the grader's own user and group."""
    atftpd = require("atftpd", "atftpd")
    as_self = []
    if os.geteuid() == 0:
        as_self = ["--user", pwd.getpwuid(os.geteuid()).pw_name,
                   "--group", grp.getgrgid(os.getegid()).gr_name]
    for _attempt in range(5):
        port = unused_port(types=(socket.SOCK_DGRAM,))
        argv = [atftpd, "--daemon", "--no-fork", *as_self, "--port", str(port), "--bind-address",
                "127.0.0.1", "--logfile", "-", "--retry-timeout", str(retry_seconds),
                "--no-multicast", str(root)]
        server = RealServer(argv, port, workdir, journal, 15, "atftpd")
        if wait_holding(server, {"udp"}):
            journal.step(f"started atftpd on 127.0.0.1 port {port} serving {root}")
            return server
        server.stop()
        log = server.log.read_text(errors="replace")
        if "Address already in use" not in log and "bind" not in log.lower():
            raise EnvironmentError_("atftpd did not start: " + log[-400:])
    raise EnvironmentError_("atftpd found no free port in 5 attempts")

