#!/usr/bin/env python3
"""miniredis_vs_redis.py - redis-benchmark against miniredis and redis-server, side by side;
then miniredis's poll and epoll backends beside idle connections.

Usage: bench/miniredis_vs_redis.py [--impl DIR] [--requests N] [--clients C] [--rounds R]
                                   [--server-cpu SHARE] [--idle LIST] [--seconds S]
                                   [--plot FILE] [--quick] [--json FILE]

Beside redis-server: miniredis (from DIR, default this lab directory) and
redis-server (started unprivileged on a free port, no persistence) get the
same load, `redis-benchmark -q -t set,get,incr,lpush,lpop -c C -n N`
(default 50 clients, 200,000 requests), without and with `-P 16`, in R
rounds (default 3). Each round measures both servers one right after the
other (each command on one, then on the other), miniredis first in odd
rounds and redis-server first in even ones, so that a load that drifts
during the run falls on both. With two CPUs or
more the servers run on one (taskset, from util-linux) and redis-benchmark
on another, so that client and server never take turns on one CPU. The
report gives each command's medians, the ratio miniredis/redis-server of
the medians and the median of the rounds' own ratios (paired; the course's
target: 1.0), each server's CPU time per request (user and system,
from /proc: what a request costs it, whatever else the machine does), and
how busy redis-benchmark was (its CPU time over the run's wall time).

A single-threaded redis-benchmark on one CPU saturates before a quick
server on another does: unpipelined, the client then sets the pace and
any server that keeps up ties; such a case (redis-benchmark 95 % busy or
more against both servers) is marked client-bound and has no target in
--json. So the unpipelined series runs once more with both servers in
one cpu cgroup held to SHARE of a CPU (--server-cpu, default 0.5; 0: not
run; it needs root and the cpu controller, and is left out, saying so,
without them): there the servers set the pace, and the ratio compares
them.

Idle connections (--idle, default 0,1000,10000; "" for none): for
miniredis -b poll and -b epoll, 10 active clients (redis-benchmark -c 10
-t set,get) beside that many idle connections, each measured for about S
seconds (default 3), R rounds, the two backends in turn (a fresh server
each time); the medians, and their plot (an SVG, Debian's
python3-matplotlib) in --plot FILE (default bench/epoll_vs_poll.svg in
this directory, or epoll_vs_poll.svg beside the --json file, which lists
it under "figures" for `make bench`). poll hands the kernel every
descriptor on every wait; epoll only the ready ones: the reason epoll
exists, measured. The script raises its RLIMIT_NOFILE to the hard limit
(the servers inherit it) and leaves out the counts that do not fit,
saying so.

--quick: 2,000 requests, one round, 0 and 200 idle connections for
0.2 s: it proves the script, its peer and the plot work; the numbers mean
nothing. --json FILE: the results for `make bench` (bench/results.md).

A measurement, not a test: numbers vary between machines and runs, which
is why the two servers run side by side, in turn, on the same CPUs.
"""
import argparse
import os
import re
import resource
import shutil
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
from netgrader.procs import Journal  # noqa: E402
from netgrader.redis import start_redis  # noqa: E402

TESTS = ["SET", "GET", "INCR", "LPUSH", "LPOP"]
LINE = re.compile(r"^\s*([A-Z_]+).*?:\s*([\d.]+) requests per second", re.M)
ACTIVE = 10  # clients of the idle series


class Cpus:
    """Where the servers and redis-benchmark run: two different CPUs when there are two."""

    def __init__(self):
        allowed = sorted(os.sched_getaffinity(0))
        self.pinned = len(allowed) >= 2 and shutil.which("taskset") is not None
        self.server, self.client = (allowed[0], allowed[1]) if self.pinned else (None, None)

    def client_argv(self) -> list[str]:
        return ["taskset", "-c", str(self.client)] if self.pinned else []

    def pin_server(self, pid: int) -> None:
        """Every thread of pid onto the server's CPU (redis-server has helper threads)."""
        if self.pinned:
            subprocess.run(["taskset", "-a", "-p", "-c", str(self.server), str(pid)],
                           check=True, stdout=subprocess.DEVNULL)

    def describe(self) -> str:
        if not self.pinned:
            return "not pinned (one CPU, or no taskset)"
        return f"servers on CPU {self.server}, redis-benchmark on CPU {self.client} (taskset)"


def start_miniredis(program: Path, cpus: Cpus, *args: str):
    proc = subprocess.Popen([str(program), "-p", "0", *args], stdout=subprocess.PIPE,
                            stderr=subprocess.DEVNULL, text=True)
    line = proc.stdout.readline()
    m = re.match(r"listening on port (\d+)", line)
    if not m:
        proc.kill()
        raise SystemExit(f"miniredis did not start: {line!r}")
    cpus.pin_server(proc.pid)
    return proc, int(m.group(1))


def stop(proc) -> None:
    proc.terminate()
    proc.wait(timeout=30)


CLIENT_BOUND = 0.95  # redis-benchmark busier than this: it, not the server, is the bottleneck


def run_benchmark(cpus: Cpus, port: int, requests: int, clients: int, pipeline: int,
                  tests: str = "set,get,incr,lpush,lpop", busy: list | None = None
                  ) -> dict[str, float]:
    """redis-benchmark's rates; busy, when given, gets the share of its
    wall time that redis-benchmark spent on a CPU (1.0: the client, not the
    server, set the pace)."""
    before, start = resource.getrusage(resource.RUSAGE_CHILDREN), time.monotonic()
    out = subprocess.run([*cpus.client_argv(), "redis-benchmark", "-h", "127.0.0.1",
                          "-p", str(port), "-q", "-t", tests, "-c", str(clients),
                          "-n", str(requests), "-P", str(pipeline)],
                         capture_output=True, text=True, timeout=900)
    if out.returncode != 0:
        raise SystemExit(f"redis-benchmark failed: {out.stderr[-300:]}")
    if busy is not None:
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        used = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
        busy.append(used / max(time.monotonic() - start, 1e-6))
    # -q prints progress lines ending in \r: only the final line of each test counts.
    return {name: float(rate) for name, rate in LINE.findall(out.stdout.replace("\r", "\n"))}


def cpu_seconds(pid: int) -> float:
    """User and system time of process pid so far, all its threads (/proc/PID/stat)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


class CpuCap:
    """A cpu cgroup (v2's cpu.max, or v1's CFS quota) that holds the processes
    put in it to `share` of one CPU together; its path is None when this
    process may not make one (not root, no cpu controller)."""

    PERIOD_US = 10_000

    def __init__(self, share: float):
        self.share, self.path = share, None
        self.quota = max(1000, int(share * self.PERIOD_US))  # µs per period (1 ms at least)
        v2 = Path("/sys/fs/cgroup")
        try:
            version2 = "cpu" in (v2 / "cgroup.subtree_control").read_text().split()
        except OSError:
            version2 = False
        path = (v2 if version2 else v2 / "cpu") / f"netlab-bench-{os.getpid()}"
        try:
            path.mkdir()
        except OSError:
            return
        try:
            if version2:
                (path / "cpu.max").write_text(f"{self.quota} {self.PERIOD_US}")
            else:
                (path / "cpu.cfs_period_us").write_text(str(self.PERIOD_US))
                (path / "cpu.cfs_quota_us").write_text(str(self.quota))
            self.path = path
        except OSError:
            path.rmdir()

    def add(self, pid: int) -> None:
        """The whole process, every thread of it."""
        (self.path / "cgroup.procs").write_text(str(pid))

    def remove(self) -> None:
        """Once the processes put in it have gone."""
        if self.path is not None:
            try:
                self.path.rmdir()
            except OSError as e:
                print(f"could not remove {self.path}: {e}", file=sys.stderr)

    def describe(self) -> str:
        return (f"both servers held to {self.share:g} of a CPU (cgroup {self.path.parent.name}"
                f"/{self.path.name}, CFS quota {self.quota} µs per "
                f"{self.PERIOD_US} µs)")


def beside_redis(program: Path, cpus: Cpus, args, pipelines=(1, 16), cap: CpuCap | None = None,
                 label: str = "") -> list:
    """Each command on each server, in turn, round after round; with cap,
    both servers held to the same share of a CPU."""
    keys = [(pipe, t, who) for pipe in pipelines for t in TESTS for who in ("ours", "peer")]
    runs = {k: [] for k in keys}
    cpu = {k: [] for k in keys}  # the server's CPU microseconds per request
    busy = {k: [] for k in keys}  # redis-benchmark's share of a CPU
    with tempfile.TemporaryDirectory() as tmp:
        redis = start_redis(Path(tmp), Journal())
        proc = None
        try:
            cpus.pin_server(redis.proc.pid)
            proc, port = start_miniredis(program, cpus)
            if cap is not None:
                cap.add(redis.proc.pid)
                cap.add(proc.pid)
            servers = (("ours", port, proc.pid), ("peer", redis.port, redis.proc.pid))
            for r in range(args.rounds):
                for pipe in pipelines:
                    for t in TESTS:  # each command on both servers, one right after the other
                        for who, port_, pid in servers if r % 2 == 0 else servers[::-1]:
                            before = cpu_seconds(pid)
                            rate = run_benchmark(cpus, port_, args.requests, args.clients, pipe,
                                                 t.lower(), busy[(pipe, t, who)]).get(t, 0.0)
                            cpu[(pipe, t, who)].append((cpu_seconds(pid) - before)
                                                       / args.requests * 1e6)
                            runs[(pipe, t, who)].append(rate or 0.1)
        finally:
            if proc is not None:
                stop(proc)
            redis.stop()
    cases = []
    width = 36 + len(label)
    print(f"{'':{width}} {'miniredis':>11} {'redis-server':>13}  ratio  paired  (rounds)"
          f"{'':12}server CPU µs/request  client busy")
    for pipe in pipelines:
        for t in TESTS:
            case = bench.Case(f"{t}, -c {args.clients}" + (" -P 16" if pipe > 1 else "") + label,
                              "miniredis", "redis-server", "req/s", better="higher", target=1.0)
            case.ours_runs, case.peer_runs = runs[(pipe, t, "ours")], runs[(pipe, t, "peer")]
            if all(statistics.median(busy[(pipe, t, who)]) >= CLIENT_BOUND
                   for who in ("ours", "peer")):
                # redis-benchmark, not either server, set the pace: the ratio compares
                # the client with itself, so the target is judged where a server did.
                case.name += ", client-bound"
                case.target = None
            cases.append(case)
            pairs = ", ".join(f"{a / b:.2f}" for a, b in zip(case.ours_runs, case.peer_runs))
            paired = statistics.median(a / b for a, b in zip(case.ours_runs, case.peer_runs))
            print(f"{case.name:{width}} {statistics.median(case.ours_runs):>11,.0f} "
                  f"{statistics.median(case.peer_runs):>13,.0f}  {case.ratio:5.2f}  "
                  f"{paired:6.2f}  {'(' + pairs + ')':20} "
                  f"{statistics.median(cpu[(pipe, t, 'ours')]):5.2f} "
                  f"{statistics.median(cpu[(pipe, t, 'peer')]):5.2f}  "
                  f"{statistics.median(busy[(pipe, t, 'ours')]):4.0%} "
                  f"{statistics.median(busy[(pipe, t, 'peer')]):4.0%}", flush=True)
    saturated = [k for k in keys if statistics.median(busy[k]) >= CLIENT_BOUND]
    if saturated:
        print(f"client busy: redis-benchmark used {CLIENT_BOUND:.0%} or more of its CPU in "
              f"{len(saturated)} of {len(keys)} series: there the client set the pace and a "
              "ratio near 1.0 says only that both servers kept up with it (a case where it "
              "did so with both servers is marked client-bound and has no target)", flush=True)
    return cases


def raise_nofile(need: int) -> int:
    """The soft RLIMIT_NOFILE up to the hard limit (children inherit it); the soft limit."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    want = hard if hard == resource.RLIM_INFINITY else max(soft, hard)
    if need > soft and want > soft:
        resource.setrlimit(resource.RLIMIT_NOFILE, (want, hard))
        soft = want
    return soft


def measure(cpus: Cpus, port: int, seconds: float) -> float:
    """SET and GET from ACTIVE clients for about `seconds`: the mean of the two rates."""
    probe = run_benchmark(cpus, port, 1000, ACTIVE, 1, "set,get")
    rate = statistics.mean(probe.values())
    n = int(min(max(rate * seconds / 2, 1000), 2_000_000))
    return statistics.mean(run_benchmark(cpus, port, n, ACTIVE, 1, "set,get").values())


def idle_series(program: Path, cpus: Cpus, counts: list[int], seconds: float,
                rounds: int) -> dict:
    """Each count, each round: -b poll and -b epoll in turn (the order alternating), each a
    fresh server with that many idle connections; the medians of the rounds."""
    limit = raise_nofile(max(counts) + ACTIVE + 100)
    fits = [n for n in counts if n + ACTIVE + 100 <= limit]
    if fits != counts:
        left = ", ".join(f"{n:,}" for n in counts if n not in fits)
        print(f"  RLIMIT_NOFILE's hard limit is {limit}: {left} idle connections left out "
              f"(raise it: ulimit -Hn, or /etc/security/limits.conf)")
    runs = {backend: {n: [] for n in fits} for backend in ("poll", "epoll")}
    for r in range(rounds):
        for n in fits:
            for backend in ("poll", "epoll") if r % 2 == 0 else ("epoll", "poll"):
                proc, port = start_miniredis(program, cpus, "-b", backend, "--maxclients",
                                             str(n + ACTIVE + 10))
                idle = []
                try:
                    for _ in range(n):
                        idle.append(socket.create_connection(("127.0.0.1", port), timeout=30))
                    if idle:  # accepted in order: a reply on the last one means all were
                        idle[-1].sendall(b"PING\r\n")
                        if not idle[-1].recv(16).startswith(b"+PONG"):
                            raise SystemExit(f"miniredis -b {backend}: no PONG with {n} idle")
                    runs[backend][n].append(measure(cpus, port, seconds))
                finally:
                    for sock in idle:
                        sock.close()
                    stop(proc)
    results = {"idle": fits}
    for backend in ("poll", "epoll"):
        results[backend] = [statistics.median(runs[backend][n]) for n in fits]
        for n in fits:
            print(f"  -b {backend:5} {ACTIVE} active, {n:6,} idle: "
                  f"{statistics.median(runs[backend][n]):>9,.0f} req/s  (rounds: "
                  + ", ".join(f"{x:,.0f}" for x in runs[backend][n]) + ")", flush=True)
    return results


def plot(results: dict, path: Path, note: str) -> None:
    import matplotlib
    matplotlib.use("Agg")
    matplotlib.rcParams["svg.hashsalt"] = "netlab"  # the same SVG for the same numbers
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(8, 3.4))
    counts = results["idle"]
    for k, (backend, color) in enumerate((("poll", "#c44e52"), ("epoll", "#4c72b0"))):
        xs = [i + (k - 0.5) * 0.38 for i in range(len(counts))]
        bars = ax.bar(xs, results[backend], width=0.36, color=color,
                      label=f"miniredis -b {backend}")
        ax.bar_label(bars, [f"{y:,.0f}" for y in results[backend]], padding=2, fontsize=8)
    ax.set_xticks(range(len(counts)), [f"{n:,} idle" for n in counts])
    ax.set_xlabel(f"connections beside the {ACTIVE} active clients")
    ax.set_ylabel("requests per second\n(SET and GET)")
    ax.set_ylim(0, max(max(results["poll"]), max(results["epoll"])) * 1.3)
    ax.legend(loc="upper center", ncol=2, fontsize=9)
    ax.set_title(note, fontsize=8)
    fig.tight_layout()
    fig.savefig(path, metadata={"Date": None})
    plt.close(fig)
    print(f"plot: {path}")


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--impl", type=Path, default=LAB)
    p.add_argument("--requests", type=int, default=200000)
    p.add_argument("--clients", type=int, default=50)
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--idle", default="0,1000,10000")
    p.add_argument("--seconds", type=float, default=3.0)
    p.add_argument("--plot", type=Path)
    p.add_argument("--server-cpu", type=float, default=0.5,
                   help="then the unpipelined series again with both servers held to this "
                   "share of one CPU (a cpu cgroup; needs root), so that the servers, not "
                   "redis-benchmark, set the pace; 0: not at all (default 0.5)")
    bench.add_arguments(p)
    args = p.parse_args()
    if args.quick:
        args.requests, args.rounds, args.idle, args.seconds = 2000, 1, "0,200", 0.2
    program = args.impl / "miniredis"
    if not program.exists():
        raise SystemExit(f"{program}: build it first (make -C {args.impl})")
    cpus = Cpus()
    load = " ".join(f"{v:.2f}" for v in os.getloadavg())
    print(f"CPUs: {cpus.describe()}; load average before: {load}", flush=True)
    cases = beside_redis(program, cpus, args)
    settings = (f"redis-benchmark -q -t set,get,incr,lpush,lpop -c {args.clients} "
                f"-n {args.requests} [-P 16], {args.rounds} rounds, each server in turn; "
                f"{cpus.describe()}")
    if args.server_cpu > 0:
        cap = CpuCap(args.server_cpu)
        if cap.path is None:
            print(f"servers held to {args.server_cpu:g} of a CPU: left out (this needs root "
                  "and a cpu cgroup controller)", flush=True)
        else:
            print(f"unpipelined again, {cap.describe()}: now the servers set the pace",
                  flush=True)
            try:
                cases += beside_redis(program, cpus, args, pipelines=(1,), cap=cap,
                                      label=f", servers at {args.server_cpu:g} CPU")
            finally:
                cap.remove()
            settings += f"; then -P 1 again with {cap.describe()}"
    figures = []
    if args.idle:
        counts = [int(x) for x in args.idle.split(",")]
        print(f"idle connections: redis-benchmark -c {ACTIVE} -t set,get, about "
              f"{args.seconds:g} s each", flush=True)
        results = idle_series(program, cpus, counts, args.seconds, args.rounds)
        path = args.plot or (Path(args.json).with_name("epoll_vs_poll.svg") if args.json
                             else LAB / "bench" / "epoll_vs_poll.svg")
        note = (f"redis-benchmark -c {ACTIVE} -t set,get, median of {args.rounds} "
                f"round{'s' if args.rounds > 1 else ''}; {cpus.describe()}\n"
                f"{os.cpu_count()} CPUs, load average {load} before the run")
        plot(results, path, note)
        figures.append({"file": str(path), "title": "miniredis -b poll and -b epoll beside "
                        "idle connections"})
        settings += (f"; idle series: {ACTIVE} active clients, "
                     + ", ".join(f"{n:,}" for n in results["idle"]) + " idle")
    bench.write(args, cases, settings)
    if args.json and figures:
        import json
        data = json.loads(Path(args.json).read_text())
        data["figures"] = figures
        Path(args.json).write_text(json.dumps(data, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
