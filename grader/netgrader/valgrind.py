"""Running a program under Valgrind's memcheck and reading its verdict.

Three kinds of finding fail a test: memory errors (invalid reads and writes,
uninitialised values, bad frees), leaks (definitely, indirectly or possibly
lost blocks) and descriptors still open at exit other than 0, 1 and 2 and
those inherited from the grader.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

VALGRIND_ERROR_EXIT = 99


def valgrind_argv(log: Path) -> list[str]:
    return [
        "valgrind", "-q", "--tool=memcheck",
        "--leak-check=full",
        "--show-leak-kinds=definite,indirect,possible",
        "--errors-for-leak-kinds=definite,indirect,possible",
        "--track-fds=yes",
        "--child-silent-after-fork=yes",
        f"--error-exitcode={VALGRIND_ERROR_EXIT}",
        f"--log-file={log}",
    ]


@dataclass
class ValgrindReport:
    log: str = ""
    errors: list[str] = field(default_factory=list)   # one summary line per finding
    open_fds: list[str] = field(default_factory=list)  # "Open AF_INET socket 3: ..."

    @property
    def clean(self) -> bool:
        return not self.errors and not self.open_fds

    def summary(self) -> str:
        parts = []
        if self.errors:
            parts.append(f"{len(self.errors)} memory error(s)/leak(s): " + "; ".join(self.errors[:4]))
        if self.open_fds:
            parts.append(f"{len(self.open_fds)} descriptor(s) still open at exit: "
                         + "; ".join(self.open_fds[:4]))
        return " | ".join(parts) or "clean"

    def excerpt(self, lines: int = 30) -> str:
        return "\n".join(self.log.splitlines()[:lines])


_PID = re.compile(r"^==\d+== ?")
_FD_HEADER = re.compile(r"^Open (?:file descriptor|AF_\w+ socket) (\d+)")
_ERROR_HEADS = (
    "Invalid read", "Invalid write", "Invalid free", "Mismatched free",
    "Conditional jump", "Use of uninitialised", "Syscall param",
    "Source and destination overlap", "Argument 'size'", "Process terminating",
)
_LEAK = re.compile(r"are (definitely|indirectly|possibly) lost")


def parse_valgrind_log(text: str) -> ValgrindReport:
    report = ValgrindReport(log=text)
    lines = [_PID.sub("", line) for line in text.splitlines()]
    i = 0
    while i < len(lines):
        line = lines[i].strip()
        fd = _FD_HEADER.match(line)
        if fd:
            block = [line]
            i += 1
            while i < len(lines) and lines[i].strip():
                block.append(lines[i].strip())
                i += 1
            inherited = any("<inherited from parent>" in b for b in block)
            if int(fd.group(1)) > 2 and not inherited:
                where = next((b for b in block[1:] if ".c:" in b), "")
                report.open_fds.append(line + (f" ({where})" if where else ""))
            continue
        if line.startswith(_ERROR_HEADS) or _LEAK.search(line):
            where = next((lines[j].strip() for j in range(i + 1, min(i + 6, len(lines)))
                          if " main " in lines[j] or "(" in lines[j] and ".c:" in lines[j]), "")
            report.errors.append(line + (f" [{where}]" if where else ""))
        i += 1
    return report


def read_valgrind_log(path: Path) -> ValgrindReport:
    try:
        text = Path(path).read_text(errors="replace")
    except OSError:
        return ValgrindReport(log="", errors=["valgrind wrote no log (did it start?)"])
    return parse_valgrind_log(text)
