"""Valgrind verdicts: leaks and leaked descriptors are found, clean code is clean."""
from netgrader.procs import Journal, Runner
from netgrader.valgrind import parse_valgrind_log


def test_leaks_and_open_sockets_are_reported(tmp_path, compiled):
    result = Runner(tmp_path, Journal()).run([compiled("leaky")], valgrind=True, timeout=30)
    report = result.valgrind
    assert any("definitely lost" in e for e in report.errors), report.log
    assert any("AF_INET socket" in fd and "leaky.c:8" in fd for fd in report.open_fds), report.log
    assert not report.clean


def test_clean_program_is_clean(tmp_path, compiled):
    result = Runner(tmp_path, Journal()).run([compiled("clean")], valgrind=True, timeout=30)
    assert result.returncode == 0
    assert result.valgrind.clean, result.valgrind.log


def test_inherited_descriptors_are_not_blamed():
    log = """==1== FILE DESCRIPTORS: 5 open (3 std) at exit.
==1== Open file descriptor 7: /tmp/x
==1==    <inherited from parent>
==1==
==1== Open AF_INET6 socket 4: ::1:80 <-> unbound
==1==    at 0x1: socket (x.S:1)
==1==    by 0x2: main (tcpcat.c:12)
==1==
"""
    report = parse_valgrind_log(log)
    assert len(report.open_fds) == 1 and "socket 4" in report.open_fds[0]
    assert "tcpcat.c:12" in report.open_fds[0]
