"""HTTP/1.1 connection handling: keep-alive, pipelining, chunked and slow bodies."""

from __future__ import annotations

import time

import httpx

from tests.gateway.raw_http import RawConnection, chunked, request_bytes
from tests.gateway_process import Gateway, Instance


def _path(instance: Instance, suffix: str = "") -> str:
    return f"/v1/redis/{instance.tenant}/{instance.instance}{suffix}"


def test_keep_alive_serves_many_requests(gateway: Gateway, shared: Instance) -> None:
    with RawConnection(gateway.port) as connection:
        for n in range(200):
            body = b'["ECHO","%d"]' % n
            connection.send(
                request_bytes("POST", _path(shared), token=shared.token, body=body)
            )
            assert connection.read_response().json() == {"result": str(n)}


def test_httpx_client_reuses_one_connection(shared: Instance) -> None:
    ports = set()
    with httpx.Client(headers={"Authorization": f"Bearer {shared.token}"}) as client:
        for _ in range(20):
            response = client.post(shared.url, json=["PING"], extensions={})
            stream = response.extensions["network_stream"]
            ports.add(stream.get_extra_info("client_addr"))
    assert len(ports) == 1


def test_pipelined_requests_are_answered_in_order(
    gateway: Gateway, shared: Instance
) -> None:
    requests = b"".join(
        request_bytes(
            "POST", _path(shared), token=shared.token, body=b'["ECHO","%d"]' % n
        )
        for n in range(10)
    )
    with RawConnection(gateway.port) as connection:
        connection.send(requests)
        results = [connection.read_response().json() for _ in range(10)]
    assert results == [{"result": str(n)} for n in range(10)]


def test_pipelined_slow_and_fast_requests_keep_order(
    gateway: Gateway, shared: Instance, unique: str
) -> None:
    # The first request is a 1000-command pipeline, the second a PING.
    pipeline = b"[" + b",".join([b'["INCR","%sn"]' % unique.encode()] * 1000) + b"]"
    first = request_bytes(
        "POST", _path(shared, "/pipeline"), token=shared.token, body=pipeline
    )
    second = request_bytes("POST", _path(shared), token=shared.token, body=b'["PING"]')
    with RawConnection(gateway.port) as connection:
        connection.send(first + second)
        answers = [connection.read_response().json() for _ in range(2)]
    assert isinstance(answers[0], list)
    assert answers[1] == {"result": "PONG"}


def test_chunked_body_is_read_whole(
    gateway: Gateway, shared: Instance, unique: str
) -> None:
    value = "v" * 5000
    body = b'["SET","%sk","%s"]' % (unique.encode(), value.encode())
    request = request_bytes(
        "POST",
        _path(shared),
        token=shared.token,
        body=chunked(body, 700),
        headers={"Transfer-Encoding": "chunked"},
    )
    check = request_bytes(
        "POST",
        _path(shared),
        token=shared.token,
        body=b'["STRLEN","%sk"]' % unique.encode(),
    )
    with RawConnection(gateway.port) as connection:
        connection.send(request + check)
        stored = connection.read_response().json()
        length = connection.read_response().json()
    assert stored == {"result": "OK"}
    assert length == {"result": 5000}


def test_slow_client_body_in_pieces(
    gateway: Gateway, shared: Instance, unique: str
) -> None:
    body = b'["SET","%sslow","assembled from pieces"]' % unique.encode()
    head = request_bytes("POST", _path(shared), token=shared.token, body=body)[
        : -len(body)
    ]
    with RawConnection(gateway.port) as connection:
        connection.send(head)
        for start in range(0, len(body), 7):
            time.sleep(0.03)
            connection.send(body[start : start + 7])
        response = connection.read_response()
    assert response.json() == {"result": "OK"}


def test_slow_client_does_not_block_others(gateway: Gateway, shared: Instance) -> None:
    body = b'["PING"]'
    head = request_bytes("POST", _path(shared), token=shared.token, body=body)[
        : -len(body)
    ]
    with RawConnection(gateway.port) as slow:
        slow.send(head + body[:3])
        started = time.monotonic()
        response = httpx.post(
            shared.url,
            json=["PING"],
            headers={"Authorization": f"Bearer {shared.token}"},
        )
        elapsed = time.monotonic() - started
        slow.send(body[3:])
        slow_response = slow.read_response()
    assert response.json() == {"result": "PONG"}
    assert elapsed < 1.0
    assert slow_response.json() == {"result": "PONG"}


def test_slow_headers_are_accepted(gateway: Gateway, shared: Instance) -> None:
    request = request_bytes("POST", _path(shared), token=shared.token, body=b'["PING"]')
    with RawConnection(gateway.port) as connection:
        for start in range(0, len(request), 40):
            connection.send(request[start : start + 40])
            time.sleep(0.01)
        response = connection.read_response()
    assert response.json() == {"result": "PONG"}


def test_http_1_0_request_is_answered(gateway: Gateway, shared: Instance) -> None:
    request = request_bytes("POST", _path(shared), token=shared.token, body=b'["PING"]')
    request = request.replace(b"HTTP/1.1", b"HTTP/1.0", 1)
    with RawConnection(gateway.port) as connection:
        connection.send(request)
        response = connection.read_response()
    assert response.json() == {"result": "PONG"}
