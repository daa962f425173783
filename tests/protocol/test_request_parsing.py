"""Parsing Upstash request bodies and path-style requests into commands."""

from __future__ import annotations

import pytest

from kubegateway.errors import RequestError
from kubegateway.protocol import upstash


def test_single_command_becomes_bytes() -> None:
    assert upstash.parse_single(b'["SET","k","v"]') == [b"SET", b"k", b"v"]


def test_integer_argument_keeps_digits() -> None:
    command = upstash.parse_single(b'["INCRBY","k",9007199254740993]')
    assert command[2] == b"9007199254740993"


def test_integer_beyond_64_bits_keeps_digits() -> None:
    command = upstash.parse_single(b'["SET","k",123456789012345678901234567890]')
    assert command[2] == b"123456789012345678901234567890"


def test_decimal_argument_keeps_literal_text() -> None:
    command = upstash.parse_single(b'["INCRBYFLOAT","k",1.10]')
    assert command[2] == b"1.10"


def test_exponent_argument_keeps_literal_text() -> None:
    assert upstash.parse_single(b'["SET","k",1e3]')[2] == b"1e3"


def test_booleans_use_json_spelling() -> None:
    assert upstash.parse_single(b'["SET","k",true]')[2] == b"true"
    assert upstash.parse_single(b'["SET","k",false]')[2] == b"false"


def test_unicode_argument_is_utf8() -> None:
    assert upstash.parse_single('["SET","k","🫶"]'.encode())[2] == "🫶".encode()


def test_escaped_surrogate_pair_is_utf8() -> None:
    assert upstash.parse_single(b'["SET","k","\\ud83e\\udef6"]')[2] == "🫶".encode()


@pytest.mark.parametrize(
    "body",
    [
        b"",
        b"{}",
        b"[]",
        b"[[]]",
        b"not json",
        b"[null]",
        b"[{}]",
        b"null",
        b'"PING"',
        b'["SET","k",NaN]',
        b'["SET","k",1.5,NaN]',
        b'["SET","k",Infinity]',
    ],
    ids=repr,
)
def test_bad_single_body_raises_request_error(body: bytes) -> None:
    with pytest.raises(RequestError):
        upstash.parse_single(body)


def test_request_error_is_400() -> None:
    with pytest.raises(RequestError) as raised:
        upstash.parse_single(b"[]")
    assert raised.value.status == 400


def test_many_commands_keep_order() -> None:
    commands = upstash.parse_many(b'[["SET","k","v"],["GET","k"],["PING"]]')
    assert commands == [[b"SET", b"k", b"v"], [b"GET", b"k"], [b"PING"]]


def test_many_commands_with_decimal_keep_text() -> None:
    commands = upstash.parse_many(b'[["SET","a",1],["SET","b",0.10]]')
    assert commands == [[b"SET", b"a", b"1"], [b"SET", b"b", b"0.10"]]


@pytest.mark.parametrize(
    "body",
    [b"", b"{}", b"[]", b"[[]]", b"[null]", b"[{}]", b'["PING"]', b'[["PING"],[]]'],
    ids=repr,
)
def test_bad_many_body_raises_request_error(body: bytes) -> None:
    with pytest.raises(RequestError):
        upstash.parse_many(body)


def test_error_names_the_failing_command() -> None:
    with pytest.raises(RequestError) as raised:
        upstash.parse_many(b'[["PING"],["SET",null]]')
    assert "argument 1" in raised.value.message


def test_path_segments_are_decoded_after_splitting() -> None:
    command = upstash.parse_path([b"set", b"a%2Fb", b"x%20y"], b"", b"")
    assert command == [b"set", b"a/b", b"x y"]


def test_path_plus_is_not_space() -> None:
    assert upstash.parse_path([b"set", b"k", b"a+b"], b"", b"")[2] == b"a+b"


def test_path_binary_bytes_are_decoded() -> None:
    assert upstash.parse_path([b"set", b"k", b"%00%FF"], b"", b"")[2] == b"\x00\xff"


def test_path_body_is_one_argument() -> None:
    command = upstash.parse_path([b"set", b"k"], b'["not", "parsed"]', b"")
    assert command == [b"set", b"k", b'["not", "parsed"]']


def test_path_query_follows_body() -> None:
    command = upstash.parse_path([b"set", b"k"], b"value", b"EX=100&NX=")
    assert command == [b"set", b"k", b"value", b"EX", b"100", b"NX", b""]


def test_path_query_token_is_dropped() -> None:
    command = upstash.parse_path([b"get", b"k"], b"", b"_token=secret&EX=1")
    assert command == [b"get", b"k", b"EX", b"1"]


def test_query_plus_is_space() -> None:
    assert upstash.query_pairs(b"a=b+c") == [(b"a", b"b c")]


def test_query_pairs_skip_empty_parts() -> None:
    assert upstash.query_pairs(b"&a=1&&b=2&") == [(b"a", b"1"), (b"b", b"2")]


def test_query_key_without_value() -> None:
    assert upstash.query_pairs(b"flag") == [(b"flag", b"")]
