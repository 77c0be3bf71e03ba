"""A hostile-submission corpus: each test grades a submission that tries to
gain points it did not earn, or to harm the grader or other gradings, on
the one-lab course tree of test_end_to_end (`01-demo`: `upper` copies stdin
to stdout in upper case, `shout()` upper-cases a buffer). Each attack must
score nothing on the item it attacks, leave a clear line in the report,
and leave nothing behind.

These run as root (CI does): the jail's user switch needs it.
"""
import json
import os
import shutil
import socket
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from test_end_to_end import GRADER, SHOUT_OK, SHOUT_STUB, UPPER, make_tree

UPPER_STUB = "int main(void)\n{\n    return 0;\n}\n"

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="the full sandbox needs root")


def grade(course: Path, submission: Path, *args: str, env: dict | None = None,
          out: Path | None = None) -> tuple[int, dict, str]:
    out = out or submission.parent / f"out-{submission.name}"
    proc = subprocess.run([sys.executable, str(GRADER / "grade.py"), "--root", str(course),
                           "--impl", str(submission), "--out", str(out), "-j", "1", *args],
                          capture_output=True, timeout=300, env={**os.environ, **(env or {})})
    results = {}
    if (out / "results.json").exists():
        results = json.loads((out / "results.json").read_text())
    report = (out / "report.txt").read_text() if (out / "report.txt").exists() else ""
    text = report + proc.stdout.decode(errors="replace") + proc.stderr.decode(errors="replace")
    return proc.returncode, results, text


def scores(results) -> dict:
    return {t["name"].split(": ", 1)[1]: t["score"] for t in results["tests"]}


@pytest.fixture
def course(tmp_path):
    root = make_tree(tmp_path / "course")
    # A developer's `make` in solutions/ leaves a built reference beside its sources.
    subprocess.run(["make", "-s", "-C", str(root / "solutions/01-demo")], check=True,
                   capture_output=True)
    return root


def submit(tmp_path: Path, upper: str = UPPER_STUB, shout: str = SHOUT_STUB,
           name: str = "alice", extra: dict | None = None) -> Path:
    lab = tmp_path / name / "01-demo"
    lab.mkdir(parents=True)
    (lab / "upper.c").write_text(upper)
    (lab / "shout.c").write_text(shout)
    for file, text in (extra or {}).items():
        (lab / file).write_text(text)
    return lab.parent


def c_string(text: str) -> str:
    return json.dumps(text)


def no_process_with(marker: str) -> bool:
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if marker.encode() in (entry / "cmdline").read_bytes():
                    return False
            except OSError:
                pass
    return True


# --- what a submission is -------------------------------------------------------------------

def test_own_makefile_reading_the_solutions_is_ignored(course, tmp_path):
    makefile = (f"vpath %.c {course}/solutions/01-demo\nPROGRAMS := upper\nLIB_SRCS := shout.c\n"
                "include ../../common/lab.mk\n")
    sub = submit(tmp_path, extra={"Makefile": makefile, "notes.txt": "hi"})
    rc, results, report = grade(course, sub)
    assert rc == 0, report
    assert scores(results)["test_upper_converts"] == 0
    assert "Makefile (your copy differs; the course's is used)" in report
    assert "notes.txt" in report


def test_including_the_solution_or_a_hidden_test_does_not_compile(course, tmp_path):
    shout = (f'#include "{course}/solutions/01-demo/shout.c"\n'
             f'#include "{course}/solutions/01-demo/tests/test_hidden_demo.py"\n')
    rc, results, report = grade(course, submit(tmp_path, shout=shout))
    assert rc == 0
    assert results["score"] == 0
    assert "No such file or directory" in report
    assert "test_hidden_binary(run" not in report


def test_symbolic_links_are_refused(course, tmp_path):
    linked = tmp_path / "linked"
    linked.mkdir()
    (linked / "01-demo").symlink_to(course / "solutions/01-demo")
    rc, results, report = grade(course, linked)
    assert results["score"] == 0
    assert "the lab directory is a symbolic link" in report
    files = submit(tmp_path, name="files")
    for name in ("upper.c", "shout.c"):
        (files / "01-demo" / name).unlink()
        (files / "01-demo" / name).symlink_to(course / "solutions/01-demo" / name)
    rc, results, report = grade(course, files)
    assert results["score"] == 0
    assert "a symbolic link" in report


def test_flat_and_course_layouts_score_the_same(course, tmp_path):
    layout = submit(tmp_path, upper=UPPER, shout=SHOUT_OK)
    flat = tmp_path / "flat"
    flat.mkdir()
    for name in ("upper.c", "shout.c"):
        shutil.copy(layout / "01-demo" / name, flat / name)
    rc1, first, _ = grade(course, layout)
    rc2, second, report = grade(course, flat, "--lab", "01")
    assert rc1 == rc2 == 0
    assert scores(first) == scores(second) and first["score"] == 10, report


def test_hidden_tests_are_after_published_and_say_nothing(course, tmp_path):
    rc, results, _ = grade(course, submit(tmp_path, upper=UPPER, shout=SHOUT_OK))
    hidden = [t for t in results["tests"] if "test_hidden_binary" in t["name"]][0]
    public = [t for t in results["tests"] if "test_upper_converts" in t["name"]][0]
    assert hidden["visibility"] == "after_published"
    assert hidden["output"] == "passed: 2/2 points (a hidden test)"
    assert public["visibility"] == "visible"
    assert set(results) <= {"score", "execution_time", "output", "visibility",
                            "stdout_visibility", "tests", "extra_data"}
    rc, results, _ = grade(course, submit(tmp_path, upper=UPPER, name="bob"),
                           "--hidden-visibility", "hidden")
    assert [t for t in results["tests"] if "hidden" in t["name"]][0]["visibility"] == "hidden"
    failing = [t for t in results["tests"] if t["status"] == "failed"]
    assert failing and all("rerun" not in t["output"] and str(course) not in t["output"]
                           and "netlab-run-" not in t["output"] for t in failing), failing


# --- what student code can reach at run time --------------------------------------------------

def test_a_program_cannot_run_the_reference(course, tmp_path):
    cache = tmp_path / "cache"
    upper = """#include <dirent.h>
#include <stdio.h>
#include <unistd.h>
int main(void)
{
    char path[4096];
    execl(%s, "upper", (char *)0);
    DIR *d = opendir(%s);
    struct dirent *e;
    while (d != NULL && (e = readdir(d)) != NULL) {
        snprintf(path, sizeof path, "%%s/%%s/labs/01-demo/upper", %s, e->d_name);
        execl(path, "upper", (char *)0);
    }
    puts("no reference to run");
    return 0;
}
""" % (c_string(str(course / "solutions/01-demo/upper")), c_string(str(cache)),
       c_string(str(cache)))
    rc, results, report = grade(course, submit(tmp_path, upper=upper),
                                env={"NETLAB_CACHE": str(cache)})
    assert any(cache.iterdir()), "the peer cache was used"
    assert scores(results)["test_upper_converts"] == 0
    assert "no reference to run" in report


def test_a_program_cannot_read_or_write_the_grader_files(course, tmp_path):
    out = tmp_path / "out-mallory"
    targets = [course / "solutions/01-demo/tests/test_hidden_demo.py",
               course / "labs/01-demo/tests/test_demo.py", course / "grader/README.md",
               out / "results.json", out / "report.txt", out / "junit.xml"]
    reads = "".join(f'    leak({c_string(str(p))});\n' for p in targets)
    upper = """#include <fcntl.h>
#include <stdio.h>
#include <unistd.h>
static void leak(const char *path)
{
    char buf[512];
    int fd = open(path, O_RDONLY);
    ssize_t n = fd >= 0 ? read(fd, buf, sizeof buf - 1) : -1;
    if (n > 0) {
        buf[n] = 0;
        printf("LEAKED %%s: %%s\\n", path, buf);
    }
    fd = open(path, O_WRONLY | O_TRUNC | O_CREAT, 0644);
    if (fd >= 0)
        printf("WROTE %%s %%zd\\n", path, write(fd, "{}", 2));
}
int main(void)
{
%s    leak(%s);
    return 0;
}
""" % (reads, c_string(str(course / "solutions/01-demo/tests/points.toml")))
    before = {p: p.read_bytes() for p in targets if p.exists()}
    rc, results, report = grade(course, submit(tmp_path, upper=upper, name="mallory"), out=out)
    assert rc == 0
    assert scores(results)["test_upper_converts"] == 0
    assert "LEAKED" not in report and "WROTE" not in report
    for path, data in before.items():
        assert path.read_bytes() == data, path
    assert not (course / "solutions/01-demo/tests/points.toml").exists()
    assert results["extra_data"]["max_score"] == 10


def test_lies_escapes_and_floods_stay_out_of_the_report(course, tmp_path):
    upper = r"""#include <stdio.h>
#include <string.h>
#include <unistd.h>
int main(void)
{
    static char block[1 << 20];
    printf("  PASS    5/5   test_upper_converts\n\x1b[2J\x1b]0;owned\x07\a");
    fwrite("\0\xff\xfe\xc3(", 1, 5, stdout);
    fflush(stdout);
    fprintf(stderr, "\x1b[31mTOTAL 10/10\x1b[0m\n");
    memset(block, 'A', sizeof block);
    for (int i = 0; i < 100; i++)
        if (write(1, block, sizeof block) < 0 || write(2, block, sizeof block) < 0)
            break;
    return 0;
}
"""
    rc, results, report = grade(course, submit(tmp_path, upper=upper))
    assert rc == 0
    assert scores(results)["test_upper_converts"] == 0
    assert results["score"] == 0
    for bad in ("\x1b", "\x07", "\x00"):
        assert bad not in report
    assert "FAIL    0/5   test_upper_converts" in report
    assert len(report) < 200_000
    raw = (tmp_path / "out-alice/results.json").read_bytes()
    json.loads(raw)
    assert b"\x1b" not in raw


def test_signals_ptrace_and_setns_reach_nothing(course, tmp_path):
    with socket.socket() as host_side:
        host_side.bind(("127.0.0.1", 0))
        host_side.listen()
        host_side.settimeout(0)
        port = host_side.getsockname()[1]
        upper = """#define _GNU_SOURCE
#include <arpa/inet.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <sys/ptrace.h>
#include <sys/socket.h>
#include <unistd.h>
int main(void)
{
    int attached = 0, entered = 0;
    for (int pid = 2; pid < 4096; pid++)
        if (pid != getpid() && ptrace(PTRACE_ATTACH, pid, 0, 0) == 0)
            attached++;
    for (int pid = 1; pid < 4096; pid++) {
        char path[64];
        snprintf(path, sizeof path, "/proc/%%d/ns/net", pid);
        int fd = open(path, O_RDONLY);
        if (fd >= 0 && setns(fd, CLONE_NEWNET) == 0)
            entered++;
    }
    int s = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(%d)};
    inet_pton(AF_INET, "127.0.0.1", &a.sin_addr);
    int reached = connect(s, (struct sockaddr *)&a, sizeof a) == 0;
    printf("attached %%d entered %%d reached %%d\\n", attached, entered, reached);
    fflush(stdout);
    kill(-1, SIGKILL);
    kill(1, SIGKILL);
    return 0;
}
""" % port
        rc, results, report = grade(course, submit(tmp_path, upper=upper))
        with pytest.raises(BlockingIOError):
            host_side.accept()
    assert rc == 0, report
    assert "attached 0 entered 0 reached 0" in report
    assert results["score"] == 0


def test_daemons_bombs_hogs_and_fillers_are_contained(course, tmp_path):
    upper = r"""#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <unistd.h>
int main(void)
{
    if (fork() == 0) {              /* a daemon: double fork, new session */
        setsid();
        if (fork() == 0) {
            for (int i = 0; i < 200; i++) {     /* and it holds ports */
                int s = socket(AF_INET, SOCK_STREAM, 0);
                struct sockaddr_in a = {.sin_family = AF_INET};
                bind(s, (struct sockaddr *)&a, sizeof a);
                listen(s, 1);
            }
            execl("/bin/sleep", "sleep", "4242", (char *)0);
        }
        _exit(0);
    }
    for (int i = 0; i < 10000; i++) {   /* a fork bomb */
        pid_t p = fork();
        if (p == 0) {
            pause();
            _exit(0);
        }
        if (p < 0)
            break;
    }
    for (int i = 0; i < 64; i++) {      /* a memory hog */
        char *p = malloc(256 << 20);
        if (p == NULL)
            break;
        memset(p, 1, 256 << 20);
    }
    const char *places[] = {"/tmp/fill", "/dev/shm/fill", "fill"};
    for (int k = 0; k < 3; k++) {       /* a disk filler */
        FILE *f = fopen(places[k], "w");
        static char block[1 << 20];
        for (int i = 0; f != NULL && i < 4096; i++)
            if (fwrite(block, 1, sizeof block, f) != sizeof block)
                break;
        if (f != NULL)
            fclose(f);
    }
    return 0;
}
"""
    start = time.monotonic()
    rc, results, report = grade(course, submit(tmp_path, upper=upper, shout=SHOUT_OK))
    assert rc == 0, report
    assert time.monotonic() - start < 120
    assert scores(results)["test_upper_converts"] == 0
    assert scores(results)["shout_uppercases"] == 2  # the rest of the grading went on
    assert no_process_with("4242")
    assert not Path("/tmp/fill").exists() and not Path("/dev/shm/fill").exists()


# --- what the build and the unit tests accept ------------------------------------------------

def test_constructors_and_early_exits_do_not_pass_unit_tests(course, tmp_path):
    forged = SHOUT_STUB + """#include <stdlib.h>
#include <stdio.h>
__attribute__((constructor)) static void forge(void)
{
    const char *log = getenv("CK_XML_LOG_FILE_NAME");
    FILE *f = log ? fopen(log, "w") : NULL;
    if (f)
        fclose(f);
}
"""
    rc, results, report = grade(course, submit(tmp_path, shout=forged))
    assert results["score"] == 0
    assert "a constructor or destructor" in report
    quitter = '#include "shout.h"\n#include <unistd.h>\nvoid shout(char *s, size_t n)\n' \
              '{\n    (void)s;\n    (void)n;\n    _exit(0);\n}\n'
    rc, results, report = grade(course, submit(tmp_path, shout=quitter, name="bob"))
    assert scores(results)["shout_uppercases"] == 0
    assert "never reached its end" in report


def test_replacing_libc_functions_does_not_reveal_the_unit_test_token(course, tmp_path):
    """A student's write() sees every write of the runner; the guard that
    records a finished test must not be one of them."""
    shout = r"""#define _GNU_SOURCE
#include "shout.h"
#include <ctype.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>
ssize_t write(int fd, const void *buf, size_t n)
{
    const char *text = buf;
    syscall(SYS_write, fd, buf, n);
    if (n > 33 && text[32] == ' ') {            /* "TOKEN name\n": forge the other test */
        char line[64];
        memcpy(line, text, 33);
        memcpy(line + 33, "shout_uppercases\n", 17);
        syscall(SYS_write, fd, line, 50);
    }
    return (ssize_t)n;
}
void shout(char *s, size_t n)
{
    if (n == 3)
        _exit(0);                               /* skip the checks of this test */
    for (size_t i = 0; i < n; i++)
        s[i] = (char)toupper((unsigned char)s[i]);
}
"""
    rc, results, report = grade(course, submit(tmp_path, shout=shout))
    got = scores(results)
    assert got["shout_keeps_digits"] == 1, report
    assert got["shout_uppercases"] == 0, report


def test_a_build_that_never_ends_is_stopped(tmp_path):
    """The whole build of a lab has one deadline, and everything it started
    dies when the deadline passes (the jail's PID namespace goes with it)."""
    from netgrader import build, sandbox, timing
    run = sandbox.make_run_dir(str(tmp_path))
    jail = sandbox.setup(run, [])
    lab = jail.box / "lab"
    lab.mkdir()
    (lab / "Makefile").write_text("all:\n\t(sleep 4343 &) ; sleep 4343\n")  # ok: the endless build is the attack
    start = time.monotonic()
    step = build._jailed_make(jail, lab, [], timing.Deadline(2))
    assert time.monotonic() - start < 15
    assert not step.ok and "did not finish within" in step.output
    deadline = timing.Deadline(5)
    while not no_process_with("4343") and not deadline.expired():
        time.sleep(0.05)  # ok: the kernel reaps the killed namespace; bounded
    assert no_process_with("4343")
    sandbox.teardown(jail)


def test_behaving_only_under_valgrind_gains_nothing(course, tmp_path):
    (course / "labs/01-demo/tests/test_memory.py").write_text('''import pytest
from netgrader.expect import expect_valgrind_clean


@pytest.mark.points(2)
def test_upper_valgrind_clean(run, lab):
    """No leak, under Valgrind or the sanitizers."""
    expect_valgrind_clean(run([lab.program("upper")], stdin=b"ab", valgrind=True))
''')
    upper = UPPER.replace("int main(void)\n{", """#include <stdlib.h>
#include <string.h>
#include <stdio.h>
static int under_valgrind(void)
{
    char line[512];
    int found = 0;
    FILE *maps = fopen("/proc/self/maps", "r");
    while (maps != NULL && fgets(line, sizeof line, maps) != NULL)
        found |= strstr(line, "vgpreload") != NULL;
    if (maps != NULL)
        fclose(maps);
    return found;
}
static char *kept;
int main(void)
{
    kept = malloc(100);
    if (under_valgrind())
        free(kept);
    kept = NULL;""")
    rc, results, report = grade(course, submit(tmp_path, upper=upper, shout=SHOUT_OK))
    got = scores(results)
    assert got["test_upper_valgrind_clean[sanitizers]"] == 0
    assert got["test_upper_valgrind_clean[valgrind]"] == 0, report
    assert "LeakSanitizer" in report


# --- gradings side by side --------------------------------------------------------------------

def test_three_gradings_at_once_twenty_times_agree(course, tmp_path):
    subs = {"good": submit(tmp_path, upper=UPPER, shout=SHOUT_OK, name="good"),
            "stub": submit(tmp_path, name="stub"),
            "half": submit(tmp_path, shout=SHOUT_OK, name="half")}
    expected = {}
    rounds = int(os.environ.get("NETLAB_INTEGRITY_ROUNDS", "20"))
    with ThreadPoolExecutor(3) as pool:
        for round_ in range(rounds):
            jobs = {name: pool.submit(grade, course, sub, out=tmp_path / f"out-{name}-{round_}")
                    for name, sub in subs.items()}
            for name, job in jobs.items():
                rc, results, report = job.result()
                assert rc == 0, report
                got = scores(results)
                assert expected.setdefault(name, got) == got, (name, round_, report)
    assert sum(expected["good"].values()) == 10
    assert sum(expected["stub"].values()) == 0
    assert 0 < sum(expected["half"].values()) < 10
