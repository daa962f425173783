"""Per-tenant usage counters, shared by all gateway workers through valkey.

Each worker adds up its requests in memory and flushes the sums once a
second to the system valkey with ``HINCRBY``, so counting costs the hot path
no round trip. ``/metrics`` and the admin API read the sums back, which makes
them correct across worker processes, and deleting a tenant deletes its hash,
which removes its metric series.

Layout in the system valkey (``<t>`` is a tenant id)::

    usage:<t>          hash  field "<kind>|<instance>|..." -> count
    commands:<t>:<m>   int   commands in minute <m> (epoch minutes), 2 min TTL
    storage            hash  tenant -> bytes on disk (written by the supervisor,
                             see ``kubegateway.backends.embedded.supervising``)
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import time
from collections.abc import Callable

import structlog

from kubegateway.gateway.connections import ConnectionPool
from kubegateway.protocol.resp import Command

log = structlog.get_logger("kubegateway.usage")

FLUSH_INTERVAL_SECONDS = 1.0
# Upper bounds of the latency histogram, in seconds.
LATENCY_BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1.0, 5.0)


def usage_key(tenant: str) -> bytes:
    return f"usage:{tenant}".encode()


def commands_key(tenant: str, minute: int) -> bytes:
    return f"commands:{tenant}:{minute}".encode()


class UsageRecorder:
    """In-memory sums of one worker, flushed to the shared valkey."""

    def __init__(self, pool: ConnectionPool, is_tenant: Callable[[str], bool]) -> None:
        self._pool = pool
        # Counts of a tenant deleted since they were recorded are dropped at
        # flush time, so a removed tenant's series do not come back.
        self._is_tenant = is_tenant
        self._counts: collections.Counter[tuple[str, str]] = collections.Counter()
        self._commands: collections.Counter[str] = collections.Counter()
        self._task: asyncio.Task[None] | None = None

    def record(
        self,
        tenant: str,
        instance: str,
        command_class: str,
        status: int,
        seconds: float,
        commands: int,
        bytes_in: int,
        bytes_out: int,
    ) -> None:
        counts = self._counts
        counts[(tenant, f"requests|{instance}|{command_class}|{status}")] += 1
        counts[(tenant, f"bytes_in|{instance}")] += bytes_in
        counts[(tenant, f"bytes_out|{instance}")] += bytes_out
        counts[(tenant, f"latency_us_sum|{instance}")] += int(seconds * 1e6)
        bucket = next((b for b in LATENCY_BUCKETS if seconds <= b), float("inf"))
        counts[(tenant, f"latency_bucket|{instance}|{bucket}")] += 1
        if status == 429:
            counts[(tenant, f"rate_limited|{instance}")] += 1
        if status == 200 and commands:
            self._commands[tenant] += commands

    def start(self) -> None:
        self._task = asyncio.get_running_loop().create_task(self._run())

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        await self.flush()

    async def _run(self) -> None:
        while True:
            await asyncio.sleep(FLUSH_INTERVAL_SECONDS)
            try:
                await self.flush()
            except Exception as error:  # keep counting; the next flush retries
                log.warning("Usage flush failed.", error=str(error))

    async def flush(self) -> None:
        if not self._counts and not self._commands:
            return
        counts, self._counts = self._counts, collections.Counter()
        commands, self._commands = self._commands, collections.Counter()
        minute = int(time.time() // 60)
        batch: list[Command] = []
        for (tenant, field), amount in counts.items():
            if not self._is_tenant(tenant):
                continue
            batch.append(
                [b"HINCRBY", usage_key(tenant), field.encode(), b"%d" % amount]
            )
        for tenant, amount in commands.items():
            if not self._is_tenant(tenant):
                continue
            key = commands_key(tenant, minute)
            batch.append([b"INCRBY", key, b"%d" % amount])
            batch.append([b"EXPIRE", key, b"120"])
        if not batch:
            return
        try:
            await self._pool.execute(batch)
        except Exception:
            # Put the sums back so a short outage loses no counts.
            self._counts.update(counts)
            self._commands.update(commands)
            raise
