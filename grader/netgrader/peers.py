"""Peers the student's programs talk to: scripted peers written here and
real servers (Python's http.server, nginx) started on loopback.

Scripted peers run in threads of the test process. Every socket operation
has a deadline; what each side sent is recorded for the failure report.
"""
from __future__ import annotations

import contextlib
import os
import shutil
import socket
import subprocess
import threading
import time
from pathlib import Path

from . import sockets, timing
from .procs import EnvironmentError_, Journal, child_env, kill_group


def excerpt(data: bytes, limit: int = 48) -> str:
    """A transcript's view of some bytes: the length and the start."""
    shown = repr(bytes(data[:limit])) + ("..." if len(data) > limit else "")
    return f"{len(data)} bytes {shown}" if data else "nothing"


def send_in_pieces(sock: socket.socket, data: bytes, chunk: int | None = None) -> None:
    """Send all of data at once, or `chunk` bytes per segment, each pushed
    out on its own (TCP_NODELAY), to exercise the other side's reads."""
    if chunk is None:
        sock.sendall(data)
        return
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    for i in range(0, len(data), chunk):
        sock.sendall(data[i:i + chunk])


def recv_until_close(sock: socket.socket, seconds: float, limit: int = 1 << 30,
                     data: bytes = b"", reset_ends: bool = False) -> bytes:
    """data, then everything until the other side closes, within `seconds`
    (already scaled): TimeoutError if the close never comes, ValueError past
    `limit` bytes. With reset_ends, a reset ends the stream like a close."""
    received = bytearray(data)
    deadline = time.monotonic() + seconds
    while True:
        sock.settimeout(max(0.01, deadline - time.monotonic()))
        try:
            chunk = sock.recv(1 << 20)
        except ConnectionResetError:
            if not reset_ends:
                raise
            chunk = b""
        if not chunk:
            return bytes(received)
        received += chunk
        if len(received) > limit:
            raise ValueError(f"more than {limit} bytes")


class PeerConnection:
    """One accepted connection, with deadline-bound helpers. What it sends
    and receives goes into the test's journal, as a transcript."""

    def __init__(self, sock: socket.socket, journal: Journal, timeout: float,
                 name: str = "peer"):
        self.sock = sock
        self.journal = journal
        self.name = name
        self.timeout = timing.scaled(timeout)
        self.sock.settimeout(self.timeout)
        self.received = bytearray()
        self.peer = sock.getpeername()
        journal.step(f"{name}: accepted a connection from port {self.peer[1]}")

    def recv_until(self, marker: bytes, limit: int = 1 << 20) -> bytes:
        """Read until marker (included) is seen; raise TimeoutError/EOFError."""
        deadline = time.monotonic() + self.timeout
        while marker not in self.received:
            if len(self.received) > limit:
                raise ValueError(f"no {marker!r} within {limit} bytes")
            self.sock.settimeout(max(0.01, deadline - time.monotonic()))
            chunk = self.sock.recv(65536)
            if not chunk:
                raise EOFError(f"the client closed before sending {marker!r}")
            self.received += chunk
        end = self.received.index(marker) + len(marker)
        head = bytes(self.received[:end])
        del self.received[:end]
        self.journal.step(f"{self.name} received {excerpt(head)}")
        return head

    def recv_to_eof(self, limit: int = 1 << 30) -> bytes:
        """Read until the client's FIN; raise TimeoutError if it never comes."""
        data = recv_until_close(self.sock, self.timeout, limit, bytes(self.received))
        self.received.clear()
        self.journal.step(f"{self.name} received {excerpt(data)}, then the client's FIN")
        return data

    def send(self, data: bytes, chunk: int | None = None) -> None:
        """Send all of data, optionally in chunks of `chunk` bytes each
        pushed out on its own (TCP_NODELAY), to exercise partial reads."""
        self.journal.step(f"{self.name} sends {excerpt(data)}"
                          + (f" in pieces of {chunk}" if chunk else ""))
        send_in_pieces(self.sock, data, chunk)

    def close(self) -> None:
        try:
            self.sock.close()
        except OSError:
            pass

    def reset(self) -> None:
        """Close with an RST instead of a FIN (SO_LINGER with a zero timeout)."""
        self.journal.step(f"{self.name} resets the connection")
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
        self.close()


class ScriptedServer:
    """Listens on loopback port 0 and runs handler(conn) for each client.

    handler exceptions are kept and re-raised by check() so a test can tell
    "the peer saw something wrong" from "the client failed".
    """

    def __init__(self, handler, journal: Journal, family=socket.AF_INET, host=None,
                 timeout: float = 10, name: str = "scripted server"):
        self.handler, self.journal, self.name = handler, journal, name
        self.timeout = timeout
        self.errors: list[BaseException] = []
        self.connections = 0
        host = host or ("::1" if family == socket.AF_INET6 else "127.0.0.1")
        self.sock = socket.socket(family, socket.SOCK_STREAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind((host, 0))
        self.sock.listen(64)
        self.host = host
        self.port = self.sock.getsockname()[1]
        self._threads: list[threading.Thread] = []
        self._closing = threading.Event()
        self._acceptor = threading.Thread(target=self._accept_loop, daemon=True)
        self._acceptor.start()
        journal.step(f"{name} listening on {host} port {self.port}")

    def _accept_loop(self) -> None:
        while not self._closing.is_set():
            try:
                sock, _ = self.sock.accept()
            except OSError:
                return
            self.connections += 1
            t = threading.Thread(target=self._serve, args=(sock,), daemon=True)
            self._threads.append(t)
            t.start()

    def _serve(self, sock: socket.socket) -> None:
        conn = PeerConnection(sock, self.journal, self.timeout, self.name)
        try:
            self.handler(conn)
        except BaseException as exc:  # reported by check(), never lost
            self.errors.append(exc)
        finally:
            conn.close()

    def wait_idle(self) -> None:
        """Wait (with a deadline) until every handler has finished."""
        deadline = timing.Deadline(self.timeout + 5)
        for t in list(self._threads):
            t.join(timeout=deadline.remaining())

    def check(self) -> None:
        self.wait_idle()
        if self.errors:
            raise self.errors[0]

    def close(self) -> None:
        self._closing.set()
        try:
            self.sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        self.sock.close()
        self._acceptor.join(timeout=timing.scaled(5))
        self.wait_idle()


def unused_port(host: str = "127.0.0.1", types=(socket.SOCK_STREAM,)) -> int:
    """A port that was free a moment ago for every socket type given (TCP by
    default; a DNS server needs UDP and TCP alike), for real servers that
    cannot take port 0. Callers retry on "address in use"."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    for _attempt in range(20):
        with contextlib.ExitStack() as stack:
            first = stack.enter_context(socket.socket(family, types[0]))
            first.bind((host, 0))
            port = first.getsockname()[1]
            try:
                for kind in types[1:]:
                    stack.enter_context(socket.socket(family, kind)).bind((host, port))
            except OSError:
                continue
            return port
    raise EnvironmentError_(f"no port free for every socket type asked in 20 attempts on {host}")


def wait_holding(server: "RealServer", tables: set[str], seconds: float = 10) -> bool:
    """Wait until the server's processes hold its port in every /proc/net
    table named ("udp", "tcp6", ...; TCP: listening), without sending it
    anything. False if it exits first or the deadline passes."""
    deadline = timing.Deadline(seconds)
    while not deadline.expired() and server.proc.poll() is None:
        held = sockets.ports_by_table(server.proc.pid)
        if all(server.port in held[table] for table in tables):
            return True
        try:  # ok: a pause that ends early if the server dies, bounded by the deadline
            server.proc.wait(timeout=0.01)
        except subprocess.TimeoutExpired:
            pass
    return False


def wait_connectable(host: str, port: int, proc: subprocess.Popen, seconds: float) -> bool:
    """Wait until a TCP connect succeeds (the server is ready) or proc dies."""
    deadline = timing.Deadline(seconds)
    while not deadline.expired():
        if proc.poll() is not None:
            return False
        try:
            with socket.create_connection((host, port), timeout=max(0.05, deadline.remaining())):
                return True
        except OSError:
            # Not accepting yet; the next attempt blocks in connect, not in a sleep.
            time.sleep(0.01)  # ok: back-off between refused connects, bounded by the deadline
    return False


class RealServer:
    """A real server program started on loopback and stopped by PID."""

    def __init__(self, argv: list[str], port: int, workdir: Path, journal: Journal,
                 stop_signal: int, name: str):
        self.argv, self.port, self.name = argv, port, name
        self.journal, self.stop_signal = journal, stop_signal
        self.log = workdir / f"{name}.log"
        self.log_file = open(self.log, "wb")
        self.proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=self.log_file,
                                     stderr=subprocess.STDOUT, cwd=workdir,
                                     env=child_env(), start_new_session=True, close_fds=True)

    def stop(self) -> None:
        if self.proc.poll() is None:
            try:
                os.kill(self.proc.pid, self.stop_signal)
                self.proc.wait(timeout=timing.scaled(5))
            except (ProcessLookupError, subprocess.TimeoutExpired):
                pass
        kill_group(self.proc.pid)
        self.proc.wait()
        self.log_file.close()


def require(program: str, package: str) -> str:
    path = shutil.which(program) or (f"/usr/sbin/{program}" if os.path.exists(f"/usr/sbin/{program}") else None)
    if path is None:
        raise EnvironmentError_(f"{program} is not installed (Debian package {package}): run `make setup`")
    return path


def start_python_http(docroot: Path, workdir: Path, journal: Journal) -> RealServer:
    """Python's http.server on 127.0.0.1; it prints its port, so port 0 works."""
    argv = ["/usr/bin/python3", "-u", "-m", "http.server", "--bind", "127.0.0.1",
            "--directory", str(docroot), "0"]
    server = RealServer(argv, 0, workdir, journal, 15, "python-http-server")
    deadline = timing.Deadline(10)
    while not deadline.expired() and server.proc.poll() is None:
        text = server.log.read_text(errors="replace")
        if " port " in text:
            server.port = int(text.split(" port ", 1)[1].split()[0])
            journal.step(f"started Python's http.server on 127.0.0.1 port {server.port}")
            return server
        time.sleep(0.01)  # ok: polling a log file for the readiness line, bounded by the deadline
    server.stop()
    raise EnvironmentError_("Python's http.server did not start: " + server.log.read_text(errors="replace")[-300:])


NGINX_CONF = """\
{user}worker_processes 1;
daemon off;
pid {dir}/nginx.pid;
error_log {dir}/error.log;
events {{ worker_connections 256; }}
http {{
    access_log off;
    client_body_temp_path {dir}/body;
    proxy_temp_path {dir}/proxy;
    fastcgi_temp_path {dir}/fastcgi;
    uwsgi_temp_path {dir}/uwsgi;
    scgi_temp_path {dir}/scgi;
    types {{ text/html html; text/plain txt; application/octet-stream bin; }}
    default_type application/octet-stream;
    server {{
        listen 127.0.0.1:{port};
        root {root};
{extra}
    }}
}}
"""


def start_nginx(docroot: Path, workdir: Path, journal: Journal, extra: str = "") -> RealServer:
    """nginx with one worker on a free loopback port (it cannot take port 0,
    so a free port is picked and the start retried if someone took it)."""
    nginx = require("nginx", "nginx-light")
    conf_dir = workdir / "nginx"
    conf_dir.mkdir(parents=True, exist_ok=True)
    # As root the worker would run as nobody, who cannot read a private
    # temporary directory: run it as root instead.
    user = "user root;\n" if os.geteuid() == 0 else ""
    for _attempt in range(5):
        port = unused_port()
        conf = conf_dir / "nginx.conf"
        conf.write_text(NGINX_CONF.format(user=user, dir=conf_dir, port=port, root=docroot,
                                          extra=extra))
        argv = [nginx, "-p", str(conf_dir), "-c", str(conf), "-e", str(conf_dir / "error.log")]
        server = RealServer(argv, port, conf_dir, journal, 3, "nginx")  # SIGQUIT: graceful
        if wait_connectable("127.0.0.1", port, server.proc, 10):
            journal.step(f"started nginx on 127.0.0.1 port {port}")
            return server
        server.stop()
        log = (conf_dir / "error.log").read_text(errors="replace") if (conf_dir / "error.log").exists() else ""
        if "Address already in use" not in log:
            raise EnvironmentError_("nginx did not start: " + log[-400:])
    raise EnvironmentError_("nginx found no free port in 5 attempts")
