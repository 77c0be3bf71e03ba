"""Processes under test: started, limited, watched and always reaped.

Every child the grader starts
- runs in its own session and process group (start_new_session), so that the
  whole group, grandchildren included, can be killed when the test ends;
- runs under resource limits set by util-linux's prlimit(1) just before it
  execs (CPU seconds, address space, processes, file size, open files, no
  core files), so no preexec_fn is needed in a process that has threads;
- has a wall-clock deadline, after which its group is killed;
- reads stdin from a file and writes stdout and stderr to files, so nothing
  can deadlock on a pipe and the file-size limit caps runaway output.
"""
from __future__ import annotations

import os
import shutil
import signal
import stat
import subprocess
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

from . import hang, sanitizers, sockets, timing
from .cgroup import PidsCgroup
from .valgrind import ValgrindReport, valgrind_argv, read_valgrind_log

MiB = 1024 * 1024

# The grading run's sandbox (netgrader.sandbox.Sandbox), set by the plugin:
# every program built from the submission runs inside its jail.
SANDBOX = None


def _source_roots(argv) -> list[str]:
    """Where a program's own sources were compiled: its lab's build
    directory (its frames are the student's in a Valgrind report)."""
    program = Path(str(argv[0]))
    return [str(program.parent)] if jailed([program]) else []


def jailed(argv) -> bool:
    return SANDBOX is not None and SANDBOX.active and SANDBOX.is_student(argv)


def program_pid(pid: int, hops: int) -> int:
    """The pid of the program itself when it runs under `hops` launcher
    processes that fork (the jail: jail -> its init -> the program)."""
    current = pid
    for _ in range(hops):
        try:
            children = Path(f"/proc/{current}/task/{current}/children").read_text().split()
        except OSError:
            return current
        if len(children) != 1:
            return current
        current = int(children[0])
    return current


@dataclass
class Limits:
    """Resource limits of one child (see setrlimit(2))."""

    cpu_seconds: int = 30
    address_space: int = 2048 * MiB
    processes: int = 256
    file_size: int = 512 * MiB
    open_files: int = 256

    def prlimit_argv(self, valgrind: bool) -> list[str]:
        argv = [
            "prlimit",
            f"--cpu={self.cpu_seconds}",
            f"--nofile={self.open_files}",
            f"--fsize={self.file_size}",
            f"--nproc={self.processes}",
            "--core=0",
        ]
        # Valgrind reserves a large address space of its own.
        if not valgrind:
            argv.append(f"--as={self.address_space}")
        return argv + ["--"]


def child_env(extra: dict | None = None) -> dict:
    """A small, predictable environment: C locale, so strerror is English."""
    env = {
        "PATH": os.environ.get("PATH", "/usr/local/bin:/usr/bin:/bin"),
        "LANG": "C",
        "LC_ALL": "C",
        "HOME": os.environ.get("HOME", "/tmp"),
        "TMPDIR": os.environ.get("TMPDIR", "/tmp"),
    }
    if extra:
        env.update(extra)
    return env


SIGNAL_MEANING = {
    signal.SIGSEGV: "invalid memory access",
    signal.SIGABRT: "abort(), often a failed assert or a corrupted heap",
    signal.SIGBUS: "bad memory access",
    signal.SIGFPE: "arithmetic error, e.g. division by zero",
    signal.SIGPIPE: "wrote to a socket or pipe whose reader had gone; ignore SIGPIPE",
    signal.SIGKILL: "killed",
    signal.SIGXCPU: "CPU time limit exceeded",
    signal.SIGXFSZ: "output size limit exceeded",
    signal.SIGILL: "illegal instruction",
}


def describe_signal(signo: int) -> str:
    try:
        name = signal.Signals(signo).name
    except ValueError:
        name = f"signal {signo}"
    meaning = SIGNAL_MEANING.get(signo)
    return f"{name} ({meaning})" if meaning else name


def kill_group(pgid: int) -> None:
    """SIGKILL a whole process group; quietly nothing if it is already gone."""
    try:
        os.killpg(pgid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass


def tail(data: bytes, lines: int = 12, chars: int = 2000) -> str:
    text = data[-chars:].decode("utf-8", "replace")
    return "\n".join(text.splitlines()[-lines:])


@dataclass
class Result:
    """What one finished run of a program did."""

    argv: list[str]
    label: str
    returncode: int | None = None  # None when it died by a signal or was killed
    signal: int | None = None
    timed_out: bool = False
    timeout: float = 0.0
    stdout: bytes = b""
    stderr: bytes = b""
    output_capped: bool = False
    duration: float = 0.0
    valgrind: ValgrindReport | None = None
    blocked: str = ""  # for a program that missed its deadline: where it was stuck

    def describe_exit(self) -> str:
        if self.timed_out:
            return (f"did not finish within {self.timeout:g} s, so it was killed"
                    + (f"; it was {self.blocked}" if self.blocked else ""))
        if self.output_capped:
            return "killed: its output passed the grader's size limit"
        if self.signal is not None:
            return f"killed by {describe_signal(self.signal)}"
        return f"exit status {self.returncode}"

    @property
    def stderr_text(self) -> str:
        return self.stderr.decode("utf-8", "replace")

    @property
    def stdout_text(self) -> str:
        return self.stdout.decode("utf-8", "replace")


def _status(returncode: int) -> tuple[int | None, int | None]:
    """(exit code, signal) from Popen's returncode."""
    if returncode < 0:
        return None, -returncode
    return returncode, None


@dataclass
class Journal:
    """What one test did, for its failure report: steps and programs run."""

    steps: list[str] = field(default_factory=list)
    programs: list[tuple[str, "Path"]] = field(default_factory=list)
    memcheck: str = ""  # "sanitizers": valgrind runs use the sanitizer build instead
    fault_plans: list = field(default_factory=list)  # FaultPlans and impair.Proxies: .summary()
    servers: list = field(default_factory=list)  # every Server started in the test

    def step(self, text: str) -> None:
        self.steps.append(text)

    def stderr_tails(self) -> list[tuple[str, str]]:
        tails = []
        for label, path in self.programs:
            try:
                data = path.read_bytes()
            except OSError:
                continue
            if data.strip():
                tails.append((label, tail(data)))
        return tails


def show_argv(argv) -> str:
    """A command line for the transcript: one line, long arguments shortened,
    the submission's programs as the student runs them (./tcpcat)."""
    parts = []
    for a in argv:
        a = str(a).replace("\n", "\\n")
        if SANDBOX is not None and a.startswith(str(SANDBOX.box) + "/build"):
            a = "./" + Path(a).name + (" (sanitizer build)" if "/build-san/" in a else "")
        parts.append(a if len(a) <= 60 else a[:57] + "...")
    return " ".join(parts)


def _describe_input(stdin) -> str:
    if stdin is None:
        return ""
    if isinstance(stdin, (bytes, bytearray)):
        if len(stdin) <= 40 and all(32 <= b < 127 or b in (9, 10, 13) for b in stdin):
            return f" < {bytes(stdin)!r}"
        return f" < ({len(stdin)} bytes)"
    return f" < {stdin}"


class Runner:
    """Starts programs for one test; every process it starts ends with it."""

    def __init__(self, workdir: Path, journal: Journal, env: dict | None = None,
                 wrap: list[str] | None = None):
        self.workdir = Path(workdir)
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.journal = journal
        self.env = env or {}
        self.wrap = wrap or []  # e.g. a namespace wrapper placed before prlimit
        self._count = 0
        self._count_lock = threading.Lock()  # tests may run several programs from threads
        self._servers: list[Server] = []

    def _files(self, label: str) -> tuple[Path, Path, Path]:
        with self._count_lock:
            self._count += 1
            count = self._count
        stem = self.workdir / f"{count:02d}-{Path(label).name}"
        return (stem.with_suffix(".stdin"), stem.with_suffix(".stdout"),
                stem.with_suffix(".stderr"))

    def _memcheck(self, argv, valgrind: bool, env: dict | None):
        """In a test's [sanitizers] run, a program of the submission that the
        test runs under Valgrind runs as its sanitizer build instead."""
        if not (valgrind and self.journal.memcheck == "sanitizers" and jailed(argv)):
            return argv, valgrind, env, False
        argv = [sanitizers.san_program(str(argv[0]), SANDBOX.box), *argv[1:]]
        if not Path(argv[0]).exists():
            raise EnvironmentError_("the sanitizer build (make SAN=1) of this lab failed although "
                                    "the plain build worked: is gcc's libasan there (make setup)?")
        return argv, False, {**sanitizers.ENV, **(env or {})}, True

    def _argv(self, argv, limits: Limits, valgrind_log: Path | None,
              cgroup: PidsCgroup, cwd=None, big_address_space: bool = False) -> list[str]:
        argv = [str(a) for a in argv]
        if shutil.which("prlimit") is None:
            raise EnvironmentError_("prlimit (util-linux) is missing")
        # Valgrind and AddressSanitizer reserve large address spaces of their own.
        inner = limits.prlimit_argv(valgrind_log is not None or big_address_space)
        if valgrind_log is not None:
            inner += valgrind_argv(valgrind_log)
        inner += argv
        if jailed(argv):
            # The program may write where its test put files for it.
            SANDBOX.open_up(self.workdir.parent)
            inner = SANDBOX.wrap(inner, chdir=str(cwd or self.workdir))
        return cgroup.prefix() + list(self.wrap) + inner

    def run(self, argv, *, stdin=None, timeout: float = 10, limits: Limits | None = None,
            valgrind: bool = False, env: dict | None = None, cwd=None,
            label: str | None = None) -> Result:
        """Run a program to completion (or its deadline) and return a Result.

        stdin is bytes, a path, or None (empty input).
        """
        label = label or Path(str(argv[0])).name
        limits = limits or Limits()
        argv, valgrind, env, sanitized = self._memcheck(argv, valgrind, env)
        in_path, out_path, err_path = self._files(label)
        if isinstance(stdin, (bytes, bytearray)):
            in_path.write_bytes(stdin)
        elif stdin is None:
            in_path.write_bytes(b"")
        else:
            in_path = Path(stdin)
        vg_log = out_path.with_suffix(".valgrind") if valgrind else None
        cgroup = PidsCgroup(limits.processes)
        full = self._argv(argv, limits, vg_log, cgroup, cwd, big_address_space=sanitized)
        shown = show_argv(argv)
        wall = timing.scaled(timeout) * (4 if valgrind else 2 if sanitized else 1)
        merged_env = child_env({**self.env, **(env or {})})
        self.journal.programs.append((label, err_path))

        start = time.monotonic()
        with open(in_path, "rb") as fin, open(out_path, "wb") as fout, \
                open(err_path, "wb") as ferr:
            proc = subprocess.Popen(full, stdin=fin, stdout=fout, stderr=ferr,
                                    cwd=cwd or self.workdir, env=merged_env,
                                    start_new_session=True, close_fds=True)
        timed_out = False
        blocked = ""
        try:
            proc.wait(timeout=wall)
        except subprocess.TimeoutExpired:
            timed_out = True
            blocked = hang.blocked_in(proc.pid, program=str(argv[0]))  # before the kill
            kill_group(proc.pid)
            proc.wait()
        finally:
            # Whatever it forked is gone with it, even children that left
            # the process group with setsid.
            kill_group(proc.pid)
            cgroup.kill_all()
        result = Result(argv=[str(a) for a in argv], label=label, timeout=wall,
                        duration=time.monotonic() - start, timed_out=timed_out)
        result.returncode, result.signal = _status(proc.returncode)
        result.blocked = blocked
        result.stdout = out_path.read_bytes()
        result.stderr = err_path.read_bytes()
        result.output_capped = result.signal == signal.SIGXFSZ
        if vg_log is not None:
            result.valgrind = read_valgrind_log(vg_log, roots=_source_roots(argv))
        if sanitized:
            result.valgrind = sanitizers.report(result.stderr, result.returncode)
        self.journal.step(f"ran `{shown}`{_describe_input(stdin)}: {result.describe_exit()}"
                          + (f", {len(result.stdout)} bytes on stdout" if result.stdout else ""))
        return result

    def start_server(self, argv, *, listening_timeout: float = 10, limits: Limits | None = None,
                     valgrind: bool = False, env: dict | None = None, cwd=None,
                     label: str | None = None, unix_path: str | None = None) -> "Server":
        """Start a server and wait for its `listening on port N` line (with
        unix_path: its `listening on PATH` line, PATH a Unix-domain socket)."""
        label = label or Path(str(argv[0])).name
        limits = limits or Limits(cpu_seconds=60)
        argv, valgrind, env, sanitized = self._memcheck(argv, valgrind, env)
        _, out_path, err_path = self._files(label)
        vg_log = out_path.with_suffix(".valgrind") if valgrind else None
        cgroup = PidsCgroup(limits.processes)
        full = self._argv(argv, limits, vg_log, cgroup, cwd, big_address_space=sanitized)
        server = Server(full, [str(a) for a in argv], label, err_path, vg_log,
                        child_env({**self.env, **(env or {})}), cwd or self.workdir,
                        self.journal, cgroup)
        server.sanitized = sanitized
        server.unix_path = None if unix_path is None else str(unix_path)
        self.journal.programs.append((label, err_path))
        self.journal.servers.append(server)
        self._servers.append(server)
        server.start()
        server.wait_listening(listening_timeout * (4 if valgrind else 2 if sanitized else 1))
        return server

    def close(self) -> None:
        """Kill whatever is still running (test teardown)."""
        for server in self._servers:
            server.kill()


class EnvironmentError_(Exception):
    """The grader's own environment is broken (a tool is missing): not the student's fault."""


class ServerError(AssertionError):
    """A server did not start or stop as the contract says."""

    def __init__(self, what: str, expected: str, got: str, hint: str):
        super().__init__(f"{what}: expected {expected}; got {got}")
        self.what, self.expected, self.got, self.hint = what, expected, got, hint


LISTENING_PREFIX = b"listening on port "


class Server:
    """A running server whose stdout is read line by line in a thread."""

    def __init__(self, full_argv, argv, label, err_path, vg_log, env, cwd, journal,
                 cgroup: PidsCgroup):
        self.cgroup = cgroup
        self.sanitized = False
        self.unix_path: str | None = None  # announced as `listening on PATH` instead of a port
        self._stopping = False
        self.full_argv, self.argv, self.label = full_argv, argv, label
        self.err_path, self.vg_log = err_path, vg_log
        self.env, self.cwd, self.journal = env, cwd, journal
        self.port: int | None = None
        self.stdout = bytearray()
        self.returncode: int | None = None
        self.valgrind: ValgrindReport | None = None
        self._proc: subprocess.Popen | None = None
        self._cond = threading.Condition()
        self._eof = False
        self._reader: threading.Thread | None = None

    def start(self) -> None:
        with open(self.err_path, "wb") as ferr:
            self._proc = subprocess.Popen(self.full_argv, stdin=subprocess.DEVNULL,
                                          stdout=subprocess.PIPE, stderr=ferr,
                                          cwd=self.cwd, env=self.env,
                                          start_new_session=True, close_fds=True)
        self.journal.step(f"started server `{show_argv(self.argv)}`")
        self._reader = threading.Thread(target=self._read_stdout, daemon=True)
        self._reader.start()

    def _read_stdout(self) -> None:
        assert self._proc is not None and self._proc.stdout is not None
        fd = self._proc.stdout.fileno()
        while True:
            try:
                chunk = os.read(fd, 65536)
            except OSError:
                chunk = b""
            with self._cond:
                if not chunk:
                    self._eof = True
                    self._cond.notify_all()
                    return
                # Keep a bounded amount: a server that floods stdout is cut off.
                if len(self.stdout) < 1 * MiB:
                    self.stdout += chunk
                self._cond.notify_all()

    def stderr_text(self) -> str:
        try:
            return self.err_path.read_bytes().decode("utf-8", "replace")
        except OSError:
            return ""

    def _first_line(self) -> bytes | None:
        nl = self.stdout.find(b"\n")
        return bytes(self.stdout[:nl]) if nl >= 0 else None

    def wait_listening(self, timeout: float) -> int:
        deadline = timing.Deadline(timeout)
        with self._cond:
            while self._first_line() is None and not self._eof and not deadline.expired():
                self._cond.wait(min(0.2, deadline.remaining()) or 0.01)
            first = self._first_line()
        expected = (f"`listening on {self.unix_path}`" if self.unix_path is not None else
                    "`listening on port N`") + " as the first line on stdout, flushed"
        hint = ("Print the line with printf and then fflush(stdout) once the socket is bound "
                "(and listening, for TCP): stdout is fully buffered when it is not a terminal.")
        if first is None:
            if self._eof:
                # stdout ends both when the server exits and when it closes
                # stdout: the exit follows at once in the first case.
                try:
                    self._proc.wait(timeout=timing.scaled(1))
                except subprocess.TimeoutExpired:
                    pass
            if self._eof and self.alive():
                got = "it closed its stdout without printing a line"
            elif self._eof:
                got = f"the server exited ({self._describe_exit()}) first"
                hint = ("Your server ended before announcing its port: its stderr below says "
                        "why. A server sets up its socket, prints `listening on port N`, "
                        "flushes, and serves until SIGTERM.")
            else:
                blocked = hang.blocked_in(self._proc.pid, program=self.argv[0])
                got = f"nothing within {deadline.seconds:g} s" + (
                    f"; it was {blocked}" if blocked else "")
            self.kill()
            seen = bytes(self.stdout[:200])
            if seen:
                got += f"; its stdout so far: {seen!r}"
            raise ServerError(f"starting `{show_argv(self.argv)}`", expected, got, hint)
        text = first.rstrip(b"\r")
        if self.unix_path is not None:
            return self._check_unix_line(text)
        if not text.startswith(LISTENING_PREFIX) or not text[len(LISTENING_PREFIX):].isdigit():
            self.kill()
            raise ServerError(f"starting `{show_argv(self.argv)}`", expected,
                              f"first line {text[:120]!r}", hint)
        port = int(text[len(LISTENING_PREFIX):])
        if not 0 < port < 65536:
            self.kill()
            raise ServerError(f"starting `{show_argv(self.argv)}`", expected,
                              f"port {port}", "The port must be the one the kernel chose "
                              "(getsockname after bind), not 0.")
        self.journal.step(f"server said it listens on port {port}")
        self._check_port_is_bound(port)
        self.port = port
        return port

    def _check_unix_line(self, text: bytes) -> int:
        """`listening on PATH`, PATH the Unix-domain socket the server was
        told to use, which must then be a socket file."""
        path = self.unix_path
        want = f"listening on {path}"
        if text != want.encode():
            self.kill()
            raise ServerError(f"starting `{show_argv(self.argv)}`",
                              f"`{want}` as the first line on stdout, flushed",
                              f"first line {text[:160]!r}",
                              "Print `listening on ` and the path exactly as given, once the "
                              "socket is bound and listening, then fflush(stdout).")
        where = os.path.join(str(self.cwd), path)  # a relative PATH is the server's
        try:
            is_socket = stat.S_ISSOCK(os.stat(where).st_mode)
        except OSError:
            is_socket = False
        if not is_socket:
            self.kill()
            raise ServerError(f"starting `{show_argv(self.argv)}`",
                              f"a Unix-domain socket at {path}",
                              "no socket file there" if not os.path.lexists(where) else
                              "a file that is not a socket",
                              "bind() an AF_UNIX socket to the path (it creates the file), "
                              "listen(), then print the line.")
        self.journal.step(f"server said it listens on {path}")
        return 0

    def _check_port_is_bound(self, port: int) -> None:
        """The announced port must be one the server's processes hold."""
        assert self._proc is not None
        held = sockets.bound_ports(self._proc.pid)
        if port in held["tcp"] or port in held["udp"]:
            return
        self.kill()
        others = sorted(held["tcp"] | held["udp"])
        got = (f"it holds no socket on port {port}"
               + (f"; it is bound to port {', '.join(map(str, others))}" if others else ""))
        raise ServerError(f"starting `{show_argv(self.argv)}`",
                          f"a socket listening on port {port}, the port it announced", got,
                          "Print the port the kernel gave you: after bind, getsockname() fills "
                          "in the real port; convert it with ntohs().")

    def _describe_exit(self) -> str:
        if self._proc is None:
            return "not started"
        rc = self._proc.poll()
        if rc is None:
            return "still running"
        code, sig = _status(rc)
        return f"killed by {describe_signal(sig)}" if sig else f"exit status {code}"

    def alive(self) -> bool:
        return self._proc is not None and self._proc.poll() is None

    def died_unasked(self) -> str:
        """'' while running or after a stop the test asked for; else how the
        server ended on its own (so a client test can blame the right one)."""
        if self._proc is None or self._stopping or self._proc.poll() is None:
            return ""
        return f"the server `{Path(self.argv[0]).name}` died during the test: {self._describe_exit()}"

    @property
    def pid(self) -> int:
        """The server's own pid (inside the jail: the program, not its launcher)."""
        assert self._proc is not None
        return program_pid(self._proc.pid, 2) if jailed(self.argv) else self._proc.pid

    def open_fds(self) -> int:
        """How many descriptors the server holds now (from /proc)."""
        return len(os.listdir(f"/proc/{self.pid}/fd"))

    def stop(self, timeout: float = 5, expect_exit: int | None = 0) -> int | None:
        """SIGTERM, wait for the exit; fail unless it exits with expect_exit."""
        assert self._proc is not None
        self._stopping = True
        wall = timing.scaled(timeout) * (4 if self.vg_log else 2 if self.sanitized else 1)
        if self._proc.poll() is None:
            try:
                os.kill(self._proc.pid, signal.SIGTERM)
            except ProcessLookupError:
                pass
        try:
            self._proc.wait(timeout=wall)
        except subprocess.TimeoutExpired:
            blocked = hang.blocked_in(self._proc.pid, program=self.argv[0])
            self.kill()
            raise ServerError(f"stopping `{show_argv(self.argv)}` with SIGTERM",
                              f"it exits within {wall:g} s",
                              "it was still running, so it was killed"
                              + (f"; it was {blocked}" if blocked else ""),
                              "Install a SIGTERM handler with sigaction that makes the main loop "
                              "end (a volatile sig_atomic_t flag; accept() then fails with EINTR).")
        kill_group(self._proc.pid)
        self.cgroup.kill_all()
        self._finish()
        self.journal.step(f"sent SIGTERM to the server: {self._describe_exit()}")
        if expect_exit is not None and self._proc.returncode != expect_exit:
            raise ServerError(f"stopping `{show_argv(self.argv)}` with SIGTERM",
                              f"exit status {expect_exit}", self._describe_exit(),
                              "On SIGTERM a server frees what it holds, closes its sockets and "
                              "exits 0.")
        return self._proc.returncode

    def _finish(self) -> None:
        if self._reader is not None:
            self._reader.join(timeout=timing.scaled(5))
        if self._proc is not None and self._proc.stdout is not None:
            self._proc.stdout.close()
        self.returncode = self._proc.returncode if self._proc else None
        if self.vg_log is not None and self.valgrind is None:
            self.valgrind = read_valgrind_log(self.vg_log, roots=_source_roots(self.argv))
        if self.sanitized and self.valgrind is None:
            try:
                err = self.err_path.read_bytes()
            except OSError:
                err = b""
            code, _ = _status(self._proc.returncode) if self._proc and \
                self._proc.returncode is not None else (None, None)
            self.valgrind = sanitizers.report(err, code)

    def kill(self) -> None:
        if self._proc is None:
            return
        self._stopping = True
        kill_group(self._proc.pid)
        self.cgroup.kill_all()
        try:
            self._proc.wait(timeout=timing.scaled(5))
        except subprocess.TimeoutExpired:
            pass
        self._finish()
