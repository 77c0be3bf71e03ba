"""Failure messages: where byte streams differ, and what the student sees."""
import pytest

from netgrader.checkc import parse_check_file
from netgrader.expect import Mismatch, byte_diff, expect_bytes, first_difference


def test_first_difference_in_large_streams():
    a = bytes(1_000_000)
    b = bytearray(a)
    b[777_777] = 1
    assert first_difference(bytes(b), a) == 777_777
    assert first_difference(a[:10], a) == 10
    assert first_difference(a, a) is None


def test_byte_diff_puts_the_caret_under_the_first_difference():
    text = byte_diff(b"hello wurld", b"hello world")
    lines = text.splitlines()
    assert lines[0].startswith("first difference at byte 7")
    caret = lines[3].index("^^")
    # the caret sits under the differing byte's hex pair in both excerpts
    assert lines[1][caret:caret + 2] == "6f" and lines[2][caret:caret + 2] == "75"


def test_byte_diff_says_when_the_stream_ends_early():
    assert "ends here" in byte_diff(b"abc", b"abcdef")
    assert "extra bytes" in byte_diff(b"abcdefgh", b"abcdef")


def test_expect_bytes_raises_a_mismatch_with_both_sides():
    with pytest.raises(Mismatch) as err:
        expect_bytes(b"x" * 100, b"y" * 100, "stdout", "hint text")
    assert "100 bytes" in err.value.expected and err.value.hint == "hint text"
    assert "first difference at byte 0" in err.value.detail


def test_check_file_points_are_read_from_the_line_above():
    source = """
// points: 3
START_TEST(url_parses_host)
{ }
END_TEST

START_TEST(url_without_points) { } END_TEST
"""
    assert parse_check_file(source) == [("url_parses_host", 3, 3), ("url_without_points", None, 7)]
