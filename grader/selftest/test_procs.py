"""The process layer: limits, deadlines, crashes and servers all end as a
clear verdict, and nothing a test started outlives it."""
import os
import re
import signal
import subprocess

import pytest

from netgrader.procs import Journal, Limits, Runner, ServerError


@pytest.fixture
def runner(tmp_path):
    r = Runner(tmp_path, Journal())
    yield r
    r.close()


def processes_running(binary) -> list[str]:
    """PIDs of processes running exactly this program (not one whose name
    merely starts the same, like server and server_silent)."""
    pattern = "^" + re.escape(str(binary)) + "( |$)"
    out = subprocess.run(["pgrep", "-f", pattern], capture_output=True, text=True)
    return out.stdout.split()


def test_exit_status_and_output_are_captured(runner):
    result = runner.run(["sh", "-c", "printf out; printf err >&2; exit 3"])
    assert (result.returncode, result.stdout, result.stderr) == (3, b"out", b"err")
    assert result.describe_exit() == "exit status 3"


def test_stdin_is_fed_from_bytes(runner):
    result = runner.run(["cat"], stdin=b"\0binary\xff" * 1000)
    assert result.stdout == b"\0binary\xff" * 1000


def test_infinite_loop_is_killed_at_its_deadline(runner, compiled):
    result = runner.run([compiled("spin")], timeout=1)
    assert result.timed_out and "killed" in result.describe_exit()
    assert not processes_running(compiled("spin"))


def test_cpu_limit_stops_a_spinning_program(runner, compiled):
    result = runner.run([compiled("spin")], timeout=20, limits=Limits(cpu_seconds=1))
    assert result.signal in (signal.SIGXCPU, signal.SIGKILL)
    assert "CPU" in result.describe_exit() or "killed" in result.describe_exit()


def test_forked_children_do_not_outlive_the_run(runner, compiled):
    result = runner.run([compiled("forker")])
    assert result.returncode == 0
    assert not processes_running(compiled("forker"))


def test_crash_names_the_signal(runner, compiled):
    result = runner.run([compiled("crash")])
    assert result.signal == signal.SIGSEGV
    assert "SIGSEGV" in result.describe_exit() and "memory" in result.describe_exit()


def test_output_flood_is_capped(runner, compiled):
    result = runner.run([compiled("flood")], limits=Limits(file_size=1 << 20), timeout=20)
    assert result.output_capped and len(result.stdout) <= 1 << 20
    assert "size limit" in result.describe_exit()


def test_server_listening_line_gives_the_port(runner, compiled):
    server = runner.start_server([compiled("server"), "ok"])
    assert 0 < server.port < 65536
    import socket
    with socket.create_connection(("127.0.0.1", server.port), timeout=5):
        pass
    assert server.stop() == 0


def test_server_without_listening_line_fails_clearly(runner, compiled):
    with pytest.raises(ServerError) as err:
        runner.start_server([compiled("server_silent")], listening_timeout=1)
    assert "listening on port N" in err.value.expected and "nothing within" in err.value.got
    assert not processes_running(compiled("server_silent"))


def test_server_with_wrong_first_line_fails_clearly(runner, compiled):
    with pytest.raises(ServerError) as err:
        runner.start_server([compiled("server_badline")])
    assert "Server started on 8080" in err.value.got
    assert not processes_running(compiled("server_badline"))


def test_server_ignoring_sigterm_is_killed_and_reported(runner, compiled):
    server = runner.start_server([compiled("server"), "deaf"])
    with pytest.raises(ServerError) as err:
        server.stop(timeout=1)
    assert "still running" in err.value.got
    assert not processes_running(compiled("server"))


def test_server_that_exits_early_is_reported(runner):
    with pytest.raises(ServerError) as err:
        runner.start_server(["sh", "-c", "echo oops >&2; exit 4"])
    assert "exit status 4" in err.value.got


def test_journal_records_each_step(tmp_path):
    journal = Journal()
    r = Runner(tmp_path, journal)
    r.run(["sh", "-c", "echo boom >&2; exit 1"], stdin=b"hi")
    assert journal.steps and "exit status 1" in journal.steps[0] and "b'hi'" in journal.steps[0]
    assert journal.stderr_tails() == [("sh", "boom")]
    assert os.path.isdir(tmp_path)


def test_server_announcing_the_wrong_port_fails_with_both_ports(runner, compiled):
    with pytest.raises(ServerError) as err:
        runner.start_server([compiled("server"), "wrong-port"])
    assert "holds no socket on port" in err.value.got and "bound to port" in err.value.got
    assert "getsockname" in err.value.hint
    assert not processes_running(compiled("server"))


def test_server_closing_its_stdout_fails_clearly(runner, compiled):
    with pytest.raises(ServerError) as err:
        runner.start_server([compiled("server_closes_stdout")])
    assert "closed its stdout" in err.value.got
    assert not processes_running(compiled("server_closes_stdout"))


def test_huge_file_is_stopped_by_the_size_limit(runner, compiled, tmp_path):
    result = runner.run([compiled("big_file")], limits=Limits(file_size=4 << 20), cwd=tmp_path)
    assert result.signal == signal.SIGXFSZ and "size limit" in result.describe_exit()
    assert (tmp_path / "huge.bin").stat().st_size <= 4 << 20


def test_fork_bomb_is_stopped_and_leaves_nothing_behind(runner, compiled):
    from netgrader import cgroup
    if cgroup.base() is None and os.geteuid() == 0:
        pytest.skip("no pids cgroup here, and RLIMIT_NPROC does not bind root")
    result = runner.run([compiled("fork_bomb")], limits=Limits(processes=32), timeout=20)
    assert result.returncode == 0 and b"fork failed 100 times" in result.stdout
    assert not processes_running(compiled("fork_bomb"))
