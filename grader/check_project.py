#!/usr/bin/env python3
"""check_project.py - the project's own tests (what `make test` runs).

Usage: check_project.py [STAGE...]   (default: every stage, in this order)

  build       every lab and solution builds with -Werror
  selftest    the grader's self-tests (grader/selftest)
  references  the reference solutions score full marks on every lab
  skeletons   the student skeletons build and score 0 on every lab
  notes       every C block in the lecture notes compiles
  demos       the notes' demos build, run, and print what the decks quote
  slides      every deck builds as a reading page and a Marp slideshow, and in
              headless Chromium no slide overflows, every code block and
              diagram is shown whole, nothing logs an error (make slides-check)
  bench       every lab's benchmark script runs (--quick) beside its real peer
  fuzz        every fuzz target compiles; the references' replay their seeds and
              regressions and fuzz for 2 s each without a crash
  dist        the student release builds without solutions or hidden tests; in
              it every skeleton scores 0 and every reference copied in as a
              student's work scores full public marks
  mutants     every lab's mutants lose points and its variants keep full
              marks (grader/mutants.py --quick, two gradings at a time)

Each stage prints its own output; the last line is a summary of the stages,
and the exit status is 1 when any stage failed.
"""
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PY = sys.executable


def pytest_ok(rc: int) -> bool:
    # pytest exits 5 when it collected nothing: that is a failure here.
    return rc == 0


STAGES = {
    "build": (["make", "--no-print-directory", "build"], lambda rc: rc == 0),
    "selftest": ([PY, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-n", "2",
                  "grader/selftest"], pytest_ok),
    "references": ([PY, "grader/grade.py", "--impl", "solutions", "--expect", "full", "--brief"],
                   lambda rc: rc == 0),
    "skeletons": ([PY, "grader/grade.py", "--impl", "labs", "--expect", "zero", "--brief"],
                  lambda rc: rc == 0),
    "notes": ([PY, "slides/build.py", "--check-code", *sorted(str(p.relative_to(ROOT)) for p in (ROOT / "slides").glob("[0-9][0-9]-*.md"))],
              lambda rc: rc == 0),
    "demos": ([PY, "slides/demos/check_demos.py"], lambda rc: rc == 0),
    "slides": (["make", "--no-print-directory", "slides-check"], lambda rc: rc == 0),
    "bench": ([PY, "grader/bench_labs.py", "--quick"], lambda rc: rc == 0),
    "fuzz": ([PY, "grader/fuzz.py", "--smoke"], lambda rc: rc == 0),
    "dist": ([PY, "grader/dist.py", "--check"], lambda rc: rc == 0),
    "mutants": ([PY, "grader/mutants.py", "--quick", "-j", "2", "--deadline", "2400"],
                lambda rc: rc == 0),
}


def main(argv):
    wanted = argv or list(STAGES)
    unknown = [s for s in wanted if s not in STAGES]
    if unknown:
        print(f"check_project.py: unknown stage(s) {unknown}; stages: {', '.join(STAGES)}",
              file=sys.stderr)
        return 2
    results = []
    for name in wanted:
        cmd, ok = STAGES[name]
        print(f"\n===== {name}: {' '.join(cmd)}", flush=True)
        start = time.monotonic()
        rc = subprocess.run(cmd, cwd=ROOT, env={**__import__("os").environ,
                                                 "PYTHONPATH": str(ROOT / "grader")}).returncode
        passed = ok(rc)
        results.append((name, passed, time.monotonic() - start))
    print("\n===== project checks")
    for name, passed, seconds in results:
        print(f"  {'PASS' if passed else 'FAIL'}  {name:<11} {seconds:6.1f} s")
    failed = sum(1 for _, p, _ in results if not p)
    print(f"project checks: {len(results) - failed} passed, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
