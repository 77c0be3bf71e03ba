#!/usr/bin/python3
"""Build and run the lecture notes' demos; check that the decks quote them right.

Usage: check_demos.py [--show] [--only NAME] [DECK...]

Each slides/demos/NN-what.c is a small program that shows one thing the
kernel or libc does, on loopback or in a private namespace it makes
itself. This script builds every demo with gcc -Wall -Wextra -Werror, runs
them all (in parallel, each with a deadline) and compares what each prints
with what the decks (default: slides/NN-*.md) quote of it. A deck quotes a
demo in a fenced block whose info string names it:

    ```text demo=01-reuseaddr
    ...the demo's output, verbatim...
    ```

A quote is the whole output or a run of its lines (a slide may show the
part it discusses), compared line by line, trailing blanks ignored, with one
normalisation: a line "kernel X.Y" (printed by demos whose result depends
on the kernel) matches any "kernel X.Y". A quote that holds only for some
kernels says so: `kernel=6.5+` (6.5 and later) or `kernel=-6.4` (up to
6.4) after the name; quotes for other kernels than the running one are
skipped. It fails if a demo does not build, fails or overruns, if a quote
differs from the output, names no demo, or if a demo is quoted nowhere
for this kernel.

--show prints each demo's output (to paste into a deck); --only runs one.
Needs gcc and, for the namespace demos, unprivileged user namespaces (or
root), as the grader does.
"""
import argparse
import os
import platform
import re
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

HERE = Path(__file__).resolve().parent
SLIDES = HERE.parent
sys.path.insert(0, str(SLIDES))
from build import fenced_blocks  # noqa: E402  (slides/build.py)

CC = os.environ.get("CC", "gcc")
CFLAGS = ["-std=gnu11", "-O2", "-Wall", "-Wextra", "-Werror", "-pthread"]
DEADLINE = 30  # seconds per demo; the slowest takes about 8
KERNEL_LINE = re.compile(r"^kernel \d+\.\d+$")
RANGE = re.compile(r"^kernel=(-?)(\d+)\.(\d+)(\+?)$")


def kernel_version():
    m = re.match(r"(\d+)\.(\d+)", platform.release())
    return (int(m.group(1)), int(m.group(2))) if m else (0, 0)


def applies(info_words, kernel):
    """True if a quote's kernel=RANGE (if any) includes the running kernel."""
    for word in info_words:
        m = RANGE.match(word)
        if m:
            bound = (int(m.group(2)), int(m.group(3)))
            if m.group(1) == "-":
                return kernel <= bound
            if m.group(4) == "+":
                return kernel >= bound
            return kernel[:2] == bound
    return True


def normalise(lines):
    out = [l.rstrip() for l in lines]
    while out and not out[-1]:
        out.pop()
    return ["kernel X.Y" if KERNEL_LINE.match(l) else l for l in out]


def build_and_run(src, tmp):
    exe = Path(tmp) / src.stem
    b = subprocess.run([CC, *CFLAGS, "-o", str(exe), str(src)], capture_output=True, text=True)
    if b.returncode != 0:
        return None, f"does not build:\n{b.stderr}", 0.0
    start = time.monotonic()
    try:
        r = subprocess.run([str(exe)], capture_output=True, text=True, timeout=DEADLINE,
                           cwd=tmp, stdin=subprocess.DEVNULL)
    except subprocess.TimeoutExpired:
        return None, f"still running after {DEADLINE} s", DEADLINE
    took = time.monotonic() - start
    if r.returncode != 0:
        return None, f"exit status {r.returncode}\n{r.stderr}", took
    return r.stdout, None, took


def excerpt_at(want, got):
    """Where want occurs in got as a run of whole lines, or None."""
    for i in range(len(got) - len(want) + 1):
        if got[i:i + len(want)] == want:
            return i
    return None


def quotes(decks):
    """Yield (deck, line, demo name, info words, quoted lines)."""
    for deck in decks:
        lines = Path(deck).read_text(encoding="utf-8").splitlines()
        for start, info, body in fenced_blocks(lines):
            names = [w[5:] for w in info if w.startswith("demo=")]
            if names:
                yield deck, start, names[0], info, body


def main():
    ap = argparse.ArgumentParser(description="Run the demos and check the decks' quotes.")
    ap.add_argument("--show", action="store_true", help="print every demo's output")
    ap.add_argument("--only", metavar="NAME", help="one demo, e.g. 01-reuseaddr")
    ap.add_argument("decks", nargs="*", metavar="DECK")
    args = ap.parse_args()
    decks = args.decks or sorted(str(p) for p in SLIDES.glob("[0-9][0-9]-*.md"))
    sources = sorted(HERE.glob("[0-9][0-9]-*.c"))
    if args.only:
        sources = [s for s in sources if s.stem == args.only]
        if not sources:
            sys.exit(f"check_demos.py: no demo named {args.only}")
    kernel = kernel_version()
    start = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="demos-") as tmp:
        with ThreadPoolExecutor(max_workers=len(sources) or 1) as pool:
            results = dict(zip((s.stem for s in sources),
                               pool.map(lambda s: build_and_run(s, tmp), sources)))
    failures = []
    for name, (out, err, took) in results.items():
        if err:
            failures.append(f"slides/demos/{name}.c: {err.rstrip()}")
        elif args.show:
            print(f"----- {name} ({took:.1f} s)\n{out}", end="")
    checked, quoted = 0, set()
    for deck, line, name, info, body in quotes(decks):
        if name not in results:
            if not args.only and not (HERE / f"{name}.c").exists():
                failures.append(f"{deck}:{line}: quotes demo={name}, which does not exist")
            continue
        if not applies(info, kernel):
            continue
        quoted.add(name)
        out = results[name][0]
        if out is None:
            continue
        want, got = normalise(body), normalise(out.splitlines())
        checked += 1
        at = excerpt_at(want, got) if want else None
        if at is None:
            first = next((i for i, l in enumerate(got) if want and l == want[0]), 0)
            got_here = got[first:]
            diff = next((i for i, (a, b) in enumerate(zip(want, got_here)) if a != b),
                        min(len(want), len(got_here)))
            failures.append(
                f"{deck}:{line + 1 + diff}: the quote of {name} differs from its output "
                f"on this kernel ({platform.release()}):\n"
                f"    quoted: {want[diff] if diff < len(want) else '(nothing more)'}\n"
                f"    output: {got_here[diff] if diff < len(got_here) else '(nothing more)'}\n"
                f"  the whole output:\n" + "".join(f"    {l}\n" for l in got))
    for name in sorted(set(results) - quoted):
        failures.append(f"slides/demos/{name}.c: quoted in no deck for kernel "
                        f"{kernel[0]}.{kernel[1]} (a ```text demo={name} block)")
    for f in failures:
        print(f, file=sys.stderr)
    print(f"demos: {len(results)} run, {checked} quotes checked, {len(failures)} problems "
          f"({time.monotonic() - start:.1f} s)")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
