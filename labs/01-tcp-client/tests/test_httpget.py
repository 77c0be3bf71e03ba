"""Lab 01, httpget: an HTTP/1.0 client, against scripted servers that
misbehave on purpose and against real ones (Python's http.server, nginx)."""
import os
import socket

import pytest

from netgrader.expect import Mismatch, expect_bytes, expect_exit, expect_stderr_line, expect_valgrind_clean
from netgrader import timing
from netgrader.services import http_handler, http_response

BODY = b"<html><body>Hello from the test server</body></html>\n"
READ_ALL_HINT = ("TCP is a byte stream: one read() may return part of the header or body. "
                 "Keep reading until you have what you need, or until read() returns 0.")


def serve(scripted_server, reply, family=socket.AF_INET, chunk=None, answer=True, requests=None):
    requests = [] if requests is None else requests
    server = scripted_server(http_handler(reply, requests, chunk=chunk, answer=answer),
                             family=family, timeout=8)
    host = f"[{server.host}]" if family == socket.AF_INET6 else server.host
    return server, f"http://{host}:{server.port}", requests


def fetch_ok(run, lab, url, expected, *args, what="the body httpget wrote to stdout", timeout=15):
    result = run([lab.program("httpget"), *args, url], timeout=timeout)
    expect_exit(result, 0)
    expect_bytes(result.stdout, expected, what, READ_ALL_HINT)
    return result


@pytest.mark.points(2)
@pytest.mark.milestone("request")
@pytest.mark.needs("test_httpget_sends_request_and_prints_body")
def test_httpget_usage(run, lab, scripted_server):
    """Bad command lines exit 2 with a usage line; a good one works."""
    for argv in ([], ["-x", "http://127.0.0.1/"], ["ftp://127.0.0.1/"], ["http://[::1/"],
                 ["-t", "0", "http://127.0.0.1/"], ["http://a/", "http://b/"]):
        result = run([lab.program("httpget"), *argv],
                     label=f"httpget {' '.join(map(str, argv)) or '(no arguments)'}"[:100])
        expect_exit(result, 2, hint="Unknown options, a missing or malformed URL and a bad -t "
                    "are usage errors: a message and the usage line on stderr, exit 2.")
        expect_stderr_line(result, "usage")
    _, url, _ = serve(scripted_server, http_response(body=BODY))
    fetch_ok(run, lab, url + "/", BODY)


@pytest.mark.points(4)
@pytest.mark.milestone("request")
def test_httpget_sends_request_and_prints_body(run, lab, scripted_server):
    """GET PATH HTTP/1.0 with a Host header; the body goes to stdout exactly."""
    server, url, requests = serve(scripted_server, http_response(body=BODY))
    fetch_ok(run, lab, url + "/dir/page.html?q=1", BODY)
    server.check()
    head = requests[0].decode("latin-1")
    lines = head.split("\r\n")
    if lines[0] != "GET /dir/page.html?q=1 HTTP/1.0":
        raise Mismatch("the request line httpget sent", "'GET /dir/page.html?q=1 HTTP/1.0'",
                       repr(lines[0]), "Request line: method, the path with its query, HTTP/1.0, CRLF.")
    hosts = [line for line in lines[1:] if line.lower().startswith("host:")]
    if [h.split(":", 1)[1].strip() for h in hosts] != [f"127.0.0.1:{server.port}"]:
        raise Mismatch("the Host header", f"one 'Host: 127.0.0.1:{server.port}'",
                       repr(hosts), "HTTP/1.1 servers need Host; give the port when it is not 80.")


def docroot_with(tmp_path, name, size):
    """A directory holding one file of `size` random bytes: (directory, bytes)."""
    docroot = tmp_path / "www"
    docroot.mkdir()
    data = os.urandom(size)
    (docroot / name).write_bytes(data)
    return docroot, data


@pytest.mark.points(2)
@pytest.mark.milestone("servers")
@pytest.mark.needs("test_httpget_sends_request_and_prints_body")
def test_httpget_python_http_server(run, lab, tmp_path, python_http_server):
    """A real server (Python's http.server): a 1 MiB binary file, byte for byte."""
    docroot, data = docroot_with(tmp_path, "blob.bin", 1 << 20)
    server = python_http_server(docroot)
    fetch_ok(run, lab, f"http://127.0.0.1:{server.port}/blob.bin", data)


@pytest.mark.points(2)
@pytest.mark.milestone("servers")
@pytest.mark.needs("test_httpget_sends_request_and_prints_body")
def test_httpget_nginx(run, lab, tmp_path, nginx_server):
    """A real server (nginx): a 4 MiB file, then its 404 for a missing one."""
    docroot, data = docroot_with(tmp_path, "big.bin", 4 << 20)
    server = nginx_server(docroot)
    fetch_ok(run, lab, f"http://127.0.0.1:{server.port}/big.bin", data)
    result = run([lab.program("httpget"), f"http://127.0.0.1:{server.port}/missing"])
    expect_exit(result, 1)
    expect_stderr_line(result, "server returned 404 Not Found")


@pytest.mark.points(2)
@pytest.mark.milestone("servers")
@pytest.mark.needs("test_httpget_sends_request_and_prints_body")
def test_httpget_trickled_response(run, lab, scripted_server):
    """The response arrives one byte per segment."""
    _, url, _ = serve(scripted_server, http_response(body=BODY), chunk=1)
    fetch_ok(run, lab, url + "/", BODY)


@pytest.mark.points(2)
@pytest.mark.milestone("servers")
@pytest.mark.needs("test_httpget_sends_request_and_prints_body")
def test_httpget_bare_lf_headers(run, lab, scripted_server):
    """Header lines ending in a bare LF are accepted."""
    _, url, _ = serve(scripted_server, http_response(body=BODY, eol=b"\n"))
    fetch_ok(run, lab, url + "/", BODY)


@pytest.mark.points(2)
@pytest.mark.milestone("body")
@pytest.mark.needs("test_httpget_sends_request_and_prints_body")
def test_httpget_no_content_length(run, lab, scripted_server):
    """Without Content-Length the body runs until the server closes."""
    body = os.urandom(300_000)
    _, url, _ = serve(scripted_server, http_response(body=body, content_length=False))
    fetch_ok(run, lab, url + "/", body)


@pytest.mark.points(2)
@pytest.mark.milestone("body")
@pytest.mark.needs("test_httpget_sends_request_and_prints_body")
def test_httpget_truncated_body(run, lab, scripted_server, tmp_path):
    """A body shorter than its Content-Length is an error, and -o leaves no file."""
    body = os.urandom(10_000)
    downloads = tmp_path / "downloads"
    downloads.mkdir()
    _, url, _ = serve(scripted_server, http_response(body=body))
    result = run([lab.program("httpget"), "-o", str(downloads / "whole.bin"), url + "/"])
    expect_exit(result, 0)
    whole = downloads / "whole.bin"
    expect_bytes(whole.read_bytes() if whole.exists() else b"", body,
                 "control: the file written with -o for a complete body")
    reply = http_response(body=body)[:-4000]  # the server closes 4000 bytes early
    _, url, _ = serve(scripted_server, reply)
    result = run([lab.program("httpget"), "-o", str(downloads / "cut.bin"), url + "/"])
    expect_exit(result, 1, hint="Count the body bytes: EOF before Content-Length bytes is an error.")
    expect_stderr_line(result, "truncated")
    left = sorted(p.name for p in downloads.iterdir() if p.name != "whole.bin")
    if left:
        raise Mismatch("files left after a truncated download", "none (write to a temporary "
                       "file and rename it only when the whole body arrived)", ", ".join(left),
                       "On failure unlink the temporary file.")


@pytest.mark.points(2)
@pytest.mark.milestone("body")
@pytest.mark.needs("test_httpget_sends_request_and_prints_body")
def test_httpget_error_status(run, lab, scripted_server):
    """404 and 500 exit 1 with `server returned CODE REASON`; nothing on stdout."""
    for status, reason in ((404, "Not Found"), (500, "Internal Server Error")):
        _, url, _ = serve(scripted_server, http_response(status, reason, body=b"error page\n"))
        result = run([lab.program("httpget"), url + "/x"])
        expect_exit(result, 1)
        expect_stderr_line(result, f"server returned {status} {reason}")
        if result.stdout:
            raise Mismatch("stdout after an error status", "nothing", repr(result.stdout[:80]),
                           "Only a 2xx body is written out.")
    _, url, _ = serve(scripted_server, http_response(201, "Created", body=BODY))
    fetch_ok(run, lab, url + "/", BODY, what="control: the body of a 201 Created")


def answers_and_stays(reply: bytes):
    """Reads the request, sends reply and keeps the connection open until
    the client closes it (or the peer's deadline passes)."""
    def handler(conn):
        conn.recv_until(b"\r\n\r\n", limit=64 * 1024)
        conn.send(reply)
        conn.journal.step(f"{conn.name} keeps the connection open")
        try:
            conn.recv_to_eof()
        except (TimeoutError, OSError):
            pass
    return handler


@pytest.mark.points(1)
@pytest.mark.milestone("body")
@pytest.mark.needs("test_httpget_sends_request_and_prints_body")
def test_httpget_content_length_without_close(run, lab, scripted_server):
    """After Content-Length bytes httpget is done, even if the server keeps the connection open."""
    body = os.urandom(50_000)
    server = scripted_server(answers_and_stays(http_response(body=body)), timeout=20)
    result = run([lab.program("httpget"), f"http://127.0.0.1:{server.port}/"], timeout=8)
    expect_exit(result, 0, hint="With Content-Length, stop reading once you have that many "
                "body bytes: a server may keep the connection open (keep-alive, a proxy), "
                "and waiting for its close hangs.")
    expect_bytes(result.stdout, body, "the body httpget wrote to stdout", READ_ALL_HINT)


def previous_download(tmp_path):
    downloads = tmp_path / "downloads"
    downloads.mkdir()
    return downloads, downloads / "page.html"


@pytest.mark.points(1)
@pytest.mark.milestone("body")
@pytest.mark.needs("test_httpget_output_file")
def test_httpget_failed_download_keeps_old_file(run, lab, scripted_server, tmp_path):
    """-o FILE over an existing FILE: a download replaces it; a failed one leaves it as it was."""
    downloads, out = previous_download(tmp_path)
    out.write_bytes(b"an older version\n" * 1000)
    _, url, _ = serve(scripted_server, http_response(body=BODY))
    result = run([lab.program("httpget"), "-o", str(out), url + "/"])
    expect_exit(result, 0)
    expect_bytes(out.read_bytes(), BODY, "FILE after a download over an existing FILE")
    hint = ("Write the body to a temporary file beside FILE and rename() it over FILE only "
            "once the whole body has arrived; on failure unlink the temporary file. "
            "Opening FILE itself with O_TRUNC destroys it before you know the download works.")
    body = os.urandom(20_000)
    for what, reply in (("a truncated body", http_response(body=body)[:-5000]),
                        ("a 404", http_response(404, "Not Found", body=b"gone\n"))):
        _, url, _ = serve(scripted_server, reply)
        result = run([lab.program("httpget"), "-o", str(out), url + "/"])
        expect_exit(result, 1)
        expect_bytes(out.read_bytes() if out.exists() else b"", BODY,
                     f"FILE after {what}: the previous download, untouched", hint)
        left = sorted(p.name for p in downloads.iterdir() if p != out)
        if left:
            raise Mismatch(f"files beside FILE after {what}", "none", ", ".join(left), hint)


@pytest.mark.points(2)
@pytest.mark.milestone("servers")
@pytest.mark.needs("test_httpget_sends_request_and_prints_body")
def test_httpget_garbage_response(run, lab, scripted_server):
    """A response that is not HTTP is a protocol error (exit 1, `malformed`)."""
    for reply in (b"HELLO THERE\r\n\r\n", b"HTTP/1.0 2x0 OK\r\n\r\n", b"HTTP/1.0 200 OK\r\nno colon\r\n\r\n"):
        _, url, _ = serve(scripted_server, reply)
        result = run([lab.program("httpget"), url + "/"])
        expect_exit(result, 1)
        expect_stderr_line(result, "malformed", hint="Check the status line's shape: "
                           "HTTP/1.x, a space, three digits.")


@pytest.mark.points(2)
@pytest.mark.milestone("timeouts")
@pytest.mark.needs("test_httpget_sends_request_and_prints_body")
def test_httpget_timeout(run, lab, scripted_server):
    """-t bounds the wait: a silent server gives `timed out`, exit 1."""
    _, url, _ = serve(scripted_server, http_response(body=BODY))
    fetch_ok(run, lab, url + "/", BODY, "-t", "1")
    server, url, _ = serve(scripted_server, b"", answer=False)
    result = run([lab.program("httpget"), "-t", "1", url + "/"], timeout=8)
    expect_exit(result, 1, hint="Wait for data with poll() and a timeout, not a bare read().")
    expect_stderr_line(result, "timed out")


def silent_port():
    """A listening socket whose accept queue is full: the kernel drops
    further SYNs, so a connect to its port neither succeeds nor fails, it
    waits (as for an address where nobody answers). Returns (listener,
    fillers, port); close them all."""
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.bind(("127.0.0.1", 0))
    listener.listen(0)
    port = listener.getsockname()[1]
    fillers = []
    for _ in range(16):  # the queue holds one or two; a deadline on each try
        c = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        fillers.append(c)
        # On loopback the kernel completes a handshake within connect() itself;
        # a dropped SYN is only sent again after a second.
        c.settimeout(timing.scaled(0.1))
        try:
            c.connect(("127.0.0.1", port))
        except (TimeoutError, socket.timeout):
            return listener, fillers, port
    for c in fillers:
        c.close()
    listener.close()
    raise RuntimeError("could not fill the accept queue of a listening socket")


@pytest.mark.points(1)
@pytest.mark.milestone("timeouts")
@pytest.mark.needs("test_httpget_timeout")
def test_httpget_connect_timeout(run, lab):
    """-t bounds the connect too: an address that never answers gives `timed out`, exit 1."""
    listener, fillers, port = silent_port()
    try:
        result = run([lab.program("httpget"), "-t", "1", f"http://127.0.0.1:{port}/"], timeout=10)
    finally:
        for c in fillers:
            c.close()
        listener.close()
    expect_exit(result, 1, hint="A blocking connect() to an address that does not answer waits "
                "for minutes: make the socket non-blocking, connect, and poll() for POLLOUT "
                "with the -t timeout, then read SO_ERROR.")
    expect_stderr_line(result, "timed out")


@pytest.mark.points(2)
@pytest.mark.milestone("body")
@pytest.mark.needs("test_httpget_sends_request_and_prints_body")
def test_httpget_output_file(run, lab, scripted_server, tmp_path):
    """-o FILE writes the body to FILE, nothing to stdout, no stray files."""
    body = os.urandom(500_000)
    _, url, _ = serve(scripted_server, http_response(body=body))
    downloads = tmp_path / "downloads"
    downloads.mkdir()
    out = downloads / "download.bin"
    result = run([lab.program("httpget"), "-o", str(out), url + "/file"])
    expect_exit(result, 0)
    expect_bytes(out.read_bytes() if out.exists() else b"", body, "the contents of FILE")
    expect_bytes(result.stdout, b"", "stdout with -o")
    others = sorted(p.name for p in downloads.iterdir() if p != out)
    if others:
        raise Mismatch("files beside FILE", "none", ", ".join(others), "Rename the temporary file.")


def redirect(status, location):
    return http_response(status, {301: "Moved Permanently", 302: "Found"}[status],
                         headers=[("Location", location)], body=b"moved\n")


@pytest.mark.points(2)
@pytest.mark.milestone("timeouts")
@pytest.mark.needs("test_httpget_sends_request_and_prints_body")
def test_httpget_follows_redirects(run, lab, scripted_server):
    """-L follows an absolute and a path-only Location; without -L a 302 is an error."""
    final, final_url, _ = serve(scripted_server, http_response(body=BODY))
    _, hop2, _ = serve(scripted_server, redirect(301, f"{final_url}/end"))
    hop2_port = hop2.rsplit(":", 1)[1]
    # /first answers with a path-only Location, which must go back to the same
    # host and port; /second then sends the client to another server.
    hop1_server = scripted_server(_two_step(redirect(302, "/second"), redirect(302, f"{hop2}/third")),
                                  timeout=8)
    fetch_ok(run, lab, f"http://127.0.0.1:{hop1_server.port}/first", BODY, "-L")
    result = run([lab.program("httpget"), f"http://127.0.0.1:{hop2_port}/"])
    expect_exit(result, 1)
    expect_stderr_line(result, "server returned 301")


def _two_step(first, second):
    """A handler answering the first connection with `first`, later ones with `second`."""
    calls = []

    def handler(conn):
        conn.recv_until(b"\r\n\r\n")
        calls.append(1)
        conn.send(first if len(calls) == 1 else second)

    return handler


@pytest.mark.points(2)
@pytest.mark.milestone("timeouts")
@pytest.mark.needs("test_httpget_sends_request_and_prints_body")
def test_httpget_ipv6(run, lab, scripted_server):
    """http://[::1]:PORT/ connects over IPv6 and sends Host: [::1]:PORT."""
    server, url, requests = serve(scripted_server, http_response(body=BODY), family=socket.AF_INET6)
    fetch_ok(run, lab, url + "/", BODY)
    server.check()
    if f"host: [::1]:{server.port}\r\n".encode() not in requests[0].lower():
        raise Mismatch("the Host header for an IPv6 literal", f"Host: [::1]:{server.port}",
                       repr(requests[0][:200]), "Put an IPv6 literal back in brackets in Host.")


@pytest.mark.points(2)
@pytest.mark.milestone("valgrind")
@pytest.mark.needs("test_httpget_sends_request_and_prints_body")
def test_httpget_valgrind_clean(run, lab, scripted_server, tmp_path):
    """Under Valgrind: clean on a download to a file, on a 404 and on a truncated body."""
    body = os.urandom(200_000)
    cases = [(http_response(body=body), ["-o", str(tmp_path / "out.bin")], 0),
             (http_response(404, "Not Found", body=b"no\n"), [], 1),
             (http_response(body=body)[:-100], [], 1)]
    for reply, args, code in cases:
        _, url, _ = serve(scripted_server, reply)
        result = run([lab.program("httpget"), *args, url + "/"], valgrind=True, timeout=20)
        expect_exit(result, code)
        expect_valgrind_clean(result)


# Robust I/O: the main scenarios again, with the socket calls of httpget made
# to behave as on a real network (grader/README.md, "Fault injection").
ROBUST_HINT = ("Under fault injection a read() may return a single byte, even in the middle of "
               "the status line or a header: keep what you have read and read again (see "
               "`faults:` below, and run the `by hand:` command to watch it happen).")


# What the fault-injection library does to this lab's programs: they install
# no signal handler and use blocking sockets, so no EINTR and no EAGAIN can
# happen to them (grader/README.md, "Fault injection"): reads and writes
# come back short. Asking for exactly that keeps the report's fault header
# true to what the program saw.
LAB_FAULTS = ("short", "shortwrite")


@pytest.mark.points(2)
@pytest.mark.milestone("robust")
@pytest.mark.needs("test_httpget_sends_request_and_prints_body")
def test_httpget_robust_io_head_and_body(lab, scripted_server, faults):
    """Every read returns 1 to 64 bytes, every write sends 1 to 64: the same body comes out."""
    body = os.urandom(100_000)
    _, url, _ = serve(scripted_server, http_response(body=body, headers=[("X-Pad", "p" * 300)]))
    result = faults(kinds=LAB_FAULTS, rate=100).run(
        [lab.program("httpget"), url + "/"], timeout=15)
    expect_exit(result, 0, hint=ROBUST_HINT)
    expect_bytes(result.stdout, body, "the body httpget wrote to stdout", ROBUST_HINT)


@pytest.mark.points(2)
@pytest.mark.milestone("robust")
@pytest.mark.needs("test_httpget_nginx")
def test_httpget_robust_io_nginx(lab, tmp_path, nginx_server, faults):
    """A 4 MiB file from nginx with short reads and writes on 30 % of calls, byte for byte."""
    docroot, data = docroot_with(tmp_path, "big.bin", 4 << 20)
    server = nginx_server(docroot)
    result = faults(kinds=LAB_FAULTS).run(
        [lab.program("httpget"), f"http://127.0.0.1:{server.port}/big.bin"], timeout=20)
    expect_exit(result, 0, hint=ROBUST_HINT)
    expect_bytes(result.stdout, data, "the body httpget wrote to stdout", ROBUST_HINT)


@pytest.mark.points(1)
@pytest.mark.milestone("robust")
@pytest.mark.needs("test_httpget_output_file")
def test_httpget_robust_io_output_file(lab, scripted_server, tmp_path, faults):
    """-o FILE with every socket read and write cut to 1 to 64 bytes: FILE holds the body."""
    body = os.urandom(200_000)
    _, url, _ = serve(scripted_server, http_response(body=body))
    out = tmp_path / "download.bin"
    result = faults(kinds=LAB_FAULTS, rate=100).run(
        [lab.program("httpget"), "-o", str(out), url + "/file"], timeout=15)
    expect_exit(result, 0, hint=ROBUST_HINT)
    expect_bytes(out.read_bytes() if out.exists() else b"", body, "the contents of FILE",
                 ROBUST_HINT)
