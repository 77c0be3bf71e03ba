#!/usr/bin/env python3
"""httpget_vs_curl.py - download speed of httpget beside curl's.

Usage: bench/httpget_vs_curl.py [--impl DIR] [--size MB] [--runs N]

nginx (one worker) serves one file of SIZE MB (default 200) on loopback;
httpget (from DIR, default this lab directory) and curl download it in
turn, RUNS times each (default 7), to /dev/null and with -o to a file. The
report gives each program's median time and the ratio httpget/curl: at or
below 1.0 httpget is at least as fast. A measurement, not a test: numbers
vary between machines and runs, which is why the two run side by side.
"""
import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

LAB = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(LAB.parent.parent / "grader"))

from netgrader.peers import start_nginx  # noqa: E402
from netgrader.procs import Journal  # noqa: E402


def timed(argv) -> float:
    start = time.perf_counter()
    subprocess.run(argv, check=True, stdout=subprocess.DEVNULL, timeout=120)
    return time.perf_counter() - start


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--impl", default=str(LAB))
    p.add_argument("--size", type=int, default=200)
    p.add_argument("--runs", type=int, default=7)
    args = p.parse_args()
    httpget = Path(args.impl) / "httpget"
    if not os.access(httpget, os.X_OK):
        print(f"{httpget} is missing: run make in {args.impl}", file=sys.stderr)
        return 2
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        docroot = tmp / "www"
        docroot.mkdir()
        with open(docroot / "big.bin", "wb") as f:
            block = os.urandom(1 << 20)
            for _ in range(args.size):
                f.write(block)
        server = start_nginx(docroot, tmp, Journal())
        url = f"http://127.0.0.1:{server.port}/big.bin"
        out = tmp / "out.bin"
        cases = {
            "stdout": ([str(httpget), url], ["curl", "-sS", url]),
            "-o FILE": ([str(httpget), "-o", str(out), url], ["curl", "-sS", "-o", str(out), url]),
        }
        try:
            timed(cases["stdout"][1])  # warm the page cache
            print(f"{args.size} MB over loopback from nginx, median of {args.runs} runs")
            for name, (ours, theirs) in cases.items():
                t_ours, t_curl = [], []
                for _ in range(args.runs):  # interleaved, so both see the same machine
                    t_ours.append(timed(ours))
                    t_curl.append(timed(theirs))
                a, b = statistics.median(t_ours), statistics.median(t_curl)
                print(f"  {name:<8} httpget {a * 1000:7.1f} ms   curl {b * 1000:7.1f} ms   "
                      f"ratio httpget/curl {a / b:.2f}")
        finally:
            server.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
