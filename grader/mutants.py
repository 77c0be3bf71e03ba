#!/usr/bin/env python3
"""mutants.py - prove the tests: buggy variants of a reference must lose
points, correct ones must keep them all.

Usage: mutants.py [--lab NN]... [-j N] [--quick] [--timeout S] [--deadline S]
                  [--out DIR] [--keep] [--only NAME]...

For each lab with a `solutions/NN-name/mutants/` or `variants/` directory:

  mutants/NAME.patch   a realistic student mistake: a unified diff against
                       the reference lab directory (paths a/FILE, b/FILE),
                       after one first line `# what the student did wrong`.
                       It is applied to a fresh copy of the reference, which
                       is graded; it must score below the maximum.
  variants/NAME/       a correct alternative: the files that differ from the
                       reference, overlaid on a fresh copy; full marks.

Each grading is `grade.py --impl TMP --lab NN --out OUT --brief` on a course
layout (TMP/NN-name/...), with its own output directory; -j gradings run at
once (default 2), each with one pytest worker. The unchanged reference is
graded the same way first, as a control: when it does not score full
marks in that layout, the lab's verdicts would mean nothing, and its
mutants and variants are reported as errors. One line per mutant or
variant: its verdict, its score and the tests that failed (for a mutant:
the tests that killed it).

  --lab       only this lab (01 or 01-tcp-client); repeat for more
  -j          gradings at once (default 2)
  --quick     stop a mutant's grading at its first failed test (pytest's
              --maxfail=1): the verdict is the same, the list of killing
              tests shorter, and a mutant that hangs costs one deadline
  --timeout   seconds one grading may take (default 600)
  --deadline  seconds for the whole run (default 2400); what has not
              finished by then counts as a failure
  --out       where each grading's results go (default grade-out/mutants)
  --keep      keep the temporary lab copies (their paths are printed)
  --only      only the mutants or variants of this name; repeat for more

Exit status: 0 when every mutant lost points and every variant kept full
marks, 1 otherwise, 2 for a usage error.
"""
from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass, field
from pathlib import Path

GRADER = Path(__file__).resolve().parent
ROOT = GRADER.parent
SOLUTIONS = ROOT / "solutions"
PYTHON = "/usr/bin/python3" if Path("/usr/bin/python3").exists() else sys.executable

# What is not part of a student's lab directory: hidden tests, this tool's
# own inputs, the instructor's notes and anything built.
NOT_COPIED = shutil.ignore_patterns("tests", "mutants", "variants", "NOTES.md", "build",
                                    "build-fuzz", "*.o", "*.d", "*.so", "*.orig", "*.rej")


@dataclass
class Job:
    lab: str            # 01-tcp-client
    kind: str           # "mutant", "variant" or "control" (the reference itself)
    name: str
    source: Path        # the .patch file or the variant directory
    what: str = ""      # the mutant's one-line description
    score: float | None = None
    max_score: float | None = None
    failed: list[str] = field(default_factory=list)
    error: str = ""
    seconds: float = 0.0

    @property
    def ok(self) -> bool:
        if self.error or self.score is None:
            return False
        if self.kind == "mutant":
            return self.score < self.max_score
        return self.score == self.max_score

    def verdict(self) -> str:
        if self.error:
            return "ERROR"
        if self.kind == "mutant":
            return "killed" if self.ok else "SURVIVED"
        return "ok" if self.ok else "LOST POINTS"

    def discredit(self, control: "Job") -> None:
        """The control of this job's lab failed: no verdict can be trusted."""
        why = control.error.splitlines()[0] if control.error else ", ".join(control.failed)
        self.error = (f"no verdict: the unchanged reference scored {number(control.score)}/"
                      f"{number(control.max_score)} in this layout ({why})")


def parse_args(argv):
    p = argparse.ArgumentParser(prog="mutants.py", description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--lab", action="append", default=[])
    p.add_argument("-j", dest="jobs", type=int, default=2)
    p.add_argument("--quick", action="store_true")
    p.add_argument("--timeout", type=float, default=600)
    p.add_argument("--deadline", type=float, default=2400)
    p.add_argument("--out", default=None)
    p.add_argument("--keep", action="store_true")
    p.add_argument("--only", action="append", default=[])
    args = p.parse_args(argv)
    if args.jobs < 1:
        p.error("-j must be at least 1")
    return args


def labs_wanted(wanted: list[str]) -> list[str]:
    labs = sorted(d.name for d in SOLUTIONS.glob("[0-9][0-9]-*") if d.is_dir())
    if not wanted:
        return [lab for lab in labs
                if (SOLUTIONS / lab / "mutants").is_dir() or (SOLUTIONS / lab / "variants").is_dir()]
    chosen = []
    for w in wanted:
        match = [lab for lab in labs if lab == w or lab.split("-", 1)[0] == w]
        if not match:
            raise SystemExit(f"mutants.py: no lab {w!r}; labs: {', '.join(labs)}")
        chosen += [m for m in match if m not in chosen]
    return chosen


def description(patch: Path) -> str:
    first = patch.read_text(errors="replace").split("\n", 1)[0]
    return first[1:].strip() if first.startswith("#") else ""


def jobs_of(lab: str, only: list[str]) -> list[Job]:
    jobs = [Job(lab, "control", "reference", SOLUTIONS / lab)]
    for patch in sorted((SOLUTIONS / lab / "mutants").glob("*.patch")):
        jobs.append(Job(lab, "mutant", patch.stem, patch, description(patch)))
    for variant in sorted(p for p in (SOLUTIONS / lab / "variants").glob("*") if p.is_dir()):
        jobs.append(Job(lab, "variant", variant.name, variant))
    return [j for j in jobs if j.kind == "control" or not only or j.name in only]


def prepare(job: Job, scratch: Path) -> Path:
    """A course layout holding the reference with this job's change; its root."""
    impl = scratch / f"{job.lab[:2]}-{job.kind}-{job.name}"
    labdir = impl / job.lab
    shutil.copytree(SOLUTIONS / job.lab, labdir, ignore=NOT_COPIED)
    if job.kind == "control":
        return impl
    if job.kind == "variant":
        shutil.copytree(job.source, labdir, dirs_exist_ok=True)
        return impl
    if not job.what:
        raise RuntimeError("the patch does not start with a `# what the student did wrong` line")
    proc = subprocess.run(["patch", "-p1", "--batch", "--forward", "--no-backup-if-mismatch",
                           "-d", str(labdir), "-i", str(job.source)],
                          stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=60)
    if proc.returncode != 0:
        raise RuntimeError("the patch does not apply: " + (proc.stdout + proc.stderr).strip())
    return impl


class Runs:
    """The grading processes under way, so that a deadline can end them."""

    def __init__(self):
        self.lock = threading.Lock()
        self.procs: set[subprocess.Popen] = set()
        self.stopping = False

    def run(self, argv, timeout: float) -> tuple[int | None, str]:
        with self.lock:
            if self.stopping:
                return None, "not started: the run's deadline passed"
            proc = subprocess.Popen(argv, cwd=ROOT, stdin=subprocess.DEVNULL,
                                    stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                    start_new_session=True)
            self.procs.add(proc)
        try:
            out, _ = proc.communicate(timeout=timeout)
            return proc.returncode, out.decode("utf-8", "replace")
        except subprocess.TimeoutExpired:
            self.kill(proc)
            out, _ = proc.communicate()
            return None, f"did not finish within {timeout:.0f} s\n" + out.decode("utf-8", "replace")
        finally:
            with self.lock:
                self.procs.discard(proc)

    @staticmethod
    def kill(proc: subprocess.Popen) -> None:
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass

    def stop_all(self) -> None:
        with self.lock:
            self.stopping = True
            for proc in self.procs:
                self.kill(proc)


def grade(job: Job, scratch: Path, out: Path, runs: Runs, timeout: float, keep: bool,
          quick: bool = False) -> Job:
    start = time.monotonic()
    impl = None
    try:
        impl = prepare(job, scratch)
        results_dir = out / job.lab / f"{job.kind}-{job.name}"
        shutil.rmtree(results_dir, ignore_errors=True)
        argv = [PYTHON, str(GRADER / "grade.py"), "--impl", str(impl), "--lab", job.lab[:2],
                "--out", str(results_dir), "--brief", "-j", "1"]
        if quick and job.kind == "mutant":
            argv += ["--", "--maxfail=1"]
        rc, output = runs.run(argv, timeout)
        results = results_dir / "results.json"
        if rc is None or rc not in (0, 1) or not results.exists():
            tail = "\n".join(output.strip().splitlines()[-8:])
            job.error = f"grading failed (exit {rc}):\n{tail}"
            return job
        data = json.loads(results.read_text())
        extra = data.get("extra_data", {})
        lab_score = extra.get("labs", {}).get(job.lab, {})
        job.score = lab_score.get("score", data.get("score"))
        job.max_score = lab_score.get("max_score", extra.get("max_score"))
        for test in data.get("tests", []):
            if test.get("status") != "passed" or test.get("score", 0) < test.get("max_score", 0):
                job.failed.append(re.sub(r"^[^:]*: ", "", test["name"]))
        if not job.max_score:
            job.error = "the grading collected no points"
    except (OSError, RuntimeError, ValueError, subprocess.SubprocessError) as e:
        job.error = str(e)
    finally:
        job.seconds = time.monotonic() - start
        if impl is not None and not keep:
            shutil.rmtree(impl, ignore_errors=True)
    return job


def number(x) -> str:
    return "-" if x is None else f"{x:g}"


def line(job: Job) -> str:
    score = f"{number(job.score)}/{number(job.max_score)}"
    head = f"{job.lab[:2]} {job.kind:<7} {job.name:<34} {job.verdict():<11} {score:>8} " \
           f"{job.seconds:5.0f} s"
    if job.error:
        return head + "\n      " + job.error.replace("\n", "\n      ")
    if job.kind == "mutant":
        tail = ", ".join(job.failed) if job.failed else "(no test failed)"
        return head + f"  {tail}"
    return head + (f"  failed: {', '.join(job.failed)}" if job.failed else "")


def stop_on_term(signum, frame):
    """SIGTERM ends the run like ^C: the gradings under way are killed."""
    raise KeyboardInterrupt


def main(argv=None) -> int:
    args = parse_args(sys.argv[1:] if argv is None else argv)
    labs = labs_wanted(args.lab)
    jobs = [j for lab in labs for j in jobs_of(lab, args.only)]
    if all(j.kind == "control" for j in jobs):
        print("mutants.py: no mutants or variants to grade", file=sys.stderr)
        return 2
    out = Path(args.out).resolve() if args.out else ROOT / "grade-out" / "mutants"
    out.mkdir(parents=True, exist_ok=True)
    scratch = Path(tempfile.mkdtemp(prefix="netlab-mutants-"))
    signal.signal(signal.SIGTERM, stop_on_term)
    counts = {lab: (sum(j.kind == "mutant" for j in jobs if j.lab == lab),
                    sum(j.kind == "variant" for j in jobs if j.lab == lab)) for lab in labs}
    print(f"mutants.py: {len(jobs)} gradings ("
          + "; ".join(f"{lab}: {m} mutants, {v} variants" for lab, (m, v) in counts.items())
          + f"), {args.jobs} at a time", flush=True)
    runs = Runs()
    start = time.monotonic()
    done: list[Job] = []
    pool = ThreadPoolExecutor(max_workers=args.jobs)
    timer = threading.Timer(args.deadline, runs.stop_all)
    timer.daemon = True
    timer.start()
    controls = {j.lab: j for j in jobs if j.kind == "control"}
    waiting: dict[str, list[Job]] = {lab: [] for lab in controls}
    try:
        futures = [pool.submit(grade, j, scratch, out, runs, args.timeout, args.keep, args.quick)
                   for j in jobs]  # the controls first: they are first in the list
        for future in as_completed(futures):
            job = future.result()
            control = controls[job.lab]
            if job.kind != "control" and control.score is None and not control.error:
                waiting[job.lab].append(job)  # its verdict waits for the control's
                continue
            for j in [job] + (waiting.pop(job.lab, []) if job.kind == "control" else []):
                if j.kind != "control" and not control.ok:
                    j.discredit(control)
                done.append(j)
                print(line(j), flush=True)
    except KeyboardInterrupt:
        runs.stop_all()
        raise
    finally:
        timer.cancel()
        pool.shutdown(wait=True)
        if args.keep:
            print(f"lab copies kept in {scratch}")
        else:
            shutil.rmtree(scratch, ignore_errors=True)
    elapsed = time.monotonic() - start
    bad = [j for j in done if not j.ok]
    bad += [j for lab in waiting for j in waiting[lab]]  # a control that never finished
    mutants = [j for j in done if j.kind == "mutant"]
    variants = [j for j in done if j.kind == "variant"]
    print(f"\nmutants: {sum(j.ok for j in mutants)}/{len(mutants)} killed; "
          f"variants: {sum(j.ok for j in variants)}/{len(variants)} at full marks; "
          f"{elapsed:.0f} s")
    for job in sorted(bad, key=lambda j: (j.lab, j.kind, j.name)):
        print(f"  {job.verdict()}: {job.lab} {job.kind} {job.name}"
              + (f" ({job.what})" if job.what else ""))
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
