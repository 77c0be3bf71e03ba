#!/usr/bin/env python3
"""dist.py - the student release (`make dist`).

Writes OUT/netlab-student/ and OUT/netlab-student.tar.gz: the course
without solutions/ and without hidden tests; the reference programs that
public tests run as peers (`lab.reference(...)`), prebuilt and stripped, in
peers/NN-name/ (never their sources); a Makefile whose `make test` builds
and grades every lab; a README for students; and a GitHub Classroom
workflow (.github/workflows/classroom.yml). Templates: grader/release/.

Usage: dist.py [--out dist]
       dist.py --check [--lab NN ...]   (default: every lab)
           build the release into a temporary directory and check it: no
           solution source or hidden test in it, the workflow parses, the
           skeletons score 0 there (`make test` at the top; with --lab,
           `make grade LAB=NN`) and the references, copied in as a student's
           work, full public marks (`make test` inside each lab, and
           `make grade LAB=NN` at the top for the first); each handout
           states the public total.
"""
from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tarfile
import tempfile
import tomllib
from pathlib import Path

GRADER = Path(__file__).resolve().parent
ROOT = GRADER.parent
RELEASE = GRADER / "release"
sys.path.insert(0, str(GRADER))

NAME = "netlab-student"
# What of grader/ a student needs: the grader itself, the fault-injection
# library and the jail (built from source by the grader), the fuzzing and
# benchmark runners the labs' Makefiles call. Instructor tools stay out.
GRADER_FILES = re.compile(r"grader/(grade\.py|grading\.ini|fuzz\.py|bench_labs\.py|"
                          r"netgrader/[^/]+\.py|sandbox/[^/]+\.[ch]|faultinject/[^/]+\.[ch])$")
TOP_FILES = {".clang-format", ".editorconfig", ".gitignore"}
REFERENCE = re.compile(r"""lab\.reference\(\s*["']([\w.-]+)["']\s*(?:,\s*lab\s*=\s*["']([\w-]+)["'])?""")


def tracked_files(root: Path) -> list[str]:
    """The course's files: git's list where the tree is a clone, else a walk
    that leaves out what builds produce."""
    if (root / ".git").exists():
        proc = subprocess.run(["git", "-C", str(root), "ls-files", "-z"], capture_output=True)
        if proc.returncode == 0:
            return sorted(p for p in proc.stdout.decode().split("\0")
                          if p and (root / p).is_file() and not (root / p).is_symlink())
    skip_dirs = {".git", "build", "build-san", "build-fuzz", "grade-out", "dist", "__pycache__",
                 "node_modules", "html"}
    found = []
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = [d for d in dirnames if d not in skip_dirs]
        for f in filenames:
            path = Path(dirpath) / f
            if path.is_symlink() or f.endswith((".o", ".d", ".pyc")):
                continue
            if os.access(path, os.X_OK) and "." not in f and path.parent.parent.name in ("labs", "solutions"):
                continue  # a program built in a lab directory
            found.append(str(path.relative_to(root)))
    return sorted(found)


def student_files(root: Path) -> list[str]:
    picked = []
    for rel in tracked_files(root):
        top = rel.split("/", 1)[0]
        if rel in TOP_FILES or top in ("labs", "common") or GRADER_FILES.match(rel) \
                or re.fullmatch(r"slides/\d\d-[\w-]+\.md", rel):
            picked.append(rel)
    return picked


def packages(root: Path = ROOT) -> str:
    """The PACKAGES list of the course's Makefile (`make packages`)."""
    proc = subprocess.run(["make", "-s", "--no-print-directory", "-C", str(root), "packages"],
                          capture_output=True, text=True, timeout=60)
    if proc.returncode != 0 or not proc.stdout.strip():
        raise RuntimeError(f"`make packages` failed: {proc.stderr.strip()}")
    return " ".join(proc.stdout.split())


def peer_programs(root: Path, files: list[str]) -> dict[str, set[str]]:
    """lab -> the reference programs the public tests among files run."""
    wanted: dict[str, set[str]] = {}
    for rel in files:
        if not re.fullmatch(r"labs/\d\d-[\w-]+/tests/[^/]+\.py", rel):
            continue
        test = root / rel
        lab = test.parent.parent.name
        for program, other in REFERENCE.findall(test.read_text(errors="replace")):
            wanted.setdefault(other or lab, set()).add(program)
    return wanted


def build_peers(root: Path, dest: Path, files: list[str]) -> list[str]:
    """Build the references (the grader's own way, into its cache) and copy
    the programs public tests need into dest/peers/LAB/, stripped."""
    from netgrader import build as building
    lines = []
    for lab, programs in sorted(peer_programs(root, files).items()):
        built, step = building.build_peer(root, lab, building.cache_dir())
        if built is None:
            raise RuntimeError(f"the reference of {lab} does not build:\n{step.first_errors()}")
        target = dest / "peers" / lab
        target.mkdir(parents=True, exist_ok=True)
        for program in sorted(programs):
            shutil.copyfile(built / program, target / program)
            subprocess.run(["strip", "--strip-all", str(target / program)], check=True)
            os.chmod(target / program, 0o755)
            needed = re.findall(r"\(NEEDED\)\s+Shared library: \[([^\]]+)\]",
                                subprocess.run(["readelf", "-d", str(target / program)],
                                               capture_output=True, text=True).stdout)
            lines.append(f"| `{lab}/{program}` | {', '.join(needed) or 'none (static)'} |")
    return lines


def build_release(root: Path, out: Path, tarball: bool = True) -> Path:
    dest = out / NAME
    if dest.exists():
        shutil.rmtree(dest)
    dest.mkdir(parents=True)
    files = student_files(root)
    for rel in files:
        target = dest / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(root / rel, target)
    peer_lines = build_peers(root, dest, files)
    (dest / "peers").mkdir(exist_ok=True)
    (dest / "peers" / "README.md").write_text(
        "# Reference programs the public tests run\n\n"
        "Built from the course's reference solutions for x86-64 Linux (Debian 12), "
        "stripped; their sources are not part of the release. The grader takes them "
        "from here (`peers/NN-name/PROGRAM`); run them yourself to compare.\n\n"
        "| program | shared libraries |\n|---|---|\n" + "\n".join(peer_lines) + "\n")
    makefile = (RELEASE / "Makefile").read_text().replace("@PACKAGES@", packages(root))
    (dest / "Makefile").write_text(makefile)
    shutil.copyfile(RELEASE / "README.md", dest / "README.md")
    workflow = dest / ".github" / "workflows"
    workflow.mkdir(parents=True)
    shutil.copyfile(RELEASE / ".github" / "workflows" / "classroom.yml", workflow / "classroom.yml")
    if tarball:
        archive = out / f"{NAME}.tar.gz"
        with tarfile.open(archive, "w:gz") as tar:
            tar.add(dest, arcname=NAME)
    return dest


# --- the check ---------------------------------------------------------------------------------

def leaks(root: Path, dest: Path) -> list[str]:
    """Solution sources and hidden tests found in the release."""
    problems = []
    if (dest / "solutions").exists():
        problems.append("solutions/ is in the release")
    secret = {}
    for path in (root / "solutions").rglob("*"):
        if not path.is_file() or path.suffix not in (".c", ".h", ".py", ".patch", ".toml", ".md"):
            continue
        rel = path.relative_to(root / "solutions")
        public = root / "labs" / rel
        data = path.read_bytes()
        if public.is_file() and public.read_bytes() == data:
            continue  # a given file: the same in labs/
        if len(data) >= 200:
            secret[data] = str(path.relative_to(root))
    for path in dest.rglob("*"):
        if path.is_file() and path.read_bytes() in secret:
            problems.append(f"{path.relative_to(dest)} is {secret[path.read_bytes()]}")
    for path in (dest / "peers").rglob("*"):
        if path.is_file() and path.suffix in (".c", ".h", ".o"):
            problems.append(f"{path.relative_to(dest)}: a source in peers/")
    return problems


def results_of(tree: Path) -> dict:
    return json.loads((tree / "grade-out" / "labs" / "results.json").read_text())


def check(root: Path, labs: list[str]) -> int:
    import yaml
    failures = []
    with tempfile.TemporaryDirectory(prefix="netlab-dist-") as tmp:
        dest = build_release(root, Path(tmp), tarball=True)
        print(f"release built in {dest}", flush=True)
        failures += leaks(root, dest)
        flow = yaml.safe_load((dest / ".github/workflows/classroom.yml").read_text())
        steps = flow["jobs"]["grade"]["steps"]
        if not any("make setup" in str(s.get("run", "")) for s in steps) or \
                not any("GITHUB_STEP_SUMMARY" in str(s.get("run", "")) for s in steps):
            failures.append("classroom.yml: no `make setup` step or no job summary")
        labs = labs or sorted(p.name[:2] for p in (dest / "labs").glob("[0-9][0-9]-*") if p.is_dir())
        env = {**os.environ, "MAKEFLAGS": ""}
        env.pop("PYTHONPATH", None)
        chosen = [next(p.name for p in sorted((dest / "labs").iterdir()) if p.name.startswith(w))
                  for w in labs]
        every = chosen == sorted(p.name for p in (dest / "labs").glob("[0-9][0-9]-*"))
        # The skeletons, as a student first runs them: `make test` at the top
        # (every lab built, then graded), or `make grade LAB=NN` for each.
        runs = [(["make", "--no-print-directory", "test"], chosen)] if every else \
            [(["make", "--no-print-directory", "grade", f"LAB={lab[:2]}"], [lab]) for lab in chosen]
        totals = {}
        for cmd, graded in runs:
            proc = subprocess.run(cmd, cwd=dest, env=env, capture_output=True, text=True,
                                  timeout=3600)
            res = results_of(dest)
            per_lab = res["extra_data"]["labs"]
            for lab in graded:
                got, top = per_lab.get(lab, {}).get("score"), per_lab.get(lab, {}).get("max_score", 0)
                totals[lab] = top
                print(f"{lab}: skeleton {got}/{top} ({' '.join(cmd[2:])} at the top, "
                      f"exit {proc.returncode})", flush=True)
                if proc.returncode != 0 or got != 0 or top == 0:
                    failures.append(f"{lab}: the skeleton scored {got}/{top} (exit {proc.returncode})")
                if f"public tests: X/{top};" not in (dest / "labs" / lab / "README.md").read_text():
                    failures.append(f"{lab}: the handout does not give the public total ({top})")
            if any(t["visibility"] != "visible" for t in res["tests"]):
                failures.append("hidden tests were collected in the release")
            if f"public tests: 0/{res['extra_data']['max_score']}; hidden tests are run when you " \
                    "submit" not in proc.stdout:
                failures.append(f"{' '.join(cmd)}: the report does not state the public total")
        # The references' files copied in as the student's work, graded from
        # inside each lab (`make test`), and the first again from the top.
        for lab in chosen:
            files = tomllib.loads((dest / "labs" / lab / "lab.toml").read_text())["files"]
            for f in files:
                shutil.copyfile(root / "solutions" / lab / f, dest / "labs" / lab / f)
            runs = [(["make", "--no-print-directory", "test"], dest / "labs" / lab, dest / "grade-out" / lab)]
            if lab == chosen[0]:
                runs.append((["make", "--no-print-directory", "grade", f"LAB={lab[:2]}"], dest,
                             dest / "grade-out" / "labs"))
            for cmd, where, out in runs:
                proc = subprocess.run(cmd, cwd=where, env=env, capture_output=True, text=True,
                                      timeout=1800)
                res = json.loads((out / "results.json").read_text()) \
                    if (out / "results.json").exists() else {"score": None, "tests": [],
                                                              "extra_data": {"max_score": 0}}
                failed = [t["name"] for t in res["tests"] if t["status"] != "passed"]
                shown = " ".join(cmd[2:]) + (f" in {where.relative_to(dest)}" if where != dest
                                             else " at the top")
                print(f"{lab}: reference {res['score']}/{res['extra_data']['max_score']} "
                      f"({shown}, exit {proc.returncode})", flush=True)
                if proc.returncode != 0 or failed or res["score"] != totals[lab]:
                    failures.append(f"{lab}: the reference scored {res['score']}/{totals[lab]} "
                                    f"({shown}); failed: {', '.join(failed[:8])}\n"
                                    f"{proc.stdout[-3000:]}{proc.stderr[-2000:]}")
    for f in failures:
        print(f"dist check: {f}", file=sys.stderr)
    print(f"dist check: {'ok' if not failures else f'{len(failures)} problem(s)'}")
    return 1 if failures else 0


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--out", default=str(ROOT / "dist"))
    p.add_argument("--check", action="store_true")
    p.add_argument("--lab", action="append", default=[])
    args = p.parse_args(argv)
    if args.check:
        return check(ROOT, args.lab)
    dest = build_release(ROOT, Path(args.out).resolve())
    print(f"student release: {dest} and {dest}.tar.gz")
    return 0


if __name__ == "__main__":
    sys.exit(main())
