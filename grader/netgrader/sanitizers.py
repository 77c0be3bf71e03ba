"""Memory checks outside Valgrind: the same scenario run with the lab built
with AddressSanitizer, LeakSanitizer and UBSan (`make SAN=1`).

Every test whose name says `valgrind` runs twice, as `[valgrind]` and as
`[sanitizers]`; the second swaps each program of the submission for its
sanitizer build and reads the sanitizers' report from its stderr. A program
that behaves only while Valgrind watches (it looks for Valgrind's preload)
gains nothing, and the student sees the sanitizer's own words, with file and
line. The test's points are shared between the two runs.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

EXIT_CODE = 86  # what a program whose sanitizer found something exits with
ENV = {
    "ASAN_OPTIONS": f"exitcode={EXIT_CODE}:detect_leaks=1:abort_on_error=0:allocator_may_return_null=1"
                    ":handle_segv=1:strip_path_prefix=/",
    "UBSAN_OPTIONS": f"halt_on_error=1:print_stacktrace=1:exitcode={EXIT_CODE}",
    "LSAN_OPTIONS": f"exitcode={EXIT_CODE}",
}
_ERROR = re.compile(r"^(==\d+==ERROR: \w+Sanitizer: .*|.*: runtime error: .*|SUMMARY: \w+Sanitizer: .*)$",
                    re.M)
_FRAME = re.compile(r"^\s*#\d+ 0x[0-9a-f]+ in (\S+) (\S+:\d+)", re.M)


def san_program(path: str, box: Path) -> str:
    """The sanitizer build of a program built from the submission."""
    plain = str(box / "build") + "/"
    return str(box / "build-san") + "/" + path[len(plain):] if path.startswith(plain) else path


@dataclass
class SanitizerReport:
    """What the sanitizers said; shaped like a ValgrindReport for the tests."""

    text: str = ""
    exit_code: int | None = None
    headlines: list[str] = field(default_factory=list)
    frames: list[str] = field(default_factory=list)

    @property
    def clean(self) -> bool:
        return not self.headlines and self.exit_code != EXIT_CODE

    @property
    def errors(self) -> list[str]:
        return self.headlines or ([] if self.clean else [f"exit status {EXIT_CODE}"])

    @property
    def open_fds(self) -> list[str]:
        return []

    def summary(self) -> str:
        if self.clean:
            return "the sanitizers found nothing"
        first = self.headlines[0] if self.headlines else f"exit status {EXIT_CODE}"
        where = f" at {self.frames[0]}" if self.frames else ""
        return f"the sanitizer build reported: {first.strip()}{where}"

    def excerpt(self, lines: int = 24) -> str:
        start = self.text.find("==ERROR:")
        if start < 0:
            start = self.text.find("runtime error:")
        body = self.text[max(0, self.text.rfind("\n", 0, start) + 1):] if start >= 0 else self.text
        return "\n".join(body.splitlines()[:lines])


def report(stderr: bytes, exit_code: int | None) -> SanitizerReport:
    text = stderr[-200_000:].decode("utf-8", "replace")
    result = SanitizerReport(text=text, exit_code=exit_code)
    result.headlines = [m.group(1) for m in _ERROR.finditer(text)
                        if not m.group(1).startswith("SUMMARY")][:5]
    result.frames = [f"{func} ({Path(where).name})" for func, where in _FRAME.findall(text)][:6]
    return result
