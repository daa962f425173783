"""Admin, blocking and connection-state commands never reach the server."""

from __future__ import annotations

import pytest

from tests.conftest import call
from tests.gateway_process import Instance

FORBIDDEN = [
    ["CONFIG", "SET", "maxmemory", "1"],
    ["CONFIG", "GET", "*"],
    ["DEBUG", "SLEEP", "5"],
    ["SHUTDOWN", "NOSAVE"],
    ["MODULE", "LIST"],
    ["ACL", "LIST"],
    ["ACL", "SETUSER", "intruder", "on", "+@all"],
    ["REPLICAOF", "127.0.0.1", "1"],
    ["SLAVEOF", "127.0.0.1", "1"],
    ["MIGRATE", "127.0.0.1", "1", "k", "0", "1000"],
    ["MONITOR"],
    ["CLIENT", "LIST"],
    ["CLIENT", "KILL", "TYPE", "normal"],
    ["SCRIPT", "KILL"],
    ["BGSAVE"],
    ["SAVE"],
]

UNSUPPORTED = [
    ["SELECT", "1"],
    ["SWAPDB", "0", "1"],
    ["BLPOP", "list", "1"],
    ["BRPOP", "list", "1"],
    ["BZPOPMIN", "zset", "1"],
    ["XREAD", "BLOCK", "100", "STREAMS", "stream", "$"],
    ["XREAD", "block", "100", "STREAMS", "stream", "$"],
    ["WATCH", "key"],
    ["UNWATCH"],
    ["MULTI"],
    ["EXEC"],
    ["DISCARD"],
    ["SUBSCRIBE", "channel"],
    ["PSUBSCRIBE", "chan*"],
    ["HELLO", "3"],
    ["AUTH", "kg-rw", "guess"],
    ["RESET"],
]


def _name(command: list[str]) -> str:
    return " ".join(command[:2])


@pytest.mark.parametrize("command", FORBIDDEN, ids=_name)
def test_forbidden_command_is_noperm(command: list[str], shared: Instance) -> None:
    response = call(shared, command)
    assert response.status_code == 400
    assert response.json()["error"].startswith("NOPERM")


@pytest.mark.parametrize("command", UNSUPPORTED, ids=_name)
def test_unsupported_command_is_error(command: list[str], shared: Instance) -> None:
    response = call(shared, command)
    assert response.status_code == 400
    assert response.json()["error"].startswith(("ERR", "NOPERM"))


@pytest.mark.parametrize("command", [*FORBIDDEN, *UNSUPPORTED], ids=_name)
def test_connection_works_after_rejection(command: list[str], shared: Instance) -> None:
    call(shared, command)
    assert call(shared, ["PING"]).json() == {"result": "PONG"}


def test_unknown_command_is_redis_style_error(shared: Instance) -> None:
    response = call(shared, ["FLY", "away"])
    assert response.status_code == 400
    assert response.json() == {"error": "ERR unknown command 'fly'"}


def test_nonblocking_xread_is_allowed(shared: Instance, unique: str) -> None:
    call(shared, ["XADD", f"{unique}s", "1-1", "f", "v"])
    response = call(shared, ["XREAD", "COUNT", "1", "STREAMS", f"{unique}s", "0"])
    assert response.json() == {"result": [[f"{unique}s", [["1-1", ["f", "v"]]]]]}


def test_stream_named_block_is_readable(shared: Instance) -> None:
    # A key may be called "block"; only the BLOCK option makes XREAD block.
    call(shared, ["XADD", "block", "1-1", "f", "v"])
    response = call(shared, ["XREAD", "STREAMS", "block", "0"])
    assert response.json() == {"result": [["block", [["1-1", ["f", "v"]]]]]}


def test_select_leaves_database_zero(shared: Instance, unique: str) -> None:
    call(shared, ["SET", f"{unique}k", "db0"])
    call(shared, ["SELECT", "1"])
    assert call(shared, ["GET", f"{unique}k"]).json() == {"result": "db0"}


def test_script_cannot_swap_databases(shared: Instance, unique: str) -> None:
    # Scripts may call SWAPDB, so only the server's ACL can stop this one.
    call(shared, ["SET", f"{unique}k", "db0"])
    response = call(shared, ["EVAL", "return redis.call('SWAPDB', '0', '1')", "0"])
    assert response.status_code == 400
    assert "has no permissions to run the 'swapdb'" in response.json()["error"]
    assert call(shared, ["GET", f"{unique}k"]).json() == {"result": "db0"}


def test_script_cannot_call_config(shared: Instance) -> None:
    response = call(shared, ["EVAL", "return redis.call('CONFIG', 'GET', '*')", "0"])
    assert response.status_code == 400
    assert set(response.json()) == {"error"}


def test_config_did_not_change_maxmemory(shared: Instance, unique: str) -> None:
    call(shared, ["CONFIG", "SET", "maxmemory", "1"])
    assert call(shared, ["SET", f"{unique}k", "x" * 1000]).json() == {"result": "OK"}
