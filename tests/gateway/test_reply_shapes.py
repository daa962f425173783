"""Every RESP2 reply type and the JSON shape it gets."""

from __future__ import annotations

import orjson

from tests.conftest import call
from tests.gateway_process import Instance


def test_bulk_string_is_json_string(shared: Instance, unique: str) -> None:
    call(shared, ["SET", f"{unique}s", "value"])
    response = call(shared, ["GET", f"{unique}s"])
    assert response.status_code == 200
    assert response.json() == {"result": "value"}


def test_integer_is_json_number(shared: Instance, unique: str) -> None:
    response = call(shared, ["INCRBY", f"{unique}n", 41])
    assert response.json() == {"result": 41}


def test_nil_keeps_result_key_with_null(shared: Instance, unique: str) -> None:
    response = call(shared, ["GET", f"{unique}missing"])
    assert response.status_code == 200
    assert response.content == b'{"result":null}'


def test_nil_inside_array_is_null(shared: Instance, unique: str) -> None:
    call(shared, ["SET", f"{unique}a", "1"])
    response = call(shared, ["MGET", f"{unique}a", f"{unique}missing", f"{unique}a"])
    assert response.json() == {"result": ["1", None, "1"]}


def test_stream_entries_are_nested_arrays(shared: Instance, unique: str) -> None:
    call(shared, ["XADD", f"{unique}x", "1-1", "field", "value"])
    call(shared, ["XADD", f"{unique}x", "2-1", "a", "1", "b", "2"])
    response = call(shared, ["XRANGE", f"{unique}x", "-", "+"])
    assert response.json() == {
        "result": [["1-1", ["field", "value"]], ["2-1", ["a", "1", "b", "2"]]]
    }


def test_lua_table_becomes_nested_array(shared: Instance) -> None:
    # Lua false becomes a RESP nil, and nested tables nested arrays.
    script = "return {1, {2, 'two', {false}}, 'three'}"
    response = call(shared, ["EVAL", script, "0"])
    assert response.json() == {"result": [1, [2, "two", [None]], "three"]}


def test_status_reply_is_string(shared: Instance, unique: str) -> None:
    response = call(shared, ["SET", f"{unique}s", "v"])
    assert response.json() == {"result": "OK"}


def test_ping_status_is_string(shared: Instance) -> None:
    assert call(shared, ["PING"]).json() == {"result": "PONG"}


def test_type_status_is_string(shared: Instance, unique: str) -> None:
    call(shared, ["LPUSH", f"{unique}l", "x"])
    assert call(shared, ["TYPE", f"{unique}l"]).json() == {"result": "list"}


def test_error_reply_is_400_with_only_error(shared: Instance, unique: str) -> None:
    call(shared, ["SET", f"{unique}s", "text"])
    response = call(shared, ["INCR", f"{unique}s"])
    assert response.status_code == 400
    assert response.json() == {"error": "ERR value is not an integer or out of range"}


def test_wrong_type_error_keeps_server_text(shared: Instance, unique: str) -> None:
    call(shared, ["SET", f"{unique}s", "text"])
    response = call(shared, ["LPUSH", f"{unique}s", "x"])
    assert response.status_code == 400
    assert response.json()["error"].startswith("WRONGTYPE ")


def test_zscore_double_is_string(shared: Instance, unique: str) -> None:
    call(shared, ["ZADD", f"{unique}z", "1.5", "member"])
    assert call(shared, ["ZSCORE", f"{unique}z", "member"]).json() == {"result": "1.5"}


def test_incrbyfloat_double_is_string(shared: Instance, unique: str) -> None:
    call(shared, ["SET", f"{unique}f", "10.5"])
    response = call(shared, ["INCRBYFLOAT", f"{unique}f", "0.1"])
    assert response.json() == {"result": "10.6"}


def test_json_float_argument_keeps_its_digits(shared: Instance, unique: str) -> None:
    # 0.1 has no exact binary form; the server must see the text "0.1".
    call(shared, ["SET", f"{unique}f", 0.1])
    assert call(shared, ["GET", f"{unique}f"]).json() == {"result": "0.1"}


def test_boolean_argument_uses_json_spelling(shared: Instance, unique: str) -> None:
    call(shared, ["SET", f"{unique}b", True])
    assert call(shared, ["GET", f"{unique}b"]).json() == {"result": "true"}


def test_hgetall_is_flat_array(shared: Instance, unique: str) -> None:
    call(shared, ["HSET", f"{unique}h", "a", "1"])
    call(shared, ["HSET", f"{unique}h", "b", "2"])
    response = call(shared, ["HGETALL", f"{unique}h"])
    assert response.json() == {"result": ["a", "1", "b", "2"]}


def test_zrange_withscores_is_flat_array(shared: Instance, unique: str) -> None:
    call(shared, ["ZADD", f"{unique}z", "1", "a", "2.5", "b"])
    response = call(shared, ["ZRANGE", f"{unique}z", "0", "-1", "WITHSCORES"])
    assert response.json() == {"result": ["a", "1", "b", "2.5"]}


def test_empty_array_is_empty_list(shared: Instance, unique: str) -> None:
    response = call(shared, ["LRANGE", f"{unique}none", "0", "-1"])
    assert response.content == b'{"result":[]}'


def test_hgetall_of_missing_key_is_empty_list(shared: Instance, unique: str) -> None:
    response = call(shared, ["HGETALL", f"{unique}none"])
    assert response.json() == {"result": []}


def test_response_is_application_json(shared: Instance) -> None:
    response = call(shared, ["PING"])
    assert response.headers["content-type"] == "application/json"


def test_error_body_has_no_result_key(shared: Instance) -> None:
    response = call(shared, ["GET"])
    assert set(orjson.loads(response.content)) == {"error"}
