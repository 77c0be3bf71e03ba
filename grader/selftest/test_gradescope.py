"""The Gradescope autograder (grader/gradescope.py) built from the one-lab
course tree of test_end_to_end.py, unpacked into a simulated /autograder
and run there; its results.json checked against Gradescope's documented
format (the Autograder Specifications: results.json)."""
import json
import os
import stat
import subprocess
import sys
import zipfile
from pathlib import Path

from test_end_to_end import SHOUT_OK, SHOUT_STUB, UPPER, make_tree

GRADER = Path(__file__).resolve().parent.parent
ROOT = GRADER.parent

TOP_KEYS = {"score", "execution_time", "output", "output_format", "test_output_format",
            "test_name_format", "visibility", "stdout_visibility", "extra_data", "tests",
            "leaderboard"}
TEST_KEYS = {"score", "max_score", "status", "name", "name_format", "number", "output",
             "output_format", "tags", "visibility", "extra_data"}
VISIBILITY = {"hidden", "after_due_date", "after_published", "visible"}
FORMATS = {"text", "html", "simple_format", "md", "ansi"}


def schema_problems(results) -> list:
    """What in results breaks Gradescope's results.json format."""
    problems = []
    number = (int, float)
    if not isinstance(results, dict):
        return ["the top level is not an object"]
    problems += [f"unknown top-level key {k!r}" for k in set(results) - TOP_KEYS]
    if "score" not in results and not all("score" in t for t in results.get("tests", [])):
        problems.append("no score, and not every test has one")
    if "score" in results and not isinstance(results["score"], number):
        problems.append("score is not a number")
    if "execution_time" in results and not isinstance(results["execution_time"], number):
        problems.append("execution_time is not a number")
    for key in ("output",):
        if key in results and not isinstance(results[key], str):
            problems.append(f"{key} is not a string")
    for key in ("output_format", "test_output_format", "test_name_format"):
        if key in results and results[key] not in FORMATS:
            problems.append(f"{key} is {results[key]!r}")
    for key in ("visibility", "stdout_visibility"):
        if key in results and results[key] not in VISIBILITY:
            problems.append(f"{key} is {results[key]!r}")
    if "extra_data" in results and not isinstance(results["extra_data"], dict):
        problems.append("extra_data is not an object")
    for entry in results.get("leaderboard", []):
        if not isinstance(entry, dict) or "name" not in entry or "value" not in entry \
                or entry.get("order", "desc") not in ("asc", "desc"):
            problems.append(f"bad leaderboard entry {entry!r}")
    if not isinstance(results.get("tests", []), list):
        return problems + ["tests is not a list"]
    for t in results.get("tests", []):
        name = t.get("name", "?") if isinstance(t, dict) else "?"
        if not isinstance(t, dict):
            problems.append("a test is not an object")
            continue
        problems += [f"{name}: unknown key {k!r}" for k in set(t) - TEST_KEYS]
        for key in ("score", "max_score"):
            if key in t and not isinstance(t[key], number):
                problems.append(f"{name}: {key} is not a number")
        if "status" in t and t["status"] not in ("passed", "failed"):
            problems.append(f"{name}: status is {t['status']!r}")
        if "visibility" in t and t["visibility"] not in VISIBILITY:
            problems.append(f"{name}: visibility is {t['visibility']!r}")
        for key in ("name", "output"):
            if key in t and not isinstance(t[key], str):
                problems.append(f"{name}: {key} is not a string")
        if "tags" in t and not (isinstance(t["tags"], list) and all(isinstance(x, str) for x in t["tags"])):
            problems.append(f"{name}: tags is not a list of strings")
        if "output_format" in t and t["output_format"] not in FORMATS:
            problems.append(f"{name}: output_format is {t['output_format']!r}")
    return problems


def test_schema_check_catches_what_gradescope_refuses():
    assert schema_problems({"score": 1, "tests": [{"name": "a", "score": 1, "max_score": 1,
                                                   "status": "passed", "visibility": "visible"}]}) == []
    assert schema_problems({"score": "1"}) == ["score is not a number"]
    assert schema_problems({"score": 0, "pass": True}) == ["unknown top-level key 'pass'"]
    assert schema_problems({"tests": [{"name": "a", "score": 0, "status": "error",
                                       "visibility": "secret"}]}) == [
        "a: status is 'error'", "a: visibility is 'secret'"]


def unpack(zip_path: Path, source: Path) -> None:
    """As Gradescope does: the zip's files in /autograder/source, modes kept."""
    with zipfile.ZipFile(zip_path) as zf:
        for info in zf.infolist():
            zf.extract(info, source)
            mode = (info.external_attr >> 16) & 0o777
            if mode:
                os.chmod(source / info.filename, mode)


def build_zip(root: Path, out: Path, *args: str) -> Path:
    proc = subprocess.run([sys.executable, str(GRADER / "gradescope.py"), "--root", str(root),
                           "--out", str(out), *args], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return Path(proc.stdout.split(": ", 1)[1].rsplit(" (", 1)[0])


def run_autograder(autograder: Path, files: dict) -> dict:
    submission = autograder / "submission"
    submission.mkdir(parents=True)
    for name, text in files.items():
        (submission / name).write_text(text)
    proc = subprocess.run([str(autograder / "source" / "run_autograder")], cwd=autograder / "source",
                          env={**os.environ, "AUTOGRADER_ROOT": str(autograder)},
                          capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return json.loads((autograder / "results" / "results.json").read_text())


def test_autograder_zip_grades_a_flat_submission_in_a_simulated_autograder(tmp_path):
    root = make_tree(tmp_path / "course")
    zip_path = build_zip(root, tmp_path / "dist", "--lab", "01")
    assert zip_path == tmp_path / "dist" / "01-demo" / "autograder.zip"
    with zipfile.ZipFile(zip_path) as zf:
        names = set(zf.namelist())
        setup = zf.read("setup.sh").decode()
        modes = {i.filename: (i.external_attr >> 16) & 0o777 for i in zf.infolist()}
    assert {"setup.sh", "run_autograder", "netlab.json", "course/grader/grade.py",
            "course/labs/01-demo/lab.toml", "course/labs/01-demo/tests/test_demo.py",
            "course/solutions/01-demo/shout.c",
            "course/solutions/01-demo/tests/test_hidden_demo.py"} <= names
    assert modes["run_autograder"] & stat.S_IXUSR and modes["setup.sh"] & stat.S_IXUSR
    assert not any("selftest" in n or n.endswith(".o") for n in names)
    # The packages are the Makefile's own list.
    packages = subprocess.run(["make", "-s", "--no-print-directory", "-C", str(ROOT), "packages"],
                              capture_output=True, text=True).stdout.split()
    assert "apt-get install -y --no-install-recommends " + " ".join(packages) in setup
    assert "--lab 01-demo --expect full" in setup

    autograder = tmp_path / "autograder"
    unpack(zip_path, autograder / "source")
    results = run_autograder(autograder, {"shout.c": SHOUT_OK, "upper.c": UPPER,
                                          "notes.txt": "not part of the lab"})
    assert schema_problems(results) == []
    assert results["score"] == 10 and results["extra_data"]["max_score"] == 10
    hidden = [t for t in results["tests"] if t["name"].endswith("test_hidden_binary")]
    assert hidden and hidden[0]["visibility"] == "after_published"
    assert all(t["visibility"] == "visible" for t in results["tests"] if t not in hidden)


def test_every_lab_autograder_finds_the_lab_from_the_files(tmp_path):
    root = make_tree(tmp_path / "course")
    zip_path = build_zip(root, tmp_path / "dist")
    assert zip_path == tmp_path / "dist" / "autograder.zip"
    autograder = tmp_path / "autograder"
    unpack(zip_path, autograder / "source")
    results = run_autograder(autograder, {"shout.c": SHOUT_STUB, "upper.c": UPPER})
    assert schema_problems(results) == []
    assert 0 <= results["score"] < 10
    failed = [t for t in results["tests"] if t["status"] == "failed"]
    assert any("test_upper_converts" in t["name"] and "HELLO" in t["output"] for t in failed)

    # Nothing of any lab: a clear message, not a crash.
    empty = tmp_path / "autograder2"
    unpack(zip_path, empty / "source")
    results = run_autograder(empty, {"README": "hello"})
    assert schema_problems(results) == []
    assert results["score"] == 0 and "none of the files" in results["output"]
