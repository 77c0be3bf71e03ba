"""Fixtures the lab tests use. See grader/README.md for examples.

    def test_x(lab, run):                       # run a client
        result = run([lab.program("tcpcat"), "127.0.0.1", port], stdin=b"hi")
    def test_y(lab, start_server):              # a server on port 0
        server = start_server([lab.program("httpd"), "-p", "0"])
    def test_z(scripted_server):                # a scripted peer
        peer = scripted_server(handler)
    def test_w(faults, lab):                    # a client under fault injection
        result = faults(kinds="short").run([lab.program("httpget"), url])
    def test_v(impaired, start_server):         # a lossy UDP path to a server
        proxy = impaired(server.port, loss=5)   # clients talk to proxy.port
"""
from __future__ import annotations

import itertools
import socket
from dataclasses import dataclass
from pathlib import Path

import pytest

from . import faults as fault_injection
from . import dns as dns_peers
from . import impair, names, tftp
from .checkc import BUILDS_KEY, lab_of
from . import procs
from .expect import Mismatch
from .procs import EnvironmentError_, Journal, Runner
from .peers import RealServer, ScriptedServer, start_nginx, start_python_http

JOURNAL_KEY = pytest.StashKey[Journal]()


@dataclass
class Lab:
    """Where the programs of the lab under test, and its peers, are."""

    name: str
    impl_dir: Path              # the submission as built (in the sandbox's box)
    san_dir: Path | None        # the same sources built with ASan and UBSan
    peers: dict                 # lab name -> directory of its reference programs

    def program(self, name: str) -> Path:
        """A program of the implementation under test."""
        return self.impl_dir / name

    def sanitized(self, name: str) -> Path:
        """The same program built with AddressSanitizer and UBSan."""
        if self.san_dir is None:
            raise EnvironmentError_("the sanitizer build of this lab failed although the plain "
                                    "build worked: is gcc's libasan installed (`make setup`)?")
        return self.san_dir / name

    def reference(self, name: str, lab: str | None = None) -> Path:
        """A program of the reference solution (a peer): of this lab, or of
        an earlier one (`lab.reference("httpget", lab="01-tcp-client")`)."""
        directory = self.peers.get(lab or self.name)
        path = Path(directory) / name if directory else None
        if path is None or not path.exists():
            raise EnvironmentError_(f"the reference program {name} of {lab or self.name} is "
                                    "missing: the course's reference solutions did not build "
                                    "(or this is a student release without them)")
        return path


@pytest.fixture
def lab(request) -> Lab:
    config = request.config
    name = lab_of(request.node.path)
    build = config.stash[BUILDS_KEY].get(name)
    san = Path(build.san_dir) if build is not None and build.san_dir else None
    return Lab(name, Path(build.build_dir) if build is not None else Path("/nonexistent"), san,
               config.stash[PEERS_KEY])


@pytest.fixture
def journal(request, memcheck) -> Journal:
    j = Journal(memcheck=memcheck)
    request.node.stash[JOURNAL_KEY] = j
    return j


@pytest.fixture(autouse=True)
def memcheck(request) -> str:
    """"valgrind" or "sanitizers" for the two runs of a test whose name says
    valgrind (see netgrader/sanitizers.py); "" for every other test."""
    return getattr(request, "param", "")


@pytest.fixture
def runner(tmp_path, journal):
    r = Runner(tmp_path / "run", journal)
    yield r
    r.close()


@pytest.fixture
def run(runner):
    """run(argv, stdin=bytes, timeout=s, valgrind=False) -> Result."""
    return runner.run


def _tracked(create, finish):
    """The body of a factory fixture: the test calls create(...) as often as
    it likes; at teardown finish(thing) runs for everything created."""
    made = []

    def make(*args, **kwargs):
        thing = create(*args, **kwargs)
        made.append(thing)
        return thing

    yield make
    for thing in made:
        finish(thing)


def _stop_if_running(server) -> None:
    if server.alive():
        server.stop()


@pytest.fixture
def start_server(runner):
    """start_server(argv) -> Server, already listening; stopped with SIGTERM
    (and its exit status checked) at the end of the test if still running."""
    yield from _tracked(runner.start_server, _stop_if_running)


@pytest.fixture
def scripted_server(journal):
    """scripted_server(handler, family=AF_INET) -> ScriptedServer on loopback."""

    def create(handler, family=socket.AF_INET, **kwargs):
        return ScriptedServer(handler, journal, family=family, **kwargs)

    yield from _tracked(create, ScriptedServer.close)


@pytest.fixture
def private_names(tmp_path, journal):
    """private_names({"name": ["::1", "127.0.0.1"]}) -> a Runner whose programs
    see only these names (and localhost), in their own mount namespace;
    private_names({}, resolv_conf="nameserver ::1\\n") also chooses the
    text of their /etc/resolv.conf (default: nameserver 127.0.0.1)."""
    reason = names.available()
    if reason:
        pytest.skip(f"cannot give the program private name files here: {reason}")
    serial = itertools.count()

    def create(hosts: dict[str, list[str]], resolv_conf: str | None = None):
        index = next(serial)
        wrap = names.write_files(tmp_path / f"names{index}", hosts, resolv_conf)
        journal.step("private /etc/hosts: " + "; ".join(
            f"{name} -> {', '.join(addresses)}" for name, addresses in hosts.items()))
        if resolv_conf is not None:
            journal.step("private /etc/resolv.conf: " + "; ".join(
                line for line in resolv_conf.splitlines() if line.strip()))
        return Runner(tmp_path / f"run-names{index}", journal, wrap=wrap)

    yield from _tracked(create, Runner.close)


def fault_seed(request) -> int:
    """--fault-seed, or a seed derived from the test's lab and name: a rerun
    of the same test gets the same faults."""
    seed = request.config.getoption("--fault-seed", None)
    if seed is not None:
        return seed
    try:
        where = lab_of(request.node.path)
    except ValueError:  # a test outside the labs (the grader's self-tests)
        return fault_injection.seed_for(request.node.nodeid)
    return fault_injection.seed_for(f"{where}::{request.node.name}")


@pytest.fixture
def faults(request, tmp_path, journal):
    """faults(kinds=("short", "eintr", "eagain"), rate=30) -> a Runner whose
    programs run under the fault-injection library, with this test's seed."""
    config = request.config
    built = config.stash.get(FAULTS_KEY, None)
    if built is None or not built.ok:
        raise EnvironmentError_("the fault-injection library did not build: "
                                + (built.first_errors() if built else "it was never built"))
    library = Path(config.stash[LIB_KEY]) / fault_injection.LIBRARY_NAME
    seed = fault_seed(request)
    serial = itertools.count()

    def create(kinds=("short", "eintr", "eagain"), rate: int = 30):
        index = next(serial)
        plan = fault_injection.FaultPlan(library, seed, fault_injection.check_kinds(kinds), rate,
                                         tmp_path / f"faults{index}.log")
        return fault_injection.FaultRunner(tmp_path / f"run-faults{index}", journal, plan)

    yield from _tracked(create, _close_and_check_faulted)


def _close_and_check_faulted(runner) -> None:
    """A program of the submission that ran under fault injection must have
    made its socket calls through the library: one that re-executes itself
    without LD_PRELOAD, or makes raw system calls, dodges every fault."""
    runner.close()
    plan = runner.plan
    students = sorted({argv[0] for argv in plan.argvs if procs.jailed(argv)})
    dodged = plan.unfaulted(students) if plan.rate > 0 else []
    if dodged:
        raise Mismatch("checking that fault injection reached your program",
                       "its socket reads and writes go through the C library, where the "
                       "grader's fault-injection library (LD_PRELOAD) can shorten them",
                       f"{', '.join(Path(p).name for p in dodged)} made no socket call the "
                       "library saw",
                       "Use read/write/recv/send from the C library, and do not clear "
                       "LD_PRELOAD or exec without it: these tests check that your program "
                       "copes with short reads and writes, so they cannot count without them.")


@pytest.fixture
def impaired(request, journal):
    """impaired(target_port, host="127.0.0.1", loss=5, drop={"down": [3]}, ...)
    -> a started impair.Proxy in front of a UDP server on loopback, seeded
    from this test's name (or --fault-seed), closed at teardown."""
    seed = fault_seed(request)

    def create(target_port: int, *, host: str = "127.0.0.1", **impairments):
        impairments.setdefault("seed", seed)
        return impair.Proxy(target_port, host=host, journal=journal, **impairments)

    yield from _tracked(create, impair.Proxy.close)


@pytest.fixture
def tftp_client(journal):
    """tftp_client(host="127.0.0.1", name="client") -> a tftp.ScriptedClient."""
    yield from _tracked(lambda host="127.0.0.1", name="client":
                        tftp.ScriptedClient(journal, host, name), tftp.ScriptedClient.close)


@pytest.fixture
def tftp_scripted_server(journal):
    """tftp_scripted_server(handler) -> a tftp.ScriptedServer on loopback that
    runs handler(request, transfer) for each request it receives."""
    yield from _tracked(lambda handler, host="127.0.0.1":
                        tftp.ScriptedServer(handler, journal, host), tftp.ScriptedServer.close)


@pytest.fixture
def atftpd_server(tmp_path, journal):
    """atftpd_server(root) -> a running atftpd serving root on loopback."""
    yield from _tracked(lambda root: tftp.start_atftpd(root, tmp_path, journal), RealServer.stop)


@pytest.fixture
def python_http_server(tmp_path, journal):
    """python_http_server(docroot) -> a running Python http.server."""
    yield from _tracked(lambda docroot: start_python_http(docroot, tmp_path, journal),
                        RealServer.stop)


@pytest.fixture
def nginx_server(tmp_path, journal):
    """nginx_server(docroot, extra="") -> a running nginx (one worker)."""
    yield from _tracked(lambda docroot, extra="": start_nginx(docroot, tmp_path, journal, extra),
                        RealServer.stop)


FAULTS_KEY = pytest.StashKey[object]()  # the library's build Step, or None
LIB_KEY = pytest.StashKey[str]()      # the directory of the fault-injection library
PEERS_KEY = pytest.StashKey[dict]()   # lab -> directory of its reference programs
SANDBOX_KEY = pytest.StashKey[object]()


# --- Lab 04 (DNS): a scripted DNS server and dnsmasq, see netgrader/dns.py ---------------------


@pytest.fixture
def dns_scripted_server(journal):
    """dns_scripted_server(handler, tcp_handler=None, host="127.0.0.1") -> a
    dns.ScriptedServer on loopback: handler(query, exchange) answers each UDP
    query (exchange.reply, exchange.forge, or silence); with tcp_handler the
    same port takes TCP too, tcp_handler(query, tcp_exchange) answering."""
    yield from _tracked(lambda handler, tcp_handler=None, host="127.0.0.1":
                        dns_peers.ScriptedServer(handler, journal, host, tcp_handler),
                        dns_peers.ScriptedServer.close)


@pytest.fixture
def dnsmasq_server(tmp_path, journal):
    """dnsmasq_server(ipv6=False) -> dnsmasq (a real DNS server) serving the
    test zone dns.ZONE on 127.0.0.1 (and ::1 with ipv6), UDP and TCP, on
    a free port (.port)."""
    yield from _tracked(lambda ipv6=False: dns_peers.start_dnsmasq(tmp_path, journal, ipv6),
                        RealServer.stop)


# --- Lab 05 (select): a scripted IRC client and ngircd, see netgrader/irc.py ---------------------


@pytest.fixture
def irc_client(journal):
    """irc_client(port, name="client", host="127.0.0.1", rcvbuf=None) -> an
    irc.IrcClient connected to port: .send(line), .register(nick),
    .expect(command, *params), .sync(), .read_to_close(); closed at teardown."""
    from . import irc as irc_peers

    yield from _tracked(lambda port, name="client", host="127.0.0.1", rcvbuf=None:
                        irc_peers.IrcClient(port, journal, name, host, rcvbuf),
                        irc_peers.IrcClient.close)


@pytest.fixture
def ngircd_server(tmp_path, journal):
    """ngircd_server() -> ngircd (a real IRC server, server name irc.test) on
    127.0.0.1 on a free port (.port), without flood penalties."""
    from . import irc as irc_peers

    yield from _tracked(lambda: irc_peers.start_ngircd(tmp_path, journal), RealServer.stop)


# --- Lab 06 (epoll): a scripted RESP client and redis-server, see netgrader/redis.py -----------


@pytest.fixture
def resp_client(journal):
    """resp_client(port, name="client", host="127.0.0.1", rcvbuf=None) -> a
    redis.RespClient connected to port: .send(bytes), .call(*args),
    .reply(), .closed(); closed at teardown."""
    from . import redis as redis_peers

    yield from _tracked(lambda port, name="client", host="127.0.0.1", rcvbuf=None:
                        redis_peers.RespClient(port, journal, name, host, rcvbuf),
                        redis_peers.RespClient.close)


@pytest.fixture
def redis_server(tmp_path, journal):
    """redis_server() -> redis-server (the real Redis) on 127.0.0.1 on a free
    port (.port), without persistence."""
    from . import redis as redis_peers

    yield from _tracked(lambda: redis_peers.start_redis(tmp_path, journal), RealServer.stop)


# --- Lab 07 (rpc): the reference client of the scoreboard service, see netgrader/sbrpc.py -----

SCOREBOARD_PROTO = Path(__file__).resolve().parents[2] / "labs" / "07-rpc" / "scoreboard.proto"


@pytest.fixture
def sb_client(journal):
    """sb_client(target, name="client", rcvbuf=None) -> an sbrpc.SbClient
    connected to target (a port on 127.0.0.1, (host, port), or the path of a
    Unix-domain socket), with the messages of labs/07-rpc/scoreboard.proto
    (its module: `.pb`): .call(method, request), .send_call, .reply_for,
    .replies(ids), .send(bytes), .closed(); closed at teardown."""
    from . import sbrpc

    def create(target, name="client", rcvbuf=None):
        return sbrpc.SbClient(sbrpc.messages(SCOREBOARD_PROTO), target, journal, name, rcvbuf)

    yield from _tracked(create, lambda c: c.close())
