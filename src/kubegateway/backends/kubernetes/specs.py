"""Parsed, validated views of the Tenant and RedisHttpInstance specs.

The CRD schema already rejects most bad input at admission. These classes
parse quantities into numbers once, so builders and quota checks compare
numbers instead of strings, and give defaults for fields an older object
may lack.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from kubegateway.backends.kubernetes.resources import REDIS_PORT
from kubegateway.ids import InstanceId, TenantId, parse_instance_id, parse_tenant_id
from kubegateway.quantities import parse_bytes, parse_millicores

DEFAULT_VERSION = "9.0"
DEFAULT_INSTANCE_CPU = "100m"
DEFAULT_INSTANCE_STORAGE = "1Gi"
DEFAULT_MONITORING_PORT = 9121
# The CRD's default for spec.quota.maxRequestSize, repeated for objects
# stored before that field existed.
DEFAULT_MAX_REQUEST_SIZE = "1Mi"


@dataclass(frozen=True, slots=True)
class ServiceAccountRef:
    namespace: str
    name: str


@dataclass(frozen=True, slots=True)
class Owners:
    users: tuple[str, ...] = ()
    groups: tuple[str, ...] = ()
    service_accounts: tuple[ServiceAccountRef, ...] = ()


@dataclass(frozen=True, slots=True)
class TenantQuota:
    """Quota of one tenant; sizes in bytes, cpu in millicores."""

    instances: int
    memory: int
    cpu: int
    storage: int
    requests_per_minute: int
    max_connections: int
    max_request_size: int


@dataclass(frozen=True, slots=True)
class TenantNetwork:
    monitoring_namespace: str | None = None
    monitoring_port: int = DEFAULT_MONITORING_PORT


@dataclass(frozen=True, slots=True)
class TenantSpec:
    id: TenantId
    display_name: str
    owners: Owners
    quota: TenantQuota
    network: TenantNetwork
    suspended: bool


@dataclass(frozen=True, slots=True)
class InstanceSpec:
    tenant: TenantId
    name: InstanceId
    memory: int
    cpu: int
    storage: int
    persistence: bool
    image: str

    @property
    def port(self) -> int:
        return REDIS_PORT


def _strings(values: object) -> tuple[str, ...]:
    if not isinstance(values, list):
        return ()
    return tuple(str(value) for value in values)


def _owners(raw: Mapping[str, Any]) -> Owners:
    accounts = tuple(
        ServiceAccountRef(str(item["namespace"]), str(item["name"]))
        for item in raw.get("serviceAccounts") or []
        if isinstance(item, Mapping)
    )
    return Owners(_strings(raw.get("users")), _strings(raw.get("groups")), accounts)


def parse_tenant(name: str, spec: Mapping[str, Any]) -> TenantSpec:
    """Parse a Tenant's name and spec; raise InvalidInput on a bad value."""
    quota = spec.get("quota") or {}
    network = spec.get("network") or {}
    return TenantSpec(
        id=parse_tenant_id(name, "metadata.name"),
        display_name=str(spec.get("displayName") or name),
        owners=_owners(spec.get("owners") or {}),
        quota=TenantQuota(
            instances=int(quota.get("instances", 0)),
            memory=parse_bytes(quota.get("memory", 0), "spec.quota.memory"),
            cpu=parse_millicores(quota.get("cpu", "1"), "spec.quota.cpu"),
            storage=parse_bytes(quota.get("storage", "10Gi"), "spec.quota.storage"),
            requests_per_minute=int(quota.get("requestsPerMinute", 0)),
            max_connections=int(quota.get("maxConnections", 0)),
            max_request_size=parse_bytes(
                quota.get("maxRequestSize", DEFAULT_MAX_REQUEST_SIZE),
                "spec.quota.maxRequestSize",
            ),
        ),
        network=TenantNetwork(
            monitoring_namespace=network.get("monitoringNamespace") or None,
            monitoring_port=int(network.get("monitoringPort", DEFAULT_MONITORING_PORT)),
        ),
        suspended=bool(spec.get("suspended", False)),
    )


def parse_instance(
    tenant: TenantId, name: str, spec: Mapping[str, Any]
) -> InstanceSpec:
    """Parse a RedisHttpInstance's spec; raise InvalidInput on a bad value."""
    image = (
        spec.get("image") or f"valkey/valkey:{spec.get('version') or DEFAULT_VERSION}"
    )
    return InstanceSpec(
        tenant=tenant,
        name=parse_instance_id(name, "metadata.name"),
        memory=parse_bytes(spec.get("memory"), "spec.memory"),
        cpu=parse_millicores(spec.get("cpu", DEFAULT_INSTANCE_CPU), "spec.cpu"),
        storage=parse_bytes(
            spec.get("storage", DEFAULT_INSTANCE_STORAGE), "spec.storage"
        ),
        persistence=bool(spec.get("persistence", False)),
        image=str(image),
    )
