"""Lab 01, tcpcat: stdin to a TCP peer, half-close, the reply to stdout.

Most tests talk to a digest service that reads until it sees tcpcat's FIN
and only then answers "<length> <sha256>" of what it received, so a client
that loses bytes or never half-closes is caught, and says so.
"""
import os
import socket

import pytest

from netgrader.expect import Mismatch, expect_bytes, expect_exit, expect_stderr_line, expect_valgrind_clean
from netgrader.services import digest_line, digest_service

HALF_CLOSE_HINT = ("The service answers only after your FIN: when stdin ends, call "
                   "shutdown(fd, SHUT_WR), then keep reading until the server closes.")
WRITE_ALL_HINT = ("write() may send fewer bytes than asked: loop until every byte is written, "
                  "and never use strlen() on binary data.")


def transfer(run, lab, scripted_server, data, payload=b"", family=socket.AF_INET,
             valgrind=False, host=None, runner_run=None):
    """Run tcpcat against a digest service and check both directions."""
    received = []
    service = scripted_server(digest_service(received, payload), family=family, timeout=8)
    target = host or service.host
    result = (runner_run or run)([lab.program("tcpcat"), target, str(service.port)],
                                 stdin=data, timeout=20, valgrind=valgrind)
    service.wait_idle()
    if not received:
        raise Mismatch("sending stdin through tcpcat", "the service to receive a whole stream "
                       "ending in a FIN", "it never saw the end of the stream"
                       + (f" ({service.errors[0]!r})" if service.errors else ""),
                       HALF_CLOSE_HINT)
    expect_bytes(received[0], data, "the bytes the service received from tcpcat", WRITE_ALL_HINT)
    expect_exit(result, 0)
    expect_bytes(result.stdout, digest_line(data) + payload, "what tcpcat wrote to stdout",
                 "Copy everything the server sends to stdout, until read() returns 0.")
    return result


@pytest.mark.points(2)
@pytest.mark.milestone("connect")
@pytest.mark.needs("test_tcpcat_sends_input_and_half_closes")
def test_tcpcat_usage(run, lab, scripted_server):
    """Wrong arguments exit 2 with a usage line; right ones work."""
    for argv in ([], ["127.0.0.1"], ["127.0.0.1", "80", "extra"]):
        result = run([lab.program("tcpcat"), *argv],
                     label=f"tcpcat {' '.join(map(str, argv)) or '(no arguments)'}"[:100])
        expect_exit(result, 2, hint="With the wrong number of arguments, print a usage line "
                    "on stderr and exit 2.")
        expect_stderr_line(result, "usage")
    transfer(run, lab, scripted_server, b"ping\n")


@pytest.mark.points(4)
@pytest.mark.milestone("connect")
def test_tcpcat_sends_input_and_half_closes(run, lab, scripted_server):
    """Text on stdin reaches the server, the FIN follows, the reply reaches stdout."""
    transfer(run, lab, scripted_server, b"hello, network\nsecond line\n")


@pytest.mark.points(2)
@pytest.mark.milestone("tcpcat")
@pytest.mark.needs("test_tcpcat_sends_input_and_half_closes")
def test_tcpcat_binary_input(run, lab, scripted_server):
    """Every byte value, NULs included, goes through unchanged."""
    data = bytes(range(256)) * 64 + os.urandom(200_000) + b"\0\0\0"
    transfer(run, lab, scripted_server, data, payload=bytes(range(256)) * 16)


@pytest.mark.points(2)
@pytest.mark.milestone("tcpcat")
@pytest.mark.needs("test_tcpcat_sends_input_and_half_closes")
def test_tcpcat_empty_input(run, lab, scripted_server):
    """Empty stdin: connect, half-close at once, still print the reply."""
    transfer(run, lab, scripted_server, b"")


@pytest.mark.points(2)
@pytest.mark.milestone("tcpcat")
@pytest.mark.needs("test_tcpcat_sends_input_and_half_closes")
def test_tcpcat_large_streams(run, lab, scripted_server):
    """24 MiB up and 8 MiB down: partial reads and writes are the rule here."""
    data = os.urandom(1 << 20) * 24
    transfer(run, lab, scripted_server, data, payload=os.urandom(1 << 20) * 8)


def refusing_port(family=socket.AF_INET, host="127.0.0.1"):
    """A socket bound but not listening: connects to its port are refused,
    and nobody else can take the port while the socket is open."""
    s = socket.socket(family, socket.SOCK_STREAM)
    s.bind((host, 0))
    return s, s.getsockname()[1]


@pytest.mark.points(2)
@pytest.mark.milestone("tcpcat")
@pytest.mark.needs("test_tcpcat_sends_input_and_half_closes")
def test_tcpcat_connection_refused(run, lab, scripted_server):
    """Refused: exit 1 with a message naming the address; a live port still works."""
    transfer(run, lab, scripted_server, b"control run\n")
    sock, port = refusing_port()
    with sock:
        result = run([lab.program("tcpcat"), "127.0.0.1", str(port)])
    expect_exit(result, 1)
    expect_stderr_line(result, "127.0.0.1", str(port), "refused",
                       hint="Name the address you tried and give strerror(errno): "
                       "`tcpcat: connect to 127.0.0.1 port 5: ... Connection refused`.")
    if result.stdout:
        raise Mismatch("stdout after a refused connection", "nothing", repr(result.stdout[:80]))


@pytest.mark.points(2)
@pytest.mark.milestone("tcpcat")
@pytest.mark.needs("test_tcpcat_sends_input_and_half_closes")
def test_tcpcat_unknown_host(lab, scripted_server, private_names):
    """An unknown name fails with the resolver's message; a known one connects."""
    runner = private_names({"service.test": ["127.0.0.1"]})
    transfer(None, lab, scripted_server, b"by name\n", host="service.test", runner_run=runner.run)
    result = runner.run([lab.program("tcpcat"), "no-such-host.test", "80"])
    expect_exit(result, 1)
    if not any(line.startswith("tcpcat: no-such-host.test: ")
               for line in result.stderr_text.splitlines()):
        raise Mismatch("the error for a name that does not exist",
                       "a line `tcpcat: no-such-host.test: <gai_strerror message>`",
                       repr(result.stderr_text[-300:]) if result.stderr_text else "nothing on stderr",
                       "When getaddrinfo fails, print the name and its gai_strerror() message "
                       "(netio_connect puts it in `why`): `tcpcat: HOST: why`.")


@pytest.mark.points(2)
@pytest.mark.milestone("tcpcat")
@pytest.mark.needs("test_tcpcat_sends_input_and_half_closes")
def test_tcpcat_ipv6(run, lab, scripted_server):
    """An IPv6 literal (::1) works like an IPv4 one."""
    transfer(run, lab, scripted_server, b"over IPv6\n", family=socket.AF_INET6)


def resolution_order(runner, name):
    """The addresses getaddrinfo returns for name, in order, as the C library
    in the same namespace sees them."""
    code = ("import socket,sys\n"
            "for r in socket.getaddrinfo(sys.argv[1], 9, type=socket.SOCK_STREAM): print(r[4][0])")
    result = runner.run(["/usr/bin/python3", "-c", code, name], label="getaddrinfo")
    return result.stdout_text.split()


@pytest.mark.points(2)
@pytest.mark.milestone("tcpcat")
@pytest.mark.needs("test_tcpcat_sends_input_and_half_closes")
def test_tcpcat_tries_every_address(lab, scripted_server, private_names):
    """When the first address refuses, the next one is tried."""
    runner = private_names({"multi.test": ["::1", "127.0.0.1"]})
    order = resolution_order(runner, "multi.test")
    assert len(order) == 2, f"the test's own name setup failed: {order}"
    last = order[-1]
    family = socket.AF_INET6 if ":" in last else socket.AF_INET
    received = []
    service = scripted_server(digest_service(received), family=family, host=last, timeout=8)
    # Nothing listens on the first address at this port: that connect is refused.
    result = runner.run([lab.program("tcpcat"), "multi.test", str(service.port)], stdin=b"x\n")
    service.wait_idle()
    if not received:
        raise Mismatch(f"tcpcat multi.test {service.port} (resolves to {', '.join(order)})",
                       f"a connection to {last} after {order[0]} refused",
                       f"no connection reached {last}; {result.describe_exit()}",
                       "Loop over the whole getaddrinfo list: on a failed connect, close that "
                       "socket and try the next address.")
    expect_exit(result, 0)
    expect_bytes(result.stdout, digest_line(b"x\n"), "what tcpcat wrote to stdout")


@pytest.mark.points(2)
@pytest.mark.milestone("tcpcat")
@pytest.mark.needs("test_tcpcat_sends_input_and_half_closes")
def test_tcpcat_connection_reset(run, lab, scripted_server):
    """A reset from the server is an error (exit 1, `reset` in the message)."""
    received = []
    service = scripted_server(digest_service(received, reset=True), timeout=8)
    result = run([lab.program("tcpcat"), "127.0.0.1", str(service.port)], stdin=b"data\n")
    service.wait_idle()
    if not received:
        # The service resets only after the FIN: without it, nothing was reset.
        raise Mismatch("sending stdin through tcpcat", "the service to receive a whole stream "
                       "ending in a FIN, and then to reset the connection",
                       "it never saw the end of the stream, so it never reset (tcpcat: "
                       + result.describe_exit() + ")", HALF_CLOSE_HINT)
    expect_exit(result, 1, hint="read() fails with ECONNRESET: report it and exit 1.")
    expect_stderr_line(result, "reset", hint="Give strerror(errno) for the failed read.")


def closes_early(conn):
    """Says goodbye at once (a FIN while tcpcat is still sending), reads a
    little, then closes: what tcpcat sends after that is answered with a
    reset, and its next write fails with EPIPE."""
    conn.sock.shutdown(socket.SHUT_WR)
    conn.journal.step(f"{conn.name} sends its FIN at once")
    conn.sock.recv(65536)
    conn.journal.step(f"{conn.name} closes with tcpcat still sending")


@pytest.mark.points(2)
@pytest.mark.milestone("tcpcat")
@pytest.mark.needs("test_tcpcat_large_streams")
def test_tcpcat_server_closes_while_sending(run, lab, scripted_server):
    """A server that closes while tcpcat is still sending: exit 1 with a message, not SIGPIPE."""
    transfer(run, lab, scripted_server, os.urandom(1 << 20))  # control: a whole exchange works
    service = scripted_server(closes_early, timeout=8)
    result = run([lab.program("tcpcat"), "127.0.0.1", str(service.port)],
                 stdin=os.urandom(16 << 20), timeout=20)
    service.wait_idle()
    expect_exit(result, 1, hint="Writing to a connection the server has closed raises SIGPIPE, "
                "which kills a program silently: ignore it (sigaction with SIG_IGN) and "
                "report the write's EPIPE like any other error.")
    expect_stderr_line(result, "tcpcat:", hint="Name the failed write and its peer: "
                       "`tcpcat: write to ADDR: Broken pipe`.")


@pytest.mark.points(2)
@pytest.mark.milestone("valgrind")
@pytest.mark.needs("test_tcpcat_sends_input_and_half_closes")
def test_tcpcat_valgrind_clean(run, lab, scripted_server):
    """Under Valgrind: no memory errors, leaks or open descriptors, on success and on failure."""
    result = transfer(run, lab, scripted_server, b"x" * 100_000, valgrind=True)
    expect_valgrind_clean(result, "valgrind on a normal transfer")
    sock, port = refusing_port()
    with sock:
        result = run([lab.program("tcpcat"), "127.0.0.1", str(port)], valgrind=True)
    expect_exit(result, 1)
    expect_valgrind_clean(result, "valgrind on a refused connection")


# Robust I/O: the main scenarios again, with the socket calls of tcpcat made
# to behave as on a real network (grader/README.md, "Fault injection").
# What the fault-injection library does to this lab's programs: they install
# no signal handler and use blocking sockets, so no EINTR and no EAGAIN can
# happen to them (grader/README.md, "Fault injection"): reads and writes
# come back short. Asking for exactly that keeps the report's fault header
# true to what the program saw.
LAB_FAULTS = ("short", "shortwrite")
@pytest.mark.points(3)
@pytest.mark.milestone("robust")
@pytest.mark.needs("test_tcpcat_binary_input")
def test_tcpcat_robust_io(lab, scripted_server, faults):
    """Every read and write on the socket moves 1 to 64 bytes: 300 KB up, 64 KB back, unchanged."""
    data = os.urandom(300_000)
    transfer(None, lab, scripted_server, data, payload=os.urandom(1 << 16),
             runner_run=faults(kinds=LAB_FAULTS, rate=100).run)
