"""RESP2 request encoding, checked against hiredis's own parser."""

from __future__ import annotations

import hiredis

from kubegateway.protocol.resp import encode_command, encode_commands


def _parse_all(raw: bytes) -> list[object]:
    reader = hiredis.Reader()
    reader.feed(raw)
    parsed = []
    while (item := reader.gets()) is not False:
        parsed.append(item)
    return parsed


def test_command_is_array_of_bulk_strings() -> None:
    assert encode_command([b"SET", b"k", b"v"]) == (
        b"*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$1\r\nv\r\n"
    )


def test_binary_argument_round_trips() -> None:
    value = b"\r\n\x00\xff$*"
    assert _parse_all(encode_command([b"SET", value])) == [[b"SET", value]]


def test_empty_argument_round_trips() -> None:
    assert _parse_all(encode_command([b"SET", b"k", b""])) == [[b"SET", b"k", b""]]


def test_unicode_length_counts_bytes() -> None:
    assert encode_command(["🫶".encode()]) == b"*1\r\n$4\r\n\xf0\x9f\xab\xb6\r\n"


def test_commands_are_written_back_to_back() -> None:
    commands = [[b"MULTI"], [b"INCR", b"n"], [b"EXEC"]]
    assert _parse_all(encode_commands(commands)) == commands
