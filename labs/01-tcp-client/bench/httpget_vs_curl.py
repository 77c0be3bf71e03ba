#!/usr/bin/env python3
"""httpget_vs_curl.py - download speed of httpget beside curl's.

Usage: bench/httpget_vs_curl.py [--impl DIR] [--size MB] [--runs N] [--quick]
                                [--json FILE]

nginx (one worker) serves one file of SIZE MB (default 200) on loopback;
httpget (from DIR, default this lab directory) and curl download it in
turn, RUNS times each (default 7), to /dev/null and with -o to a file. The
report gives each program's median time and the ratio httpget/curl: at or
below 1.0 httpget is at least as fast. A measurement, not a test: numbers
vary between machines and runs, which is why the two run side by side.

--quick: 2 MB, 1 run (seconds; proves the script works, the numbers mean
nothing). --json FILE: the results for `make bench` (bench/results.md).
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

from netgrader import bench  # noqa: E402
from netgrader.peers import start_nginx  # noqa: E402
from netgrader.procs import Journal  # noqa: E402


def timed(argv) -> float:
    start = time.perf_counter()
    subprocess.run(argv, check=True, stdout=subprocess.DEVNULL, timeout=120)
    return time.perf_counter() - start


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--impl", default=str(LAB))
    p.add_argument("--size", type=int)
    p.add_argument("--runs", type=int)
    bench.add_arguments(p)
    args = p.parse_args()
    args.size = args.size or (2 if args.quick else 200)
    args.runs = args.runs or (1 if args.quick else 7)
    httpget = Path(args.impl).resolve() / "httpget"
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
        results = []
        try:
            timed(cases["stdout"][1])  # warm the page cache
            print(f"{args.size} MB over loopback from nginx, median of {args.runs} runs")
            for name, (ours, theirs) in cases.items():
                case = bench.Case(f"{args.size} MB to {name}", "httpget", "curl", "ms",
                                  better="lower", target=1.0)
                for _ in range(args.runs):  # interleaved, so both see the same machine
                    case.ours_runs.append(timed(ours) * 1000)
                    case.peer_runs.append(timed(theirs) * 1000)
                a, b = statistics.median(case.ours_runs), statistics.median(case.peer_runs)
                print(f"  {name:<8} httpget {a:7.1f} ms   curl {b:7.1f} ms   "
                      f"ratio httpget/curl {case.ratio:.2f}")
                results.append(case)
        finally:
            server.stop()
    bench.write(args, results, f"nginx (one worker), a {args.size} MB file, {args.runs} runs "
                f"each, interleaved; time of the whole download")
    return 0


if __name__ == "__main__":
    sys.exit(main())
