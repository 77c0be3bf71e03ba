"""A pids cgroup around each program the grader starts.

RLIMIT_NPROC bounds the processes of a user, but not of root, and a killed
process group misses children that moved to a session of their own
(setsid). A cgroup with the pids controller does both: `pids.max` stops a
fork bomb at its limit, and everything in the cgroup can be found and
killed however it daemonized. cgroup v2 (pids in cgroup.subtree_control of
the root) and v1 (/sys/fs/cgroup/pids) both work; without either (not root)
the run relies on RLIMIT_NPROC and process groups alone.
"""
from __future__ import annotations

import itertools
import os
import signal
import time
from functools import lru_cache
from pathlib import Path

from . import timing

_counter = itertools.count()


@lru_cache(maxsize=1)
def base() -> Path | None:
    """The directory under which this process can create pids cgroups."""
    v2 = Path("/sys/fs/cgroup")
    candidates = []
    try:
        if "pids" in (v2 / "cgroup.subtree_control").read_text().split():
            candidates.append(v2)
    except OSError:
        pass
    candidates.append(v2 / "pids")
    for directory in candidates:
        probe = directory / f"netlab-probe-{os.getpid()}"
        try:
            probe.mkdir()
            (probe / "pids.max").write_text("8")
            probe.rmdir()
            return directory
        except OSError:
            try:
                probe.rmdir()
            except OSError:
                pass
    return None


def make_parent(name: str, max_pids: int) -> str:
    """A pids cgroup for a whole grading run, under which every program
    gets its own (the run's limit bounds them all together); '' if none."""
    root = base()
    if root is None:
        return ""
    path = root / name
    try:
        path.mkdir()
        (path / "pids.max").write_text(str(max_pids))
    except OSError:
        return ""
    return str(path)


def _members(path: Path) -> list[int]:
    try:
        return [int(p) for p in (path / "cgroup.procs").read_text().split()]
    except OSError:
        return []


def _empty_and_remove(path: Path) -> None:
    """SIGKILL every member of one cgroup until none is left (bounded), then remove it."""
    deadline = timing.Deadline(5)
    while not deadline.expired():
        members = _members(path)
        if not members:
            break
        for pid in members:
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        time.sleep(0.01)  # ok: let the kernel reap what was just killed, bounded by the deadline
    try:
        path.rmdir()
    except OSError:
        pass


def remove_group(path: Path) -> None:
    """Kill what is left in a cgroup and its children, then remove them."""
    if not path.is_dir():
        return
    for child in [p for p in path.iterdir() if p.is_dir()]:
        remove_group(child)
    _empty_and_remove(path)


# Set by the plugin when the run has a pids cgroup of its own.
RUN_PARENT: Path | None = None


class PidsCgroup:
    """One cgroup for one started program and whatever it forks."""

    def __init__(self, max_pids: int):
        root = RUN_PARENT if RUN_PARENT is not None else base()
        self.path = None
        if root is None:
            return
        path = root / f"netlab-{os.getpid()}-{next(_counter)}"
        try:
            path.mkdir()
            (path / "pids.max").write_text(str(max_pids))
        except OSError:
            return
        self.path = path

    def prefix(self) -> list[str]:
        """argv prefix that moves the process into the cgroup, then execs."""
        if self.path is None:
            return []
        return ["sh", "-c", 'echo $$ > "$0" && exec "$@"', str(self.path / "cgroup.procs")]

    def members(self) -> list[int]:
        return [] if self.path is None else _members(self.path)

    def kill_all(self) -> None:
        """SIGKILL every member until none is left (bounded), then remove it."""
        if self.path is None:
            return
        _empty_and_remove(self.path)
        self.path = None
