"""Deadlines for every wait the grader makes.

All waits are events with a deadline, never sleeps. NETLAB_TIMEOUT_FACTOR
(default 1) scales every deadline at once, for slow or loaded machines.
"""
import os
import time


def factor() -> float:
    try:
        value = float(os.environ.get("NETLAB_TIMEOUT_FACTOR", "1"))
    except ValueError:
        return 1.0
    return value if value > 0 else 1.0


def scaled(seconds: float) -> float:
    """A deadline length, scaled by NETLAB_TIMEOUT_FACTOR."""
    return seconds * factor()


class Deadline:
    """A point in time; remaining() never goes below zero."""

    def __init__(self, seconds: float):
        self.seconds = scaled(seconds)
        self.end = time.monotonic() + self.seconds

    def remaining(self) -> float:
        return max(0.0, self.end - time.monotonic())

    def expired(self) -> bool:
        return time.monotonic() >= self.end


def wait_until(predicate, seconds: float, step: float = 0.01) -> bool:
    """Check predicate() until it holds or the (scaled) deadline passes, for
    states nothing announces (a process's descriptor count): True if it held."""
    deadline = Deadline(seconds)
    while True:
        if predicate():
            return True
        if deadline.expired():
            return False
        time.sleep(min(step, deadline.remaining()))  # ok: bounded re-check, not a synchronisation
