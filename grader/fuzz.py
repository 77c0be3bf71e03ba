#!/usr/bin/env python3
"""fuzz.py - build and run the labs' fuzz targets (clang's libFuzzer).

Usage:
  fuzz.py [--impl solutions|labs|DIR] [--lab NN]... [--seconds N] [-j N]
  fuzz.py --dir LABDIR [--target WHAT] [--seconds N] [-j N]
  fuzz.py --smoke [--seconds N]

Every fuzz/fuzz_WHAT.c of a lab is one target (built by common/fuzz.mk into
build-fuzz/). Targets run side by side, one per core, each for N seconds
(default 60), starting from its seeds (fuzz/corpus/WHAT/) and every crash
kept so far (fuzz/regressions/WHAT/); what they learn accumulates in
build-fuzz/corpus/WHAT/. One summary line per target: executions per
second, edges covered, corpus size, crashes. A crash stops everything
with the reproducer's path (build-fuzz/crashes/) and the report.

  --impl     labs to fuzz: solutions (the references, the default), labs
             (the skeletons) or a directory of NN-name labs
  --lab      one lab (01 or 01-tcp-client); repeat for more; default all
  --dir      one lab directory (what `make fuzz` inside a lab uses)
  --target   one target of that lab (url for fuzz_url)
  --smoke    what `make test` runs: build every target of the references
             (and check that the skeletons' compile), replay every seed and
             regression through the references' targets, then fuzz each for
             a few seconds (--seconds, default 2)

Exit status: 0 when nothing crashed, 1 on a crash, 2 on a build failure.
"""
import argparse
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
COMMON = ROOT / "common"
REPORT_LINES = 60  # lines of a crash report shown


class Target:
    def __init__(self, lab_dir: Path, source: Path):
        self.lab_dir = lab_dir
        self.what = source.stem[len("fuzz_"):]
        self.name = f"{lab_dir.name}/{self.what}"
        self.binary = lab_dir / "build-fuzz" / source.stem
        self.seeds = lab_dir / "fuzz" / "corpus" / self.what
        self.regressions = lab_dir / "fuzz" / "regressions" / self.what
        self.dict = lab_dir / "fuzz" / f"{self.what}.dict"
        self.work = lab_dir / "build-fuzz" / "corpus" / self.what
        self.crashes = lab_dir / "build-fuzz" / "crashes"
        self.log = lab_dir / "build-fuzz" / "logs" / f"{self.what}.log"

    def inputs(self):
        """Every seed and regression file, sorted."""
        files = []
        for d in (self.seeds, self.regressions):
            if d.is_dir():
                files += sorted(p for p in d.iterdir() if p.is_file())
        return files

    def fuzz_command(self, seconds: int, extra=()):
        cmd = [str(self.binary), f"-max_total_time={seconds}", "-print_final_stats=1",
               "-timeout=10", f"-artifact_prefix={self.crashes}/{self.what}-", *extra]
        if self.dict.is_file():
            cmd.append(f"-dict={self.dict}")
        cmd.append(str(self.work))  # new inputs go to the first directory
        cmd += [str(d) for d in (self.seeds, self.regressions) if d.is_dir()]
        return cmd


def lab_dirs(impl: str, labs):
    base = ROOT / impl if impl in ("labs", "solutions") else Path(impl).resolve()
    dirs = sorted(p for p in base.glob("[0-9][0-9]-*") if p.is_dir())
    if labs:
        dirs = [d for d in dirs if any(d.name == lab or d.name.startswith(lab + "-") for lab in labs)]
    return dirs


def targets_of(lab_dir: Path, only=None):
    found = [Target(lab_dir, src) for src in sorted((lab_dir / "fuzz").glob("fuzz_*.c"))]
    return [t for t in found if only is None or t.what == only]


def build(dirs, jobs: int) -> bool:
    for d in dirs:
        if not (d / "fuzz").is_dir():
            continue
        r = subprocess.run(["make", "--no-print-directory", "-s", f"-j{jobs}", "-C", str(d),
                            f"NETLAB_COMMON={COMMON}", "fuzz-build"])
        if r.returncode != 0:
            print(f"fuzz.py: building the fuzz targets of {d} failed", file=sys.stderr)
            return False
    return True


def last_int(pattern: str, text: str):
    found = re.findall(pattern, text)
    return int(found[-1]) if found else None


def summarize(t: Target, rc: int, text: str, seconds: float) -> dict:
    return {
        "name": t.name, "rc": rc, "seconds": seconds,
        "execs": last_int(r"stat::number_of_executed_units:\s*(\d+)", text),
        "execs_per_s": last_int(r"stat::average_exec_per_sec:\s*(\d+)", text),
        "cov": last_int(r"\bcov: (\d+)", text),
        "ft": last_int(r"\bft: (\d+)", text),
        "corpus": last_int(r"\bcorp: (\d+)/", text),
        "artifact": (re.findall(r"Test unit written to (\S+)", text) or [None])[-1],
    }


def crash_report(text: str) -> str:
    """The sanitizer's (or the broken rule's) report out of a libFuzzer log."""
    lines = text.splitlines()
    start = next((i for i, line in enumerate(lines)
                  if re.search(r"==\d+==ERROR|rule broken|runtime error|deadly signal|"
                               r"ERROR: libFuzzer", line)), max(0, len(lines) - REPORT_LINES))
    return "\n".join(lines[start:start + REPORT_LINES])


def print_summary(s: dict):
    def num(v):
        return "?" if v is None else str(v)
    crashes = 0 if s["rc"] == 0 else 1
    print(f"  {s['name']:<28} {s['seconds']:5.0f} s  {num(s['execs_per_s']):>8} exec/s  "
          f"cov {num(s['cov']):>5}  ft {num(s['ft']):>6}  corpus {num(s['corpus']):>5}  "
          f"crashes {crashes}", flush=True)


def run_all(targets, seconds: int, jobs: int, extra=()) -> int:
    """Fuzz every target for seconds, jobs at a time. 0, or 1 on a crash."""
    pending = list(targets)
    running = []  # (target, process, log file, start)
    crashed = None
    while pending or running:
        while pending and len(running) < jobs and crashed is None:
            t = pending.pop(0)
            for d in (t.work, t.crashes, t.log.parent):
                d.mkdir(parents=True, exist_ok=True)
            log = open(t.log, "w")
            p = subprocess.Popen(t.fuzz_command(seconds, extra), stdout=log, stderr=subprocess.STDOUT,
                                 cwd=t.lab_dir)
            running.append((t, p, log, time.monotonic()))
        if crashed is not None and not running:
            break
        time.sleep(0.2)
        for entry in list(running):
            t, p, log, start = entry
            if crashed is not None and p.poll() is None:
                p.terminate()
            if p.poll() is None:
                continue
            running.remove(entry)
            log.close()
            text = t.log.read_text(errors="replace")
            s = summarize(t, p.returncode, text, time.monotonic() - start)
            if crashed is None or p.returncode == 0 or s["artifact"] is not None:
                print_summary(s)
            if p.returncode != 0 and crashed is None:
                crashed = (t, s, text)
    if crashed is None:
        return 0
    t, s, text = crashed
    print(f"\nfuzz.py: {t.name} crashed; reproducer: {s['artifact'] or '(none written)'}")
    print(f"  rerun:  {t.binary} {s['artifact'] or ''}\n  log:    {t.log}\n")
    print(crash_report(text))
    return 1


def replay(targets) -> int:
    """Run every seed and regression once through its target: 0, or 1."""
    failed = 0
    for t in targets:
        files = t.inputs()
        if not files:
            continue
        r = subprocess.run([str(t.binary), *map(str, files)], cwd=t.lab_dir,
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                           errors="replace")
        print(f"  {t.name:<28} replayed {len(files):3d} inputs: "
              f"{'ok' if r.returncode == 0 else 'CRASH'}", flush=True)
        if r.returncode != 0:
            failed = 1
            culprit = (re.findall(r"^Running: (.+)$", r.stdout, re.M) or ["?"])[-1]
            print(f"  input:  {culprit}\n  rerun:  {t.binary} {culprit}\n")
            print(crash_report(r.stdout))
    return failed


def check_compiles(dirs) -> bool:
    """The targets compile against these labs' sources (the skeletons): the
    harnesses and the labs' headers have not drifted apart."""
    ok = True
    for d in dirs:
        for src in sorted((d / "fuzz").glob("fuzz_*.c")):
            r = subprocess.run(["clang", "-fsyntax-only", "-std=gnu11", "-Wall", "-Wextra",
                                "-Werror", f"-I{COMMON}", f"-I{d}", str(src)])
            if r.returncode != 0:
                print(f"fuzz.py: {src} does not compile against {d}", file=sys.stderr)
                ok = False
    return ok


def smoke(seconds: int, jobs: int) -> int:
    refs, skeletons = lab_dirs("solutions", []), lab_dirs("labs", [])
    print(f"building the fuzz targets of {len(refs)} references; checking that those of "
          f"{len(skeletons)} skeletons compile", flush=True)
    if not build(refs, jobs) or not check_compiles(skeletons):
        return 2
    targets = [t for d in refs for t in targets_of(d)]
    missing = [t.name for t in targets if not t.seeds.is_dir()]
    if missing:
        print(f"fuzz.py: no seed corpus for {', '.join(missing)}", file=sys.stderr)
        return 1
    print("replaying every seed and regression:", flush=True)
    if replay(targets) != 0:
        return 1
    print(f"fuzzing each target for {seconds} s, {jobs} at a time:", flush=True)
    # From the seeds alone, with a fixed seed: the same mutations every time.
    with tempfile.TemporaryDirectory(prefix="netlab-fuzz-") as tmp:
        for t in targets:
            t.work = Path(tmp) / t.name
        return run_all(targets, seconds, jobs, ["-seed=1"])


def main(argv):
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--impl", default="solutions")
    p.add_argument("--lab", action="append", default=[])
    p.add_argument("--dir")
    p.add_argument("--target")
    p.add_argument("--seconds", type=int)
    p.add_argument("--smoke", action="store_true")
    p.add_argument("-j", "--jobs", type=int, default=len(os.sched_getaffinity(0)))
    a = p.parse_args(argv)
    if a.smoke:
        return smoke(a.seconds or 2, a.jobs)
    dirs = [Path(a.dir).resolve()] if a.dir else lab_dirs(a.impl, a.lab)
    if not dirs:
        print("fuzz.py: no lab found", file=sys.stderr)
        return 2
    if not build(dirs, a.jobs):
        return 2
    targets = [t for d in dirs for t in targets_of(d, a.target)]
    if not targets:
        print("fuzz.py: no fuzz target found (fuzz/fuzz_*.c)", file=sys.stderr)
        return 2
    seconds = a.seconds or 60
    n = len(targets)
    print(f"fuzzing {n} target{'s' if n != 1 else ''} for {seconds} s each, {a.jobs} at a time:",
          flush=True)
    return run_all(targets, seconds, a.jobs)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
