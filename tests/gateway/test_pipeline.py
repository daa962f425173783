"""``/pipeline``: many commands, one reply item each, in order."""

from __future__ import annotations

import httpx

from tests.conftest import call
from tests.gateway_process import Instance


def test_items_come_back_in_order(shared: Instance, unique: str) -> None:
    body = [["ECHO", str(n)] for n in range(20)]
    response = call(shared, body, path="/pipeline")
    assert response.json() == [{"result": str(n)} for n in range(20)]


def test_failing_command_does_not_stop_the_rest(shared: Instance, unique: str) -> None:
    body = [
        ["SET", f"{unique}s", "text"],
        ["INCR", f"{unique}s"],
        ["SET", f"{unique}after", "1"],
    ]
    response = call(shared, body, path="/pipeline")
    assert response.status_code == 200
    assert call(shared, ["GET", f"{unique}after"]).json() == {"result": "1"}


def test_items_have_only_result_or_only_error(shared: Instance, unique: str) -> None:
    body = [
        ["SET", f"{unique}s", "text"],
        ["INCR", f"{unique}s"],
        ["GET", f"{unique}none"],
    ]
    items = call(shared, body, path="/pipeline").json()
    assert items == [
        {"result": "OK"},
        {"error": "ERR value is not an integer or out of range"},
        {"result": None},
    ]


def test_rejected_command_gets_item_error(shared: Instance) -> None:
    body = [["PING"], ["CONFIG", "SET", "maxmemory", "1"], ["PING"]]
    items = call(shared, body, path="/pipeline").json()
    assert set(items[1]) == {"error"}
    assert items[1]["error"].startswith("NOPERM")


def test_rejected_command_is_not_executed(shared: Instance, unique: str) -> None:
    # SWAPDB would move every key away from database 0 if it ran.
    body = [["SET", f"{unique}s", "kept"], ["SWAPDB", "0", "1"], ["GET", f"{unique}s"]]
    items = call(shared, body, path="/pipeline").json()
    assert items[2] == {"result": "kept"}


def test_unknown_command_gets_item_error(shared: Instance) -> None:
    items = call(shared, [["PING"], ["NOSUCHCOMMAND"]], path="/pipeline").json()
    assert items[1] == {"error": "ERR unknown command 'nosuchcommand'"}


def test_wrong_arity_gets_item_error(shared: Instance) -> None:
    items = call(shared, [["SET", "only-key"], ["PING"]], path="/pipeline").json()
    assert items[0] == {"error": "ERR wrong number of arguments for 'set' command"}


def test_double_slash_pipeline_is_accepted(shared: Instance) -> None:
    # The Python client appends "/pipeline" to a URL that may end in "/".
    response = call(shared, [["PING"]], path="//pipeline")
    assert response.json() == [{"result": "PONG"}]


def test_trailing_slash_pipeline_is_accepted(shared: Instance) -> None:
    response = call(shared, [["PING"]], path="/pipeline/")
    assert response.json() == [{"result": "PONG"}]


def test_trailing_slash_base_runs_single_command(shared: Instance) -> None:
    response = call(shared, ["PING"], path="/")
    assert response.json() == {"result": "PONG"}


def test_single_command_body_is_rejected(shared: Instance) -> None:
    response = call(shared, ["PING"], path="/pipeline")
    assert response.status_code == 400
    assert "error" in response.json()


def test_get_on_pipeline_is_405(shared: Instance) -> None:
    response = httpx.get(
        f"{shared.url}/pipeline", headers={"Authorization": f"Bearer {shared.token}"}
    )
    assert response.status_code == 405
    assert set(response.json()) == {"error"}


def test_405_allow_header_names_post(shared: Instance) -> None:
    response = httpx.get(
        f"{shared.url}/pipeline", headers={"Authorization": f"Bearer {shared.token}"}
    )
    assert response.headers["allow"] == "POST"


def test_large_pipeline_keeps_order(shared: Instance, unique: str) -> None:
    body = [["INCR", f"{unique}n"] for _ in range(1000)]
    items = call(shared, body, path="/pipeline").json()
    assert [item["result"] for item in items] == list(range(1, 1001))
