#!/usr/bin/env python3
"""bench_grading.py - how long grading every lab takes, and where the time goes.

Usage: bench_grading.py [--runs N] [--profile]

Grades the reference solutions of every lab N times (default 3), Valgrind
runs and builds included, exactly as an instructor would (grade.py
--impl solutions), and prints each run's wall-clock time and the median.
The course's target is under 60 s on a 2-core machine.

--profile (`make bench-grading PROFILE=1`): one grading (N is ignored),
then where its time went:
- the phases of the run, from the grader's own output lines as they come
  (start-up until the first build, each lab's build, the peers' and the
  workers' start, the tests, the report);
- every graded item's duration from junit.xml (set-up, test and tear-down,
  so the peers a test starts count in its item): the ten slowest, the sum
  per lab, the Valgrind items;
- fixed costs measured apart: the interpreter with pytest, a private
  network namespace, and the start of each real peer (nginx, Python's
  http.server, atftpd, dnsmasq), median of 3 starts each.
It measures and changes nothing: the grader runs as it is.
"""
import argparse
import os
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import xml.etree.ElementTree as ET
from pathlib import Path

GRADER = Path(__file__).resolve().parent
ROOT = GRADER.parent
JOBS = 2  # grade.py's default -j


def timed_grading(out: str, env=None) -> tuple[float, list[tuple[float, str]], str]:
    """One grading of every reference; (seconds, [(t, line)], the TOTAL line)."""
    start = time.monotonic()
    proc = subprocess.Popen([sys.executable, str(GRADER / "grade.py"), "--impl", "solutions",
                             "--brief", "--out", out], stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True, env=env, start_new_session=True)
    # The deadline: a hung grading is killed, whether it prints or not.
    watchdog = threading.Timer(1800, lambda: os.killpg(proc.pid, signal.SIGKILL))
    watchdog.start()
    lines = []
    try:
        for line in proc.stdout:
            lines.append((time.monotonic() - start, line.rstrip("\n")))
        proc.wait()
    finally:
        watchdog.cancel()
    seconds = time.monotonic() - start
    total = next((l for _, l in lines if l.startswith("TOTAL")), "?")
    return seconds, lines, total


def phases(lines: list[tuple[float, str]], seconds: float) -> list[tuple[str, float]]:
    """Spans between the grader's landmark lines: start-up, builds, tests, report."""
    marks = []
    for t, line in lines:
        m = re.match(r"building (\S+)", line)
        if m:
            marks.append((t, f"build {m.group(1)} (its files, Check runners)"))
        elif "bringing up nodes" in line and not any("workers" in n for _, n in marks):
            marks.append((t, f"{JOBS} pytest workers start and collect"))
        elif re.fullmatch(r"[.sFExX]+(\s+\[\s*\d+%\])?", line.strip()) and \
                not any(n == "the tests" for _, n in marks):
            marks.append((t, "the tests"))
        elif line.startswith("-" * 10) and "junit" in line:
            marks.append((t, "the report"))
    if not marks:
        return [("everything (no landmark in the grader's output)", seconds)]
    spans = [("start-up: interpreter, pytest, sandbox, reference peers (cached)", marks[0][0])]
    for (t, name), (t_next, _n) in zip(marks, marks[1:] + [(seconds, "")]):
        spans.append((name, t_next - t))
    return spans


def items(junit: Path) -> list[tuple[str, str, float, bool]]:
    """(lab, item, seconds, passed) for every graded item in junit.xml."""
    result = []
    for case in ET.parse(junit).getroot().iter("testcase"):
        classname = case.get("classname", "")
        m = re.search(r"(\d\d-[\w-]+)", classname + " " + case.get("name", ""))
        passed = not any(child.tag in ("failure", "error") for child in case)
        result.append((m.group(1) if m else "?", case.get("name", "?"),
                       float(case.get("time", 0) or 0), passed))
    return result


def median_time(action, times: int = 3) -> float:
    samples = []
    for _ in range(times):
        start = time.monotonic()
        action()
        samples.append(time.monotonic() - start)
    return statistics.median(samples)


def fixed_costs() -> list[tuple[str, float | str]]:
    sys.path.insert(0, str(GRADER))
    from netgrader import netns
    from netgrader.procs import Journal

    costs = []

    def interpreter():
        subprocess.run([sys.executable, "-c", "import pytest, xdist"], check=True,
                       capture_output=True, timeout=60)
    costs.append(("interpreter with pytest and xdist", median_time(interpreter)))

    def namespace():
        subprocess.run(netns.prefix() + ["true"], check=True, capture_output=True, timeout=60)
    try:
        costs.append(("a private network namespace (unshare, lo up)", median_time(namespace)))
    except (subprocess.SubprocessError, OSError) as e:
        costs.append(("a private network namespace", f"not measured: {e}"))

    def peer(start, arguments):
        def action():
            with tempfile.TemporaryDirectory() as tmp:
                tmp = Path(tmp)
                os.chmod(tmp, 0o755)  # peers started as root drop to nobody
                server = start(*arguments(tmp), tmp, Journal())
                server.stop()
        return action

    from netgrader.dns import start_dnsmasq
    from netgrader.peers import start_nginx, start_python_http
    from netgrader.tftp import start_atftpd

    def docroot(tmp):
        (tmp / "www").mkdir(mode=0o755)
        return (tmp / "www",)

    for name, action in (("nginx", peer(start_nginx, docroot)),
                         ("Python's http.server", peer(start_python_http, docroot)),
                         ("atftpd", peer(start_atftpd, docroot)),
                         ("dnsmasq", peer(start_dnsmasq, lambda tmp: ()))):
        try:
            costs.append((f"start and stop {name}", median_time(action)))
        except Exception as e:  # a missing peer is reported, not fatal: this only measures
            costs.append((f"start and stop {name}", f"not measured: {e}"))
    return costs


def lab_fixed_costs() -> list[tuple[str, float, str]]:
    """Per lab: a grading that selects no test (start-up, sandbox, reference
    peers, the lab's build and its build item), and make -B of the reference
    alone in a copy (the compiler's share of it)."""
    labs = sorted(p.name for p in (ROOT / "labs").iterdir() if re.match(r"\d\d-", p.name))
    result = []
    with tempfile.TemporaryDirectory() as tmp:
        for lab in labs:
            start = time.monotonic()
            proc = subprocess.run([sys.executable, str(GRADER / "grade.py"), "--impl", "solutions",
                                   "--lab", lab, "-k", "no_test_has_this_name", "--brief",
                                   "--out", f"{tmp}/{lab}"], capture_output=True, text=True,
                                  timeout=600)
            empty = time.monotonic() - start
            (Path(tmp) / "copy").mkdir(exist_ok=True)
            subprocess.run(["cp", "-r", str(ROOT / "common"), str(ROOT / "solutions" / lab),
                            f"{tmp}/copy/"], check=True, timeout=60)
            for stale in (Path(tmp) / "copy" / lab).glob("build*"):  # old .d files name ../../common
                shutil.rmtree(stale)
            start = time.monotonic()
            make = subprocess.run(["make", "-B", "-s", "-C", f"{tmp}/copy/{lab}",
                                   f"NETLAB_COMMON={tmp}/copy/common"], capture_output=True, timeout=600)
            built = time.monotonic() - start
            # grade.py exits 2 when no test is collected: expected here.
            note = "" if proc.returncode in (0, 2) and make.returncode == 0 else \
                f" (grade.py exit {proc.returncode}, make exit {make.returncode})"
            result.append((lab, empty, f"{built:.1f} s{note}"))
    return result


def profile() -> int:
    with tempfile.TemporaryDirectory() as tmp:
        env = {**os.environ, "PYTHONUNBUFFERED": "1"}  # lines as they come, for the phases
        seconds, lines, total = timed_grading(f"{tmp}/run", env)
        junit = Path(tmp) / "run" / "junit.xml"
        graded = items(junit) if junit.exists() else []
    print(f"one grading of every reference: {seconds:.1f} s  ({total})\n")
    print("phases (from the grader's output as it came):")
    for name, span in phases(lines, seconds):
        print(f"  {span:6.1f} s  {name}")
    if not graded:
        print("no junit.xml: the grading failed; its last lines:")
        print("\n".join(l for _, l in lines[-15:]))
        return 1
    failed = [f"{g[0]} {g[1]}" for g in graded if not g[3]]
    if failed:
        print(f"\nitems that did not pass ({len(failed)}): {', '.join(failed)}")
    busy = sum(g[2] for g in graded)
    print(f"\n{len(graded)} items, {busy:.1f} s of item time in all; with {JOBS} workers "
          f"that is {busy / JOBS:.1f} s of the run at best\n")
    print("the ten slowest items:")
    for lab, name, s, _passed in sorted(graded, key=lambda g: -g[2])[:10]:
        print(f"  {s:6.2f} s  {lab:14} {name}")
    print("\nper lab (item time; builds are in the phases above):")
    for lab in sorted({g[0] for g in graded}):
        mine = [g for g in graded if g[0] == lab]
        valgrind = [g for g in mine if "valgrind" in g[1]]
        print(f"  {lab:14} {sum(g[2] for g in mine):6.1f} s in {len(mine):3} items; "
              f"Valgrind {sum(g[2] for g in valgrind):5.1f} s in {len(valgrind)}")
    valgrind = [g for g in graded if "valgrind" in g[1]]
    print(f"  {'all':14} Valgrind items: {sum(g[2] for g in valgrind):.1f} s in {len(valgrind)}")
    print("\nper lab, a grading that selects no test (start-up, sandbox, peers' and the lab's "
          "build),\nand make -B of the reference alone:")
    for lab, empty, built in lab_fixed_costs():
        print(f"  {lab:14} {empty:5.1f} s   make -B: {built}")
    print("\nfixed costs, measured apart (median of 3):")
    for name, value in fixed_costs():
        print(f"  {value:6.3f} s  {name}" if isinstance(value, float) else f"       {name}: {value}")
    return 0


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--runs", type=int, default=3)
    p.add_argument("--profile", action="store_true",
                   help="one grading, then its phases, slowest items and fixed costs")
    args = p.parse_args()
    if args.profile:
        return profile()
    times = []
    with tempfile.TemporaryDirectory() as tmp:
        for run in range(1, args.runs + 1):
            seconds, _lines, total = timed_grading(f"{tmp}/run{run}")
            times.append(seconds)
            print(f"run {run}: {times[-1]:.1f} s  ({total})", flush=True)
    print(f"grading all labs: median {statistics.median(times):.1f} s over {args.runs} runs "
          f"(target: under 60 s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
