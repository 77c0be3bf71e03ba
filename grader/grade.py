#!/usr/bin/env python3
"""grade.py - grade labs with the course's autograder.

A submission is source files: for each lab, the files its lab.toml lists,
either in the course's layout (SUBMISSION/NN-name/FILE) or flat
(SUBMISSION/FILE, with --lab). Nothing else in it is used. The grader
builds them in a sandbox with the course's Makefile, runs the course's
tests (public ones from labs/, hidden ones from solutions/) and writes
report.txt, results.json (Gradescope) and junit.xml into --out.

Exit status: 0 when the grading ran to the end, whatever the score; 1 when
--expect was given and does not hold; 2 when the grader itself or its
environment failed (a usage error, no test collected, a tool missing).
"""
from __future__ import annotations

import argparse
import fcntl
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

GRADER = Path(__file__).resolve().parent
ROOT = GRADER.parent
sys.path.insert(0, str(GRADER))

from netgrader import netns, sandbox  # noqa: E402


def parse_args(argv):
    p = argparse.ArgumentParser(prog="grade.py", description=__doc__.split("\n\n")[0],
                                epilog=__doc__.split("\n\n", 1)[1],
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--impl", default="labs", metavar="labs|solutions|DIR",
                   help="what to grade: the skeletons (labs, the default), the reference "
                   "solutions, or a submission directory")
    p.add_argument("--class", dest="class_dir", default=None, metavar="DIR",
                   help="grade a whole class: DIR holds one submission directory per student; "
                   "-j N gradings at once, into --out OUT/STUDENT, with OUT/grades.csv and "
                   "OUT/index.html (see grader/classgrade.py)")
    p.add_argument("--lab", action="append", default=[], metavar="NN",
                   help="grade this lab only (01 or 01-tcp-client); repeat for more; "
                   "default: every lab. A flat submission needs exactly one")
    p.add_argument("-k", dest="keyword", default=None, metavar="EXPR",
                   help="only the tests whose names match EXPR (pytest's -k)")
    p.add_argument("-m", "--milestone", dest="milestone", default=None, metavar="NAME",
                   help="only the tests of one milestone of the lab's handout")
    p.add_argument("-j", dest="jobs", type=int, default=None, metavar="N",
                   help="tests run in N processes at once (default 2, or 1 with -k or -m, "
                   "which then builds only what the chosen tests need)")
    p.add_argument("--out", default=None, metavar="DIR",
                   help="where report.txt, results.json and junit.xml go "
                   "(default grade-out/<impl name>)")
    p.add_argument("--points", default=None, metavar="FILE",
                   help="a TOML file of point overrides, one table per lab")
    p.add_argument("--root", default=None, help=argparse.SUPPRESS)
    p.add_argument("--expect", choices=["full", "zero"], default=None,
                   help="full: exit 1 unless every item passes (validating references); "
                   "zero: exit 1 unless nothing scores (validating skeletons)")
    p.add_argument("--brief", action="store_true", help="the score table without failure details")
    p.add_argument("--rerun-from", choices=["top", "lab"], default="top",
                   help="the rerun lines in the report work from the top of the course "
                   "(`make grade`, the default) or from inside a lab (`make test`)")
    p.add_argument("--hidden-visibility", default="after_published",
                   choices=["after_published", "hidden", "after_due_date", "visible"],
                   help="Gradescope visibility of hidden tests (default after_published)")
    p.add_argument("--host-network", action="store_true",
                   help="use the host's loopback instead of a private network namespace")
    p.add_argument("--fault-seed", type=int, default=None, metavar="N",
                   help="one seed for every fault-injection (robust I/O) test; by default each "
                   "test has its own, from its name, so that a rerun replays the same faults")
    p.add_argument("pytest_args", nargs="*", help="extra arguments for pytest, after --")
    return p.parse_args(argv)


def has_xdist() -> bool:
    try:
        import xdist  # noqa: F401
    except ImportError:
        return False
    return True


def main(argv=None) -> int:
    args = parse_args(sys.argv[1:] if argv is None else argv)
    try:
        if args.class_dir:
            import classgrade
            return classgrade.main(args)
        return grade(args)
    except KeyboardInterrupt:
        return 2


def grade(args) -> int:
    root = Path(args.root).resolve() if args.root else ROOT
    impl = args.impl if args.impl in ("labs", "solutions") else str(Path(args.impl).resolve())
    impl_name = args.impl if args.impl in ("labs", "solutions") else Path(impl).name
    if impl not in ("labs", "solutions") and not Path(impl).is_dir():
        print(f"grade.py: {args.impl} is not a directory", file=sys.stderr)
        return 2
    out = Path(args.out).resolve() if args.out else root / "grade-out" / impl_name
    out.mkdir(parents=True, exist_ok=True)
    # Two gradings writing one output directory would mix their results.
    lock = open(out / ".lock", "w")
    try:
        fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        print(f"grade.py: another grading is writing to {out}: give this one its own --out",
              file=sys.stderr)
        return 2
    for name in ("results.json", "report.txt", "junit.xml"):
        if (out / name).exists():
            (out / name).unlink()
    results = out / "results.json"

    labs = sorted(p.name for p in (root / "labs").iterdir() if p.is_dir() and p.name[:2].isdigit())
    chosen = [lab for lab in labs
              if not args.lab or any(lab == w or lab.startswith(w.rstrip("-") + "-") for w in args.lab)]
    if not chosen:
        print(f"grade.py: no lab matches {args.lab}; labs are: {', '.join(labs)}", file=sys.stderr)
        return 2
    if impl not in ("labs", "solutions") and len(chosen) > 1 \
            and not any((Path(impl) / lab).is_dir() for lab in chosen):
        print(f"grade.py: {impl} holds no NN-name lab directory; for the files of one lab "
              "(a flat submission) say which with --lab NN", file=sys.stderr)
        return 2
    paths = [str(d) for lab in chosen
             for d in (root / "labs" / lab / "tests", root / "solutions" / lab / "tests") if d.is_dir()]

    run_dir = sandbox.make_run_dir()
    box = run_dir / "box"
    cmd = [sys.executable, "-m", "pytest", "-c", str(GRADER / "grading.ini"), "--rootdir", str(root),
           "--impl", impl, "--out", str(out), "--junitxml", str(out / "junit.xml"),
           "--run-dir", str(run_dir), "--basetemp", str(box / "pytest"),
           "--rerun-from", args.rerun_from, "--hidden-visibility", args.hidden_visibility,
           "-q", "--tb=no", "-rN", "--no-header"]
    cmd += [f"--lab={lab}" for lab in chosen]
    if args.root:
        cmd += ["--root", str(root)]
    if args.points:
        cmd += ["--points", str(Path(args.points).resolve())]
    if args.keyword:
        cmd += ["-k", args.keyword]
    if args.milestone:
        cmd += ["--milestone", args.milestone]
    if args.brief:
        cmd += ["--brief"]
    if args.fault_seed is not None:
        cmd += ["--fault-seed", str(args.fault_seed)]
    jobs = args.jobs if args.jobs is not None else 1 if args.keyword or args.milestone else 2
    if jobs > 1 and has_xdist():
        cmd += ["-n", str(jobs)]
    cmd += args.pytest_args + paths
    env = {**os.environ, "PYTHONPATH": str(GRADER) + os.pathsep + os.environ.get("PYTHONPATH", ""),
           sandbox.ENV_RUN: str(run_dir)}
    if args.host_network:
        env[netns.ENV_FLAG] = "host: --host-network was given"
    else:
        cmd = netns.wrap(cmd, env, box_setup=sandbox.box_mount_script(box))
    try:
        rc = subprocess.run(cmd, cwd=root, env=env).returncode
    finally:
        shutil.rmtree(run_dir, ignore_errors=True)

    if rc == 5:
        print("grade.py: no test was collected: check --lab, -k and -m", file=sys.stderr)
        return 2
    if rc not in (0, 1) or not results.exists():
        print(f"grade.py: the grader itself failed (pytest exit {rc})", file=sys.stderr)
        return 2
    data = json.loads(results.read_text())
    extra = data.get("extra_data", {})
    score, top = data["score"], extra.get("max_score", 0)
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
    if extra.get("environment_failures"):
        print("grade.py: some items could not run because the grading environment is "
              "incomplete (see ENV in the report)", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
