"""Quota enforcement: instances, memory, storage, connections, request rate."""

from __future__ import annotations

import asyncio
import time

import httpx

from tests.conftest import call
from tests.gateway_process import Gateway


def test_instance_count_limit_names_the_limit(gateway: Gateway) -> None:
    with gateway.admin() as client:
        client.post(
            "/v1/tenants", json={"id": "countq", "quota": {"max_instances": 1}}
        ).raise_for_status()
        first = client.post(
            "/v1/tenants/countq/instances", json={"id": "a", "memory": "8Mi"}
        )
        second = client.post(
            "/v1/tenants/countq/instances", json={"id": "b", "memory": "8Mi"}
        )
    assert first.status_code == 201
    assert second.status_code == 403
    assert second.json()["limit"] == "max_instances"
    assert "at most 1" in second.json()["error"]


def test_memory_limit_counts_all_instances(gateway: Gateway) -> None:
    with gateway.admin() as client:
        client.post(
            "/v1/tenants", json={"id": "memq", "quota": {"memory": "24Mi"}}
        ).raise_for_status()
        first = client.post(
            "/v1/tenants/memq/instances", json={"id": "a", "memory": "16Mi"}
        )
        second = client.post(
            "/v1/tenants/memq/instances", json={"id": "b", "memory": "16Mi"}
        )
        third = client.post(
            "/v1/tenants/memq/instances", json={"id": "c", "memory": "8Mi"}
        )
    assert first.status_code == 201
    assert second.status_code == 403
    assert second.json()["limit"] == "memory"
    assert third.status_code == 201


def test_storage_limit_blocks_writes_not_reads(gateway: Gateway) -> None:
    target = gateway.create_instance(
        "storageq", "db", memory="16Mi", quota={"storage": "64Ki"}
    )
    value = "x" * 4096
    for index in range(20):
        assert call(target, ["SET", f"k{index}", value]).status_code == 200
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        response = call(target, ["SET", "more", value])
        if response.status_code != 200:
            break
        time.sleep(0.3)
    assert response.status_code == 400
    assert "storage quota exceeded" in response.json()["error"]
    assert call(target, ["GET", "k1"]).json() == {"result": value}
    with gateway.admin() as client:
        summary = client.get("/v1/tenants/storageq/summary").json()
    assert summary["storage"]["used_bytes"] > 64 * 1024
    assert summary["storage"]["limit_bytes"] == 64 * 1024


def test_memory_is_measured_in_summary(gateway: Gateway) -> None:
    target = gateway.create_instance("measured", "db", memory="16Mi")
    call(target, ["SET", "big", "y" * 100_000])
    with gateway.admin() as client:
        summary = client.get("/v1/tenants/measured/summary").json()
    assert summary["memory"]["used_bytes"] > 100_000
    assert summary["memory"]["allocated_bytes"] == 16 * 2**20
    assert summary["instances"] == {"used": 1, "limit": 5}


def test_max_connections_rejects_excess_concurrency(gateway: Gateway) -> None:
    target = gateway.create_instance(
        "connq", "db", memory="16Mi", quota={"max_connections": 1}
    )
    # A Lua busy loop keeps the first request in flight for a moment.
    slow = ["EVAL", "local i = 0 while i < 60000000 do i = i + 1 end return i", "0"]

    async def both() -> tuple[int, int]:
        headers = {"Authorization": f"Bearer {target.token}"}
        async with httpx.AsyncClient(headers=headers, timeout=30) as client:
            first = asyncio.create_task(client.post(target.url, json=slow))
            await asyncio.sleep(0.5)
            second = await client.post(target.url, json=["PING"])
            return (await first).status_code, second.status_code

    first_status, second_status = asyncio.run(both())
    assert first_status == 200
    assert second_status == 429
    assert call(target, ["PING"]).status_code == 200


def test_request_rate_limit_counts_commands(gateway: Gateway) -> None:
    target = gateway.create_instance(
        "rateq", "db", memory="16Mi", quota={"requests_per_minute": 10}
    )
    pipeline = [["INCR", "n"]] * 8
    assert call(target, pipeline, path="/pipeline").status_code == 200
    assert call(target, ["INCR", "n"]).status_code == 200
    assert call(target, ["INCR", "n"]).status_code == 200
    limited = call(target, ["INCR", "n"])
    assert limited.status_code == 429
    assert 1 <= int(limited.headers["retry-after"]) <= 60
    assert "10 commands per minute" in limited.json()["error"]


def test_rejected_pipeline_does_not_use_budget(gateway: Gateway) -> None:
    target = gateway.create_instance(
        "rateq2", "db", memory="16Mi", quota={"requests_per_minute": 5}
    )
    too_big = [["PING"]] * 6
    assert call(target, too_big, path="/pipeline").status_code == 429
    assert call(target, [["PING"]] * 5, path="/pipeline").status_code == 200


def test_rate_limit_admits_exactly_the_limit(gateway: Gateway) -> None:
    target = gateway.create_instance(
        "rateexact", "db", memory="16Mi", quota={"requests_per_minute": 1000}
    )
    if time.time() % 60 > 50:
        # Start in a fresh minute so that one budget covers the whole test.
        time.sleep(60.5 - time.time() % 60)
    first_minute = int(time.time() // 60)
    batch = [["PING"]] * 300
    statuses = [call(target, batch, path="/pipeline").status_code for _ in range(4)]
    singles = 0
    while call(target, ["PING"]).status_code == 200:
        singles += 1
        assert singles <= 1000
    assert int(time.time() // 60) == first_minute
    assert statuses == [200, 200, 200, 429]
    assert singles == 100
