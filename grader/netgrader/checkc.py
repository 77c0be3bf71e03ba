"""Check unit tests (tests/check_*.c) as graded pytest items.

Each START_TEST(name) in a Check file becomes one item; its points come from
a `// points: N` line just before it. The runner (built by the grader with
the lab's `make check-runner`) runs once per worker process with an XML log;
each item then reads its own verdict from that log.
"""
from __future__ import annotations

import os
import re
import resource
import secrets
import subprocess
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from . import timing
from .build import first_errors
from .expect import Mismatch
from .procs import kill_group

_TEST = re.compile(r"^[ \t]*START_TEST\s*\(\s*(\w+)\s*\)", re.M)
_POINTS = re.compile(r"//\s*points:\s*(\d+)\s*$")
NS = "{http://check.sourceforge.net/ns}"
RUN_TIMEOUT = 60


def parse_check_file(text: str) -> list[tuple[str, int | None, int]]:
    """(test name, points or None, line number) for every START_TEST."""
    lines = text.splitlines()
    found = []
    for match in _TEST.finditer(text):
        lineno = text.count("\n", 0, match.start())
        points = None
        j = lineno - 1
        while j >= 0 and not lines[j].strip():
            j -= 1
        if j >= 0:
            m = _POINTS.search(lines[j])
            if m:
                points = int(m.group(1))
        found.append((match.group(1), points, lineno + 1))
    return found


_cache: dict[str, dict] = {}


CHECK_OPEN_FILES = 16384  # lab 06 puts 10,000 descriptors in one loop


def _open_files() -> list[str]:
    """prlimit's option giving a runner CHECK_OPEN_FILES descriptors, where
    this process may raise its hard limit that far (root may)."""
    _soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if os.geteuid() == 0 or hard == resource.RLIM_INFINITY or hard >= CHECK_OPEN_FILES:
        return [f"--nofile={CHECK_OPEN_FILES}"]
    return []


def run_runner(binary: str, workdir: Path) -> dict:
    """Run a Check runner once (per process) and map test name -> verdict.

    The runner runs student code, so it runs in the jail, and its verdicts
    count only when it exited on its own (from main, with 0 or 1): a runner
    that was killed, crashed or hung, or a test that ended the process
    early, leaves every one of its tests without a verdict."""
    if binary in _cache:
        return _cache[binary]
    from . import procs
    workdir.mkdir(parents=True, exist_ok=True)
    log = workdir / (Path(binary).name + ".xml")
    if log.exists():
        log.unlink()
    # check_guard.h: each test that reaches its end appends "TOKEN name" to
    # a file the runner may write but not read.
    token = secrets.token_hex(16)
    done = workdir / (Path(binary).name + ".done")
    if done.exists():
        done.unlink()
    fd = os.open(done, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o622)
    os.fchmod(fd, 0o622)
    os.close(fd)
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "LC_ALL": "C",
           "CK_XML_LOG_FILE_NAME": str(log), "CK_FORK": "yes",
           "CK_DEFAULT_TIMEOUT": str(max(1, int(timing.scaled(5)))),
           "NETLAB_CHECK_DONE": str(done), "NETLAB_CHECK_TOKEN": token}
    verdicts: dict = {}
    argv = ["prlimit", "--as=1073741824", "--core=0", "--nproc=128", *_open_files(), "--",
            binary]
    if procs.jailed([binary]):
        procs.SANDBOX.open_up(workdir)
        argv = procs.SANDBOX.wrap(argv, chdir=str(workdir))
    from .cgroup import PidsCgroup
    group = PidsCgroup(128)  # a fork bomb in a unit test stops here, even for root
    argv = group.prefix() + argv
    out_path = workdir / (Path(binary).name + ".out")
    with open(out_path, "wb") as out:
        proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=out,
                                stderr=subprocess.STDOUT, env=env, cwd=workdir,
                                start_new_session=True)
        try:
            proc.wait(timeout=timing.scaled(RUN_TIMEOUT))
        except subprocess.TimeoutExpired:
            verdicts["__runner__"] = f"the Check runner did not finish within {RUN_TIMEOUT} s"
        finally:
            kill_group(proc.pid)
            proc.wait()
            group.kill_all()
    output = out_path.read_bytes()[-4000:].decode("utf-8", "replace")
    if "__runner__" not in verdicts and proc.returncode not in (0, 1):
        how = (f"was killed by signal {-proc.returncode}" if proc.returncode < 0
               else f"exited with status {proc.returncode}")
        verdicts["__runner__"] = (f"the Check runner {how} instead of finishing its tests, "
                                  "so none of its verdicts counts; its output:\n"
                                  + output[-1500:])
    if "__runner__" in verdicts:
        _cache[binary] = verdicts
        return verdicts
    try:
        finished = {line.split(" ", 1)[1] for line in done.read_text(errors="replace").splitlines()
                    if line.startswith(token + " ")}
    except OSError:
        finished = set()
    try:
        root = ET.parse(log).getroot()
        for test in root.iter(NS + "test"):
            name = test.findtext(NS + "id")
            verdicts[name] = {
                "result": test.get("result"),
                "message": test.findtext(NS + "message") or "",
                "where": test.findtext(NS + "fn") or "",
            }
            if test.get("result") == "success" and name not in finished:
                verdicts[name] = {
                    "result": "failure", "where": "",
                    "message": "the test never reached its end: the process ended in the middle "
                               "of it (exit() or _exit() in the code under test?) before its "
                               "checks ran, so it cannot count as passed"}
    except (OSError, ET.ParseError) as exc:
        verdicts.setdefault("__runner__", f"no readable Check log ({exc}); runner output:\n{output[-1500:]}")
    _cache[binary] = verdicts
    return verdicts


class CheckFile(pytest.File):
    def collect(self):
        for name, points, lineno in parse_check_file(self.path.read_text(errors="replace")):
            item = CheckItem.from_parent(self, name=name)
            item.declared_points = points
            item.lineno = lineno
            yield item


class CheckItem(pytest.Item):
    declared_points: int | None = None
    lineno: int = 0

    def runtest(self):
        builds = self.config.stash[BUILDS_KEY]
        lab = lab_of(self.path)
        runner = builds[lab].check_runners.get(str(self.path))
        if runner is None or not runner["ok"]:
            output = (runner or {}).get("output", "")
            raise Mismatch(f"compiling the unit tests {self.path.name} with your code",
                           "the Check test file compiles and links against your sources",
                           "the build failed", "The test calls the functions declared in the "
                           "lab's headers: keep their names and signatures exactly.",
                           detail=first_errors(output))
        from . import procs
        base = procs.SANDBOX.box if procs.SANDBOX is not None else Path(self.config.stash[OUT_KEY])
        workdir = base / "check-run" / lab / os.environ.get("PYTEST_XDIST_WORKER", "main")
        verdicts = run_runner(runner["binary"], workdir)
        verdict = verdicts.get(self.name)
        if verdict is None:
            raise Mismatch(f"Check test {self.name}", "a verdict from the Check runner",
                           verdicts.get("__runner__", "the runner reported nothing for this test"),
                           "The runner crashed or was killed before this test ran.")
        if verdict["result"] != "success":
            from .milestones import check_file_descriptions
            words = check_file_descriptions(self.path.read_text(errors="replace")).get(self.name)
            where = verdict["where"]
            if "solutions" in Path(self.path).parts:  # hidden tests: no source to read
                raise Mismatch(f"hidden Check unit test {self.name}",
                               "every assertion in the test holds", verdict["message"],
                               (f"What it checks: {words}. " if words else "") +
                               "A hidden test: its source is not given to you; the message "
                               "above names the call, its input and what came back.")
            runner = f"build/{self.path.stem}"
            message = verdict["message"]
            if "signal" in message or "timeout" in message.lower():
                # Check names the last place it passed (an assertion, or a
                # helper such as check_fence.h), not where the code crashed.
                crashed = "signal" in message
                raise Mismatch(f"Check unit test {self.name} (tests/{self.path.name}:{self.lineno})",
                               "the test runs to its end",
                               ("your code crashed inside this test: " if crashed else
                                "the test did not finish in time: ") + message,
                               ("The inputs of parser tests end at an inaccessible page: a crash "
                                "here usually means reading one byte past the end, or a length "
                                "taken from the input and trusted. " if crashed else
                                "A loop that never ends on this input? ") +
                               "Run the runner by hand under gdb to see the line (below).",
                               detail="by hand, in the lab directory:\n"
                                      f"  make check-runner CHECK_SRC=tests/{self.path.name} "
                                      f"CHECK_OUT={runner} && CK_FORK=no gdb -ex run ./{runner}")
            raise Mismatch(f"Check unit test {self.name} (tests/{self.path.name}:{self.lineno})",
                           "every assertion in the test holds",
                           f"{Path(where.split(':')[0]).name}:{where.split(':', 1)[-1]}: "
                           f"{verdict['message']}" if where else verdict["message"],
                           "Read the test in the file named above: it shows the exact call "
                           "and the value it expects.",
                           detail="by hand, in the lab directory (all of this file's tests; "
                                  "CK_FORK=no keeps them in one process for gdb and valgrind):\n"
                                  f"  make check-runner CHECK_SRC=tests/{self.path.name} "
                                  f"CHECK_OUT={runner} && CK_FORK=no ./{runner}\n"
                                  f"  gdb --args ./{runner}    valgrind ./{runner}")

    def reportinfo(self):
        return self.path, self.lineno, f"check: {self.name}"

    def repr_failure(self, excinfo):
        return str(excinfo.value)


def lab_of(path: Path) -> str:
    """The NN-name directory a test file belongs to (labs/NN-name/tests/...)."""
    parts = Path(path).resolve().parts
    for i, part in enumerate(parts[:-1]):
        if part == "tests" and i > 0:
            return parts[i - 1]
    raise ValueError(f"{path} is not inside a lab's tests/ directory")


BUILDS_KEY = pytest.StashKey[dict]()
OUT_KEY = pytest.StashKey[str]()
