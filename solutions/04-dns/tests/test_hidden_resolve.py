"""Lab 04, part A, hidden tests: corners of resolve the handout states and the
public tests do not show. Expected answers come from the C library in the
same private namespace, as in the public tests."""
import json

import pytest

from netgrader.expect import Mismatch, expect_exit, expect_stderr_line
from netgrader.procs import EnvironmentError_

# getaddrinfo as resolve calls it (stream sockets, no flags), through Python.
LIBC = r"""
import json, socket, sys
FAMILY = {"any": socket.AF_UNSPEC, "4": socket.AF_INET, "6": socket.AF_INET6}
host, port, family = sys.argv[1:4]
try:
    found = socket.getaddrinfo(host, port, FAMILY[family], socket.SOCK_STREAM)
except socket.gaierror as exc:
    print(json.dumps({"error": exc.strerror}))
    sys.exit(0)
shown = []
for fam, _, _, _, sa in found:
    h, p = socket.getnameinfo(sa, socket.NI_NUMERICHOST | socket.NI_NUMERICSERV)
    shown.append(f"[{h}]:{p}" if fam == socket.AF_INET6 else f"{h}:{p}")
print(json.dumps({"addresses": shown}))
"""

LONG = ".".join(["a" * 63] * 3 + ["b" * 61])  # 253 characters: the longest DNS name
TOO_LONG = LONG + "c"                          # 254


def libc(runner, host, port="80", family="any"):
    result = runner.run(["/usr/bin/python3", "-c", LIBC, host, port, family], label="getaddrinfo")
    try:
        return json.loads(result.stdout_text)
    except ValueError:
        raise EnvironmentError_("asking the C library through Python failed: "
                                + result.stderr_text[-300:]) from None


def expect_listing(runner, lab, args, host, port, what):
    """resolve args prints what getaddrinfo gives for host and port."""
    family = {"-4": "4", "-6": "6"}.get(args[0], "any")
    expected = libc(runner, host, port, family)["addresses"]
    result = runner.run([lab.program("resolve"), *args])
    lookup_failed = result.returncode == 1 and not result.timed_out and not result.stdout_text
    expect_exit(result, 0, what, "The C library, asked with the handout's hints (SOCK_STREAM, "
                "the family of -4/-6 or AF_UNSPEC, no flags), finds "
                f"{len(expected)} address(es) here, but your lookup failed (its message is on "
                "stderr). AI_ADDRCONFIG is the usual cause: on a machine whose only addresses "
                "are loopback it makes every -4 and -6 lookup fail. Set ai_flags to 0."
                if lookup_failed else "")
    got = result.stdout_text.splitlines()
    if got != expected:
        raise Mismatch(what, "\n".join(expected), "\n".join(got) or "(nothing)",
                       "Every address getaddrinfo returns, in its order, as hostport_format "
                       "prints it.")


@pytest.mark.points(1)
@pytest.mark.milestone("resolve")
@pytest.mark.needs("test_resolve_lists_every_address_in_libc_order")
def test_hidden_resolve_ipv6_on_ipv4_only_name(lab, private_names):
    """-6 on a name that has only IPv4 addresses: getaddrinfo's error, exit 1; -4 works."""
    runner = private_names({"four.test": ["127.0.0.11", "127.0.0.12"]})
    expect_listing(runner, lab, ["-4", "four.test"], "four.test", "80", "resolve -4 four.test")
    message = libc(runner, "four.test", "80", "6").get("error")
    if not message:
        raise EnvironmentError_("the C library found an IPv6 address for four.test")
    result = runner.run([lab.program("resolve"), "-6", "four.test"])
    expect_exit(result, 1, "resolve -6 four.test (IPv4 addresses only)")
    expect_stderr_line(result, "four.test", message,
                       hint="-6 asks getaddrinfo for AF_INET6 only; when it finds none, print "
                       "its gai_strerror() message and exit 1.")


@pytest.mark.points(1)
@pytest.mark.milestone("resolve")
@pytest.mark.needs("test_resolve_lists_every_address_in_libc_order")
def test_hidden_resolve_zone_id(lab, private_names):
    """A link-local address with its zone, [fe80::1%lo]:80, keeps the zone; an empty zone is a
    usage error."""
    runner = private_names({})
    expect_listing(runner, lab, ["[fe80::1%lo]:8080"], "fe80::1%lo", "8080",
                   "resolve [fe80::1%lo]:8080")
    for bad in ("[fe80::1%]:80", "fe80::1%lo"):
        result = runner.run([lab.program("resolve"), bad])
        expect_exit(result, 2, f"resolve {bad}", "A zone needs brackets and a name: "
                    "[fe80::1%eth0]:80.")


@pytest.mark.points(1)
@pytest.mark.milestone("resolve")
@pytest.mark.needs("test_resolve_lists_every_address_in_libc_order")
def test_hidden_resolve_longest_name(lab, private_names):
    """A 253-character name resolves; 254 characters is a usage error."""
    runner = private_names({LONG: ["127.0.0.13"]})
    expect_listing(runner, lab, [LONG + ":81"], LONG, "81", "resolve <a 253-character name>:81")
    result = runner.run([lab.program("resolve"), TOO_LONG + ":81"])
    expect_exit(result, 2, "resolve <a 254-character name>:81",
                "No DNS name is longer than 253 characters: hostport_parse rejects it.")
