"""bench.py - what the labs' benchmark scripts share: the --quick and --json
options and one result format, which grader/bench_labs.py (`make bench`)
gathers into bench/results.md.

A benchmark runs a course program and a real one side by side on loopback
and reports cases: one measure each (a rate or a time), every run of both
programs, and the ratio ours/peer of their medians with the course's target
for it. A script prints its own readable report as before; with --json FILE
it also writes its cases there.

    p = argparse.ArgumentParser(...)
    bench.add_arguments(p)              # --quick, --json FILE
    ...
    case = bench.Case("Connection: close", "httpd", "nginx", "req/s", better="higher",
                      target=0.75)
    case.ours_runs.append(rate)         # one value per round, in turn with the peer
    case.peer_runs.append(peer_rate)
    bench.write(args, [case], settings="wrk -t2 -c20 -d5s")
"""
import json
import statistics
import sys
from dataclasses import asdict, dataclass, field
from pathlib import Path


@dataclass
class Case:
    name: str  # what is measured, e.g. "5 % loss each way"
    ours: str  # the course's program, e.g. "tftpd"
    peer: str  # the real program beside it, e.g. "atftpd"
    unit: str  # of the runs' values: "req/s", "MiB/s", "ms"
    better: str = "higher"  # "higher" for a rate, "lower" for a time
    target: float | None = None  # the ratio ours/peer the course aims at
    ours_runs: list = field(default_factory=list)
    peer_runs: list = field(default_factory=list)

    @property
    def ratio(self) -> float:
        return statistics.median(self.ours_runs) / statistics.median(self.peer_runs)

    def met(self) -> bool | None:
        """Whether the ratio reaches the target (None without a target)."""
        if self.target is None:
            return None
        return self.ratio >= self.target if self.better == "higher" else self.ratio <= self.target


def add_arguments(parser) -> None:
    parser.add_argument("--quick", action="store_true",
                        help="a few seconds on tiny inputs: proves the script runs; "
                             "the numbers mean nothing")
    parser.add_argument("--json", metavar="FILE", help="also write the cases to FILE")


def write(args, cases: list[Case], settings: str) -> None:
    """The cases into args.json (when given), with the settings they ran with."""
    if not args.json:
        return
    data = {"script": str(Path(sys.argv[0])), "argv": sys.argv[1:], "quick": args.quick,
            "settings": settings,
            "cases": [{**asdict(c), "ratio": c.ratio, "met": c.met()} for c in cases]}
    Path(args.json).write_text(json.dumps(data, indent=1) + "\n")
