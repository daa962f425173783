"""The tenant's ``max_request_size`` quota: 413 with JSON, never a reset."""

from __future__ import annotations

import httpx

from tests.gateway.conftest import SMALL_LIMIT_BYTES, json_body_of_size
from tests.gateway.raw_http import RawConnection, chunked, request_bytes
from tests.gateway_process import Gateway, Instance


def _path(instance: Instance) -> str:
    return f"/v1/redis/{instance.tenant}/{instance.instance}"


def test_body_at_limit_is_accepted(small_limit: Instance) -> None:
    body = json_body_of_size(SMALL_LIMIT_BYTES)
    response = httpx.post(
        small_limit.url,
        content=body,
        headers={"Authorization": f"Bearer {small_limit.token}"},
    )
    assert response.json() == {"result": "OK"}


def test_body_one_byte_over_is_413_json(small_limit: Instance) -> None:
    body = json_body_of_size(SMALL_LIMIT_BYTES + 1)
    response = httpx.post(
        small_limit.url,
        content=body,
        headers={"Authorization": f"Bearer {small_limit.token}"},
    )
    assert response.status_code == 413
    assert set(response.json()) == {"error"}


def test_413_names_the_limit(small_limit: Instance) -> None:
    body = json_body_of_size(SMALL_LIMIT_BYTES + 1)
    response = httpx.post(
        small_limit.url,
        content=body,
        headers={"Authorization": f"Bearer {small_limit.token}"},
    )
    assert str(SMALL_LIMIT_BYTES) in response.json()["error"]


def test_chunked_body_over_limit_is_413(
    gateway: Gateway, small_limit: Instance
) -> None:
    # No Content-Length, so the gateway only learns the size while reading.
    body = chunked(json_body_of_size(SMALL_LIMIT_BYTES * 3), 300)
    request = request_bytes(
        "POST",
        _path(small_limit),
        token=small_limit.token,
        body=body,
        headers={"Transfer-Encoding": "chunked"},
    )
    with RawConnection(gateway.port) as connection:
        connection.send(request)
        response = connection.read_response()
        connection.send(
            request_bytes(
                "POST", _path(small_limit), token=small_limit.token, body=b'["PING"]'
            )
        )
        after = connection.read_response()
    assert response.status == 413
    assert after.json() == {"result": "PONG"}


def test_pipeline_over_limit_is_413(gateway: Gateway, small_limit: Instance) -> None:
    body = b"[" + b",".join([b'["PING"]'] * 200) + b"]"
    response = httpx.post(
        f"{small_limit.url}/pipeline",
        content=body,
        headers={"Authorization": f"Bearer {small_limit.token}"},
    )
    assert response.status_code == 413


def test_path_style_body_over_limit_is_413(small_limit: Instance) -> None:
    response = httpx.post(
        f"{small_limit.url}/set/k",
        content=b"x" * (SMALL_LIMIT_BYTES + 1),
        headers={"Authorization": f"Bearer {small_limit.token}"},
    )
    assert response.status_code == 413


def test_expect_continue_over_limit_gets_413_first(
    gateway: Gateway, small_limit: Instance
) -> None:
    # curl sends "Expect: 100-continue" before large bodies. The gateway
    # rejects at once instead of inviting a body it will not accept.
    headers = {
        "Content-Length": str(SMALL_LIMIT_BYTES * 4),
        "Expect": "100-continue",
    }
    request = request_bytes(
        "POST", _path(small_limit), token=small_limit.token, headers=headers
    )
    with RawConnection(gateway.port) as connection:
        connection.send(request)
        response = connection.read_response()
        closed = connection.is_closed_by_server()
    assert response.status == 413
    assert set(response.json()) == {"error"}  # type: ignore[arg-type]
    assert closed


def test_expect_continue_within_limit_gets_100(
    gateway: Gateway, small_limit: Instance
) -> None:
    body = b'["PING"]'
    headers = {"Content-Length": str(len(body)), "Expect": "100-continue"}
    request = request_bytes(
        "POST", _path(small_limit), token=small_limit.token, headers=headers
    )
    with RawConnection(gateway.port) as connection:
        connection.send(request)
        interim = connection.read_response()
        connection.send(body)
        final = connection.read_response()
    assert interim.status == 100
    assert final.json() == {"result": "PONG"}


def test_expect_continue_bad_token_gets_401_first(
    gateway: Gateway, small_limit: Instance
) -> None:
    headers = {"Content-Length": "100", "Expect": "100-continue"}
    request = request_bytes("POST", _path(small_limit), token="wrong", headers=headers)
    with RawConnection(gateway.port) as connection:
        connection.send(request)
        response = connection.read_response()
    assert response.status == 401


def test_curl_large_upload_over_limit_is_413(small_limit: Instance, tmp_path) -> None:  # type: ignore[no-untyped-def]
    import subprocess

    upload = tmp_path / "body.json"
    upload.write_bytes(json_body_of_size(2 * 2**20))
    result = subprocess.run(
        [
            "curl",
            "-sS",
            "--max-time",
            "10",
            "-o",
            "-",
            "-w",
            "\n%{http_code}",
            "-H",
            f"Authorization: Bearer {small_limit.token}",
            "--data-binary",
            f"@{upload}",
            small_limit.url,
        ],
        capture_output=True,
        check=False,
    )
    body, _, status = result.stdout.rpartition(b"\n")
    assert result.returncode == 0, result.stderr
    assert status == b"413"
    assert b'"error"' in body
