"""``/multi-exec``: all commands in one MULTI/EXEC, or none."""

from __future__ import annotations

from tests.conftest import call
from tests.gateway_process import Instance


def test_results_array_in_order(shared: Instance, unique: str) -> None:
    body = [["SET", f"{unique}a", "1"], ["INCR", f"{unique}a"], ["GET", f"{unique}a"]]
    response = call(shared, body, path="/multi-exec")
    assert response.status_code == 200
    assert response.json() == [{"result": "OK"}, {"result": 2}, {"result": "2"}]


def test_syntax_error_discards_transaction(shared: Instance, unique: str) -> None:
    body = [["SET", f"{unique}a", "1"], ["SET", f"{unique}b"]]
    response = call(shared, body, path="/multi-exec")
    assert response.status_code == 400
    assert set(response.json()) == {"error"}


def test_syntax_error_names_the_cause(shared: Instance, unique: str) -> None:
    body = [["SET", f"{unique}a", "1"], ["SET", f"{unique}b"]]
    error = call(shared, body, path="/multi-exec").json()["error"]
    assert error.startswith("EXECABORT")
    assert "wrong number of arguments for 'set'" in error


def test_syntax_error_writes_nothing(shared: Instance, unique: str) -> None:
    body = [["SET", f"{unique}a", "1"], ["SET", f"{unique}b"]]
    call(shared, body, path="/multi-exec")
    assert call(shared, ["EXISTS", f"{unique}a"]).json() == {"result": 0}


def test_unknown_command_discards_transaction(shared: Instance, unique: str) -> None:
    body = [["SET", f"{unique}a", "1"], ["NOSUCHCOMMAND"]]
    response = call(shared, body, path="/multi-exec")
    assert response.status_code == 400
    assert call(shared, ["EXISTS", f"{unique}a"]).json() == {"result": 0}


def test_forbidden_command_discards_transaction(shared: Instance, unique: str) -> None:
    body = [["SET", f"{unique}a", "1"], ["CONFIG", "GET", "maxmemory"]]
    response = call(shared, body, path="/multi-exec")
    assert response.status_code == 400
    assert call(shared, ["EXISTS", f"{unique}a"]).json() == {"result": 0}


def test_unsupported_command_discards_transaction(
    shared: Instance, unique: str
) -> None:
    body = [["SET", f"{unique}a", "1"], ["BLPOP", f"{unique}l", "1"]]
    response = call(shared, body, path="/multi-exec")
    assert response.status_code == 400
    assert call(shared, ["EXISTS", f"{unique}a"]).json() == {"result": 0}


def test_nested_multi_discards_transaction(shared: Instance, unique: str) -> None:
    body = [["SET", f"{unique}a", "1"], ["MULTI"], ["EXEC"]]
    response = call(shared, body, path="/multi-exec")
    assert response.status_code == 400
    assert call(shared, ["EXISTS", f"{unique}a"]).json() == {"result": 0}


def test_runtime_error_is_item_error(shared: Instance, unique: str) -> None:
    body = [
        ["SET", f"{unique}s", "text"],
        ["INCR", f"{unique}s"],
        ["SET", f"{unique}b", "1"],
    ]
    items = call(shared, body, path="/multi-exec").json()
    assert items == [
        {"result": "OK"},
        {"error": "ERR value is not an integer or out of range"},
        {"result": "OK"},
    ]


def test_runtime_error_keeps_other_writes(shared: Instance, unique: str) -> None:
    body = [
        ["SET", f"{unique}s", "text"],
        ["INCR", f"{unique}s"],
        ["SET", f"{unique}b", "1"],
    ]
    call(shared, body, path="/multi-exec")
    assert call(shared, ["GET", f"{unique}b"]).json() == {"result": "1"}


def test_connection_works_after_discarded_transaction(shared: Instance) -> None:
    # A discarded transaction must leave no open MULTI on the shared connection.
    for _ in range(4):
        call(shared, [["SET", "x"]], path="/multi-exec")
    assert call(shared, ["PING"]).json() == {"result": "PONG"}
