"""Request and response bodies of the admin API.

Request models reject unknown fields, and sizes are Kubernetes quantities
parsed into numbers, so a typo is a 422 that names the field instead of a
silently ignored setting.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from kubegateway.ids import parse_instance_id, parse_tenant_id
from kubegateway.quantities import format_bytes, parse_bytes
from kubegateway.tenancy.models import (
    ApiKey,
    AuditEntry,
    Instance,
    Quota,
    Tenant,
    Token,
)
from kubegateway.tenancy.plans import parse_quota_fields

QuantityValue = Annotated[str | int, Field(examples=["256Mi", 5])]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class QuotaOverrides(_Strict):
    """Quota fields to override on top of the plan; omitted fields follow it."""

    max_instances: QuantityValue | None = None
    memory: QuantityValue | None = None
    cpu: QuantityValue | None = None
    storage: QuantityValue | None = None
    requests_per_minute: QuantityValue | None = None
    max_connections: QuantityValue | None = None
    max_request_size: QuantityValue | None = None

    def parsed(self) -> dict[str, int]:
        given = {k: v for k, v in self.model_dump().items() if v is not None}
        return parse_quota_fields(given)


class TenantCreate(_Strict):
    id: str = Field(description="DNS-1123 label of at most 56 characters")
    display_name: str = Field(default="", max_length=200)
    plan: str = Field(default="standard")
    quota: QuotaOverrides = Field(default_factory=QuotaOverrides)

    @field_validator("id")
    @classmethod
    def _valid_id(cls, value: str) -> str:
        return parse_tenant_id(value, "id")


class TenantPatch(_Strict):
    display_name: str | None = Field(default=None, max_length=200)
    plan: str | None = None
    quota: QuotaOverrides | None = Field(
        default=None, description="replaces all overrides; {} clears them"
    )


class SuspendRequest(_Strict):
    reason: str = Field(default="", max_length=500)


class InstanceCreate(_Strict):
    id: str
    memory: QuantityValue = Field(default="64Mi", description="maxmemory of the server")

    @field_validator("id")
    @classmethod
    def _valid_id(cls, value: str) -> str:
        return parse_instance_id(value, "id")

    def memory_bytes(self) -> int:
        size = parse_bytes(self.memory, "memory")
        if size < 2**20:
            from kubegateway.errors import InvalidInput

            raise InvalidInput(
                f"memory {self.memory!r} is below the minimum of 1Mi", field="memory"
            )
        return size


class TokenCreate(_Strict):
    access: Literal["read-write", "read-only"] = "read-write"
    name: str = Field(default="", max_length=200)


class ApiKeyCreate(_Strict):
    role: Literal["platform-admin", "tenant-admin", "tenant-reader"]
    name: str = Field(default="", max_length=200)


def quota_body(quota: Quota) -> dict[str, object]:
    return {
        "max_instances": quota.max_instances,
        "memory": format_bytes(quota.memory),
        "cpu": f"{quota.cpu}m",
        "storage": format_bytes(quota.storage),
        "requests_per_minute": quota.requests_per_minute,
        "max_connections": quota.max_connections,
        "max_request_size": format_bytes(quota.max_request_size),
    }


def tenant_body(tenant: Tenant, quota: Quota) -> dict[str, object]:
    return {
        "id": tenant.id,
        "display_name": tenant.display_name,
        "plan": tenant.plan,
        "overrides": tenant.overrides,
        "phase": tenant.phase.value,
        "reason": tenant.reason,
        "quota": quota_body(quota),
        "created_at": tenant.created_at,
        "updated_at": tenant.updated_at,
    }


def instance_body(instance: Instance, base_url: str) -> dict[str, object]:
    return {
        "tenant": instance.tenant,
        "id": instance.id,
        "memory": format_bytes(instance.memory),
        "phase": instance.phase.value,
        "reason": instance.reason,
        "url": f"{base_url}/v1/redis/{instance.tenant}/{instance.id}",
        "created_at": instance.created_at,
    }


def token_body(token: Token) -> dict[str, object]:
    return {
        "id": token.id,
        "tenant": token.tenant,
        "instance": token.instance,
        "access": token.access.value,
        "name": token.name,
        "created_at": token.created_at,
        "revoked_at": token.revoked_at,
    }


def api_key_body(key: ApiKey) -> dict[str, object]:
    return {
        "id": key.id,
        "role": key.role.value,
        "tenant": key.tenant,
        "name": key.name,
        "created_at": key.created_at,
        "revoked_at": key.revoked_at,
    }


def audit_body(entry: AuditEntry) -> dict[str, object]:
    return {
        "id": entry.id,
        "time": entry.time,
        "actor": entry.actor,
        "tenant": entry.tenant,
        "action": entry.action,
        "target": entry.target,
        "result": entry.result,
        "detail": entry.detail,
    }
