"""Valgrind verdicts: each kind of mistake is found, named and placed on the
student's own line; leaks are counted, memory still reachable at exit
included; the rerun command reproduces the verdict from the program's
directory; clean code (and glibc's own memory) is clean."""
import shlex
import subprocess
from pathlib import Path

import pytest

from netgrader.procs import Journal, Runner
from netgrader.valgrind import (VALGRIND_ERROR_EXIT, detail, hint, parse_valgrind_log,
                                read_valgrind_log, rerun_command, summary, valgrind_argv)

PROGRAMS = Path(__file__).resolve().parent / "programs"


def line_of(program: str, text: str) -> int:
    """The line of programs/program holding text (so the tests follow edits)."""
    lines = (PROGRAMS / program).read_text().splitlines()
    matches = [i for i, line in enumerate(lines, 1) if text in line]
    assert len(matches) == 1, f"{text!r} in {program}: {matches}"
    return matches[0]


def memcheck(tmp_path, binary, *args, reachable=True):
    """(exit status, report) of binary run under the grader's options."""
    log = tmp_path / f"{binary.name}-{'-'.join(args)}.valgrind"
    proc = subprocess.run(valgrind_argv(log, reachable) + [str(binary), *args],
                          stdin=subprocess.DEVNULL, capture_output=True, timeout=120)
    return proc.returncode, read_valgrind_log(log, roots=[PROGRAMS, binary.parent])


def test_invalid_read_names_its_kind_and_the_students_lines(tmp_path, compiled):
    status, report = memcheck(tmp_path, compiled("bad_memory"), "invalid-read")
    assert status == VALGRIND_ERROR_EXIT and not report.clean
    first = report.first_error
    assert first.kind == "Invalid read of size 4"
    read_at = line_of("bad_memory.c", "total += v[i]")
    called_at = line_of("bad_memory.c", "int total = sum(v, 10);")
    assert [f.render() for f in first.stack if f.own] == [
        f"sum (bad_memory.c:{read_at})", f"main (bad_memory.c:{called_at})"]
    assert summary(report) == f"Invalid read of size 4 at sum (bad_memory.c:{read_at})"
    text = detail(report)
    assert f"   by main (bad_memory.c:{called_at})" in text
    assert "is 0 bytes after a block of size 40 alloc'd" in text
    allocated_at = line_of("bad_memory.c", "calloc(10, sizeof *v)")
    assert f"by main (bad_memory.c:{allocated_at})" in text
    assert "off-by-one" in hint(report)


def test_uninitialised_value_is_placed_on_the_branch(tmp_path, compiled):
    _, report = memcheck(tmp_path, compiled("bad_memory"), "uninit")
    first = report.first_error
    assert first.kind == "Conditional jump or move depends on uninitialised value(s)"
    assert first.stack[0].own
    assert first.stack[0].render() == (
        f"main (bad_memory.c:{line_of('bad_memory.c', 'if (is_answer(flag))')})")


def test_syscall_param_keeps_the_libc_frame_for_context(tmp_path, compiled):
    _, report = memcheck(tmp_path, compiled("bad_memory"), "syscall")
    first = report.first_error
    assert first.kind == "Syscall param write(buf) points to uninitialised byte(s)"
    # glibc's write() (whose debug information names a write.c of its own)
    # is context, not the student's.
    assert first.stack[0].function == "write" and not first.stack[0].own
    at = line_of("bad_memory.c", "write(STDOUT_FILENO, buf, 16)")
    assert summary(report) == (f"{first.kind} in write() called from main (bad_memory.c:{at})")
    assert detail(report).splitlines()[1:3] == [
        f"   at {first.stack[0].render()}", f"   by main (bad_memory.c:{at})"]


def test_a_crash_names_the_null_pointer_and_the_signal(tmp_path, compiled):
    status, report = memcheck(tmp_path, compiled("crash"))
    assert status == -11
    at = line_of("crash.c", "return *p;")
    assert summary(report) == f"Invalid read of size 4 at main (crash.c:{at})"
    assert "SIGSEGV" in report.terminated.kind
    assert report.terminated.stack[0].render() == f"main (crash.c:{at})"
    assert "NULL pointer" in hint(report)
    assert detail(report).splitlines()[-1] == (
        "(then: Process terminating with default action of signal 11 (SIGSEGV))")


def test_use_after_free_and_double_free_are_told_apart():
    log = """==5== Invalid read of size 4
==5==    at 0x1: main (/lab/uaf.c:7)
==5==  Address 0x4a42048 is 8 bytes inside a block of size 32 free'd
==5==    at 0x2: free (in /usr/libexec/valgrind/vgpreload_memcheck-amd64-linux.so)
==5==    by 0x3: main (/lab/uaf.c:6)
==5==  Block was alloc'd at
==5==    at 0x4: malloc (in /usr/libexec/valgrind/vgpreload_memcheck-amd64-linux.so)
==5==    by 0x5: main (/lab/uaf.c:4)
==5==
==5== Invalid free() / delete / delete[] / realloc()
==5==    at 0x2: free (in /usr/libexec/valgrind/vgpreload_memcheck-amd64-linux.so)
==5==    by 0x6: main (/lab/uaf.c:8)
==5==  Address 0x4a42040 is 0 bytes inside a block of size 32 free'd
==5==    at 0x2: free (in /usr/libexec/valgrind/vgpreload_memcheck-amd64-linux.so)
==5==    by 0x3: main (/lab/uaf.c:6)
"""
    report = parse_valgrind_log(log, roots=["/lab"])
    assert "already freed" in hint(report)
    assert [n for n, _ in report.first_error.notes] == [
        "Address 0x4a42048 is 8 bytes inside a block of size 32 free'd", "Block was alloc'd at"]
    assert detail(report).splitlines()[-1] == "(then 1 more: Invalid free() / delete / delete[] / realloc())"
    report.findings.pop(0)
    assert "freed twice" in hint(report)
    assert summary(report) == "Invalid free() / delete / delete[] / realloc() in free() called from main (uaf.c:8)"


def test_still_reachable_memory_is_a_leak(tmp_path, compiled):
    status, report = memcheck(tmp_path, compiled("bad_memory"), "reachable")
    assert status == VALGRIND_ERROR_EXIT
    assert report.leak_totals() == {"still reachable": (96, 3)}
    malloc_at = line_of("bad_memory.c", "malloc(sizeof *n)")
    assert summary(report) == ("still reachable at exit: 96 bytes in 3 blocks, allocated by "
                               f"malloc() in push (bad_memory.c:{malloc_at})")
    assert "a global" in hint(report)
    # The policy is the option: without it the same run is clean.
    status, report = memcheck(tmp_path, compiled("bad_memory"), "reachable", reachable=False)
    assert status == 0 and report.clean, report.log


def test_definitely_and_indirectly_lost_are_counted_apart(tmp_path, compiled):
    _, report = memcheck(tmp_path, compiled("bad_memory"), "lost")
    assert report.leak_totals() == {"definitely lost": (32, 1), "indirectly lost": (32, 1)}
    definite = next(leak for leak in report.leaks if leak.kind == "definitely lost")
    assert definite.total == 64
    pushed_at = line_of("bad_memory.c", 'struct node *list = push(push(NULL, "x"), "y");')
    assert [f.render() for f in definite.stack if f.own][-1] == f"main (bad_memory.c:{pushed_at})"
    lines = summary(report).splitlines()
    assert lines[0].startswith("definitely lost: 32 bytes in 1 block, allocated by malloc() in push")
    assert lines[1] == "indirectly lost: 32 bytes in 1 block"
    assert "Leaks at exit: definitely lost 32 bytes in 1 block; indirectly lost 32 bytes in 1 block" \
        in detail(report)


def test_leaks_and_open_sockets_are_reported(tmp_path, compiled):
    result = Runner(tmp_path, Journal()).run([compiled("leaky")], valgrind=True, timeout=30)
    report = result.valgrind
    assert any("definitely lost" in e for e in report.errors), report.log
    assert any("AF_INET socket" in fd and "leaky.c:8" in fd for fd in report.open_fds), report.log
    assert not report.clean
    assert report.fds[0].what.startswith("AF_INET socket")
    assert "descriptor open at exit: fd" in summary(report)


def test_clean_program_is_clean(tmp_path, compiled):
    result = Runner(tmp_path, Journal()).run([compiled("clean")], valgrind=True, timeout=30)
    assert result.returncode == 0
    assert result.valgrind.clean, result.valgrind.log
    assert summary(result.valgrind) == "clean" and detail(result.valgrind) == ""


def test_glibc_keeps_nothing_reachable(tmp_path, compiled):
    """The resolver, stdio, threads and time zones leave nothing behind once
    Valgrind has called __libc_freeres: if a new glibc does, this fails and
    a suppression (with its reason) is due, not a weaker policy."""
    status, report = memcheck(tmp_path, compiled("libc_user"))
    assert status == 0 and report.clean, report.log


def test_rerun_command_reproduces_the_verdict_from_the_program_directory(tmp_path, compiled):
    binary = compiled("bad_memory")
    command = rerun_command([binary, "reachable"], binary.parent)
    words = shlex.split(command)
    assert words[0] == "valgrind" and words[-2:] == ["./bad_memory", "reachable"]
    assert "--show-leak-kinds=definite,indirect,possible,reachable" in words
    assert not any(w.startswith("--log-file") for w in words)
    proc = subprocess.run(["sh", "-c", command], cwd=binary.parent, capture_output=True,
                          timeout=120)
    assert proc.returncode == VALGRIND_ERROR_EXIT
    assert b"are still reachable in loss record" in proc.stderr
    clean = rerun_command([compiled("clean")], binary.parent)
    assert subprocess.run(["sh", "-c", clean], cwd=binary.parent, capture_output=True,
                          timeout=120).returncode == 0


def test_rerun_command_quotes_and_keeps_outside_paths():
    command = rerun_command(["/lab/dir/tcpcat", "it's", "a b"], "/lab",
                            stdin="/tmp/in put", env={"LD_PRELOAD": "/x/faults.so"})
    assert command.startswith("LD_PRELOAD=/x/faults.so valgrind -q --leak-check=full ")
    assert command.endswith(""" dir/tcpcat 'it'"'"'s' 'a b' < '/tmp/in put'""")
    assert rerun_command(["/elsewhere/prog"], "/lab").endswith(" /elsewhere/prog")
    assert "--show-leak-kinds=definite,indirect,possible " in rerun_command(
        ["/lab/prog"], "/lab", reachable=False)


def test_inherited_descriptors_are_not_blamed():
    log = """==1== FILE DESCRIPTORS: 5 open (3 std) at exit.
==1== Open file descriptor 7: /tmp/x
==1==    <inherited from parent>
==1==
==1== Open AF_INET6 socket 4: ::1:80 <-> unbound
==1==    at 0x1: socket (x.S:1)
==1==    by 0x2: main (/lab/tcpcat.c:12)
==1==
"""
    report = parse_valgrind_log(log)
    assert [(d.fd, d.what) for d in report.fds] == [(4, "AF_INET6 socket ::1:80 <-> unbound")]
    assert report.open_fds == [
        "fd 4: AF_INET6 socket ::1:80 <-> unbound, opened by socket() in main (tcpcat.c:12)"]


def test_own_frames_are_those_under_the_roots():
    log = """==7== Invalid write of size 1
==7==    at 0x1: memcpy (string/../sysdeps/x86_64/multiarch/memmove-vec-unaligned-erms.S:314)
==7==    by 0x2: helper (/course/common/die.c:30)
==7==    by 0x3: fill (/course/labs/01/src/write.c:5)
==7==    by 0x4: main (/course/labs/01/main.c:9)
==7==    by 0x5: (below main) (libc-start.c:360)
==7==  Address 0x4a4 is 0 bytes after a block of size 1,024 alloc'd
==7==    at 0x6: malloc (in /usr/libexec/valgrind/vgpreload_memcheck-amd64-linux.so)
==7==    by 0x7: main (/course/labs/01/main.c:8)
==7==
==7== 2,048 bytes in 2 blocks are possibly lost in loss record 1 of 1
==7==    at 0x6: malloc (in /usr/libexec/valgrind/vgpreload_memcheck-amd64-linux.so)
==7==    by 0x7: main (/course/labs/01/main.c:7)
"""
    report = parse_valgrind_log(log, roots=["/course/labs/01"])
    stack = report.first_error.stack
    assert [f.own for f in stack] == [False, False, True, True, False]
    assert summary(report).splitlines() == [
        "Invalid write of size 1 in memcpy() called from fill (src/write.c:5)",
        "possibly lost: 2,048 bytes in 2 blocks, allocated by malloc() in main (main.c:7)"]
    assert detail(report).splitlines()[:5] == [
        "Invalid write of size 1",
        "   at memcpy (memmove-vec-unaligned-erms.S:314)",
        "      ...",
        "   by fill (src/write.c:5)",
        "   by main (main.c:9)"]
    # Without roots, any absolute path outside the system's directories is own.
    assert [f.own for f in parse_valgrind_log(log).first_error.stack] == [
        False, True, True, True, False]


def test_valgrind_failing_to_start_is_not_clean():
    log = """valgrind:  Fatal error at startup: a function redirection
valgrind:  which is mandatory for this platform-tool combination
valgrind:  cannot be set up.
"""
    report = parse_valgrind_log(log)
    assert not report.clean
    assert summary(report) == ("Valgrind did not run the program: Fatal error at startup: "
                               "a function redirection")
    assert read_valgrind_log("/nonexistent/log").fatal


@pytest.mark.parametrize("count", [1, 40])
def test_detail_and_summary_stay_bounded(count):
    blocks = []
    for i in range(count):
        blocks.append(f"==1== Invalid read of size {i + 1}\n"
                      f"==1==    at 0x1: f{i} (/lab/a.c:{i + 1})\n==1==    by 0x2: main (/lab/a.c:99)\n")
        blocks.append(f"==1== Open AF_INET socket {i + 3}: 127.0.0.1:1 <-> unbound\n"
                      f"==1==    at 0x1: socket (socket.S:1)\n==1==    by 0x2: main (/lab/a.c:{i})\n")
        blocks.append(f"==1== {i + 1} bytes in 1 blocks are definitely lost in loss record {i} of {count}\n"
                      f"==1==    at 0x1: malloc (in /usr/lib/x.so)\n==1==    by 0x2: main (/lab/a.c:{i})\n")
    report = parse_valgrind_log("==1==\n".join(blocks), roots=["/lab"])
    assert len(report.findings) == len(report.fds) == len(report.leaks) == count
    assert len(detail(report).splitlines()) <= 30
    assert len(summary(report).splitlines()) <= 5
    assert summary(report).splitlines()[0] == "Invalid read of size 1 at f0 (a.c:1)" + (
        f" (and {count - 1} more errors)" if count > 1 else "")
