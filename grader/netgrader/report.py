"""The grade report: the terminal table a student reads all day, plus
Gradescope's results.json and a plain-text copy (report.txt).

It runs in the controlling process and learns each item's lab, points and
failure details from the reports the workers send (user_properties).
"""
from __future__ import annotations

import json
import shlex
import time
from dataclasses import dataclass, field
from pathlib import Path

from . import netns


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


class Report:
    def __init__(self, config, impl: Path, out: Path):
        self.config, self.impl, self.out = config, impl, out
        self.outcomes: dict[str, Outcome] = {}
        self.order: list[str] = []
        self.started = time.monotonic()

    # -- gathering ---------------------------------------------------------
    def pytest_collection_finish(self, session):
        self.order = [item.nodeid for item in session.items]

    def pytest_xdist_node_collection_finished(self, node, ids):
        if not self.order:
            self.order = list(ids)

    def pytest_runtest_logreport(self, report):
        props = _props(report)
        o = self.outcomes.setdefault(report.nodeid, Outcome(report.nodeid))
        o.duration += getattr(report, "duration", 0.0)
        if props:
            o.lab, o.title, o.points = props["lab"], props["title"], props["points"]
            o.props.setdefault("doc", props.get("doc", ""))
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
        lab = o.lab.split("-")[0]
        impl = self.config.getoption("--impl")
        extra = "" if impl == "labs" else f" IMPL={shlex.quote(impl)}"
        name = o.title.split("[")[0] if o.title.endswith("]") else o.title
        if o.title.endswith("::build"):
            return f"make -C labs/{o.lab}" if impl == "labs" else f"make -C {self.impl / o.lab}"
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

    def lines(self, color) -> list[str]:
        """The report; color(text, name) decorates text (or not)."""
        self.apply_needs()
        out: list[str] = []
        total = earned = 0
        environment = False
        for lab_name, outcomes in sorted(self.by_lab().items()):
            lab_max = sum(o.points for o in outcomes)
            lab_got = sum(o.earned for o in outcomes)
            total += lab_max
            earned += lab_got
            out.append("")
            out.append(color(f"{lab_name}", "bold") + f"   ({self.impl / lab_name})")
            width = max([len(o.title) for o in outcomes] + [20])
            for o in outcomes:
                mark = {"passed": color("PASS", "green"), "failed": color("FAIL", "red"),
                        "skipped": color("SKIP", "yellow"), "environment": color("ENV ", "purple")}[o.status]
                line = f"  {mark}  {o.earned:>3}/{o.points:<3} {o.title:<{width}}"
                if o.props.get("doc") and o.status == "passed":
                    line += "  " + o.props["doc"]
                if o.status == "skipped":
                    line += "  " + color(o.props.get("skip", ""), "yellow")
                out.append(line.rstrip())
                if o.status in ("failed", "environment"):
                    environment |= o.status == "environment"
                    if not self.config.getoption("--brief"):
                        out.extend(self.failure_lines(o, color))
            out.append(f"  {'-' * (width + 14)}")
            out.append(color(f"  {lab_name}: {lab_got}/{lab_max}", "bold"))
        out.append("")
        out.append(color(f"TOTAL {earned}/{total}", "bold"))
        if environment:
            out.append(color("Some items could not run because the grader's environment is "
                             "incomplete (ENV): run `make setup`; they are not your code's fault.",
                             "purple"))
        self.total, self.earned = total, earned
        return out

    def failure_lines(self, o: Outcome, color) -> list[str]:
        p = o.props
        pad = "        "
        out = []
        if p.get("doc"):
            out.append(f"{pad}{color('test:', 'bold')}     {p['doc']}")
        for step in p.get("steps", []):
            out.append(f"{pad}{color('did:', 'bold')}      {step}")
        for key, label in (("what", "checking:"), ("expected", "expected:"), ("got", "got:")):
            if p.get(key):
                text = str(p[key]).splitlines() or [""]
                out.append(f"{pad}{color(f'{label:<10}', 'bold')}{text[0]}")
                out.extend(f"{pad}          {t}" for t in text[1:8])
        if p.get("detail"):
            out.extend(f"{pad}  {line}" for line in str(p["detail"]).splitlines()[:20])
        for label, text in p.get("stderr", []):
            out.append(f"{pad}{color(f'stderr of {label}:', 'bold')}")
            out.extend(f"{pad}  | {line}" for line in text.splitlines()[-6:])
        if p.get("hint"):
            out.append(f"{pad}{color('hint:', 'cyan')}      {p['hint']}")
        for plan in p.get("faults", []):
            out.append(f"{pad}{color('faults:', 'bold')}    {plan['plan']}; "
                       f"{plan['count']} injected" + (", the first:" if plan["first"] else ""))
            out.extend(f"{pad}  {line}" for line in plan["first"])
            if plan.get("by_hand"):
                out.append(f"{pad}{color('by hand:', 'bold')}   {plan['by_hand']}")
        rerun = self.rerun_command(o)
        if p.get("faults"):
            rerun += "   (same seed, same faults)"
        out.append(f"{pad}{color('rerun:', 'bold')}     {rerun}")
        return out

    def pytest_terminal_summary(self, terminalreporter):
        tr = terminalreporter
        markup = {"green": {"green": True}, "red": {"red": True}, "yellow": {"yellow": True},
                  "bold": {"bold": True}, "cyan": {"cyan": True}, "purple": {"purple": True}}

        def color(text, name):
            return tr._tw.markup(text, **markup[name]) if tr._tw.hasmarkup else text

        tr.write_sep("=", "netlab grade report")
        tr.write_line(netns.describe())
        for line in self.lines(color):
            tr.write_line(line)
        tr.write_line(f"results: {self.out / 'results.json'}  report: {self.out / 'report.txt'}")

    def pytest_sessionfinish(self, session, exitstatus):
        lines = self.lines(lambda text, _name: text)
        self.out.mkdir(parents=True, exist_ok=True)
        (self.out / "report.txt").write_text("\n".join(lines) + "\n")
        tests = []
        for lab_name, outcomes in sorted(self.by_lab().items()):
            for o in outcomes:
                text = "\n".join(self.failure_lines(o, lambda t, _n: t)) if o.status in (
                    "failed", "environment") else o.props.get("skip", "")
                tests.append({"name": f"{lab_name}: {o.title}", "score": o.earned,
                              "max_score": o.points,
                              "status": "passed" if o.status == "passed" else "failed",
                              "output": text})
        results = {"score": self.earned, "max_score": self.total,
                   "execution_time": round(time.monotonic() - self.started, 1),
                   "visibility": "visible", "stdout_visibility": "hidden", "tests": tests,
                   "labs": {name: {"score": sum(o.earned for o in os_),
                                   "max_score": sum(o.points for o in os_)}
                            for name, os_ in self.by_lab().items()}}
        (self.out / "results.json").write_text(json.dumps(results, indent=1) + "\n")
