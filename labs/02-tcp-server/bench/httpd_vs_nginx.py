#!/usr/bin/env python3
"""httpd_vs_nginx.py - requests per second of httpd beside nginx's.

Usage: bench/httpd_vs_nginx.py [--impl DIR] [--seconds S] [--rounds N]
                               [--connections C] [--size BYTES]

httpd (from DIR, default this lab directory) and nginx (one worker, access
log off) serve the same small file (default 1024 bytes) from the same
directory on loopback. wrk (2 threads, C connections, default 20) loads each
for S seconds (default 5) with `Connection: close`, so every request is a new
connection: accept, read, answer, close, which is what this lab is about.
The two are measured in turn, N rounds (default 3); the report gives each
one's median requests per second and the ratio httpd/nginx (at or above 1.0,
httpd is at least as fast). A measurement, not a test: numbers vary between
machines and runs, which is why the two run side by side.
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

from netgrader.peers import start_nginx  # noqa: E402
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
    p.add_argument("--seconds", type=int, default=5)
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--connections", type=int, default=20)
    p.add_argument("--size", type=int, default=1024)
    args = p.parse_args()
    httpd = Path(args.impl) / "httpd"
    if not os.access(httpd, os.X_OK):
        print(f"{httpd} is missing: run make in {args.impl}", file=sys.stderr)
        return 2
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        os.chmod(tmp, 0o755)  # nginx's worker runs as nobody when started as root
        docroot = tmp / "www"
        docroot.mkdir()
        (docroot / "file.html").write_bytes(os.urandom(args.size))
        nginx = start_nginx(docroot, tmp, Journal())
        ours, port = start_httpd(httpd, docroot)
        rates = {"httpd": [], "nginx": []}
        try:
            print(f"wrk -t2 -c{args.connections} -d{args.seconds}s, Connection: close, "
                  f"a {args.size}-byte file; {args.rounds} rounds")
            for _ in range(args.rounds):  # in turn, so both see the same machine
                for name, target in (("httpd", port), ("nginx", nginx.port)):
                    rate, errors = wrk(target, args.seconds, args.connections)
                    rates[name].append(rate)
                    print(f"  {name}: {rate:9.0f} req/s" + (f"   ({errors})" if errors else ""))
        finally:
            ours.terminate()
            ours.wait(timeout=10)
            nginx.stop()
        a, b = statistics.median(rates["httpd"]), statistics.median(rates["nginx"])
        print(f"median: httpd {a:.0f} req/s, nginx {b:.0f} req/s, ratio httpd/nginx {a / b:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
