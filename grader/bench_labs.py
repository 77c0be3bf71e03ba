#!/usr/bin/env python3
"""bench_labs.py - every lab's benchmark against its real peer (`make bench`).

Usage: bench_labs.py [--quick] [--out DIR] [--lab NN]

Runs labs/NN-name/bench/*.py (every script there, for every lab present)
on the reference solution (--impl solutions/NN-name, built first with
make), one after the other, each printing its own report. Then writes
DIR/results.md (default bench/): the machine (processors, CPU model,
kernel, Debian version, load average before and after), the date, a table
of every case's ratio ours/peer with the course's target, the exact
commands and each script's full report; and DIR/NN-name.svg, one plot per
lab (Debian's python3-matplotlib): each case's ratio, the target and the
ratio of every round. A script's own plots, listed in its JSON as
"figures" ([{"file": ..., "title": ...}]), are copied beside them as
DIR/NN-name-FILE and shown in its section.

--quick runs every script with --quick (seconds each: it proves that the
scripts, their peers and the plots still work; `make test` does this) and
writes to a temporary directory unless --out is given: quick numbers mean
nothing and never replace the real ones. Exit status 1 when a script
fails, whatever the ratios: a benchmark measures, it does not judge.
"""
import argparse
import datetime
import json
import os
import platform
import shlex
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from statistics import median

ROOT = Path(__file__).resolve().parent.parent
PY = sys.executable
QUICK_LIMIT = 120  # seconds a script may take with --quick
FULL_LIMIT = 1800  # and without


def machine() -> dict:
    cpu = "?"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    try:
        debian = Path("/etc/debian_version").read_text().strip()
    except OSError:
        debian = "not Debian"
    return {"processors": os.cpu_count(), "cpu": cpu, "kernel": platform.release(),
            "debian": debian, "python": platform.python_version()}


def load() -> str:
    return " ".join(f"{v:.2f}" for v in os.getloadavg())


def scripts(only: str | None) -> list[Path]:
    found = sorted(ROOT.glob("labs/[0-9][0-9]-*/bench/*.py"))
    return [s for s in found if only is None or s.parent.parent.name.startswith(only)]


def run_script(script: Path, quick: bool, scratch: Path) -> tuple[list, dict | None, str, float]:
    """Build the lab's reference, run the script on it; (argv, its JSON or None, output, s)."""
    lab = script.parent.parent.name
    impl = Path("solutions") / lab
    build = subprocess.run(["make", "--no-print-directory", "-s", "-C", str(impl)], cwd=ROOT,
                           capture_output=True, text=True, timeout=600)
    if build.returncode != 0:
        return [], None, f"make -C {impl} failed:\n{build.stdout}{build.stderr}", 0.0
    result = scratch / f"{lab}-{script.stem}.json"
    argv = [str(script.relative_to(ROOT)), "--impl", str(impl)] + (["--quick"] if quick else [])
    start = time.monotonic()
    proc = subprocess.Popen([PY, *argv, "--json", str(result)], cwd=ROOT, text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            start_new_session=True)
    # The deadline: a hung peer must not hang `make test`.
    watchdog = threading.Timer(QUICK_LIMIT if quick else FULL_LIMIT,
                               lambda: os.killpg(proc.pid, signal.SIGKILL))
    watchdog.start()
    lines = []
    try:
        for line in proc.stdout:  # shown as it comes: a full run takes minutes
            print("  " + line, end="", flush=True)
            lines.append(line)
        proc.wait()
    finally:
        watchdog.cancel()
    seconds = time.monotonic() - start
    text = "".join(lines)
    if proc.returncode != 0 or not result.exists():
        return argv, None, text + f"\n(exit status {proc.returncode})", seconds
    return argv, json.loads(result.read_text()), text, seconds


def plot(lab: str, cases: list[dict], path: Path) -> None:
    import matplotlib
    matplotlib.use("Agg")
    matplotlib.rcParams["svg.hashsalt"] = "netlab"  # the same SVG for the same numbers
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7.5, 0.9 + 0.75 * len(cases)))
    for i, c in enumerate(cases):
        ax.barh(i, c["ratio"], height=0.5, color="#4c72b0" if c["met"] is not False else "#c44e52")
        runs = [a / b for a, b in zip(c["ours_runs"], c["peer_runs"]) if b]
        ax.plot(runs, [i] * len(runs), "k.", markersize=5)
        if c["target"] is not None:
            ax.plot([c["target"]] * 2, [i - 0.35, i + 0.35], color="#dd8452", linewidth=2.5)
        better = "higher" if c["better"] == "higher" else "lower"
        ax.annotate(f" {c['ratio']:.2f}", (c["ratio"], i), va="center", fontsize=9)
        c["label"] = f"{c['ours']}/{c['peer']} {c['unit']}, {better} is better\n{c['name']}"
    ax.set_yticks(range(len(cases)), [c["label"] for c in cases], fontsize=8)
    ax.invert_yaxis()
    ax.axvline(1.0, color="grey", linewidth=0.8)
    ax.set_xlabel("ratio ours/peer (bar: median; dots: each round; orange: the target)")
    ax.set_title(f"lab {lab}", fontsize=10)
    ax.set_xlim(0, max(max(c["ratio"] for c in cases), max(c["target"] or 0 for c in cases))
                * 1.25)
    fig.tight_layout()
    fig.savefig(path, metadata={"Date": None} if path.suffix == ".svg" else None)
    plt.close(fig)


def fmt(value: float) -> str:
    return f"{value:.0f}" if value >= 100 else f"{value:.3g}"


def write_results(out: Path, info: dict, runs: list, started: str, loads: tuple,
                  quick: bool) -> Path:
    lines = ["# Benchmarks: the course's programs beside real ones", "",
             "Written by `make bench` (grader/bench_labs.py); numbers in the READMEs and "
             "notes come from here.", "" if not quick else
             "\n**Quick mode: tiny inputs, the numbers mean nothing.**\n",
             f"- date: {started} (UTC)",
             f"- machine: {info['processors']} processors, {info['cpu']}, kernel "
             f"{info['kernel']}, Debian {info['debian']}, Python {info['python']}",
             f"- load average (1, 5, 15 min): {loads[0]} before, {loads[1]} after",
             "- each script runs the reference solution (`--impl solutions/NN-name`) beside "
             "its peer, in turn, on loopback", ""]
    # Before only: the benchmarks themselves keep both cores busy.
    if float(loads[0].split()[0]) > (info["processors"] or 1):
        lines += ["**The machine was busy** (a load average above its processor count): "
                  "every ratio is noisier, and a single-process peer (nginx's one worker) "
                  "gets one share of the CPU where a threaded program gets one per thread, "
                  "which flatters the threaded one. Compare runs taken on a quiet machine.", ""]
    lines += ["| lab | case | ours | peer | unit | ours (median) | peer (median) | ratio "
              "| paired | target | met |", "|---|---|---|---|---|---:|---:|---:|---:|---:|---|"]
    for lab, _script, _argv, data, _text, _seconds in runs:
        for c in (data or {}).get("cases", []):
            target = "" if c["target"] is None else \
                ("≥ " if c["better"] == "higher" else "≤ ") + f"{c['target']:g}"
            met = {True: "yes", False: "**no**", None: ""}[c["met"]]
            pairs = [a / b for a, b in zip(c["ours_runs"], c["peer_runs"]) if b]
            paired = f"{median(pairs):.2f}" if pairs else ""
            lines.append(f"| {lab} | {c['name']} | {c['ours']} | {c['peer']} | {c['unit']} | "
                         f"{fmt(median(c['ours_runs']))} | {fmt(median(c['peer_runs']))} | "
                         f"{c['ratio']:.2f} | {paired} | {target} | {met} |")
    failed = [lab for lab, _s, _a, data, _t, _sec in runs if data is None]
    if failed:
        lines += ["", f"Failed: {', '.join(failed)} (see the output below)."]
    lines += ["", "ratio: ours/peer of the medians, which the target is about; for a rate "
              "(req/s, MiB/s) higher is better, for a time (ms) lower is. paired: the median of "
              "each round's ratio (the two measured one right after the other), which a machine "
              "whose load drifts during the run disturbs less.", "", "## Commands", "",
              "From the top of the repository, after `make build`:", "", "```sh"]
    for lab, _script, argv, _data, _text, seconds in runs:
        if argv:
            lines.append(f"{shlex.join(['/usr/bin/python3', *argv])}   # {seconds:.0f} s")
    lines += ["```", ""]
    for lab, script, argv, data, text, _seconds in runs:
        lines += [f"## {lab}: {script.name}", ""]
        if data is not None and data.get("cases"):
            lines += [f"![lab {lab}]({lab}.svg)", "", f"Settings: {data['settings']}.", ""]
        for figure in (data or {}).get("figures", []):  # a script's own plots, copied by main
            lines += [f"![{figure['title']}]({lab}-{Path(figure['file']).name})", ""]
        lines += ["```", text.rstrip(), "```", ""]
    path = out / "results.md"
    path.write_text("\n".join(lines))
    return path


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--quick", action="store_true", help="every script with --quick")
    p.add_argument("--out", help="where results.md and the plots go (default bench/)")
    p.add_argument("--lab", help="only the labs whose name starts with this (01, 03-udp)")
    args = p.parse_args()
    found = scripts(args.lab)
    if not found:
        print("bench_labs.py: no labs/NN-name/bench/*.py found", file=sys.stderr)
        return 1
    tmp = None
    if args.out:
        out = Path(args.out)
    elif args.quick:
        tmp = tempfile.TemporaryDirectory()
        out = Path(tmp.name)
    else:
        out = ROOT / "bench"
    out.mkdir(parents=True, exist_ok=True)
    started = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M")
    before = load()
    runs = []
    with tempfile.TemporaryDirectory() as scratch:
        for script in found:
            lab = script.parent.parent.name
            print(f"== {lab}: {script.name}{' --quick' if args.quick else ''}", flush=True)
            argv, data, text, seconds = run_script(script, args.quick, Path(scratch))
            runs.append((lab, script, argv, data, text, seconds))
            for figure in (data or {}).get("figures", []):  # a script's own plots
                shutil.copyfile(figure["file"], out / f"{lab}-{Path(figure['file']).name}")
            if data is None:
                print(f"  FAILED: {text.splitlines()[-1] if text else 'no output'}")
    for lab, _script, _argv, data, _text, _seconds in runs:
        if data and data.get("cases"):
            plot(lab, data["cases"], out / f"{lab}.svg")
    path = write_results(out, machine(), runs, started, (before, load()), args.quick)
    print(f"\n{path.read_text().split('## Commands')[0].strip()}\n")
    print(f"written: {path} and {len(runs)} plot(s) beside it")
    if tmp is not None:
        tmp.cleanup()
    return 1 if any(run[3] is None for run in runs) else 0


if __name__ == "__main__":
    sys.exit(main())
