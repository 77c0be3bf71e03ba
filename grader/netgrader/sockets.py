"""Which ports a process group really holds, read from /proc.

After a server announces `listening on port N`, the grader checks that one
of its processes owns a listening TCP socket (or a bound UDP socket) on N,
without connecting to it: a server that prints one port and binds another
fails at start-up with both numbers, not later with a puzzling "refused".
"""
from __future__ import annotations

import os
from pathlib import Path

TCP_LISTEN = "0A"


def group_pids(pgid: int) -> list[int]:
    pids = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        # Fields after the command name, which may contain spaces: state ppid pgrp
        fields = stat.rsplit(")", 1)[1].split()
        if int(fields[2]) == pgid:
            pids.append(int(entry.name))
    return pids


def socket_inodes(pids: list[int]) -> set[str]:
    inodes = set()
    for pid in pids:
        try:
            for fd in os.listdir(f"/proc/{pid}/fd"):
                try:
                    target = os.readlink(f"/proc/{pid}/fd/{fd}")
                except OSError:
                    continue
                if target.startswith("socket:["):
                    inodes.add(target[8:-1])
        except OSError:
            continue
    return inodes


TABLES = ("tcp", "tcp6", "udp", "udp6")


def ports_by_table(pgid: int) -> dict[str, set[int]]:
    """{"tcp": ..., "tcp6": ..., "udp": ..., "udp6": ...}: the ports on which
    a process group holds a listening TCP socket or a bound UDP socket,
    per /proc/net table (so an IPv6 socket shows apart from an IPv4 one)."""
    inodes = socket_inodes(group_pids(pgid))
    ports: dict[str, set[int]] = {name: set() for name in TABLES}
    for name in TABLES:
        try:
            lines = Path(f"/proc/net/{name}").read_text().splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            f = line.split()
            if len(f) < 10 or f[9] not in inodes:
                continue
            if name.startswith("tcp") and f[3] != TCP_LISTEN:
                continue
            ports[name].add(int(f[1].rsplit(":", 1)[1], 16))
    return ports


def bound_ports(pgid: int) -> dict[str, set[int]]:
    """{"tcp": listening ports, "udp": bound ports} of a process group."""
    table = ports_by_table(pgid)
    return {"tcp": table["tcp"] | table["tcp6"], "udp": table["udp"] | table["udp6"]}
