"""The UDP impairment proxy (netgrader/impair.py): it forwards every
datagram unchanged, follows a server that answers from a new port (TFTP),
keeps clients apart, impairs exactly the packets its schedule names, draws
the same random decisions for the same seed, counts what it did, and leaves
no thread or socket behind."""
import collections
import os
import select
import socket
import threading
import time
from pathlib import Path

import pytest

from netgrader import faults, impair, timing
from netgrader.fixtures import fault_seed, impaired, journal, memcheck  # noqa: F401 (fixtures)
from netgrader.procs import Journal
from netgrader.report import Outcome, Report

WAIT = 5  # seconds (scaled) for any one datagram


def udp_socket(host: str = "127.0.0.1") -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_DGRAM)
    sock.bind((host, 0))
    sock.settimeout(timing.scaled(WAIT))
    return sock


@pytest.fixture
def sockets():
    """sockets(host="127.0.0.1") -> a bound UDP socket, closed after the test."""
    made = []

    def make(host: str = "127.0.0.1") -> socket.socket:
        made.append(udp_socket(host))
        return made[-1]

    yield make
    for sock in made:
        sock.close()


@pytest.fixture
def proxies():
    """proxies(target_port, **impairments) -> an impair.Proxy, closed after the test."""
    made = []

    def make(target_port, **kwargs) -> impair.Proxy:
        kwargs.setdefault("journal", Journal())
        made.append(impair.Proxy(target_port, **kwargs))
        return made[-1]

    yield make
    for proxy in made:
        proxy.close()


def receive(sock: socket.socket) -> tuple[bytes, tuple]:
    """The next datagram, within the deadline (the socket's timeout)."""
    try:
        return sock.recvfrom(65536)
    except socket.timeout:
        raise AssertionError(f"no datagram within {sock.gettimeout():g} s") from None


def receive_until(sock: socket.socket, last: bytes) -> tuple[list[bytes], tuple]:
    """Every payload received up to and including `last`, in order, and
    where `last` came from."""
    got = []
    while not got or got[-1] != last:
        data, sender = receive(sock)
        got.append(data)
        assert len(got) < 10_000, "no end marker"
    return got, sender


def settled(proxy: impair.Proxy, up: int, down: int = 0) -> dict:
    """The proxy's counts once it has handled `up` and `down` packets (a
    packet is counted once its fate is decided, just after it is sent)."""
    def done() -> bool:
        stats = proxy.stats
        return stats["up"]["seen"] >= up and stats["down"]["seen"] >= down

    timing.wait_until(done, WAIT)
    return proxy.stats


def counts(seen=0, dropped=0, duplicated=0, reordered=0, delayed=0) -> dict:
    return {"seen": seen, "dropped": dropped, "duplicated": duplicated,
            "reordered": reordered, "delayed": delayed}


class Peer:
    """A UDP server in a thread: handle(peer, sock, data, sender) for each
    datagram on any of its sockets; peer.open() adds a socket (a new port)."""

    def __init__(self, handle, host: str = "127.0.0.1"):
        self.handle, self.host = handle, host
        self.main = udp_socket(host)
        self.port = self.main.getsockname()[1]
        self.sockets = [self.main]
        self.received: list[tuple[int, bytes, tuple]] = []  # (our port, data, sender)
        self.errors: list[BaseException] = []
        self._stop_r, self._stop_w = socket.socketpair()
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def open(self) -> socket.socket:
        sock = udp_socket(self.host)
        self.sockets.append(sock)
        return sock

    def _serve(self) -> None:
        try:
            while True:
                ready, _, _ = select.select(self.sockets + [self._stop_r], [], [])
                if self._stop_r in ready:
                    return
                for sock in ready:
                    data, sender = sock.recvfrom(65536)
                    self.received.append((sock.getsockname()[1], data, sender))
                    self.handle(self, sock, data, sender)
        except BaseException as exc:
            self.errors.append(exc)

    def close(self) -> None:
        self._stop_w.send(b"x")
        self._thread.join(timeout=timing.scaled(WAIT))
        assert not self._thread.is_alive(), "the test's peer did not stop"
        for sock in self.sockets + [self._stop_r, self._stop_w]:
            sock.close()
        assert not self.errors, self.errors


def echo(peer, sock, data, sender):
    sock.sendto(data, sender)


def tftp_like(peer, sock, data, sender):
    """A request on the well-known port is answered from a new port (the
    transfer ID), which then answers everything it gets."""
    if sock is peer.main:
        peer.open().sendto(b"tid " + data, sender)
    else:
        sock.sendto(b"ack " + data, sender)


@pytest.fixture
def peers():
    """peers(handle, host="127.0.0.1") -> a running Peer, stopped after the test."""
    made = []

    def make(handle, host: str = "127.0.0.1") -> Peer:
        made.append(Peer(handle, host))
        return made[-1]

    yield make
    for peer in made:
        peer.close()


def have_ipv6() -> bool:
    try:
        with socket.socket(socket.AF_INET6, socket.SOCK_DGRAM) as s:
            s.bind(("::1", 0))
        return True
    except OSError:
        return False


# -- forwarding ------------------------------------------------------------

SIZES = (0, 1, 1472, 65507)


@pytest.mark.parametrize("host", ["127.0.0.1", "::1"])
def test_every_size_goes_both_ways_unchanged(host, peers, proxies, sockets):
    if host == "::1" and not have_ipv6():
        pytest.skip("no IPv6 loopback here")
    server = peers(echo, host)
    proxy = proxies(server.port, host=host)
    client = sockets(host)
    for size in SIZES:
        data = bytes(i * 7 % 256 for i in range(size))
        client.sendto(data, (host, proxy.port))
        got, sender = receive(client)
        assert (len(got), got == data, sender[1]) == (size, True, proxy.port)
    assert [len(data) for _port, data, _sender in server.received] == list(SIZES)
    assert settled(proxy, 4, 4) == {"up": counts(seen=4), "down": counts(seen=4)}
    assert proxy.impairments() == [] and proxy.errors == 0


def test_a_server_answering_from_a_new_port_is_followed(peers, proxies, sockets):
    """TFTP: the request goes to the well-known port, the answer comes from a
    new one, and the client then talks to that new port."""
    server = peers(tftp_like)
    proxy = proxies(server.port)
    client = sockets()
    client.sendto(b"RRQ", ("127.0.0.1", proxy.port))
    data, facing = receive(client)
    assert data == b"tid RRQ" and facing[1] != proxy.port
    for i in range(5):
        client.sendto(b"ACK %d" % i, facing)
        data, sender = receive(client)
        assert (data, sender) == (b"ack ACK %d" % i, facing)
    # Everything reached the new port from the proxy's one upstream socket.
    transfer_port = server.sockets[1].getsockname()[1]
    (_, request, upstream), *rest = server.received
    assert request == b"RRQ"
    assert rest == [(transfer_port, b"ACK %d" % i, upstream) for i in range(5)]
    ((client_address, servers),) = proxy.flows()
    assert client_address == client.getsockname() and servers == [("127.0.0.1", transfer_port)]
    # Another sender's datagram to the client-facing port goes through too.
    stranger = sockets()
    stranger.sendto(b"stray", facing)
    assert receive(client) == (b"ack stray", facing)
    assert server.received[-1] == (transfer_port, b"stray", upstream)


def test_two_clients_are_kept_apart(peers, proxies, sockets):
    server = peers(tftp_like)
    proxy = proxies(server.port)
    a, b = sockets(), sockets()
    a.sendto(b"RRQ a", ("127.0.0.1", proxy.port))
    b.sendto(b"RRQ b", ("127.0.0.1", proxy.port))
    got_a, facing_a = receive(a)
    got_b, facing_b = receive(b)
    assert (got_a, got_b) == (b"tid RRQ a", b"tid RRQ b") and facing_a != facing_b
    for i in range(3):
        b.sendto(b"b%d" % i, facing_b)
        a.sendto(b"a%d" % i, facing_a)
        assert receive(a) == (b"ack a%d" % i, facing_a)
        assert receive(b) == (b"ack b%d" % i, facing_b)
    senders = collections.defaultdict(set)  # client -> where its packets came from
    for _port, data, sender in server.received:
        senders[b"a" if b"a" in data else b"b"].add(sender)
    assert len(senders[b"a"]) == len(senders[b"b"]) == 1 and senders[b"a"] != senders[b"b"]
    assert len(proxy.flows()) == 2


def test_the_proxy_outlives_a_server_that_went_away(proxies, sockets):
    """Packets for a port nobody holds are lost, as on a real network; the
    proxy goes on, and a server back on that port gets the next ones."""
    server = sockets()
    port = server.getsockname()[1]
    server.close()
    proxy = proxies(port)
    client = sockets()
    for i in range(3):
        client.sendto(b"lost %d" % i, ("127.0.0.1", proxy.port))
    settled(proxy, 3)
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as server:
        server.bind(("127.0.0.1", port))
        server.settimeout(timing.scaled(WAIT))
        client.sendto(b"found", ("127.0.0.1", proxy.port))
        data, upstream = receive(server)
        server.sendto(b"back", upstream)
    assert data == b"found" and receive(client)[0] == b"back"


def test_a_failed_send_is_counted_and_the_proxy_goes_on(peers, proxies, sockets):
    server = peers(echo)
    proxy = proxies(server.port)
    a, b = sockets(), sockets()
    a.sendto(b"a", ("127.0.0.1", proxy.port))
    assert receive(a)[0] == b"a"
    next(iter(proxy._flows.values())).upstream.close()  # a's way out fails from now on
    a.sendto(b"a again", ("127.0.0.1", proxy.port))
    assert timing.wait_until(lambda: proxy.errors == 1, WAIT), proxy.last_error
    assert "send" in proxy.last_error
    b.sendto(b"b", ("127.0.0.1", proxy.port))
    assert receive(b)[0] == b"b"


# -- impairments by schedule ----------------------------------------------

def exchange(proxy, server, client, up: int, down: int) -> tuple[list[bytes], list[bytes]]:
    """The client sends u1..u<up> through the proxy, then the server answers
    with d1..d<down>; what each side received, in order. The last packet of
    each direction must not be impaired: it ends the wait."""
    for i in range(1, up + 1):
        client.sendto(b"u%d" % i, ("127.0.0.1", proxy.port))
    at_server, upstream = receive_until(server, b"u%d" % up)
    for i in range(1, down + 1):
        server.sendto(b"d%d" % i, upstream)
    return at_server, receive_until(client, b"d%d" % down)[0] if down else []


def numbers(payloads: list[bytes]) -> list[int]:
    return [int(p[1:]) for p in payloads]


@pytest.fixture
def pair(proxies, sockets):
    """pair(**impairments) -> (proxy, server socket, client socket)."""
    def make(**impairments):
        server = sockets()
        return proxies(server.getsockname()[1], **impairments), server, sockets()
    return make


def test_scheduled_drops(pair):
    proxy, server, client = pair(drop={"up": [2, 4], "down": [1, 3]})
    up, down = exchange(proxy, server, client, 6, 5)
    assert (numbers(up), numbers(down)) == ([1, 3, 5, 6], [2, 4, 5])
    assert settled(proxy, 6, 5) == {"up": counts(seen=6, dropped=2),
                                    "down": counts(seen=5, dropped=2)}
    assert proxy.impairments() == ["up #2 dropped", "up #4 dropped",
                                   "down #1 dropped", "down #3 dropped"]
    assert "impair: up #2 dropped: 2 bytes b'u2'" in proxy.journal.steps


def test_scheduled_duplicates_come_exactly_twice(pair):
    proxy, server, client = pair(dup={"up": [2], "down": [1, 3]})
    up, down = exchange(proxy, server, client, 4, 4)
    assert (numbers(up), numbers(down)) == ([1, 2, 2, 3, 4], [1, 1, 2, 3, 3, 4])
    assert settled(proxy, 4, 4) == {"up": counts(seen=4, duplicated=1),
                                    "down": counts(seen=4, duplicated=2)}


def test_scheduled_reorders_follow_the_next_packet(pair):
    proxy, server, client = pair(reorder={"up": [2, 5, 6], "down": [1]})
    up, down = exchange(proxy, server, client, 8, 3)
    # 2 follows 3; 5 and 6 are both held until 7 goes.
    assert (numbers(up), numbers(down)) == ([1, 3, 2, 4, 7, 5, 6, 8], [2, 1, 3])
    assert settled(proxy, 8, 3) == {"up": counts(seen=8, reordered=3),
                                    "down": counts(seen=3, reordered=1)}


def test_a_reordered_last_packet_is_late_not_lost(pair):
    proxy, server, client = pair(reorder={"up": [3]}, hold_ms=150)
    for i in (1, 2, 3):
        client.sendto(b"u%d" % i, ("127.0.0.1", proxy.port))
        sent = time.monotonic()
    assert [receive(server)[0] for _ in range(3)] == [b"u1", b"u2", b"u3"]
    assert time.monotonic() - sent >= 0.150
    client.sendto(b"u4", ("127.0.0.1", proxy.port))
    assert receive(server)[0] == b"u4"
    assert settled(proxy, 4)["up"] == counts(seen=4, reordered=1)


def test_scheduled_delays(pair):
    proxy, server, client = pair(delay={"up": {1: 200}, "down": {2: 300}})
    started = time.monotonic()
    for i in (1, 2, 3):
        client.sendto(b"u%d" % i, ("127.0.0.1", proxy.port))
    up = [receive(server) for _ in range(3)]
    up_done = time.monotonic()
    for i in (1, 2, 3):
        server.sendto(b"d%d" % i, up[0][1])
    down = [receive(client)[0] for _ in range(3)]
    assert (numbers([data for data, _ in up]), numbers(down)) == ([2, 3, 1], [1, 3, 2])
    assert up_done - started >= 0.200 and time.monotonic() - up_done >= 0.300
    assert settled(proxy, 3, 3) == {"up": counts(seen=3, delayed=1),
                                    "down": counts(seen=3, delayed=1)}
    assert proxy.impairments() == ["up #1 delayed 200 ms", "down #2 delayed 300 ms"]


def test_delay_and_duplicate_together_send_two_late_copies(pair):
    proxy, server, client = pair(dup={"up": [1]}, delay={"up": {1: 100}})
    for i in (1, 2):
        client.sendto(b"u%d" % i, ("127.0.0.1", proxy.port))
    assert [receive(server)[0] for _ in range(3)] == [b"u2", b"u1", b"u1"]
    assert proxy.impairments() == ["up #1 duplicated, delayed 100 ms"]


def test_a_constant_latency_keeps_the_order(pair):
    proxy, server, client = pair(delay_all_ms=50)
    started = time.monotonic()
    up, down = exchange(proxy, server, client, 5, 5)
    assert (numbers(up), numbers(down)) == ([1, 2, 3, 4, 5], [1, 2, 3, 4, 5])
    assert time.monotonic() - started >= 2 * 0.050
    assert "latency 50 ms" in proxy.plan() and proxy.impairments() == []


# -- impairments at seeded rates -------------------------------------------

def send_paced(proxy, client, server, total: int, batch: int = 100) -> list[int]:
    """Send 1..total up through the proxy, `batch` at a time (so no socket
    buffer overflows), and return the numbers the server received."""
    got = []
    for start in range(1, total + 1, batch):
        end = min(total, start + batch - 1)
        for i in range(start, end + 1):
            client.sendto(b"u%d" % i, ("127.0.0.1", proxy.port))
        up = settled(proxy, end)["up"]
        expected = up["seen"] - up["dropped"] + up["duplicated"]
        got += numbers([receive(server)[0] for _ in range(expected - len(got))])
    return got


def test_random_loss_is_seeded_and_close_to_its_rate(pair):
    runs = {}
    for label, seed in (("first", 1234), ("again", 1234), ("other", 99)):
        proxy, server, client = pair(loss=5, seed=seed)
        received = send_paced(proxy, client, server, 2000)
        dropped = [int(line.split("#")[1].split()[0]) for line in proxy.impairments()]
        assert sorted(set(range(1, 2001)) - set(dropped)) == received
        assert proxy.stats["up"] == counts(seen=2000, dropped=len(dropped))
        runs[label] = dropped
        lines = [s for s in proxy.journal.steps if s.startswith("impair")]
        assert lines[0].startswith(f"impairment: UDP proxy on port {proxy.port}") \
            and f"seed {seed}, loss 5%" in lines[0]
        assert len(lines) == 1 + impair.JOURNAL_LIMIT + 1  # the rest are only counted
    assert runs["first"] == runs["again"] and runs["first"] != runs["other"]
    for dropped in runs.values():
        assert 70 <= len(dropped) <= 130  # 100 expected; 3 standard deviations


def test_every_random_impairment_matches_what_arrived(pair):
    proxy, server, client = pair(loss=5, dup_rate=5, reorder_rate=5, delay_rate=5, delay_ms=30,
                                 hold_ms=30, seed=7)
    received = send_paced(proxy, client, server, 1000)
    arrived = collections.Counter(received)
    expected = collections.Counter(range(1, 1001))
    for line in proxy.impairments():
        number = int(line.split("#")[1].split()[0])
        if "dropped" in line:
            del expected[number]
        if "duplicated" in line:
            expected[number] += 1
    assert arrived == expected
    up = proxy.stats["up"]
    assert all(up[k] > 20 for k in ("dropped", "duplicated", "reordered", "delayed")), up
    assert received != sorted(received)  # something did come out of order


def test_a_rate_can_be_given_for_one_direction(peers, proxies, sockets):
    server = peers(echo)
    proxy = proxies(server.port, loss={"down": 50}, seed=3)
    client = sockets()
    for sent in range(50, 201, 50):
        for i in range(sent - 50, sent):
            client.sendto(b"%d" % i, ("127.0.0.1", proxy.port))
        stats = settled(proxy, sent, sent)  # every echo handled: no buffer fills up
    assert stats["up"] == counts(seen=200) and 60 < stats["down"]["dropped"] < 140
    assert len(server.received) == 200
    assert "loss down 50%" in proxy.plan()


def test_invalid_settings_are_refused():
    for settings in ({"loss": 101}, {"dup_rate": -1}, {"drop": {"sideways": [1]}},
                     {"drop": {"up": [0]}}, {"drop": [1]}, {"delay": {"up": [1]}},
                     {"delay_rate": 5}, {"hold_ms": -1}):
        with pytest.raises(ValueError):
            impair.Proxy(9, **settings)


# -- reporting and tear-down -----------------------------------------------

def test_a_failure_report_shows_the_seed_and_the_first_impairments(pair):
    proxy, server, client = pair(drop={"down": [1]}, dup={"up": [1]}, seed=42)
    exchange(proxy, server, client, 2, 2)
    settled(proxy, 2, 2)
    summary = proxy.summary()
    assert summary["count"] == 2 and summary["first"] == ["up #1 duplicated", "down #1 dropped"]
    assert proxy.journal.fault_plans == [proxy]

    class Options:
        stash = {}

        def getoption(self, name):
            return {"--impl": "labs", "--brief": False, "--rerun-from": "top"}[name]

    report = Report(Options(), Path("/course/labs"), Path("/tmp/out"))
    report.outcomes["t"] = Outcome("t", lab="03-udp", title="test_tftp_get", points=3,
                                   status="failed", props={"faults": [summary]})
    text = "\n".join(report.lines(lambda text, _style: text))
    assert (f"faults:    impairment, UDP proxy on port {proxy.port} in front of 127.0.0.1 "
            f"port {server.getsockname()[1]}: seed 42, drop down #1, duplicate up #1; "
            "2 injected, the first:") in text
    assert "  up #1 duplicated" in text and "(same seed, same faults)" in text


def test_the_fixture_seeds_from_the_test_and_closes_at_teardown(impaired, journal, request,
                                                                sockets):
    server = sockets()
    proxy = impaired(server.getsockname()[1], loss=1)
    assert proxy.seed == fault_seed(request) == faults.seed_for(request.node.nodeid)
    assert proxy.journal is journal and f"seed {proxy.seed}, loss 1%" in journal.steps[0]
    assert impaired(server.getsockname()[1], seed=5).seed == 5


def open_descriptors(peer: Peer) -> set[int]:
    """This process's descriptors, but for the peer's (it opens one per request)."""
    return {int(fd) for fd in os.listdir("/proc/self/fd")} - {s.fileno() for s in peer.sockets}


def test_close_leaves_no_thread_and_no_socket(peers, sockets):
    server = peers(tftp_like)
    client = sockets()
    before = open_descriptors(server)
    proxy = impair.Proxy(server.port, delay={"up": {3: 60_000}}, reorder={"down": [3]})
    client.sendto(b"RRQ", ("127.0.0.1", proxy.port))
    _, facing = receive(client)
    client.sendto(b"ACK 1", facing)
    assert receive(client)[0] == b"ack ACK 1"
    client.sendto(b"ACK 2", facing)  # up #3: held for a minute
    settled(proxy, 3, 2)
    assert len(open_descriptors(server) - before) == 6  # epoll, wake-up pair, L, U_C, F
    name = proxy._thread.name
    assert any(t.name == name for t in threading.enumerate())
    proxy.close()
    proxy.close()  # twice is harmless
    assert not any(t.name == name for t in threading.enumerate())
    assert open_descriptors(server) == before
