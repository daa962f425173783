"""The state store interface shared by the embedded default and Kubernetes mode.

``TenantService``, the admin ``Authenticator``, usage reading and metrics
only call these methods, so the admin API and the CLI behave the same on
either backend. ``SqliteStore`` implements it on one machine and
``KubernetesStore`` with custom resources and Secrets.

Phase changes are requests: on SQLite the supervisor acts on a row marked
``Terminating``; on Kubernetes marking a tenant or an instance
``Terminating`` deletes its custom resource and the operator and garbage
collector finish the removal.
"""

from __future__ import annotations

from typing import Protocol

from kubegateway.ids import InstanceId, TenantId, TokenId
from kubegateway.tenancy.models import (
    Access,
    ApiKey,
    AuditEntry,
    Instance,
    InstancePhase,
    Role,
    Tenant,
    TenantPhase,
    Token,
)


class TenantStore(Protocol):
    """Durable tenants, instances, token hashes, admin API keys and audit log."""

    # Tenants

    def create_tenant(
        self, tenant: TenantId, display_name: str, plan: str, overrides: dict[str, int]
    ) -> tuple[Tenant, bool]:
        """Create a tenant or return the same existing one; False if it existed.

        A tenant with the same id but another spec raises Conflict.
        """
        ...

    def get_tenant(self, tenant: TenantId) -> Tenant: ...

    def list_tenants(self) -> list[Tenant]: ...

    def update_tenant(
        self,
        tenant: TenantId,
        *,
        display_name: str | None = None,
        plan: str | None = None,
        overrides: dict[str, int] | None = None,
        phase: TenantPhase | None = None,
        reason: str | None = None,
    ) -> Tenant:
        """Change the given fields; raise NotFound if the tenant does not exist."""
        ...

    # Instances

    def create_instance(
        self,
        tenant: TenantId,
        instance: InstanceId,
        memory: int,
        passwords: dict[str, str],
    ) -> tuple[Instance, bool]:
        """Create an instance or return the same existing one; False if it existed.

        ``passwords`` are the ACL passwords of a new embedded instance. The
        Kubernetes store ignores them because the operator makes its own.
        """
        ...

    def get_instance(self, tenant: TenantId, instance: InstanceId) -> Instance: ...

    def list_instances(self, tenant: TenantId | None = None) -> list[Instance]: ...

    def instance_passwords(
        self, tenant: TenantId, instance: InstanceId
    ) -> dict[str, str]: ...

    def set_instance_state(
        self,
        tenant: TenantId,
        instance: InstanceId,
        phase: InstancePhase,
        reason: str,
        port: int | None = None,
    ) -> None: ...

    # Data-path tokens: only the SHA-256 of the secret part is stored.

    def add_token(
        self,
        token_id: TokenId,
        tenant: TenantId,
        instance: InstanceId,
        access: Access,
        name: str,
        secret_hash: str,
    ) -> Token: ...

    def list_tokens(
        self, tenant: TenantId, instance: InstanceId | None = None
    ) -> list[Token]: ...

    def revoke_token(self, tenant: TenantId, token_id: TokenId) -> Token: ...

    # Admin API keys: only the SHA-256 of the secret part is stored.

    def add_api_key(
        self,
        key_id: TokenId,
        role: Role,
        tenant: TenantId | None,
        name: str,
        secret_hash: str,
    ) -> ApiKey: ...

    def find_api_key(self, key_id: TokenId) -> tuple[ApiKey, str] | None:
        """Return an unrevoked API key with its secret hash, or None."""
        ...

    def list_api_keys(self, tenant: TenantId | None) -> list[ApiKey]:
        """Return the API keys of ``tenant``, or every key for None."""
        ...

    def revoke_api_key(self, key_id: TokenId) -> None:
        """Revoke an API key; raise NotFound if it is unknown or revoked."""
        ...

    def has_platform_admin(self) -> bool: ...

    # Audit log

    def append_audit(
        self,
        actor: str,
        tenant: TenantId | None,
        action: str,
        target: str,
        result: str,
        detail: str = "",
    ) -> None: ...

    def list_audit(
        self, tenant: TenantId | None, limit: int = 500
    ) -> list[AuditEntry]: ...
