"""Lab 04, hidden tests of minidig: corners of the handout the public tests do not show."""
import pytest

from netgrader import dns, timing
from netgrader.dns import AT_QUESTION
from netgrader.expect import Mismatch, expect_exit, expect_stderr_line


def minidig(run, lab, port, qname, *options):
    return run([lab.program("minidig"), "@127.0.0.1", "-p", str(port), "-T",
                str(round(timing.scaled(500))), *options, qname])


@pytest.mark.points(1)
@pytest.mark.milestone("answers")
@pytest.mark.needs("test_minidig_a_like_dig")
def test_hidden_minidig_escapes_like_dig(run, lab, dns_scripted_server):
    """Odd bytes in names and TXT strings, a type nobody here knows, an IPv4-mapped AAAA,
    the largest TTL and the root: minidig prints every line as dig does."""
    odd_owner = dns.labels(b"A b", b"x.y", b'q"(;)\\@$', b"\x00\xff\x7f~", b"Test")

    def handler(q, exchange):
        exchange.reply(dns.reply(q, [
            dns.rr(odd_owner, dns.A, dns.a("192.0.2.1")),
            dns.rr(AT_QUESTION, dns.TXT, dns.txt(b"a\x00\xff~\x7f", b"", b";@$().", b'"\\')),
            dns.rr(AT_QUESTION, 65280, bytes.fromhex("0a000001")),
            dns.rr(AT_QUESTION, 65280, b""),
            dns.rr(AT_QUESTION, dns.AAAA, dns.aaaa("::ffff:1.2.3.4")),
            dns.rr(AT_QUESTION, dns.A, dns.a("192.0.2.2"), ttl=4294967295),
            dns.rr(b"\0", dns.NS, b"\0"),
        ]))

    server = dns_scripted_server(handler)
    want = dns.dig(run, server.port, "odd.test", "A")
    result = minidig(run, lab, server.port, "odd.test")
    server.check()
    expect_exit(result, 0, "minidig odd.test")
    dns.expect_records(result.stdout_text.splitlines(), want, "minidig's odd records",
                       ordered=True, hint="Escape as dig does: \\DDD for bytes outside "
                                          "the printable range, a backslash before special "
                                          "characters; RFC 3597's \\# form for unknown types.")


@pytest.mark.points(1)
@pytest.mark.milestone("hostile")
@pytest.mark.needs("test_minidig_a_like_dig")
def test_hidden_minidig_question_in_another_case(run, lab, dns_scripted_server):
    """The server echoes the question with its letters' case changed (as with DNS 0x20): still
    the answer, and the owner is printed as the answer has it."""
    def handler(q, exchange):
        flipped = bytes(c ^ 0x20 if chr(c).isalpha() else c for c in q.question[:-4]) \
            + q.question[-4:]
        exchange.reply(dns.reply(q, [dns.rr(AT_QUESTION, dns.A, dns.a("192.0.2.7"))],
                                 question_bytes=flipped))

    server = dns_scripted_server(handler)
    result = minidig(run, lab, server.port, "Case.Example.test")
    server.check()
    expect_exit(result, 0, "minidig when the question comes back in another case",
                "Names are compared ignoring ASCII case (RFC 4343).")
    dns.expect_records(result.stdout_text.splitlines(), ["cASE.eXAMPLE.TEST. 60 IN A 192.0.2.7"],
                       "minidig's answer, its owner in the case of the answer",
                       hint="Print names as the answer has them, not as you asked.")


@pytest.mark.points(1)
@pytest.mark.milestone("answers")
@pytest.mark.needs("test_minidig_a_like_dig")
def test_hidden_minidig_error_reply_without_question(run, lab, dns_scripted_server):
    """REFUSED without a question section is still the answer (`NAME: REFUSED`, exit 1); a
    NOERROR without a question is not, and the real answer that follows is printed."""
    def handler(q, exchange):
        if q.name.startswith("refused"):
            exchange.reply(dns.reply(q, rcode=dns.REFUSED, question_bytes=b""))
            return
        exchange.reply(dns.reply(q, [dns.rr(dns.name(q.name), dns.A, dns.a("192.0.2.66"))],
                                 question_bytes=b""))
        exchange.reply(dns.reply(q, [dns.rr(AT_QUESTION, dns.A, dns.a("192.0.2.8"))]))

    server = dns_scripted_server(handler)
    result = minidig(run, lab, server.port, "refused.test")
    expect_exit(result, 1, "minidig answered REFUSED without a question")
    expect_stderr_line(result, "refused.test: REFUSED")
    result = minidig(run, lab, server.port, "noerror.test")
    server.check()
    expect_exit(result, 0, "minidig after a NOERROR without a question")
    if result.stdout_text.splitlines() != ["noerror.test. 60 IN A 192.0.2.8"]:
        raise Mismatch("minidig's answer after a NOERROR without a question",
                       "noerror.test. 60 IN A 192.0.2.8", repr(result.stdout_text[:200]))
