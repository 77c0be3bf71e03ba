"""DNS for the tests of lab 04: messages built and taken apart byte by
byte, a scripted server that answers exactly as a test says, dnsmasq
serving a small test zone, and dig as the reference client.

    from netgrader import dns
    def handler(query, exchange):               # each UDP query, in order
        if exchange.number == 1:                # the first one gets a wrong ID
            exchange.reply(dns.reply(query, id=query.id ^ 0xFFFF))
        exchange.reply(dns.reply(query, [dns.rr(dns.AT_QUESTION, dns.A, dns.a("192.0.2.1"))]))
    server = dns_scripted_server(handler)       # a fixture: UDP (and TCP) on server.port
    zone = dnsmasq_server()                     # dnsmasq serving ZONE on zone.port
    lines = dns.dig(run, zone.port, "www.example.test", "A")

Every message sent or received by a scripted peer is journaled in a few
words ("reply id 0x1a2b NOERROR, 1 answer: A 192.0.2.1"), so a failing
test's report shows the conversation. Messages are built and parsed here
independently of the lab's C code: a test never trusts the code it grades
to check itself. dig and dnsmasq are always given a loopback address and a
port: nothing here ever asks the machine's own resolver.
"""
from __future__ import annotations

import ipaddress
import os
import socket
import struct
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

from . import timing
from .expect import Mismatch
from .peers import RealServer, excerpt, require, send_in_pieces, unused_port, wait_holding
from .procs import EnvironmentError_, Journal

# Types, classes, flags and response codes (RFC 1035 3.2 and 4.1.1; AAAA: RFC 3596).
A, NS, CNAME, SOA, PTR, MX, TXT, AAAA = 1, 2, 5, 6, 12, 15, 16, 28
TYPE_NAMES = {A: "A", NS: "NS", CNAME: "CNAME", SOA: "SOA", PTR: "PTR", MX: "MX", TXT: "TXT",
              AAAA: "AAAA"}
IN = 1
QR, AA, TC, RD, RA = 0x8000, 0x0400, 0x0200, 0x0100, 0x0080
NOERROR, FORMERR, SERVFAIL, NXDOMAIN, NOTIMP, REFUSED = range(6)
RCODE_NAMES = ["NOERROR", "FORMERR", "SERVFAIL", "NXDOMAIN", "NOTIMP", "REFUSED"]
HEADER = struct.Struct("!HHHHHH")
QUESTION_OFFSET = 12          # where the question's name starts in every message
AT_QUESTION = b"\xc0\x0c"     # a pointer to it: the owner of most answers
MAX_DATAGRAM = 65536


# ---------------------------------------------------------------- building

def labels(*parts: bytes | str) -> bytes:
    """A name in wire form from its labels, taken as they are (dots,
    spaces and any byte included): labels(b"x.y", "test") is 3x.y4test0."""
    out = b""
    for part in parts:
        raw = part.encode("latin-1") if isinstance(part, str) else part
        if not 0 < len(raw) < 64:
            raise ValueError(f"a label of {len(raw)} bytes")
        out += bytes([len(raw)]) + raw
    return out + b"\0"


def name(text: str) -> bytes:
    """A dotted name in wire form: "www.example.test" (a final dot is
    optional) is 3www7example4test0; "." is the root, one zero byte."""
    text = text[:-1] if text.endswith(".") and text != "." else text
    return b"\0" if text in (".", "") else labels(*text.split("."))


def pointer(offset: int) -> bytes:
    """A compression pointer to offset (two bytes, 11 then 14 bits)."""
    return struct.pack("!H", 0xC000 | offset)


def header(id: int, flags: int = 0, qd: int = 0, an: int = 0, ns: int = 0, ar: int = 0) -> bytes:
    return HEADER.pack(id & 0xFFFF, flags, qd, an, ns, ar)


def question(owner: bytes, qtype: int, qclass: int = IN) -> bytes:
    """A question; owner in wire form (name(...), labels(...) or a pointer)."""
    return owner + struct.pack("!HH", qtype, qclass)


def query(qname: str, qtype: int = A, id: int = 0x1234, flags: int = RD) -> bytes:
    """A plain query as minidig sends it: RD, one question, class IN, no EDNS."""
    return header(id, flags, qd=1) + question(name(qname), qtype)


def rr(owner: bytes, rtype: int, rdata: bytes, ttl: int = 60, rclass: int = IN) -> bytes:
    """A resource record; owner in wire form (AT_QUESTION names the question's name)."""
    return owner + struct.pack("!HHIH", rtype, rclass, ttl, len(rdata)) + rdata


def a(address: str) -> bytes:
    return ipaddress.IPv4Address(address).packed


def aaaa(address: str) -> bytes:
    return ipaddress.IPv6Address(address).packed


def mx(preference: int, exchange: bytes) -> bytes:
    """MX data; exchange in wire form."""
    return struct.pack("!H", preference) + exchange


def txt(*strings: bytes | str) -> bytes:
    """TXT data: each string as a length byte and its bytes."""
    out = b""
    for s in strings:
        raw = s.encode() if isinstance(s, str) else s
        if len(raw) > 255:
            raise ValueError("a TXT string of more than 255 bytes")
        out += bytes([len(raw)]) + raw
    return out


def reply(q: "Query", answers=(), rcode: int = NOERROR, flags: int = QR | AA | RD | RA,
          id: int | None = None, an: int | None = None, question_bytes: bytes | None = None,
          tc: bool = False) -> bytes:
    """An answer to q: its ID (or id), flags with rcode (and TC), q's question
    as it was sent (or question_bytes; b"" for none), then the answers (ANCOUNT
    is their number, unless an says otherwise: counts that lie)."""
    qsection = q.question if question_bytes is None else question_bytes
    answers = list(answers)
    return (header(q.id if id is None else id, flags | rcode | (TC if tc else 0),
                   qd=1 if qsection else 0, an=len(answers) if an is None else an)
            + qsection + b"".join(answers))


# ---------------------------------------------------------------- parsing

def _label_text(raw: bytes) -> str:
    """A label the way dig writes it (see the lab's dns.h)."""
    out = []
    for c in raw:
        if chr(c) in '"().;\\@$':
            out.append("\\" + chr(c))
        elif 0x20 < c < 0x7F:
            out.append(chr(c))
        else:
            out.append(f"\\{c:03d}")
    return "".join(out)


def read_name(msg: bytes, offset: int) -> tuple[str, int]:
    """(the name at offset as dig's text, the offset after it in place).
    Pointers must go strictly backwards; ValueError for anything malformed."""
    text, at, limit, end, size = [], offset, offset, None, 1
    while True:
        if at >= len(msg):
            raise ValueError("name runs past the end")
        b = msg[at]
        if b & 0xC0 == 0xC0:
            if at + 1 >= len(msg):
                raise ValueError("pointer cut short")
            target = (b & 0x3F) << 8 | msg[at + 1]
            if target >= limit:
                raise ValueError("pointer that does not point backwards")
            end = at + 2 if end is None else end
            at = limit = target
            continue
        if b & 0xC0:
            raise ValueError("reserved label type")
        if b == 0:
            break
        if at + 1 + b > len(msg):
            raise ValueError("label runs past the end")
        size += b + 1
        if size > 255:
            raise ValueError("name longer than 255 bytes")
        text.append(_label_text(msg[at + 1:at + 1 + b]))
        at += 1 + b
    return ("".join(t + "." for t in text) or "."), (at + 1 if end is None else end)


@dataclass
class Query:
    """A query as a scripted server received it."""

    raw: bytes
    id: int
    flags: int
    counts: tuple            # QDCOUNT, ANCOUNT, NSCOUNT, ARCOUNT
    name: str                # as text, case as sent: "www.example.test."
    qtype: int
    qclass: int
    question: bytes          # the question section as sent, to echo it
    extra: bytes = b""       # whatever followed the question (dig's EDNS OPT record)

    @property
    def type_name(self) -> str:
        return TYPE_NAMES.get(self.qtype, f"TYPE{self.qtype}")


def parse_query(raw: bytes) -> Query:
    """The query in raw: a header, then one question with an uncompressed
    name. ValueError for anything else."""
    if len(raw) < 12:
        raise ValueError(f"{len(raw)} bytes: shorter than a header")
    id_, flags, qd, an, ns, ar = HEADER.unpack_from(raw)
    if flags & QR:
        raise ValueError("QR set: a response, not a query")
    if qd != 1:
        raise ValueError(f"QDCOUNT {qd}, not 1")
    at = QUESTION_OFFSET
    while True:
        if at >= len(raw):
            raise ValueError("the question's name runs past the end")
        if raw[at] & 0xC0:
            raise ValueError("a compressed or reserved label in the question")
        if raw[at] == 0:
            break
        at += 1 + raw[at]
    qname, at = read_name(raw, QUESTION_OFFSET)
    if at + 4 > len(raw):
        raise ValueError("the question is cut short")
    qtype, qclass = struct.unpack_from("!HH", raw, at)
    return Query(raw, id_, flags, (qd, an, ns, ar), qname, qtype, qclass,
                 raw[QUESTION_OFFSET:at + 4], raw[at + 4:])


@dataclass
class Record:
    name: str
    rtype: int
    rclass: int
    ttl: int
    rdata: bytes
    offset: int              # of the rdata in the message (names in it may point back)


@dataclass
class Message:
    id: int
    flags: int
    questions: list = field(default_factory=list)   # (name, qtype, qclass)
    answers: list = field(default_factory=list)     # Records
    authority: list = field(default_factory=list)
    additional: list = field(default_factory=list)

    @property
    def rcode(self) -> int:
        return self.flags & 0xF


def parse(raw: bytes) -> Message:
    """A whole message, every count checked against the bytes; ValueError."""
    if len(raw) < 12:
        raise ValueError(f"{len(raw)} bytes: shorter than a header")
    id_, flags, qd, an, ns, ar = HEADER.unpack_from(raw)
    msg, at = Message(id_, flags), 12
    for _ in range(qd):
        qname, at = read_name(raw, at)
        if at + 4 > len(raw):
            raise ValueError("a question cut short")
        msg.questions.append((qname, *struct.unpack_from("!HH", raw, at)))
        at += 4
    for section, count in ((msg.answers, an), (msg.authority, ns), (msg.additional, ar)):
        for _ in range(count):
            owner, at = read_name(raw, at)
            if at + 10 > len(raw):
                raise ValueError("a record cut short")
            rtype, rclass, ttl, rdlength = struct.unpack_from("!HHIH", raw, at)
            at += 10
            if at + rdlength > len(raw):
                raise ValueError("record data runs past the end")
            section.append(Record(owner, rtype, rclass, ttl, raw[at:at + rdlength], at))
            at += rdlength
    return msg


def rdata_text(raw: bytes, record: Record) -> str:
    """A few words for a record's data, for transcripts."""
    try:
        if record.rtype == A and len(record.rdata) == 4:
            return str(ipaddress.IPv4Address(record.rdata))
        if record.rtype == AAAA and len(record.rdata) == 16:
            return str(ipaddress.IPv6Address(record.rdata))
        if record.rtype in (CNAME, NS, PTR):
            return read_name(raw[:record.offset + len(record.rdata)], record.offset)[0]
        if record.rtype == MX:
            return (f"{struct.unpack_from('!H', record.rdata)[0]} "
                    + read_name(raw[:record.offset + len(record.rdata)], record.offset + 2)[0])
    except (ValueError, struct.error):
        pass
    return f"{len(record.rdata)} bytes {record.rdata[:16].hex()}"


def describe(raw: bytes) -> str:
    """A message in a few words, for transcripts."""
    try:
        m = parse(raw)
    except ValueError as e:
        return f"malformed DNS message ({e}): {excerpt(raw, 24)}"
    what = "reply" if m.flags & QR else "query"
    flags = " ".join(n for bit, n in ((QR, "QR"), (AA, "AA"), (TC, "TC"), (RD, "RD"), (RA, "RA"))
                     if m.flags & bit)
    text = f"{what} id {m.id:#06x} ({flags or 'no flags'})"
    if m.flags & QR:
        text += " " + (RCODE_NAMES[m.rcode] if m.rcode < len(RCODE_NAMES) else f"RCODE{m.rcode}")
    for qname, qtype, _ in m.questions:
        text += f", {TYPE_NAMES.get(qtype, f'TYPE{qtype}')} {qname}"
    if m.flags & QR:
        shown = [f"{TYPE_NAMES.get(r.rtype, f'TYPE{r.rtype}')} {rdata_text(raw, r)}"
                 for r in m.answers[:3]]
        more = ", ..." if len(m.answers) > 3 else ""
        count = len(m.answers)
        text += f", {count} answer{'s' if count != 1 else ''}" + (": " if shown else "") \
            + ", ".join(shown) + more
    return text


# ---------------------------------------------------------------- a scripted server

class Exchange:
    """One UDP query to a ScriptedServer, and the ways to answer it."""

    def __init__(self, server: "ScriptedServer", query: Query, client: tuple, number: int):
        self.server, self.query, self.client, self.number = server, query, client, number

    def reply(self, raw: bytes) -> None:
        """Send raw to the client from the server's own address and port."""
        self.server.journal.step(f"{self.server.name} → client: {describe(raw)}")
        self.server.udp.sendto(raw, self.client)

    def forge(self, raw: bytes, host: str | None = None, port: int = 0) -> None:
        """Send raw to the client from another endpoint: by default another
        port of the server's address; host="127.0.0.2" with port=server.port
        forges the server's port from another address."""
        host = host or self.server.host
        with socket.socket(self.server.udp.family, socket.SOCK_DGRAM) as s:
            s.bind((host, port))
            source = s.getsockname()
            self.server.journal.step(f"forger ({source[0]} port {source[1]}) → client: "
                                     f"{describe(raw)}")
            s.sendto(raw, self.client)


class TcpExchange:
    """One query over TCP to a ScriptedServer (the connection is closed
    when the handler returns)."""

    def __init__(self, server: "ScriptedServer", sock: socket.socket, query: Query, number: int):
        self.server, self.sock, self.query, self.number = server, sock, query, number

    def reply(self, raw: bytes, chunk: int | None = None, pause: float = 0) -> None:
        """Send raw after its two-byte length, in pieces of chunk bytes if given,
        pause seconds apart (a slow network: each piece arrives on its own)."""
        self.send_raw(struct.pack("!H", len(raw)) + raw, chunk, pause, what=describe(raw))

    def send_raw(self, data: bytes, chunk: int | None = None, pause: float = 0,
                 what: str | None = None) -> None:
        self.server.journal.step(f"{self.server.name} (TCP) → client: {what or excerpt(data)}"
                                 + (f", in pieces of {chunk} bytes" if chunk else "")
                                 + (f" {pause * 1000:g} ms apart" if chunk and pause else ""))
        if not chunk or not pause:
            send_in_pieces(self.sock, data, chunk)
            return
        for i in range(0, len(data), chunk):
            send_in_pieces(self.sock, data[i:i + chunk], chunk)
            time.sleep(pause)  # ok: pacing the pieces like a slow link, not a synchronisation


def _recv_exactly(sock: socket.socket, n: int, deadline: timing.Deadline) -> bytes:
    data = b""
    while len(data) < n:
        if deadline.expired():
            raise TimeoutError(f"{len(data)} of {n} bytes before the deadline")
        sock.settimeout(max(0.01, deadline.remaining()))
        chunk = sock.recv(n - len(data))
        if not chunk:
            raise EOFError(f"{len(data)} of {n} bytes, then the close")
        data += chunk
    return data


class ScriptedServer:
    """A DNS server on loopback whose answers a test writes.

    handler(query, exchange) runs for each UDP query, in the order they
    arrive (exchange.number counts them from 1); it may reply, forge, or
    stay silent. With tcp_handler, the same port also takes TCP: each
    connection's query (read strictly: a two-byte length, then exactly that
    many bytes) goes to tcp_handler(query, tcp_exchange). Queries are kept
    in .queries and .tcp_queries; a datagram that is no query goes to
    .bad_queries; handler failures are re-raised by check().
    """

    def __init__(self, handler, journal: Journal, host: str = "127.0.0.1", tcp_handler=None,
                 name: str = "scripted DNS server", timeout: float = 10):
        self.handler, self.tcp_handler, self.journal = handler, tcp_handler, journal
        self.host, self.name, self.timeout = host, name, timeout
        self.family = socket.AF_INET6 if ":" in host else socket.AF_INET
        self.queries: list[Query] = []
        self.tcp_queries: list[Query] = []
        self.bad_queries: list[bytes] = []
        self.errors: list[BaseException] = []
        self.tcp = None
        self._bind()
        self._stopping = threading.Event()
        self._tcp_threads: list[threading.Thread] = []
        self._threads = [threading.Thread(target=self._serve_udp, daemon=True)]
        if self.tcp is not None:
            self._threads.append(threading.Thread(target=self._accept, daemon=True))
        for t in self._threads:
            t.start()
        journal.step(f"{name} on {host} port {self.port}" + (" (UDP and TCP)" if self.tcp else ""))

    def _bind(self) -> None:
        """UDP on a port the kernel picks; TCP on the same number (retried
        when that number is taken for TCP)."""
        for _attempt in range(20):
            self.udp = socket.socket(self.family, socket.SOCK_DGRAM)
            self.udp.bind((self.host, 0))
            self.port = self.udp.getsockname()[1]
            if self.tcp_handler is None:
                return
            self.tcp = socket.socket(self.family, socket.SOCK_STREAM)
            self.tcp.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            try:
                self.tcp.bind((self.host, self.port))
                self.tcp.listen(16)
                return
            except OSError:
                self.tcp.close()
                self.udp.close()
        raise EnvironmentError_("no port free for both UDP and TCP in 20 attempts")

    def _serve_udp(self) -> None:
        self.udp.settimeout(0.05)
        while not self._stopping.is_set():
            try:
                raw, client = self.udp.recvfrom(MAX_DATAGRAM)
            except TimeoutError:
                continue
            except OSError:
                return
            self.journal.step(f"{self.name} ← port {client[1]}: {describe(raw)}")
            try:
                q = parse_query(raw)
            except ValueError:
                self.bad_queries.append(raw)
                continue
            self.queries.append(q)
            try:
                self.handler(q, Exchange(self, q, client, len(self.queries)))
            except BaseException as e:  # reported by check() in the test's thread
                self.errors.append(e)

    def _accept(self) -> None:
        while not self._stopping.is_set():
            try:
                sock, _ = self.tcp.accept()
            except OSError:
                return
            t = threading.Thread(target=self._serve_tcp, args=(sock,), daemon=True)
            self._tcp_threads.append(t)
            t.start()

    def _serve_tcp(self, sock: socket.socket) -> None:
        with sock:
            peer = sock.getpeername()
            self.journal.step(f"{self.name} (TCP) accepted a connection from port {peer[1]}")
            deadline = timing.Deadline(self.timeout)
            try:
                prefix = _recv_exactly(sock, 2, deadline)
                length = struct.unpack("!H", prefix)[0]
                raw = _recv_exactly(sock, length, deadline)
            except (OSError, EOFError) as e:
                self.errors.append(Mismatch(
                    "the query minidig sent over TCP", "a two-byte length, then that many bytes",
                    str(e), "Over TCP every DNS message follows its length, two bytes in network "
                            "byte order (RFC 1035 4.2.2)."))
                return
            self.journal.step(f"{self.name} (TCP) ← length {length}: {describe(raw)}")
            try:
                q = parse_query(raw)
            except ValueError as e:
                self.errors.append(Mismatch("the query minidig sent over TCP", "a DNS query",
                                            f"{e}: {excerpt(raw)}"))
                return
            self.tcp_queries.append(q)
            try:
                self.tcp_handler(q, TcpExchange(self, sock, q, len(self.tcp_queries)))
            except BaseException as e:
                self.errors.append(e)

    def check(self) -> None:
        """Wait (with a deadline) for the TCP connections still being served,
        then re-raise the first failure of a handler or of a TCP query."""
        deadline = timing.Deadline(self.timeout + 5)
        for t in list(self._tcp_threads):
            t.join(timeout=deadline.remaining())
        if self.errors:
            raise self.errors[0]

    def close(self) -> None:
        self._stopping.set()
        for s in (self.udp, self.tcp):
            if s is None:
                continue
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            s.close()
        for t in self._threads + self._tcp_threads:
            t.join(timeout=timing.scaled(5))


# ---------------------------------------------------------------- dnsmasq and dig

ZONE = "example.test"
TTL = 60
BIG = f"big.{ZONE}"
BIG_COUNT = 120  # A records: far more than 512 bytes, so a plain UDP answer is truncated
# The test zone, as dnsmasq options: names that exist and the records dig sees.
ZONE_OPTIONS = [
    f"--host-record=www.{ZONE},192.0.2.10,2001:db8::10",
    f"--host-record=mail.{ZONE},192.0.2.25",
    f"--host-record=Mixed.{ZONE},192.0.2.30",
    f"--cname=start.{ZONE},middle.{ZONE}",          # a chain of two CNAMEs to www
    f"--cname=middle.{ZONE},www.{ZONE}",
    f"--mx-host={ZONE},mail.{ZONE},10",
    f"--mx-host={ZONE},backup.{ZONE},20",
    f"--txt-record={ZONE},v=spf1 -all",
    # dnsmasq takes these literally, comma-separated: three strings with a
    # quote, a backslash and a tab, which dig shows escaped.
    f'--txt-record=txt.{ZONE},say "hi",back\\slash,tab\tand space',
]


def fqdn(label: str) -> str:
    """"www" -> "www.example.test"; "" -> "example.test"."""
    return f"{label}.{ZONE}" if label else ZONE


def start_dnsmasq(workdir: Path, journal: Journal, ipv6: bool = False,
                  extra: list[str] | None = None) -> RealServer:
    """dnsmasq serving ZONE on 127.0.0.1 (and ::1 with ipv6), UDP and TCP,
    on a free port (it cannot take port 0: a port is picked and the start
    retried if someone took it). Ready once every listening socket shows in
    /proc. Names under ZONE that it does not know get NXDOMAIN; names
    outside it, REFUSED; every query is logged to its log."""
    dnsmasq = require("dnsmasq", "dnsmasq-base")
    for _attempt in range(5):
        port = unused_port(types=(socket.SOCK_DGRAM, socket.SOCK_STREAM))
        home = workdir / f"dnsmasq-{port}"
        home.mkdir(parents=True, exist_ok=True)
        hosts = home / "big.hosts"
        hosts.write_text("".join(f"10.0.1.{i} {BIG}\n" for i in range(1, BIG_COUNT + 1)))
        argv = [dnsmasq, "--keep-in-foreground", "--log-facility=-", "--log-queries",
                "--conf-file=/dev/null", "--no-resolv", "--no-hosts", "--no-poll",
                f"--addn-hosts={hosts}", f"--port={port}", "--listen-address=127.0.0.1",
                "--bind-interfaces", "--pid-file=", f"--local=/{ZONE}/", f"--local-ttl={TTL}",
                *ZONE_OPTIONS, *(extra or [])]
        if ipv6:
            argv.append("--listen-address=::1")
        if os.geteuid() == 0:
            # It would drop to nobody, who cannot read a private temporary directory.
            argv.append("--user=root")
        server = RealServer(argv, port, home, journal, 15, "dnsmasq")
        journal.programs.append(("dnsmasq", server.log))
        want = {"udp", "tcp"} | ({"udp6", "tcp6"} if ipv6 else set())
        if wait_holding(server, want):
            journal.step(f"started dnsmasq serving {ZONE} on "
                         f"{'127.0.0.1 and ::1' if ipv6 else '127.0.0.1'} port {port}")
            return server
        server.stop()
        log = server.log.read_text(errors="replace")
        if "in use" not in log:
            raise EnvironmentError_("dnsmasq did not start: " + log[-400:])
    raise EnvironmentError_("dnsmasq found no free port in 5 attempts")


def dig(run, port: int, qname: str, qtype: str, server: str = "127.0.0.1",
        tcp: bool = False) -> list[str]:
    """dig's answer lines (`dig @server -p port +noall +answer qname qtype`);
    an EnvironmentError_ when dig itself gets no answer."""
    argv = [require("dig", "bind9-dnsutils"), f"@{server}", "-p", str(port), "+noall",
            "+answer", "+time=2", "+tries=2", *(["+tcp"] if tcp else []), qname, qtype]
    result = run(argv, label="dig")
    lines = [line for line in result.stdout_text.splitlines() if line and not line.startswith(";")]
    if result.returncode != 0 or ";; communications error" in result.stdout_text:
        raise EnvironmentError_(f"dig got no answer from {server} port {port} "
                                f"({result.describe_exit()}): {result.stdout_text[-300:]}")
    return lines


def fields(line: str) -> tuple:
    """A record line split into NAME, TTL, CLASS, TYPE and DATA: dig pads with
    tabs, minidig uses single spaces, and DATA keeps its own spaces."""
    parts = line.split(None, 4)
    return tuple(parts[:4]) + ((parts[4].strip(),) if len(parts) > 4 else ("",))


def expect_records(got_lines: list[str], want_lines: list[str], what: str, ordered: bool = False,
                   hint: str = "") -> None:
    """minidig's lines hold the same records as dig's (as a set, or in order)."""
    got = [fields(line) for line in got_lines]
    want = [fields(line) for line in want_lines]
    same = got == want if ordered else sorted(got) == sorted(want)
    if same:
        return
    missing = [" ".join(f) for f in want if f not in got]
    extra = [" ".join(f) for f in got if f not in want]
    detail = []
    if missing:
        detail.append("dig has, minidig does not:\n  " + "\n  ".join(missing[:10]))
    if extra:
        detail.append("minidig has, dig does not:\n  " + "\n  ".join(extra[:10]))
    if not missing and not extra:
        detail.append("the same records, " + ("in another order" if ordered
                                              else "but not as many of each"))
    shown = lambda lines: "\n".join(lines[:12]) + ("\n..." if len(lines) > 12 else "")  # noqa: E731
    raise Mismatch(what, f"{len(want_lines)} lines, as dig prints them:\n{shown(want_lines)}",
                   f"{len(got_lines)} lines:\n{shown(got_lines)}" if got_lines else "no lines",
                   hint or "Print every record of the answer section, one a line: "
                           "NAME TTL CLASS TYPE DATA, the way dig +noall +answer does.",
                   detail="\n".join(detail))

