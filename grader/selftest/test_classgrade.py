"""Grading a class (`grade.py --class`) on the one-lab course tree of
test_end_to_end.py: four submissions, course layout and flat, one of which
the grader cannot grade; the gradebook and the class report."""
import csv
import json
import subprocess
import sys
from pathlib import Path

from test_end_to_end import SHOUT_OK, SHOUT_STUB, UPPER, make_tree

GRADER = Path(__file__).resolve().parent.parent


def test_class_is_graded_into_a_gradebook_and_a_report(tmp_path):
    root = make_tree(tmp_path / "course")
    cls = tmp_path / "class"
    (cls / "alice" / "01-demo").mkdir(parents=True)          # course layout, correct
    (cls / "alice/01-demo/shout.c").write_text(SHOUT_OK)
    (cls / "alice/01-demo/upper.c").write_text(UPPER)
    (cls / "bob").mkdir()                                     # flat, shout() does nothing
    (cls / "bob/shout.c").write_text(SHOUT_STUB)
    (cls / "bob/upper.c").write_text(UPPER)
    (cls / "carol").mkdir()                                   # submitted nothing
    (cls / "dave.tar.gz").write_bytes(b"\x1f\x8b not unpacked")  # the grader refuses it
    out = tmp_path / "out"
    proc = subprocess.run([sys.executable, str(GRADER / "grade.py"), "--root", str(root),
                           "--class", str(cls), "--lab", "01", "--out", str(out), "-j", "2"],
                          capture_output=True, text=True, timeout=600)
    log = proc.stdout + proc.stderr
    assert proc.returncode == 2, log          # one grading failed; the others went on
    assert "grader failed for dave.tar.gz" in log
    assert "graded 3 of 4 submissions" in log
    assert sum(line.startswith("[") and "/4] " in line for line in proc.stdout.splitlines()) == 4

    for student in ("alice", "bob", "carol"):
        for name in ("results.json", "report.txt", "junit.xml"):
            assert (out / student / name).is_file(), (student, name, log)
    assert json.loads((out / "alice/results.json").read_text())["score"] == 10
    assert "is not a directory" in (out / "dave.tar.gz/grader.log").read_text()

    with open(out / "grades.csv", newline="") as f:
        rows = {row["student"]: row for row in csv.DictReader(f)}
    assert set(rows) == {"alice", "bob", "carol", "dave.tar.gz"}
    assert (rows["alice"]["lab"], rows["alice"]["score"], rows["alice"]["max"]) == ("01-demo", "10", "10")
    assert rows["alice"]["01-demo: test_upper_converts"] == "5"
    assert rows["alice"]["01-demo: test_hidden_binary"] == "2"
    assert (rows["bob"]["score"], rows["bob"]["01-demo: test_upper_converts"]) == ("0", "0")
    assert rows["carol"]["score"] == "0" and rows["carol"]["status"] == "graded"
    assert rows["dave.tar.gz"]["status"].startswith("grader failed")

    page = (out / "index.html").read_text()
    assert page.count("<svg") == 3            # scores, pass rates, runtimes
    assert "Submissions the grader could not grade" in page and "dave.tar.gz" in page
    # The hardest tests with the failure most students got: bob's and
    # carol's test_upper_converts failed, each in its own way.
    row = next(line for line in page.splitlines() if "01-demo: test_upper_converts" in line)
    assert "33 %" in row and "of 2)" in row, row
    assert "href='alice/report.txt'" in page
