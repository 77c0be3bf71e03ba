"""Lab 02, httpd: a concurrent static HTTP/1.0 file server, against scripted
clients that misbehave on purpose and real ones (lab 01's httpget, curl,
Python's http.client, wrk)."""
import email.utils
import hashlib
import os
import re
import signal
import socket
import threading
import time

import pytest

from netgrader import timing
from netgrader.expect import Mismatch, expect_bytes, expect_exit, expect_stderr_line, \
    expect_valgrind_clean
from netgrader.httpclient import connect, get, http_request, parse_response, read_to_eof
from netgrader.peers import send_in_pieces

SECRET = b"TOP SECRET: never to be served\n"
TYPES = {"index.html": "text/html", "a.txt": "text/plain", "style.css": "text/css",
         "app.js": "text/javascript", "data.json": "application/json", "img.png": "image/png",
         "pic.jpg": "image/jpeg", "anim.gif": "image/gif", "logo.svg": "image/svg+xml",
         "doc.pdf": "application/pdf", "blob.bin": "application/octet-stream",
         "README": "application/octet-stream"}
READ_WHOLE_REQUEST_HINT = ("TCP is a byte stream: one read() may hold part of the request. "
                           "Keep reading until the empty line that ends the head.")


def make_docroot(tmp_path):
    """tmp/www with a file of each type, sub/ with an index, empty/ without,
    symlinks pointing out, and tmp/secret.txt beside it (never served)."""
    www = tmp_path / "www"
    (www / "sub").mkdir(parents=True)
    (www / "empty").mkdir()
    files = {}
    for name in TYPES:
        files[name] = f"<{name}>\n".encode() if name != "blob.bin" else os.urandom(64 * 1024)
        (www / name).write_bytes(files[name])
    (www / "sub" / "index.html").write_bytes(b"<p>sub</p>\n")
    (www / "a b.txt").write_bytes(b"spaced\n")
    (tmp_path / "secret.txt").write_bytes(SECRET)
    (www / "link-out").symlink_to(tmp_path / "secret.txt")
    (www / "dir-out").symlink_to(tmp_path)
    return www, files


def start(start_server, lab, www, *args, **kwargs):
    return start_server([lab.program("httpd"), "-p", "0", "-r", www, *args], **kwargs)


def expect_status(response, status, what):
    if response.status != status:
        raise Mismatch(what, f"status {status}", f"{response.status} {response.reason!r}",
                       "The status line is `HTTP/1.0 CODE REASON`; see the handout's table.")


def expect_header(response, name, expected, what):
    got = response.headers.get(name.lower())
    if got != expected:
        raise Mismatch(f"the {name} header of {what}", repr(expected),
                       repr(got) if got is not None else "no such header")


def expect_error_page(response, status, what):
    """An error: the status, an HTML body, and a Content-Length that fits it."""
    expect_status(response, status, what)
    expect_header(response, "Content-Type", "text/html", what)
    expect_header(response, "Content-Length", str(len(response.body)), what)
    if str(status).encode() not in response.body:
        raise Mismatch(f"the body of {what}", f"a small HTML page that names {status}",
                       repr(response.body[:120]))


def fetch(server, path, journal, **kwargs):
    return http_request(server.port, get(path), journal, **kwargs)


@pytest.mark.points(2)
@pytest.mark.milestone("files")
@pytest.mark.needs("test_httpd_serves_a_file")
def test_httpd_usage(run, lab, tmp_path, start_server, journal):
    """Bad options exit 2 with a usage line, a missing docroot exits 1; good ones serve."""
    www, files = make_docroot(tmp_path)
    for argv in (["-x"], ["-p", "70000"], ["-p", "http"], ["-t", "0"], ["-c", "0"], ["extra"]):
        result = run([lab.program("httpd"), *argv],
                     label=f"httpd {' '.join(map(str, argv)) or '(no arguments)'}"[:100])
        expect_exit(result, 2, hint="A bad option or value: message, usage line, exit 2.")
        expect_stderr_line(result, "usage")
    result = run([lab.program("httpd"), "-p", "0", "-r", tmp_path / "missing"])
    expect_exit(result, 1, hint="A document root that does not exist: say so, exit 1.")
    expect_stderr_line(result, "document root", "missing",
                       hint="Name the directory and give strerror(errno): `httpd: document "
                       "root DIR: No such file or directory`.")
    server = start(start_server, lab, www)
    expect_bytes(fetch(server, "/a.txt", journal).body, files["a.txt"], "the body of /a.txt")


@pytest.mark.points(3)
@pytest.mark.milestone("files")
def test_httpd_serves_a_file(lab, tmp_path, start_server, journal):
    """GET of a file: status line, every required header, the exact body, then close."""
    www, files = make_docroot(tmp_path)
    server = start(start_server, lab, www)
    r = fetch(server, "/index.html", journal)
    what = "the answer to GET /index.html"
    if (r.version, r.status, r.reason) != ("HTTP/1.0", 200, "OK"):
        raise Mismatch(f"the status line of {what}", "'HTTP/1.0 200 OK'",
                       repr(f"{r.version} {r.status} {r.reason}"))
    expect_header(r, "Content-Type", "text/html", what)
    expect_header(r, "Content-Length", str(len(files["index.html"])), what)
    expect_header(r, "Connection", "close", what)
    if not r.headers.get("server"):
        raise Mismatch(f"the headers of {what}", "a Server header", repr(r.header_lines))
    date = email.utils.parsedate_to_datetime(r.headers["date"]) if "date" in r.headers else None
    if date is None or not r.headers["date"].endswith(" GMT"):
        raise Mismatch(f"the Date header of {what}", "like 'Sun, 06 Nov 1994 08:49:37 GMT'",
                       repr(r.headers.get("date")), "Format with gmtime_r; always GMT.")
    expect_bytes(r.body, files["index.html"], f"the body of {what}")
    r = fetch(server, "/a%20b.txt", journal)
    expect_bytes(r.body, b"spaced\n", "the body of /a%20b.txt (a percent-encoded space)")


@pytest.mark.points(1)
@pytest.mark.milestone("files")
@pytest.mark.needs("test_httpd_serves_a_file")
def test_httpd_date_is_gmt_whatever_the_time_zone(lab, tmp_path, start_server, journal):
    """With TZ set to another zone (UTC+05:30), the Date header still gives the time in GMT."""
    www, files = make_docroot(tmp_path)
    server = start(start_server, lab, www, env={"TZ": "<+0530>-5:30"})
    journal.step("the server runs with TZ=<+0530>-5:30 (five and a half hours east of GMT)")
    before = time.time()
    r = fetch(server, "/a.txt", journal)
    after = time.time()
    expect_bytes(r.body, files["a.txt"], "control: the body of GET /a.txt")
    try:
        date = email.utils.parsedate_to_datetime(r.headers["date"]).timestamp()
    except (KeyError, TypeError, ValueError):
        date = None
    # The true time lies between before and after: whatever the machine's
    # load, a GMT Date is within a second of that interval, a local one
    # hours away from it.
    if date is None or not before - 1 <= date <= after + 1:
        got = r.headers.get("date")
        raise Mismatch("the Date header with TZ set to UTC+05:30", "the current time in GMT, "
                       f"{email.utils.formatdate(before, usegmt=True)!r} or so", repr(got),
                       "Convert with gmtime_r, never localtime: the server's time zone must "
                       "not change what it says is GMT.")


@pytest.mark.points(1)
@pytest.mark.milestone("files")
@pytest.mark.needs("test_httpd_serves_a_file")
def test_httpd_http11_request(lab, tmp_path, start_server, journal):
    """An HTTP/1.1 request is answered as HTTP/1.0, Connection: close, and closed."""
    www, files = make_docroot(tmp_path)
    server = start(start_server, lab, www)
    r = http_request(server.port, get("/a.txt", version="1.1"), journal)
    expect_status(r, 200, "the answer to an HTTP/1.1 GET")
    if r.version != "HTTP/1.0":
        raise Mismatch("the version in the status line", "HTTP/1.0", r.version)
    expect_header(r, "Connection", "close", "the answer to an HTTP/1.1 GET")
    expect_bytes(r.body, files["a.txt"], "the body")


@pytest.mark.points(2)
@pytest.mark.milestone("files")
@pytest.mark.needs("test_httpd_serves_a_file")
def test_httpd_head(lab, tmp_path, start_server, journal):
    """HEAD: the same headers as GET, Content-Length included, and no body."""
    www, files = make_docroot(tmp_path)
    server = start(start_server, lab, www)
    r = http_request(server.port, get("/blob.bin", method="HEAD"), journal)
    expect_status(r, 200, "the answer to HEAD /blob.bin")
    expect_header(r, "Content-Length", str(len(files["blob.bin"])), "the answer to HEAD")
    expect_header(r, "Content-Type", "application/octet-stream", "the answer to HEAD")
    expect_bytes(r.body, b"", "the body of a HEAD answer", "HEAD sends the head only.")


@pytest.mark.points(2)
@pytest.mark.milestone("files")
@pytest.mark.needs("test_httpd_serves_a_file")
def test_httpd_content_types(lab, tmp_path, start_server, journal):
    """Content-Type from the extension, for every type in the handout."""
    www, _ = make_docroot(tmp_path)
    server = start(start_server, lab, www)
    for name, mime in TYPES.items():
        expect_header(fetch(server, f"/{name}", journal), "Content-Type", mime,
                      f"the answer to GET /{name}")


def digest(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


@pytest.mark.points(3)
@pytest.mark.milestone("files")
@pytest.mark.needs("test_httpd_serves_a_file")
def test_httpd_large_binary_file(run, lab, tmp_path, start_server):
    """A 32 MiB binary file reaches curl byte for byte (same SHA-256)."""
    www, _ = make_docroot(tmp_path)
    data = os.urandom(1 << 20) * 32
    (www / "big.bin").write_bytes(data)
    server = start(start_server, lab, www)
    out = tmp_path / "got.bin"
    result = run(["curl", "-sS", "-o", out, "-w", "%{http_code}",
                  f"http://127.0.0.1:{server.port}/big.bin"], timeout=30)
    expect_exit(result, 0, hint="curl could not fetch the file: see its message below.")
    expect_bytes(result.stdout, b"200", "the status curl saw")
    got = out.read_bytes()
    if digest(got) != digest(data):
        raise Mismatch("the 32 MiB file curl received", f"{len(data)} bytes, SHA-256 {digest(data)}",
                       f"{len(got)} bytes, SHA-256 {digest(got)}",
                       "Send every byte: sendfile and write may send less than asked; loop.")


@pytest.mark.points(2)
@pytest.mark.milestone("files")
@pytest.mark.needs("test_httpd_serves_a_file")
def test_httpd_directory_index(lab, tmp_path, start_server, journal):
    """A directory serves its index.html; one without is 403."""
    www, files = make_docroot(tmp_path)
    server = start(start_server, lab, www)
    expect_bytes(fetch(server, "/", journal).body, files["index.html"], "the body of GET /")
    expect_bytes(fetch(server, "/sub/", journal).body, b"<p>sub</p>\n", "the body of GET /sub/")
    expect_error_page(fetch(server, "/empty/", journal), 403, "the answer to GET /empty/")


@pytest.mark.points(2)
@pytest.mark.milestone("files")
@pytest.mark.needs("test_httpd_serves_a_file")
def test_httpd_not_found(lab, tmp_path, start_server, journal):
    """A missing file is 404 with a small HTML page; an existing one still 200."""
    www, files = make_docroot(tmp_path)
    server = start(start_server, lab, www)
    expect_bytes(fetch(server, "/a.txt", journal).body, files["a.txt"], "control: GET /a.txt")
    expect_error_page(fetch(server, "/nope.html", journal), 404, "the answer to GET /nope.html")
    expect_error_page(fetch(server, "/sub/nope", journal), 404, "the answer to GET /sub/nope")


TRAVERSALS = ["/../secret.txt", "/%2e%2e/secret.txt", "/%2E%2E%2Fsecret.txt", "/..%2fsecret.txt",
              "/sub/../../secret.txt", "/sub/%2e%2e/%2e%2e/secret.txt", "//../secret.txt",
              "/./../secret.txt", "/link-out", "/dir-out/secret.txt", "/dir-out%2fsecret.txt",
              "/%2e%2e%2f%2e%2e%2f%2e%2e%2fetc/passwd", "/secret.txt%00.html", "/..",
              "/%2e%2e"]


@pytest.mark.points(4)
@pytest.mark.milestone("safety")
@pytest.mark.needs("test_httpd_serves_a_file")
def test_httpd_refuses_traversal(lab, tmp_path, start_server, journal):
    """Every spelling of a way out of the docroot gets 400, 403 or 404, never the file."""
    www, files = make_docroot(tmp_path)
    server = start(start_server, lab, www)
    expect_bytes(fetch(server, "/a.txt", journal).body, files["a.txt"], "control: GET /a.txt")
    for target in TRAVERSALS:
        r = fetch(server, target, journal)
        if r.status not in (400, 403, 404) or SECRET in r.body or b"root:" in r.body:
            raise Mismatch(f"the answer to GET {target}", "400, 403 or 404, and not the file",
                           f"{r.status} with {len(r.body)} bytes of body",
                           "Decode the path first, refuse '..' segments, then realpath() and "
                           "check that the result is inside the root (on a '/' boundary).")


@pytest.mark.points(1)
@pytest.mark.milestone("safety")
@pytest.mark.needs("test_httpd_serves_a_file")
def test_httpd_unreadable_file(lab, tmp_path, start_server, journal):
    """A file the server may not read is 403."""
    www, files = make_docroot(tmp_path)
    (www / "locked.txt").write_bytes(b"locked\n")
    (www / "locked.txt").chmod(0)
    # Root reads everything: drop the two capabilities that let it.
    wrap = ["setpriv", "--inh-caps=-dac_override,-dac_read_search",
            "--bounding-set=-dac_override,-dac_read_search"] if os.geteuid() == 0 else []
    server = start_server([*wrap, lab.program("httpd"), "-p", "0", "-r", www])
    expect_bytes(fetch(server, "/a.txt", journal).body, files["a.txt"], "control: GET /a.txt")
    expect_error_page(fetch(server, "/locked.txt", journal), 403, "the answer for a mode-000 file")


ERROR_CASES = [
    (b"GARBAGE\r\n\r\n", 400, "a request line without target and version"),
    (b"GET /a.txt\r\n\r\n", 400, "an HTTP/0.9-style request line"),
    (b"GET a.txt HTTP/1.0\r\n\r\n", 400, "a target that does not start with /"),
    (b"GET /a.txt HTTP/1.0\r\nNo colon\r\n\r\n", 400, "a header line without a colon"),
    (b"GET /a%zz HTTP/1.0\r\n\r\n", 400, "a malformed percent escape"),
    (b"POST /a.txt HTTP/1.0\r\nContent-Length: 0\r\n\r\n", 501, "POST"),
    (b"DELETE /a.txt HTTP/1.1\r\nHost: h\r\n\r\n", 501, "DELETE"),
    (b"GET /a.txt HTTP/2.0\r\n\r\n", 505, "HTTP/2.0"),
    (b"GET /" + b"a" * 9000 + b" HTTP/1.0\r\n\r\n", 414, "a 9000-byte request line"),
    (b"GET /a.txt HTTP/1.0\r\n" + (b"X-Pad: " + b"p" * 1000 + b"\r\n") * 20 + b"\r\n", 431,
     "20 KB of headers"),
]


@pytest.mark.points(4)
@pytest.mark.milestone("safety")
@pytest.mark.needs("test_httpd_serves_a_file")
def test_httpd_error_statuses(lab, tmp_path, start_server, journal):
    """400, 501, 505, 414 and 431, each with an HTML page; a good request still works."""
    www, files = make_docroot(tmp_path)
    server = start(start_server, lab, www)
    r = http_request(server.port, get("/a.txt", headers=[("X-Pad", "p" * 1000)] * 8), journal)
    expect_bytes(r.body, files["a.txt"], "control: GET /a.txt with 8 KB of headers")
    for request, status, what in ERROR_CASES:
        expect_error_page(http_request(server.port, request, journal), status,
                          f"the answer to {what}")


@pytest.mark.points(2)
@pytest.mark.milestone("concurrency")
@pytest.mark.needs("test_httpd_serves_a_file")
def test_httpd_request_one_byte_at_a_time(lab, tmp_path, start_server, journal):
    """The request arrives one byte per segment; the answer is the same."""
    www, files = make_docroot(tmp_path)
    server = start(start_server, lab, www)
    request = get("/blob.bin", version="1.1", headers=[("Accept", "*/*")])
    r = http_request(server.port, request, journal, chunk=1)
    expect_status(r, 200, "the answer to a request sent byte by byte")
    expect_bytes(r.body, files["blob.bin"], "the body", READ_WHOLE_REQUEST_HINT)


def concurrent_gets(port, path, count, journal):
    """count connections opened first, then all requests sent, then all
    answers read: a server that serves one at a time still passes, but only
    one that reads each request as it comes serves them all."""
    socks = [connect(port) for _ in range(count)]
    journal.step(f"opened {count} connections to port {port}")
    answers = [None] * count
    errors = []

    def one(i):
        try:
            with socks[i]:
                send_in_pieces(socks[i], get(path))
                answers[i] = parse_response(read_to_eof(socks[i], 30))
        except Exception as exc:  # reported below, with the connection's number
            errors.append((i, exc))

    threads = [threading.Thread(target=one, args=(i,)) for i in range(count)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timing.scaled(40))
    journal.step(f"sent GET {path} on each and read the answers: {len(errors)} failed")
    if errors:
        i, exc = errors[0]
        raise Mismatch(f"connection {i} of {count} concurrent clients", "a complete answer",
                       f"{type(exc).__name__}: {exc}", "Serve each connection in its own "
                       "thread (or process): one slow client must not hold up the others.")
    return answers


@pytest.mark.points(3)
@pytest.mark.milestone("concurrency")
@pytest.mark.needs("test_httpd_serves_a_file")
def test_httpd_concurrent_clients(lab, tmp_path, start_server, journal):
    """50 clients at once, each gets the whole 64 KiB file."""
    www, files = make_docroot(tmp_path)
    server = start(start_server, lab, www)
    for i, r in enumerate(concurrent_gets(server.port, "/blob.bin", 50, journal)):
        expect_status(r, 200, f"the answer to client {i}")
        expect_bytes(r.body, files["blob.bin"], f"the body client {i} received")


def still_open_and_silent(sock) -> bool:
    """Nothing to read and no end of file: the server has neither answered
    nor closed."""
    sock.setblocking(False)
    try:
        sock.recv(1)  # data, or b"" for end of file
        return False
    except BlockingIOError:
        return True
    except OSError:
        return False
    finally:
        sock.setblocking(True)


@pytest.mark.points(2)
@pytest.mark.milestone("concurrency")
@pytest.mark.needs("test_httpd_serves_a_file")
def test_httpd_idle_client(lab, tmp_path, start_server, journal):
    """A client that sends nothing delays nobody, and is dropped after -t seconds."""
    www, files = make_docroot(tmp_path)
    server = start(start_server, lab, www, "-t", "30")
    with connect(server.port) as idle:
        journal.step("an idle client connected and sent nothing")
        for _ in range(5):
            expect_bytes(fetch(server, "/a.txt", journal).body, files["a.txt"],
                         "the body of GET /a.txt while an idle client is connected")
        if not still_open_and_silent(idle):
            raise Mismatch("the idle connection while others were served", "still open (-t 30)",
                           "closed", "Drop an idle client only after IDLE_SECONDS.")
    short = start(start_server, lab, www, "-t", "1")
    with connect(short.port) as idle:
        idle.sendall(b"GET /a.txt HTTP/1.0\r\n")  # half a request, then silence
        journal.step("a client sent half a request, then nothing, to a server with -t 1")
        try:
            raw = read_to_eof(idle, timeout=10)
        except TimeoutError:
            raise Mismatch("a client idle for 10 s with -t 1", "the server closes the connection "
                           "(a 408 answer first is fine)", "it was still open",
                           "Wait for the request with poll() and a deadline, not a bare "
                           "read().") from None
    if raw:
        expect_error_page(parse_response(raw), 408, "the answer to an idle client")


@pytest.mark.points(1)
@pytest.mark.milestone("concurrency")
@pytest.mark.needs("test_httpd_idle_client")
def test_httpd_idle_deadline_is_per_request(lab, tmp_path, start_server, journal):
    """-t is one deadline for the whole head: a client that trickles a byte at a time is still cut."""
    www, files = make_docroot(tmp_path)
    server = start(start_server, lab, www, "-t", "1")
    expect_bytes(fetch(server, "/a.txt", journal).body, files["a.txt"], "control: GET /a.txt")
    request = b"GET /a.txt HTTP/1.0\r\nX-Slow: " + b"x" * 200
    with connect(server.port) as slow:
        journal.step("a client sends a request one byte at a time, each within 0.3 s of the "
                     "last, and never ends its head, to a server with -t 1")
        for sent, byte in enumerate(request, 1):
            try:
                slow.sendall(bytes([byte]))
            except OSError:  # the server has cut it
                break
            slow.settimeout(0.3)  # the pace of the trickle: an answer ends it sooner
            try:
                slow.recv(1, socket.MSG_PEEK)  # an answer (408) or the close
                break
            except TimeoutError:
                continue
            except OSError:
                break
        else:
            raise Mismatch("a client trickling its head to a server with -t 1",
                           "cut (408, or closed) about a second after it connected",
                           f"still served after {len(request)} bytes over "
                           f"{len(request) * 0.3:.0f} s",
                           "IDLE_SECONDS bounds the whole head from accept on: compute one "
                           "deadline when the connection arrives and poll() with what is left "
                           "of it, not with IDLE_SECONDS again before every read.")
        journal.step(f"the server cut the client after {sent} bytes")


@pytest.mark.points(2)
@pytest.mark.milestone("concurrency")
@pytest.mark.needs("test_httpd_connection_limit")
def test_httpd_stuck_reader_gives_back_its_slot(lab, tmp_path, start_server, journal):
    """With -c 1 -t 1, a client that stops reading a large answer is cut, and its slot comes back."""
    www, files = make_docroot(tmp_path)
    (www / "big.bin").write_bytes(os.urandom(1 << 20) * 32)
    server = start(start_server, lab, www, "-c", "1", "-t", "1")
    expect_bytes(fetch(server, "/a.txt", journal).body, files["a.txt"], "control: GET /a.txt")
    baseline = server.open_fds()
    stuck = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    with stuck:
        stuck.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        stuck.settimeout(timing.scaled(10))
        stuck.connect(("127.0.0.1", server.port))
        stuck.sendall(get("/big.bin"))
        stuck.recv(1, socket.MSG_PEEK)  # the answer has begun (peeking takes nothing)
        journal.step("a client asked for a 32 MiB file, saw its answer begin, and reads none of it")
        if not timing.wait_until(lambda: server.open_fds() <= baseline, 15):
            raise Mismatch("the connection of a client that stopped reading, with -t 1",
                           "cut after about a second without progress (its socket closed)",
                           f"still open after 15 s ({server.open_fds()} descriptors, "
                           f"{baseline} before)",
                           "A send() to a client that reads nothing blocks forever: set "
                           "SO_SNDTIMEO (IDLE_SECONDS) on the socket, and end the connection "
                           "when send fails with EAGAIN.")
        journal.step("the server closed the stuck client's connection")
        r = fetch(server, "/a.txt", journal)
        expect_status(r, 200, "the answer to the next client, once the stuck one was cut (-c 1)")
        expect_bytes(r.body, files["a.txt"], "the body for the next client")


@pytest.mark.points(2)
@pytest.mark.milestone("concurrency")
@pytest.mark.needs("test_httpd_serves_a_file")
def test_httpd_connection_limit(lab, tmp_path, start_server, journal):
    """With -c 2, a third client gets 503 at once; when one leaves, the next is served."""
    www, files = make_docroot(tmp_path)
    server = start(start_server, lab, www, "-c", "2", "-t", "30")
    first, second = connect(server.port), connect(server.port)
    with first, second:
        for s in (first, second):
            s.sendall(b"GET /a.txt HTTP/1.0\r\n")  # incomplete: the server waits
        journal.step("two clients sent half a request each")
        # The 503 comes without reading a request: this client sends none.
        with connect(server.port) as third:
            r = parse_response(read_to_eof(third), "the answer to a third client")
        journal.step(f"a third client connected and received {r.status} {r.reason}")
        expect_error_page(r, 503, "the answer to a third client with -c 2")
        first.sendall(b"\r\n")
        r = parse_response(read_to_eof(first))
        journal.step("the first client finished its request and read the answer")
        expect_bytes(r.body, files["a.txt"], "the first client's body")
        expect_bytes(fetch(server, "/a.txt", journal).body, files["a.txt"],
                     "the body for a client arriving once a slot is free",
                     "A finished connection must give its slot back.")


def wait_fds(server, expected: int, what: str) -> None:
    if not timing.wait_until(lambda: server.open_fds() <= expected, 10):
        raise Mismatch(what, f"{expected} open descriptors (as before)",
                       f"{server.open_fds()} open", "Close the connection's socket and the "
                       "file on every path: errors, aborted clients, HEAD, 404.")


def abort_mid_body(port, path, journal, keep=100_000):
    """Request path, read `keep` bytes of the answer, then reset."""
    with connect(port) as sock:
        sock.sendall(get(path))
        got = 0
        while got < keep:
            chunk = sock.recv(65536)
            if not chunk:
                break
            got += len(chunk)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
    journal.step(f"a client read {got} bytes of {path} and reset the connection")


@pytest.mark.points(2)
@pytest.mark.milestone("robustness")
@pytest.mark.needs("test_httpd_serves_a_file")
def test_httpd_client_closes_mid_body(lab, tmp_path, start_server, journal):
    """Clients that reset mid-transfer cost nothing: no death, no leaked descriptor."""
    www, files = make_docroot(tmp_path)
    (www / "big.bin").write_bytes(os.urandom(1 << 20) * 16)
    server = start(start_server, lab, www)
    expect_bytes(fetch(server, "/a.txt", journal).body, files["a.txt"], "control: GET /a.txt")
    baseline = server.open_fds()
    for _ in range(5):
        abort_mid_body(server.port, "/big.bin", journal)
    if not server.alive():
        raise Mismatch("the server after clients reset mid-body", "still running",
                       "it died", "Ignore SIGPIPE (or send with MSG_NOSIGNAL): EPIPE is an "
                       "error to handle, not a reason to die.")
    wait_fds(server, baseline, "descriptors after 5 aborted transfers")
    expect_bytes(fetch(server, "/a.txt", journal).body, files["a.txt"], "GET /a.txt afterwards")


@pytest.mark.points(2)
@pytest.mark.milestone("files")
@pytest.mark.needs("test_httpd_serves_a_file")
def test_httpd_restart_on_same_port(lab, tmp_path, start_server, journal):
    """Stopped right after traffic, the server starts again on the same port at once."""
    www, files = make_docroot(tmp_path)
    server = start(start_server, lab, www)
    port = server.port
    for _ in range(20):
        fetch(server, "/a.txt", journal)
    server.stop()
    journal.step(f"restarting on port {port}: the server's closed connections are in TIME_WAIT")
    again = start_server([lab.program("httpd"), "-p", str(port), "-r", www])
    if again.port != port:
        raise Mismatch("the port after a restart", str(port), str(again.port))
    expect_bytes(fetch(again, "/a.txt", journal).body, files["a.txt"], "GET /a.txt after the "
                 "restart", "Set SO_REUSEADDR before bind.")


@pytest.mark.points(2)
@pytest.mark.milestone("robustness")
@pytest.mark.needs("test_httpd_connection_limit")
def test_httpd_rejections_leak_nothing(lab, tmp_path, start_server, journal):
    """With -c 1 and one client served, 50 more get 503 and leave no descriptor behind."""
    www, files = make_docroot(tmp_path)
    server = start(start_server, lab, www, "-c", "1", "-t", "30")
    expect_bytes(fetch(server, "/a.txt", journal).body, files["a.txt"], "control: GET /a.txt")
    with connect(server.port) as holder:
        holder.sendall(b"GET /a.txt HTTP/1.0\r\n")  # incomplete: it keeps the only slot
        journal.step("one client holds the only slot with half a request")
        with connect(server.port) as second:
            r = parse_response(read_to_eof(second), "the answer to a second client")
        expect_error_page(r, 503, "the answer to a second client with -c 1")
        baseline = server.open_fds()
        for _ in range(50):
            with connect(server.port) as extra:
                read_to_eof(extra)
        journal.step("50 more clients connected and read their 503")
        wait_fds(server, baseline, "descriptors after 50 clients turned away with 503")
        holder.sendall(b"\r\n")
        r = parse_response(read_to_eof(holder), "the answer to the client holding the slot")
        expect_bytes(r.body, files["a.txt"], "the body for the client holding the slot")


@pytest.mark.points(2)
@pytest.mark.milestone("robustness")
@pytest.mark.needs("test_httpd_serves_a_file")
def test_httpd_descriptors_stable_after_1000_requests(lab, tmp_path, start_server, journal):
    """1,000 requests of every kind (200, HEAD, 404, 403, 400, aborted) leak nothing."""
    www, _ = make_docroot(tmp_path)
    server = start(start_server, lab, www)
    fetch(server, "/a.txt", journal)
    baseline = server.open_fds()
    kinds = [get("/a.txt"), get("/blob.bin", method="HEAD"), get("/nope"), get("/empty/"),
             b"BAD\r\n\r\n", get("/sub/")]
    for i in range(1000):
        if i % 100 == 99:
            with connect(server.port) as s:
                s.sendall(b"GET /a.txt")  # leaves mid-request
            continue
        with connect(server.port) as s:
            s.sendall(kinds[i % len(kinds)])
            read_to_eof(s)
    journal.step("sent 1,000 requests, one per connection, of six kinds plus 10 abandoned")
    wait_fds(server, baseline, "descriptors after 1,000 requests")


LOG_LINE = re.compile(r'^(\S+) "(.*)" (\d{3}) (\d+)$')


@pytest.mark.points(2)
@pytest.mark.milestone("robustness")
@pytest.mark.needs("test_httpd_serves_a_file")
def test_httpd_access_log(lab, tmp_path, start_server, journal):
    """One line per request on stderr: peer, request line, status, body bytes."""
    www, files = make_docroot(tmp_path)
    server = start(start_server, lab, www)
    fetch(server, "/a.txt", journal)
    missing = fetch(server, "/nope", journal)
    http_request(server.port, b"GET /a.txt HTTP/9.9\r\n\r\n", journal)
    server.stop()
    lines = [line for line in server.stderr_text().splitlines() if line.strip()]
    expected = [("GET /a.txt HTTP/1.0", "200", str(len(files["a.txt"]))),
                ("GET /nope HTTP/1.0", "404", str(len(missing.body))),
                ("GET /a.txt HTTP/9.9", "505", None)]
    got = []
    for line in lines:
        m = LOG_LINE.match(line)
        if m and m.group(1).startswith("127.0.0.1:"):
            got.append((m.group(2), m.group(3), m.group(4)))
    shown = "\n".join(lines[:6]) or "nothing"
    for (request, status, size), (g_request, g_status, g_size) in zip(expected, got + [("",) * 3] * 3):
        if (request, status) != (g_request, g_status) or (size and size != g_size):
            raise Mismatch("the access log on stderr",
                           f'a line like 127.0.0.1:PORT "{request}" {status} {size or "N"}',
                           shown, 'One line per request: PEER "REQUEST LINE" STATUS BYTES, '
                           'an IPv4 peer without its ::ffff: prefix (127.0.0.1:PORT).')


@pytest.mark.points(3)
@pytest.mark.milestone("robustness")
@pytest.mark.needs("test_httpd_serves_a_file")
def test_httpd_sigterm_finishes_in_flight(lab, tmp_path, start_server, journal):
    """SIGTERM during a download: the download completes, then the server exits 0."""
    www, _ = make_docroot(tmp_path)
    data = os.urandom(1 << 20) * 16
    (www / "big.bin").write_bytes(data)
    server = start(start_server, lab, www)
    with connect(server.port, timeout=20) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 64 * 1024)
        sock.sendall(get("/big.bin"))
        first = sock.recv(65536)
        os.kill(server.pid, signal.SIGTERM)
        journal.step("the client read the first bytes, then the server got SIGTERM")
        rest = read_to_eof(sock, timeout=20)
    r = parse_response(first + rest)
    expect_bytes(r.body, data, "the download in flight when SIGTERM came",
                 "On SIGTERM stop accepting, but let the connections in flight finish.")
    server.stop()


@pytest.mark.points(3)
@pytest.mark.milestone("robustness")
@pytest.mark.needs("test_httpd_serves_a_file")
def test_httpd_valgrind_clean(lab, tmp_path, start_server, journal):
    """Under Valgrind, after requests of every kind and SIGTERM: no errors, leaks or descriptors."""
    www, files = make_docroot(tmp_path)
    server = start(start_server, lab, www, valgrind=True)
    expect_bytes(fetch(server, "/a.txt", journal, timeout=30).body, files["a.txt"], "GET /a.txt")
    for request in (get("/nope"), get("/blob.bin", method="HEAD"), b"BAD\r\n\r\n",
                    get("/../secret.txt")):
        http_request(server.port, request, journal, timeout=30)
    abort_mid_body(server.port, "/blob.bin", journal, keep=1000)
    server.stop(timeout=30)
    expect_valgrind_clean(server, "valgrind after SIGTERM")


@pytest.mark.points(2)
@pytest.mark.milestone("robustness")
@pytest.mark.needs("test_httpd_serves_a_file")
def test_httpget_against_httpd(run, lab, tmp_path, start_server):
    """Lab 01's reference httpget downloads a 1 MiB file and gets a 404."""
    www, _ = make_docroot(tmp_path)
    data = os.urandom(1 << 20)
    (www / "mid.bin").write_bytes(data)
    server = start(start_server, lab, www)
    httpget = lab.reference("httpget", lab="01-tcp-client")
    result = run([httpget, f"http://127.0.0.1:{server.port}/mid.bin"], timeout=20)
    expect_exit(result, 0)
    expect_bytes(result.stdout, data, "what httpget downloaded")
    result = run([httpget, f"http://127.0.0.1:{server.port}/nope"])
    expect_exit(result, 1)
    expect_stderr_line(result, "server returned 404 Not Found")


@pytest.mark.points(2)
@pytest.mark.milestone("robustness")
@pytest.mark.needs("test_httpd_serves_a_file")
def test_curl_against_httpd(run, lab, tmp_path, start_server):
    """curl: a file over IPv4 and IPv6, HEAD with -I, and a 404."""
    www, files = make_docroot(tmp_path)
    server = start(start_server, lab, www)
    for host in ("127.0.0.1", "[::1]"):
        result = run(["curl", "-sS", "-w", "\n%{http_code}", f"http://{host}:{server.port}/data.json"])
        expect_exit(result, 0)
        expect_bytes(result.stdout, files["data.json"] + b"\n200", f"curl's output over {host}")
    result = run(["curl", "-sS", "-I", f"http://127.0.0.1:{server.port}/blob.bin"])
    expect_exit(result, 0)
    if f"content-length: {len(files['blob.bin'])}" not in result.stdout_text.lower():
        raise Mismatch("curl -I", f"Content-Length: {len(files['blob.bin'])}",
                       result.stdout_text[:300])
    result = run(["curl", "-sS", "-o", "/dev/null", "-w", "%{http_code}",
                  f"http://127.0.0.1:{server.port}/nope"])
    expect_bytes(result.stdout, b"404", "the status curl saw for /nope")


@pytest.mark.points(1)
@pytest.mark.milestone("robustness")
@pytest.mark.needs("test_httpd_serves_a_file")
def test_python_http_client_against_httpd(lab, tmp_path, start_server, journal):
    """Python's http.client reads a file and its headers."""
    import http.client
    www, files = make_docroot(tmp_path)
    server = start(start_server, lab, www)
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=timing.scaled(10))
    try:
        conn.request("GET", "/style.css")
        resp = conn.getresponse()
        body = resp.read()
    finally:
        conn.close()
    journal.step(f"http.client: GET /style.css -> {resp.status}, {len(body)} bytes")
    if (resp.status, resp.getheader("Content-Type")) != (200, "text/css"):
        raise Mismatch("http.client's view", "200 and text/css",
                       f"{resp.status} and {resp.getheader('Content-Type')}")
    expect_bytes(body, files["style.css"], "the body http.client read")


@pytest.mark.points(2)
@pytest.mark.milestone("robustness")
@pytest.mark.needs("test_httpd_serves_a_file")
def test_wrk_short_run(run, lab, tmp_path, start_server):
    """wrk, 2 threads and 20 connections for 1 s with Connection: close: zero errors."""
    www, _ = make_docroot(tmp_path)
    server = start(start_server, lab, www)
    result = run(["wrk", "-t2", "-c20", "-d1s", "-H", "Connection: close",
                  f"http://127.0.0.1:{server.port}/a.txt"], timeout=30)
    expect_exit(result, 0)
    text = result.stdout_text
    m = re.search(r"(\d+) requests in", text)
    if not m or int(m.group(1)) == 0 or "Socket errors" in text or "Non-2xx" in text:
        raise Mismatch("wrk's report", "requests completed, no socket errors, no non-2xx answers",
                       text.strip()[-600:], "Every connection gets a whole answer and a close.")


# Robust I/O: the main scenarios again, with httpd's socket calls made to
# behave as on a real network (grader/README.md, "Fault injection").
ROBUST_HINT = ("Under fault injection a read() may return a single byte of the request, "
               "accept() may fail with EAGAIN or EINTR, and a write may be short: loop and "
               "retry (see `faults:` below).")


@pytest.mark.points(2)
@pytest.mark.milestone("robustness")
@pytest.mark.needs("test_httpd_serves_a_file")
def test_httpd_robust_io_serves_files(lab, tmp_path, faults, journal):
    """Every read of a request returns 1 to 64 bytes, every send 1 to 64: each file still comes whole."""
    www, files = make_docroot(tmp_path)
    server = start(faults(kinds=("short", "eintr", "eagain", "shortwrite"), rate=100).start_server,
                   lab, www)
    for name in ("index.html", "blob.bin", "data.json"):
        r = fetch(server, f"/{name}", journal)
        expect_status(r, 200, f"the answer to GET /{name} under fault injection")
        expect_bytes(r.body, files[name], f"the body of /{name}", ROBUST_HINT)
    server.stop()


@pytest.mark.points(2)
@pytest.mark.milestone("robustness")
@pytest.mark.needs("test_httpd_concurrent_clients")
def test_httpd_robust_io_concurrent(lab, tmp_path, faults, journal):
    """20 clients at once while reads, accepts and waits fail or come up short."""
    www, files = make_docroot(tmp_path)
    server = start(faults(rate=30).start_server, lab, www)
    for i, r in enumerate(concurrent_gets(server.port, "/blob.bin", 20, journal)):
        expect_status(r, 200, f"the answer to client {i} under fault injection")
        expect_bytes(r.body, files["blob.bin"], f"the body client {i} received", ROBUST_HINT)
    server.stop()


@pytest.mark.points(1)
@pytest.mark.milestone("robustness")
@pytest.mark.needs("test_httpd_request_one_byte_at_a_time", "test_httpd_error_statuses")
def test_httpd_robust_io_errors_byte_by_byte(lab, tmp_path, faults, journal):
    """Error requests trickled a byte at a time under faults: the same statuses."""
    www, _ = make_docroot(tmp_path)
    server = start(faults(rate=50).start_server, lab, www)
    for request, status, what in ERROR_CASES[5:8]:
        expect_error_page(http_request(server.port, request, journal, chunk=1), status,
                          f"the answer to {what}, sent byte by byte under fault injection")
    server.stop()
