"""Whole grading runs on a tiny course tree with one lab, `01-demo`, whose
program `upper` copies stdin to stdout in upper case. Each test breaks the
tree in one way and checks the grade, the report and results.json."""
import json
import shutil
import subprocess
import sys
from pathlib import Path

GRADER = Path(__file__).resolve().parent.parent
ROOT = GRADER.parent

MAKEFILE = ("PROGRAMS := upper\nLIB_SRCS := shout.c\nNETLAB_COMMON ?= ../../common\n"
            "include $(NETLAB_COMMON)/lab.mk\n")
SHOUT_H = "#include <stddef.h>\nvoid shout(char *s, size_t n);\n"
SHOUT_OK = '#include "shout.h"\n#include <ctype.h>\nvoid shout(char *s, size_t n)\n{\n    for (size_t i = 0; i < n; i++)\n        s[i] = (char)toupper((unsigned char)s[i]);\n}\n'
SHOUT_STUB = '#include "shout.h"\nvoid shout(char *s, size_t n)\n{\n    (void)s;\n    (void)n;\n}\n'
UPPER = """#include "shout.h"
#include <unistd.h>
int main(void)
{
    char buf[4096];
    ssize_t n;
    while ((n = read(0, buf, sizeof buf)) > 0) {
        shout(buf, (size_t)n);
        if (write(1, buf, (size_t)n) != n)
            return 1;
    }
    return n < 0;
}
"""
CHECK = """#include <check.h>
#include <stdlib.h>
#include "shout.h"
// points: 2
START_TEST(shout_uppercases)
{
    char s[] = "abc";
    shout(s, 3);
    ck_assert_str_eq(s, "ABC");
}
END_TEST
// points: 1
START_TEST(shout_keeps_digits)
{
    char s[] = "a1";
    shout(s, 2);
    ck_assert_str_eq(s, "A1");
}
END_TEST
int main(void)
{
    Suite *s = suite_create("shout");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, shout_uppercases);
    tcase_add_test(tc, shout_keeps_digits);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
"""
TESTS = '''import pytest
from netgrader.expect import expect_bytes, expect_exit


@pytest.mark.points(5)
def test_upper_converts(run, lab):
    """Lower case in, upper case out."""
    result = run([lab.program("upper")], stdin=b"hello")
    expect_exit(result, 0)
    expect_bytes(result.stdout, b"HELLO", "stdout")
'''
HIDDEN = '''import pytest
from netgrader.expect import expect_bytes


@pytest.mark.points(2)
def test_hidden_binary(run, lab):
    result = run([lab.program("upper")], stdin=b"a\\0b")
    expect_bytes(result.stdout, b"A\\0B", "stdout")
'''


def make_tree(root: Path, shout_impl: str = SHOUT_OK, upper: str = UPPER) -> Path:
    shutil.copytree(ROOT / "common", root / "common")
    for tree, shout in (("labs", shout_impl), ("solutions", SHOUT_OK)):
        lab = root / tree / "01-demo"
        (lab / "tests").mkdir(parents=True)
        (lab / "Makefile").write_text(MAKEFILE)
        (lab / "shout.h").write_text(SHOUT_H)
        (lab / "shout.c").write_text(shout)
        (lab / "upper.c").write_text(upper if tree == "labs" else UPPER)
    (root / "labs/01-demo/lab.toml").write_text('files = ["shout.c", "upper.c"]\n')
    (root / "labs/01-demo/tests/test_demo.py").write_text(TESTS)
    (root / "labs/01-demo/tests/check_shout.c").write_text(CHECK)
    (root / "solutions/01-demo/tests/test_hidden_demo.py").write_text(HIDDEN)
    return root


def grade(root: Path, *args: str) -> tuple[int, dict, str]:
    proc = subprocess.run([sys.executable, str(GRADER / "grade.py"), "--root", str(root),
                           "-j", "1", *args], capture_output=True, text=True, timeout=300)
    impl = Path(args[args.index("--impl") + 1]).name if "--impl" in args else "labs"
    out = root / "grade-out" / impl
    results = json.loads((out / "results.json").read_text()) if (out / "results.json").exists() else {}
    report = (out / "report.txt").read_text() if (out / "report.txt").exists() else ""
    return proc.returncode, results, report + proc.stdout + proc.stderr


def scores(results) -> dict:
    return {t["name"].split(": ", 1)[1]: (t["score"], t["max_score"]) for t in results["tests"]}


def test_correct_lab_scores_full_marks_with_hidden_and_check_items(tmp_path):
    root = make_tree(tmp_path)
    rc, results, report = grade(root, "--impl", "labs", "--expect", "full")
    assert rc == 0, report
    assert scores(results) == {"01-demo::build": (0, 0), "shout_uppercases": (2, 2),
                               "shout_keeps_digits": (1, 1), "test_upper_converts": (5, 5),
                               "test_hidden_binary": (2, 2)}
    assert results["score"] == results["extra_data"]["max_score"] == 10
    assert "01-demo: 10/10" in report and (root / "grade-out/labs/junit.xml").exists()


def test_build_failure_is_one_clear_item_and_the_rest_skip(tmp_path):
    root = make_tree(tmp_path, upper=UPPER.replace("return n < 0;", "return n < 0"))
    rc, results, report = grade(root, "--impl", "labs")
    assert rc == 0  # the grading ran to its end: exit 0 whatever the score
    assert results["score"] == 0
    assert "FAIL" in report and "expected ';'" in report, report
    assert "needs build" in report
    assert "rerun:     make -C labs/01-demo" in report


def test_stub_fails_every_item_with_expected_and_got(tmp_path):
    root = make_tree(tmp_path, shout_impl=SHOUT_STUB)
    rc, results, report = grade(root, "--impl", "labs", "--expect", "zero")
    assert rc == 0, report
    assert "expected: 5 bytes b'HELLO'" in report
    assert "got:      5 bytes b'hello'" in report
    assert "first difference at byte 0" in report
    assert "rerun:     make grade LAB=01 K=test_upper_converts" in report
    assert "ck_assert_str_eq" in report or "Assertion" in report


def test_points_can_be_reweighted_without_editing_tests(tmp_path):
    root = make_tree(tmp_path)
    (root / "solutions/01-demo/tests/points.toml").write_text("test_upper_converts = 20\n"
                                                              "shout_keeps_digits = 0\n")
    rc, results, report = grade(root, "--impl", "labs")
    assert rc == 0, report
    assert scores(results)["test_upper_converts"] == (20, 20)
    assert scores(results)["shout_keeps_digits"] == (0, 0)
    assert results["extra_data"]["max_score"] == 24


def test_a_test_without_points_is_refused(tmp_path):
    root = make_tree(tmp_path)
    path = root / "labs/01-demo/tests/test_demo.py"
    path.write_text(path.read_text().replace("@pytest.mark.points(5)\n", ""))
    rc, _, report = grade(root, "--impl", "labs")
    assert rc == 2
    assert "tests without points" in report


def test_keyword_selects_one_test_and_keeps_the_build_item(tmp_path):
    root = make_tree(tmp_path)
    rc, results, report = grade(root, "--impl", "labs", "-k", "test_upper_converts")
    assert rc == 0, report
    assert set(scores(results)) == {"01-demo::build", "test_upper_converts"}


def test_no_matching_test_is_a_failure(tmp_path):
    root = make_tree(tmp_path)
    rc, _, _ = grade(root, "--impl", "labs", "-k", "no_such_test")
    assert rc != 0


def test_submission_directory_is_graded_with_the_course_tests(tmp_path):
    root = make_tree(tmp_path / "course")
    submission = tmp_path / "alice"
    shutil.copytree(root / "labs", submission)
    # A student may not change the tests: the course's copies are used.
    (submission / "01-demo/tests/test_demo.py").write_text("")
    (submission / "01-demo/shout.c").write_text(SHOUT_STUB)
    rc, results, report = grade(root, "--impl", str(submission))
    assert rc == 0
    statuses = {t["name"].split(": ", 1)[1]: t["status"] for t in results["tests"]}
    assert statuses["01-demo::build"] == "passed", report  # built with the course's common/
    assert scores(results)["test_upper_converts"] == (0, 5)
    assert str(submission) in report
