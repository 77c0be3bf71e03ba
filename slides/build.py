#!/usr/bin/python3
"""Build the lecture notes to HTML, or check that their C snippets compile.

Usage: build.py [--check-code] [--out DIR] [--no-slideshow] FILES...

Default: each deck slides/NN-name.md becomes two pages in DIR (slides/html
unless --out says otherwise):

  NN-name.html         the reading page: one standalone page, the slides one
                       after the other, CSS inline. Marp's directives are
                       obeyed where they mean something on paper (class,
                       paginate, header, footer; other HTML comments are the
                       speaker's notes), GitHub task lists ("- [ ] item")
                       become check boxes. Needs python3-markdown.
  NN-name.slides.html  the slideshow, by Marp CLI (slides/node_modules, which
                       `make setup` installs with npm) with the settings in
                       slides/marp.config.mjs. --no-slideshow skips it.

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
import shutil
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
HERE = Path(__file__).resolve().parent
MARP = HERE / "node_modules" / ".bin" / "marp"
MARP_CONFIG = HERE / "marp.config.mjs"
MARP_DEADLINE = 300  # seconds for all the decks: ~3 s each when idle


def split_front_matter(text):
    """Return the text without a leading '---' ... '---' YAML block."""
    return read_front_matter(text)[1]


def read_front_matter(text):
    """Return ({key: value} of the front matter's top-level scalars, rest).

    Enough YAML for Marp's global directives: 'key: value' lines, values
    unquoted; indented lines (a block such as 'style: |') are skipped."""
    if text.startswith("---\n"):
        end = text.find("\n---\n", 4)
        if end != -1:
            values = {}
            for line in text[4:end].splitlines():
                m = re.match(r"^([A-Za-z]\w*):\s*(.*?)\s*$", line)
                if m:
                    value = m.group(2)
                    if len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
                        value = value[1:-1]
                    values[m.group(1)] = value
            return values, text[end + 5:]
    return {}, text


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
section.slide.lead { text-align: center; padding: 2.5rem 2.2rem; }
section.slide.lead ul { display: inline-block; text-align: left; }
section.slide .header, section.slide .footer { color: #888; font-size: .8rem; }
aside.notes { border-left: 3px solid #c9d6e3; color: #555; margin: .8rem 0; padding: .2rem .8rem;
  font-size: .9rem; white-space: pre-wrap; }
aside.notes::before { content: "Notes: "; font-weight: 600; }
li.task { list-style: none; }
li.task > input, li.task > p > input { margin: 0 .45em 0 -1.35em; vertical-align: -.1em; }
nav.present { text-align: right; font-size: .9rem; }
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


# Marp's directives (https://marpit.marp.app/directives): the ones a page
# can obey, and the rest, which only style the slideshow.
DIRECTIVES_KEPT = {"class", "paginate", "header", "footer"}
DIRECTIVES_SHOW_ONLY = {"theme", "style", "headingDivider", "size", "math", "title",
                        "description", "author", "keywords", "url", "image", "marp", "lang",
                        "backgroundColor", "backgroundImage", "backgroundPosition",
                        "backgroundRepeat", "backgroundSize", "color"}
COMMENT = re.compile(r"<!--(.*?)-->", re.S)
TASK = re.compile(r"<li>(\s*<p>)?\[([ xX])\][ \t]")
IMAGE = re.compile(r"!\[[^\]]*\]\(([^)\s]+)")


def outside_fences(text, edit):
    """Apply edit() to the parts of text that are not fenced code."""
    out, chunk, fence = [], [], None
    for line in text.split("\n"):
        if fence is None:
            m = FENCE.match(line)
            if m:
                out.append(edit("\n".join(chunk)))
                chunk, fence = [line], m.group(1)
                continue
            chunk.append(line)
        else:
            chunk.append(line)
            if closes(line, fence):
                out.append("\n".join(chunk))
                chunk, fence = [], None
    out.append(edit("\n".join(chunk)) if fence is None else "\n".join(chunk))
    return "\n".join(out)


def directives(comment):
    """{name: value} if an HTML comment holds only Marp directives, else None."""
    found = {}
    for line in comment.strip().splitlines():
        m = re.match(r"^\s*(_?)([A-Za-z]\w*)\s*:\s*(.*?)\s*$", line)
        if not m or m.group(2) not in DIRECTIVES_KEPT | DIRECTIVES_SHOW_ONLY:
            return None
        value = m.group(3)
        if len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
            value = value[1:-1]
        found[m.group(1) + m.group(2)] = value
    return found or None


def render_deck(path, out_dir, markdown, slideshow=None):
    settings, text = read_front_matter(Path(path).read_text(encoding="utf-8"))
    # Python-Markdown wants the bare language: "```c nocompile" -> "```c".
    text = re.sub(r"^(`{3,}|~{3,})[ \t]*([^`\s]+)[^\n`]*$", r"\1\2", text, flags=re.M)
    heading = re.search(r"^#\s+(.+)$", text, flags=re.M)
    title = settings.get("title") or (heading.group(1).strip() if heading else Path(path).stem)
    # Global and local directives carry over to the slides that follow;
    # "_name" (spot directives) holds for one slide only.
    carried = {k: settings[k] for k in DIRECTIVES_KEPT if k in settings}
    parts = []
    for n, slide in enumerate(split_slides(text), 1):
        spot, notes = {}, []

        def take(chunk):
            def one(m):
                found = directives(m.group(1))
                if found is None:
                    notes.append(m.group(1).strip())
                else:
                    for key, value in found.items():
                        (spot if key.startswith("_") else carried)[key.lstrip("_")] = value
                return ""
            return COMMENT.sub(one, chunk)

        slide = outside_fences(slide, take)
        here = {**carried, **spot}
        body = markdown.markdown(slide, extensions=["fenced_code", "tables", "sane_lists"])
        body = TASK.sub(lambda m: f'<li class="task">{m.group(1) or ""}<input type="checkbox" disabled'
                        f'{" checked" if m.group(2) != " " else ""}> ', body)
        classes = " ".join(["slide", *re.findall(r"[\w-]+", here.get("class", ""))])
        extra = "".join(f'\n<aside class="notes">{html.escape(note)}</aside>' for note in notes if note)
        if here.get("header"):
            body = f'<div class="header">{html.escape(here["header"])}</div>\n' + body
        if here.get("footer"):
            extra += f'\n<div class="footer">{html.escape(here["footer"])}</div>'
        number = f'<span class="num">{n}</span>' if here.get("paginate", "true") != "false" else ""
        parts.append(f'<section class="{classes}" id="s{n}">\n{body}{extra}\n{number}</section>')
    present = (f'<nav class="present"><a href="{html.escape(slideshow)}">Present as slides</a></nav>\n'
               if slideshow else "")
    page = (f'<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
            f'<meta name="viewport" content="width=device-width, initial-scale=1">\n'
            f'<title>{html.escape(title)}</title>\n<style>{CSS}</style>\n</head>\n'
            f'<body>\n<main>\n{present}' + "\n".join(parts) + "\n</main>\n</body>\n</html>\n")
    target = Path(out_dir) / (Path(path).stem + ".html")
    target.write_text(page, encoding="utf-8")
    return target, len(parts)


def shorter(target):
    try:
        return target.resolve().relative_to(Path.cwd())
    except ValueError:
        return target


def build_slideshows(decks, out_dir):
    """Run Marp CLI on every deck at once; return the number that failed."""
    if not os.access(MARP, os.X_OK):
        print(f"build.py: no Marp CLI at {shorter(MARP)}: run `make setup` (it runs "
              "`npm ci` in slides/), or build the reading pages alone with --no-slideshow",
              file=sys.stderr)
        return len(decks)
    runs = []
    for path in decks:
        target = Path(out_dir) / (Path(path).stem + ".slides.html")
        cmd = [str(MARP), "--no-stdin", "--config-file", str(MARP_CONFIG), str(path), "-o", str(target)]
        runs.append((path, target, subprocess.Popen(cmd, stdin=subprocess.DEVNULL,
                                                    stdout=subprocess.PIPE,
                                                    stderr=subprocess.STDOUT, text=True)))
    failed = 0
    for path, target, proc in runs:
        try:
            output, _ = proc.communicate(timeout=MARP_DEADLINE)
        except subprocess.TimeoutExpired:
            proc.kill()
            output, _ = proc.communicate()
            output += f"\n(killed after {MARP_DEADLINE} s)"
        if proc.returncode == 0 and target.is_file():
            print(f"{path} -> {shorter(target)} (slideshow)")
        else:
            failed += 1
            print(f"build.py: Marp failed on {path}:", file=sys.stderr)
            for line in output.strip().splitlines()[-SHOWN_ERROR_LINES:]:
                print(f"    {line}", file=sys.stderr)
    return failed


def build(files, out_dir, slideshow=True):
    try:
        import markdown
    except ImportError:
        sys.exit("build.py: needs Python-Markdown (Debian package python3-markdown)")
    Path(out_dir).mkdir(parents=True, exist_ok=True)
    decks = []
    for path in files:
        if not DECK_NAME.match(Path(path).name):
            print(f"build.py: skipping {path}: decks are named NN-name.md", file=sys.stderr)
            continue
        decks.append(path)
        show = Path(path).stem + ".slides.html" if slideshow else None
        target, count = render_deck(path, out_dir, markdown, show)
        print(f"{path} -> {shorter(target)} ({count} slides)")
        # The pictures a deck shows (a path relative to the deck, e.g. images/x.svg) go
        # beside its pages, at the same relative path.
        for ref in IMAGE.findall(Path(path).read_text(encoding="utf-8")):
            source = Path(path).parent / ref
            if ":" not in ref and not ref.startswith("/") and ".." not in Path(ref).parts \
                    and source.is_file():
                (Path(out_dir) / ref).parent.mkdir(parents=True, exist_ok=True)
                shutil.copyfile(source, Path(out_dir) / ref)
    failed = build_slideshows(decks, out_dir) if slideshow and decks else 0
    return 1 if failed else 0


def main():
    ap = argparse.ArgumentParser(description="Build or check the lecture notes.")
    ap.add_argument("--check-code", action="store_true",
                    help="compile every ```c block instead of building HTML")
    ap.add_argument("--out", default=str(Path(__file__).parent / "html"),
                    help="output directory for HTML (default: slides/html)")
    ap.add_argument("--no-slideshow", action="store_true",
                    help="build the reading pages only, without Marp")
    ap.add_argument("files", nargs="+", metavar="FILES")
    args = ap.parse_args()
    missing = [f for f in args.files if not Path(f).is_file()]
    if missing:
        ap.error("no such file: " + ", ".join(missing))
    if args.check_code:
        return check_code(args.files)
    return build(args.files, args.out, slideshow=not args.no_slideshow)


if __name__ == "__main__":
    sys.exit(main())
