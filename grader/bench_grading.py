#!/usr/bin/env python3
"""bench_grading.py - how long grading every lab takes, and where the time goes.

Usage: bench_grading.py [--runs N] [--profile [--write FILE]]

Grades the reference solutions of every lab N times (default 3), Valgrind
runs and builds included, exactly as an instructor would (grade.py
--impl solutions), and prints each run's wall-clock time, the CPU time of
all its processes, the load average around it, and the median.
The course's target is at most 60 s on an idle 2-core machine.

--profile (`make bench-grading PROFILE=1`): one grading (N is ignored),
then where its time went, printed and written to FILE (default
bench/grading-profile.md) with the machine, the date and the load:
- the phases of the run, from the grader's own output lines as they come
  (start-up until the builds begin, the workers' start, the tests, the
  report);
- each lab's build (it runs in the background, two labs at a time, while
  the tests of the labs built first run): its steps and when it was ready,
  from the build items' records, and how long tests waited for builds;
- every graded item's duration from junit.xml (set-up, test and tear-down,
  so the peers a test starts count in its item; a wait for its lab's
  build does not): the ten slowest, the sum per lab, the Valgrind items;
- per lab, a grading of its quickest item alone, with an empty cache of
  reference peers and again with it filled: the lab's fixed cost (the
  builds that item needs, start-up, workers) and the peers' builds;
- fixed costs measured apart: the interpreter with pytest, a private
  network namespace, a program started in the jail and without it,
  Valgrind's start-up, and the start of each real peer (nginx, Python's
  http.server, atftpd, dnsmasq, ngircd, redis-server), median of 3 each.
It measures and changes nothing: the grader runs as it is.
"""
import argparse
import datetime
import json
import os
import platform
import re
import resource
import shlex
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


def timed_grading(out: str, env=None, extra=()) -> tuple[float, list[tuple[float, str]], str, float]:
    """One grading of the references; (seconds, [(t, line)], the TOTAL line,
    CPU seconds of all its processes). Output is read as it comes, not by
    lines, so that the first progress dot of the tests is timed too (as the
    line "<first test>")."""
    start = time.monotonic()
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
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
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    total = next((l for _, l in lines if l.startswith("TOTAL")), "?")
    return seconds, lines, total, cpu


def phases(lines: list[tuple[float, str]], seconds: float) -> list[tuple[str, float]]:
    """Spans between the grader's landmark lines: start-up, workers, tests, report."""
    marks = []
    for t, line in lines:
        if re.match(r"building (.+?) \(", line) and not marks:
            marks.append((t, "the builds begin (in the background); pytest's session starts"))
        elif "bringing up nodes" in line and not any("workers" in n for _, n in marks):
            marks.append((t, f"{JOBS} pytest workers start and collect"))
        elif line == "<first test>":
            marks.append((t, "the tests (the first ones wait for their lab's build)"))
        elif line.startswith("-" * 10) and "junit" in line:
            marks.append((t, "the report"))
    if not marks:
        return [("everything (no landmark in the grader's output)", seconds)]
    spans = [("start-up: interpreter, pytest, private network, sandbox, reference peers",
              marks[0][0])]
    for (t, name), (t_next, _n) in zip(marks, marks[1:] + [(seconds, "")]):
        spans.append((name, t_next - t))
    return spans


def items(junit: Path) -> list[tuple[str, str, float, bool, dict]]:
    """(lab, item, seconds, passed, props) for every graded item in junit.xml;
    seconds without the time its set-up waited for the lab's build; props
    "timing" holds that wait and, for a build item, the build's times."""
    result = []
    for case in ET.parse(junit).getroot().iter("testcase"):
        classname = case.get("classname", "")
        m = re.search(r"(\d\d-[\w-]+)", classname + " " + case.get("name", ""))
        passed = not any(child.tag in ("failure", "error") for child in case)
        props: dict = {}
        for prop in case.iter("property"):
            if prop.get("name") == "netgrader":
                try:
                    props.update(json.loads(prop.get("value", "{}")))
                except ValueError:
                    pass
        seconds = float(case.get("time", 0) or 0) - float(props.get("timing", {}).get("waited", 0))
        result.append((m.group(1) if m else "?", case.get("name", "?"), max(0.0, seconds),
                       passed, props))
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

    costs += program_costs()

    def peer(start, arguments):
        def action():
            with tempfile.TemporaryDirectory() as tmp:
                tmp = Path(tmp)
                os.chmod(tmp, 0o755)  # peers started as root drop to nobody
                server = start(*arguments(tmp), tmp, Journal())
                server.stop()
        return action

    from netgrader.dns import start_dnsmasq
    from netgrader.irc import start_ngircd
    from netgrader.peers import start_nginx, start_python_http
    from netgrader.redis import start_redis
    from netgrader.tftp import start_atftpd

    def docroot(tmp):
        (tmp / "www").mkdir(mode=0o755)
        return (tmp / "www",)

    for name, action in (("nginx", peer(start_nginx, docroot)),
                         ("Python's http.server", peer(start_python_http, docroot)),
                         ("atftpd", peer(start_atftpd, docroot)),
                         ("dnsmasq", peer(start_dnsmasq, lambda tmp: ())),
                         ("ngircd", peer(start_ngircd, lambda tmp: ())),
                         ("redis-server", peer(start_redis, lambda tmp: ()))):
        try:
            costs.append((f"start and stop {name}", median_time(action)))
        except Exception as e:  # a missing peer is reported, not fatal: this only measures
            costs.append((f"start and stop {name}", f"not measured: {e}"))
    return costs


def program_costs() -> list[tuple[str, float | str]]:
    """What starting one program costs the grader: `true` run through the
    process layer (a pids cgroup, prlimit, a deadline, reaping) as a peer,
    as a program of the submission (the jail: its PID, mount and IPC
    namespaces, the tmpfs over the course tree and the rest), and under
    Valgrind in the jail (memcheck with the grader's options)."""
    from netgrader import build, cgroup, procs, sandbox as sandboxing

    run_dir = sandboxing.make_run_dir()
    try:
        cache = build.cache_dir()
        sandbox = sandboxing.setup(run_dir, sandboxing.hidden_paths(
            ROOT, run_dir / "out", ROOT / "solutions", cache), cache)
        procs.SANDBOX = sandbox
        if sandbox.pids_parent:
            cgroup.RUN_PARENT = Path(sandbox.pids_parent)
        program = sandbox.box / "build" / "true"
        program.parent.mkdir(parents=True)
        shutil.copyfile(shutil.which("true") or "/bin/true", program)
        os.chmod(program, 0o755)
        runner = procs.Runner(sandbox.box / "work", procs.Journal())
        costs = []
        for name, argv, valgrind in (
                ("a program as a peer (pids cgroup, prlimit; `true`)", ["true"], False),
                ("a program of the submission, in the jail (`true`)", [program], False),
                ("the same under Valgrind (memcheck, the grader's options)", [program], True)):
            def action():
                result = runner.run(argv, valgrind=valgrind, timeout=60)
                if result.returncode != 0:
                    raise RuntimeError(f"{name}: {result.describe_exit()} "
                                       f"{result.stderr_text[-200:]}")
            try:
                costs.append((name, median_time(action)))
            except Exception as e:  # reported, not fatal: this only measures
                costs.append((name, f"not measured: {e}"))
        if not sandbox.active:
            costs.append(("the jail", f"not measured: {sandboxing.describe(sandbox)}"))
        return costs
    finally:
        procs.SANDBOX = None
        try:
            sandboxing.teardown(sandboxing.Sandbox.load(run_dir))
        except OSError:
            pass
        shutil.rmtree(run_dir, ignore_errors=True)


def lab_fixed_costs(graded) -> list[tuple[str, float, float, str]]:
    """Per lab: (lab, cold s, warm s, items s, make -B): a grading of its
    quickest item alone (from graded, the full grading's items), first with
    an empty cache of reference peers, then again; and make -B of the
    reference alone in a copy."""
    labs = sorted(p.name for p in (ROOT / "labs").iterdir() if re.match(r"\d\d-", p.name))
    quickest = {}
    for lab, name, seconds, _passed, _props in graded:
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
                seconds, _lines, _total, _cpu = timed_grading(
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


def machine() -> str:
    cpu = "?"
    try:
        cpu = next(line.split(":", 1)[1].strip() for line in
                   Path("/proc/cpuinfo").read_text().splitlines() if line.startswith("model name"))
    except (OSError, StopIteration):
        pass
    return f"{os.cpu_count()} processors, {cpu}, kernel {platform.release()}"


def load() -> str:
    return " ".join(f"{v:.2f}" for v in os.getloadavg())


class Out:
    """Lines printed as they come and kept for the written profile."""

    def __init__(self):
        self.lines: list[str] = []

    def __call__(self, text: str = "") -> None:
        print(text, flush=True)
        self.lines.append(text)


def build_times(junit: Path) -> dict:
    """Per lab, the build's times the grader recorded in junit.xml."""
    for prop in ET.parse(junit).getroot().iter("property"):
        if prop.get("name") == "netgrader-builds":
            try:
                return json.loads(prop.get("value", "{}"))
            except ValueError:
                break
    return {}


def build_lines(builds: dict, graded) -> list[str]:
    """Each lab's build, when its stages were ready, and the tests' waits."""
    lines = []
    for lab, build in sorted(builds.items()):
        steps = build.get("steps", [])
        checks = [t for command, t in steps if command.startswith("make check-runner")]
        plain = sum(t for command, t in steps if command == "make")
        san = sum(t for command, t in steps if "SAN=1" in command)
        ready = build.get("ready", {})
        lines.append(f"  {lab:14} {build.get('seconds', 0):5.1f} s: make {plain:.1f} s, "
                     f"{len(checks)} Check runners {sum(checks):.1f} s, make SAN=1 {san:.1f} s; "
                     "ready at " + ", ".join(f"{stage} {ready[stage]:.1f} s"
                                              for stage in ("plain", "checks", "done")
                                              if stage in ready))
    waits = [(props.get("timing", {}).get("waited", 0.0), lab, name)
             for lab, name, _s, _p, props in graded]
    waited = [w for w in waits if w[0] >= 0.01]
    if waited:
        longest = max(waited)
        lines.append(f"  items waited for their lab's build: {sum(w[0] for w in waited):.1f} s "
                     f"in {len(waited)} items (at most {longest[0]:.1f} s: {longest[1]} "
                     f"{longest[2]})")
    return lines


def profile(write: Path | None) -> int:
    out = Out()
    load_before = load()
    with tempfile.TemporaryDirectory() as tmp:
        env = {**os.environ, "PYTHONUNBUFFERED": "1"}  # lines as they come, for the phases
        seconds, lines, total, cpu = timed_grading(f"{tmp}/run", env)
        junit = Path(tmp) / "run" / "junit.xml"
        graded = items(junit) if junit.exists() else []
        builds = build_times(junit) if junit.exists() else {}
    load_after = load()
    out(f"one grading of every reference: {seconds:.1f} s  ({total}); CPU {cpu:.1f} s "
        f"(user and system, every process); load average {load_before} before, "
        f"{load_after} after\n")
    out("phases (from the grader's output as it came):")
    for name, span in phases(lines, seconds):
        out(f"  {span:6.1f} s  {name}")
    if not graded:
        out("no junit.xml: the grading failed; its last lines:")
        for _, line in lines[-15:]:
            out(line)
        return 1
    out("\nbuilds (in the background, two labs at a time, in the labs' order; a stage's time "
        "is\nwhen it was ready, from the builds' start: plain the programs, checks the Check "
        "runners,\ndone the sanitizer build):")
    for line in build_lines(builds, graded):
        out(line)
    failed = [f"{g[0]} {g[1]}" for g in graded if not g[3]]
    if failed:
        out(f"\nitems that did not pass ({len(failed)}): {', '.join(failed)}")
    busy = sum(g[2] for g in graded)
    out(f"\n{len(graded)} items, {busy:.1f} s of item time in all (waits for builds left "
        f"out); with {JOBS} workers that is {busy / JOBS:.1f} s of the run at best\n")
    out("the ten slowest items:")
    for lab, name, s, _passed, _props in sorted(graded, key=lambda g: -g[2])[:10]:
        out(f"  {s:6.2f} s  {lab:14} {name}")
    out("\nper lab (item time):")
    for lab in sorted({g[0] for g in graded}):
        mine = [g for g in graded if g[0] == lab]
        valgrind = [g for g in mine if "valgrind" in g[1]]
        out(f"  {lab:14} {sum(g[2] for g in mine):6.1f} s in {len(mine):3} items; "
            f"Valgrind {sum(g[2] for g in valgrind):5.1f} s in {len(valgrind)}")
    valgrind = [g for g in graded if "valgrind" in g[1]]
    out(f"  {'all':14} Valgrind items: {sum(g[2] for g in valgrind):.1f} s in {len(valgrind)}")
    out("\nper lab, a grading of its quickest item alone, with an empty peer cache (cold: "
        "every\nreference peer up to this lab is built) and again (warm); fixed = warm minus "
        "the item\n(start-up, sandbox, the lab's builds that item needs; workers); make -B: "
        "the reference's\nplain build alone:")
    for lab, name, cold, warm, busy, built in lab_fixed_costs(graded):
        out(f"  {lab:14} cold {cold:5.1f} s  warm {warm:5.1f} s  item {busy:4.1f} s  "
            f"fixed {warm - busy:4.1f} s  peers {cold - warm:4.1f} s  make -B: {built}  "
            f"({name})")
    out("\nfixed costs, measured apart (median of 3):")
    for name, value in fixed_costs():
        out(f"  {value:6.3f} s  {name}" if isinstance(value, float) else f"       {name}: {value}")
    out(f"\nload average at the end: {load()}")
    if write is not None:
        write.parent.mkdir(parents=True, exist_ok=True)
        write.write_text(
            "# Where grading time goes\n\n"
            "Written by `make bench-grading PROFILE=1` (grader/bench_grading.py --profile); "
            "the grading-time numbers in the READMEs come from here.\n\n"
            f"- date: {datetime.datetime.now(datetime.timezone.utc):%Y-%m-%d %H:%M} (UTC)\n"
            f"- machine: {machine()}\n"
            f"- load average (1, 5, 15 min): {load_before} before the grading, "
            f"{load_after} after it\n"
            f"- the grading: `{shlex.join([sys.executable, 'grader/grade.py', '--impl', 'solutions', '--brief'])}`, "
            f"then each lab's quickest item alone (`--lab NN -k NAME`)\n"
            + "- a grading alone brings the 1-minute load average near the number of its "
            "workers: the value before it says how busy the machine was\n"
            + ("\n**The machine was busy** (a load average above its processor count before "
               "the grading): compare a run taken on a quiet machine before reading much "
               "into the numbers.\n" if float(load_before.split()[0]) > (os.cpu_count() or 1)
               else "")
            + "\n```\n" + "\n".join(out.lines) + "\n```\n")
        print(f"\nwritten to {write}")
    return 0


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--runs", type=int, default=3)
    p.add_argument("--profile", action="store_true",
                   help="one grading, then its phases, builds, slowest items and fixed costs")
    p.add_argument("--write", default=str(ROOT / "bench" / "grading-profile.md"), metavar="FILE",
                   help="where --profile writes its report too (default bench/grading-profile.md; "
                   "'-': nowhere)")
    args = p.parse_args()
    if args.profile:
        return profile(None if args.write == "-" else Path(args.write))
    times = []
    with tempfile.TemporaryDirectory() as tmp:
        for run in range(1, args.runs + 1):
            before = load()
            seconds, _lines, total, cpu = timed_grading(f"{tmp}/run{run}")
            times.append(seconds)
            print(f"run {run}: {times[-1]:.1f} s, CPU {cpu:.1f} s  ({total}); load average "
                  f"{before} before, {load()} after", flush=True)
    print(f"grading all labs: median {statistics.median(times):.1f} s over {args.runs} runs "
          f"(target: at most 60 s on an idle 2-core machine)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
