#!/usr/bin/python3
"""Build the lecture notes to HTML, or check that their C snippets compile.

Usage: build.py [--check-code] [--out DIR] FILES...

Default: each deck slides/NN-name.md becomes DIR/NN-name.html (DIR is
slides/html unless --out says otherwise): one standalone page, slides
separated, CSS inline, Marp front matter dropped. Needs python3-markdown.

--check-code: every ```c block is compiled on its own, as a translation unit
that starts with PRELUDE below, by gcc with CFLAGS below. Blocks opened with
```c nocompile (deliberate mistakes, fragments) are skipped. Errors are
reported against the Markdown file's own line numbers. Exit status 1 if any
block fails. Needs only gcc.
"""
import argparse
import html
import os
import re
import subprocess
import sys
import tempfile
from pathlib import Path

PRELUDE_HEADERS = """arpa/inet.h errno.h netdb.h netinet/in.h poll.h signal.h stdint.h
    stdio.h stdlib.h string.h sys/socket.h sys/types.h unistd.h""".split()
PRELUDE = "#define _GNU_SOURCE\n" + "".join(f"#include <{h}>\n" for h in PRELUDE_HEADERS)
CFLAGS = ["-std=gnu11", "-Wall", "-Wextra", "-Werror", "-Wno-unused-function",
          "-Wno-unused-variable", "-Wno-unused-parameter", "-c"]
FENCE = re.compile(r"^(`{3,}|~{3,})\s*([^`\s]*)(.*)$")
DECK_NAME = re.compile(r"^\d\d-[\w-]+\.md$")
SHOWN_ERROR_LINES = 6


def split_front_matter(text):
    """Return the text without a leading '---' ... '---' YAML block."""
    if text.startswith("---\n"):
        end = text.find("\n---\n", 4)
        if end != -1:
            return text[end + 5:]
    return text


def closes(line, fence):
    """True if line closes a block opened with fence (same char, as long)."""
    s = line.strip()
    return len(s) >= len(fence) and set(s) == {fence[0]}


def fenced_blocks(lines):
    """Yield (opening line number, info words, code lines) for each fence."""
    i = 0
    while i < len(lines):
        m = FENCE.match(lines[i])
        i += 1
        if not m:
            continue
        start, body = i, []
        while i < len(lines) and not closes(lines[i], m.group(1)):
            body.append(lines[i])
            i += 1
        i += 1  # past the closing fence
        yield start, (m.group(2) + m.group(3)).split(), body


def check_code(files):
    cc = os.environ.get("CC", "gcc")
    compiled, failures = 0, []
    with tempfile.TemporaryDirectory(prefix="notes-") as tmp:
        for path in files:
            lines = Path(path).read_text(encoding="utf-8").splitlines()
            for start, info, body in fenced_blocks(lines):
                if info[:1] != ["c"] or "nocompile" in info:
                    continue
                src = Path(tmp) / f"block{compiled}.c"
                # #line makes gcc report positions in the Markdown file itself.
                quoted = str(path).replace("\\", "\\\\").replace('"', '\\"')
                src.write_text(PRELUDE + f'#line {start + 1} "{quoted}"\n' + "\n".join(body) + "\n")
                run = subprocess.run([cc, *CFLAGS, str(src), "-o", os.devnull],
                                     capture_output=True, text=True)
                compiled += 1
                if run.returncode != 0:
                    errors = [l for l in run.stderr.splitlines() if l.strip()]
                    failures.append((f"{path}:{start}", errors[:SHOWN_ERROR_LINES]))
    for where, errors in failures:
        print(f"{where}: C block does not compile", file=sys.stderr)
        for line in errors:
            print(f"    {line}", file=sys.stderr)
    print(f"notes: {compiled} code blocks compiled, {len(failures)} failed")
    return 1 if failures else 0


CSS = """
body { background: #e8e8e8; font: 17px/1.5 system-ui, sans-serif; color: #222; margin: 0; }
main { max-width: 62rem; margin: 0 auto; padding: 1rem; }
section.slide { background: #fff; border: 1px solid #bbb; border-radius: 6px;
  margin: 1.5rem 0; padding: 1.2rem 2.2rem; position: relative; }
section.slide .num { position: absolute; right: 1rem; bottom: .5rem; color: #888; font-size: .8rem; }
h1, h2 { color: #12395b; margin-top: .3rem; }
pre { background: #f5f5f0; border: 1px solid #ddd; padding: .6rem .8rem; overflow-x: auto;
  font: 14px/1.35 ui-monospace, "DejaVu Sans Mono", monospace; }
code { font-family: ui-monospace, "DejaVu Sans Mono", monospace; font-size: .92em; }
table { border-collapse: collapse; margin: .6rem 0; }
th, td { border: 1px solid #ccc; padding: .25rem .6rem; text-align: left; vertical-align: top; }
th { background: #f0f3f6; }
@media print { body { background: #fff; } section.slide { page-break-after: always; border: 0; } }
"""


def split_slides(text):
    """Split on lines that are exactly '---' outside fenced code."""
    slides, current, fence = [], [], None
    for line in text.splitlines():
        if fence is None and line.strip() == "---":
            slides.append("\n".join(current))
            current = []
            continue
        current.append(line)
        if fence is None:
            m = FENCE.match(line)
            fence = m.group(1) if m else None
        elif closes(line, fence):
            fence = None
    slides.append("\n".join(current))
    return [s for s in slides if s.strip()]


def render_deck(path, out_dir, markdown):
    text = split_front_matter(Path(path).read_text(encoding="utf-8"))
    # Python-Markdown wants the bare language: "```c nocompile" -> "```c".
    text = re.sub(r"^(`{3,}|~{3,})[ \t]*([^`\s]+)[^\n`]*$", r"\1\2", text, flags=re.M)
    heading = re.search(r"^#\s+(.+)$", text, flags=re.M)
    title = heading.group(1).strip() if heading else Path(path).stem
    parts = []
    for n, slide in enumerate(split_slides(text), 1):
        body = markdown.markdown(slide, extensions=["fenced_code", "tables", "sane_lists"])
        parts.append(f'<section class="slide" id="s{n}">\n{body}\n<span class="num">{n}</span></section>')
    page = (f'<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
            f'<meta name="viewport" content="width=device-width, initial-scale=1">\n'
            f'<title>{html.escape(title)}</title>\n<style>{CSS}</style>\n</head>\n'
            f'<body>\n<main>\n' + "\n".join(parts) + "\n</main>\n</body>\n</html>\n")
    target = Path(out_dir) / (Path(path).stem + ".html")
    target.write_text(page, encoding="utf-8")
    return target, len(parts)


def build(files, out_dir):
    try:
        import markdown
    except ImportError:
        sys.exit("build.py: needs Python-Markdown (Debian package python3-markdown)")
    Path(out_dir).mkdir(parents=True, exist_ok=True)
    for path in files:
        if not DECK_NAME.match(Path(path).name):
            print(f"build.py: skipping {path}: decks are named NN-name.md", file=sys.stderr)
            continue
        target, count = render_deck(path, out_dir, markdown)
        try:
            target = target.resolve().relative_to(Path.cwd())  # shorter to read
        except ValueError:
            pass
        print(f"{path} -> {target} ({count} slides)")
    return 0


def main():
    ap = argparse.ArgumentParser(description="Build or check the lecture notes.")
    ap.add_argument("--check-code", action="store_true",
                    help="compile every ```c block instead of building HTML")
    ap.add_argument("--out", default=str(Path(__file__).parent / "html"),
                    help="output directory for HTML (default: slides/html)")
    ap.add_argument("files", nargs="+", metavar="FILES")
    args = ap.parse_args()
    missing = [f for f in args.files if not Path(f).is_file()]
    if missing:
        ap.error("no such file: " + ", ".join(missing))
    return check_code(args.files) if args.check_code else build(args.files, args.out)


if __name__ == "__main__":
    sys.exit(main())
