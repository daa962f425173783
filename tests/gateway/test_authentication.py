"""Who may call the data path: bearer tokens and ``?_token=``."""

from __future__ import annotations

import httpx
import pytest

from tests.conftest import call
from tests.gateway_process import Instance


def test_bearer_token_is_accepted(shared: Instance) -> None:
    assert call(shared, ["PING"]).json() == {"result": "PONG"}


def test_query_token_is_accepted(shared: Instance) -> None:
    response = httpx.post(f"{shared.url}?_token={shared.token}", json=["PING"])
    assert response.json() == {"result": "PONG"}


def test_query_token_works_for_pipeline(shared: Instance) -> None:
    response = httpx.post(
        f"{shared.url}/pipeline?_token={shared.token}", json=[["PING"]]
    )
    assert response.json() == [{"result": "PONG"}]


def test_missing_token_is_401_json(shared: Instance) -> None:
    response = httpx.post(shared.url, json=["PING"])
    assert response.status_code == 401
    assert set(response.json()) == {"error"}


@pytest.mark.parametrize(
    "credential",
    [
        "Bearer garbage",
        "Bearer kgt_",
        "Bearer kgt_0000000000000000_secret",
        "Basic dXNlcjpwYXNz",
        "bearer",
    ],
)
def test_bad_credential_is_401_json(credential: str, shared: Instance) -> None:
    response = httpx.post(
        shared.url, json=["PING"], headers={"Authorization": credential}
    )
    assert response.status_code == 401
    assert set(response.json()) == {"error"}


def test_wrong_secret_of_real_token_is_401(shared: Instance) -> None:
    forged = shared.token[:-4] + (
        "AAAA" if not shared.token.endswith("AAAA") else "BBBB"
    )
    response = call(shared, ["PING"], token=forged)
    assert response.status_code == 401


def test_bearer_scheme_is_case_insensitive(shared: Instance) -> None:
    response = httpx.post(
        shared.url, json=["PING"], headers={"Authorization": f"bearer {shared.token}"}
    )
    assert response.json() == {"result": "PONG"}


def test_401_carries_sync_token_header(shared: Instance) -> None:
    response = httpx.post(shared.url, json=["PING"])
    assert "upstash-sync-token" in response.headers
