"""The sandbox in which student code runs: its build, its Check runners and
every program of the submission a test starts.

One grading run owns one private run directory (made by grade.py, or by the
plugin when pytest is started by hand):

    RUN/            mode 0711: nobody can list it
      private/      0700: the jail launcher, build records, check sources
      box/          what student code may see (a size-limited tmpfs when
                    grade.py could make a mount namespace)
        common/     the course's shared make rules and helpers (copies)
        build/NN/   the lab as built: the course's given files and Makefile,
                    plus the submission's files and nothing else
        build-san/NN/  the same sources built with ASan and UBSan
        check/NN/   the linked Check runners (root-owned, not writable)
        lib/        the fault-injection library (root-owned)
        pytest/     the tests' temporary directories

Student processes run through `jail` (grader/sandbox/jail.c): in a PID
namespace of their own (nothing of the grader or of another grading to
see, signal, trace or enter), in a mount namespace in which the course
tree, the peer cache, the output directory, the submission and the
grader's home are covered with empty tmpfs and /tmp, /var/tmp and /dev/shm
are fresh and small, as a user id of this run alone (when the grader is
root), with no way to regain privileges, inside the run's memory cgroup
and a pids cgroup of their own. Everything they start dies with them.

Reference peers, curl, nginx and the other real programs are trusted and
run outside the jail, still under the process layer's limits.
"""
from __future__ import annotations

import json
import os
import random
import subprocess
import tempfile
from dataclasses import asdict, dataclass, field
from pathlib import Path

from . import timing

SOURCE = Path(__file__).resolve().parents[1] / "sandbox" / "jail.c"
ENV_RUN = "NETLAB_RUN"  # the run directory, for pytest's worker processes
TMP_MB = 256            # each jailed program's /tmp, /var/tmp and /dev/shm
BOX_MB = 2048           # the whole box, when it is a tmpfs of its own
RUN_MEMORY = 4 << 30    # all student processes of one grading together
RUN_PIDS = 1024


@dataclass
class Sandbox:
    run_dir: str
    jail: str = ""                  # the launcher, or "" when student code runs unconfined
    uid: int | None = None          # None: the grader's own user (not root)
    gid: int | None = None
    hide: list[str] = field(default_factory=list)
    memory_cgroup: str = ""         # cgroup.procs of the run's memory cgroup, or ""
    pids_parent: str = ""           # directory for per-program pids cgroups, or ""
    reason: str = ""                # why the jail is unavailable or weaker, for the report

    @property
    def box(self) -> Path:
        return Path(self.run_dir) / "box"

    @property
    def private(self) -> Path:
        return Path(self.run_dir) / "private"

    @property
    def active(self) -> bool:
        return bool(self.jail)

    def is_student(self, argv) -> bool:
        """Whether argv runs anything built from the submission."""
        roots = (str(self.box / "build") + "/", str(self.box / "build-san") + "/",
                 str(self.box / "check") + "/")
        return any(str(a).startswith(roots) for a in argv)

    def wrap(self, argv: list[str], chdir: str | None = None) -> list[str]:
        """argv run inside the jail (unchanged when there is none)."""
        if not self.active:
            return list(argv)
        full = [self.jail, "--tmp", str(TMP_MB), "--keep", str(self.box)]
        if self.uid is not None:
            full += ["--uid", str(self.uid), "--gid", str(self.gid)]
        for path in self.hide:
            full += ["--hide", path]
        if self.memory_cgroup:
            full += ["--cgroup", self.memory_cgroup]
        if chdir:
            full += ["--chdir", str(chdir)]
        return full + ["--"] + [str(a) for a in argv]

    def open_up(self, directory: Path) -> None:
        """Let the run's user write where a test put files for its program:
        the directories under a test's tmp_path (the files stay read-only)."""
        if self.uid is None:
            return
        directory = Path(directory)
        try:
            for parent in [directory, *directory.parents]:
                if parent == self.box or not str(parent).startswith(str(self.box)):
                    break
                os.chmod(parent, 0o755)
            for here, dirs, _files in os.walk(directory):
                os.chmod(here, 0o777)
        except OSError:
            pass

    def give(self, path: Path) -> None:
        """Hand a directory the build writes into to the run's user."""
        if self.uid is not None:
            os.chown(path, self.uid, self.gid)

    def save(self) -> None:
        (self.private / "sandbox.json").write_text(json.dumps(asdict(self)))

    @classmethod
    def load(cls, run_dir: Path) -> "Sandbox":
        return cls(**json.loads((Path(run_dir) / "private" / "sandbox.json").read_text()))


def make_run_dir(parent: str | None = None) -> Path:
    """A fresh run directory (see the module's docstring)."""
    run = Path(tempfile.mkdtemp(prefix="netlab-run-", dir=parent))
    os.chmod(run, 0o711)
    (run / "private").mkdir(mode=0o700)
    (run / "box").mkdir(mode=0o755)
    return run


def box_mount_script(box: Path) -> str:
    """Shell text that makes the box a tmpfs of its own (run in grade.py's
    private mount namespace, so it vanishes with the run)."""
    return f"mount -t tmpfs -o size={BOX_MB}m,mode=0755 netlab-box {str(box)!r}"


def _build_jail(private: Path, cache: Path | None) -> tuple[str, str]:
    from .build import cached_compile
    binary = private / "jail"
    step = cached_compile(cache, SOURCE, binary, ["cc", "-std=gnu11", "-O2", "-Wall", "-Wextra",
                                                  "-o", "OUTPUT", str(SOURCE)], timeout=60)
    if not step.ok:
        return "", "the jail did not compile: " + step.output[-300:]
    os.chmod(binary, 0o755)
    return str(binary), ""


def _probe(jail: str, extra: list[str]) -> str:
    try:
        proc = subprocess.run([jail, *extra, "--tmp", "1", "--", "true"], stdin=subprocess.DEVNULL,
                              capture_output=True, timeout=timing.scaled(10))
    except (OSError, subprocess.TimeoutExpired) as exc:
        return str(exc)
    if proc.returncode != 0:
        return proc.stderr.decode(errors="replace").strip().splitlines()[-1:][0] \
            if proc.stderr.strip() else f"exit status {proc.returncode}"
    return ""


def _unused_uid() -> int:
    taken = set()
    try:
        for line in Path("/etc/passwd").read_text().splitlines():
            parts = line.split(":")
            if len(parts) > 2 and parts[2].isdigit():
                taken.add(int(parts[2]))
    except OSError:
        pass
    rng = random.SystemRandom()
    while True:
        uid = rng.randrange(2_000_000, 3_000_000)
        if uid not in taken:
            return uid


def _memory_cgroup(name: str) -> str:
    """A memory cgroup for the run (v2 or v1), or '' where none can be made."""
    try:
        own = Path("/proc/self/cgroup").read_text().splitlines()
    except OSError:
        return ""
    places = []
    for line in own:
        _, controllers, path = line.split(":", 2)
        if controllers == "memory":
            places.append((Path("/sys/fs/cgroup/memory" + path), "memory.limit_in_bytes"))
        elif controllers == "" and Path("/sys/fs/cgroup/cgroup.controllers").exists():
            places.append((Path("/sys/fs/cgroup" + path), "memory.max"))
    for base, limit_file in places:
        group = base / name
        try:
            group.mkdir()
            (group / limit_file).write_text(str(RUN_MEMORY))
            return str(group / "cgroup.procs")
        except OSError:
            try:
                group.rmdir()
            except OSError:
                pass
    return ""


# Where people keep files: other students' submissions, course clones,
# instructors' homes. Student code never needs them.
PRIVATE_PLACES = ("/home", "/root", "/srv", "/mnt", "/media")
# What programs need (or what is fresh in the jail anyway): never covered.
SYSTEM_PLACES = {"usr", "lib", "lib32", "lib64", "libx32", "bin", "sbin", "etc", "opt", "proc",
                 "sys", "dev", "run", "var", "boot", "tmp"}


def hidden_paths(root: Path, out: Path, impl: Path, cache: Path) -> list[Path]:
    """What the jail covers: the course tree and its parent (other clones,
    a class's submissions beside it), the output, the submission and its
    parent, the peer cache, the places people keep files, and whatever
    NETLAB_HIDE lists (colon-separated)."""
    paths = [root, out, impl, cache, Path.home(), *map(Path, PRIVATE_PLACES)]
    for path in (root.parent, impl.parent):
        if len(path.parts) > 1 and path.parts[1] not in SYSTEM_PLACES:
            paths.append(path)
    paths += [Path(p) for p in os.environ.get("NETLAB_HIDE", "").split(":") if p.startswith("/")]
    return paths


def setup(run_dir: Path, hide: list[Path], cache: Path | None = None) -> Sandbox:
    """Build the jail for this run and find out how strong it can be here."""
    run_dir = Path(run_dir)
    sandbox = Sandbox(str(run_dir))
    jail, why = _build_jail(sandbox.private, cache)
    if not jail:
        sandbox.reason = why
        sandbox.save()
        return sandbox
    sandbox.hide = sorted({str(p) for p in hide if str(p) not in ("", "/")})
    uid = _unused_uid()
    problem = _probe(jail, ["--uid", str(uid), "--gid", str(uid)])
    if not problem:
        sandbox.jail, sandbox.uid, sandbox.gid = jail, uid, uid
    else:
        problem_without_uid = _probe(jail, [])
        if problem_without_uid:
            sandbox.reason = f"namespaces are not available ({problem_without_uid})"
            sandbox.save()
            return sandbox
        sandbox.jail = jail
        sandbox.reason = "student code runs as your own user (no other user id can be used here)"
    name = f"netlab-{run_dir.name}"
    sandbox.memory_cgroup = _memory_cgroup(name)
    from .cgroup import make_parent  # noqa: E402 - cgroup imports timing only
    sandbox.pids_parent = make_parent(name, RUN_PIDS)
    sandbox.save()
    return sandbox


def teardown(sandbox: Sandbox) -> None:
    """Remove the run's cgroups once every process in them is gone."""
    from .cgroup import remove_group
    if sandbox.memory_cgroup:
        remove_group(Path(sandbox.memory_cgroup).parent)
    if sandbox.pids_parent:
        remove_group(Path(sandbox.pids_parent))


def describe(sandbox: Sandbox | None) -> str:
    if sandbox is None or not sandbox.active:
        why = sandbox.reason if sandbox else "not set up"
        return f"sandbox: none ({why}): student code runs with the grader's rights"
    who = f"as user id {sandbox.uid}" if sandbox.uid is not None else "as your own user"
    text = (f"sandbox: student code runs {who}, in its own PID and mount namespaces "
            "(course tree, solutions, hidden tests and results hidden)")
    if sandbox.reason:
        text += f"; {sandbox.reason}"
    return text
