#!/usr/bin/env python3
"""httpd_vs_nginx.py - requests per second of httpd beside nginx's and
Python's http.server's.

Usage: bench/httpd_vs_nginx.py [--impl DIR] [--seconds S] [--rounds N]
                               [--connections C] [--size BYTES] [--quick]
                               [--json FILE]

httpd (from DIR, default this lab directory), nginx (one worker, access log
off) and Python's http.server serve the same small file (default 1024
bytes) from the same directory on loopback. wrk (2 threads, C connections,
default 20) loads each for S seconds (default 5) with `Connection: close`,
so every request is a new connection: accept, read, answer, close, which is
what this lab is about. The three are measured in turn, N rounds (default
3); the report gives each one's median requests per second and the ratios
httpd/nginx and httpd/http.server. The course's targets: at least 0.75
beside nginx, whose single-threaded event loop pays no thread wake-up per
connection (the event-loop labs aim at 1.0 and more), and at least 5 beside
http.server, a thread per connection in Python. A measurement, not a test:
numbers vary between machines and runs, which is why they run side by side.

--quick: 1-second loads, 1 round (seconds; proves the script works, the
numbers mean nothing). --json FILE: the results for `make bench`
(bench/results.md).
"""
import argparse
import os
import re
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

LAB = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(LAB.parent.parent / "grader"))

from netgrader import bench  # noqa: E402
from netgrader.peers import start_nginx, start_python_http  # noqa: E402
from netgrader.procs import Journal  # noqa: E402


def wrk(port: int, seconds: int, connections: int) -> tuple[float, str]:
    """Requests per second, and wrk's error lines (empty when none)."""
    out = subprocess.run(["wrk", "-t2", f"-c{connections}", f"-d{seconds}s", "-H",
                          "Connection: close", f"http://127.0.0.1:{port}/file.html"],
                         capture_output=True, text=True, timeout=seconds + 60, check=True).stdout
    rate = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    errors = " ".join(line.strip() for line in out.splitlines()
                      if "errors" in line or "Non-2xx" in line)
    return rate, errors


def start_httpd(httpd: Path, docroot: Path) -> tuple[subprocess.Popen, int]:
    proc = subprocess.Popen([str(httpd), "-p", "0", "-r", str(docroot)], stdout=subprocess.PIPE,
                            stderr=subprocess.DEVNULL, text=True)
    line = proc.stdout.readline()
    m = re.fullmatch(r"listening on port (\d+)\n", line)
    if not m:
        proc.kill()
        raise SystemExit(f"httpd did not announce its port: {line!r}")
    return proc, int(m.group(1))


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--impl", default=str(LAB))
    p.add_argument("--seconds", type=int)
    p.add_argument("--rounds", type=int)
    p.add_argument("--connections", type=int, default=20)
    p.add_argument("--size", type=int, default=1024)
    bench.add_arguments(p)
    args = p.parse_args()
    args.seconds = args.seconds or (1 if args.quick else 5)
    args.rounds = args.rounds or (1 if args.quick else 3)
    httpd = Path(args.impl).resolve() / "httpd"
    if not os.access(httpd, os.X_OK):
        print(f"{httpd} is missing: run make in {args.impl}", file=sys.stderr)
        return 2
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        os.chmod(tmp, 0o755)  # nginx's worker runs as nobody when started as root
        docroot = tmp / "www"
        docroot.mkdir()
        (docroot / "file.html").write_bytes(os.urandom(args.size))
        journal = Journal()
        nginx = start_nginx(docroot, tmp, journal)
        pyhttp = None
        ours = None
        rates = {"httpd": [], "nginx": [], "http.server": []}
        try:
            pyhttp = start_python_http(docroot, tmp, journal)
            ours, port = start_httpd(httpd, docroot)
            print(f"wrk -t2 -c{args.connections} -d{args.seconds}s, Connection: close, "
                  f"a {args.size}-byte file; {args.rounds} rounds")
            servers = (("httpd", port), ("nginx", nginx.port), ("http.server", pyhttp.port))
            for _ in range(args.rounds):  # in turn, so all see the same machine
                for name, target in servers:
                    rate, errors = wrk(target, args.seconds, args.connections)
                    rates[name].append(rate)
                    print(f"  {name:11}: {rate:9.0f} req/s" + (f"   ({errors})" if errors else ""))
        finally:
            if ours is not None:
                ours.terminate()
                ours.wait(timeout=10)
            if pyhttp is not None:
                pyhttp.stop()
            nginx.stop()
        cases = []
        for peer, target in (("nginx", 0.75), ("http.server", 5.0)):
            case = bench.Case(f"{args.size} B, Connection: close, vs {peer}", "httpd", peer,
                              "req/s", better="higher", target=target)
            case.ours_runs, case.peer_runs = rates["httpd"], rates[peer]
            cases.append(case)
        a = statistics.median(rates["httpd"])
        print(f"median: httpd {a:.0f} req/s, "
              + ", ".join(f"{c.peer} {statistics.median(c.peer_runs):.0f} req/s" for c in cases)
              + "; " + ", ".join(f"ratio httpd/{c.peer} {c.ratio:.2f} (target {c.target:g})"
                                 for c in cases))
    bench.write(args, cases, f"wrk -t2 -c{args.connections} -d{args.seconds}s -H 'Connection: "
                f"close', a {args.size}-byte file, {args.rounds} rounds in turn")
    return 0


if __name__ == "__main__":
    sys.exit(main())
