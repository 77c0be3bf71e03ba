"""The grade report: the terminal table a student reads all day, plus
Gradescope's results.json and a plain-text copy (report.txt).

It runs in the controlling process and learns each item's lab, points and
failure details from the reports the workers send (user_properties).
"""
from __future__ import annotations

import json
import re
import shlex
import time
from dataclasses import dataclass, field
from pathlib import Path

from . import netns
from . import sandbox as sandboxing

_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\ud800-\udfff]")


def clean(text, limit: int = 4000) -> str:
    """Text that is safe for a terminal, a file and JSON: control characters
    (escape sequences, BEL, NUL, stray surrogates) shown as \\xNN, bounded."""
    text = str(text)
    if len(text) > limit:
        text = text[:limit] + f" [... {len(text) - limit} more characters]"
    return _CONTROL.sub(lambda m: f"\\x{ord(m.group()) & 0xff:02x}", text)


@dataclass
class Outcome:
    nodeid: str
    lab: str = ""
    title: str = ""
    points: int = 0
    status: str = "passed"  # passed, failed, skipped, environment
    props: dict = field(default_factory=dict)
    duration: float = 0.0

    @property
    def earned(self) -> int:
        return self.points if self.status == "passed" else 0


def _props(report) -> dict:
    for key, value in report.user_properties:
        if key == "netgrader":
            return json.loads(value)
    return {}


def handout_order(nodeids: list[str]) -> list[str]:
    """The items in the order they were collected (a lab's build, then its
    test files by name, public before hidden, each in definition order, a
    [sanitizers] twin after its [valgrind] one), from the order they ran in:
    the grader runs each lab's Check items and [sanitizers] twins last
    (plugin.pytest_collection_modifyitems)."""
    position = {nodeid: i for i, nodeid in enumerate(nodeids)}

    def key(nodeid: str):
        path, _, name = nodeid.partition("::")
        place = float(position[nodeid])
        if name.endswith("[sanitizers]"):
            twin = nodeid[:-len("[sanitizers]")] + "[valgrind]"
            place = position.get(twin, place) + 0.5
        return (path != "", path, place)   # the build item ("::NN-name::build") has no path

    return sorted(nodeids, key=key)


class Report:
    def __init__(self, config, impl: Path, out: Path):
        self.config, self.impl, self.out = config, impl, out
        self.outcomes: dict[str, Outcome] = {}
        self.order: list[str] = []
        self.started = time.monotonic()

    # -- gathering ---------------------------------------------------------
    def pytest_collection_finish(self, session):
        self.order = handout_order([item.nodeid for item in session.items])

    def pytest_xdist_node_collection_finished(self, node, ids):
        if not self.order:
            self.order = handout_order(list(ids))

    def pytest_runtest_logreport(self, report):
        props = _props(report)
        o = self.outcomes.setdefault(report.nodeid, Outcome(report.nodeid))
        o.duration += getattr(report, "duration", 0.0)
        if props:
            o.lab, o.title, o.points = props["lab"], props["title"], props["points"]
            o.props.setdefault("doc", props.get("doc", ""))
            o.props["hidden"] = props.get("hidden", False)
            if props.get("build"):
                o.props["build"] = props["build"]
            if props.get("needs"):
                o.props["needs"] = props["needs"]
        if report.skipped and o.status == "passed":
            o.status = "skipped"
            o.props["skip"] = props.get("skip", "skipped")
        elif report.failed and o.status != "failed":
            o.status = "environment" if props.get("environment") else "failed"
            o.props.update(props)
            if "what" not in props:
                o.props["got"] = str(report.longrepr)[-600:]

    # -- output ------------------------------------------------------------
    def rerun_command(self, o: Outcome) -> str:
        """A command that reruns this item from where the student stands:
        inside the lab (`make test`) or at the top of the course (`make grade`)."""
        lab = o.lab.split("-")[0]
        impl = self.config.getoption("--impl")
        from_lab = self.config.getoption("--rerun-from") == "lab"
        extra = "" if impl == "labs" or from_lab else f" IMPL={shlex.quote(impl)}"
        name = o.title.split("[")[0] if o.title.endswith("]") else o.title
        if o.title.endswith("::build"):
            if from_lab:
                return "make"
            return f"make -C labs/{o.lab}" if impl == "labs" else f"make -C {self.impl / o.lab}"
        if from_lab:
            return f"make test K={shlex.quote(name)}"
        return f"make grade LAB={lab} K={shlex.quote(name)}{extra}"

    def by_lab(self) -> dict[str, list[Outcome]]:
        seen = set()
        grouped: dict[str, list[Outcome]] = {}
        for nodeid in self.order + sorted(self.outcomes):
            if nodeid in seen or nodeid not in self.outcomes:
                continue
            seen.add(nodeid)
            o = self.outcomes[nodeid]
            grouped.setdefault(o.lab, []).append(o)
        return grouped

    def apply_needs(self) -> None:
        """A failed test that needs one which did not pass is reported as
        skipped: the student fixes the first failure, not its echoes. Done
        after the run, so it holds whatever the order and the workers."""
        by_title = {(o.lab, o.title.split("[")[0]): o for o in self.outcomes.values()}
        for o in self.outcomes.values():
            if o.status != "failed":
                continue
            for needed in o.props.get("needs", []):
                other = by_title.get((o.lab, needed))
                if other is not None and other is not o and other.status != "passed":
                    o.status = "skipped"
                    o.props["skip"] = f"skipped: needs {needed}"
                    break

    def pair_memchecks(self) -> None:
        """A test about memory runs under Valgrind and as a sanitizer build;
        its points need both runs clean, so that a program which behaves
        only while Valgrind watches gains nothing."""
        by_title = {(o.lab, o.title): o for o in self.outcomes.values()}
        for o in self.outcomes.values():
            if not o.title.endswith("[sanitizers]") or o.status != "failed":
                continue
            twin = by_title.get((o.lab, o.title[:-len("[sanitizers]")] + "[valgrind]"))
            if twin is not None and twin.status == "passed":
                twin.status = "failed"
                twin.props.update({
                    "what": "the same scenario with the sanitizer build (see the next item)",
                    "expected": "clean under Valgrind and under ASan/UBSan alike",
                    "got": "clean under Valgrind, but the sanitizer build found a problem",
                    "hint": "A memory check counts only when both runs are clean."})

    def lines(self, color) -> list[str]:
        """The report; color(text, name) decorates text (or not)."""
        self.apply_needs()
        self.pair_memchecks()
        out: list[str] = []
        total = earned = 0
        environment = False
        for lab_name, outcomes in sorted(self.by_lab().items()):
            lab_max = sum(o.points for o in outcomes)
            lab_got = sum(o.earned for o in outcomes)
            total += lab_max
            earned += lab_got
            out.append("")
            build = next((o.props["build"] for o in outcomes if o.props.get("build")), None)
            source = build["source"] if build else str(self.impl / lab_name)
            out.append(color(f"{lab_name}", "bold") + f"   ({clean(source, 300)})")
            if build:
                if build["files"]:
                    out.append(f"  your files: {', '.join(build['files'])}")
                if build["ignored"]:
                    out.append("  ignored (a submission is the lab's files only): "
                               + clean(", ".join(build["ignored"]), 600))
                if build["warnings"]:
                    out.append("  compiler warnings (not graded; fix them, they often point "
                               "at the bug):")
                    out.extend(f"    {clean(w, 300)}" for w in build["warnings"].splitlines())
            width = max([len(o.title) for o in outcomes] + [20])
            for o in outcomes:
                mark = {"passed": color("PASS", "green"), "failed": color("FAIL", "red"),
                        "skipped": color("SKIP", "yellow"), "environment": color("ENV ", "purple")}[o.status]
                line = f"  {mark}  {o.earned:>3}/{o.points:<3} {o.title:<{width}}"
                if o.props.get("doc") and o.status == "passed":
                    line += "  " + o.props["doc"]
                if o.status == "skipped":
                    line += "  " + color(clean(o.props.get("skip", ""), 300), "yellow")
                out.append(line.rstrip())
                if o.status in ("failed", "environment"):
                    environment |= o.status == "environment"
                    if not self.config.getoption("--brief"):
                        out.extend(self.failure_lines(o, color))
            out.append(f"  {'-' * (width + 14)}")
            out.append(color(f"  {lab_name}: {lab_got}/{lab_max}", "bold"))
        out.append("")
        out.append(color(f"TOTAL {earned}/{total}", "bold"))
        from .plugin import ROOT
        if not any((ROOT / "solutions" / lab / "tests").is_dir() for lab in self.by_lab()):
            out.append(f"public tests: {earned}/{total}; hidden tests are run when you submit")
        if environment:
            out.append(color("Some items could not run because the grader's environment is "
                             "incomplete (ENV): run `make setup`; they are not your code's fault.",
                             "purple"))
        self.total, self.earned = total, earned
        return out

    def failure_lines(self, o: Outcome, color, rerun: bool = True) -> list[str]:
        p = o.props
        pad = "        "
        out = []
        # Only what programs and tests wrote is cleaned, not the labels'
        # colours: _failure_body passes every such text through clean().
        out.extend(self._failure_body(o, color, pad))
        if rerun:
            again = self.rerun_command(o)
            if p.get("faults"):
                again += "   (same seed, same faults)"
            out.append(f"{pad}{color('rerun:', 'bold')}     {again}")
        return out

    def _failure_body(self, o: Outcome, color, pad: str) -> list[str]:
        p = o.props
        out = []
        if p.get("doc"):
            out.append(f"{pad}{color('test:', 'bold')}     {clean(p['doc'], 1000)}")
        for step in p.get("steps", []):
            out.append(f"{pad}{color('did:', 'bold')}      {clean(step, 1000)}")
        for key, label in (("what", "checking:"), ("expected", "expected:"), ("got", "got:")):
            if p.get(key):
                text = str(p[key]).splitlines() or [""]
                out.append(f"{pad}{color(f'{label:<10}', 'bold')}{clean(text[0], 1000)}")
                out.extend(f"{pad}          {clean(t, 1000)}" for t in text[1:8])
        if p.get("detail"):
            out.extend(f"{pad}  {clean(line, 1000)}" for line in str(p["detail"]).splitlines()[:20])
        for label, text in p.get("stderr", []):
            out.append(f"{pad}{color(f'stderr of {clean(label, 100)}:', 'bold')}")
            out.extend(f"{pad}  | {clean(line, 1000)}" for line in text.splitlines()[-6:])
        if p.get("hint"):
            out.append(f"{pad}{color('hint:', 'cyan')}      {clean(p['hint'], 1000)}")
        for plan in p.get("faults", []):
            out.append(f"{pad}{color('faults:', 'bold')}    {clean(plan['plan'], 1000)}; "
                       f"{plan['count']} injected" + (", the first:" if plan["first"] else ""))
            out.extend(f"{pad}  {clean(line, 1000)}" for line in plan["first"])
            if plan.get("by_hand"):
                out.append(f"{pad}{color('by hand:', 'bold')}   {clean(plan['by_hand'], 1000)}")
        return out

    def pytest_terminal_summary(self, terminalreporter):
        tr = terminalreporter
        markup = {"green": {"green": True}, "red": {"red": True}, "yellow": {"yellow": True},
                  "bold": {"bold": True}, "cyan": {"cyan": True}, "purple": {"purple": True}}

        def color(text, name):
            return tr._tw.markup(text, **markup[name]) if tr._tw.hasmarkup else text

        tr.write_sep("=", "netlab grade report")
        tr.write_line(netns.describe())
        tr.write_line(sandboxing.describe(self.sandbox()))
        for line in self.lines(color):
            tr.write_line(line)
        tr.write_line(f"results: {self.out / 'results.json'}  report: {self.out / 'report.txt'}")

    def sandbox(self):
        from .fixtures import SANDBOX_KEY
        return self.config.stash.get(SANDBOX_KEY, None)

    def scrub(self, text: str) -> str:
        """Gradescope output without the grading machine's paths."""
        sb = self.sandbox()
        if sb is not None:
            text = re.sub(re.escape(str(sb.box)) + r"/build(-san)?/[0-9][0-9]-[a-z-]+/", "./", text)
            text = text.replace(str(sb.box), "<sandbox>")
        from .plugin import ROOT
        return text.replace(str(ROOT), "<course>")

    def pytest_sessionfinish(self, session, exitstatus):
        lines = self.lines(lambda text, _name: text)
        self.out.mkdir(parents=True, exist_ok=True)
        (self.out / "report.txt").write_text("\n".join(lines) + "\n", errors="backslashreplace")
        hidden_visibility = self.config.getoption("--hidden-visibility")
        tests = []
        environment = 0
        for lab_name, outcomes in sorted(self.by_lab().items()):
            for o in outcomes:
                environment += o.status == "environment"
                hidden = bool(o.props.get("hidden"))
                if hidden:
                    # Until published: pass or fail and the points, nothing of the test itself.
                    text = f"{'passed' if o.status == 'passed' else 'failed'}: " \
                           f"{o.earned}/{o.points} points (a hidden test)"
                elif o.status in ("failed", "environment"):
                    text = self.scrub("\n".join(self.failure_lines(o, lambda t, _n: t, rerun=False)))
                else:
                    text = clean(o.props.get("skip", ""), 1000)
                tests.append({"name": clean(f"{lab_name}: {o.title}", 200), "score": o.earned,
                              "max_score": o.points,
                              "status": "passed" if o.status == "passed" else "failed",
                              "visibility": hidden_visibility if hidden else "visible",
                              "output": clean(text, 8000)})
        results = {"score": self.earned,
                   "execution_time": round(time.monotonic() - self.started, 1),
                   "output": clean(sandboxing.describe(self.sandbox()), 500),
                   "visibility": "visible", "stdout_visibility": "hidden", "tests": tests,
                   "extra_data": {
                       "max_score": self.total,
                       "environment_failures": environment,
                       "labs": {name: {"score": sum(o.earned for o in os_),
                                       "max_score": sum(o.points for o in os_)}
                                for name, os_ in self.by_lab().items()}}}
        (self.out / "results.json").write_text(json.dumps(results, indent=1, ensure_ascii=True)
                                               + "\n")
