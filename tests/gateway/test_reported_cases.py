"""Inputs that broke other Redis-over-HTTP servers or clients, one test each."""

from __future__ import annotations

import base64
import contextlib
import os
import signal
import time
from pathlib import Path

import httpx
import pytest

from tests.conftest import call
from tests.gateway.conftest import SMALL_LIMIT_BYTES, json_body_of_size, valkey_pids
from tests.gateway.raw_http import RawConnection, request_bytes
from tests.gateway_process import Gateway, Instance


def test_astral_character_round_trips_as_json(shared: Instance, unique: str) -> None:
    call(shared, ["SET", f"{unique}k", "🫶 ok"])
    response = call(shared, ["GET", f"{unique}k"])
    assert response.json() == {"result": "🫶 ok"}


def test_base64_covers_bulk_and_status_replies(shared: Instance, unique: str) -> None:
    call(shared, ["SET", f"{unique}k", "raw"])
    value = call(shared, ["GET", f"{unique}k"], base64=True).json()
    pong = call(shared, ["PING"], base64=True).json()
    assert value == {"result": base64.b64encode(b"raw").decode()}
    assert pong == {"result": "UE9ORw=="}


def _valkey_pid(directory: Path) -> int:
    """Find the valkey-server process whose working directory is ``directory``."""
    for pid in valkey_pids():
        with contextlib.suppress(OSError):
            if Path(f"/proc/{pid}/cwd").resolve() == directory.resolve():
                return pid
    raise LookupError(f"no valkey-server runs in {directory}")


def _wait_exited(pid: int, timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            state = Path(f"/proc/{pid}/stat").read_text().split(") ", 1)[1][0]
        except (OSError, IndexError):
            return
        if state == "Z":
            return
        time.sleep(0.01)
    raise TimeoutError(f"process {pid} did not exit")


def _first_success(instance: Instance, timeout: float) -> httpx.Response:
    deadline = time.monotonic() + timeout
    while True:
        response = call(instance, ["GET", "survivor"])
        if response.status_code == 200 or time.monotonic() > deadline:
            return response
        time.sleep(0.1)


def test_killed_valkey_gives_fast_503_then_recovers(
    gateway: Gateway, fresh: Instance
) -> None:
    call(fresh, ["SET", "survivor", "yes"])
    directory = gateway.data_dir / "instances" / fresh.tenant / fresh.instance
    pid = _valkey_pid(directory)
    os.kill(pid, signal.SIGKILL)
    _wait_exited(pid)

    started = time.monotonic()
    response = httpx.post(
        fresh.url,
        json=["GET", "survivor"],
        headers={"Authorization": f"Bearer {fresh.token}"},
        timeout=5.0,
    )
    elapsed = time.monotonic() - started
    assert response.status_code == 503
    assert set(response.json()) == {"error"}
    assert elapsed < 1.0

    recovered = _first_success(fresh, timeout=15.0)
    assert recovered.json() == {"result": "yes"}
    assert gateway.process is not None
    assert gateway.process.poll() is None


@pytest.mark.parametrize("body", [b"", b"{}", b"[]", b"[[]]", b"not json"])
def test_unparsable_body_is_4xx_json(body: bytes, shared: Instance) -> None:
    response = httpx.post(
        shared.url, content=body, headers={"Authorization": f"Bearer {shared.token}"}
    )
    assert 400 <= response.status_code < 500
    assert set(response.json()) == {"error"}


def test_pipeline_failure_in_middle_keeps_others(shared: Instance, unique: str) -> None:
    call(shared, ["SET", f"{unique}text", "not a number"])
    body = [
        ["SET", f"{unique}a", "1"],
        ["INCR", f"{unique}text"],
        ["GET", f"{unique}a"],
    ]
    response = call(shared, body, path="/pipeline")
    assert response.status_code == 200
    assert response.json() == [
        {"result": "OK"},
        {"error": "ERR value is not an integer or out of range"},
        {"result": "1"},
    ]


def test_body_over_limit_is_413_on_open_connection(
    gateway: Gateway, small_limit: Instance
) -> None:
    body = json_body_of_size(SMALL_LIMIT_BYTES + 1)
    path = f"/v1/redis/{small_limit.tenant}/{small_limit.instance}"
    with RawConnection(gateway.port) as connection:
        connection.send(request_bytes("POST", path, token=small_limit.token, body=body))
        rejected = connection.read_response()
        connection.send(
            request_bytes("POST", path, token=small_limit.token, body=b'["PING"]')
        )
        after = connection.read_response()
    assert rejected.status == 413
    assert set(rejected.json()) == {"error"}  # type: ignore[arg-type]
    assert after.json() == {"result": "PONG"}


def test_binary_value_through_path_round_trips(shared: Instance, unique: str) -> None:
    value = bytes(range(256))
    encoded = "".join(f"%{byte:02X}" for byte in value)
    httpx.post(
        f"{shared.url}/set/{unique}bin/{encoded}",
        headers={"Authorization": f"Bearer {shared.token}"},
    )
    response = call(shared, ["GET", f"{unique}bin"], base64=True)
    assert base64.b64decode(response.json()["result"]) == value


@pytest.mark.parametrize("size", [4 * 1024 + 1, 2**20])
def test_large_body_is_answered_at_once(
    size: int, shared: Instance, unique: str
) -> None:
    body = json_body_of_size(size, f"{unique}big")
    started = time.monotonic()
    response = httpx.post(
        shared.url,
        content=body,
        headers={"Authorization": f"Bearer {shared.token}"},
        timeout=5.0,
    )
    assert response.json() == {"result": "OK"}
    assert time.monotonic() - started < 1.0


def test_other_tenant_token_is_denied(shared: Instance, fresh: Instance) -> None:
    call(fresh, ["SET", "mine", "b"])
    response = call(
        Instance(fresh.tenant, fresh.instance, fresh.url, shared.token, ""),
        ["SET", "mine", "stolen"],
    )
    assert response.status_code in (401, 403)
    assert set(response.json()) == {"error"}
    assert call(fresh, ["GET", "mine"]).json() == {"result": "b"}


def test_integer_beyond_float_precision_keeps_digits(
    shared: Instance, unique: str
) -> None:
    response = call(shared, ["INCRBY", f"{unique}n", "9007199254740993"])
    assert response.content == b'{"result":9007199254740993}'
    assert call(shared, ["GET", f"{unique}n"]).json() == {"result": "9007199254740993"}
