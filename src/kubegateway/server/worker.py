"""The ASGI application of one gateway worker process.

It sends ``/v1/redis/...`` to the bare data path and everything else to the
FastAPI admin app, so both share one port while the hot path skips the
framework. Start-up (lifespan) opens the state store, the connection to the
system valkey and the usage flusher; shutdown closes them. The state store
and directory are SQLite on the embedded default, and custom resources
with watch-fed caches in Kubernetes mode.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
from pathlib import Path
from typing import Any

import structlog

from kubegateway.auth.authenticating import Authenticator
from kubegateway.auth.jwt_tokens import JwtSettings, JwtVerifier
from kubegateway.backends.base import TenantStore
from kubegateway.backends.embedded.supervising import STORAGE_KEY
from kubegateway.backends.kubernetes.audit import RedisAuditLog
from kubegateway.backends.kubernetes.store import KubernetesStore, connect
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
from kubegateway.gateway.directory import Directory, SqliteDirectory
from kubegateway.gateway.kubernetes_directory import KubernetesDirectory
from kubegateway.gateway.ratelimit import RateLimiter
from kubegateway.ids import TenantId
from kubegateway.observability.logging import configure_logging
from kubegateway.observability.usage import UsageRecorder
from kubegateway.observability.usage_reading import SystemValkey, UsageReader
from kubegateway.server.config import KUBERNETES, RunConfig, parse_address
from kubegateway.server.http_protocol import register
from kubegateway.tenancy.plans import PlanCatalog

log = structlog.get_logger("kubegateway.worker")

STORAGE_REFRESH_SECONDS = 1.0
SYNC_TIMEOUT_SECONDS = 30.0


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
        self.plans = PlanCatalog(Path(config.plans_file) if config.plans_file else None)
        system = SystemValkey(
            config.system_port,
            config.system_password,
            config.system_host,
            config.system_user,
        )
        self.store: TenantStore
        self.directory: Directory
        self._kubernetes_directory: KubernetesDirectory | None = None
        if config.backend == KUBERNETES:
            self._build_kubernetes(config, system)
        else:
            self._build_embedded(config)
        self.usage = UsageReader(self.store, system)
        self.admin = create_admin_app(
            self.service,
            Authenticator(self.store, _jwt(config)),
            self.usage,
            config.base_url,
        )
        self.datapath = DataPath(
            self.directory,
            Settings(
                pool_size=config.pool_size,
                request_timeout=config.request_timeout,
                workers=config.workers,
            ),
        )
        self._system_endpoint = Endpoint(
            config.system_host,
            config.system_port,
            config.system_user,
            config.system_password,
        )
        self._tasks: list[asyncio.Task[None]] = []
        register(self)
        self.recorder: UsageRecorder | None = None

    def _build_embedded(self, config: RunConfig) -> None:
        store = SqliteStore(config.database)
        self.store = store
        self.service = TenantService(store, self.plans, Path(config.data_dir))
        # A connection of its own: SQLite's data_version only changes for
        # commits made by other connections, including this worker's admin API.
        self.directory = SqliteDirectory(SqliteStore(config.database), self.plans)

    def _build_kubernetes(self, config: RunConfig, system: SystemValkey) -> None:
        client = connect(Path(config.kubeconfig) if config.kubeconfig else None)
        self.store = KubernetesStore(
            client,
            self.plans,
            RedisAuditLog(system.client()),
            config.system_namespace,
        )
        self.service = TenantService(self.store, self.plans, wait_for_running=False)
        resolve = {name: parse_address(value) for name, value in config.resolve.items()}
        self._kubernetes_directory = KubernetesDirectory(client, resolve)
        self.directory = self._kubernetes_directory

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
        # Move everything loaded so far (FastAPI, pydantic, the command
        # tables later) out of the collector's view, and collect less often:
        # cyclic garbage collection took about 6% of a loaded worker.
        gc.collect()
        gc.freeze()
        gc.set_threshold(50_000, 20, 100)
        if self._kubernetes_directory is not None:
            await self._start_watches(self._kubernetes_directory)
        system = ConnectionPool(self._system_endpoint, 2, self.config.request_timeout)
        self.datapath.limiter = RateLimiter(system, self.config.workers)
        self.recorder = UsageRecorder(
            system, lambda tenant: self.directory.tenant(TenantId(tenant)) is not None
        )
        self.recorder.start()
        self.datapath.observers.append(self._observe)
        self._tasks.append(asyncio.create_task(self._refresh_storage(system)))

    def _observe(
        self, outcome: Outcome, seconds: float, size_in: int, size_out: int
    ) -> None:
        if self.recorder is None or not outcome.authorized:
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

    async def _start_watches(self, directory: KubernetesDirectory) -> None:
        directory.start()
        synced = await asyncio.to_thread(directory.wait_synced, SYNC_TIMEOUT_SECONDS)
        if synced:
            log.info("Kubernetes watches synced.")
        else:
            # The watches keep retrying; until they list, requests get 401/404.
            log.error(
                "Kubernetes watches did not sync; serving what they have.",
                timeout_seconds=SYNC_TIMEOUT_SECONDS,
            )

    async def _shutdown(self) -> None:
        if self._kubernetes_directory is not None:
            self._kubernetes_directory.stop()
        for task in self._tasks:
            task.cancel()
        if self.recorder is not None:
            with contextlib.suppress(Exception):
                await self.recorder.stop()
        self.datapath.close()


def create_app() -> Any:
    """Build the worker app from the settings the parent exported."""
    return WorkerApp(RunConfig.from_environment())
