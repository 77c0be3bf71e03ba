"""The grader's pytest plugin: build, collect, weigh, report.

Loaded with `-p netgrader.plugin` (grader/grade.py does this). Options:
  --impl labs|solutions|DIR   the implementation tree under test
  --lab NN[-name]             a lab to grade (repeatable; default: all)
  --out DIR                   where results.json, the report and builds go
  --points FILE               extra point overrides (TOML, one table per lab)
  --fault-seed N              one seed for every fault-injection test
"""
from __future__ import annotations

import json
import os
import re
import shutil
import time
import tomllib
from pathlib import Path

import pytest
from _pytest import junitxml

from . import build as building
from . import cgroup, faults, procs
from . import sandbox as sandboxing
from .checkc import BUILDS_KEY, OUT_KEY, CheckFile, CheckItem, lab_of
from .expect import Mismatch
from . import fixtures
from .fixtures import FAULTS_KEY, JOURNAL_KEY, LIB_KEY, PEERS_KEY, SANDBOX_KEY
from .procs import EnvironmentError_, ServerError
from .report import Report

# The course tree whose tests and reference solutions are used; --root
# changes it (the grader's self-tests grade small trees of their own).
ROOT = Path(__file__).resolve().parents[2]
POINTS_KEY = pytest.StashKey[int]()
LAZY_KEY = pytest.StashKey[tuple]()
BUILDER_KEY = pytest.StashKey[object]()
WAITED_KEY = pytest.StashKey[float]()


def pytest_addoption(parser):
    group = parser.getgroup("netgrader")
    group.addoption("--impl", default="labs", help="labs (default), solutions, or a directory "
                    "holding NN-name lab directories (a student's submission), or the files of "
                    "one lab (a flat submission)")
    group.addoption("--lab", action="append", default=[], help="lab to grade: 01 or 01-tcp-client")
    group.addoption("--out", default=None, help="output directory (default grade-out/IMPL)")
    group.addoption("--run-dir", default=None, help="the grading run's private directory "
                    "(made by grade.py)")
    group.addoption("--points", default=None, help="TOML file of point overrides")
    group.addoption("--root", default=None, help="course tree (default: this repository)")
    group.addoption("--brief", action="store_true", help="report scores without failure details")
    group.addoption("--rerun-from", default="top", choices=["top", "lab"],
                    help="where the student stands: the rerun lines printed for failures "
                    "work from the top of the course (`make grade`) or a lab (`make test`)")
    group.addoption("--hidden-visibility", default="after_published",
                    choices=["after_published", "hidden", "after_due_date", "visible"],
                    help="Gradescope visibility of hidden tests")
    group.addoption("--fault-seed", type=int, default=None,
                    help="seed for every fault-injection test (default: one per test, "
                    "from its name)")


def all_labs() -> list[str]:
    return sorted(p.name for p in (ROOT / "labs").iterdir()
                  if p.is_dir() and re.match(r"\d\d-", p.name))


def resolve_labs(wanted: list[str]) -> list[str]:
    labs = all_labs()
    if not wanted:
        return labs
    chosen = []
    for w in wanted:
        match = [lab for lab in labs if lab == w or lab.startswith(w.rstrip("-") + "-")]
        if not match:
            raise pytest.UsageError(f"no lab matches {w!r}; labs are: {', '.join(labs)}")
        chosen += [m for m in match if m not in chosen]
    return chosen


def impl_root(value: str) -> Path:
    if value in ("labs", "solutions"):
        return ROOT / value
    return Path(value).resolve()


def is_worker(config) -> bool:
    return hasattr(config, "workerinput")


def pytest_configure(config):
    global ROOT
    config.addinivalue_line("markers", "points(n): the test is worth n points")
    config.addinivalue_line("markers", "needs(*tests): when one of these tests of the same lab "
                            "does not pass, a failure of this one is reported as skipped")
    # The fixtures the lab tests use (lab, run, start_server, scripted_server...).
    if not config.pluginmanager.is_registered(fixtures):
        config.pluginmanager.register(fixtures, "netgrader-fixtures")
    if config.getoption("--root"):
        ROOT = Path(config.getoption("--root")).resolve()
    impl = impl_root(config.getoption("--impl"))
    labs = resolve_labs(config.getoption("--lab"))
    out = Path(config.getoption("--out") or ROOT / "grade-out" / impl.name).resolve()
    run_value = config.getoption("--run-dir") or os.environ.get(sandboxing.ENV_RUN)
    if not run_value:
        raise pytest.UsageError("--run-dir is missing: grade with grader/grade.py")
    run_dir = Path(run_value).resolve()
    os.environ[sandboxing.ENV_RUN] = str(run_dir)
    config.stash[OUT_KEY] = str(out)
    record = run_dir / "private" / "builds"
    if not is_worker(config):
        out.mkdir(parents=True, exist_ok=True)
        cache = building.cache_dir()
        sandbox = sandboxing.setup(run_dir, sandboxing.hidden_paths(ROOT, out, impl, cache), cache)
        (sandbox.box / "common").mkdir(exist_ok=True)
        for path in (ROOT / "common").iterdir():
            if path.is_file():
                shutil.copyfile(path, sandbox.box / "common" / path.name)
        lib = sandbox.box / "lib"
        lib.mkdir(mode=0o755, exist_ok=True)
        faults.save(faults.build(lib, cache), out)
        config.pluginmanager.register(Report(config, impl, out), "netgrader-report")
        # A filtered run in one process builds only what its items need,
        # once they are known (pytest_collection_modifyitems); otherwise
        # the builds start here, and run while the workers start and the
        # tests of the labs built first run.
        filtered = config.getoption("keyword") or config.getoption("--milestone", None)
        if filtered and not getattr(config.option, "numprocesses", None):
            config.stash[LAZY_KEY] = (impl, labs, sandbox, record)
        else:
            build_everything(config, impl, labs, sandbox, record, None)
    sandbox = sandboxing.Sandbox.load(run_dir)
    config.stash[SANDBOX_KEY] = sandbox
    procs.SANDBOX = sandbox
    if sandbox.pids_parent:
        cgroup.RUN_PARENT = Path(sandbox.pids_parent)
    config.stash[LIB_KEY] = str(sandbox.box / "lib")
    config.stash[FAULTS_KEY] = faults.load(out)
    peers = building.load_peers(record)
    if peers is not None:
        config.stash[PEERS_KEY] = peers
        config.stash[BUILDS_KEY] = building.Records(record, labs)


def build_everything(config, impl: Path, labs: list[str], sandbox, record: Path,
                     wanted: dict | None) -> None:
    """Reference peers, then each lab of the submission (in the background:
    building.Builder). wanted, when given, says per lab which Check files
    ("checks") and whether the sanitizer build ("san") the selected items
    need."""
    tr = config.pluginmanager.get_plugin("terminalreporter")
    cache = building.cache_dir()
    labs = [lab for lab in labs if wanted is None or lab in wanted]
    # Reference peers first, before any student code runs: every lab up
    # to the last one graded (lab 01's httpget talks to lab 02's httpd).
    peers, peer_problems = {}, {}
    for name in all_labs():
        if labs and name <= max(labs) and (ROOT / "solutions" / name).is_dir():
            programs, step = building.build_peer(ROOT, name, cache)
            if programs is not None:
                peers[name] = str(programs)
            else:
                peer_problems[name] = step.first_errors()
        elif labs and name <= max(labs) and (ROOT / "peers" / name).is_dir():
            peers[name] = str(ROOT / "peers" / name)  # the student release: prebuilt
    flat = bool(labs) and not (impl / labs[0]).exists() and len(resolve_labs(
        config.getoption("--lab"))) == 1
    def build(name, on_stage):
        checks = [(p.resolve(), hidden) for d, hidden in test_dirs(name)
                  for p in sorted(d.glob("check_*.c"))
                  if wanted is None or p.resolve() in wanted[name]["checks"]]

        def with_peers(result):
            if name in peer_problems:
                result.reference = building.Step(False, "make", peer_problems[name])
            on_stage(result)

        result = building.build_lab(ROOT, name, impl, flat, sandbox, checks,
                                    san=wanted is None or wanted[name]["san"],
                                    on_stage=with_peers)
        if name in peer_problems:
            result.reference = building.Step(False, "make", peer_problems[name])
        return result

    if tr:
        tr.write_line(f"building {', '.join(labs)} ({impl}) ...")
    building.save_peers(peers, record)
    config.stash[BUILDER_KEY] = building.Builder(build, labs, record)
    config.stash[PEERS_KEY] = peers
    config.stash[BUILDS_KEY] = building.Records(record, labs)


@pytest.hookimpl(tryfirst=True)
def pytest_sessionfinish(session, exitstatus):
    """Every student process is gone before the report is written."""
    builder = session.config.stash.get(BUILDER_KEY, None)
    if builder is not None:
        builder.stop()  # every build has ended by now, unless the grading was cut short
        xml = session.config.stash.get(junitxml.xml_key, None)
        if xml is not None:  # for the grading's profile (grader/bench_grading.py)
            xml.add_global_property("netgrader-builds", json.dumps(builder.times()))
    sandbox = session.config.stash.get(SANDBOX_KEY, None)
    if sandbox is not None and not is_worker(session.config):
        sandboxing.teardown(sandbox)


def test_dirs(lab_name: str) -> list[tuple[Path, bool]]:
    """Public tests, then the hidden ones when the solutions tree has them
    (each with whether it is hidden)."""
    dirs = [(ROOT / "labs" / lab_name / "tests", False),
            (ROOT / "solutions" / lab_name / "tests", True)]
    return [(d, hidden) for d, hidden in dirs if d.is_dir()]


def is_hidden(path: Path) -> bool:
    try:
        Path(path).resolve().relative_to(ROOT / "solutions")
    except ValueError:
        return False
    return True


def pytest_generate_tests(metafunc):
    """A lab test about Valgrind runs twice: under Valgrind, and with the
    sanitizer build of the same sources (netgrader/sanitizers.py)."""
    if "valgrind" in metafunc.function.__name__ and "memcheck" in metafunc.fixturenames:
        metafunc.parametrize("memcheck", ["valgrind", "sanitizers"], indirect=True)


def split_memcheck_points(item, value: int) -> int:
    """The [valgrind] run keeps the larger half of a test's points, the
    [sanitizers] run the rest, so a lab's total does not change."""
    callspec = getattr(item, "callspec", None)
    mode = callspec.params.get("memcheck") if callspec is not None else None
    if mode == "valgrind":
        return value - value // 2
    if mode == "sanitizers":
        return value // 2
    return value


def pytest_collect_file(file_path: Path, parent):
    if file_path.suffix == ".c" and file_path.name.startswith("check_") \
            and file_path.parent.name == "tests":
        return CheckFile.from_parent(parent, path=file_path)
    return None


class BuildItem(pytest.Item):
    """One item per lab that passes when the submission's files compiled."""

    def runtest(self):
        b = self.config.stash[BUILDS_KEY][self.lab]
        if b.course_error:
            raise EnvironmentError_(b.course_error)
        if not b.impl.ok:
            missing = "".join(f"\n  {m}" for m in b.missing)
            raise Mismatch(f"building {self.lab} from your files ({', '.join(b.files) or 'none'})",
                           "the lab compiles and links with the course's Makefile",
                           "the build failed; the compiler's first errors are below"
                           + (f"; files not taken:{missing}" if missing else ""),
                           "Fix the first error first: later ones often follow from it. "
                           "Run `make` in the lab directory to see everything.",
                           detail=b.impl.first_errors())
        if b.missing:
            raise Mismatch(f"taking the files of {self.lab} from {b.impl_dir}",
                           "every file the lab lists (lab.toml): " + ", ".join(b.files + [
                               m.split(":")[0] for m in b.missing]),
                           "; ".join(b.missing),
                           "A submission is the lab's source files themselves: plain files, "
                           "not links, each in the lab's directory.")

    def reportinfo(self):
        return self.path, None, f"{self.lab}: build"


def load_overrides(config, lab_name: str) -> dict[str, int]:
    points: dict[str, int] = {}
    for d, _hidden in test_dirs(lab_name):
        f = d / "points.toml"
        if f.exists():
            points.update(tomllib.loads(f.read_text()))
    extra = config.getoption("--points")
    if extra:
        points.update(tomllib.loads(Path(extra).read_text()).get(lab_name, {}))
    return points


# trylast: after -k and -m have deselected, so a lab's build item always stays.
@pytest.hookimpl(trylast=True)
def pytest_collection_modifyitems(session, config, items):
    by_lab: dict[str, list] = {}
    for item in items:
        by_lab.setdefault(lab_of(item.path), []).append(item)
    missing = []
    ordered = []
    for name in sorted(by_lab):
        overrides = load_overrides(config, name)
        build_item = BuildItem.from_parent(session, name=f"{name}::build")
        build_item.lab = name
        build_item.path = ROOT / "labs" / name
        build_item.stash[POINTS_KEY] = int(overrides.get("build", 0))
        ordered.append(build_item)
        # Each lab's items run in the order its build gets ready: those that
        # need only the programs, then the Check items (their runners are
        # linked next), then the [sanitizers] twins (the sanitizer build is
        # the last and longest step), so that no worker sits waiting for a
        # build while another item could run. The report keeps the handout's
        # order whatever the order of the run (report.handout_order).
        by_lab[name].sort(key=lambda item: STAGE_RANK[build_stage(item)])
        for item in by_lab[name]:
            marker = item.get_closest_marker("points")
            declared = marker.args[0] if marker else getattr(item, "declared_points", None)
            key = item.name
            value = overrides.get(key, overrides.get(key.split("[")[0], declared))
            if value is None:
                missing.append(item.nodeid)
                value = 0
            item.stash[POINTS_KEY] = split_memcheck_points(item, int(value))
            ordered.append(item)
    if missing:
        raise pytest.UsageError("tests without points (add @pytest.mark.points(N) or "
                                "`// points: N`):\n  " + "\n  ".join(missing))
    items[:] = ordered
    lazy = config.stash.get(LAZY_KEY, None)
    if lazy is not None:
        wanted: dict = {}
        for item in items:
            lab = item.lab if isinstance(item, BuildItem) else lab_of(item.path)
            need = wanted.setdefault(lab, {"checks": set(), "san": False})
            if isinstance(item, CheckItem):
                need["checks"].add(Path(item.path).resolve())
            callspec = getattr(item, "callspec", None)
            if callspec is not None and callspec.params.get("memcheck") == "sanitizers":
                need["san"] = True
        impl, labs, sandbox, record = lazy
        build_everything(config, impl, labs, sandbox, record, wanted)


STAGE_RANK = {"plain": 0, "checks": 1, "done": 2}


def build_stage(item) -> str:
    """How far its lab's build must be for an item to run (build.STAGES):
    Check items need their runners, a test's [sanitizers] run the sanitizer
    build, everything else the programs."""
    if isinstance(item, CheckItem):
        return "checks"
    callspec = getattr(item, "callspec", None)
    if callspec is not None and callspec.params.get("memcheck") == "sanitizers":
        return "done"
    return "plain"


def pytest_runtest_setup(item):
    name = item.lab if isinstance(item, BuildItem) else lab_of(item.path)
    start = time.monotonic()
    # Waits while the lab's build has not reached what the item needs.
    b = item.config.stash[BUILDS_KEY].get(name, stage=build_stage(item))
    item.stash[WAITED_KEY] = time.monotonic() - start
    if isinstance(item, BuildItem):
        return
    if b is not None and not b.impl.ok:
        pytest.skip(f"needs build: {name} did not compile (see its build item)")
    # In a student's filtered run (-k or -m, one process), a test whose
    # prerequisite has already failed is not run at all: one missing FIN
    # must not cost a deadline per test. A full grading runs it anyway.
    needs = item.get_closest_marker("needs")
    if needs and item.config.stash.get(LAZY_KEY, None) is not None:
        for needed in needs.args:
            if _FAILED_HERE.get((name, needed)):
                pytest.skip(f"skipped: needs {needed} (not run in this filtered run: fix "
                            f"{needed} first; a full grading runs it anyway)")


_FAILED_HERE: dict = {}  # (lab, test name) -> True once it failed in this process


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    lab_name = item.lab if isinstance(item, BuildItem) else lab_of(item.path)
    if report.failed or report.skipped:
        _FAILED_HERE[(lab_name, item.name.split("[")[0])] = True
    props = {"lab": lab_name, "points": item.stash.get(POINTS_KEY, 0), "title": item.name,
             "kind": "check" if isinstance(item, CheckItem) else "test",
             "hidden": not isinstance(item, BuildItem) and is_hidden(item.path)}
    if isinstance(item, BuildItem) and report.when == "call":
        b = item.config.stash[BUILDS_KEY][lab_name]
        props["build"] = {"files": b.files, "ignored": b.ignored, "warnings": b.warnings,
                          "source": b.impl_dir}
    doc = getattr(getattr(item, "obj", None), "__doc__", None)
    if doc:
        props["doc"] = doc.strip().splitlines()[0]
    needs = item.get_closest_marker("needs")
    if needs:
        props["needs"] = list(needs.args)
    if report.when == "teardown":  # the report whose properties junit.xml keeps
        # For the grading's profile (grader/bench_grading.py): how long the
        # item's set-up waited for its lab's build.
        props["timing"] = {"waited": round(item.stash.get(WAITED_KEY, 0.0), 3)}
    if report.failed and call.excinfo is not None:
        props.update(describe_failure(call.excinfo))
        j = item.stash.get(JOURNAL_KEY, None)
        deaths = [d for d in (srv.died_unasked() for srv in (j.servers if j else [])) if d]
        if deaths and not props.get("environment"):
            # A client test that failed because the server under test died:
            # say so first, whatever error the client saw.
            props["got"] = "; ".join(deaths) + (f" (the test then saw: {props['got']})"
                                                if props.get("got") else "")
            if props.get("what", "").startswith("the check at"):
                props["what"], props["expected"] = "the server under test", "it keeps serving"
            if "SIGPIPE" in deaths[0]:
                props["hint"] = ("Your server wrote to a connection the client had closed: "
                                 "ignore SIGPIPE (or send with MSG_NOSIGNAL) and treat EPIPE as "
                                 "that client's end.")
            elif not props.get("hint"):
                props["hint"] = "Your server must survive every client: read its stderr below."
        if j is not None:
            props["steps"] = j.steps[-16:]
            props["stderr"] = j.stderr_tails()
            if j.fault_plans:
                props["faults"] = [plan.summary() for plan in j.fault_plans]
        if report.when == "teardown":
            props["what"] = "after the test: " + props.get("what", "cleaning up")
    if report.skipped and call.excinfo is not None:
        props["skip"] = str(call.excinfo.value.msg if hasattr(call.excinfo.value, "msg") else call.excinfo.value)
    report.user_properties.append(("netgrader", json.dumps(props)))


def describe_failure(excinfo) -> dict:
    exc = excinfo.value
    if isinstance(exc, (Mismatch, ServerError)):
        out = {"what": exc.what, "expected": exc.expected, "got": exc.got, "hint": exc.hint}
        if getattr(exc, "detail", ""):
            out["detail"] = exc.detail
        return out
    if isinstance(exc, EnvironmentError_):
        return {"environment": True, "what": "the grader's environment",
                "expected": "every tool the tests use is installed",
                "got": str(exc), "hint": "This is not your code's fault: run `make setup`."}
    if isinstance(exc, pytest.fail.Exception) and "Timeout" in str(exc):
        return {"what": "the whole test", "expected": "it finishes within its time limit",
                "got": str(exc).splitlines()[0], "hint": "A program blocked forever."}
    entry = excinfo.traceback[-1]
    where = f"{Path(str(entry.path)).name}:{entry.lineno + 1}"
    text = str(exc).strip() or type(exc).__name__
    if not isinstance(exc, AssertionError):
        text = f"{type(exc).__name__}: {text}"
    return {"what": f"the check at {where}", "expected": "", "got": text[:800], "hint": ""}
