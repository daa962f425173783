"""Tenants, instances, tokens and quotas: the domain data of kubegateway.

These are plain frozen dataclasses shared by both backends (SQLite for the
embedded default, custom resources on Kubernetes), the admin API and the
gateway. They hold parsed values: sizes are bytes and CPU is millicores.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field, fields

from kubegateway.ids import InstanceId, TenantId, TokenId


class TenantPhase(enum.StrEnum):
    PENDING = "Pending"
    ACTIVE = "Active"
    SUSPENDED = "Suspended"
    TERMINATING = "Terminating"


class InstancePhase(enum.StrEnum):
    PENDING = "Pending"
    RUNNING = "Running"
    FAILED = "Failed"
    TERMINATING = "Terminating"


class Access(enum.StrEnum):
    READ_WRITE = "read-write"
    READ_ONLY = "read-only"


class Role(enum.StrEnum):
    """Roles of admin API credentials, from most to least powerful."""

    PLATFORM_ADMIN = "platform-admin"
    TENANT_ADMIN = "tenant-admin"
    TENANT_READER = "tenant-reader"


@dataclass(frozen=True, slots=True)
class Quota:
    """Limits of one tenant. Zero means unlimited for the rate and size fields."""

    max_instances: int
    memory: int
    cpu: int
    storage: int
    requests_per_minute: int
    max_connections: int
    max_request_size: int

    @classmethod
    def field_names(cls) -> tuple[str, ...]:
        return tuple(f.name for f in fields(cls))


@dataclass(frozen=True, slots=True)
class Tenant:
    id: TenantId
    display_name: str
    plan: str
    overrides: dict[str, int] = field(hash=False)
    phase: TenantPhase
    reason: str
    created_at: float
    updated_at: float


@dataclass(frozen=True, slots=True)
class Instance:
    tenant: TenantId
    id: InstanceId
    memory: int
    phase: InstancePhase
    reason: str
    port: int
    created_at: float


@dataclass(frozen=True, slots=True)
class Token:
    """A data-path token of one instance. The secret itself is never stored."""

    id: TokenId
    tenant: TenantId
    instance: InstanceId
    access: Access
    name: str
    created_at: float
    revoked_at: float | None


@dataclass(frozen=True, slots=True)
class ApiKey:
    """An opaque admin API credential; tenant roles are bound to one tenant."""

    id: TokenId
    role: Role
    tenant: TenantId | None
    name: str
    created_at: float
    revoked_at: float | None


@dataclass(frozen=True, slots=True)
class AuditEntry:
    id: int
    time: float
    actor: str
    tenant: TenantId | None
    action: str
    target: str
    result: str
    detail: str
