"""The report's own logic, on outcomes made by hand: a failure that only
echoes an earlier one is shown as skipped, and a failure under fault
injection says how to replay it."""
from pathlib import Path

from netgrader.report import Outcome, Report, handout_order


class Options:
    """Just enough of pytest's config for the report."""

    def __init__(self, **options):
        self.options = {"--impl": "labs", "--brief": False, "--rerun-from": "top",
                        "--hidden-visibility": "after_published", **options}
        self.stash = {}

    def getoption(self, name):
        return self.options[name]


def report_of(*outcomes: Outcome) -> Report:
    report = Report(Options(), Path("/course/labs"), Path("/tmp/out"))
    for o in outcomes:
        report.outcomes[o.nodeid] = o
        report.order.append(o.nodeid)
    return report


def outcome(title, status, **props) -> Outcome:
    return Outcome(nodeid=f"t.py::{title}", lab="01-demo", title=title, points=5,
                   status=status, props=props)


def plain(text: str, _style: str) -> str:
    return text


def test_a_failure_that_needs_a_failed_test_is_shown_as_skipped():
    report = report_of(outcome("test_first", "failed", what="x"),
                       outcome("test_second", "failed", needs=["test_first"]),
                       outcome("test_third", "failed", needs=["test_second"]))
    text = "\n".join(report.lines(plain))
    assert "FAIL    0/5   test_first" in text
    assert "SKIP    0/5   test_second" in text and "skipped: needs test_first" in text
    assert "skipped: needs test_second" in text  # a chain skips all the way down


def test_a_failure_whose_needed_test_passed_stays_a_failure():
    report = report_of(outcome("test_first", "passed"),
                       outcome("test_second", "failed", needs=["test_first"]),
                       outcome("test_other", "failed", needs=["test_not_run"]))
    text = "\n".join(report.lines(plain))
    assert "FAIL    0/5   test_second" in text and "FAIL    0/5   test_other" in text
    assert "skipped" not in text


def test_a_failure_under_faults_shows_the_seed_the_schedule_and_a_replay():
    faults = {"plan": "seed 42, short on 30% of socket calls", "count": 3,
              "first": ["pid 1 thread 1 call 2: read(fd 3, 4096 bytes): short read"],
              "by_hand": "LD_PRELOAD=/x/faultinject.so NETLAB_FAULTS_SEED=42 ./httpget URL"}
    report = report_of(outcome("test_robust_fetch", "failed", what="stdout",
                               expected="1000 bytes", got="998 bytes", faults=[faults]))
    text = "\n".join(report.lines(plain))
    assert "faults:    seed 42, short on 30% of socket calls; 3 injected, the first:" in text
    assert "read(fd 3, 4096 bytes): short read" in text
    assert "by hand:   LD_PRELOAD=/x/faultinject.so NETLAB_FAULTS_SEED=42 ./httpget URL" in text
    assert "rerun:     make grade LAB=01 K=test_robust_fetch   (same seed, same faults)" in text


def test_the_report_keeps_the_handout_order_whatever_the_order_of_the_run():
    """Each lab's Check items and [sanitizers] twins run last; the report
    lists the items as they were collected all the same."""
    collected = ["::07-rpc::build",
                 "labs/07-rpc/tests/check_pbwire.c::varints",
                 "labs/07-rpc/tests/check_sbnet.c::frames",
                 "labs/07-rpc/tests/test_sbd.py::test_serves",
                 "labs/07-rpc/tests/test_sbd.py::test_clean[valgrind]",
                 "labs/07-rpc/tests/test_sbd.py::test_clean[sanitizers]",
                 "labs/07-rpc/tests/test_sbd.py::test_unix",
                 "solutions/07-rpc/tests/check_hidden.c::limits",
                 "solutions/07-rpc/tests/test_hidden.py::test_corner"]
    ran = [collected[i] for i in (0, 3, 4, 6, 8, 1, 2, 7, 5)]
    assert handout_order(ran) == collected
    assert handout_order(collected) == collected
