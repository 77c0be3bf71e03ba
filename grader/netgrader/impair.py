"""A lossy network on loopback: a UDP proxy, in user space, that drops,
duplicates, reorders and delays datagrams on a schedule or at seeded rates.

Loopback never loses a datagram, and netem needs a kernel module and root
that a grading machine may not offer; so a program under test talks to the
proxy instead of to its peer (fixture `impaired`, see fixtures.py):

    def test_tftpget_survives_loss(impaired, start_server, run, lab):
        server = start_server([lab.reference("tftpd"), "-p", "0", "-r", root])
        proxy = impaired(server.port, loss=5, drop={"down": [3]})
        result = run([lab.program("tftpget"), "127.0.0.1", str(proxy.port), "f", out])

Flows (NAT-like, one per client address C seen on the advertised port):
- a datagram from C to the proxy's port L leaves through a socket U_C of its
  own (an ephemeral port) for the target;
- what U_C receives from the target goes back to C from L; what it receives
  from any other address A (a TFTP server answering from its transfer ID)
  goes to C from a socket F of its own for (C, A), so C sees the new port
  change too; whatever F then receives goes to A through U_C.

"up" is client to server, "down" server to client. Packets are numbered
from 1 per direction, over all flows, in the order the proxy receives them.
Per packet, in its direction, the proxy decides (in this order):
- drop: `drop={"up": [1]}`, or at `loss` percent;
- duplicate (sent twice, back to back): `dup=...`, `dup_rate`;
- delay by a number of ms: `delay={"down": {2: 1500}}`, or `delay_ms` at
  `delay_rate` percent; `delay_all_ms` adds a constant latency to every
  packet (order kept);
- reorder: `reorder=...`, `reorder_rate`: the packet is held and sent right
  after the next packet forwarded in its direction, or after `hold_ms` if
  none comes (then it is only late). A delayed packet is held once its
  delay has passed.
A rate is a percentage (floats allowed) for both directions, or a dict
{"up": 5, "down": 0}. Random decisions come from one stream per direction,
derived from the seed, with the same number of draws for every packet: the
same sequence of packets gets the same decisions. Packets delayed or held
when the proxy closes are discarded.

Every impairment is counted (`.stats`) and the first few are journaled; the
plan (seed included) and the first impairments appear in the failure
report's "faults" section, like the fault-injection library's.
"""
from __future__ import annotations

import heapq
import random
import select
import socket
import threading
import time

from . import timing
from .peers import excerpt

DIRECTIONS = ("up", "down")
UP, DOWN = 0, 1
BUFFER_SIZE = 65536       # more than the largest UDP payload (65527 over IPv6)
MAX_SOCKETS = 256         # per proxy: a runaway peer cannot exhaust descriptors
JOURNAL_LIMIT = 12        # impairments journaled one by one; the rest are counted
LOG_LIMIT = 100_000       # impairments remembered for .impairments()
RECEIVE_BUFFER = 1 << 21  # asked for each socket (the kernel may give less)

_EMIT, _RELEASE = 0, 1    # timed actions: a delayed packet is due, a hold expires


class _Flow:
    """One client address and the sockets that serve it."""

    __slots__ = ("client", "upstream", "facing")

    def __init__(self, client, upstream):
        self.client = client
        self.upstream = upstream  # U_C: towards the server(s)
        self.facing = {}          # server address -> F socket towards the client


class _Packet:
    """A datagram the proxy has decided to keep, until it is sent."""

    __slots__ = ("direction", "number", "sock", "dest", "data", "copies", "reorder", "sent")

    def __init__(self, direction, number, sock, dest, data, copies, reorder):
        self.direction, self.number = direction, number
        self.sock, self.dest, self.data = sock, dest, data
        self.copies, self.reorder = copies, reorder
        self.sent = False


def _per_direction(value, what: str, default=0) -> list:
    """A setting for both directions, or a dict {"up": ..., "down": ...}."""
    if isinstance(value, dict):
        unknown = set(value) - set(DIRECTIONS)
        if unknown:
            raise ValueError(f"{what}: unknown direction {sorted(unknown)}; use 'up' or 'down'")
        return [value.get(d, default) for d in DIRECTIONS]
    return [value, value]


def _rates(value, what: str) -> list[float]:
    rates = [float(r) for r in _per_direction(value, what)]
    for r in rates:
        if not 0 <= r <= 100:
            raise ValueError(f"{what} must be a percentage from 0 to 100, not {r}")
    return rates


def _numbers(schedule, what: str) -> list[frozenset]:
    """drop={"up": [1, 2]} -> [{1, 2}, set()]."""
    if schedule is None:
        return [frozenset(), frozenset()]
    if not isinstance(schedule, dict):
        raise ValueError(f"{what} is a dict like {{'up': [1], 'down': [3, 4]}}")
    numbers = _per_direction(schedule, what, ())
    for ns in numbers:
        if isinstance(ns, (int, str, bytes)) or any(not isinstance(n, int) or n < 1 for n in ns):
            raise ValueError(f"{what}: a list of packet numbers from 1, not {ns!r}")
    return [frozenset(ns) for ns in numbers]


def _delays(schedule) -> list[dict]:
    """delay={"down": {2: 1500}} -> [{}, {2: 1500}] (milliseconds)."""
    if schedule is None:
        return [{}, {}]
    if not isinstance(schedule, dict):
        raise ValueError("delay is a dict like {'down': {2: 1500}} (packet number: ms)")
    delays = _per_direction(schedule, "delay", {})
    for d in delays:
        if not isinstance(d, dict) or any(not isinstance(n, int) or n < 1 or ms < 0
                                          for n, ms in d.items()):
            raise ValueError("delay maps packet numbers (from 1) to milliseconds (>= 0)")
    return [dict(d) for d in delays]


def _numbered(name: str, numbers: frozenset) -> str:
    return f"{name} #" + " #".join(str(n) for n in sorted(numbers))


class Proxy:
    """A started UDP impairment proxy on `host`, port `.port`, in front of
    (target_host or host, target_port). close() stops it; it is also a
    context manager."""

    def __init__(self, target_port: int, *, host: str = "127.0.0.1",
                 target_host: str | None = None, journal=None, seed: int = 0,
                 drop=None, dup=None, reorder=None, delay=None,
                 loss=0, dup_rate=0, reorder_rate=0, delay_rate=0, delay_ms: float = 0,
                 delay_all_ms: float = 0, hold_ms: float = 200):
        self.host = host
        self.seed = seed
        self.journal = journal
        self._drop = _numbers(drop, "drop")
        self._dup = _numbers(dup, "dup")
        self._reorder = _numbers(reorder, "reorder")
        self._delay = _delays(delay)
        self._loss = _rates(loss, "loss")
        self._dup_rate = _rates(dup_rate, "dup_rate")
        self._reorder_rate = _rates(reorder_rate, "reorder_rate")
        self._delay_rate = _rates(delay_rate, "delay_rate")
        self._delay_ms = [float(ms) for ms in _per_direction(delay_ms, "delay_ms")]
        self._delay_all = [float(ms) / 1000 for ms in _per_direction(delay_all_ms, "delay_all_ms")]
        self._hold = float(hold_ms) / 1000
        if any(ms < 0 for ms in self._delay_ms + self._delay_all) or self._hold < 0:
            raise ValueError("delays and hold_ms are milliseconds, >= 0")
        for d in (UP, DOWN):
            if self._delay_rate[d] and not self._delay_ms[d]:
                raise ValueError("delay_rate needs delay_ms, the delay it gives")
        self._random = [random.Random(f"netlab-impair:{seed}:{d}") for d in DIRECTIONS]
        self._draws = [any(r[d] for r in (self._loss, self._dup_rate, self._reorder_rate,
                                          self._delay_rate)) for d in (UP, DOWN)]
        self._plain = [not (self._draws[d] or self._drop[d] or self._dup[d] or self._reorder[d]
                            or self._delay[d] or self._delay_all[d]) for d in (UP, DOWN)]

        self._family = socket.AF_INET6 if ":" in host else socket.AF_INET
        info = socket.getaddrinfo(target_host or host, target_port, self._family,
                                  socket.SOCK_DGRAM, 0, socket.AI_NUMERICHOST)
        self.target = info[0][4]
        self.target_port = target_port

        self._numbered = [0, 0]  # packets numbered so far, per direction
        self._counts = [dict.fromkeys(("seen", "dropped", "duplicated", "reordered", "delayed"), 0)
                        for _ in DIRECTIONS]
        self.errors = 0           # failed sends and receives, refused packets
        self.last_error = ""
        self._log: list[tuple[int, int, str]] = []
        self._journaled = 0
        self._flows: dict = {}
        self._handlers: dict = {}  # fd -> (handler, its argument, socket)
        self._sockets: list[socket.socket] = []  # every socket, closed by close()
        self._heap: list = []
        self._sequence = 0
        self._held: list[list[_Packet]] = [[], []]
        self._buffer = bytearray(BUFFER_SIZE)
        self._view = memoryview(self._buffer)
        self._stopping = False
        self._closed = False

        self._epoll = select.epoll()
        try:
            self._wake_r, self._wake_w = socket.socketpair()  # close() wakes the loop
            self._sockets += [self._wake_r, self._wake_w]
            self._epoll.register(self._wake_r.fileno(), select.EPOLLIN)
            self._listen = self._open(self._on_listen, None)
            self.port = self._listen.getsockname()[1]
        except BaseException:
            self._close_all()
            raise
        self._thread = threading.Thread(target=self._run, name=f"impair-{self.port}", daemon=True)
        self._thread.start()
        if journal is not None:
            journal.fault_plans.append(self)
            journal.step(f"impairment: {self.describe()}")

    # -- description -------------------------------------------------------
    def plan(self) -> str:
        """The impairments, in words: "seed 7, loss 5%, drop down #3"."""
        parts = [f"seed {self.seed}"]

        def rate(label, values, extra=""):
            if values[UP] == values[DOWN]:
                if values[UP]:
                    parts.append(f"{label} {values[UP]:g}%{extra}")
                return
            for d in (UP, DOWN):
                if values[d]:
                    parts.append(f"{label} {DIRECTIONS[d]} {values[d]:g}%{extra}")

        rate("loss", self._loss)
        rate("duplicates", self._dup_rate)
        rate("reorders", self._reorder_rate)
        if self._delay_ms[UP] == self._delay_ms[DOWN]:
            rate("delays", self._delay_rate, f" by {self._delay_ms[UP]:g} ms")
        else:
            for d in (UP, DOWN):
                if self._delay_rate[d]:
                    parts.append(f"delays {DIRECTIONS[d]} {self._delay_rate[d]:g}% "
                                 f"by {self._delay_ms[d]:g} ms")
        for label, schedule in (("drop", self._drop), ("duplicate", self._dup),
                                ("reorder", self._reorder)):
            named = [_numbered(DIRECTIONS[d], schedule[d]) for d in (UP, DOWN) if schedule[d]]
            if named:
                parts.append(f"{label} " + ", ".join(named))
        for d in (UP, DOWN):
            if self._delay[d]:
                parts.append(f"delay {DIRECTIONS[d]} " + ", ".join(
                    f"#{n} by {ms:g} ms" for n, ms in sorted(self._delay[d].items())))
        if self._delay_all[UP] == self._delay_all[DOWN]:
            if self._delay_all[UP]:
                parts.append(f"latency {self._delay_all[UP] * 1000:g} ms")
        else:
            for d in (UP, DOWN):
                if self._delay_all[d]:
                    parts.append(f"latency {DIRECTIONS[d]} {self._delay_all[d] * 1000:g} ms")
        if len(parts) == 1:
            parts.append("no impairment")
        if any(self._reorder) or any(self._reorder_rate):
            parts.append(f"reordered packets held at most {self._hold * 1000:g} ms")
        return ", ".join(parts)

    def describe(self) -> str:
        target = f"[{self.target[0]}]" if self._family == socket.AF_INET6 else self.target[0]
        return (f"UDP proxy on port {self.port} in front of {target} port {self.target_port}: "
                + self.plan())

    @property
    def stats(self) -> dict:
        """{"up": {"seen", "dropped", "duplicated", "reordered", "delayed"},
        "down": {...}}: what the proxy did so far. A packet is "seen" once its
        fate is decided and, unless delayed or held, it has been sent."""
        return {DIRECTIONS[d]: dict(self._counts[d]) for d in (UP, DOWN)}

    def impairments(self) -> list[str]:
        """Every impairment decided so far, in order: "up #3 dropped"."""
        return [f"{DIRECTIONS[d]} #{n} {what}" for d, n, what in list(self._log)]

    def flows(self) -> list[tuple]:
        """[(client address, [server addresses answering from another port])]."""
        return [(flow.client, list(flow.facing)) for flow in list(self._flows.values())]

    def summary(self, first: int = 6) -> dict:
        """For the failure report (the journal's fault plans)."""
        count = sum(c[k] for c in self._counts for k in ("dropped", "duplicated",
                                                          "reordered", "delayed"))
        return {"plan": f"impairment, {self.describe()}", "count": count,
                "first": self.impairments()[:first]}

    # -- set-up and tear-down ---------------------------------------------
    def _open(self, handler, argument) -> socket.socket:
        """A new non-blocking socket on an ephemeral port, watched by the loop."""
        sock = socket.socket(self._family, socket.SOCK_DGRAM)
        try:
            sock.setblocking(False)
            try:
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, RECEIVE_BUFFER)
            except OSError:
                pass
            sock.bind((self.host, 0))
            self._epoll.register(sock.fileno(), select.EPOLLIN)
        except BaseException:
            sock.close()
            raise
        self._sockets.append(sock)
        self._handlers[sock.fileno()] = (handler, argument, sock)
        return sock

    def _open_counted(self, handler, argument) -> socket.socket | None:
        if len(self._sockets) >= MAX_SOCKETS:
            self._error(f"more than {MAX_SOCKETS} sockets needed: packet dropped")
            return None
        try:
            return self._open(handler, argument)
        except OSError as exc:
            self._error(f"no socket for a new flow: {exc}")
            return None

    def close(self) -> None:
        """Stop the thread and close every socket; pending packets are lost."""
        if self._closed:
            return
        self._closed = True
        self._stopping = True
        try:
            self._wake_w.send(b"x")
        except OSError:
            pass
        self._thread.join(timeout=timing.scaled(5))
        stuck = self._thread.is_alive()
        self._close_all()
        if self.journal is not None:
            self.journal.step(f"impairment on port {self.port} ended: " + "; ".join(
                f"{direction} {c['seen']} seen, {c['dropped']} dropped, {c['duplicated']} "
                f"duplicated, {c['reordered']} reordered, {c['delayed']} delayed"
                for direction, c in self.stats.items()))
        if stuck:
            raise RuntimeError(f"the impairment proxy's thread on port {self.port} did not stop")

    def _close_all(self) -> None:
        for sock in self._sockets:
            sock.close()
        self._sockets.clear()
        self._handlers.clear()
        self._flows.clear()
        self._heap.clear()
        self._held = [[], []]
        self._epoll.close()

    def __enter__(self) -> "Proxy":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    # -- the loop ----------------------------------------------------------
    def _run(self) -> None:
        """Wait for datagrams and due timers; one datagram per ready socket
        per turn (epoll is level-triggered: a socket with more comes back)."""
        poll = self._epoll.poll
        handlers = self._handlers
        heap = self._heap
        buffer = self._buffer
        while not self._stopping:
            timeout = -1
            if heap:
                timeout = max(0.0, heap[0][0] - time.monotonic())
            try:
                events = poll(timeout)
            except OSError as exc:  # the epoll descriptor itself failed: nothing can go on
                self._error(f"epoll: {exc}")
                return
            for fd, _mask in events:
                entry = handlers.get(fd)
                if entry is None:  # the wake-up socket: close() was called
                    return
                handler, argument, sock = entry
                try:
                    length, sender = sock.recvfrom_into(buffer)
                except BlockingIOError:
                    continue
                except OSError as exc:  # e.g. a queued ICMP error: the next read is good
                    self._error(f"receive: {exc}")
                    continue
                try:
                    handler(argument, length, sender)
                except Exception as exc:  # counted; the proxy goes on
                    self._error(f"{type(exc).__name__}: {exc}")
            if heap and heap[0][0] <= time.monotonic():
                try:
                    self._due()
                except Exception as exc:
                    self._error(f"{type(exc).__name__}: {exc}")

    def _error(self, text: str) -> None:
        self.errors += 1
        self.last_error = text

    def _on_listen(self, _argument, length: int, client) -> None:
        """On L: a client's datagram, out of its U_C towards the target."""
        flow = self._flows.get(client)
        if flow is None:
            flow = _Flow(client, None)
            flow.upstream = self._open_counted(self._on_upstream, flow)
            if flow.upstream is None:
                return
            self._flows[client] = flow
        self._packet(UP, length, flow.upstream, self.target)

    def _on_upstream(self, flow: _Flow, length: int, server) -> None:
        """On U_C: from the target, back through L; from any other address A,
        through the F socket of (C, A)."""
        if server == self.target:
            self._packet(DOWN, length, self._listen, flow.client)
            return
        facing = flow.facing.get(server)
        if facing is None:
            facing = self._open_counted(self._on_facing, (flow, server))
            if facing is None:
                return
            flow.facing[server] = facing
        self._packet(DOWN, length, facing, flow.client)

    def _on_facing(self, argument, length: int, _sender) -> None:
        """On F of (C, A): whatever arrives goes to A through U_C."""
        flow, server = argument
        self._packet(UP, length, flow.upstream, server)

    # -- impairments -------------------------------------------------------
    def _packet(self, d: int, length: int, sock, dest) -> None:
        """One datagram (in the buffer) received in direction d."""
        n = self._numbered[d] = self._numbered[d] + 1
        counts = self._counts[d]
        if self._plain[d]:
            try:
                sock.sendto(self._view[:length], dest)
            except OSError as exc:
                self._error(f"send: {exc}")
            counts["seen"] += 1
            return
        if self._draws[d]:
            r = self._random[d].random
            r_loss, r_dup, r_reorder, r_delay = r() * 100, r() * 100, r() * 100, r() * 100
        else:
            r_loss = r_dup = r_reorder = r_delay = 100.0
        data = bytes(self._view[:length])
        if n in self._drop[d] or r_loss < self._loss[d]:
            counts["dropped"] += 1
            self._note(d, n, "dropped", data)
            counts["seen"] += 1
            return
        what = []
        copies = 1
        if n in self._dup[d] or r_dup < self._dup_rate[d]:
            copies = 2
            counts["duplicated"] += 1
            what.append("duplicated")
        delay = self._delay[d].get(n, 0)
        if not delay and r_delay < self._delay_rate[d]:
            delay = self._delay_ms[d]
        if delay:
            counts["delayed"] += 1
            what.append(f"delayed {delay:g} ms")
        reorder = n in self._reorder[d] or r_reorder < self._reorder_rate[d]
        if reorder:
            counts["reordered"] += 1
            what.append("held back to follow the next packet")
        if what:
            self._note(d, n, ", ".join(what), data)
        packet = _Packet(d, n, sock, dest, data, copies, reorder)
        wait = delay / 1000 + self._delay_all[d]
        if wait:
            self._later(wait, _EMIT, packet)
        else:
            self._emit(packet)
        counts["seen"] += 1

    def _note(self, d: int, n: int, what: str, data: bytes) -> None:
        if len(self._log) < LOG_LIMIT:
            self._log.append((d, n, what))
        if self.journal is None:
            return
        self._journaled += 1
        if self._journaled <= JOURNAL_LIMIT:
            self.journal.step(f"impair: {DIRECTIONS[d]} #{n} {what}: {excerpt(data, 24)}")
        elif self._journaled == JOURNAL_LIMIT + 1:
            self.journal.step("impair: further impairments are counted, not listed here")

    def _later(self, seconds: float, action: int, packet: _Packet) -> None:
        self._sequence += 1
        heapq.heappush(self._heap, (time.monotonic() + seconds, self._sequence, action, packet))

    def _emit(self, packet: _Packet) -> None:
        """A packet whose delay (if any) is over: held if it is to be
        reordered, else sent, followed by the packets held before it."""
        if packet.reorder:
            packet.reorder = False
            self._held[packet.direction].append(packet)
            self._later(self._hold, _RELEASE, packet)
            return
        self._send(packet)
        held = self._held[packet.direction]
        if held:
            self._held[packet.direction] = []
            for other in held:
                self._send(other)

    def _send(self, packet: _Packet) -> None:
        if packet.sent:
            return
        packet.sent = True
        for _ in range(packet.copies):
            try:
                packet.sock.sendto(packet.data, packet.dest)
            except OSError as exc:
                self._error(f"send: {exc}")

    def _due(self) -> None:
        heap = self._heap
        now = time.monotonic()
        while heap and heap[0][0] <= now:
            _when, _sequence, action, packet = heapq.heappop(heap)
            if action == _EMIT:
                self._emit(packet)
            elif not packet.sent:  # held, and no packet came to follow
                self._held[packet.direction].remove(packet)
                self._send(packet)
