"""Assertions that teach: every failure says what was expected, what
happened and a hint, and byte streams show where they first differ.

Tests raise Mismatch (directly or through the expect_* helpers); the report
plugin lays its fields out for the student.
"""
from __future__ import annotations

import hashlib

from pathlib import Path

from . import valgrind
from .procs import Result
from .sanitizers import EXIT_CODE, SanitizerReport


class Mismatch(AssertionError):
    def __init__(self, what: str, expected: str, got: str, hint: str = "", detail: str = ""):
        super().__init__(f"{what}\nexpected: {expected}\ngot: {got}")
        self.what, self.expected, self.got = what, expected, got
        self.hint, self.detail = hint, detail


def _printable(b: int) -> str:
    return chr(b) if 32 <= b < 127 else "."


def first_difference(got: bytes, expected: bytes) -> int | None:
    """Offset of the first differing byte, or None if equal."""
    if got == expected:
        return None
    limit = min(len(got), len(expected))
    # Compare in blocks first: streams here can be tens of megabytes.
    block = 65536
    offset = 0
    while offset < limit and got[offset:offset + block] == expected[offset:offset + block]:
        offset += block
    end = min(limit, offset + block)
    while offset < end and got[offset] == expected[offset]:
        offset += 1
    return offset


def describe_bytes(data: bytes) -> str:
    if len(data) <= 60:
        return f"{len(data)} bytes {data!r}"
    return f"{len(data)} bytes, sha256 {hashlib.sha256(data).hexdigest()[:16]}…"


def byte_diff(got: bytes, expected: bytes) -> str:
    """Where two streams first differ, with a caret under a hex excerpt."""
    at = first_difference(got, expected)
    if at is None:
        return ""
    width = 16
    start = max(0, at - width // 2)
    lines = [f"first difference at byte {at} (of {len(expected)} expected, {len(got)} received)"]
    for name, data in (("expected", expected), ("received", got)):
        window = data[start:start + width]
        hexes = " ".join(f"{b:02x}" for b in window)
        text = "".join(_printable(b) for b in window)
        lines.append(f"  {name:<8} @{start:<8d} {hexes:<{width * 3}} |{text}|")
    caret = 2 + 8 + 2 + 8 + 1 + (at - start) * 3
    lines.append(" " * caret + "^^")
    if at >= len(got):
        lines.append("  the received stream ends here")
    elif at >= len(expected):
        lines.append("  the received stream has extra bytes from here")
    return "\n".join(lines)


def expect_bytes(got: bytes, expected: bytes, what: str, hint: str = "") -> None:
    if got != expected:
        raise Mismatch(what, describe_bytes(expected), describe_bytes(got), hint,
                       detail=byte_diff(got, expected))


def expect_file(path, expected: bytes, what: str, hint: str = "") -> None:
    """The file at path exists and holds exactly expected."""
    if not path.exists():
        raise Mismatch(what, f"a file of {len(expected)} bytes", "no such file", hint)
    expect_bytes(path.read_bytes(), expected, what, hint)


def expect_exit(result: Result, code: int, what: str | None = None, hint: str = "") -> None:
    """The program ended by itself with this exit status."""
    if result.returncode == code and not result.timed_out:
        return
    default_hints = {
        0: "Exit 0 means success; check which error path your program took (its stderr is below).",
        1: "A runtime failure (refused, timed out, protocol error) exits 1 after one line on stderr.",
        2: "A usage error prints a message and a usage line on stderr and exits 2.",
    }
    report = getattr(result, "valgrind", None)
    if result.timed_out:
        hint = hint or ("It never finished: the line above says which call it was blocked in. "
                        "A read that waits for data that never comes? A socket never closed "
                        "or half-closed?")
    elif result.signal is not None:
        hint = hint or "The program crashed; run it under gdb or valgrind to see where."
    elif report is not None and not report.clean and \
            result.returncode in (valgrind.VALGRIND_ERROR_EXIT, EXIT_CODE):
        if isinstance(report, SanitizerReport):
            raise Mismatch(what or f"running the sanitizer build of `{' '.join(result.argv)}`",
                           f"exit status {code}", report.summary(),
                           "Rebuild with `make SAN=1` and run the same command to see the "
                           "sanitizer's report yourself.", detail=report.excerpt())
        raise Mismatch(what or f"running `{' '.join(result.argv)}` under valgrind",
                       f"exit status {code}", "valgrind found errors: " + valgrind.summary(report),
                       valgrind.hint(report), detail=_valgrind_detail(result, report))
    raise Mismatch(what or f"running `{' '.join(result.argv)}`", f"exit status {code}",
                   result.describe_exit(), hint or default_hints.get(code, ""))


def _valgrind_detail(result, report) -> str:
    """Valgrind's own first error and leaks, and the command that reruns the
    program under the same checks from the lab directory."""
    rerun = valgrind.rerun_command(result.argv, Path(str(result.argv[0])).parent)
    return valgrind.detail(report) + f"\nby hand, in the lab directory: {rerun}"


def expect_stderr_line(result: Result, *needles: str, what: str = "", hint: str = "") -> None:
    """stderr has one line containing every needle (case-insensitive)."""
    lines = result.stderr_text.splitlines()
    for line in lines:
        if all(n.lower() in line.lower() for n in needles):
            return
    shown = " and ".join(repr(n) for n in needles)
    raise Mismatch(what or f"the error message of `{' '.join(result.argv)}`",
                   f"a line on stderr containing {shown}",
                   repr(result.stderr_text[-300:]) if lines else "nothing on stderr",
                   hint or "Report failures as one line `prog: what failed: why` on stderr.")


def expect_valgrind_clean(result, what: str = "") -> None:
    """A Result or Server run under valgrind (or, in a test's [sanitizers]
    run, as the sanitizer build) had no errors, leaks or open fds."""
    report = result.valgrind
    if report is None:
        raise Mismatch(what or "valgrind", "a valgrind report", "the program was not run under valgrind")
    if report.clean:
        return
    if isinstance(report, SanitizerReport):
        raise Mismatch(what.replace("valgrind", "the sanitizer build") if what else
                       f"the sanitizer build of `{' '.join(result.argv)}`",
                       "no memory errors, no undefined behaviour, no leaks", report.summary(),
                       "AddressSanitizer and UBSan name the line of the error and, for a leak, "
                       "of its malloc. Rebuild with `make SAN=1` and run the same command to "
                       "see it yourself.", detail=report.excerpt())
    raise Mismatch(what or f"valgrind on `{' '.join(result.argv)}`",
                   "no memory errors, no leaks, no descriptors left open",
                   valgrind.summary(report), valgrind.hint(report),
                   detail=_valgrind_detail(result, report))
