"""Self-tests of the grader: its helpers, and whole grading runs on small
course trees made for the purpose (grader/selftest/programs holds the tiny,
deliberately good or bad C programs they use)."""
import subprocess
import sys
from pathlib import Path

import pytest

GRADER = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(GRADER))
PROGRAMS = Path(__file__).resolve().parent / "programs"


@pytest.fixture(scope="session")
def compiled(tmp_path_factory):
    """compiled("name") -> path of programs/name.c built once per session."""
    out = tmp_path_factory.mktemp("programs")
    cache = {}

    def build(name: str) -> Path:
        if name not in cache:
            binary = out / name
            subprocess.run(["cc", "-std=gnu11", "-g", "-O0", "-Wall", "-o", str(binary),
                            str(PROGRAMS / f"{name}.c")], check=True)
            cache[name] = binary
        return cache[name]

    return build
