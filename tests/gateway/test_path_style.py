"""Path-style commands: ``/set/foo/bar``, a body and query parameters."""

from __future__ import annotations

import httpx
import pytest

from tests.conftest import call
from tests.gateway_process import Instance


def _auth(instance: Instance) -> dict[str, str]:
    return {"Authorization": f"Bearer {instance.token}"}


@pytest.mark.parametrize("method", ["GET", "POST", "PUT"])
def test_set_through_path(method: str, shared: Instance, unique: str) -> None:
    response = httpx.request(
        method, f"{shared.url}/set/{unique}k/bar", headers=_auth(shared)
    )
    assert response.json() == {"result": "OK"}
    assert call(shared, ["GET", f"{unique}k"]).json() == {"result": "bar"}


def test_head_runs_command_without_body(shared: Instance, unique: str) -> None:
    response = httpx.head(f"{shared.url}/set/{unique}k/bar", headers=_auth(shared))
    assert response.status_code == 200
    assert response.content == b""
    assert call(shared, ["GET", f"{unique}k"]).json() == {"result": "bar"}


def test_encoded_slash_stays_in_one_argument(shared: Instance, unique: str) -> None:
    httpx.get(f"{shared.url}/set/{unique}a%2Fb/x%2Fy", headers=_auth(shared))
    assert call(shared, ["GET", f"{unique}a/b"]).json() == {"result": "x/y"}


def test_segments_are_percent_decoded(shared: Instance, unique: str) -> None:
    httpx.get(f"{shared.url}/set/{unique}k/hello%20world%3F%23", headers=_auth(shared))
    assert call(shared, ["GET", f"{unique}k"]).json() == {"result": "hello world?#"}


def test_plus_in_path_stays_plus(shared: Instance, unique: str) -> None:
    httpx.get(f"{shared.url}/set/{unique}k/a+b", headers=_auth(shared))
    assert call(shared, ["GET", f"{unique}k"]).json() == {"result": "a+b"}


def test_post_body_is_last_argument(shared: Instance, unique: str) -> None:
    httpx.post(
        f"{shared.url}/set/{unique}k", content=b'{"raw": "json"}', headers=_auth(shared)
    )
    assert call(shared, ["GET", f"{unique}k"]).json() == {"result": '{"raw": "json"}'}


def test_query_parameters_follow_the_body(shared: Instance, unique: str) -> None:
    httpx.post(
        f"{shared.url}/set/{unique}k?EX=100", content=b"value", headers=_auth(shared)
    )
    assert call(shared, ["GET", f"{unique}k"]).json() == {"result": "value"}
    assert call(shared, ["TTL", f"{unique}k"]).json() == {"result": 100}


def test_query_token_is_not_an_argument(shared: Instance, unique: str) -> None:
    response = httpx.get(f"{shared.url}/set/{unique}k/v?_token={shared.token}")
    assert response.json() == {"result": "OK"}
    assert call(shared, ["GET", f"{unique}k"]).json() == {"result": "v"}


def test_query_token_between_parameters_is_dropped(
    shared: Instance, unique: str
) -> None:
    url = f"{shared.url}/set/{unique}k/v?EX=50&_token={shared.token}&NX="
    response = httpx.get(url)
    # "NX" with an empty value would be a syntax error; only EX 50 must arrive.
    assert response.status_code == 400
    assert call(shared, ["EXISTS", f"{unique}k"]).json() == {"result": 0}


def test_path_read_returns_value(shared: Instance, unique: str) -> None:
    call(shared, ["SET", f"{unique}k", "stored"])
    response = httpx.get(f"{shared.url}/get/{unique}k", headers=_auth(shared))
    assert response.json() == {"result": "stored"}


def test_path_command_name_is_case_insensitive(shared: Instance, unique: str) -> None:
    response = httpx.get(f"{shared.url}/SeT/{unique}k/v", headers=_auth(shared))
    assert response.json() == {"result": "OK"}


def test_path_error_is_400_json(shared: Instance, unique: str) -> None:
    response = httpx.get(f"{shared.url}/incr/{unique}k/extra", headers=_auth(shared))
    assert response.status_code == 400
    assert set(response.json()) == {"error"}


@pytest.mark.parametrize("method", ["DELETE", "PATCH", "OPTIONS"])
def test_other_methods_get_405_json(method: str, shared: Instance, unique: str) -> None:
    response = httpx.request(
        method, f"{shared.url}/get/{unique}k", headers=_auth(shared)
    )
    assert response.status_code == 405
    assert set(response.json()) == {"error"}


def test_405_on_path_lists_path_methods(shared: Instance, unique: str) -> None:
    response = httpx.delete(f"{shared.url}/get/{unique}k", headers=_auth(shared))
    assert response.headers["allow"] == "GET, HEAD, POST, PUT"


def test_get_on_base_url_is_405(shared: Instance) -> None:
    response = httpx.get(shared.url, headers=_auth(shared))
    assert response.status_code == 405
    assert response.headers["allow"] == "POST"
