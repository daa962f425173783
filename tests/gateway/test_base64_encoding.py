"""``Upstash-Encoding: base64``: every string encoded, nothing else."""

from __future__ import annotations

import base64

from tests.conftest import call
from tests.gateway_process import Instance


def b64(text: str | bytes) -> str:
    raw = text.encode() if isinstance(text, str) else text
    return base64.b64encode(raw).decode()


def test_bulk_string_is_encoded(shared: Instance, unique: str) -> None:
    call(shared, ["SET", f"{unique}s", "value"])
    response = call(shared, ["GET", f"{unique}s"], base64=True)
    assert response.json() == {"result": b64("value")}


def test_pong_status_is_encoded(shared: Instance) -> None:
    response = call(shared, ["PING"], base64=True)
    assert response.json() == {"result": "UE9ORw=="}


def test_ok_status_is_plain_or_encoded(shared: Instance, unique: str) -> None:
    # Both clients accept "OK" either way; they decode everything except "OK".
    response = call(shared, ["SET", f"{unique}s", "v"], base64=True)
    assert response.json()["result"] in ("OK", b64("OK"))


def test_integer_is_not_encoded(shared: Instance, unique: str) -> None:
    response = call(shared, ["INCR", f"{unique}n"], base64=True)
    assert response.json() == {"result": 1}


def test_null_is_not_encoded(shared: Instance, unique: str) -> None:
    response = call(shared, ["GET", f"{unique}missing"], base64=True)
    assert response.content == b'{"result":null}'


def test_error_is_not_encoded(shared: Instance, unique: str) -> None:
    call(shared, ["SET", f"{unique}s", "text"])
    response = call(shared, ["INCR", f"{unique}s"], base64=True)
    assert response.status_code == 400
    assert response.json() == {"error": "ERR value is not an integer or out of range"}


def test_nested_arrays_are_encoded_recursively(shared: Instance, unique: str) -> None:
    call(shared, ["XADD", f"{unique}x", "1-1", "field", "value"])
    response = call(shared, ["XRANGE", f"{unique}x", "-", "+"], base64=True)
    assert response.json() == {"result": [[b64("1-1"), [b64("field"), b64("value")]]]}


def test_array_keeps_nulls_and_numbers(shared: Instance) -> None:
    script = "return {1, 'a', false}"
    response = call(shared, ["EVAL", script, "0"], base64=True)
    assert response.json() == {"result": [1, b64("a"), None]}


def test_double_is_encoded_as_string(shared: Instance, unique: str) -> None:
    call(shared, ["ZADD", f"{unique}z", "2.5", "m"])
    response = call(shared, ["ZSCORE", f"{unique}z", "m"], base64=True)
    assert response.json() == {"result": b64("2.5")}


def test_pipeline_items_are_encoded(shared: Instance, unique: str) -> None:
    body = [
        ["SET", f"{unique}s", "v"],
        ["GET", f"{unique}s"],
        ["PING"],
        ["INCR", f"{unique}n"],
    ]
    response = call(shared, body, path="/pipeline", base64=True)
    items = response.json()
    assert items[1] == {"result": b64("v")}
    assert items[2] == {"result": b64("PONG")}
    assert items[3] == {"result": 1}


def test_pipeline_error_item_is_not_encoded(shared: Instance, unique: str) -> None:
    body = [["SET", f"{unique}s", "v"], ["INCR", f"{unique}s"]]
    response = call(shared, body, path="/pipeline", base64=True)
    assert response.json()[1] == {
        "error": "ERR value is not an integer or out of range"
    }


def test_transaction_items_are_encoded(shared: Instance, unique: str) -> None:
    body = [["SET", f"{unique}s", "v"], ["GET", f"{unique}s"], ["GET", f"{unique}none"]]
    response = call(shared, body, path="/multi-exec", base64=True)
    items = response.json()
    assert items[1] == {"result": b64("v")}
    assert items[2] == {"result": None}


def test_header_value_is_case_insensitive(shared: Instance) -> None:
    import httpx

    response = httpx.post(
        shared.url,
        json=["ECHO", "x"],
        headers={
            "Authorization": f"Bearer {shared.token}",
            "Upstash-Encoding": "BASE64",
        },
    )
    assert response.json() == {"result": b64("x")}
