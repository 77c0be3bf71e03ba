#!/usr/bin/env python3
"""bench_grading.py - how long grading every lab takes.

Usage: bench_grading.py [--runs N]

Grades the reference solutions of every lab N times (default 3), Valgrind
runs and builds included, exactly as an instructor would (grade.py
--impl solutions), and prints each run's wall-clock time and the median.
The course's target is under 60 s on a 2-core machine.
"""
import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

GRADER = Path(__file__).resolve().parent


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--runs", type=int, default=3)
    args = p.parse_args()
    times = []
    with tempfile.TemporaryDirectory() as tmp:
        for run in range(1, args.runs + 1):
            start = time.monotonic()
            proc = subprocess.run([sys.executable, str(GRADER / "grade.py"), "--impl", "solutions",
                                   "--brief", "--out", f"{tmp}/run{run}"],
                                  capture_output=True, text=True, timeout=1800)
            times.append(time.monotonic() - start)
            total = next((l for l in proc.stdout.splitlines() if l.startswith("TOTAL")), "?")
            print(f"run {run}: {times[-1]:.1f} s  ({total})", flush=True)
    print(f"grading all labs: median {statistics.median(times):.1f} s over {args.runs} runs "
          f"(target: under 60 s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
