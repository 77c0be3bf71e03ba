"""A private network for a whole grading run.

grade.py runs pytest inside a new network namespace (and, without root, a
user namespace that maps the caller to root) in which only `lo` is up:
student programs reach nothing outside the machine, and no port they or
the tests bind can collide with anything else, a second grading run
included. Where the kernel refuses, the run uses the host's loopback with
ephemeral ports and the report says so once.
"""
from __future__ import annotations

import os
import shutil
import subprocess

ENV_FLAG = "NETLAB_NETNS"  # set inside: "private", or "host: <reason>"

_UP = 'ip link set lo up && exec "$@"'


def prefix(setup: str = "") -> list[str]:
    """unshare's argv: a new network namespace and a mount namespace of the
    run's own (where the sandbox's box is a tmpfs that vanishes with it)."""
    argv = ["unshare", "--net", "--mount", "--propagation", "private"]
    if os.geteuid() != 0:
        argv.append("--map-root-user")
    script = (setup + " && " if setup else "") + _UP
    return argv + ["sh", "-c", script, "sh"]


def unavailable_reason() -> str:
    """'' when a private network can be made here, else why not."""
    if shutil.which("unshare") is None or shutil.which("ip") is None:
        return "unshare or ip (util-linux, iproute2) is missing"
    try:
        proc = subprocess.run(prefix() + ["true"], stdin=subprocess.DEVNULL,
                              capture_output=True, timeout=10)
    except (OSError, subprocess.TimeoutExpired) as exc:
        return f"unshare failed: {exc}"
    if proc.returncode != 0:
        return proc.stderr.decode(errors="replace").strip().splitlines()[-1:][0] if proc.stderr \
            else f"unshare exited {proc.returncode}"
    return ""


def wrap(cmd: list[str], env: dict, box_setup: str = "") -> list[str]:
    """cmd run in a private network when possible; env records which.
    box_setup is shell text run first in the new namespaces (as root there)."""
    reason = unavailable_reason()
    if reason:
        env[ENV_FLAG] = f"host: {reason}"
        return cmd
    env[ENV_FLAG] = "private"
    return prefix(box_setup) + cmd


def describe() -> str:
    state = os.environ.get(ENV_FLAG, "")
    if state == "private":
        return "network: a private namespace with only loopback (nothing outside is reachable)"
    if state.startswith("host:"):
        return ("network: the host's loopback with ephemeral ports (no private namespace here:"
                + state[5:] + ")")
    return "network: the host's loopback (run through grade.py for a private namespace)"
