"""The ASGI application of one gateway worker process.

It sends ``/v1/redis/...`` to the bare data path and everything else to the
FastAPI admin app, so both share one port while the hot path skips the
framework. Start-up (lifespan) opens the state store, the connection to the
system valkey and the usage flusher; shutdown closes them.
"""

from __future__ import annotations

import asyncio
import contextlib
from pathlib import Path
from typing import Any

import structlog

from kubegateway.auth.authenticating import Authenticator
from kubegateway.auth.jwt_tokens import JwtSettings, JwtVerifier
from kubegateway.backends.embedded.supervising import STORAGE_KEY
from kubegateway.backends.embedded.valkey import ADMIN_USER
from kubegateway.backends.sqlite_store import SqliteStore
from kubegateway.control.api import create_admin_app
from kubegateway.control.service import TenantService
from kubegateway.gateway.connections import ConnectionPool, Endpoint
from kubegateway.gateway.datapath import (
    DataPath,
    Outcome,
    Receive,
    Scope,
    Send,
    Settings,
)
from kubegateway.gateway.directory import SqliteDirectory
from kubegateway.gateway.ratelimit import RateLimiter
from kubegateway.ids import TenantId
from kubegateway.observability.logging import configure_logging
from kubegateway.observability.usage import UsageRecorder
from kubegateway.observability.usage_reading import SystemValkey, UsageReader
from kubegateway.server.config import RunConfig
from kubegateway.tenancy.plans import PlanCatalog

log = structlog.get_logger("kubegateway.worker")

STORAGE_REFRESH_SECONDS = 1.0


def _jwt(config: RunConfig) -> JwtVerifier | None:
    if not (
        config.jwt_hs256_secret_file or config.jwt_jwks_file or config.jwt_jwks_url
    ):
        return None
    return JwtVerifier(
        JwtSettings(
            audience=config.jwt_audience,
            issuer=config.jwt_issuer,
            hs256_secret_file=Path(config.jwt_hs256_secret_file)
            if config.jwt_hs256_secret_file
            else None,
            jwks_file=Path(config.jwt_jwks_file) if config.jwt_jwks_file else None,
            jwks_url=config.jwt_jwks_url,
        )
    )


class WorkerApp:
    def __init__(self, config: RunConfig) -> None:
        configure_logging(config.log_format)
        self.config = config
        self.store = SqliteStore(config.database)
        self.plans = PlanCatalog(Path(config.plans_file) if config.plans_file else None)
        system = SystemValkey(config.system_port, config.system_password)
        self.usage = UsageReader(self.store, system)
        self.service = TenantService(self.store, self.plans, Path(config.data_dir))
        self.admin = create_admin_app(
            self.service,
            Authenticator(self.store, _jwt(config)),
            self.usage,
            config.base_url,
        )
        # A connection of its own: SQLite's data_version only changes for
        # commits made by other connections, including this worker's admin API.
        self.directory = SqliteDirectory(SqliteStore(config.database), self.plans)
        self.datapath = DataPath(
            self.directory,
            Settings(
                pool_size=config.pool_size,
                request_timeout=config.request_timeout,
                workers=config.workers,
            ),
        )
        self._system_endpoint = Endpoint(
            "127.0.0.1", config.system_port, ADMIN_USER, config.system_password
        )
        self._tasks: list[asyncio.Task[None]] = []
        self.recorder: UsageRecorder | None = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            if scope["path"].startswith("/v1/redis/"):
                await self.datapath(scope, receive, send)
            else:
                await self.admin(scope, receive, send)
        elif scope["type"] == "lifespan":
            await self._lifespan(receive, send)
        else:
            await self.admin(scope, receive, send)

    async def _lifespan(self, receive: Receive, send: Send) -> None:
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                await self._startup()
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                await self._shutdown()
                await send({"type": "lifespan.shutdown.complete"})
                return

    async def _startup(self) -> None:
        system = ConnectionPool(self._system_endpoint, 2, self.config.request_timeout)
        self.datapath.limiter = RateLimiter(system)
        self.recorder = UsageRecorder(
            system, lambda tenant: self.directory.tenant(TenantId(tenant)) is not None
        )
        self.recorder.start()
        self.datapath.observers.append(self._observe)
        self._tasks.append(asyncio.create_task(self._refresh_storage(system)))

    def _observe(
        self, outcome: Outcome, seconds: float, size_in: int, size_out: int
    ) -> None:
        if self.recorder is None or not outcome.tenant:
            return
        if self.directory.tenant(outcome.tenant) is None:  # type: ignore[arg-type]
            return  # never create series for names that are not tenants
        if self.directory.instance(outcome.tenant, outcome.instance) is None:  # type: ignore[arg-type]
            return
        self.recorder.record(
            outcome.tenant,
            outcome.instance,
            outcome.command_class,
            outcome.status,
            seconds,
            outcome.commands,
            size_in,
            size_out,
        )

    async def _refresh_storage(self, system: ConnectionPool) -> None:
        while True:
            with contextlib.suppress(Exception):
                reply = (await system.execute([[b"HGETALL", STORAGE_KEY]]))[0]
                if isinstance(reply, list):
                    over = set()
                    for name, value in zip(reply[::2], reply[1::2], strict=True):
                        tenant = self.directory.tenant(name.decode())
                        if (
                            tenant
                            and tenant.quota.storage
                            and int(value) > tenant.quota.storage
                        ):
                            over.add(name.decode())
                    self.datapath.over_storage = frozenset(over)
            await asyncio.sleep(STORAGE_REFRESH_SECONDS)

    async def _shutdown(self) -> None:
        for task in self._tasks:
            task.cancel()
        if self.recorder is not None:
            with contextlib.suppress(Exception):
                await self.recorder.stop()
        self.datapath.close()


def create_app() -> Any:
    """Build the worker app from the settings the parent exported."""
    return WorkerApp(RunConfig.from_environment())
