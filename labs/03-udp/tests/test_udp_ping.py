"""Lab 03, part A: udpecho (a UDP echo server) and udpping (its client),
against scripted UDP peers, the reference programs and a proxy that drops,
duplicates, reorders and delays chosen datagrams.

Every exchange is on loopback. UDP on loopback loses nothing by itself, so
each loss, duplicate or late reply here is one the test arranged, by packet
number: the expected output is exact.
"""
import os
import re
import signal
import socket
import threading
import time

import pytest

from netgrader import timing
from netgrader.expect import Mismatch, expect_bytes, expect_exit, expect_stderr_line, \
    expect_valgrind_clean
from netgrader.peers import excerpt

UDP_MAX = 65507        # the largest UDP payload over IPv4: what udpecho must echo
IPV6_MAX = 65527       # the largest over IPv6 (no IP header in its length field)
HEADER = 12            # a probe's sequence number and timestamp

ECHO_HINT = ("Send back exactly the bytes recvfrom returned (0 included) to the address it "
             "filled in, with the length it filled in; reset that length to sizeof the address "
             "before every recvfrom.")
PING_HINT = ("One line per probe in sequence order, printed once it and every earlier probe "
             "are answered or timed out, then the summary; see the handout's format.")


# ---- scripted peers -------------------------------------------------------

class UdpPeer:
    """A scripted UDP server on 127.0.0.1 in a thread of the test. For the
    n-th datagram it receives (n from 1), answer(peer, n, data, sender)
    decides what is sent back, with peer.send. Every datagram is recorded
    with its arrival time (time.time()) in .datagrams."""

    def __init__(self, answer, journal, name="scripted UDP server"):
        self.answer, self.journal, self.name = answer, journal, name
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.settimeout(0.05)  # a bounded re-check of the stop flag, not a synchronisation
        self.port = self.sock.getsockname()[1]
        self.datagrams = []  # (data, sender, arrival time)
        self.errors = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()
        journal.step(f"{name} on 127.0.0.1 port {self.port}")

    def _run(self):
        while not self._stop.is_set():
            try:
                data, sender = self.sock.recvfrom(1 << 16)
            except socket.timeout:
                continue
            except OSError as exc:
                if not self._stop.is_set():
                    self.errors.append(exc)
                continue
            self.datagrams.append((data, sender, time.time()))
            try:
                self.answer(self, len(self.datagrams), data, sender)
            except Exception as exc:  # shown with the failure; the peer goes on
                self.errors.append(exc)

    def send(self, data, dest):
        self.sock.sendto(data, dest)

    def check(self):
        """Raise what went wrong inside the peer itself, if anything did."""
        if self.errors:
            raise RuntimeError(f"the {self.name} failed: {self.errors[0]!r}")

    def close(self):
        self._stop.set()
        self._thread.join(timing.scaled(5))
        self.sock.close()
        self.journal.step(f"{self.name} received {len(self.datagrams)} datagram(s): "
                          + "; ".join(excerpt(d, 16) for d, _, _ in self.datagrams[:6]))


@pytest.fixture
def udp_peer(journal):
    """udp_peer(answer) -> a running UdpPeer, closed at the end of the test."""
    peers = []

    def make(answer, **kwargs):
        peer = UdpPeer(answer, journal, **kwargs)
        peers.append(peer)
        return peer

    yield make
    for peer in peers:
        peer.close()


def echo_all(peer, n, data, sender):
    peer.send(data, sender)


def client(family=socket.AF_INET):
    """A UDP socket on loopback, port 0."""
    sock = socket.socket(family, socket.SOCK_DGRAM)
    sock.bind(("::1" if family == socket.AF_INET6 else "127.0.0.1", 0))
    return sock


def receive(sock, what, seconds=5.0, hint=ECHO_HINT):
    """(data, sender) of the next datagram; a Mismatch if none comes in time."""
    sock.settimeout(timing.scaled(seconds))
    try:
        return sock.recvfrom(1 << 17)
    except socket.timeout:
        raise Mismatch(what, "a datagram back", f"nothing within {timing.scaled(seconds):g} s",
                       hint) from None


def echo_once(sock, port, data, what, host="127.0.0.1", seconds=5.0):
    """Send data to udpecho and return its answer, checking where it came from."""
    sock.sendto(data, (host, port))
    got, sender = receive(sock, what, seconds)
    if tuple(sender[:2]) != (host, port):
        raise Mismatch(f"the sender of {what}", f"{host} port {port} (the server's socket)",
                       f"{sender[0]} port {sender[1]}", "Answer from the socket the datagram "
                       "arrived on: the client checks who answers.")
    return got


def start_echo(start_server, lab, **kwargs):
    return start_server([lab.program("udpecho"), "-p", "0"], **kwargs)


# ---- udpecho --------------------------------------------------------------

@pytest.mark.points(1)
@pytest.mark.milestone("udpecho")
@pytest.mark.needs("test_udpecho_echoes_every_size")
def test_udpecho_usage(run, lab, start_server, journal):
    """Without -p, or with a bad port or argument: exit 2 with a usage line; -p 0 serves."""
    for argv in ([], ["-p"], ["-p", "70000"], ["-p", "-1"], ["-p", "seven"], ["-p", "0", "extra"],
                 ["-x", "-p", "0"]):
        result = run([lab.program("udpecho"), *argv],
                     label=f"udpecho {' '.join(map(str, argv)) or '(no arguments)'}"[:100])
        expect_exit(result, 2, hint="-p PORT is required, 0 to 65535; anything else is a usage "
                    "error: a message and a usage line on stderr, exit 2.")
        expect_stderr_line(result, "usage")
    server = start_echo(start_server, lab)
    with client() as sock:
        expect_bytes(echo_once(sock, server.port, b"hello", "the echo of 'hello'"), b"hello",
                     "the echo of 'hello'", ECHO_HINT)


@pytest.mark.points(2)
@pytest.mark.milestone("udpecho")
def test_udpecho_echoes_every_size(lab, start_server, journal):
    """Datagrams of 0, 1, 1,472 and 65,507 bytes come back whole, from the server's port."""
    server = start_echo(start_server, lab)
    with client() as sock:
        for size in (0, 1, 1472, UDP_MAX):
            data = os.urandom(size)
            what = f"the echo of a {size}-byte datagram"
            got = echo_once(sock, server.port, data, what)
            journal.step(f"sent {size} bytes, received {len(got)} back")
            expect_bytes(got, data, what, ECHO_HINT + (" The buffer must hold UDP_MAX_PAYLOAD "
                                                       "bytes." if size > 1 else ""))


@pytest.mark.points(1)
@pytest.mark.milestone("udpecho")
@pytest.mark.needs("test_udpecho_echoes_every_size")
def test_udpecho_never_echoes_a_cut_datagram(lab, start_server, journal):
    """65,527 bytes over IPv6 (more than 65,507): no cut echo ever; the next datagram is echoed."""
    server = start_echo(start_server, lab)
    big, marker = os.urandom(IPV6_MAX), b"after the big one"
    with client(socket.AF_INET6) as sock:
        sock.sendto(big, ("::1", server.port))
        sock.sendto(marker, ("::1", server.port))
        journal.step(f"sent {IPV6_MAX} bytes, then {marker!r}, over IPv6")
        for _ in range(3):
            got, _ = receive(sock, f"the echo of {marker!r} sent after {IPV6_MAX} bytes")
            if got == marker:
                return
            if got != big:  # echoing it whole is fine (a bigger buffer); a piece is not
                raise Mismatch(f"the answer to a {IPV6_MAX}-byte datagram", "no echo (or the "
                               "whole datagram)", f"{len(got)} bytes: a cut copy",
                               "recvfrom with MSG_TRUNC returns the datagram's real length: "
                               "when it is larger than the buffer, log it and do not echo.")
    raise Mismatch(f"the echo of {marker!r}", "it comes back", "other datagrams only")


@pytest.mark.points(2)
@pytest.mark.milestone("udpecho")
@pytest.mark.needs("test_udpecho_echoes_every_size")
def test_udpecho_many_clients(lab, start_server, journal):
    """20 clients, 5 interleaved rounds: each gets back exactly its own datagrams."""
    server = start_echo(start_server, lab)
    socks = [client() for _ in range(20)]
    try:
        for rnd in range(5):
            sent = []
            for i, sock in enumerate(socks):
                sent.append(f"client {i} round {rnd} ".encode() + os.urandom(40 + i))
                sock.sendto(sent[i], ("127.0.0.1", server.port))
            for i, sock in enumerate(socks):
                got, _ = receive(sock, f"what client {i} received in round {rnd}")
                expect_bytes(got, sent[i], f"what client {i} of 20 received in round {rnd}",
                             "Each answer goes to the address of the datagram it echoes: keep "
                             "the address recvfrom filled in for this datagram, nothing "
                             "shared between clients.")
        journal.step("20 clients sent 5 rounds of datagrams; each got its own back")
    finally:
        for sock in socks:
            sock.close()


@pytest.mark.points(1)
@pytest.mark.milestone("udpecho")
@pytest.mark.needs("test_udpecho_echoes_every_size")
def test_udpecho_ipv4_and_ipv6_clients(lab, start_server, journal):
    """One server answers 127.0.0.1 and ::1 clients, each from its own address family."""
    server = start_echo(start_server, lab)
    with client(socket.AF_INET6) as six, client() as four:
        for sock, host in ((six, "::1"), (four, "127.0.0.1"), (six, "::1")):
            data = f"over {host}: ".encode() + os.urandom(100)
            expect_bytes(echo_once(sock, server.port, data, f"the echo to a {host} client",
                                   host=host), data, f"the echo to a {host} client",
                         "Bind one socket to :: with IPV6_V6ONLY off (udp_server_socket), and "
                         "keep the whole address: a sockaddr_in6 does not fit a sockaddr_in.")


@pytest.mark.points(1)
@pytest.mark.milestone("udpecho")
@pytest.mark.needs("test_udpecho_echoes_every_size")
def test_udpecho_survives_a_flood(lab, start_server, journal):
    """A client sends 20,000 datagrams and never reads: the server lives and serves the next."""
    server = start_echo(start_server, lab)
    sent = 0
    with client() as flooder:
        flooder.settimeout(timing.scaled(5))
        for i in range(20000):
            try:
                flooder.sendto(b"" if i % 97 == 0 else b"f" * (UDP_MAX if i % 501 == 0 else 900),
                               ("127.0.0.1", server.port))
                sent += 1
            except OSError:  # our own buffer full: the flood goes on
                pass
        journal.step(f"a client sent {sent} datagrams without reading any answer")
        with client() as sock:
            for i in range(5):
                data = f"after the flood {i}".encode()
                # The server's queue may still be full of the flood: a lost
                # datagram is sent again, as any UDP client would.
                for _attempt in range(10):
                    sock.sendto(data, ("127.0.0.1", server.port))
                    try:
                        got, _ = receive(sock, "an echo after the flood", 0.5)
                    except Mismatch:
                        continue
                    if got == data:
                        break
                else:
                    raise Mismatch("the echo to a new client after a flood",
                                   f"{data!r} back within 10 tries",
                                   "no answer" if server.alive() else "the server had died",
                                   "A send that fails (a full buffer) is logged and forgotten; "
                                   "it never ends the server.")


@pytest.mark.points(1)
@pytest.mark.milestone("udpecho")
@pytest.mark.needs("test_udpecho_echoes_every_size")
def test_udpecho_sigint_valgrind_clean(lab, start_server, journal):
    """Under Valgrind, echoes of every size, then SIGINT: exit 0, no errors, leaks or open fds."""
    server = start_echo(start_server, lab, valgrind=True)
    with client() as sock, client(socket.AF_INET6) as six:
        for size in (0, 1472, UDP_MAX):
            data = os.urandom(size)
            expect_bytes(echo_once(sock, server.port, data, f"the echo of {size} bytes",
                                   seconds=20), data, f"the echo of {size} bytes under Valgrind")
        big = os.urandom(IPV6_MAX)
        six.sendto(big, ("::1", server.port))
        got = echo_once(six, server.port, b"last", "the echo of 'last'", host="::1", seconds=20)
        if got == big:  # echoed whole (a buffer larger than 65,507 bytes): allowed
            got, _ = receive(six, "the echo of 'last'", 20)
        expect_bytes(got, b"last", "the echo of 'last' (after a 65,527-byte datagram: no echo, "
                     "or the whole of it)")
    os.kill(server.pid, signal.SIGINT)
    journal.step("sent SIGINT to the server")
    if not timing.wait_until(lambda: not server.alive(), 20):
        raise Mismatch("udpecho after SIGINT", "it exits 0 within 20 s (under Valgrind)",
                       "it was still running", "SIGINT stops the server like SIGTERM. A handler "
                       "that sets a flag is not enough if the loop then blocks in recvfrom: "
                       "wait with ppoll (signals unblocked only there), or use signalfd.")
    server.stop(timeout=30)  # collects the exit status (0 expected) and Valgrind's report
    expect_valgrind_clean(server, "valgrind after SIGINT")


@pytest.mark.points(1)
@pytest.mark.milestone("udpecho")
@pytest.mark.needs("test_udpecho_echoes_every_size")
def test_udpecho_robust_io(lab, faults, journal):
    """Injected EINTR, spurious EAGAIN, dropped and doubled sends: every datagram comes back."""
    runner = faults(kinds=("eintr", "eagain", "drop", "dup"), rate=50)
    server = runner.start_server([lab.program("udpecho"), "-p", "0"])
    with client() as sock:
        for i in range(30):
            data = f"datagram {i} ".encode() + os.urandom(16 + 37 * i)
            # A dropped echo is lost for good: send again, as a UDP client does,
            # waiting longer each time (an echo takes well under a millisecond).
            for attempt in range(10):
                sock.sendto(data, ("127.0.0.1", server.port))
                deadline = timing.Deadline(min(1.0, 0.05 * 2 ** attempt))
                got = None
                while got != data and not deadline.expired():
                    sock.settimeout(max(0.001, deadline.remaining()))
                    try:
                        got, _ = sock.recvfrom(1 << 16)  # earlier duplicates are skipped
                    except socket.timeout:
                        break
                if got == data:
                    break
            else:
                raise Mismatch(f"the echo of datagram {i} under fault injection",
                               "it comes back (the datagram was sent up to 10 times)",
                               "no answer" if server.alive() else "the server had died",
                               "EINTR and EAGAIN are not errors: retry the call (or wait again "
                               "for the socket); a failed send is logged, never fatal.")
    journal.step("30 datagrams echoed under fault injection")
    server.stop()


# ---- udpping: reading its output ------------------------------------------

T = r"(\d+\.\d{3})"


def expect_ping(result, outcomes, what, hint=PING_HINT, size=64):
    """stdout is exactly the lines for these outcomes (True: a reply of `size`
    bytes, False: a timeout, one per probe in order), the summary, and the
    rtt line when a reply came; the exit status follows. Returns the time
    of each answered probe, {seq: ms}."""
    count, received = len(outcomes), sum(outcomes)
    loss = format(100 * (count - received) / count, "g")  # as printf's %g
    expected = []  # (shown, pattern)
    for seq, ok in enumerate(outcomes, 1):
        expected.append((f"seq={seq} bytes={size} time=T.TTT ms", rf"seq={seq} bytes={size} "
                         rf"time={T} ms") if ok else (f"seq={seq} timeout", rf"seq={seq} timeout"))
    summary = f"{count} packets transmitted, {received} received, {loss}% packet loss"
    expected.append((summary, re.escape(summary)))
    if received:
        expected.append(("rtt min/avg/max = A.AAA/B.BBB/C.CCC ms",
                         rf"rtt min/avg/max = {T}/{T}/{T} ms"))
    lines = result.stdout_text.splitlines()
    shown = "\n".join(s for s, _ in expected)
    got = result.stdout_text.strip() or f"nothing on stdout ({result.describe_exit()})"
    for i, (line_shown, pattern) in enumerate(expected):
        line = lines[i] if i < len(lines) else None
        if line is None or not re.fullmatch(pattern, line):
            raise Mismatch(what, shown, got, hint,
                           detail=f"line {i + 1}: expected {line_shown!r}, got {line!r}")
    if len(lines) > len(expected):
        raise Mismatch(what, shown, got, hint,
                       detail=f"{len(lines) - len(expected)} line(s) more than expected")
    times = {}
    for seq, ok in enumerate(outcomes, 1):
        if ok:
            times[seq] = float(re.fullmatch(expected[seq - 1][1], lines[seq - 1]).group(1))
    if received:
        lo, avg, hi = (float(x) for x in re.fullmatch(expected[-1][1], lines[-1]).groups())
        values = list(times.values())
        if abs(lo - min(values)) > 0.0015 or abs(hi - max(values)) > 0.0015 or \
                abs(avg - sum(values) / len(values)) > 0.002:
            raise Mismatch(f"the rtt line of {what}", f"min/avg/max of the times above "
                           f"({min(values):.3f}/{sum(values) / len(values):.3f}/"
                           f"{max(values):.3f})", lines[-1],
                           "Summarise the round trips of the replies that counted, no others.")
    expect_exit(result, 0 if received else 1, what,
                "Exit 0 when at least one reply came, 1 when none did.")
    return times


def udpping(lab, *args, port, host="127.0.0.1"):
    return [lab.program("udpping"), *args, host, str(port)]


def ms(value):
    """A time in milliseconds for a command line or the proxy, scaled like
    every deadline (NETLAB_TIMEOUT_FACTOR), so that a slow machine keeps the
    schedule's proportions."""
    return int(round(value * timing.factor()))


def options(*args):
    """-i and -W values scaled with ms(): ("-i", 50) -> ["-i", "50"]."""
    out = []
    for name, value in zip(args[::2], args[1::2]):
        out += [name, str(ms(value) if name in ("-i", "-W") else value)]
    return out


def shown(opts):
    return "udpping " + " ".join(opts)


# ---- udpping --------------------------------------------------------------

@pytest.mark.points(1)
@pytest.mark.milestone("udpping")
def test_udpping_usage(run, lab, start_server, journal):
    """Bad counts, intervals, waits, sizes or arguments exit 2; every option in range works."""
    server = start_server([lab.reference("udpecho"), "-p", "0"])
    port = str(server.port)
    for argv in ([], ["127.0.0.1"], ["127.0.0.1", port, "extra"], ["-c", "0", "127.0.0.1", port],
                 ["-c", "1000001", "127.0.0.1", port], ["-c", "x", "127.0.0.1", port],
                 ["-i", "-1", "127.0.0.1", port], ["-i", "3600001", "127.0.0.1", port],
                 ["-W", "0", "127.0.0.1", port], ["-W", "3600001", "127.0.0.1", port],
                 ["-s", "11", "127.0.0.1", port], ["-s", "65508", "127.0.0.1", port],
                 ["-q", "127.0.0.1", port], ["-c"]):
        result = run([lab.program("udpping"), *argv],
                     label=f"udpping {' '.join(map(str, argv)) or '(no arguments)'}"[:100])
        expect_exit(result, 2, hint="Check every option's range (see the handout) and that "
                    "exactly HOST and PORT follow; then a message and a usage line, exit 2.")
        expect_stderr_line(result, "usage")
        if result.stdout:
            raise Mismatch(f"stdout of `udpping {' '.join(argv)}`", "nothing",
                           repr(result.stdout_text[:200]))
    result = run(udpping(lab, "-c", "2", "-i", "0", "-W", "3600000", "-s", "12",
                         port=server.port))
    expect_ping(result, [True, True], "udpping -c 2 -i 0 -W 3600000 -s 12 against udpecho",
                size=12)


@pytest.mark.points(1)
@pytest.mark.milestone("udpping")
def test_udpping_lookup(private_names, lab, start_server, journal):
    """A name is resolved (echo.test); one that does not exist is `udpping: NAME: why`, exit 1."""
    server = start_server([lab.reference("udpecho"), "-p", "0"])
    names = private_names({"echo.test": ["127.0.0.1"]})
    result = names.run(udpping(lab, "-c", "1", host="echo.test", port=server.port))
    expect_ping(result, [True], "udpping -c 1 echo.test PORT (echo.test is 127.0.0.1)")
    result = names.run(udpping(lab, "-c", "1", host="nowhere.test", port=server.port))
    expect_exit(result, 1, hint="A failed lookup is a runtime failure: one line, exit 1.")
    if not any(line.startswith("udpping: nowhere.test: ") for line in
               result.stderr_text.splitlines()):
        raise Mismatch("the error for a name that does not exist",
                       "a line `udpping: nowhere.test: <gai_strerror message>`",
                       repr(result.stderr_text[-300:]) or "nothing on stderr",
                       "udp_client_socket fills `why` with gai_strerror's text; print "
                       "`HOST: why` with die.")


@pytest.mark.points(2)
@pytest.mark.milestone("udpping")
@pytest.mark.needs("test_udpping_usage")
def test_udpping_against_udpecho(run, lab, start_server, journal):
    """4 probes to the reference udpecho: 4 replies, exact format, 0% loss, no idle wait after."""
    server = start_server([lab.reference("udpecho"), "-p", "0"])
    opts = options("-c", 4, "-i", 50, "-W", 5000)
    result = run(udpping(lab, *opts, port=server.port))
    expect_ping(result, [True] * 4, f"{shown(opts)} against udpecho")
    if result.duration > timing.scaled(3):
        raise Mismatch(f"how long {shown(opts)} ran against a server that answers at once",
                       f"about {ms(150) / 1000:g} s (less than {timing.scaled(3):g} s)",
                       f"{result.duration:.2f} s",
                       "Stop as soon as every probe is settled; the wait applies to probes "
                       "still unanswered, not after the last reply.")
    result = run(udpping(lab, "-c", "2", "-i", "0", "-s", "1000", host="::1", port=server.port))
    expect_ping(result, [True, True], "udpping -c 2 -i 0 -s 1000 ::1 (IPv6)", size=1000)


@pytest.mark.points(2)
@pytest.mark.milestone("udpping")
@pytest.mark.needs("test_udpping_usage")
def test_udpping_probe_format(run, lab, udp_peer, journal):
    """Probes: seq and send time in network order, SIZE bytes, zeros, -i apart; RTT timed here."""

    def echo_altered(extra):
        def answer(peer, n, data, sender):
            # The timestamp is zeroed: the round trip must not come from it.
            peer.send(data[:4] + bytes(8) + data[HEADER:] + extra, sender)
        return answer

    # The last server adds 7 bytes to each reply: bytes= is the reply's length.
    for size, opts, extra in ((100, ["-s", 100], b""), (64, [], b""),
                              (HEADER, ["-s", HEADER], b"+7bytes")):
        peer = udp_peer(echo_altered(extra))
        before = time.time()
        opts = options("-c", 3, "-i", 50, *opts)
        result = run(udpping(lab, *opts, port=peer.port))
        after = time.time()
        peer.check()
        what = f"{shown(opts)} against an echo server" + (
            f" that adds {len(extra)} bytes to each reply" if extra else "")
        times = expect_ping(result, [True] * 3, what, size=size + len(extra),
                            hint=PING_HINT + " bytes= is the length of the reply received. Time "
                            "the round trip with the monotonic clock from the send time you "
                            "stored, never from the echoed timestamp.")
        if max(times.values()) > 1000:
            raise Mismatch(f"the round trips of {what}", "under 1000 ms (loopback)",
                           f"{max(times.values()):.3f} ms", "Time the round trip from the send "
                           "time you stored, not from the bytes the server sent back.")
        probes = peer.datagrams
        if len(probes) != 3:
            raise Mismatch(f"the probes of {what}", "3 datagrams", f"{len(probes)}")
        for k, (data, sender, arrived) in enumerate(probes, 1):
            if len(data) != size:
                raise Mismatch(f"the size of probe {k} of {what}", f"{size} bytes",
                               f"{len(data)} bytes", "Every probe is SIZE bytes (-s, default 64).")
            seq = int.from_bytes(data[:4], "big")
            stamp = int.from_bytes(data[4:HEADER], "big") / 1e6
            if seq != k:
                raise Mismatch(f"bytes 0-3 of probe {k} of {what}", f"{k} in network order "
                               f"({k.to_bytes(4, 'big').hex()})", f"{data[:4].hex()} ({seq})",
                               "The sequence number counts from 1; convert it with htonl.")
            if not before - 2 <= stamp <= after + 2:
                raise Mismatch(f"bytes 4-11 of probe {k} of {what}",
                               f"the send time in microseconds since 1970, about "
                               f"{int(arrived * 1e6)}", f"{data[4:HEADER].hex()} ({stamp:.6f} s)",
                               "CLOCK_REALTIME in microseconds, as a 64-bit big-endian number "
                               "(there is no htonll: shift out the bytes yourself).")
            if any(data[HEADER:]):
                raise Mismatch(f"the padding of probe {k} of {what}", "zeros after byte 11",
                               excerpt(data[HEADER:]), "Zero the probe buffer (calloc).")
            # Since the first probe, as the probes' own send times say and as
            # they arrived here (the longer of the two): on a busy machine a
            # probe may leave, or reach this peer, late, and the gap after it
            # then looks short; counted from the first, only a late first
            # probe could shorten it, and not in both measures at once.
            first_data, _, first_arrived = probes[0]
            gap = max(arrived - first_arrived,
                      stamp - int.from_bytes(first_data[4:HEADER], "big") / 1e6) * 1000
            if k > 1 and gap < (k - 1) * ms(50) * 0.8:
                raise Mismatch(f"the time between probes 1 and {k} of {what}",
                               f"about {(k - 1) * ms(50)} ms ({k - 1} times -i)", f"{gap:.1f} ms",
                               "Probe k is sent at start + (k-1)*MS: wait with poll's timeout.")
        if len({sender for _, sender, _ in probes}) != 1:
            raise Mismatch(f"the source of the probes of {what}", "one socket for all of them",
                           ", ".join(f"port {s[1]}" for _, s, _ in probes))


@pytest.mark.points(1)
@pytest.mark.milestone("udpping")
@pytest.mark.needs("test_udpping_usage")
def test_udpping_no_server(run, lab, journal):
    """Nobody answers: every probe times out, 100% loss, no rtt line, exit 1 with a message."""
    with client() as silent:  # bound, so nothing answers for the port, not even ICMP
        opts = options("-c", 3, "-i", 50, "-W", 200)
        result = run(udpping(lab, *opts, port=silent.getsockname()[1]))
    expect_ping(result, [False] * 3, f"{shown(opts)} to a port where nobody answers")
    expect_stderr_line(result, "no reply", hint="When no reply came at all, say so on stderr "
                       "(`udpping: no reply from HOST:PORT`) and exit 1.")


@pytest.mark.points(1)
@pytest.mark.milestone("udpping")
@pytest.mark.needs("test_udpping_against_udpecho")
def test_udpping_dropped_packets(run, lab, start_server, impaired, journal):
    """Replies 2 and 4 and probe 5 are lost on the way: exactly those time out, 60% loss."""
    server = start_server([lab.reference("udpecho"), "-p", "0"])
    proxy = impaired(server.port, drop={"up": [5], "down": [2, 4]})
    opts = options("-c", 5, "-i", 50, "-W", 300)
    result = run(udpping(lab, *opts, port=proxy.port))
    expect_ping(result, [True, False, True, False, False],
                f"{shown(opts)}, replies 2 and 4 and probe 5 dropped",
                hint=PING_HINT + " A lost probe or reply is a timeout; the others still count.")


@pytest.mark.points(1)
@pytest.mark.milestone("udpping")
@pytest.mark.needs("test_udpping_against_udpecho")
def test_udpping_duplicate_replies(run, lab, start_server, impaired, journal):
    """Every reply comes twice, probe 2 reaches the server twice: still 4 of 4, no extra line."""
    server = start_server([lab.reference("udpecho"), "-p", "0"])
    proxy = impaired(server.port, dup={"up": [2], "down": [1, 2, 3, 4, 5]})
    opts = options("-c", 4, "-i", 50, "-W", 300)
    result = run(udpping(lab, *opts, port=proxy.port))
    expect_ping(result, [True] * 4, f"{shown(opts)} with every reply duplicated",
                hint=PING_HINT + " A reply to a probe already answered is ignored: count "
                "each probe once.")


@pytest.mark.points(1)
@pytest.mark.milestone("udpping")
@pytest.mark.needs("test_udpping_against_udpecho")
def test_udpping_reordered_replies(run, lab, start_server, impaired, journal):
    """Replies 1 and 3 come after 2 and 4: all count, in order, timed from their own probes."""
    server = start_server([lab.reference("udpecho"), "-p", "0"])
    proxy = impaired(server.port, reorder={"down": [1, 3]}, hold_ms=ms(400))
    opts = options("-c", 4, "-i", 50, "-W", 500)
    result = run(udpping(lab, *opts, port=proxy.port))
    times = expect_ping(result, [True] * 4, f"{shown(opts)}, replies 1 and 3 held back "
                        "behind the next one",
                        hint=PING_HINT + " Several probes can be outstanding: match a reply "
                        "by its sequence number, not by order of arrival.")
    # Reply 1 comes after probe 2 has left, at least -i after probe 1 (the
    # first, sent at the schedule's start). Probe 4 may leave less than -i
    # after probe 3 (a probe sent late on a busy machine does not delay the
    # next), so seq=3's time proves nothing.
    if times[1] < ms(50) * 0.8:
        raise Mismatch("the time of seq=1, whose reply came after seq=2's",
                       f"at least {ms(50) * 0.8:g} ms (its probe went {ms(50)} ms before "
                       "the next)",
                       f"{times[1]:.3f} ms", "Time each reply from the send time of the "
                       "probe it names.")


@pytest.mark.points(1)
@pytest.mark.milestone("udpping")
@pytest.mark.needs("test_udpping_against_udpecho")
def test_udpping_late_reply(run, lab, start_server, impaired, journal):
    """Reply 2 comes 225 ms after its wait ended, reply 10 never: both time out, nothing else."""
    server = start_server([lab.reference("udpecho"), "-p", "0"])
    # Probe k goes at 50(k-1) ms; the late reply 2 arrives at about 475 ms,
    # 225 ms after its probe's wait ended, between probes 10 and 11.
    proxy = impaired(server.port, delay={"down": {2: ms(425)}}, drop={"down": [10]})
    opts = options("-c", 12, "-i", 50, "-W", 200)
    result = run(udpping(lab, *opts, port=proxy.port))
    outcomes = [True] * 12
    outcomes[2 - 1] = outcomes[10 - 1] = False
    expect_ping(result, outcomes, f"{shown(opts)}, reply 2 delayed {ms(425)} ms and reply 10 "
                "dropped", hint=PING_HINT + " A reply after its probe's wait is "
                "over is ignored, and it answers no other probe.")


@pytest.mark.points(1)
@pytest.mark.milestone("udpping")
@pytest.mark.needs("test_udpping_against_udpecho")
def test_udpping_ignores_foreign_datagrams(run, lab, udp_peer, journal):
    """Replies forged from another port or address, short ones, unsent sequence numbers: ignored."""
    forgers = []
    with client() as other_port:
        forgers.append(other_port)

        def answer(peer, n, data, sender):
            seq = int.from_bytes(data[:4], "big")
            if seq == 1:
                peer.send(data[:8], sender)                                 # too short
                peer.send((0).to_bytes(4, "big") + data[4:], sender)        # never sent
                peer.send((3).to_bytes(4, "big") + data[4:], sender)        # not sent yet
                peer.send(data, sender)                                     # the real echo
            elif seq == 2:                                                  # forgeries only
                for forger in forgers:
                    forger.sendto(data, sender)
            # probe 3: no answer

        peer = udp_peer(answer)
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as other_address:
            other_address.bind(("127.0.0.2", peer.port))  # the server's port, another address
            forgers.append(other_address)
            journal.step(f"forgers on 127.0.0.1 port {other_port.getsockname()[1]} and "
                         f"127.0.0.2 port {peer.port}")
            opts = options("-c", 3, "-i", 100, "-W", 400)
            result = run(udpping(lab, *opts, port=peer.port))
    peer.check()
    expect_ping(result, [True, False, False], f"{shown(opts)}: probe 1 answered "
                "(with short, unsent and early sequence numbers around it), probe 2 answered "
                "by forgers only, probe 3 not at all",
                hint=PING_HINT + " A reply counts only from the server's address and port "
                "(udp_same_endpoint), with at least 12 bytes, for a probe sent and pending.")
