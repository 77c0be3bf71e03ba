"""Fixtures the lab tests use. See grader/README.md for examples.

    def test_x(lab, run):                       # run a client
        result = run([lab.program("tcpcat"), "127.0.0.1", port], stdin=b"hi")
    def test_y(lab, start_server):              # a server on port 0
        server = start_server([lab.program("httpd"), "-p", "0"])
    def test_z(scripted_server):                # a scripted peer
        peer = scripted_server(handler)
"""
from __future__ import annotations

import socket
from dataclasses import dataclass
from pathlib import Path

import pytest

from . import names
from .checkc import lab_of
from .procs import Journal, Runner
from .peers import ScriptedServer, start_nginx, start_python_http

JOURNAL_KEY = pytest.StashKey[Journal]()


@dataclass
class Lab:
    """Where the programs of the lab under test are."""

    name: str
    impl_dir: Path
    ref_dir: Path

    def program(self, name: str) -> Path:
        """A program of the implementation under test."""
        return self.impl_dir / name

    def reference(self, name: str) -> Path:
        """The same program from the reference solution (a peer)."""
        return self.ref_dir / name


@pytest.fixture
def lab(request) -> Lab:
    config = request.config
    name = lab_of(request.node.path)
    return Lab(name, Path(config.stash[IMPL_KEY]) / name, Path(config.stash[REF_KEY]) / name)


@pytest.fixture
def journal(request) -> Journal:
    j = Journal()
    request.node.stash[JOURNAL_KEY] = j
    return j


@pytest.fixture
def runner(tmp_path, journal):
    r = Runner(tmp_path / "run", journal)
    yield r
    r.close()


@pytest.fixture
def run(runner):
    """run(argv, stdin=bytes, timeout=s, valgrind=False) -> Result."""
    return runner.run


@pytest.fixture
def start_server(runner):
    """start_server(argv) -> Server, already listening; stopped with SIGTERM
    (and its exit status checked) at the end of the test if still running."""
    started = []

    def start(argv, **kwargs):
        server = runner.start_server(argv, **kwargs)
        started.append(server)
        return server

    yield start
    for server in started:
        if server.alive():
            server.stop()


@pytest.fixture
def scripted_server(journal):
    """scripted_server(handler, family=AF_INET) -> ScriptedServer on loopback."""
    servers = []

    def make(handler, family=socket.AF_INET, **kwargs):
        server = ScriptedServer(handler, journal, family=family, **kwargs)
        servers.append(server)
        return server

    yield make
    for server in servers:
        server.close()


@pytest.fixture
def private_names(tmp_path, journal):
    """private_names({"name": ["::1", "127.0.0.1"]}) -> a Runner whose programs
    see only these names (and localhost), in their own mount namespace."""
    reason = names.available()
    if reason:
        pytest.skip(f"cannot give the program private name files here: {reason}")
    runners = []

    def make(hosts: dict[str, list[str]]):
        wrap = names.write_files(tmp_path / f"names{len(runners)}", hosts)
        journal.step("private /etc/hosts: " + "; ".join(f"{n} -> {', '.join(a)}" for n, a in hosts.items()))
        r = Runner(tmp_path / f"run-names{len(runners)}", journal, wrap=wrap)
        runners.append(r)
        return r

    yield make
    for r in runners:
        r.close()


def _real_servers(start, tmp_path, journal):
    """A factory fixture body: start(docroot, tmp_path, journal, *args) for
    each call, every server stopped at teardown."""
    started = []

    def make(docroot: Path, *args):
        server = start(docroot, tmp_path, journal, *args)
        started.append(server)
        return server

    yield make
    for server in started:
        server.stop()


@pytest.fixture
def python_http_server(tmp_path, journal):
    """python_http_server(docroot) -> a running Python http.server."""
    yield from _real_servers(start_python_http, tmp_path, journal)


@pytest.fixture
def nginx_server(tmp_path, journal):
    """nginx_server(docroot, extra="") -> a running nginx (one worker)."""
    yield from _real_servers(start_nginx, tmp_path, journal)


IMPL_KEY = pytest.StashKey[str]()
REF_KEY = pytest.StashKey[str]()
