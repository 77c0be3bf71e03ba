#!/usr/bin/env python3
"""miniredis_vs_redis.py - redis-benchmark against miniredis and redis-server, side by side.

Usage: bench/miniredis_vs_redis.py [--impl DIR] [--requests N] [--clients C]
                                   [--rounds R] [--idle LIST] [--quick] [--json FILE]

miniredis (from DIR, default this lab directory) and redis-server (started
unprivileged on a free port, no persistence) each get the same load, in
turn, R times (default 3): `redis-benchmark -q -t set,get,incr,lpush,lpop
-c C -n N` (default 50 clients, 200,000 requests), without and with
`-P 16`. The report gives each command's median requests per second and
the ratio miniredis/redis-server (the course's target: 1.0).

--idle 0,1000,10000: also 10 active clients (SET, GET) beside that many
idle connections, for miniredis -b poll and -b epoll, and the plot
bench/epoll_vs_poll.png (Debian's python3-matplotlib): the reason epoll
exists, on this machine.

--quick: 2,000 requests, 1 round, no idle series: it proves the script
and its peer work; the numbers mean little. --json FILE: the results for
`make bench` (bench/results.md).

A measurement, not a test: numbers vary between machines and runs, which
is why the two run side by side.
"""
import argparse
import os
import re
import socket
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

LAB = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(LAB.parent.parent / "grader"))

from netgrader import bench  # noqa: E402
from netgrader.procs import Journal  # noqa: E402
from netgrader.redis import start_redis  # noqa: E402

TESTS = ["SET", "GET", "INCR", "LPUSH", "LPOP"]
LINE = re.compile(r"^\s*([A-Z_]+).*?:\s*([\d.]+) requests per second", re.M)


def start_miniredis(program: Path, *args: str):
    proc = subprocess.Popen([str(program), "-p", "0", *args], stdout=subprocess.PIPE,
                            stderr=subprocess.DEVNULL, text=True)
    line = proc.stdout.readline()
    m = re.match(r"listening on port (\d+)", line)
    if not m:
        proc.kill()
        raise SystemExit(f"miniredis did not start: {line!r}")
    return proc, int(m.group(1))


def run_benchmark(port: int, requests: int, clients: int, pipeline: int,
                  tests: str = "set,get,incr,lpush,lpop") -> dict[str, float]:
    out = subprocess.run(["redis-benchmark", "-h", "127.0.0.1", "-p", str(port), "-q",
                          "-t", tests, "-c", str(clients), "-n", str(requests),
                          "-P", str(pipeline)], capture_output=True, text=True, timeout=600)
    if out.returncode != 0:
        raise SystemExit(f"redis-benchmark failed: {out.stderr[-300:]}")
    # -q prints progress lines ending in \r: only the final line of each test counts.
    return {name: float(rate) for name, rate in LINE.findall(out.stdout.replace("\r", "\n"))}


def idle_series(program: Path, idle_counts: list[int], requests: int) -> dict:
    results = {}
    for backend in ("poll", "epoll"):
        proc, port = start_miniredis(program, "-b", backend, "--maxclients", "20000")
        try:
            for n in idle_counts:
                idle = [socket.create_connection(("127.0.0.1", port)) for _ in range(n)]
                try:
                    rates = run_benchmark(port, requests, 10, 1, "set,get")
                finally:
                    for s in idle:
                        s.close()
                results.setdefault(backend, []).append(statistics.mean(rates.values()))
                print(f"  {backend:5} {n:6} idle: {results[backend][-1]:,.0f} req/s")
        finally:
            proc.terminate()
            proc.wait(timeout=10)
    return results


def plot(idle_counts, results, path: Path) -> None:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    fig, ax = plt.subplots(figsize=(6, 3.5))
    for backend, rates in results.items():
        ax.plot(idle_counts, rates, marker="o", label=f"miniredis -b {backend}")
    ax.set_xlabel("idle connections beside 10 active clients")
    ax.set_ylabel("requests per second (SET, GET)")
    ax.set_ylim(bottom=0)
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    print(f"plot: {path}")


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--impl", type=Path, default=LAB)
    p.add_argument("--requests", type=int, default=200000)
    p.add_argument("--clients", type=int, default=50)
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--idle", default="")
    bench.add_arguments(p)
    args = p.parse_args()
    if args.quick:
        args.requests, args.rounds, args.idle = 2000, 1, ""
    program = args.impl / "miniredis"
    if not program.exists():
        raise SystemExit(f"{program}: build it first (make -C {args.impl})")
    runs = {(pipe, who): {t: [] for t in TESTS} for pipe in (1, 16) for who in ("ours", "peer")}
    with tempfile.TemporaryDirectory() as tmp:
        redis = start_redis(Path(tmp), Journal())
        proc, port = start_miniredis(program)
        try:
            for _ in range(args.rounds):
                for pipe in (1, 16):
                    for who, port_ in (("ours", port), ("peer", redis.port)):
                        rates = run_benchmark(port_, args.requests, args.clients, pipe)
                        for t in TESTS:
                            runs[(pipe, who)][t].append(rates.get(t, 0.0) or 0.1)
        finally:
            proc.terminate()
            proc.wait(timeout=10)
            redis.stop()
    cases = []
    for pipe in (1, 16):
        for t in TESTS:
            case = bench.Case(f"{t}, -c {args.clients}" + (" -P 16" if pipe > 1 else ""),
                              "miniredis", "redis-server", "req/s", better="higher", target=1.0)
            case.ours_runs, case.peer_runs = runs[(pipe, "ours")][t], runs[(pipe, "peer")][t]
            cases.append(case)
            print(f"{case.name:22} miniredis {statistics.median(case.ours_runs):>11,.0f}  "
                  f"redis-server {statistics.median(case.peer_runs):>11,.0f}  "
                  f"ratio {case.ratio:.2f}")
    if args.idle:
        counts = [int(x) for x in args.idle.split(",")]
        results = idle_series(program, counts, max(args.requests // 4, 1000))
        plot(counts, results, LAB / "bench" / "epoll_vs_poll.png")
    bench.write(args, cases, f"redis-benchmark -q -t set,get,incr,lpush,lpop -c {args.clients} "
                f"-n {args.requests} [-P 16], {args.rounds} rounds")
    return 0


if __name__ == "__main__":
    sys.exit(main())
