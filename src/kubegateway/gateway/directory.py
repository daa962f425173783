"""What a gateway worker needs to route a request: tokens, tenants, endpoints.

The hot path never queries storage per request. A ``Directory`` keeps an
in-memory view and refreshes it when the source changes: on the embedded
default it polls SQLite's ``data_version`` (a cheap pragma that changes when
another process commits); on Kubernetes a watch feeds it.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Protocol

from kubegateway.auth import secrets
from kubegateway.backends.embedded.valkey import READ_ONLY_USER, READ_WRITE_USER
from kubegateway.backends.sqlite_store import SqliteStore
from kubegateway.gateway.connections import Endpoint
from kubegateway.ids import InstanceId, TenantId, TokenId
from kubegateway.tenancy.models import Access, InstancePhase, Quota, TenantPhase
from kubegateway.tenancy.plans import PlanCatalog

# How often a worker looks for changes made by other processes.
REFRESH_INTERVAL_SECONDS = 0.05
VERIFIED_CACHE_SIZE = 10_000


@dataclass(frozen=True, slots=True)
class Grant:
    """The access that a valid data-path token grants."""

    token: TokenId
    tenant: TenantId
    instance: InstanceId
    access: Access


@dataclass(frozen=True, slots=True)
class TenantView:
    phase: TenantPhase
    reason: str
    quota: Quota


@dataclass(frozen=True, slots=True)
class InstanceView:
    phase: InstancePhase
    read_write: Endpoint
    read_only: Endpoint


class Directory(Protocol):
    def authenticate(self, token: str) -> Grant | None: ...

    def tenant(self, tenant: TenantId) -> TenantView | None: ...

    def instance(
        self, tenant: TenantId, instance: InstanceId
    ) -> InstanceView | None: ...


class SqliteDirectory:
    """A worker's view of the SQLite state, reloaded whole when it changes."""

    def __init__(self, store: SqliteStore, plans: PlanCatalog) -> None:
        self._store = store
        self._plans = plans
        self._version = -1
        self._plans_version: float | None = None
        self._checked = 0.0
        self._tokens: dict[TokenId, tuple[Grant, str]] = {}
        self._tenants: dict[TenantId, TenantView] = {}
        self._instances: dict[tuple[TenantId, InstanceId], InstanceView] = {}
        # Tokens verified since the last reload, so a client's requests pay
        # for the SHA-256 once. Cleared on every reload, so revocation holds.
        self._verified: dict[str, Grant] = {}
        self.refresh(force=True)

    def refresh(self, force: bool = False) -> None:
        now = time.monotonic()
        if not force and now - self._checked < REFRESH_INTERVAL_SECONDS:
            return
        self._checked = now
        version = self._store.data_version()
        plans_version = self._plans.version()
        if not force and (version, plans_version) == (
            self._version,
            self._plans_version,
        ):
            return
        self._version, self._plans_version = version, plans_version
        self._load()

    def _load(self) -> None:
        tokens: dict[TokenId, tuple[Grant, str]] = {}
        for token_id, (token, secret_hash) in self._store.active_token_hashes().items():
            grant = Grant(token_id, token.tenant, token.instance, token.access)
            tokens[token_id] = (grant, secret_hash)
        tenants = {
            tenant.id: TenantView(
                tenant.phase,
                tenant.reason,
                self._plans.effective(tenant.plan, tenant.overrides),
            )
            for tenant in self._store.list_tenants()
        }
        instances: dict[tuple[TenantId, InstanceId], InstanceView] = {}
        for instance in self._store.list_instances():
            if not instance.port:
                continue
            passwords = self._store.instance_passwords(instance.tenant, instance.id)
            instances[(instance.tenant, instance.id)] = InstanceView(
                instance.phase,
                Endpoint(
                    "127.0.0.1",
                    instance.port,
                    READ_WRITE_USER,
                    passwords[READ_WRITE_USER],
                ),
                Endpoint(
                    "127.0.0.1",
                    instance.port,
                    READ_ONLY_USER,
                    passwords[READ_ONLY_USER],
                ),
            )
        self._tokens, self._tenants, self._instances = tokens, tenants, instances
        self._verified = {}

    def authenticate(self, token: str) -> Grant | None:
        self.refresh()
        cached = self._verified.get(token)
        if cached is not None:
            return cached
        parts = secrets.split(token)
        if parts is None or parts.prefix != secrets.DATA_PREFIX:
            return None
        entry = self._tokens.get(parts.id)
        if entry is None:
            # The token may be newer than this worker's view, which is only
            # refreshed every REFRESH_INTERVAL_SECONDS; look once more now.
            self._checked = 0.0
            self.refresh()
            entry = self._tokens.get(parts.id)
        if entry is None:
            return None
        grant, secret_hash = entry
        if not secrets.verify(parts.secret, secret_hash):
            return None
        if len(self._verified) >= VERIFIED_CACHE_SIZE:
            self._verified.clear()
        self._verified[token] = grant
        return grant

    def tenant(self, tenant: TenantId) -> TenantView | None:
        return self._tenants.get(tenant)

    def instance(self, tenant: TenantId, instance: InstanceId) -> InstanceView | None:
        return self._instances.get((tenant, instance))
