"""Lab 04, part A: resolve, getaddrinfo done right.

Every run sees only the test's own /etc/hosts (the private_names fixture):
no name ever reaches a real resolver. The expected answers are never
written by hand: they come from the C library itself, asked through
Python's socket module in the same private namespace, so they hold
whatever order the library's address sorting (RFC 6724) gives on this
machine.

The connection tests build their peers on one port across several loopback
addresses (all of 127/8 and ::1 are local): a listening socket, a socket
bound but not listening (every connect is refused at once), and a silent
one - a listener with a backlog of 0 whose one accept-queue place is
already taken, so that the kernel drops every further SYN and a connect
waits as if the machine were switched off.
"""
import errno
import json
import socket
import time

import pytest

from netgrader import timing
from netgrader.expect import Mismatch, expect_exit, expect_stderr_line, expect_valgrind_clean
from netgrader.procs import EnvironmentError_

LIST_HINT = ("Print every address getaddrinfo returns, in its order and as often as it returns "
             "it: no sorting, no merging, no AI_ADDRCONFIG (it hides IPv6 on a machine whose "
             "only IPv6 address is ::1). Format each with getnameinfo(NI_NUMERICHOST | "
             "NI_NUMERICSERV): 127.0.0.1:80, [::1]:80.")
CONNECT_HINT = ("Walk the whole getaddrinfo list: a socket of each address's own family "
                "(ai_family, ai_socktype, ai_protocol), a non-blocking connect, poll for at most "
                "the timeout, SO_ERROR for the outcome; on failure report it, close that socket "
                "and go on to the next address.")

NAMES = {
    "dual.test": ["::1", "127.0.0.1"],
    "v6only.test": ["::1"],
    "mixed.test": ["2001:db8::7", "127.0.0.7", "2001:db8::8", "127.0.0.8"],
    "many.test": [f"127.0.0.{i}" for i in range(2, 10)],
    "named.test": ["127.0.0.42"],
}

# Asks the C library what getaddrinfo (same hints as resolve: stream sockets,
# no flags) and getnameinfo say, for a JSON list of queries.
LIBC = r"""
import json, socket, sys
FAMILY = {"any": socket.AF_UNSPEC, "4": socket.AF_INET, "6": socket.AF_INET6}
NUMERIC = socket.NI_NUMERICHOST | socket.NI_NUMERICSERV
answers = []
for query in json.loads(sys.argv[1]):
    try:
        if query[0] == "lookup":
            _, host, port, family = query
            found = socket.getaddrinfo(host, port, FAMILY[family], socket.SOCK_STREAM)
            shown = []
            for fam, _, _, _, sa in found:
                h, p = socket.getnameinfo(sa, NUMERIC)
                shown.append(f"[{h}]:{p}" if fam == socket.AF_INET6 else f"{h}:{p}")
            answers.append({"addresses": shown})
        else:
            answers.append({"name": socket.getnameinfo((query[1], 0), socket.NI_NAMEREQD)[0]})
    except socket.gaierror as exc:
        answers.append({"error": exc.strerror})
print(json.dumps(answers))
"""


def libc(runner, *queries):
    """The C library's answers in runner's namespace: for ("lookup", host,
    port, family) {"addresses": [...]} as resolve prints them, for
    ("reverse", address) {"name": ...}; or {"error": gai_strerror text}."""
    result = runner.run(["/usr/bin/python3", "-c", LIBC, json.dumps(queries)],
                        label="getaddrinfo")
    try:
        answers = json.loads(result.stdout_text)
    except ValueError:
        answers = None
    if result.returncode != 0 or not isinstance(answers, list) or len(answers) != len(queries):
        raise EnvironmentError_("asking the C library through Python failed: "
                                + result.stderr_text[-300:])
    return answers


def addresses(runner, host, port="80", family="any"):
    answer = libc(runner, ("lookup", host, port, family))[0]
    if "addresses" not in answer:
        raise EnvironmentError_(f"the test's own lookup of {host} failed: {answer['error']}")
    return answer["addresses"]


def resolve(runner, lab, *args, timeout=10, valgrind=False):
    return runner.run([lab.program("resolve"), *args], timeout=timeout, valgrind=valgrind,
                      label=f"resolve {' '.join(map(str, args)) or '(no arguments)'}"[:100])


def expect_lines(result, expected, what, hint=LIST_HINT):
    """stdout is exactly these lines."""
    got = result.stdout_text.splitlines()
    if got != expected or not result.stdout_text.endswith("\n"):
        raise Mismatch(what, "\n".join(expected) or "(nothing)",
                       "\n".join(got) if got else "(nothing on stdout)", hint,
                       detail="" if got == expected else first_line_difference(got, expected))


def first_line_difference(got, expected):
    for i, (g, e) in enumerate(zip(got, expected)):
        if g != e:
            return f"line {i + 1} differs: expected {e!r}, got {g!r}"
    if len(got) < len(expected):
        return f"{len(expected) - len(got)} line(s) missing, from {expected[len(got)]!r}"
    if len(got) > len(expected):
        return f"{len(got) - len(expected)} extra line(s), from {got[len(expected)]!r}"
    return "the output does not end with a newline"


LOOKUP_FAILED_HINT = ("The C library, asked with the handout's hints (SOCK_STREAM, the family "
                      "of -4/-6 or AF_UNSPEC, no flags), finds {n} here, but your lookup failed "
                      "(its message is on stderr). AI_ADDRCONFIG is the usual cause: on a machine "
                      "whose only addresses are loopback, as in the grader, it makes every -4 and "
                      "-6 lookup fail and hides ::1. Set ai_flags to 0.")


def expect_listing(runner, lab, args, expected, what, hint=LIST_HINT):
    result = resolve(runner, lab, *args)
    failed_lookup = (result.returncode == 1 and not result.timed_out and bool(expected)
                     and not result.stdout_text)
    n = f"{len(expected)} address{'es' if len(expected) > 1 else ''}"
    expect_exit(result, 0, what, LOOKUP_FAILED_HINT.format(n=n) if failed_lookup else "")
    expect_lines(result, expected, what, hint)
    return result


def expect_failures_in_order(result, addrs, word, hint=CONNECT_HINT):
    """stderr has, in this order, one line naming each address with word."""
    lines = result.stderr_text.splitlines()
    at = -1
    for addr in addrs:
        found = next((i for i in range(at + 1, len(lines))
                      if addr in lines[i] and word.lower() in lines[i].lower()), None)
        if found is None:
            raise Mismatch(f"the messages of `{' '.join(result.argv[-3:])}` on stderr",
                           f"a line naming {addr} with '{word}', after the lines for "
                           f"{', '.join(addrs[:addrs.index(addr)]) or 'no earlier address'}",
                           repr(result.stderr_text[-400:]) if lines else "nothing on stderr",
                           "Report each address that fails, as it fails and in the order "
                           "tried: `resolve: [::1]:80: Connection refused`. " + hint)
        at = found


class Endpoints:
    """TCP endpoints on one port at several loopback addresses, each one
    "listen", "refuse" (bound, not listening) or "silent" (a full accept
    queue: SYNs are dropped)."""

    def __init__(self, plan, journal):
        self.sockets, self.by_address = [], {}
        for _ in range(50):  # the port must be free at every address
            try:
                self._bind(plan)
                break
            except OSError as exc:
                if exc.errno != errno.EADDRINUSE:
                    raise
                self.close()
        else:
            raise EnvironmentError_("no port was free at every address of " + str(plan))
        for address, kind in plan:
            sock = self.by_address[address]
            if kind == "listen":
                sock.listen(16)
            elif kind == "silent":
                sock.listen(0)
                filler = socket.socket(sock.family, socket.SOCK_STREAM)
                self.sockets.append(filler)
                filler.settimeout(timing.scaled(5))
                filler.connect((address, self.port))
        journal.step(f"port {self.port}: " + ", ".join(f"{a} {k}" for a, k in plan))

    def _bind(self, plan):
        self.port = 0
        for address, _ in plan:
            sock = socket.socket(socket.AF_INET6 if ":" in address else socket.AF_INET,
                                 socket.SOCK_STREAM)
            self.sockets.append(sock)
            sock.bind((address, self.port))
            self.port = sock.getsockname()[1]
            self.by_address[address] = sock

    def accepted(self, address, seconds=5):
        """Whether a connection reached the listener at address."""
        sock = self.by_address[address]
        sock.settimeout(timing.scaled(seconds))
        try:
            conn, _ = sock.accept()
        except OSError:
            return False
        conn.close()
        return True

    def close(self):
        for sock in self.sockets:
            sock.close()
        self.sockets, self.by_address = [], {}


@pytest.fixture
def endpoints(journal):
    """endpoints([(address, kind), ...]) -> Endpoints, closed at teardown."""
    made = []

    def create(plan):
        made.append(Endpoints(plan, journal))
        return made[-1]

    yield create
    for e in made:
        e.close()


def bare(shown):
    """The address of "[::1]:80" or "127.0.0.1:80": "::1", "127.0.0.1"."""
    host = shown.rsplit(":", 1)[0]
    return host[1:-1] if host.startswith("[") else host


def with_port(shown_list, port):
    return [f"{s.rsplit(':', 1)[0]}:{port}" for s in shown_list]


# ---- listing ----------------------------------------------------------------

@pytest.mark.points(2)
@pytest.mark.milestone("resolve")
@pytest.mark.needs("test_resolve_lists_every_address_in_libc_order")
def test_resolve_usage(lab, private_names):
    """Bad command lines exit 2 with a usage line; good ones list addresses."""
    runner = private_names(NAMES)
    bad = ([], ["dual.test", "many.test"], ["-z", "dual.test"], ["dual.test", "-t"],
           ["-t", "abc", "dual.test"], ["-t", "0", "dual.test"], ["-4", "-6", "dual.test"],
           ["-x"], ["-x", "127.0.0.1", "dual.test"], ["-c", "-x", "127.0.0.1"],
           ["::1"], ["dual.test:"], [":80"], ["[::1"], ["dual.test:0"], ["dual.test:70000"],
           ["dual test"])
    for argv in bad:
        result = resolve(runner, lab, *argv)
        expect_exit(result, 2, hint="A wrong option or a HOST[:PORT] that hostport_parse "
                    "rejects is a usage error: its reason and a usage line on stderr, exit 2.")
        expect_stderr_line(result, "usage")
    expect_listing(runner, lab, ["127.0.0.1:80"], ["127.0.0.1:80"], "resolve 127.0.0.1:80")
    expect_listing(runner, lab, ["dual.test"], addresses(runner, "dual.test"), "resolve dual.test")


@pytest.mark.points(3)
@pytest.mark.milestone("resolve")
def test_resolve_lists_every_address_in_libc_order(lab, private_names):
    """A name with IPv6 and IPv4 addresses: all of them, in getaddrinfo's order, port 80
    unless one is given."""
    runner = private_names(NAMES)
    for args, host, port in ((["dual.test"], "dual.test", "80"),
                             (["dual.test:8080"], "dual.test", "8080"),
                             (["mixed.test"], "mixed.test", "80"),
                             (["mixed.test:443"], "mixed.test", "443")):
        expected = addresses(runner, host, port)
        expect_listing(runner, lab, args, expected, f"resolve {args[0]}", LIST_HINT +
                       f" (getaddrinfo here returns {', '.join(expected)}: the C library's "
                       "sorting, which does not always put IPv6 first.)")


@pytest.mark.points(2)
@pytest.mark.milestone("resolve")
@pytest.mark.needs("test_resolve_lists_every_address_in_libc_order")
def test_resolve_family_filters(lab, private_names):
    """-4 and -6 give only IPv4 or only IPv6 addresses, as getaddrinfo's ai_family does."""
    runner = private_names(NAMES)
    hint = ("-4 and -6 set the hints' ai_family to AF_INET or AF_INET6; print what comes back, "
            "the same address twice if it comes twice (glibc answers an AF_INET lookup of a name "
            "listed as ::1 in /etc/hosts with 127.0.0.1).")
    for flag, family in (("-4", "4"), ("-6", "6")):
        for host in ("mixed.test", "dual.test"):
            expected = addresses(runner, host, "80", family)
            expect_listing(runner, lab, [flag, host], expected, f"resolve {flag} {host}", hint)


@pytest.mark.points(1)
@pytest.mark.milestone("resolve")
@pytest.mark.needs("test_resolve_lists_every_address_in_libc_order")
def test_resolve_ipv6_only_name(lab, private_names):
    """A name with only an IPv6 address lists just that one."""
    runner = private_names(NAMES)
    expected = addresses(runner, "v6only.test")
    if expected != ["[::1]:80"]:
        raise EnvironmentError_(f"the C library gives {expected} for v6only.test (::1 only)")
    expect_listing(runner, lab, ["v6only.test"], expected, "resolve v6only.test",
                   "Without AI_ADDRCONFIG and with the socket's own family per address, an "
                   "IPv6-only name works like any other.")
    expect_listing(runner, lab, ["-6", "v6only.test:22"], ["[::1]:22"], "resolve -6 v6only.test:22")


@pytest.mark.points(2)
@pytest.mark.milestone("resolve")
@pytest.mark.needs("test_resolve_lists_every_address_in_libc_order")
def test_resolve_many_addresses(lab, private_names):
    """A name with eight addresses: eight lines, in getaddrinfo's order."""
    runner = private_names(NAMES)
    expected = addresses(runner, "many.test", "7")
    expect_listing(runner, lab, ["many.test:7"], expected, "resolve many.test:7")
    expect_listing(runner, lab, ["-4", "many.test:7"], addresses(runner, "many.test", "7", "4"),
                   "resolve -4 many.test:7")


@pytest.mark.points(2)
@pytest.mark.milestone("resolve")
@pytest.mark.needs("test_resolve_lists_every_address_in_libc_order")
def test_resolve_numeric_and_service(lab, private_names):
    """IPv6 in brackets, an IPv4 address, service names (http is 80): no name lookup needed."""
    runner = private_names(NAMES)
    for arg, host, port in (("[::1]:8080", "::1", "8080"), ("[::1]", "::1", "80"),
                            ("127.0.0.1:http", "127.0.0.1", "http"),
                            ("[::1]:https", "::1", "https"),
                            ("dual.test:http", "dual.test", "http"),
                            ("127.0.0.1:00443", "127.0.0.1", "443")):
        expect_listing(runner, lab, [arg], addresses(runner, host, port), f"resolve {arg}",
                       "Give getaddrinfo the host without its brackets and the port or service "
                       "name as text: it turns http into 80 itself.")


@pytest.mark.points(2)
@pytest.mark.milestone("resolve")
@pytest.mark.needs("test_resolve_lists_every_address_in_libc_order")
def test_resolve_unknown_name(lab, private_names):
    """An unknown name or service: exit 1 with getaddrinfo's message; a known name works."""
    runner = private_names(NAMES)
    expect_listing(runner, lab, ["dual.test"], addresses(runner, "dual.test"), "resolve dual.test")
    for arg, host, port in (("nosuch.test", "nosuch.test", "80"),
                            ("dual.test:nosuchservice", "dual.test", "nosuchservice")):
        message = libc(runner, ("lookup", host, port, "any"))[0].get("error")
        if not message:
            raise EnvironmentError_(f"the test's own lookup of {arg} did not fail")
        result = resolve(runner, lab, arg)
        expect_exit(result, 1, f"resolve {arg}")
        expect_stderr_line(result, host, message, what=f"the error message of `resolve {arg}`",
                           hint="When getaddrinfo fails, print its gai_strerror() message with "
                           "the name: `resolve: nosuch.test:80: Name or service not known`.")
        if result.stdout:
            raise Mismatch(f"stdout of `resolve {arg}`", "nothing", repr(result.stdout[:80]))


# ---- connecting ---------------------------------------------------------------

def connect_case(runner, lab, endpoints, name, kinds, timeout_ms=2000, run_timeout=10):
    """resolve -c NAME:PORT with the addresses of name, in libc's order, made
    into peers of the given kinds (one per address, in that order).
    Returns (result, the ordered addresses as printed, endpoints)."""
    order = addresses(runner, name)
    if len(order) != len(kinds):
        raise EnvironmentError_(f"{name} has {len(order)} addresses here, the test expects "
                                f"{len(kinds)}: {order}")
    peers = endpoints([(bare(a), k) for a, k in zip(order, kinds)])
    shown = with_port(order, peers.port)
    result = resolve(runner, lab, "-c", "-t", str(timeout_ms), f"{name}:{peers.port}",
                     timeout=run_timeout)
    return result, shown, peers


def expect_connected(result, shown, index, peers, what):
    expect_exit(result, 0, what, CONNECT_HINT)
    expect_lines(result, shown + [f"connected to {shown[index]}"], f"stdout of {what}",
                 "First the list, as without -c; then `connected to ADDR` for the address that "
                 "accepted.")
    if not peers.accepted(bare(shown[index])):
        raise Mismatch(f"the listener at {shown[index]}", "a connection from resolve",
                       "none arrived", CONNECT_HINT)


@pytest.mark.points(2)
@pytest.mark.milestone("connect")
@pytest.mark.needs("test_resolve_lists_every_address_in_libc_order")
def test_resolve_connect(lab, private_names, endpoints):
    """-c connects to the first address when it listens, and says so."""
    runner = private_names(NAMES)
    result, shown, peers = connect_case(runner, lab, endpoints, "dual.test", ["listen", "listen"])
    expect_connected(result, shown, 0, peers, "resolve -c dual.test (both addresses listen)")
    if result.stderr_text.strip():
        raise Mismatch("stderr of resolve -c when the first address accepts", "nothing",
                       repr(result.stderr_text[-300:]), "Only failures go to stderr.")


@pytest.mark.points(3)
@pytest.mark.milestone("connect")
@pytest.mark.needs("test_resolve_lists_every_address_in_libc_order")
def test_resolve_connect_after_refusal(lab, private_names, endpoints):
    """The first addresses refuse: each refusal is reported, the last address connects."""
    runner = private_names({"fallback.test": ["::1", "127.0.0.3", "127.0.0.4"]})
    result, shown, peers = connect_case(runner, lab, endpoints, "fallback.test",
                                        ["refuse", "refuse", "listen"])
    expect_connected(result, shown, 2, peers, "resolve -c fallback.test (two refuse, then one "
                     "listens)")
    expect_failures_in_order(result, shown[:2], "refused")


@pytest.mark.points(4)
@pytest.mark.milestone("connect")
@pytest.mark.needs("test_resolve_lists_every_address_in_libc_order")
def test_resolve_connect_skips_silent_addresses(lab, private_names, endpoints):
    """Three addresses never answer: -t 300 gives up on each after 300 ms and the fourth
    connects (the kernel alone would wait two minutes on the first)."""
    runner = private_names({"silent.test": ["::1", "127.0.0.5", "127.0.0.6", "127.0.0.7"]})
    start = time.monotonic()
    result, shown, peers = connect_case(runner, lab, endpoints, "silent.test",
                                        ["silent", "silent", "silent", "listen"], timeout_ms=300,
                                        run_timeout=5)
    took = time.monotonic() - start
    if result.timed_out:
        raise Mismatch("resolve -c -t 300 silent.test (three silent addresses, then one that "
                       "listens)", "done in about a second (3 x 300 ms)",
                       f"still running after {result.timeout:g} s",
                       "A blocking connect waits as long as the kernel retries its SYN (minutes). "
                       "Use a non-blocking socket, connect, then poll for POLLOUT with the -t "
                       "timeout, and move on when poll times out.")
    expect_connected(result, shown, 3, peers, f"resolve -c -t 300 silent.test (took {took:.1f} s)")
    expect_failures_in_order(result, shown[:3], "timed out")


@pytest.mark.points(2)
@pytest.mark.milestone("connect")
@pytest.mark.needs("test_resolve_lists_every_address_in_libc_order")
def test_resolve_connect_all_fail(lab, private_names, endpoints):
    """Every address refuses: each is reported, then a last line, exit 1."""
    runner = private_names({"closed.test": ["127.0.0.8", "::1", "127.0.0.9"]})
    result, shown, _ = connect_case(runner, lab, endpoints, "closed.test",
                                    ["refuse", "refuse", "refuse"])
    expect_exit(result, 1, "resolve -c closed.test (every address refuses)")
    expect_lines(result, shown, "stdout of resolve -c closed.test (every address refuses)",
                 "The list goes to stdout as usual; nothing connected, so no `connected to`.")
    expect_failures_in_order(result, shown, "refused")
    expect_stderr_line(result, "closed.test", "no address",
                       hint="After the last address, one line: `resolve: closed.test:PORT: "
                       "no address accepted the connection`.")


# ---- reverse lookup ------------------------------------------------------------

@pytest.mark.points(2)
@pytest.mark.milestone("resolve")
@pytest.mark.needs("test_resolve_lists_every_address_in_libc_order")
def test_resolve_reverse_lookup(lab, private_names):
    """-x gives the name getnameinfo finds (from /etc/hosts here); no name: exit 1 with its
    message; not an address: exit 2."""
    runner = private_names(NAMES)
    queries = [("reverse", a) for a in ("127.0.0.42", "::1", "127.0.0.3", "127.0.0.99")]
    answers = libc(runner, *queries)
    for (_, address), answer in zip(queries, answers):
        result = resolve(runner, lab, "-x", address)
        what = f"resolve -x {address}"
        if "name" in answer:
            expect_exit(result, 0, what)
            expect_lines(result, [answer["name"]], what,
                         "getnameinfo(sa, len, name, sizeof name, NULL, 0, NI_NAMEREQD) on the "
                         "address that getaddrinfo(AI_NUMERICHOST) built; print the name.")
        else:
            expect_exit(result, 1, what, "NI_NAMEREQD makes getnameinfo fail when no name is "
                        "found, instead of giving the number back: print its message, exit 1.")
            expect_stderr_line(result, address, answer["error"], what=f"the error of {what}")
    result = resolve(runner, lab, "-x", "named.test")
    expect_exit(result, 2, "resolve -x named.test (a name, not an address)")


# ---- memory and robustness ---------------------------------------------------------

@pytest.mark.points(1)
@pytest.mark.milestone("retries")
@pytest.mark.needs("test_resolve_lists_every_address_in_libc_order")
def test_resolve_valgrind_clean(lab, private_names, endpoints):
    """Under Valgrind: no errors, leaks (freeaddrinfo!) or open sockets, whatever happens."""
    runner = private_names({**NAMES, "fallback.test": ["::1", "127.0.0.3"]})
    result = resolve(runner, lab, "many.test", valgrind=True)
    expect_exit(result, 0, "resolve many.test under valgrind")
    expect_valgrind_clean(result, "valgrind on resolve many.test")
    order = addresses(runner, "fallback.test")
    peers = endpoints([(bare(order[0]), "refuse"), (bare(order[1]), "listen")])
    closed = endpoints([("127.0.0.1", "refuse")])
    for args, code in ((["-c", f"fallback.test:{peers.port}"], 0),
                       (["-c", f"127.0.0.1:{closed.port}"], 1), (["nosuch.test"], 1),
                       (["-x", "127.0.0.42"], 0), (["-x", "127.0.0.99"], 1)):
        result = resolve(runner, lab, *args, valgrind=True)
        expect_exit(result, code, f"resolve {' '.join(args)} under valgrind")
        expect_valgrind_clean(result, f"valgrind on resolve {' '.join(args)}")
