"""The DNS peers of lab 04's tests (netgrader/dns.py): messages are built to
the RFC's bytes and parsed with every pointer and count checked, the
scripted server answers over UDP and TCP as its handlers say (and reports
a client's malformed TCP query), dnsmasq serves the test zone over UDP and
TCP on both loopback addresses, and dig's lines compare with minidig's."""
import shutil
import socket
import struct

import pytest

from netgrader import dns, peers, timing
from netgrader.expect import Mismatch
from netgrader.procs import EnvironmentError_, Journal, Runner

# The query minidig sends for www.example.test A with ID 0x1a2b (as captured).
QUERY_A = bytes.fromhex("1a2b0100000100000000000003777777076578616d706c6504746573740000010001")


def test_messages_have_the_rfc_layout():
    assert dns.name("www.example.test") == b"\x03www\x07example\x04test\x00"
    assert dns.name("www.example.test.") == dns.name("www.example.test")
    assert dns.name(".") == b"\x00"
    assert dns.labels(b"x.y", "Test") == b"\x03x.y\x04Test\x00"
    assert dns.pointer(12) == dns.AT_QUESTION == b"\xc0\x0c"
    assert dns.query("www.example.test", dns.A, id=0x1a2b) == QUERY_A
    assert dns.txt("ab", b"") == b"\x02ab\x00"
    assert dns.mx(10, dns.name("m.test")) == b"\x00\x0a\x01m\x04test\x00"
    assert dns.rr(dns.AT_QUESTION, dns.A, dns.a("192.0.2.1"), ttl=60) == \
        b"\xc0\x0c\x00\x01\x00\x01\x00\x00\x00\x3c\x00\x04\xc0\x00\x02\x01"
    q = dns.parse_query(QUERY_A)
    assert (q.id, q.flags, q.counts, q.name, q.qtype, q.qclass, q.extra) == \
        (0x1a2b, dns.RD, (1, 0, 0, 0), "www.example.test.", dns.A, dns.IN, b"")
    answer = dns.reply(q, [dns.rr(dns.AT_QUESTION, dns.A, dns.a("192.0.2.1"))])
    assert answer[:12] == struct.pack("!6H", 0x1a2b, 0x8580, 1, 1, 0, 0)
    assert answer[12:12 + len(q.question)] == q.question
    lying = dns.reply(q, rcode=dns.REFUSED, question_bytes=b"", an=3, tc=True)
    assert lying == struct.pack("!6H", 0x1a2b, 0x8585 | dns.TC, 0, 3, 0, 0)
    with pytest.raises(ValueError):
        dns.labels("x" * 64)


def test_parse_follows_pointers_and_checks_everything():
    q = dns.parse_query(dns.query("Www.Example.test", dns.MX, id=7))
    records = [dns.rr(dns.AT_QUESTION, dns.MX, dns.mx(10, b"\x04mail" + dns.pointer(16))),
               dns.rr(dns.pointer(12 + len(q.question) + 14), dns.A, dns.a("192.0.2.25"))]
    raw = dns.reply(q, records)
    m = dns.parse(raw)
    assert m.questions == [("Www.Example.test.", dns.MX, dns.IN)]
    assert [(r.name, r.rtype) for r in m.answers] == [("Www.Example.test.", dns.MX),
                                                      ("mail.Example.test.", dns.A)]
    assert dns.rdata_text(raw, m.answers[0]) == "10 mail.Example.test."
    assert dns.describe(raw).startswith("reply id 0x0007 (QR AA RD RA) NOERROR, MX Www.Example")
    assert "2 answers: MX 10 mail.Example.test., A 192.0.2.25" in dns.describe(raw)
    assert dns.describe(dns.query("a.test")) == "query id 0x1234 (RD), A a.test."
    head = dns.header(0, qd=1)
    for bad, why in ((head + b"\xc0\x0c", "itself"), (head + b"\x01a\xc0\x0e", "own labels"),
                     (head + b"\xc0\x0e\x01a\x00", "forward"), (head + b"\x05ab", "past the end"),
                     (head + b"\x41a\x00", "reserved"), (head + b"\xc0", "cut")):
        with pytest.raises(ValueError):
            dns.read_name(bad, 12)
        assert dns.describe(bad).startswith("malformed DNS message"), why
    assert dns.read_name(head + b"\x03A b\x00", 12) == ("A\\032b.", 17)
    assert dns.describe(head + b"\x03A b\x00\x00\x01\x00\x01") == \
        "query id 0x0000 (no flags), A A\\032b."
    with pytest.raises(ValueError):
        dns.parse(dns.reply(q, records, an=3))  # counts that lie


@pytest.mark.parametrize("raw", [b"\0" * 11, dns.reply(dns.parse_query(QUERY_A)),
                                 dns.header(1, dns.RD, qd=2) + dns.question(dns.name("a"), 1) * 2,
                                 dns.header(1, dns.RD, qd=1) + b"\x01a\xc0\x0c\x00\x01\x00\x01",
                                 QUERY_A[:-3]])
def test_malformed_queries_are_refused(raw):
    with pytest.raises(ValueError):
        dns.parse_query(raw)


def udp_ask(port, raw, host="127.0.0.1", seconds=2.0):
    """Send raw, return every datagram that arrives within seconds of quiet."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_DGRAM) as s:
        s.bind((host, 0))
        s.sendto(raw, (host, port))
        got = []
        s.settimeout(seconds)
        try:
            while True:
                data, source = s.recvfrom(65536)
                got.append((data, source[1]))
                s.settimeout(0.2)
        except TimeoutError:
            return got


def tcp_ask(port, raw, host="127.0.0.1", prefix=True):
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as s:
        s.settimeout(5)
        s.connect((host, port))
        s.sendall((struct.pack("!H", len(raw)) if prefix else b"") + raw)
        data = b""
        while True:
            chunk = s.recv(65536)
            if not chunk:
                break
            data += chunk
            if len(data) >= 2 and len(data) >= 2 + struct.unpack("!H", data[:2])[0]:
                break
    length = struct.unpack("!H", data[:2])[0]
    assert len(data) == 2 + length
    return data[2:]


def test_scripted_server_answers_over_udp_and_tcp():
    journal = Journal()

    def udp(q, exchange):
        if exchange.number == 1:
            exchange.forge(dns.reply(q, [dns.rr(dns.AT_QUESTION, dns.A, dns.a("192.0.2.66"))]))
        exchange.reply(dns.reply(q, [dns.rr(dns.AT_QUESTION, dns.A, dns.a("192.0.2.1"))],
                                 tc=True))

    def tcp(q, exchange):
        exchange.reply(dns.reply(q, [dns.rr(dns.AT_QUESTION, dns.A, dns.a("192.0.2.2"))]),
                       chunk=3)

    server = dns.ScriptedServer(udp, journal, tcp_handler=tcp)
    try:
        got = udp_ask(server.port, QUERY_A)
        assert [port == server.port for _, port in got] == [False, True]  # the forgery first
        assert dns.parse(got[1][0]).flags & dns.TC
        answer = dns.parse(tcp_ask(server.port, QUERY_A))
        assert dns.rdata_text(b"", answer.answers[0]) == "192.0.2.2"
        server.check()
        assert [q.name for q in server.queries] == ["www.example.test."]
        assert [q.id for q in server.tcp_queries] == [0x1a2b]
        udp_ask(server.port, b"junk", seconds=0.3)
        assert server.bad_queries == [b"junk"]
        assert any("(TCP) → client: reply id 0x1a2b" in step and "pieces of 3" in step
                   for step in journal.steps)
    finally:
        server.close()


def test_a_malformed_tcp_query_or_failing_handler_reaches_check():
    def handler(q, exchange):
        raise Mismatch("the handler", "nothing", "a failure")

    server = dns.ScriptedServer(handler, Journal(), tcp_handler=lambda q, exchange: None)
    try:
        with socket.create_connection(("127.0.0.1", server.port), timeout=5) as s:
            s.sendall(QUERY_A)  # no length prefix: 0x1a2b bytes announced, far fewer sent
        timing.wait_until(lambda: server.errors, 5)
        with pytest.raises(Mismatch, match="two-byte length"):
            server.check()
        server.errors.clear()
        udp_ask(server.port, QUERY_A, seconds=0.3)
        with pytest.raises(Mismatch, match="the handler"):
            server.check()
    finally:
        server.close()


def test_scripted_server_on_ipv6():
    server = dns.ScriptedServer(lambda q, ex: ex.reply(dns.reply(q)), Journal(), host="::1")
    try:
        got = udp_ask(server.port, QUERY_A, host="::1")
        assert len(got) == 1 and dns.parse(got[0][0]).id == 0x1a2b
    finally:
        server.close()


@pytest.fixture
def dnsmasq(tmp_path):
    try:
        server = dns.start_dnsmasq(tmp_path, Journal(), ipv6=True)
    except EnvironmentError_ as e:
        pytest.skip(str(e))
    yield server
    server.stop()


def test_dnsmasq_serves_the_zone(dnsmasq):
    def ask(qname, qtype, host="127.0.0.1"):
        (raw, _), = udp_ask(dnsmasq.port, dns.query(qname, qtype, id=5), host, seconds=5)
        return dns.parse(raw)

    www = ask("www.example.test", dns.AAAA, "::1")
    assert [(r.rtype, dns.rdata_text(b"", r), r.ttl) for r in www.answers] == \
        [(dns.AAAA, "2001:db8::10", dns.TTL)]
    chain = ask("start.example.test", dns.A)
    assert [r.rtype for r in chain.answers] == [dns.CNAME, dns.CNAME, dns.A]
    assert ask("nope.example.test", dns.A).rcode == dns.NXDOMAIN
    assert ask("outside.test", dns.A).rcode == dns.REFUSED
    big = ask(dns.BIG, dns.A)
    assert big.flags & dns.TC and len(big.answers) < dns.BIG_COUNT
    whole = dns.parse(tcp_ask(dnsmasq.port, dns.query(dns.BIG, dns.A, id=6)))
    assert len({r.rdata for r in whole.answers}) == dns.BIG_COUNT


def test_dig_and_the_comparison_of_records(dnsmasq, tmp_path):
    if shutil.which("dig") is None:
        pytest.skip("dig is not installed (Debian package bind9-dnsutils)")
    runner = Runner(tmp_path / "run", Journal())
    try:
        lines = dns.dig(runner.run, dnsmasq.port, "example.test", "TXT")
        assert [dns.fields(line) for line in lines] == \
            [("example.test.", "60", "IN", "TXT", '"v=spf1 -all"')]
        txt = dns.dig(runner.run, dnsmasq.port, "txt.example.test", "TXT", server="::1")
        assert dns.fields(txt[0])[4] == '"say \\"hi\\"" "back\\\\slash" "tab\\009and space"'
        assert len(dns.dig(runner.run, dnsmasq.port, dns.BIG, "A")) == dns.BIG_COUNT
        mx = dns.dig(runner.run, dnsmasq.port, "example.test", "MX")
        mine = sorted(" ".join(dns.fields(line)) for line in mx)
        dns.expect_records(mine, mx, "the same set")
        with pytest.raises(Mismatch) as caught:
            dns.expect_records(mine[:1], mx, "one missing")
        assert "dig has, minidig does not" in caught.value.detail
        with pytest.raises(Mismatch):
            dns.expect_records(list(reversed(mine)), sorted(mx), "in order", ordered=True)
        with pytest.raises(EnvironmentError_):
            free = peers.unused_port(types=(socket.SOCK_DGRAM, socket.SOCK_STREAM))
            dns.dig(runner.run, free, "example.test", "A")  # nobody there
    finally:
        runner.close()
