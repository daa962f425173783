"""The gateway's own HTTP/1.1 protocol: bad bytes, upgrades, idle and slow readers."""

from __future__ import annotations

import json
import time
from pathlib import Path

import httpx

from tests.gateway.raw_http import RawConnection, request_bytes
from tests.gateway_process import Gateway, Instance


def test_garbage_bytes_get_json_400(gateway: Gateway) -> None:
    with RawConnection(gateway.port) as connection:
        connection.send(b"\x16\x03\x01 not http at all\r\n\r\n")
        response = connection.read_response()
        assert response.status == 400
        assert "not valid HTTP" in str(response.json())
        assert connection.is_closed_by_server()


def test_upgrade_request_gets_json_400(gateway: Gateway, shared: Instance) -> None:
    path = shared.url.removeprefix(gateway.url)
    with RawConnection(gateway.port) as connection:
        connection.send(
            request_bytes(
                "GET",
                f"{path}/ping",
                token=shared.token,
                headers={"Connection": "Upgrade", "Upgrade": "websocket"},
            )
        )
        response = connection.read_response()
        assert response.status == 400
        assert "upgrade" in str(response.json())


def test_idle_keep_alive_connection_is_closed(
    gateway: Gateway, shared: Instance
) -> None:
    path = shared.url.removeprefix(gateway.url)
    with RawConnection(gateway.port, timeout=10) as connection:
        connection.send(request_bytes("GET", f"{path}/ping", token=shared.token))
        assert connection.read_response().status == 200
        assert not connection.is_closed_by_server(wait=1.0)
        # uvicorn's default keep-alive timeout is 5 seconds.
        assert connection.is_closed_by_server(wait=6.0)


def test_slow_reader_gets_every_reply_in_order(
    gateway: Gateway, shared: Instance, unique: str
) -> None:
    path = shared.url.removeprefix(gateway.url)
    value = "v" * 200_000
    headers = {"Authorization": f"Bearer {shared.token}"}
    httpx.post(shared.url, json=["SET", f"{unique}big", value], headers=headers)
    count = 60
    with RawConnection(gateway.port, timeout=30) as connection:
        batch = b"".join(
            request_bytes("GET", f"{path}/get/{unique}big", token=shared.token)
            for _ in range(count - 1)
        )
        connection.send(
            batch + request_bytes("GET", f"{path}/echo/last", token=shared.token)
        )
        # Twelve megabytes of replies wait while this client does not read.
        time.sleep(1.0)
        replies = [connection.read_response() for _ in range(count)]
    assert all(reply.status == 200 for reply in replies)
    assert json.loads(replies[0].body) == {"result": value}
    assert json.loads(replies[-1].body) == {"result": "last"}


def test_head_request_has_length_but_no_body(
    gateway: Gateway, shared: Instance
) -> None:
    response = httpx.head(
        f"{shared.url}/ping", headers={"Authorization": f"Bearer {shared.token}"}
    )
    assert response.status_code == 200
    assert response.headers["content-length"] == str(len(b'{"result":"PONG"}'))
    assert response.content == b""


def test_admin_api_errors_are_json_through_bridge(gateway: Gateway) -> None:
    response = httpx.post(f"{gateway.url}/v1/tenants", content=b"x" * 10)
    assert response.status_code == 401
    assert response.headers["content-type"] == "application/json"
    assert "error" in response.json()


def test_oversized_headers_get_json_431(gateway: Gateway, shared: Instance) -> None:
    path = shared.url.removeprefix(gateway.url)
    with RawConnection(gateway.port) as connection:
        connection.send(
            request_bytes(
                "GET",
                f"{path}/ping",
                token=shared.token,
                headers={"X-Padding": "p" * 70_000},
            )
        )
        response = connection.read_response()
        assert response.status == 431
        assert "headers" in str(response.json())
        assert connection.is_closed_by_server()


def test_trickled_request_times_out(tmp_path: Path) -> None:
    server = Gateway(tmp_path / "data", env={"KUBEGATEWAY_HTTP_REQUEST_TIMEOUT": "2"})
    server.start()
    try:
        with RawConnection(server.port, timeout=15) as connection:
            connection.send(b"GET /healthz HTTP/1.1\r\nHost: x\r\n")
            for _ in range(3):
                time.sleep(1)
                connection.send(b"X-Slow: 1\r\n")
            response = connection.read_response()
            assert response.status == 408
            assert connection.is_closed_by_server()
    finally:
        server.stop()


def test_unauthenticated_body_gets_401_after_upload(
    gateway: Gateway, shared: Instance
) -> None:
    path = shared.url.removeprefix(gateway.url)
    with RawConnection(gateway.port, timeout=30) as connection:
        connection.send(request_bytes("POST", path, body=b"x" * 5_000_000))
        response = connection.read_response()
        assert response.status == 401
        connection.send(request_bytes("GET", f"{path}/ping", token=shared.token))
        assert connection.read_response().status == 200
