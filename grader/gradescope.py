#!/usr/bin/env python3
"""gradescope.py - the Gradescope autograder (`make gradescope [LAB=NN]`).

Writes OUT/NN-name/autograder.zip for one lab (--lab), or OUT/autograder.zip
for every lab (the lab is then told by the submitted files). The zip holds:

  setup.sh         run once by Gradescope when it builds the image: installs
                   the course's packages (the PACKAGES of its Makefile), then
                   grades the references (--expect full), which builds the
                   reference peers into the grader's cache and checks the image
  run_autograder   run for every submission: copies /autograder/submission
                   (flat, as Gradescope delivers it, or NN-name directories),
                   grades it with grader/grade.py and writes
                   /autograder/results/results.json
  netlab.json      which lab this autograder grades
  course/          labs/, common/, the grader, and of solutions/ what the
                   grader needs (the reference sources that build peers, the
                   hidden tests): the autograder is the instructor's side

Paths come from the environment, so that run_autograder runs anywhere:
AUTOGRADER_ROOT (default /autograder: submission/, results/, source/).

Usage: gradescope.py [--out dist/gradescope] [--lab NN] [--root COURSE]
       [--hidden-visibility after_published]
"""
from __future__ import annotations

import argparse
import json
import re
import sys
import zipfile
from pathlib import Path

GRADER = Path(__file__).resolve().parent
ROOT = GRADER.parent
sys.path.insert(0, str(GRADER))

import dist  # noqa: E402

SETUP = """#!/usr/bin/env bash
# Gradescope runs this once, as root, when it builds the autograder's image.
set -euo pipefail
apt-get update
DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends @PACKAGES@
cd "$(dirname "$0")/course"
# The reference solutions must score full marks here: this also builds the
# reference peers into the grader's cache, once, for every submission after.
/usr/bin/python3 grader/grade.py --impl solutions @LABS@ --expect full --brief --out /tmp/netlab-setup
"""

RUN = r'''#!/usr/bin/python3
"""Gradescope's entry point: grade /autograder/submission, write
/autograder/results/results.json. AUTOGRADER_ROOT moves /autograder."""
import json
import os
import shutil
import subprocess
import sys
import tempfile
import tomllib
from pathlib import Path

HERE = Path(__file__).resolve().parent
AUTOGRADER = Path(os.environ.get("AUTOGRADER_ROOT", "/autograder"))
COURSE = HERE / "course"


def lab_names():
    return sorted(p.name for p in (COURSE / "labs").iterdir() if p.is_dir() and p.name[:2].isdigit())


def detect(submission):
    """The labs of a course-layout submission, or the one lab whose files a
    flat submission holds the most of (None: none at all)."""
    labs = lab_names()
    nested = [lab for lab in labs if (submission / lab).is_dir()]
    if nested:
        return nested
    best, count = None, 0
    for lab in labs:
        files = tomllib.loads((COURSE / "labs" / lab / "lab.toml").read_text())["files"]
        n = sum((submission / f).exists() for f in files)
        if n > count:
            best, count = lab, n
    return [best] if best else None


def main():
    config = json.loads((HERE / "netlab.json").read_text())
    results = AUTOGRADER / "results"
    results.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="netlab-submission-") as tmp:
        copy = Path(tmp) / "submission"
        shutil.copytree(AUTOGRADER / "submission", copy, symlinks=True)
        labs = [config["lab"]] if config.get("lab") else detect(copy)
        if not labs:
            wanted = "; ".join(
                f"{lab}: " + ", ".join(tomllib.loads((COURSE / "labs" / lab / "lab.toml")
                                                    .read_text())["files"]) for lab in lab_names())
            (results / "results.json").write_text(json.dumps({
                "score": 0, "visibility": "visible", "tests": [],
                "output": "This submission holds none of the files a lab asks for. "
                          f"Upload the files themselves (not a folder): {wanted}"}, indent=1))
            return 0
        out = Path(tmp) / "out"
        cmd = [sys.executable, str(COURSE / "grader" / "grade.py"), "--impl", str(copy),
               "--out", str(out), "--hidden-visibility", config.get("hidden_visibility",
                                                                     "after_published")]
        for lab in labs:
            cmd += ["--lab", lab]
        rc = subprocess.run(cmd, cwd=COURSE, stdin=subprocess.DEVNULL).returncode
        if not (out / "results.json").exists():
            print(f"run_autograder: the grader wrote no results (exit {rc})", file=sys.stderr)
            return 2
        shutil.copyfile(out / "results.json", results / "results.json")
        return 0 if rc in (0, 1) else rc


if __name__ == "__main__":
    sys.exit(main())
'''


def course_files(root: Path) -> list[str]:
    """What the autograder's course/ holds (paths relative to root, except
    the grader's files, which come from this repository)."""
    picked = []
    for rel in dist.tracked_files(root):
        parts = rel.split("/")
        if parts[0] in ("labs", "common"):
            picked.append(rel)
        elif parts[0] == "solutions" and len(parts) >= 3:
            if parts[2] == "tests" or (len(parts) == 3 and dist_given(parts[2])):
                picked.append(rel)
    return picked


def dist_given(name: str) -> bool:
    return bool(re.fullmatch(r".*\.[ch]|Makefile|.*\.mk|lab\.toml", name))


def add(zf: zipfile.ZipFile, name: str, data: bytes, mode: int = 0o644) -> None:
    info = zipfile.ZipInfo(name, date_time=(2024, 1, 1, 0, 0, 0))
    info.external_attr = (0o100000 | mode) << 16
    info.compress_type = zipfile.ZIP_DEFLATED
    zf.writestr(info, data)


def build(root: Path, out: Path, lab: str | None, hidden_visibility: str) -> Path:
    labs = sorted(p.name for p in (root / "labs").iterdir() if p.is_dir() and p.name[:2].isdigit())
    if lab:
        match = [name for name in labs if name == lab or name.startswith(lab.rstrip("-") + "-")]
        if len(match) != 1:
            raise SystemExit(f"gradescope.py: no lab matches {lab}; labs are: {', '.join(labs)}")
        lab = match[0]
    target = (out / lab if lab else out) / "autograder.zip"
    target.parent.mkdir(parents=True, exist_ok=True)
    setup = SETUP.replace("@PACKAGES@", dist.packages()).replace(
        "@LABS@", f"--lab {lab}" if lab else "")
    grader_files = [rel for rel in dist.tracked_files(ROOT) if dist.GRADER_FILES.match(rel)]
    tmp = target.with_suffix(".zip.part")
    with zipfile.ZipFile(tmp, "w") as zf:
        add(zf, "setup.sh", setup.encode(), 0o755)
        add(zf, "run_autograder", RUN.encode(), 0o755)
        add(zf, "netlab.json", json.dumps({"lab": lab, "hidden_visibility": hidden_visibility},
                                          indent=1).encode())
        for rel in course_files(root):
            add(zf, f"course/{rel}", (root / rel).read_bytes())
        for rel in grader_files:
            add(zf, f"course/{rel}", (ROOT / rel).read_bytes())
    tmp.replace(target)
    return target


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--out", default=str(ROOT / "dist" / "gradescope"))
    p.add_argument("--lab", default=None)
    p.add_argument("--root", default=None, help=argparse.SUPPRESS)
    p.add_argument("--hidden-visibility", default="after_published",
                   choices=["after_published", "hidden", "after_due_date", "visible"])
    args = p.parse_args(argv)
    root = Path(args.root).resolve() if args.root else ROOT
    target = build(root, Path(args.out).resolve(), args.lab, args.hidden_visibility)
    print(f"Gradescope autograder: {target} ({target.stat().st_size // 1024} KiB)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
