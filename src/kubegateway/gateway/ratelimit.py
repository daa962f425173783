"""Requests-per-minute limits, counted in commands, shared by all workers.

The count lives in the system valkey under ``ratelimit:<tenant>:<minute>``,
so the limit applies across worker processes. A pipeline of 100 counts 100.
Windows are whole clock minutes, so a client can spend one minute's budget
at the end of a minute and the next one's at the start of the next.

A round trip to the shared counter per request would cost about a third of
the gateway's throughput. So each worker takes commands from the counter in
leases of about 1/64 of the limit per worker, at least what the request
needs, and spends them locally. The total admitted never exceeds the limit.
What a worker leased but did not spend when the minute ends is lost, so a
tenant spread over all workers may be admitted up to ``1/64`` less than its
limit in a minute; with small limits the lease is one command and the count
is exact.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from kubegateway.errors import RateLimited
from kubegateway.gateway.connections import ConnectionPool

LEASE_FRACTION = 64
MAX_LEASE = 1000


@dataclass(slots=True)
class _Allowance:
    minute: int
    remaining: int


class RateLimiter:
    def __init__(self, pool: ConnectionPool, workers: int = 1) -> None:
        self._pool = pool
        self._workers = max(1, workers)
        self._allowances: dict[str, _Allowance] = {}

    async def acquire(self, tenant: str, commands: int, limit: int) -> None:
        """Count ``commands`` for ``tenant``; raise RateLimited over ``limit``."""
        if limit <= 0:
            return
        now = time.time()
        minute = int(now // 60)
        allowance = self._allowances.get(tenant)
        if allowance is None or allowance.minute != minute:
            allowance = self._allowances[tenant] = _Allowance(minute, 0)
        if allowance.remaining < commands:
            await self._lease(tenant, allowance, commands, limit)
        if allowance.remaining < commands:
            retry_after = max(1, 60 - int(now % 60))
            raise RateLimited(
                f"tenant {tenant!r} is over its limit of {limit} commands per "
                f"minute; retry after {retry_after} seconds",
                retry_after=retry_after,
            )
        allowance.remaining -= commands

    async def _lease(
        self, tenant: str, allowance: _Allowance, commands: int, limit: int
    ) -> None:
        """Take more commands from the shared counter into ``allowance``."""
        missing = commands - allowance.remaining
        size = max(missing, min(MAX_LEASE, limit // (LEASE_FRACTION * self._workers)))
        key = f"ratelimit:{tenant}:{allowance.minute}".encode()
        replies = await self._pool.execute(
            [[b"INCRBY", key, b"%d" % size], [b"EXPIRE", key, b"120", b"NX"]]
        )
        total = replies[0]
        if not isinstance(total, int):
            raise RateLimited(
                "the rate limit counter is unavailable; retry shortly", retry_after=1
            )
        granted = size if total <= limit else max(0, limit - (total - size))
        if granted < size:
            # Give back what the limit does not cover, so other workers and
            # the rest of the minute can still use it.
            await self._pool.execute([[b"DECRBY", key, b"%d" % (size - granted)]])
        allowance.remaining += granted
