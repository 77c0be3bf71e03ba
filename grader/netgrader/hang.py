"""Where a program that does not finish is stuck, read from /proc before it is killed.

A test whose program misses its deadline says what the program was doing:
"blocked in read() on fd 3, a TCP socket 127.0.0.1:40000 -> 127.0.0.1:38913
(ESTABLISHED), nothing unread" tells a student far more than "timed out".

    where_blocked(pid) -> Blocked   the structured answer, thread by thread
    blocked_in(pid) -> str          its one-line rendering
    innermost(pid) -> int           the real program below wrappers

Call them while the process still runs (before killing it). Everything here
is best effort: a process that exits meanwhile, or a file /proc will not
show, gives a shorter answer, never an exception. Linux on x86-64 only for
the system call names (elsewhere the number is shown).
"""
from __future__ import annotations

import os
import platform
import socket
import struct
from dataclasses import dataclass, field

# x86-64 numbers (asm/unistd_64.h) of the calls a network program waits in,
# and a few it may be seen in on the way.
SYSCALLS_X86_64 = {
    0: "read", 1: "write", 2: "open", 3: "close", 7: "poll", 8: "lseek", 9: "mmap",
    16: "ioctl", 17: "pread64", 18: "pwrite64", 19: "readv", 20: "writev", 23: "select",
    24: "sched_yield", 33: "dup2", 34: "pause", 35: "nanosleep", 40: "sendfile", 41: "socket",
    42: "connect", 43: "accept", 44: "sendto", 45: "recvfrom", 46: "sendmsg", 47: "recvmsg",
    48: "shutdown", 49: "bind", 50: "listen", 61: "wait4", 65: "semop", 70: "msgrcv",
    72: "fcntl", 73: "flock", 74: "fsync", 75: "fdatasync", 128: "rt_sigtimedwait",
    130: "rt_sigsuspend", 202: "futex", 230: "clock_nanosleep", 231: "exit_group",
    232: "epoll_wait", 233: "epoll_ctl", 247: "waitid", 257: "openat", 270: "pselect6",
    271: "ppoll", 275: "splice", 276: "tee", 281: "epoll_pwait", 288: "accept4",
    299: "recvmmsg", 307: "sendmmsg", 426: "io_uring_enter", 441: "epoll_pwait2",
    449: "futex_waitv",
}

# Calls whose first argument is the descriptor they wait on.
FD_FIRST = {
    "read", "write", "close", "lseek", "ioctl", "pread64", "pwrite64", "readv", "writev",
    "sendfile", "connect", "accept", "accept4", "sendto", "recvfrom", "sendmsg", "recvmsg",
    "recvmmsg", "sendmmsg", "shutdown", "fcntl", "flock", "fsync", "fdatasync", "splice",
    "tee", "epoll_wait", "epoll_pwait", "epoll_pwait2",
}

# What a call without a descriptor waits for.
WAITS_FOR = {
    "futex": "a lock, a condition variable or another thread's end",
    "futex_waitv": "a lock, a condition variable or another thread's end",
    "wait4": "a child process to end", "waitid": "a child process to end",
    "nanosleep": "a sleep to end", "clock_nanosleep": "a sleep to end",
    "pause": "a signal", "rt_sigsuspend": "a signal", "rt_sigtimedwait": "a signal",
}

TCP_STATES = {
    "01": "ESTABLISHED", "02": "SYN_SENT", "03": "SYN_RECV", "04": "FIN_WAIT1",
    "05": "FIN_WAIT2", "06": "TIME_WAIT", "07": "CLOSE", "08": "CLOSE_WAIT",
    "09": "LAST_ACK", "0A": "LISTEN", "0B": "CLOSING", "0C": "NEW_SYN_RECV",
}

TASK_STATES = {
    "R": "running", "S": "sleeping", "D": "in uninterruptible sleep", "T": "stopped",
    "t": "stopped by a tracer", "Z": "a zombie", "X": "dead", "I": "idle",
}

MAX_THREADS = 16     # threads examined (those doing the same thing are shown once)
MAX_GROUPS = 4       # different things shown for the threads other than the main one
MAX_WAITED_FDS = 4   # descriptors described for poll, select, epoll


def _read(path: str) -> str:
    try:
        with open(path, errors="replace") as f:
            return f.read()
    except OSError:
        return ""


def syscall_name(number: int) -> str:
    if platform.machine() == "x86_64" and number in SYSCALLS_X86_64:
        return SYSCALLS_X86_64[number]
    return f"system call {number}"


# ---------------------------------------------------------------- wrappers

def children(pid: int) -> list[int]:
    """The processes whose parent is pid."""
    kids: set[int] = set()
    tasks = f"/proc/{pid}/task"
    try:
        tids = os.listdir(tasks)
    except OSError:
        return []
    found_file = False
    for tid in tids:
        path = f"{tasks}/{tid}/children"
        if os.path.exists(path):
            found_file = True
            kids.update(int(k) for k in _read(path).split())
    if found_file:
        return sorted(kids)
    # Kernels without CONFIG_PROC_CHILDREN: every process's parent from stat.
    try:
        entries = os.listdir("/proc")
    except OSError:
        return []
    for entry in entries:
        if entry.isdigit():
            stat = _read(f"/proc/{entry}/stat")
            fields = stat.rsplit(")", 1)[-1].split()
            if len(fields) > 1 and fields[1] == str(pid):
                kids.add(int(entry))
    return sorted(kids)


def _is_program(pid: int, program: str) -> bool:
    exe = os.path.realpath(f"/proc/{pid}/exe")
    if exe == os.path.realpath(program):
        return True
    # Under Valgrind the executable is the tool (memcheck-amd64-linux) and the
    # program one of its arguments. (A wrapper's arguments name the program
    # too, so this is asked of Valgrind's tools only.)
    return "/valgrind/" in exe and program in _read(f"/proc/{pid}/cmdline").split("\0")


def innermost(pid: int, program: str | None = None, depth: int = 16) -> int:
    """Follow single-child chains down from pid (wrappers such as sh, prlimit,
    a sandbox launcher) to the real program: stop at a process with no child
    or several, or, when program (its path) is given, at the first process
    running it."""
    current = pid
    for _ in range(depth):
        if program is not None and _is_program(current, str(program)):
            return current
        kids = children(current)
        if len(kids) != 1:
            return current
        current = kids[0]
    return current


# ---------------------------------------------------------------- descriptors

def _ipv4(hexaddr: str) -> str:
    return socket.inet_ntop(socket.AF_INET, struct.pack("<I", int(hexaddr, 16)))


def _ipv6(hexaddr: str) -> str:
    words = [struct.pack("<I", int(hexaddr[i:i + 8], 16)) for i in range(0, 32, 8)]
    return socket.inet_ntop(socket.AF_INET6, b"".join(words))


def _endpoint(text: str) -> str:
    addr, port = text.split(":")
    port_n = int(port, 16)
    if len(addr) == 8:
        return f"{_ipv4(addr)}:{port_n}"
    return f"[{_ipv6(addr)}]:{port_n}"


@dataclass
class SocketInfo:
    kind: str              # "TCP", "UDP", "Unix stream", ...
    local: str = ""
    remote: str = ""       # "" when not connected
    state: str = ""        # TCP: ESTABLISHED, LISTEN, ...; Unix: LISTEN, CONNECTED, ...
    unread: int = 0        # bytes queued for reading (LISTEN: connections to accept)
    unsent: int = 0        # bytes not yet sent or acknowledged

    def render(self) -> str:
        if self.kind == "TCP" and self.state == "LISTEN":
            text = f"TCP socket listening on {self.local}"
            if self.unread:
                text += f", {self.unread} connection(s) waiting to be accepted"
            return text
        text = f"{self.kind} socket {self.local}" if self.local else f"{self.kind} socket"
        if self.remote:
            text += f" -> {self.remote}"
        if self.state:
            text += f" ({self.state})"
        if self.kind in ("TCP", "UDP"):
            text += f", {self.unread} bytes unread" if self.unread else ", nothing unread"
        if self.unsent:
            text += f", {self.unsent} bytes not yet sent"
        return text


def find_socket(pid: int, inode: str) -> SocketInfo | None:
    """The socket with this inode, from the process's own network namespace."""
    for table, kind in (("tcp", "TCP"), ("tcp6", "TCP"), ("udp", "UDP"), ("udp6", "UDP")):
        for line in _read(f"/proc/{pid}/net/{table}").splitlines()[1:]:
            f = line.split()
            if len(f) < 10 or f[9] != inode:
                continue
            tx, rx = (int(x, 16) for x in f[4].split(":"))
            info = SocketInfo(kind, _endpoint(f[1]), unread=rx, unsent=tx if kind == "TCP" else 0)
            if kind == "TCP":
                info.state = TCP_STATES.get(f[3], f[3])
                if info.state != "LISTEN":
                    info.remote = _endpoint(f[2])
            elif f[3] == "01":  # a connected UDP socket
                info.remote = _endpoint(f[2])
            return info
    for line in _read(f"/proc/{pid}/net/unix").splitlines()[1:]:
        f = line.split()
        if len(f) < 7 or f[6] != inode:
            continue
        kind = {"0001": "Unix stream", "0002": "Unix datagram", "0005": "Unix seqpacket"}.get(
            f[4], "Unix")
        listening = int(f[3], 16) & 0x10000
        state = "LISTEN" if listening else {"01": "", "02": "CONNECTING", "03": "CONNECTED",
                                            "04": "DISCONNECTING"}.get(f[5], "")
        path = f[7] if len(f) > 7 else ""
        return SocketInfo(kind, path, state=state)
    return None


def fd_socket(pid: int, fd: int) -> SocketInfo | None:
    """The socket descriptor fd of pid is, if it is a TCP, UDP or Unix one."""
    try:
        target = os.readlink(f"/proc/{pid}/fd/{fd}")
    except OSError:
        return None
    return find_socket(pid, target[8:-1]) if target.startswith("socket:[") else None


def describe_fd(pid: int, fd: int) -> str:
    """What descriptor fd of pid is, in words."""
    try:
        target = os.readlink(f"/proc/{pid}/fd/{fd}")
    except OSError:
        return "not open"
    if target.startswith("socket:["):
        info = find_socket(pid, target[8:-1])
        return info.render() if info else f"a socket (inode {target[8:-1]}, not TCP, UDP or Unix)"
    if target.startswith("pipe:["):
        return "a pipe"
    if target == "anon_inode:[eventpoll]":
        watched = [int(line.split()[1]) for line in _read(f"/proc/{pid}/fdinfo/{fd}").splitlines()
                   if line.startswith("tfd:")]
        if not watched:
            return "an epoll instance watching nothing"
        return "an epoll instance watching " + ", ".join(
            f"fd {w} ({describe_fd(pid, w)})" for w in watched[:MAX_WAITED_FDS]) + (
            ", ..." if len(watched) > MAX_WAITED_FDS else "")
    if target.startswith("anon_inode:"):
        return "an " + target.split(":", 1)[1].strip("[]")
    return target


def _memory(pid: int, address: int, size: int) -> bytes:
    try:
        with open(f"/proc/{pid}/mem", "rb") as mem:
            mem.seek(address)
            return mem.read(size)
    except (OSError, ValueError, OverflowError):
        return b""


def _poll_fds(pid: int, array: int, count: int) -> list[tuple[int, str]]:
    """(fd, "in"/"out"/...) of a poll() array read from the process's memory."""
    count = min(count, 64)
    data = _memory(pid, array, 8 * count)
    waited = []
    for i in range(len(data) // 8):
        fd, events, _ = struct.unpack_from("<ihh", data, 8 * i)
        if fd < 0:
            continue
        how = "/".join(name for bit, name in ((0x1, "reading"), (0x4, "writing")) if events & bit)
        waited.append((fd, how or "events"))
    return waited


def _select_fds(pid: int, nfds: int, sets: tuple[int, int]) -> list[tuple[int, str]]:
    nfds = max(0, min(nfds, 1024))
    waited: dict[int, list[str]] = {}
    for how, address in zip(("reading", "writing"), sets):
        if not address:
            continue
        bits = _memory(pid, address, (nfds + 7) // 8)
        for fd in range(min(nfds, 8 * len(bits))):
            if bits[fd // 8] >> (fd % 8) & 1:
                waited.setdefault(fd, []).append(how)
    return [(fd, "/".join(hows)) for fd, hows in sorted(waited.items())]


# ---------------------------------------------------------------- threads

@dataclass
class WaitedFd:
    fd: int
    how: str                # "reading", "writing", "reading/writing"; "" when the call says
    description: str        # describe_fd()
    socket: SocketInfo | None = None

    @classmethod
    def of(cls, pid: int, fd: int, how: str = "") -> "WaitedFd":
        sock = fd_socket(pid, fd)
        return cls(fd, how, sock.render() if sock else describe_fd(pid, fd), sock)

    def render(self) -> str:
        return f"fd {self.fd}{f' (for {self.how})' if self.how else ''}: {self.description}"


@dataclass
class ThreadState:
    tid: int
    name: str = ""
    state: str = ""            # "sleeping", "running", ...
    syscall: str = ""          # "read", "system call 999"; "" when not in one
    running: bool = False      # on a CPU or runnable, in user space
    fds: list[WaitedFd] = field(default_factory=list)  # the descriptors it waits on
    waits_for: str = ""        # for calls without a descriptor
    wchan: str = ""            # the kernel function it sleeps in

    def render(self) -> str:
        if self.state == "a zombie":
            return "exited (a zombie)"
        if not self.syscall:
            if self.running or self.state == "running":
                return "running, not in a system call (a loop that never ends?)"
            if self.wchan:
                return f"{self.state or 'waiting'} in the kernel's {self.wchan}"
            return self.state or "in an unknown state"
        text = f"blocked in {self.syscall}()"
        if self.fds:
            parts = [w.render() for w in self.fds]
            text += " on " + "; ".join(parts[:MAX_WAITED_FDS])
            if len(parts) > MAX_WAITED_FDS:
                text += f"; and {len(parts) - MAX_WAITED_FDS} more"
        elif self.waits_for:
            text += f", waiting for {self.waits_for}"
        return text


def thread_state(pid: int, tid: int) -> ThreadState:
    base = f"/proc/{pid}/task/{tid}"
    stat = _read(f"{base}/stat")
    t = ThreadState(tid, name=_read(f"{base}/comm").strip())
    if stat:
        letter = stat.rsplit(")", 1)[-1].split()[0]
        t.state = TASK_STATES.get(letter, letter)
    wchan = _read(f"{base}/wchan").strip()
    t.wchan = "" if wchan in ("", "0") else wchan
    fields = _read(f"{base}/syscall").split()
    if not fields:
        return t
    if fields[0] == "running":
        t.running = True
        return t
    number = int(fields[0])
    if number < 0:  # blocked, but not in a system call
        return t
    t.syscall = syscall_name(number)
    args = [int(a, 16) for a in fields[1:7]]
    name = t.syscall
    if name in FD_FIRST and args:
        fd = args[0] & 0xFFFFFFFF
        fd = fd - (1 << 32) if fd >= 1 << 31 else fd
        t.fds = [WaitedFd.of(pid, fd)]
    elif name in ("poll", "ppoll") and len(args) > 1:
        t.fds = [WaitedFd.of(pid, fd, how) for fd, how in _poll_fds(pid, args[0], args[1])]
        if not t.fds:
            t.waits_for = "nothing but its timeout (no descriptor)"
    elif name in ("select", "pselect6") and len(args) > 2:
        t.fds = [WaitedFd.of(pid, fd, how)
                 for fd, how in _select_fds(pid, args[0], (args[1], args[2]))]
        if not t.fds:
            t.waits_for = "nothing but its timeout (no descriptor)"
    else:
        t.waits_for = WAITS_FOR.get(name, "")
    return t


@dataclass
class Blocked:
    """What one process was doing: its threads, the main thread first."""

    pid: int
    program: str = ""
    threads: list[ThreadState] = field(default_factory=list)
    more_threads: int = 0       # threads not described (beyond MAX_THREADS)
    gone: bool = False          # it had exited before it could be examined

    @property
    def main(self) -> ThreadState | None:
        return self.threads[0] if self.threads else None

    def render(self) -> str:
        if self.gone or not self.threads:
            return "it had already exited when examined"
        main, others = self.threads[0], self.threads[1:]
        if not others:
            return main.render()
        total = len(self.threads) + self.more_threads
        parts = [f"main thread {main.render()}"]
        # Threads doing the same thing are counted, not repeated.
        seen: dict[str, int] = {}
        for t in others:
            seen[t.render()] = seen.get(t.render(), 0) + 1
        for text, count in list(seen.items())[:MAX_GROUPS]:
            parts.append(f"{count} other thread{'s' if count > 1 else ''} {text}")
        if len(seen) > MAX_GROUPS:
            parts.append(f"{sum(list(seen.values())[MAX_GROUPS:])} others doing other things")
        if self.more_threads:
            parts.append(f"{self.more_threads} more not examined")
        return f"{total} threads: " + "; ".join(parts)


def where_blocked(pid: int, program: str | None = None, follow: bool = True) -> Blocked:
    """Each thread's state of the program started as pid (through wrappers
    unless follow is False). Call it before killing the process."""
    if follow:
        pid = innermost(pid, program)
    blocked = Blocked(pid, program=_read(f"/proc/{pid}/comm").strip())
    try:
        tids = sorted(int(t) for t in os.listdir(f"/proc/{pid}/task"))
    except OSError:
        blocked.gone = True
        return blocked
    if pid in tids:  # the main thread first
        tids.remove(pid)
        tids.insert(0, pid)
    blocked.more_threads = max(0, len(tids) - MAX_THREADS)
    blocked.threads = [thread_state(pid, tid) for tid in tids[:MAX_THREADS]]
    return blocked


def blocked_in(pid: int, program: str | None = None) -> str:
    """One line: "blocked in read() on fd 3, a TCP socket ... (ESTABLISHED), nothing unread"."""
    return where_blocked(pid, program).render()
