#!/usr/bin/env python3
"""soak.py - grade the reference solutions again and again; any change in
any item's verdict between runs is a flaky test, and fails the soak.

Usage: soak.py [--runs N] [--lab NN]...

Runs the full grading of solutions/ N times (default 20): the first half
on an idle machine, the second half while two busy processes keep both
cores loaded. Prints each run's score and every item whose verdict differs
from the first run's, then `soak: N runs, D differences`; exits 1 when D > 0.
"""
import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

GRADER = Path(__file__).resolve().parent
BUSY = "while True: pass"


def grade_once(out: Path, labs: list[str]) -> dict:
    cmd = [sys.executable, str(GRADER / "grade.py"), "--impl", "solutions", "--brief",
           "--out", str(out)] + [f"--lab={lab}" for lab in labs]
    subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=1800)
    results = json.loads((out / "results.json").read_text())
    return {t["name"]: (t["score"], t["status"]) for t in results["tests"]}


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--runs", type=int, default=20)
    p.add_argument("--lab", action="append", default=[])
    args = p.parse_args()
    first = None
    differences = 0
    busy = []
    with tempfile.TemporaryDirectory() as tmp:
        try:
            for run in range(1, args.runs + 1):
                if run == args.runs // 2 + 1:
                    busy = [subprocess.Popen([sys.executable, "-c", BUSY]) for _ in range(2)]
                start = time.monotonic()
                verdicts = grade_once(Path(tmp) / f"run{run}", args.lab)
                score = sum(s for s, _ in verdicts.values())
                load = "loaded" if busy else "idle"
                print(f"run {run:2d} ({load}): {score} points, {time.monotonic() - start:.1f} s",
                      flush=True)
                if first is None:
                    first = verdicts
                    continue
                for name in sorted(set(first) | set(verdicts)):
                    if first.get(name) != verdicts.get(name):
                        differences += 1
                        print(f"  differs: {name}: run 1 {first.get(name)}, run {run} {verdicts.get(name)}")
        finally:
            for proc in busy:
                proc.kill()
                proc.wait()
    print(f"soak: {args.runs} runs, {differences} differences")
    return 1 if differences else 0


if __name__ == "__main__":
    sys.exit(main())
