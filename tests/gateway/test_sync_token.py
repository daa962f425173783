"""The ``upstash-sync-token`` header that clients use for read-your-writes."""

from __future__ import annotations

import httpx
import pytest

from tests.conftest import call
from tests.gateway_process import Instance

HEADER = "upstash-sync-token"


def test_header_on_success(shared: Instance) -> None:
    assert call(shared, ["PING"]).headers.get(HEADER)


def test_header_on_command_error(shared: Instance) -> None:
    assert call(shared, ["GET"]).headers.get(HEADER)


def test_header_on_pipeline(shared: Instance) -> None:
    assert call(shared, [["PING"]], path="/pipeline").headers.get(HEADER)


def test_header_on_405(shared: Instance) -> None:
    response = httpx.get(
        shared.url, headers={"Authorization": f"Bearer {shared.token}"}
    )
    assert response.headers.get(HEADER)


def test_header_on_401(shared: Instance) -> None:
    assert httpx.post(shared.url, json=["PING"]).headers.get(HEADER)


def test_write_changes_token(shared: Instance, unique: str) -> None:
    before = call(shared, ["GET", f"{unique}k"]).headers[HEADER]
    after = call(shared, ["SET", f"{unique}k", "v"]).headers[HEADER]
    assert after != before


def test_pipeline_write_changes_token(shared: Instance, unique: str) -> None:
    before = call(shared, ["GET", f"{unique}k"]).headers[HEADER]
    after = call(shared, [["SET", f"{unique}k", "v"]], path="/pipeline").headers[HEADER]
    assert after != before


def test_transaction_write_changes_token(shared: Instance, unique: str) -> None:
    before = call(shared, ["GET", f"{unique}k"]).headers[HEADER]
    response = call(shared, [["INCR", f"{unique}n"]], path="/multi-exec")
    assert response.headers[HEADER] != before


def test_each_write_gives_new_token(shared: Instance, unique: str) -> None:
    tokens = {call(shared, ["INCR", f"{unique}n"]).headers[HEADER] for _ in range(5)}
    assert len(tokens) == 5


@pytest.mark.parametrize("value", ["", "garbage", "0", "x" * 500, "🫶"])
def test_any_request_token_is_accepted(value: str, shared: Instance) -> None:
    headers = {
        "Authorization": f"Bearer {shared.token}".encode(),
        HEADER: value.encode(),
    }
    response = httpx.post(shared.url, json=["PING"], headers=headers)
    assert response.json() == {"result": "PONG"}


def test_stale_request_token_is_accepted(shared: Instance, unique: str) -> None:
    stale = call(shared, ["GET", f"{unique}k"]).headers[HEADER]
    call(shared, ["SET", f"{unique}k", "v"])
    headers = {"Authorization": f"Bearer {shared.token}", HEADER: stale}
    response = httpx.post(shared.url, json=["GET", f"{unique}k"], headers=headers)
    assert response.json() == {"result": "v"}
