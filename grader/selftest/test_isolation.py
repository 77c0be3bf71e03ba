"""The private network of a grading run: loopback works inside, and nothing
listening outside it can be reached."""
import errno
import socket
import subprocess
import sys

import pytest

from netgrader import netns

PROBE = """
import socket, sys
outside = socket.socket()
outside.settimeout(5)
print(outside.connect_ex(("127.0.0.1", int(sys.argv[1]))))
inside = socket.socket()
inside.bind(("127.0.0.1", 0))
inside.listen()
print(socket.create_connection(inside.getsockname(), timeout=5).getpeername()[0])
"""


@pytest.fixture
def private():
    reason = netns.unavailable_reason()
    if reason:
        pytest.skip(f"no private network namespace here: {reason}")


def test_host_listener_is_unreachable_but_loopback_works(private):
    with socket.socket() as host_side:
        host_side.bind(("127.0.0.1", 0))
        host_side.listen()
        port = host_side.getsockname()[1]
        out = subprocess.run(netns.prefix() + [sys.executable, "-c", PROBE, str(port)],
                             capture_output=True, text=True, timeout=30)
    assert out.returncode == 0, out.stderr
    refused, peer = out.stdout.split()
    assert int(refused) == errno.ECONNREFUSED
    assert peer == "127.0.0.1"


def test_wrap_records_the_choice(private):
    env = {}
    cmd = netns.wrap(["true"], env)
    assert env[netns.ENV_FLAG] == "private" and cmd[-1] == "true" and cmd[0] == "unshare"
