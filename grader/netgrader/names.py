"""A private view of name resolution for one program run.

The program runs in its own mount namespace in which /etc/hosts,
/etc/nsswitch.conf and /etc/resolv.conf are replaced by files the test
wrote: names resolve only from the test's hosts file ("hosts: files"), and
the resolver points at loopback, so no lookup ever leaves the machine and
the expected answers are exactly the test's. Without root, a user namespace
(unshare --map-root-user) gives the same power; where neither works the
fixture skips with the reason.
"""
from __future__ import annotations

import os
import subprocess
from functools import lru_cache
from pathlib import Path

_BIND = ('mount --bind "$1" /etc/hosts && mount --bind "$2" /etc/nsswitch.conf && '
         'mount --bind "$3" /etc/resolv.conf && shift 3 && exec "$@"')


def unshare_prefix() -> list[str]:
    prefix = ["unshare", "--mount", "--propagation", "private"]
    if os.geteuid() != 0:
        prefix.insert(1, "--map-root-user")
    return prefix


@lru_cache(maxsize=1)
def available() -> str:
    """'' when private name files work here, else the reason they do not."""
    try:
        proc = subprocess.run(unshare_prefix() + ["sh", "-c", _BIND, "sh", "/dev/null",
                                                  "/dev/null", "/dev/null", "true"],
                              stdin=subprocess.DEVNULL, capture_output=True, timeout=10)
    except (OSError, subprocess.TimeoutExpired) as exc:
        return f"unshare failed: {exc}"
    if proc.returncode != 0:
        return "mount namespaces are not available: " + proc.stderr.decode(errors="replace").strip()
    return ""


DEFAULT_RESOLV_CONF = "nameserver 127.0.0.1\noptions timeout:1 attempts:1\n"


def write_files(directory: Path, hosts: dict[str, list[str]],
                resolv_conf: str | None = None) -> list[str]:
    """Write hosts/nsswitch/resolv files; return the wrapper argv prefix.
    resolv_conf is the whole text of the private /etc/resolv.conf (a test of
    a DNS client chooses its nameservers there); by default it names
    127.0.0.1 only. Keep it on loopback: nothing may leave the machine."""
    directory.mkdir(parents=True, exist_ok=True)
    lines = ["127.0.0.1 localhost", "::1 localhost ip6-localhost"]
    for name, addresses in hosts.items():
        lines += [f"{address} {name}" for address in addresses]
    (directory / "hosts").write_text("\n".join(lines) + "\n")
    (directory / "nsswitch.conf").write_text("hosts: files\n")
    (directory / "resolv.conf").write_text(DEFAULT_RESOLV_CONF if resolv_conf is None
                                           else resolv_conf)
    return unshare_prefix() + ["sh", "-c", _BIND, "sh", str(directory / "hosts"),
                               str(directory / "nsswitch.conf"), str(directory / "resolv.conf")]
