#!/usr/bin/env python3
"""tftpd_vs_atftpd.py - download throughput of tftpd beside atftpd's.

Usage: bench/tftpd_vs_atftpd.py [--impl DIR] [--rounds N] [--size BYTES]
                                [--blksize B] [--loss PCT] [--seed S]

tftpd (from DIR, default this lab directory, with -T 1000) and atftpd
(with --retry-timeout 1, the same second) serve the same file of random
bytes from the same directory on loopback. curl downloads it from each in
turn, N rounds (default 5), with the same --tftp-blksize B (default 512);
every download's SHA-256 is checked. The report gives each server's median
throughput and the ratio tftpd/atftpd (at or above 1.0, tftpd is at least
as fast).

Lossless (the default): a 16 MiB file, curl straight to the server. TFTP
is lock step, so this measures the cost of one block: one round trip
through both programs.

With --loss PCT: both servers sit behind the grader's impairment proxy
(grader/netgrader/impair.py), which drops PCT percent of the datagrams in
each direction. Round r uses seed S + r for both servers, so both meet the
same drop decisions. Each loss costs a retransmission timeout, so the
defaults change to a 4 MiB file in 65464-byte blocks and 3 rounds, and curl
is given --connect-timeout 3, which makes it ask both servers for a
1-second timeout (RFC 2349) instead of its usual 6.

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


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--impl", default=str(LAB))
    p.add_argument("--rounds", type=int)
    p.add_argument("--size", type=int, help="bytes (default 16 MiB, 4 MiB with --loss)")
    p.add_argument("--blksize", type=int, help="curl's --tftp-blksize (512, 65464 with --loss)")
    p.add_argument("--loss", type=float, default=0, help="percent dropped in each direction")
    p.add_argument("--seed", type=int, default=1)
    args = p.parse_args()
    lossy = args.loss > 0
    rounds = args.rounds or (3 if lossy else 5)
    size = args.size or (4 * MIB if lossy else 16 * MIB)
    blksize = args.blksize or (65464 if lossy else 512)
    tftpd = Path(args.impl) / "tftpd"
    if not os.access(tftpd, os.X_OK):
        print(f"{tftpd} is missing: run make in {args.impl}", file=sys.stderr)
        return 2
    if lossy:
        from netgrader.impair import Proxy  # only the lossy mode needs it

    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        os.chmod(tmp, 0o755)  # atftpd drops to nobody when started as root
        root = tmp / "root"
        root.mkdir()
        data = os.urandom(size)
        (root / "file.bin").write_bytes(data)
        digest = hashlib.sha256(data).hexdigest()
        del data
        journal = Journal()
        atftpd = start_atftpd(root, tmp, journal, retry_seconds=1)
        ours, port = start_tftpd(tftpd, root)
        seconds = {"tftpd": [], "atftpd": []}
        try:
            plan = f"{args.loss:g}% loss each way, seeds {args.seed}.." if lossy else "no loss"
            print(f"curl --tftp-blksize {blksize}, a {size}-byte file, {plan}; {rounds} rounds")
            for r in range(rounds):  # in turn, so both see the same machine
                for name, target in (("tftpd", port), ("atftpd", atftpd.port)):
                    proxy = Proxy(target, loss=args.loss, seed=args.seed + r) if lossy else None
                    try:
                        s = download(proxy.port if proxy else target, blksize, tmp / "out",
                                     digest, lossy)
                    finally:
                        if proxy:
                            proxy.close()
                    seconds[name].append(s)
                    dropped = ""
                    if proxy:
                        st = proxy.stats
                        dropped = f"   ({st['down']['dropped']} down, {st['up']['dropped']} up dropped)"
                    print(f"  {name:6}: {s:7.3f} s  {size / s / MIB:8.2f} MiB/s{dropped}")
        finally:
            ours.terminate()
            ours.wait(timeout=10)
            atftpd.stop()
        a = size / statistics.median(seconds["tftpd"]) / MIB
        b = size / statistics.median(seconds["atftpd"]) / MIB
        print(f"median: tftpd {a:.2f} MiB/s, atftpd {b:.2f} MiB/s, ratio tftpd/atftpd {a / b:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
