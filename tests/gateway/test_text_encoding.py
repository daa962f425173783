"""Replies without base64: valid JSON text for any bytes the server holds."""

from __future__ import annotations

import json

import httpx

from tests.conftest import call
from tests.gateway_process import Instance


def test_astral_character_round_trips(shared: Instance, unique: str) -> None:
    call(shared, ["SET", f"{unique}s", "🫶 ok"])
    response = call(shared, ["GET", f"{unique}s"])
    assert json.loads(response.content) == {"result": "🫶 ok"}


def test_astral_character_is_strict_utf8(shared: Instance, unique: str) -> None:
    # Lone surrogates in the output would fail a strict UTF-8 decoder.
    call(shared, ["SET", f"{unique}s", "a😀b"])
    response = call(shared, ["GET", f"{unique}s"])
    assert response.content.decode("utf-8", "strict") == '{"result":"a😀b"}'


def test_surrogate_pair_escape_stored_as_utf8(shared: Instance, unique: str) -> None:
    # JSON encoders that escape non-ASCII send astral characters as a
    # surrogate pair escape such as \ud83e\udef6.
    body = b'["SET","' + unique.encode() + b's","\\ud83e\\udef6"]'
    headers = {"Authorization": f"Bearer {shared.token}"}
    httpx.post(shared.url, content=body, headers=headers)
    response = call(shared, ["STRLEN", f"{unique}s"])
    assert response.json() == {"result": 4}


def test_invalid_utf8_becomes_fffd(shared: Instance, unique: str) -> None:
    httpx.post(
        f"{shared.url}/set/{unique}bin/a%FFb",
        headers={"Authorization": f"Bearer {shared.token}"},
    )
    response = call(shared, ["GET", f"{unique}bin"])
    assert response.json() == {"result": "a\ufffdb"}


def test_nul_byte_is_escaped_in_json(shared: Instance, unique: str) -> None:
    httpx.post(
        f"{shared.url}/set/{unique}nul/a%00b",
        headers={"Authorization": f"Bearer {shared.token}"},
    )
    response = call(shared, ["GET", f"{unique}nul"])
    assert response.json() == {"result": "a\x00b"}


def test_control_characters_round_trip(shared: Instance, unique: str) -> None:
    value = 'line1\nline2\t"quoted"\\'
    call(shared, ["SET", f"{unique}s", value])
    assert call(shared, ["GET", f"{unique}s"]).json() == {"result": value}
