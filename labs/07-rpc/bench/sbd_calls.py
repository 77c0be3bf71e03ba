#!/usr/bin/env python3
"""sbd_calls.py - calls per second through sbd, beside redis-server, over
TCP and over Unix-domain sockets, with 1 and 100 calls in flight.

Usage: sbd_calls.py [--impl DIR] [--seconds S] [--rounds R] [--quick] [--json FILE]

Starts sbd from DIR (default: this lab directory) on tcp:127.0.0.1:0 and
on a unix: socket, and redis-server (Debian's, unprivileged, no
persistence) on a TCP port and a Unix socket. One load client written in
C (compiled here at -O2 with the system's cc; it uses none of the lab's
code, so it measures the server, whatever the state of your sbclient.c)
drives each over one connection: it keeps W calls in flight (W = 1, then
100), sending a new one each time a reply comes, for S seconds (default
1) after a warm-up, and counts replies. To sbd it sends `Get` of a
5-byte name (the frame and the Call written by hand, about 20 bytes; the
reply a 9-byte Score in a Reply); to redis-server `GET` of a 5-byte key
holding a 12-byte value, in RESP. The player is submitted first with the
course's Python client (netgrader/sbrpc.py). R rounds (default 5) alternate the two servers.
The report gives each case's median calls per second and the ratio
sbd/redis-server (the course's target: 0.8 with 1 in flight, where both
are bounded by the round trip; 0.5 with 100, where the work per call
counts).

--quick: 0.1 s per case, 1 round: it proves that the script, the load
client and its peer work; the numbers mean little. --json FILE: the
results for `make bench` (bench/results.md).

A measurement, not a test: numbers vary between machines and runs, which
is why the two servers run side by side.
"""
import argparse
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

LAB = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(LAB.parent.parent / "grader"))

from netgrader import bench, sbrpc  # noqa: E402
from netgrader.peers import unused_port  # noqa: E402

LOAD = r"""
#define _GNU_SOURCE
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <arpa/inet.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

/* load sb|resp tcp:PORT|unix:PATH WINDOW SECONDS: calls/s on stdout. */

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec / 1e9;
}

static int dial(const char *where)
{
    int fd;
    if (strncmp(where, "unix:", 5) == 0) {
        struct sockaddr_un sa = {.sun_family = AF_UNIX};
        snprintf(sa.sun_path, sizeof sa.sun_path, "%s", where + 5);
        fd = socket(AF_UNIX, SOCK_STREAM, 0);
        if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof sa) < 0)
            return -1;
    } else {
        struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons(atoi(where + 4))};
        sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        fd = socket(AF_INET, SOCK_STREAM, 0);
        int one = 1;
        if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof sa) < 0 ||
            setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one) < 0)
            return -1;
    }
    return fd;
}

static int sb;            /* 1: sbd's frames; 0: RESP */
static uint64_t next_id = 1;

/* One request into out; its length. */
static size_t request(uint8_t *out)
{
    if (!sb) {
        memcpy(out, "*2\r\n$3\r\nGET\r\n$5\r\nbench\r\n", 24);
        return 24;
    }
    uint8_t call[32];
    size_t n = 0;
    call[n++] = 0x08; /* Call.id */
    uint64_t id = next_id++;
    do {
        call[n++] = (uint8_t)((id & 0x7f) | (id > 0x7f ? 0x80 : 0));
        id >>= 7;
    } while (id);
    memcpy(call + n, "\x12\x03Get\x22\x07\x0a\x05" "bench", 14); /* method, payload */
    n += 14;
    out[0] = 0;
    out[1] = out[2] = out[3] = 0;
    out[4] = (uint8_t)n;
    memcpy(out + 5, call, n);
    return 5 + n;
}

static uint8_t in[1 << 20];
static size_t have;

/* Replies complete at the start of in; consumes them. -1 on a bad one. */
static long replies(void)
{
    long count = 0;
    size_t at = 0;
    for (;;) {
        if (sb) {
            if (have - at < 5)
                break;
            size_t len = (size_t)in[at + 1] << 24 | (size_t)in[at + 2] << 16 |
                         (size_t)in[at + 3] << 8 | in[at + 4];
            if (in[at] != 0 || len > 65536)
                return -1;
            if (have - at < 5 + len)
                break;
            /* Reply: 08 id, then payload (22) for OK or status (10) otherwise */
            size_t i = at + 5;
            if (len < 2 || in[i] != 0x08)
                return -1;
            for (i++; i < at + 5 + len && (in[i] & 0x80); i++)
                ;
            if (i + 1 < at + 5 + len && in[i + 1] == 0x10)
                return -1;
            at += 5 + len;
        } else {
            /* "$12\r\nvalue-------\r\n": 19 bytes */
            if (have - at < 19)
                break;
            if (memcmp(in + at, "$12\r\n", 5) != 0)
                return -1;
            at += 19;
        }
        count++;
    }
    memmove(in, in + at, have - at);
    have -= at;
    return count;
}

static long run(int fd, int window, double seconds)
{
    uint8_t out[64 * 200];
    size_t n = 0;
    for (int i = 0; i < window; i++)
        n += request(out + n);
    if (write(fd, out, n) != (ssize_t)n)
        return -1;
    long done = 0;
    double end = now() + seconds;
    while (now() < end) {
        ssize_t got = read(fd, in + have, sizeof in - have);
        if (got <= 0)
            return -1;
        have += (size_t)got;
        long r = replies();
        if (r < 0)
            return -1;
        done += r;
        n = 0;
        for (long i = 0; i < r; i++)
            n += request(out + n);
        if (n > 0 && write(fd, out, n) != (ssize_t)n)
            return -1;
    }
    /* drain what is still in flight, so the next run starts clean */
    long left = window;
    for (;;) {
        long r = replies();
        if (r < 0)
            return -1;
        left -= r;
        if (left <= 0)
            break;
        ssize_t got = read(fd, in + have, sizeof in - have);
        if (got <= 0)
            return -1;
        have += (size_t)got;
    }
    return done;
}

int main(int argc, char **argv)
{
    if (argc != 5)
        return 2;
    sb = strcmp(argv[1], "sb") == 0;
    int window = atoi(argv[3]);
    double seconds = atof(argv[4]);
    if (window < 1 || window > 200)
        return 2;
    int fd = dial(argv[2]);
    if (fd < 0) {
        perror("connect");
        return 1;
    }
    if (run(fd, window, seconds / 5) < 0) { /* warm-up */
        fprintf(stderr, "load: a bad reply or a broken connection (warm-up)\n");
        return 1;
    }
    double start = now();
    long done = run(fd, window, seconds);
    double took = now() - start;
    if (done < 0) {
        fprintf(stderr, "load: a bad reply or a broken connection\n");
        return 1;
    }
    printf("%.0f\n", done / took);
    close(fd);
    return 0;
}
"""


def build_load(tmp: Path) -> Path:
    cc = shutil.which("cc") or shutil.which("gcc")
    if cc is None:
        raise SystemExit("no C compiler (cc) found")
    src, exe = tmp / "load.c", tmp / "load"
    src.write_text(LOAD)
    subprocess.run([cc, "-O2", "-Wall", "-o", str(exe), str(src)], check=True)
    return exe


def start_sbd(program: Path, address: str):
    proc = subprocess.Popen([str(program), "-l", address], stdout=subprocess.PIPE,
                            stderr=subprocess.DEVNULL, text=True)
    line = proc.stdout.readline().strip()
    m = re.fullmatch(r"listening on (?:port (\d+)|(.+))", line)
    if not m:
        proc.kill()
        raise SystemExit(f"sbd -l {address} did not start: {line!r}")
    return proc, (f"tcp:{m.group(1)}" if m.group(1) else f"unix:{m.group(2)}")


def start_redis(tmp: Path):
    """redis-server on a free TCP port and a Unix socket in tmp; (proc, tcp, unix)."""
    redis = shutil.which("redis-server")
    if redis is None:
        raise SystemExit("redis-server is missing (Debian's redis-server; make setup)")
    port, sock = unused_port(), tmp / "redis.sock"
    proc = subprocess.Popen([redis, "--port", str(port), "--bind", "127.0.0.1", "--save", "",
                             "--appendonly", "no", "--dir", str(tmp), "--daemonize", "no",
                             "--protected-mode", "no", "--logfile", "", "--unixsocket",
                             str(sock), "--unixsocketperm", "700"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    cli = shutil.which("redis-cli")
    deadline = time.monotonic() + 10
    while True:  # ready when it answers; redis-cli has its own short timeout
        done = subprocess.run([cli, "-s", str(sock), "SET", "bench", "value-------"],
                              capture_output=True, text=True, timeout=10)
        if done.stdout.strip() == "OK":
            return proc, f"tcp:{port}", f"unix:{sock}"
        if time.monotonic() > deadline or proc.poll() is not None:
            proc.kill()
            raise SystemExit("redis-server did not start")
        time.sleep(0.05)  # ok: a start-up poll with a deadline, in a benchmark


def measure(load: Path, kind: str, where: str, window: int, seconds: float) -> float:
    done = subprocess.run([str(load), kind, where, str(window), str(seconds)],
                          capture_output=True, text=True, timeout=60 + 10 * seconds)
    if done.returncode != 0:
        raise SystemExit(f"load {kind} {where} {window}: {done.stderr.strip()}")
    return float(done.stdout)


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--impl", type=Path, default=LAB)
    p.add_argument("--seconds", type=float, default=1.0)
    p.add_argument("--rounds", type=int, default=5)
    bench.add_arguments(p)
    args = p.parse_args()
    if args.quick:
        args.seconds, args.rounds = 0.1, 1
    program = args.impl / "sbd"
    if not program.exists():
        raise SystemExit(f"{program}: build it first (make -C {args.impl})")
    cases = {}
    with tempfile.TemporaryDirectory(prefix="sbd-bench-") as tmp:
        tmp = Path(tmp)
        load = build_load(tmp)
        redis, redis_tcp, redis_unix = start_redis(tmp)
        sbd_tcp_proc, sbd_tcp = start_sbd(program, "tcp:127.0.0.1:0")
        sbd_unix_proc, sbd_unix = start_sbd(program, f"unix:{tmp / 'sb.sock'}")
        try:
            pb = sbrpc.messages(LAB / "scoreboard.proto")
            for where in (int(sbd_tcp[4:]), sbd_unix[5:]):  # the name Get asks for
                client = sbrpc.SbClient(pb, where, name="bench")
                reply = client.call("Submit", pb.Score(player="bench", points=1))
                client.close()
                if reply.status != sbrpc.OK:
                    raise SystemExit(f"sbd: Submit bench: {sbrpc.describe_reply(reply)}")
            for _ in range(args.rounds):
                for transport, ours, peer in (("TCP", sbd_tcp, redis_tcp),
                                              ("Unix", sbd_unix, redis_unix)):
                    for window in (1, 100):
                        name = f"{transport}, {window} in flight"
                        case = cases.setdefault(name, bench.Case(
                            name, "sbd", "redis-server", "calls/s", better="higher",
                            target=0.8 if window == 1 else 0.5))
                        case.ours_runs.append(measure(load, "sb", ours, window, args.seconds))
                        case.peer_runs.append(measure(load, "resp", peer, window, args.seconds))
        finally:
            for proc in (sbd_tcp_proc, sbd_unix_proc, redis):
                proc.terminate()
                proc.wait(timeout=10)
    for case in cases.values():
        print(f"{case.name:22} sbd {statistics.median(case.ours_runs):>10,.0f} calls/s  "
              f"redis-server {statistics.median(case.peer_runs):>10,.0f}  "
              f"ratio {case.ratio:.2f}")
    bench.write(args, list(cases.values()),
                f"one connection, Get of a 5-byte name (sbd) and GET of a 5-byte key "
                f"(redis-server), 1 or 100 in flight, {args.seconds:g} s per case, "
                f"{args.rounds} rounds")
    return 0


if __name__ == "__main__":
    sys.exit(main())
