"""Rendering hiredis replies as Upstash JSON envelopes."""

from __future__ import annotations

import base64

import hiredis
import orjson

from kubegateway.protocol import upstash


def _reply(raw: bytes) -> object:
    """Parse RESP2 bytes with hiredis, as the gateway's connections do."""
    reader = hiredis.Reader()
    reader.feed(raw)
    return reader.gets()


def test_bulk_string_result() -> None:
    assert upstash.render_result(b"v", False) == (200, b'{"result":"v"}')


def test_nil_keeps_result_key() -> None:
    assert upstash.render_result(None, False) == (200, b'{"result":null}')


def test_integer_result() -> None:
    assert upstash.render_result(_reply(b":-42\r\n"), False) == (200, b'{"result":-42}')


def test_largest_integer_keeps_digits() -> None:
    reply = _reply(b":9223372036854775807\r\n")
    assert upstash.render_result(reply, False)[1] == b'{"result":9223372036854775807}'


def test_error_reply_is_400_error_only() -> None:
    reply = _reply(b"-ERR wrong\r\n")
    assert upstash.render_result(reply, False) == (400, b'{"error":"ERR wrong"}')


def test_error_is_never_base64() -> None:
    reply = _reply(b"-ERR wrong\r\n")
    assert upstash.render_result(reply, True) == (400, b'{"error":"ERR wrong"}')


def test_status_reply_is_base64() -> None:
    reply = _reply(b"+PONG\r\n")
    assert upstash.render_result(reply, True) == (200, b'{"result":"UE9ORw=="}')


def test_nested_array_with_nil() -> None:
    reply = _reply(b"*3\r\n$1\r\na\r\n*2\r\n:1\r\n$-1\r\n*0\r\n")
    assert upstash.render_value(reply, False) == ["a", [1, None], []]


def test_nested_array_base64_leaves_numbers_and_nil() -> None:
    reply = _reply(b"*2\r\n$1\r\na\r\n*2\r\n:1\r\n$-1\r\n")
    assert upstash.render_value(reply, True) == ["YQ==", [1, None]]


def test_invalid_utf8_becomes_replacement_character() -> None:
    assert upstash.render_value(b"a\xffb", False) == "a\ufffdb"


def test_astral_character_is_valid_json() -> None:
    body = upstash.render_result("🫶".encode(), False)[1]
    assert orjson.loads(body) == {"result": "🫶"}
    assert body.decode("utf-8", "strict") == '{"result":"🫶"}'


def test_binary_base64_round_trips() -> None:
    raw = bytes(range(256))
    encoded = upstash.render_value(raw, True)
    assert isinstance(encoded, str)
    assert base64.b64decode(encoded) == raw


def test_items_have_only_result_or_only_error() -> None:
    replies = [b"OK", _reply(b"-ERR bad\r\n"), None]
    assert upstash.render_items(replies, False) == [
        {"result": "OK"},
        {"error": "ERR bad"},
        {"result": None},
    ]


def test_rejected_command_renders_as_error() -> None:
    rejected = upstash.CommandRejected("NOPERM no")
    assert upstash.render_items([rejected], True) == [{"error": "NOPERM no"}]


def test_error_inside_array_is_plain_text() -> None:
    # EXEC replies carry per-command errors inside the array.
    reply = _reply(b"*2\r\n+OK\r\n-ERR inner\r\n")
    assert upstash.render_value(reply, True) == ["T0s=", "ERR inner"]


def test_error_body_is_json() -> None:
    assert orjson.loads(upstash.error_body('quote " here')) == {"error": 'quote " here'}
