#!/usr/bin/env python3
"""tftpd_vs_atftpd.py - download throughput of tftpd beside atftpd's.

Usage: bench/tftpd_vs_atftpd.py [--impl DIR] [--rounds N] [--size BYTES]
                                [--blksize B] [--loss PCT,...] [--seed S]
                                [--quick] [--json FILE]

tftpd (from DIR, default this lab directory, with -T 1000) and atftpd
(with --retry-timeout 1, the same second) serve the same file of random
bytes from the same directory on loopback. curl downloads it from each in
turn, N rounds (default 5), with the same --tftp-blksize B (default 512);
every download's SHA-256 is checked. The report gives each server's median
throughput and the ratio tftpd/atftpd (at or above 1.0, tftpd is at least
as fast), for each loss rate of the list (default 0,5: without loss, then
with 5 %).

Lossless (the default): a 16 MiB file, curl straight to the server. TFTP
is lock step, so this measures the cost of one block: one round trip
through both programs.

With a loss rate PCT above 0: both servers sit behind the grader's
impairment proxy (grader/netgrader/impair.py), which drops PCT percent of
the datagrams in each direction. Round r uses seed S + r for both servers,
so both meet the same drop decisions. Each loss costs a retransmission
timeout, so the defaults change to a 4 MiB file in 65464-byte blocks and 3
rounds, and curl is given --connect-timeout 3, which makes it ask both
servers for a 1-second timeout (RFC 2349) instead of its usual 6. That
second is atftpd's wait after every loss; it is only the first and the
longest wait of tftpd, which estimates the round-trip time (RFC 6298) and
retransmits after a few hundred milliseconds. The course's targets: at
least 1.0 without loss, at least 3 with 5 %.

--quick: 1 MiB without loss and 256 KiB with it, 1 round, seed 2 (whose
only drop comes after the first round trips), in a few seconds: it proves
the script works; the numbers mean little. --json FILE: the results for
`make bench` (bench/results.md).

A measurement, not a test: numbers vary between machines and runs, which
is why the two run side by side.
"""
import argparse
import hashlib
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

LAB = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(LAB.parent.parent / "grader"))

from netgrader import bench  # noqa: E402
from netgrader.procs import Journal  # noqa: E402
from netgrader.tftp import start_atftpd  # noqa: E402

MIB = 1024 * 1024


def start_tftpd(tftpd: Path, root: Path) -> tuple[subprocess.Popen, int]:
    proc = subprocess.Popen([str(tftpd), "-p", "0", "-r", str(root), "-T", "1000"],
                            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    line = proc.stdout.readline()
    m = re.fullmatch(r"listening on port (\d+)\n", line)
    if not m:
        proc.kill()
        raise SystemExit(f"tftpd did not announce its port: {line!r}")
    return proc, int(m.group(1))


def download(port: int, blksize: int, out: Path, digest: str, lossy: bool) -> float:
    """Seconds curl takes to fetch the file; SystemExit if it fails or differs."""
    argv = ["curl", "-sS", "--tftp-blksize", str(blksize), "-o", str(out),
            f"tftp://127.0.0.1:{port}/file.bin"]
    if lossy:
        argv[1:1] = ["--connect-timeout", "3"]
    start = time.monotonic()
    result = subprocess.run(argv, capture_output=True, text=True, timeout=600)
    seconds = time.monotonic() - start
    if result.returncode != 0:
        raise SystemExit(f"curl failed ({result.returncode}): {result.stderr.strip()}")
    if hashlib.sha256(out.read_bytes()).hexdigest() != digest:
        raise SystemExit("the downloaded file differs from the one served")
    out.unlink()
    return seconds


def measure(args, loss: float, servers: dict, root: Path, tmp: Path) -> bench.Case:
    """One case: curl fetches a file from each server in turn, at one loss rate."""
    lossy = loss > 0
    rounds = args.rounds or (1 if args.quick else 3 if lossy else 5)
    size = args.size or ((256 * 1024 if lossy else MIB) if args.quick
                         else 4 * MIB if lossy else 16 * MIB)
    blksize = args.blksize or (65464 if lossy else 512)
    data = os.urandom(size)
    (root / "file.bin").write_bytes(data)
    digest = hashlib.sha256(data).hexdigest()
    del data
    if lossy:
        from netgrader.impair import Proxy  # only the lossy mode needs it
    name = f"{loss:g} % loss each way" if lossy else "no loss"
    case = bench.Case(f"{name}, {size // 1024} KiB in {blksize}-byte blocks", "tftpd", "atftpd",
                      "MiB/s", better="higher", target=3.0 if loss >= 5 else 1.0 if not lossy
                      else None)
    plan = f"{loss:g}% loss each way, seeds {args.seed}.." if lossy else "no loss"
    print(f"curl --tftp-blksize {blksize}, a {size}-byte file, {plan}; {rounds} rounds")
    for r in range(rounds):  # in turn, so both see the same machine
        for server, port in servers.items():
            proxy = Proxy(port, loss=loss, seed=args.seed + r) if lossy else None
            try:
                s = download(proxy.port if proxy else port, blksize, tmp / "out", digest, lossy)
            finally:
                if proxy:
                    proxy.close()
            (case.ours_runs if server == "tftpd" else case.peer_runs).append(size / s / MIB)
            dropped = ""
            if proxy:
                st = proxy.stats
                dropped = f"   ({st['down']['dropped']} down, {st['up']['dropped']} up dropped)"
            print(f"  {server:6}: {s:7.3f} s  {size / s / MIB:8.2f} MiB/s{dropped}")
    a, b = statistics.median(case.ours_runs), statistics.median(case.peer_runs)
    print(f"median: tftpd {a:.2f} MiB/s, atftpd {b:.2f} MiB/s, ratio tftpd/atftpd {a / b:.2f}")
    return case


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--impl", default=str(LAB))
    p.add_argument("--rounds", type=int)
    p.add_argument("--size", type=int, help="bytes (default 16 MiB, 4 MiB with loss)")
    p.add_argument("--blksize", type=int, help="curl's --tftp-blksize (512, 65464 with loss)")
    p.add_argument("--loss", default="0,5",
                   help="percents dropped in each direction, one case each (default 0,5)")
    p.add_argument("--seed", type=int, help="of the first round (default 1, 2 with --quick)")
    bench.add_arguments(p)
    args = p.parse_args()
    if args.seed is None:
        args.seed = 2 if args.quick else 1
    try:
        losses = [float(v) for v in args.loss.split(",")]
    except ValueError:
        p.error(f"--loss: a comma-separated list of percents, not {args.loss!r}")
    tftpd = Path(args.impl).resolve() / "tftpd"
    if not os.access(tftpd, os.X_OK):
        print(f"{tftpd} is missing: run make in {args.impl}", file=sys.stderr)
        return 2

    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        os.chmod(tmp, 0o755)  # atftpd drops to nobody when started as root
        root = tmp / "root"
        root.mkdir()
        os.chmod(root, 0o755)
        journal = Journal()
        atftpd = start_atftpd(root, tmp, journal, retry_seconds=1)
        ours = None
        try:
            ours, port = start_tftpd(tftpd, root)
            cases = [measure(args, loss, {"tftpd": port, "atftpd": atftpd.port}, root, tmp)
                     for loss in losses]
        finally:
            if ours is not None:
                ours.terminate()
                ours.wait(timeout=10)
            atftpd.stop()
    bench.write(args, cases, "curl downloads from each server in turn (tftpd -T 1000, "
                "atftpd --retry-timeout 1); losses from the impairment proxy, the same seeds "
                "for both")
    return 0


if __name__ == "__main__":
    sys.exit(main())
