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
import bisect
import collections
import contextlib
import time
from collections.abc import Callable, Iterator

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


class _Sums:
    """Counts of one tenant's instance since the last flush."""

    __slots__ = (
        "buckets",
        "bytes_in",
        "bytes_out",
        "latency_us",
        "limited",
        "requests",
    )

    def __init__(self) -> None:
        self.requests: collections.Counter[tuple[str, int]] = collections.Counter()
        self.bytes_in = 0
        self.bytes_out = 0
        self.latency_us = 0
        self.buckets = [0] * (len(LATENCY_BUCKETS) + 1)
        self.limited = 0

    def fields(self, instance: str) -> Iterator[tuple[str, int]]:
        """Yield the hash fields and amounts to add, skipping zeros."""
        for (command_class, status), count in self.requests.items():
            yield f"requests|{instance}|{command_class}|{status}", count
        yield f"bytes_in|{instance}", self.bytes_in
        yield f"bytes_out|{instance}", self.bytes_out
        yield f"latency_us_sum|{instance}", self.latency_us
        bounds = [*LATENCY_BUCKETS, float("inf")]
        for bound, count in zip(bounds, self.buckets, strict=True):
            if count:
                yield f"latency_bucket|{instance}|{bound}", count
        if self.limited:
            yield f"rate_limited|{instance}", self.limited


class UsageRecorder:
    """In-memory sums of one worker, flushed to the shared valkey.

    ``record`` runs once per request, so it only adds numbers; the hash field
    names are built once per flush.
    """

    def __init__(self, pool: ConnectionPool, is_tenant: Callable[[str], bool]) -> None:
        self._pool = pool
        # Counts of a tenant deleted since they were recorded are dropped at
        # flush time, so a removed tenant's series do not come back.
        self._is_tenant = is_tenant
        self._sums: dict[tuple[str, str], _Sums] = {}
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
        key = (tenant, instance)
        sums = self._sums.get(key)
        if sums is None:
            sums = self._sums[key] = _Sums()
        sums.requests[(command_class, status)] += 1
        sums.bytes_in += bytes_in
        sums.bytes_out += bytes_out
        sums.latency_us += int(seconds * 1e6)
        sums.buckets[bisect.bisect_left(LATENCY_BUCKETS, seconds)] += 1
        if status == 429:
            sums.limited += 1
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
        if not self._sums and not self._commands:
            return
        sums, self._sums = self._sums, {}
        commands, self._commands = self._commands, collections.Counter()
        minute = int(time.time() // 60)
        batch: list[Command] = []
        for (tenant, instance), counted in sums.items():
            if not self._is_tenant(tenant):
                continue
            hash_key = usage_key(tenant)
            for field, amount in counted.fields(instance):
                batch.append([b"HINCRBY", hash_key, field.encode(), b"%d" % amount])
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
            for owner, counted in sums.items():
                self._merge(owner, counted)
            self._commands.update(commands)
            raise

    def _merge(self, key: tuple[str, str], counted: _Sums) -> None:
        current = self._sums.get(key)
        if current is None:
            self._sums[key] = counted
            return
        current.requests.update(counted.requests)
        current.bytes_in += counted.bytes_in
        current.bytes_out += counted.bytes_out
        current.latency_us += counted.latency_us
        current.buckets = [
            a + b for a, b in zip(current.buckets, counted.buckets, strict=True)
        ]
        current.limited += counted.limited
