#!/usr/bin/env python3
"""chatd_vs_ngircd.py - fan-out throughput and memory of chatd beside ngircd's.

Usage: bench/chatd_vs_ngircd.py [--impl DIR] [--clients N] [--seconds S]
                                [--rounds R] [--window W] [--quick] [--json FILE]

chatd (from DIR, default this lab directory, with -m and -q large enough
for the load) and ngircd (a real IRC server, started unprivileged with the
grader's configuration: no flood penalty) are loaded in turn with the same
fan-out: N clients (default 100) register and join one channel, then every
client sends PRIVMSGs to the channel as fast as the server takes them, and
every message reaches the N - 1 others. The load keeps at most W rounds
(default 4; a round is one message from each client) in flight: round
r + W is sent once round r has reached every member, so neither server
is asked to queue without bound (both drop a client whose queue passes
their SendQ). Delivered messages per second are counted for S seconds
(default 5), R times (default 3) per server; the report gives the median
rate of each and the ratio chatd/ngircd (at or above 1.0, chatd delivers
at least as fast; the course's target is 1.0).

Per CPU second: the server's own CPU time (user and system, from
/proc/PID/stat) over each measurement; delivered messages per CPU second
of the server do not depend on how fast the load generator is, which on
a busy machine may be the slower side (then both rates are its rate).

Memory: each server's resident set (VmRSS) is read before the clients
connect and once they have all joined; (after - before) / N is the memory
per client, in KiB (lower is better; reported, no target).

The load generator is one Python process with non-blocking sockets and
a selector, on the second core; it counts lines with bytes.count, so it
stays cheaper per message than either server.

--quick: 20 clients, 1 round of 1 second: it proves the script, its peer
and the plots work; the numbers mean little. --json FILE: the results for
`make bench` (bench/results.md).

A measurement, not a test: numbers vary between machines and runs, which
is why the two run side by side.
"""
import argparse
import os
import re
import selectors
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

LAB = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(LAB.parent.parent / "grader"))

from netgrader import bench  # noqa: E402
from netgrader.irc import start_ngircd  # noqa: E402
from netgrader.procs import Journal  # noqa: E402


def cpu_seconds(pid: int) -> float:
    """User and system CPU time the process has used (/proc/PID/stat)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise SystemExit(f"no VmRSS for pid {pid}")


def start_chatd(chatd: Path, clients: int) -> tuple[subprocess.Popen, int]:
    proc = subprocess.Popen([str(chatd), "-p", "0", "-m", str(clients + 16), "-q",
                             str(8 << 20)], stdout=subprocess.PIPE,
                            stderr=subprocess.DEVNULL, text=True)
    line = proc.stdout.readline()
    m = re.fullmatch(r"listening on port (\d+)\n", line)
    if not m:
        proc.kill()
        raise SystemExit(f"chatd did not announce its port: {line!r}")
    return proc, int(m.group(1))


def read_until(sock: socket.socket, marker: bytes, deadline: float) -> bytes:
    data = b""
    while marker not in data:
        sock.settimeout(max(0.01, deadline - time.monotonic()))
        chunk = sock.recv(65536)
        if not chunk:
            raise SystemExit(f"the server closed a client while it waited for {marker!r}: "
                             f"{data[-200:]!r}")
        data += chunk
    return data


def connect_all(port: int, n: int) -> list[socket.socket]:
    """n clients registered and in #bench (each has seen its own 366)."""
    socks = []
    deadline = time.monotonic() + 60
    for i in range(n):
        s = socket.create_connection(("127.0.0.1", port))
        s.sendall(f"NICK b{i}\r\nUSER b{i} 0 * :bench\r\nJOIN #bench\r\n".encode())
        socks.append(s)
    for s in socks:
        read_until(s, b" 366 ", deadline)
    # Everyone's JOIN reaches everyone: a PING per client, answered after them.
    for i, s in enumerate(socks):
        s.sendall(f"PING :ready{i}\r\n".encode())
    for i, s in enumerate(socks):
        read_until(s, f"ready{i}".encode(), deadline)
    return socks


def load(socks: list[socket.socket], seconds: float, window: int) -> tuple[int, float]:
    """Channel messages delivered over `seconds`, and the seconds it took."""
    n = len(socks)
    line = b"PRIVMSG #bench :" + b"x" * 60 + b"\r\n"
    sel = selectors.DefaultSelector()
    for s in socks:
        s.setblocking(False)
        sel.register(s, selectors.EVENT_READ)
    pending = {s: b"" for s in socks}
    received = 0            # lines delivered, all clients
    sent_rounds = 0
    per_round = n * (n - 1)

    def send_round():
        for s in socks:
            pending[s] += line

    def flush():
        for s in socks:
            if pending[s]:
                try:
                    k = s.send(pending[s])
                except BlockingIOError:
                    continue
                pending[s] = pending[s][k:]

    for _ in range(window):
        send_round()
        sent_rounds += 1
    start = time.monotonic()
    end = start + seconds
    while time.monotonic() < end:
        flush()
        for key, _ in sel.select(timeout=0.5):
            try:
                data = key.fileobj.recv(1 << 20)
            except BlockingIOError:
                continue
            if not data:
                raise SystemExit("the server closed a client during the load")
            received += data.count(b"\n")
        while (sent_rounds - window) * per_round <= received and sent_rounds * per_round <= \
                received + window * per_round:
            send_round()
            sent_rounds += 1
    elapsed = time.monotonic() - start
    sel.close()
    for s in socks:
        s.setblocking(True)
    # Lines that are not channel messages (PONGs, JOINs) are none during the load.
    return received, elapsed


def measure(name: str, port: int, pid: int, args) -> tuple[list[float], list[float], float]:
    before = rss_kib(pid)
    socks = connect_all(port, args.clients)
    after = rss_kib(pid)
    rates, per_cpu = [], []
    try:
        for _ in range(args.rounds):
            cpu = cpu_seconds(pid)
            delivered, elapsed = load(socks, args.seconds, args.window)
            cpu = cpu_seconds(pid) - cpu
            rates.append(delivered / elapsed)
            per_cpu.append(delivered / max(cpu, 0.01))
            # Let every message of this round arrive before the next starts.
            for i, s in enumerate(socks):
                s.sendall(f"PING :drain{i}\r\n".encode())
            deadline = time.monotonic() + 60
            for i, s in enumerate(socks):
                read_until(s, f"drain{i}".encode(), deadline)
    finally:
        for s in socks:
            s.close()
    per_client = max(0, after - before) / args.clients
    print(f"  {name:6}: " + ", ".join(f"{r:,.0f}" for r in rates)
          + " msg/s; " + ", ".join(f"{r:,.0f}" for r in per_cpu) + " msg per CPU second; "
          + f"{per_client:.1f} KiB per client ({before} -> {after} KiB resident)")
    return rates, per_cpu, per_client


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--impl", default=str(LAB))
    p.add_argument("--clients", type=int, help="members of the channel (default 100)")
    p.add_argument("--seconds", type=float, help="of each measurement (default 5)")
    p.add_argument("--rounds", type=int, help="measurements per server (default 3)")
    p.add_argument("--window", type=int, default=4, help="rounds in flight (default 4)")
    bench.add_arguments(p)
    args = p.parse_args()
    args.clients = args.clients or (20 if args.quick else 100)
    args.seconds = args.seconds or (1.0 if args.quick else 5.0)
    args.rounds = args.rounds or (1 if args.quick else 3)
    chatd = Path(args.impl).resolve() / "chatd"
    if not os.access(chatd, os.X_OK):
        print(f"{chatd} is missing: run make in {args.impl}", file=sys.stderr)
        return 2
    print(f"{args.clients} clients in one channel, {args.window} rounds in flight, "
          f"{args.rounds} x {args.seconds:g} s per server")
    rates, per_cpu, memory = {}, {}, {}
    with tempfile.TemporaryDirectory() as tmp:
        os.chmod(tmp, 0o755)  # ngircd may drop to nobody when started as root
        ngircd = start_ngircd(Path(tmp), Journal())
        ours = None
        try:
            ours, port = start_chatd(chatd, args.clients)
            for name, port_, pid in (("chatd", port, ours.pid),
                                     ("ngircd", ngircd.port, ngircd.proc.pid)):
                rates[name], per_cpu[name], memory[name] = measure(name, port_, pid, args)
        finally:
            if ours is not None:
                ours.terminate()
                ours.wait(timeout=10)
            ngircd.stop()
    throughput = bench.Case(f"fan-out, {args.clients} clients in one channel", "chatd", "ngircd",
                            "msg/s", better="higher", target=1.0)
    throughput.ours_runs, throughput.peer_runs = rates["chatd"], rates["ngircd"]
    efficiency = bench.Case(f"fan-out per CPU second of the server ({args.clients} clients)",
                            "chatd", "ngircd", "msg/CPU s", better="higher", target=1.0)
    efficiency.ours_runs, efficiency.peer_runs = per_cpu["chatd"], per_cpu["ngircd"]
    mem = bench.Case(f"memory per client ({args.clients} clients)", "chatd", "ngircd", "KiB",
                     better="lower")
    mem.ours_runs, mem.peer_runs = [max(memory["chatd"], 0.1)], [max(memory["ngircd"], 0.1)]
    a, b = statistics.median(rates["chatd"]), statistics.median(rates["ngircd"])
    print(f"median: chatd {a:,.0f} msg/s, ngircd {b:,.0f} msg/s, ratio chatd/ngircd {a / b:.2f}")
    c, d = statistics.median(per_cpu["chatd"]), statistics.median(per_cpu["ngircd"])
    print(f"per CPU second of the server: chatd {c:,.0f}, ngircd {d:,.0f}, ratio {c / d:.2f}")
    print(f"memory per client: chatd {memory['chatd']:.1f} KiB, ngircd {memory['ngircd']:.1f} KiB")
    bench.write(args, [throughput, efficiency, mem], f"{args.clients} clients, window {args.window}, "
                f"{args.rounds} x {args.seconds:g} s; chatd -q 8 MiB; ngircd MaxPenaltyTime = 0")
    return 0


if __name__ == "__main__":
    sys.exit(main())
