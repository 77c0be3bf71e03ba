#!/usr/bin/env python3
"""bench_class.py - how long a class takes: `grade.py --class` against one grading.

Builds a class of flat submissions of one lab (default 50 students of lab
01): the reference copied in, the skeleton, and the lab's mutants
(solutions/NN/mutants/*.patch, applied with `patch`), in turn. Grades one
submission of each kind alone (`grade.py --impl SUB --lab NN -j 1`, as the
class gradings run), then the whole class with `grade.py --class -j N`,
and prints the class's wall-clock time beside the prediction
sum(time of one grading of the student's kind) / N, as a ratio.

Usage: bench_class.py [--lab 01] [--students 50] [-j 2] [--keep DIR]
"""
from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
import time
import tomllib
from pathlib import Path

GRADER = Path(__file__).resolve().parent
ROOT = GRADER.parent
PY = sys.executable


def lab_dir(tree: str, wanted: str) -> Path:
    matches = sorted(p for p in (ROOT / tree).glob(f"{wanted}*") if p.is_dir())
    if not matches:
        sys.exit(f"bench_class.py: no lab {wanted} in {tree}/")
    return matches[0]


def make_class(lab: str, students: int, where: Path) -> tuple[Path, dict[str, str]]:
    """where/class/sNN, flat; returns (class dir, student -> kind)."""
    labs, sols = lab_dir("labs", lab), lab_dir("solutions", lab)
    files = tomllib.loads((labs / "lab.toml").read_text())["files"]
    kinds: dict[str, Path] = {}
    for kind, source in (("reference", sols), ("skeleton", labs)):
        d = where / "kinds" / kind
        d.mkdir(parents=True)
        for f in files:
            shutil.copyfile(source / f, d / f)
    for patch in sorted((sols / "mutants").glob("*.patch")):
        d = where / "kinds" / f"mutant-{patch.stem}"
        shutil.copytree(where / "kinds" / "reference", d)
        proc = subprocess.run(["patch", "-s", "-p1", "--batch", "--no-backup-if-mismatch", "-d",
                               str(d), "-i", str(patch)], capture_output=True, text=True)
        if proc.returncode != 0:
            shutil.rmtree(d)
            print(f"  (mutant {patch.stem} does not apply: left out)", file=sys.stderr)
    for d in sorted((where / "kinds").iterdir()):
        kinds[d.name] = d
    order = ["reference", "skeleton"] + sorted(k for k in kinds if k.startswith("mutant-"))
    cls = where / "class"
    cls.mkdir()
    assigned = {}
    for i in range(students):
        kind = order[i % len(order)]
        name = f"s{i + 1:02d}"
        shutil.copytree(kinds[kind], cls / name)
        assigned[name] = kind
    return cls, assigned


def timed(cmd: list[str]) -> tuple[float, int]:
    start = time.monotonic()
    rc = subprocess.run(cmd, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL).returncode
    return time.monotonic() - start, rc


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--lab", default="01")
    p.add_argument("--students", type=int, default=50)
    p.add_argument("-j", dest="jobs", type=int, default=2)
    p.add_argument("--keep", default=None, help="build the class and the output here and keep them")
    args = p.parse_args()
    where = Path(args.keep) if args.keep else Path(tempfile.mkdtemp(prefix="netlab-bench-class-"))
    where.mkdir(parents=True, exist_ok=True)
    try:
        cls, assigned = make_class(args.lab, args.students, where)
        kinds = sorted(set(assigned.values()))
        print(f"class: {len(assigned)} flat submissions of lab {args.lab}, {len(kinds)} kinds "
              "(reference, skeleton, mutants)", flush=True)
        single: dict[str, float] = {}
        for kind in kinds:
            sub = where / "kinds" / kind
            seconds, rc = timed([PY, str(GRADER / "grade.py"), "--impl", str(sub), "--lab", args.lab,
                                 "--out", str(where / "single" / kind), "-j", "1", "--brief"])
            if rc != 0:
                print(f"bench_class.py: grading {kind} alone failed (exit {rc})", file=sys.stderr)
                return 1
            single[kind] = seconds
            print(f"  one grading, {kind:<40} {seconds:6.1f} s", flush=True)
        mean = sum(single[k] for k in assigned.values()) / len(assigned)
        predicted = sum(single[k] for k in assigned.values()) / args.jobs
        wall, rc = timed([PY, str(GRADER / "grade.py"), "--class", str(cls), "--lab", args.lab,
                          "--out", str(where / "out"), "-j", str(args.jobs)])
        print(f"one grading (mean over the class's mix): {mean:.1f} s")
        print(f"predicted, one grading x {len(assigned)} / {args.jobs}: {predicted:.1f} s")
        print(f"grade.py --class -j {args.jobs}: {wall:.1f} s (exit {rc})")
        print(f"ratio measured / predicted: {wall / predicted:.2f}")
        if rc != 0:
            return 1
        return 0
    finally:
        if not args.keep:
            shutil.rmtree(where, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
