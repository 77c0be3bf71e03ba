"""A program that does not finish is described from /proc while it still
runs: the system call each thread waits in and the descriptor it waits on,
through the wrappers the grader puts in front of it."""
import os
import select
import signal
import socket
import subprocess
from contextlib import contextmanager

from netgrader import timing
from netgrader.hang import Blocked, blocked_in, describe_fd, innermost, where_blocked


@contextmanager
def started(argv):
    """A process in a session of its own; the whole session is killed after."""
    proc = subprocess.Popen([str(a) for a in argv], stdin=subprocess.DEVNULL,
                            stdout=subprocess.PIPE, start_new_session=True)
    try:
        yield proc
    finally:
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        proc.wait()
        proc.stdout.close()


def ready_port(proc) -> int:
    """The port of the program's `ready [port N]` line (0 without one)."""
    readable, _, _ = select.select([proc.stdout], [], [], timing.scaled(10))
    assert readable, "the program printed nothing"
    words = proc.stdout.readline().split()
    assert words[:1] == [b"ready"], words
    return int(words[2]) if len(words) == 3 else 0


def settled(pid, *syscalls, program=None) -> Blocked:
    """where_blocked once its threads are in these calls ("" for user space)."""
    seen = []

    def done():
        seen[:] = [where_blocked(pid, program)]
        return [t.syscall for t in seen[0].threads] == list(syscalls)

    assert timing.wait_until(done, 10), seen[0] if seen else "nothing seen"
    return seen[0]


def test_read_on_a_connected_tcp_socket(compiled):
    with socket.create_server(("127.0.0.1", 0)) as listener:
        port = listener.getsockname()[1]
        with started([compiled("hang"), "read", port]) as proc:
            peer, (_, client_port) = listener.accept()
            with peer:
                ready_port(proc)
                blocked = settled(proc.pid, "read")
                assert blocked.render() == (
                    f"blocked in read() on fd 3: TCP socket 127.0.0.1:{client_port} -> "
                    f"127.0.0.1:{port} (ESTABLISHED), nothing unread")
                # The structure a test's own hint is made from.
                waited = blocked.threads[0].fds[0]
                assert (waited.fd, waited.socket.kind, waited.socket.state, waited.socket.unread) \
                    == (3, "TCP", "ESTABLISHED", 0)


def test_accept_is_found_below_a_shell_and_prlimit(compiled):
    binary = compiled("hang")
    # The shell forks (a command follows), prlimit execs: two levels.
    with started(["sh", "-c", f"prlimit --nofile=64 -- {binary} accept; exit $?"]) as proc:
        port = ready_port(proc)
        settled(proc.pid, "accept")
        inner = innermost(proc.pid)
        assert inner != proc.pid and os.path.realpath(f"/proc/{inner}/exe") == str(binary)
        assert innermost(proc.pid, program=binary) == inner
        assert blocked_in(proc.pid) == (
            f"blocked in accept() on fd 3: TCP socket listening on 127.0.0.1:{port}")


def test_the_program_is_found_below_valgrind_and_above_its_own_child(compiled):
    binary = compiled("hang")
    with started(["sh", "-c", f"valgrind -q --log-file=/dev/null {binary} poll; exit $?"]) as proc:
        port = ready_port(proc)
        inner = innermost(proc.pid, program=binary)
        assert inner != proc.pid and "/valgrind/" in os.path.realpath(f"/proc/{inner}/exe")
        text = settled(proc.pid, "poll", program=binary).render()
        assert text.startswith("blocked in poll() on fd ") and text.endswith(
            f" (for reading): TCP socket listening on 127.0.0.1:{port}"), text
    with started([binary, "fork"]) as proc:
        ready_port(proc)
        # Without the program's name the single child is followed.
        assert innermost(proc.pid) != proc.pid
        assert innermost(proc.pid, program=binary) == proc.pid
        assert settled(proc.pid, "wait4", program=binary).render() == (
            "blocked in wait4(), waiting for a child process to end")


def test_poll_names_the_descriptors_it_waits_for(compiled):
    with started([compiled("hang"), "poll"]) as proc:
        port = ready_port(proc)
        assert settled(proc.pid, "poll").render() == (
            f"blocked in poll() on fd 3 (for reading): TCP socket listening on 127.0.0.1:{port}")


def test_select_and_epoll_name_the_descriptors_they_wait_for(compiled):
    with started([compiled("hang"), "select"]) as proc:
        port = ready_port(proc)
        call = settled_call(proc.pid, ("select", "pselect6"))
        assert where_blocked(proc.pid).render() == (
            f"blocked in {call}() on fd 3 (for reading): TCP socket listening on 127.0.0.1:{port}")
    with started([compiled("hang"), "epoll"]) as proc:
        port = ready_port(proc)
        call = settled_call(proc.pid, ("epoll_wait", "epoll_pwait"))
        assert where_blocked(proc.pid).render() == (
            f"blocked in {call}() on fd 4: an epoll instance watching fd 3 "
            f"(TCP socket listening on 127.0.0.1:{port})")


def settled_call(pid, calls) -> str:
    """Which of calls (the C library may use either) the program waits in."""
    seen = []

    def done():
        seen[:] = [t.syscall for t in where_blocked(pid).threads]
        return len(seen) == 1 and seen[0] in calls

    assert timing.wait_until(done, 10), seen
    return seen[0]


def test_recvfrom_on_a_udp_socket(compiled):
    with started([compiled("hang"), "udp"]) as proc:
        port = ready_port(proc)
        assert settled(proc.pid, "recvfrom").render() == (
            f"blocked in recvfrom() on fd 3: UDP socket 127.0.0.1:{port}, nothing unread")


def test_each_thread_is_described(compiled):
    with started([compiled("hang"), "threads"]) as proc:
        port = ready_port(proc)
        blocked = settled(proc.pid, "futex", "accept")
        assert blocked.render() == (
            "2 threads: main thread blocked in futex(), waiting for a lock, a condition "
            "variable or another thread's end; 1 other thread blocked in accept() on fd 3: "
            f"TCP socket listening on 127.0.0.1:{port}")


def test_a_busy_loop_is_running(compiled):
    with started([compiled("spin")]) as proc:
        assert settled(proc.pid, "").render() == (
            "running, not in a system call (a loop that never ends?)")


def test_a_process_that_exited_is_said_so():
    with started(["true"]) as proc:
        proc.wait()  # reaped: its /proc entry is gone
        assert blocked_in(proc.pid) == "it had already exited when examined"


def test_descriptors_of_every_kind_are_named():
    """Sockets and pipes of this very process, read back through /proc."""
    me = os.getpid()
    with socket.socket(socket.AF_INET6, socket.SOCK_STREAM) as v6, \
            socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as udp, \
            socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as unix:
        v6.bind(("::1", 0))
        v6.listen()
        udp.bind(("127.0.0.1", 0))
        udp.connect(("127.0.0.1", 9))
        unix.bind("\0netlab-hang-selftest-%d" % me)
        unix.listen()
        read_end, write_end = os.pipe()
        try:
            assert describe_fd(me, v6.fileno()) == (
                f"TCP socket listening on [::1]:{v6.getsockname()[1]}")
            assert describe_fd(me, udp.fileno()) == (
                f"UDP socket 127.0.0.1:{udp.getsockname()[1]} -> 127.0.0.1:9, nothing unread")
            assert describe_fd(me, unix.fileno()) == (
                f"Unix stream socket @netlab-hang-selftest-{me} (LISTEN)")
            assert describe_fd(me, read_end) == "a pipe"
            assert describe_fd(me, 999) == "not open"
            if hasattr(select, "epoll"):
                with select.epoll() as ep:
                    ep.register(udp.fileno(), select.EPOLLIN)
                    assert describe_fd(me, ep.fileno()) == (
                        f"an epoll instance watching fd {udp.fileno()} "
                        f"({describe_fd(me, udp.fileno())})")
        finally:
            os.close(read_end)
            os.close(write_end)
