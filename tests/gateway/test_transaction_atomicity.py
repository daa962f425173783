"""Transactions stay atomic while other requests share their connection."""

from __future__ import annotations

import asyncio

import httpx

from tests.gateway_process import Instance


async def _increment_twice(client: httpx.AsyncClient, key: str) -> list[object]:
    body = [["INCR", key], ["INCR", key]]
    response = await client.post("/multi-exec", json=body)
    assert response.status_code == 200, response.text
    return [item["result"] for item in response.json()]


async def _concurrent(shared: Instance, unique: str) -> list[list[object]]:
    key = f"{unique}counter"
    headers = {"Authorization": f"Bearer {shared.token}"}
    limits = httpx.Limits(max_connections=50)
    async with httpx.AsyncClient(
        base_url=shared.url, headers=headers, limits=limits, timeout=30.0
    ) as client:
        noise = [client.post("/", json=["INCR", f"{unique}noise"]) for _ in range(50)]
        work = [_increment_twice(client, key) for _ in range(50)]
        results = await asyncio.gather(*work, *noise)
    return results[:50]


def test_concurrent_transactions_do_not_interleave(
    shared: Instance, unique: str
) -> None:
    pairs = asyncio.run(_concurrent(shared, unique))
    for first, second in pairs:
        assert isinstance(first, int)
        assert second == first + 1


def test_concurrent_transactions_use_every_value_once(
    shared: Instance, unique: str
) -> None:
    pairs = asyncio.run(_concurrent(shared, unique))
    values = sorted(value for pair in pairs for value in pair)
    assert values == list(range(1, 101))
