"""Lab 01, hidden tests: limits and corner cases the handout states but the
public tests do not show."""
import pytest

from netgrader.expect import Mismatch, expect_bytes, expect_exit, expect_stderr_line
from netgrader.services import http_handler, http_response

BODY = b"the body\n"


def serve(scripted_server, reply):
    server = scripted_server(http_handler(reply), timeout=8)
    return f"http://127.0.0.1:{server.port}/"


@pytest.mark.points(2)
@pytest.mark.milestone("servers")
@pytest.mark.needs("test_httpget_sends_request_and_prints_body")
def test_httpget_header_too_large(run, lab, scripted_server):
    """More than 64 KiB of response head is refused; a long but legal head is fine."""
    legal = http_response(body=BODY, headers=[("X-Pad", "a" * 1000)] * 50)  # ~50 KiB
    result = run([lab.program("httpget"), serve(scripted_server, legal)])
    expect_exit(result, 0)
    expect_bytes(result.stdout, BODY, "the body after a 50 KiB head")
    huge = http_response(body=BODY, headers=[("X-Pad", "a" * 1000)] * 80)  # ~80 KiB
    result = run([lab.program("httpget"), serve(scripted_server, huge)])
    expect_exit(result, 1, hint="Bound the head: stop at 64 KiB instead of growing forever.")
    expect_stderr_line(result, "too large")


@pytest.mark.points(2)
@pytest.mark.milestone("timeouts")
@pytest.mark.needs("test_httpget_sends_request_and_prints_body")
def test_httpget_too_many_redirects(run, lab, scripted_server):
    """Five redirects are followed; a sixth is an error."""
    def chain(hops):
        def handler(conn):
            head = conn.recv_until(b"\r\n\r\n")
            n = int(head.split(b" ")[1].strip(b"/") or b"0")
            if n < hops:
                conn.send(http_response(302, "Found", headers=[("Location", f"/{n + 1}")]))
            else:
                conn.send(http_response(body=BODY))
        return handler

    ok = scripted_server(chain(5), timeout=8)
    result = run([lab.program("httpget"), "-L", f"http://127.0.0.1:{ok.port}/0"])
    expect_exit(result, 0)
    expect_bytes(result.stdout, BODY, "the body after five redirects")
    loop = scripted_server(chain(6), timeout=8)
    result = run([lab.program("httpget"), "-L", f"http://127.0.0.1:{loop.port}/0"])
    expect_exit(result, 1)
    expect_stderr_line(result, "redirects")


@pytest.mark.points(1)
@pytest.mark.milestone("body")
@pytest.mark.needs("test_httpget_sends_request_and_prints_body")
def test_httpget_stops_at_content_length(run, lab, scripted_server):
    """Bytes after Content-Length are not body, and mixed CRLF/LF heads parse."""
    reply = (b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\nContent-Length: 9\r\n\n"
             + BODY + b"TRAILING GARBAGE")
    result = run([lab.program("httpget"), serve(scripted_server, reply)])
    expect_exit(result, 0)
    if result.stdout != BODY:
        raise Mismatch("the body", repr(BODY), repr(result.stdout[:60]),
                       "Write exactly Content-Length bytes, then stop.")
