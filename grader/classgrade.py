"""classgrade.py - grade a whole class: `grade.py --class DIR --out OUT -j N`.

DIR holds one submission per student, a directory each (its name is the
student's): in the course's layout (DIR/alice/01-tcp-client/tcpcat.c) or
flat (DIR/alice/tcpcat.c, with --lab NN). Every submission is graded by its
own grade.py process (its own run directory and sandbox), N at a time, each
writing OUT/STUDENT/{results.json,report.txt,junit.xml} and its console
output to OUT/STUDENT/grader.log. A grading that fails (the grader's exit
status 2, a crash, or the deadline) is reported and the others go on.

Then OUT gets the gradebook grades.csv (one row per student and lab: score,
max, status, seconds, and one column per test with the points earned) and
the class report index.html (score distribution, each test's pass rate with
the failure most students got, runtimes: plots as inline SVG, and tables).

Exit status: 0 when every submission was graded; 2 when at least one
grading failed (they are listed), or on a usage error.
"""
from __future__ import annotations

import collections
import csv
import html
import io
import json
import os
import re
import signal
import statistics
import subprocess
import sys
import time
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from pathlib import Path

GRADER = Path(__file__).resolve().parent
GRADE_PY = GRADER / "grade.py"
DEADLINE = 1800.0   # seconds for one submission's grading (scaled)


@dataclass
class Grading:
    student: str
    path: Path
    out: Path
    rc: int | None = None
    seconds: float = 0.0
    problem: str = ""            # why the grading failed, or ""
    results: dict = field(default_factory=dict)
    durations: dict = field(default_factory=dict)   # test name -> seconds (junit.xml)

    @property
    def ok(self) -> bool:
        return not self.problem


def students(class_dir: Path) -> list[tuple[str, Path]]:
    """The submissions: every entry of class_dir but hidden ones. One that
    is not a directory (an archive left packed) is passed on all the same:
    its grading fails and is reported with the others."""
    return sorted((p.name, p) for p in class_dir.iterdir() if not p.name.startswith("."))


def child_command(args, submission: Path, out: Path) -> list[str]:
    cmd = [sys.executable, str(GRADE_PY), "--impl", str(submission), "--out", str(out), "-j", "1"]
    for lab in args.lab:
        cmd += ["--lab", lab]
    if args.root:
        cmd += ["--root", str(Path(args.root).resolve())]
    if args.points:
        cmd += ["--points", str(Path(args.points).resolve())]
    if args.keyword:
        cmd += ["-k", args.keyword]
    if args.milestone:
        cmd += ["--milestone", args.milestone]
    if args.fault_seed is not None:
        cmd += ["--fault-seed", str(args.fault_seed)]
    if args.host_network:
        cmd += ["--host-network"]
    cmd += ["--hidden-visibility", args.hidden_visibility]
    return cmd


def timeout_factor() -> float:
    try:
        return max(1.0, float(os.environ.get("NETLAB_TIMEOUT_FACTOR", "1")))
    except ValueError:
        return 1.0


class Progress:
    """A bar on a terminal; one plain line per finished grading otherwise."""

    def __init__(self, total: int, stream=sys.stdout):
        self.total, self.stream = total, stream
        self.tty = stream.isatty()
        self.done = self.failed = 0
        self.started = time.monotonic()

    def finished(self, g: Grading, running: int) -> None:
        self.done += 1
        self.failed += not g.ok
        if g.ok:
            extra = g.results.get("extra_data", {})
            what = f"{g.results.get('score', 0)}/{extra.get('max_score', 0)}"
        else:
            what = f"GRADER FAILED ({g.problem})"
        line = f"[{self.done}/{self.total}] {g.student}: {what} ({g.seconds:.1f} s)"
        if not self.tty:
            print(line, file=self.stream, flush=True)
            return
        width = 30
        filled = width * self.done // max(1, self.total)
        elapsed = time.monotonic() - self.started
        eta = elapsed / self.done * (self.total - self.done)
        bar = (f"[{'#' * filled}{'.' * (width - filled)}] {self.done}/{self.total}"
               f"  {running} running  {self.failed} failed  {elapsed:.0f} s, ~{eta:.0f} s left")
        # The finished line scrolls up; the bar stays on the last line.
        self.stream.write("\r\x1b[K" + line + "\n" + bar)
        self.stream.flush()

    def close(self) -> None:
        if self.tty:
            self.stream.write("\n")
            self.stream.flush()


def collect(g: Grading) -> None:
    """Read what a finished grading wrote; set g.problem when it failed."""
    results = g.out / "results.json"
    if g.rc not in (0, 1) and not g.problem:
        tail = ""
        log = g.out / "grader.log"
        if log.exists():
            lines = [ln for ln in log.read_text(errors="replace").splitlines() if ln.strip()]
            tail = lines[-1][:300] if lines else ""
        g.problem = f"exit status {g.rc}" + (f": {tail}" if tail else "")
    if results.exists():
        try:
            g.results = json.loads(results.read_text())
        except ValueError as exc:
            g.problem = g.problem or f"results.json is unreadable ({exc})"
    elif not g.problem:
        g.problem = "no results.json was written"
    junit = g.out / "junit.xml"
    if junit.exists():
        try:
            for case in ET.parse(junit).getroot().iter("testcase"):
                prop = case.find("properties/property[@name='netgrader']")
                if prop is None:
                    continue
                info = json.loads(prop.get("value", "{}"))
                name = f"{info.get('lab')}: {info.get('title')}"
                g.durations[name] = g.durations.get(name, 0.0) + float(case.get("time") or 0)
        except (ET.ParseError, ValueError):
            pass


def run_all(args, pending: list[Grading], jobs: int) -> list[Grading]:
    """Run the gradings, jobs at a time; each in its own session so that a
    deadline can end it with everything it started."""
    deadline = DEADLINE * timeout_factor()
    progress = Progress(len(pending))
    queue = collections.deque(pending)
    running: dict[int, tuple[Grading, subprocess.Popen, float, object]] = {}
    done: list[Grading] = []
    try:
        while queue or running:
            while queue and len(running) < jobs:
                g = queue.popleft()
                g.out.mkdir(parents=True, exist_ok=True)
                log = open(g.out / "grader.log", "wb")
                proc = subprocess.Popen(child_command(args, g.path, g.out), stdin=subprocess.DEVNULL,
                                        stdout=log, stderr=subprocess.STDOUT,
                                        start_new_session=True,
                                        env={**os.environ, "TERM": "dumb"})
                running[proc.pid] = (g, proc, time.monotonic(), log)
            _wait_any(running, 1.0)
            now = time.monotonic()
            finished = []
            for key, (g, proc, started, log) in list(running.items()):
                rc = proc.poll()
                if rc is None and now - started > deadline:
                    _kill(proc)
                    rc = proc.wait()
                    g.problem = f"did not finish within {deadline:.0f} s"
                if rc is not None:
                    log.close()
                    g.rc, g.seconds = rc, now - started
                    finished.append(key)
            for key in finished:
                g = running.pop(key)[0]
                collect(g)
                done.append(g)
                progress.finished(g, len(running))
    except KeyboardInterrupt:
        for g, proc, _started, log in running.values():
            _kill(proc)
            proc.wait()
            log.close()
        progress.close()
        raise
    progress.close()
    return done


def _wait_any(running: dict, timeout: float) -> None:
    """Return once one of the running gradings has ended, or after timeout."""
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if any(proc.poll() is not None for _g, proc, _s, _l in running.values()):
            return
        time.sleep(0.05)


def _kill(proc: subprocess.Popen) -> None:
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass


# --- the gradebook -------------------------------------------------------------------------

def lab_tests(gradings: list[Grading]) -> dict[str, list[str]]:
    """Every lab's test names, in the order the gradings list them."""
    labs: dict[str, list[str]] = {}
    for g in gradings:
        for t in g.results.get("tests", []):
            lab = t["name"].split(": ", 1)[0]
            names = labs.setdefault(lab, [])
            if t["name"] not in names:
                names.append(t["name"])
    return dict(sorted(labs.items()))


def write_csv(gradings: list[Grading], path: Path) -> None:
    labs = lab_tests(gradings)
    columns = [name for names in labs.values() for name in names]
    with open(path, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["student", "lab", "score", "max", "status", "seconds"] + columns)
        for g in sorted(gradings, key=lambda g: g.student):
            if not g.ok:
                w.writerow([g.student, "", "", "", f"grader failed: {g.problem}",
                            f"{g.seconds:.1f}"] + [""] * len(columns))
                continue
            by_name = {t["name"]: t for t in g.results.get("tests", [])}
            per_lab = g.results.get("extra_data", {}).get("labs", {})
            for lab, totals in sorted(per_lab.items()):
                w.writerow([g.student, lab, totals["score"], totals["max_score"], "graded",
                            f"{g.seconds:.1f}"]
                           + [by_name[c]["score"] if c in by_name and c.startswith(lab + ": ")
                              else "" for c in columns])


# --- the class report ----------------------------------------------------------------------

def first_failure_line(output: str) -> str:
    """The line of a failure that says what went wrong: `got:`, else `checking:`,
    else the first line."""
    # Ports differ from run to run: without them, equal failures group.
    output = re.sub(r"(?<=:)\d{4,5}\b|(?<=port )\d{4,5}\b", "PORT", output)
    lines = [ln.strip() for ln in output.splitlines() if ln.strip()]
    for label in ("got:", "checking:"):
        for ln in lines:
            if ln.startswith(label):
                return ln
    return lines[0] if lines else "(no details)"


@dataclass
class TestStats:
    name: str
    max_score: int
    graded: int = 0
    passed: int = 0
    seconds: list = field(default_factory=list)
    failures: collections.Counter = field(default_factory=collections.Counter)

    @property
    def rate(self) -> float:
        return self.passed / self.graded if self.graded else 0.0


def test_stats(gradings: list[Grading]) -> list[TestStats]:
    stats: dict[str, TestStats] = {}
    for g in gradings:
        if not g.ok:
            continue
        for t in g.results.get("tests", []):
            s = stats.setdefault(t["name"], TestStats(t["name"], t["max_score"]))
            s.graded += 1
            if t["status"] == "passed":
                s.passed += 1
            else:
                s.failures[first_failure_line(t.get("output", ""))] += 1
            if t["name"] in g.durations:
                s.seconds.append(g.durations[t["name"]])
    return list(stats.values())


def svg(fig) -> str:
    buf = io.StringIO()
    fig.savefig(buf, format="svg", bbox_inches="tight")
    import matplotlib.pyplot as plt
    plt.close(fig)
    text = buf.getvalue()
    return text[text.find("<svg"):]


def plots(gradings: list[Grading], stats: list[TestStats]) -> dict[str, str]:
    """The report's figures as inline SVG; empty when matplotlib is missing."""
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return {}
    matplotlib.rcParams["svg.fonttype"] = "none"
    graded = [g for g in gradings if g.ok]
    figures = {}
    if graded:
        top = max(g.results.get("extra_data", {}).get("max_score", 0) for g in graded) or 1
        scores = [g.results.get("score", 0) for g in graded]
        fig, ax = plt.subplots(figsize=(7, 3))
        ax.hist(scores, bins=min(20, max(5, len(set(scores)))), range=(0, top),
                color="#4a7ab5", edgecolor="white")
        ax.set_xlabel(f"score (out of {top})")
        ax.set_ylabel("students")
        ax.set_title("Score distribution")
        figures["scores"] = svg(fig)

        times = sorted(g.seconds for g in graded)
        fig, ax = plt.subplots(figsize=(7, 3))
        ax.hist(times, bins=min(20, max(5, len(times) // 2)), color="#8a6ab5", edgecolor="white")
        ax.set_xlabel("seconds per grading (wall clock, with the other gradings running)")
        ax.set_ylabel("students")
        ax.set_title("Grading times")
        figures["times"] = svg(fig)
    scored = sorted((s for s in stats if s.max_score > 0), key=lambda s: (s.rate, s.name))
    if scored:
        shown = scored[:40]
        fig, ax = plt.subplots(figsize=(8, 0.25 * len(shown) + 1))
        ax.barh([s.name.split(": ", 1)[-1] for s in shown], [100 * s.rate for s in shown],
                color=["#c0504d" if s.rate < 0.5 else "#4a7ab5" for s in shown])
        ax.invert_yaxis()
        ax.set_xlim(0, 100)
        ax.set_xlabel("% of students passing")
        ax.set_title("Pass rate per test" + (" (the 40 lowest)" if len(scored) > 40 else ""))
        ax.tick_params(axis="y", labelsize=7)
        figures["tests"] = svg(fig)
    return figures


CSS = """body{font-family:sans-serif;max-width:1100px;margin:2em auto;color:#222}
table{border-collapse:collapse;margin:1em 0;font-size:90%}
td,th{border:1px solid #ccc;padding:3px 8px;text-align:left;vertical-align:top}
th{background:#eee}td.n{text-align:right}tr.bad td{background:#fdd}
code{font-size:90%}figure{margin:1em 0}"""


def write_html(gradings: list[Grading], path: Path, args, wall: float, jobs: int) -> None:
    esc = html.escape
    stats = test_stats(gradings)
    figures = plots(gradings, stats)
    graded = [g for g in gradings if g.ok]
    failed = [g for g in gradings if not g.ok]
    top = max([g.results.get("extra_data", {}).get("max_score", 0) for g in graded] or [0])
    scores = [g.results.get("score", 0) for g in graded]
    out = [f"<!doctype html><html><head><meta charset='utf-8'><title>Class report</title>"
           f"<style>{CSS}</style></head><body>",
           f"<h1>Class report: {esc(str(Path(args.class_dir).name))}</h1>",
           "<table>",
           f"<tr><th>submissions</th><td class=n>{len(gradings)}</td></tr>",
           f"<tr><th>graded</th><td class=n>{len(graded)}</td></tr>",
           f"<tr><th>grader failed</th><td class=n>{len(failed)}</td></tr>"]
    if scores:
        out += [f"<tr><th>mean score</th><td class=n>{statistics.mean(scores):.1f} / {top}</td></tr>",
                f"<tr><th>median score</th><td class=n>{statistics.median(scores):g} / {top}</td></tr>",
                f"<tr><th>full marks</th><td class=n>{sum(s == top for s in scores)}</td></tr>"]
    total_cpu = sum(g.seconds for g in gradings)
    out += [f"<tr><th>wall clock</th><td class=n>{wall:.1f} s with {jobs} gradings at once</td></tr>",
            f"<tr><th>sum of grading times</th><td class=n>{total_cpu:.1f} s</td></tr>",
            "</table>"]
    if failed:
        out.append("<h2>Submissions the grader could not grade</h2><table>"
                   "<tr><th>student</th><th>problem</th><th>log</th></tr>")
        for g in failed:
            out.append(f"<tr class=bad><td>{esc(g.student)}</td><td>{esc(g.problem)}</td>"
                       f"<td><a href='{esc(g.student)}/grader.log'>grader.log</a></td></tr>")
        out.append("</table>")

    out.append("<h2>Score distribution</h2>")
    if "scores" in figures:
        out.append(f"<figure>{figures['scores']}</figure>")
    per_lab: dict[str, list[tuple[int, int]]] = {}
    for g in graded:
        for lab, t in g.results.get("extra_data", {}).get("labs", {}).items():
            per_lab.setdefault(lab, []).append((t["score"], t["max_score"]))
    if per_lab:
        out.append("<table><tr><th>lab</th><th>max</th><th>mean</th><th>median</th>"
                   "<th>min</th><th>max reached</th><th>full marks</th></tr>")
        for lab, rows in sorted(per_lab.items()):
            s = [r[0] for r in rows]
            m = max(r[1] for r in rows)
            out.append(f"<tr><td>{esc(lab)}</td><td class=n>{m}</td>"
                       f"<td class=n>{statistics.mean(s):.1f}</td>"
                       f"<td class=n>{statistics.median(s):g}</td><td class=n>{min(s)}</td>"
                       f"<td class=n>{max(s)}</td><td class=n>{sum(x == m for x in s)}</td></tr>")
        out.append("</table>")

    out.append("<h2>Tests, the hardest first</h2>")
    if "tests" in figures:
        out.append(f"<figure>{figures['tests']}</figure>")
    out.append("<table><tr><th>test</th><th>points</th><th>pass rate</th><th>failed</th>"
               "<th>the failure most of them got</th><th>mean s</th></tr>")
    for s in sorted(stats, key=lambda s: (s.rate, s.name)):
        if s.max_score == 0 and s.rate == 1.0:
            continue
        common = ""
        # A skip ("skipped: needs test_x") points at another test: show the
        # failure most students got here, and a skip only when all skipped.
        real = collections.Counter({k: v for k, v in s.failures.items()
                                    if not k.startswith("skipped:")})
        if real or s.failures:
            line, count = (real or s.failures).most_common(1)[0]
            skipped = sum(s.failures.values()) - sum(real.values())
            common = (f"<code>{esc(line[:300])}</code> ({count} of {s.graded - s.passed}"
                      + (f"; {skipped} skipped for a test it needs" if real and skipped else "")
                      + ")")
        mean = f"{statistics.mean(s.seconds):.2f}" if s.seconds else ""
        cls = " class=bad" if s.rate < 0.5 else ""
        out.append(f"<tr{cls}><td>{esc(s.name)}</td><td class=n>{s.max_score}</td>"
                   f"<td class=n>{100 * s.rate:.0f} %</td><td class=n>{s.graded - s.passed}</td>"
                   f"<td>{common}</td><td class=n>{mean}</td></tr>")
    out.append("</table>")

    out.append("<h2>Runtimes</h2>")
    if "times" in figures:
        out.append(f"<figure>{figures['times']}</figure>")
    slow = sorted((s for s in stats if s.seconds), key=lambda s: -statistics.mean(s.seconds))[:10]
    if slow:
        out.append("<table><tr><th>slowest tests</th><th>mean s</th><th>max s</th></tr>")
        for s in slow:
            out.append(f"<tr><td>{esc(s.name)}</td><td class=n>{statistics.mean(s.seconds):.2f}"
                       f"</td><td class=n>{max(s.seconds):.2f}</td></tr>")
        out.append("</table>")

    out.append("<h2>Students</h2><table><tr><th>student</th><th>score</th><th>seconds</th>"
               "<th>report</th></tr>")
    for g in sorted(gradings, key=lambda g: g.student):
        score = (f"{g.results.get('score', 0)} / {g.results.get('extra_data', {}).get('max_score', 0)}"
                 if g.ok else "grader failed")
        link = esc(g.student) + ("/report.txt" if g.ok else "/grader.log")
        out.append(f"<tr{'' if g.ok else ' class=bad'}><td>{esc(g.student)}</td>"
                   f"<td class=n>{esc(score)}</td><td class=n>{g.seconds:.1f}</td>"
                   f"<td><a href='{link}'>{'report' if g.ok else 'log'}</a></td></tr>")
    out.append("</table>")
    if not figures:
        out.append("<p>(No plots: python3-matplotlib is not installed; run <code>make setup</code>.)</p>")
    out.append("</body></html>")
    path.write_text("\n".join(out) + "\n")


def _interrupt(_signum, _frame):
    raise KeyboardInterrupt


_SAFE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._@+-]*$")


def main(args) -> int:
    class_dir = Path(args.class_dir)
    if not class_dir.is_dir():
        print(f"grade.py: --class {class_dir} is not a directory", file=sys.stderr)
        return 2
    if not args.out:
        print("grade.py: --class needs --out DIR (the gradebook and the class report go there)",
              file=sys.stderr)
        return 2
    out = Path(args.out).resolve()
    found = students(class_dir.resolve())
    if not found:
        print(f"grade.py: {class_dir} holds no submission (one directory per student)",
              file=sys.stderr)
        return 2
    odd = [name for name, _ in found if not _SAFE.match(name)]
    if odd:
        print(f"grade.py: student directory names must be plain ({', '.join(odd[:5])})",
              file=sys.stderr)
        return 2
    jobs = max(1, args.jobs or 2)
    out.mkdir(parents=True, exist_ok=True)
    pending = [Grading(name, path, out / name) for name, path in found]
    print(f"grading {len(pending)} submissions from {class_dir}, {jobs} at a time, into {out}",
          flush=True)
    started = time.monotonic()
    # SIGTERM ends the gradings under way too (each runs in its own session).
    signal.signal(signal.SIGTERM, _interrupt)
    try:
        done = run_all(args, pending, jobs)
    except KeyboardInterrupt:
        print("grade.py: interrupted", file=sys.stderr)
        return 2
    wall = time.monotonic() - started
    write_csv(done, out / "grades.csv")
    write_html(done, out / "index.html", args, wall, jobs)
    failed = [g for g in done if not g.ok]
    print(f"graded {len(done) - len(failed)} of {len(done)} submissions in {wall:.1f} s "
          f"({jobs} at a time): {out / 'grades.csv'}, {out / 'index.html'}")
    for g in failed:
        print(f"  grader failed for {g.student}: {g.problem} (see {g.out / 'grader.log'})")
    return 2 if failed else 0
