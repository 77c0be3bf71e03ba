#!/usr/bin/env python3
"""pbwire_vs_protobuf_c.py - pbwire against protobuf-c, encoding and decoding
the same messages side by side.

Usage: pbwire_vs_protobuf_c.py [--impl DIR] [--rounds R] [--quick] [--json FILE]

Builds one C program from DIR's pbwire.c (default: this lab directory),
this lab's scoreboard.pb.c, and the code protoc-c generates from the same
scoreboard.proto, linked with Debian's libprotobuf-c, all at -O2. It makes
1000 Scores (a name, points, a level, 0 to 16 laps, a proof, a time, an
accuracy) and, in turn, encodes all of them with each library (pbwire:
pb_encoded_size then pb_encode into one buffer; protobuf-c:
protobuf_c_message_get_packed_size then protobuf_c_message_pack) and
decodes all of them (pbwire: pb_decode into an arena reset per message;
protobuf-c: scoreboard__score__unpack and free_unpacked, its usual
malloc-based use). Each direction is timed for about half a second per
library, R times (default 5). Within that time the two libraries take
turns, one pass over the 1000 messages each (the first of a pair
alternating), and each pass is timed alone: the machine is shared, and a
change in its load then falls on both libraries alike rather than on
whichever ran during it. With two CPUs or more the program is pinned to
one (taskset), so that it does not migrate between passes. The report
gives the median throughput of each in MB of encoded messages per second
and the ratio pbwire/protobuf-c (above 1: pbwire is faster; the course's
target is 1.0), with the load average before and after.

--quick: 1 round of 0.05 s per library: it proves the script and its
peer work; the numbers mean little. --json FILE: the results for `make
bench` (bench/results.md).

A measurement, not a test: numbers vary between machines and runs, which
is why the two run side by side.
"""
import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

LAB = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(LAB.parent.parent / "grader"))

from netgrader import bench  # noqa: E402

PROGRAM = r"""
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "pbwire.h"
#include "scoreboard.pb.h"
#include "scoreboard.pb-c.h"

#define N 1000

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec / 1e9;
}

static struct scoreboard_Score ours[N];
static Scoreboard__Score theirs[N];
static uint32_t laps[N][16];
static char names[N][16];
static uint8_t proof[32];
static uint8_t *wire[N];
static size_t wire_len[N];
static uint8_t out[1 << 22];
static uint8_t arena_mem[1 << 16];
static volatile size_t sink;

/* One pass over the N messages with library lib (0: pbwire, 1: protobuf-c). */
static int encode_pass(int lib)
{
    size_t at = 0;
    for (int i = 0; i < N; i++) {
        if (lib == 0) {
            size_t n = pb_encoded_size(&scoreboard_Score_desc, &ours[i]);
            int k = pb_encode(&scoreboard_Score_desc, &ours[i], out + at, n);
            if (k < 0)
                return 1;
            at += (size_t)k;
        } else {
            size_t n = protobuf_c_message_get_packed_size(&theirs[i].base);
            (void)n;
            at += protobuf_c_message_pack(&theirs[i].base, out + at);
        }
    }
    sink += at;
    return 0;
}

static int decode_pass(int lib)
{
    for (int i = 0; i < N; i++) {
        if (lib == 0) {
            struct pb_arena a;
            struct scoreboard_Score s;
            pb_arena_init(&a, arena_mem, sizeof arena_mem);
            if (pb_decode(&scoreboard_Score_desc, wire[i], wire_len[i], &s, &a) != 0)
                return 1;
            sink += s.laps_count;
        } else {
            Scoreboard__Score *s = scoreboard__score__unpack(NULL, wire_len[i], wire[i]);
            if (s == NULL)
                return 1;
            sink += s->n_laps;
            scoreboard__score__free_unpacked(s, NULL);
        }
    }
    return 0;
}

/* The two libraries in turn, one pass each (which goes first alternates),
 * each pass timed alone, until the two have had about 2 x `seconds`. */
static int timed(const char *direction, int (*pass)(int), double seconds, size_t total)
{
    double spent[2] = {0, 0};
    long reps[2] = {0, 0};
    for (long k = 0; spent[0] + spent[1] < 2 * seconds; k++) {
        for (int j = 0; j < 2; j++) {
            int lib = (int)((k + j) % 2);
            double start = now();
            if (pass(lib) != 0) {
                fprintf(stderr, "%s: %s failed\n", direction, lib == 0 ? "pbwire" : "protobuf-c");
                return 1;
            }
            spent[lib] += now() - start;
            reps[lib]++;
        }
    }
    for (int lib = 0; lib < 2; lib++)
        printf("%s %s %.3f\n", direction, lib == 0 ? "pbwire" : "protobuf-c",
               reps[lib] * total / spent[lib] / 1e6);
    return 0;
}

int main(int argc, char **argv)
{
    double seconds = argc > 1 ? atof(argv[1]) : 0.5;
    srand(1);
    size_t total = 0;
    for (int i = 0; i < N; i++) {
        snprintf(names[i], sizeof names[i], "player%d", i);
        int nlaps = rand() % 17;
        for (int j = 0; j < nlaps; j++)
            laps[i][j] = (uint32_t)(rand() % 100000);
        ours[i] = (struct scoreboard_Score){.player = {(uint8_t *)names[i], strlen(names[i])},
            .points = (rand() % 2000000) - 1000000, .level = 1 + i % 2, .verified = i % 3 == 0,
            .proof = {proof, (size_t)(i % 32)}, .laps = laps[i], .laps_count = (size_t)nlaps,
            .when = 1700000000000ull + (uint64_t)i, .accuracy = 0.5 + i / 3000.0};
        scoreboard__score__init(&theirs[i]);
        theirs[i].player = names[i];
        theirs[i].points = ours[i].points;
        theirs[i].level = (Scoreboard__Level)ours[i].level;
        theirs[i].verified = ours[i].verified;
        theirs[i].proof.data = proof;
        theirs[i].proof.len = ours[i].proof.len;
        theirs[i].laps = laps[i];
        theirs[i].n_laps = (size_t)nlaps;
        theirs[i].when = ours[i].when;
        theirs[i].accuracy = ours[i].accuracy;
        size_t a = pb_encoded_size(&scoreboard_Score_desc, &ours[i]);
        size_t b = protobuf_c_message_get_packed_size(&theirs[i].base);
        wire[i] = malloc(a);
        if (a != b || wire[i] == NULL ||
            pb_encode(&scoreboard_Score_desc, &ours[i], wire[i], a) != (int)a) {
            fprintf(stderr, "message %d: pbwire %zu bytes, protobuf-c %zu\n", i, a, b);
            return 1;
        }
        uint8_t *check = malloc(b);
        if (check == NULL || protobuf_c_message_pack(&theirs[i].base, check) != b ||
            memcmp(check, wire[i], b) != 0) {
            fprintf(stderr, "message %d: the two encodings differ\n", i);
            return 1;
        }
        free(check);
        wire_len[i] = a;
        total += a;
    }
    int e = timed("encode", encode_pass, seconds, total) ||
            timed("decode", decode_pass, seconds, total);
    for (int i = 0; i < N; i++)
        free(wire[i]);
    return e;
}
"""


def build(impl: Path, tmp: Path) -> Path:
    for tool in ("protoc-c", "cc"):
        if shutil.which(tool) is None:
            sys.exit(f"{tool} is missing (make setup installs protobuf-c-compiler)")
    shutil.copy(LAB / "scoreboard.proto", tmp / "scoreboard.proto")
    subprocess.run(["protoc-c", f"-I{tmp}", f"--c_out={tmp}", "scoreboard.proto"], check=True,
                   cwd=tmp)
    (tmp / "bench.c").write_text(PROGRAM)
    exe = tmp / "bench"
    subprocess.run(["cc", "-O2", "-std=gnu11", f"-I{impl}", f"-I{LAB}", f"-I{tmp}",
                    "-o", str(exe), str(tmp / "bench.c"), str(impl / "pbwire.c"),
                    str(LAB / "scoreboard.pb.c"), str(tmp / "scoreboard.pb-c.c"),
                    "-lprotobuf-c"], check=True)
    return exe


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--impl", type=Path, default=LAB, help="directory with pbwire.c")
    p.add_argument("--rounds", type=int, default=5)
    bench.add_arguments(p)
    args = p.parse_args()
    impl = args.impl.resolve()
    if not (impl / "pbwire.c").exists():
        print(f"{impl}/pbwire.c is missing", file=sys.stderr)
        return 1
    rounds, seconds = (1, 0.05) if args.quick else (args.rounds, 0.5)
    allowed = sorted(os.sched_getaffinity(0))
    pin = (["taskset", "-c", str(allowed[-1])]
           if len(allowed) >= 2 and shutil.which("taskset") is not None else [])
    where = f"pinned to CPU {allowed[-1]} (taskset)" if pin else "not pinned"
    load_before = " ".join(f"{v:.2f}" for v in os.getloadavg())
    runs = {(d, lib): [] for d in ("encode", "decode") for lib in ("pbwire", "protobuf-c")}
    with tempfile.TemporaryDirectory(prefix="pbbench-") as tmp:
        exe = build(impl, Path(tmp))
        for _ in range(rounds):
            done = subprocess.run([*pin, str(exe), str(seconds)], capture_output=True,
                                  text=True, timeout=120)
            if done.returncode != 0:
                print(done.stdout + done.stderr, file=sys.stderr)
                return 1
            for line in done.stdout.splitlines():
                direction, lib, rate = line.split()
                runs[(direction, lib)].append(float(rate))
    load_after = " ".join(f"{v:.2f}" for v in os.getloadavg())
    print(f"1000 Scores, {rounds} round(s) of {seconds:g} s per library and direction, "
          f"the libraries in turn pass by pass, -O2, {where}; load average {load_before} "
          f"before, {load_after} after")
    cases = []
    for direction in ("encode", "decode"):
        a = statistics.median(runs[(direction, "pbwire")])
        b = statistics.median(runs[(direction, "protobuf-c")])
        print(f"{direction}: pbwire {a:,.1f} MB/s, protobuf-c {b:,.1f} MB/s, "
              f"ratio pbwire/protobuf-c {a / b:.2f}")
        case = bench.Case(f"{direction} 1000 Scores", "pbwire", "protobuf-c", "MB/s",
                          better="higher", target=1.0)
        case.ours_runs, case.peer_runs = runs[(direction, "pbwire")], runs[(direction, "protobuf-c")]
        cases.append(case)
    bench.write(args, cases, f"{rounds} x {seconds:g} s per library and direction, in turn "
                f"pass by pass; cc -O2; {where}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
