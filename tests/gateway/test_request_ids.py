"""Request ids on the data path: returned to the caller and written to the log."""

from __future__ import annotations

import json
import time

import httpx

from tests.gateway_process import Gateway, Instance


def test_caller_request_id_is_echoed(shared: Instance) -> None:
    response = httpx.post(
        shared.url,
        json=["PING"],
        headers={"Authorization": f"Bearer {shared.token}", "x-request-id": "abc-1"},
    )
    assert response.headers["x-request-id"] == "abc-1"


def test_unsafe_request_id_is_replaced(shared: Instance) -> None:
    response = httpx.post(
        shared.url,
        json=["PING"],
        headers={
            "Authorization": f"Bearer {shared.token}",
            "x-request-id": "has space",
        },
    )
    assert response.headers["x-request-id"] != "has space"
    assert response.headers["x-request-id"]


def test_rejected_request_is_logged_with_ids(
    gateway: Gateway, shared: Instance
) -> None:
    response = httpx.post(
        shared.url,
        json=["CONFIG", "GET", "*"],
        headers={"Authorization": "Bearer kgt_0123456789abcdef_wrong"},
    )
    request_id = response.headers["x-request-id"]
    deadline = time.monotonic() + 5
    while True:
        lines = [
            json.loads(line)
            for line in gateway.log_path.read_text().splitlines()
            if request_id in line
        ]
        if lines or time.monotonic() > deadline:
            break
        time.sleep(0.1)
    assert len(lines) == 1
    assert lines[0]["tenant"] == shared.tenant
    assert lines[0]["instance"] == shared.instance
    assert lines[0]["status"] == 401
    assert "kgt_" not in json.dumps(lines[0])
