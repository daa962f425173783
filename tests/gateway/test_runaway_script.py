"""A tenant's endless script is stopped, and the instance serves again."""

from __future__ import annotations

import asyncio
import time

import httpx

from tests.gateway_process import Gateway


def test_endless_script_is_stopped(gateway: Gateway) -> None:
    target = gateway.create_instance("runaway", "db", memory="16Mi")
    headers = {"Authorization": f"Bearer {target.token}"}

    async def scenario() -> tuple[int, float]:
        async with httpx.AsyncClient(headers=headers, timeout=30) as client:
            looping = asyncio.create_task(
                client.post(target.url, json=["EVAL", "while true do end", "0"])
            )
            await asyncio.sleep(1.0)
            started = time.monotonic()
            while True:
                response = await client.post(target.url, json=["PING"])
                if response.status_code == 200:
                    break
                assert time.monotonic() - started < 20, response.text
                await asyncio.sleep(0.5)
            script = await looping
            return script.status_code, time.monotonic() - started

    script_status, recovered_after = asyncio.run(scenario())
    assert script_status in (400, 504)
    assert recovered_after < 20
