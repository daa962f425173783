"""Bodies the gateway cannot parse get a 4xx JSON error, never HTML or 500."""

from __future__ import annotations

import httpx
import pytest

from tests.gateway_process import Instance

SINGLE_BAD = [
    b"",
    b"{}",
    b"[]",
    b"[[]]",
    b"not json",
    b"[null]",
    b"[{}]",
    b'"PING"',
    b"42",
    b"null",
    b'["SET","k",',
    b'["SET","k",NaN]',
    b'["SET","k",Infinity]',
    b"\xff\xfe",
    b'["PING"] trailing',
]

MANY_BAD = [
    b"",
    b"{}",
    b"[]",
    b"[[]]",
    b"not json",
    b"[null]",
    b"[{}]",
    b'["PING"]',
    b'[["PING"],null]',
    b'[["PING"],[]]',
    b'[["SET","k",{"a":1}]]',
]


def _post(instance: Instance, path: str, body: bytes) -> httpx.Response:
    return httpx.post(
        f"{instance.url}{path}",
        content=body,
        headers={"Authorization": f"Bearer {instance.token}"},
    )


@pytest.mark.parametrize("body", SINGLE_BAD, ids=repr)
def test_single_command_body_is_400_json(body: bytes, shared: Instance) -> None:
    response = _post(shared, "", body)
    assert response.status_code == 400
    assert response.headers["content-type"] == "application/json"
    assert set(response.json()) == {"error"}


@pytest.mark.parametrize("path", ["/pipeline", "/multi-exec"])
@pytest.mark.parametrize("body", MANY_BAD, ids=repr)
def test_many_commands_body_is_400_json(
    body: bytes, path: str, shared: Instance
) -> None:
    response = _post(shared, path, body)
    assert response.status_code == 400
    assert set(response.json()) == {"error"}


def test_bad_body_without_token_is_401_json(shared: Instance) -> None:
    response = httpx.post(shared.url, content=b"not json")
    assert response.status_code == 401
    assert set(response.json()) == {"error"}


@pytest.mark.parametrize(
    "path",
    ["/v1/redis/", "/v1/redis/only-tenant", "/v1/redis//main", "/v1/redis/%ff/main"],
)
def test_malformed_instance_path_is_4xx_json(path: str, shared: Instance) -> None:
    base = shared.url.split("/v1/redis/")[0]
    response = httpx.post(
        f"{base}{path}",
        json=["PING"],
        headers={"Authorization": f"Bearer {shared.token}"},
    )
    assert 400 <= response.status_code < 500
    assert set(response.json()) == {"error"}


def test_lone_surrogate_is_400_json(shared: Instance) -> None:
    # A lone surrogate has no UTF-8 form, so there are no bytes to send.
    response = _post(shared, "", b'["ECHO","\\ud800"]')
    assert response.status_code == 400
    assert set(response.json()) == {"error"}
