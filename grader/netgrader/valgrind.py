"""Running a program under Valgrind's memcheck and reading its verdict.

These findings fail a test:
- memory errors: invalid reads and writes, uninitialised values, bad frees,
  system calls given bad buffers;
- leaks: blocks definitely, indirectly or possibly lost, and blocks still
  reachable at exit (a program that exits normally, a server on SIGTERM
  included, frees what it allocated: a list kept in a global until exit is
  a leak too; glibc's own buffers are released by Valgrind's call to
  __libc_freeres and do not show);
- descriptors still open at exit, other than those inherited (0, 1, 2 and
  whatever the grader left open);
- death by a signal (then blocks still reachable are not counted: neither
  glibc nor the program had a chance to free them);
- Valgrind itself failing to run the program.

The log is parsed into findings with their stacks. A frame is the
student's own ("own") when its source file lies in one of the roots given to
the parser (the lab directory), or, without roots, when it has an absolute
source path outside the system's directories: Valgrind runs with
--fullpath-after= so that glibc's frames (whose debug information names
relative paths such as io/../sysdeps/.../write.c) cannot pass for a
student's write.c.

summary(), detail() and hint() render a report for a failure message;
rerun_command() is the command line a student types to see the same verdict.
"""
from __future__ import annotations

import os
import re
import shlex
from dataclasses import dataclass, field
from pathlib import Path

VALGRIND_ERROR_EXIT = 99

LEAK_KINDS = ("definitely lost", "indirectly lost", "possibly lost", "still reachable")


def memcheck_options(reachable: bool = True) -> list[str]:
    """The options that decide the verdict (shared by the grader and the rerun line).

    reachable=False tolerates blocks still reachable at exit (for a program
    killed mid-way or ending in exit() from deep inside, where that is
    acceptable by the test's own judgement)."""
    kinds = "definite,indirect,possible" + (",reachable" if reachable else "")
    return [
        "--leak-check=full",
        f"--show-leak-kinds={kinds}",
        f"--errors-for-leak-kinds={kinds}",
        "--track-fds=yes",
        "--child-silent-after-fork=yes",
        f"--error-exitcode={VALGRIND_ERROR_EXIT}",
    ]


def valgrind_argv(log: Path, reachable: bool = True) -> list[str]:
    """The prefix that runs a program under memcheck with its log in log."""
    return ["valgrind", "-q", "--tool=memcheck", *memcheck_options(reachable),
            "--fullpath-after=", f"--log-file={log}"]


def rerun_command(argv, cwd, *, stdin: str | None = None, env: dict | None = None,
                  reachable: bool = True) -> str:
    """A shell command that reruns argv under the same memcheck options from cwd.

    The program's path is made relative to cwd (./prog) when it lies below
    it; other arguments are kept as they are. Only the options that change
    Valgrind's output, not its verdict, differ from the grader's (no log
    file, short source names). stdin is a file to redirect from; env holds
    variables to set for the program (e.g. LD_PRELOAD of a fault injector).
    """
    argv = [str(a) for a in argv]
    if argv:
        argv[0] = _relative_program(argv[0], cwd)
    words = ["valgrind", "-q", *memcheck_options(reachable), *argv]
    line = shlex.join(words)
    if env:
        line = " ".join(f"{k}={shlex.quote(str(v))}" for k, v in env.items()) + " " + line
    if stdin is not None:
        line += " < " + shlex.quote(str(stdin))
    return line


def _relative_program(program: str, cwd) -> str:
    if not os.path.isabs(program) or cwd is None:
        return program
    rel = os.path.relpath(os.path.normpath(program), os.path.normpath(os.path.abspath(cwd)))
    if rel == ".." or rel.startswith("../"):
        return program
    return rel if "/" in rel else "./" + rel


# ---------------------------------------------------------------- the model

SYSTEM_PREFIXES = ("/usr/", "/lib/", "/lib64/", "/build/", "/opt/", "/snap/")


@dataclass
class Frame:
    function: str
    file: str = ""      # the source file as Valgrind printed it (a full path here)
    line: int = 0
    obj: str = ""       # the object, when Valgrind knows no source line
    own: bool = False   # in the program's own sources
    shown: str = ""     # the file as a student reads it (relative to the root)

    def render(self) -> str:
        if self.file:
            name = self.shown if self.own else os.path.basename(self.file)
            return f"{self.function} ({name}:{self.line})"
        if self.obj:
            return f"{self.function} (in {os.path.basename(self.obj)})"
        return self.function


@dataclass
class Finding:
    """One memory error: its kind (Valgrind's header) and stacks."""

    kind: str
    stack: list[Frame] = field(default_factory=list)
    # Further explanations, each with its own stack, e.g.
    # ("Address 0x4a42068 is 0 bytes after a block of size 40 alloc'd", [calloc, main])
    notes: list[tuple[str, list[Frame]]] = field(default_factory=list)


@dataclass
class Leak:
    kind: str           # one of LEAK_KINDS
    bytes: int          # bytes of the blocks themselves
    total: int          # with the blocks only they point to (indirect)
    blocks: int
    stack: list[Frame] = field(default_factory=list)   # where they were allocated


@dataclass
class OpenFd:
    fd: int
    what: str           # "AF_INET socket 127.0.0.1:52687 <-> unbound", "/etc/hostname", ...
    stack: list[Frame] = field(default_factory=list)   # where it was opened


@dataclass
class ValgrindReport:
    log: str = ""
    findings: list[Finding] = field(default_factory=list)
    leaks: list[Leak] = field(default_factory=list)
    fds: list[OpenFd] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)  # reported, not counted
    fatal: str = ""     # Valgrind could not run the program (or wrote no log)
    # "Process terminating with default action of signal 11 (SIGSEGV)" and where
    terminated: Finding | None = None

    @property
    def clean(self) -> bool:
        return not (self.findings or self.leaks or self.fds or self.fatal or self.terminated)

    @property
    def first_error(self) -> Finding | None:
        return self.findings[0] if self.findings else None

    def leak_totals(self) -> dict[str, tuple[int, int]]:
        """{kind: (bytes, blocks)} over every loss record, in LEAK_KINDS order."""
        totals: dict[str, tuple[int, int]] = {}
        for kind in LEAK_KINDS:
            records = [leak for leak in self.leaks if leak.kind == kind]
            if records:
                totals[kind] = (sum(r.bytes for r in records), sum(r.blocks for r in records))
        return totals

    # One line per finding, for callers that list them.
    @property
    def errors(self) -> list[str]:
        lines = [f"{f.kind} {_where(f.stack)}" for f in self.findings]
        if self.terminated:
            lines.append(f"{self.terminated.kind} {_where(self.terminated.stack)}")
        lines += [f"{_amount(b, n)} {kind}" for kind, (b, n) in self.leak_totals().items()]
        if self.fatal:
            lines.append(self.fatal.splitlines()[0])
        return lines

    @property
    def open_fds(self) -> list[str]:
        return [f"fd {d.fd}: {d.what}" + (f", {_where(d.stack, 'opened')}" if d.stack else "")
                for d in self.fds]

    def summary(self) -> str:
        return summary(self)

    def excerpt(self, lines: int = 30) -> str:
        return detail(self, lines)


# ---------------------------------------------------------------- parsing

_PID = re.compile(r"^==\d+==(?: |$)")
_FRAME = re.compile(r"^\s+(?:at|by) 0x[0-9A-Fa-f]+: (.*?)(?: \((.*)\))?$")
_SOURCE = re.compile(r"^(.*):(\d+)$")
_FD = re.compile(r"^Open (file descriptor|AF_\w+ socket) (\d+):?\s*(.*)$")
_LEAK = re.compile(r"^([\d,]+)(?: \(([\d,]+) direct, ([\d,]+) indirect\))? bytes in ([\d,]+) "
                   r"blocks? (?:are|is) (definitely lost|indirectly lost|possibly lost|"
                   r"still reachable) in loss record")
# Lines of the full (not -q) output that are summaries, not findings.
_SKIP = ("HEAP SUMMARY", "LEAK SUMMARY", "ERROR SUMMARY", "in use at exit", "total heap usage",
         "All heap blocks", "For lists of", "For counts of", "Rerun with", "To see them",
         "Reachable blocks", "suppressed:", "definitely lost:", "indirectly lost:",
         "possibly lost:", "still reachable:", "FILE DESCRIPTORS:", "Memcheck,", "Copyright",
         "Using Valgrind", "Command:", "Parent PID:", "Use --track-origins",
         "If you believe this happened", "overflow in your program", "possible, you can try",
         "main thread stack using", "The main thread stack size", "Process terminating")


def _number(text: str) -> int:
    return int(text.replace(",", ""))


def _is_own(path: str, roots: tuple[str, ...]) -> bool:
    if not os.path.isabs(path):
        return False
    path = os.path.normpath(path)
    if roots:
        return any(path == r or path.startswith(r + os.sep) for r in roots)
    return not path.startswith(SYSTEM_PREFIXES)


def _shown(path: str, roots: tuple[str, ...]) -> str:
    path = os.path.normpath(path)
    for root in roots:
        if path.startswith(root + os.sep):
            return os.path.relpath(path, root)
    return os.path.basename(path)


def _frame(match: re.Match, roots: tuple[str, ...]) -> Frame:
    function, where = match.group(1), match.group(2) or ""
    if where.startswith("in "):
        obj = where[3:]
        return Frame(function, obj=obj, own=bool(roots) and _is_own(obj, roots))
    source = _SOURCE.match(where)
    if source:
        path, line = source.group(1), int(source.group(2))
        own = _is_own(path, roots)
        return Frame(function, path, line, own=own, shown=_shown(path, roots) if own else "")
    return Frame(function)


def parse_valgrind_log(text: str, roots=()) -> ValgrindReport:
    """Parse a memcheck log (any of -q or not); roots: the program's source directories."""
    roots = tuple(os.path.normpath(os.path.abspath(str(r))) for r in roots)
    report = ValgrindReport(log=text)
    lines = []
    startup = []
    for raw in text.splitlines():
        m = _PID.match(raw)
        if m:
            lines.append(raw[m.end():])
        elif raw.strip():  # e.g. "valgrind:  Fatal error at startup: ..."
            startup.append(raw.strip())
    if startup and not lines:
        said = [s for s in startup if s.removeprefix("valgrind:").strip()]
        report.fatal = "\n".join(s.removeprefix("valgrind:").strip() for s in said[:12]) \
            or "valgrind failed before running the program"

    # Blocks: a header line (not indented) and its indented lines.
    blocks: list[tuple[str, list[str]]] = []
    for line in lines:
        if not line.strip():
            continue
        if line[0] != " ":
            blocks.append((line.strip(), []))
        elif blocks:
            blocks[-1][1].append(line)
    for header, body in blocks:
        _add_block(report, header, body, roots)
    report.fds.sort(key=lambda d: d.fd)
    if report.terminated is not None:
        # Killed by a signal, the program never reached exit(): glibc kept
        # its buffers (Valgrind releases them only at a normal exit) and the
        # program its memory. The crash is the finding, not those blocks.
        report.leaks = [leak for leak in report.leaks if leak.kind != "still reachable"]
    return report


def _stacks(body: list[str], roots) -> tuple[list[Frame], list[tuple[str, list[Frame]]]]:
    """The first stack of a block, then each (note, stack) that follows."""
    stack: list[Frame] = []
    notes: list[tuple[str, list[Frame]]] = []
    for line in body:
        frame = _FRAME.match(line)
        if frame:
            (notes[-1][1] if notes else stack).append(_frame(frame, roots))
        elif line.strip() == "<inherited from parent>":
            notes.append(("<inherited from parent>", []))
        elif not line.strip().startswith(_SKIP):
            notes.append((line.strip(), []))
    return stack, notes


def _add_block(report: ValgrindReport, header: str, body: list[str], roots) -> None:
    stack, notes = _stacks(body, roots)
    fd = _FD.match(header)
    if fd:
        if int(fd.group(2)) <= 2 or any(n == "<inherited from parent>" for n, _ in notes):
            return
        kind = fd.group(1)
        what = fd.group(3).strip()
        if kind.startswith("AF_"):
            what = f"{kind} {what}".strip()
        report.fds.append(OpenFd(int(fd.group(2)), what or "unnamed: a pipe, an eventfd, ...",
                                  stack))
        return
    leak = _LEAK.match(header)
    if leak:
        direct = _number(leak.group(2)) if leak.group(2) else _number(leak.group(1))
        report.leaks.append(Leak(leak.group(5), direct, _number(leak.group(1)),
                                 _number(leak.group(4)), stack))
        return
    if header.startswith("Warning:"):
        report.warnings.append(header)
        return
    if header.startswith("Process terminating"):
        # Not an error of its own (the signal shows in the exit status, the
        # memory error that led to it, if any, came first): where it happened.
        # Its frames follow the reason ("Access not within mapped region ...").
        if not stack and notes:
            stack = notes[0][1]
        report.terminated = Finding(header, stack, [(n, []) for n, _ in notes[:1]])
        return
    if header.startswith(_SKIP) or not (stack or notes):
        return
    report.findings.append(Finding(header, stack, notes))


def read_valgrind_log(path: Path, roots=()) -> ValgrindReport:
    try:
        text = Path(path).read_text(errors="replace")
    except OSError:
        return ValgrindReport(fatal="valgrind wrote no log (did it start?)")
    return parse_valgrind_log(text, roots)


# ---------------------------------------------------------------- rendering

def student_frames(stack: list[Frame], limit: int = 6) -> list[Frame | None]:
    """The frames worth showing: the first (context, even inside libc) and
    then the program's own; None marks frames left out in between. Without
    any own frame, the first three."""
    stack = [f for f in stack if f.function != "(below main)"]
    if not stack:
        return []
    if not any(f.own for f in stack):
        return list(stack[:3]) + ([None] if len(stack) > 3 else [])
    shown: list[Frame | None] = [stack[0]]
    last = 0
    for i, frame in enumerate(stack[1:], 1):
        if not frame.own:
            continue
        if len([f for f in shown if f is not None]) >= limit:
            shown.append(None)
            return shown
        if i > last + 1:
            shown.append(None)
        shown.append(frame)
        last = i
    return shown


def _where(stack: list[Frame], verb: str = "") -> str:
    """Where a finding happened, in one phrase naming the innermost own frame:
    "at sum (x.c:27)", "in write() called from main (x.c:66)", or with a verb
    "allocated by malloc() in push (x.c:33)"."""
    stack = [f for f in stack if f.function != "(below main)"]
    own = next((f for f in stack if f.own), None)
    if own is None:
        return (f"{verb} " if verb else "at ") + (stack[0].render() if stack else "an unknown place")
    if verb:
        by = f" by {stack[0].function}()" if stack[0] is not own else ""
        return f"{verb}{by} in {own.render()}"
    if stack[0] is own:
        return f"at {own.render()}"
    return f"in {stack[0].function}() called from {own.render()}"


def _amount(nbytes: int, blocks: int) -> str:
    return f"{nbytes:,} bytes in {blocks:,} block{'s' if blocks != 1 else ''}"


def summary(report: ValgrindReport, max_lines: int = 5) -> str:
    """A few lines for a failure's `got:`: the first error, the leaks, the descriptors."""
    if report.clean:
        return "clean"
    lines = []
    if report.fatal:
        lines.append("Valgrind did not run the program: " + report.fatal.splitlines()[0])
    if report.findings:
        first = report.findings[0]
        more = len(report.findings) - 1
        lines.append(f"{first.kind} {_where(first.stack)}"
                     + (f" (and {more} more error{'s' if more != 1 else ''})" if more else ""))
    elif report.terminated:
        lines.append(f"{report.terminated.kind} {_where(report.terminated.stack)}")
    totals = report.leak_totals()
    for kind, (nbytes, blocks) in totals.items():
        leak = next(leak for leak in report.leaks if leak.kind == kind)
        where = "" if kind == "indirectly lost" else f", {_where(leak.stack, 'allocated')}"
        at_exit = " at exit" if kind == "still reachable" else ""
        lines.append(f"{kind}{at_exit}: {_amount(nbytes, blocks)}{where}")
    if report.fds:
        first = report.fds[0]
        more = len(report.fds) - 1
        lines.append(f"{len(report.fds)} descriptor{'s' if len(report.fds) != 1 else ''} open "
                     f"at exit: fd {first.fd} ({first.what})"
                     + (f", {_where(first.stack, 'opened')}" if first.stack else "")
                     + (f", and {more} more" if more else ""))
    if len(lines) > max_lines:
        lines = lines[:max_lines - 1] + [f"... ({len(lines) - max_lines + 1} more lines)"]
    return "\n".join(lines)


def _render_stack(stack: list[Frame], indent: str = "   ") -> list[str]:
    out = []
    for i, frame in enumerate(student_frames(stack)):
        if frame is None:
            out.append(indent + "   ...")
        else:
            out.append(f"{indent}{'at' if i == 0 else 'by'} {frame.render()}")
    return out


def detail(report: ValgrindReport, max_lines: int = 30) -> str:
    """The first error as Valgrind showed it (the student's frames), each kind
    of leak with the allocation stack of its largest record, the leaked
    descriptors; bounded to max_lines."""
    if report.clean:
        return ""
    out: list[str] = []
    if report.fatal:
        out += report.fatal.splitlines()[:8]
    if report.findings:
        first = report.findings[0]
        out.append(first.kind)
        out += _render_stack(first.stack)
        for note, stack in first.notes[:2]:
            out.append(" " + note)
            out += _render_stack(stack)
        if len(report.findings) > 1:
            kinds = []
            for f in report.findings[1:]:
                if f.kind not in kinds:
                    kinds.append(f.kind)
            out.append(f"(then {len(report.findings) - 1} more: " + "; ".join(kinds[:3])
                       + ("; ..." if len(kinds) > 3 else "") + ")")
        if report.terminated:
            out.append(f"(then: {report.terminated.kind})")
    elif report.terminated:
        out.append(report.terminated.kind)
        for note, _ in report.terminated.notes:
            out.append(" " + note)
        out += _render_stack(report.terminated.stack)
    if report.leaks:
        if out:
            out.append("")
        totals = report.leak_totals()
        out.append("Leaks at exit: " + "; ".join(f"{kind} {_amount(b, n)}"
                                                 for kind, (b, n) in totals.items()))
        for kind in totals:
            if kind == "indirectly lost":
                continue  # allocated where they are, but lost with the block above
            records = [leak for leak in report.leaks if leak.kind == kind]
            biggest = max(records, key=lambda r: r.total)
            out.append(f"{_amount(biggest.total, biggest.blocks)} {kind}"
                       + (f" (the largest of {len(records)} records)" if len(records) > 1 else "")
                       + ", allocated")
            out += _render_stack(biggest.stack)
    if report.fds:
        if out:
            out.append("")
        out.append("Descriptors open at exit:")
        for d in report.fds[:3]:
            out.append(f" fd {d.fd}: {d.what}")
            out += _render_stack(d.stack)
        if len(report.fds) > 3:
            out.append(f" ... and {len(report.fds) - 3} more")
    if report.warnings and len(out) < max_lines - 1:
        out.append("")
        out += report.warnings[:2]
    if len(out) > max_lines:
        out = out[:max_lines - 1] + ["..."]
    return "\n".join(out)


def hint(report: ValgrindReport) -> str:
    """The likely cause of the first finding, in a sentence or two."""
    if report.clean:
        return ""
    if report.fatal:
        return "Valgrind itself failed: run the command below by hand to see why."
    if report.findings:
        kind = report.findings[0].kind
        notes = " ".join(n for n, _ in report.findings[0].notes)
        if kind.startswith(("Invalid read", "Invalid write")):
            if "after a block" in notes:
                return ("The access is just past the end of a block: an off-by-one in a loop "
                        "bound or a length, or a missing room for the terminating NUL?")
            if re.search(r"block of size [\d,]+ free'd", notes):
                return "The block was already freed: a pointer kept after free()?"
            if re.search(r"Address 0x0 |Address 0x[0-9a-f]{1,3} ", notes):
                return ("The address is (near) 0: a NULL pointer was used; was a failed "
                        "malloc, lookup or search left unchecked?")
            if "on thread" in notes and "stack" in notes:
                return "The address is on the stack: a pointer to a local kept after return?"
            return "The address is outside every block: a bad pointer or index?"
        if kind.startswith(("Conditional jump", "Use of uninitialised")):
            return ("A value is used before anything was stored in it: initialise it, or use "
                    "only the bytes a read() actually returned.")
        if kind.startswith("Syscall param") and "uninitialised" in kind:
            return ("Bytes never written were passed to a system call: send or write only "
                    "the bytes you filled in (check the length you pass).")
        if kind.startswith("Syscall param") and "unaddressable" in kind:
            return "The buffer or the length passed to the system call goes past its block."
        if kind.startswith(("Invalid free", "Mismatched free")):
            if re.search(r"block of size [\d,]+ free'd", notes):
                return "The block was freed twice: set the pointer to NULL after free()?"
            return "free() was given a pointer that is not (or no longer) an allocated block."
        if kind.startswith("Source and destination overlap"):
            return "The source and destination overlap: use memmove instead of memcpy."
        return "Valgrind's frames below show the line where it happened."
    if report.terminated:
        return "The program was killed by a signal; the frames below show where."
    if report.leaks:
        kinds = {leak.kind for leak in report.leaks}
        if kinds == {"still reachable"}:
            return ("Something (a global, a list, a cache) still points to these blocks at "
                    "exit: free them before exiting, on SIGTERM too.")
        return ("A block was allocated and never freed: free what you allocate on every "
                "path, error paths included (freeaddrinfo too).")
    return "Close every socket and file on every path, error paths included."
