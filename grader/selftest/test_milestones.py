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


def milestone_order(lab: str) -> list[str]:
    text = (ROOT / "labs" / lab / "README.md").read_text()
    section = text.split("## Milestones", 1)[1].split("\n## ", 1)[0]
    return [m.group(1) for m in map(ROW.match, section.splitlines()) if m]


@pytest.mark.parametrize("lab", LABS)
def test_needs_point_to_the_same_or_an_earlier_milestone(lab):
    """`needs` turns a failure into 'skipped: needs X': X must be a test the
    student has met by then, or a milestone's own failures hide behind a
    later one's."""
    import ast

    order = milestone_order(lab)
    milestone, needs = {}, {}
    for d in (ROOT / "labs" / lab / "tests", ROOT / "solutions" / lab / "tests"):
        for f in sorted(d.glob("test_*.py")) if d.is_dir() else []:
            for name, (ms, _) in python_file_milestones(f).items():
                milestone[name] = ms
            for node in ast.parse(f.read_text()).body:
                if isinstance(node, ast.FunctionDef):
                    for dec in node.decorator_list:
                        if isinstance(dec, ast.Call) and getattr(dec.func, "attr", "") == "needs":
                            needs[node.name] = [a.value for a in dec.args]
    wrong = []
    for name, needed in needs.items():
        for other in needed:
            if other not in milestone:
                wrong.append(f"{name} needs {other}, which is no test of this lab")
            elif order.index(milestone[other]) > order.index(milestone[name]):
                wrong.append(f"{name} ({milestone[name]}) needs {other} ({milestone[other]}), "
                             "a later milestone")
    assert not wrong, "\n".join(wrong)


def test_grading_one_milestone_on_a_course_tree(tmp_path):
    """--milestone keeps exactly that milestone's items (Python and Check)
    and the lab's build item; a name no test carries is one clear error."""
    import test_end_to_end as e2e

    root = e2e.make_tree(tmp_path)
    tests = root / "labs/01-demo/tests"
    tests.joinpath("test_demo.py").write_text(e2e.TESTS.replace(
        "@pytest.mark.points(5)\n", "@pytest.mark.points(5)\n@pytest.mark.milestone(\"program\")\n"))
    check = tests / "check_shout.c"
    check.write_text(check.read_text().replace("// points: 2\n", "// milestone: shout\n// points: 2\n")
                     .replace("// points: 1\n", "// milestone: program\n// points: 1\n"))
    hidden = root / "solutions/01-demo/tests/test_hidden_demo.py"
    hidden.write_text(e2e.HIDDEN.replace(
        "@pytest.mark.points(2)\n", "@pytest.mark.points(2)\n@pytest.mark.milestone(\"program\")\n"))
    rc, results, report = e2e.grade(root, "--impl", "labs", "--milestone", "program")
    assert rc == 0, report
    assert e2e.scores(results) == {"01-demo::build": (0, 0), "shout_keeps_digits": (1, 1),
                                   "test_upper_converts": (5, 5), "test_hidden_binary": (2, 2)}
    rc, results, report = e2e.grade(root, "--impl", "labs", "--milestone", "shuot")
    assert rc != 0 and "no milestone is called 'shuot'" in report and "program, shout" in report
