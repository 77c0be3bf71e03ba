"""Fault injection: building grader/faultinject/faultinject.c and running
programs under it.

The library is built once per grading run, in the controlling process, into
the output directory. A test asks for it with the `faults` fixture:

    def test_robust_fetch(faults, lab):
        runner = faults(kinds="short")          # seeded from the test's name
        result = runner.run([lab.program("httpget"), url])

The seed is a function of the lab and the test's name, so a rerun of the
same test replays the same schedule; --fault-seed N replaces it. With a
failure the report shows the seed, how many faults were injected, the first
of them, and a command that runs the program by hand under the same faults.
"""
from __future__ import annotations

import json
import os
import shlex
import zlib
from dataclasses import asdict, dataclass, field
from pathlib import Path

from .build import Step
from .procs import Journal, Runner

SOURCE = Path(__file__).resolve().parents[1] / "faultinject" / "faultinject.c"
LIBRARY_NAME = "faultinject.so"
ALL_KINDS = ("short", "eintr", "eagain", "drop", "dup", "shortwrite")


def build(out: Path, cache: Path | None = None) -> Step:
    """Compile the library into out/ (once per version, with a cache); the
    Step says how that went."""
    from .build import cached_compile
    step = cached_compile(cache, SOURCE, out / LIBRARY_NAME,
                          ["cc", "-std=c11", "-O2", "-Wall", "-Wextra", "-fPIC", "-shared",
                           "-o", "OUTPUT", str(SOURCE), "-ldl"])
    if step.ok:
        os.chmod(out / LIBRARY_NAME, 0o644)
    return step


def save(step: Step, out: Path) -> None:
    (out / "faultinject.json").write_text(json.dumps(asdict(step)))


def load(out: Path) -> Step | None:
    path = out / "faultinject.json"
    return Step(**json.loads(path.read_text())) if path.exists() else None


ACTIVE = ": library active in "


def seed_for(test_id: str) -> int:
    """A stable seed from a test's identity (lab and name)."""
    return zlib.crc32(test_id.encode())


@dataclass
class FaultPlan:
    """The faults one group of programs in a test runs under."""

    library: Path
    seed: int
    kinds: tuple[str, ...]
    rate: int
    log: Path
    argvs: list[list[str]] = field(default_factory=list)  # what ran under it

    def env(self) -> dict[str, str]:
        return {"LD_PRELOAD": str(self.library), "NETLAB_FAULTS_SEED": str(self.seed),
                "NETLAB_FAULTS": ",".join(self.kinds), "NETLAB_FAULTS_RATE": str(self.rate),
                "NETLAB_FAULTS_LOG": str(self.log)}

    def _lines(self) -> list[str]:
        try:
            return self.log.read_text(errors="replace").splitlines()
        except OSError:
            return []

    def schedule(self) -> list[str]:
        """The faults injected so far, one line each, in order per process."""
        return [line for line in self._lines() if ACTIVE not in line]

    def active_in(self) -> set[str]:
        """The programs (short names) whose socket calls came through the library."""
        return {line.split(ACTIVE, 1)[1].strip() for line in self._lines() if ACTIVE in line}

    def unfaulted(self, programs: list[str]) -> list[str]:
        """Of these programs that ran under the plan, those whose socket
        calls never reached the library (no fault could ever touch them)."""
        seen = self.active_in()
        return [p for p in programs if Path(p).name not in seen]

    def count(self) -> int:
        return len(self.schedule())

    def describe(self) -> str:
        return f"seed {self.seed}, {'/'.join(self.kinds)} on {self.rate}% of socket calls"

    def by_hand(self, argv) -> str:
        """A shell command that runs argv under the same faults."""
        settings = {k: v for k, v in self.env().items() if k != "NETLAB_FAULTS_LOG"}
        return " ".join(f"{k}={shlex.quote(v)}" for k, v in settings.items()) + " " + \
            " ".join(shlex.quote(str(a)) for a in argv)

    def summary(self, first: int = 6) -> dict:
        """What the failure report shows."""
        lines = self.schedule()
        out = {"plan": self.describe(), "count": len(lines), "first": lines[:first]}
        if self.argvs:
            out["by_hand"] = self.by_hand(self.argvs[0])
        return out


class FaultRunner(Runner):
    """A Runner whose programs all run under one FaultPlan."""

    def __init__(self, workdir: Path, journal: Journal, plan: FaultPlan,
                 wrap: list[str] | None = None):
        super().__init__(workdir, journal, env=plan.env(), wrap=wrap)
        self.plan = plan
        journal.fault_plans.append(plan)
        journal.step(f"the programs below run under fault injection: {plan.describe()}")

    def _counted(self) -> None:
        self.journal.step(f"faults injected so far: {self.plan.count()}")

    def run(self, argv, **kwargs):
        self.plan.argvs.append([str(a) for a in argv])
        result = super().run(argv, **kwargs)
        self._counted()
        return result

    def start_server(self, argv, **kwargs):
        self.plan.argvs.append([str(a) for a in argv])
        return super().start_server(argv, **kwargs)


def check_kinds(kinds) -> tuple[str, ...]:
    if isinstance(kinds, str):
        kinds = [k for k in kinds.split(",") if k]
    unknown = [k for k in kinds if k not in ALL_KINDS]
    if unknown:
        raise ValueError(f"unknown fault kinds {unknown}; known: {', '.join(ALL_KINDS)}")
    return tuple(kinds)
