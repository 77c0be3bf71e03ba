#!/usr/bin/env python3
"""grade.py - grade labs with the course's autograder.

Usage:
  grade.py [--impl labs|solutions|DIR] [--lab NN]... [-k EXPR] [-j N]
           [--out DIR] [--points FILE] [--expect full|zero] [--brief] [--host-network]
           [--fault-seed N] [-- PYTEST-ARGS]

  --impl      the tree under test: labs/ (default), solutions/, or a student's
              submission: a directory holding NN-name lab directories
  --lab       grade one lab (01 or 01-tcp-client); repeat for more; default all
  -k          only the tests whose names match (pytest's -k)
  -j          parallel workers (default 2; 1 runs in one process)
  --out       where results.json, junit.xml and report.txt go
              (default grade-out/<impl name>)
  --points    a TOML file of point overrides, one table per lab
  --expect    full: fail unless every item passes (validating references);
              zero: fail unless nothing scores (validating skeletons)
  --brief     the score table without failure details
  --host-network  run on the host's loopback; by default the whole run is in
              a private network namespace with only lo up, when the kernel allows
  --fault-seed  one seed for every fault-injection ("robust I/O") test; by
              default each test has its own, derived from its name, so that
              a rerun replays the same faults

Exit status: 0 when every graded item passed (or --expect held), 1 when
some did not, 2 for a usage error or when no test was collected.
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from pathlib import Path

GRADER = Path(__file__).resolve().parent
ROOT = GRADER.parent
sys.path.insert(0, str(GRADER))

from netgrader import netns  # noqa: E402


def parse_args(argv):
    p = argparse.ArgumentParser(prog="grade.py", description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--impl", default="labs")
    p.add_argument("--lab", action="append", default=[])
    p.add_argument("-k", dest="keyword", default=None)
    p.add_argument("--milestone", default=None, help="only one milestone's tests (M= in make)")
    p.add_argument("-j", dest="jobs", type=int, default=2)
    p.add_argument("--out", default=None)
    p.add_argument("--points", default=None)
    p.add_argument("--root", default=None, help=argparse.SUPPRESS)
    p.add_argument("--expect", choices=["full", "zero"], default=None)
    p.add_argument("--brief", action="store_true", help="scores only, no failure details")
    p.add_argument("--host-network", action="store_true",
                   help="use the host's loopback instead of a private network namespace")
    p.add_argument("--fault-seed", type=int, default=None)
    p.add_argument("pytest_args", nargs="*")
    return p.parse_args(argv)


def has_xdist() -> bool:
    try:
        import xdist  # noqa: F401
    except ImportError:
        return False
    return True


def main(argv=None) -> int:
    args = parse_args(sys.argv[1:] if argv is None else argv)
    root = Path(args.root).resolve() if args.root else ROOT
    impl = args.impl if args.impl in ("labs", "solutions") else str(Path(args.impl).resolve())
    impl_name = args.impl if args.impl in ("labs", "solutions") else Path(impl).name
    out = Path(args.out).resolve() if args.out else root / "grade-out" / impl_name
    out.mkdir(parents=True, exist_ok=True)
    results = out / "results.json"
    if results.exists():
        results.unlink()

    labs = sorted(p.name for p in (root / "labs").iterdir() if p.is_dir() and p.name[:2].isdigit())
    chosen = [lab for lab in labs
              if not args.lab or any(lab == w or lab.startswith(w.rstrip("-") + "-") for w in args.lab)]
    if not chosen:
        print(f"grade.py: no lab matches {args.lab}; labs are: {', '.join(labs)}", file=sys.stderr)
        return 2
    paths = [str(d) for lab in chosen
             for d in (root / "labs" / lab / "tests", root / "solutions" / lab / "tests") if d.is_dir()]

    cmd = [sys.executable, "-m", "pytest", "-c", str(GRADER / "grading.ini"), "--rootdir", str(root),
           "--impl", impl, "--out", str(out), "--junitxml", str(out / "junit.xml"),
           "-q", "--tb=no", "-rN", "--no-header"]
    cmd += [f"--lab={lab}" for lab in chosen]
    if args.root:
        cmd += ["--root", str(root)]
    if args.points:
        cmd += ["--points", str(Path(args.points).resolve())]
    if args.keyword:
        cmd += ["-k", args.keyword]
    cmd += ["--milestone", args.milestone] if args.milestone else []
    if args.brief:
        cmd += ["--brief"]
    if args.fault_seed is not None:
        cmd += ["--fault-seed", str(args.fault_seed)]
    if args.jobs > 1 and has_xdist():
        cmd += ["-n", str(args.jobs)]
    cmd += args.pytest_args + paths
    env = {**os.environ, "PYTHONPATH": str(GRADER) + os.pathsep + os.environ.get("PYTHONPATH", "")}
    if args.host_network:
        env[netns.ENV_FLAG] = "host: --host-network was given"
    else:
        cmd = netns.wrap(cmd, env)
    rc = subprocess.run(cmd, cwd=root, env=env).returncode

    if rc == 5:
        print("grade.py: no test was collected: check --lab and -k", file=sys.stderr)
        return 2
    if rc not in (0, 1) or not results.exists():
        print(f"grade.py: the grader itself failed (pytest exit {rc})", file=sys.stderr)
        return 2
    data = json.loads(results.read_text())
    score, top = data["score"], data["max_score"]
    if args.expect == "full":
        ok = top > 0 and score == top and all(t["status"] == "passed" for t in data["tests"])
        print(f"grade.py: expected full marks for {impl_name}: {'yes' if ok else 'NO'} ({score}/{top})")
        return 0 if ok else 1
    if args.expect == "zero":
        passing = [t["name"] for t in data["tests"] if t["score"] > 0]
        ok = top > 0 and score == 0
        print(f"grade.py: expected a score of 0 for {impl_name}: {'yes' if ok else 'NO'} ({score}/{top})"
              + ("".join(f"\n  scores: {n}" for n in passing)))
        return 0 if ok else 1
    return rc


if __name__ == "__main__":
    sys.exit(main())
