"""Building an implementation tree before any test runs.

The grader builds each lab once, from clean, in the controlling process,
before tests are distributed to workers: `make -C IMPL/LAB` for the implementation under test,
the same for the reference solution (peers for some tests), and one Check
runner per Check test file. The outcome is saved as JSON for the workers.
"""
from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from dataclasses import asdict, dataclass, field
from pathlib import Path

from . import timing

MAKE_TIMEOUT = 180


@dataclass
class Step:
    ok: bool
    command: str
    output: str = ""

    def first_errors(self, lines: int = 15) -> str:
        return first_errors(self.output, lines)


@dataclass
class LabBuild:
    lab: str
    impl_dir: str
    impl: Step
    reference: Step | None = None
    check_runners: dict = field(default_factory=dict)  # source path -> {"ok", "binary", "output", "command"}


_ERROR_LINE = re.compile(r"(error|undefined reference|No rule to make target|cannot find)", re.I)


def first_errors(output: str, lines: int = 15) -> str:
    """The compiler's first errors (with a line of context after each), else the tail."""
    text = output.splitlines()
    picked: list[str] = []
    for i, line in enumerate(text):
        if _ERROR_LINE.search(line):
            picked.extend(text[i:i + 3])
        if len(picked) >= lines:
            break
    return "\n".join((picked or text[-lines:])[:lines])


def run_make(directory: Path, *targets: str, extra: list[str] | None = None,
             common: Path | None = None) -> Step:
    """make in directory; common is the course's common/ (for submissions
    kept outside the course tree, whose ../../common does not exist)."""
    argv = ["make", "--no-print-directory", "-C", str(directory), *targets, *(extra or [])]
    if common is not None:
        argv.append(f"NETLAB_COMMON={common}")
    shown = " ".join(argv)
    if shutil.which("make") is None:
        return Step(False, shown, "make is not installed: run `make setup`")
    try:
        proc = subprocess.run(argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                              stderr=subprocess.STDOUT, timeout=timing.scaled(MAKE_TIMEOUT),
                              env={**os.environ, "LC_ALL": "C", "MAKEFLAGS": ""})
    except subprocess.TimeoutExpired:
        return Step(False, shown, f"the build did not finish within {MAKE_TIMEOUT} s")
    return Step(proc.returncode == 0, shown, proc.stdout.decode("utf-8", "replace"))


def build_lab(lab: str, impl_dir: Path, ref_dir: Path | None, check_sources: list[Path],
              out_dir: Path, common: Path) -> LabBuild:
    # From clean: objects or dependency files left from another machine or
    # another copy of the tree must not decide the build.
    for directory in {impl_dir, ref_dir} - {None}:
        if directory.is_dir():
            run_make(directory, "clean", common=common)
    impl_step = run_make(impl_dir, common=common) if impl_dir.is_dir() else Step(
        False, f"make -C {impl_dir}", f"{impl_dir} does not exist: nothing to build")
    result = LabBuild(lab=lab, impl_dir=str(impl_dir), impl=impl_step)
    if ref_dir is not None and ref_dir.resolve() != impl_dir.resolve() and ref_dir.is_dir():
        result.reference = run_make(ref_dir, common=common)
    runners = out_dir / "check" / lab
    runners.mkdir(parents=True, exist_ok=True)
    for source in check_sources:
        binary = runners / source.stem
        if not impl_step.ok:
            result.check_runners[str(source)] = {"ok": False, "binary": str(binary),
                                                 "output": "", "command": ""}
            continue
        step = run_make(impl_dir, "check-runner",
                        extra=[f"CHECK_SRC={source}", f"CHECK_OUT={binary}"], common=common)
        result.check_runners[str(source)] = {"ok": step.ok, "binary": str(binary),
                                             "output": step.output, "command": step.command}
    return result


def save(builds: dict[str, LabBuild], path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({k: asdict(v) for k, v in builds.items()}, indent=1))


def load(path: Path) -> dict[str, LabBuild]:
    data = json.loads(path.read_text())
    builds = {}
    for lab, raw in data.items():
        raw["impl"] = Step(**raw["impl"])
        raw["reference"] = Step(**raw["reference"]) if raw.get("reference") else None
        builds[lab] = LabBuild(**raw)
    return builds
