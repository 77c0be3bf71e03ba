"""Milestones: every graded test belongs to one step of its lab's handout,
and `--milestone NAME` (make grade M=NAME, a lab's make test M=NAME) grades
exactly that step's items, so a finished milestone shows full marks.

A Python test says where it belongs with `@pytest.mark.milestone("name")`
beside its points; a Check test with a `// milestone: name` line among the
comment lines just above its START_TEST (beside `// points: N`), or, for a
whole file, a line `// milestone: name` on its own before the first test.
The handout's milestone table lists each lab's names (`M=name`).

Loaded as a plugin (`-p netgrader.milestones`). Its collection hook runs
first, so -k still narrows the choice further and the lab's build item,
which the grading plugin adds last, always stays.
"""
from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

_TEST = re.compile(r"^[ \t]*START_TEST\s*\(\s*(\w+)\s*\)", re.M)
_MILESTONE = re.compile(r"^\s*//\s*milestone:\s*([\w.-]+)\s*$")
_COMMENT = re.compile(r"^\s*//")


def pytest_addoption(parser):
    group = parser.getgroup("netgrader")
    group.addoption("--milestone", default=None, metavar="NAME",
                    help="grade only the tests of this milestone (the names are in each "
                    "handout's milestone table)")


def pytest_configure(config):
    config.addinivalue_line("markers", "milestone(name): the handout's milestone this test "
                            "belongs to (selected with --milestone NAME)")
    wanted = config.getoption("--milestone", None)
    if wanted and not hasattr(config, "workerinput"):
        # Checked once, before any worker starts, from the test directories
        # given, so that a misspelt name gets one clear message.
        dirs = [Path(a) for a in config.args if (Path(a).is_dir() and Path(a).name == "tests")]
        known, unmarked = set(), []
        for d in dirs:
            totals, problems = lab_milestones([d])
            known |= set(totals)
            unmarked += [f"{d.parent.name}/tests/{p}" for p in problems]
        if unmarked:
            raise pytest.UsageError("--milestone: these tests have no milestone (add "
                                    "@pytest.mark.milestone(\"name\") or `// milestone: name` "
                                    "beside their points):\n  " + "\n  ".join(unmarked))
        if dirs and wanted not in known:
            raise pytest.UsageError(f"no milestone is called {wanted!r}; the milestones of "
                                    f"the labs chosen are: {', '.join(sorted(known))} "
                                    "(each handout's milestone table lists its own)")


def check_file_milestones(text: str) -> dict[str, str | None]:
    """Test name -> milestone for every START_TEST of a Check file.

    A test's own `// milestone:` line (in the run of comment and blank lines
    just above it) wins; otherwise the file's, a `// milestone:` line before
    the first START_TEST that belongs to no test's block."""
    lines = text.splitlines()
    found: dict[str, str | None] = {}
    file_default = None
    first = _TEST.search(text)
    first_line = text.count("\n", 0, first.start()) if first else len(lines)
    own_blocks: set[int] = set()
    for match in _TEST.finditer(text):
        lineno = text.count("\n", 0, match.start())
        name = None
        j = lineno - 1
        while j >= 0 and (not lines[j].strip() or _COMMENT.match(lines[j])):
            m = _MILESTONE.match(lines[j])
            if m and name is None:
                name = m.group(1)
                own_blocks.add(j)
            if not lines[j].strip():
                break
            j -= 1
        found[match.group(1)] = name
    for i in range(first_line):
        m = _MILESTONE.match(lines[i])
        if m and i not in own_blocks:
            file_default = m.group(1)
    return {test: name or file_default for test, name in found.items()}



_CHECKS = re.compile(r"^\s*//\s*checks:\s*(.*?)\s*$")
_KEY = re.compile(r"^\s*//\s*\w+:")


def check_file_descriptions(text: str) -> dict[str, str]:
    """Test name -> what it checks, in words, for the Check tests that have
    a `// checks: ...` comment (continued on the next `//` lines) among the
    comment lines just above their START_TEST. Hidden tests have one: their
    source is not given to students, so a failure quotes it instead."""
    lines = text.splitlines()
    found = {}
    for match in _TEST.finditer(text):
        j = text.count("\n", 0, match.start()) - 1
        block = []
        while j >= 0 and _COMMENT.match(lines[j]):
            block.insert(0, lines[j])
            j -= 1
        words = None
        for line in block:
            m = _CHECKS.match(line)
            if m:
                words = [m.group(1)]
            elif words is not None and not _KEY.match(line):
                words.append(line.strip().lstrip("/").strip())
            elif words is not None:
                break
        if words:
            found[match.group(1)] = " ".join(w for w in words if w)
    return found

def python_file_milestones(path: Path) -> dict[str, tuple[str | None, int | None]]:
    """Test name -> (milestone, points) for every test function of a file,
    read from its decorators (and a module-level `pytestmark`), without
    importing it."""
    tree = ast.parse(Path(path).read_text())

    def marks(decorators) -> dict[str, object]:
        out = {}
        for d in decorators:
            if isinstance(d, ast.Call) and isinstance(d.func, ast.Attribute) \
                    and d.args and isinstance(d.args[0], ast.Constant):
                out[d.func.attr] = d.args[0].value
        return out

    module = {}
    for node in tree.body:
        if isinstance(node, ast.Assign) and any(getattr(t, "id", "") == "pytestmark"
                                                for t in node.targets):
            values = node.value.elts if isinstance(node.value, (ast.List, ast.Tuple)) \
                else [node.value]
            module.update(marks(values))
    found = {}
    for node in tree.body:
        if isinstance(node, ast.FunctionDef) and node.name.startswith("test_"):
            m = {**module, **marks(node.decorator_list)}
            found[node.name] = (m.get("milestone"), m.get("points"))
    return found


_check_cache: dict[str, dict[str, str | None]] = {}


def milestone_of(item) -> str | None:
    marker = item.get_closest_marker("milestone")
    if marker is not None and marker.args:
        return str(marker.args[0])
    # A Check item: the collector may have set it; otherwise read the file.
    name = getattr(item, "milestone", None)
    if name:
        return name
    path = Path(str(item.path))
    if path.suffix == ".c":
        key = str(path)
        if key not in _check_cache:
            _check_cache[key] = check_file_milestones(path.read_text(errors="replace"))
        return _check_cache[key].get(item.name)
    return None


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(session, config, items):
    wanted = config.getoption("--milestone", None)
    if not wanted:
        return
    keep, drop = [], []
    for item in items:
        (keep if milestone_of(item) == wanted else drop).append(item)
    if drop:
        config.hook.pytest_deselected(items=drop)
    items[:] = keep


def lab_milestones(test_dirs: list[Path]) -> tuple[dict[str, int], list[str]]:
    """(milestone -> points, tests without a milestone or points) for one
    lab's test directories, read statically (the handout's table must agree)."""
    from .checkc import parse_check_file  # points exactly as the grader reads them

    totals: dict[str, int] = {}
    problems = []
    for d in test_dirs:
        for f in sorted(d.glob("test_*.py")):
            for test, (name, points) in python_file_milestones(f).items():
                if name is None or points is None:
                    problems.append(f"{f.name}::{test}")
                    continue
                totals[name] = totals.get(name, 0) + int(points)
        for f in sorted(d.glob("check_*.c")):
            text = f.read_text(errors="replace")
            names = check_file_milestones(text)
            for test, points, _line in parse_check_file(text):
                name = names.get(test)
                if name is None or points is None:
                    problems.append(f"{f.name}::{test}")
                    continue
                totals[name] = totals.get(name, 0) + points
    return totals, problems
