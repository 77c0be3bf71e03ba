"""Lab 04, minidig: a DNS stub resolver, against dnsmasq (with dig as the
reference for what to print) and scripted servers that misbehave on purpose.

Every query goes to a server on loopback with an explicit port: minidig
never reaches the machine's own resolver in these tests."""
import pytest

from netgrader import dns, timing
from netgrader.dns import AT_QUESTION, ZONE, fqdn
from netgrader.expect import Mismatch, expect_exit, expect_stderr_line, expect_valgrind_clean

TIMEOUT_MS = 300  # per try, against scripted servers
RETRY_HINT = ("UDP loses datagrams: wait -T ms for the answer, then send the same query again; "
              "3 tries in all, then `minidig: SERVER#PORT: timed out` and exit 1.")
STRAY_HINT = ("Only a datagram from the server's address and port, with your query's ID, QR "
              "set and your question, is the answer; ignore anything else and keep waiting "
              "until the same deadline.")
MALFORMED_HINT = ("Check every length, count and pointer against the bytes really received; a "
                  "pointer must point before the labels already read. A malformed answer prints "
                  "nothing and exits 1.")


def minidig(run, lab, port, qname, qtype=None, server="127.0.0.1", timeout_ms=None, **kwargs):
    argv = [lab.program("minidig")]
    if server is not None:
        argv.append(f"@{server}")
    argv += ["-p", str(port)]
    if qtype is not None:
        argv += ["-t", qtype]
    if timeout_ms is not None:  # scaled like every deadline of the grader
        argv += ["-T", str(max(1, round(timing.scaled(timeout_ms))))]
    return run([*argv, qname], **kwargs)


def lines(result):
    return result.stdout_text.splitlines()


def like_dig(run, lab, zone, qname, qtype, ordered=False, server="127.0.0.1", dig_type=None,
             **kwargs):
    """minidig and dig ask dnsmasq the same question: the same records."""
    want = dns.dig(run, zone.port, qname, dig_type or qtype, server)
    if not want:
        raise dns.EnvironmentError_(f"dig found no record for {qname} {qtype}: the test zone "
                                    "is broken")
    result = minidig(run, lab, zone.port, qname, qtype, server, **kwargs)
    expect_exit(result, 0, f"minidig @{server} {qname} -t {qtype}")
    dns.expect_records(lines(result), want, f"minidig's answer to {qname} {qtype}", ordered)
    return result


def expect_no_output(result, what):
    if result.stdout:
        raise Mismatch(f"minidig's stdout {what}", "nothing", repr(result.stdout_text[:300]),
                       "Print the records only once the whole answer has been checked.")


def answer_a(address, ttl=60):
    return dns.rr(AT_QUESTION, dns.A, dns.a(address), ttl)


@pytest.mark.points(1)
@pytest.mark.milestone("answers")
@pytest.mark.needs("test_minidig_a_like_dig")
def test_minidig_usage(run, lab, dnsmasq_server):
    """Bad command lines exit 2 with a usage line; good ones, with the server and the name in
    either order, get the answer."""
    zone = dnsmasq_server()
    for argv in ([], ["-t"], ["-t", "SOA", "x.test"], ["-t", "BOGUS", "x.test"],
                 ["-p", "0", "x.test"], ["-p", "70000", "x.test"], ["-p", "5x", "x.test"],
                 ["-T", "0", "x.test"], ["-T", "soon", "x.test"], ["-x", "x.test"],
                 ["a.test", "b.test"], ["@127.0.0.1", "@::1", "x.test"], ["@", "x.test"],
                 ["@not-an-address", "x.test"], ["@127.0.0.1"], ["@127.0.0.1", "a..b"],
                 ["@127.0.0.1", "x" * 64 + ".test"]):
        result = run([lab.program("minidig"), *argv],
                     label=f"minidig {' '.join(map(str, argv)) or '(no arguments)'}"[:100])
        expect_exit(result, 2, hint="A bad command line: a message, the usage line, exit 2.")
        expect_stderr_line(result, "usage")
    for argv in (["@127.0.0.1", "-p", str(zone.port), f"www.{ZONE}"],
                 ["-p", str(zone.port), "-t", "A", f"www.{ZONE}", "@127.0.0.1"]):
        result = run([lab.program("minidig"), *argv])
        expect_exit(result, 0, f"minidig {' '.join(argv)}")
        if len(lines(result)) != 1:
            raise Mismatch(f"the output of minidig {' '.join(argv)}", "one record",
                           repr(result.stdout_text[:200]))


@pytest.mark.points(2)
@pytest.mark.milestone("answers")
def test_minidig_a_like_dig(run, lab, dnsmasq_server):
    """A records print as dig prints them, names in the case the answer has them."""
    zone = dnsmasq_server()
    for qname in (fqdn("www"), fqdn("mail"), "MiXeD.Example.TEST", f"www.{ZONE}."):
        like_dig(run, lab, zone, qname, "A", ordered=True)


@pytest.mark.points(1)
@pytest.mark.milestone("answers")
@pytest.mark.needs("test_minidig_a_like_dig")
def test_minidig_aaaa_like_dig(run, lab, dnsmasq_server):
    """An AAAA record prints its address the way inet_ntop writes it."""
    like_dig(run, lab, dnsmasq_server(), fqdn("www"), "AAAA", ordered=True)


@pytest.mark.points(1)
@pytest.mark.milestone("answers")
@pytest.mark.needs("test_minidig_a_like_dig")
def test_minidig_mx_like_dig(run, lab, dnsmasq_server):
    """MX records: the preference, then the exchange's name with its final dot."""
    like_dig(run, lab, dnsmasq_server(), ZONE, "MX")


@pytest.mark.points(2)
@pytest.mark.milestone("answers")
@pytest.mark.needs("test_minidig_a_like_dig")
def test_minidig_txt_like_dig(run, lab, dnsmasq_server):
    """TXT records: every string quoted, with quotes, backslashes and control bytes escaped
    as dig escapes them."""
    zone = dnsmasq_server()
    like_dig(run, lab, zone, ZONE, "TXT")
    like_dig(run, lab, zone, fqdn("txt"), "TXT")


@pytest.mark.points(2)
@pytest.mark.milestone("answers")
@pytest.mark.needs("test_minidig_a_like_dig")
def test_minidig_cname_chain_in_order(run, lab, dnsmasq_server):
    """A chain of two CNAMEs: every record of the answer section, in the order received."""
    zone = dnsmasq_server()
    like_dig(run, lab, zone, fqdn("start"), "A", ordered=True)
    like_dig(run, lab, zone, fqdn("middle"), "CNAME", ordered=True)
    like_dig(run, lab, zone, fqdn("start"), "TXT", ordered=True)  # only the CNAMEs


@pytest.mark.points(1)
@pytest.mark.milestone("answers")
@pytest.mark.needs("test_minidig_a_like_dig")
def test_minidig_type_names_ignore_case(run, lab, dnsmasq_server):
    """-t aaaa, -t Mx and -t txt ask for AAAA, MX and TXT."""
    zone = dnsmasq_server()
    like_dig(run, lab, zone, fqdn("www"), "aaaa", dig_type="AAAA")
    like_dig(run, lab, zone, ZONE, "Mx", dig_type="MX")
    like_dig(run, lab, zone, ZONE, "txt", dig_type="TXT")


@pytest.mark.points(1)
@pytest.mark.milestone("answers")
@pytest.mark.needs("test_minidig_a_like_dig")
def test_minidig_nxdomain(run, lab, dnsmasq_server):
    """A name that does not exist: `minidig: NAME: NXDOMAIN` on stderr, nothing on stdout,
    exit 1; a name that exists, exit 0."""
    zone = dnsmasq_server()
    result = minidig(run, lab, zone.port, fqdn("nope"))
    expect_exit(result, 1, "minidig asking for a name that does not exist",
                "An RCODE other than NOERROR is a failure: name it on stderr, exit 1.")
    expect_stderr_line(result, f"{fqdn('nope')}: NXDOMAIN")
    expect_no_output(result, "for NXDOMAIN")
    expect_exit(minidig(run, lab, zone.port, fqdn("www")), 0,
                "minidig asking for a name that exists")


@pytest.mark.points(1)
@pytest.mark.milestone("answers")
@pytest.mark.needs("test_minidig_a_like_dig")
def test_minidig_refused_and_servfail(run, lab, dnsmasq_server, dns_scripted_server):
    """REFUSED (dnsmasq, for a name outside its zone) and SERVFAIL (a scripted server):
    the RCODE's name on stderr, exit 1; NOERROR from the same server, exit 0."""
    zone = dnsmasq_server()
    result = minidig(run, lab, zone.port, "outside.test")
    expect_exit(result, 1, "minidig asking dnsmasq for a name outside its zone")
    expect_stderr_line(result, "outside.test: REFUSED")
    expect_no_output(result, "for REFUSED")

    def handler(q, exchange):
        if q.name.startswith("broken"):
            exchange.reply(dns.reply(q, rcode=dns.SERVFAIL))
        else:
            exchange.reply(dns.reply(q, [answer_a("192.0.2.1")]))

    server = dns_scripted_server(handler)
    result = minidig(run, lab, server.port, "broken.test", timeout_ms=TIMEOUT_MS)
    expect_exit(result, 1, "minidig answered SERVFAIL")
    expect_stderr_line(result, "broken.test: SERVFAIL")
    expect_no_output(result, "for SERVFAIL")
    result = minidig(run, lab, server.port, "fine.test", timeout_ms=TIMEOUT_MS)
    server.check()
    expect_exit(result, 0, "minidig answered NOERROR by the same server")
    dns.expect_records(lines(result), ["fine.test. 60 IN A 192.0.2.1"],
                       "minidig's answer from the same server")


@pytest.mark.points(1)
@pytest.mark.milestone("answers")
@pytest.mark.needs("test_minidig_a_like_dig")
def test_minidig_no_records_of_that_type(run, lab, dnsmasq_server):
    """NOERROR with an empty answer section (www has no MX): no line, exit 0, like dig."""
    zone = dnsmasq_server()
    result = minidig(run, lab, zone.port, fqdn("www"), "MX")
    expect_exit(result, 0, "minidig asking for a type the name has no record of",
                "NOERROR with no answer is a success with nothing to print.")
    expect_no_output(result, "for an empty answer")
    result = minidig(run, lab, zone.port, fqdn("www"), "AAAA")
    expect_exit(result, 0, "minidig asking for a type the name has")
    if len(lines(result)) != 1:
        raise Mismatch("the records of www AAAA", "one", repr(result.stdout_text[:200]))


def fixed_answer(address):
    def handler(q, exchange):
        exchange.reply(dns.reply(q, [answer_a(address)]))
    return handler


@pytest.mark.points(2)
@pytest.mark.milestone("answers")
@pytest.mark.needs("test_minidig_a_like_dig")
def test_minidig_server_from_resolv_conf(lab, private_names, dns_scripted_server):
    """Without @SERVER, the first `nameserver` of /etc/resolv.conf (here 127.0.0.2, after
    comments and other lines; then ::1) gets the query, on the port -p gives."""
    first = dns_scripted_server(fixed_answer("192.0.2.2"), host="127.0.0.2")
    conf = ("# written by the test\n; a comment too\nsearch example.test\noptions ndots:1\n"
            "nameserver 127.0.0.2\nnameserver 127.0.0.3\n")
    runner = private_names({}, resolv_conf=conf)
    result = minidig(runner.run, lab, first.port, "www.example.test", server=None,
                     timeout_ms=TIMEOUT_MS)
    first.check()
    expect_exit(result, 0, "minidig without @SERVER",
                "Read /etc/resolv.conf: the address after the first `nameserver` keyword.")
    dns.expect_records(lines(result), ["www.example.test. 60 IN A 192.0.2.2"],
                       "minidig's answer from the first nameserver of resolv.conf")
    second = dns_scripted_server(fixed_answer("192.0.2.6"), host="::1")
    runner = private_names({}, resolv_conf="nameserver ::1\n")
    result = minidig(runner.run, lab, second.port, "www.example.test", server=None,
                     timeout_ms=TIMEOUT_MS)
    second.check()
    expect_exit(result, 0, "minidig without @SERVER, resolv.conf naming ::1")
    dns.expect_records(lines(result), ["www.example.test. 60 IN A 192.0.2.6"],
                       "minidig's answer from nameserver ::1")


@pytest.mark.points(1)
@pytest.mark.milestone("answers")
@pytest.mark.needs("test_minidig_a_like_dig")
def test_minidig_default_server_is_localhost(lab, private_names, dnsmasq_server):
    """A resolv.conf without any `nameserver`: the server is 127.0.0.1, as for the C library."""
    zone = dnsmasq_server()
    runner = private_names({}, resolv_conf="search example.test\noptions timeout:1\n")
    result = minidig(runner.run, lab, zone.port, fqdn("www"), server=None)
    expect_exit(result, 0, "minidig without @SERVER and without a nameserver line",
                "No nameserver in resolv.conf means 127.0.0.1.")
    want = dns.dig(runner.run, zone.port, fqdn("www"), "A")
    dns.expect_records(lines(result), want, "minidig's answer from 127.0.0.1")


@pytest.mark.points(1)
@pytest.mark.milestone("answers")
@pytest.mark.needs("test_minidig_a_like_dig")
def test_minidig_ipv6_server(run, lab, dnsmasq_server):
    """@::1: the query goes over IPv6."""
    zone = dnsmasq_server(ipv6=True)
    like_dig(run, lab, zone, fqdn("www"), "AAAA", server="::1")
    like_dig(run, lab, zone, fqdn("start"), "A", server="::1", ordered=True)


@pytest.mark.points(1)
@pytest.mark.milestone("query")
def test_minidig_sends_a_plain_query(run, lab, dns_scripted_server):
    """The query: a random ID, only RD set, one question of class IN, nothing else (no EDNS);
    a new ID on each run."""
    def handler(q, exchange):
        exchange.reply(dns.reply(q, [dns.rr(AT_QUESTION, dns.MX, dns.mx(10, dns.name("mx.test")))]))

    server = dns_scripted_server(handler)
    for _ in range(3):
        result = minidig(run, lab, server.port, "Plain.Test", "MX", timeout_ms=TIMEOUT_MS)
        expect_exit(result, 0, "minidig -t MX Plain.Test")
        dns.expect_records(lines(result), ["Plain.Test. 60 IN MX 10 mx.test."],
                           "minidig's answer to Plain.Test MX")
    server.check()
    want = dns.query("Plain.Test", dns.MX, id=0)[2:]
    for q in server.queries:
        if q.raw[2:] != want:
            raise Mismatch("the query minidig sent (after its ID)", dns.describe(dns.query(
                "Plain.Test", dns.MX, id=q.id)) + f": {want.hex(' ')}", f"{dns.describe(q.raw)}: "
                f"{q.raw[2:].hex(' ')}", "Flags 0x0100 (RD), QDCOUNT 1, no other record; the "
                "name as given, type MX (15), class IN (1).")
    if len({q.id for q in server.queries}) == 1:
        raise Mismatch("the IDs of three queries", "random IDs (getrandom)",
                       f"{server.queries[0].id:#06x} each time",
                       "A predictable ID lets anyone forge the answer.")


@pytest.mark.points(2)
@pytest.mark.milestone("hostile")
@pytest.mark.needs("test_minidig_a_like_dig")
def test_minidig_ignores_a_wrong_id(run, lab, dns_scripted_server):
    """Before the answer: the query echoed back (QR clear) and an answer with another ID; only
    the real answer is printed."""
    def handler(q, exchange):
        exchange.reply(q.raw)
        exchange.reply(dns.reply(q, [answer_a("192.0.2.66")], id=q.id ^ 0x5A5A))
        exchange.reply(dns.reply(q, [answer_a("192.0.2.1")]))

    server = dns_scripted_server(handler)
    result = minidig(run, lab, server.port, "id.test", timeout_ms=1000)
    server.check()
    expect_exit(result, 0, "minidig after an echo and a wrong ID", STRAY_HINT)
    dns.expect_records(lines(result), ["id.test. 60 IN A 192.0.2.1"],
                       "minidig's answer after an echo and a wrong ID", hint=STRAY_HINT)


@pytest.mark.points(2)
@pytest.mark.milestone("hostile")
@pytest.mark.needs("test_minidig_a_like_dig")
def test_minidig_ignores_forged_sources(run, lab, dns_scripted_server):
    """Before the answer, two forgeries with the right ID and question: from another port of
    the server's address, and from another address (127.0.0.2) with the server's port."""
    def handler(q, exchange):
        forged = dns.reply(q, [answer_a("192.0.2.66")])
        exchange.forge(forged)
        exchange.forge(forged, host="127.0.0.2", port=exchange.server.port)
        exchange.reply(dns.reply(q, [answer_a("192.0.2.1")]))

    server = dns_scripted_server(handler)
    result = minidig(run, lab, server.port, "forged.test", timeout_ms=1000)
    server.check()
    expect_exit(result, 0, "minidig after two forged answers", STRAY_HINT)
    dns.expect_records(lines(result), ["forged.test. 60 IN A 192.0.2.1"],
                       "minidig's answer after two forged answers",
                       hint="Compare the source address AND port of each datagram with the "
                            "server's (or connect the socket: the kernel then filters).")


@pytest.mark.points(1)
@pytest.mark.milestone("hostile")
@pytest.mark.needs("test_minidig_a_like_dig")
def test_minidig_ignores_another_question(run, lab, dns_scripted_server):
    """Before the answer, two with the right ID but another question (another name, another
    type)."""
    def handler(q, exchange):
        other = dns.question(dns.name("other.test"), dns.A)
        exchange.reply(dns.reply(q, [answer_a("192.0.2.66")], question_bytes=other))
        other = dns.question(dns.name(q.name), dns.AAAA)
        exchange.reply(dns.reply(q, [dns.rr(AT_QUESTION, dns.AAAA, dns.aaaa("2001:db8::66"))],
                                 question_bytes=other))
        exchange.reply(dns.reply(q, [answer_a("192.0.2.1")]))

    server = dns_scripted_server(handler)
    result = minidig(run, lab, server.port, "question.test", timeout_ms=1000)
    server.check()
    expect_exit(result, 0, "minidig after answers to other questions", STRAY_HINT)
    dns.expect_records(lines(result), ["question.test. 60 IN A 192.0.2.1"],
                       "minidig's answer after answers to other questions", hint=STRAY_HINT)


@pytest.mark.points(2)
@pytest.mark.milestone("retries")
@pytest.mark.needs("test_minidig_a_like_dig")
def test_minidig_retries_after_silence(run, lab, dns_scripted_server):
    """The server ignores the first two queries and answers the third: the same question
    three times, then the answer."""
    def handler(q, exchange):
        if exchange.number == 3:
            exchange.reply(dns.reply(q, [answer_a("192.0.2.3")]))

    server = dns_scripted_server(handler)
    result = minidig(run, lab, server.port, "late.test", timeout_ms=TIMEOUT_MS)
    server.check()
    expect_exit(result, 0, "minidig when only the third query is answered", RETRY_HINT)
    dns.expect_records(lines(result), ["late.test. 60 IN A 192.0.2.3"],
                       "minidig's answer to its third query")
    asked = [(q.name, q.qtype, q.qclass) for q in server.queries]
    if asked != [("late.test.", dns.A, dns.IN)] * 3:
        raise Mismatch("the queries the server received", "late.test A, three times",
                       str(asked), RETRY_HINT)


@pytest.mark.points(1)
@pytest.mark.milestone("retries")
@pytest.mark.needs("test_minidig_a_like_dig")
def test_minidig_gives_up_after_three_tries(run, lab, dns_scripted_server):
    """A server that never answers silent.test: exactly 3 queries, then `timed out` on stderr,
    exit 1; the same server answers answered.test at once."""
    def handler(q, exchange):
        if q.name.startswith("answered"):
            exchange.reply(dns.reply(q, [answer_a("192.0.2.4")]))

    server = dns_scripted_server(handler)
    result = minidig(run, lab, server.port, "silent.test", timeout_ms=200)
    expect_exit(result, 1, "minidig against a silent server", RETRY_HINT)
    expect_stderr_line(result, "timed out", hint=RETRY_HINT)
    expect_no_output(result, "after a timeout")
    silent = [q for q in server.queries if q.name == "silent.test."]
    if len(silent) != 3:
        raise Mismatch("the number of queries a silent server received", "3", str(len(silent)),
                       RETRY_HINT)
    result = minidig(run, lab, server.port, "answered.test", timeout_ms=200)
    server.check()
    expect_exit(result, 0, "minidig asking the same server a question it answers")
    dns.expect_records(lines(result), ["answered.test. 60 IN A 192.0.2.4"],
                       "minidig's answer from the same server")


def loop_owner(q):
    """An answer whose owner is a pointer to itself."""
    at = dns.QUESTION_OFFSET + len(q.question)
    return dns.reply(q, [dns.rr(dns.pointer(at), dns.A, dns.a("192.0.2.66"))])


def loop_cname(q):
    """A CNAME whose target is a label, then a pointer back to that label."""
    at = dns.QUESTION_OFFSET + len(q.question) + 2 + 10  # the RDATA of the first answer
    return dns.reply(q, [dns.rr(AT_QUESTION, dns.CNAME, b"\x01a" + dns.pointer(at))])


def loop_pair(q):
    """Two owners pointing at each other: the first answer's owner points to the second's."""
    first = dns.QUESTION_OFFSET + len(q.question)
    second = first + 2 + 10 + 4
    return dns.reply(q, [dns.rr(dns.pointer(second), dns.A, dns.a("192.0.2.66")),
                         dns.rr(dns.pointer(first), dns.A, dns.a("192.0.2.67"))])


def hostile_server(dns_scripted_server, answers):
    """A server answering NAME with answers[first label of NAME](query), and good.test well."""
    def handler(q, exchange):
        make = answers.get(q.name.split(".")[0])
        raw = make(q) if make else dns.reply(q, [answer_a("192.0.2.1")])
        if raw is not None:  # None: no answer at all
            exchange.reply(raw)
    return dns_scripted_server(handler)


def expect_refused(run, lab, server, names, what):
    for qname in names:
        result = minidig(run, lab, server.port, f"{qname}.test", timeout_ms=TIMEOUT_MS)
        expect_exit(result, 1, f"minidig answered with {what} ({qname}.test)", MALFORMED_HINT)
        expect_no_output(result, f"for an answer with {what} ({qname}.test)")
    result = minidig(run, lab, server.port, "good.test", timeout_ms=TIMEOUT_MS)
    server.check()
    expect_exit(result, 0, "minidig answered well by the same server")
    dns.expect_records(lines(result), ["good.test. 60 IN A 192.0.2.1"],
                       "minidig's answer from the same server, well formed")


@pytest.mark.points(2)
@pytest.mark.milestone("hostile")
@pytest.mark.needs("test_minidig_a_like_dig")
def test_minidig_refuses_pointer_loops(run, lab, dns_scripted_server):
    """Compression loops (an owner pointing to itself, a name pointing back into its own
    labels, two owners pointing at each other) end in exit 1 quickly, never in a hang."""
    server = hostile_server(dns_scripted_server,
                            {"self": loop_owner, "cname": loop_cname, "pair": loop_pair})
    expect_refused(run, lab, server, ["self", "cname", "pair"], "a compression loop")


def past_end(q):
    return dns.reply(q, [dns.rr(dns.pointer(0x3FFF), dns.A, dns.a("192.0.2.66"))])


def too_many(q):
    return dns.reply(q, [answer_a("192.0.2.66")], an=3)


def long_rdata(q):
    return dns.reply(q, [answer_a("192.0.2.66")[:-6] + b"\x00\xc8" + dns.a("192.0.2.66")])


def long_label(q):
    return dns.reply(q, [answer_a("192.0.2.66")], an=2) + b"\x3f" + b"x" * 10


@pytest.mark.points(2)
@pytest.mark.milestone("hostile")
@pytest.mark.needs("test_minidig_a_like_dig")
def test_minidig_refuses_lying_counts(run, lab, dns_scripted_server):
    """Answers that claim more than they hold: a pointer past the end, ANCOUNT 3 with one
    answer, RDLENGTH 200 with 4 bytes, a 63-byte label with 10 bytes left. Nothing printed
    (not even the first, valid answer), exit 1."""
    server = hostile_server(dns_scripted_server, {"past": past_end, "count": too_many,
                                                  "rdlength": long_rdata, "label": long_label})
    expect_refused(run, lab, server, ["past", "count", "rdlength", "label"], "lying counts")


@pytest.mark.points(2)
@pytest.mark.milestone("retries")
@pytest.mark.needs("test_minidig_a_like_dig")
def test_minidig_truncated_answer_over_tcp(run, lab, dnsmasq_server):
    """120 A records do not fit in 512 bytes: dnsmasq sets TC, and minidig asks again over
    TCP and prints all of them, as dig does."""
    zone = dnsmasq_server()
    result = like_dig(run, lab, zone, dns.BIG, "A")
    if len(lines(result)) != dns.BIG_COUNT:
        raise Mismatch(f"the number of records for {dns.BIG}", str(dns.BIG_COUNT),
                       str(len(lines(result))))


@pytest.mark.points(2)
@pytest.mark.milestone("retries")
@pytest.mark.needs("test_minidig_a_like_dig")
def test_minidig_tcp_answer_in_pieces(run, lab, dns_scripted_server):
    """A truncated UDP answer (TC, one record), then over TCP the length prefix and the answer
    arrive 3 bytes at a time, 10 ms apart: the three records of the TCP answer, not the UDP
    one."""
    records = ["192.0.2.11", "192.0.2.12", "192.0.2.13"]

    def udp(q, exchange):
        exchange.reply(dns.reply(q, [answer_a("192.0.2.99")], tc=True))

    def tcp(q, exchange):
        exchange.reply(dns.reply(q, [answer_a(a) for a in records]), chunk=3, pause=0.01)

    server = dns_scripted_server(udp, tcp_handler=tcp)
    result = minidig(run, lab, server.port, "pieces.test", timeout_ms=1000)
    server.check()
    expect_exit(result, 0, "minidig after a truncated answer",
                "On TC, send the same query over TCP, after its length in two bytes, and read "
                "the two-byte length, then exactly that many bytes, however they arrive.")
    dns.expect_records(lines(result), [f"pieces.test. 60 IN A {a}" for a in records],
                       "minidig's answer over TCP", ordered=True)
    if len(server.tcp_queries) != 1 or server.tcp_queries[0].question != server.queries[0].question:
        raise Mismatch("the queries over TCP", "one, with the question of the UDP query",
                       f"{len(server.tcp_queries)}: "
                       + "; ".join(dns.describe(q.raw) for q in server.tcp_queries))


@pytest.mark.points(2)
@pytest.mark.milestone("retries")
@pytest.mark.needs("test_minidig_a_like_dig")
def test_minidig_valgrind_clean(run, lab, dnsmasq_server, dns_scripted_server):
    """Under Valgrind: an answer, a TCP answer, NXDOMAIN, a timeout and a compression loop,
    each without memory errors, leaks or descriptors left open."""
    zone = dnsmasq_server()
    for qname, status, count in ((fqdn("www"), 0, 1), (dns.BIG, 0, dns.BIG_COUNT),
                                 (fqdn("nope"), 1, 0)):
        result = minidig(run, lab, zone.port, qname, valgrind=True)
        expect_exit(result, status, f"minidig {qname} under valgrind")
        if len(lines(result)) != count:
            raise Mismatch(f"the records minidig {qname} printed under valgrind", str(count),
                           str(len(lines(result))))
        expect_valgrind_clean(result, f"valgrind on minidig {qname}")
    server = hostile_server(dns_scripted_server, {"self": loop_owner,
                                                  "silent": lambda q: None})
    # The compression loop's answer must come within -T (a Python thread, a
    # slow machine); the silent server's three tries only cost time.
    for qname, timeout_ms in (("self.test", 200), ("silent.test", 50)):
        result = minidig(run, lab, server.port, qname, timeout_ms=timeout_ms, valgrind=True)
        expect_exit(result, 1, f"minidig {qname} under valgrind")
        if qname == "silent.test":
            expect_stderr_line(result, "timed out", hint=RETRY_HINT)
        expect_valgrind_clean(result, f"valgrind on minidig {qname}")


@pytest.mark.points(1)
@pytest.mark.milestone("retries")
@pytest.mark.needs("test_minidig_truncated_answer_over_tcp")
def test_minidig_robust_io(lab, run, dnsmasq_server, faults):
    """Under fault injection the answers are whole: over UDP with queries dropped as they
    leave (this test's seed drops the first), then with the query sent twice and, over TCP,
    every read and write cut short, EINTR and EAGAIN wherever the kernel may give them."""
    zone = dnsmasq_server()
    cases = ((faults(kinds=("drop",), rate=20), fqdn("start"), RETRY_HINT),
             (faults(kinds=("short", "shortwrite", "eintr", "eagain", "dup"), rate=100), dns.BIG,
              "A stream gives what it has: loop until the two-byte length, then until the whole "
              "answer is in; write until everything is sent; retry after EINTR, poll after "
              "EAGAIN."))
    for runner, qname, hint in cases:
        want = dns.dig(run, zone.port, qname, "A")
        result = minidig(runner.run, lab, zone.port, qname, timeout_ms=TIMEOUT_MS)
        expect_exit(result, 0, f"minidig {qname} under faults", hint)
        dns.expect_records(lines(result), want, f"minidig's answer to {qname} under faults",
                           hint=hint)
