"""Read-only tokens: reads pass, writes and key enumeration are denied."""

from __future__ import annotations

import pytest

from tests.conftest import call
from tests.gateway.conftest import TokenPair


def test_read_is_allowed(token_pair: TokenPair) -> None:
    call(token_pair.read_write, ["SET", "k", "v"])
    response = call(token_pair.read_only, ["GET", "k"])
    assert response.json() == {"result": "v"}


def test_ping_is_allowed(token_pair: TokenPair) -> None:
    assert call(token_pair.read_only, ["PING"]).json() == {"result": "PONG"}


def test_write_is_400_noperm(token_pair: TokenPair) -> None:
    response = call(token_pair.read_only, ["SET", "k", "changed"])
    assert response.status_code == 400
    assert response.json()["error"].startswith("NOPERM")


def test_denied_write_changes_nothing(token_pair: TokenPair) -> None:
    call(token_pair.read_write, ["SET", "k", "original"])
    call(token_pair.read_only, ["SET", "k", "changed"])
    assert call(token_pair.read_write, ["GET", "k"]).json() == {"result": "original"}


@pytest.mark.parametrize(
    "command", [["KEYS", "*"], ["SCAN", "0"], ["RANDOMKEY"], ["FLUSHALL"]]
)
def test_enumeration_and_flush_are_denied(
    command: list[str], token_pair: TokenPair
) -> None:
    response = call(token_pair.read_only, command)
    assert response.status_code == 400
    assert response.json()["error"].startswith("NOPERM")


def test_write_script_is_denied(token_pair: TokenPair) -> None:
    response = call(
        token_pair.read_only, ["EVAL", "return redis.call('SET','k','x')", "0"]
    )
    assert response.status_code == 400


def test_pipeline_denies_only_the_write(token_pair: TokenPair) -> None:
    call(token_pair.read_write, ["SET", "k", "v"])
    body = [["GET", "k"], ["DEL", "k"], ["GET", "k"]]
    items = call(token_pair.read_only, body, path="/pipeline").json()
    assert items[0] == {"result": "v"}
    assert items[1]["error"].startswith("NOPERM")
    assert items[2] == {"result": "v"}


def test_transaction_with_write_is_discarded(token_pair: TokenPair) -> None:
    body = [["GET", "k"], ["SET", "k", "x"]]
    response = call(token_pair.read_only, body, path="/multi-exec")
    assert response.status_code == 400
    assert "NOPERM" in response.json()["error"]


def test_read_transaction_is_allowed(token_pair: TokenPair) -> None:
    call(token_pair.read_write, ["SET", "k", "v"])
    response = call(token_pair.read_only, [["GET", "k"], ["PING"]], path="/multi-exec")
    assert response.json() == [{"result": "v"}, {"result": "PONG"}]
