"""Milestones: every test of every lab names one, and each handout's
milestone table lists exactly those names with the points they carry
(hidden tests included, the public ones in parentheses)."""
import re
from pathlib import Path

import pytest

from netgrader.milestones import check_file_milestones, lab_milestones, python_file_milestones

ROOT = Path(__file__).resolve().parents[2]
LABS = sorted(p.name for p in (ROOT / "labs").iterdir() if re.match(r"\d\d-", p.name))
ROW = re.compile(r"^\|\s*\d+\s*\|.*\|\s*`([\w.-]+)`\s*\|\s*(\d+)(?:\s*\((\d+)\))?\s*\|\s*$")


def handout_table(lab: str) -> dict[str, tuple[int, int]]:
    text = (ROOT / "labs" / lab / "README.md").read_text()
    section = text.split("## Milestones", 1)[1].split("\n## ", 1)[0]
    rows = {}
    for line in section.splitlines():
        m = ROW.match(line)
        if m:
            total = int(m.group(2))
            rows[m.group(1)] = (total, int(m.group(3) or total))
    return rows


def test_check_file_milestones_per_test_and_per_file():
    text = ("// milestone: whole\n#include <check.h>\n\n// points: 1\nSTART_TEST(a)\n{\n}\nEND_TEST\n\n"
            "// milestone: own\n// points: 2\nSTART_TEST(b)\n{\n}\nEND_TEST\n")
    assert check_file_milestones(text) == {"a": "whole", "b": "own"}
    assert check_file_milestones("// points: 1\nSTART_TEST(c)\n{\n}\nEND_TEST\n") == {"c": None}


def test_python_file_milestones_reads_decorators(tmp_path):
    f = tmp_path / "test_x.py"
    f.write_text("import pytest\n\n@pytest.mark.points(3)\n@pytest.mark.milestone(\"m\")\n"
                 "def test_a():\n    pass\n\n@pytest.mark.points(1)\ndef test_b():\n    pass\n")
    assert python_file_milestones(f) == {"test_a": ("m", 3), "test_b": (None, 1)}


@pytest.mark.parametrize("lab", LABS)
def test_every_test_has_a_milestone_and_the_handout_lists_it(lab):
    dirs = [d for d in (ROOT / "labs" / lab / "tests", ROOT / "solutions" / lab / "tests")
            if d.is_dir()]
    totals, problems = lab_milestones(dirs)
    assert not problems, f"{lab}: tests without a milestone or points: {problems}"
    public, _ = lab_milestones(dirs[:1])
    table = handout_table(lab)
    actual = {name: (points, public.get(name, 0)) for name, points in totals.items()}
    assert table == actual, (f"labs/{lab}/README.md's milestone table (M=name: points "
                             f"(public)) says {table}; the tests say {actual}")


@pytest.mark.parametrize("lab", LABS)
def test_hidden_check_tests_say_what_they_check(lab):
    """A hidden test's source is not given to students: its failure quotes
    the `// checks:` words above it instead."""
    from netgrader.checkc import parse_check_file
    from netgrader.milestones import check_file_descriptions

    missing = []
    for f in sorted((ROOT / "solutions" / lab / "tests").glob("check_*.c")):
        text = f.read_text()
        described = check_file_descriptions(text)
        missing += [f"{f.name}::{name}" for name, _, _ in parse_check_file(text)
                    if name not in described]
    assert not missing, f"hidden Check tests without a `// checks:` description: {missing}"
