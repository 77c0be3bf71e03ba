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
- per lab, a grading of its quickest item alone, with an empty cache of
  reference peers and again with it filled: the lab's fixed cost (the
  builds that item needs, start-up, workers) and the peers' builds;
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


def timed_grading(out: str, env=None, extra=()) -> tuple[float, list[tuple[float, str]], str]:
    """One grading of the references; (seconds, [(t, line)], the TOTAL line).
    Output is read as it comes, not by lines, so that the first progress
    dot of the tests is timed too (as the line "<first test>")."""
    start = time.monotonic()
    proc = subprocess.Popen([sys.executable, str(GRADER / "grade.py"), "--impl", "solutions",
                             "--brief", "--out", out, *extra], stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, env=env, start_new_session=True)
    # The deadline: a hung grading is killed, whether it prints or not.
    watchdog = threading.Timer(1800, lambda: os.killpg(proc.pid, signal.SIGKILL))
    watchdog.start()
    lines, pending, nodes, first = [], b"", False, False
    try:
        while True:
            chunk = os.read(proc.stdout.fileno(), 65536)
            if not chunk:
                break
            now = time.monotonic() - start
            pending += chunk
            *done, pending = pending.split(b"\n")
            for raw in done:
                line = raw.decode(errors="replace")
                nodes = nodes or "bringing up nodes" in line
                lines.append((now, line))
            if nodes and not first and re.search(rb"^[.sFExX]", pending):
                first = True
                lines.append((now, "<first test>"))
        proc.wait()
    finally:
        watchdog.cancel()
        proc.stdout.close()
    seconds = time.monotonic() - start
    total = next((l for _, l in lines if l.startswith("TOTAL")), "?")
    return seconds, lines, total


def phases(lines: list[tuple[float, str]], seconds: float) -> list[tuple[str, float]]:
    """Spans between the grader's landmark lines: start-up, builds, tests, report."""
    marks = []
    for t, line in lines:
        m = re.match(r"building (.+?) \(", line)
        if m:
            marks.append((t, f"build {m.group(1)} (the files, sanitizers, Check runners)"))
        elif "bringing up nodes" in line and not any("workers" in n for _, n in marks):
            marks.append((t, f"{JOBS} pytest workers start and collect"))
        elif line == "<first test>":
            marks.append((t, "the tests"))
        elif line.startswith("-" * 10) and "junit" in line:
            marks.append((t, "the report"))
    if not marks:
        return [("everything (no landmark in the grader's output)", seconds)]
    first = "start-up: interpreter, pytest, sandbox, reference peers" + \
        ("" if marks[0][1].startswith("build") else ", the labs' builds")
    spans = [(first, marks[0][0])]
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


def lab_fixed_costs(graded) -> list[tuple[str, float, float, str]]:
    """Per lab: (lab, cold s, warm s, items s, make -B): a grading of its
    quickest item alone (from graded, the full grading's items), first with
    an empty cache of reference peers, then again; and make -B of the
    reference alone in a copy."""
    labs = sorted(p.name for p in (ROOT / "labs").iterdir() if re.match(r"\d\d-", p.name))
    quickest = {}
    for lab, name, seconds, _passed in graded:
        if name != "build" and "::" not in name and "[" not in name and (lab not in quickest
                                                     or seconds < quickest[lab][1]):
            quickest[lab] = (name, seconds)
    labs = [lab for lab in labs if lab in quickest]
    result = []
    with tempfile.TemporaryDirectory() as tmp:
        for lab in labs:
            walls, busy, codes = [], 0.0, []
            cache = Path(tmp) / f"cache-{lab}"  # empty: the first run builds every peer
            for run in ("cold", "warm"):
                out = Path(tmp) / f"{lab}-{run}"
                seconds, _lines, _total = timed_grading(
                    str(out), {**os.environ, "XDG_CACHE_HOME": str(cache)},
                    ["--lab", lab, "-k", quickest[lab][0]])
                walls.append(seconds)
                junit = out / "junit.xml"
                busy = sum(g[2] for g in items(junit)) if junit.exists() else 0.0
                codes.append(0 if junit.exists() else 1)
            (Path(tmp) / "copy").mkdir(exist_ok=True)
            subprocess.run(["cp", "-r", str(ROOT / "common"), str(ROOT / "solutions" / lab),
                            f"{tmp}/copy/"], check=True, timeout=60)
            for stale in (Path(tmp) / "copy" / lab).glob("build*"):  # old .d files name ../../common
                shutil.rmtree(stale)
            start = time.monotonic()
            make = subprocess.run(["make", "-B", "-s", "-C", f"{tmp}/copy/{lab}",
                                   f"NETLAB_COMMON={tmp}/copy/common"], capture_output=True, timeout=600)
            built = time.monotonic() - start
            note = "" if not any(codes) and make.returncode == 0 else \
                f" (a grading wrote no junit.xml, or make exited {make.returncode})"
            result.append((lab, quickest[lab][0], walls[0], walls[1], busy,
                           f"{built:.1f} s{note}"))
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
    print("\nper lab, a grading of its quickest item alone, with an empty peer cache (cold: "
          "every\nreference peer up to this lab is built) and again (warm); fixed = warm minus "
          "the item\n(start-up, sandbox, the lab's builds that item needs; workers); make -B: "
          "the reference's\nplain build alone:")
    for lab, name, cold, warm, busy, built in lab_fixed_costs(graded):
        print(f"  {lab:14} cold {cold:5.1f} s  warm {warm:5.1f} s  item {busy:4.1f} s  "
              f"fixed {warm - busy:4.1f} s  peers {cold - warm:4.1f} s  make -B: {built}  "
              f"({name})")
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
