"""The fault-injection library: naive I/O fails under it and robust I/O
passes, a seed replays its schedule, and it never does what the kernel could
not (a split datagram, a spurious EAGAIN on an edge-triggered descriptor, a
fault on anything but a socket)."""
import re
import socket

import pytest

from netgrader import faults
from netgrader.peers import ScriptedServer
from netgrader.procs import Journal, Runner

MESSAGE_LENGTH = 3000


def expected_message(length: int = MESSAGE_LENGTH) -> bytes:
    return bytes(ord("a") + i % 26 for i in range(length))


@pytest.fixture(scope="module")
def library(tmp_path_factory):
    out = tmp_path_factory.mktemp("faultinject")
    step = faults.build(out)
    assert step.ok, step.output
    return out / faults.LIBRARY_NAME


@pytest.fixture
def journal():
    return Journal()


@pytest.fixture
def under_faults(library, tmp_path, journal):
    """under_faults(kinds, rate, seed=1) -> a Runner whose programs get faults."""
    runners = []

    def make(kinds, rate=30, seed=1):
        plan = faults.FaultPlan(library, seed, faults.check_kinds(kinds), rate,
                                tmp_path / f"faults{len(runners)}.log")
        runner = faults.FaultRunner(tmp_path / f"run{len(runners)}", journal, plan)
        runners.append(runner)
        return runner

    yield make
    for r in runners:
        r.close()


@pytest.fixture
def echo(journal):
    """A peer that reads to the client's FIN and sends everything back."""
    def handler(conn):
        conn.send(conn.recv_to_eof())

    server = ScriptedServer(handler, journal, name="echo peer")
    yield server
    server.close()


def run_client(runner, compiled, mode, echo):
    return runner.run([compiled("io_client"), mode, echo.port, MESSAGE_LENGTH], timeout=20)


@pytest.mark.parametrize("mode", [
    "one-read", "one-write", "no-eintr", "no-handler", "masked", "robust", "nonblocking",
    "edge"])
def test_every_client_works_without_faults(tmp_path, journal, compiled, echo, mode):
    """The control: on plain loopback, naive code passes too."""
    runner = Runner(tmp_path, journal)
    result = run_client(runner, compiled, mode, echo)
    assert (result.returncode, result.stdout) == (0, expected_message()), result.stderr


def test_short_reads_break_one_read_per_message(under_faults, compiled, echo):
    runner = under_faults("short", rate=50)
    result = run_client(runner, compiled, "one-read", echo)
    assert result.stdout != expected_message()
    assert runner.plan.count() > 0


def test_shortwrite_breaks_a_single_write_on_a_blocking_socket(under_faults, compiled, echo):
    """`short` leaves a blocking write without a handler whole (Linux does);
    `shortwrite` shortens it too (POSIX allows it), so one unchecked write()
    loses the end of the message while a loop still delivers it all."""
    runner = under_faults("short", rate=100)
    result = run_client(runner, compiled, "one-write", echo)
    assert result.stdout == expected_message()
    assert not any("short write" in line for line in runner.plan.schedule())
    runner = under_faults("shortwrite", rate=100)
    result = run_client(runner, compiled, "one-write", echo)
    assert result.returncode == 0 and result.stdout != expected_message()
    assert expected_message().startswith(result.stdout)
    seen = ""
    for seed in range(1, 9):
        runner = under_faults("shortwrite", rate=50, seed=seed)
        result = run_client(runner, compiled, "no-handler", echo)
        assert (result.returncode, result.stdout) == (0, expected_message()), result.stderr
        seen += " ".join(runner.plan.schedule())
    assert "short write" in seen and "short read" not in seen


def test_eintr_breaks_code_without_an_eintr_loop(under_faults, compiled, echo):
    runner = under_faults("eintr", rate=50)
    result = run_client(runner, compiled, "no-eintr", echo)
    assert result.returncode == 1 and b"Interrupted system call" in result.stderr
    assert any("EINTR" in line for line in runner.plan.schedule())


def test_robust_client_passes_every_fault(under_faults, compiled, echo):
    seen = ""
    for seed in range(1, 9):
        runner = under_faults("short,eintr,eagain", rate=50, seed=seed)
        result = run_client(runner, compiled, "robust", echo)
        assert (result.returncode, result.stdout) == (0, expected_message()), \
            f"seed {seed}: {result.stderr!r}"
        seen += " ".join(runner.plan.schedule())
    assert "short read" in seen and "short write" in seen and "EINTR" in seen


def test_nonblocking_client_gets_spurious_eagain_and_copes(under_faults, compiled, echo):
    runner = under_faults("short,eagain", rate=40)
    result = run_client(runner, compiled, "nonblocking", echo)
    assert (result.returncode, result.stdout) == (0, expected_message()), result.stderr
    assert any("EAGAIN" in line for line in runner.plan.schedule())


def test_a_program_makes_progress_even_at_rate_100(under_faults, compiled, echo):
    """No call fails more than three times in a row, so a correct program
    finishes whatever the rate."""
    runner = under_faults("short,eagain", rate=100)
    result = run_client(runner, compiled, "nonblocking", echo)
    assert (result.returncode, result.stdout) == (0, expected_message()), result.stderr
    assert "EAGAIN" in " ".join(runner.plan.schedule())


def test_edge_triggered_descriptors_never_get_a_spurious_eagain(under_faults, compiled, echo):
    """An edge already consumed never comes back: a spurious EAGAIN would hang
    a correct program, so the library must not inject one there."""
    runner = under_faults("eagain", rate=100)
    result = run_client(runner, compiled, "edge", echo)
    assert (result.returncode, result.stdout) == (0, expected_message()), result.stderr
    assert runner.plan.schedule() == []


@pytest.mark.parametrize("mode", ["no-handler", "masked"])
def test_no_eintr_without_a_handler_that_could_cause_it(under_faults, compiled, echo, mode):
    """No handler, or its signal blocked in the thread: the kernel never
    interrupts such a call, so neither does the library."""
    runner = under_faults("eintr", rate=100)
    result = run_client(runner, compiled, mode, echo)
    assert (result.returncode, result.stdout) == (0, expected_message()), result.stderr
    assert runner.plan.schedule() == []


def schedule_without_pids(plan) -> list[str]:
    return [re.sub(r"^pid \d+ ", "", line) for line in plan.schedule()]


def test_the_same_seed_replays_the_same_schedule(under_faults, compiled, echo):
    plans = []
    for seed in (7, 7, 8):
        runner = under_faults("short", rate=50, seed=seed)
        result = run_client(runner, compiled, "robust", echo)
        assert result.stdout == expected_message()
        plans.append(schedule_without_pids(runner.plan))
    assert plans[0] == plans[1] and plans[0]
    assert plans[0] != plans[2]


def test_files_and_pipes_are_never_touched(under_faults, tmp_path):
    data = bytes(range(256)) * 4000
    (tmp_path / "input").write_bytes(data)
    runner = under_faults("short,eintr,eagain", rate=100)
    result = runner.run(["sh", "-c", "cat input | cat"], cwd=tmp_path)
    assert result.stdout == data
    assert runner.plan.schedule() == []


def test_without_a_seed_nothing_is_injected(library, tmp_path, journal, compiled, echo):
    runner = Runner(tmp_path, journal, env={"LD_PRELOAD": str(library),
                                            "NETLAB_FAULTS_RATE": "100"})
    result = run_client(runner, compiled, "one-read", echo)
    assert result.stdout == expected_message()


def receive_datagrams(sock) -> list[bytes]:
    """Everything queued: loopback delivers before sendto returns."""
    got = []
    sock.setblocking(False)
    while True:
        try:
            got.append(sock.recv(65536))
        except BlockingIOError:
            return got


@pytest.mark.parametrize("kinds", ["", "drop,dup"])
def test_datagrams_are_dropped_or_duplicated_but_never_split(under_faults, tmp_path, journal,
                                                             compiled, kinds):
    count, size = 100, 1200
    receiver = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    receiver.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 20)
    receiver.bind(("127.0.0.1", 0))
    runner = under_faults(kinds, rate=40) if kinds else Runner(tmp_path, journal)
    try:
        result = runner.run([compiled("udp_sender"), receiver.getsockname()[1], count, size])
        got = receive_datagrams(receiver)
    finally:
        receiver.close()
    assert result.returncode == 0, result.stderr  # sendto always reported the full size
    assert all(len(d) == size for d in got)
    numbers = [int(d[:6]) for d in got]
    if not kinds:
        assert numbers == list(range(count))
        return
    dropped = set(range(count)) - set(numbers)
    duplicated = len(numbers) - len(set(numbers))
    assert dropped and duplicated
    log = " ".join(runner.plan.schedule())
    assert log.count("dropped") == len(dropped) and log.count("sent twice") == duplicated


def test_a_failure_report_names_the_seed_and_the_first_faults(under_faults, compiled, echo):
    runner = under_faults("short", rate=50, seed=99)
    run_client(runner, compiled, "one-read", echo)
    summary = runner.plan.summary()
    assert summary["plan"].startswith("seed 99, short on 50%")
    assert summary["count"] >= 1 and summary["first"][0].startswith("pid ")
    assert "NETLAB_FAULTS_SEED=99" in summary["by_hand"]
    assert "LD_PRELOAD=" in summary["by_hand"] and "io_client one-read" in summary["by_hand"]
