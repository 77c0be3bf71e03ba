"""Building a submission, and the reference peers, before any test runs.

A submission is source files and nothing else. Each lab lists the files a
student writes in `labs/NN-name/lab.toml` (`files = [...]`); the grader
copies exactly those from the submission (course layout `SUB/NN-name/FILE`,
or flat `SUB/FILE` for one lab, as Gradescope delivers it) into a fresh
directory in the sandbox's box, beside the course's own given files and
Makefile, and builds there with the course's rules, inside the jail, under
one deadline for the whole lab. Anything else in the submission is ignored
and listed as ignored. Objects that would run code before main or after
exit (constructors, destructors, ifunc resolvers) are refused.

Check runners are compiled and linked by the course's rule in the jail,
after the student's objects exist, and moved where the student's programs
cannot write. Reference peers are built once per version of their sources,
by the grader alone, into a cache outside the course tree that the jail
hides (filled atomically, so any number of gradings may share it).
"""
from __future__ import annotations

import errno
import hashlib
import json
import os
import re
import shutil
import subprocess
import tempfile
import threading
import time
import tomllib
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from pathlib import Path

from . import timing
from .sandbox import Sandbox

BUILD_TIMEOUT = 60          # seconds for a whole lab's build (scaled)
CHECK_CFLAGS = "-O0 -g"     # for a Check test file (lab.mk adds the warnings; the default is -O2 -g)
MAX_SOURCE = 1 << 20        # bytes per submitted file
GIVEN = re.compile(r"(.*\.[ch]|Makefile|.*\.mk)$")


@dataclass
class Step:
    ok: bool
    command: str
    output: str = ""
    seconds: float = 0.0             # how long it took (wall clock)

    def first_errors(self, lines: int = 15) -> str:
        return first_errors(self.output, lines)


@dataclass
class LabBuild:
    lab: str
    impl_dir: str                    # the directory the files were taken from
    impl: Step
    build_dir: str = ""              # where the programs are (in the box)
    san_dir: str = ""                # the sanitizer build, or "" when it failed
    san: Step | None = None
    reference: Step | None = None    # kept for old build records; peers are separate
    files: list = field(default_factory=list)     # the student files taken
    missing: list = field(default_factory=list)   # manifest files the submission lacks
    ignored: list = field(default_factory=list)   # what the submission had besides
    warnings: str = ""               # the compiler's warnings about student files
    course_error: str = ""           # the course itself is broken (not the student's fault)
    check_runners: dict = field(default_factory=dict)  # source -> {"ok", "binary", "output", "command", "hidden"}
    stage: str = "done"              # how far the build is (STAGES): "done" once it has ended
    seconds: float = 0.0             # the whole build, staging included (wall clock)
    ready: dict = field(default_factory=dict)  # stage -> when it was reached, in seconds
                                               # since the grading's builds began


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


def warnings_of(output: str, files: list[str], limit: int = 12) -> str:
    """The compiler's warnings about the student's own files."""
    picked = [line for line in output.splitlines()
              if ": warning:" in line and line.split(":", 1)[0].rsplit("/", 1)[-1] in files]
    return "\n".join(picked[:limit])


def manifest(root: Path, lab: str) -> list[str]:
    """The files a student writes for lab (labs/NN-name/lab.toml)."""
    path = root / "labs" / lab / "lab.toml"
    data = tomllib.loads(path.read_text())
    files = data.get("files", [])
    if not files or any("/" in f or f.startswith(".") for f in files):
        raise ValueError(f"{path}: `files` must list plain file names")
    return list(files)


def locate(impl: Path, lab: str, files: list[str], flat: bool) -> Path:
    """Where a lab's files are in a submission: SUB/NN-name, or SUB itself
    for a flat submission of one lab."""
    nested = impl / lab
    if nested.is_dir() or nested.is_symlink():
        return nested
    if flat and any((impl / f).exists() for f in files):
        return impl
    return nested


def _read_plain(path: Path) -> tuple[bytes | None, str]:
    """A submitted file's bytes, refusing links and oversized files."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
    except FileNotFoundError:
        return None, "missing"
    except OSError as exc:
        return None, f"refused ({'a symbolic link' if exc.errno == errno.ELOOP else exc.strerror})"
    try:
        st = os.fstat(fd)
        if not (st.st_mode & 0o170000 == 0o100000):
            return None, "refused (not a regular file)"
        if st.st_nlink > 1:
            return None, "refused (a hard link: submit a copy)"
        if st.st_size > MAX_SOURCE:
            return None, f"refused (larger than {MAX_SOURCE} bytes)"
        chunks = []
        while True:
            chunk = os.read(fd, 65536)
            if not chunk:
                break
            chunks.append(chunk)
        return b"".join(chunks), ""
    finally:
        os.close(fd)


def stage(root: Path, lab: str, source_dir: Path, dest: Path,
          files: list[str]) -> tuple[list[str], list[str], list[str]]:
    """Fill dest with the course's given files and the submission's files.
    Returns (files taken, problems with missing or refused files, ignored)."""
    course = root / "labs" / lab
    dest.mkdir(parents=True)
    for entry in sorted(course.iterdir()):
        if entry.is_file() and GIVEN.match(entry.name) and entry.name not in files:
            shutil.copyfile(entry, dest / entry.name)
    taken, problems = [], []
    lab_is_link = source_dir.is_symlink()
    for name in files:
        if lab_is_link:
            problems.append(f"{name}: refused (the lab directory is a symbolic link)")
            continue
        data, why = _read_plain(source_dir / name)
        if data is None:
            problems.append(f"{name}: {why}")
            continue
        (dest / name).write_bytes(data)
        taken.append(name)
    ignored = []
    if source_dir.is_dir() and not lab_is_link:
        given = {e.name: e for e in course.iterdir() if e.is_file()}
        for entry in sorted(source_dir.iterdir()):
            name = entry.name
            if name in files or name.startswith("build") or name in ("tests", "bench", "fuzz") \
                    or name.endswith((".o", ".d")):
                continue
            if name in given:
                same = False
                try:
                    same = entry.is_file() and not entry.is_symlink() and \
                        entry.read_bytes() == given[name].read_bytes()
                except OSError:
                    pass
                if not same and GIVEN.match(name):
                    ignored.append(f"{name} (your copy differs; the course's is used)")
                continue
            if entry.is_file() and os.access(entry, os.X_OK) and "." not in name:
                continue  # a program built in place
            ignored.append(name + ("/" if entry.is_dir() else ""))
    return taken, problems, ignored[:20]


# The make processes running now, so that a grading that ends early can stop them.
_RUNNING: set = set()
_RUNNING_LOCK = threading.Lock()
_CANCELLED = threading.Event()


def _jailed_make(sandbox: Sandbox, directory: Path, targets: list[str],
                 deadline: timing.Deadline, variables: dict | None = None) -> Step:
    argv = ["make", "--no-print-directory", f"-j{os.cpu_count() or 2}", "-C", str(directory),
            *targets]
    shown = "make " + " ".join(targets) if targets else "make"
    if shutil.which("make") is None:
        return Step(False, shown, "make is not installed: run `make setup`")
    if deadline.expired():
        return Step(False, shown, "the build's time was used up before this step")
    env = {"PATH": "/usr/local/bin:/usr/bin:/bin", "LC_ALL": "C", "HOME": "/tmp",
           "TMPDIR": "/tmp", "MAKEFLAGS": "", **(variables or {})}
    start = time.monotonic()
    with _RUNNING_LOCK:
        if _CANCELLED.is_set():
            return Step(False, shown, "the grading ended before this step")
        proc = subprocess.Popen(sandbox.wrap(["prlimit", "--nproc=256", "--core=0",
                                              "--fsize=268435456", "--", *argv]),
                                stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                stderr=subprocess.STDOUT, env=env, start_new_session=True)
        _RUNNING.add(proc)
    try:
        out, _ = proc.communicate(timeout=max(0.1, deadline.remaining()))
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, 9)
        out, _ = proc.communicate()
        return Step(False, shown, out.decode("utf-8", "replace")[-3000:] +
                    f"\nthe build did not finish within {deadline.seconds:g} s, so it was stopped")
    finally:
        with _RUNNING_LOCK:
            _RUNNING.discard(proc)
    text = out.decode("utf-8", "replace")
    if len(text) > 200_000:
        text = text[:100_000] + "\n[... output cut ...]\n" + text[-50_000:]
    return Step(proc.returncode == 0, shown, text, round(time.monotonic() - start, 3))


def refused_objects(objects: list[Path]) -> list[str]:
    """Student objects that would run code before main or after exit."""
    problems = []
    for obj in objects:
        if not obj.exists():
            continue
        try:
            sections = subprocess.run(["readelf", "-SW", str(obj)], capture_output=True,
                                      timeout=timing.scaled(20)).stdout.decode(errors="replace")
            symbols = subprocess.run(["readelf", "-sW", str(obj)], capture_output=True,
                                     timeout=timing.scaled(20)).stdout.decode(errors="replace")
        except (OSError, subprocess.TimeoutExpired):
            problems.append(f"{obj.name}: could not be inspected")
            continue
        found = sorted(set(re.findall(r"\.(preinit_array|init_array|fini_array|ctors|dtors)",
                                      sections)))
        if found:
            problems.append(f"{obj.name}: has {', '.join('.' + f for f in found)} "
                            "(a constructor or destructor)")
        if re.search(r"\bIFUNC\b", symbols):
            problems.append(f"{obj.name}: defines an ifunc resolver")
    return problems


def build_lab(root: Path, lab: str, impl: Path, flat: bool, sandbox: Sandbox,
              check_sources: list[tuple[Path, bool]], san: bool = True,
              on_stage=None) -> LabBuild:
    """Stage and build one lab of a submission; check_sources are
    (tests/check_*.c, hidden?) pairs. on_stage(record), when given, is
    called once the programs are built ("plain") and once the Check runners
    are too ("checks"); the record returned is "done"."""
    try:
        files = manifest(root, lab)
    except (OSError, ValueError, tomllib.TOMLDecodeError) as exc:
        return LabBuild(lab=lab, impl_dir=str(impl), impl=Step(False, "lab.toml", str(exc)),
                        course_error=f"the course's labs/{lab}/lab.toml is missing or wrong: {exc}")
    source_dir = locate(impl, lab, files, flat)
    box = sandbox.box
    dest = box / "build" / lab
    taken, problems, ignored = stage(root, lab, source_dir, dest, files)
    sandbox.give(dest)
    result = LabBuild(lab=lab, impl_dir=str(source_dir), impl=Step(False, "make"),
                      build_dir=str(dest), files=taken, missing=problems, ignored=ignored)
    deadline = timing.Deadline(BUILD_TIMEOUT)
    if not taken:
        result.impl = Step(False, "make", f"no file of this lab was found in {source_dir}: "
                           f"a submission holds {', '.join(files)}")
        return result
    result.impl = _jailed_make(sandbox, dest, [], deadline)
    result.warnings = warnings_of(result.impl.output, taken)
    objects = [dest / "build" / "plain" / (Path(f).stem + ".o") for f in taken if f.endswith(".c")]
    if result.impl.ok:
        refused = refused_objects(objects)
        if refused:
            result.impl = Step(False, "make", "refused by the grader:\n" + "\n".join(refused)
                               + "\nCode that runs before main() or after exit() is not "
                               "allowed in this course's labs.")
    if result.impl.ok and on_stage is not None:
        result.stage = "plain"
        on_stage(result)
    if result.impl.ok:
        _build_check_runners(sandbox, root, lab, dest, check_sources, deadline, result)
        if on_stage is not None:
            result.stage = "checks"
            on_stage(result)
    if result.impl.ok and san:
        san_dest = box / "build-san" / lab
        shutil.copytree(dest, san_dest, ignore=shutil.ignore_patterns("build", *_programs(dest)))
        sandbox.give(san_dest)
        result.san = _jailed_make(sandbox, san_dest, ["SAN=1"], deadline)
        result.san_dir = str(san_dest) if result.san.ok else ""
    result.stage = "done"
    return result


def step_times(build: LabBuild) -> list[list]:
    """[command, seconds] for every make the lab's build ran, in order."""
    steps = [[build.impl.command, build.impl.seconds]]
    steps += [[f"{runner['command']} ({Path(source).name})", runner.get("seconds", 0.0)]
              for source, runner in build.check_runners.items()]
    if build.san is not None:
        steps.append([build.san.command, build.san.seconds])
    return steps


def _programs(lab_dir: Path) -> list[str]:
    text = (lab_dir / "Makefile").read_text(errors="replace")
    m = re.search(r"^PROGRAMS\s*:?=\s*(.*)$", text, re.M)
    return m.group(1).split() if m else []


def _build_check_runners(sandbox: Sandbox, root: Path, lab: str, dest: Path,
                         check_sources: list[tuple[Path, bool]], deadline, result: LabBuild):
    staging = dest / ".check"
    runners = sandbox.box / "check" / lab
    runners.mkdir(parents=True, exist_ok=True)
    os.chmod(runners, 0o755)
    for source, hidden in check_sources:
        staging.mkdir(exist_ok=True)
        sandbox.give(staging)
        # The test and the headers of the lab's tests (public helpers such as
        # url_expect.h, captured packets); removed again right after linking.
        for tests in {source.parent, root / "labs" / lab / "tests"}:
            for helper in tests.rglob("*.h"):
                target = staging / helper.relative_to(tests)
                if not target.exists():
                    target.parent.mkdir(parents=True, exist_ok=True)
                    shutil.copyfile(helper, target)
        shutil.copyfile(source, staging / source.name)
        binary = runners / source.stem
        built = staging / source.stem
        # The test file is the course's code: compiled without optimisation
        # (half the time), linked with the student's objects of the plain build.
        step = _jailed_make(sandbox, dest, ["check-runner", f"CHECK_SRC=.check/{source.name}",
                                            f"CHECK_OUT=.check/{source.stem}"], deadline,
                            {"CFLAGS": CHECK_CFLAGS})
        ok = step.ok and built.is_file()
        if ok:
            shutil.move(str(built), binary)
            os.chown(binary, os.geteuid(), os.getegid())
            os.chmod(binary, 0o755)
        output = step.output
        if hidden and not ok:
            # A hidden test's text must not reach the report: keep only the
            # lines about the student's own files.
            output = "\n".join(line for line in output.splitlines()
                               if any(f in line for f in result.files))
        result.check_runners[str(source)] = {"ok": ok, "binary": str(binary), "output": output,
                                             "command": step.command, "hidden": hidden,
                                             "seconds": step.seconds}
        shutil.rmtree(staging, ignore_errors=True)


# --- reference peers ---------------------------------------------------------------------------

def cache_dir() -> Path:
    base = os.environ.get("NETLAB_CACHE") or os.path.join(
        os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache"),
        "netlab")
    return Path(base)


def _sources_hash(root: Path, lab: str) -> str:
    digest = hashlib.sha256()
    for directory in (root / "solutions" / lab, root / "common"):
        for path in sorted(directory.iterdir()):
            if path.is_file() and GIVEN.match(path.name):
                digest.update(f"{directory.name}/{path.name}\0".encode())
                digest.update(path.read_bytes())
    return digest.hexdigest()[:16]


def build_peer(root: Path, lab: str, cache: Path) -> tuple[Path | None, Step]:
    """The reference programs of lab, built once per version of their sources."""
    key = f"{lab}-{_sources_hash(root, lab)}"
    final = cache / key
    programs = final / "labs" / lab
    if (final / "complete").exists():
        return programs, Step(True, f"cached in {final}")
    cache.mkdir(parents=True, exist_ok=True)
    os.chmod(cache, 0o700)
    scratch = Path(tempfile.mkdtemp(prefix=f".{key}-", dir=cache))
    try:
        lab_dir = scratch / "labs" / lab
        lab_dir.mkdir(parents=True)
        (scratch / "common").mkdir()
        for directory, target in ((root / "solutions" / lab, lab_dir),
                                  (root / "common", scratch / "common")):
            for path in directory.iterdir():
                if path.is_file() and GIVEN.match(path.name):
                    shutil.copyfile(path, target / path.name)
        proc = subprocess.run(["make", "--no-print-directory", "-C", str(lab_dir)],
                              stdin=subprocess.DEVNULL, capture_output=True,
                              timeout=timing.scaled(180),
                              env={**os.environ, "LC_ALL": "C", "MAKEFLAGS": ""})
        step = Step(proc.returncode == 0, f"make -C {lab_dir}",
                    (proc.stdout + proc.stderr).decode("utf-8", "replace"))
        if not step.ok:
            return None, step
        (scratch / "complete").write_text("")
        try:
            os.rename(scratch, final)  # atomic: a concurrent grading may have won
        except OSError:
            if not (final / "complete").exists():
                raise
        return programs, step
    except subprocess.TimeoutExpired:
        return None, Step(False, f"make -C {lab}", "the reference did not build within 180 s")
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


def cached_compile(cache: Path | None, source: Path, output: Path, argv: list[str],
                   timeout: float = 120) -> Step:
    """Compile a trusted source of the grader (argv writes OUTPUT) once per
    version of it, keeping the result in the cache; copy it to output."""
    shown = " ".join(argv)
    key = hashlib.sha256(source.read_bytes() + shown.encode()).hexdigest()[:16]
    kept = cache / "tools" / f"{output.name}-{key}" if cache is not None else None
    if kept is not None and kept.exists():
        shutil.copyfile(kept, output)
        os.chmod(output, 0o755)
        return Step(True, f"cached: {shown}")
    if shutil.which(argv[0]) is None:
        return Step(False, shown, f"{argv[0]} is not installed: run `make setup`")
    try:
        proc = subprocess.run([a.replace("OUTPUT", str(output)) for a in argv],
                              stdin=subprocess.DEVNULL, capture_output=True,
                              timeout=timing.scaled(timeout))
    except subprocess.TimeoutExpired:
        return Step(False, shown, f"the compiler did not finish within {timeout} s")
    step = Step(proc.returncode == 0, shown, (proc.stdout + proc.stderr).decode("utf-8", "replace"))
    if step.ok and kept is not None:
        try:
            kept.parent.mkdir(parents=True, exist_ok=True)
            os.chmod(cache, 0o700)
            scratch = kept.with_name(kept.name + f".{os.getpid()}")
            shutil.copyfile(output, scratch)
            os.rename(scratch, kept)  # atomic: concurrent gradings may race
        except OSError:
            pass
    return step


# --- the run's build records --------------------------------------------------------------------
#
# The controlling process builds the labs in the background, two at a
# time and in the order of the labs, while the tests of the labs already
# built run (a build is mostly the compiler's CPU, a test mostly waiting).
# A lab's record is written at each stage of its build: "plain" once its
# programs are built (most tests need nothing else), "checks" once its
# Check runners are too, "done" once the sanitizer build has ended (or the
# build has failed, or ended early). Any process reads the records through
# Records, which waits for the stage a test needs.

STAGES = ("plain", "checks", "done")


def save_peers(peers: dict[str, str], directory: Path) -> None:
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "peers.json").write_text(json.dumps(peers, indent=1))


def load_peers(directory: Path) -> dict[str, str] | None:
    path = directory / "peers.json"
    return json.loads(path.read_text()) if path.exists() else None


def save_lab(build: LabBuild, directory: Path) -> None:
    """One lab's record, written atomically: a reader sees all of it or none."""
    directory.mkdir(parents=True, exist_ok=True)
    scratch = directory / f".{build.lab}.json"
    scratch.write_text(json.dumps(asdict(build), indent=1))
    os.rename(scratch, directory / f"{build.lab}.json")


def _load_lab(path: Path) -> LabBuild:
    raw = json.loads(path.read_text())
    raw["impl"] = Step(**raw["impl"])
    raw["reference"] = Step(**raw["reference"]) if raw.get("reference") else None
    raw["san"] = Step(**raw["san"]) if raw.get("san") else None
    return LabBuild(**raw)


class Records:
    """The labs' build records of a run, as a read-only mapping lab -> LabBuild.

    get(lab, stage) returns the lab's record once its build has reached
    stage (STAGES); until then the caller waits (a test's set-up), up to a
    deadline that covers every build queued before it."""

    def __init__(self, directory: Path, labs: list[str]):
        self.directory = Path(directory)
        self.labs = list(labs)
        self._read: dict[str, LabBuild] = {}

    def _reached(self, lab: str, stage: str) -> LabBuild | None:
        build = self._read.get(lab)
        if build is not None and STAGES.index(build.stage) >= STAGES.index(stage):
            return build
        return None

    def get(self, lab: str, default=None, stage: str = "plain") -> LabBuild | None:
        if lab not in self.labs:
            return default
        build = self._reached(lab, stage)
        if build is not None:
            return build
        path = self.directory / f"{lab}.json"
        # Two builds at a time, each within its own deadline, queued in the
        # labs' order: the last one ends within about half their sum.
        deadline = timing.Deadline((self.labs.index(lab) // 2 + 1) * (BUILD_TIMEOUT + 30))
        seen = None
        while True:
            try:
                version = path.stat()
                version = (version.st_ino, version.st_mtime_ns)
            except FileNotFoundError:
                version = None
            if version is not None and version != seen:
                seen = version
                self._read[lab] = _load_lab(path)
                build = self._reached(lab, stage)
                if build is not None:
                    return build
            if deadline.expired():
                return LabBuild(lab=lab, impl_dir="", impl=Step(False, "make"),
                                course_error=f"the grader's build of {lab} did not reach its "
                                             f"{stage!r} stage within {deadline.seconds:g} s")
            # ok: nothing announces a file written by another process; a bounded re-check
            time.sleep(min(0.02, deadline.remaining()))

    def __getitem__(self, lab: str) -> LabBuild:
        build = self.get(lab)
        if build is None:
            raise KeyError(lab)
        return build

    def __contains__(self, lab: str) -> bool:
        return lab in self.labs


class Builder:
    """Builds labs in the background, two at a time in the order given:
    build(lab, on_stage) -> LabBuild calls on_stage(record) at each stage
    before the last, and each record is saved as soon as it is there."""

    def __init__(self, build, labs: list[str], directory: Path):
        self._build, self.directory = build, Path(directory)
        self.builds: dict[str, LabBuild] = {}
        _CANCELLED.clear()
        self._start = time.monotonic()
        self._pool = ThreadPoolExecutor(2, thread_name_prefix="netlab-build")
        self._futures = [self._pool.submit(self._one, lab) for lab in labs]

    def _one(self, lab: str) -> None:
        start = time.monotonic()

        def on_stage(build: LabBuild) -> None:
            build.ready[build.stage] = round(time.monotonic() - self._start, 3)
            save_lab(build, self.directory)

        try:
            build = self._build(lab, on_stage)
        except Exception as exc:  # a bug of the grader: the lab's tests say so, none waits
            build = LabBuild(lab=lab, impl_dir="", impl=Step(False, "make"),
                             course_error=f"the grader failed while building {lab}: "
                                          f"{type(exc).__name__}: {exc}")
        build.stage = "done"
        build.seconds = round(time.monotonic() - start, 3)
        on_stage(build)
        self.builds[lab] = build

    def stop(self) -> None:
        """Once every build has ended, or now (the grading ends early): queued
        builds do not start, running make processes are killed."""
        if not all(future.done() for future in self._futures):
            _CANCELLED.set()
            for future in self._futures:
                future.cancel()
            with _RUNNING_LOCK:
                for proc in _RUNNING:
                    try:
                        os.killpg(proc.pid, 9)
                    except (ProcessLookupError, PermissionError):
                        pass
        self._pool.shutdown(wait=True)

    def times(self) -> dict:
        """Per lab: the whole build's seconds, when each stage was ready (in
        seconds since the builds began) and each make's seconds."""
        return {lab: {"seconds": b.seconds, "ready": b.ready, "steps": step_times(b)}
                for lab, b in self.builds.items()}
