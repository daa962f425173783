"""Requests-per-minute limits, counted in commands, shared by all workers.

The count lives in the system valkey under ``ratelimit:<tenant>:<minute>``,
so the limit holds across worker processes. A request adds its number of
commands (a pipeline of 100 counts 100) with one INCRBY; if the total passes
the limit the request is rejected and its commands are taken back off, so
rejected requests do not use up the budget. Windows are whole clock minutes:
a client can spend one minute's budget at the end of a minute and the next
one's at the start of the next.
"""

from __future__ import annotations

import time

from kubegateway.errors import RateLimited
from kubegateway.gateway.connections import ConnectionPool


class RateLimiter:
    def __init__(self, pool: ConnectionPool) -> None:
        self._pool = pool

    async def acquire(self, tenant: str, commands: int, limit: int) -> None:
        """Count ``commands`` for ``tenant``; raise RateLimited over ``limit``."""
        if limit <= 0:
            return
        now = time.time()
        key = f"ratelimit:{tenant}:{int(now // 60)}".encode()
        amount = b"%d" % commands
        replies = await self._pool.execute(
            [[b"INCRBY", key, amount], [b"EXPIRE", key, b"120"]]
        )
        total = replies[0]
        if isinstance(total, int) and total > limit:
            await self._pool.execute([[b"DECRBY", key, amount]])
            retry_after = max(1, 60 - int(now % 60))
            raise RateLimited(
                f"tenant {tenant!r} is over its limit of {limit} commands per "
                f"minute; retry after {retry_after} seconds",
                retry_after=retry_after,
            )
