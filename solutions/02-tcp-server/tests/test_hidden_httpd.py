"""Lab 02, hidden tests: corners the handout states but the public tests do
not show."""
import os

import pytest

from netgrader.expect import Mismatch, expect_bytes
from netgrader.httpclient import get, http_request


def serve(start_server, lab, tmp_path):
    www = tmp_path / "www"
    www.mkdir()
    (www / "a.txt").write_bytes(b"a\n")
    (tmp_path / "secret.txt").write_bytes(b"secret\n")
    return start_server([lab.program("httpd"), "-p", "0", "-r", www])


@pytest.mark.points(2)
@pytest.mark.milestone("files")
@pytest.mark.needs("test_httpd_serves_a_file")
def test_httpd_query_string_is_not_part_of_the_path(lab, tmp_path, start_server, journal):
    """/a.txt?x=../../secret.txt serves a.txt: the query is not the path."""
    server = serve(start_server, lab, tmp_path)
    r = http_request(server.port, get("/a.txt?x=1&y=../../secret.txt"), journal)
    expect_bytes(r.body, b"a\n", "the body of /a.txt?x=1&y=../../secret.txt")


@pytest.mark.points(2)
@pytest.mark.milestone("files")
@pytest.mark.needs("test_httpd_serves_a_file")
def test_httpd_head_of_an_error(lab, tmp_path, start_server, journal):
    """HEAD of a missing file: 404, the page's Content-Length, and no body."""
    server = serve(start_server, lab, tmp_path)
    full = http_request(server.port, get("/nope"), journal)
    r = http_request(server.port, get("/nope", method="HEAD"), journal)
    if (r.status, r.headers.get("content-length")) != (404, str(len(full.body))):
        raise Mismatch("the answer to HEAD /nope", f"404 with Content-Length {len(full.body)}",
                       f"{r.status} with Content-Length {r.headers.get('content-length')}")
    expect_bytes(r.body, b"", "the body of a HEAD answer", "HEAD never has a body, errors included.")


@pytest.mark.points(2)
@pytest.mark.milestone("robustness")
@pytest.mark.needs("test_httpd_serves_a_file")
def test_httpd_log_cannot_be_forged(lab, tmp_path, start_server, journal):
    """A request line with control bytes is 400, and the log line escapes them."""
    server = serve(start_server, lab, tmp_path)
    http_request(server.port, b"GET /a\x1b[31m\rfake 200 HTTP/1.0\r\n\r\n", journal)
    server.stop()
    log = server.err_path.read_bytes()
    if b"\x1b" in log or b"\rfake" in log:
        raise Mismatch("the access log", "control bytes of the request escaped (\\x1b)",
                       repr(log[-300:]), "The request line is the client's: escape what is not "
                       "printable before logging it.")
    if b" 400 " not in log:
        raise Mismatch("the access log", "a line with status 400", repr(log[-300:]))
